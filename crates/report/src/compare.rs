//! `backstop compare`: two runs side by side (`compare.html`, `compare.md` and
//! their charts), typically the same scenario with and without a control.
//!
//! Each run is read from its results folder alone, as a report is. The headline
//! table shows each run's value (one path: the path's; several: the mean across
//! paths, with the 99th percentile for the fund drawdown and bad debt), the
//! difference B − A, and plain-words lines; the chart overlays the two
//! insurance-fund balances (one path: the path; several: the median).

use std::path::Path;

use crate::charts::{self, Chart, OverlayLine};
use crate::controls::{self, MetricUnit};
use crate::data::{ReportData, files};
use crate::document::{STYLE, cell, esc, esc_code, html_table, inline_svg, md, md_table};
use crate::format::{count, pct, pct_interval, plain, usd};
use crate::{CHARTS_DIR, ReportError};

/// File name of the HTML comparison.
pub const COMPARE_HTML: &str = "compare.html";
/// File name of the Markdown comparison.
pub const COMPARE_MARKDOWN: &str = "compare.md";

/// The files a comparison wrote: `compare.html`, `compare.md` and the charts.
pub type CompareFiles = crate::ReportFiles;

/// A rendered comparison, before it is written anywhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The charts.
    pub charts: Vec<Chart>,
    /// `compare.html`: self-contained, SVGs inline.
    pub html: String,
    /// `compare.md`: links `charts/{name}.png`.
    pub markdown: String,
}

/// One run of a comparison: its label and results.
#[derive(Debug, Clone, PartialEq)]
pub struct Run<'a> {
    /// How the documents name the run.
    pub label: String,
    /// Its results folder, as given.
    pub dir: &'a Path,
    /// Its results.
    pub data: &'a ReportData,
}

/// Loads a results folder for a comparison, refusing one that lacks what the
/// comparison needs: `summary.json`, `paths.parquet`, and the per-step series of
/// the chart (`steps.parquet` for a one-path run, `bands.parquet` otherwise).
///
/// # Errors
///
/// [`ReportError::Invalid`] naming the folder and the missing file, or the
/// errors of [`ReportData::load`].
pub fn load_run(dir: &Path) -> Result<ReportData, ReportError> {
    let refuse = |reason: String| ReportError::Invalid {
        what: dir.display().to_string(),
        reason,
    };
    if !dir.is_dir() {
        return Err(refuse(
            "not a folder (give a results folder written by `backstop run`)".to_owned(),
        ));
    }
    for name in [files::SUMMARY, files::PATHS] {
        if !dir.join(name).is_file() {
            return Err(refuse(format!(
                "no {name}: not a results folder written by `backstop run`"
            )));
        }
    }
    let data = ReportData::load(dir)?;
    if data.single_path() {
        if data.path0.as_ref().is_none_or(|p| p.is_empty()) {
            return Err(refuse(format!(
                "a one-path run without {} (or with an empty one): nothing to chart",
                files::STEPS
            )));
        }
    } else if data.venue_band("insurance_fund").is_none() {
        return Err(refuse(format!(
            "a {}-path run without the insurance-fund series of {}: nothing to chart",
            count(data.summary.paths as f64),
            files::BANDS
        )));
    }
    Ok(data)
}

