//! A comparison of more than two runs (`backstop compare A B C …`), typically
//! the same crash under each venue's rule book (`scenarios/venues/`): one table
//! with a column per run, the lowest and highest run of each headline metric
//! in plain words, and the insurance-fund chart with every run.

use std::path::Path;

use backstop_data::MetricUnit;

use super::chart::fund_chart_many;
use super::doc::Doc;
use super::notes::{run_text, settings};
use super::run::{CompareFiles, Comparison, Run, load_run, write};
use super::values::{HEADLINE, headline_label, show, unit_of, value};
use crate::controls::controls_in_force;
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::{count, pct_interval};
use crate::summary::RunInfo;

/// Metrics shown after the headline ones: where the deficit went and what
/// the fund earned (label, key).
const MORE: [(&str, &str); 6] = [
    ("Insurance fund, final", "insurance_fund_final"),
    ("Bad debt covered by the fund", "insurance_fund_payouts"),
    ("Fund fee income", "insurance_fund_fee_income"),
    ("ADL accounts hit", "adl_accounts_hit"),
    ("ADL cost", "adl_cost"),
    ("Insolvency", "insolvency"),
];

/// The liquidity vault's metrics, shown when any run has a vault.
const VAULT: [(&str, &str); 6] = [
    ("Vault takeovers", "vault_takeovers"),
    ("Vault takeover notional", "vault_takeover_notional"),
    ("Vault PnL", "vault_pnl"),
    ("Vault equity, minimum", "vault_equity_min"),
    ("Vault max drawdown", "vault_max_drawdown"),
    ("Vault floor refusals", "vault_floor_refusals"),
];

/// Loads the results folders (at least three), labels them (`labels`: one
/// per folder, else [`default_labels_many`]) and writes `compare.html`,
/// `compare.md` and `charts/*` into `out_dir`, each file atomically.
///
/// # Errors
///
/// [`ReportError::Invalid`] for fewer than three folders, a label count
/// that is not the folder count, or two equal labels; as [`load_run`]
/// (naming the folder); [`ReportError::Chart`] / [`ReportError::Png`] /
/// [`ReportError::Io`] / [`ReportError::Data`] when a file cannot be made.
pub fn compare_many(
    dirs: &[&Path],
    labels: &[String],
    out_dir: &Path,
) -> Result<CompareFiles, ReportError> {
    let invalid = |what: &str, reason: String| ReportError::Invalid {
        what: what.to_owned(),
        reason,
    };
    if dirs.len() < 3 {
        return Err(invalid(
            "runs",
            format!(
                "{} results folders: a comparison of many runs takes at least three",
                dirs.len()
            ),
        ));
    }
    if !labels.is_empty() && labels.len() != dirs.len() {
        return Err(invalid(
            "labels",
            format!(
                "{} labels for {} results folders: give one --label per folder, in order",
                labels.len(),
                dirs.len()
            ),
        ));
    }
    let data = dirs
        .iter()
        .map(|d| load_run(d))
        .collect::<Result<Vec<_>, _>>()?;
    let labels = if labels.is_empty() {
        default_labels_many(dirs, &data)
    } else {
        labels.to_vec()
    };
    for (i, l) in labels.iter().enumerate() {
        if labels[..i].contains(l) {
            return Err(invalid(
                "labels",
                format!("two runs are labelled `{l}`; give each run its own label"),
            ));
        }
    }
    let runs: Vec<Run> = labels
        .into_iter()
        .zip(dirs.iter().zip(&data))
        .map(|(label, (dir, data))| Run { label, dir, data })
        .collect();
    write(&build_many(&runs)?, out_dir)
}

