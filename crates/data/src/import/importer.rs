//! What a source format provides to the import pipeline ([`Importer`]): its
//! layout, typed columns, row checks ([`Check`]) and output rows; the helper
//! expressions formats build them from; and the pseudo-columns the pipeline
//! adds to every input (`__row`, `__file`, `__reject`).

use std::path::Path;

use polars::prelude::*;

use super::input::Layout;
use crate::error::DataError;
use crate::history::HistorySchema;

/// 0-based data row within its file.
pub(crate) const ROW: &str = "__row";
/// 0-based index of the file in the request.
pub(crate) const FILE: &str = "__file";
/// Index of the first failing check, null for a valid row.
pub(crate) const REJECT: &str = "__reject";

/// How many rejected rows are quoted in the report.
pub(crate) const MAX_EXAMPLES: usize = 5;

/// One validation rule: rows for which `bad` is true are rejected with
/// `reason`, quoting the raw text of `column`.
pub(crate) struct Check {
    pub(crate) bad: Expr,
    pub(crate) column: &'static str,
    pub(crate) reason: &'static str,
}

impl Check {
    pub(crate) fn new(bad: Expr, column: &'static str, reason: &'static str) -> Self {
        Self {
            bad,
            column,
            reason,
        }
    }
}

/// A source format.
pub(crate) trait Importer {
    /// The schema the output holds.
    fn schema(&self) -> HistorySchema;

    /// Where the columns are in the input.
    fn layout(&self) -> &'static Layout;

    /// Adds typed columns to a frame of the layout's required columns (text,
    /// named as in the layout), and returns the checks, in order.
    fn parse(&self, frame: LazyFrame) -> (LazyFrame, Vec<Check>);

    /// The typed columns that make up a record; exact duplicates of these
    /// are dropped.
    fn record(&self) -> Vec<Expr>;

    /// Output rows per record (4 for klines, otherwise 1).
    fn rows_per_record(&self) -> usize {
        1
    }

    /// The output rows for the (deduplicated) records: the schema's columns,
    /// in order, with `ts` as Int64 ns.
    fn expand(&self, records: LazyFrame) -> Result<LazyFrame, PolarsError>;

    /// The sort keys of the output (stable sort, nulls last).
    fn sort_by(&self) -> &'static [&'static str];
}

/// A polars error as a [`DataError`] naming `path`.
pub(crate) fn engine_error(path: &Path, action: &'static str, error: &PolarsError) -> DataError {
    DataError::Import {
        path: path.to_owned(),
        action,
        reason: error.to_string(),
    }
}

/// Epoch timestamps in ms, µs or ns (Binance public data switched some
/// series from ms to µs in 2025) as ns. Values below 9e12 are ms (until
/// 2255), below 9e15 µs, anything larger ns; the thresholds keep the
/// multiplication inside i64.
pub(crate) fn epoch_unit_factor(raw: Expr) -> Expr {
    when(raw.clone().lt(lit(9_000_000_000_000_i64)))
        .then(lit(1_000_000_i64))
        .otherwise(
            when(raw.lt(lit(9_000_000_000_000_000_i64)))
                .then(lit(1_000_i64))
                .otherwise(lit(1_i64)),
        )
}

/// 2009-01-01T00:00:00Z in ns since the epoch: no exchange traded crypto
/// derivatives before it (Bitcoin's genesis block is of 2009-01-03).
pub(crate) const EARLIEST_PLAUSIBLE_NS: i64 = 1_230_768_000_000_000_000;

/// Ten years of 365.25 days, ns.
const TEN_YEARS_NS: i64 = 3_155_760_000_000_000_000 / 10;

/// The latest plausible time of a record: ten years from now, ns since the
/// epoch (from the system clock; the epoch itself if the clock is before it).
pub(crate) fn latest_plausible_ns() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| {
            i64::try_from(d.as_nanos()).unwrap_or(i64::MAX - TEN_YEARS_NS)
        });
    now.saturating_add(TEN_YEARS_NS)
}

/// The reason of [`implausible_time`].
pub(crate) const IMPLAUSIBLE_TIME: &str =
    "time outside 2009-01-01 .. ten years from now (no exchange history there)";

/// Rejects rows whose time `ns` (ns since the epoch, after the unit is
/// detected) is before 2009-01-01 or more than ten years from now, quoting
/// the raw text of `column`: a timestamp of 1e17 ns is 1973, not a trade.
pub(crate) fn implausible_time(ns: Expr, column: &'static str) -> Check {
    Check::new(
        ns.clone()
            .lt(lit(EARLIEST_PLAUSIBLE_NS))
            .or(ns.gt(lit(latest_plausible_ns()))),
        column,
        IMPLAUSIBLE_TIME,
    )
}

/// A text column parsed as Int64 (null if unparseable).
pub(crate) fn int(raw: &str) -> Expr {
    col(raw).cast(DataType::Int64)
}

/// A text column parsed as Float64 (null if unparseable; `NaN` parses).
pub(crate) fn float(raw: &str) -> Expr {
    col(raw).cast(DataType::Float64)
}

/// Rejects rows where typed column `typed` is null (missing or unparseable).
pub(crate) fn unparseable(typed: &str, raw: &'static str, what: &'static str) -> Check {
    Check::new(col(typed).is_null(), raw, what)
}

/// Rejects rows where float column `typed` is not finite or not > 0.
pub(crate) fn not_positive(typed: &str, raw: &'static str) -> Check {
    Check::new(
        col(typed).is_finite().not().or(col(typed).lt_eq(lit(0.0))),
        raw,
        "must be finite and > 0",
    )
}

/// Rejects rows where float column `typed` is not finite or < 0.
pub(crate) fn negative(typed: &str, raw: &'static str) -> Check {
    Check::new(
        col(typed).is_finite().not().or(col(typed).lt(lit(0.0))),
        raw,
        "must be finite and >= 0",
    )
}

/// Rejects rows where float column `typed` is not finite.
pub(crate) fn not_finite(typed: &str, raw: &'static str) -> Check {
    Check::new(col(typed).is_finite().not(), raw, "must be finite")
}

/// Whether text column `raw` is one of `values`.
pub(crate) fn text_is(raw: &str, values: &[&str]) -> Expr {
    values
        .iter()
        .map(|&value| col(raw).eq(lit(value)))
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false))
}
