//! What a run keeps of each step: the full per-step series of one path
//! (`steps.parquet`) and, for every path, the band series folded into
//! order-independent sketches (`bands.parquet`): every value kept, so the
//! quantiles are exact, when they fit in
//! [`EXACT_BANDS_BYTES`](super::limits::EXACT_BANDS_BYTES), else logarithmic
//! buckets within [`RELATIVE_ACCURACY`] of the value (docs/model.md §7).
//!
//! Path 0's series goes through a [`StepSink`] and a one-path run's bands
//! through a [`BandSink`]: held, or streamed to their Parquet files one row
//! group at a time while the path runs ([`backstop_data::results::chunked`]).

use std::path::{Path, PathBuf};

use backstop_data::results::chunked::RowGroupWriter;
use backstop_data::{BandSeries, BandsTable, DataError, MAX_ROW_GROUP_ROWS, StepsTable};
use rayon::prelude::*;

use super::aggregate::sketch::{QuantileSketch, RELATIVE_ACCURACY};
use super::fund_steps::{FundStepSink, FundSteps};
use super::packed::PackedValues;
use crate::engine::Engine;
use crate::money::Micros;

/// The version written into every results file: the workspace's version, which
/// the `backstop` binary shares.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Parquet key-value metadata of a results file: version, scenario name,
/// seed and, for a sweep's files, the scenario's hash.
pub fn metadata(
    scenario: &crate::config::scenario::Scenario,
    hash: Option<&str>,
) -> Vec<(String, String)> {
    let mut meta = vec![
        ("backstop.version".to_owned(), VERSION.to_owned()),
        ("backstop.scenario".to_owned(), scenario.name.clone()),
        ("backstop.seed".to_owned(), scenario.seed.to_string()),
    ];
    if let Some(hash) = hash {
        meta.push((SCENARIO_HASH_KEY.to_owned(), hash.to_owned()));
    }
    meta
}

/// The metadata key of a sweep file's scenario hash.
pub const SCENARIO_HASH_KEY: &str = "backstop.scenario_hash";

/// One row of the per-step recorder (no allocation per step).
#[derive(Clone, Copy)]
pub(super) struct StepRecord {
    step: u32,
    ts_ns: i64,
    market: u16,
    mark: f64,
    insurance_fund: Micros,
    bad_debt: Micros,
    socialized_loss: Micros,
    insolvency: Micros,
    adl_notional: Micros,
    adl_count: u32,
    liquidated_long: Micros,
    liquidated_short: Micros,
    liquidations: u32,
    open_interest: Micros,
    funding_rate: Option<f64>,
    margin_multiplier: f64,
    liquidations_paused: bool,
    path_price: f64,
}

/// Records step `step` (at `ts_ns`) of `engine`, one row per market.
/// `path_prices` are the step's path prices (one per market, before impact and
/// oracle: the recorded prices on a replay).
pub(super) fn record_step(
    engine: &Engine,
    step: u32,
    ts_ns: i64,
    path_prices: &[f64],
    out: &mut Vec<StepRecord>,
) {
    let v = *engine.venue_flows();
    let fund = engine.insurance_fund().balance();
    for (m, f) in engine.market_flows().iter().enumerate() {
        out.push(StepRecord {
            step,
            ts_ns,
            market: m as u16,
            mark: engine.mark_price(m as u16),
            insurance_fund: fund,
            bad_debt: v.bad_debt,
            socialized_loss: v.socialized_loss,
            insolvency: v.insolvency,
            adl_notional: f.adl_notional,
            adl_count: f.adl_count,
            liquidated_long: f.liquidated_long,
            liquidated_short: f.liquidated_short,
            liquidations: f.liquidations,
            open_interest: engine.open_interest(m as u16),
            funding_rate: f.funding_rate,
            margin_multiplier: engine.margin_multiplier(m as u16),
            liquidations_paused: engine.liquidations_paused(),
            path_price: path_prices.get(m).copied().unwrap_or(f64::NAN),
        });
    }
}

/// The recorded steps as a `steps/v1` table; `names` are the markets'.
pub(super) fn steps_table(records: &[StepRecord], names: &[&str]) -> StepsTable {
    let mut table = StepsTable::with_capacity(records.len());
    for r in records {
        table.step.push(r.step);
        table.ts_ns.push(r.ts_ns);
        table.market.push(names[r.market as usize].to_string());
        table.mark.push(r.mark);
        table.insurance_fund.push(r.insurance_fund.to_usd());
        table.bad_debt.push(r.bad_debt.to_usd());
        table.socialized_loss.push(r.socialized_loss.to_usd());
        table.insolvency.push(r.insolvency.to_usd());
        table.adl_notional.push(r.adl_notional.to_usd());
        table.adl_count.push(r.adl_count);
        table
            .liquidated_long_notional
            .push(r.liquidated_long.to_usd());
        table
            .liquidated_short_notional
            .push(r.liquidated_short.to_usd());
        table.liquidations.push(r.liquidations);
        table.open_interest.push(r.open_interest.to_usd());
        table.funding_rate.push(r.funding_rate);
        table.margin_multiplier.push(r.margin_multiplier);
        table.liquidations_paused.push(r.liquidations_paused);
        table.path_price.push(r.path_price);
    }
    table
}

/// The per-step series of one path: held as compact records (one per step and
/// market) rather than as the table, or, when the run streamed them
/// ([`StepSink::streamed`]), already written to a `steps/v1` file one row
/// group at a time while the path ran. [`StepSeries::write`] puts the file in
/// place either way.
#[derive(Clone)]
pub struct StepSeries {
    pub(super) records: Vec<StepRecord>,
    pub(super) names: Vec<String>,
    /// The file the records were streamed to, and its rows (then `records` is
    /// empty).
    pub(super) written: Option<(PathBuf, usize)>,
    /// The most rows held in memory at once while recording.
    pub(super) peak_held: usize,
    /// The market funds' series (`market_fund_steps/v1`), recorded alongside.
    pub(super) funds: FundSteps,
}

