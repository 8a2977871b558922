//! A market as the scenario describes it: price and size grids, margin tiers,
//! funding and the price impact of liquidations (`[market.<name>]`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults;

/// One perpetual market.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    /// Mark price at step 0, USD: required, except for a replay (which starts at the
    /// history's price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// Price increment, USD.
    pub tick_size: f64,
    /// Size increment, base units; `tick_size × lot_size` must be a whole number of
    /// micro-USD.
    pub lot_size: f64,
    /// Margin brackets, lowest notional first.
    pub tiers: Vec<TierConfig>,
    /// Funding.
    #[serde(default)]
    pub funding: FundingConfig,
    /// Price impact of liquidations.
    #[serde(default)]
    pub impact: ImpactConfig,
    /// `[market.<name>.insurance_fund]`: the market's own insurance fund
    /// (dYdX v4's isolated market): its liquidation fees go to it and its bad
    /// debt is paid from it, never from the shared `[insurance_fund]`; when it
    /// cannot pay, the last line runs. None by default: the market uses the
    /// shared fund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insurance_fund: Option<MarketFundConfig>,
}

/// A market's own insurance fund (`[market.<name>.insurance_fund]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketFundConfig {
    /// Balance at step 0, USD (required).
    #[schemars(range(min = 0.0))]
    pub initial: f64,
    /// The fund does not pay below this, USD (default 0).
    #[serde(default)]
    #[schemars(range(min = 0.0))]
    pub floor: f64,
}

/// One margin bracket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TierConfig {
    /// Lowest notional of the bracket, USD (the first is 0).
    pub notional_floor: f64,
    /// Initial margin rate (max leverage = 1 / imr).
    pub imr: f64,
    /// Maintenance margin rate.
    pub mmr: f64,
}

/// Funding settlement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FundingConfig {
    /// Rate per interval (longs pay shorts when positive).
    #[serde(default = "FundingConfig::d_rate")]
    pub rate: f64,
    /// Steps between settlements (0 = no funding).
    #[serde(default = "FundingConfig::d_interval")]
    pub interval_steps: u32,
    /// Largest rate per settlement in size (the venue's clamp), applied to the
    /// rate above and to a replay's recorded rates; none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<f64>,
}

impl FundingConfig {
    fn d_rate() -> f64 {
        defaults::FUNDING_RATE
    }
    fn d_interval() -> u32 {
        defaults::FUNDING_INTERVAL_STEPS
    }
}

impl Default for FundingConfig {
    fn default() -> Self {
        FundingConfig {
            rate: defaults::FUNDING_RATE,
            interval_steps: defaults::FUNDING_INTERVAL_STEPS,
            cap: None,
        }
    }
}

/// Which impact model prices liquidation orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImpactModelKind {
    /// `Y σ sqrt(Q / V)`.
    SquareRoot,
    /// Execution at the mark.
    None,
    /// The order walks the recorded order book: impact = the distance from mid at
    /// which the cumulative depth of the side hit reaches the order's notional, from
    /// the `depth/v1` snapshot at or before the step (`file`).
    BookDepth,
}

/// Price impact of liquidation orders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ImpactConfig {
    /// Model.
    pub model: ImpactModelKind,
    /// Prefactor `Y`.
    pub coefficient: f64,
    /// Volatility `σ` over the impact horizon.
    pub volatility: f64,
    /// Volume `V` over the impact horizon, USD.
    pub volume_usd: f64,
    /// Share of impact that moves the mark for good (cascades).
    pub permanent_fraction: f64,
    /// Half-life of the temporary share, steps.
    pub half_life_steps: f64,
    /// `book_depth`: a `depth/v1` file, relative to the scenario file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// On a replay: whether liquidations move the recorded mark (`excess`) or
    /// only the execution price (`none`, the default; the recorded mark already
    /// holds that day's real liquidations). Ignored by other path kinds.
    pub on_replay: ReplayImpact,
}

/// What the impact of simulated liquidations does to a replayed mark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplayImpact {
    /// The mark is the recorded one; liquidation orders still execute at the
    /// mark ∓ their slippage (the liquidated account pays the impact).
    #[default]
    None,
    /// Impact moves the mark as on any other path: what the simulated book
    /// adds beyond what history already shows.
    Excess,
}

impl Default for ImpactConfig {
    fn default() -> Self {
        ImpactConfig {
            model: ImpactModelKind::SquareRoot,
            coefficient: defaults::IMPACT_COEFFICIENT,
            volatility: defaults::IMPACT_VOLATILITY,
            volume_usd: defaults::IMPACT_VOLUME_USD,
            permanent_fraction: defaults::PERMANENT_IMPACT_FRACTION,
            half_life_steps: defaults::IMPACT_HALF_LIFE_STEPS,
            file: None,
            on_replay: ReplayImpact::None,
        }
    }
}
