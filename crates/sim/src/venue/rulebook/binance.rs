//! Binance USDⓈ-M futures (docs/venues.md §1).

use super::book::{Bracket, RuleBook, Venue};

/// BTCUSDT brackets of the announcement "Updates to Leverage and Margin Tiers
/// of Binance Futures Contracts (2021-03-18)": floors and rates as published;
/// the maintenance amounts follow from continuity and match the published
/// examples (tier 3: 1,300 USDT).
pub const BTCUSDT_BRACKETS: &[Bracket] = &[
    (0.0, 0.008, 0.004),
    (50_000.0, 0.01, 0.005),
    (250_000.0, 0.02, 0.01),
    (1_000_000.0, 0.05, 0.025),
    (10_000_000.0, 0.1, 0.05),
    (20_000_000.0, 0.2, 0.1),
    (50_000_000.0, 0.25, 0.125),
    (100_000_000.0, 0.333, 0.15),
    (200_000_000.0, 0.5, 0.25),
    (300_000_000.0, 1.0, 0.5),
];

/// The rule book.
pub fn rule_book() -> RuleBook {
    RuleBook {
        venue: Venue::BinanceUsdm,
        btc_brackets: BTCUSDT_BRACKETS,
        // Funding every 8 hours; BTCUSDT's cap ±0.3% per interval.
        funding_interval_seconds: 8 * 3600,
        funding_cap: 0.003,
        // One IOC order "to reduce the trader's margin usage [...] without fully
        // liquidating": close to the maintenance requirement.
        liquidation_mode: "to_target",
        // The clearance fee, "0.3% on BTC/USDT perpetual contract", "charged on the
        // amount liquidated only", to the insurance fund.
        liquidation_fee: 0.003,
        insurance_fund_share: 1.0,
        latency_seconds: 0,
        target_buffer: 0.0,
        chunk_fraction: 1.0,
        chunk_min_usd: 0.0,
        chunk_full_below_usd: 0.0,
        chunk_then_whole: false,
        cooldown_seconds: 0,
        insurance_fund_initial: None,
        // ADL ranked by "LeveragePnL" = PnL% × margin ratio.
        last_line: "adl",
        adl: "queue",
        ranking: "binance",
        adl_price: "bankruptcy",
        fillable_limit: None,
        block_limits: None,
    }
}

/// One position of the one-way liquidation-price formula.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OneWayPosition {
    /// `Side1BOTH`: 1 long, −1 short.
    pub side: f64,
    /// `Position1BOTH`: absolute size.
    pub size: f64,
    /// `EP1BOTH`: entry price.
    pub entry: f64,
    /// `MMR_B`: maintenance rate of the position's bracket.
    pub mmr: f64,
    /// `cumB`: maintenance amount of the position's bracket.
    pub cum: f64,
}

/// Binance's published liquidation price (one-way mode), verbatim:
/// `(WB − TMM1 + UPNL1 + cumB − Side × Position × EP) / (Position × MMR_B − Side
/// × Position)`. In isolated mode `wallet` is the isolated wallet balance and
/// `others_maintenance = others_upnl = 0`.
pub fn liquidation_price(
    wallet: f64,
    others_maintenance: f64,
    others_upnl: f64,
    p: OneWayPosition,
) -> f64 {
    (wallet - others_maintenance + others_upnl + p.cum - p.side * p.size * p.entry)
        / (p.size * p.mmr - p.side * p.size)
}
