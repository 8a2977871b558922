//! What the report says, as text, before it is rendered as HTML or Markdown:
//! the headline table, the distribution of the per-path metrics, the overview,
//! the methodology, the sweep's sets meeting its target, and the controls.

use backstop_data::{MetricSummary, MetricUnit, find_metric};

use super::market_funds;
use super::recommend::{self, Section};
use crate::controls::{ControlsSection, section};
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::{count, parameter_label, parameter_value, pct, pct_interval, plain, usd};

/// One row of the headline table.
pub(crate) struct Row {
    pub(crate) label: String,
    pub(crate) value: String,
    pub(crate) note: String,
}

/// The per-path metrics of docs/model.md §7 shown in the distribution table,
/// with their labels; their units are the metric table's.
const METRIC_ROWS: [(&str, &str); 15] = [
    ("insurance_fund_min", "Insurance fund, minimum"),
    ("insurance_fund_final", "Insurance fund, final"),
    (
        "insurance_fund_max_drawdown",
        "Insurance fund, max drawdown",
    ),
    (
        "insurance_fund_max_drawdown_pct",
        "Insurance fund, max drawdown %",
    ),
    ("insurance_fund_min_step", "Time of the minimum"),
    (
        "insurance_fund_first_depletion_step",
        "Time of first depletion (paths that depleted)",
    ),
    ("bad_debt", "Bad debt"),
    ("socialized_loss", "Socialized loss"),
    ("adl_closes", "ADL closes"),
    ("adl_notional", "ADL notional"),
    ("adl_excess_notional", "ADL notional beyond the minimum"),
    ("liquidation_orders", "Liquidation orders"),
    ("liquidated_notional", "Liquidated notional"),
    ("accounts_liquidated", "Accounts liquidated"),
    (
        "initial_margin_locked",
        "Initial margin locked at the start",
    ),
];

/// The liquidity vault's rows of the distribution table (runs with a
/// `[vault]`, docs/model.md §6b).
const VAULT_ROWS: [(&str, &str); 8] = [
    ("vault_equity_min", "Vault equity, minimum"),
    ("vault_equity_final", "Vault equity, final"),
    ("vault_max_drawdown", "Vault max drawdown"),
    ("vault_takeovers", "Vault takeovers"),
    ("vault_bad_debt", "Bad debt the vault absorbed"),
    ("vault_peak_inventory", "Vault peak inventory"),
    ("vault_unwind_steps", "Vault time to unwind, steps"),
    (
        "vault_floor_step",
        "Time the vault's floor first refused (paths that hit it)",
    ),
];

/// Column headings of the distribution table.
const QUANTILE_HEADINGS: [&str; 7] = ["metric", "mean", "p50", "p95", "p99", "p99.9", "max"];

/// [`QUANTILE_HEADINGS`] as a table head.
pub(crate) fn quantile_headings() -> Vec<String> {
    QUANTILE_HEADINGS.iter().map(|h| (*h).to_owned()).collect()
}

/// Everything the two documents show, as text.
pub(crate) struct Content {
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) overview: String,
    pub(crate) headline: Vec<Row>,
    pub(crate) distribution: Vec<[String; 7]>,
    pub(crate) parameters: Vec<(String, String)>,
    pub(crate) methodology: Vec<String>,
    /// A sweep's opening sections: recommended actions, cost of safety,
    /// sensitivity, every set (empty for a run).
    pub(crate) front: Vec<Section>,
    /// The heading of the headline table: `Headline`, or for a sweep the set
    /// its figures are of.
    pub(crate) headline_heading: String,
    /// The starting book, per market (runs with `population.parquet`).
    pub(crate) book: Vec<Section>,
    /// Charts with nothing to show, each replaced by one sentence.
    pub(crate) chart_notes: Vec<String>,
    /// The venue controls, when the scenario enables any.
    pub(crate) controls: Option<ControlsSection>,
    /// A replay's recorded and simulated marks: intro, column names, rows.
    pub(crate) replay_marks: Option<(String, Vec<String>, Vec<Vec<String>>)>,
}

