//! Populations: the accounts a run starts with.
//!
//! Generated from the scenario's distributions (seeded), or loaded from a
//! positions snapshot (`backstop_data::positions`). Every run writes its starting
//! population back in the snapshot schema, so it can be re-run on the same accounts.

use std::collections::BTreeMap;

use backstop_data::PositionRow;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, LogNormal, Normal, Pareto};

use crate::config::population::{Distribution, PopulationConfig};
use crate::engine::AccountSpec;
use crate::error::PopulationError;
use crate::money::Micros;
use crate::venue::market::{GRID_TOLERANCE, Market, MarketId};

/// How far the lot grid moved a generated population's notionals when sizes
/// were rounded to whole lots (at least one): the positions drawn, those whose
/// notional at entry moved by more than [`GRID_TOLERANCE`] (1%), and the total
/// notional drawn and moved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LotRounding {
    /// Positions drawn.
    pub positions: u64,
    /// Positions whose notional moved by more than the tolerance.
    pub moved: u64,
    /// Per market (scenario order): positions moved by more than the tolerance.
    pub moved_by_market: Vec<u64>,
    /// Σ notional drawn, USD.
    pub notional_drawn_usd: f64,
    /// Σ |notional on the grid − notional drawn|, USD.
    pub notional_moved_usd: f64,
}

impl LotRounding {
    /// The share of the drawn notional the lot grid moved.
    pub fn moved_fraction(&self) -> f64 {
        if self.notional_drawn_usd > 0.0 {
            self.notional_moved_usd / self.notional_drawn_usd
        } else {
            0.0
        }
    }

    /// One line for a person: the counts and the share of notional moved.
    pub fn describe(&self) -> String {
        format!(
            "lot rounding moved the notional of {} of {} positions by more than {}% (the total \
             notional by {:.3}%)",
            self.moved,
            self.positions,
            GRID_TOLERANCE * 100.0,
            self.moved_fraction() * 100.0
        )
    }
}

/// Draws from a scenario distribution.
fn draw(d: &Distribution, rng: &mut ChaCha8Rng) -> f64 {
    match *d {
        Distribution::Lognormal { median, sigma } => match LogNormal::new(median.ln(), sigma) {
            Ok(ln) => ln.sample(rng),
            Err(_) => median,
        },
        Distribution::Pareto { scale, shape } => match Pareto::new(scale, shape) {
            Ok(p) => p.sample(rng),
            Err(_) => scale,
        },
        Distribution::Uniform { min, max } => {
            if max > min {
                rng.random_range(min..=max)
            } else {
                min
            }
        }
        Distribution::Constant { value } => value,
    }
}

