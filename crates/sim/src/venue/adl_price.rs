//! The price an ADL close executes at (the scenario's `last_line.adl_price`).
//!
//! `bankruptcy` (BitMEX, Binance, dYdX: "closed at the bankruptcy price"): the
//! winners take the bankrupt position at the price where its account's equity
//! is zero. `previous_mark` (Hyperliquid, docs "Auto-deleveraging": "Those
//! traders' positions are closed at the previous mark price against the now
//! underwater user"): at the mark of the step before. The engine books the
//! close at the bankruptcy price and moves the gap between the two prices,
//! fill by fill, between the winner and the bankrupt account
//! (docs/model.md §6, "ADL at the previous mark").

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The price an ADL close executes at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdlPrice {
    /// The bankruptcy price of the liquidated position (the default).
    #[default]
    Bankruptcy,
    /// The mark of the previous step (Hyperliquid).
    PreviousMark,
}