impl std::fmt::Debug for StepSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepSeries")
            .field("rows", &self.len())
            .field("markets", &self.names)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl StepSeries {
    /// Number of rows (steps × markets).
    #[must_use]
    pub fn len(&self) -> usize {
        self.written.as_ref().map_or(self.records.len(), |w| w.1)
    }

    /// Whether no step was recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The per-step series of each market's own fund (empty without one).
    #[must_use]
    pub fn market_fund_steps(&self) -> &FundSteps {
        &self.funds
    }

    /// The file the series was streamed to while the path ran, if it was.
    #[must_use]
    pub fn streamed_to(&self) -> Option<&Path> {
        self.written.as_ref().map(|w| w.0.as_path())
    }

    /// The most rows of the series held in memory at once while the path ran
    /// (with the market funds' rows, [`StepSeries::market_fund_steps`]): every
    /// row when held, at most a row group (plus one step) of each when
    /// streamed.
    #[must_use]
    pub fn peak_rows_held(&self) -> usize {
        self.peak_held
    }

    /// The whole `steps/v1` table (read back from its file when streamed).
    ///
    /// # Errors
    /// [`DataError`] if a streamed file cannot be read back.
    pub fn table(&self) -> Result<StepsTable, DataError> {
        if let Some((path, _)) = &self.written {
            return backstop_data::read_steps(path);
        }
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        Ok(steps_table(&self.records, &names))
    }

    /// Writes the `steps/v1` file at `path` (atomically, byte-identical to
    /// writing [`StepSeries::table`]) holding one row group of rows at a time;
    /// a series streamed to `path` is already there, one streamed elsewhere is
    /// copied.
    ///
    /// # Errors
    /// [`backstop_data::DataError`] if the file cannot be written.
    pub fn write(
        &self,
        path: &std::path::Path,
        metadata: &[(String, String)],
    ) -> Result<(), backstop_data::DataError> {
        if let Some((from, _)) = &self.written {
            return backstop_data::results::chunked::place(from, path);
        }
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        backstop_data::write_steps_chunked(path, self.records.len(), metadata, |range| {
            steps_table(&self.records[range], &names)
        })
    }

    /// The record batches [`StepSeries::write`] writes to `path`, in memory
    /// (the same chunks, built by the same code), with the file's metadata.
    ///
    /// # Errors
    /// [`backstop_data::DataError`] if a row breaks the schema's rules.
    pub fn batches(
        &self,
        path: &std::path::Path,
        metadata: &[(String, String)],
    ) -> Result<backstop_data::TableBatches, backstop_data::DataError> {
        if self.written.is_some() {
            return backstop_data::steps_batches(path, &self.table()?, metadata);
        }
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        backstop_data::steps_batches_chunked(path, self.records.len(), metadata, |range| {
            steps_table(&self.records[range], &names)
        })
    }
}

/// Where path 0's per-step records go as the path runs: held whole (the
/// library's in-memory runs), or streamed to a `steps/v1` file one row group
/// of [`MAX_ROW_GROUP_ROWS`] rows at a time, so a run's memory does not grow
/// with its steps.
pub(super) struct StepSink {
    records: Vec<StepRecord>,
    names: Vec<String>,
    writer: Option<RowGroupWriter<StepsTable>>,
    /// The first write error: recording stops there and [`StepSink::finish`]
    /// returns it.
    error: Option<DataError>,
    step: u32,
    peak_held: usize,
    /// The market funds' rows, recorded at each step beside these.
    funds: Option<FundStepSink>,
}

impl StepSink {
    /// A sink that holds every record (room for `capacity` rows).
    pub(super) fn held(names: Vec<String>, capacity: usize) -> StepSink {
        StepSink {
            records: Vec::with_capacity(capacity),
            names,
            writer: None,
            error: None,
            step: 0,
            peak_held: 0,
            funds: None,
        }
    }

    /// A sink that streams the records to the `steps/v1` file `path` (with
    /// `metadata`), in place once [`StepSink::finish`] returns.
    ///
    /// # Errors
    /// The file cannot be started.
    pub(super) fn streamed(
        path: &Path,
        metadata: &[(String, String)],
        names: Vec<String>,
    ) -> Result<StepSink, DataError> {
        Ok(StepSink {
            records: Vec::with_capacity(MAX_ROW_GROUP_ROWS + names.len()),
            writer: Some(RowGroupWriter::create(path, metadata)?),
            names,
            error: None,
            step: 0,
            peak_held: 0,
            funds: None,
        })
    }

    /// Whether the market funds' last recorded figures are `funds`, the
    /// path's end figures (no market fund: trivially).
    pub(super) fn funds_agree(&self, funds: &[super::metrics::MarketFundMetrics]) -> bool {
        self.funds.as_ref().is_none_or(|f| f.agrees_with(funds))
    }

    /// The sink that records the market funds' series beside these.
    pub(super) fn with_funds(mut self, funds: FundStepSink) -> StepSink {
        self.funds = Some(funds);
        self
    }

    /// Records the step `engine` just ran (at `ts_ns`, path prices
    /// `path_prices`); streams a row group once one is full.
    pub(super) fn record(&mut self, engine: &Engine, ts_ns: i64, path_prices: &[f64]) {
        record_step(engine, self.step, ts_ns, path_prices, &mut self.records);
        let fund_rows = self.funds.as_mut().map_or(0, |f| {
            f.record(engine, self.step, ts_ns);
            f.held()
        });
        self.step += 1;
        self.peak_held = self.peak_held.max(self.records.len() + fund_rows);
        if self.records.len() >= MAX_ROW_GROUP_ROWS && self.writer.is_some() {
            self.flush(MAX_ROW_GROUP_ROWS);
        }
    }

    /// Writes the first `rows` held records as one row group.
    fn flush(&mut self, rows: usize) {
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        if self.error.is_none() {
            let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
            let table = steps_table(&self.records[..rows], &names);
            if let Err(e) = writer.write(&table) {
                self.error = Some(e);
            }
        }
        self.records.drain(..rows);
    }

