//! The book: the starting population as a delegate reads it, per market: the
//! distributions of leverage, notional and distance to liquidation, and the
//! notional liquidatable at a price move of ±5, 10, 20 and 35% (docs/model.md
//! §7b). Computed from `population.parquet` and the scenario's margin brackets
//! alone, at the starting mark; one market moves at a time.

use std::hint::select_unpredictable;

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

/// The population's margin units as runs of row indices into it: each
/// isolated row alone, in population order, then each cross account's rows
/// (accounts ascending, rows in population order).
struct Units {
    /// Row indices, unit after unit.
    rows: Vec<usize>,
    /// Where each unit's rows start in `rows`, then `rows.len()`.
    starts: Vec<usize>,
}

impl Units {
    /// `population`'s margin units: isolated rows alone, cross rows by account.
    fn of(population: &[PositionRow]) -> Self {
        let mut rows = Vec::with_capacity(population.len());
        let mut starts = Vec::with_capacity(population.len() + 1);
        let mut cross: Vec<(u64, usize)> = Vec::new();
        for (i, r) in population.iter().enumerate() {
            if r.isolated {
                starts.push(rows.len());
                rows.push(i);
            } else {
                cross.push((r.account_id, i));
            }
        }
        // Accounts ascending, each account's rows in population order (the
        // keys are distinct, so any sort gives this one order).
        if !cross.is_sorted() {
            cross.sort_unstable();
        }
        let mut last = None;
        for (account, i) in cross {
            if last != Some(account) {
                starts.push(rows.len());
                last = Some(account);
            }
            rows.push(i);
        }
        starts.push(rows.len());
        Self { rows, starts }
    }

    /// The number of units.
    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Unit `u`'s row indices.
    fn unit(&self, u: usize) -> &[usize] {
        &self.rows[self.starts[u]..self.starts[u + 1]]
    }
}

