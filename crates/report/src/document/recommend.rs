//! What a sweep recommends, and the evidence a delegate weighs it by: the
//! recommended actions (current against recommended parameters, with the risk
//! each carries), the cost of safety of every set, the sensitivity around the
//! recommended set, and every set's figures. Each figure is defined in
//! docs/model.md §7b.

use backstop_data::SweepRow;

use crate::charts::plot::{Chart, TornadoRow};
use crate::charts::specs::book as book_charts;
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::{count, parameter_label, parameter_value, pct, pct_interval, plain, usd};

/// A section of text with an optional table.
pub(crate) struct Section {
    /// The HTML anchor (`recommended-actions`).
    pub(crate) id: String,
    /// The heading.
    pub(crate) heading: String,
    /// Paragraphs before the table.
    pub(crate) before: Vec<String>,
    /// Column names and rows.
    pub(crate) table: Option<(Vec<String>, Vec<Vec<String>>)>,
    /// Paragraphs after the table.
    pub(crate) after: Vec<String>,
    /// Charts after the paragraphs (drawn ones only: a chart with nothing to
    /// show is one sentence of `after`, [`Section::add_chart`]).
    pub(crate) charts: Vec<Chart>,
}

/// `text` ending with a full stop.
pub(crate) fn sentence(text: &str) -> String {
    let t = text.trim_end();
    if t.ends_with(['.', '!', '?']) {
        t.to_owned()
    } else {
        format!("{t}.")
    }
}

impl Section {
    /// Adds `chart` under the section, or its sentence when it has nothing
    /// to show (never an empty box).
    pub(crate) fn add_chart(&mut self, chart: Chart) {
        match &chart.message {
            Some(m) => self.after.push(sentence(m)),
            None => self.charts.push(chart),
        }
    }
}

/// `key = value` for every swept parameter of a set, readable.
fn describe(keys: &[String], values: &[f64]) -> String {
    keys.iter()
        .zip(values)
        .map(|(k, v)| format!("{} = {}", parameter_label(k).0, parameter_value(k, *v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Paths, all clean (no depletion), that make the upper end of the 95%
/// Clopper–Pearson interval at most `p`: with zero events the upper end is
/// `1 − 0.025^(1/n)`, so `n ≥ ln(0.025) / ln(1 − p)`. (The one-sided
/// "rule of three" bound, `ln(0.05) / ln(1 − p)`, is smaller: it is the 95%
/// one-sided bound, not the upper end of the two-sided interval used here.)
#[must_use]
pub fn clean_paths_needed(p: f64) -> Option<u64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    let n = (0.025f64.ln() / (1.0 - p).ln()).ceil();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(n as u64)
}

/// The sets of a sweep and its target, as the sections read them.
struct Sweep<'a> {
    keys: &'a [String],
    rows: &'a [SweepRow],
    target: Option<f64>,
    upper: bool,
    meeting: &'a [u32],
    paths: u64,
    /// The set holding the scenario's own values, if swept.
    current: Option<&'a SweepRow>,
    /// Index of the capital-efficiency parameter among the swept ones.
    efficiency: Option<usize>,
}

impl Sweep<'_> {
    fn row(&self, set: u32) -> Option<&SweepRow> {
        self.rows.iter().find(|r| r.param_set == set)
    }

    /// The figure a set is judged by: the upper end of the interval, or the
    /// point estimate when the scenario asks.
    fn judged(&self, r: &SweepRow) -> f64 {
        if self.upper {
            r.depletion.ci95_upper
        } else {
            r.depletion.probability
        }
    }

    /// The set with the least depletion risk: lowest judged figure, then
    /// lowest ES 99%, then lowest set number.
    fn safest(&self) -> Option<&SweepRow> {
        self.rows.iter().min_by(|a, b| {
            self.judged(a)
                .total_cmp(&self.judged(b))
                .then(
                    a.insurance_fund_loss_es_99
                        .total_cmp(&b.insurance_fund_loss_es_99),
                )
                .then(a.param_set.cmp(&b.param_set))
        })
    }

    /// The recommended set: the best-ranked set meeting the target; among the
    /// sets as capital-efficient as it, the current values when they are one
    /// (no change is recommended where none is needed).
    fn recommended(&self) -> Option<&SweepRow> {
        let best = self.meeting.first().and_then(|s| self.row(*s))?;
        let tied_current = match (self.current, self.efficiency) {
            (Some(current), Some(k)) => self
                .meeting
                .iter()
                .filter_map(|s| self.row(*s))
                .find(|r| r.values.get(k) == best.values.get(k) && r.values == current.values),
            _ => None,
        };
        Some(tied_current.unwrap_or(best))
    }

    fn judged_text(&self) -> &'static str {
        if self.upper {
            "the upper end of its 95% confidence interval"
        } else {
            "its point estimate (the scenario sets `use_upper_bound = false`)"
        }
    }
}