    /// The recorded series: held, or written (the last row group flushed and
    /// the file renamed into place).
    ///
    /// # Errors
    /// The first error writing the file.
    pub(super) fn finish(mut self) -> Result<StepSeries, DataError> {
        if self.writer.is_some() && !self.records.is_empty() {
            self.flush(self.records.len());
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let written = match self.writer.take() {
            Some(writer) => {
                let (path, rows) = (writer.path().to_owned(), writer.rows());
                writer.finish()?;
                Some((path, rows))
            }
            None => None,
        };
        let funds = match self.funds.take() {
            Some(f) => f.finish()?,
            None => FundSteps::default(),
        };
        Ok(StepSeries {
            records: self.records,
            names: self.names,
            written,
            peak_held: self.peak_held,
            funds,
        })
    }
}

/// The band series of one path: `values[t × width + k]` is series `k` at step `t`
/// (venue-wide series first, then per market, see [`band_layout`]).
#[derive(Clone)]
pub(super) struct BandRows {
    pub(super) ts_ns: Vec<i64>,
    pub(super) values: Vec<f64>,
}

/// (series, market index) of each band column: venue-wide series, then each
/// per-market series for every market; the vault's equity only when the run
/// has a vault (`vault`), a market fund's balance only for the markets with
/// one (`funded`, market indices).
pub(super) fn band_layout(
    markets: usize,
    vault: bool,
    funded: &[usize],
) -> Vec<(BandSeries, Option<usize>)> {
    let mut v: Vec<_> = BandSeries::ALL
        .iter()
        .filter(|s| !s.per_market() && (vault || **s != BandSeries::VaultEquity))
        .map(|s| (*s, None))
        .collect();
    for m in 0..markets {
        v.extend(
            BandSeries::ALL
                .iter()
                .filter(|s| {
                    s.per_market() && (**s != BandSeries::MarketFund || funded.contains(&m))
                })
                .map(|s| (*s, Some(m))),
        );
    }
    v
}

/// Running sums of one path that band series need.
#[derive(Default)]
pub(super) struct BandTotals {
    bad_debt: Micros,
    socialized: Micros,
}

/// Appends the band values of the step `engine` just ran, in `layout` order.
pub(super) fn record_bands(
    engine: &Engine,
    layout: &[(BandSeries, Option<usize>)],
    totals: &mut BandTotals,
    values: &mut Vec<f64>,
) {
    let v = engine.venue_flows();
    totals.bad_debt += v.bad_debt;
    totals.socialized += v.socialized_loss;
    let flows = engine.market_flows();
    let fund = engine.insurance_fund().balance().to_usd();
    // One reservation for the step's values (`layout`'s length is exact).
    values.extend(layout.iter().map(|(series, market)| {
        let f = market.and_then(|m| flows.get(m));
        match (series, f) {
            (BandSeries::InsuranceFund, _) => fund,
            (BandSeries::BadDebt, _) => totals.bad_debt.to_usd(),
            (BandSeries::SocializedLoss, _) => totals.socialized.to_usd(),
            (BandSeries::Mark, _) => engine.mark_price(market.unwrap_or(0) as u16),
            (BandSeries::LiquidatedLongNotional, Some(f)) => f.liquidated_long.to_usd(),
            (BandSeries::LiquidatedShortNotional, Some(f)) => f.liquidated_short.to_usd(),
            (BandSeries::AdlNotional, Some(f)) => f.adl_notional.to_usd(),
            (BandSeries::VaultEquity, _) => engine.vault_equity().to_usd(),
            (BandSeries::MarketFund, Some(_)) => market
                .and_then(|m| engine.market_fund(m as u16))
                .map_or(0.0, |f| f.balance().to_usd()),
            (_, None) => 0.0,
        }
    }));
}

/// The band values of every path, folded chunk by chunk: when every value fits
/// in memory ([`super::limits::bands_exact`]) each path's values are kept as they
/// are (8 bytes a value, less the zeros: [`PackedValues`]) and each step's
/// quantiles are computed when its band row is written; otherwise one bucketed
/// sketch per step and column.
#[derive(Clone)]
pub(super) struct BandSketches {
    width: usize,
    exact_limit: usize,
    /// Exact mode: every path's values, in path order (`BandRows::values`,
    /// packed: the `+0.0`s left out, `run/packed.rs`).
    exact: Option<Vec<PackedValues>>,
    /// Sketch mode: per step, one sketch per column.
    sketches: Vec<Vec<QuantileSketch>>,
    ts_ns: Vec<i64>,
}

impl BandSketches {
    /// Empty sketches for `width` columns of a run of `paths` paths and
    /// `steps` steps: exact when every value fits in memory
    /// ([`super::limits::bands_exact`]).
    pub(super) fn new(width: usize, paths: u64, steps: u64) -> BandSketches {
        let exact = super::limits::bands_exact(paths, steps, width as u64);
        BandSketches {
            width,
            exact_limit: if exact {
                usize::try_from(paths).unwrap_or(usize::MAX)
            } else {
                super::aggregate::sketch::EXACT_LIMIT
            },
            exact: exact.then(Vec::new),
            sketches: Vec::new(),
            ts_ns: Vec::new(),
        }
    }

    /// Makes room for a path of `rows`' length (steps are added as paths grow).
    pub(super) fn grow_to(&mut self, rows: &BandRows) {
        let steps = rows.ts_ns.len();
        if steps > self.ts_ns.len() {
            self.ts_ns
                .extend_from_slice(&rows.ts_ns[self.ts_ns.len()..]);
        }
        if self.exact.is_none() && steps > self.sketches.len() {
            let (width, limit) = (self.width, self.exact_limit);
            self.sketches.resize_with(steps, || {
                vec![QuantileSketch::with_exact_limit(limit); width]
            });
        }
    }

    /// Folds a chunk of paths' values in, in path order. Exact: the values are
    /// kept. Sketches: step by step in parallel (each step's sketches are
    /// independent); within a step, in path order, so the sketches are the same
    /// for any thread count.
    pub(super) fn insert(&mut self, chunk: Vec<BandRows>) {
        if let Some(all) = &mut self.exact {
            // Packed on the pool, gathered in path order.
            let packed: Vec<PackedValues> = chunk
                .into_par_iter()
                .map(|rows| PackedValues::pack(&rows.values))
                .collect();
            all.extend(packed);
            return;
        }
        let width = self.width;
        self.sketches
            .par_iter_mut()
            .enumerate()
            .for_each(|(t, step)| {
                for rows in &chunk {
                    if let Some(row) = rows.values.get(t * width..(t + 1) * width) {
                        for (sketch, &v) in step.iter_mut().zip(row) {
                            sketch.insert(v);
                        }
                    }
                }
            });
    }

