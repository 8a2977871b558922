//! Axes: the time axis every chart over time shares ([`TimeAxis`], from the
//! recorded step times), steps summed into time buckets for bar charts
//! ([`bucket`]), value ranges, and the tick labels of each kind of axis.

use backstop_data::time::{format_utc_label, parse_utc_ns};

use crate::data::ReportData;
use crate::format::{number_compact, pct, usd, usd_compact};

/// Nanoseconds in a second.
pub(crate) const NS: f64 = 1e9;

/// How elapsed time is shown on x axes: positions are the recorded step times
/// (`ts_ns` of `steps.parquet` / `ts` of `bands.parquet`) relative to the first,
/// so a tick replay's irregular steps land at their real times.
#[derive(Debug, Clone)]
pub(crate) struct TimeAxis {
    /// Time at x = 0, ns since the Unix epoch.
    pub(crate) origin_ns: i64,
    /// Nanoseconds per axis unit (minute, hour or day).
    pub(crate) ns_per_unit: f64,
    /// Axis description, naming the origin and the unit.
    pub(crate) label: String,
}

/// Recorded times of `steps` when usable (one per step, non-decreasing), else
/// `step × step_seconds` after `summary.start` (or the epoch when absent).
pub(crate) fn step_times(data: &ReportData, steps: &[u32], ts_ns: &[i64]) -> Vec<i64> {
    let recorded = ts_ns.len() == steps.len()
        && !ts_ns.is_empty()
        && ts_ns.windows(2).all(|w| w[0] <= w[1])
        && ts_ns.first() != ts_ns.last();
    if recorded || (ts_ns.len() == 1 && steps.len() == 1) {
        return ts_ns.to_vec();
    }
    let origin = data
        .summary
        .start
        .as_deref()
        .and_then(parse_utc_ns)
        .unwrap_or(0);
    steps
        .iter()
        .map(|s| {
            #[allow(clippy::cast_possible_truncation)]
            let offset = (f64::from(*s) * data.summary.step_seconds * NS) as i64;
            origin.saturating_add(offset)
        })
        .collect()
}

impl TimeAxis {
    /// An axis over the step times `times` (ns since the epoch, ascending): origin
    /// the first, unit chosen from the span.
    pub(crate) fn new(times: &[i64]) -> Self {
        let origin_ns = times.first().copied().unwrap_or(0);
        let last = times.last().copied().unwrap_or(origin_ns);
        #[allow(clippy::cast_precision_loss)]
        let total = last.saturating_sub(origin_ns) as f64 / NS;
        let (seconds_per_unit, unit) = time_unit(total);
        Self {
            origin_ns,
            ns_per_unit: seconds_per_unit * NS,
            label: format!("Time since {} ({unit})", format_utc_label(origin_ns)),
        }
    }

    /// Position of the time `ts_ns` on the axis.
    pub(crate) fn x(&self, ts_ns: i64) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let dt = ts_ns.saturating_sub(self.origin_ns) as f64;
        dt / self.ns_per_unit
    }

    /// Length of `seconds` on the axis.
    pub(crate) fn width(&self, seconds: f64) -> f64 {
        seconds * NS / self.ns_per_unit
    }
}

/// Time-axis unit for a span of `seconds`: (seconds per unit, unit name).
pub(crate) fn time_unit(seconds: f64) -> (f64, &'static str) {
    if seconds <= 3.0 * 3600.0 {
        (60.0, "minutes")
    } else if seconds <= 72.0 * 3600.0 {
        (3600.0, "hours")
    } else {
        (86400.0, "days")
    }
}

/// Most bars a time-bar chart draws before steps are summed into time buckets.
pub const MAX_BARS: usize = 240;

/// Buckets a time-bar chart aims for when it sums steps.
pub(crate) const TARGET_BUCKETS: f64 = 200.0;

