//! Range and consistency checks of a parsed scenario, each naming its key.

use crate::scenario::{
    Distribution, FieldError, ImpactModelKind, PathConfig, PopulationConfig, ReplayConfig, Scenario,
};

type Check = Result<(), FieldError>;

fn fail(key: impl Into<String>, message: impl Into<String>) -> Check {
    Err(FieldError {
        key: key.into(),
        message: message.into(),
    })
}

fn finite(key: &str, x: f64) -> Check {
    if x.is_finite() {
        Ok(())
    } else {
        fail(key, format!("must be a finite number, got {x}"))
    }
}

fn positive(key: &str, x: f64) -> Check {
    finite(key, x)?;
    if x > 0.0 {
        Ok(())
    } else {
        fail(key, format!("must be positive, got {x}"))
    }
}

fn non_negative(key: &str, x: f64) -> Check {
    finite(key, x)?;
    if x >= 0.0 {
        Ok(())
    } else {
        fail(key, format!("must not be negative, got {x}"))
    }
}

fn in_unit(key: &str, x: f64, what: &str) -> Check {
    finite(key, x)?;
    if (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        fail(
            key,
            format!("{what} must be between 0 and 1 (0% to 100%), got {x}"),
        )
    }
}

/// A replay's window, files and markets.
fn replay(s: &Scenario, r: &ReplayConfig) -> Check {
    let start = parse_utc(&s.start).unwrap_or(0);
    let Some(end) = parse_utc(&r.end) else {
        return fail(
            "path.end",
            format!("not a UTC time like 2025-10-10T21:00:00Z: {:?}", r.end),
        );
    };
    if end <= start {
        return fail(
            "path.end",
            format!(
                "the window must end after `start` ({}), got {}",
                s.start, r.end
            ),
        );
    }
    if s.paths != 1 {
        return fail(
            "paths",
            format!(
                "a replay is one path (history happened once), got {}",
                s.paths
            ),
        );
    }
    for name in s.market.keys() {
        if !r.market.contains_key(name) {
            return fail(
                "path.market",
                format!("no history for market `{name}`: add [path.market.{name}]"),
            );
        }
    }
    for (name, files) in &r.market {
        if !s.market.contains_key(name) {
            return fail(
                format!("path.market.{name}"),
                format!(
                    "no market `{name}` (markets: {})",
                    s.market_names().join(", ")
                ),
            );
        }
        match (&files.prices, &files.trades) {
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                return fail(
                    format!("path.market.{name}"),
                    "give exactly one price source: `prices` (a prices/v1 file) or `trades` (a trades/v1 file)",
                );
            }
        }
    }
    Ok(())
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` to Unix nanoseconds.
pub fn parse_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400) + h * 3600 + mi * 60 + se) * 1_000_000_000)
}

fn distribution(key: &str, d: &Distribution, at_least: f64) -> Check {
    match *d {
        Distribution::Lognormal { median, sigma } => {
            positive(&format!("{key}.median"), median)?;
            non_negative(&format!("{key}.sigma"), sigma)?;
            if median < at_least {
                return fail(
                    format!("{key}.median"),
                    format!("must be at least {at_least}, got {median}"),
                );
            }
        }
        Distribution::Pareto { scale, shape } => {
            positive(&format!("{key}.scale"), scale)?;
            positive(&format!("{key}.shape"), shape)?;
            if scale < at_least {
                return fail(
                    format!("{key}.scale"),
                    format!("must be at least {at_least}, got {scale}"),
                );
            }
        }
        Distribution::Uniform { min, max } => {
            positive(&format!("{key}.min"), min)?;
            positive(&format!("{key}.max"), max)?;
            if min < at_least {
                return fail(
                    format!("{key}.min"),
                    format!("must be at least {at_least}, got {min}"),
                );
            }
            if max < min {
                return fail(
                    format!("{key}.max"),
                    format!("must be at least min ({min}), got {max}"),
                );
            }
        }
        Distribution::Constant { value } => {
            positive(&format!("{key}.value"), value)?;
            if value < at_least {
                return fail(
                    format!("{key}.value"),
                    format!("must be at least {at_least}, got {value}"),
                );
            }
        }
    }
    Ok(())
}

/// Validates a whole scenario.
pub(crate) fn scenario(s: &Scenario) -> Check {
    let name_ok = !s.name.is_empty()
        && s.name != "."
        && s.name != ".."
        && s.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !name_ok {
        return fail(
            "name",
            format!(
                "must be a non-empty folder name of letters, digits, '-', '_' or '.', got {:?}",
                s.name
            ),
        );
    }
    if parse_utc(&s.start).is_none() {
        return fail(
            "start",
            format!(
                "must be a UTC time like 2025-10-10T00:00:00Z, got {:?}",
                s.start
            ),
        );
    }
    if s.step_seconds == 0 {
        return fail("step_seconds", "must be at least 1");
    }
    if s.market.is_empty() {
        return fail(
            "market",
            "at least one market is required, e.g. [market.btc]",
        );
    }
    if s.market.len() > u16::MAX as usize {
        return fail("market", "too many markets");
    }
    for (name, m) in &s.market {
        let k = |f: &str| format!("market.{name}.{f}");
        match (m.price, &s.path) {
            (Some(p), _) => positive(&k("price"), p)?,
            (None, PathConfig::Replay(_)) => {}
            (None, _) => {
                return fail(
                    k("price"),
                    "missing: the start price is required (only a replay takes it from history)",
                );
            }
        }
        positive(&k("tick_size"), m.tick_size)?;
        positive(&k("lot_size"), m.lot_size)?;
        let micros = m.tick_size * m.lot_size * 1e6;
        if micros < 0.999_999 || (micros - micros.round()).abs() > 1e-6 * micros.max(1.0) {
            return fail(
                k("lot_size"),
                format!(
                    "tick_size × lot_size must be a whole number of micro-USD (at least 1e-6 USD), got {} × {} = {:e} USD",
                    m.tick_size,
                    m.lot_size,
                    m.tick_size * m.lot_size
                ),
            );
        }
        if m.tiers.is_empty() {
            return fail(k("tiers"), "at least one margin tier is required");
        }
        let mut prev: Option<&crate::scenario::TierConfig> = None;
        for (i, t) in m.tiers.iter().enumerate() {
            let tk = |f: &str| format!("market.{name}.tiers[{i}].{f}");
            non_negative(&tk("notional_floor"), t.notional_floor)?;
            for (f, r) in [("imr", t.imr), ("mmr", t.mmr)] {
                finite(&tk(f), r)?;
                if r <= 0.0 || r > 1.0 {
                    return fail(tk(f), format!("margin rate must be in (0, 1], got {r}"));
                }
            }
            if t.mmr > t.imr {
                return fail(
                    tk("mmr"),
                    format!(
                        "maintenance rate {} is above the initial rate {}",
                        t.mmr, t.imr
                    ),
                );
            }
            match prev {
                None if t.notional_floor != 0.0 => {
                    return fail(
                        tk("notional_floor"),
                        format!("the first tier must start at 0, got {}", t.notional_floor),
                    );
                }
                Some(p) if t.notional_floor <= p.notional_floor => {
                    return fail(
                        tk("notional_floor"),
                        format!(
                            "tiers must have increasing floors: {} is not above {}",
                            t.notional_floor, p.notional_floor
                        ),
                    );
                }
                Some(p) if t.mmr < p.mmr || t.imr < p.imr => {
                    return fail(
                        tk("mmr"),
                        "margin rates must not decrease from one tier to the next",
                    );
                }
                _ => {}
            }
            prev = Some(t);
        }
        finite(&k("funding.rate"), m.funding.rate)?;
        if m.funding.rate.abs() >= 1.0 {
            return fail(
                k("funding.rate"),
                format!("must be below 100% in size, got {}", m.funding.rate),
            );
        }
        non_negative(&k("impact.coefficient"), m.impact.coefficient)?;
        non_negative(&k("impact.volatility"), m.impact.volatility)?;
        positive(&k("impact.volume_usd"), m.impact.volume_usd)?;
        in_unit(
            &k("impact.permanent_fraction"),
            m.impact.permanent_fraction,
            "a fraction",
        )?;
        positive(&k("impact.half_life_steps"), m.impact.half_life_steps)?;
        match (m.impact.model, &m.impact.file) {
            (ImpactModelKind::BookDepth, None) => {
                return fail(
                    k("impact.file"),
                    "missing: `book_depth` impact needs a depth/v1 file",
                );
            }
            (ImpactModelKind::BookDepth, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return fail(
                    k("impact.file"),
                    "a depth file is only used by `model = \"book_depth\"`",
                );
            }
        }
    }
    if s.paths == 0 {
        return fail("paths", "must be at least 1 (zero paths simulate nothing)");
    }

    match &s.path {
        PathConfig::Linear {
            steps,
            shock_steps: _,
            shock,
            ..
        } => {
            if *steps == 0 {
                return fail("path.steps", "must be at least 1");
            }
            finite("path.shock", *shock)?;
            if *shock <= -1.0 {
                return fail(
                    "path.shock",
                    format!("a move of {shock} would take prices to zero or below"),
                );
            }
        }
        PathConfig::Series { prices } => {
            for name in s.market.keys() {
                if !prices.contains_key(name) {
                    return fail(
                        "path.prices",
                        format!("no price series for market `{name}`"),
                    );
                }
            }
            let mut len = None;
            for (name, series) in prices {
                if !s.market.contains_key(name) {
                    return fail(
                        format!("path.prices.{name}"),
                        format!(
                            "no market `{name}` (markets: {})",
                            s.market_names().join(", ")
                        ),
                    );
                }
                if series.is_empty() {
                    return fail(format!("path.prices.{name}"), "the series is empty");
                }
                if *len.get_or_insert(series.len()) != series.len() {
                    return fail(
                        format!("path.prices.{name}"),
                        "every market's series must have the same length",
                    );
                }
                for (i, &p) in series.iter().enumerate() {
                    if !(p.is_finite() && p > 0.0) {
                        return fail(
                            format!("path.prices.{name}[{i}]"),
                            format!("prices must be finite and positive, got {p}"),
                        );
                    }
                }
            }
        }
        PathConfig::Replay(_) => {}
        other => {
            if let Some(model) = other.model() {
                model.validate(s.market.len())?;
            }
        }
    }

    if let PathConfig::Replay(r) = &s.path {
        replay(s, r)?;
    }

    match &s.population {
        PopulationConfig::Generated {
            accounts,
            notional,
            leverage,
            max_notional,
            long_fraction,
            entry_dispersion,
            isolated_fraction,
            multi_market_fraction,
        } => {
            if *accounts == 0 {
                return fail(
                    "population.accounts",
                    "must be at least 1 (zero accounts leave nothing to simulate)",
                );
            }
            distribution("population.notional", notional, 0.0)?;
            distribution("population.leverage", leverage, 1.0)?;
            positive("population.max_notional", *max_notional)?;
            in_unit("population.long_fraction", *long_fraction, "a fraction")?;
            in_unit(
                "population.isolated_fraction",
                *isolated_fraction,
                "a fraction",
            )?;
            in_unit(
                "population.multi_market_fraction",
                *multi_market_fraction,
                "a fraction",
            )?;
            non_negative("population.entry_dispersion", *entry_dispersion)?;
            if *entry_dispersion >= 1.0 {
                return fail(
                    "population.entry_dispersion",
                    "must be below 1 (a log standard deviation)",
                );
            }
        }
        PopulationConfig::Parquet { file } => {
            if file.as_os_str().is_empty() {
                return fail("population.file", "must name a Parquet positions file");
            }
        }
    }

    let l = &s.liquidation;
    in_unit("liquidation.fee", l.fee, "the liquidation fee")?;
    in_unit(
        "liquidation.insurance_fund_share",
        l.insurance_fund_share,
        "a share",
    )?;
    non_negative("liquidation.target_buffer", l.target_buffer)?;
    positive("liquidation.target_step", l.target_step)?;
    if l.target_step > 1.0 {
        return fail("liquidation.target_step", "must be at most 1");
    }
    positive("liquidation.chunk_fraction", l.chunk_fraction)?;
    if l.chunk_fraction > 1.0 {
        return fail("liquidation.chunk_fraction", "must be at most 1");
    }
    non_negative("liquidation.chunk_min_usd", l.chunk_min_usd)?;
    non_negative("liquidation.chunk_full_below_usd", l.chunk_full_below_usd)?;

    non_negative("insurance_fund.initial", s.insurance_fund.initial)?;
    non_negative("insurance_fund.floor", s.insurance_fund.floor)?;
    controls(s)
}

