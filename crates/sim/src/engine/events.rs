//! What happened in the venue: the events of the current step (for tests and
//! the invariant checks), per-step flows (for the recorder) and running totals
//! (for the per-path metrics).

use crate::money::Micros;
use crate::venue::market::MarketId;

/// What happened in the venue during the current step, for tests and the recorder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// A liquidation order executed against the external counterparty.
    Liquidation {
        /// Account index.
        account: u32,
        /// Market.
        market: MarketId,
        /// Signed lots traded by the account.
        lots: i64,
        /// Execution price, ticks.
        price: i64,
        /// Fee charged.
        fee: Micros,
    },
    /// A deficit: what covered it.
    BadDebt {
        /// Account index.
        account: u32,
        /// Negative equity after the close.
        deficit: Micros,
        /// Paid by the insurance fund.
        insurance_fund: Micros,
        /// Charged to winners as haircuts.
        socialized: Micros,
        /// Covered by the venue (no one else could).
        venue: Micros,
    },
    /// A bankrupt position deleveraged against the other side.
    Adl {
        /// Bankrupt account index.
        account: u32,
        /// Market.
        market: MarketId,
        /// Bankrupt position size before the ADL, lots (absolute).
        bankrupt_lots: i64,
        /// Lots closed against winners.
        closed_lots: i64,
        /// Lots that would have sufficed (the fund paying the rest).
        minimum_lots: i64,
        /// Bankruptcy price, ticks.
        price: i64,
    },
    /// One winner's share of a socialized loss.
    Haircut {
        /// Winner account index.
        account: u32,
        /// Amount charged.
        amount: Micros,
        /// The winner's positive PnL before the charge (the cap).
        positive_pnl: Micros,
    },
}

/// Per-market flows of the current step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MarketFlows {
    /// Notional of long positions liquidated, micro-USD at execution price.
    pub liquidated_long: Micros,
    /// Notional of short positions liquidated.
    pub liquidated_short: Micros,
    /// Liquidation orders executed.
    pub liquidations: u32,
    /// Notional closed by ADL, at the mark.
    pub adl_notional: Micros,
    /// ADL events.
    pub adl_count: u32,
    /// Signed liquidation flow, USD (buys positive), for impact.
    pub signed_flow_usd: f64,
    /// Funding rate settled this step, if any.
    pub funding_rate: Option<f64>,
}

/// Venue-wide flows of the current step.
///
/// `bad_debt = covered_by_fund + adl_cost + socialized_loss + insolvency +
/// covered_by_vault` exactly (docs/model.md §6).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VenueFlows {
    /// Every deficit, whoever carried it: the fund, ADL counterparties, haircut
    /// winners, the venue (or nobody, under `none`).
    pub bad_debt: Micros,
    /// Part of the bad debt the insurance fund paid.
    pub covered_by_fund: Micros,
    /// Part of the bad debt ADL counterparties carried (closing at the
    /// bankruptcy price instead of the mark).
    pub adl_cost: Micros,
    /// Haircuts charged to winners.
    pub socialized_loss: Micros,
    /// Deficit left unpaid (`none`) or covered by the venue itself.
    pub insolvency: Micros,
    /// Part of the bad debt the liquidity vault absorbed, taking over accounts
    /// already below zero equity.
    pub covered_by_vault: Micros,
}

/// Running totals for the per-path metrics; like [`VenueFlows`],
/// `bad_debt = covered_by_fund + adl_cost + socialized_loss + insolvency +
/// covered_by_vault`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// Bad debt: every deficit, whoever carried it.
    pub bad_debt: Micros,
    /// Bad debt the insurance fund paid.
    pub covered_by_fund: Micros,
    /// Socialized loss.
    pub socialized_loss: Micros,
    /// Insolvency (`none`, or uncovered residuals).
    pub insolvency: Micros,
    /// ADL events.
    pub adl_events: u32,
    /// ADL notional at the mark.
    pub adl_notional: Micros,
    /// ADL notional beyond the minimum needed.
    pub adl_excess_notional: Micros,
    /// Bad debt ADL counterparties carried: per ADL close, what the winners
    /// gave up by closing at the bankruptcy price instead of the mark, when
    /// positive (the bankrupt account's deficit at the mark; zero when it was
    /// still solvent at the mark and its own equity paid the winners).
    pub adl_cost: Micros,
    /// Liquidation orders: closes executed against the market (the external
    /// counterparty). ADL closes are counted in `adl_events`, not here.
    pub liquidations: u32,
    /// Liquidated notional.
    pub liquidated_notional: Micros,
    /// Liquidator fee income.
    pub liquidator_fees: Micros,
    /// Non-USD collateral sold at liquidations, USD at its market price.
    pub collateral_converted: Micros,
    /// Accounts whose non-USD collateral was sold at a liquidation.
    pub collateral_conversions: u32,
    /// Bad debt the liquidity vault absorbed.
    pub covered_by_vault: Micros,
}