/// The cells a per-set table opens with: the set number, its swept values
/// (readable, in the sweep's order) and P(depletion) with its 95% interval.
fn set_cells(sweep: &Sweep<'_>, r: &SweepRow) -> Vec<String> {
    let mut cells = vec![r.param_set.to_string()];
    cells.extend(
        sweep
            .keys
            .iter()
            .zip(&r.values)
            .map(|(key, v)| parameter_value(key, *v)),
    );
    cells.push(pct_interval(
        r.depletion.probability,
        r.depletion.ci95_lower,
        r.depletion.ci95_upper,
    ));
    cells
}

/// The risk rows of a set, in the order of [`RISK_ROWS`].
fn risk(r: Option<&SweepRow>, target: Option<f64>) -> Vec<String> {
    let Some(r) = r else {
        return vec!["not run".to_owned(); RISK_ROWS.len()];
    };
    vec![
        pct_interval(
            r.depletion.probability,
            r.depletion.ci95_lower,
            r.depletion.ci95_upper,
        ),
        format!(
            "{} of {}",
            count(r.depletion.count as f64),
            count(r.paths as f64)
        ),
        usd(r.insurance_fund_loss_var_99),
        usd(r.insurance_fund_loss_es_99),
        usd(r.bad_debt_p50),
        usd(r.bad_debt_p99),
        match (r.meets_target, target) {
            (Some(true), _) => "yes".to_owned(),
            (Some(false), _) => "no".to_owned(),
            (None, _) => "no target".to_owned(),
        },
    ]
}

/// Row labels of [`risk`].
const RISK_ROWS: [&str; 7] = [
    "P(insurance-fund depletion) [95% CI]",
    "paths that depleted the fund",
    "fund loss, VaR 99%",
    "fund loss, ES 99%",
    "bad debt, median path",
    "bad debt, p99 across paths",
    "meets the target",
];

/// Every section a sweep's report opens with; empty for a run.
///
/// # Errors
///
/// The sensitivity tornado's, as [`crate::charts::draw::render`].
pub(crate) fn sections(data: &ReportData) -> Result<Vec<Section>, ReportError> {
    let Some(sets) = &data.sweep_sets else {
        return Ok(Vec::new());
    };
    let s = &data.summary;
    let sweep = Sweep {
        keys: &sets.table.parameters,
        rows: &sets.table.rows,
        target: sets.max_depletion_probability,
        upper: s.use_upper_bound,
        meeting: &sets.meeting_target,
        paths: s.paths,
        current: s
            .swept
            .iter()
            .map(|(_, v)| *v)
            .collect::<Option<Vec<f64>>>()
            .and_then(|cv| sets.table.rows.iter().find(|r| r.values == cv)),
        efficiency: s
            .capital_efficiency
            .as_ref()
            .and_then(|c| sets.table.parameters.iter().position(|p| p == c)),
    };
    let mut out = vec![recommended_actions(data, &sweep)];
    if let Some(a) = appetites(data, &sweep) {
        out.push(a);
    }
    out.push(cost_of_safety(data, &sweep));
    if let Some(sens) = sensitivity(data, &sweep)? {
        out.push(sens);
    }
    out.extend(market_funds_section(data));
    out.push(every_set(&sweep));
    Ok(out)
}

/// Each market's own fund per parameter set (`None` without one).
fn market_funds_section(data: &ReportData) -> Option<Section> {
    let table = super::market_funds::sweep_table(data)?;
    Some(Section {
        id: "market-funds-per-set".to_owned(),
        heading: "Market funds per parameter set".to_owned(),
        before: vec![
            "Each market's own insurance fund (isolated market) in every parameter set, from \
             `market_funds.parquet`. With one path, what happened on it; with more, on how many \
             of the paths run it depleted (a sample share, not a guarantee) and its mean final \
             balance. The shared fund never pays for these markets."
                .to_owned(),
        ],
        table: Some(table),
        after: Vec::new(),
        charts: Vec::new(),
    })
}