    /// Whether every path's values are kept (exact quantiles), not sketched.
    pub(super) fn is_exact(&self) -> bool {
        self.exact.is_some()
    }

    /// Appends the next path's values (in path order), packed beforehand:
    /// [`BandSketches::insert`] of that path alone, off the pool. Exact mode
    /// only: `false`, nothing kept, when sketching.
    pub(super) fn push_packed(&mut self, packed: PackedValues) -> bool {
        match &mut self.exact {
            Some(all) => {
                all.push(packed);
                true
            }
            None => false,
        }
    }

    /// The largest relative error of a band quantile: 0 when every sketch kept
    /// its values (exact quantiles), else [`RELATIVE_ACCURACY`] (each quantile
    /// within that fraction of a value of the right rank).
    pub(super) fn relative_error(&self) -> f64 {
        if self.exact.is_some() || self.sketches.iter().flatten().all(QuantileSketch::is_exact) {
            0.0
        } else {
            RELATIVE_ACCURACY
        }
    }

    /// Number of rows of the `bands/v1` table: one per step and column.
    pub(super) fn rows(&self) -> usize {
        self.ts_ns.len() * self.width
    }

    /// The figures of rows `rows`, in order (row `t × width + k` is column
    /// `k` at step `t`). Exact: each row's values across paths go into a
    /// sketch of `scratch` ([`BandSketches::insert_sparse`], or
    /// [`BandSketches::insert_dense`] when a value is `-0.0`); a path shorter
    /// than a row's step has no value there. Sketches: each row's sketch.
    fn block_rows(&self, rows: std::ops::Range<usize>, scratch: &mut RowScratch) -> Vec<BandRow> {
        match &self.exact {
            Some(all) => {
                let limit = self.exact_limit;
                let sketches = &mut scratch.sketches;
                if sketches.len() < rows.len() {
                    sketches.resize_with(rows.len(), || QuantileSketch::with_exact_limit(limit));
                }
                let sketches = &mut sketches[..rows.len()];
                sketches.iter_mut().for_each(QuantileSketch::clear);
                if !self.insert_sparse(
                    all,
                    rows.clone(),
                    sketches,
                    &mut scratch.counts,
                    &mut scratch.columns,
                ) {
                    sketches.iter_mut().for_each(QuantileSketch::clear);
                    self.insert_dense(all, rows, sketches, &mut scratch.unpacked);
                }
                sketches.iter_mut().map(BandRow::of_in_place).collect()
            }
            None => rows
                .map(|i| {
                    BandRow::of(
                        &self.sketches[i / self.width][i % self.width],
                        &mut scratch.values,
                    )
                })
                .collect(),
        }
    }

    /// Each path's values of `rows` inserted into `sketches` (one a row) in
    /// path order, path by path for the whole block (a path's values of the
    /// block are contiguous): the sketches as the rows' values inserted as
    /// they came.
    fn insert_dense(
        &self,
        all: &[PackedValues],
        rows: std::ops::Range<usize>,
        sketches: &mut [QuantileSketch],
        unpacked: &mut Vec<f64>,
    ) {
        unpacked.resize(rows.len(), 0.0);
        for path in all {
            // Only the path's whole steps (a row needs its step).
            let end = rows.end.min(path.len() - path.len() % self.width);
            if rows.start < end {
                let kept = &mut unpacked[..end - rows.start];
                path.unpack_into(rows.start, kept);
                for (sketch, &v) in sketches.iter_mut().zip(kept.iter()) {
                    sketch.insert(v);
                }
            }
        }
    }

    /// As [`BandSketches::insert_dense`], the `+0.0`s left out until the end:
    /// each path's kept values of `rows` (most band values are zero) go into
    /// their row's sketch, then each row's zeros at once
    /// ([`QuantileSketch::insert_zeros`]: the paths with the row less its kept
    /// values; sorted among the kept values when these are few,
    /// [`SPARSE_ROW`]); a row's kept values are gathered first and inserted
    /// at once ([`QuantileSketch::insert_slice`]). The sketches differ from
    /// [`BandSketches::insert_dense`]'s only in the order of their values,
    /// and no figure of a row depends on it: the quantiles select by
    /// `total_cmp` (a rank's value is unique), the sum is an integer, and the
    /// minimum and maximum are the same unless `+0.0` meets `-0.0` (equal,
    /// with different bits; non-finite values are not inserted). So a `-0.0`
    /// stops it: returns `false`, the sketches partly filled. `counts` and
    /// `columns` are working memory.
    fn insert_sparse(
        &self,
        all: &[PackedValues],
        rows: std::ops::Range<usize>,
        sketches: &mut [QuantileSketch],
        counts: &mut Vec<(usize, usize)>,
        columns: &mut Vec<Vec<f64>>,
    ) -> bool {
        // Per row: (paths whose last row is that one, kept values), and the
        // kept values in path order.
        counts.clear();
        counts.resize(rows.len(), (0, 0));
        if columns.len() < rows.len() {
            columns.resize_with(rows.len(), Vec::new);
        }
        let columns = &mut columns[..rows.len()];
        columns.iter_mut().for_each(Vec::clear);
        for path in all {
            let end = rows.end.min(path.len() - path.len() % self.width);
            if rows.start >= end {
                continue;
            }
            counts[end - rows.start - 1].0 += 1;
            let mut negative_zero = false;
            path.for_each_kept(rows.start, end, |j, v| {
                negative_zero |= v.to_bits() == (-0.0f64).to_bits();
                columns[j].push(v);
            });
            if negative_zero {
                return false;
            }
        }
        for ((sketch, column), count) in sketches.iter_mut().zip(&*columns).zip(counts.iter_mut()) {
            sketch.insert_slice(column);
            count.1 = column.len();
        }
        let mut paths = 0;
        for (sketch, &(last, kept)) in sketches.iter_mut().zip(counts.iter()).rev() {
            paths += last;
            // A few values among many zeros: sorted now, not selected later.
            if kept * SPARSE_ROW <= paths {
                sketch.insert_zeros_sorted(paths - kept);
            } else {
                sketch.insert_zeros(paths - kept);
            }
        }
        true
    }

