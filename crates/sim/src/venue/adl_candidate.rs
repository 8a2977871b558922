//! The candidate record every ADL allocation reads ([`super::adl`],
//! [`super::adl_policies`]).

use crate::money::Micros;

/// What the engine knows of one candidate position at the moment of the ADL.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdlCandidate {
    /// Account index in the engine.
    pub account: u32,
    /// Position slot in the engine.
    pub slot: u32,
    /// Size of the position, lots (absolute).
    pub lots: i64,
    /// Unrealized PnL of the position at the mark, USD.
    pub pnl: f64,
    /// Entry value `|size| × entry price`, USD.
    pub entry_value: f64,
    /// Notional `|size| × mark`, USD.
    pub notional: f64,
    /// Equity of the account, USD.
    pub equity: f64,
    /// Wallet balance (collateral) of the account, USD.
    pub wallet: f64,
    /// Maintenance requirement of the account, USD.
    pub maintenance: f64,
    /// Loss per lot, relative to the mark, of closing at the bankruptcy price, USD
    /// (negative when the bankruptcy price is better than the mark for the candidate).
    pub loss_per_lot: f64,
    /// Mark value of one lot, USD.
    pub lot_value: f64,
}

impl AdlCandidate {
    /// The record of a candidate an index has already chosen, with only what
    /// the booking and the re-checks read of it (`Engine::book_adl_fills`):
    /// account, slot, lots offered and the account's `equity`. The ranking
    /// fields (PnL, entry value, notional, margin, the lot's terms) are left
    /// at 0: nothing after the allocation reads them, and not filling them
    /// saves a read of the position and six conversions to USD per winner
    /// (the `pro_rata` and `min_max_leverage` indexes' closes).
    pub fn for_booking(account: u32, slot: u32, lots: i64, equity: Micros) -> AdlCandidate {
        AdlCandidate {
            account,
            slot,
            lots,
            pnl: 0.0,
            entry_value: 0.0,
            notional: 0.0,
            equity: equity.to_usd(),
            wallet: 0.0,
            maintenance: 0.0,
            loss_per_lot: 0.0,
            lot_value: 0.0,
        }
    }
}
