//! The side-by-side table of a comparison: the headline metrics, the
//! depletion probability and the controls metrics, each with its difference
//! B − A; and the plain-words lines of the headline metrics that differ.

use backstop_data::MetricUnit;

use super::run::Run;
use super::values::{HEADLINE, difference, headline_label, line, multi_any, show, unit_of, value};
use crate::controls;
use crate::data::ReportData;
use crate::format::pct_interval;

/// The table (heading and rows) and the plain-words lines.
pub(crate) struct Table {
    pub(crate) head: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
    pub(crate) lines: Vec<String>,
}

/// Which run has more controls in force, if one's are a superset of the
/// other's: `(b has more, how the lines name them)`.
pub(crate) fn controls_side(
    a: &Run,
    b: &Run,
    in_a: &[String],
    in_b: &[String],
) -> Option<(bool, String)> {
    let superset =
        |x: &[String], y: &[String]| x.len() > y.len() && y.iter().all(|c| x.contains(c));
    let who = |fewer: &[String], more: &Run| {
        if fewer.is_empty() {
            "the controls".to_owned()
        } else {
            format!("{}'s extra controls", more.label)
        }
    };
    if superset(in_b, in_a) {
        Some((true, who(in_a, b)))
    } else if superset(in_a, in_b) {
        Some((false, who(in_b, a)))
    } else {
        None
    }
}

/// The whole table of `a` and `b`.
pub(crate) fn table(a: &Run, b: &Run, side: Option<(bool, &str)>) -> Table {
    let multi = multi_any(a, b);
    let head = vec![
        "measure".to_owned(),
        a.label.clone(),
        b.label.clone(),
        format!("{} − {}", b.label, a.label),
    ];
    let (mut rows, lines) = headline_rows(a, b, multi, side);
    rows.push(depletion_row(a, b, multi));
    rows.extend(control_rows(a, b, multi));
    Table { head, rows, lines }
}

/// The rows (and plain-words lines) of the headline metrics both runs have;
/// across paths, the p99 of the fund drawdown and of bad debt too.
fn headline_rows(
    a: &Run,
    b: &Run,
    multi: bool,
    side: Option<(bool, &str)>,
) -> (Vec<Vec<String>>, Vec<String>) {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    for (key, label, noun) in HEADLINE {
        let unit = unit_of(key);
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
    (rows, lines)
}

/// The depletion row: depleted or not (one path), else the probability.
fn depletion_row(a: &Run, b: &Run, multi: bool) -> Vec<String> {
    let dep = |d: &ReportData| {
        let p = &d.summary.aggregates.insurance_fund_depletion;
        if d.single_path() {
            if p.count > 0 {
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
        &a.data.summary.aggregates.insurance_fund_depletion,
        &b.data.summary.aggregates.insurance_fund_depletion,
    );
    vec![
        if multi {
            "Probability of insurance-fund depletion [95% CI]".to_owned()
        } else {
            "Insurance fund depleted".to_owned()
        },
        dep(a.data),
        dep(b.data),
        if multi {
            difference(pb.probability - pa.probability, MetricUnit::Fraction)
        } else {
            String::new()
        },
    ]
}

/// The rows of the metrics of a control either run enables, and of any other
/// controls metric not at its neutral value.
fn control_rows(a: &Run, b: &Run, multi: bool) -> Vec<Vec<String>> {
    let enabled_a = controls::enabled_controls(&a.data.summary);
    let enabled_b = controls::enabled_controls(&b.data.summary);
    let mut rows = Vec::new();
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
    rows
}
