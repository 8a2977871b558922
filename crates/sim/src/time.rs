//! UTC time as the scenario writes it: `YYYY-MM-DDTHH:MM:SSZ`.
//!
//! The one UTC parser of this crate; every scenario time (`start`, a replay's or
//! an overlay's window, a collateral schedule's `at`) goes through
//! [`parse_utc`]. (`backstop_data` is to own the workspace's single parser; this
//! function then becomes a re-export of it.)

/// Nanoseconds per second.
pub const NS_PER_SECOND: i64 = 1_000_000_000;

/// Parses `YYYY-MM-DDTHH:MM:SSZ` to Unix nanoseconds; `None` for any other text
/// or an impossible date or time of day.
pub fn parse_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400) + h * 3600 + mi * 60 + se) * NS_PER_SECOND)
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
        assert_eq!(parse_utc("2025-10-10 21:20:00"), None);
    }
}
