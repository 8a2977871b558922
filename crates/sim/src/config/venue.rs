//! The venue's rules as the scenario states them: liquidation, insurance fund,
//! the waterfall's last line, and the optional controls.
//!
//! Types a scenario spells exactly as the venue layer needs them are that
//! layer's ([`AdlScope`], the controls' parameter tables): one definition, and
//! the venue layer, below this one, knows nothing of the scenario.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults;
use crate::venue::adl::AdlScope;
use crate::venue::adl_price::AdlPrice;
use crate::venue::controls::{BreakerConfig, CollateralConfig, OracleConfig, VolMarginConfig};

/// Liquidation mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LiquidationModeKind {
    /// Close whole positions.
    Full,
    /// Close just enough to restore the target (Binance, Drift).
    ToTarget,
    /// Fixed chunks with a cooldown (Hyperliquid).
    Chunked,
    /// dYdX v4's block limits: each step is `floor(step_seconds /
    /// block_seconds)` blocks, each closing at most the block's share of a
    /// position while the account is liquidatable (`[liquidation.blocks]`).
    PerBlock,
}

/// Liquidation rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LiquidationConfig {
    /// Mode.
    pub mode: LiquidationModeKind,
    /// Fee on liquidated notional.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub fee: f64,
    /// Share of the fee paid to the insurance fund.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub insurance_fund_share: f64,
    /// Steps between a breach and its execution.
    pub latency_steps: u32,
    /// `to_target`: buffer over maintenance.
    #[schemars(range(min = 0.0))]
    pub target_buffer: f64,
    /// `to_target`: search granularity.
    pub target_step: f64,
    /// `chunked`: max fraction per chunk.
    pub chunk_fraction: f64,
    /// `chunked`: minimum chunk, USD.
    pub chunk_min_usd: f64,
    /// `chunked`: close whole at or below this notional, USD.
    pub chunk_full_below_usd: f64,
    /// `chunked`: steps between chunks.
    pub cooldown_steps: u32,
    /// `chunked`: after the first chunk (and its cooldown), the next order
    /// closes the whole remaining position (Hyperliquid).
    pub chunk_then_whole: bool,
    /// `[liquidation.limit]`: the liquidation order is a limit order (dYdX v4's
    /// fillable price); none without the table: the order fills whole at the
    /// impact model's price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<LiquidationLimitConfig>,
    /// `[liquidation.blocks]`: the per-block limits of `mode = "per_block"`
    /// (dYdX v4's mainnet values without the table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<BlockLimitsConfig>,
}

/// `[liquidation.blocks]`: dYdX v4's `PositionBlockLimits` and
/// `SubaccountBlockLimits` (`GetLiquidatablePositionSizeDelta`,
/// `protocol/x/clob/keeper/liquidations.go`; docs/model.md §5, "Per block").
/// Each block one order per liquidatable account, on one position, of at most
/// `min(max(min(min_position_usd, N), position_portion × N), max_account_usd)`
/// of notional at the mark (`N` the position's), rounded down to lots, at least
/// one lot; the whole position when that covers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BlockLimitsConfig {
    /// Seconds per block (dYdX mainnet: about 1); positive, at most
    /// `step_seconds`.
    #[schemars(range(min = 0.0))]
    pub block_seconds: f64,
    /// Largest share of a position liquidated per block
    /// (`max_position_portion_liquidated_ppm`, mainnet 10%); in (0, 1].
    #[schemars(range(min = 0.0, max = 1.0))]
    pub position_portion: f64,
    /// Smallest notional liquidated per block, USD, unless the position is
    /// smaller (`min_position_notional_liquidated`, mainnet 1,000).
    #[schemars(range(min = 0.0))]
    pub min_position_usd: f64,
    /// Largest notional liquidated per account per block, USD
    /// (`max_notional_liquidated`, mainnet 100,000); positive.
    #[schemars(range(min = 0.0))]
    pub max_account_usd: f64,
}

impl Default for BlockLimitsConfig {
    fn default() -> Self {
        BlockLimitsConfig {
            block_seconds: defaults::BLOCK_SECONDS,
            position_portion: defaults::BLOCK_POSITION_PORTION,
            min_position_usd: defaults::BLOCK_MIN_POSITION_USD,
            max_account_usd: defaults::BLOCK_MAX_ACCOUNT_USD,
        }
    }
}

/// The price limit of a liquidation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LiquidationLimitKind {
    /// No limit: the order fills whole at the impact model's price (the
    /// default without the table; `kind = "none"` turns a rule book's off).
    None,
    /// dYdX v4's fillable price: `oracle × (1 ∓ ABR × SMMR × MMF)`, `ABR =
    /// clamp(BA × (1 − equity / maintenance), 0, 1)` (docs/model.md §5).
    Fillable,
}

/// `[liquidation.limit]`: the liquidation order as a limit order. What
/// cannot fill at or better than the limit waits for the next step; an
/// account below zero equity whose order fills nothing is deleveraged at its
/// bankruptcy price (docs/model.md §5, "The fillable price as a limit").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LiquidationLimitConfig {
    /// `fillable` (the default when the table is given) or `none`.
    pub kind: LiquidationLimitKind,
    /// SMMR, the largest spread from the oracle as a multiple of the
    /// position's maintenance fraction (dYdX mainnet: 1.5); positive.
    #[schemars(range(min = 0.0))]
    pub spread_to_maintenance: f64,
    /// BA, the bankruptcy adjustment scaling the rating (dYdX mainnet: 1.0);
    /// at least 1, as dYdX's own validation requires.
    #[schemars(range(min = 1.0))]
    pub bankruptcy_adjustment: f64,
}