    /// Rows `range` of the `bands/v1` table (row `t × width + k` is column `k`
    /// at step `t`); `names` are the markets'. The rows' figures are computed
    /// in parallel, in blocks of [`STEPS_PER_TASK`] steps' rows, and gathered
    /// in row order: the same table for any number of threads.
    pub(super) fn table_rows(
        &self,
        layout: &[(BandSeries, Option<usize>)],
        names: &[&str],
        range: std::ops::Range<usize>,
    ) -> BandsTable {
        let block = STEPS_PER_TASK * self.width.max(1);
        // At most `BLOCKS_PER_TASK` blocks a task: rayon's default splits
        // the blocks into about four runs on two threads, and a thread that
        // finishes its runs cannot take over part of another's.
        let blocks: Vec<Vec<BandRow>> = (0..range.len().div_ceil(block))
            .into_par_iter()
            .with_max_len(BLOCKS_PER_TASK)
            .map_init(RowScratch::default, |scratch, b| {
                let start = range.start + b * block;
                self.block_rows(start..(start + block).min(range.end), scratch)
            })
            .collect();
        let mut bands = BandsTable::default();
        self.push_rows(
            &mut bands,
            range.start,
            blocks.iter().flatten(),
            layout,
            names,
        );
        bands
    }

    /// Appends `rows` to `table`, the first of them row `first` of the
    /// whole table (its step, timestamp and series from its place).
    fn push_rows<'r>(
        &self,
        table: &mut BandsTable,
        first: usize,
        rows: impl IntoIterator<Item = &'r BandRow>,
        layout: &[(BandSeries, Option<usize>)],
        names: &[&str],
    ) {
        for (i, row) in (first..).zip(rows) {
            let t = i / self.width;
            push_band_row(table, t, self.ts_ns[t], layout[i % self.width], names, row);
        }
    }

    /// [`BandSketches::table_rows`] on `pool`, called from a thread that is
    /// not one of its workers, each task's rows ([`BLOCKS_PER_TASK`] blocks)
    /// handed to `piece` on the calling thread, in row order, as soon as they
    /// and every row before them are computed, while the workers compute the
    /// rest: so what the caller does with the rows (the report's fold of
    /// them, `src/commands/run.rs`) runs beside their computation rather
    /// than after its last row (docs/performance.md, "Two threads, round
    /// 12"). The workers take the tasks in row order (an atomic counter), so
    /// they finish nearly in order. Returns the same table as
    /// [`BandSketches::table_rows`], the pieces one after another.
    pub(super) fn table_rows_in_pieces(
        &self,
        layout: &[(BandSeries, Option<usize>)],
        names: &[&str],
        range: std::ops::Range<usize>,
        pool: &rayon::ThreadPool,
        piece: &mut (dyn FnMut(&BandsTable) + Send),
    ) -> BandsTable {
        debug_assert!(
            pool.current_thread_index().is_none(),
            "Invariant: the pieces are taken on a thread that is not the pool's"
        );
        let block = STEPS_PER_TASK * self.width.max(1);
        let task = block * BLOCKS_PER_TASK;
        let tasks = range.len().div_ceil(task);
        let taken = std::sync::atomic::AtomicUsize::new(0);
        let (send, receive) = std::sync::mpsc::channel::<(usize, Vec<BandRow>)>();
        let mut bands = BandsTable::default();
        pool.in_place_scope(|scope| {
            for _ in 0..pool.current_num_threads().min(tasks) {
                let (send, taken, range) = (send.clone(), &taken, range.clone());
                scope.spawn(move |_| {
                    let mut scratch = RowScratch::default();
                    loop {
                        let k = taken.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if k >= tasks {
                            return;
                        }
                        let start = range.start + k * task;
                        let end = (start + task).min(range.end);
                        let mut rows = Vec::with_capacity(end - start);
                        for b in (start..end).step_by(block) {
                            rows.extend(self.block_rows(b..(b + block).min(end), &mut scratch));
                        }
                        // The receiver is gone only when the caller panicked.
                        if send.send((k, rows)).is_err() {
                            return;
                        }
                    }
                });
            }
            // Only the workers' senders left: the channel ends with them
            // (a worker's panic included, resumed by the scope).
            drop(send);
            let mut waiting: Vec<Option<Vec<BandRow>>> = (0..tasks).map(|_| None).collect();
            let mut next = 0;
            for (k, rows) in receive {
                waiting[k] = Some(rows);
                while let Some(rows) = waiting.get_mut(next).and_then(Option::take) {
                    let first = range.start + next * task;
                    let mut part = BandsTable::default();
                    self.push_rows(&mut part, first, &rows, layout, names);
                    piece(&part);
                    append_band_rows(&mut bands, part);
                    next += 1;
                }
            }
        });
        bands
    }

    /// The whole `bands/v1` table; `names` are the markets'.
    pub(super) fn table(
        &self,
        layout: &[(BandSeries, Option<usize>)],
        names: &[&str],
    ) -> BandsTable {
        self.table_rows(layout, names, 0..self.rows())
    }
}

/// Steps whose band rows one parallel task computes (enough work to outweigh a
/// task, few enough to share a 1,440-step run's rows among the threads; a
/// block's values of one path are a few cache lines).
const STEPS_PER_TASK: usize = 8;

/// Blocks of [`STEPS_PER_TASK`] steps that one task computes at most, with one
/// scratch (a 1,440-step run's 180 blocks are 45 tasks).
const BLOCKS_PER_TASK: usize = 4;

/// A band row with at most one value in this many that is not `+0.0` has its
/// values sorted as its zeros go in ([`QuantileSketch::insert_zeros_sorted`]):
/// sorting the few values costs less than selecting among them all.
const SPARSE_ROW: usize = 8;

/// The figures of one band row across paths.
struct BandRow {
    /// At [`backstop_data::BAND_QUANTILES`].
    quantiles: [f64; backstop_data::BAND_QUANTILES.len()],
    mean: f64,
    min: f64,
    max: f64,
}