/// Recommended actions: current against recommended parameters and their risk.
// Over 70 lines: the section's sentences, one case after another.
fn recommended_actions(data: &ReportData, sweep: &Sweep<'_>) -> Section {
    let s = &data.summary;
    let mut before = Vec::new();
    let current = sweep.current;
    match sweep.target {
        Some(t) => before.push(format!(
            "Target: a probability of insurance-fund depletion of at most {}, judged by {}, \
             over the {} paths each set ran (the same paths for every set).",
            pct(t),
            sweep.judged_text(),
            count(sweep.paths as f64)
        )),
        None => before.push(
            "The sweep sets no target (`[sweep.target] max_depletion_probability`): no set is \
             recommended; the safest set (lowest probability of depletion) is shown."
                .to_owned(),
        ),
    }
    let recommended = sweep.recommended();
    let (pick, pick_name) =
        match (recommended, sweep.target) {
            (Some(r), _) => {
                let keep = current.is_some_and(|c| c.param_set == r.param_set);
                before.push(format!(
                "Recommended: {} parameter set {} ({}), the most capital-efficient of the {} \
                 of {} sets that meet the target.",
                if keep { "keep the current values," } else { "" },
                r.param_set,
                describe(sweep.keys, &r.values),
                count(sweep.meeting.len() as f64),
                count(sweep.rows.len() as f64)
            )
            .replace("Recommended:  parameter", "Recommended: parameter"));
                (Some(r), "recommended")
            }
            (None, Some(t)) => {
                let safest = sweep.safest();
                let mut text = format!(
                    "No parameter set meets the target with the {} paths run.",
                    count(sweep.paths as f64)
                );
                if let Some(r) = safest {
                    text.push_str(&format!(
                        " The safest, set {} ({}), had {} of {} paths deplete the fund ({}).",
                        r.param_set,
                        describe(sweep.keys, &r.values),
                        count(r.depletion.count as f64),
                        count(r.paths as f64),
                        pct_interval(
                            r.depletion.probability,
                            r.depletion.ci95_lower,
                            r.depletion.ci95_upper
                        )
                    ));
                    if r.depletion.probability > t {
                        text.push_str(
                            " Its depletion rate is above the target: more paths would not make it \
                         meet it; a safer set (a larger fund, higher margins) would.",
                        );
                    } else if let Some(n) = clean_paths_needed(t) {
                        text.push_str(&format!(
                            " To show a probability of at most {} at 95% confidence, a set needs \
                         at least {} paths with no depletion at all (n ≥ ln(0.025) / ln(1 − {})), \
                         and more if any path depletes.",
                            pct(t),
                            count(n as f64),
                            plain(t)
                        ));
                    }
                }
                before.push(text);
                (safest, "safest")
            }
            (None, None) => (sweep.safest(), "safest"),
        };
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (k, key) in sweep.keys.iter().enumerate() {
        let label = format!("{} ({key})", parameter_label(key).0);
        rows.push(vec![
            label,
            s.swept
                .get(k)
                .and_then(|(_, v)| *v)
                .map_or_else(|| "not set".to_owned(), |v| parameter_value(key, v)),
            pick.and_then(|r| r.values.get(k))
                .map_or_else(|| "–".to_owned(), |v| parameter_value(key, *v)),
        ]);
    }
    let current_risk = risk(current, sweep.target);
    let pick_risk = risk(pick, sweep.target);
    for (i, label) in RISK_ROWS.iter().enumerate() {
        rows.push(vec![
            (*label).to_owned(),
            current_risk[i].clone(),
            pick_risk[i].clone(),
        ]);
    }
    let mut after = Vec::new();
    match current {
        None => after.push(
            "The current parameters (the scenario's own values) are not one of the swept sets, \
             so these results do not measure their risk (\"not run\"): sweeps run since \
             backstop measures them as one more set; rerun the sweep to measure it."
                .to_owned(),
        ),
        Some(c) if Some(c.param_set) == s.current_set => after.push(format!(
            "The current parameters are not a combination of the swept values, so the sweep \
             ran them as one more set, set {} ({}), on the same paths; the heatmap shows \
             the grid without it.",
            c.param_set,
            describe(sweep.keys, &c.values)
        )),
        Some(_) => {}
    }
    after.push(
        "VaR 99% is the fund loss exceeded on 1% of paths; ES 99% the mean loss on the worst 1% \
         of paths; a fund cannot lose more than it holds, so a small fund's VaR and ES stop at \
         its size and bad debt shows what it left uncovered (every deficit, whoever carried \
         it). Definitions: docs/model.md §7 and §7b."
            .to_owned(),
    );
    Section {
        id: "recommended-actions".to_owned(),
        heading: "Recommended actions".to_owned(),
        before,
        table: Some((
            vec![
                "parameter / risk".to_owned(),
                "current".to_owned(),
                pick_name.to_owned(),
            ],
            rows,
        )),
        after,
        charts: Vec::new(),
    }
}

