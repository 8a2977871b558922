//! Tick replays: steps at irregular recorded times. The time axes follow the
//! recorded times (not `step × step_seconds`), the text says "ticks", and the
//! methodology names the replayed data files.

mod common;

use backstop_report::charts::{self, Chart};
use backstop_report::{ReportData, build};
use common::{Kind, START_NS, STEPS};
use serde_json::json;

/// Eight hours, ns: the span of the irregular fixture times.
const SPAN_NS: i64 = 8 * 3600 * 1_000_000_000;

/// Time of step `s` in the irregular fixture: dense at first, sparse later, the
/// last step 8 hours after the first (240 steps of 60 s would be 4 hours).
fn irregular_ts(s: u32) -> i64 {
    let f = f64::from(s) / f64::from(STEPS - 1);
    START_NS + (f * f * SPAN_NS as f64) as i64
}

/// Writes the fixture of `kind`, then rewrites its `steps.parquet` (and
/// `bands.parquet`, if any) with irregular times and marks it a tick replay with
/// replay data files.
fn tick_fixture(kind: Kind, stepping: &str) -> (tempfile::TempDir, ReportData) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut summary = common::write(dir.path(), kind);
    let meta = vec![("backstop.scenario".to_owned(), "fixture".to_owned())];
    let steps_path = dir.path().join("steps.parquet");
    let mut steps = backstop_data::read_steps(&steps_path).expect("steps");
    for (ts, s) in steps.ts_ns.iter_mut().zip(&steps.step) {
        *ts = irregular_ts(*s);
    }
    backstop_data::write_steps(&steps_path, &steps, &meta).expect("write steps");
    let bands_path = dir.path().join("bands.parquet");
    if bands_path.is_file() {
        let mut bands = backstop_data::read_bands(&bands_path).expect("bands");
        for (ts, s) in bands.ts_ns.iter_mut().zip(&bands.step) {
            *ts = irregular_ts(*s);
        }
        backstop_data::write_bands(&bands_path, &bands, &meta).expect("write bands");
    }
    summary["scenario"]["path"] = json!({
        "kind": "replay",
        "stepping": stepping,
        "market": { "btc": {
            "prices": "../data/btc-mark.parquet",
            "funding": "../data/btc-funding.parquet"
        } }
    });
    summary["scenario"]["market"]["btc"]["impact"] = json!({
        "model": "book_depth", "file": "../data/btc-depth.parquet"
    });
    std::fs::write(
        dir.path().join("summary.json"),
        serde_json::to_string_pretty(&summary).expect("json"),
    )
    .expect("write summary");
    let data = ReportData::load(dir.path()).expect("fixture loads");
    (dir, data)
}

fn svg_texts(chart: &Chart) -> Vec<String> {
    let doc = roxmltree::Document::parse(&chart.svg).expect("SVG is XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
        .collect()
}

/// The largest plain-number tick label of a chart: its time axis (money axes
/// carry `$`).
fn max_time_tick(chart: &Chart) -> f64 {
    svg_texts(chart)
        .iter()
        .filter_map(|t| t.parse::<f64>().ok())
        .fold(f64::NEG_INFINITY, f64::max)
}

fn by_name<'a>(charts: &'a [Chart], name: &str) -> &'a Chart {
    charts
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no chart {name}"))
}

#[test]
fn loaded_series_keep_the_recorded_times() {
    let (_dir, data) = tick_fixture(Kind::Crash, "tick");
    let path0 = data.path0.as_ref().expect("path 0");
    assert_eq!(path0.ts_ns.len(), path0.step.len());
    assert_eq!(path0.ts_ns.last().copied(), Some(START_NS + SPAN_NS));
    let band = data.venue_band("insurance_fund").expect("band");
    assert_eq!(band.ts_ns.last().copied(), Some(START_NS + SPAN_NS));
}

#[test]
fn single_path_time_axes_follow_irregular_timestamps() {
    let (_dir, data) = tick_fixture(Kind::Single, "tick");
    let all = charts::all(&data).expect("charts render");
    for name in ["insurance_fund", "liquidations", "adl"] {
        let chart = by_name(&all, name);
        let texts = svg_texts(chart);
        assert!(
            texts
                .iter()
                .any(|t| t == "Time since 2025-10-10 20:00:00 UTC (hours)"),
            "{name}: {texts:?}"
        );
        // 8 recorded hours, not 240 × 60 s = 4 hours.
        let max = max_time_tick(chart);
        assert!(
            (7.0..=8.5).contains(&max),
            "{name}: time axis ends at {max}"
        );
    }
    // 240 ticks over 8 hours: summed into 5-minute buckets, and the label says so.
    let liq = svg_texts(by_name(&all, "liquidations"));
    assert!(
        liq.iter()
            .any(|t| t == "Liquidated notional per 5 min (USD)"),
        "{liq:?}"
    );
    let adl = svg_texts(by_name(&all, "adl"));
    assert!(
        adl.iter().any(|t| t == "ADL notional per 5 min (USD)"),
        "{adl:?}"
    );
}

#[test]
fn band_time_axes_follow_irregular_timestamps() {
    let (_dir, data) = tick_fixture(Kind::Crash, "tick");
    let all = charts::all(&data).expect("charts render");
    for name in ["insurance_fund", "liquidations", "adl"] {
        let max = max_time_tick(by_name(&all, name));
        assert!(
            (7.0..=8.5).contains(&max),
            "{name}: time axis ends at {max}"
        );
    }
}

#[test]
fn tick_replays_say_ticks_and_name_their_data_files() {
    let (_dir, data) = tick_fixture(Kind::Single, "tick");
    assert!(data.summary.is_tick());
    let report = build(&data).expect("report builds");
    for chart in &report.charts {
        let texts = svg_texts(chart);
        assert!(
            texts
                .iter()
                .any(|t| t.contains("240 ticks (one step per event time)")),
            "{}: {texts:?}",
            chart.name
        );
        assert!(
            !texts.iter().any(|t| t.contains("steps of 60s")),
            "{}: {texts:?}",
            chart.name
        );
    }
    let md = &report.markdown;
    assert!(
        md.contains("240 ticks, one step per event time of the data (8h 00m)"),
        "{md}"
    );
    // One path: the headline is its outcome, with the run's length.
    assert!(
        md.contains("240 ticks (8h 00m); the figures below are that path's"),
        "{md}"
    );
    for file in [
        "btc prices `../data/btc-mark.parquet`",
        "btc funding `../data/btc-funding.parquet`",
        "btc book depth `../data/btc-depth.parquet`",
    ] {
        assert!(md.contains(file), "{file} missing from {md}");
    }
    assert!(!md.contains("steps of 60 seconds"), "{md}");
}

#[test]
fn resampled_replays_keep_steps_of_n_seconds() {
    let (_dir, data) = tick_fixture(Kind::Single, "resample");
    assert!(!data.summary.is_tick());
    let report = build(&data).expect("report builds");
    let texts = svg_texts(by_name(&report.charts, "insurance_fund"));
    assert!(
        texts.iter().any(|t| t.contains("240 steps of 60s")),
        "{texts:?}"
    );
    assert!(report.markdown.contains("240 steps of 60 seconds"));
    assert!(
        report
            .markdown
            .contains("btc prices `../data/btc-mark.parquet`")
    );
}