impl BandRow {
    /// The figures of `sketch`, the quantiles selected among its kept values
    /// where they are ([`QuantileSketch::quantiles_in_place`]).
    fn of_in_place(sketch: &mut QuantileSketch) -> BandRow {
        BandRow {
            quantiles: sketch.quantiles_in_place(backstop_data::BAND_QUANTILES.map(|(_, q)| q)),
            mean: sketch.mean(),
            min: sketch.min(),
            max: sketch.max(),
        }
    }

    /// The figures of `sketch`; `scratch` is the quantiles' working memory.
    fn of(sketch: &QuantileSketch, scratch: &mut Vec<f64>) -> BandRow {
        BandRow {
            quantiles: sketch
                .quantiles_with(backstop_data::BAND_QUANTILES.map(|(_, q)| q), scratch),
            mean: sketch.mean(),
            min: sketch.min(),
            max: sketch.max(),
        }
    }
}

/// A worker's memory for band rows, reused from block to block: a block's
/// sketches of the kept values (exact mode), the quantiles' working copy, a
/// path's values of the block and the rows' counts.
#[derive(Default)]
struct RowScratch {
    sketches: Vec<QuantileSketch>,
    values: Vec<f64>,
    /// A path's values of the block, unpacked.
    unpacked: Vec<f64>,
    /// Per row of the block: the paths that end there and the kept values.
    counts: Vec<(usize, usize)>,
    /// Per row of the block: its kept values, in path order.
    columns: Vec<Vec<f64>>,
}

/// Appends the `bands/v1` row of column `column` at step `t` (time `ts_ns`)
/// from its figures across paths.
fn push_band_row(
    bands: &mut BandsTable,
    t: usize,
    ts_ns: i64,
    column: (BandSeries, Option<usize>),
    names: &[&str],
    row: &BandRow,
) {
    let (series, market) = column;
    bands.step.push(t as u32);
    bands.ts_ns.push(ts_ns);
    bands
        .market
        .push(market.map_or(String::new(), |m| names[m].to_string()));
    bands.series.push(series.name().to_string());
    for (column, &v) in bands.quantiles.iter_mut().zip(&row.quantiles) {
        column.push(v);
    }
    bands.mean.push(row.mean);
    bands.min.push(row.min);
    bands.max.push(row.max);
}

/// Moves every row of `part` to the end of `bands`.
fn append_band_rows(bands: &mut BandsTable, part: BandsTable) {
    // Every field named: a column added to the table must be added here.
    let BandsTable {
        mut step,
        mut ts_ns,
        mut market,
        mut series,
        mut quantiles,
        mut mean,
        mut min,
        mut max,
    } = part;
    bands.step.append(&mut step);
    bands.ts_ns.append(&mut ts_ns);
    bands.market.append(&mut market);
    bands.series.append(&mut series);
    for (column, from) in bands.quantiles.iter_mut().zip(&mut quantiles) {
        column.append(from);
    }
    bands.mean.append(&mut mean);
    bands.min.append(&mut min);
    bands.max.append(&mut max);
}

/// The bands of a one-path run streamed to their `bands/v1` file as the path
/// runs (each step's quantiles across one path are that path's values): the
/// file is the one [`Bands::write`] writes from [`BandSketches`] of that path,
/// one row group of [`MAX_ROW_GROUP_ROWS`] rows at a time.
pub(super) struct BandSink {
    layout: Vec<(BandSeries, Option<usize>)>,
    names: Vec<String>,
    /// The exact limit of each value's sketch, as [`BandSketches::new`] of one
    /// path gives it.
    exact_limit: usize,
    writer: RowGroupWriter<BandsTable>,
    totals: BandTotals,
    /// Values not yet written, in row order, from file row `first_row`.
    values: Vec<f64>,
    /// The time of each step of `values` (from step `first_row / width`).
    ts_ns: Vec<i64>,
    first_row: usize,
    error: Option<DataError>,
    relative_error: f64,
}

impl BandSink {
    /// A sink for the bands of one path of `steps` steps, streamed to `path`
    /// with `metadata`.
    ///
    /// # Errors
    /// The file cannot be started.
    pub(super) fn create(
        path: &Path,
        metadata: &[(String, String)],
        layout: Vec<(BandSeries, Option<usize>)>,
        names: Vec<String>,
        steps: u64,
    ) -> Result<BandSink, DataError> {
        let exact = super::limits::bands_exact(1, steps, layout.len() as u64);
        Ok(BandSink {
            exact_limit: if exact {
                1
            } else {
                super::aggregate::sketch::EXACT_LIMIT
            },
            writer: RowGroupWriter::create(path, metadata)?,
            values: Vec::with_capacity(MAX_ROW_GROUP_ROWS + layout.len()),
            ts_ns: Vec::new(),
            layout,
            names,
            totals: BandTotals::default(),
            first_row: 0,
            error: None,
            relative_error: 0.0,
        })
    }

    /// Records the band values of the step `engine` just ran (at `ts_ns`);
    /// streams a row group once one is full.
    pub(super) fn record(&mut self, engine: &Engine, ts_ns: i64) {
        record_bands(engine, &self.layout, &mut self.totals, &mut self.values);
        self.ts_ns.push(ts_ns);
        if self.values.len() >= MAX_ROW_GROUP_ROWS {
            self.flush(MAX_ROW_GROUP_ROWS);
        }
    }

    /// Writes the first `rows` held values as one row group.
    fn flush(&mut self, rows: usize) {
        let width = self.layout.len();
        if self.error.is_none() {
            let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
            let first_step = self.first_row / width;
            let mut table = BandsTable::default();
            let mut sketch = QuantileSketch::with_exact_limit(self.exact_limit);
            let mut scratch = Vec::new();
            for (j, &v) in self.values[..rows].iter().enumerate() {
                let i = self.first_row + j;
                let (t, k) = (i / width, i % width);
                sketch.clear();
                sketch.insert(v);
                if !sketch.is_exact() {
                    self.relative_error = RELATIVE_ACCURACY;
                }
                let row = BandRow::of(&sketch, &mut scratch);
                let ts = self.ts_ns[t - first_step];
                push_band_row(&mut table, t, ts, self.layout[k], &names, &row);
            }
            if let Err(e) = self.writer.write(&table) {
                self.error = Some(e);
            }
        }
        self.values.drain(..rows);
        self.first_row += rows;
        // Keep the times of the steps still (partly) held.
        let done_steps = self.first_row / width - (self.first_row - rows) / width;
        self.ts_ns.drain(..done_steps.min(self.ts_ns.len()));
    }

