//! The in-memory results a report is rendered from.

use std::collections::BTreeMap;

use backstop_data::PathsTable;
use backstop_data::results::layout::{
    BANDS_FILE, HAIRCUTS_FILE, PATHS_FILE, POPULATION_FILE, STEPS_FILE, SUMMARY_FILE, SWEEP_FILE,
};

use crate::error::ReportError;
use crate::summary::RunInfo;

/// Across-path quantile bands of one series (`bands.parquet`), one entry per step,
/// ascending by step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Band {
    /// Step index.
    pub step: Vec<u32>,
    /// Recorded time of each step, ns since the Unix epoch (UTC); the time axis
    /// of every chart follows it (tick replays step at irregular times).
    pub ts_ns: Vec<i64>,
    /// 1st percentile.
    pub p1: Vec<f64>,
    /// 5th percentile.
    pub p5: Vec<f64>,
    /// 25th percentile.
    pub p25: Vec<f64>,
    /// Median.
    pub p50: Vec<f64>,
    /// 75th percentile.
    pub p75: Vec<f64>,
    /// 95th percentile.
    pub p95: Vec<f64>,
    /// 99th percentile.
    pub p99: Vec<f64>,
    /// Mean.
    pub mean: Vec<f64>,
}

impl Band {
    /// Steps in the series.
    #[must_use]
    pub fn len(&self) -> usize {
        self.step.len()
    }

    /// Whether the series has no steps.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.step.is_empty()
    }
}

/// Venue-wide per-step series of one path (from `steps.parquet`, summed over
/// markets), ascending by step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathSeries {
    /// Step index.
    pub step: Vec<u32>,
    /// Recorded time of each step, ns since the Unix epoch (UTC); irregular for a
    /// tick replay.
    pub ts_ns: Vec<i64>,
    /// The market whose mark is shown (the first by name).
    pub market: String,
    /// Mark price of `market` at the end of the step, USD.
    pub mark: Vec<f64>,
    /// Insurance-fund balance after the step, USD.
    pub insurance_fund: Vec<f64>,
    /// Long notional liquidated during the step, USD, all markets.
    pub liquidated_long: Vec<f64>,
    /// Short notional liquidated during the step, USD, all markets.
    pub liquidated_short: Vec<f64>,
    /// Notional auto-deleveraged during the step, USD, all markets.
    pub adl_notional: Vec<f64>,
    /// ADL fills during the step, all markets.
    pub adl_count: Vec<f64>,
    /// Loss socialized during the step, USD.
    pub socialized_loss: Vec<f64>,
    /// Bad debt incurred during the step, USD.
    pub bad_debt: Vec<f64>,
    /// Liquidations during the step, all markets.
    pub liquidations: Vec<f64>,
    /// Multiplier of `market`'s margin rates during the step (1 without the
    /// volatility-margin control).
    pub margin_multiplier: Vec<f64>,
    /// Whether the circuit breaker paused liquidations during the step.
    pub liquidations_paused: Vec<bool>,
    /// Every market's mark price at the end of each step, by market (NaN where a
    /// step has no row for the market).
    pub marks: BTreeMap<String, Vec<f64>>,
    /// Every market's path price of each step, by market (before impact and
    /// oracle; on a replay, the recorded price), NaN like `marks`.
    pub path_prices: BTreeMap<String, Vec<f64>>,
}

