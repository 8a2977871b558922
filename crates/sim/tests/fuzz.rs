//! Fuzzing on stable (issue 16): the scenario parser and validator over
//! mutated real scenarios (the seed corpus is every file of `scenarios/`),
//! asserting that no input panics: each is accepted or refused with an error.
//!
//! 10,000 cases a run by default (`PROPTEST_CASES` overrides); proptest saves
//! a failing case in `fuzz.regressions` beside this file, which then runs
//! first on every later run.

use std::path::{Path, PathBuf};

use backstop_sim::Scenario;
use proptest::prelude::*;

/// The seed corpus: every scenario of the repository, with its name.
fn corpus() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("history")] {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        names.sort();
        for p in names {
            let text = std::fs::read_to_string(&p).unwrap();
            files.push((p, text));
        }
    }
    assert!(files.len() >= 20, "the corpus is the scenarios folder");
    files
}

/// Values a mutation puts in place of a number: the edges of every range the
/// validator checks and the integer types the scenario uses.
const VALUES: &[&str] = &[
    "0",
    "-0.0",
    "-1",
    "1",
    "0.5",
    "1.0000001",
    "-0.999999",
    "2",
    "1e-300",
    "1e300",
    "-1e300",
    "9e12",
    "1e13",
    "9.3e18",
    "nan",
    "inf",
    "-inf",
    "4294967295",
    "4294967296",
    "65535",
    "18446744073709551615",
    "-9223372036854775808",
    "\"text\"",
    "[]",
    "{}",
    "true",
];

/// One edit of a scenario's text.
#[derive(Clone, Debug)]
enum Mutation {
    /// The `n`th number token (mod their count) becomes `VALUES[v]`.
    Number { n: usize, v: usize },
    /// Line `n` (mod the line count) deleted.
    DeleteLine(usize),
    /// Line `n` repeated.
    DuplicateLine(usize),
    /// Lines `a` and `b` swapped.
    SwapLines(usize, usize),
    /// The byte at `at` (mod the length) replaced by `byte` (printable ASCII).
    Byte { at: usize, byte: u8 },
    /// The text cut at `at`.
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (any::<usize>(), 0..VALUES.len()).prop_map(|(n, v)| Mutation::Number { n, v }),
        2 => any::<usize>().prop_map(Mutation::DeleteLine),
        1 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        2 => (any::<usize>(), 0x20u8..0x7f).prop_map(|(at, byte)| Mutation::Byte { at, byte }),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

/// Byte ranges of the number tokens of `text` (digits with sign, dot, exponent).
fn numbers(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = b[i].is_ascii_digit()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'));
        if starts {
            let start = if i > 0 && b[i - 1] == b'-' { i - 1 } else { i };
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b"._+-".contains(&b[j])) {
                j += 1;
            }
            out.push((start, j));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

fn apply(text: &str, m: &Mutation) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let line = |n: usize| n % lines.len().max(1);
    match *m {
        Mutation::Number { n, v } => {
            let spans = numbers(text);
            if spans.is_empty() {
                return text.to_owned();
            }
            let (a, b) = spans[n % spans.len()];
            // A sweep range's steps: validating a million sets (the limit,
            // tested in tests/bad_inputs.rs) takes minutes a fuzz case cannot
            // afford; a value past the limit is still tried.
            let line_start = text[..a].rfind('\n').map_or(0, |i| i + 1);
            let line_end = text[b..].find('\n').map_or(text.len(), |i| b + i);
            let value = match VALUES[v] {
                "65535" | "4294967295" if text[line_start..line_end].contains("range") => "2000000",
                value => value,
            };
            format!("{}{}{}", &text[..a], value, &text[b..])
        }
        Mutation::DeleteLine(n) => {
            let mut l = lines.clone();
            if !l.is_empty() {
                l.remove(line(n));
            }
            l.join("\n")
        }
        Mutation::DuplicateLine(n) => {
            let mut l = lines.clone();
            if !l.is_empty() {
                let at = line(n);
                l.insert(at, lines[at]);
            }
            l.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            let mut l = lines.clone();
            if !l.is_empty() {
                l.swap(line(a), line(b));
            }
            l.join("\n")
        }
        Mutation::Byte { at, byte } => {
            let mut bytes = text.as_bytes().to_vec();
            if !bytes.is_empty() {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Mutation::Truncate(at) => {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text[..at].to_owned()
        }
    }
}

proptest! {
    #![proptest_config(backstop_testkit::fuzz_config())]

    /// A mutated scenario is parsed and validated (or refused) without a panic,
    /// and a refusal names the file.
    #[test]
    fn mutated_scenarios_never_panic(
        file in any::<prop::sample::Index>(),
        edits in prop::collection::vec(mutation(), 1..4),
    ) {
        thread_local! {
            static CORPUS: Vec<(PathBuf, String)> = corpus();
        }
        let (path, text) = CORPUS.with(|c| c[file.index(c.len())].clone());
        let mutated = edits.iter().fold(text, |t, m| apply(&t, m));
        match Scenario::from_toml_str(&mutated, &path) {
            Ok(s) => {
                // Validation passed: the numbers the engine takes convert.
                s.validate().map_err(|e| TestCaseError::fail(format!("{e}")))?;
            }
            Err(e) => {
                let text = e.to_string();
                prop_assert!(text.starts_with(&path.display().to_string()), "{text}");
            }
        }
    }
}

#[test]
fn the_mutations_change_the_text() {
    let text = "a = 1\nb = [2.5, -3e4]\n";
    assert_eq!(numbers(text), vec![(4, 5), (11, 14), (16, 20)]);
    assert_eq!(
        apply(text, &Mutation::Number { n: 2, v: 9 }),
        "a = 1\nb = [2.5, 1e300]\n"
    );
    assert_eq!(apply(text, &Mutation::DeleteLine(0)), "b = [2.5, -3e4]");
    assert_eq!(apply(text, &Mutation::Truncate(3)), "a =");
}