/// The labels of two runs: the scenario names, else (equal names) the folder
/// names, else `A` and `B`.
#[must_use]
pub fn default_labels(
    a_dir: &Path,
    a: &ReportData,
    b_dir: &Path,
    b: &ReportData,
) -> (String, String) {
    if a.summary.name != b.summary.name {
        return (a.summary.name.clone(), b.summary.name.clone());
    }
    let folder = |d: &Path| {
        d.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let (fa, fb) = (folder(a_dir), folder(b_dir));
    if !fa.is_empty() && !fb.is_empty() && fa != fb {
        (fa, fb)
    } else {
        ("A".to_owned(), "B".to_owned())
    }
}

/// Loads the two results folders, labels them (`None`: [`default_labels`]) and
/// writes `compare.html`, `compare.md` and `charts/*` into `out_dir`, each file
/// atomically.
///
/// # Errors
///
/// As [`load_run`] (naming the folder), [`build`], and [`ReportError::Io`] /
/// [`ReportError::Data`] when a file cannot be written.
pub fn compare(
    a_dir: &Path,
    b_dir: &Path,
    label_a: Option<&str>,
    label_b: Option<&str>,
    out_dir: &Path,
) -> Result<CompareFiles, ReportError> {
    let a = load_run(a_dir)?;
    let b = load_run(b_dir)?;
    let (da, db) = default_labels(a_dir, &a, b_dir, &b);
    let label_a = label_a.map_or(da, str::to_owned);
    let label_b = label_b.map_or(db, str::to_owned);
    if label_a == label_b {
        return Err(ReportError::Invalid {
            what: "labels".to_owned(),
            reason: format!("both runs are labelled `{label_a}`; give two different labels"),
        });
    }
    let comparison = build(
        &Run {
            label: label_a,
            dir: a_dir,
            data: &a,
        },
        &Run {
            label: label_b,
            dir: b_dir,
            data: &b,
        },
    )?;
    write(&comparison, out_dir)
}

/// Writes a rendered comparison into `out_dir`, each file atomically.
///
/// # Errors
///
/// [`ReportError::Io`] / [`ReportError::Data`] when a file cannot be written.
pub fn write(comparison: &Comparison, out_dir: &Path) -> Result<CompareFiles, ReportError> {
    crate::write_documents(
        out_dir,
        &comparison.charts,
        (COMPARE_MARKDOWN, &comparison.markdown),
        (COMPARE_HTML, &comparison.html),
    )
}

/// How a compared value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Usd,
    Fraction,
    Count,
    Multiplier,
}

impl From<MetricUnit> for Unit {
    fn from(u: MetricUnit) -> Self {
        match u {
            MetricUnit::Count => Unit::Count,
            MetricUnit::Multiplier => Unit::Multiplier,
            MetricUnit::Usd => Unit::Usd,
        }
    }
}

fn show(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Usd => usd(v),
        Unit::Fraction => pct(v),
        Unit::Count => controls::metric_value(v, MetricUnit::Count),
        Unit::Multiplier => controls::metric_value(v, MetricUnit::Multiplier),
    }
}

/// `b − a` with its sign: `+$1,234`, `-37`, `+1.2 pp`, `0`.
fn difference(d: f64, unit: Unit) -> String {
    let text = match unit {
        Unit::Fraction => format!("{} pp", plain((d * 1000.0).round() / 10.0)),
        _ => show(d, unit),
    };
    let zero = match unit {
        Unit::Fraction => "0 pp".to_owned(),
        _ => show(0.0, unit),
    };
    if text == zero || text.trim_start_matches('-') == zero {
        zero
    } else if d > 0.0 {
        format!("+{text}")
    } else {
        text
    }
}

/// The headline metrics: key in `aggregates.metrics`, label, unit, and the noun
/// of the plain-words line (`None`: no line).
const HEADLINE: [(&str, &str, Unit, Option<&str>); 10] = [
    (
        "insurance_fund_max_drawdown",
        "Insurance-fund max drawdown",
        Unit::Usd,
        Some("insurance-fund drawdown"),
    ),
    (
        "insurance_fund_max_drawdown_pct",
        "Insurance-fund max drawdown %",
        Unit::Fraction,
        None,
    ),
    (
        "insurance_fund_min",
        "Insurance fund, minimum",
        Unit::Usd,
        None,
    ),
    ("bad_debt", "Bad debt", Unit::Usd, Some("bad debt")),
    (
        "socialized_loss",
        "Socialized loss",
        Unit::Usd,
        Some("socialized loss"),
    ),
    ("adl_events", "ADL events", Unit::Count, Some("ADL events")),
    ("adl_notional", "ADL notional", Unit::Usd, None),
    (
        "liquidations",
        "Liquidations",
        Unit::Count,
        Some("liquidations"),
    ),
    (
        "liquidated_notional",
        "Liquidated notional",
        Unit::Usd,
        None,
    ),
    (
        "accounts_liquidated",
        "Accounts liquidated",
        Unit::Count,
        Some("accounts liquidated"),
    ),
];

/// A run's value of a metric: the path's, or the mean across paths.
fn value(data: &ReportData, metric: &str) -> Option<f64> {
    controls::run_value(data, metric)
}