impl PathSeries {
    /// Aggregates a `steps/v1` table (one row per step and market) to one row per
    /// step.
    ///
    /// # Errors
    ///
    /// [`ReportError::Data`] if the table's columns have different lengths.
    pub fn from_steps(table: &backstop_data::StepsTable) -> Result<Self, ReportError> {
        table.validate_lengths()?;
        let market = table.market.iter().min().cloned().unwrap_or_default();
        #[derive(Default)]
        struct Row {
            ts_ns: i64,
            mark: Option<f64>,
            fund: f64,
            long: f64,
            short: f64,
            adl: f64,
            adl_count: f64,
            social: f64,
            bad_debt: f64,
            liquidations: f64,
            multiplier: Option<f64>,
            paused: bool,
            marks: BTreeMap<String, f64>,
            path_prices: BTreeMap<String, f64>,
        }
        let mut rows: BTreeMap<u32, Row> = BTreeMap::new();
        for i in 0..table.len() {
            let row = rows.entry(table.step[i]).or_default();
            row.ts_ns = table.ts_ns.get(i).copied().unwrap_or_default();
            if table.market[i] == market {
                row.mark = Some(table.mark[i]);
                row.multiplier = Some(table.margin_multiplier[i]);
            }
            row.marks.insert(table.market[i].clone(), table.mark[i]);
            if let Some(&p) = table.path_price.get(i) {
                row.path_prices.insert(table.market[i].clone(), p);
            }
            // Venue-wide values repeat on every market's row: take them once.
            row.fund = table.insurance_fund[i];
            row.social = table.socialized_loss[i];
            row.bad_debt = table.bad_debt[i];
            row.paused |= table.liquidations_paused[i];
            row.liquidations += f64::from(table.liquidations[i]);
            row.long += table.liquidated_long_notional[i];
            row.short += table.liquidated_short_notional[i];
            row.adl += table.adl_notional[i];
            row.adl_count += f64::from(table.adl_count[i]);
        }
        let mut out = Self {
            market,
            ..Self::default()
        };
        let names: std::collections::BTreeSet<&String> = table.market.iter().collect();
        for name in names {
            out.marks
                .insert(name.clone(), Vec::with_capacity(rows.len()));
            out.path_prices
                .insert(name.clone(), Vec::with_capacity(rows.len()));
        }
        for (step, row) in rows {
            for (name, marks) in &mut out.marks {
                marks.push(row.marks.get(name).copied().unwrap_or(f64::NAN));
            }
            for (name, prices) in &mut out.path_prices {
                prices.push(row.path_prices.get(name).copied().unwrap_or(f64::NAN));
            }
            out.bad_debt.push(row.bad_debt);
            out.liquidations.push(row.liquidations);
            out.margin_multiplier
                .push(row.multiplier.unwrap_or(f64::NAN));
            out.liquidations_paused.push(row.paused);
            out.step.push(step);
            out.ts_ns.push(row.ts_ns);
            out.mark.push(row.mark.unwrap_or(f64::NAN));
            out.insurance_fund.push(row.fund);
            out.liquidated_long.push(row.long);
            out.liquidated_short.push(row.short);
            out.adl_notional.push(row.adl);
            out.adl_count.push(row.adl_count);
            out.socialized_loss.push(row.social);
        }
        Ok(out)
    }

    /// Steps in the series.
    #[must_use]
    pub fn len(&self) -> usize {
        self.step.len()
    }

    /// Whether the series has no steps.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.step.is_empty()
    }
}

/// One socialized-loss haircut (`haircuts.parquet`).
#[derive(Debug, Clone, PartialEq)]
pub struct Haircut {
    /// Parameter set.
    pub param_set: u32,
    /// Path index.
    pub path: u64,
    /// Account charged.
    pub account_id: u64,
    /// Amount charged, USD.
    pub amount: f64,
}

/// Probability of insurance-fund depletion over two swept parameters: the
/// grid of the sweep heatmap (the simulator's `SweepGrid` is the sweep's
/// parameter grid; this is a chart's).
#[derive(Debug, Clone, PartialEq)]
pub struct DepletionGrid {
    /// Name of the parameter on the x axis (e.g. `insurance_fund.initial`).
    pub x_name: String,
    /// Its values, in axis order.
    pub x_values: Vec<f64>,
    /// Name of the parameter on the y axis.
    pub y_name: String,
    /// Its values, in axis order.
    pub y_values: Vec<f64>,
    /// `probability[y][x]`, 0 to 1; `None` for a combination not run.
    pub probability: Vec<Vec<Option<f64>>>,
    /// The sweep's target on the probability, if any (sets the colour scale).
    pub target: Option<f64>,
    /// `meets[y][x]`: whether the set meets the target (outlined); empty when
    /// not known.
    pub meets: Vec<Vec<Option<bool>>>,
    /// The other swept parameters and the value they are held at, `(key, value)`.
    pub held: Vec<(String, f64)>,
}