/// Generates the population described by a `generated` config.
///
/// For each account: a market (uniform; every market for the multi-market share),
/// a side, a notional at entry (capped at `max_notional`), an entry price
/// `start × exp(N(0, dispersion))`, and a leverage `L` capped by the bracket's
/// maximum at both the entry and the start notional.
///
/// **The book is solvent at the start mark** (docs/model.md §5a). With `N_s` a
/// position's notional at the start mark, `uPnL_s` its unrealized PnL there and
/// `N_e` its notional at entry, the account's collateral is
///
/// ```text
/// C = max( Σ max(ceil(N_s / L), IM(N_s)) − Σ uPnL_s ,  Σ IM(N_e) )
/// ```
///
/// so its equity at the start mark is at least `Σ N_s / L ≥ IM ≥ MM` (it is *at*
/// its drawn leverage there) and it was at or above initial margin when it opened.
/// `L` is therefore the account's leverage at the start mark, not at entry.
/// O(accounts).
///
/// Sizes are whole lots, at least one: the returned [`LotRounding`] counts the
/// positions whose notional that moved by more than 1%.
///
/// # Errors
/// [`PopulationError::NotGenerated`] if the config is not `generated`;
/// [`PopulationError::LotRounding`] when the lot grid moved the population's
/// total notional by more than [`GRID_TOLERANCE`] (the lot is too coarse for
/// the notionals drawn).
pub fn generate(
    cfg: &PopulationConfig,
    markets: &[Market],
    start_prices: &[f64],
    rng: &mut ChaCha8Rng,
) -> Result<(Vec<AccountSpec>, LotRounding), PopulationError> {
    let PopulationConfig::Generated {
        accounts,
        notional,
        leverage,
        max_notional,
        long_fraction,
        entry_dispersion,
        isolated_fraction,
        multi_market_fraction,
        ..
    } = cfg
    else {
        return Err(PopulationError::NotGenerated);
    };
    let dispersion =
        Normal::new(0.0, *entry_dispersion).map_err(PopulationError::EntryDispersion)?;
    let start_ticks: Vec<i64> = markets
        .iter()
        .zip(start_prices)
        .map(|(m, &p)| m.ticks(p))
        .collect();
    let mut out = Vec::with_capacity(*accounts as usize);
    let mut rounding = LotRounding {
        moved_by_market: vec![0; markets.len()],
        ..LotRounding::default()
    };
    for id in 0..*accounts as u64 {
        let isolated = rng.random_bool(*isolated_fraction);
        let multi = !isolated && markets.len() > 1 && rng.random_bool(*multi_market_fraction);
        let chosen: Vec<usize> = if multi {
            (0..markets.len()).collect()
        } else {
            vec![rng.random_range(0..markets.len())]
        };
        // Σ max(ceil(N_s / L), IM(N_s)) − Σ uPnL_s, and Σ IM(N_e).
        let mut at_start = Micros::ZERO;
        let mut at_entry = Micros::ZERO;
        let mut positions = Vec::with_capacity(chosen.len());
        for mi in chosen {
            let m = &markets[mi];
            let long = rng.random_bool(*long_fraction);
            let n_usd = draw(notional, rng).min(*max_notional);
            let entry = start_prices[mi] * dispersion.sample(rng).exp();
            let entry_ticks = m.ticks(entry);
            let lots = m.lots(n_usd / m.price(entry_ticks)).max(1);
            let entry_value = m.value(lots, entry_ticks);
            rounding.positions += 1;
            let moved = (entry_value.to_usd() - n_usd).abs();
            rounding.notional_drawn_usd += n_usd;
            rounding.notional_moved_usd += moved;
            if moved > GRID_TOLERANCE * n_usd {
                rounding.moved += 1;
                rounding.moved_by_market[mi] += 1;
            }
            let start_value = m.value(lots, start_ticks[mi]);
            let max_lev = m
                .margin
                .max_leverage(entry_value)
                .min(m.margin.max_leverage(start_value));
            let lev = draw(leverage, rng).clamp(1.0, max_lev);
            let signed = if long { lots } else { -lots };
            let upnl = m.value(signed, start_ticks[mi]) - m.value(signed, entry_ticks);
            let margin = Micros((start_value.0 as f64 / lev).ceil() as i64)
                .max(m.margin.initial_margin(start_value));
            at_start += margin - upnl;
            at_entry += m.margin.initial_margin(entry_value);
            positions.push((mi as MarketId, signed, entry_ticks));
        }
        out.push(AccountSpec {
            id,
            collateral: at_start.max(at_entry),
            isolated,
            positions,
        });
    }
    if rounding.moved_fraction() > GRID_TOLERANCE {
        let (worst, &moved) = rounding
            .moved_by_market
            .iter()
            .enumerate()
            .max_by_key(|&(i, n)| (n, std::cmp::Reverse(i)))
            .unwrap_or((0, &0));
        let m = &markets[worst];
        return Err(PopulationError::LotRounding {
            percent: rounding.moved_fraction() * 100.0,
            moved: rounding.moved,
            positions: rounding.positions,
            market: m.name.clone(),
            market_moved: moved,
            lot_size: m.lot_size,
            lot_usd: m.lot_size * start_prices[worst],
        });
    }
    Ok((out, rounding))
}

/// Builds accounts from snapshot rows: non-isolated rows of one `account_id` form a
/// cross account (collateral summed), each isolated row its own margin unit.
/// Sizes and prices are rounded to the market's lots and ticks.
///
/// # Errors
/// [`PopulationError`] naming the row: unknown market, a size below one lot,
/// two cross positions of one account in the same market, or no rows at all.
pub fn from_rows(
    rows: &[PositionRow],
    markets: &[Market],
) -> Result<Vec<AccountSpec>, PopulationError> {
    if rows.is_empty() {
        return Err(PopulationError::Empty);
    }
    let index: BTreeMap<&str, usize> = markets
        .iter()
        .enumerate()
        .map(|(i, m)| (m.name.as_str(), i))
        .collect();
    let mut cross: BTreeMap<u64, AccountSpec> = BTreeMap::new();
    let mut isolated: Vec<AccountSpec> = Vec::new();
    for (row_no, r) in rows.iter().enumerate() {
        let (pos, collateral) = row_position(row_no, r, &index, markets)?;
        if r.isolated {
            isolated.push(AccountSpec {
                id: r.account_id,
                collateral,
                isolated: true,
                positions: vec![pos],
            });
        } else {
            let acc = cross.entry(r.account_id).or_insert_with(|| AccountSpec {
                id: r.account_id,
                collateral: Micros::ZERO,
                isolated: false,
                positions: Vec::new(),
            });
            if acc.positions.iter().any(|p| p.0 == pos.0) {
                return Err(PopulationError::TwoCrossPositions {
                    row: row_no,
                    account: r.account_id,
                    market: r.market.clone(),
                });
            }
            acc.collateral += collateral;
            acc.positions.push(pos);
        }
    }
    let mut all: Vec<AccountSpec> = cross.into_values().collect();
    all.extend(isolated);
    all.sort_by_key(|a| (a.id, a.isolated));
    for a in &mut all {
        a.positions.sort_by_key(|p| p.0);
    }
    Ok(all)
}