/// A replay's recorded mark next to the simulated one, per market of path 0:
/// the lows, and the largest gap between them with its time. The recorded mark
/// is the `path_price` of `steps.parquet`.
fn replay_marks(data: &ReportData) -> Option<(String, Vec<String>, Vec<Vec<String>>)> {
    if data.summary.path_model != "replay" {
        return None;
    }
    let p = data.path0.as_ref()?;
    let on_replay = |market: &str| {
        data.summary
            .parameter(&format!("market.{market}.impact.on_replay"))
            .unwrap_or("none")
    };
    let mut rows = Vec::new();
    let mut modes = Vec::new();
    for (market, marks) in &p.marks {
        let recorded = p.path_prices.get(market)?;
        let low = |v: &[f64]| {
            v.iter()
                .copied()
                .filter(|x| x.is_finite())
                .fold(f64::INFINITY, f64::min)
        };
        // Over every step, also when the charts' series is downsampled.
        let (d, step, base) = match p.mark_gaps.get(market) {
            Some(&(d, step, base)) if d != 0.0 => (d, step, base),
            _ => (
                0.0,
                p.step.first().copied().unwrap_or(0),
                recorded.first().copied().unwrap_or(f64::NAN),
            ),
        };
        rows.push(vec![
            market.clone(),
            usd(low(recorded)),
            usd(low(marks)),
            format!("{}{}", if d < 0.0 { "−" } else { "" }, usd(d.abs())),
            if base > 0.0 {
                pct(d / base)
            } else {
                "–".to_owned()
            },
            step_duration(f64::from(step), data),
        ]);
        modes.push(format!("{market}: `{}`", on_replay(market)));
    }
    if rows.is_empty() {
        return None;
    }
    let intro = format!(
        "The recorded mark already holds that day's real liquidations. Simulated \
         liquidations pay their slippage at execution; whether their impact also moves the \
         mark is `impact.on_replay` ({}): `none` keeps the recorded mark (the marks differ \
         only by tick rounding and, with an oracle, by its aggregation), `excess` adds what \
         the simulated book does beyond history. Path 0; the gap is simulated minus recorded.",
        modes.join(", ")
    );
    let head = [
        "market",
        "recorded low",
        "simulated low",
        "largest gap",
        "largest gap %",
        "at",
    ]
    .iter()
    .map(|h| (*h).to_owned())
    .collect();
    Some((intro, head, rows))
}

/// Elapsed time of `steps` steps: `2h 05m`, `3d 4h`, `45m`, `30s`.
fn duration(steps: f64, step_seconds: f64) -> String {
    duration_seconds(steps * step_seconds)
}

