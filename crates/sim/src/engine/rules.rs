//! The venue's rules as the engine takes them: liquidation mode, fee and its
//! split, latency, insurance fund, and the waterfall's last line.
//!
//! Plain values, already resolved from the scenario by `run::build` (the engine
//! knows nothing of the scenario file).

use crate::money::{Micros, Rate};
use crate::venue::adl::{AdlPolicy, AdlScope};

/// How much of a liquidatable position is closed at a time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LiquidationMode {
    /// Close whole positions (largest maintenance margin first) until the account
    /// is safe.
    Full,
    /// Close the smallest multiple of `step_fraction` of the position that brings
    /// equity to `maintenance × (1 + buffer)`; the whole position if none does.
    ToTarget {
        /// Safety buffer over maintenance after the partial close.
        buffer: Rate,
        /// Granularity of the search, as a fraction of the position.
        step_fraction: f64,
    },
    /// At most `max_fraction` of the position per step (at least `min_chunk`, all of
    /// it below `full_below`), then wait `cooldown_steps` before the next chunk.
    Chunked {
        /// Largest fraction of the position closed in one chunk.
        max_fraction: f64,
        /// Smallest chunk notional.
        min_chunk: Micros,
        /// Positions at or below this notional are closed whole.
        full_below: Micros,
        /// Steps between chunks.
        cooldown_steps: u32,
        /// After the first chunk of a liquidation (and its cooldown), close
        /// the whole remaining position (Hyperliquid: "all subsequent market
        /// orders target the entire remaining position").
        then_whole: bool,
    },
    /// dYdX v4's block limits (docs/model.md §5, "Per block"): a step is
    /// `blocks` blocks at the step's prices; each block, while the account is
    /// liquidatable, one order on its largest position of at most
    /// `min(max(min(min_notional, N), portion × N), max_account)` at the mark
    /// (`N` the position's notional), in whole lots, at least one; the whole
    /// position when that covers it.
    PerBlock {
        /// Blocks per step, at least one.
        blocks: u32,
        /// Largest share of a position per block.
        portion: Rate,
        /// Smallest notional per block (unless the position is smaller).
        min_notional: Micros,
        /// Largest notional per account per block.
        max_account: Micros,
    },
}

/// Who takes what the insurance fund cannot pay.
pub enum LastLine {
    /// Auto-deleveraging against the other side at the bankruptcy price.
    Adl {
        /// How the closed size is allocated.
        policy: AdlPolicy,
        /// How much of the bankrupt position is deleveraged.
        scope: AdlScope,
    },
    /// Haircut of the other side's positive PnL, pro-rata.
    Socialize,
    /// Drift: the loss charged to every open position of the market, both
    /// sides, pro-rata to size (`engine/socialize_funding.rs`).
    SocializeFunding,
    /// Nothing: the deficit stays as recorded venue insolvency.
    None,
}

/// Venue-wide rules of the engine.
pub struct VenueConfig {
    /// Partial/full liquidation rule.
    pub mode: LiquidationMode,
    /// Liquidation fee on liquidated notional.
    pub fee: Rate,
    /// Share of the fee that goes to the insurance fund (the rest to the liquidator).
    pub insurance_fund_share: Rate,
    /// Steps between a breach and its execution.
    pub latency_steps: u32,
    /// Insurance fund at the start.
    pub insurance_fund: Micros,
    /// The fund does not pay below this level.
    pub insurance_fund_floor: Micros,
    /// The waterfall's last line.
    pub last_line: LastLine,
}

impl VenueConfig {
    /// A venue that liquidates whole positions and does nothing else: no fee,
    /// no latency, an empty insurance fund with no floor and no last line
    /// (a deficit stays recorded insolvency). The venue the liquidation-price
    /// calculator evaluates positions in (`run/liq_price.rs`: only margin
    /// counts there), and the plain venue tests change one or two fields of.
    pub fn plain() -> VenueConfig {
        VenueConfig {
            mode: LiquidationMode::Full,
            fee: Rate::ZERO,
            insurance_fund_share: Rate::ONE,
            latency_steps: 0,
            insurance_fund: Micros::ZERO,
            insurance_fund_floor: Micros::ZERO,
            last_line: LastLine::None,
        }
    }

    /// The liquidation fee on `notional` (at the execution price), rounded up:
    /// the one place the fee is computed (docs/model.md §1 and §5). The caller
    /// caps it at what the account has left.
    #[inline]
    pub fn liquidation_fee(&self, notional: Micros) -> Micros {
        self.fee.apply_ceil(notional)
    }

    /// The insurance fund's share of a fee, rounded down; the liquidator gets the
    /// exact remainder.
    #[inline]
    pub fn fund_share(&self, fee: Micros) -> Micros {
        self.insurance_fund_share.apply_floor(fee)
    }
}
