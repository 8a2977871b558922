//! The chart of a comparison: both runs' insurance-fund balances (and marks)
//! on one time axis.

use backstop_data::time::format_utc_label;

use super::run::Run;
use super::values::{multi_any, value};
use crate::charts::axis::{step_times, time_unit};
use crate::charts::plot::{Chart, OverlayLine};
use crate::charts::specs::overlay::overlay;
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::{count, usd};

/// What a run contributes to the chart: step times, fund balance (one path's,
/// or the median across paths) and, when known, a market's mark.
struct Series {
    times: Vec<i64>,
    fund: Vec<f64>,
    mark: Option<(String, Vec<f64>)>,
}

impl Series {
    /// The series of run `d`.
    fn of(d: &ReportData) -> Self {
        if !d.single_path()
            && let Some(band) = d.venue_band("insurance_fund")
        {
            let times = step_times(d, &band.step, &band.ts_ns);
            let mark = d
                .bands
                .iter()
                .find(|((m, s), b)| !m.is_empty() && s == "mark" && b.step == band.step)
                .map(|((m, _), b)| (m.clone(), b.p50.clone()));
            return Self {
                times,
                fund: band.p50.clone(),
                mark,
            };
        }
        match d.path0.as_ref() {
            Some(p) => Self {
                times: step_times(d, &p.step, &p.ts_ns),
                fund: p.insurance_fund.clone(),
                mark: Some((p.market.clone(), p.mark.clone())),
            },
            None => Self {
                times: Vec::new(),
                fund: Vec::new(),
                mark: None,
            },
        }
    }

    /// The first step time, ns (0 without steps).
    fn first(&self) -> i64 {
        self.times.first().copied().unwrap_or(0)
    }

    /// Seconds from the first to the last step time.
    fn span(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let span = self
            .times
            .last()
            .copied()
            .unwrap_or(0)
            .saturating_sub(self.first()) as f64
            / 1e9;
        span
    }

    /// Positions on the time axis: time since this run's start, in `unit_seconds`.
    fn x(&self, unit_seconds: f64) -> Vec<f64> {
        let origin = self.first();
        #[allow(clippy::cast_precision_loss)]
        let x = self
            .times
            .iter()
            .map(|t| t.saturating_sub(origin) as f64 / 1e9 / unit_seconds)
            .collect();
        x
    }
}

/// The overlaid insurance-fund chart (and the marks, when both runs have them).
pub(crate) fn fund_chart(a: &Run, b: &Run) -> Result<Chart, ReportError> {
    let (xa, xb) = (Series::of(a.data), Series::of(b.data));
    let (unit_seconds, unit) = time_unit(xa.span().max(xb.span()));
    let x_desc = if xa.first() == xb.first() {
        format!("Time since {} ({unit})", format_utc_label(xa.first()))
    } else {
        format!("Time since each run's start ({unit})")
    };
    let what = |d: &ReportData| {
        if d.single_path() {
            String::new()
        } else {
            #[allow(clippy::cast_precision_loss)]
            let paths = d.summary.paths as f64;
            format!(" (median of {} paths)", count(paths))
        }
    };
    let runs = vec![
        OverlayLine {
            label: format!("{}{}", a.label, what(a.data)),
            x: xa.x(unit_seconds),
            y: xa.fund.clone(),
            color: 0,
            start: a.data.summary.insurance_fund_initial,
        },
        OverlayLine {
            label: format!("{}{}", b.label, what(b.data)),
            x: xb.x(unit_seconds),
            y: xb.fund.clone(),
            color: 1,
            start: b.data.summary.insurance_fund_initial,
        },
    ];
    let (marks, mark_desc) = mark_lines(a, b, (&xa, &xb), unit_seconds);
    let (subtitle, caption) = texts(a, b, !marks.is_empty());
    overlay(
        "compare_insurance_fund",
        format!("Insurance-fund balance: {} vs {}", a.label, b.label),
        subtitle,
        caption,
        x_desc,
        "Insurance-fund balance (USD)".to_owned(),
        runs,
        marks,
        mark_desc,
    )
}

/// The two runs' marks for the lower panel, with its axis description; none
/// unless both runs have one.
fn mark_lines(
    a: &Run,
    b: &Run,
    (xa, xb): (&Series, &Series),
    unit_seconds: f64,
) -> (Vec<OverlayLine>, String) {
    let (Some((ma, va)), Some((mb, vb))) = (&xa.mark, &xb.mark) else {
        return (Vec::new(), String::new());
    };
    let desc = if ma == mb {
        format!("{} mark price (USD)", ma.to_uppercase())
    } else {
        format!(
            "Mark price (USD): {} and {}",
            ma.to_uppercase(),
            mb.to_uppercase()
        )
    };
    let lines = vec![
        OverlayLine {
            label: a.label.clone(),
            x: xa.x(unit_seconds),
            y: va.clone(),
            color: 0,
            start: None,
        },
        OverlayLine {
            label: b.label.clone(),
            x: xb.x(unit_seconds),
            y: vb.clone(),
            color: 1,
            start: None,
        },
    ];
    (lines, desc)
}

