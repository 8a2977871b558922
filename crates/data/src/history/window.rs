//! A half-open UTC time window, the part of a tick history a replay reads.

use crate::error::DataError;

/// A half-open UTC time window `[start_ns, end_ns)`, ns since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeWindow {
    start_ns: i64,
    end_ns: i64,
}

impl TimeWindow {
    /// Every timestamp except `i64::MAX` (the end is exclusive).
    pub const ALL: Self = Self {
        start_ns: i64::MIN,
        end_ns: i64::MAX,
    };

    /// The window `[start_ns, end_ns)`; empty when `start_ns == end_ns`.
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidInput`] if `start_ns > end_ns`.
    pub fn new(start_ns: i64, end_ns: i64) -> Result<Self, DataError> {
        if start_ns > end_ns {
            return Err(DataError::InvalidInput {
                what: "time window",
                reason: format!("start {start_ns} ns is after end {end_ns} ns"),
            });
        }
        Ok(Self { start_ns, end_ns })
    }

    /// First timestamp inside the window.
    #[must_use]
    pub const fn start_ns(self) -> i64 {
        self.start_ns
    }

    /// First timestamp after the window.
    #[must_use]
    pub const fn end_ns(self) -> i64 {
        self.end_ns
    }

    /// Whether `ts_ns` lies in `[start_ns, end_ns)`.
    #[must_use]
    pub const fn contains(self, ts_ns: i64) -> bool {
        self.start_ns <= ts_ns && ts_ns < self.end_ns
    }

    /// Whether any timestamp in `[min_ns, max_ns]` lies in the window.
    #[must_use]
    pub const fn overlaps(self, min_ns: i64, max_ns: i64) -> bool {
        min_ns < self.end_ns && max_ns >= self.start_ns && min_ns <= max_ns
    }
}
