//! Binance public-data `bookDepth` → `depth/v1`.
//!
//! The daily files (`data/futures/{um,cm}/daily/bookDepth/`):
//!
//! `timestamp, percentage, depth, notional`
//!
//! `timestamp` is UTC text, `YYYY-MM-DD HH:MM:SS` (a fraction of a second, a
//! `T` separator, a trailing `Z` and epoch ms/µs/ns integers are accepted
//! too). `percentage` is the signed band (−5 … −1 bids, 1 … 5 asks), `depth`
//! the cumulative size within it (base units, or contracts for COIN-M) and
//! `notional` the same in USD(T). Extra columns (some redistributed copies add
//! `weighted_avg_price`) are ignored. Rows are rejected for an unparseable
//! time, a non-finite percentage, and a depth or notional that is
//! unparseable, negative or not finite. Output is sorted by time, then band.

use polars::prelude::*;

use super::importer::{
    Check, Importer, float, implausible_time, negative, not_finite, unparseable,
};
use super::input::Layout;
use crate::history::HistorySchema;
use crate::time::parse_utc_ns;

static LAYOUT: Layout = Layout {
    positional: &["timestamp", "percentage", "depth", "notional"],
    required: &["timestamp", "percentage", "depth", "notional"],
    aliases: &[],
};

/// The bookDepth importer.
pub(crate) struct BookDepth;

const TS: &str = "d_ts";
const PERCENTAGE: &str = "d_percentage";
const DEPTH: &str = "d_depth";
const NOTIONAL: &str = "d_notional";

impl Importer for BookDepth {
    fn schema(&self) -> HistorySchema {
        HistorySchema::Depth
    }

    fn layout(&self) -> &'static Layout {
        &LAYOUT
    }

    fn parse(&self, frame: LazyFrame) -> (LazyFrame, Vec<Check>) {
        let frame = frame.with_columns([
            utc_text_to_ns(col("timestamp")).alias(TS),
            float("percentage").alias(PERCENTAGE),
            float("depth").alias(DEPTH),
            float("notional").alias(NOTIONAL),
        ]);
        let checks = vec![
            unparseable(TS, "timestamp", "not a UTC date-time"),
            implausible_time(col(TS), "timestamp"),
            unparseable(PERCENTAGE, "percentage", "not a number"),
            not_finite(PERCENTAGE, "percentage"),
            unparseable(DEPTH, "depth", "not a number"),
            negative(DEPTH, "depth"),
            unparseable(NOTIONAL, "notional", "not a number"),
            negative(NOTIONAL, "notional"),
        ];
        (frame, checks)
    }

    fn record(&self) -> Vec<Expr> {
        vec![
            col(TS).alias("ts"),
            col(PERCENTAGE).alias("percentage"),
            col(DEPTH).alias("depth"),
            col(NOTIONAL).alias("notional"),
        ]
    }

    fn expand(&self, records: LazyFrame) -> Result<LazyFrame, PolarsError> {
        Ok(records)
    }

    fn sort_by(&self) -> &'static [&'static str] {
        &["ts", "percentage"]
    }
}

/// A text column of UTC date-times as Int64 ns (null where unparseable).
fn utc_text_to_ns(text: Expr) -> Expr {
    text.map(
        |c: Column| {
            let out: Int64Chunked = c
                .str()?
                .iter()
                .map(|value| value.and_then(parse_ts_ns))
                .collect();
            Ok(Column::from(out.into_series()))
        },
        |_, field| Ok(Field::new(field.name().clone(), DataType::Int64)),
    )
}

/// Parses a UTC date-time ([`parse_utc_ns`], e.g. `2025-10-10 00:00:07`) or
/// an epoch integer (ms, µs or ns by magnitude) into ns since the epoch.
fn parse_ts_ns(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(raw) = text.parse::<i64>() {
        if raw <= 0 {
            return None;
        }
        return Some(if raw < 9_000_000_000_000 {
            raw * 1_000_000
        } else if raw < 9_000_000_000_000_000 {
            raw * 1_000
        } else {
            raw
        });
    }
    parse_utc_ns(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_parses() {
        assert_eq!(parse_ts_ns("1970-01-01 00:00:00"), Some(0));
        // 2025-10-10 00:00:07 UTC = 1760054407 s.
        assert_eq!(
            parse_ts_ns("2025-10-10 00:00:07"),
            Some(1_760_054_407_000_000_000)
        );
        assert_eq!(
            parse_ts_ns("2025-10-10T00:00:07.5Z"),
            Some(1_760_054_407_500_000_000)
        );
        assert_eq!(
            parse_ts_ns("2024-02-29 12:00:00"),
            Some(1_709_208_000_000_000_000)
        );
        assert_eq!(
            parse_ts_ns("1760054407000"),
            Some(1_760_054_407_000_000_000)
        );
        for bad in [
            "",
            "2025-10-1000:00:07",
            "2025-13-10 00:00:07",
            "2023-02-29 00:00:00",
            "2025-10-10 24:00:00",
            "2025-10-10 00:00:07.",
            "2025-10-10 00:00:07.1234567890",
            "garbled",
            "-5",
        ] {
            assert_eq!(parse_ts_ns(bad), None, "{bad:?}");
        }
    }
}
