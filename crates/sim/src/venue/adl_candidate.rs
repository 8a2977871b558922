//! The candidate record every ADL allocation reads ([`super::adl`],
//! [`super::adl_policies`]).

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