/// The risk appetites the scenario names: for each, the best set (by the
/// capital-efficiency parameter; the current values among equals) whose judged
/// probability of depletion is at most the appetite's bound.
fn appetites(data: &ReportData, sweep: &Sweep<'_>) -> Option<Section> {
    let s = &data.summary;
    if s.appetites.is_empty() {
        return None;
    }
    let k = sweep.efficiency.unwrap_or(0);
    let mut list = s.appetites.clone();
    list.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut rows = Vec::new();
    for (name, bound) in &list {
        let mut ok: Vec<&SweepRow> = sweep
            .rows
            .iter()
            .filter(|r| sweep.judged(r) <= *bound)
            .collect();
        ok.sort_by(|a, b| {
            let (va, vb) = (a.values[k], b.values[k]);
            let o = if s.prefer_higher {
                vb.total_cmp(&va)
            } else {
                va.total_cmp(&vb)
            };
            let is_current =
                |r: &SweepRow| sweep.current.is_some_and(|c| c.param_set == r.param_set);
            o.then(is_current(b).cmp(&is_current(a)))
                .then(a.param_set.cmp(&b.param_set))
        });
        let mut row = vec![name.clone(), format!("at most {}", pct(*bound))];
        match ok.first() {
            Some(r) => {
                row.extend(set_cells(sweep, r));
                row.push(usd(r.insurance_fund_loss_es_99));
                row.push(usd(r.bad_debt_p99));
            }
            None => {
                row.push("none".to_owned());
                row.extend(sweep.keys.iter().map(|_| "–".to_owned()));
                row.push(match clean_paths_needed(*bound) {
                    Some(n) if sweep.paths < n => {
                        format!("needs ≥ {} clean paths", count(n as f64))
                    }
                    _ => "–".to_owned(),
                });
                row.push("–".to_owned());
                row.push("–".to_owned());
            }
        }
        rows.push(row);
    }
    let mut head = vec![
        "appetite".to_owned(),
        "P(depletion)".to_owned(),
        "set".to_owned(),
    ];
    head.extend(sweep.keys.iter().map(|k| parameter_label(k).0));
    head.extend(["P(depletion) [95% CI]", "fund loss, ES 99%", "bad debt p99"].map(str::to_owned));
    Some(Section {
        id: "risk-appetites".to_owned(),
        heading: "Risk appetites".to_owned(),
        before: vec![format!(
            "The scenario's risk appetites, strictest first: for each, the most \
             capital-efficient set whose probability of depletion is within it, judged by {}.",
            sweep.judged_text()
        )],
        table: Some((head, rows)),
        after: Vec::new(),
        charts: Vec::new(),
    })
}

/// The mean of a per-path metric over the paths of `set`, `NaN` without any.
fn mean(data: &ReportData, metric: &str, set: u32) -> f64 {
    let v = data.paths.values(metric, set);
    if v.is_empty() {
        return f64::NAN;
    }
    #[allow(clippy::cast_precision_loss)]
    let n = v.len() as f64;
    v.iter().sum::<f64>() / n
}

