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

use super::input::Layout;
use super::pipeline::{Check, Importer, float, negative, not_finite, unparseable};
use crate::history::HistorySchema;

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
                .map(|value| value.and_then(parse_utc_ns))
                .collect();
            Ok(Column::from(out.into_series()))
        },
        |_, field| Ok(Field::new(field.name().clone(), DataType::Int64)),
    )
}

/// Parses `YYYY-MM-DD[ T]HH:MM:SS[.fraction][Z]` (UTC) or an epoch integer
/// (ms, µs or ns by magnitude) into ns since the epoch.
fn parse_utc_ns(text: &str) -> Option<i64> {
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
    let text = text.strip_suffix('Z').unwrap_or(text);
    let bytes = text.as_bytes();
    if bytes.len() < 19
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b' ' | b'T')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let nanos = match text.get(19..)? {
        "" => 0,
        fraction => {
            let digits = fraction.strip_prefix('.')?;
            if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let scale = 10_i64.pow(9 - u32::try_from(digits.len()).ok()?);
            digits.parse::<i64>().ok()? * scale
        }
    };
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_parses() {
        assert_eq!(parse_utc_ns("1970-01-01 00:00:00"), Some(0));
        // 2025-10-10 00:00:07 UTC = 1760054407 s.
        assert_eq!(
            parse_utc_ns("2025-10-10 00:00:07"),
            Some(1_760_054_407_000_000_000)
        );
        assert_eq!(
            parse_utc_ns("2025-10-10T00:00:07.5Z"),
            Some(1_760_054_407_500_000_000)
        );
        assert_eq!(
            parse_utc_ns("2024-02-29 12:00:00"),
            Some(1_709_208_000_000_000_000)
        );
        assert_eq!(
            parse_utc_ns("1760054407000"),
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
            assert_eq!(parse_utc_ns(bad), None, "{bad:?}");
        }
    }
}
