//! The charts of the book and of the per-market and sensitivity sections
//! (docs/model.md §7b): the leverage of the starting book, its
//! liquidation-price ladder and the notional liquidatable per price move, per
//! market; a multi-market run's figures per market; the tornado of a sweep's
//! sensitivity. Each takes the numbers its section computed, so chart and
//! table never disagree.

use super::text::{message_chart, subtitle, title};
use crate::charts::draw::render;
use crate::charts::plot::{Chart, ColumnUnit, Columns, Plot, Tornado, TornadoRow};
use crate::charts::style::{HEIGHT, HIST, LONG, SHORT, TAIL};
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::{count, pct, usd};

/// Leverage buckets of the book's histogram: lower edges, the last open.
const LEVERAGE_EDGES: [f64; 9] = [0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0];

/// Width of a bucket of the liquidation-price ladder, as a move from the start.
const LADDER_STEP: f64 = 0.05;

/// Buckets of the ladder on each side of the start mark (to ±50%).
const LADDER_BUCKETS: usize = 10;

/// `±5%`-style label of a move.
fn signed_pct(x: f64) -> String {
    format!("{}{}", if x < 0.0 { "−" } else { "+" }, pct(x.abs()))
}

/// The book's leverage histogram for `market`: margin units per leverage
/// bucket (`leverage` is each unit's notional over its collateral).
///
/// # Errors
///
/// As [`render`].
pub(crate) fn leverage(
    data: &ReportData,
    market: &str,
    leverage: &[f64],
) -> Result<Chart, ReportError> {
    let name = market.to_uppercase();
    let chart_name = format!("book_leverage_{market}");
    let what = format!("{name} leverage of the starting book");
    let finite: Vec<f64> = leverage.iter().copied().filter(|x| x.is_finite()).collect();
    if finite.is_empty() {
        return message_chart(
            data,
            chart_name,
            &what,
            format!("No {name} margin unit has collateral: no leverage to chart."),
        );
    }
    let mut counts = vec![0.0; LEVERAGE_EDGES.len()];
    for x in &finite {
        let k = LEVERAGE_EDGES.iter().rposition(|e| *x >= *e).unwrap_or(0);
        counts[k] += 1.0;
    }
    let categories = LEVERAGE_EDGES
        .iter()
        .enumerate()
        .map(|(k, lo)| match LEVERAGE_EDGES.get(k + 1) {
            Some(hi) if *lo == 0.0 => format!("under {hi}×"),
            Some(hi) => format!("{lo}–{hi}×"),
            None => format!("{lo}× and over"),
        })
        .collect();
    render(
        chart_name,
        title(data, &what),
        subtitle(data),
        format!(
            "Margin units of the starting book holding {name} (an isolated position, or a \
             cross account), by leverage: their {name} notional at the starting mark over \
             their collateral; {} units.",
            count(finite.len() as f64)
        ),
        HEIGHT,
        &Plot::Columns(Columns {
            categories,
            colors: vec![HIST; counts.len()],
            values: counts,
            unit: ColumnUnit::Count,
            x_desc: "leverage (notional / collateral)".to_owned(),
            y_desc: "margin units".to_owned(),
            legend: Vec::new(),
        }),
    )
}

