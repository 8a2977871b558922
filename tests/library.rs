//! `backstop library`: every scenario of a folder, current and recommended
//! parameters, in one table (issue 13).

use backstop_testkit::{
    SMALL_SCENARIO, assert_error, assert_success, edit, run_program, write_file,
};

fn backstop(cwd: &std::path::Path, args: &[&str]) -> std::process::Output {
    run_program(env!("CARGO_BIN_EXE_backstop"), cwd, args, &[])
}

#[test]
fn the_library_writes_one_table_of_current_and_recommended_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    write_file(&lib, "b.toml", SMALL_SCENARIO);
    write_file(
        &lib,
        "a.toml",
        &edit(SMALL_SCENARIO, "name = \"small\"", "name = \"small-a\""),
    );
    let o = backstop(
        tmp.path(),
        &[
            "library",
            "lib",
            "--out",
            "out",
            "-q",
            "--set",
            "insurance_fund.initial=1",
        ],
    );
    assert_success(&o);
    let md = std::fs::read_to_string(tmp.path().join("out/library/library.md")).unwrap();
    // One row per scenario, by file name; current and recommended columns.
    let a = md.find("| small-a |").expect("row of a.toml");
    let b = md.find("| small |").expect("row of b.toml");
    assert!(a < b, "{md}");
    assert!(
        md.contains("| scenario | fund loss, current | fund loss, recommended |"),
        "{md}"
    );
    assert!(md.contains("`insurance_fund.initial=1`"), "{md}");
    // Shared files carry no absolute local path, and dollars are escaped for
    // forums that render $…$ as maths.
    assert!(!md.contains(tmp.path().to_str().unwrap()), "{md}");
    assert!(md.contains("\\$"), "{md}");
    let csv = std::fs::read_to_string(tmp.path().join("out/library/library.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 2, "{csv}");
    assert!(csv.contains("small-a,recommended,"), "{csv}");

    // A key no scenario has is refused, naming the file.
    let o = backstop(
        tmp.path(),
        &[
            "library",
            "lib",
            "--out",
            "out",
            "--set",
            "liquidation.fe=1",
        ],
    );
    assert_error(&o, &["a.toml", "liquidation.fe"]);
}