    /// The bands, written (the last row group flushed and the file renamed
    /// into place).
    ///
    /// # Errors
    /// The first error writing the file.
    pub(super) fn finish(mut self) -> Result<Bands, DataError> {
        if !self.values.is_empty() || self.first_row == 0 {
            self.flush(self.values.len());
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let width = self.layout.len();
        let path = self.writer.path().to_owned();
        let rows = self.writer.rows();
        self.writer.finish()?;
        Ok(Bands {
            sketches: BandSketches::new(width, 1, 0),
            layout: self.layout,
            names: self.names,
            written: Some((path, rows, self.relative_error)),
        })
    }
}

/// The per-step quantile bands of a run, held as folded values rather than as
/// the table: [`Bands::write`] streams the `bands/v1` file chunk by chunk (one
/// row group at a time) and [`Bands::table`] builds it whole.
#[derive(Clone)]
pub struct Bands {
    pub(super) sketches: BandSketches,
    pub(super) layout: Vec<(BandSeries, Option<usize>)>,
    pub(super) names: Vec<String>,
    /// The file a one-path run streamed its bands to, its rows and the largest
    /// relative error of a quantile (then `sketches` is empty).
    pub(super) written: Option<(PathBuf, usize, f64)>,
}

impl std::fmt::Debug for Bands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bands")
            .field(
                "rows",
                &self.written.as_ref().map_or(self.sketches.rows(), |w| w.1),
            )
            .field("markets", &self.names)
            .finish_non_exhaustive()
    }
}

impl Bands {
    /// The whole `bands/v1` table (one row per step and band column), read
    /// back from its file when streamed.
    ///
    /// # Errors
    /// [`DataError`] if a streamed file cannot be read back.
    pub fn table(&self) -> Result<BandsTable, DataError> {
        if let Some((path, ..)) = &self.written {
            return backstop_data::read_bands(path);
        }
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        Ok(self.sketches.table(&self.layout, &names))
    }

    /// The file a one-path run streamed its bands to while it ran, if it did.
    #[must_use]
    pub fn streamed_to(&self) -> Option<&Path> {
        self.written.as_ref().map(|w| w.0.as_path())
    }

    /// Writes the `bands/v1` file at `path` (atomically, byte-identical to
    /// writing [`Bands::table`]) holding one row group of rows at a time; bands
    /// streamed to `path` are already there, streamed elsewhere are copied.
    ///
    /// # Errors
    /// [`backstop_data::DataError`] if the file cannot be written.
    pub fn write(
        &self,
        path: &std::path::Path,
        metadata: &[(String, String)],
    ) -> Result<(), backstop_data::DataError> {
        if let Some((from, ..)) = &self.written {
            return backstop_data::results::chunked::place(from, path);
        }
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        backstop_data::write_bands_chunked(path, self.sketches.rows(), metadata, |range| {
            self.sketches.table_rows(&self.layout, &names, range)
        })
    }

    /// The record batches [`Bands::write`] writes to `path`, in memory (the
    /// same chunks, built by the same code), with the file's metadata.
    ///
    /// # Errors
    /// [`backstop_data::DataError`] if a row breaks the schema's rules.
    pub fn batches(
        &self,
        path: &std::path::Path,
        metadata: &[(String, String)],
    ) -> Result<backstop_data::TableBatches, backstop_data::DataError> {
        if self.written.is_some() {
            return backstop_data::bands_batches(path, &self.table()?, metadata);
        }
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        backstop_data::bands_batches_chunked(path, self.sketches.rows(), metadata, |range| {
            self.sketches.table_rows(&self.layout, &names, range)
        })
    }

