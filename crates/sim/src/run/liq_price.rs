//! The liquidation-price calculator (`backstop liq-price`): for an account
//! under a venue's rule book, each position's liquidation and bankruptcy
//! prices, its distance from the mark and the bracket that applies.
//!
//! It is the engine's own computation, not a copy: the account is loaded into
//! an [`Engine`] and the prices come from [`Engine::liquidation_price`] and
//! [`Engine::bankruptcy_price`] (engine/margin.rs), the functions the engine's
//! liquidation triggers use. A cross account holds every cross position (each
//! priced holding the others at their marks); an isolated position is its own
//! margin unit with its isolated margin.
//!
//! ```toml
//! venue = "binance-usdm"       # the rule book: margin brackets
//! collateral = 10.72           # cross wallet balance, USD
//! [market.btc]
//! mark = 9462.81
//! tick_size = 0.01             # optional (0.01)
//! lot_size = 0.001             # optional (0.001)
//! # tiers = [...]              # optional: the market's own brackets
//! [[position]]
//! market = "btc"
//! size = -0.005                # base units, negative short
//! entry = 9451.53
//! # isolated_margin = 50.0     # isolated: the position's own margin
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::market::TierConfig;
use crate::engine::{AccountSpec, Engine, VenueConfig};
use crate::money::{Micros, Rate};
use crate::venue::market::{MIN_PRICE_TICKS, MarginSchedule, Market};
use crate::venue::rulebook::Venue;

/// An account to price, as the account file spells it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountFile {
    /// The rule book (`binance-usdm`, `hyperliquid`, `dydx-v4`, `bitmex`,
    /// `drift`): the markets' brackets unless a market gives its own.
    pub venue: String,
    /// Cross wallet balance, USD.
    #[serde(default)]
    pub collateral: f64,
    /// Markets by key.
    pub market: BTreeMap<String, MarketInput>,
    /// The positions.
    pub position: Vec<PositionInput>,
}

/// A market of the account file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketInput {
    /// Mark price, USD.
    pub mark: f64,
    /// Price increment, USD.
    #[serde(default = "d_tick")]
    pub tick_size: f64,
    /// Size increment, base units.
    #[serde(default = "d_lot")]
    pub lot_size: f64,
    /// The market's own brackets (else the rule book's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<TierConfig>>,
}

fn d_tick() -> f64 {
    0.01
}
fn d_lot() -> f64 {
    0.001
}

/// A position of the account file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionInput {
    /// Market key.
    pub market: String,
    /// Size in base units, negative for a short.
    pub size: f64,
    /// Entry price, USD.
    pub entry: f64,
    /// Isolated margin, USD: the position is its own margin unit. Absent: cross.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolated_margin: Option<f64>,
}

/// One position's prices.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PositionPrices {
    /// Market key.
    pub market: String,
    /// Size, base units (negative short).
    pub size: f64,
    /// Entry price, USD.
    pub entry: f64,
    /// `cross` or `isolated`.
    pub margin_mode: &'static str,
    /// Mark price, USD.
    pub mark: f64,
    /// Liquidation price (equity equals the maintenance requirement, the other
    /// positions at their marks), USD; `None` if no positive price liquidates.
    pub liquidation_price: Option<f64>,
    /// Bankruptcy price (equity zero), USD; `None` if no positive price.
    pub bankruptcy_price: Option<f64>,
    /// Distance from the mark to the liquidation price, % of the mark (signed:
    /// negative below the mark).
    pub distance_pct: Option<f64>,
    /// Bracket (0-based) of the position's notional at the liquidation price
    /// (at the mark when there is none).
    pub bracket: usize,
    /// That bracket's maintenance rate.
    pub bracket_mmr: f64,
    /// That bracket's maintenance amount, USD.
    pub maintenance_amount: f64,
}

