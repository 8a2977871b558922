//! UTC instants as text: the workspace's one parser and formatter of dates.
//!
//! Instants are `i64` nanoseconds since the Unix epoch (1970-01-01T00:00:00Z),
//! on the proleptic Gregorian calendar, as in every `Timestamp(ns, "UTC")`
//! column of this crate.
//!
//! # Accepted text ([`parse_utc_ns`])
//!
//! The union of what backstop's inputs use (scenario `start`, the `start` of a
//! `summary.json`, vendor CSV timestamps), RFC 3339 in UTC with a few common
//! relaxations:
//!
//! ```text
//! YYYY-MM-DD(T| )HH:MM[:SS[.fraction]][Z|+00:00]
//! ```
//!
//! - surrounding whitespace is ignored;
//! - the date and time are separated by `T` or one space;
//! - seconds may be left out (`2025-10-10T20:00` is 20:00:00);
//! - a fraction of a second has 1 to 9 digits (nanosecond precision);
//! - the zone is `Z`, `+00:00`, or absent (then the text is read as UTC);
//! - the date must exist (no 31 April, 29 February only in leap years), the hour
//!   is 0 to 23, minutes and seconds 0 to 59 (no leap second);
//! - an instant that does not fit in `i64` nanoseconds (beyond the years 1677 to
//!   2262) is refused.
//!
//! # Written text
//!
//! - [`format_utc_ns`]: RFC 3339, `2025-10-10T21:20:00Z`, with the fraction of a
//!   second (trailing zeros dropped) only when it is not zero:
//!   `2000-02-29T00:00:00.123Z`.
//! - [`format_utc_label`]: for people, to the second, `2025-10-10 21:20:00 UTC`
//!   (the fraction is dropped, rounding towards the past).

/// Nanoseconds per second.
const NS_PER_SECOND: i64 = 1_000_000_000;
/// Seconds per day.
const SECONDS_PER_DAY: i64 = 86_400;

/// Parses a UTC date-time (see the [module docs](self) for the accepted forms)
/// into nanoseconds since the Unix epoch; `None` if the text is not one.
#[must_use]
pub fn parse_utc_ns(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix("+00:00"))
        .unwrap_or(text);
    let bytes = text.as_bytes();
    if bytes.len() < 16
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b' ')
        || bytes[13] != b':'
    {
        return None;
    }
    let (year, month, day) = (
        digits(text, 0..4)?,
        digits(text, 5..7)?,
        digits(text, 8..10)?,
    );
    let (hour, minute) = (digits(text, 11..13)?, digits(text, 14..16)?);
    let (second, nanos) = seconds_and_fraction(text.get(16..)?)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let seconds =
        days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3_600 + minute * 60 + second;
    seconds.checked_mul(NS_PER_SECOND)?.checked_add(nanos)
}

