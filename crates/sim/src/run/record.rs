//! What a run keeps of each step: the full per-step series of one path
//! (`steps.parquet`) and, for every path, the band series folded into
//! order-independent sketches (`bands.parquet`).

use backstop_data::{BandSeries, BandsTable, StepsTable};
use rayon::prelude::*;

use super::aggregate::sketch::QuantileSketch;
use crate::engine::Engine;
use crate::money::Micros;

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

/// The band series of one path: `values[t × width + k]` is series `k` at step `t`
/// (venue-wide series first, then per market, see [`band_layout`]).
pub(super) struct BandRows {
    pub(super) ts_ns: Vec<i64>,
    pub(super) values: Vec<f64>,
}

/// (series, market index) of each band column: venue-wide series, then each
/// per-market series for every market.
pub(super) fn band_layout(markets: usize) -> Vec<(BandSeries, Option<usize>)> {
    let mut v: Vec<_> = BandSeries::ALL
        .iter()
        .filter(|s| !s.per_market())
        .map(|s| (*s, None))
        .collect();
    for m in 0..markets {
        v.extend(
            BandSeries::ALL
                .iter()
                .filter(|s| s.per_market())
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
    for (series, market) in layout {
        let f = market.and_then(|m| flows.get(m));
        values.push(match (series, f) {
            (BandSeries::InsuranceFund, _) => engine.insurance_fund().balance().to_usd(),
            (BandSeries::BadDebt, _) => totals.bad_debt.to_usd(),
            (BandSeries::SocializedLoss, _) => totals.socialized.to_usd(),
            (BandSeries::Mark, _) => engine.mark_price(market.unwrap_or(0) as u16),
            (BandSeries::LiquidatedLongNotional, Some(f)) => f.liquidated_long.to_usd(),
            (BandSeries::LiquidatedShortNotional, Some(f)) => f.liquidated_short.to_usd(),
            (BandSeries::AdlNotional, Some(f)) => f.adl_notional.to_usd(),
            (_, None) => 0.0,
        });
    }
}

/// Per step, one sketch per band column, filled chunk by chunk.
pub(super) struct BandSketches {
    width: usize,
    sketches: Vec<Vec<QuantileSketch>>,
    ts_ns: Vec<i64>,
}

impl BandSketches {
    /// Empty sketches for `width` columns.
    pub(super) fn new(width: usize) -> BandSketches {
        BandSketches {
            width,
            sketches: Vec::new(),
            ts_ns: Vec::new(),
        }
    }

    /// Makes room for a path of `rows`' length (steps are added as paths grow).
    pub(super) fn grow_to(&mut self, rows: &BandRows) {
        let steps = rows.ts_ns.len();
        if steps > self.sketches.len() {
            let width = self.width;
            self.sketches
                .resize_with(steps, || vec![QuantileSketch::new(); width]);
            self.ts_ns
                .extend_from_slice(&rows.ts_ns[self.ts_ns.len()..]);
        }
    }

    /// Folds a chunk of paths' values in: step by step in parallel (each step's
    /// sketches are independent); within a step, in path order, so the sketches
    /// are the same for any thread count.
    pub(super) fn insert(&mut self, chunk: &[BandRows]) {
        let width = self.width;
        self.sketches
            .par_iter_mut()
            .enumerate()
            .for_each(|(t, step)| {
                for rows in chunk {
                    if let Some(row) = rows.values.get(t * width..(t + 1) * width) {
                        for (sketch, &v) in step.iter_mut().zip(row) {
                            sketch.insert(v);
                        }
                    }
                }
            });
    }

    /// The `bands/v1` table; `names` are the markets'.
    pub(super) fn table(
        &self,
        layout: &[(BandSeries, Option<usize>)],
        names: &[&str],
    ) -> BandsTable {
        let mut bands = BandsTable::default();
        for (t, row) in self.sketches.iter().enumerate() {
            for ((series, market), sketch) in layout.iter().zip(row) {
                bands.step.push(t as u32);
                bands.ts_ns.push(self.ts_ns[t]);
                bands
                    .market
                    .push(market.map_or(String::new(), |m| names[m].to_string()));
                bands.series.push(series.name().to_string());
                for (column, (_, q)) in bands
                    .quantiles
                    .iter_mut()
                    .zip(backstop_data::BAND_QUANTILES)
                {
                    column.push(sketch.quantile(q));
                }
                bands.mean.push(sketch.mean());
                bands.min.push(sketch.min());
                bands.max.push(sketch.max());
            }
        }
        bands
    }
}
