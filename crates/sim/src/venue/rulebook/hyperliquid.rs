//! Hyperliquid perpetuals (docs/venues.md §2).

use super::book::{Bracket, RuleBook, Venue};

/// BTC: 40x maximum leverage up to 150M USD, 20x above (margin tiers); the
/// maintenance rate of each is half the initial rate at that leverage.
pub const BTC_BRACKETS: &[Bracket] = &[
    (0.0, 1.0 / 40.0, 1.0 / 80.0),
    (150_000_000.0, 1.0 / 20.0, 1.0 / 40.0),
];

/// Positions above this notional are liquidated 20% at a time, USD.
pub const PARTIAL_ABOVE_USD: f64 = 100_000.0;
/// Share of a large position per market liquidation order.
pub const PARTIAL_FRACTION: f64 = 0.2;
/// Cooldown after a partial liquidation, seconds.
pub const COOLDOWN_SECONDS: u32 = 30;
/// A backstop liquidation (to the liquidator vault) happens when equity falls
/// below this share of the maintenance margin.
pub const BACKSTOP_SHARE: f64 = 2.0 / 3.0;

/// The rule book.
pub fn rule_book() -> RuleBook {
    RuleBook {
        venue: Venue::Hyperliquid,
        btc_brackets: BTC_BRACKETS,
        // Hourly funding, capped at 4% per hour.
        funding_interval_seconds: 3600,
        funding_cap: 0.04,
        liquidation_mode: "chunked",
        // "Unlike CEXs there is no clearance fee on liquidations."
        liquidation_fee: 0.0,
        insurance_fund_share: 0.0,
        latency_seconds: 0,
        target_buffer: 0.0,
        chunk_fraction: PARTIAL_FRACTION,
        chunk_min_usd: 0.0,
        chunk_full_below_usd: PARTIAL_ABOVE_USD,
        // "All subsequent market orders target the entire remaining position."
        chunk_then_whole: true,
        cooldown_seconds: COOLDOWN_SECONDS,
        // No insurance fund: the liquidator vault (HLP) is the backstop.
        insurance_fund_initial: Some(0.0),
        // ADL ranked by (mark / entry) × (notional / account value).
        last_line: "adl",
        adl: "queue",
        ranking: "hyperliquid",
        // "Those traders' positions are closed at the previous mark price against
        // the now underwater user" (docs "Auto-deleveraging").
        adl_price: "previous_mark",
        fillable_limit: None,
        block_limits: None,
    }
}

/// Maintenance rate of an asset of this maximum leverage: "half of the initial
/// margin at max leverage".
pub fn maintenance_rate(max_leverage: f64) -> f64 {
    0.5 / max_leverage
}

/// Hyperliquid's liquidation price, as documented:
/// `price − side × margin_available / position_size / (1 − l × side)` with
/// `l = 1 / MAINTENANCE_LEVERAGE` (the maintenance rate), `side` 1 for a long,
/// −1 for a short, `margin_available` = account value (or isolated margin)
/// minus the maintenance margin required at `price`.
pub fn liquidation_price(
    price: f64,
    side: f64,
    margin_available: f64,
    size: f64,
    maintenance_rate: f64,
) -> f64 {
    price - side * margin_available / size / (1.0 - maintenance_rate * side)
}