/// The ASCII digits of `text[range]` as a number; `None` unless all are digits.
fn digits(text: &str, range: std::ops::Range<usize>) -> Option<i64> {
    let part = text.get(range)?;
    if part.bytes().all(|b| b.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

/// `""`, `:SS` or `:SS.fraction` as (seconds, nanoseconds).
fn seconds_and_fraction(rest: &str) -> Option<(i64, i64)> {
    if rest.is_empty() {
        return Some((0, 0));
    }
    let rest = rest.strip_prefix(':')?;
    let second = digits(rest, 0..2)?;
    let nanos = match rest.get(2..)? {
        "" => 0,
        fraction => {
            let fraction = fraction.strip_prefix('.')?;
            if fraction.is_empty()
                || fraction.len() > 9
                || !fraction.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let scale = 10_i64.pow(9 - u32::try_from(fraction.len()).ok()?);
            fraction.parse::<i64>().ok()? * scale
        }
    };
    Some((second, nanos))
}

/// `ns` since the Unix epoch as RFC 3339 UTC text: `YYYY-MM-DDTHH:MM:SS[.f]Z`,
/// with the fraction of a second (trailing zeros dropped) only when not zero.
#[must_use]
pub fn format_utc_ns(ns: i64) -> String {
    let (date, time) = date_and_time(ns);
    let mut text = format!("{date}T{time}");
    let fraction = ns.rem_euclid(NS_PER_SECOND);
    if fraction != 0 {
        let digits = format!("{fraction:09}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

/// `ns` since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC` (to the second,
/// rounding towards the past), for people: chart axes, report text.
#[must_use]
pub fn format_utc_label(ns: i64) -> String {
    let (date, time) = date_and_time(ns);
    format!("{date} {time} UTC")
}

/// `YYYY-MM-DD` and `HH:MM:SS` of the second holding `ns`.
fn date_and_time(ns: i64) -> (String, String) {
    let seconds = ns.div_euclid(NS_PER_SECOND);
    let (days, of_day) = (
        seconds.div_euclid(SECONDS_PER_DAY),
        seconds.rem_euclid(SECONDS_PER_DAY),
    );
    let (year, month, day) = civil_from_days(days);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!(
            "{:02}:{:02}:{:02}",
            of_day / 3_600,
            of_day % 3_600 / 60,
            of_day % 60
        ),
    )
}

/// Days in `month` (1 to 12) of `year`, proleptic Gregorian.
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

/// Days since 1970-01-01 as (year, month, day); the inverse of
/// [`days_from_civil`] (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-10-10T00:00:07Z, s since the epoch.
    const OCT_10_7S: i64 = 1_760_054_407;

    #[test]
    fn every_accepted_form_parses() {
        let ns = OCT_10_7S * NS_PER_SECOND;
        for text in [
            "2025-10-10T00:00:07Z",
            "2025-10-10 00:00:07",
            "2025-10-10T00:00:07+00:00",
            "  2025-10-10T00:00:07Z\n",
            "2025-10-10T00:00:07.000Z",
        ] {
            assert_eq!(parse_utc_ns(text), Some(ns), "{text:?}");
        }
        assert_eq!(parse_utc_ns("1970-01-01 00:00:00"), Some(0));
        assert_eq!(
            parse_utc_ns("2025-10-10T20:00Z"),
            Some(1_760_126_400 * NS_PER_SECOND)
        );
        assert_eq!(
            parse_utc_ns("2025-10-10T00:00:07.5Z"),
            Some(ns + 500_000_000)
        );
        assert_eq!(parse_utc_ns("2025-10-10T00:00:07.000000001Z"), Some(ns + 1));
        assert_eq!(
            parse_utc_ns("2024-02-29 12:00:00"),
            Some(1_709_208_000 * NS_PER_SECOND)
        );
        assert_eq!(parse_utc_ns("1969-12-31T23:59:59Z"), Some(-NS_PER_SECOND));
    }

    #[test]
    fn malformed_or_impossible_text_is_refused() {
        for bad in [
            "",
            "garbled",
            "1760054407000",
            "2025-10-1000:00:07",
            "2025-1-10T00:00:07Z",
            "2025-13-10 00:00:07",
            "2023-02-29 00:00:00",
            "2025-04-31T00:00:00Z",
            "2025-10-10 24:00:00",
            "2025-10-10T00:60:00Z",
            "2025-10-10T00:00:60Z",
            "2025-10-10 00:00:07.",
            "2025-10-10 00:00:07.1234567890",
            "2025-10-10T00:00:07+01:00",
            "2025-10-10T00:00:7Z",
            "2300-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_utc_ns(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc_ns(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_utc_ns(1_760_131_200_000_000_000),
            "2025-10-10T21:20:00Z"
        );
        assert_eq!(
            format_utc_ns(951_782_400_123_000_000),
            "2000-02-29T00:00:00.123Z"
        );
        assert_eq!(format_utc_ns(-NS_PER_SECOND), "1969-12-31T23:59:59Z");
        assert_eq!(
            format_utc_label(1_760_126_400_000_000_000),
            "2025-10-10 20:00:00 UTC"
        );
        assert_eq!(format_utc_label(-1), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn formatting_then_parsing_gives_the_instant_back() {
        let mut ns: i64 = -3_000_000_000_000_000_123;
        while ns < 7_000_000_000_000_000_000 {
            assert_eq!(parse_utc_ns(&format_utc_ns(ns)), Some(ns), "{ns}");
            ns += 86_399_999_999_937 * 7;
        }
    }
}