/// The markets of `population`, sorted and distinct, and each row's index
/// among them.
fn market_indices(population: &[PositionRow]) -> (Vec<&str>, Vec<usize>) {
    let mut markets: Vec<&str> = Vec::new();
    for r in population {
        if markets.last() == Some(&r.market.as_str()) {
            continue;
        }
        if let Err(k) = markets.binary_search(&r.market.as_str()) {
            markets.insert(k, r.market.as_str());
        }
    }
    let mut last: Option<(&str, usize)> = None;
    let index = population
        .iter()
        .map(|r| match last {
            Some((m, k)) if m == r.market => k,
            _ => {
                let k = markets
                    .binary_search(&r.market.as_str())
                    .unwrap_or_default();
                last = Some((r.market.as_str(), k));
                k
            }
        })
        .collect();
    (markets, index)
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

/// Equity minus maintenance of a unit (its [`Leg`]s) with the moving market at
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

/// The number of halvings of the liquidation move's bisection.
const HALVINGS: usize = 60;

/// Where a unit's bisection starts: its move to liquidation when no
/// bisection is needed (`Done`), else the far end of the range, where the
/// unit is below maintenance (the near end, no move, is above).
enum Start {
    Done(Option<f64>),
    Bisect(f64),
}

/// The start of the bisection of the move (fraction, in `[-0.99, 10]`) at
/// which a unit reaches maintenance: `headroom` its headroom at a move, `net`
/// its net size in the moving market.
fn start(headroom: impl Fn(f64) -> f64, net: f64) -> Start {
    if headroom(0.0) < 0.0 {
        return Start::Done(Some(0.0));
    }
    let far = if net >= 0.0 { -0.99 } else { 10.0 };
    if headroom(far) >= 0.0 {
        return Start::Done(None);
    }
    Start::Bisect(far)
}

/// The move of the unit of `legs` at which it reaches maintenance, by
/// bisection; `None` if it does not within the range.
fn liquidation_move(legs: &[Leg<'_>]) -> Option<f64> {
    let net: f64 = legs.iter().filter(|l| l.moves).map(|l| l.row.size).sum();
    let far = match start(|x| headroom(legs, x), net) {
        Start::Done(m) => return m,
        Start::Bisect(far) => far,
    };
    let (mut safe, mut bad) = (0.0, far);
    for _ in 0..HALVINGS {
        let mid = 0.5 * (safe + bad);
        if headroom(legs, mid) >= 0.0 {
            safe = mid;
        } else {
            bad = mid;
        }
    }
    Some(bad)
}

/// A margin unit of one position in the moving market (most units): what its
/// headroom reads, with the sums' first additions (`0.0 + collateral`) done.
#[derive(Clone, Copy, Default)]
struct Single {
    equity0: f64,
    size: f64,
    abs_size: f64,
    entry: f64,
}

impl Single {
    /// `row` as a single-position unit.
    fn of(row: &PositionRow) -> Self {
        Self {
            equity0: 0.0 + row.collateral,
            size: row.size,
            abs_size: row.size.abs(),
            entry: row.entry_price,
        }
    }

    /// [`headroom`] of this unit's one leg (moving, at `p0` with
    /// `brackets`): the same operations in the same order.
    fn headroom(&self, brackets: &Brackets, p0: f64, x: f64) -> f64 {
        let p = p0 * (1.0 + x);
        let equity = self.equity0 + self.size * (p - self.entry);
        let notional = self.abs_size * p;
        equity - (0.0 + notional * mmr(brackets, notional))
    }
}

/// Single-position units bisected side by side, [`LANES`] at a time: each
/// lane's halvings are those of [`liquidation_move`], without branches, so
/// the lanes' chains of dependent operations overlap.
struct Lanes {
    units: [Single; LANES],
    safe: [f64; LANES],
    bad: [f64; LANES],
    /// Each lane's index in the caller's output.
    slot: [usize; LANES],
    len: usize,
}

/// The number of units a [`Lanes`] bisects together.
const LANES: usize = 8;

impl Lanes {
    fn new() -> Self {
        Self {
            units: [Single::default(); LANES],
            safe: [0.0; LANES],
            bad: [0.0; LANES],
            slot: [0; LANES],
            len: 0,
        }
    }

    /// Adds `unit`, whose bisection starts at `far`, for output `slot`;
    /// whether the lanes are full.
    fn push(&mut self, unit: Single, far: f64, slot: usize) -> bool {
        debug_assert!(self.len < LANES, "Invariant: full lanes are bisected first");
        let k = self.len;
        (self.units[k], self.safe[k], self.bad[k], self.slot[k]) = (unit, 0.0, far, slot);
        self.len += 1;
        self.len == LANES
    }

    /// Bisects the lanes in use and writes each one's move to `out[slot]`.
    fn bisect(&mut self, brackets: &Brackets, p0: f64, out: &mut [Option<f64>]) {
        // Unused lanes repeat lane 0: their work is thrown away.
        for k in self.len..LANES {
            (self.units[k], self.safe[k], self.bad[k]) = (self.units[0], 0.0, self.bad[0]);
        }
        let (first, rest) = brackets
            .split_first()
            .map_or((0.0, &[][..]), |(b, r)| (b.1, r));
        let u = &self.units;
        for _ in 0..HALVINGS {
            let mut mid = [0.0; LANES];
            let mut equity = [0.0; LANES];
            let mut notional = [0.0; LANES];
            for k in 0..LANES {
                mid[k] = 0.5 * (self.safe[k] + self.bad[k]);
                let p = p0 * (1.0 + mid[k]);
                equity[k] = u[k].equity0 + u[k].size * (p - u[k].entry);
                notional[k] = u[k].abs_size * p;
            }
            // `mmr`: the rate of the last bracket whose floor is reached
            // (the first bracket's if none is), as its reverse search finds.
            let mut rate = [first; LANES];
            for &(floor, r) in rest {
                for k in 0..LANES {
                    rate[k] = if notional[k] >= floor { r } else { rate[k] };
                }
            }
            // Half the lanes go each way, at random: no branches.
            for k in 0..LANES {
                let above = equity[k] - (0.0 + notional[k] * rate[k]) >= 0.0;
                self.safe[k] = select_unpredictable(above, mid[k], self.safe[k]);
                self.bad[k] = select_unpredictable(above, self.bad[k], mid[k]);
            }
        }
        for k in 0..self.len {
            out[self.slot[k]] = Some(self.bad[k]);
        }
        self.len = 0;
    }
}

/// The population and its margin units as the book's bisections read them.
struct Book<'a> {
    population: &'a [PositionRow],
    units: &'a Units,
    /// Each row's market index.
    market_of: &'a [usize],
    /// Each market's brackets and starting price, by market index.
    setups: &'a [Option<(Brackets, f64)>],
}

impl Book<'_> {
    /// The move to liquidation of each unit of `mine` (unit indices) when
    /// market `m` moves, in the order of `mine`, as [`liquidation_move`]
    /// finds each; units bisected in parallel by chunks (the same result for
    /// any thread count).
    fn liquidation_moves(&self, mine: &[usize], m: usize) -> Vec<Option<f64>> {
        const CHUNK: usize = 4096;
        let mut out = vec![None; mine.len()];
        out.par_chunks_mut(CHUNK)
            .zip(mine.par_chunks(CHUNK))
            .for_each(|(out, mine)| self.liquidation_moves_into(mine, m, out));
        out
    }

    /// [`Self::liquidation_moves`] of one chunk, into `out`.
    fn liquidation_moves_into(&self, mine: &[usize], m: usize, out: &mut [Option<f64>]) {
        let Some((brackets, p0)) = &self.setups[m] else {
            return;
        };
        let mut lanes = Lanes::new();
        let mut legs = Vec::new();
        for (slot, &u) in mine.iter().enumerate() {
            let rows = self.units.unit(u);
            if let [i] = rows {
                debug_assert!(self.market_of[*i] == m, "Invariant: a unit of m holds m");
                let unit = Single::of(&self.population[*i]);
                // The net size of one position is its size.
                match start(|x| unit.headroom(brackets, *p0, x), unit.size) {
                    Start::Done(move_) => out[slot] = move_,
                    Start::Bisect(far) => {
                        if lanes.push(unit, far, slot) {
                            lanes.bisect(brackets, *p0, out);
                        }
                    }
                }
            } else {
                legs.clear();
                legs.extend(rows.iter().map(|&i| Leg {
                    row: &self.population[i],
                    setup: self.setups[self.market_of[i]].as_ref(),
                    moves: self.market_of[i] == m,
                }));
                out[slot] = liquidation_move(&legs);
            }
        }
        if lanes.len > 0 {
            lanes.bisect(brackets, *p0, out);
        }
    }
}

