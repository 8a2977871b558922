//! The book: the starting population as a delegate reads it, per market: the
//! distributions of leverage, notional and distance to liquidation, and the
//! notional liquidatable at a price move of ±5, 10, 20 and 35% (docs/model.md
//! §7b). Computed from `population.parquet` and the scenario's margin brackets
//! alone, at the starting mark; one market moves at a time.

use std::collections::BTreeMap;

use rayon::prelude::*;

use backstop_data::PositionRow;

use super::recommend::Section;
use crate::charts::specs::book as charts;
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::{count, pct, plain, usd};

/// The price moves of the liquidations-at-risk table, as fractions.
pub(crate) const MOVES: [f64; 8] = [-0.35, -0.2, -0.1, -0.05, 0.05, 0.1, 0.2, 0.35];

/// A market's maintenance brackets, `(notional floor, mmr)` ascending by floor.
type Brackets = Vec<(f64, f64)>;

/// The maintenance rate of a position of `notional` USD.
fn mmr(brackets: &Brackets, notional: f64) -> f64 {
    brackets
        .iter()
        .rev()
        .find(|(floor, _)| notional >= *floor)
        .or(brackets.first())
        .map_or(0.0, |b| b.1)
}

/// A margin unit: an isolated position, or a cross account's positions.
struct Unit<'a> {
    rows: Vec<&'a PositionRow>,
}

/// The brackets and starting price of `market` from the flattened scenario
/// parameters (`market.btc.tiers.0.mmr`, `market.btc.price`), the price falling
/// back on path 0's first mark.
fn market_setup(data: &ReportData, market: &str) -> Option<(Brackets, f64)> {
    let get = |key: &str| data.summary.parameter_f64(key);
    let mut brackets = Vec::new();
    for i in 0.. {
        let Some(rate) = get(&format!("market.{market}.tiers.{i}.mmr")) else {
            break;
        };
        let floor = get(&format!("market.{market}.tiers.{i}.notional_floor")).unwrap_or(0.0);
        brackets.push((floor, rate));
    }
    if brackets.is_empty() {
        return None;
    }
    let price = get(&format!("market.{market}.price")).or_else(|| {
        data.path0
            .as_ref()
            .and_then(|p| p.first_marks.get(market).copied())
            .filter(|x| x.is_finite())
    })?;
    Some((brackets, price))
}

/// A row of a margin unit resolved once against the market that moves: its
/// market's brackets and starting price (`None` if the scenario gives none) and
/// whether it is that market, so the bisection below compares no names.
struct Leg<'a> {
    row: &'a PositionRow,
    setup: Option<&'a (Brackets, f64)>,
    moves: bool,
}

/// `unit`'s rows resolved against `market` moving (see [`Leg`]).
fn legs<'a>(
    unit: &Unit<'a>,
    market: &str,
    prices: &'a BTreeMap<&str, (Brackets, f64)>,
) -> Vec<Leg<'a>> {
    unit.rows
        .iter()
        .map(|r| Leg {
            row: r,
            setup: prices.get(r.market.as_str()),
            moves: r.market == market,
        })
        .collect()
}

