//! The in-memory results a report is rendered from.

use std::collections::BTreeMap;

use backstop_data::PathsTable;
use backstop_data::results::layout::{
    BANDS_FILE, HAIRCUTS_FILE, MARKET_FUND_STEPS_FILE, MARKET_FUNDS_FILE, PATHS_FILE,
    POPULATION_FILE, STEPS_FILE, SUMMARY_FILE, SWEEP_FILE,
};

use crate::error::ReportError;
use crate::pause_log::{PauseAnalysis, PauseLog, StepFigures};
use crate::sampler::{Kind, Sampler, StepSink};
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
    /// The seven quantiles a fan chart draws, in its order: p1, p5, p25, p50,
    /// p75, p95, p99.
    #[must_use]
    pub fn fan_quantiles(&self) -> [Vec<f64>; 7] {
        [
            self.p1.clone(),
            self.p5.clone(),
            self.p25.clone(),
            self.p50.clone(),
            self.p75.clone(),
            self.p95.clone(),
            self.p99.clone(),
        ]
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
    /// Steps per point of the series: 1 when every step is kept; above
    /// [`EXACT_STEPS`](crate::sampler::EXACT_STEPS) steps, the width of the
    /// buckets the series is downsampled to (two points each: levels their low
    /// and high, flows their sum then 0; docs/model.md, "Charts of long runs").
    pub steps_per_point: u32,
    /// Steps in the file (before any downsampling).
    pub steps_total: usize,
    /// By market, over every step: the largest gap between the simulated mark
    /// and the path price, as `(mark − path price, step, path price)` (the first
    /// step of the largest).
    pub mark_gaps: BTreeMap<String, (f64, u32, f64)>,
    /// By market: the first finite mark, over every step.
    pub first_marks: BTreeMap<String, f64>,
    /// The circuit breaker's pauses, folded over every step as the file was
    /// read (also when the series is downsampled): `None` when read without a
    /// breaker's pause length; `Err(step)` when step numbers did not increase
    /// from row to row (at `step`), so pauses cannot be told apart.
    pub breaker_pauses: Option<Result<PauseAnalysis, u32>>,
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
        let mut reader = PathReader::new(None);
        reader.push(table);
        Ok(reader.finish())
    }

    /// Reads `steps.parquet` one batch at a time into the series, downsampled
    /// above [`EXACT_STEPS`](crate::sampler::EXACT_STEPS) steps: memory does not
    /// grow with the length of the run. With `breaker_pause` (the circuit
    /// breaker's pause, steps) the breaker's pauses are folded over every step
    /// as they are read ([`PathSeries::breaker_pauses`]).
    ///
    /// # Errors
    ///
    /// [`ReportError::Data`] naming the file, row and column of a bad value.
    pub fn read(path: &std::path::Path, breaker_pause: Option<usize>) -> Result<Self, ReportError> {
        let mut reader = PathReader::new(breaker_pause);
        backstop_data::read_steps_chunked(path, |chunk, _| reader.push(chunk))?;
        Ok(reader.finish())
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

/// Columns of a [`PathReader`]'s sampler before the per-market ones.
const FUND: usize = 0;
const LONG: usize = 1;
const SHORT: usize = 2;
const ADL: usize = 3;
const ADL_COUNT: usize = 4;
const SOCIAL: usize = 5;
const BAD_DEBT: usize = 6;
const LIQUIDATIONS: usize = 7;
const VENUE_KINDS: [Kind; 8] = [
    Kind::Level,
    Kind::Flow,
    Kind::Flow,
    Kind::Flow,
    Kind::Flow,
    Kind::VenueFlow,
    Kind::VenueFlow,
    Kind::Flow,
];
/// Per market: mark, margin multiplier, path price (three levels).
const PER_MARKET: usize = 3;

/// `steps/v1` rows (one per step and market) folded into a [`PathSeries`] as
/// they are read: venue-wide sums per step, a mark, multiplier and path price
/// per market, and the figures read over every step.
struct PathReader {
    sampler: Sampler<BreakerSink>,
    /// Markets in order of appearance, with their first column.
    markets: Vec<(String, usize)>,
    /// Per market (same order): the largest `mark − path price` so far.
    gaps: Vec<(f64, u32, f64)>,
    /// Per market: the first finite mark.
    firsts: Vec<f64>,
    /// One row's values, reused.
    values: Vec<f64>,
}

/// Folds each whole step of a [`PathReader`] into the breaker's pause log.
struct BreakerSink(Option<PauseLog>);

impl StepSink for BreakerSink {
    fn step(&mut self, step: u32, values: &[f64], flag: bool) {
        let Some(log) = &mut self.0 else {
            return;
        };
        let v = |i: usize| values.get(i).copied().unwrap_or(f64::NAN);
        log.step(&StepFigures {
            step,
            paused: flag,
            liquidations: v(LIQUIDATIONS),
            notional: v(LONG) + v(SHORT),
            bad_debt: v(BAD_DEBT),
            fund: v(FUND),
        });
    }
}

impl PathReader {
    /// A reader that also folds the breaker's pauses when `breaker_pause` is
    /// known.
    fn new(breaker_pause: Option<usize>) -> Self {
        Self {
            sampler: Sampler::with_sink(
                VENUE_KINDS.to_vec(),
                BreakerSink(breaker_pause.map(PauseLog::new)),
            ),
            markets: Vec::new(),
            gaps: Vec::new(),
            firsts: Vec::new(),
            values: Vec::new(),
        }
    }

    /// The index of `market`, added on first sight.
    fn market(&mut self, market: &str) -> usize {
        if let Some(i) = self.markets.iter().position(|(m, _)| m == market) {
            return i;
        }
        let first = self.sampler.columns();
        for _ in 0..PER_MARKET {
            self.sampler.add_column(Kind::Level);
        }
        self.markets.push((market.to_owned(), first));
        self.gaps.push((0.0, 0, f64::NAN));
        self.firsts.push(f64::NAN);
        self.markets.len() - 1
    }

    /// Every row of `t` (lengths already checked).
    fn push(&mut self, t: &backstop_data::StepsTable) {
        let get = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(f64::NAN);
        for i in 0..t.len() {
            let Some(market) = t.market.get(i) else {
                continue;
            };
            let m = self.market(market);
            let first = self.markets[m].1;
            let step = t.step[i];
            let (mark, price) = (get(&t.mark, i), get(&t.path_price, i));
            let d = mark - price;
            if d.is_finite() && d.abs() > self.gaps[m].0.abs() {
                self.gaps[m] = (d, step, price);
            }
            if self.firsts[m].is_nan() && mark.is_finite() {
                self.firsts[m] = mark;
            }
            let mut values = std::mem::take(&mut self.values);
            values.clear();
            values.resize(self.sampler.columns(), f64::NAN);
            values[FUND] = get(&t.insurance_fund, i);
            values[LONG] = get(&t.liquidated_long_notional, i);
            values[SHORT] = get(&t.liquidated_short_notional, i);
            values[ADL] = get(&t.adl_notional, i);
            values[ADL_COUNT] = t.adl_count.get(i).map_or(f64::NAN, |c| f64::from(*c));
            values[SOCIAL] = get(&t.socialized_loss, i);
            values[BAD_DEBT] = get(&t.bad_debt, i);
            values[LIQUIDATIONS] = t.liquidations.get(i).map_or(f64::NAN, |c| f64::from(*c));
            values[first] = mark;
            values[first + 1] = get(&t.margin_multiplier, i);
            values[first + 2] = price;
            let ts = t.ts_ns.get(i).copied().unwrap_or_default();
            let paused = t.liquidations_paused.get(i).copied().unwrap_or(false);
            self.sampler.push(step, ts, &values, paused);
            self.values = values;
        }
    }

    fn finish(self) -> PathSeries {
        let (sampled, sink) = self.sampler.finish_with_sink();
        let mut columns = sampled.columns;
        let mut take = |i: usize| columns.get_mut(i).map(std::mem::take).unwrap_or_default();
        let market = self
            .markets
            .iter()
            .map(|(m, _)| m)
            .min()
            .cloned()
            .unwrap_or_default();
        let mut out = PathSeries {
            insurance_fund: take(FUND),
            liquidated_long: take(LONG),
            liquidated_short: take(SHORT),
            adl_notional: take(ADL),
            adl_count: take(ADL_COUNT),
            socialized_loss: take(SOCIAL),
            bad_debt: take(BAD_DEBT),
            liquidations: take(LIQUIDATIONS),
            ..PathSeries::default()
        };
        for (name, first) in &self.markets {
            let (marks, multipliers, prices) = (take(*first), take(first + 1), take(first + 2));
            if *name == market {
                out.mark.clone_from(&marks);
                out.margin_multiplier = multipliers;
            }
            out.marks.insert(name.clone(), marks);
            out.path_prices.insert(name.clone(), prices);
        }
        if self.markets.is_empty() {
            let n = sampled.step.len();
            out.mark = vec![f64::NAN; n];
            out.margin_multiplier = vec![f64::NAN; n];
        }
        for (((name, _), gap), first) in self.markets.iter().zip(self.gaps).zip(self.firsts) {
            out.mark_gaps.insert(name.clone(), gap);
            out.first_marks.insert(name.clone(), first);
        }
        out.market = market;
        out.step = sampled.step;
        out.ts_ns = sampled.ts_ns;
        out.liquidations_paused = sampled.flags;
        out.steps_per_point = sampled.steps_per_point;
        out.steps_total = sampled.steps;
        out.breaker_pauses = sink.0.map(PauseLog::finish);
        out
    }
}

/// `bands/v1` rows folded into one [`Band`] per `(market, series)` as they are
/// read, each downsampled above [`EXACT_STEPS`](crate::sampler::EXACT_STEPS)
/// steps (flow series summed per bucket, the others low and high). The rows
/// can also be given as they are written ([`ReportData::load_with_bands`]):
/// the same rows in the same order fold into the same bands.
#[derive(Default)]
pub struct BandsReader {
    series: Vec<(String, String, Sampler)>,
}

/// Band series that are flows per step (summed when downsampled).
const FLOW_BANDS: [&str; 3] = [
    "liquidated_long_notional",
    "liquidated_short_notional",
    "adl_notional",
];

impl BandsReader {
    /// Folds the rows of `t`, the next rows of the `bands/v1` table in file
    /// order.
    pub fn push(&mut self, t: &backstop_data::BandsTable) {
        let at = |col: &Vec<f64>, i: usize| col.get(i).copied().unwrap_or(f64::NAN);
        let mut last = 0;
        for i in 0..t.len() {
            let (Some(market), Some(series), Some(step)) =
                (t.market.get(i), t.series.get(i), t.step.get(i))
            else {
                continue;
            };
            let hit = |(m, s, _): &(String, String, Sampler)| m == market && s == series;
            // The rows go through the series in turn: the last one's, else
            // the one after it, else a search (the series are unique).
            let next = (last + 1) % self.series.len().max(1);
            let k = if self.series.get(last).is_some_and(hit) {
                last
            } else if self.series.get(next).is_some_and(hit) {
                next
            } else if let Some(k) = self.series.iter().position(hit) {
                k
            } else {
                let kind = if FLOW_BANDS.contains(&series.as_str()) {
                    Kind::VenueFlow
                } else {
                    Kind::Level
                };
                let sampler = Sampler::new(vec![kind; 8]);
                self.series.push((market.clone(), series.clone(), sampler));
                self.series.len() - 1
            };
            last = k;
            let values = [
                at(&t.quantiles[0], i),
                at(&t.quantiles[1], i),
                at(&t.quantiles[2], i),
                at(&t.quantiles[3], i),
                at(&t.quantiles[4], i),
                at(&t.quantiles[5], i),
                at(&t.quantiles[6], i),
                at(&t.mean, i),
            ];
            let ts = t.ts_ns.get(i).copied().unwrap_or_default();
            self.series[k].2.push(*step, ts, &values, false);
        }
    }

    fn finish(self) -> BTreeMap<(String, String), Band> {
        self.series
            .into_iter()
            .map(|(market, series, sampler)| {
                let sampled = sampler.finish();
                let mut columns = sampled.columns.into_iter();
                let mut next = || columns.next().unwrap_or_default();
                let band = Band {
                    step: sampled.step,
                    ts_ns: sampled.ts_ns,
                    p1: next(),
                    p5: next(),
                    p25: next(),
                    p50: next(),
                    p75: next(),
                    p95: next(),
                    p99: next(),
                    mean: next(),
                };
                ((market, series), band)
            })
            .collect()
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
    /// `market_funds.parquet`: each market's own insurance fund per path
    /// (empty when the file is absent: no market has one).
    pub market_funds: Vec<backstop_data::MarketFundRow>,
    /// `market_fund_steps.parquet`: those funds step by step on path 0
    /// (empty when the file is absent).
    pub market_fund_steps: Vec<backstop_data::MarketFundStepRow>,
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
    /// The extra set holding the scenario's own values, when the grid's
    /// product does not (docs/model.md §7b, "Current"): left out of the heatmap.
    pub current_set: Option<u32>,
}

impl SweepSets {
    /// The heatmap grid: depletion probability over the first swept parameter
    /// (x) and the second (y; a one-row grid with one parameter). With more
    /// parameters, the slice at the first value of the others.
    #[must_use]
    pub fn grid(&self) -> Option<DepletionGrid> {
        let t = &self.table;
        let x_name = t.parameters.first()?.clone();
        let product = || {
            t.rows
                .iter()
                .filter(|r| Some(r.param_set) != self.current_set)
        };
        let distinct = |k: usize| {
            let mut v: Vec<f64> = Vec::new();
            for r in product() {
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
        for r in product() {
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

    /// The `market_funds.parquet` rows of `market`'s own fund in parameter set
    /// `param_set`, one per path, in file order.
    #[must_use]
    pub fn market_fund_rows(
        &self,
        market: &str,
        param_set: u32,
    ) -> Vec<&backstop_data::MarketFundRow> {
        self.market_funds
            .iter()
            .filter(|r| r.market == market && r.param_set == param_set)
            .collect()
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
        Self::load_with_bands(dir, None)
    }

    /// [`ReportData::load`], the bands folded from `bands` (every row of the
    /// folder's `bands/v1` table, given as it was written) instead of read
    /// from `bands.parquet` when given: the same data, without waiting for
    /// that file (docs/performance.md, "Two threads, round 7").
    ///
    /// # Errors
    ///
    /// As [`ReportData::load`].
    pub fn load_with_bands(
        dir: &std::path::Path,
        bands: Option<BandsReader>,
    ) -> Result<Self, ReportError> {
        let present = |name: &str| {
            let p = dir.join(name);
            p.is_file().then_some(p)
        };
        // The files are read side by side on the current rayon pool (the
        // bands, the largest, beside the rest); an error is the first in the
        // order of the fields below, as when they were read one by one.
        let (bands, (head, rest)) = rayon::join(
            || match bands {
                Some(reader) => Ok(reader.finish()),
                None => read_bands(present(BANDS_FILE)),
            },
            || rayon::join(|| read_head(dir, &present), || read_rest(&present)),
        );
        let head = head?;
        let (paths, haircuts, population, market_funds) = rest;
        Ok(Self {
            paths: paths?,
            bands: bands?,
            path0: head.path0?,
            haircuts: haircuts?,
            population: population?,
            market_funds: market_funds?,
            market_fund_steps: head.market_fund_steps?,
            sweep: head
                .sweep_sets
                .as_ref()
                .ok()
                .and_then(Option::as_ref)
                .and_then(SweepSets::grid),
            sweep_sets: head.sweep_sets?,
            summary: head.summary,
        })
    }
}

impl ReportData {
    /// The data [`ReportData::load`] reads from a whole sweep's results
    /// folder `dir`, from those results in memory: the text of its
    /// `summary.json`, its `sweep/v1`, `paths/v1`, `haircuts/v1` and
    /// `market_funds/v1` tables (a sweep writes no other table). So the
    /// sweep's report is drawn while its files are written rather than after
    /// they are read back (docs/performance.md, "Two threads, round 8").
    ///
    /// # Errors
    ///
    /// As [`ReportData::load`] for `summary.json` (named as in `dir`).
    pub fn from_sweep(
        dir: &std::path::Path,
        summary_json: &str,
        sweep: &backstop_data::SweepTable,
        paths: &PathsTable,
        haircuts: &backstop_data::HaircutsTable,
        market_funds: &[backstop_data::MarketFundRow],
    ) -> Result<Self, ReportError> {
        let summary = RunInfo::parse(&dir.join(SUMMARY_FILE), summary_json)?;
        let sweep_sets = SweepSets::new(sweep.clone(), &summary);
        Ok(Self {
            paths: paths.clone(),
            bands: BTreeMap::new(),
            path0: None,
            haircuts: haircuts_from_table(haircuts),
            population: Vec::new(),
            market_funds: market_funds.to_vec(),
            market_fund_steps: Vec::new(),
            sweep: sweep_sets.grid(),
            sweep_sets: Some(sweep_sets),
            summary,
        })
    }
}

/// `summary.json` and what is read with it: the files whose reading needs it,
/// each read or not.
struct Head {
    summary: RunInfo,
    path0: Result<Option<PathSeries>, ReportError>,
    market_fund_steps: Result<Vec<backstop_data::MarketFundStepRow>, ReportError>,
    sweep_sets: Result<Option<SweepSets>, ReportError>,
}

/// A results folder's file path if the file is there.
type Present<'a> = dyn Fn(&str) -> Option<std::path::PathBuf> + Sync + 'a;

/// Reads `summary.json`, then `steps.parquet`, `market_fund_steps.parquet` and
/// `sweep.parquet` where present.
///
/// Those three are read side by side on the current rayon pool: one after
/// another they were most of the report's wait for its data, on one thread
/// (docs/performance.md, "Two threads, round 8").
fn read_head(dir: &std::path::Path, present: &Present<'_>) -> Result<Head, ReportError> {
    let summary = RunInfo::read(&dir.join(SUMMARY_FILE))?;
    let (path0, (market_fund_steps, sweep_sets)) = rayon::join(
        || {
            present(STEPS_FILE)
                .map(|p| PathSeries::read(&p, summary.breaker_pause_steps()))
                .transpose()
        },
        || {
            rayon::join(
                || {
                    present(MARKET_FUND_STEPS_FILE).map_or(Ok(Vec::new()), |p| {
                        Ok(backstop_data::read_market_fund_steps(&p)?)
                    })
                },
                || {
                    present(SWEEP_FILE)
                        .map(|p| Ok(SweepSets::new(backstop_data::read_sweep(&p)?, &summary)))
                        .transpose()
                },
            )
        },
    );
    Ok(Head {
        summary,
        path0,
        market_fund_steps,
        sweep_sets,
    })
}

/// The tables read without `summary.json`: paths, haircuts, population and
/// market funds, each empty where its file is absent; read side by side on
/// the current rayon pool (as [`read_head`]'s).
#[allow(clippy::type_complexity)]
fn read_rest(
    present: &Present<'_>,
) -> (
    Result<PathsTable, ReportError>,
    Result<Vec<Haircut>, ReportError>,
    Result<Vec<backstop_data::PositionRow>, ReportError>,
    Result<Vec<backstop_data::MarketFundRow>, ReportError>,
) {
    let ((paths, haircuts), (population, market_funds)) = rayon::join(
        || {
            rayon::join(
                || {
                    present(PATHS_FILE).map_or(Ok(PathsTable::default()), |p| {
                        Ok(backstop_data::read_paths(&p)?)
                    })
                },
                || {
                    present(HAIRCUTS_FILE).map_or(Ok(Vec::new()), |p| {
                        Ok(haircuts_from_table(&backstop_data::read_haircuts(&p)?))
                    })
                },
            )
        },
        || {
            rayon::join(
                || {
                    present(POPULATION_FILE)
                        .map_or(Ok(Vec::new()), |p| Ok(backstop_data::read_positions(&p)?))
                },
                || {
                    present(MARKET_FUNDS_FILE).map_or(Ok(Vec::new()), |p| {
                        Ok(backstop_data::read_market_funds(&p)?)
                    })
                },
            )
        },
    );
    (paths, haircuts, population, market_funds)
}

/// `bands.parquet`'s bands by `(market, series)`, none when `file` is `None`.
fn read_bands(
    file: Option<std::path::PathBuf>,
) -> Result<BTreeMap<(String, String), Band>, ReportError> {
    let Some(p) = file else {
        return Ok(BTreeMap::new());
    };
    let mut reader = BandsReader::default();
    backstop_data::read_bands_chunked(&p, |chunk, _| reader.push(chunk))?;
    Ok(reader.finish())
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
            current_set: summary.current_set,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A run of `steps` steps on two markets (a row each per step), one
    /// liquidation per market row when not paused, the fund 1,000,000 − step;
    /// liquidations paused for 5 steps from step 500 of every 1,000.
    fn long_run(steps: u32) -> backstop_data::StepsTable {
        let mut t = backstop_data::StepsTable::default();
        for step in 0..steps {
            let paused = (500..505).contains(&(step % 1_000));
            for market in ["btc", "eth"] {
                t.step.push(step);
                t.ts_ns.push(i64::from(step) * 60_000_000_000);
                t.market.push(market.to_owned());
                t.mark.push(100.0);
                t.insurance_fund.push(1_000_000.0 - f64::from(step));
                t.bad_debt.push(0.0);
                t.socialized_loss.push(0.0);
                t.insolvency.push(0.0);
                t.adl_notional.push(0.0);
                t.adl_count.push(0);
                t.liquidated_long_notional
                    .push(if paused { 0.0 } else { 10.0 });
                t.liquidated_short_notional.push(0.0);
                t.liquidations.push(u32::from(!paused));
                t.open_interest.push(1e6);
                t.funding_rate.push(None);
                t.margin_multiplier.push(1.0);
                // The breaker's flag on one market's row: a step is paused if
                // any of its rows is.
                t.liquidations_paused.push(paused && market == "eth");
                t.path_price.push(100.0);
            }
        }
        t
    }

    #[test]
    fn a_downsampled_run_still_gets_every_pause() {
        let mut reader = PathReader::new(Some(3));
        reader.push(&long_run(20_000));
        let series = reader.finish();
        assert!(
            series.steps_per_point > 1,
            "the chart series is downsampled"
        );
        assert_eq!(series.steps_total, 20_000);
        let a = series
            .breaker_pauses
            .expect("folded")
            .expect("steps in order");
        // Each paused run of 5 steps with a pause of 3: a trip at its start
        // and one 3 steps in.
        assert_eq!((a.trips, a.steps_paused, a.steps), (40, 100, 20_000));
        assert_eq!(a.pauses.len(), crate::pause_log::PAUSES_KEPT);
        let starts: Vec<u32> = a.pauses.iter().take(4).map(|p| p.start_step).collect();
        assert_eq!(starts, [500, 503, 1_500, 1_503]);
        let (first, second) = (&a.pauses[0], &a.pauses[1]);
        // The first is followed by the second at once: of its window (503,
        // 504, 505) only step 505 is not paused.
        assert_eq!((first.steps, first.after_steps), (3, 1));
        assert_eq!(first.liquidations_after, 2.0);
        // From step 499 to step 505.
        assert_eq!(first.fund_change, -6.0);
        // Steps 505, 506, 507 after the second; from step 502 to 507.
        assert_eq!((second.steps, second.after_steps), (2, 3));
        assert_eq!(second.fund_change, -5.0);
        assert_eq!(first.liquidations_during + second.liquidations_during, 0.0);
        // Windows counted once: 505, 506, 507 after each run of pauses.
        assert_eq!(a.after_steps, 60);
        assert_eq!(a.liquidations_after, 120.0);
        assert_eq!(a.notional_after, 1_200.0);
        assert_eq!(a.liquidations_total, 2.0 * (20_000.0 - 100.0));
    }

    #[test]
    fn without_a_pause_length_nothing_is_folded() {
        let series = PathSeries::from_steps(&long_run(1_000)).expect("lengths agree");
        assert!(series.breaker_pauses.is_none());
    }
}