/// `[controls.oracle]`.
fn oracle(s: &Scenario, steps: usize) -> Check {
    let o = &s.controls.oracle;
    if o.sources == 0 || o.sources > 64 {
        return fail(
            "controls.oracle.sources",
            format!("must be between 1 and 64 sources, got {}", o.sources),
        );
    }
    non_negative("controls.oracle.noise", o.noise)?;
    in_unit(
        "controls.oracle.outage_probability",
        o.outage_probability,
        "a probability",
    )?;
    finite("controls.oracle.trim_fraction", o.trim_fraction)?;
    if !(0.0..0.5).contains(&o.trim_fraction) {
        return fail(
            "controls.oracle.trim_fraction",
            format!("must be at least 0 and below 0.5, got {}", o.trim_fraction),
        );
    }
    finite("controls.oracle.deviation_guard", o.deviation_guard)?;
    if o.deviation_guard <= 0.0 {
        return fail(
            "controls.oracle.deviation_guard",
            format!(
                "must be above 0 (a guard of {} would drop every source off the median by any amount); 1.0 all but turns it off",
                o.deviation_guard
            ),
        );
    }
    if o.fault_steps > 0 && o.faulty_source >= o.sources {
        return fail(
            "controls.oracle.faulty_source",
            format!(
                "source {} does not exist: sources are numbered 0 to {}",
                o.faulty_source,
                o.sources - 1
            ),
        );
    }
    finite("controls.oracle.fault_wick", o.fault_wick)?;
    if o.fault_wick <= -1.0 {
        return fail(
            "controls.oracle.fault_wick",
            format!(
                "a wick of {} would take the source's price to zero or below",
                o.fault_wick
            ),
        );
    }
    if o.enabled && steps > 0 && o.lag_steps as usize >= steps {
        return fail(
            "controls.oracle.lag_steps",
            format!(
                "a lag of {} steps is not shorter than the run ({steps} steps)",
                o.lag_steps
            ),
        );
    }
    Ok(())
}