/// A market's figures per margin unit holding it, in unit order.
struct Figures {
    /// The units' indices.
    mine: Vec<usize>,
    /// Each unit's notional in the market at its starting mark.
    notional: Vec<f64>,
    /// Each unit's notional over its collateral (NaN without collateral).
    leverage: Vec<f64>,
    /// Each unit's move of the market to liquidation (see [`liquidation_move`]).
    moves: Vec<Option<f64>>,
}

impl Book<'_> {
    /// The [`Figures`] of market `m`, at starting price `p0`.
    fn figures(&self, m: usize, p0: f64) -> Figures {
        let population = self.population;
        let mine: Vec<usize> = (0..self.units.len())
            .filter(|&u| self.units.unit(u).iter().any(|&i| self.market_of[i] == m))
            .collect();
        // At the starting mark: `|size| × p0 × (1 + 0)`, as the moves' table
        // prices a move.
        let x = 0.0;
        let notional: Vec<f64> = mine
            .iter()
            .map(|&u| {
                self.units
                    .unit(u)
                    .iter()
                    .filter(|&&i| self.market_of[i] == m)
                    .map(|&i| population[i].size.abs() * p0 * (1.0 + x))
                    .sum()
            })
            .collect();
        let leverage = mine
            .iter()
            .zip(&notional)
            .map(|(&u, n)| {
                let c: f64 = self
                    .units
                    .unit(u)
                    .iter()
                    .map(|&i| population[i].collateral)
                    .sum();
                if c > 0.0 { n / c } else { f64::NAN }
            })
            .collect();
        let moves = self.liquidation_moves(&mine, m);
        Figures {
            mine,
            notional,
            leverage,
            moves,
        }
    }
}