/// `seconds` as `2h 05m`, `3d 4h`, `45m`, `30s`; negative or non-finite as `0s`.
fn duration_seconds(seconds: f64) -> String {
    let total = if seconds.is_finite() {
        seconds.max(0.0)
    } else {
        0.0
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let secs = total.round() as u64;
    let (d, h, m, s) = (
        secs / 86400,
        secs % 86400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

/// Time from the start to step `step`: the recorded step time for a tick replay
/// (steps have no fixed length), else `step × step_seconds`.
fn step_duration(step: f64, data: &ReportData) -> String {
    let s = &data.summary;
    match data.elapsed_seconds(step).filter(|_| s.is_tick()) {
        Some(seconds) => duration_seconds(seconds),
        None => duration(step, s.step_seconds),
    }
}

/// Length of the whole run: the recorded span for a tick replay, else
/// `steps × step_seconds`.
fn run_duration(data: &ReportData) -> String {
    let s = &data.summary;
    match data.recorded_span_seconds().filter(|_| s.is_tick()) {
        Some(seconds) => duration_seconds(seconds),
        #[allow(clippy::cast_precision_loss)]
        None => duration(s.steps as f64, s.step_seconds),
    }
}

/// `v` in `unit`, for the distribution table.
fn value(v: f64, unit: MetricUnit, data: &ReportData) -> String {
    match unit {
        MetricUnit::Usd => usd(v),
        MetricUnit::Fraction => pct(v),
        MetricUnit::Count => count(v),
        MetricUnit::Step => step_duration(v, data),
        MetricUnit::Multiplier => format!("{}×", plain((v * 1000.0).round() / 1000.0)),
    }
}

fn paths_text(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let n = n as f64;
    if n == 1.0 {
        "1 path".to_owned()
    } else {
        format!("{} paths", count(n))
    }
}

impl Content {
    /// Everything the documents show about `data`.
    ///
    /// # Errors
    ///
    /// The first error drawing a section's chart.
    pub(crate) fn new(data: &ReportData) -> Result<Self, ReportError> {
        let s = &data.summary;
        let mut book: Vec<Section> = super::book::per_market(data)?.into_iter().collect();
        book.extend(super::book::sections(data)?);
        Ok(Self {
            title: format!("Stress report: {}", s.name),
            description: s.description.clone(),
            overview: overview(data),
            headline: with_market_funds(data, headline(data)),
            distribution: distribution(data),
            parameters: s.parameters.clone(),
            methodology: methodology(data),
            front: recommend::sections(data)?,
            headline_heading: headline_heading(data),
            book,
            chart_notes: Vec::new(),
            controls: section(data, &|step| step_duration(step, data)),
            replay_marks: replay_marks(data),
        })
    }
}

/// The headline with a line per market fund of its own, the shared fund's
/// lines then naming it as such (docs/model.md §6, "Funds per market");
/// unchanged without one.
fn with_market_funds(data: &ReportData, mut rows: Vec<Row>) -> Vec<Row> {
    if !market_funds::any(data) {
        return rows;
    }
    for r in &mut rows {
        r.label = market_funds::shared(&r.label);
    }
    let lines = market_funds::headline_rows(data, &|step| step_duration(step, data));
    rows.extend(
        lines
            .into_iter()
            .map(|(label, value, note)| Row { label, value, note }),
    );
    rows
}

/// The heading of the headline table: for a sweep, the set whose figures it
/// shows (set 0, as the charts), named with its values.
fn headline_heading(data: &ReportData) -> String {
    match (&data.sweep_sets, data.summary.paths) {
        (Some(sets), _) => {
            let set = data.first_param_set();
            let values = sets
                .table
                .rows
                .iter()
                .find(|r| r.param_set == set)
                .map(|r| {
                    sets.table
                        .parameters
                        .iter()
                        .zip(&r.values)
                        .map(|(k, v)| {
                            format!("{} = {}", parameter_label(k).0, parameter_value(k, *v))
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            format!("Parameter set {set} ({values}): its figures and the charts below")
        }
        (None, n) if n <= 1 => "Headline: the outcome of the one path".to_owned(),
        (None, _) => "Headline".to_owned(),
    }
}

/// The headline table: paths, the probabilities with their intervals, VaR and
/// ES of the fund loss, Cover-1 and Cover-2.
// Over 70 lines: the headline table, one row literal per measure.
fn headline(data: &ReportData) -> Vec<Row> {
    let s = &data.summary;
    if s.paths <= 1 {
        return one_outcome(data);
    }
    let a = &s.aggregates;
    let dep = &a.insurance_fund_depletion;
    let soc = &a.socialized_loss_any;
    #[allow(clippy::cast_precision_loss)]
    let agg_paths = a.paths as f64;
    let tail = &a.insurance_fund_loss;
    let mut headline = vec![
        Row {
            label: "Paths simulated".to_owned(),
            value: count(agg_paths),
            note: format!(
                "{} {} each ({})",
                count(s.steps as f64),
                if s.is_tick() { "ticks" } else { "steps" },
                run_duration(data)
            ),
        },
        Row {
            label: "Probability of insurance-fund depletion".to_owned(),
            value: pct_interval(dep.probability, dep.ci95[0], dep.ci95[1]),
            note: format!(
                "{} of {} paths; 95% confidence interval",
                count(dep.count as f64),
                count(agg_paths)
            ),
        },
        Row {
            label: "Probability of any socialized loss".to_owned(),
            value: pct_interval(soc.probability, soc.ci95[0], soc.ci95[1]),
            note: format!(
                "{} of {} paths; 95% confidence interval",
                count(soc.count as f64),
                count(agg_paths)
            ),
        },
        Row {
            label: "Probability of any ADL".to_owned(),
            value: String::new(),
            note: String::new(),
        },
        Row {
            label: "Insurance-fund loss, VaR 95%".to_owned(),
            value: usd(tail.var_95),
            note: "loss exceeded on 5% of paths".to_owned(),
        },
        Row {
            label: "Insurance-fund loss, ES 95%".to_owned(),
            value: usd(tail.es_95),
            note: "mean loss on the worst 5% of paths".to_owned(),
        },
        Row {
            label: "Insurance-fund loss, VaR 99%".to_owned(),
            value: usd(tail.var_99),
            note: "loss exceeded on 1% of paths".to_owned(),
        },
        Row {
            label: "Insurance-fund loss, ES 99%".to_owned(),
            value: usd(tail.es_99),
            note: "mean loss on the worst 1% of paths".to_owned(),
        },
        Row {
            label: "Cover-1 stressed shortfall".to_owned(),
            value: usd(a.cover_1),
            note: "deficit of the largest bankrupt account".to_owned(),
        },
        Row {
            label: "Cover-2 stressed shortfall".to_owned(),
            value: usd(a.cover_2),
            note: "deficit of the two largest bankrupt accounts".to_owned(),
        },
    ];
    if let Some(v) = &a.vault_loss {
        headline.push(Row {
            label: "Liquidity vault loss, VaR 99%".to_owned(),
            value: usd(v.var_99),
            note: "capital minus its lowest equity, exceeded on 1% of paths".to_owned(),
        });
        headline.push(Row {
            label: "Liquidity vault loss, ES 99%".to_owned(),
            value: usd(v.es_99),
            note: "mean on the worst 1% of paths".to_owned(),
        });
    }
    match &a.adl_any {
        Some(adl) => {
            if let Some(row) = headline
                .iter_mut()
                .find(|r| r.label == "Probability of any ADL")
            {
                row.value = pct_interval(adl.probability, adl.ci95[0], adl.ci95[1]);
                row.note = format!(
                    "{} of {} paths; 95% confidence interval",
                    count(adl.count as f64),
                    count(agg_paths)
                );
            }
        }
        None => headline.retain(|r| r.label != "Probability of any ADL"),
    }
    headline
}

/// The headline of a one-path run: that path's figures, with no probabilities,
/// intervals or quantiles (one outcome says nothing about how likely it is).
fn one_outcome(data: &ReportData) -> Vec<Row> {
    let s = &data.summary;
    let a = &s.aggregates;
    let v = |key: &str| a.metrics.get(key).map(|q| q.p50);
    let money = |key: &str| v(key).map_or_else(|| "–".to_owned(), usd);
    let n = |key: &str| v(key).map_or_else(|| "–".to_owned(), count);
    let mut rows = vec![Row {
        label: "Outcome".to_owned(),
        value: "one path".to_owned(),
        note: format!(
            "{} {} ({}); the figures below are that path's: no probabilities, intervals or \
             quantiles",
            count(s.steps as f64),
            if s.is_tick() { "ticks" } else { "steps" },
            run_duration(data)
        ),
    }];
    let min_at = v("insurance_fund_min_step").map_or_else(String::new, |t| {
        format!("lowest end-of-step balance, at {}", step_duration(t, data))
    });
    rows.push(Row {
        label: "Insurance fund, minimum".to_owned(),
        value: money("insurance_fund_min"),
        note: min_at,
    });
    rows.push(Row {
        label: "Insurance fund, final".to_owned(),
        value: money("insurance_fund_final"),
        note: String::new(),
    });
    rows.push(Row {
        label: "Bad debt".to_owned(),
        value: money("bad_debt"),
        note: format!(
            "every deficit, whoever carried it: fund {}, ADL counterparties {}, socialized {}, \
             venue / unpaid {}",
            money("insurance_fund_payouts"),
            money("adl_cost"),
            money("socialized_loss"),
            money("insolvency")
        ),
    });
    rows.push(Row {
        label: "Liquidation orders".to_owned(),
        value: n("liquidation_orders"),
        note: format!(
            "closes against the market; {} accounts liquidated, {} notional",
            n("accounts_liquidated"),
            money("liquidated_notional")
        ),
    });
    rows.push(Row {
        label: "ADL closes".to_owned(),
        value: n("adl_closes"),
        note: format!(
            "bankrupt positions closed against counterparties at their bankruptcy price; {} \
             at the mark",
            money("adl_notional")
        ),
    });
    if v("initial_margin_locked").is_some() {
        rows.push(Row {
            label: "Initial margin locked".to_owned(),
            value: money("initial_margin_locked"),
            note: "what the starting book's positions require traders to post, at the start \
                   marks"
                .to_owned(),
        });
    }
    rows.push(Row {
        label: "Largest deficit of one account".to_owned(),
        value: usd(a.cover_1),
        note: "Cover-1 of this path".to_owned(),
    });
    rows.push(Row {
        label: "Largest deficit of two accounts".to_owned(),
        value: usd(a.cover_2),
        note: "Cover-2 of this path".to_owned(),
    });
    rows
}

/// The distribution table: mean and quantiles across paths of the metrics of
/// [`METRIC_ROWS`] the run has; none for a one-path run.
fn distribution(data: &ReportData) -> Vec<[String; 7]> {
    if data.summary.paths <= 1 {
        return Vec::new();
    }
    let a = &data.summary.aggregates;
    let vault: &[(&str, &str)] = if a.vault_loss.is_some() {
        &VAULT_ROWS
    } else {
        &[]
    };
    METRIC_ROWS
        .iter()
        .chain(vault)
        .filter_map(|(key, label)| {
            let q: &MetricSummary = a.metrics.get(*key)?;
            let unit = find_metric(key).map_or(MetricUnit::Count, |m| m.unit);
            let mean = match unit {
                // A mean count is rarely whole: one decimal.
                MetricUnit::Count => plain((q.mean * 10.0).round() / 10.0),
                _ => value(q.mean, unit, data),
            };
            Some([
                (*label).to_owned(),
                mean,
                value(q.p50, unit, data),
                value(q.p95, unit, data),
                value(q.p99, unit, data),
                value(q.p99_9, unit, data),
                value(q.max, unit, data),
            ])
        })
        .collect()
}

/// A sweep's overview: every set, never one set's figures as the whole.
fn sweep_overview(data: &ReportData, sets: &crate::data::SweepSets) -> String {
    let s = &data.summary;
    let t = &sets.table;
    let names: Vec<String> = t
        .parameters
        .iter()
        .map(|k| {
            let mut v: Vec<f64> = t
                .rows
                .iter()
                .filter_map(|r| {
                    r.values
                        .get(t.parameters.iter().position(|p| p == k).unwrap_or(0))
                        .copied()
                })
                .collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            let range = match (v.first(), v.last()) {
                (Some(a), Some(b)) if a != b => {
                    format!("{} to {}", parameter_value(k, *a), parameter_value(k, *b))
                }
                (Some(a), _) => parameter_value(k, *a),
                _ => String::new(),
            };
            format!("{} ({} values, {range})", parameter_label(k).0, v.len())
        })
        .collect();
    let population = s
        .accounts
        .map(|n| n as f64)
        .or_else(|| {
            data.summary
                .parameter("population.accounts")
                .and_then(|a| a.replace(',', "").parse().ok())
        })
        .map_or_else(
            || "the scenario's population".to_owned(),
            |n| format!("{} accounts", count(n)),
        );
    let mut text = format!(
        "A sweep of {} parameter sets over {}, each run on the same {} of the {} path model \
         through {population}.",
        count(t.rows.len() as f64),
        names.join(" and "),
        paths_text(s.paths),
        s.path_model,
    );
    let probs: Vec<f64> = t.rows.iter().map(|r| r.depletion.probability).collect();
    let lo = probs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = probs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo.is_finite() {
        text.push_str(&format!(
            " The probability of insurance-fund depletion ranges from {} to {} across the sets",
            pct(lo),
            pct(hi)
        ));
        match sets.max_depletion_probability {
            Some(max) => text.push_str(&format!(
                "; {} of {} sets meet the target of at most {}.",
                count(sets.meeting_target.len() as f64),
                count(t.rows.len() as f64),
                pct(max)
            )),
            None => text.push('.'),
        }
    }
    text
}

/// The overview: what was run and what happened, in one sentence or two.
fn overview(data: &ReportData) -> String {
    if let Some(sets) = &data.sweep_sets {
        return sweep_overview(data, sets);
    }
    let s = &data.summary;
    let a = &s.aggregates;
    let dep = &a.insurance_fund_depletion;
    let soc = &a.socialized_loss_any;
    let population = s.accounts.map_or_else(
        || "the population".to_owned(),
        |n| format!("{} accounts", count(n as f64)),
    );
    let fund = s.insurance_fund_initial.map_or_else(String::new, |f| {
        format!(", starting insurance fund {}", usd(f))
    });
    let outcome = if s.paths <= 1 {
        format!(
            "The insurance fund was {}depleted and {}loss was socialized.",
            if dep.count > 0 { "" } else { "not " },
            if soc.count > 0 { "a " } else { "no " },
        )
    } else {
        format!(
            "The insurance fund was depleted on {} of paths and a loss was socialized on {} of paths.",
            pct(dep.probability),
            pct(soc.probability),
        )
    };
    let (fund, outcome) = if market_funds::any(data) {
        (
            fund.replacen("insurance fund", "shared insurance fund", 1),
            format!(
                "{}{}",
                market_funds::shared(&outcome),
                market_funds::overview_sentence(data)
            ),
        )
    } else {
        (fund, outcome)
    };
    format!(
        "{} of the {} path model through {population}{fund}. {outcome}",
        paths_text(s.paths),
        s.path_model,
    )
}

/// The methodology: how the run was made, its data, population, waterfall,
/// what the numbers mean, and how to reproduce the report.
fn methodology(data: &ReportData) -> Vec<String> {
    let s = &data.summary;
    let steps_text = if s.is_tick() {
        format!(
            "{} ticks, one step per event time of the data ({})",
            count(s.steps as f64),
            run_duration(data)
        )
    } else {
        format!(
            "{} steps of {} seconds ({})",
            count(s.steps as f64),
            plain(s.step_seconds),
            run_duration(data)
        )
    };
    let mut methodology = vec![format!(
        "Simulated by backstop {} from scenario `{}`: {} of {steps_text}{}, \
         with the {} path model and master seed {}.",
        s.backstop_version,
        s.name,
        paths_text(s.paths),
        s.start
            .as_deref()
            .map_or_else(String::new, |t| format!(" from {t}")),
        s.path_model,
        s.seed.as_deref().unwrap_or("(not stated)"),
    )];
    if !s.data_files.is_empty() {
        let files: Vec<String> = s
            .data_files
            .iter()
            .map(|(what, file)| format!("{what} `{file}`"))
            .collect();
        methodology.push(format!(
            "Data replayed (paths as the scenario gives them, relative to its file): {}. \
             Where each file comes from and how it was cut: `data/PROVENANCE.md` in the \
             backstop repository.",
            files.join("; ")
        ));
    }
    methodology.push(
        "The model in plain words: every step, each market's price moves along the path; \
         the venue marks every position, and a margin unit (an isolated position, or a \
         cross account) whose equity falls below its maintenance margin is liquidated after \
         the liquidation latency, its orders paying slippage on the order book; a deficit \
         left after liquidation is paid by the insurance fund, and what the fund cannot pay \
         by the last line (auto-deleveraging of profitable positions, or socialized loss). \
         Money is integer micro-dollars, so nothing is lost to rounding (docs/model.md)."
            .to_owned(),
    );
    methodology.push(population_text(data));
    methodology.push(assumptions_text(data));
    methodology.push(waterfall_text(data));
    methodology.push(if s.paths <= 1 {
        "One path: the figures are that path's outcome, not a distribution; a deterministic \
         path (linear, series, replay, overlay) with a fixed population has no other. \
         `population.resample = \"per_path\"` draws a book per path and gives one. Bad debt \
         is every deficit, whoever carried it (the fund, ADL counterparties, haircut winners, \
         the venue). Money is in USD; the engine keeps exact integer micro-USD and the report \
         rounds to whole dollars."
            .to_owned()
    } else {
        "Probabilities are the share of paths on which the event happened, with the 95% \
         confidence interval the run reports. VaR and expected shortfall (ES) are of the \
         insurance-fund loss per path across paths; Cover-1 and Cover-2 are the deficits of \
         the largest and the two largest bankrupt accounts. Quantiles are across paths. Bad \
         debt is every deficit, whoever carried it (the fund, ADL counterparties, haircut \
         winners, the venue). Money is in USD; the engine keeps exact integer micro-USD and \
         the report rounds to whole dollars."
            .to_owned()
    });
    if let Some(e) = s.bands_relative_error.filter(|_| s.paths > 1) {
        methodology.push(if e == 0.0 {
            format!(
                "Quantile bands over time (the shaded bands of the charts) are exact quantiles \
                 across the {}: every path's value at every step was kept.",
                paths_text(s.paths)
            )
        } else {
            format!(
                "Quantile bands over time (the shaded bands of the charts) come from a sketch, \
                 as the {} did not fit in memory: each quantile is within ±{} of the value of \
                 its rank.",
                paths_text(s.paths),
                pct(e)
            )
        });
    }
    methodology.push(format!(
        "Limitations: what the run does not capture. Traders do not react: no one adds \
         margin, closes early or opens new positions during the path; the book is the \
         starting one, liquidated or deleveraged only. Liquidity is the impact model's: \
         a book that empties faster than it does, other venues' liquidations and contagion \
         across venues are not modelled. Prices are the path model's (or history's): a \
         Monte Carlo run is only as heavy-tailed as its calibration, and a replay shows one \
         history, a distribution only over the books drawn per path. {}",
        if s.paths <= 1 {
            "This run has one outcome: it says what happened on its one path, not how likely \
             that is."
        } else {
            "Probabilities are estimated from the paths run: rare events need many paths, \
             and the interval says how far the estimate may be from the truth."
        }
    ));
    methodology.push(format!(
        "This report is generated from the run's results files alone (summary.json and the \
         Parquet series); rerunning the scenario with backstop {} and rendering again gives \
         byte-identical files.",
        s.backstop_version
    ));
    methodology
}

/// The methodology's population sentence.
fn population_text(data: &ReportData) -> String {
    let s = &data.summary;
    let mut population = String::from("Population: ");
    population.push_str(&match (s.accounts, s.positions) {
        (Some(a), Some(p)) => format!(
            "{} accounts holding {} positions",
            count(a as f64),
            count(p as f64)
        ),
        (Some(a), None) => format!("{} accounts", count(a as f64)),
        _ => "as in the scenario".to_owned(),
    });
    if let Some(c) = s.collateral {
        population.push_str(&format!(", {} of collateral", usd(c)));
    }
    if let Some(kind) = data.summary.parameter("population.kind") {
        population.push_str(&format!(" ({kind})"));
    }
    population.push('.');
    if let Some(n) = s.below_maintenance_kept {
        population.push_str(&format!(
            " {} margin units of the snapshot were already below maintenance at the start \
             mark and were kept (population.below_maintenance = \"keep\"): they are \
             liquidated at step 0, and their losses are in the figures; a live venue would \
             have liquidated them before.",
            count(n as f64)
        ));
    }
    if let Some(n) = s.below_maintenance_dropped {
        population.push_str(&format!(
            " {} margin units of the snapshot below maintenance at the start mark were \
             dropped before the run (population.below_maintenance = \"drop\").",
            count(n as f64)
        ));
    }
    population
}

/// The methodology's assumptions that matter most: where the book comes from,
/// how liquidation orders move the price, and how late liquidations are.
fn assumptions_text(data: &ReportData) -> String {
    let mut parts = Vec::new();
    let p = |k: &str| data.summary.parameter(k);
    match p("population.kind") {
        Some("generated") => parts.push(format!(
            "a generated book ({} accounts; notional {}, leverage {}{})",
            p("population.accounts").unwrap_or("?"),
            p("population.notional.distribution").unwrap_or("as configured"),
            p("population.leverage.distribution").unwrap_or("as configured"),
            if p("population.resample") == Some("per_path") {
                ", a new book per path"
            } else {
                ", the same book on every path"
            }
        )),
        Some(kind) => parts.push(format!("a `{kind}` book (a snapshot of positions)")),
        None => {}
    }
    let mut impacts: Vec<String> = data
        .summary
        .parameters
        .iter()
        .filter_map(|(k, v)| {
            let market = k.strip_prefix("market.")?.strip_suffix(".impact.model")?;
            Some(format!("{market} `{v}`"))
        })
        .collect();
    impacts.dedup();
    if !impacts.is_empty() {
        parts.push(format!(
            "price impact of liquidation orders: {}",
            impacts.join(", ")
        ));
    }
    if let Some(l) = p("liquidation.latency_steps") {
        parts.push(format!(
            "liquidations act {l} step(s) after a unit falls below maintenance"
        ));
    }
    if parts.is_empty() {
        "Assumptions: as in the scenario parameters below.".to_owned()
    } else {
        format!(
            "The assumptions that matter most: {}. Each is a scenario parameter (listed \
             below); the sensitivity of a sweep shows how much the swept ones matter.",
            parts.join("; ")
        )
    }
}

/// The methodology's loss-waterfall sentence.
fn waterfall_text(data: &ReportData) -> String {
    let mut waterfall = String::from("Loss waterfall: liquidation");
    if let Some(mode) = data.summary.parameter("liquidation.mode") {
        waterfall.push_str(&format!(" mode `{mode}`"));
    }
    if let Some(fee) = data.summary.parameter("liquidation.fee") {
        waterfall.push_str(&format!(", fee {fee}"));
    }
    waterfall.push_str("; insurance fund");
    let swept_fund = data
        .summary
        .swept
        .iter()
        .any(|(k, _)| k == "insurance_fund.initial");
    if swept_fund {
        waterfall.push_str(" at each set's size (swept)");
    } else if let Some(f) = data.summary.insurance_fund_initial {
        waterfall.push_str(&format!(" starting at {}", usd(f)));
    }
    waterfall.push_str("; last line ");
    waterfall.push_str(
        data.summary
            .parameter("last_line.kind")
            .unwrap_or("as in the scenario"),
    );
    waterfall.push('.');
    waterfall
}
