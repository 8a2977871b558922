//! The report's lines about each market's own insurance fund (dYdX v4's
//! isolated market, docs/model.md §6 "Funds per market"), from
//! `market_funds.parquet`. Runs without one show nothing new: every line here
//! is added only when the file has rows.

use backstop_data::MarketFundRow;

use crate::data::ReportData;
use crate::format::{count, pct, usd};

/// The markets with a fund of their own, in file order (market order).
fn markets(data: &ReportData) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for r in &data.market_funds {
        if !names.contains(&r.market.as_str()) {
            names.push(&r.market);
        }
    }
    names
}

/// Whether the run has a market fund of its own: the shared fund's lines
/// then say they are the shared fund's.
pub(crate) fn any(data: &ReportData) -> bool {
    !data.market_funds.is_empty()
}

/// `label` naming the shared fund where it speaks of "the insurance fund"
/// (runs with a market fund of its own only).
pub(crate) fn shared(label: &str) -> String {
    label
        .replacen("Insurance fund", "Shared insurance fund", 1)
        .replacen("Insurance-fund", "Shared insurance-fund", 1)
        .replacen("insurance-fund", "shared insurance-fund", 1)
        .replacen("The insurance fund", "The shared insurance fund", 1)
}

/// A headline line: label, value, note.
pub(crate) type Line = (String, String, String);

/// One headline line per market fund: its depletion (on how many paths) and
/// its figures, the market named in the label.
pub(crate) fn headline_rows(data: &ReportData, step_text: &dyn Fn(f64) -> String) -> Vec<Line> {
    let set = data.first_param_set();
    markets(data)
        .into_iter()
        .map(|m| row(m, &data.market_fund_rows(m, set), step_text))
        .collect()
}

/// The line of market `m`'s fund over `rows` (its paths).
fn row(m: &str, rows: &[&MarketFundRow], step_text: &dyn Fn(f64) -> String) -> Line {
    let label = format!(
        "{}'s own insurance fund (isolated market)",
        m.to_uppercase()
    );
    let depleted: Vec<&&MarketFundRow> = rows
        .iter()
        .filter(|r| r.first_depletion_step.is_some())
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let n = rows.len().max(1) as f64;
    if let [one] = rows {
        let when = one.first_depletion_step.map_or_else(
            || "not depleted".to_owned(),
            |t| format!("depleted at {}", step_text(t as f64)),
        );
        return (
            label,
            usd(one.final_balance),
            format!(
                "final, from {}; lowest {}; {when}; paid {} of the market's bad debt, received \
                 {} in fees; the shared fund never pays for this market",
                usd(one.initial),
                usd(one.min),
                usd(one.payouts),
                usd(one.fee_income)
            ),
        );
    }
    #[allow(clippy::cast_precision_loss)]
    let share = depleted.len() as f64 / n;
    let mean_final = rows.iter().map(|r| r.final_balance).sum::<f64>() / n;
    (
        label,
        format!("depleted on {}", pct(share)),
        format!(
            "{} of {} paths; starts at {}, mean final {}; the shared fund never pays for this \
             market",
            count(depleted.len() as f64),
            count(n),
            usd(rows.first().map_or(0.0, |r| r.initial)),
            usd(mean_final)
        ),
    )
}

/// The overview's sentence on the market funds ("" without one).
pub(crate) fn overview_sentence(data: &ReportData) -> String {
    let set = data.first_param_set();
    let parts: Vec<String> = markets(data)
        .into_iter()
        .map(|m| {
            let rows = data.market_fund_rows(m, set);
            let depleted = rows
                .iter()
                .filter(|r| r.first_depletion_step.is_some())
                .count();
            let upper = m.to_uppercase();
            if rows.len() <= 1 {
                format!(
                    "{upper}'s own fund was {}depleted",
                    if depleted > 0 { "" } else { "not " }
                )
            } else {
                #[allow(clippy::cast_precision_loss)]
                let share = depleted as f64 / rows.len() as f64;
                format!("{upper}'s own fund was depleted on {} of paths", pct(share))
            }
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" {}.", parts.join("; "))
    }
}

/// The table of a sweep's section on the market funds (`None` without one):
/// per parameter set and fund, its depletion and end balance. With one path a
/// set shows what happened on it (the step it depleted, the final balance);
/// with more, how many of the paths run it depleted on (a share of a sample,
/// stated with its count) and the mean final balance.
pub(crate) fn sweep_table(data: &ReportData) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let sets = data.sweep_sets.as_ref()?;
    if data.market_funds.is_empty() {
        return None;
    }
    let keys = &sets.table.parameters;
    let mut head = vec!["Set".to_owned()];
    head.extend(keys.iter().map(|k| crate::format::parameter_label(k).0));
    head.extend(
        [
            "Market fund",
            "Paths",
            "Depleted",
            "Final balance (mean)",
            "Lowest final",
        ]
        .map(str::to_owned),
    );
    let mut table = Vec::new();
    for r in &sets.table.rows {
        for m in markets(data) {
            let rows = data.market_fund_rows(m, r.param_set);
            if rows.is_empty() {
                continue;
            }
            let mut line = vec![r.param_set.to_string()];
            line.extend(
                keys.iter()
                    .zip(&r.values)
                    .map(|(k, v)| crate::format::parameter_value(k, *v)),
            );
            line.extend(set_cells(m, &rows));
            table.push(line);
        }
    }
    Some((head, table))
}

/// The cells of fund `m` over one set's `rows` (its paths): market, paths,
/// depletion, mean and lowest final balance.
fn set_cells(m: &str, rows: &[&MarketFundRow]) -> Vec<String> {
    #[allow(clippy::cast_precision_loss)]
    let n = rows.len() as f64;
    let depleted = rows
        .iter()
        .filter(|r| r.first_depletion_step.is_some())
        .count();
    let depletion = match rows {
        [one] => one
            .first_depletion_step
            .map_or_else(|| "no".to_owned(), |t| format!("at step {t}")),
        _ => {
            #[allow(clippy::cast_precision_loss)]
            let share = depleted as f64 / n;
            format!(
                "{} of {} ({})",
                count(depleted as f64),
                count(n),
                pct(share)
            )
        }
    };
    let mean = rows.iter().map(|r| r.final_balance).sum::<f64>() / n;
    let lowest = rows
        .iter()
        .map(|r| r.final_balance)
        .fold(f64::INFINITY, f64::min);
    vec![
        m.to_uppercase(),
        count(n),
        depletion,
        usd(mean),
        usd(lowest),
    ]
}