/// Quantiles p5, p25, p50, p75, p95 of `v` (nearest rank), formatted.
fn quantile_row(label: &str, mut v: Vec<f64>, show: &dyn Fn(f64) -> String) -> Vec<String> {
    v.retain(|x| x.is_finite());
    let mut row = vec![label.to_owned(), count(v.len() as f64)];
    row.extend(nearest_ranks(&mut v).map(|x| x.map_or_else(|| "–".to_owned(), show)));
    row
}

/// The quantiles p5, p25, p50, p75, p95 of `v` by nearest rank, as a full
/// sort by `total_cmp` would give them (`None` if `v` is empty): each rank
/// selected in the part of `v` above the previous one, leaving `v` in some
/// order. The element a rank selects is equal under `total_cmp` to the one a
/// sort puts there, so it has the same bits.
fn nearest_ranks(v: &mut [f64]) -> [Option<f64>; 5] {
    let mut out = [None; 5];
    // `v[..lo]` holds the ranks below `lo`, each at most every later element.
    let mut lo = 0;
    for (q, out) in [0.05, 0.25, 0.5, 0.75, 0.95].into_iter().zip(&mut out) {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((q * (v.len().max(1) - 1) as f64).round() as usize).min(v.len().saturating_sub(1));
        if v.is_empty() {
            continue;
        }
        debug_assert!(
            i + 1 >= lo,
            "Invariant: the ranks ascend with the quantiles"
        );
        if i >= lo {
            v[lo..].select_nth_unstable_by(i - lo, f64::total_cmp);
            lo = i + 1;
        }
        *out = Some(v[i]);
    }
    out
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
    let (markets, market_of) = market_indices(&data.population);
    let setups: Vec<Option<(Brackets, f64)>> =
        markets.iter().map(|m| market_setup(data, m)).collect();
    let units = Units::of(&data.population);
    let book = Book {
        population: &data.population,
        units: &units,
        market_of: &market_of,
        setups: &setups,
    };
    let mut out = Vec::new();
    for (m, market) in markets.iter().enumerate() {
        let Some((_, p0)) = &setups[m] else {
            continue;
        };
        let Figures {
            mine,
            notional,
            leverage,
            moves,
        } = book.figures(m, *p0);
        let open: f64 = notional.iter().copied().sum();
        let ladder: Vec<(Option<f64>, f64)> = moves
            .iter()
            .copied()
            .zip(notional.iter().copied())
            .collect();
        let mut risk_rows = Vec::new();
        let mut at_risk_bars = Vec::new();
        for x in MOVES {
            let mut at_risk = 0.0;
            let mut n = 0u64;
            for (notional, m) in notional.iter().zip(&moves) {
                let hit = m.is_some_and(|m| {
                    if x < 0.0 {
                        m >= x && m <= 0.0
                    } else {
                        m <= x && m >= 0.0
                    }
                });
                if hit {
                    at_risk += notional;
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
    use std::collections::BTreeMap;

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

    /// The book's margin units as it built them before round 13: isolated
    /// rows alone, then a `BTreeMap` of the cross rows by account.
    fn reference_units(population: &[PositionRow]) -> Vec<Vec<&PositionRow>> {
        let mut cross: BTreeMap<u64, Vec<&PositionRow>> = BTreeMap::new();
        let mut units = Vec::new();
        for r in population {
            if r.isolated {
                units.push(vec![r]);
            } else {
                cross.entry(r.account_id).or_default().push(r);
            }
        }
        units.extend(cross.into_values());
        units
    }

    /// The liquidation move as the book found it before round 13 (the legs
    /// resolved by name, every unit through the general bisection): the
    /// reference of the single-position lanes.
    fn reference_move(
        rows: &[&PositionRow],
        market: &str,
        prices: &BTreeMap<&str, (Brackets, f64)>,
    ) -> Option<f64> {
        let legs: Vec<Leg<'_>> = rows
            .iter()
            .map(|r| Leg {
                row: r,
                setup: prices.get(r.market.as_str()),
                moves: r.market == market,
            })
            .collect();
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

    /// The moves of every unit holding `market`, by the book's fast path.
    fn moves(
        population: &[PositionRow],
        market: &str,
        setups: &[(&str, Brackets, f64)],
    ) -> Vec<Option<f64>> {
        let (markets, market_of) = market_indices(population);
        let setups: Vec<Option<(Brackets, f64)>> = markets
            .iter()
            .map(|m| {
                setups
                    .iter()
                    .find(|s| s.0 == *m)
                    .map(|s| (s.1.clone(), s.2))
            })
            .collect();
        let units = Units::of(population);
        let book = Book {
            population,
            units: &units,
            market_of: &market_of,
            setups: &setups,
        };
        let m = markets.iter().position(|x| *x == market).unwrap();
        let p0 = setups[m].as_ref().unwrap().1;
        book.figures(m, p0).moves
    }

    /// A small deterministic generator (splitmix64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in `[0, 1)`.
        #[allow(clippy::cast_precision_loss)]
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// A random population over btc, eth and sol (sol without brackets):
    /// single positions and cross accounts of up to four rows, leverage from
    /// under 1x to past maintenance, notionals across the brackets' floors.
    fn population(rng: &mut Rng, n: usize) -> Vec<PositionRow> {
        let markets = [("btc", 100.0), ("eth", 10.0), ("sol", 1.0)];
        let mut rows = Vec::new();
        let mut account = 0;
        while rows.len() < n {
            account += 1 + rng.below(3);
            let legs = if rng.below(3) == 0 {
                1 + rng.below(4)
            } else {
                1
            };
            let isolated = legs == 1 && rng.below(4) == 0;
            for _ in 0..legs {
                let (market, p0) = markets[usize::try_from(rng.below(3)).unwrap()];
                let notional = 10f64.powf(1.0 + 6.0 * rng.unit());
                let side = if rng.below(5) < 3 { 1.0 } else { -1.0 };
                let leverage = 10f64.powf(-0.5 + 2.8 * rng.unit());
                rows.push(PositionRow {
                    account_id: account,
                    market: market.to_owned(),
                    size: side * notional / p0,
                    entry_price: p0 * (0.9 + 0.2 * rng.unit()),
                    collateral: if rng.below(20) == 0 {
                        0.0
                    } else {
                        notional / leverage
                    },
                    isolated,
                });
            }
        }
        // Some accounts' rows apart, as a file need not keep them together.
        let len = rows.len();
        for k in 0..len / 10 {
            let j = usize::try_from(rng.below(len as u64)).unwrap();
            rows.swap(k * 7 % len, j);
        }
        rows
    }

    #[test]
    fn units_are_grouped_as_by_a_map_of_cross_accounts() {
        let mut rng = Rng(7);
        for n in [0, 1, 5, 300] {
            let population = population(&mut rng, n);
            let units = Units::of(&population);
            let want = reference_units(&population);
            assert_eq!(units.len(), want.len());
            for (u, rows) in want.iter().enumerate() {
                let got: Vec<&PositionRow> =
                    units.unit(u).iter().map(|&i| &population[i]).collect();
                assert!(got.iter().zip(rows).all(|(a, b)| std::ptr::eq(*a, *b)));
                assert_eq!(got.len(), rows.len());
            }
        }
    }

    #[test]
    fn the_lanes_and_the_general_bisection_find_the_reference_moves_bit_for_bit() {
        let mut rng = Rng(42);
        let tiers = vec![
            (0.0, 0.004),
            (5_000.0, 0.005),
            (50_000.0, 0.01),
            (250_000.0, 0.025),
            (1_000_000.0, 0.05),
        ];
        // Floors out of order, as a summary could give them: `mmr` takes the
        // last bracket reached in the list's order, and so must the lanes.
        let shuffled = vec![(20_000.0, 0.02), (0.0, 0.003), (100_000.0, 0.0075)];
        for (round, n) in [1, 7, 8, 9, 500, 3000].into_iter().enumerate() {
            let population = population(&mut rng, n);
            let eth = if round % 2 == 0 {
                tiers.clone()
            } else {
                shuffled.clone()
            };
            let setups = [("btc", tiers.clone(), 100.0), ("eth", eth, 10.0)];
            let prices: BTreeMap<&str, (Brackets, f64)> = setups
                .iter()
                .map(|(m, b, p)| (*m, (b.clone(), *p)))
                .collect();
            let units = reference_units(&population);
            let (mut bisected, mut single, mut multi) = (0, 0, 0);
            for market in ["btc", "eth"] {
                if !population.iter().any(|r| r.market == market) {
                    continue;
                }
                let got = moves(&population, market, &setups);
                let mine: Vec<&Vec<&PositionRow>> = units
                    .iter()
                    .filter(|u| u.iter().any(|r| r.market == market))
                    .collect();
                assert_eq!(got.len(), mine.len());
                for (unit, got) in mine.iter().zip(&got) {
                    let want = reference_move(unit, market, &prices);
                    assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "{unit:?}");
                    if want.is_some_and(|m| m != 0.0) {
                        bisected += 1;
                        if unit.len() == 1 {
                            single += 1;
                        } else {
                            multi += 1;
                        }
                    }
                }
            }
            if n >= 500 {
                assert!(single > 100 && multi > 10, "{bisected} {single} {multi}");
            }
        }
    }

    #[test]
    fn nearest_ranks_are_those_of_a_full_sort() {
        let mut rng = Rng(3);
        for n in [0, 1, 2, 3, 4, 5, 6, 19, 20, 21, 1000] {
            let mut v: Vec<f64> = (0..n)
                .map(|_| match rng.below(6) {
                    0 => 0.0,
                    1 => -0.0,
                    2 => 1.5,
                    _ => rng.unit() - 0.5,
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let want = [0.05, 0.25, 0.5, 0.75, 0.95].map(|q| {
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    clippy::cast_precision_loss
                )]
                let i = ((q * (sorted.len().max(1) - 1) as f64).round() as usize)
                    .min(sorted.len().saturating_sub(1));
                sorted.get(i).map(|x| x.to_bits())
            });
            assert_eq!(
                nearest_ranks(&mut v).map(|x| x.map(f64::to_bits)),
                want,
                "{n}"
            );
        }
    }

    #[test]
    fn a_long_at_ten_times_reaches_maintenance_near_minus_nine_percent() {
        let setups = [("btc", vec![(0.0, 0.01)], 100.0)];
        // Equity 10 + (p − 100) = 0.01 p  →  p = 90 / 0.99.
        let x = moves(&[row(1, 1.0, 10.0, true)], "btc", &setups)[0].unwrap();
        assert!((100.0 * (1.0 + x) - 90.0 / 0.99).abs() < 1e-6, "{x}");
        // 10 − (p − 100) = 0.01 p  →  p = 110 / 1.01.
        let x = moves(&[row(2, -1.0, 10.0, false)], "btc", &setups)[0].unwrap();
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
