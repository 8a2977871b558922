//! The settings of the controls a scenario enables, read from the flattened
//! `controls.*` parameters of `summary.json`, and in words.

use crate::format::{pct, plain};
use crate::summary::RunInfo;

/// The controls the scenario enables (`controls.<name>.enabled = true`), by name,
/// in scenario-key order.
#[must_use]
pub fn enabled_controls(s: &RunInfo) -> Vec<String> {
    s.parameters
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("controls.")?.strip_suffix(".enabled")?;
            (v == "true" && !name.contains('.')).then(|| name.to_owned())
        })
        .collect()
}

/// The controls in force: enabled, and for the oracle more than one source (a
/// one-source oracle is the raw mark, not a control).
#[must_use]
pub fn controls_in_force(s: &RunInfo) -> Vec<String> {
    enabled_controls(s)
        .into_iter()
        .filter(|c| {
            c != "oracle"
                || s.parameter_f64("controls.oracle.sources")
                    .is_none_or(|n| n > 1.0)
        })
        .collect()
}

/// The `controls.*` settings of `summary`, as `(key, value)`, for comparing runs.
#[must_use]
pub fn control_settings(s: &RunInfo) -> Vec<(String, String)> {
    s.parameters
        .iter()
        .filter(|(k, _)| k.starts_with("controls."))
        .cloned()
        .collect()
}

/// The settings of control `name` in words.
// Over 70 lines: one sentence per control, each naming its own settings.
#[must_use]
pub fn describe(s: &RunInfo, name: &str) -> String {
    let p = |field: &str| s.parameter(&format!("controls.{name}.{field}"));
    let f = |field: &str| s.parameter_f64(&format!("controls.{name}.{field}"));
    let steps = |n: Option<f64>| match n {
        Some(n) if (n - 1.0).abs() < f64::EPSILON => "1 step".to_owned(),
        Some(n) => format!("{} steps", plain(n)),
        None => "(not stated) steps".to_owned(),
    };
    let frac = |v: Option<f64>| v.map_or_else(|| "(not stated)".to_owned(), pct);
    match name {
        "breaker" => format!(
            "Circuit breaker: a mark move of more than {} within {} pauses liquidations for {} \
             (the tripping step included); breaches found meanwhile execute after the pause.",
            frac(f("threshold")),
            steps(f("window_steps")),
            steps(f("pause_steps")),
        ),
        "vol_margin" => format!(
            "Volatility margin: margin rates are multiplied by realised volatility over {} per \
             step (EWMA half-life {}), between 1× and {}×, republished every {}.",
            frac(f("sigma_ref")),
            steps(f("half_life_steps")),
            f("cap").map_or_else(|| "(not stated)".to_owned(), plain),
            steps(f("update_interval_steps")),
        ),
        "oracle" => {
            let sources = f("sources").unwrap_or(1.0);
            let mut text = if sources > 1.0 {
                format!(
                    "Oracle: the mark is the {} of {} price sources; a source more than {} from \
                     their median is dropped (deviation guard), one not updated for more than {} \
                     is ignored.",
                    p("aggregation").unwrap_or("median").replace('_', " "),
                    plain(sources),
                    frac(f("deviation_guard")),
                    steps(f("staleness_limit_steps")),
                )
            } else {
                "Oracle: one price source; the mark is that raw source, errors included (no \
                 guard is possible with one source)."
                    .to_owned()
            };
            if f("fault_steps").is_some_and(|n| n > 0.0) {
                let what = if p("fault_stale") == Some("true") {
                    "stops updating".to_owned()
                } else {
                    let wick = f("fault_wick").unwrap_or(0.0);
                    format!(
                        "reports a price {} {}",
                        pct(wick.abs()),
                        if wick < 0.0 { "too low" } else { "too high" }
                    )
                };
                text.push_str(&format!(
                    " Injected fault: source {} {what} for {} from step {}.",
                    f("faulty_source").map_or_else(|| "0".to_owned(), plain),
                    steps(f("fault_steps")),
                    f("fault_start_step").map_or_else(|| "0".to_owned(), plain),
                ));
            }
            text
        }
        "collateral" => describe_collateral(s),
        other => {
            let settings: Vec<String> = s
                .parameters
                .iter()
                .filter_map(|(k, v)| {
                    let field = k.strip_prefix(&format!("controls.{other}."))?;
                    (field != "enabled").then(|| format!("{field} {v}"))
                })
                .collect();
            if settings.is_empty() {
                format!("{}: enabled.", title_case(other))
            } else {
                format!("{}: {}.", title_case(other), settings.join(", "))
            }
        }
    }
}

/// `[controls.collateral]` in words: per asset, who holds it, its weight and
/// where its price comes from (with the schedule's lowest point).
fn describe_collateral(s: &RunInfo) -> String {
    const PREFIX: &str = "controls.collateral.asset.";
    let mut names: Vec<&str> = s
        .parameters
        .iter()
        .filter_map(|(k, _)| k.strip_prefix(PREFIX)?.strip_suffix(".haircut"))
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return "Collateral: enabled, no asset.".to_owned();
    }
    let assets: Vec<String> = names
        .iter()
        .map(|name| {
            let f = |field: &str| s.parameter_f64(&format!("{PREFIX}{name}.{field}"));
            let market = s.parameter(&format!("{PREFIX}{name}.market"));
            let mut lowest: Option<(f64, String)> = None;
            for i in 0.. {
                let Some(price) = f(&format!("schedule.{i}.price")) else {
                    break;
                };
                let at = s
                    .parameter(&format!("{PREFIX}{name}.schedule.{i}.at"))
                    .map(str::to_owned)
                    .or_else(|| {
                        f(&format!("schedule.{i}.step")).map(|n| format!("step {}", plain(n)))
                    })
                    .unwrap_or_default();
                if lowest.as_ref().is_none_or(|(p, _)| price < *p) {
                    lowest = Some((price, at));
                }
            }
            let price = match (market, &lowest) {
                (Some(m), None) => format!("priced at the `{m}` mark"),
                (Some(m), Some((p, at))) => {
                    format!(
                        "priced at the `{m}` mark times a schedule (lowest {}× at {at})",
                        plain(*p)
                    )
                }
                (None, Some((p, at))) => {
                    format!("priced by a schedule, lowest {} USD at {at}", plain(*p))
                }
                (None, None) => "with no price path".to_owned(),
            };
            format!(
                "`{name}` held by {} of cross-margin accounts as {} of their margin, counted at {} \
                 of its value, {price}",
                f("holders").map_or_else(|| "(not stated)".to_owned(), pct),
                f("share").map_or_else(|| "(not stated)".to_owned(), pct),
                f("haircut").map_or_else(|| "(not stated)".to_owned(), |h| pct(1.0 - h)),
            )
        })
        .collect();
    format!(
        "Collateral: {}. Holders start with the same margin as with USD alone (they posted \
         more value than it counts for); a liquidation first sells the account's assets at \
         market, and closes positions only if that does not restore it.",
        assets.join("; ")
    )
}

pub(crate) fn title_case(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
