//! Writes the test fixture's results (a 200-path crash) into `DIR` and renders its
//! report there: `cargo run -p backstop-report --example sample_report -- DIR`.
//! CI uses it to load a real `report.html` in a browser.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: sample_report DIR")?;
    let kind = match std::env::args().nth(2).as_deref() {
        None | Some("crash") => common::Kind::Crash,
        Some("single") => common::Kind::Single,
        Some("quiet") => common::Kind::Quiet,
        Some("sweep") => common::Kind::Sweep,
        Some(other) => return Err(format!("unknown fixture {other}").into()),
    };
    std::fs::create_dir_all(&dir)?;
    common::write(&dir, kind);
    let mut data = backstop_report::ReportData::load(&dir)?;
    if kind == common::Kind::Sweep {
        data.sweep = Some(common::sweep_grid());
    }
    let files = backstop_report::write_report(&data, &dir)?;
    println!("{}", files.html.display());
    Ok(())
}