/// The plain-words line for a metric that differs, with what the controls did
/// when only one side has controls in force (or one side's are a superset).
fn line(
    a: &Run,
    b: &Run,
    noun: &str,
    unit: Unit,
    va: f64,
    vb: f64,
    controls_side: Option<(bool, &str)>,
) -> String {
    let d = vb - va;
    let (a_l, b_l) = (&a.label, &b.label);
    if difference(d, unit) == difference(0.0, unit) {
        return format!("{b_l} and {a_l} had the same {noun} ({}).", show(va, unit));
    }
    let amount = show(d.abs(), unit);
    let mut text = match unit {
        Unit::Count => format!(
            "{b_l} had {amount} {} {noun} than {a_l} ({} vs {}).",
            if d < 0.0 { "fewer" } else { "more" },
            show(vb, unit),
            show(va, unit)
        ),
        _ => format!(
            "{b_l} had {amount} {} {noun} than {a_l} ({} vs {}).",
            if d < 0.0 { "less" } else { "more" },
            show(vb, unit),
            show(va, unit)
        ),
    };
    if let Some((b_has_more, who)) = controls_side {
        // The change from the side with fewer controls to the side with more.
        let change = if b_has_more { d } else { -d };
        let verb = if change < 0.0 { "prevented" } else { "caused" };
        text.pop();
        text.push_str(&format!(": {who} {verb} {amount}."));
    }
    // Labels are names: the line starts with one as given.
    text
}

/// Names of the controls in force, in words.
fn controls_words(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    let words: Vec<String> = names
        .iter()
        .map(|n| match n.as_str() {
            "breaker" => "circuit breaker".to_owned(),
            "vol_margin" => "volatility margin".to_owned(),
            "oracle" => "multi-source oracle".to_owned(),
            other => other.replace('_', " "),
        })
        .collect();
    words.join(", ")
}

