//! UTC time as the scenario writes it (`2025-10-10T21:20:00Z`; the accepted
//! forms are those of [`backstop_data::time`], the workspace's one UTC parser).
//!
//! Every scenario time (`start`, a replay's or an overlay's window, a
//! collateral schedule's `at`) goes through [`parse_utc`].

/// Nanoseconds per second.
pub const NS_PER_SECOND: i64 = 1_000_000_000;

/// Parses a UTC date-time to Unix nanoseconds; `None` for any other text or an
/// impossible date or time of day (see [`backstop_data::time`] for the forms).
#[must_use]
pub fn parse_utc(s: &str) -> Option<i64> {
    backstop_data::time::parse_utc_ns(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_parsing() {
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_utc("2025-10-10T21:20:00Z"),
            Some(1_760_131_200_000_000_000)
        );
        assert_eq!(parse_utc("2025-13-10T21:20:00Z"), None);
        // The date must exist: the scenario's parser once took 31 April.
        assert_eq!(parse_utc("2025-04-31T00:00:00Z"), None);
        // Past i64 nanoseconds: refused, never wrapped (tests/fuzz.rs found the
        // scenario parser overflowing here).
        assert_eq!(parse_utc("9999-10-10T21:20:00Z"), None);
        assert_eq!(parse_utc("2262-04-11T23:47:17Z"), None);
        assert!(parse_utc("2262-04-11T23:47:16Z").is_some());
    }
}
