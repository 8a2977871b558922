//! The market funds' chart (docs/model.md §6 "Funds per market"): each
//! market's own insurance fund's balance through path 0, from
//! `market_fund_steps.parquet`, titled with the fund that runs out first and
//! the step it does. Runs without a market fund have no such chart.

use backstop_data::MarketFundStepRow;

use super::overlay::overlay;
use super::text::{subtitle, title};
use crate::charts::axis::{TimeAxis, step_times};
use crate::charts::draw::render;
use crate::charts::plot::{Chart, Fan, FanLabels, OverlayLine, Plot};
use crate::charts::style::HEIGHT;
use crate::data::{Band, ReportData};
use crate::error::ReportError;
use crate::format::{count, pct, usd};

/// File stem of the chart.
const NAME: &str = "market_funds";

/// One fund's series: market, steps, balances, first depleted step.
struct FundLine {
    market: String,
    step: Vec<f64>,
    balance: Vec<f64>,
    depleted_at: Option<u32>,
}

/// The funds' series of path 0, in the file's market order.
fn lines(rows: &[MarketFundStepRow]) -> Vec<FundLine> {
    let mut out: Vec<FundLine> = Vec::new();
    for r in rows.iter().filter(|r| r.path == 0) {
        let i = match out.iter().position(|l| l.market == r.market) {
            Some(i) => i,
            None => {
                out.push(FundLine {
                    market: r.market.clone(),
                    step: Vec::new(),
                    balance: Vec::new(),
                    depleted_at: None,
                });
                out.len() - 1
            }
        };
        let line = &mut out[i];
        line.step.push(f64::from(r.step));
        line.balance.push(r.balance);
        if r.depleted && line.depleted_at.is_none() {
            line.depleted_at = Some(r.step);
        }
    }
    out
}

/// The chart's headline: which fund runs out first and at which step, or
/// that none does.
fn headline(lines: &[FundLine]) -> String {
    let first = lines
        .iter()
        .filter_map(|l| l.depleted_at.map(|s| (s, l.market.as_str())))
        .min();
    match first {
        Some((step, m)) => format!(
            "{}'s own fund hits its floor at step {step} (path 0)",
            m.to_uppercase()
        ),
        None => "market funds' balances, none depleted (path 0)".to_owned(),
    }
}

/// Each market fund's balance at the end of each step of path 0, one line per
/// fund, dashed its starting balance; `None` without a market fund.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
pub fn market_funds(data: &ReportData) -> Result<Option<Chart>, ReportError> {
    let lines = lines(&data.market_fund_steps);
    if lines.is_empty() {
        return Ok(None);
    }
    let set = data.first_param_set();
    let initial = |m: &str| {
        data.market_funds
            .iter()
            .find(|r| r.market == m && r.param_set == set && r.path == 0)
            .map(|r| r.initial)
    };
    let notes: Vec<String> = lines
        .iter()
        .map(|l| {
            let end = l.balance.last().copied().unwrap_or(0.0);
            match l.depleted_at {
                Some(s) => format!(
                    "{}'s fund depleted at step {s} (it could not pay in full, or sat at its \
                     floor) and ends at {}",
                    l.market.to_uppercase(),
                    usd(end)
                ),
                None => format!(
                    "{}'s fund never depleted and ends at {}",
                    l.market.to_uppercase(),
                    usd(end)
                ),
            }
        })
        .collect();
    let caption = format!(
        "Balance of each market's own insurance fund at the end of each step of path 0, one \
         line per fund; dashed, its starting balance. {}. The shared fund never pays for these \
         markets.",
        notes.join("; ")
    );
    let what = headline(&lines);
    let runs = lines
        .into_iter()
        .enumerate()
        .map(|(color, l)| OverlayLine {
            start: initial(&l.market),
            label: format!("{}'s own fund", l.market.to_uppercase()),
            x: l.step,
            y: l.balance,
            color,
        })
        .collect();
    overlay(
        NAME,
        title(data, &what),
        subtitle(data),
        caption,
        "Step (path 0)".to_owned(),
        "Market fund balance (USD)".to_owned(),
        runs,
        Vec::new(),
        String::new(),
    )
    .map(Some)
}

/// Across paths (runs of more than one path): one fan chart per market fund
/// of its balance's bands (`bands.parquet`, series `market_fund`), in market
/// order; none for one path or without a market fund.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
pub fn fans(data: &ReportData) -> Result<Vec<Chart>, ReportError> {
    if data.single_path() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for ((market, series), band) in &data.bands {
        if series == "market_fund" && !band.is_empty() {
            out.push(fan(data, market, band)?);
        }
    }
    Ok(out)
}

/// Market `m`'s fund across paths: the fan of its bands, the dashed line its
/// starting balance, the caption its depletion share (a share of the paths
/// run: sampled, so stated with the count).
fn fan(data: &ReportData, m: &str, band: &Band) -> Result<Chart, ReportError> {
    let set = data.first_param_set();
    let rows = data.market_fund_rows(m, set);
    let depleted = rows
        .iter()
        .filter(|r| r.first_depletion_step.is_some())
        .count();
    #[allow(clippy::cast_precision_loss)]
    let share = depleted as f64 / rows.len().max(1) as f64;
    let times = step_times(data, &band.step, &band.ts_ns);
    let time = TimeAxis::new(&times);
    let x: Vec<f64> = times.iter().map(|t| time.x(*t)).collect();
    let upper = m.to_uppercase();
    #[allow(clippy::cast_precision_loss)]
    let caption = format!(
        "{upper}'s own insurance fund balance at the end of each step across {} paths: median \
         line, shaded p25–p75, p5–p95 and p1–p99 bands; dashed line its starting balance, red \
         line zero. It depleted on {} of {} paths ({}).",
        count(rows.len() as f64),
        count(depleted as f64),
        count(rows.len() as f64),
        pct(share),
    );
    let plot = Plot::Fan(Fan {
        time,
        x,
        bands: band.fan_quantiles(),
        start: rows.first().map(|r| r.initial),
        labels: FanLabels {
            y: "Market fund balance (USD)",
            zero: "zero (fund empty)",
        },
    });
    render(
        format!("market_fund_{m}"),
        title(data, &format!("{upper}'s own insurance fund across paths")),
        subtitle(data),
        caption,
        HEIGHT,
        &plot,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(market: &str, step: u32, balance: f64, depleted: bool) -> MarketFundStepRow {
        MarketFundStepRow {
            path: 0,
            step,
            ts_ns: 0,
            market: market.to_owned(),
            balance,
            available: balance,
            payouts: 0.0,
            fee_income: 0.0,
            depleted,
        }
    }

    #[test]
    fn the_headline_names_the_fund_that_runs_out_first_and_its_step() {
        let rows = [
            row("btc", 0, 10.0, false),
            row("alt", 0, 5.0, false),
            row("btc", 1, 10.0, false),
            row("alt", 1, 0.0, true),
        ];
        let l = lines(&rows);
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].balance, vec![5.0, 0.0]);
        assert_eq!(
            headline(&l),
            "ALT's own fund hits its floor at step 1 (path 0)"
        );
        assert!(headline(&l[..1]).contains("none depleted"));
    }
}