/// The liquidation-price ladder of `market`: the notional of the margin units
/// whose liquidation price lies in each 5% bucket of moves from the start mark
/// `p0`, to ±50% (`moves`: each unit's move to liquidation, `None` if it has
/// none, and its notional).
///
/// # Errors
///
/// As [`render`].
pub(crate) fn ladder(
    data: &ReportData,
    market: &str,
    p0: f64,
    moves: &[(Option<f64>, f64)],
) -> Result<Chart, ReportError> {
    let name = market.to_uppercase();
    let chart_name = format!("book_ladder_{market}");
    let what = format!("{name} liquidation-price ladder");
    let reach = LADDER_STEP * LADDER_BUCKETS as f64;
    let mut down = [0.0; LADDER_BUCKETS];
    let mut up = [0.0; LADDER_BUCKETS];
    let mut beyond = 0usize;
    for (m, notional) in moves {
        let Some(m) = m else {
            beyond += 1;
            continue;
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let k = ((m.abs() / LADDER_STEP).floor() as usize).min(LADDER_BUCKETS);
        if m.abs() >= reach || k >= LADDER_BUCKETS {
            beyond += 1;
        } else if *m < 0.0 {
            down[k] += notional;
        } else {
            up[k] += notional;
        }
    }
    if down.iter().chain(&up).all(|v| *v <= 0.0) {
        return message_chart(
            data,
            chart_name,
            &what,
            format!(
                "No {name} margin unit reaches maintenance within a {} move of the start: \
                 the ladder is empty.",
                pct(reach)
            ),
        );
    }
    let mut categories = Vec::new();
    let mut values = Vec::new();
    let mut colors = Vec::new();
    #[allow(clippy::cast_precision_loss)]
    for k in (0..LADDER_BUCKETS).rev() {
        categories.push(signed_pct(-LADDER_STEP * (k + 1) as f64));
        values.push(down[k]);
        colors.push(LONG);
    }
    #[allow(clippy::cast_precision_loss)]
    for (k, v) in up.iter().enumerate() {
        categories.push(signed_pct(LADDER_STEP * (k + 1) as f64));
        values.push(*v);
        colors.push(SHORT);
    }
    render(
        chart_name,
        title(data, &what),
        subtitle(data),
        format!(
            "Notional of the {name} margin units by their liquidation price, as a move from the \
             starting mark {} in 5% buckets, each labelled by its far end (−10% holds the units \
             liquidated by a fall of 5% to 10%): {name} moving alone, no impact, funding or \
             cascade. {} units liquidate only beyond ±{} or never.",
            usd(p0),
            count(beyond as f64),
            pct(reach)
        ),
        HEIGHT,
        &Plot::Columns(Columns {
            categories,
            values,
            colors,
            unit: ColumnUnit::Usd,
            x_desc: format!("{name} move from the starting mark to the liquidation price"),
            y_desc: "notional liquidatable (USD)".to_owned(),
            legend: vec![
                (LONG, "liquidated by a fall".to_owned()),
                (SHORT, "liquidated by a rise".to_owned()),
            ],
        }),
    )
}

/// Liquidations at risk in `market`: the notional liquidatable at each price
/// move of `rows` (`(move, notional)`, the section's table).
///
/// # Errors
///
/// As [`render`].
pub(crate) fn at_risk(
    data: &ReportData,
    market: &str,
    rows: &[(f64, f64)],
) -> Result<Chart, ReportError> {
    let name = market.to_uppercase();
    let chart_name = format!("liquidations_at_risk_{market}");
    let what = format!("{name} liquidations at risk");
    if rows.iter().all(|(_, v)| *v <= 0.0) {
        return message_chart(
            data,
            chart_name,
            &what,
            format!(
                "No {name} margin unit reaches maintenance within a move of ±{}.",
                pct(rows.iter().map(|r| r.0.abs()).fold(0.0, f64::max))
            ),
        );
    }
    render(
        chart_name,
        title(data, &what),
        subtitle(data),
        format!(
            "Notional of the {name} margin units that reach maintenance when {name} moves by \
             each amount from the starting mark (cumulative: a larger move includes the \
             smaller), {name} moving alone, no impact, funding or cascade."
        ),
        HEIGHT,
        &Plot::Columns(Columns {
            categories: rows.iter().map(|(m, _)| signed_pct(*m)).collect(),
            values: rows.iter().map(|(_, v)| *v).collect(),
            colors: rows
                .iter()
                .map(|(m, _)| if *m < 0.0 { LONG } else { SHORT })
                .collect(),
            unit: ColumnUnit::Usd,
            x_desc: format!("{name} move from the starting mark"),
            y_desc: "notional liquidatable (USD)".to_owned(),
            legend: vec![
                (LONG, "fall: longs liquidated".to_owned()),
                (SHORT, "rise: shorts liquidated".to_owned()),
            ],
        }),
    )
}

/// A multi-market run's figures per market: the mean per path of the notional
/// liquidated long and short and of the ADL notional (`rows`: market, long,
/// short, ADL; the section's table).
///
/// # Errors
///
/// As [`render`].
pub(crate) fn per_market(
    data: &ReportData,
    rows: &[(String, f64, f64, f64)],
) -> Result<Chart, ReportError> {
    let what = "liquidations and ADL per market";
    if rows.iter().all(|r| !(r.1 > 0.0 || r.2 > 0.0 || r.3 > 0.0)) {
        return message_chart(
            data,
            "per_market".to_owned(),
            what,
            "No market had a liquidation or an ADL close on any path.".to_owned(),
        );
    }
    let mut categories = Vec::new();
    let mut values = Vec::new();
    let mut colors = Vec::new();
    for (m, long, short, adl) in rows {
        let m = m.to_uppercase();
        for (kind, v, c) in [
            ("long", long, LONG),
            ("short", short, SHORT),
            ("ADL", adl, TAIL),
        ] {
            categories.push(format!("{m} {kind}"));
            values.push(*v);
            colors.push(c);
        }
    }
    render(
        "per_market".to_owned(),
        title(data, what),
        subtitle(data),
        format!(
            "Per market, the mean per path over the {} paths of the notional liquidated (long \
             and short positions) and closed by ADL.",
            count(data.summary.paths as f64)
        ),
        HEIGHT,
        &Plot::Columns(Columns {
            categories,
            values,
            colors,
            unit: ColumnUnit::Usd,
            x_desc: "market".to_owned(),
            y_desc: "mean per path (USD)".to_owned(),
            legend: vec![
                (LONG, "liquidated long".to_owned()),
                (SHORT, "liquidated short".to_owned()),
                (TAIL, "ADL".to_owned()),
            ],
        }),
    )
}

/// The tornado of a sweep's sensitivity: per swept parameter (largest swing
/// first), the lowest and highest P(depletion) over its values with the others
/// held at the centre set, whose P(depletion) is `centre`.
///
/// # Errors
///
/// As [`render`].
pub(crate) fn tornado(
    data: &ReportData,
    centre_text: &str,
    centre: f64,
    rows: Vec<TornadoRow>,
) -> Result<Chart, ReportError> {
    render(
        "sensitivity_tornado".to_owned(),
        title(data, "sensitivity of P(depletion)"),
        subtitle(data),
        format!(
            "One parameter at a time around {centre_text}: each bar spans the lowest to the \
             highest probability of depletion over the parameter's swept values, the others \
             held; the parameter whose values move it most on top. The line is the centre \
             set's probability."
        ),
        HEIGHT,
        &Plot::Tornado(Tornado {
            rows,
            centre,
            color: HIST,
        }),
    )
}