/// Renders the comparison of `a` and `b`: the headline table with the
/// difference B − A, plain-words lines, each run's controls, and the overlaid
/// insurance-fund chart.
///
/// # Errors
///
/// The chart's [`ReportError::Chart`] / [`ReportError::Png`].
pub fn build(a: &Run, b: &Run) -> Result<Comparison, ReportError> {
    let (sa, sb) = (&a.data.summary, &b.data.summary);
    let multi = !a.data.single_path() || !b.data.single_path();
    let in_a = controls::controls_in_force(sa);
    let in_b = controls::controls_in_force(sb);
    let superset =
        |x: &[String], y: &[String]| x.len() > y.len() && y.iter().all(|c| x.contains(c));
    let controls_side: Option<(bool, String)> = if superset(&in_b, &in_a) {
        Some((
            true,
            if in_a.is_empty() {
                "the controls".to_owned()
            } else {
                format!("{}'s extra controls", b.label)
            },
        ))
    } else if superset(&in_a, &in_b) {
        Some((
            false,
            if in_b.is_empty() {
                "the controls".to_owned()
            } else {
                format!("{}'s extra controls", a.label)
            },
        ))
    } else {
        None
    };
    let side = controls_side.as_ref().map(|(m, w)| (*m, w.as_str()));

    let head = vec![
        "measure".to_owned(),
        a.label.clone(),
        b.label.clone(),
        format!("{} − {}", b.label, a.label),
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    for (key, label, unit, noun) in HEADLINE {
        let (Some(va), Some(vb)) = (value(a.data, key), value(b.data, key)) else {
            continue;
        };
        let label = if multi {
            format!("{label} (mean across paths)")
        } else {
            label.to_owned()
        };
        rows.push(vec![
            label,
            show(va, unit),
            show(vb, unit),
            difference(vb - va, unit),
        ]);
        if let Some(noun) = noun {
            lines.push(line(a, b, noun, unit, va, vb, side));
        }
        if multi && matches!(key, "insurance_fund_max_drawdown" | "bad_debt") {
            let p99 = |d: &ReportData| d.summary.aggregates.metrics.get(key).map(|q| q.p99);
            if let (Some(pa), Some(pb)) = (p99(a.data), p99(b.data)) {
                rows.push(vec![
                    format!("{}, p99 across paths", headline_label(key)),
                    show(pa, unit),
                    show(pb, unit),
                    difference(pb - pa, unit),
                ]);
            }
        }
    }
    let dep = |d: &ReportData| {
        let p = &d.summary.aggregates.insurance_fund_depletion;
        if d.single_path() {
            if p.count > 0.0 {
                "depleted"
            } else {
                "not depleted"
            }
            .to_owned()
        } else {
            pct_interval(p.probability, p.ci95[0], p.ci95[1])
        }
    };
    let (pa, pb) = (
        &sa.aggregates.insurance_fund_depletion,
        &sb.aggregates.insurance_fund_depletion,
    );
    rows.push(vec![
        if multi {
            "Probability of insurance-fund depletion [95% CI]".to_owned()
        } else {
            "Insurance fund depleted".to_owned()
        },
        dep(a.data),
        dep(b.data),
        if multi {
            difference(pb.probability - pa.probability, Unit::Fraction)
        } else {
            String::new()
        },
    ]);
    // The metrics of a control either run enables, and any other not zero.
    let enabled_a = controls::enabled_controls(sa);
    let enabled_b = controls::enabled_controls(sb);
    for metric in controls::metric_union(a.data, b.data) {
        let control = controls::metric_control(&metric);
        let shown = enabled_a.iter().chain(&enabled_b).any(|c| c == control)
            || [a.data, b.data]
                .iter()
                .any(|d| value(d, &metric).is_some_and(|v| v != controls::metric_neutral(&metric)));
        if !shown {
            continue;
        }
        let (label, unit) = controls::metric_label(&metric);
        let unit = Unit::from(unit);
        let va = value(a.data, &metric);
        let vb = value(b.data, &metric);
        let shown = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| show(v, unit));
        let diff = match (va, vb) {
            (Some(x), Some(y)) => difference(y - x, unit),
            _ => String::new(),
        };
        let label = if multi {
            format!("{label} (mean across paths)")
        } else {
            label
        };
        rows.push(vec![label, shown(va), shown(vb), diff]);
    }

    // What else differs between the scenarios.
    let others = |s: &crate::Summary| -> Vec<(String, String)> {
        s.parameters
            .iter()
            .filter(|(k, _)| !k.starts_with("controls.") && k != "name" && k != "description")
            .cloned()
            .collect()
    };
    let (oa, ob) = (others(sa), others(sb));
    let mut differing: Vec<String> = Vec::new();
    for (k, v) in &oa {
        match ob.iter().find(|(kb, _)| kb == k) {
            Some((_, vb)) if vb == v => {}
            Some((_, vb)) => differing.push(format!("`{k}` ({v} vs {vb})")),
            None => differing.push(format!("`{k}` (only in {})", a.label)),
        }
    }
    for (k, _) in &ob {
        if !oa.iter().any(|(ka, _)| ka == k) {
            differing.push(format!("`{k}` (only in {})", b.label));
        }
    }
    let controls_differ = controls::control_settings(sa) != controls::control_settings(sb);
    let mut notes = Vec::new();
    if differing.is_empty() && controls_differ {
        notes.push(
            "The two scenarios differ only in their controls (`controls.*`): same market, path, \
             population and seed, so the differences above are the controls' doing."
                .to_owned(),
        );
    } else if !differing.is_empty() {
        let shown: Vec<String> = differing.iter().take(6).cloned().collect();
        notes.push(format!(
            "The scenarios differ in more than their controls: {}{}. The differences above are \
             not the controls' alone.",
            shown.join(", "),
            if differing.len() > 6 {
                format!(" and {} more", differing.len() - 6)
            } else {
                String::new()
            }
        ));
    }
    if sa.steps != sb.steps {
        notes.push(format!(
            "The runs have different numbers of steps ({} vs {}); the chart puts both on the \
             time elapsed since each run's start.",
            count(sa.steps as f64),
            count(sb.steps as f64)
        ));
    }
    if multi {
        notes.push(
            "Multi-path values are means across paths; probabilities are the share of paths, \
             with the 95% confidence interval each run reports."
                .to_owned(),
        );
    }

    let run_text = |r: &Run, in_force: &[String]| {
        format!(
            "{}: scenario `{}`, {}, {}, results `{}`; controls in force: {}.",
            r.label,
            r.data.summary.name,
            if r.data.summary.paths == 1 {
                "1 path".to_owned()
            } else {
                format!("{} paths", count(r.data.summary.paths as f64))
            },
            r.data.summary.steps_text(),
            r.dir.display(),
            controls_words(in_force),
        )
    };
    let runs = vec![run_text(a, &in_a), run_text(b, &in_b)];
    let settings = |r: &Run| -> Vec<String> {
        controls::enabled_controls(&r.data.summary)
            .iter()
            .map(|c| controls::describe(&r.data.summary, c))
            .collect()
    };
    let settings_a = settings(a);
    let settings_b = settings(b);

    let chart = fund_chart(a, b)?;
    let charts = vec![chart];
    let title = format!("Comparison: {} vs {}", a.label, b.label);
    let doc = Doc {
        title,
        runs,
        head,
        rows,
        lines,
        notes,
        settings: vec![(a.label.clone(), settings_a), (b.label.clone(), settings_b)],
    };
    let html = doc.html(&charts);
    let markdown = doc.markdown(&charts);
    Ok(Comparison {
        charts,
        html,
        markdown,
    })
}

