//! What every ADL policy's fill function reads of one bankrupt position's
//! close ([`AdlRequest`]), and the prologue they share.

/// One ADL close: `needed` lots of the bankrupt account's position in
/// `market`, at bankruptcy price `price`, against the positions on side
/// `winners` (±1).
#[derive(Clone, Copy, Debug)]
pub(super) struct AdlRequest {
    /// Market index.
    pub(super) market: usize,
    /// The side that takes the lots: +1 (longs) or −1 (shorts).
    pub(super) winners: i64,
    /// The bankrupt account (never its own counterparty).
    pub(super) bankrupt: u32,
    /// Bankruptcy price, ticks.
    pub(super) price: i64,
    /// Lots to close.
    pub(super) needed: i64,
}

impl AdlRequest {
    /// The prologue of every fill function: empties the candidates and fills
    /// it writes; false when there is nothing to fill (`needed ≤ 0`).
    pub(super) fn start<T>(&self, cands: &mut Vec<T>, fills: &mut Vec<(usize, i64)>) -> bool {
        cands.clear();
        fills.clear();
        self.needed > 0
    }
}
