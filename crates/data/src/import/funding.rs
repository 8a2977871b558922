//! Binance public-data `fundingRate` → `funding/v1`.
//!
//! The monthly files (`data/futures/{um,cm}/monthly/fundingRate/`), with or
//! without header:
//!
//! `calc_time, funding_interval_hours, last_funding_rate`
//!
//! `calc_time` (epoch ms; µs/ns detected by magnitude) becomes `ts`, the
//! rate is copied, and the interval becomes seconds. Rows are rejected for an
//! unparseable or non-positive time, an interval that is not a whole number
//! of hours in 1..=24 (Binance uses 1, 4 and 8), and a rate that is
//! unparseable or not finite.

use polars::prelude::*;

use super::importer::{
    Check, Importer, epoch_unit_factor, float, implausible_time, int, not_finite, unparseable,
};
use super::input::Layout;
use crate::history::HistorySchema;

static LAYOUT: Layout = Layout {
    positional: &["calc_time", "funding_interval_hours", "last_funding_rate"],
    required: &["calc_time", "funding_interval_hours", "last_funding_rate"],
    aliases: &[],
};

/// The fundingRate importer.
pub(crate) struct Funding;

const TIME: &str = "f_time";
const HOURS: &str = "f_hours";
const RATE: &str = "f_rate";

impl Importer for Funding {
    fn schema(&self) -> HistorySchema {
        HistorySchema::Funding
    }

    fn layout(&self) -> &'static Layout {
        &LAYOUT
    }

    fn parse(&self, frame: LazyFrame) -> (LazyFrame, Vec<Check>) {
        let frame = frame.with_columns([
            int("calc_time").alias(TIME),
            int("funding_interval_hours").alias(HOURS),
            float("last_funding_rate").alias(RATE),
        ]);
        let checks = vec![
            unparseable(TIME, "calc_time", "not an integer timestamp"),
            Check::new(
                col(TIME).lt_eq(lit(0_i64)),
                "calc_time",
                "timestamp must be > 0",
            ),
            implausible_time(col(TIME) * epoch_unit_factor(col(TIME)), "calc_time"),
            unparseable(HOURS, "funding_interval_hours", "not an integer"),
            Check::new(
                col(HOURS).lt(lit(1_i64)).or(col(HOURS).gt(lit(24_i64))),
                "funding_interval_hours",
                "must be 1..=24 hours",
            ),
            unparseable(RATE, "last_funding_rate", "not a number"),
            not_finite(RATE, "last_funding_rate"),
        ];
        (frame, checks)
    }

    fn record(&self) -> Vec<Expr> {
        vec![
            (col(TIME) * epoch_unit_factor(col(TIME))).alias("ts"),
            col(RATE).alias("rate"),
            (col(HOURS) * lit(3600_i64))
                .cast(DataType::Int32)
                .alias("interval_s"),
        ]
    }

    fn expand(&self, records: LazyFrame) -> Result<LazyFrame, PolarsError> {
        Ok(records)
    }

    fn sort_by(&self) -> &'static [&'static str] {
        &["ts"]
    }
}