impl DepletionGrid {
    /// The top of the heatmap's colour scale: the largest probability, twice
    /// the target or 5%, whichever is highest, up to a whole 5% (at most 100%),
    /// so that 0% and 2.5% differ visibly.
    #[must_use]
    pub fn scale_max(&self) -> f64 {
        let top = self
            .probability
            .iter()
            .flatten()
            .flatten()
            .copied()
            .fold(0.0f64, f64::max);
        let floor = self.target.map_or(0.05, |t| (2.0 * t).max(0.05));
        let m = top.max(floor).min(1.0);
        ((m / 0.05).ceil() * 0.05).min(1.0)
    }

    /// Checks the grid is rectangular, matches its axes, and holds probabilities.
    ///
    /// # Errors
    ///
    /// [`ReportError::Invalid`] describing the first problem.
    pub fn validate(&self) -> Result<(), ReportError> {
        let bad = |reason: String| ReportError::Invalid {
            what: "sweep grid".to_owned(),
            reason,
        };
        if self.x_values.is_empty() || self.y_values.is_empty() {
            return Err(bad("both axes need at least one value".to_owned()));
        }
        if self.probability.len() != self.y_values.len() {
            return Err(bad(format!(
                "{} rows for {} y values",
                self.probability.len(),
                self.y_values.len()
            )));
        }
        for (i, row) in self.probability.iter().enumerate() {
            if row.len() != self.x_values.len() {
                return Err(bad(format!(
                    "row {i} has {} cells for {} x values",
                    row.len(),
                    self.x_values.len()
                )));
            }
            if row.iter().flatten().any(|p| !(0.0..=1.0).contains(p)) {
                return Err(bad(format!("row {i} has a probability outside [0, 1]")));
            }
        }
        Ok(())
    }
}

/// Everything a report is rendered from.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportData {
    /// `summary.json`.
    pub summary: RunInfo,
    /// `paths.parquet`: per-path metrics (empty when the file is absent).
    pub paths: PathsTable,
    /// `bands.parquet`: per-step quantile bands, by `(market, series)`; venue-wide
    /// series have market `""`.
    pub bands: BTreeMap<(String, String), Band>,
    /// `steps.parquet`: the full series of path 0, if present.
    pub path0: Option<PathSeries>,
    /// `haircuts.parquet`: every haircut charged.
    pub haircuts: Vec<Haircut>,
    /// `population.parquet`: the starting positions (empty when absent, as in
    /// a sweep).
    pub population: Vec<backstop_data::PositionRow>,
    /// Depletion probability over two swept parameters, for a sweep.
    pub sweep: Option<DepletionGrid>,
    /// `sweep.parquet` of a sweep: every parameter set's aggregates.
    pub sweep_sets: Option<SweepSets>,
}

/// The parameter sets of a sweep (`sweep.parquet`) and which meet its target.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSets {
    /// The `sweep/v1` table.
    pub table: backstop_data::SweepTable,
    /// The sets meeting the target, best capital efficiency first (from
    /// `summary.json` `meeting_target`).
    pub meeting_target: Vec<u32>,
    /// The target on the depletion probability, if the sweep has one.
    pub max_depletion_probability: Option<f64>,
}

impl SweepSets {
    /// The heatmap grid: depletion probability over the first swept parameter
    /// (x) and the second (y; a one-row grid with one parameter). With more
    /// parameters, the slice at the first value of the others.
    #[must_use]
    pub fn grid(&self) -> Option<DepletionGrid> {
        let t = &self.table;
        let x_name = t.parameters.first()?.clone();
        let distinct = |k: usize| {
            let mut v: Vec<f64> = Vec::new();
            for r in &t.rows {
                if let Some(x) = r.values.get(k)
                    && !v.contains(x)
                {
                    v.push(*x);
                }
            }
            v
        };
        let x_values = distinct(0);
        let (y_name, y_values) = match t.parameters.get(1) {
            Some(n) => (n.clone(), distinct(1)),
            None => ("(one swept parameter)".to_owned(), vec![0.0]),
        };
        let firsts: Vec<Option<f64>> = (2..t.parameters.len())
            .map(|k| t.rows.first().and_then(|r| r.values.get(k).copied()))
            .collect();
        let mut probability = vec![vec![None; x_values.len()]; y_values.len()];
        let mut meets = vec![vec![None; x_values.len()]; y_values.len()];
        for r in &t.rows {
            if firsts
                .iter()
                .enumerate()
                .any(|(k, f)| r.values.get(k + 2).copied() != *f)
            {
                continue;
            }
            let xi = r
                .values
                .first()
                .and_then(|x| x_values.iter().position(|v| v == x));
            let yi = match r.values.get(1) {
                Some(y) => y_values.iter().position(|v| v == y),
                None => Some(0),
            };
            if let (Some(xi), Some(yi)) = (xi, yi) {
                probability[yi][xi] = Some(r.depletion.probability);
                meets[yi][xi] = r.meets_target;
            }
        }
        let held = t
            .parameters
            .iter()
            .skip(2)
            .cloned()
            .zip(firsts.iter().map(|f| f.unwrap_or(f64::NAN)))
            .collect();
        Some(DepletionGrid {
            x_name,
            x_values,
            y_name,
            y_values,
            probability,
            target: self.max_depletion_probability,
            meets,
            held,
        })
    }
}

