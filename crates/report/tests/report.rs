//! The documents: headline numbers match the summary, HTML is self-contained,
//! files are written atomically and deterministically, bad input is named.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use backstop_report::{ReportData, ReportError, render};
use common::Kind;
use serde_json::Value;

fn fixture(kind: Kind) -> (tempfile::TempDir, Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let summary = common::write(dir.path(), kind);
    (dir, summary)
}

/// `| label | value | note |` rows of the Markdown section `heading`.
fn table(markdown: &str, heading: &str) -> BTreeMap<String, Vec<String>> {
    let start = markdown
        .find(heading)
        .unwrap_or_else(|| panic!("no section {heading}"));
    markdown[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
                .collect();
            (cells[0].clone(), cells[1..].to_vec())
        })
        .collect()
}

/// `$1,234,567` or `-$12` → the number.
fn dollars(text: &str) -> f64 {
    let negative = text.starts_with('-');
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    assert!(
        text.contains('$') && !digits.is_empty(),
        "not USD: {text:?}"
    );
    let v: f64 = digits.parse().expect("digits");
    if negative { -v } else { v }
}

/// `12.3% [10.1%, 14.8%]` → the three fractions and the decimals shown.
fn interval(text: &str) -> ([f64; 3], usize) {
    let parts: Vec<&str> = text
        .split(['[', ']', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(parts.len(), 3, "not an interval: {text:?}");
    let decimals = parts[0]
        .trim_end_matches('%')
        .split('.')
        .nth(1)
        .map_or(0, str::len);
    let f = |s: &str| s.trim_end_matches('%').parse::<f64>().expect("percentage") / 100.0;
    ([f(parts[0]), f(parts[1]), f(parts[2])], decimals)
}

fn num(v: &Value, path: &str) -> f64 {
    path.split('.')
        .fold(v, |v, k| {
            v.get(k).unwrap_or_else(|| panic!("fixture lacks {path}"))
        })
        .as_f64()
        .expect("number")
}

#[test]
fn headline_numbers_in_markdown_match_the_summary() {
    let (dir, summary) = fixture(Kind::Crash);
    let files = render(dir.path()).expect("report renders");
    let md = std::fs::read_to_string(&files.markdown).expect("report.md");
    let head = table(&md, "## Headline");
    // Dollars are escaped for forums that render `$...$` as maths.
    let bare = md
        .match_indices('$')
        .filter(|(i, _)| !md[..*i].ends_with('\\'))
        .count();
    assert_eq!(bare, 0, "unescaped $ in report.md");

    for (label, field) in [
        (
            "Insurance-fund loss, VaR 95%",
            "aggregates.insurance_fund_loss.var_95",
        ),
        (
            "Insurance-fund loss, ES 95%",
            "aggregates.insurance_fund_loss.es_95",
        ),
        (
            "Insurance-fund loss, VaR 99%",
            "aggregates.insurance_fund_loss.var_99",
        ),
        (
            "Insurance-fund loss, ES 99%",
            "aggregates.insurance_fund_loss.es_99",
        ),
        ("Cover-1 stressed shortfall", "aggregates.cover_1"),
        ("Cover-2 stressed shortfall", "aggregates.cover_2"),
    ] {
        let shown = dollars(&head[label][0]);
        let expected = num(&summary, field);
        assert!(
            (shown - expected).abs() <= 0.5,
            "{label}: shows {shown}, summary has {expected}"
        );
    }
    for (label, field) in [
        (
            "Probability of insurance-fund depletion",
            "aggregates.insurance_fund_depletion",
        ),
        (
            "Probability of any socialized loss",
            "aggregates.socialized_loss_any",
        ),
    ] {
        let ([p, lo, hi], decimals) = interval(&head[label][0]);
        let tolerance = 0.5 * 10f64.powi(-(decimals as i32)) / 100.0 + 1e-12;
        let ci = &summary
            .pointer(&format!("/{}/ci95", field.replace('.', "/")))
            .expect("ci");
        for (shown, expected) in [
            (p, num(&summary, &format!("{field}.probability"))),
            (lo, ci[0].as_f64().expect("low")),
            (hi, ci[1].as_f64().expect("high")),
        ] {
            assert!(
                (shown - expected).abs() <= tolerance,
                "{label}: {shown} vs {expected}"
            );
        }
        let count = num(&summary, &format!("{field}.count"));
        assert!(
            head[label][1].starts_with(&format!("{} of 200 paths", count as u64)),
            "{:?}",
            head[label]
        );
    }
    assert_eq!(head["Paths simulated"][0], "200");

    // The across-paths table: p99 of money metrics, max drawdown % p50.
    let dist = table(&md, "## Across paths");
    for (label, metric) in [
        ("Bad debt", "bad_debt"),
        ("Liquidated notional", "liquidated_notional"),
        ("ADL notional", "adl_notional"),
    ] {
        let shown = dollars(&dist[label][3]);
        let expected = num(&summary, &format!("aggregates.metrics.{metric}.p99"));
        assert!(
            (shown - expected).abs() <= 0.5,
            "{label} p99: {shown} vs {expected}"
        );
    }
    let pct = &dist["Insurance fund, max drawdown %"][1];
    let expected = num(
        &summary,
        "aggregates.metrics.insurance_fund_max_drawdown_pct.p50",
    ) * 100.0;
    let shown: f64 = pct.trim_end_matches('%').parse().expect("percentage");
    assert!(
        (shown - expected).abs() <= 0.05 + 1e-9,
        "{shown} vs {expected}"
    );
}

#[test]
fn html_is_self_contained_and_complete() {
    let (dir, _) = fixture(Kind::Crash);
    let files = render(dir.path()).expect("report renders");
    let html = std::fs::read_to_string(&files.html).expect("report.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    for forbidden in ["<script", "<link", "src=", "@import", "url("] {
        assert!(
            !html.contains(forbidden),
            "report.html contains {forbidden}"
        );
    }
    let external = html
        .match_indices("http")
        .filter(|(i, _)| !html[*i..].starts_with("http://www.w3.org/2000/svg"))
        .count();
    assert_eq!(external, 0, "report.html refers to the network");
    // One inline SVG per chart, each parsing as XML.
    let svgs: Vec<&str> = html
        .match_indices("<svg")
        .map(|(i, _)| {
            let end = html[i..].find("</svg>").expect("closed svg") + i + "</svg>".len();
            &html[i..end]
        })
        .collect();
    assert_eq!(svgs.len(), 5);
    for svg in svgs {
        roxmltree::Document::parse(svg).expect("inline SVG is XML");
    }
    for needle in [
        "Stress report: fixture-crash",
        "Methodology",
        "backstop 0.1.0",
        "master seed 7",
        "200 paths of 240 steps",
        "garch",
        "<code>liquidation.fee</code>",
        "<code>market.btc.tiers.1.imr</code>",
        "Probability of insurance-fund depletion",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle:?}");
    }
}

#[test]
fn markdown_links_the_pngs_written_beside_it() {
    let (dir, _) = fixture(Kind::Single);
    let files = render(dir.path()).expect("report renders");
    let md = std::fs::read_to_string(&files.markdown).expect("report.md");
    let links: Vec<&str> = md
        .match_indices("](charts/")
        .map(|(i, _)| {
            let rest = &md[i + 2..];
            &rest[..rest.find(')').expect("link closes")]
        })
        .collect();
    // A chart with nothing to show is a sentence, not a linked image.
    assert!(links.len() >= 4, "{links:?}");
    for link in &links {
        assert!(link.ends_with(".png"), "{link}");
        assert!(dir.path().join(link).is_file(), "{link} not written");
    }
    assert_eq!(files.charts.len(), 2 * links.len());
    for f in &files.charts {
        assert!(f.is_file(), "{}", f.display());
    }
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["", "charts"] {
        for entry in std::fs::read_dir(dir.join(sub)).expect("read dir") {
            let entry = entry.expect("entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_file() && !name.ends_with(".parquet") && name != "summary.json" {
                out.insert(
                    format!("{sub}/{name}"),
                    std::fs::read(entry.path()).expect("read"),
                );
            }
        }
    }
    out
}

#[test]
fn same_results_give_byte_identical_reports_and_no_temp_files() {
    let (a, _) = fixture(Kind::Sweep);
    let (b, _) = fixture(Kind::Sweep);
    render(a.path()).expect("render a");
    render(b.path()).expect("render b");
    render(b.path()).expect("render b again, over the first");
    let (sa, sb) = (snapshot(a.path()), snapshot(b.path()));
    assert_eq!(sa.keys().collect::<Vec<_>>(), sb.keys().collect::<Vec<_>>());
    assert!(sa == sb, "reports differ");
    assert!(sa.keys().all(|k| !k.contains(".tmp")), "{:?}", sa.keys());
    assert!(
        sa.contains_key("/report.html") && sa.contains_key("charts/adl.png"),
        "{:?}",
        sa.keys()
    );
}

#[test]
fn bad_summaries_are_reported_with_file_and_field() {
    let (dir, summary) = fixture(Kind::Crash);
    let path = dir.path().join("summary.json");

    let mut missing = summary.clone();
    missing["aggregates"]
        .as_object_mut()
        .expect("object")
        .remove("cover_1");
    std::fs::write(&path, missing.to_string()).expect("write");
    let err = ReportData::load(dir.path()).expect_err("missing field");
    assert!(matches!(err, ReportError::MissingField { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("summary.json") && msg.contains("aggregates.cover_1"),
        "{msg}"
    );

    let mut wrong = summary.clone();
    wrong["aggregates"]["insurance_fund_depletion"]["probability"] = Value::from("high");
    std::fs::write(&path, wrong.to_string()).expect("write");
    let msg = ReportData::load(dir.path())
        .expect_err("wrong type")
        .to_string();
    assert!(
        msg.contains("aggregates.insurance_fund_depletion.probability"),
        "{msg}"
    );

    std::fs::write(&path, "{ not json").expect("write");
    let err = ReportData::load(dir.path()).expect_err("not JSON");
    assert!(matches!(err, ReportError::Json { .. }), "{err:?}");

    std::fs::remove_file(&path).expect("remove");
    let err = render(dir.path()).expect_err("no summary");
    assert!(matches!(err, ReportError::Io { .. }), "{err:?}");
    assert!(!dir.path().join("report.html").exists());
}

#[test]
fn a_corrupt_parquet_file_is_named() {
    let (dir, _) = fixture(Kind::Crash);
    std::fs::write(dir.path().join("bands.parquet"), b"not parquet").expect("write");
    let msg = ReportData::load(dir.path())
        .expect_err("corrupt")
        .to_string();
    assert!(msg.contains("bands.parquet"), "{msg}");
}

#[test]
fn controls_section_appears_only_with_controls_on() {
    let (dir, summary) = fixture(Kind::Controls);
    let files = render(dir.path()).expect("report renders");
    let md = std::fs::read_to_string(&files.markdown).expect("report.md");
    let html = std::fs::read_to_string(&files.html).expect("report.html");
    assert!(md.contains("\n## Controls\n"), "{md}");
    assert!(html.contains("<h2 id=\"controls\">Controls</h2>"));
    // Settings in words.
    for words in [
        "Circuit breaker: a mark move of more than 1.5% within 4 steps pauses liquidations for 3 steps",
        "Volatility margin:",
        "between 1× and 2×",
        "Oracle: the mark is the median of 3 price sources; a source more than 5.0% from their median is dropped",
        "Injected fault: source 0 reports a price 15.0% too low for 3 steps from step 100.",
    ] {
        assert!(md.contains(words), "no {words:?} in\n{md}");
    }
    // Numbers equal the summary's, the unknown collateral metric included.
    let rows = table(&md, "## Controls");
    let metric = |name: &str| num(&summary, &format!("aggregates.metrics.{name}.mean"));
    assert_eq!(
        rows["Circuit-breaker trips"][0],
        format!("{}", metric("breaker_trips"))
    );
    assert!(metric("breaker_trips") > 0.0);
    assert_eq!(
        rows["Steps with liquidations paused"][0],
        format!("{}", metric("breaker_steps_paused"))
    );
    assert_eq!(rows["Largest margin multiplier"][0], "2×");
    assert_eq!(
        rows["Oracle readings dropped by the deviation guard"][0],
        "3"
    );
    assert_eq!(
        rows["Collateral sold at liquidations (USD)"][0],
        "\\$1,234,567"
    );
    // What happened after the pauses, from the steps: the recorded pauses match
    // the recorded counts.
    assert!(
        md.contains("as recorded step by step in steps.parquet"),
        "{md}"
    );
    assert!(md.contains("After the pauses: in the "), "{md}");
    let pauses = table(&md, "| pause |");
    assert_eq!(pauses.len() as f64, metric("breaker_trips").min(20.0));
    for cells in pauses.values() {
        assert_eq!(
            cells[2], "0",
            "no liquidation executes during a pause: {cells:?}"
        );
    }
    assert!(md.contains("![") && md.contains("charts/margin_multiplier.png"));

    // No control: no section.
    for kind in [Kind::Single, Kind::Crash] {
        let (dir, _) = fixture(kind);
        let files = render(dir.path()).expect("report renders");
        let md = std::fs::read_to_string(&files.markdown).expect("report.md");
        assert!(!md.contains("## Controls"), "{kind:?}");
        let html = std::fs::read_to_string(&files.html).expect("report.html");
        assert!(!html.contains("id=\"controls\""), "{kind:?}");
    }
}

#[test]
fn compare_puts_two_runs_side_by_side() {
    let (with, with_summary) = fixture(Kind::Controls);
    let (without, without_summary) = fixture(Kind::Single);
    let out = tempfile::tempdir().expect("temp dir");
    let files = backstop_report::compare::compare(
        without.path(),
        with.path(),
        Some("without"),
        Some("with"),
        out.path(),
    )
    .expect("compare");
    let md = std::fs::read_to_string(&files.markdown).expect("compare.md");
    assert!(files.html.is_file());
    let rows = table(&md, "## Side by side");
    let dd = |s: &Value| num(s, "aggregates.metrics.insurance_fund_max_drawdown.mean");
    let row = &rows["Insurance-fund max drawdown"];
    assert_eq!(dollars(&row[0]), dd(&without_summary).round());
    assert_eq!(dollars(&row[1]), dd(&with_summary).round());
    assert!(rows.contains_key("Circuit-breaker trips"), "{md}");
    assert!(
        rows.contains_key("Collateral sold at liquidations (USD)"),
        "{md}"
    );
    assert!(
        md.contains("controls in force: circuit breaker, multi-source oracle, volatility margin")
    );
    assert_eq!(files.charts.len(), 2);
    for f in &files.charts {
        assert!(f.is_file(), "{}", f.display());
    }
    // A folder that is not a results folder is refused by name.
    let empty = tempfile::tempdir().expect("temp dir");
    let err = backstop_report::compare::compare(empty.path(), with.path(), None, None, out.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&empty.path().display().to_string()) && err.contains("summary.json"),
        "{err}"
    );
}