fn headline_label(key: &str) -> &'static str {
    HEADLINE
        .iter()
        .find(|(k, ..)| *k == key)
        .map_or("", |(_, label, ..)| label)
}

/// The overlaid insurance-fund chart (and the marks, when both runs have them).
fn fund_chart(a: &Run, b: &Run) -> Result<Chart, ReportError> {
    struct Series {
        times: Vec<i64>,
        fund: Vec<f64>,
        mark: Option<(String, Vec<f64>)>,
    }
    let series = |d: &ReportData| -> Series {
        if !d.single_path()
            && let Some(band) = d.venue_band("insurance_fund")
        {
            let times = charts::times_of(d, &band.step, &band.ts_ns);
            let mark = d
                .bands
                .iter()
                .find(|((m, s), b)| !m.is_empty() && s == "mark" && b.step == band.step)
                .map(|((m, _), b)| (m.clone(), b.p50.clone()));
            return Series {
                times,
                fund: band.p50.clone(),
                mark,
            };
        }
        match d.path0.as_ref() {
            Some(p) => Series {
                times: charts::times_of(d, &p.step, &p.ts_ns),
                fund: p.insurance_fund.clone(),
                mark: Some((p.market.clone(), p.mark.clone())),
            },
            None => Series {
                times: Vec::new(),
                fund: Vec::new(),
                mark: None,
            },
        }
    };
    let (xa, xb) = (series(a.data), series(b.data));
    let first = |s: &Series| s.times.first().copied().unwrap_or(0);
    let same_start = first(&xa) == first(&xb);
    #[allow(clippy::cast_precision_loss)]
    let span = |s: &Series| {
        s.times
            .last()
            .copied()
            .unwrap_or(0)
            .saturating_sub(first(s)) as f64
            / 1e9
    };
    let (unit_seconds, unit) = charts::time_unit(span(&xa).max(span(&xb)));
    let x_desc = if same_start {
        format!("Time since {} ({unit})", charts::utc(first(&xa)))
    } else {
        format!("Time since each run's start ({unit})")
    };
    #[allow(clippy::cast_precision_loss)]
    let xs = |s: &Series| -> Vec<f64> {
        let origin = first(s);
        s.times
            .iter()
            .map(|t| t.saturating_sub(origin) as f64 / 1e9 / unit_seconds)
            .collect()
    };
    let what = |d: &ReportData| {
        if d.single_path() {
            String::new()
        } else {
            format!(" (median of {} paths)", count(d.summary.paths as f64))
        }
    };
    let runs = vec![
        OverlayLine {
            label: format!("{}{}", a.label, what(a.data)),
            x: xs(&xa),
            y: xa.fund.clone(),
            color: 0,
            start: a.data.summary.insurance_fund_initial,
        },
        OverlayLine {
            label: format!("{}{}", b.label, what(b.data)),
            x: xs(&xb),
            y: xb.fund.clone(),
            color: 1,
            start: b.data.summary.insurance_fund_initial,
        },
    ];
    let (marks, mark_desc) = match (&xa.mark, &xb.mark) {
        (Some((ma, va)), Some((mb, vb))) => {
            let desc = if ma == mb {
                format!("{} mark price (USD)", ma.to_uppercase())
            } else {
                format!(
                    "Mark price (USD): {} and {}",
                    ma.to_uppercase(),
                    mb.to_uppercase()
                )
            };
            (
                vec![
                    OverlayLine {
                        label: a.label.clone(),
                        x: xs(&xa),
                        y: va.clone(),
                        color: 0,
                        start: None,
                    },
                    OverlayLine {
                        label: b.label.clone(),
                        x: xs(&xb),
                        y: vb.clone(),
                        color: 1,
                        start: None,
                    },
                ],
                desc,
            )
        }
        _ => (Vec::new(), String::new()),
    };
    let dd = |d: &ReportData| {
        value(d, "insurance_fund_max_drawdown").map_or_else(|| "n/a".to_owned(), usd)
    };
    let (line, drawdown) = if multi_any(a, b) {
        ("the median across paths", "mean max drawdown")
    } else {
        ("the path", "max drawdown")
    };
    let mut caption = format!(
        "Insurance-fund balance at the end of each step of both runs (top; {line}): {} \
         ({drawdown} {}) and {} ({drawdown} {}); dashed the starting balance, red zero.",
        a.label,
        dd(a.data),
        b.label,
        dd(b.data),
    );
    if !marks.is_empty() {
        caption.push_str(" Bottom: each run's mark price, same colours.");
    }
    let subtitle = format!(
        "Max drawdown{}: {} {}, {} {}",
        if multi_any(a, b) {
            " (mean across paths)"
        } else {
            ""
        },
        a.label,
        dd(a.data),
        b.label,
        dd(b.data),
    );
    charts::overlay(
        "compare_insurance_fund",
        format!("Insurance-fund balance: {} vs {}", a.label, b.label),
        subtitle,
        caption,
        x_desc,
        "Insurance-fund balance (USD)".to_owned(),
        runs,
        marks,
        mark_desc,
    )
}

