//! dYdX v4, the dYdX Chain (docs/venues.md §3).

use super::book::{BlockLimits, Bracket, RuleBook, Venue};

/// BTC-USD: initial margin fraction 5%, maintenance margin fraction 3%.
pub const BTC_BRACKETS: &[Bracket] = &[(0.0, 0.05, 0.03)];

/// "Maximum Liquidation Penalty of 1.5%", paid 100% to the insurance fund.
pub const MAX_LIQUIDATION_FEE: f64 = 0.015;

/// SMMR, `spread_to_maintenance_margin_ratio_ppm` = 1,500,000 in the mainnet
/// genesis (`protocol/testing/mainnet/genesis.json`).
pub const SPREAD_TO_MAINTENANCE: f64 = 1.5;

/// BA, `bankruptcy_adjustment_ppm` = 1,000,000 in the mainnet genesis.
pub const BANKRUPTCY_ADJUSTMENT: f64 = 1.0;

/// The mainnet genesis' `liquidations_config` block limits
/// (`protocol/testing/mainnet/genesis.json`, dydxprotocol/v4-chain at
/// 84d4664): `position_block_limits` — `max_position_portion_liquidated_ppm`
/// 100,000 (10%), `min_position_notional_liquidated` 1,000,000,000 quote
/// quantums (1,000 USD); `subaccount_block_limits` — `max_notional_liquidated`
/// 100,000,000,000 (100,000 USD). A block "every ~1 second" (docs.dydx.exchange,
/// Onboarding FAQs).
pub const MAINNET_BLOCK_LIMITS: BlockLimits = BlockLimits {
    block_seconds: 1.0,
    position_portion: 0.1,
    min_position_usd: 1_000.0,
    max_account_usd: 100_000.0,
};

/// The rule book.
pub fn rule_book() -> RuleBook {
    RuleBook {
        venue: Venue::DydxV4,
        btc_brackets: BTC_BRACKETS,
        // Funding paid every hour; the 8-hour rate clamped to 600% × (IMF − MMF),
        // 12% for BTC-USD, 1.5% per hourly payment.
        funding_interval_seconds: 3600,
        funding_cap: 6.0 * (0.05 - 0.03) / 8.0,
        // Mainnet's block limits (`MAINNET_BLOCK_LIMITS`): each block (about a
        // second) 10% of a position, at least 1,000 USD, at most 100,000 USD
        // an account. The chunk keys below only serve a scenario that sets
        // `mode = "chunked"`: 100% per order, once per step.
        liquidation_mode: "per_block",
        liquidation_fee: MAX_LIQUIDATION_FEE,
        insurance_fund_share: 1.0,
        latency_seconds: 0,
        target_buffer: 0.0,
        chunk_fraction: 1.0,
        chunk_min_usd: 0.001,
        chunk_full_below_usd: 0.0,
        chunk_then_whole: false,
        cooldown_seconds: 1,
        insurance_fund_initial: None,
        // Deleveraging at the bankruptcy price against opposite positions from
        // a random start (no ranking).
        last_line: "adl",
        adl: "queue",
        ranking: "dydx",
        adl_price: "bankruptcy",
        // The liquidation order is an IOC limit at the fillable price
        // (`GetFillablePrice`); mainnet genesis `fillable_price_config`:
        // `spread_to_maintenance_margin_ratio_ppm` 1,500,000,
        // `bankruptcy_adjustment_ppm` 1,000,000.
        fillable_limit: Some((SPREAD_TO_MAINTENANCE, BANKRUPTCY_ADJUSTMENT)),
        block_limits: Some(MAINNET_BLOCK_LIMITS),
    }
}

/// The fillable (limit) price of a liquidation order:
/// `P × (1 − (SMMR × MMF) × ABR)` for a long being sold and `P × (1 + …)` for
/// a short being bought back, with the adjusted bankruptcy rating
/// `ABR = clamp(BA × (1 − Q), 0, 1)`, `Q = V / TMMR` (account value over
/// total maintenance requirement). `side` is the liquidated position's: 1
/// long, −1 short.
///
/// The docs ("Liquidations") write `BA × (1 − Q)` unbounded; dYdX's code,
/// `GetFillablePrice` in `protocol/x/clob/keeper/liquidations.go`
/// (`(PNNV − ABR × SMMR × PMMR) / PS`, "Bound the ABR between 0 and 1"),
/// clamps it, so an account below zero (`Q < 0`) fills at most at the
/// largest spread and one above maintenance (`Q > 1`) at the oracle price.
pub fn fillable_price(
    oracle: f64,
    side: f64,
    smmr: f64,
    mmf: f64,
    bankruptcy_adjustment: f64,
    account_value: f64,
    total_maintenance: f64,
) -> f64 {
    let q = account_value / total_maintenance;
    let abr = (bankruptcy_adjustment * (1.0 - q)).clamp(0.0, 1.0);
    oracle * (1.0 - side * (smmr * mmf) * abr)
}

/// The liquidation price of a position of signed size `s` entered at `p`, with
/// equity `e` and the other positions' maintenance `mmr_others` (0 isolated):
/// `p' = (e − s × p − MMR_o) / (|s| × MMF − s)`.
pub fn liquidation_price(e: f64, s: f64, p: f64, mmf: f64, mmr_others: f64) -> f64 {
    (e - s * p - mmr_others) / (s.abs() * mmf - s)
}

/// The largest spread a liquidation may pay below (above) the oracle: 1.5 ×
/// the market's maintenance fraction (genesis parameters).
pub fn max_liquidation_spread(mmf: f64) -> f64 {
    SPREAD_TO_MAINTENANCE * mmf
}