/// Per-step values summed into equal time buckets for a bar chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bucketed {
    /// Left edge of each bar on the time axis.
    pub(crate) x: Vec<f64>,
    /// Width of a bar on the time axis.
    pub(crate) dx: f64,
    /// What one bar covers, for axis labels: `step` or `5 min`.
    pub(crate) per: String,
    /// The summed series, in input order, one value per bar.
    pub(crate) series: Vec<Vec<f64>>,
}

/// Bucket widths offered, seconds, with their labels.
pub(crate) const BUCKET_WIDTHS: [(f64, &str); 20] = [
    (1.0, "1 s"),
    (5.0, "5 s"),
    (10.0, "10 s"),
    (15.0, "15 s"),
    (30.0, "30 s"),
    (60.0, "1 min"),
    (120.0, "2 min"),
    (300.0, "5 min"),
    (600.0, "10 min"),
    (900.0, "15 min"),
    (1800.0, "30 min"),
    (3600.0, "1 h"),
    (7200.0, "2 h"),
    (10800.0, "3 h"),
    (21600.0, "6 h"),
    (43200.0, "12 h"),
    (86400.0, "1 day"),
    (172_800.0, "2 days"),
    (604_800.0, "7 days"),
    (2_592_000.0, "30 days"),
];

/// Bars for `series` (one value per step at `times`): one bar per step when the
/// steps are regular and few (at most [`MAX_BARS`]), else the sums over equal
/// time buckets of a round width giving about 200 bars. Non-finite values count
/// as zero.
pub(crate) fn bucket(
    time: &TimeAxis,
    times: &[i64],
    regular_step_seconds: Option<f64>,
    series: &[&[f64]],
) -> Bucketed {
    let n = times.len();
    if let Some(step) = regular_step_seconds.filter(|_| n <= MAX_BARS) {
        return Bucketed {
            x: times.iter().map(|t| time.x(*t)).collect(),
            dx: time.width(step),
            per: "step".to_owned(),
            series: series
                .iter()
                .map(|s| {
                    s.iter()
                        .map(|v| if v.is_finite() { *v } else { 0.0 })
                        .collect()
                })
                .collect(),
        };
    }
    let first = times.first().copied().unwrap_or(0);
    let last = times.last().copied().unwrap_or(first);
    #[allow(clippy::cast_precision_loss)]
    let span = last.saturating_sub(first) as f64 / NS;
    let min_width = (span / TARGET_BUCKETS).max(regular_step_seconds.unwrap_or(0.0));
    let (width, label) = BUCKET_WIDTHS
        .iter()
        .copied()
        .find(|(w, _)| *w >= min_width)
        .unwrap_or(BUCKET_WIDTHS[BUCKET_WIDTHS.len() - 1]);
    #[allow(clippy::cast_possible_truncation)]
    let width_ns = ((width * NS) as i64).max(1);
    let count = usize::try_from(last.saturating_sub(first) / width_ns)
        .unwrap_or(0)
        .saturating_add(1)
        .min(100_000);
    let mut sums = vec![vec![0.0; count]; series.len()];
    for (i, t) in times.iter().enumerate() {
        let b = usize::try_from(t.saturating_sub(first) / width_ns)
            .unwrap_or(0)
            .min(count - 1);
        for (out, s) in sums.iter_mut().zip(series) {
            if let Some(v) = s.get(i).filter(|v| v.is_finite()) {
                out[b] += v;
            }
        }
    }
    let x = (0..count)
        .map(|b| {
            let offset = i64::try_from(b).unwrap_or(0).saturating_mul(width_ns);
            time.x(first.saturating_add(offset))
        })
        .collect();
    Bucketed {
        x,
        dx: time.width(width),
        per: label.to_owned(),
        series: sums,
    }
}

/// The step length when the run steps regularly (not a tick replay).
pub(crate) fn regular_step(data: &ReportData) -> Option<f64> {
    (!data.summary.is_tick()).then_some(data.summary.step_seconds)
}

