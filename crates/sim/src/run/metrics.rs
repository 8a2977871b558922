//! Per-path metrics (docs/model.md §7, per-path part), read off the engine at
//! the end of a path, and their `paths/v1` row (written and read back here, in
//! one place).

use serde::Serialize;

use crate::engine::Engine;
use crate::error::InputError;
use crate::money::Micros;
use crate::venue::adl_waves::AdlWave;
use backstop_data::results::metrics::metric_column;
use backstop_data::{MarketFundRow, PATH_METRICS};

/// One account's socialized-loss charge.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Haircut {
    /// Account id.
    pub account_id: u64,
    /// Total charged on the path, USD.
    pub amount: f64,
}

/// What one path did to the venue. Money in USD (exact conversions of the
/// engine's micro-USD), times as step indices (and UTC nanoseconds).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PathMetrics {
    /// Path index.
    pub path: u64,
    /// Steps run.
    pub steps: u32,
    /// Insurance fund at the start.
    pub insurance_fund_initial: f64,
    /// Lowest end-of-step balance.
    pub insurance_fund_min: f64,
    /// Balance at the end.
    pub insurance_fund_final: f64,
    /// Largest fall from a running peak.
    pub insurance_fund_max_drawdown: f64,
    /// Largest fall from a running peak, fraction of that peak.
    pub insurance_fund_max_drawdown_pct: f64,
    /// What the path took out of the fund at worst: initial minus lowest balance
    /// (0 if it never fell below its start). Capped by the fund; `bad_debt` is
    /// the uncapped demand.
    pub insurance_fund_loss: f64,
    /// Step of the minimum.
    pub insurance_fund_min_step: u32,
    /// Time of the minimum, UTC ns.
    pub insurance_fund_min_ts_ns: i64,
    /// First step the fund could not pay in full (or sat at its floor).
    pub insurance_fund_first_depletion_step: Option<u32>,
    /// Paid out by the fund for bad debt.
    pub insurance_fund_payouts: f64,
    /// Fee income of the fund.
    pub insurance_fund_fee_income: f64,
    /// Every deficit of a bankrupt account, whoever carried it:
    /// `insurance_fund_payouts + adl_cost + socialized_loss + insolvency +
    /// vault_bad_debt`.
    pub bad_debt: f64,
    /// Charged to winners as haircuts.
    pub socialized_loss: f64,
    /// Accounts charged a haircut.
    pub accounts_haircut: u32,
    /// Largest single account's haircut.
    pub max_haircut: f64,
    /// Deficit nobody absorbed (`none`) or that the venue itself covered.
    pub insolvency: f64,
    /// ADL closes: bankrupt positions closed (wholly or in part) against
    /// counterparties at their bankruptcy price, one per close whatever the
    /// number of counterparties. Not liquidation orders.
    pub adl_closes: u32,
    /// Notional closed by ADL, at the mark.
    pub adl_notional: f64,
    /// ADL notional beyond the minimum the fund's shortfall required.
    pub adl_excess_notional: f64,
    /// Bad debt ADL counterparties carried: per ADL close, what they gave up
    /// closing at the bankruptcy price instead of the mark, when positive.
    pub adl_cost: f64,
    /// Accounts hit by ADL.
    pub adl_accounts_hit: u32,
    /// Liquidation orders: closes executed against the market (the external
    /// counterparty) at mark ∓ slippage. ADL closes are not counted here.
    pub liquidation_orders: u32,
    /// Liquidated notional at execution prices.
    pub liquidated_notional: f64,
    /// Accounts liquidated at least once.
    pub accounts_liquidated: u32,
    /// Liquidator fee income.
    pub liquidator_fees: f64,
    /// Largest deficit a single account left (Cover-1 on this path).
    pub largest_deficit: f64,
    /// Second largest (with the largest: Cover-2 on this path).
    pub second_largest_deficit: f64,
    /// Times the circuit breaker paused liquidations (0 without a breaker).
    pub breaker_trips: u32,
    /// Steps during which liquidations were paused.
    pub breaker_steps_paused: u32,
    /// Largest multiplier of margin rates, any market (1 without volatility margin).
    pub margin_multiplier_max: f64,
    /// Oracle source readings dropped by the deviation guard.
    pub oracle_sources_dropped: u32,
    /// Oracle source readings ignored as stale.
    pub oracle_stale_ignored: u32,
    /// Non-USD collateral sold at liquidations, USD at its market price.
    pub collateral_converted: f64,
    /// Accounts whose non-USD collateral was sold at a liquidation.
    pub collateral_conversions: u32,
    /// The uncensored fund need `N` (docs/model.md §7c): the largest cumulative
    /// draw (deficits asked minus fees received) on a fund that cannot run out.
    /// Exact when `insurance_fund_need_censored` is 0; a lower bound otherwise.
    pub insurance_fund_need: f64,
    /// Step at which the need was first reached.
    pub insurance_fund_need_step: u32,
    /// Deficits asked of the fund up to that moment (the bad debt behind it).
    pub insurance_fund_need_bad_debt: f64,
    /// The largest cumulative draw at the end of a step (`M ≤ N`).
    pub insurance_fund_need_at_step_end: f64,
    /// 1 when the fund depleted, so the need is a lower bound; else 0.
    pub insurance_fund_need_censored: u32,
    /// Initial margin the starting book locks: every position's initial-margin
    /// requirement at the start marks, summed (docs/model.md §7). What the
    /// venue's brackets make traders post to hold the book; a cost of safety.
    pub initial_margin_locked: f64,
    /// Liquidity vault (`[vault]`; all 0 without one): capital at the start.
    pub vault_capital: f64,
    /// Lowest equity (cash + inventory at the marks) at a step's end.
    pub vault_equity_min: f64,
    /// Equity at the end.
    pub vault_equity_final: f64,
    /// Final equity minus capital.
    pub vault_pnl: f64,
    /// Capital minus the lowest equity, at least 0 (the VaR/ES variable).
    pub vault_loss: f64,
    /// Largest fall of the equity from a running peak.
    pub vault_max_drawdown: f64,
    /// Positions taken over.
    pub vault_takeovers: u32,
    /// Notional taken over, at the mark.
    pub vault_takeover_notional: f64,
    /// Deficits the vault absorbed (part of `bad_debt`).
    pub vault_bad_debt: f64,
    /// Notional sold back to the market, at execution prices.
    pub vault_unwound_notional: f64,
    /// Largest inventory at a step's end, gross notional at the marks.
    pub vault_peak_inventory: f64,
    /// Inventory at the end, gross notional at the marks.
    pub vault_inventory_final: f64,
    /// Longest run of consecutive steps ending with inventory held (the time
    /// to unwind).
    pub vault_unwind_steps: u32,
    /// Takeovers the floor refused.
    pub vault_floor_refusals: u32,
    /// First step a takeover was refused by the floor, if any.
    pub vault_floor_step: Option<u32>,
    /// Per-account haircuts, by account id.
    pub haircuts: Vec<Haircut>,
    /// The path's ADL waves and their measures (docs/model.md §6, "ADL
    /// waves"), in step order; empty without ADL (and when read back from
    /// `paths/v1`, which does not hold them: `adl_waves/v1` does).
    pub adl_waves: Vec<AdlWave>,
    /// Each market's own fund (docs/model.md §6, "Funds per market"), in
    /// market order; empty without one (and when read back from `paths/v1`:
    /// `market_funds/v1` holds them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub market_funds: Vec<MarketFundMetrics>,
}

