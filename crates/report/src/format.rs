//! Numbers as a reader expects them: `$1,234,567`, `12.3%`, `12.3% [10.1%, 14.8%]`.

/// Groups the digits of a non-negative integer string in threes with commas.
fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    let first = digits.len() % 3;
    for (i, c) in digits.chars().enumerate() {
        if i != 0 && (i + 3 - first).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A whole number with thousands separators: `1234567.4` → `1,234,567`.
/// Non-finite values render as `n/a`.
#[must_use]
pub fn count(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    let rounded = value.round();
    let sign = if rounded < 0.0 { "-" } else { "" };
    format!(
        "{sign}{}",
        group_thousands(&format!("{:.0}", rounded.abs()))
    )
}

/// US dollars, whole, with thousands separators: `-1234567.4` → `-$1,234,567`.
/// Non-finite values render as `n/a`.
#[must_use]
pub fn usd(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    let rounded = value.round();
    let sign = if rounded < 0.0 { "-" } else { "" };
    format!(
        "{sign}${}",
        group_thousands(&format!("{:.0}", rounded.abs()))
    )
}

/// Decimals a percentage needs: one, or two below 1% (so 0.06% is not `0.1%`).
fn pct_decimals(fraction: f64) -> usize {
    let p = (fraction * 100.0).abs();
    if p != 0.0 && p < 1.0 { 2 } else { 1 }
}

fn pct_with(fraction: f64, decimals: usize) -> String {
    if !fraction.is_finite() {
        return "n/a".to_owned();
    }
    let text = format!("{:.*}", decimals, fraction * 100.0);
    // Never print "-0.0%".
    let text = if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_owned()
    } else {
        text
    };
    format!("{text}%")
}

/// A fraction as a percentage: `0.123` → `12.3%`, `0.0006` → `0.06%`.
#[must_use]
pub fn pct(fraction: f64) -> String {
    pct_with(fraction, pct_decimals(fraction))
}

/// A probability with its interval, all with the same decimals:
/// `12.3% [10.1%, 14.8%]`.
#[must_use]
pub fn pct_interval(value: f64, low: f64, high: f64) -> String {
    let decimals = [value, low, high]
        .into_iter()
        .map(pct_decimals)
        .max()
        .unwrap_or(1);
    format!(
        "{} [{}, {}]",
        pct_with(value, decimals),
        pct_with(low, decimals),
        pct_with(high, decimals)
    )
}

/// Compact dollars for chart axes: `$0`, `$250k`, `$1.5M`, `-$2B`; never
/// scientific notation.
#[must_use]
pub fn usd_compact(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    let sign = if value < 0.0 { "-" } else { "" };
    format!("{sign}${}", compact(value.abs()))
}

/// Compact plain number for chart axes: `950`, `12k`, `1.5M`.
#[must_use]
pub fn number_compact(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    let sign = if value < 0.0 { "-" } else { "" };
    format!("{sign}{}", compact(value.abs()))
}

fn compact(abs: f64) -> String {
    let (scaled, suffix) = if abs >= 1e12 {
        (abs / 1e12, "T")
    } else if abs >= 1e9 {
        (abs / 1e9, "B")
    } else if abs >= 1e6 {
        (abs / 1e6, "M")
    } else if abs >= 1e3 {
        (abs / 1e3, "k")
    } else {
        (abs, "")
    };
    let text = if scaled >= 100.0 || (suffix.is_empty() && scaled >= 10.0) {
        format!("{scaled:.0}")
    } else {
        let t = format!("{scaled:.2}");
        t.trim_end_matches('0').trim_end_matches('.').to_owned()
    };
    format!("{text}{suffix}")
}

/// Plain number for tables: integers with separators, other values with up to
/// six significant decimals and no trailing zeros, never scientific notation.
#[must_use]
pub fn plain(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return count(value);
    }
    let text = format!("{value:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// How a swept value reads: a readable name and a unit.
#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Usd,
    Fraction,
    Plain,
}

/// A readable name for a swept key path, with its unit:
/// `market.btc.tiers[0].mmr` → `BTC maintenance margin, bracket 1`.
#[must_use]
pub fn parameter_label(key: &str) -> (String, &'static str) {
    let (name, unit) = label_unit(key);
    let unit = match unit {
        Unit::Usd => "USD",
        Unit::Fraction => "%",
        Unit::Plain => "",
    };
    (name, unit)
}

