//! Tardis.dev `trades` CSV (usually `.csv.gz`) → `trades/v1`.
//!
//! Tardis' normalised layout:
//!
//! `exchange, symbol, timestamp, local_timestamp, id, side, price, amount`
//!
//! `timestamp` is the exchange's time in epoch µs (used as `ts`;
//! `local_timestamp`, Tardis' receive time, is ignored). `side` is the
//! aggressor, `buy`/`sell`/`unknown` → +1/−1/0. `amount` is copied as `size`:
//! base units for linear symbols, contracts for inverse ones (Binance COIN-M:
//! 100 USD for BTC, 10 USD for the others). `id` becomes `trade_id` when it
//! is an integer, null otherwise (Tardis ids are strings for some venues).
//!
//! Rows are rejected for another `symbol` than the one imported (a file may
//! hold several), an unparseable or non-positive timestamp, a price that is
//! unparseable or not finite and > 0, an amount that is unparseable or not
//! finite and ≥ 0, and any other side. Output is sorted by time, then id.

use polars::prelude::*;

use super::importer::{
    Check, Importer, float, implausible_time, int, negative, not_positive, unparseable,
};
use super::input::Layout;
use crate::history::HistorySchema;

static LAYOUT: Layout = Layout {
    positional: &[
        "exchange",
        "symbol",
        "timestamp",
        "local_timestamp",
        "id",
        "side",
        "price",
        "amount",
    ],
    required: &["symbol", "timestamp", "id", "side", "price", "amount"],
    aliases: &[],
};

/// The Tardis trades importer, for one symbol.
pub(crate) struct TardisTrades {
    pub(crate) symbol: String,
}

const TIME: &str = "t_time";
const ID: &str = "t_id";
const PRICE: &str = "t_price";
const SIZE: &str = "t_size";
const SIDE: &str = "t_side";

/// Largest epoch µs that fits i64 ns.
const MAX_MICROS: i64 = i64::MAX / 1_000;

impl Importer for TardisTrades {
    fn schema(&self) -> HistorySchema {
        HistorySchema::Trades
    }

    fn layout(&self) -> &'static Layout {
        &LAYOUT
    }

    fn parse(&self, frame: LazyFrame) -> (LazyFrame, Vec<Check>) {
        let side = col("side");
        let frame = frame.with_columns([
            int("timestamp").alias(TIME),
            int("id").alias(ID),
            float("price").alias(PRICE),
            float("amount").alias(SIZE),
            when(side.clone().eq(lit("buy")))
                .then(lit(1_i8))
                .otherwise(
                    when(side.clone().eq(lit("sell")))
                        .then(lit(-1_i8))
                        .otherwise(
                            when(side.eq(lit("unknown")))
                                .then(lit(0_i8))
                                .otherwise(lit(NULL).cast(DataType::Int8)),
                        ),
                )
                .alias(SIDE),
        ]);
        let checks = vec![
            Check::new(
                col("symbol").eq_missing(lit(self.symbol.as_str())).not(),
                "symbol",
                "another symbol than the one imported",
            ),
            unparseable(TIME, "timestamp", "not an integer timestamp (µs)"),
            Check::new(
                col(TIME)
                    .lt_eq(lit(0_i64))
                    .or(col(TIME).gt(lit(MAX_MICROS))),
                "timestamp",
                "timestamp out of range",
            ),
            implausible_time(col(TIME) * lit(1_000_i64), "timestamp"),
            unparseable(PRICE, "price", "not a number"),
            not_positive(PRICE, "price"),
            unparseable(SIZE, "amount", "not a number"),
            negative(SIZE, "amount"),
            unparseable(SIDE, "side", "must be buy, sell or unknown"),
        ];
        (frame, checks)
    }

    fn record(&self) -> Vec<Expr> {
        vec![
            (col(TIME) * lit(1_000_i64)).alias("ts"),
            col(PRICE).alias("price"),
            col(SIZE).alias("size"),
            col(SIDE).alias("side"),
            col(ID).alias("trade_id"),
        ]
    }

    fn expand(&self, records: LazyFrame) -> Result<LazyFrame, PolarsError> {
        Ok(records)
    }

    fn sort_by(&self) -> &'static [&'static str] {
        &["ts", "trade_id"]
    }
}