/// `[controls.collateral]`: haircuts in `[0, 1)`, fractions in `[0, 1]`, shares
/// summing to at most 1, and a price path for every asset.
fn collateral(s: &Scenario) -> Check {
    let c = &s.controls.collateral;
    let mut total_share = 0.0;
    for (name, a) in &c.asset {
        let key = format!("controls.collateral.asset.{name}");
        finite(&format!("{key}.haircut"), a.haircut)?;
        if !(0.0..1.0).contains(&a.haircut) {
            return fail(
                format!("{key}.haircut"),
                format!(
                    "must be in [0, 1) (the fraction of the asset's value margin does not count; \
                     1 would count nothing), got {}",
                    a.haircut
                ),
            );
        }
        for (field, x) in [("holders", a.holders), ("share", a.share)] {
            finite(&format!("{key}.{field}"), x)?;
            if !(0.0..=1.0).contains(&x) {
                return fail(
                    format!("{key}.{field}"),
                    format!("must be a fraction in [0, 1], got {x}"),
                );
            }
        }
        total_share += a.share;
    }
    if total_share > 1.0 + 1e-12 {
        return fail(
            "controls.collateral.asset",
            format!(
                "the assets' shares sum to {total_share}: an account holding all of them would \
                 hold more than its margin"
            ),
        );
    }
    if c.enabled && c.asset.is_empty() {
        return fail(
            "controls.collateral",
            "enabled, but no [controls.collateral.asset.<name>] is given",
        );
    }
    let names: Vec<&str> = s.market.keys().map(String::as_str).collect();
    crate::venue::controls::collateral::resolve(c, &names)
        .map(|_| ())
        .map_err(|(key, message)| FieldError { key, message })
}