/// What a market's own fund did on a path (a `market_funds/v1` row without
/// its parameter set and path). Money in USD.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MarketFundMetrics {
    /// The market's name.
    pub market: String,
    /// Balance at the start.
    pub initial: f64,
    /// Lowest end-of-step balance.
    pub min: f64,
    /// Step of the minimum.
    pub min_step: u32,
    /// Balance at the end.
    pub final_balance: f64,
    /// Largest fall from a running peak.
    pub max_drawdown: f64,
    /// Largest fall from a running peak, fraction of that peak.
    pub max_drawdown_pct: f64,
    /// First step it could not pay in full (or sat at its floor).
    pub first_depletion_step: Option<u32>,
    /// Paid for the market's bad debt.
    pub payouts: f64,
    /// Liquidation-fee shares received.
    pub fee_income: f64,
}

impl MarketFundMetrics {
    /// Its `market_funds/v1` row on path `path` of parameter set `set`.
    pub fn row(&self, set: u32, path: u64) -> MarketFundRow {
        MarketFundRow {
            param_set: set,
            path,
            market: self.market.clone(),
            initial: self.initial,
            min: self.min,
            min_step: self.min_step,
            final_balance: self.final_balance,
            max_drawdown: self.max_drawdown,
            max_drawdown_pct: self.max_drawdown_pct,
            first_depletion_step: self.first_depletion_step.map(u64::from),
            payouts: self.payouts,
            fee_income: self.fee_income,
        }
    }
}