fn multi_any(a: &Run, b: &Run) -> bool {
    !a.data.single_path() || !b.data.single_path()
}

/// The comparison's text.
struct Doc {
    title: String,
    runs: Vec<String>,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    lines: Vec<String>,
    notes: Vec<String>,
    settings: Vec<(String, Vec<String>)>,
}

impl Doc {
    fn html(&self, charts: &[Chart]) -> String {
        let mut h = String::new();
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        h.push_str(&format!(
            "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n<ul>\n",
            esc(&self.title),
            esc(&self.title)
        ));
        for r in &self.runs {
            h.push_str(&format!("<li>{}</li>\n", esc_code(r)));
        }
        h.push_str("</ul>\n<h2 id=\"headline\">Side by side</h2>\n");
        html_table(&mut h, &self.head, &self.rows);
        h.push_str("<h2 id=\"differences\">What changed</h2>\n<ul>\n");
        for l in &self.lines {
            h.push_str(&format!("<li>{}</li>\n", esc(l)));
        }
        h.push_str("</ul>\n");
        for n in &self.notes {
            h.push_str(&format!("<p class=\"muted\">{}</p>\n", esc_code(n)));
        }
        h.push_str("<h2 id=\"charts\">Charts</h2>\n");
        for chart in charts {
            h.push_str(&format!(
                "<figure id=\"chart-{}\" role=\"img\" aria-label=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
                chart.name,
                esc(&chart.title),
                inline_svg(&chart.svg),
                esc(&chart.caption)
            ));
        }
        h.push_str("<h2 id=\"controls\">Controls of each run</h2>\n");
        for (label, lines) in &self.settings {
            h.push_str(&format!("<h3>{}</h3>\n", esc(label)));
            if lines.is_empty() {
                h.push_str("<p>No control enabled.</p>\n");
            } else {
                h.push_str("<ul>\n");
                for l in lines {
                    h.push_str(&format!("<li>{}</li>\n", esc(l)));
                }
                h.push_str("</ul>\n");
            }
        }
        h.push_str("</body>\n</html>\n");
        h
    }

    fn markdown(&self, charts: &[Chart]) -> String {
        let mut m = format!("# {}\n\n", md(&self.title));
        for r in &self.runs {
            m.push_str(&format!("- {}\n", md(r)));
        }
        m.push_str("\n## Side by side\n\n");
        md_table(&mut m, &self.head, &self.rows);
        m.push_str("## What changed\n\n");
        for l in &self.lines {
            m.push_str(&format!("- {}\n", md(l)));
        }
        m.push('\n');
        for n in &self.notes {
            m.push_str(&format!("{}\n\n", md(n)));
        }
        m.push_str("## Charts\n\n");
        for chart in charts {
            m.push_str(&format!(
                "### {}\n\n![{}]({CHARTS_DIR}/{}.png)\n\n{}\n\n",
                md(&chart.title),
                cell(&chart.caption).replace(['[', ']'], ""),
                chart.name,
                md(&chart.caption)
            ));
        }
        m.push_str("## Controls of each run\n\n");
        for (label, lines) in &self.settings {
            m.push_str(&format!("### {}\n\n", md(label)));
            if lines.is_empty() {
                m.push_str("No control enabled.\n\n");
            } else {
                for l in lines {
                    m.push_str(&format!("- {}\n", md(l)));
                }
                m.push('\n');
            }
        }
        m
    }
}
