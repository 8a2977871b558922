//! Every chart, rendered from the fixed fixture results: PNGs decode at the stated
//! size and are not blank; SVGs are XML and carry the title and axis labels.

mod common;

use backstop_report::charts::{self, BACKGROUND, Chart};
use backstop_report::{DepletionGrid, ReportData};
use common::Kind;

fn load(kind: Kind) -> (tempfile::TempDir, ReportData) {
    let dir = tempfile::tempdir().expect("temp dir");
    common::write(dir.path(), kind);
    let mut data = ReportData::load(dir.path()).expect("fixture loads");
    if kind == Kind::Sweep {
        data.sweep = Some(common::sweep_grid());
    }
    (dir, data)
}

/// Decodes the PNG, checks its size, and returns the share of pixels below the
/// title band that differ from the background.
fn ink_share(chart: &Chart) -> f64 {
    let decoder = png::Decoder::new(std::io::Cursor::new(&chart.png));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    assert_eq!(
        (info.width, info.height),
        (chart.width, chart.height),
        "{}",
        chart.name
    );
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}", chart.name);
    let (w, h) = (info.width as usize, info.height as usize);
    let bg = [BACKGROUND.0, BACKGROUND.1, BACKGROUND.2];
    let mut inked = 0usize;
    let top = 70; // below the title and subtitle
    for y in top..h {
        for x in 0..w {
            let i = (y * w + x) * 3;
            if buf[i..i + 3] != bg {
                inked += 1;
            }
        }
    }
    inked as f64 / ((h - top) * w) as f64
}

/// Every text node of the SVG, which must parse as XML.
fn svg_texts(chart: &Chart) -> Vec<String> {
    let doc = roxmltree::Document::parse(&chart.svg)
        .unwrap_or_else(|e| panic!("{}: SVG is not XML: {e}", chart.name));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
        .collect()
}

fn assert_chart(chart: &Chart, labels: &[&str]) {
    let share = ink_share(chart);
    assert!(
        share > 0.03,
        "{}: only {:.2}% of the plot area is drawn",
        chart.name,
        share * 100.0
    );
    assert!(share < 0.97, "{}: the plot area is one colour", chart.name);
    let texts = svg_texts(chart);
    assert!(
        texts.contains(&chart.title),
        "{}: title missing from {texts:?}",
        chart.name
    );
    for label in labels {
        assert!(
            texts.iter().any(|t| t.contains(label)),
            "{}: no text containing {label:?} in {texts:?}",
            chart.name
        );
    }
}

fn by_name<'a>(charts: &'a [Chart], name: &str) -> &'a Chart {
    charts
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no chart {name}"))
}

const TIME: &str = "Time since 2025-10-10 20:00:00 UTC (hours)";

#[test]
fn crash_run_charts_have_data_titles_and_axis_labels() {
    let (_dir, data) = load(Kind::Crash);
    let all = charts::all(&data).expect("charts render");
    let names: Vec<&str> = all.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "insurance_fund",
            "drawdown",
            "socialized_loss",
            "liquidations",
            "adl"
        ]
    );
    for chart in &all {
        assert!(
            chart.title.starts_with("fixture-crash: "),
            "{}",
            chart.title
        );
    }
    assert_chart(
        by_name(&all, "insurance_fund"),
        &[
            TIME,
            "Insurance-fund balance (USD)",
            "median",
            "p5–p95",
            "$2M",
        ],
    );
    assert_chart(
        by_name(&all, "drawdown"),
        &[
            "Insurance-fund loss per path (USD)",
            "Paths",
            "VaR 99%",
            "ES 99%",
            "(log)",
        ],
    );
    assert_chart(
        by_name(&all, "socialized_loss"),
        &["Socialized loss per path", "Paths"],
    );
    assert_chart(
        by_name(&all, "liquidations"),
        &[
            TIME,
            "Mean liquidated notional per step (USD)",
            "BTC median mark price (USD)",
            "longs liquidated",
        ],
    );
    assert_chart(
        by_name(&all, "adl"),
        &["ADL notional", "beyond minimum (excess)"],
    );
}

#[test]
fn usd_axes_never_use_scientific_notation() {
    let (_dir, data) = load(Kind::Crash);
    for chart in charts::all(&data).expect("charts render") {
        for text in svg_texts(&chart) {
            let sci = text.contains("e+") || text.contains("e-0") || text.contains("E+");
            assert!(!sci, "{}: scientific notation in {text:?}", chart.name);
        }
    }
}