/// Row `row_no`'s position `(market, lots, entry ticks)` on the market's grid,
/// and its collateral.
fn row_position(
    row_no: usize,
    r: &PositionRow,
    index: &BTreeMap<&str, usize>,
    markets: &[Market],
) -> Result<((MarketId, i64, i64), Micros), PopulationError> {
    let Some(&mi) = index.get(r.market.as_str()) else {
        return Err(PopulationError::UnknownMarket {
            row: row_no,
            account: r.account_id,
            market: r.market.clone(),
            markets: markets
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let m = &markets[mi];
    let lots = m.lots(r.size);
    if lots == 0 {
        return Err(PopulationError::BelowOneLot {
            row: row_no,
            account: r.account_id,
            size: r.size,
            lot_size: m.lot_size,
        });
    }
    if (m.size(lots) - r.size).abs() > GRID_TOLERANCE * r.size.abs() {
        return Err(PopulationError::OffGrid {
            row: row_no,
            column: "size",
            value: r.size,
            rounded: m.size(lots),
            grid: m.lot_size,
        });
    }
    let entry = match m.checked_ticks(r.entry_price) {
        Some(t) if (m.price(t) - r.entry_price).abs() <= GRID_TOLERANCE * r.entry_price => t,
        t => {
            return Err(PopulationError::OffGrid {
                row: row_no,
                column: "entry_price",
                value: r.entry_price,
                rounded: m.price(t.unwrap_or(1)),
                grid: m.tick_size,
            });
        }
    };
    let collateral = Micros::from_usd(r.collateral).ok_or(PopulationError::Collateral {
        row: row_no,
        collateral: r.collateral,
    })?;
    Ok(((mi as MarketId, lots, entry), collateral))
}

/// Indices (in order) of the accounts whose equity at the start marks (`start`
/// prices on each market's tick grid) is strictly below their maintenance
/// requirement: what the engine would liquidate at step 0. Exact, in micro-USD,
/// like the engine (multiplier 1, USD collateral only). O(positions).
pub fn below_maintenance(
    accounts: &[AccountSpec],
    markets: &[Market],
    start: &[f64],
) -> Vec<usize> {
    let marks: Vec<i64> = markets
        .iter()
        .zip(start)
        .map(|(m, &p)| m.ticks(p))
        .collect();
    let mut out = Vec::new();
    for (i, a) in accounts.iter().enumerate() {
        let mut equity = a.collateral;
        let mut maintenance = Micros::ZERO;
        for &(mi, lots, entry) in &a.positions {
            let Some(m) = markets.get(mi as usize) else {
                continue;
            };
            let mark = marks[mi as usize];
            equity += m.value(lots, mark) - m.value(lots, entry);
            maintenance += m.margin.maintenance_margin(m.value(lots.abs(), mark));
        }
        if equity < maintenance {
            out.push(i);
        }
    }
    out
}

/// The snapshot rows of a population: one row per position; an account's
/// collateral is on its first row (the schema sums collateral over an account's
/// rows).
pub fn to_rows(accounts: &[AccountSpec], markets: &[Market]) -> Vec<PositionRow> {
    let mut rows = Vec::with_capacity(accounts.len());
    for a in accounts {
        for (i, &(mi, lots, entry)) in a.positions.iter().enumerate() {
            let m = &markets[mi as usize];
            rows.push(PositionRow {
                account_id: a.id,
                market: m.name.clone(),
                size: m.size(lots),
                entry_price: m.price(entry),
                collateral: if i == 0 { a.collateral.to_usd() } else { 0.0 },
                isolated: a.isolated,
            });
        }
    }
    rows
}