/// An account file that cannot be priced.
#[derive(Debug, thiserror::Error)]
pub enum LiqPriceError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// File.
        file: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML or a wrong key.
    #[error("{file}: {message}")]
    Parse {
        /// File.
        file: PathBuf,
        /// What is wrong (line and key included).
        message: String,
    },
    /// A value out of range, at its key.
    #[error("key `{key}`: {message}")]
    Invalid {
        /// Key path.
        key: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> LiqPriceError {
    LiqPriceError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

impl AccountFile {
    /// Reads an account file.
    ///
    /// # Errors
    /// [`LiqPriceError`] naming the file, line and key.
    pub fn load(file: &Path) -> Result<AccountFile, LiqPriceError> {
        let text = std::fs::read_to_string(file).map_err(|source| LiqPriceError::Io {
            file: file.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| LiqPriceError::Parse {
            file: file.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })
    }
}

/// Each position's liquidation and bankruptcy prices under the account's rule
/// book, in the file's order.
///
/// # Errors
/// [`LiqPriceError::Invalid`] for an unknown venue or market, a value off its
/// grid or out of range.
pub fn liquidation_prices(a: &AccountFile) -> Result<Vec<PositionPrices>, LiqPriceError> {
    let venue = Venue::from_name(&a.venue).ok_or_else(|| {
        let names: Vec<&str> = Venue::ALL.iter().map(|v| v.name()).collect();
        invalid(
            "venue",
            format!("unknown venue `{}`: expected one of {names:?}", a.venue),
        )
    })?;
    let book = venue.rule_book();
    let names: Vec<&String> = a.market.keys().collect();
    let mut markets = Vec::new();
    let mut marks = Vec::new();
    for (name, m) in &a.market {
        let k = |f: &str| format!("market.{name}.{f}");
        for (f, v) in [
            ("mark", m.mark),
            ("tick_size", m.tick_size),
            ("lot_size", m.lot_size),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(invalid(k(f), format!("must be a positive number, got {v}")));
            }
        }
        if m.mark / m.tick_size < MIN_PRICE_TICKS {
            return Err(invalid(
                k("tick_size"),
                format!(
                    "too coarse for the mark {}: fewer than {MIN_PRICE_TICKS} ticks",
                    m.mark
                ),
            ));
        }
        let k_micros = m.tick_size * m.lot_size * 1e6;
        if (k_micros - k_micros.round()).abs() > 1e-6 || k_micros.round() < 1.0 {
            return Err(invalid(
                k("lot_size"),
                "tick_size × lot_size must be a whole number of micro-USD",
            ));
        }
        let rows: Vec<(f64, f64, f64)> = match &m.tiers {
            Some(t) => t.iter().map(|t| (t.notional_floor, t.imr, t.mmr)).collect(),
            None => book.btc_brackets.to_vec(),
        };
        let mut schedule = Vec::with_capacity(rows.len());
        for (i, &(floor, imr, mmr)) in rows.iter().enumerate() {
            let bad = || {
                invalid(
                    k(&format!("tiers[{i}]")),
                    "rates must be in (0, 1], mmr ≤ imr",
                )
            };
            let r = |x: f64| Rate::from_fraction(x).filter(|r| r.0 > 0);
            let (Some(floor), Some(imr), Some(mmr)) = (Micros::from_usd(floor), r(imr), r(mmr))
            else {
                return Err(bad());
            };
            if mmr > imr || imr > Rate::ONE {
                return Err(bad());
            }
            schedule.push((floor, imr, mmr));
        }
        markets.push(Market::plain(
            name,
            m.tick_size,
            m.lot_size,
            k_micros.round() as i64,
            MarginSchedule::new(&schedule),
        ));
        marks.push(m.mark);
    }
    // One cross account (index 0) and one account per isolated position.
    let mut cross = AccountSpec {
        id: 0,
        collateral: usd("collateral", a.collateral)?,
        isolated: false,
        positions: Vec::new(),
    };
    let mut isolated = Vec::new();
    let mut where_is = Vec::new();
    for (i, p) in a.position.iter().enumerate() {
        let k = |f: &str| format!("position[{i}].{f}");
        let mi = names
            .iter()
            .position(|n| **n == p.market)
            .ok_or_else(|| invalid(k("market"), format!("no market `{}` in [market]", p.market)))?;
        let m = &markets[mi];
        let lots = on_grid(&k("size"), p.size, m.lot_size)?;
        if lots == 0 {
            return Err(invalid(k("size"), "a position must not be flat"));
        }
        if !(p.entry.is_finite() && p.entry > 0.0) {
            return Err(invalid(
                k("entry"),
                format!("must be a positive price, got {}", p.entry),
            ));
        }
        let ticks = on_grid(&k("entry"), p.entry, m.tick_size)?;
        let pos = (mi as u16, lots, ticks);
        match p.isolated_margin {
            None => {
                if cross.positions.iter().any(|q| q.0 == pos.0) {
                    return Err(invalid(
                        k("market"),
                        "one cross position per market (net them: one-way mode)",
                    ));
                }
                where_is.push((0u32, cross.positions.len()));
                cross.positions.push(pos);
            }
            Some(margin) => {
                isolated.push(AccountSpec {
                    id: 1 + i as u64,
                    collateral: usd(&k("isolated_margin"), margin)?,
                    isolated: true,
                    positions: vec![pos],
                });
                where_is.push((isolated.len() as u32, 0));
            }
        }
    }
    let mut accounts = vec![cross];
    accounts.extend(isolated);
    let engine = Engine::new(
        markets,
        &marks,
        &accounts,
        VenueConfig::plain(),
        Engine::test_rng(0),
    )
    .map_err(|e| invalid("position", e.to_string()))?;
    let mut out = Vec::with_capacity(a.position.len());
    for (p, &(acc, slot)) in a.position.iter().zip(&where_is) {
        let mi = names.iter().position(|n| **n == p.market).unwrap_or(0);
        let m = &engine.markets()[mi];
        let mark = marks[mi];
        let lp = engine.liquidation_price(acc, slot);
        let bp = engine.bankruptcy_price(acc, slot);
        let at = lp.unwrap_or(mark);
        let notional = Micros::from_usd(p.size.abs() * at).unwrap_or(Micros(i64::MAX));
        let bracket = m.margin.tier_index(notional);
        let tier = &m.margin.tiers()[bracket];
        out.push(PositionPrices {
            market: p.market.clone(),
            size: p.size,
            entry: p.entry,
            margin_mode: if p.isolated_margin.is_some() {
                "isolated"
            } else {
                "cross"
            },
            mark,
            liquidation_price: lp,
            bankruptcy_price: bp,
            distance_pct: lp.map(|l| (l / mark - 1.0) * 100.0),
            bracket,
            bracket_mmr: tier.mmr.as_fraction(),
            maintenance_amount: tier.maintenance_amount_usd(),
        });
    }
    Ok(out)
}

fn usd(key: &str, x: f64) -> Result<Micros, LiqPriceError> {
    Micros::from_usd(x).filter(|m| m.0 >= 0).ok_or_else(|| {
        invalid(
            key,
            format!("must be a non-negative amount in USD, got {x}"),
        )
    })
}

/// `x` in whole grid units of `unit`, refused if more than a millionth of a
/// unit off the grid.
fn on_grid(key: &str, x: f64, unit: f64) -> Result<i64, LiqPriceError> {
    let n = x / unit;
    if !n.is_finite() || (n - n.round()).abs() > 1e-6 || n.abs() > 9e15 {
        return Err(invalid(key, format!("{x} is not a whole number of {unit}")));
    }
    Ok(n.round() as i64)
}