/// Every market fund of `engine`, in market order.
fn market_fund_metrics(engine: &Engine) -> Vec<MarketFundMetrics> {
    let mut out = Vec::new();
    for (m, market) in engine.markets().iter().enumerate() {
        let Some(f) = engine.market_fund(m as u16) else {
            continue;
        };
        out.push(MarketFundMetrics {
            market: market.name.clone(),
            initial: f.initial().to_usd(),
            min: f.minimum().to_usd(),
            min_step: f.minimum_step(),
            final_balance: f.balance().to_usd(),
            max_drawdown: f.max_drawdown().to_usd(),
            max_drawdown_pct: f.max_drawdown_pct(),
            first_depletion_step: f.first_depletion_step(),
            payouts: f.payouts().to_usd(),
            fee_income: f.fees_received().to_usd(),
        });
    }
    out
}

impl PathMetrics {
    /// Reads the metrics off an engine at the end of a path.
    ///
    /// `initial_margin_locked` is [`Engine::initial_margin_locked`] read before
    /// the first step; `ts_of_step` gives the UTC time of a step (fixed grid or
    /// replayed ticks).
    // One line per metric, in the struct's order: a little over the usual length.
    pub fn from_engine(
        engine: &Engine,
        path: u64,
        initial_margin_locked: Micros,
        ts_of_step: impl Fn(u32) -> i64,
    ) -> PathMetrics {
        let f = engine.insurance_fund();
        let need = f.need();
        let [largest, second] = engine.largest_deficits();
        let t = engine.totals();
        let v = engine.vault().cloned().unwrap_or_default();
        // One pass over the accounts for both (it reads every account's line).
        let haircut_amounts: Vec<(u64, Micros)> = engine.haircuts().collect();
        let max_haircut = haircut_amounts
            .iter()
            .map(|&(_, m)| m)
            .max()
            .unwrap_or(Micros::ZERO);
        let mut haircuts: Vec<Haircut> = haircut_amounts
            .into_iter()
            .map(|(id, m)| Haircut {
                account_id: id,
                amount: m.to_usd(),
            })
            .collect();
        haircuts.sort_by_key(|h| h.account_id);
        PathMetrics {
            path,
            steps: engine.steps_run(),
            insurance_fund_initial: f.initial().to_usd(),
            insurance_fund_min: f.minimum().to_usd(),
            insurance_fund_final: f.balance().to_usd(),
            insurance_fund_max_drawdown: f.max_drawdown().to_usd(),
            insurance_fund_max_drawdown_pct: f.max_drawdown_pct(),
            insurance_fund_loss: (f.initial() - f.minimum()).max(Micros::ZERO).to_usd(),
            insurance_fund_min_step: f.minimum_step(),
            insurance_fund_min_ts_ns: ts_of_step(f.minimum_step()),
            insurance_fund_first_depletion_step: f.first_depletion_step(),
            insurance_fund_payouts: f.payouts().to_usd(),
            insurance_fund_fee_income: f.fees_received().to_usd(),
            bad_debt: t.bad_debt.to_usd(),
            socialized_loss: t.socialized_loss.to_usd(),
            accounts_haircut: haircuts.len() as u32,
            max_haircut: max_haircut.to_usd(),
            insolvency: t.insolvency.to_usd(),
            adl_closes: t.adl_events,
            adl_notional: t.adl_notional.to_usd(),
            adl_excess_notional: t.adl_excess_notional.to_usd(),
            adl_cost: t.adl_cost.to_usd(),
            adl_accounts_hit: engine.accounts_adl_hit(),
            liquidation_orders: t.liquidations,
            liquidated_notional: t.liquidated_notional.to_usd(),
            accounts_liquidated: engine.accounts_liquidated(),
            liquidator_fees: t.liquidator_fees.to_usd(),
            largest_deficit: largest.to_usd(),
            second_largest_deficit: second.to_usd(),
            breaker_trips: engine.controls().breaker.as_ref().map_or(0, |b| b.trips()),
            breaker_steps_paused: engine
                .controls()
                .breaker
                .as_ref()
                .map_or(0, |b| b.steps_paused()),
            margin_multiplier_max: engine
                .controls()
                .margin
                .as_ref()
                .map_or(1.0, |m| m.max_multiplier().as_fraction()),
            oracle_sources_dropped: engine
                .controls()
                .oracle
                .as_ref()
                .map_or(0, |o| o.sources_dropped()),
            oracle_stale_ignored: engine
                .controls()
                .oracle
                .as_ref()
                .map_or(0, |o| o.stale_ignored()),
            collateral_converted: t.collateral_converted.to_usd(),
            collateral_conversions: t.collateral_conversions,
            insurance_fund_need: need.need.to_usd(),
            insurance_fund_need_step: need.step,
            insurance_fund_need_bad_debt: need.bad_debt.to_usd(),
            insurance_fund_need_at_step_end: need.need_at_step_end.to_usd(),
            insurance_fund_need_censored: u32::from(need.censored),
            initial_margin_locked: initial_margin_locked.to_usd(),
            vault_capital: v.capital.to_usd(),
            vault_equity_min: v.equity_min.to_usd(),
            vault_equity_final: v.equity.to_usd(),
            vault_pnl: (v.equity - v.capital).to_usd(),
            vault_loss: (v.capital - v.equity_min).max(Micros::ZERO).to_usd(),
            vault_max_drawdown: v.max_drawdown.to_usd(),
            vault_takeovers: v.takeovers,
            vault_takeover_notional: v.takeover_notional.to_usd(),
            vault_bad_debt: v.bad_debt.to_usd(),
            vault_unwound_notional: v.unwound_notional.to_usd(),
            vault_peak_inventory: v.peak_inventory.to_usd(),
            vault_inventory_final: v.inventory.to_usd(),
            vault_unwind_steps: v.longest_hold_steps,
            vault_floor_refusals: v.refused,
            vault_floor_step: v.floor_step,
            haircuts,
            adl_waves: Vec::new(),
            market_funds: market_fund_metrics(engine),
        }
    }