/// Equity minus maintenance of a unit (its [`legs`]) with the moving market at
/// `price × (1 + x)` and every other market at its starting price.
fn headroom(legs: &[Leg<'_>], x: f64) -> f64 {
    let mut equity = 0.0;
    let mut maintenance = 0.0;
    for leg in legs {
        let r = leg.row;
        equity += r.collateral;
        let Some((brackets, p0)) = leg.setup else {
            continue;
        };
        let p = if leg.moves { p0 * (1.0 + x) } else { *p0 };
        equity += r.size * (p - r.entry_price);
        let notional = r.size.abs() * p;
        maintenance += notional * mmr(brackets, notional);
    }
    equity - maintenance
}

/// The move of `market` (fraction, in `[-0.99, 10]`) at which `unit` reaches
/// maintenance, by bisection; `None` if it does not within the range.
fn liquidation_move(
    unit: &Unit<'_>,
    market: &str,
    prices: &BTreeMap<&str, (Brackets, f64)>,
) -> Option<f64> {
    let legs = legs(unit, market, prices);
    let h0 = headroom(&legs, 0.0);
    if h0 < 0.0 {
        return Some(0.0);
    }
    let net: f64 = legs.iter().filter(|l| l.moves).map(|l| l.row.size).sum();
    let (mut safe, far) = if net >= 0.0 {
        (0.0, -0.99)
    } else {
        (0.0, 10.0)
    };
    if headroom(&legs, far) >= 0.0 {
        return None;
    }
    let mut bad = far;
    for _ in 0..60 {
        let mid = 0.5 * (safe + bad);
        if headroom(&legs, mid) >= 0.0 {
            safe = mid;
        } else {
            bad = mid;
        }
    }
    Some(bad)
}

/// Quantiles p5, p25, p50, p75, p95 of `v` (nearest rank), formatted.
fn quantile_row(label: &str, mut v: Vec<f64>, show: &dyn Fn(f64) -> String) -> Vec<String> {
    v.retain(|x| x.is_finite());
    v.sort_by(f64::total_cmp);
    let mut row = vec![label.to_owned(), count(v.len() as f64)];
    for q in [0.05, 0.25, 0.5, 0.75, 0.95] {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((q * (v.len().max(1) - 1) as f64).round() as usize).min(v.len().saturating_sub(1));
        row.push(v.get(i).map_or_else(|| "–".to_owned(), |x| show(*x)));
    }
    row
}

/// Per market, what the run did there (runs of several markets): the mean per
/// path of the notional liquidated long and short and of the ADL notional (sums
/// over steps of the bands' exact means), and the median path's lowest and
/// highest mark (the extremes over steps of the bands' medians); with their
/// chart.
///
/// # Errors
///
/// The chart's, as [`crate::charts::draw::render`].
pub(crate) fn per_market(data: &ReportData) -> Result<Option<Section>, ReportError> {
    let mut markets: Vec<&str> = data
        .bands
        .keys()
        .filter(|(m, s)| !m.is_empty() && s == "mark")
        .map(|(m, _)| m.as_str())
        .collect();
    markets.dedup();
    if markets.len() < 2 {
        return Ok(None);
    }
    let band = |m: &str, s: &str| data.bands.get(&(m.to_owned(), s.to_owned()));
    let total = |m: &str, s: &str| {
        band(m, s).map_or(f64::NAN, |b| b.mean.iter().filter(|v| v.is_finite()).sum())
    };
    let figures: Vec<(String, f64, f64, f64)> = markets
        .iter()
        .map(|m| {
            (
                (*m).to_owned(),
                total(m, "liquidated_long_notional"),
                total(m, "liquidated_short_notional"),
                total(m, "adl_notional"),
            )
        })
        .collect();
    let chart = charts::per_market(data, &figures)?;
    let rows = markets
        .iter()
        .map(|m| {
            let marks = band(m, "mark");
            let p50 = |f: fn(f64, f64) -> f64, start: f64| {
                marks.map_or(f64::NAN, |b| {
                    b.p50
                        .iter()
                        .copied()
                        .filter(|v| v.is_finite())
                        .fold(start, f)
                })
            };
            vec![
                m.to_uppercase(),
                marks
                    .and_then(|b| b.p50.first().copied())
                    .map_or_else(|| "–".to_owned(), usd),
                usd(p50(f64::min, f64::INFINITY)),
                usd(p50(f64::max, f64::NEG_INFINITY)),
                usd(total(m, "liquidated_long_notional")),
                usd(total(m, "liquidated_short_notional")),
                usd(total(m, "adl_notional")),
            ]
        })
        .collect();
    let mut section = Section {
        id: "per-market".to_owned(),
        heading: "Per market".to_owned(),
        before: vec![format!(
            "What the run did in each market: the liquidated and auto-deleveraged notional \
             are means per path over the {} paths; the marks are those of the median path \
             at each step (its lowest and highest).",
            count(data.summary.paths as f64)
        )],
        table: Some((
            [
                "market",
                "first mark (median)",
                "lowest median mark",
                "highest median mark",
                "liquidated long, mean per path",
                "liquidated short, mean per path",
                "ADL, mean per path",
            ]
            .map(str::to_owned)
            .to_vec(),
            rows,
        )),
        after: Vec::new(),
        charts: Vec::new(),
    };
    section.add_chart(chart);
    Ok(Some(section))
}

/// The book's sections, one per market, with their charts; empty without
/// `population.parquet`.
///
/// # Errors
///
/// The first chart's, as [`crate::charts::draw::render`].
// Over 70 lines: the two tables of each market and their charts, built side by side.
pub(crate) fn sections(data: &ReportData) -> Result<Vec<Section>, ReportError> {
    if data.population.is_empty() {
        return Ok(Vec::new());
    }
    let mut markets: Vec<&str> = data.population.iter().map(|r| r.market.as_str()).collect();
    markets.sort_unstable();
    markets.dedup();
    let prices: BTreeMap<&str, (Brackets, f64)> = markets
        .iter()
        .filter_map(|m| market_setup(data, m).map(|s| (*m, s)))
        .collect();
    // Margin units: isolated rows alone, cross rows by account.
    let mut cross: BTreeMap<u64, Vec<&PositionRow>> = BTreeMap::new();
    let mut units: Vec<Unit<'_>> = Vec::new();
    for r in &data.population {
        if r.isolated {
            units.push(Unit { rows: vec![r] });
        } else {
            cross.entry(r.account_id).or_default().push(r);
        }
    }
    units.extend(cross.into_values().map(|rows| Unit { rows }));
    let mut out = Vec::new();
    for market in &markets {
        let Some((_, p0)) = prices.get(market) else {
            continue;
        };
        let mine: Vec<&Unit<'_>> = units
            .iter()
            .filter(|u| u.rows.iter().any(|r| r.market == *market))
            .collect();
        let notional_of = |u: &Unit<'_>, x: f64| -> f64 {
            u.rows
                .iter()
                .filter(|r| r.market == *market)
                .map(|r| r.size.abs() * p0 * (1.0 + x))
                .sum()
        };
        let open: f64 = mine.iter().map(|u| notional_of(u, 0.0)).sum();
        let collateral = |u: &Unit<'_>| u.rows.iter().map(|r| r.collateral).sum::<f64>();
        let leverage: Vec<f64> = mine
            .iter()
            .map(|u| {
                let c = collateral(u);
                if c > 0.0 {
                    notional_of(u, 0.0) / c
                } else {
                    f64::NAN
                }
            })
            .collect();
        let notional: Vec<f64> = mine.iter().map(|u| notional_of(u, 0.0)).collect();
        // Each unit's bisection alone, in parallel (a population of a million
        // accounts): collected in unit order, the same for any thread count.
        let moves: Vec<Option<f64>> = mine
            .par_iter()
            .map(|u| liquidation_move(u, market, &prices))
            .collect();
        let ladder: Vec<(Option<f64>, f64)> = mine
            .iter()
            .zip(&moves)
            .map(|(u, m)| (*m, notional_of(u, 0.0)))
            .collect();
        let mut risk_rows = Vec::new();
        let mut at_risk_bars = Vec::new();
        for x in MOVES {
            let mut at_risk = 0.0;
            let mut n = 0u64;
            for (u, m) in mine.iter().zip(&moves) {
                let hit = m.is_some_and(|m| {
                    if x < 0.0 {
                        m >= x && m <= 0.0
                    } else {
                        m <= x && m >= 0.0
                    }
                });
                if hit {
                    at_risk += notional_of(u, 0.0);
                    n += 1;
                }
            }
            at_risk_bars.push((x, at_risk));
            risk_rows.push(vec![
                format!("{}{}", if x > 0.0 { "+" } else { "−" }, pct(x.abs())),
                usd(p0 * (1.0 + x)),
                usd(at_risk),
                count(n as f64),
                if open > 0.0 {
                    pct(at_risk / open)
                } else {
                    "–".to_owned()
                },
            ]);
        }
        // The market's three charts side by side (each draws its SVG beside
        // its PNG): no chart of a section is drawn alone after the others
        // (docs/performance.md, "Two threads, round 7"). Errors in the order
        // the charts were drawn one after another.
        let ((leverage_chart, ladder_chart), at_risk_chart) = rayon::join(
            || {
                rayon::join(
                    || charts::leverage(data, market, &leverage),
                    || charts::ladder(data, market, *p0, &ladder),
                )
            },
            || charts::at_risk(data, market, &at_risk_bars),
        );
        let (leverage_chart, ladder_chart) = (leverage_chart?, ladder_chart?);
        let at_risk_chart = at_risk_chart?;
        let liq_price: Vec<f64> = moves.iter().flatten().map(|x| p0 * (1.0 + x)).collect();
        let distance: Vec<f64> = moves.iter().flatten().map(|x| x.abs()).collect();
        let dist_rows = vec![
            quantile_row("leverage (notional / collateral)", leverage, &|x| {
                format!("{}×", plain((x * 10.0).round() / 10.0))
            }),
            quantile_row("notional", notional, &usd),
            quantile_row("liquidation price", liq_price, &usd),
            quantile_row("distance to liquidation", distance, &pct),
        ];
        let name = market.to_uppercase();
        let mut book = Section {
            id: format!("book-{market}"),
            heading: format!("The book: {name}"),
            before: vec![format!(
                "The starting population's {name} margin units ({} units holding {} of {name} \
                 notional at the starting mark {}): an isolated position is its own unit, a \
                 cross account's positions one. Distance to liquidation is the move of {name} \
                 alone (other markets held) that takes the unit's equity to its maintenance \
                 margin (the brackets' rates; fixed amounts left out).",
                count(mine.len() as f64),
                usd(open),
                usd(*p0)
            )],
            table: Some((
                ["measure", "units", "p5", "p25", "median", "p75", "p95"]
                    .map(str::to_owned)
                    .to_vec(),
                dist_rows,
            )),
            after: Vec::new(),
            charts: Vec::new(),
        };
        book.add_chart(leverage_chart);
        book.add_chart(ladder_chart);
        out.push(book);
        let mut risk = Section {
            id: format!("liquidations-at-risk-{market}"),
            heading: format!("Liquidations at risk: {name}"),
            before: vec![format!(
                "Notional of the {name} margin units that reach maintenance when {name} moves \
                 by the given amount from the starting mark, with no other change (no impact, \
                 funding or cascade): what a move alone puts up for liquidation."
            )],
            table: Some((
                [
                    "move",
                    "price",
                    "notional liquidatable",
                    "units",
                    "share of open notional",
                ]
                .map(str::to_owned)
                .to_vec(),
                risk_rows,
            )),
            after: Vec::new(),
            charts: Vec::new(),
        };
        risk.add_chart(at_risk_chart);
        out.push(risk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(account_id: u64, size: f64, collateral: f64, isolated: bool) -> PositionRow {
        PositionRow {
            account_id,
            market: "btc".to_owned(),
            size,
            entry_price: 100.0,
            collateral,
            isolated,
        }
    }

    #[test]
    fn a_long_at_ten_times_reaches_maintenance_near_minus_nine_percent() {
        let r = row(1, 1.0, 10.0, true);
        let unit = Unit { rows: vec![&r] };
        let prices: BTreeMap<&str, (Brackets, f64)> =
            [("btc", (vec![(0.0, 0.01)], 100.0))].into_iter().collect();
        // Equity 10 + (p − 100) = 0.01 p  →  p = 90 / 0.99.
        let x = liquidation_move(&unit, "btc", &prices).unwrap();
        assert!((100.0 * (1.0 + x) - 90.0 / 0.99).abs() < 1e-6, "{x}");
        let short = row(2, -1.0, 10.0, true);
        let unit = Unit { rows: vec![&short] };
        // 10 − (p − 100) = 0.01 p  →  p = 110 / 1.01.
        let x = liquidation_move(&unit, "btc", &prices).unwrap();
        assert!((100.0 * (1.0 + x) - 110.0 / 1.01).abs() < 1e-6, "{x}");
    }

    #[test]
    fn brackets_pick_the_highest_floor_reached() {
        let b = vec![(0.0, 0.005), (250_000.0, 0.01), (1e6, 0.025)];
        assert_eq!(mmr(&b, 10.0), 0.005);
        assert_eq!(mmr(&b, 250_000.0), 0.01);
        assert_eq!(mmr(&b, 5e6), 0.025);
    }
}
