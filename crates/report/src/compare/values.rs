//! How compared values are shown: a value in its unit, the difference B − A,
//! the headline metrics, and the plain-words line for a metric that differs.

use backstop_data::{MetricUnit, find_metric};

use super::run::Run;
use crate::controls::{metric_value, run_value};
use crate::data::ReportData;
use crate::format::plain;

/// `v` in `unit`.
pub(crate) fn show(v: f64, unit: MetricUnit) -> String {
    metric_value(v, unit)
}

/// `b − a` with its sign: `+$1,234`, `-37`, `+1.2 pp`, `0`.
pub(crate) fn difference(d: f64, unit: MetricUnit) -> String {
    let text = match unit {
        MetricUnit::Fraction => format!("{} pp", plain((d * 1000.0).round() / 10.0)),
        _ => show(d, unit),
    };
    let zero = match unit {
        MetricUnit::Fraction => "0 pp".to_owned(),
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

/// The headline metrics: key in `aggregates.metrics`, label, and the noun of
/// the plain-words line (`None`: no line). Their units are the metric table's.
pub(crate) const HEADLINE: [(&str, &str, Option<&str>); 10] = [
    (
        "insurance_fund_max_drawdown",
        "Insurance-fund max drawdown",
        Some("insurance-fund drawdown"),
    ),
    (
        "insurance_fund_max_drawdown_pct",
        "Insurance-fund max drawdown %",
        None,
    ),
    ("insurance_fund_min", "Insurance fund, minimum", None),
    ("bad_debt", "Bad debt", Some("bad debt")),
    (
        "socialized_loss",
        "Socialized loss",
        Some("socialized loss"),
    ),
    ("adl_closes", "ADL closes", Some("ADL closes")),
    ("adl_notional", "ADL notional", None),
    (
        "liquidation_orders",
        "Liquidation orders",
        Some("liquidation orders"),
    ),
    ("liquidated_notional", "Liquidated notional", None),
    (
        "accounts_liquidated",
        "Accounts liquidated",
        Some("accounts liquidated"),
    ),
];

/// The unit of metric `key` ([`backstop_data::METRICS`]).
pub(crate) fn unit_of(key: &str) -> MetricUnit {
    find_metric(key).map_or(MetricUnit::Count, |m| m.unit)
}

/// The label of headline metric `key`.
pub(crate) fn headline_label(key: &str) -> &'static str {
    HEADLINE
        .iter()
        .find(|(k, ..)| *k == key)
        .map_or("", |(_, label, ..)| label)
}

/// A run's value of a metric: the path's, or the mean across paths.
pub(crate) fn value(data: &ReportData, metric: &str) -> Option<f64> {
    run_value(data, metric)
}

/// The plain-words line for a metric that differs, with what the controls did
/// when only one side has controls in force (or one side's are a superset).
pub(crate) fn line(
    a: &Run,
    b: &Run,
    noun: &str,
    unit: MetricUnit,
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
        MetricUnit::Count | MetricUnit::Step => format!(
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
pub(crate) fn controls_words(names: &[String]) -> String {
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

/// Whether either run has more than one path.
pub(crate) fn multi_any(a: &Run, b: &Run) -> bool {
    !a.data.single_path() || !b.data.single_path()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_metrics_are_in_the_metric_table() {
        for (key, ..) in HEADLINE {
            assert!(find_metric(key).is_some(), "{key}");
        }
        assert_eq!(
            unit_of("insurance_fund_max_drawdown_pct"),
            MetricUnit::Fraction
        );
        assert_eq!(difference(0.0123, MetricUnit::Fraction), "+1.2 pp");
        assert_eq!(
            difference(-0.0, MetricUnit::Usd),
            show(0.0, MetricUnit::Usd)
        );
    }
}