fn label_unit(key: &str) -> (String, Unit) {
    let parts: Vec<&str> = key.split('.').collect();
    let last = parts.last().copied().unwrap_or(key);
    let market = match parts.as_slice() {
        ["market", m, ..] => format!("{} ", m.to_uppercase()),
        _ => String::new(),
    };
    let bracket = parts
        .iter()
        .find_map(|p| p.strip_prefix("tiers["))
        .and_then(|p| p.trim_end_matches(']').parse::<usize>().ok())
        .map_or_else(String::new, |i| format!(", bracket {}", i + 1));
    let (name, unit) = match last {
        "initial" if key.starts_with("insurance_fund") => ("insurance fund".to_owned(), Unit::Usd),
        "initial" if key.ends_with(".insurance_fund.initial") => {
            ("own insurance fund".to_owned(), Unit::Usd)
        }
        "floor" if key.contains("insurance_fund") => ("insurance fund floor".to_owned(), Unit::Usd),
        "mmr" => ("maintenance margin".to_owned(), Unit::Fraction),
        "imr" => ("initial margin".to_owned(), Unit::Fraction),
        "fee" if key.starts_with("liquidation") => ("liquidation fee".to_owned(), Unit::Fraction),
        "latency_steps" => ("liquidation latency (steps)".to_owned(), Unit::Plain),
        "chunk_fraction" => ("liquidation chunk".to_owned(), Unit::Fraction),
        "target_buffer" => ("liquidation target buffer".to_owned(), Unit::Fraction),
        "max_leverage" => ("maximum leverage".to_owned(), Unit::Plain),
        other => (other.replace('_', " "), Unit::Plain),
    };
    (format!("{market}{name}{bracket}"), unit)
}

/// The venues of a venue sweep by code: the `venue` parameter's value is the
/// venue's rank in this list (`backstop_sim::venue::rulebook::Venue::ALL`,
/// `config::sweep::venue_code`).
pub const VENUES: [&str; 5] = ["binance-usdm", "hyperliquid", "dydx-v4", "bitmex", "drift"];

/// `v` as the parameter at `key` reads: `$250,000`, `0.5%`, `2`; a venue
/// sweep's `venue` as the venue's name (`dydx-v4`).
#[must_use]
pub fn parameter_value(key: &str, v: f64) -> String {
    if key == "venue"
        && v >= 0.0
        && v.fract() == 0.0
        && let Some(name) = VENUES.get(v as usize)
    {
        return (*name).to_owned();
    }
    match label_unit(key).1 {
        Unit::Usd => usd(v),
        Unit::Fraction => {
            let p = v * 100.0;
            format!("{}%", plain((p * 1e6).round() / 1e6))
        }
        Unit::Plain => plain(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_have_separators() {
        assert_eq!(usd(1_234_567.4), "$1,234,567");
        assert_eq!(usd(-1_234.6), "-$1,235");
        assert_eq!(usd(999.0), "$999");
        assert_eq!(usd(0.2), "$0");
        assert_eq!(usd(-0.2), "$0");
        assert_eq!(usd(100_000.0), "$100,000");
        assert_eq!(usd(f64::NAN), "n/a");
        assert_eq!(count(1000.0), "1,000");
    }

    #[test]
    fn percentages_and_intervals() {
        assert_eq!(pct(0.123), "12.3%");
        assert_eq!(pct(0.0006), "0.06%");
        assert_eq!(pct(0.0), "0.0%");
        assert_eq!(pct(1.0), "100.0%");
        assert_eq!(pct_interval(0.123, 0.101, 0.148), "12.3% [10.1%, 14.8%]");
        assert_eq!(pct_interval(0.012, 0.0062, 0.0209), "1.20% [0.62%, 2.09%]");
    }

    #[test]
    fn compact_axis_labels() {
        assert_eq!(usd_compact(0.0), "$0");
        assert_eq!(usd_compact(250_000.0), "$250k");
        assert_eq!(usd_compact(1_500_000.0), "$1.5M");
        assert_eq!(usd_compact(-2e9), "-$2B");
        assert_eq!(usd_compact(12.4), "$12");
        assert_eq!(usd_compact(2.5), "$2.5");
        assert_eq!(number_compact(1_250.0), "1.25k");
        assert_eq!(plain(0.005), "0.005");
        assert_eq!(plain(10000.0), "10,000");
    }

    #[test]
    fn parameters_read_as_names_and_units() {
        assert_eq!(
            parameter_label("market.btc.tiers[0].mmr"),
            ("BTC maintenance margin, bracket 1".to_owned(), "%")
        );
        assert_eq!(parameter_value("market.btc.tiers[0].mmr", 0.005), "0.5%");
        assert_eq!(
            parameter_value("insurance_fund.initial", 1_250_000.0),
            "$1,250,000"
        );
        assert_eq!(parameter_value("liquidation.latency_steps", 2.0), "2");
        assert_eq!(parameter_value("venue", 2.0), "dydx-v4");
        assert_eq!(parameter_value("venue", 4.0), "drift");
    }
}