/// The labels of several runs: their scenario names without the prefix they
/// all share (`oct-2025-binance-usdm`, `oct-2025-drift` → `binance-usdm`,
/// `drift`) when the names are all different, else the folder names when
/// those are, else `run 1`, `run 2`, ….
#[must_use]
pub fn default_labels_many(dirs: &[&Path], data: &[ReportData]) -> Vec<String> {
    let names: Vec<String> = data.iter().map(|d| d.summary.name.clone()).collect();
    if all_different(&names) {
        return strip_common_prefix(&names);
    }
    let folders: Vec<String> = dirs
        .iter()
        .map(|d| {
            d.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    if folders.iter().all(|f| !f.is_empty()) && all_different(&folders) {
        return folders;
    }
    (1..=dirs.len()).map(|i| format!("run {i}")).collect()
}

/// Whether no two of `names` are equal.
fn all_different(names: &[String]) -> bool {
    names
        .iter()
        .enumerate()
        .all(|(i, n)| !names[..i].contains(n))
}

/// `names` without the longest prefix ending in `-`, `_` or `.` that they
/// all share (and that leaves every name non-empty).
fn strip_common_prefix(names: &[String]) -> Vec<String> {
    let Some(first) = names.first() else {
        return Vec::new();
    };
    let mut cut = 0;
    for (i, c) in first.char_indices() {
        let end = i + c.len_utf8();
        if !names
            .iter()
            .all(|n| n.len() > end && n.get(..end) == Some(&first[..end]))
        {
            break;
        }
        if matches!(c, '-' | '_' | '.') {
            cut = end;
        }
    }
    names.iter().map(|n| n[cut..].to_owned()).collect()
}

/// Renders the comparison of `runs`: the table across runs, the lowest and
/// highest run of each headline metric, each run's controls and the
/// insurance-fund chart with every run.
///
/// # Errors
///
/// The chart's [`ReportError::Chart`] / [`ReportError::Png`].
pub fn build_many(runs: &[Run]) -> Result<Comparison, ReportError> {
    let multi = runs.iter().any(|r| !r.data.single_path());
    let mut head = vec!["measure".to_owned()];
    head.extend(runs.iter().map(|r| r.label.clone()));
    let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
    let doc = Doc {
        title: format!("Comparison of {} runs: {}", runs.len(), labels.join(", ")),
        runs: runs
            .iter()
            .map(|r| run_text(r, &controls_in_force(&r.data.summary)))
            .collect(),
        head,
        rows: rows(runs, multi),
        lines_title: "Lowest and highest",
        lines: extremes(runs),
        notes: notes(runs, multi),
        settings: runs
            .iter()
            .map(|r| (r.label.clone(), settings(r)))
            .collect(),
    };
    let charts = vec![fund_chart_many(runs)?];
    Ok(Comparison {
        html: doc.html(&charts),
        markdown: doc.markdown(&charts),
        charts,
    })
}

/// The table's rows: headline metrics (with the p99 of the fund drawdown and
/// bad debt across paths), depletion, where the deficit went, and the vault's
/// metrics when any run has a vault. A row no run has is left out; a run
/// without the metric shows `—`.
fn rows(runs: &[Run], multi: bool) -> Vec<Vec<String>> {
    let suffix = if multi { " (mean across paths)" } else { "" };
    let has_vault = runs
        .iter()
        .any(|r| value(r.data, "vault_capital").is_some_and(|c| c > 0.0));
    let mut keys: Vec<(String, &str)> = HEADLINE
        .iter()
        .map(|(k, label, _)| (format!("{label}{suffix}"), *k))
        .collect();
    keys.extend(MORE.iter().map(|(l, k)| (format!("{l}{suffix}"), *k)));
    if has_vault {
        keys.extend(VAULT.iter().map(|(l, k)| (format!("{l}{suffix}"), *k)));
    }
    let mut rows = Vec::new();
    for (label, key) in keys {
        let unit = unit_of(key);
        let values: Vec<Option<f64>> = runs.iter().map(|r| value(r.data, key)).collect();
        if values.iter().all(Option::is_none) {
            continue;
        }
        rows.push(row(label, &values, unit));
        if multi && matches!(key, "insurance_fund_max_drawdown" | "bad_debt") {
            let p99: Vec<Option<f64>> = runs
                .iter()
                .map(|r| r.data.summary.aggregates.metrics.get(key).map(|q| q.p99))
                .collect();
            rows.push(row(
                format!("{}, p99 across paths", headline_label(key)),
                &p99,
                unit,
            ));
        }
        if key == "accounts_liquidated" {
            rows.push(depletion_row(runs, multi));
        }
    }
    rows
}

/// One row: the label, then each run's value in `unit` (`—` without one).
fn row(label: String, values: &[Option<f64>], unit: MetricUnit) -> Vec<String> {
    let mut row = vec![label];
    row.extend(
        values
            .iter()
            .map(|v| v.map_or_else(|| "—".to_owned(), |v| show(v, unit))),
    );
    row
}

/// Depleted or not (one path), else the probability with its 95% interval.
fn depletion_row(runs: &[Run], multi: bool) -> Vec<String> {
    let mut row = vec![if multi {
        "Probability of insurance-fund depletion [95% CI]".to_owned()
    } else {
        "Insurance fund depleted".to_owned()
    }];
    row.extend(runs.iter().map(|r| {
        let p = &r.data.summary.aggregates.insurance_fund_depletion;
        if r.data.single_path() {
            if p.count > 0 {
                "depleted"
            } else {
                "not depleted"
            }
            .to_owned()
        } else {
            pct_interval(p.probability, p.ci95[0], p.ci95[1])
        }
    }));
    row
}

/// For each headline metric with a plain-words noun: which run had the least
/// and which the most (ties named together), or that all had the same.
fn extremes(runs: &[Run]) -> Vec<String> {
    let mut lines = Vec::new();
    for (key, _, noun) in HEADLINE {
        let Some(noun) = noun else { continue };
        let unit = unit_of(key);
        let values: Vec<(&str, f64)> = runs
            .iter()
            .filter_map(|r| value(r.data, key).map(|v| (r.label.as_str(), v)))
            .collect();
        let Some(lo) = values.iter().map(|(_, v)| *v).reduce(f64::min) else {
            continue;
        };
        let hi = values.iter().map(|(_, v)| *v).fold(lo, f64::max);
        let who = |x: f64| {
            let names: Vec<&str> = values
                .iter()
                .filter(|(_, v)| show(*v, unit) == show(x, unit))
                .map(|(l, _)| *l)
                .collect();
            names.join(", ")
        };
        let mut noun = noun.to_owned();
        if let Some(first) = noun.get(..1) {
            noun.replace_range(..1, &first.to_uppercase());
        }
        if show(lo, unit) == show(hi, unit) {
            lines.push(format!(
                "{noun}: the same in every run ({}).",
                show(lo, unit)
            ));
        } else {
            lines.push(format!(
                "{noun}: least {} ({}), most {} ({}).",
                who(lo),
                show(lo, unit),
                who(hi),
                show(hi, unit)
            ));
        }
    }
    lines
}

/// The notes under the table: which scenario parameters differ across the
/// runs, different step counts, and how multi-path values are shown.
fn notes(runs: &[Run], multi: bool) -> Vec<String> {
    let mut notes = Vec::new();
    let differing = differing_keys(runs);
    if differing.is_empty() {
        notes.push("The scenarios have the same parameters apart from their names.".to_owned());
    } else {
        let shown: Vec<String> = differing.iter().take(8).map(|k| format!("`{k}`")).collect();
        notes.push(format!(
            "The scenarios differ in {}{}.",
            shown.join(", "),
            if differing.len() > 8 {
                format!(" and {} more parameters", differing.len() - 8)
            } else {
                String::new()
            }
        ));
    }
    let steps: Vec<u64> = runs.iter().map(|r| r.data.summary.steps).collect();
    if steps.iter().any(|s| *s != steps[0]) {
        #[allow(clippy::cast_precision_loss)]
        let each: Vec<String> = steps.iter().map(|s| count(*s as f64)).collect();
        notes.push(format!(
            "The runs have different numbers of steps ({}); the chart puts every run on the \
             time elapsed since its start.",
            each.join(", ")
        ));
    }
    if multi {
        notes.push(
            "Multi-path values are means across paths; probabilities are the share of paths, \
             with the 95% confidence interval each run reports."
                .to_owned(),
        );
    }
    notes
}

/// The scenario parameters (apart from name and description) whose values
/// are not the same in every run, `venue` first, then in the first run's
/// order and the others'.
fn differing_keys(runs: &[Run]) -> Vec<String> {
    let params = |s: &RunInfo| -> Vec<(String, String)> {
        s.parameters
            .iter()
            .filter(|(k, _)| k != "name" && k != "description")
            .cloned()
            .collect()
    };
    let all: Vec<Vec<(String, String)>> = runs.iter().map(|r| params(&r.data.summary)).collect();
    let get =
        |p: &[(String, String)], k: &str| p.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
    let mut keys: Vec<String> = Vec::new();
    for p in &all {
        for (k, _) in p {
            if keys.contains(k) {
                continue;
            }
            let first = get(&all[0], k);
            if all.iter().any(|q| get(q, k) != first) {
                keys.push(k.clone());
            }
        }
    }
    // The rule book first: the keys it sets follow from it.
    if let Some(i) = keys.iter().position(|k| k == "venue") {
        let venue = keys.remove(i);
        keys.insert(0, venue);
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_drop_the_shared_prefix_at_a_separator() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            strip_common_prefix(&names(&[
                "oct-2025-binance-usdm",
                "oct-2025-bitmex",
                "oct-2025-drift"
            ])),
            names(&["binance-usdm", "bitmex", "drift"])
        );
        // The shared `b` of `bitmex`/`binance` is not cut: not at a separator.
        assert_eq!(
            strip_common_prefix(&names(&["x-binance", "x-bitmex", "x-bybit"])),
            names(&["binance", "bitmex", "bybit"])
        );
        // A name that is all prefix keeps the whole names.
        assert_eq!(
            strip_common_prefix(&names(&["run-", "run-a", "run-b"])),
            names(&["run-", "run-a", "run-b"])
        );
        assert!(all_different(&names(&["a", "b", "c"])));
        assert!(!all_different(&names(&["a", "b", "a"])));
    }
}