    /// The metrics as a `paths/v1` row, in [`backstop_data::PATH_METRICS`] order.
    /// Each value is placed by its metric's name, looked up at compile time in
    /// data's metric table (a misspelt name stops the build; a metric left out
    /// fails `every_metric_has_a_value`), so no list here must agree with that
    /// table by position.
    pub fn to_row(&self) -> [Option<f64>; PATH_METRICS.len()] {
        let n = |x: u32| Some(f64::from(x));
        let mut row = [None; PATH_METRICS.len()];
        // The metric's column, found by name at compile time.
        macro_rules! put {
            ($name:literal, $value:expr) => {
                row[const { metric_column($name) }] = $value
            };
        }
        put!("steps", n(self.steps));
        put!("insurance_fund_initial", Some(self.insurance_fund_initial));
        put!("insurance_fund_min", Some(self.insurance_fund_min));
        put!("insurance_fund_final", Some(self.insurance_fund_final));
        put!(
            "insurance_fund_max_drawdown",
            Some(self.insurance_fund_max_drawdown)
        );
        put!(
            "insurance_fund_max_drawdown_pct",
            Some(self.insurance_fund_max_drawdown_pct)
        );
        put!("insurance_fund_loss", Some(self.insurance_fund_loss));
        put!("insurance_fund_min_step", n(self.insurance_fund_min_step));
        put!(
            "insurance_fund_first_depletion_step",
            self.insurance_fund_first_depletion_step.map(f64::from)
        );
        put!("insurance_fund_payouts", Some(self.insurance_fund_payouts));
        put!(
            "insurance_fund_fee_income",
            Some(self.insurance_fund_fee_income)
        );
        put!("bad_debt", Some(self.bad_debt));
        put!("socialized_loss", Some(self.socialized_loss));
        put!("accounts_haircut", n(self.accounts_haircut));
        put!("max_haircut", Some(self.max_haircut));
        put!("insolvency", Some(self.insolvency));
        put!("adl_closes", n(self.adl_closes));
        put!("adl_notional", Some(self.adl_notional));
        put!("adl_excess_notional", Some(self.adl_excess_notional));
        put!("adl_cost", Some(self.adl_cost));
        put!("adl_accounts_hit", n(self.adl_accounts_hit));
        put!("liquidation_orders", n(self.liquidation_orders));
        put!("liquidated_notional", Some(self.liquidated_notional));
        put!("accounts_liquidated", n(self.accounts_liquidated));
        put!("liquidator_fees", Some(self.liquidator_fees));
        put!("largest_deficit", Some(self.largest_deficit));
        put!("second_largest_deficit", Some(self.second_largest_deficit));
        put!("breaker_trips", n(self.breaker_trips));
        put!("breaker_steps_paused", n(self.breaker_steps_paused));
        put!("margin_multiplier_max", Some(self.margin_multiplier_max));
        put!("oracle_sources_dropped", n(self.oracle_sources_dropped));
        put!("oracle_stale_ignored", n(self.oracle_stale_ignored));
        put!("collateral_converted", Some(self.collateral_converted));
        put!("collateral_conversions", n(self.collateral_conversions));
        put!("insurance_fund_need", Some(self.insurance_fund_need));
        put!("insurance_fund_need_step", n(self.insurance_fund_need_step));
        put!(
            "insurance_fund_need_bad_debt",
            Some(self.insurance_fund_need_bad_debt)
        );
        put!(
            "insurance_fund_need_at_step_end",
            Some(self.insurance_fund_need_at_step_end)
        );
        put!(
            "insurance_fund_need_censored",
            n(self.insurance_fund_need_censored)
        );
        put!("initial_margin_locked", Some(self.initial_margin_locked));
        put!("vault_capital", Some(self.vault_capital));
        put!("vault_equity_min", Some(self.vault_equity_min));
        put!("vault_equity_final", Some(self.vault_equity_final));
        put!("vault_pnl", Some(self.vault_pnl));
        put!("vault_loss", Some(self.vault_loss));
        put!("vault_max_drawdown", Some(self.vault_max_drawdown));
        put!("vault_takeovers", n(self.vault_takeovers));
        put!(
            "vault_takeover_notional",
            Some(self.vault_takeover_notional)
        );
        put!("vault_bad_debt", Some(self.vault_bad_debt));
        put!("vault_unwound_notional", Some(self.vault_unwound_notional));
        put!("vault_peak_inventory", Some(self.vault_peak_inventory));
        put!("vault_inventory_final", Some(self.vault_inventory_final));
        put!("vault_unwind_steps", n(self.vault_unwind_steps));
        put!("vault_floor_refusals", n(self.vault_floor_refusals));
        put!("vault_floor_step", self.vault_floor_step.map(f64::from));
        row
    }