impl Default for LiquidationLimitConfig {
    fn default() -> Self {
        LiquidationLimitConfig {
            kind: LiquidationLimitKind::Fillable,
            spread_to_maintenance: defaults::SPREAD_TO_MAINTENANCE,
            bankruptcy_adjustment: defaults::BANKRUPTCY_ADJUSTMENT,
        }
    }
}

impl Default for LiquidationConfig {
    fn default() -> Self {
        LiquidationConfig {
            mode: LiquidationModeKind::ToTarget,
            fee: defaults::LIQUIDATION_FEE,
            insurance_fund_share: defaults::INSURANCE_FUND_SHARE,
            latency_steps: defaults::LATENCY_STEPS,
            target_buffer: defaults::TARGET_BUFFER,
            target_step: defaults::TARGET_STEP,
            chunk_fraction: defaults::CHUNK_FRACTION,
            chunk_min_usd: defaults::CHUNK_MIN_USD,
            chunk_full_below_usd: defaults::CHUNK_FULL_BELOW_USD,
            cooldown_steps: defaults::COOLDOWN_STEPS,
            chunk_then_whole: defaults::CHUNK_THEN_WHOLE,
            limit: None,
            blocks: None,
        }
    }
}

/// Insurance fund.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct InsuranceFundConfig {
    /// Balance at step 0, USD.
    pub initial: f64,
    /// The fund does not pay below this, USD.
    pub floor: f64,
}

impl Default for InsuranceFundConfig {
    fn default() -> Self {
        InsuranceFundConfig {
            initial: defaults::INSURANCE_FUND_INITIAL,
            floor: defaults::INSURANCE_FUND_FLOOR,
        }
    }
}

/// The waterfall's last line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LastLineKind {
    /// Auto-deleveraging.
    Adl,
    /// Haircut of winners' positive PnL.
    Socialize,
    /// Drift: the loss spread over every open position of the market, both
    /// sides, by size (through the cumulative funding rate).
    SocializeFunding,
    /// Recorded insolvency.
    None,
}

/// ADL allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdlAllocation {
    /// Ranked queue (see `ranking`).
    Queue,
    /// Same fraction from every candidate.
    ProRata,
    /// Water-filling on leverage.
    MinMaxLeverage,
    /// Water-filling on PnL: the largest winners first, down to a common PnL.
    WaterFillPnl,
    /// Pro-rata, no winner losing more than `cap` (default half) of its PnL in
    /// one close unless all are at that cap.
    CappedProRata,
    /// The allocation taking the least PnL from the winners: the lowest PnL
    /// per lot first (arXiv 2512.01112's minimum-haircut benchmark).
    MinPnlHaircut,
}

/// Queue ranking rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdlRankingKind {
    /// BitMEX.
    Bitmex,
    /// Binance.
    Binance,
    /// Hyperliquid.
    Hyperliquid,
    /// dYdX v4 (seeded walk, no ranking).
    Dydx,
}

/// The waterfall's last line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LastLineConfig {
    /// Kind.
    pub kind: LastLineKind,
    /// ADL allocation (kind = "adl").
    pub adl: AdlAllocation,
    /// Queue ranking (adl = "queue").
    pub ranking: AdlRankingKind,
    /// ADL scope.
    pub scope: AdlScope,
    /// `adl = "capped_pro_rata"`: the largest share of a winner's position
    /// (hence of its PnL) one ADL close takes unless every winner is at the
    /// cap; in (0, 1], default [`CAPPED_PRO_RATA_CAP`] (sweepable as
    /// `last_line.cap`).
    pub cap: f64,
    /// The price ADL closes at: the bankruptcy price (default) or the
    /// previous step's mark (Hyperliquid).
    pub adl_price: AdlPrice,
}

/// The default cap of `adl = "capped_pro_rata"`: at most half of a winner's
/// position per ADL close unless every winner is at the cap.
pub const CAPPED_PRO_RATA_CAP: f64 = 0.5;

impl Default for LastLineConfig {
    fn default() -> Self {
        LastLineConfig {
            kind: LastLineKind::Adl,
            adl: AdlAllocation::Queue,
            ranking: AdlRankingKind::Binance,
            scope: AdlScope::Position,
            cap: CAPPED_PRO_RATA_CAP,
            adl_price: AdlPrice::Bankruptcy,
        }
    }
}

/// The `[controls]` table of a scenario: every control, off unless `enabled`.
/// Each control's parameters are its own type in [`crate::venue::controls`] (one
/// definition, used by the control itself).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ControlsConfig {
    /// `[controls.breaker]`: circuit breaker on liquidations.
    pub breaker: BreakerConfig,
    /// `[controls.vol_margin]`: volatility-responsive margin.
    pub vol_margin: VolMarginConfig,
    /// `[controls.oracle]`: oracle aggregation of the mark.
    pub oracle: OracleConfig,
    /// `[controls.collateral]`: non-USD collateral with haircuts.
    pub collateral: CollateralConfig,
}