/// The cost of safety: what each set costs traders next to what it saves the fund.
fn cost_of_safety(data: &ReportData, sweep: &Sweep<'_>) -> Section {
    let mut head = vec!["set".to_owned()];
    head.extend(sweep.keys.iter().map(|k| parameter_label(k).0));
    head.extend(
        [
            "P(depletion)",
            "fund loss, mean",
            "fund loss, ES 99%",
            "initial margin locked, mean",
            "liquidated notional, mean",
            "liquidation fees paid, mean",
            "ADL on winners, mean",
            "haircuts on winners, mean",
        ]
        .map(str::to_owned),
    );
    let rows = sweep
        .rows
        .iter()
        .map(|r| {
            let set = r.param_set;
            let mut row = vec![r.param_set.to_string()];
            row.extend(
                sweep
                    .keys
                    .iter()
                    .zip(&r.values)
                    .map(|(k, v)| parameter_value(k, *v)),
            );
            row.push(pct(r.depletion.probability));
            row.push(usd(mean(data, "insurance_fund_loss", set)));
            row.push(usd(r.insurance_fund_loss_es_99));
            row.push(usd(mean(data, "initial_margin_locked", set)));
            row.push(usd(mean(data, "liquidated_notional", set)));
            row.push(usd(
                mean(data, "insurance_fund_fee_income", set) + mean(data, "liquidator_fees", set)
            ));
            row.push(usd(mean(data, "adl_notional", set)));
            row.push(usd(mean(data, "socialized_loss", set)));
            row
        })
        .collect();
    Section {
        id: "cost-of-safety".to_owned(),
        heading: "Cost of safety".to_owned(),
        before: vec![
            "What each set costs traders (the initial margin their starting book must lock, \
             notional liquidated, liquidation fees they pay to the fund and to liquidators, \
             positions closed by ADL and haircuts taken from winners; means per path) next to \
             what it saves the fund (its mean and tail loss)."
                .to_owned(),
        ],
        table: Some((head, rows)),
        after: Vec::new(),
        charts: Vec::new(),
    }
}

/// One parameter at a time around the recommended (else the safest) set: the
/// table, and its tornado chart.
// Over 70 lines: the table's rows and the tornado's bars, built side by side.
fn sensitivity(data: &ReportData, sweep: &Sweep<'_>) -> Result<Option<Section>, ReportError> {
    let Some(centre) = sweep.recommended().or_else(|| sweep.safest()) else {
        return Ok(None);
    };
    let mut groups: Vec<(f64, Vec<Vec<String>>, TornadoRow)> = Vec::new();
    for (k, key) in sweep.keys.iter().enumerate() {
        let mut near: Vec<&SweepRow> = sweep
            .rows
            .iter()
            .filter(|r| {
                r.values
                    .iter()
                    .zip(&centre.values)
                    .enumerate()
                    .all(|(j, (a, b))| j == k || a == b)
            })
            .collect();
        if near.len() < 2 {
            continue;
        }
        near.sort_by(|a, b| a.values[k].total_cmp(&b.values[k]));
        let probs: Vec<f64> = near.iter().map(|r| r.depletion.probability).collect();
        let high = probs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let low = probs.iter().copied().fold(f64::INFINITY, f64::min);
        let swing = high - low;
        let bar = TornadoRow {
            label: parameter_label(key).0,
            low,
            high,
            text: format!(
                "{} to {} over {} to {}",
                pct(low),
                pct(high),
                parameter_value(key, near[0].values[k]),
                parameter_value(key, near[near.len() - 1].values[k])
            ),
        };
        let rows = near
            .iter()
            .map(|r| {
                vec![
                    parameter_label(key).0,
                    format!(
                        "{}{}",
                        parameter_value(key, r.values[k]),
                        if r.param_set == centre.param_set {
                            " (centre)"
                        } else {
                            ""
                        }
                    ),
                    pct_interval(
                        r.depletion.probability,
                        r.depletion.ci95_lower,
                        r.depletion.ci95_upper,
                    ),
                    usd(r.insurance_fund_loss_es_99),
                    usd(r.bad_debt_p99),
                    pct(swing),
                ]
            })
            .collect();
        groups.push((swing, rows, bar));
    }
    if groups.is_empty() {
        return Ok(None);
    }
    groups.sort_by(|a, b| b.0.total_cmp(&a.0));
    let centre_text = format!(
        "set {} ({})",
        centre.param_set,
        describe(sweep.keys, &centre.values)
    );
    let mut bars = Vec::new();
    let mut table = Vec::new();
    for (_, rows, bar) in groups {
        table.extend(rows);
        bars.push(bar);
    }
    let chart = book_charts::tornado(data, &centre_text, centre.depletion.probability, bars)?;
    let mut section = Section {
        id: "sensitivity".to_owned(),
        heading: "Sensitivity".to_owned(),
        before: vec![format!(
            "One parameter at a time around set {} ({}), the others held there; the parameter \
             whose values move the probability of depletion most (its swing) first.",
            centre.param_set,
            describe(sweep.keys, &centre.values)
        )],
        table: Some((
            [
                "parameter",
                "value",
                "P(depletion) [95% CI]",
                "fund loss, ES 99%",
                "bad debt p99",
                "swing of P(depletion)",
            ]
            .map(str::to_owned)
            .to_vec(),
            table,
        )),
        after: Vec::new(),
        charts: Vec::new(),
    };
    section.add_chart(chart);
    Ok(Some(section))
}

