//! Binance public-data klines → `prices/v1`.
//!
//! Reads `klines`, `markPriceKlines`, `indexPriceKlines` and
//! `premiumIndexKlines`-shaped files (spot, USD-M and COIN-M), with or without
//! the header line Binance added in 2022:
//!
//! `open_time, open, high, low, close, volume, close_time, quote_volume,
//! count, taker_buy_volume, taker_buy_quote_volume, ignore`
//!
//! Times are epoch ms (µs in some 2025+ spot files; detected by magnitude,
//! see [`epoch_unit_factor`]). The kline's interval is
//! `close_time + 1 − open_time` (Binance's `close_time` is the last
//! millisecond of the kline), so no interval needs to be given.
//!
//! Each kline becomes the four rows of [`kline_path`]: open at `open_time`,
//! the adverse extreme at ¼ interval, the other at ½, the close at ¾. The
//! expansion calls [`kline_path`] itself (inside polars, as an element-wise
//! function), so imported paths are exactly the library's. `mark` is the
//! kline's price and `index` is null, unless index-price klines are given
//! too ([`ImportRequest::index_inputs`](super::ImportRequest::index_inputs)),
//! which are expanded alike and joined on `ts` (see the [module
//! docs](super#mark-and-index-pairing)).
//!
//! Rows are rejected (counted, with examples) for an unparseable or
//! non-positive `open_time`, a `close_time` not after `open_time`, a price
//! that is unparseable, NaN, infinite or ≤ 0, and a `low` above, or a `high`
//! below, the open or close. Exact duplicate klines (same open time and
//! prices, e.g. two overlapping daily files) are dropped and counted.

use polars::prelude::*;

use super::importer::{
    Check, Importer, epoch_unit_factor, float, implausible_time, int, not_positive, unparseable,
};
use super::input::Layout;
use crate::history::{HistorySchema, kline_path};

static LAYOUT: Layout = Layout {
    positional: &[
        "open_time",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "close_time",
        "quote_volume",
        "count",
        "taker_buy_volume",
        "taker_buy_quote_volume",
        "ignore",
    ],
    required: &["open_time", "open", "high", "low", "close", "close_time"],
    aliases: &[],
};

/// The klines importer.
pub(crate) struct Klines;

const TS: &str = "k_ts";
const INTERVAL: &str = "k_interval";
const OPEN: &str = "k_open";
const HIGH: &str = "k_high";
const LOW: &str = "k_low";
const CLOSE: &str = "k_close";
const OPEN_MS: &str = "k_open_raw";
const CLOSE_MS: &str = "k_close_raw";

impl Importer for Klines {
    fn schema(&self) -> HistorySchema {
        HistorySchema::Prices
    }

    fn layout(&self) -> &'static Layout {
        &LAYOUT
    }

    fn parse(&self, frame: LazyFrame) -> (LazyFrame, Vec<Check>) {
        let frame = frame
            .with_columns([
                int("open_time").alias(OPEN_MS),
                int("close_time").alias(CLOSE_MS),
                float("open").alias(OPEN),
                float("high").alias(HIGH),
                float("low").alias(LOW),
                float("close").alias(CLOSE),
            ])
            .with_columns([
                (col(OPEN_MS) * epoch_unit_factor(col(OPEN_MS))).alias(TS),
                ((col(CLOSE_MS) + lit(1_i64) - col(OPEN_MS)) * epoch_unit_factor(col(OPEN_MS)))
                    .alias(INTERVAL),
            ]);
        let open_or_close_min = when(col(OPEN).lt(col(CLOSE)))
            .then(col(OPEN))
            .otherwise(col(CLOSE));
        let open_or_close_max = when(col(OPEN).gt(col(CLOSE)))
            .then(col(OPEN))
            .otherwise(col(CLOSE));
        let checks = vec![
            unparseable(OPEN_MS, "open_time", "not an integer timestamp"),
            Check::new(
                col(OPEN_MS).lt_eq(lit(0_i64)),
                "open_time",
                "timestamp must be > 0",
            ),
            implausible_time(col(TS), "open_time"),
            unparseable(CLOSE_MS, "close_time", "not an integer timestamp"),
            Check::new(
                col(CLOSE_MS).lt(col(OPEN_MS)),
                "close_time",
                "must not be before open_time",
            ),
            unparseable(OPEN, "open", "not a number"),
            unparseable(HIGH, "high", "not a number"),
            unparseable(LOW, "low", "not a number"),
            unparseable(CLOSE, "close", "not a number"),
            not_positive(OPEN, "open"),
            not_positive(HIGH, "high"),
            not_positive(LOW, "low"),
            not_positive(CLOSE, "close"),
            Check::new(
                col(LOW).gt(open_or_close_min),
                "low",
                "above the kline's open or close",
            ),
            Check::new(
                col(HIGH).lt(open_or_close_max),
                "high",
                "below the kline's open or close",
            ),
        ];
        (frame, checks)
    }

    fn record(&self) -> Vec<Expr> {
        [TS, INTERVAL, OPEN, HIGH, LOW, CLOSE]
            .into_iter()
            .map(col)
            .collect()
    }

    fn rows_per_record(&self) -> usize {
        4
    }

    fn expand(&self, records: LazyFrame) -> Result<LazyFrame, PolarsError> {
        let quarters: Vec<LazyFrame> = (0..4)
            .map(|quarter| {
                records.clone().select([
                    path_point(quarter, Part::Ts).alias("ts"),
                    path_point(quarter, Part::Price).alias("mark"),
                    lit(NULL).cast(DataType::Float64).alias("index"),
                ])
            })
            .collect();
        concat(
            quarters,
            UnionArgs {
                maintain_order: true,
                ..UnionArgs::default()
            },
        )
    }

    fn sort_by(&self) -> &'static [&'static str] {
        &["ts"]
    }
}

#[derive(Debug, Clone, Copy)]
enum Part {
    Ts,
    Price,
}

/// Point `quarter` (0..4) of each kline's [`kline_path`]: its time or price.
fn path_point(quarter: usize, part: Part) -> Expr {
    let args = [col(INTERVAL), col(OPEN), col(HIGH), col(LOW), col(CLOSE)];
    col(TS).map_many(
        move |columns: &mut [Column]| {
            let [ts, interval, open, high, low, close] = columns else {
                return Err(PolarsError::ComputeError(
                    "kline path: expected 6 columns".into(),
                ));
            };
            let (ts, interval) = (ts.i64()?, interval.i64()?);
            let (open, high, low, close) = (open.f64()?, high.f64()?, low.f64()?, close.f64()?);
            let points = ts
                .iter()
                .zip(interval.iter())
                .zip(open.iter())
                .zip(high.iter())
                .zip(low.iter())
                .zip(close.iter())
                .map(|(((((ts, interval), open), high), low), close)| {
                    Some(kline_path(open?, high?, low?, close?, ts?, interval?)[quarter])
                });
            let out = match part {
                Part::Ts => points
                    .map(|point| point.map(|(ts, _)| ts))
                    .collect::<Int64Chunked>()
                    .into_series(),
                Part::Price => points
                    .map(|point| point.map(|(_, price)| price))
                    .collect::<Float64Chunked>()
                    .into_series(),
            };
            Ok(Column::from(out))
        },
        &args,
        move |_, fields| {
            let name = fields
                .first()
                .map(|field| field.name().clone())
                .unwrap_or_default();
            Ok(Field::new(
                name,
                match part {
                    Part::Ts => DataType::Int64,
                    Part::Price => DataType::Float64,
                },
            ))
        },
    )
}
