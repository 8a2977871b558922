//! The candidate record every ADL allocation reads ([`super::adl`],
//! [`super::adl_policies`]), and the slimmer one the booking of a fill
//! reads ([`AdlFillTarget`]).

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

/// What the booking of one ADL fill reads of the winner the allocation
/// chose (`Engine::book_adl_fills`): 24 bytes, where an [`AdlCandidate`]
/// is 80. The `pro_rata` and `min_max_leverage` indexes write it straight
/// from their records; the other policies' candidates are converted after
/// their allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdlFillTarget {
    /// Account index in the engine.
    pub account: u32,
    /// Position slot in the engine.
    pub slot: u32,
    /// Lots the position offers (absolute).
    pub lots: i64,
    /// Equity of the account when the allocation read it, micro-USD.
    pub equity: Micros,
}

impl AdlFillTarget {
    /// The booking's record of candidate `c`, whose account's equity is
    /// `equity` (exact: the candidate's own figure is USD).
    pub fn of(c: &AdlCandidate, equity: Micros) -> AdlFillTarget {
        AdlFillTarget {
            account: c.account,
            slot: c.slot,
            lots: c.lots,
            equity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The booking's record is the 24 bytes its fields need (the booking
    /// writes and reads one a fill), against the candidate's 80.
    #[test]
    fn fill_target_is_a_third_of_a_candidate() {
        assert_eq!(std::mem::size_of::<AdlFillTarget>(), 24);
        assert_eq!(std::mem::size_of::<AdlCandidate>(), 80);
    }
}