    /// Rebuilds a path's metrics from its `paths/v1` row (in [`PATH_METRICS`]
    /// order, as [`PathMetrics::to_row`] writes it): everything the aggregates
    /// use. The time of the minimum (not in the file) is 0 and the per-account
    /// haircuts are left empty.
    ///
    /// # Errors
    /// A missing value or a count that is not a whole number, naming the metric.
    // One line per metric, in the table's order: longer than the usual function,
    // but a reader checks it against `to_row` line by line.
    pub fn from_row(path: u64, row: &[Option<f64>]) -> Result<PathMetrics, InputError> {
        let get = |name: &str| -> Result<Option<f64>, InputError> {
            let k = PATH_METRICS
                .iter()
                .position(|m| *m == name)
                .ok_or_else(|| InputError::UnknownMetric(name.to_string()))?;
            Ok(row.get(k).copied().flatten())
        };
        let f = |name: &str| -> Result<f64, InputError> {
            get(name)?.ok_or_else(|| InputError::MissingMetric {
                path,
                name: name.to_string(),
            })
        };
        let n = |name: &str| -> Result<u32, InputError> {
            let v = f(name)?;
            if v.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&v) {
                return Err(InputError::NotACount {
                    path,
                    name: name.to_string(),
                    value: v,
                });
            }
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(v as u32)
        };
        let depletion = match get("insurance_fund_first_depletion_step")? {
            None => None,
            Some(_) => Some(n("insurance_fund_first_depletion_step")?),
        };
        let floor_step = match get("vault_floor_step")? {
            None => None,
            Some(_) => Some(n("vault_floor_step")?),
        };
        Ok(PathMetrics {
            path,
            steps: n("steps")?,
            insurance_fund_initial: f("insurance_fund_initial")?,
            insurance_fund_min: f("insurance_fund_min")?,
            insurance_fund_final: f("insurance_fund_final")?,
            insurance_fund_max_drawdown: f("insurance_fund_max_drawdown")?,
            insurance_fund_max_drawdown_pct: f("insurance_fund_max_drawdown_pct")?,
            insurance_fund_loss: f("insurance_fund_loss")?,
            insurance_fund_min_step: n("insurance_fund_min_step")?,
            insurance_fund_min_ts_ns: 0,
            insurance_fund_first_depletion_step: depletion,
            insurance_fund_payouts: f("insurance_fund_payouts")?,
            insurance_fund_fee_income: f("insurance_fund_fee_income")?,
            bad_debt: f("bad_debt")?,
            socialized_loss: f("socialized_loss")?,
            accounts_haircut: n("accounts_haircut")?,
            max_haircut: f("max_haircut")?,
            insolvency: f("insolvency")?,
            adl_closes: n("adl_closes")?,
            adl_notional: f("adl_notional")?,
            adl_excess_notional: f("adl_excess_notional")?,
            adl_cost: f("adl_cost")?,
            adl_accounts_hit: n("adl_accounts_hit")?,
            liquidation_orders: n("liquidation_orders")?,
            liquidated_notional: f("liquidated_notional")?,
            accounts_liquidated: n("accounts_liquidated")?,
            liquidator_fees: f("liquidator_fees")?,
            largest_deficit: f("largest_deficit")?,
            second_largest_deficit: f("second_largest_deficit")?,
            breaker_trips: n("breaker_trips")?,
            breaker_steps_paused: n("breaker_steps_paused")?,
            margin_multiplier_max: f("margin_multiplier_max")?,
            oracle_sources_dropped: n("oracle_sources_dropped")?,
            oracle_stale_ignored: n("oracle_stale_ignored")?,
            collateral_converted: f("collateral_converted")?,
            collateral_conversions: n("collateral_conversions")?,
            insurance_fund_need: f("insurance_fund_need")?,
            insurance_fund_need_step: n("insurance_fund_need_step")?,
            insurance_fund_need_bad_debt: f("insurance_fund_need_bad_debt")?,
            insurance_fund_need_at_step_end: f("insurance_fund_need_at_step_end")?,
            insurance_fund_need_censored: n("insurance_fund_need_censored")?,
            initial_margin_locked: f("initial_margin_locked")?,
            vault_capital: f("vault_capital")?,
            vault_equity_min: f("vault_equity_min")?,
            vault_equity_final: f("vault_equity_final")?,
            vault_pnl: f("vault_pnl")?,
            vault_loss: f("vault_loss")?,
            vault_max_drawdown: f("vault_max_drawdown")?,
            vault_takeovers: n("vault_takeovers")?,
            vault_takeover_notional: f("vault_takeover_notional")?,
            vault_bad_debt: f("vault_bad_debt")?,
            vault_unwound_notional: f("vault_unwound_notional")?,
            vault_peak_inventory: f("vault_peak_inventory")?,
            vault_inventory_final: f("vault_inventory_final")?,
            vault_unwind_steps: n("vault_unwind_steps")?,
            vault_floor_refusals: n("vault_floor_refusals")?,
            vault_floor_step: floor_step,
            haircuts: Vec::new(),
            adl_waves: Vec::new(),
            market_funds: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row with a distinct whole value in every column.
    fn distinct_row() -> Vec<Option<f64>> {
        (0..PATH_METRICS.len())
            .map(|k| Some(k as f64 + 1.0))
            .collect()
    }

    #[test]
    fn every_metric_has_a_value() {
        let m = PathMetrics::from_row(3, &distinct_row()).expect("a whole row");
        let row = m.to_row();
        for (name, value) in PATH_METRICS.iter().zip(row) {
            assert!(value.is_some(), "to_row leaves `{name}` out");
        }
    }

    #[test]
    fn a_row_read_back_is_written_back_in_place() {
        let row = distinct_row();
        let m = PathMetrics::from_row(3, &row).expect("a whole row");
        for ((name, written), read) in PATH_METRICS.iter().zip(m.to_row()).zip(&row) {
            assert_eq!(written, *read, "`{name}` moved or changed");
        }
    }
}
