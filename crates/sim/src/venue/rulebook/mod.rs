//! Venue rule books: each venue's published rules as data — margin schedule,
//! liquidation mode and fees, latency, funding interval and cap, the insurance
//! fund's role and the waterfall's last line — one file per venue, each rule
//! cited in docs/venues.md.
//!
//! A scenario names one with `venue = "<name>"`; the scenario layer
//! (`crate::config::rule_book`) lays the rule book under the scenario's own keys
//! (any key the scenario sets wins). Nothing here knows the scenario file: the
//! rules are plain values, their kinds spelled as the scenario spells them.
//!
//! The venues' own formulas that the engine does not run as such (dYdX's
//! fillable price, Hyperliquid's liquidation-price form) live beside their rule
//! book, for the conformance tests and the calculator.

pub mod binance;
pub mod bitmex;
pub mod book;
pub mod drift;
pub mod dydx;
pub mod hyperliquid;

pub use book::{Bracket, RuleBook, Venue};

impl Venue {
    /// The venue's rule book.
    pub fn rule_book(self) -> RuleBook {
        match self {
            Venue::BinanceUsdm => binance::rule_book(),
            Venue::Hyperliquid => hyperliquid::rule_book(),
            Venue::DydxV4 => dydx::rule_book(),
            Venue::Bitmex => bitmex::rule_book(),
            Venue::Drift => drift::rule_book(),
        }
    }
}
