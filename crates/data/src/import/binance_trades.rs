//! Binance public-data `trades` and `aggTrades` → `trades/v1`.
//!
//! `trades` (with or without header; spot files add `is_best_match`, COIN-M
//! files have `base_qty` where USD-M has `quote_qty`):
//!
//! `id, price, qty, quote_qty, time, is_buyer_maker`
//!
//! `aggTrades` (spot files have no header and add `is_best_match`):
//!
//! `agg_trade_id, price, quantity, first_trade_id, last_trade_id,
//! transact_time, is_buyer_maker`
//!
//! `side` is −1 (sell) when `is_buyer_maker` is true — the buyer's order
//! was resting, so the seller took liquidity — and +1 (buy) otherwise.
//! `size` is `qty`/`quantity`: base units for linear symbols, contracts for
//! COIN-M. `trade_id` is `id` for trades and `agg_trade_id` for aggTrades.
//! Times are epoch ms (µs in 2025+ spot files; detected by magnitude).
//!
//! Rows are rejected for an unparseable or non-positive time or id, a price
//! that is unparseable or not finite and > 0, a size that is unparseable or
//! not finite and ≥ 0, and an `is_buyer_maker` that is not `true`/`false`.
//! Output is sorted by time, then id.

use polars::prelude::*;

use super::importer::{
    Check, Importer, epoch_unit_factor, float, implausible_time, int, negative, not_positive,
    text_is, unparseable,
};
use super::input::Layout;
use crate::history::HistorySchema;

static TRADES: Layout = Layout {
    positional: &[
        "id",
        "price",
        "qty",
        "quote_qty",
        "time",
        "is_buyer_maker",
        "is_best_match",
    ],
    required: &["id", "price", "qty", "time", "is_buyer_maker"],
    aliases: &[],
};

static AGG_TRADES: Layout = Layout {
    positional: &[
        "agg_trade_id",
        "price",
        "quantity",
        "first_trade_id",
        "last_trade_id",
        "transact_time",
        "is_buyer_maker",
        "is_best_match",
    ],
    required: &[
        "agg_trade_id",
        "price",
        "quantity",
        "transact_time",
        "is_buyer_maker",
    ],
    aliases: &[],
};

/// The trades (`aggregated == false`) or aggTrades importer.
pub(crate) struct BinanceTrades {
    pub(crate) aggregated: bool,
}

const TIME: &str = "t_time";
const ID: &str = "t_id";
const PRICE: &str = "t_price";
const SIZE: &str = "t_size";
const SIDE: &str = "t_side";

impl BinanceTrades {
    /// The layout's names for (id, size, time).
    const fn names(&self) -> (&'static str, &'static str, &'static str) {
        if self.aggregated {
            ("agg_trade_id", "quantity", "transact_time")
        } else {
            ("id", "qty", "time")
        }
    }
}

impl Importer for BinanceTrades {
    fn schema(&self) -> HistorySchema {
        HistorySchema::Trades
    }

    fn layout(&self) -> &'static Layout {
        if self.aggregated {
            &AGG_TRADES
        } else {
            &TRADES
        }
    }

    fn parse(&self, frame: LazyFrame) -> (LazyFrame, Vec<Check>) {
        let (id, size, time) = self.names();
        let maker = "is_buyer_maker";
        let frame = frame.with_columns([
            int(time).alias(TIME),
            int(id).alias(ID),
            float("price").alias(PRICE),
            float(size).alias(SIZE),
            when(text_is(maker, &["true", "True", "TRUE"]))
                .then(lit(-1_i8))
                .otherwise(
                    when(text_is(maker, &["false", "False", "FALSE"]))
                        .then(lit(1_i8))
                        .otherwise(lit(NULL).cast(DataType::Int8)),
                )
                .alias(SIDE),
        ]);
        let checks = vec![
            unparseable(TIME, time, "not an integer timestamp"),
            Check::new(col(TIME).lt_eq(lit(0_i64)), time, "timestamp must be > 0"),
            implausible_time(col(TIME) * epoch_unit_factor(col(TIME)), time),
            unparseable(ID, id, "not an integer id"),
            unparseable(PRICE, "price", "not a number"),
            not_positive(PRICE, "price"),
            unparseable(SIZE, size, "not a number"),
            negative(SIZE, size),
            unparseable(SIDE, maker, "must be true or false"),
        ];
        (frame, checks)
    }

    fn record(&self) -> Vec<Expr> {
        vec![
            (col(TIME) * epoch_unit_factor(col(TIME))).alias("ts"),
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
