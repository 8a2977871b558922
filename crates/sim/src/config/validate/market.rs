//! `[market.<name>]`: grids, margin tiers, funding, impact.

use crate::config::field::{Check, fail, finite, in_unit, key, non_negative, positive, usd_amount};
use crate::config::key_path::KeyPath;
use crate::config::market::{ImpactModelKind, MarketConfig, TierConfig};
use crate::config::path::PathConfig;
use crate::config::scenario::Scenario;
use crate::venue::market::{GRID_TOLERANCE, MAX_PRICE_TICKS, MIN_PRICE_TICKS};

/// At least one market, each sound.
pub(super) fn markets(s: &Scenario) -> Check {
    if s.market.is_empty() {
        return fail(
            key("market"),
            "at least one market is required, e.g. [market.btc]",
        );
    }
    if s.market.len() > u16::MAX as usize {
        return fail(key("market"), "too many markets");
    }
    for (name, m) in &s.market {
        market(s, &key("market").key(name.as_str()), m)?;
    }
    Ok(())
}

fn market(s: &Scenario, k: &KeyPath, m: &MarketConfig) -> Check {
    grid(k, m)?;
    match (m.price, &s.path) {
        (Some(p), _) => {
            positive(&k.key("price"), p)?;
            on_tick_grid(&k.key("price"), p, m.tick_size)?;
        }
        (None, PathConfig::Replay(_)) => {}
        (None, _) => {
            return fail(
                k.key("price"),
                "missing: the start price is required (only a replay takes it from history)",
            );
        }
    }
    tiers(k, &m.tiers)?;
    finite(&k.key("funding").key("rate"), m.funding.rate)?;
    if let Some(cap) = m.funding.cap {
        finite(&k.key("funding").key("cap"), cap)?;
        if !(cap > 0.0 && cap < 1.0) {
            return fail(
                k.key("funding").key("cap"),
                format!("must be above 0 and below 100%, got {cap}"),
            );
        }
    }
    if m.funding.rate.abs() >= 1.0 {
        return fail(
            k.key("funding").key("rate"),
            format!("must be below 100% in size, got {}", m.funding.rate),
        );
    }
    if let Some(f) = &m.insurance_fund {
        usd_amount(&k.key("insurance_fund").key("initial"), f.initial)?;
        usd_amount(&k.key("insurance_fund").key("floor"), f.floor)?;
    }
    impact(&k.key("impact"), m)
}

/// A price (at `k`) the tick grid holds within [`GRID_TOLERANCE`]: at least
/// [`MIN_PRICE_TICKS`] ticks (rounding to the tick moves it by at most 1%), at
/// most [`MAX_PRICE_TICKS`].
pub(super) fn on_tick_grid(k: &KeyPath, price: f64, tick_size: f64) -> Check {
    let ticks = price / tick_size;
    if ticks < MIN_PRICE_TICKS {
        return fail(
            k.clone(),
            format!(
                "a price of {price} is {ticks} ticks of {tick_size}: below {MIN_PRICE_TICKS} ticks \
                 ({}), rounding to the tick would move it by more than {}%",
                MIN_PRICE_TICKS * tick_size,
                GRID_TOLERANCE * 100.0
            ),
        );
    }
    if ticks > MAX_PRICE_TICKS {
        return fail(
            k.clone(),
            format!(
                "a price of {price:e} is {ticks:e} ticks of {tick_size}: above the largest price the \
                 tick grid holds exactly, {MAX_PRICE_TICKS:e} ticks ({:e})",
                MAX_PRICE_TICKS * tick_size
            ),
        );
    }
    Ok(())
}

/// Tick and lot sizes whose product is a whole number of micro-USD.
fn grid(k: &KeyPath, m: &MarketConfig) -> Check {
    positive(&k.key("tick_size"), m.tick_size)?;
    positive(&k.key("lot_size"), m.lot_size)?;
    let micros = m.tick_size * m.lot_size * 1e6;
    if micros < 0.999_999 || (micros - micros.round()).abs() > 1e-6 * micros.max(1.0) {
        return fail(
            k.key("lot_size"),
            format!(
                "tick_size × lot_size must be a whole number of micro-USD (at least 1e-6 USD), got {} × {} = {:e} USD",
                m.tick_size,
                m.lot_size,
                m.tick_size * m.lot_size
            ),
        );
    }
    Ok(())
}

/// Brackets from 0, floors increasing, rates in (0, 1], non-decreasing, mmr ≤ imr.
fn tiers(k: &KeyPath, tiers: &[TierConfig]) -> Check {
    if tiers.is_empty() {
        return fail(k.key("tiers"), "at least one margin tier is required");
    }
    let mut prev: Option<&TierConfig> = None;
    for (i, t) in tiers.iter().enumerate() {
        let tk = k.key("tiers").index(i);
        usd_amount(&tk.key("notional_floor"), t.notional_floor)?;
        for (f, r) in [("imr", t.imr), ("mmr", t.mmr)] {
            finite(&tk.key(f), r)?;
            if r <= 0.0 || r > 1.0 {
                return fail(tk.key(f), format!("margin rate must be in (0, 1], got {r}"));
            }
        }
        if t.mmr > t.imr {
            return fail(
                tk.key("mmr"),
                format!(
                    "maintenance rate {} is above the initial rate {}",
                    t.mmr, t.imr
                ),
            );
        }
        match prev {
            None if t.notional_floor != 0.0 => {
                return fail(
                    tk.key("notional_floor"),
                    format!("the first tier must start at 0, got {}", t.notional_floor),
                );
            }
            Some(p) if t.notional_floor <= p.notional_floor => {
                return fail(
                    tk.key("notional_floor"),
                    format!(
                        "tiers must have increasing floors: {} is not above {}",
                        t.notional_floor, p.notional_floor
                    ),
                );
            }
            Some(p) if t.mmr < p.mmr || t.imr < p.imr => {
                return fail(
                    tk.key("mmr"),
                    "margin rates must not decrease from one tier to the next",
                );
            }
            _ => {}
        }
        prev = Some(t);
    }
    Ok(())
}

/// The impact model's numbers, and a depth file exactly for `book_depth`.
fn impact(k: &KeyPath, m: &MarketConfig) -> Check {
    let i = &m.impact;
    non_negative(&k.key("coefficient"), i.coefficient)?;
    non_negative(&k.key("volatility"), i.volatility)?;
    positive(&k.key("volume_usd"), i.volume_usd)?;
    in_unit(
        &k.key("permanent_fraction"),
        i.permanent_fraction,
        "a fraction",
    )?;
    positive(&k.key("half_life_steps"), i.half_life_steps)?;
    match (i.model, &i.file) {
        (ImpactModelKind::BookDepth, None) => fail(
            k.key("file"),
            "missing: `book_depth` impact needs a depth/v1 file",
        ),
        (ImpactModelKind::BookDepth, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => fail(
            k.key("file"),
            "a depth file is only used by `model = \"book_depth\"`",
        ),
    }
}