#[test]
fn single_path_shows_balance_over_price_and_haircuts_per_account() {
    let (_dir, data) = load(Kind::Single);
    let all = charts::all(&data).expect("charts render");
    let fund = by_name(&all, "insurance_fund");
    assert_eq!(fund.height, charts::TALL_HEIGHT);
    assert_chart(
        fund,
        &["Insurance fund (USD)", "BTC mark price (USD)", TIME],
    );
    assert_chart(
        by_name(&all, "socialized_loss"),
        &["Haircut per account (USD)", "Accounts"],
    );
    assert_chart(
        by_name(&all, "adl"),
        &["ADL closes per step", "ADL notional per step (USD)"],
    );
    // One path has no distribution: the drawdown chart says so with the figures.
    let dd = by_name(&all, "drawdown");
    assert_chart(dd, &["One path: insurance-fund loss $"]);
}

#[test]
fn empty_results_render_charts_that_say_so() {
    let (_dir, data) = load(Kind::Quiet);
    let all = charts::all(&data).expect("charts render");
    for (name, message) in [
        ("liquidations", "No liquidations in this run"),
        ("adl", "No ADL events in this run"),
        (
            "socialized_loss",
            "No socialized loss in any of the 200 paths",
        ),
        (
            "drawdown",
            "The insurance fund never lost money in any of the 200 paths",
        ),
    ] {
        let chart = by_name(&all, name);
        assert_chart(chart, &[message]);
        assert!(chart.caption.contains(message), "{name}: {}", chart.caption);
    }
    // The fund chart still draws its (flat) fan.
    assert_chart(by_name(&all, "insurance_fund"), &["median"]);
}

#[test]
fn sweep_heatmap_is_drawn_only_for_several_parameter_sets() {
    let (_dir, data) = load(Kind::Sweep);
    let all = charts::all(&data).expect("charts render");
    let heat = by_name(&all, "sweep_depletion");
    assert_chart(
        heat,
        &[
            // Readable names with units, values as the parameter reads.
            "insurance fund (USD)",
            "liquidation fee (%)",
            "$1M",
            "0.25%",
            "P(depletion)",
        ],
    );
    // Every cell's probability is printed in it.
    let texts = svg_texts(heat);
    let grid = common::sweep_grid();
    for p in grid.probability.iter().flatten().flatten() {
        let label = backstop_report::format::pct(*p);
        assert!(texts.contains(&label), "cell {label} missing");
    }

    let (_dir, mut one_set) = load(Kind::Crash);
    one_set.sweep = Some(common::sweep_grid());
    let names: Vec<&str> = charts::all(&one_set)
        .expect("render")
        .iter()
        .map(|c| c.name)
        .collect();
    assert!(!names.contains(&"sweep_depletion"), "{names:?}");
}

#[test]
fn heatmap_accepts_a_single_cell_and_rejects_ragged_grids() {
    let (_dir, data) = load(Kind::Crash);
    let one = DepletionGrid {
        x_name: "insurance_fund.initial".to_owned(),
        x_values: vec![1e6],
        y_name: "liquidation.fee".to_owned(),
        y_values: vec![0.005],
        probability: vec![vec![Some(0.25)]],
        target: None,
        meets: vec![vec![Some(false)]],
        held: Vec::new(),
    };
    let chart = charts::sweep_heatmap(&data, &one).expect("1x1 grid renders");
    assert_chart(&chart, &["25.0%"]);

    let ragged = DepletionGrid {
        probability: vec![vec![Some(0.1), Some(0.2)]],
        ..one.clone()
    };
    let err = charts::sweep_heatmap(&data, &ragged).expect_err("ragged grid");
    assert!(err.to_string().contains("sweep grid"), "{err}");
    let out_of_range = DepletionGrid {
        probability: vec![vec![Some(1.5)]],
        ..one
    };
    assert!(charts::sweep_heatmap(&data, &out_of_range).is_err());
}

#[test]
fn charts_are_deterministic() {
    let (_a, first) = load(Kind::Crash);
    let (_b, second) = load(Kind::Crash);
    let a = charts::all(&first).expect("render");
    let b = charts::all(&second).expect("render");
    assert_eq!(a, b);
}

#[test]
fn controls_run_charts_the_margin_multiplier_over_the_price() {
    let (_dir, data) = load(Kind::Controls);
    let all = charts::all(&data).expect("charts render");
    let chart = by_name(&all, "margin_multiplier");
    assert_eq!(chart.height, charts::TALL_HEIGHT);
    assert_eq!(chart.title, "fixture-controls: margin multiplier and price");
    assert_chart(
        chart,
        &[
            "Margin multiplier (×)",
            "BTC mark price (USD)",
            TIME,
            "cap 2×",
            "liquidations paused (circuit breaker)",
        ],
    );
    assert!(chart.caption.contains("largest 2×"), "{}", chart.caption);
    // Without the volatility margin there is no such chart.
    let (_dir, plain) = load(Kind::Single);
    let names: Vec<&str> = charts::all(&plain)
        .expect("charts render")
        .iter()
        .map(|c| c.name)
        .collect();
    assert!(!names.contains(&"margin_multiplier"), "{names:?}");
    assert!(
        charts::margin_multiplier(&plain)
            .expect("renders")
            .is_none()
    );
}