/// `[lo, hi]` with a margin, never empty.
pub(crate) fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let span = hi - lo;
    if span <= f64::EPSILON * hi.abs().max(1.0) {
        let pad = (hi.abs() * 0.05).max(1.0);
        return (lo - pad, hi + pad);
    }
    (lo - span * 0.05, hi + span * 0.05)
}

/// A price axis over `[lo, hi]` spanning at least [`MIN_PRICE_SPAN`] of the
/// price level, so a move of a fraction of a percent does not fill the panel
/// like a crash would.
pub(crate) fn price_range(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return padded(lo, hi);
    }
    let mid = (lo + hi) / 2.0;
    let min_span = mid.abs() * MIN_PRICE_SPAN;
    if hi - lo >= min_span {
        return padded(lo, hi);
    }
    let (lo2, hi2) = (mid - min_span / 2.0, mid + min_span / 2.0);
    // Prices are positive: never push the axis below zero for that.
    if lo >= 0.0 && lo2 < 0.0 {
        (0.0, hi2 - lo2)
    } else {
        (lo2, hi2)
    }
}

/// Least span of a price axis, as a fraction of the price.
pub(crate) const MIN_PRICE_SPAN: f64 = 0.1;

pub(crate) fn min_max<'a>(values: impl IntoIterator<Item = &'a f64>) -> (f64, f64) {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        })
}

pub(crate) fn x_range(x: &[f64], extra: f64) -> (f64, f64) {
    let (lo, hi) = min_max(x);
    if lo.is_finite() && hi > lo {
        (lo, hi + extra)
    } else {
        (0.0, 1.0)
    }
}

pub(crate) fn time_fmt(v: &f64) -> String {
    number_compact(*v)
}

/// Percentages on axes: `10%`, `1%`, `0.1%` (no trailing zeros).
pub(crate) fn pct_fmt(v: &f64) -> String {
    let text = pct(*v);
    match text.strip_suffix('%') {
        Some(num) if num.contains('.') => {
            format!("{}%", num.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => text,
    }
}

pub(crate) fn usd_fmt(v: &f64) -> String {
    usd_compact(*v)
}

/// Counts on axes: whole numbers only (no `0.5` fills).
pub(crate) fn count_fmt(v: &f64) -> String {
    if (v - v.round()).abs() > 1e-9 {
        String::new()
    } else {
        number_compact(*v)
    }
}

/// Price labels precise enough to tell the ticks of `[lo, hi]` apart: compact
/// (`$115k`) for a wide range, whole dollars with separators (`$100,250`) or
/// cents for a narrow one.
pub(crate) fn price_formatter(lo: f64, hi: f64) -> impl Fn(&f64) -> String {
    let span = (hi - lo).abs();
    let magnitude = lo.abs().max(hi.abs());
    // Roughly ten ticks: the tick spacing decides the decimals.
    let step = span / 10.0;
    #[allow(clippy::cast_possible_truncation)]
    let decimals = if step > 0.0 && step.is_finite() {
        (-step.log10().floor()).clamp(0.0, 6.0) as usize
    } else {
        0
    };
    let compact_ok = span >= magnitude * 0.2 || magnitude < 1000.0 && decimals == 0;
    move |v: &f64| {
        if compact_ok && decimals == 0 {
            usd_compact(*v)
        } else if decimals == 0 {
            usd(*v)
        } else if !v.is_finite() {
            "n/a".to_owned()
        } else {
            let sign = if *v < 0.0 { "-" } else { "" };
            format!("{sign}${:.*}", decimals, v.abs())
        }
    }
}

/// A swept value as an axis label: compact USD for money-like names, else as
/// the parameter reads (`0.5%` for a margin rate).
pub(crate) fn axis_value(name: &str, v: f64) -> String {
    let money = ["initial", "floor", "usd", "notional", "collateral", "price"];
    if money.iter().any(|m| name.contains(m)) {
        usd_compact(v)
    } else {
        crate::format::parameter_value(name, v)
    }
}