/// Every set's figures, in set order, with whether it meets the target.
fn every_set(sweep: &Sweep<'_>) -> Section {
    let mut head = vec!["set".to_owned()];
    head.extend(sweep.keys.iter().map(|k| parameter_label(k).0));
    head.extend(
        [
            "P(depletion) [95% CI]",
            "fund loss, VaR 99%",
            "fund loss, ES 99%",
            "bad debt p99",
            "meets target",
        ]
        .map(str::to_owned),
    );
    let rows = sweep
        .rows
        .iter()
        .map(|r| {
            let mut row = set_cells(sweep, r);
            row.push(usd(r.insurance_fund_loss_var_99));
            row.push(usd(r.insurance_fund_loss_es_99));
            row.push(usd(r.bad_debt_p99));
            row.push(
                match r.meets_target {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "–",
                }
                .to_owned(),
            );
            row
        })
        .collect();
    let intro = match sweep.target {
        Some(t) => format!(
            "{} of {} parameter sets meet the target (P(depletion) at most {}, judged by {}).",
            count(sweep.meeting.len() as f64),
            count(sweep.rows.len() as f64),
            pct(t),
            sweep.judged_text()
        ),
        None => format!(
            "All {} parameter sets; the sweep sets no target.",
            count(sweep.rows.len() as f64)
        ),
    };
    Section {
        id: "sweep-target".to_owned(),
        heading: "Every parameter set".to_owned(),
        before: vec![intro],
        table: Some((head, rows)),
        after: Vec::new(),
        charts: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backstop_data::SweepProbability;

    fn row(set: u32, values: [f64; 2], depleted: u64, meets: bool) -> SweepRow {
        let p = SweepProbability {
            count: depleted,
            probability: depleted as f64 / 400.0,
            ci95_lower: 0.0,
            ci95_upper: if depleted == 0 { 0.0092 } else { 0.05 },
        };
        SweepRow {
            param_set: set,
            values: values.to_vec(),
            paths: 400,
            depletion: p,
            socialized: p,
            adl: p,
            insurance_fund_loss_var_95: 0.0,
            insurance_fund_loss_es_95: 0.0,
            insurance_fund_loss_var_99: 0.0,
            insurance_fund_loss_es_99: f64::from(10 - set),
            cover_1: 0.0,
            cover_2: 0.0,
            bad_debt_p50: 0.0,
            bad_debt_p99: 0.0,
            meets_target: Some(meets),
        }
    }

    #[test]
    fn the_current_values_are_kept_when_no_set_meeting_the_target_is_more_efficient() {
        // (mmr, fund): sets 0 and 1 share the best fund; set 1 holds the current values.
        let rows = vec![
            row(0, [0.003, 1e6], 0, true),
            row(1, [0.004, 1e6], 0, true),
            row(2, [0.004, 5e5], 9, false),
        ];
        let keys = ["mmr".to_owned(), "insurance_fund.initial".to_owned()];
        let meeting = [0, 1];
        let sweep = |current: Option<usize>| Sweep {
            keys: &keys,
            rows: &rows,
            target: Some(0.01),
            upper: true,
            meeting: &meeting,
            paths: 400,
            current: current.map(|i| &rows[i]),
            efficiency: Some(1),
        };
        assert_eq!(sweep(Some(1)).recommended().map(|r| r.param_set), Some(1));
        // Without the current values among them, the best-ranked set.
        assert_eq!(sweep(None).recommended().map(|r| r.param_set), Some(0));
        // Current values that miss the target are not kept.
        assert_eq!(sweep(Some(2)).recommended().map(|r| r.param_set), Some(0));
        // The safest: lowest upper end, then lowest ES 99%.
        assert_eq!(sweep(None).safest().map(|r| r.param_set), Some(1));
    }

    #[test]
    fn clean_paths_make_the_upper_end_meet_the_target() {
        for p in [0.001, 0.01, 0.05] {
            let n = clean_paths_needed(p).unwrap();
            #[allow(clippy::cast_precision_loss)]
            let upper = |n: u64| 1.0 - 0.025f64.powf(1.0 / n as f64);
            assert!(upper(n) <= p, "{p}: {n}");
            assert!(upper(n - 1) > p, "{p}: {n} is the least");
        }
        assert_eq!(clean_paths_needed(0.01), Some(368));
        assert_eq!(clean_paths_needed(0.0), None);
    }
}