impl ReportData {
    /// Whether this is a single-path run (historical replay): charts show the path
    /// itself instead of distributions.
    #[must_use]
    pub fn single_path(&self) -> bool {
        self.summary.paths <= 1
    }

    /// The parameter set charted (the lowest present, 0 for a plain run).
    #[must_use]
    pub fn first_param_set(&self) -> u32 {
        self.paths.param_set.iter().copied().min().unwrap_or(0)
    }

    /// The recorded time of each step, ns since the epoch, as `(steps, times)`:
    /// path 0's series, else the first band that has times; `None` when no
    /// series records times.
    #[must_use]
    pub fn recorded_times(&self) -> Option<(&[u32], &[i64])> {
        let usable = |steps: &[u32], ts: &[i64]| {
            !steps.is_empty() && steps.len() == ts.len() && ts.iter().any(|t| *t != ts[0])
        };
        if let Some(p) = &self.path0
            && usable(&p.step, &p.ts_ns)
        {
            return Some((&p.step, &p.ts_ns));
        }
        self.bands
            .values()
            .find(|b| usable(&b.step, &b.ts_ns))
            .map(|b| (b.step.as_slice(), b.ts_ns.as_slice()))
    }

    /// Seconds from the first recorded step to step `step` (rounded down to a
    /// whole step; past the end, the last), from the recorded times; `None` when
    /// no series records times or `step` is not finite.
    #[must_use]
    pub fn elapsed_seconds(&self, step: f64) -> Option<f64> {
        let (steps, ts) = self.recorded_times()?;
        if !step.is_finite() {
            return None;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let target = step.max(0.0).floor().min(f64::from(u32::MAX)) as u32;
        // Steps are ascending: the last step at or before `target`.
        let i = steps.partition_point(|s| *s <= target).saturating_sub(1);
        #[allow(clippy::cast_precision_loss)]
        let dt = ts[i].saturating_sub(ts[0]) as f64 / 1e9;
        Some(dt)
    }

    /// Seconds from the first to the last recorded step time; `None` when no
    /// series records times.
    #[must_use]
    pub fn recorded_span_seconds(&self) -> Option<f64> {
        let (_, ts) = self.recorded_times()?;
        let (first, last) = (ts.first()?, ts.last()?);
        #[allow(clippy::cast_precision_loss)]
        let dt = last.saturating_sub(*first) as f64 / 1e9;
        Some(dt)
    }

    /// A venue-wide band series (`market == ""`).
    #[must_use]
    pub fn venue_band(&self, series: &str) -> Option<&Band> {
        self.bands
            .get(&(String::new(), series.to_owned()))
            .filter(|b| !b.is_empty())
    }
}

impl ReportData {
    /// Loads a results folder: `summary.json` (required) and, where present,
    /// `paths.parquet`, `bands.parquet`, `steps.parquet`, `haircuts.parquet` and
    /// (a sweep) `sweep.parquet`, through the `backstop_data` readers.
    ///
    /// A missing Parquet file leaves its part empty (its charts then say so); a
    /// present but unreadable one is an error.
    ///
    /// # Errors
    ///
    /// [`ReportError::Io`] / [`ReportError::Json`] / [`ReportError::MissingField`] /
    /// [`ReportError::InvalidField`] for `summary.json`, [`ReportError::Data`]
    /// (naming file, row and column) for a bad Parquet file.
    pub fn load(dir: &std::path::Path) -> Result<Self, ReportError> {
        let summary = RunInfo::read(&dir.join(SUMMARY_FILE))?;
        let present = |name: &str| {
            let p = dir.join(name);
            p.is_file().then_some(p)
        };
        let paths = match present(PATHS_FILE) {
            Some(p) => backstop_data::read_paths(&p)?,
            None => PathsTable::default(),
        };
        let bands = match present(BANDS_FILE) {
            Some(p) => bands_from_table(&backstop_data::read_bands(&p)?),
            None => BTreeMap::new(),
        };
        let path0 = match present(STEPS_FILE) {
            Some(p) => Some(PathSeries::from_steps(&backstop_data::read_steps(&p)?)?),
            None => None,
        };
        let haircuts = match present(HAIRCUTS_FILE) {
            Some(p) => haircuts_from_table(&backstop_data::read_haircuts(&p)?),
            None => Vec::new(),
        };
        let population = match present(POPULATION_FILE) {
            Some(p) => backstop_data::read_positions(&p)?,
            None => Vec::new(),
        };
        let sweep_sets = match present(SWEEP_FILE) {
            Some(p) => Some(SweepSets::new(backstop_data::read_sweep(&p)?, &summary)),
            None => None,
        };
        Ok(Self {
            summary,
            paths,
            bands,
            path0,
            haircuts,
            population,
            sweep: sweep_sets.as_ref().and_then(SweepSets::grid),
            sweep_sets,
        })
    }
}

impl SweepSets {
    /// The sets of `table`, ranked as the sweep ranked them (`meeting_target`
    /// of `summary.json`; absent, the sets meeting the target in set order).
    fn new(table: backstop_data::SweepTable, summary: &RunInfo) -> Self {
        let meeting_target = summary.meeting_target.clone().unwrap_or_else(|| {
            table
                .rows
                .iter()
                .filter(|r| r.meets_target == Some(true))
                .map(|r| r.param_set)
                .collect()
        });
        Self {
            table,
            meeting_target,
            max_depletion_probability: summary.max_depletion_probability,
        }
    }
}

/// One [`Haircut`] per row of a `haircuts/v1` table.
fn haircuts_from_table(t: &backstop_data::HaircutsTable) -> Vec<Haircut> {
    (0..t.len())
        .filter_map(|i| {
            Some(Haircut {
                param_set: *t.param_set.get(i)?,
                path: *t.path.get(i)?,
                account_id: *t.account_id.get(i)?,
                amount: *t.amount.get(i)?,
            })
        })
        .collect()
}

/// Groups a long-format `bands/v1` table by `(market, series)`, ascending by step.
fn bands_from_table(t: &backstop_data::BandsTable) -> BTreeMap<(String, String), Band> {
    let mut rows: BTreeMap<(String, String), BTreeMap<u32, usize>> = BTreeMap::new();
    for i in 0..t.len() {
        let (Some(market), Some(series), Some(step)) =
            (t.market.get(i), t.series.get(i), t.step.get(i))
        else {
            continue;
        };
        rows.entry((market.clone(), series.clone()))
            .or_default()
            .insert(*step, i);
    }
    let at = |col: &Vec<f64>, i: usize| col.get(i).copied().unwrap_or(f64::NAN);
    let ts = |i: usize| t.ts_ns.get(i).copied().unwrap_or_default();
    rows.into_iter()
        .map(|(key, steps)| {
            let mut b = Band::default();
            for (step, i) in steps {
                b.step.push(step);
                b.ts_ns.push(ts(i));
                b.p1.push(at(&t.quantiles[0], i));
                b.p5.push(at(&t.quantiles[1], i));
                b.p25.push(at(&t.quantiles[2], i));
                b.p50.push(at(&t.quantiles[3], i));
                b.p75.push(at(&t.quantiles[4], i));
                b.p95.push(at(&t.quantiles[5], i));
                b.p99.push(at(&t.quantiles[6], i));
                b.mean.push(at(&t.mean, i));
            }
            (key, b)
        })
        .collect()
}