    /// The largest relative error of a band quantile (0: exact).
    #[must_use]
    pub fn relative_error(&self) -> f64 {
        self.written
            .as_ref()
            .map_or_else(|| self.sketches.relative_error(), |w| w.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::aggregate::quantile::quantile_sorted;

    /// `paths` paths of `steps` steps and two columns, values spread around a
    /// price level like a mark's first steps (where 0.5%-wide buckets would
    /// merge every quantile into one).
    fn rows(paths: usize, steps: usize) -> Vec<BandRows> {
        (0..paths)
            .map(|p| BandRows {
                ts_ns: (0..steps as i64).collect(),
                values: (0..steps)
                    .flat_map(|t| {
                        let x = ((p * 7 + t * 13) as f64 * 0.618_033_988_75).fract() - 0.5;
                        [100_000.0 * (1.0 + 0.001 * x), 1_000.0 * x]
                    })
                    .collect(),
            })
            .collect()
    }

    fn bands(sketches: &BandSketches) -> BandsTable {
        let layout = [(BandSeries::Mark, Some(0)), (BandSeries::BadDebt, None)];
        sketches.table(&layout, &["btc"])
    }

    #[test]
    fn bands_are_exact_quantiles_when_they_fit_in_memory() {
        let (paths, steps) = (300, 3);
        let all = rows(paths, steps);
        let mut s = BandSketches::new(2, paths as u64, steps as u64);
        for chunk in all.chunks(64) {
            s.grow_to(&chunk[0]);
            s.insert(chunk.to_vec());
        }
        assert_eq!(s.relative_error(), 0.0);
        let table = bands(&s);
        for t in 0..steps {
            for k in 0..2 {
                let mut v: Vec<f64> = all.iter().map(|r| r.values[t * 2 + k]).collect();
                v.sort_by(f64::total_cmp);
                for (column, (_, q)) in table.quantiles.iter().zip(backstop_data::BAND_QUANTILES) {
                    assert_eq!(
                        column[t * 2 + k],
                        quantile_sorted(&v, q),
                        "step {t} column {k} q {q}"
                    );
                }
            }
        }
        // The mark's p1 and p99 at step 0 differ (0.1% apart): buckets 1% wide
        // would have made them one value.
        assert!(table.quantiles[0][0] < table.quantiles[6][0]);
    }

    #[test]
    fn bands_beyond_the_memory_budget_state_their_error_and_keep_it() {
        let (paths, steps) = (300, 3);
        let all = rows(paths, steps);
        // As if the run were too large to keep every value.
        let mut s = BandSketches::new(2, u64::MAX / 16, steps as u64);
        s.grow_to(&all[0]);
        s.insert(all.clone());
        assert_eq!(s.relative_error(), RELATIVE_ACCURACY);
        let table = bands(&s);
        for t in 0..steps {
            let mut v: Vec<f64> = all.iter().map(|r| r.values[t * 2]).collect();
            v.sort_by(f64::total_cmp);
            for (column, (_, q)) in table.quantiles.iter().zip(backstop_data::BAND_QUANTILES) {
                let want = quantile_sorted(&v, q);
                let got = column[t * 2];
                assert!(
                    (got - want).abs() <= RELATIVE_ACCURACY * want.abs() * 1.01,
                    "{got} vs {want}"
                );
            }
        }
    }

    /// Every figure of `table`'s rows, as bits (tables compared bit for bit).
    fn bits(table: &BandsTable) -> Vec<Vec<u64>> {
        let mut columns: Vec<&Vec<f64>> = table.quantiles.iter().collect();
        columns.extend([&table.mean, &table.min, &table.max]);
        columns
            .iter()
            .map(|c| c.iter().map(|v| v.to_bits()).collect())
            .collect()
    }

    #[test]
    fn rows_in_parallel_blocks_are_the_row_by_row_sketches_bit_for_bit() {
        let (paths, steps) = (150, 40);
        let mut all = rows(paths, steps);
        // Paths that end early (at whole steps), and ties.
        for (p, r) in all.iter_mut().enumerate() {
            let keep = steps - (p % 5) * 3;
            r.ts_ns.truncate(keep);
            r.values.truncate(keep * 2);
            if p % 4 == 1 {
                r.values.iter_mut().for_each(|v| *v = (*v * 0.01).round());
            }
        }
        assert_blocks_are_row_by_row(&all, paths, steps);
    }

    /// Mostly `+0.0` (the kept values and the zeros inserted apart), with
    /// rows of zeros only, rows with one kept value, NaN and infinities, and
    /// in one run a `-0.0` (the sketches then filled value by value).
    #[test]
    fn sparse_rows_are_the_row_by_row_sketches_bit_for_bit() {
        let (paths, steps) = (150, 40);
        for negative_zero in [false, true] {
            let mut all = rows(paths, steps);
            for (p, r) in all.iter_mut().enumerate() {
                let keep = steps - (p % 7) * 2;
                r.ts_ns.truncate(keep);
                r.values.truncate(keep * 2);
                for (i, v) in r.values.iter_mut().enumerate() {
                    let h = (i * 37 + p * 11) % 23;
                    *v = match (i / 2) % 5 {
                        0 => 0.0,
                        1 if p != 3 => 0.0,
                        _ if h < 17 => 0.0,
                        _ if h == 17 => f64::NAN,
                        _ if h == 18 => f64::INFINITY,
                        _ if h == 19 && negative_zero && p == 40 => -0.0,
                        _ => *v,
                    };
                }
            }
            assert_blocks_are_row_by_row(&all, paths, steps);
        }
    }

    /// The bands of `all` (each path's values of two columns) from blocks of
    /// rows, at 1 and 3 threads, are the row-by-row figures bit for bit.
    fn assert_blocks_are_row_by_row(all: &[BandRows], paths: usize, steps: usize) {
        let mut s = BandSketches::new(2, paths as u64, steps as u64);
        for chunk in all.chunks(64) {
            chunk.iter().for_each(|r| s.grow_to(r));
            s.insert(chunk.to_vec());
        }
        // Row by row, as before: a sketch of the row's values in path order,
        // its quantiles from the sorted values.
        let mut want = BandsTable::default();
        let layout = [(BandSeries::Mark, Some(0)), (BandSeries::BadDebt, None)];
        for i in 0..s.rows() {
            let t = i / 2;
            let mut sketch = QuantileSketch::with_exact_limit(paths);
            for r in all.iter().filter(|r| r.values.len() >= (t + 1) * 2) {
                sketch.insert(r.values[i]);
            }
            let mut sorted: Vec<f64> = all
                .iter()
                .filter(|r| r.values.len() >= (t + 1) * 2)
                .map(|r| r.values[i])
                .filter(|v| v.is_finite())
                .collect();
            sorted.sort_by(f64::total_cmp);
            let row = BandRow {
                quantiles: backstop_data::BAND_QUANTILES.map(|(_, q)| quantile_sorted(&sorted, q)),
                mean: sketch.mean(),
                min: sketch.min(),
                max: sketch.max(),
            };
            push_band_row(&mut want, t, t as i64, layout[i % 2], &["btc"], &row);
        }
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let got = pool.install(|| bands(&s));
            assert_eq!(bits(&got), bits(&want), "{threads} threads");
            assert_eq!(got.step, want.step);
            assert_eq!(got.series, want.series);
            // Any range (a row group) is the same rows of the whole table.
            let part = pool.install(|| s.table_rows(&layout, &["btc"], 7..61));
            let whole = bits(&got);
            let sliced: Vec<Vec<u64>> = whole.iter().map(|c| c[7..61].to_vec()).collect();
            assert_eq!(bits(&part), sliced);
            assert_eq!(part.step, got.step[7..61]);
            // In pieces from outside the pool: the same table, and the
            // pieces are its rows in order.
            for range in [0..s.rows(), 7..61] {
                let mut pieces = BandsTable::default();
                let whole =
                    s.table_rows_in_pieces(&layout, &["btc"], range.clone(), &pool, &mut |t| {
                        assert!(!t.is_empty(), "Invariant: no empty piece");
                        append_band_rows(&mut pieces, t.clone());
                    });
                let want = pool.install(|| s.table_rows(&layout, &["btc"], range.clone()));
                assert_eq!(bits(&whole), bits(&want), "{threads} threads, {range:?}");
                assert_eq!(bits(&pieces), bits(&want), "{threads} threads, {range:?}");
                assert_eq!(
                    (&whole.step, &whole.ts_ns, &whole.market, &whole.series),
                    (&want.step, &want.ts_ns, &want.market, &want.series)
                );
                assert_eq!(pieces.step, want.step);
            }
        }
    }
}