/// The chart's subtitle and caption: both runs' max drawdown.
fn texts(a: &Run, b: &Run, has_marks: bool) -> (String, String) {
    let dd = |d: &ReportData| {
        value(d, "insurance_fund_max_drawdown").map_or_else(|| "n/a".to_owned(), usd)
    };
    let (line, drawdown) = if multi_any(a, b) {
        ("the median across paths", "mean max drawdown")
    } else {
        ("the path", "max drawdown")
    };
    let mut caption = format!(
        "Insurance-fund balance at the end of each step of both runs (top; {line}): {} \
         ({drawdown} {}) and {} ({drawdown} {}); dashed the starting balance, red zero.",
        a.label,
        dd(a.data),
        b.label,
        dd(b.data),
    );
    if has_marks {
        caption.push_str(" Bottom: each run's mark price, same colours.");
    }
    let subtitle = format!(
        "Max drawdown{}: {} {}, {} {}",
        if multi_any(a, b) {
            " (mean across paths)"
        } else {
            ""
        },
        a.label,
        dd(a.data),
        b.label,
        dd(b.data),
    );
    (subtitle, caption)
}

/// The insurance-fund chart of a comparison of more than two runs: every
/// run's balance (one path: the path; several: the median) on one time axis,
/// one colour each, and the marks below when every run has one.
pub(crate) fn fund_chart_many(runs: &[Run]) -> Result<Chart, ReportError> {
    let series: Vec<Series> = runs.iter().map(|r| Series::of(r.data)).collect();
    let span = series.iter().map(Series::span).fold(0.0, f64::max);
    let (unit_seconds, unit) = time_unit(span);
    let first = series.first().map_or(0, Series::first);
    let x_desc = if series.iter().all(|s| s.first() == first) {
        format!("Time since {} ({unit})", format_utc_label(first))
    } else {
        format!("Time since each run's start ({unit})")
    };
    let multi = runs.iter().any(|r| !r.data.single_path());
    let what = |d: &ReportData| {
        if d.single_path() {
            String::new()
        } else {
            #[allow(clippy::cast_precision_loss)]
            let paths = d.summary.paths as f64;
            format!(" (median of {} paths)", count(paths))
        }
    };
    let lines: Vec<OverlayLine> = runs
        .iter()
        .zip(&series)
        .enumerate()
        .map(|(i, (r, s))| OverlayLine {
            label: format!("{}{}", r.label, what(r.data)),
            x: s.x(unit_seconds),
            y: s.fund.clone(),
            color: i,
            start: r.data.summary.insurance_fund_initial,
        })
        .collect();
    let marks: Vec<OverlayLine> = if series.iter().all(|s| s.mark.is_some()) {
        runs.iter()
            .zip(&series)
            .enumerate()
            .filter_map(|(i, (r, s))| {
                s.mark.as_ref().map(|(_, y)| OverlayLine {
                    label: r.label.clone(),
                    x: s.x(unit_seconds),
                    y: y.clone(),
                    color: i,
                    start: None,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut markets: Vec<String> = series
        .iter()
        .filter_map(|s| s.mark.as_ref().map(|(m, _)| m.to_uppercase()))
        .collect();
    markets.dedup();
    let mark_desc = if marks.is_empty() {
        String::new()
    } else if markets.len() == 1 {
        format!("{} mark price (USD)", markets[0])
    } else {
        format!("Mark price (USD): {}", markets.join(", "))
    };
    let dd = |d: &ReportData| {
        value(d, "insurance_fund_max_drawdown").map_or_else(|| "n/a".to_owned(), usd)
    };
    let (line, drawdown) = if multi {
        ("the median across paths", "mean max drawdown")
    } else {
        ("the path", "max drawdown")
    };
    let each: Vec<String> = runs
        .iter()
        .map(|r| format!("{} {}", r.label, dd(r.data)))
        .collect();
    let mut caption = format!(
        "Insurance-fund balance at the end of each step of every run (top; {line}), \
         {drawdown}: {}; dashed the starting balances, red zero.",
        each.join(", ")
    );
    if !marks.is_empty() {
        caption.push_str(" Bottom: each run's mark price, same colours.");
    }
    let subtitle = format!(
        "Max drawdown{}: {}",
        if multi { " (mean across paths)" } else { "" },
        each.join(", ")
    );
    let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
    overlay(
        "compare_insurance_fund",
        format!("Insurance-fund balance: {}", labels.join(", ")),
        subtitle,
        caption,
        x_desc,
        "Insurance-fund balance (USD)".to_owned(),
        lines,
        marks,
        mark_desc,
    )
}