/// The `[controls]` table: every field is checked (so a sweep that turns a control
/// on finds its values sound), the run-length checks only for enabled controls.
fn controls(s: &Scenario) -> Check {
    let steps = s.steps();
    let b = &s.controls.breaker;
    positive("controls.breaker.threshold", b.threshold)?;
    if b.window_steps == 0 {
        return fail("controls.breaker.window_steps", "must be at least 1 step");
    }
    if b.pause_steps == 0 {
        return fail("controls.breaker.pause_steps", "must be at least 1 step");
    }
    if b.enabled && steps > 0 && b.window_steps as usize > steps {
        return fail(
            "controls.breaker.window_steps",
            format!(
                "the breaker's window ({} steps) is longer than the run ({steps} steps)",
                b.window_steps
            ),
        );
    }
    let v = &s.controls.vol_margin;
    positive("controls.vol_margin.sigma_ref", v.sigma_ref)?;
    positive("controls.vol_margin.half_life_steps", v.half_life_steps)?;
    if v.update_interval_steps == 0 {
        return fail(
            "controls.vol_margin.update_interval_steps",
            "must be at least 1 step",
        );
    }
    finite("controls.vol_margin.cap", v.cap)?;
    if v.cap < 1.0 {
        return fail(
            "controls.vol_margin.cap",
            format!(
                "must be at least 1 (margin is never scaled down), got {}",
                v.cap
            ),
        );
    }
    oracle(s, steps)?;
    collateral(s)?;
    if v.enabled {
        for (name, m) in &s.market {
            let mmr = m.tiers.iter().map(|t| t.imr.max(t.mmr)).fold(0.0, f64::max);
            if mmr * v.cap >= 1.0 {
                return fail(
                    "controls.vol_margin.cap",
                    format!(
                        "a cap of {} takes market `{name}`'s margin rate {mmr} to 100% or more",
                        v.cap
                    ),
                );
            }
        }
        if v.enabled && steps > 0 && v.update_interval_steps as usize > steps {
            return fail(
                "controls.vol_margin.update_interval_steps",
                format!(
                    "the update interval ({} steps) is longer than the run ({steps} steps)",
                    v.update_interval_steps
                ),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_parsing() {
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_utc("2025-10-10T21:20:00Z"),
            Some(1_760_131_200_000_000_000)
        );
        assert_eq!(parse_utc("2025-13-10T21:20:00Z"), None);
        assert_eq!(parse_utc("2025-10-10 21:20:00"), None);
    }
}
