//! The venue's rules: liquidation, insurance fund, and `[controls]` (every
//! control's fields are checked, so a sweep that turns a control on finds its
//! values sound; the run-length checks only for enabled controls).

use crate::config::field::{
    Check, FieldError, fail, finite, in_unit, key, non_negative, positive, usd_amount,
};
use crate::config::key_path::KeyPath;
use crate::config::scenario::Scenario;
use crate::config::venue::{LiquidationConfig, LiquidationLimitConfig, LiquidationModeKind};
use crate::time::parse_utc;
use crate::venue::controls::{CollateralAsset, CollateralAssetConfig, CollateralConfig};

/// `[liquidation]`, for a run of `steps` steps (0 when unknown).
pub(super) fn liquidation(l: &LiquidationConfig, steps: usize) -> Check {
    let at = |field: &str| key("liquidation").key(field);
    in_unit(&at("fee"), l.fee, "the liquidation fee")?;
    in_unit(
        &at("insurance_fund_share"),
        l.insurance_fund_share,
        "a share",
    )?;
    non_negative(&at("target_buffer"), l.target_buffer)?;
    positive(&at("target_step"), l.target_step)?;
    if l.target_step > 1.0 {
        return fail(at("target_step"), "must be at most 1");
    }
    positive(&at("chunk_fraction"), l.chunk_fraction)?;
    if l.chunk_fraction > 1.0 {
        return fail(at("chunk_fraction"), "must be at most 1");
    }
    usd_amount(&at("chunk_min_usd"), l.chunk_min_usd)?;
    usd_amount(&at("chunk_full_below_usd"), l.chunk_full_below_usd)?;
    if steps > 0 && l.latency_steps as usize >= steps {
        return fail(
            at("latency_steps"),
            format!(
                "a latency of {} steps is not shorter than the run ({steps} steps): no \
                 liquidation would ever execute",
                l.latency_steps
            ),
        );
    }
    if let Some(limit) = &l.limit {
        liquidation_limit(limit)?;
    }
    if l.mode == LiquidationModeKind::Chunked && steps > 0 && l.cooldown_steps as usize >= steps {
        return fail(
            at("cooldown_steps"),
            format!(
                "a cooldown of {} steps is not shorter than the run ({steps} steps): no second \
                 chunk would ever execute",
                l.cooldown_steps
            ),
        );
    }
    Ok(())
}

/// `[liquidation.limit]`: dYdX's own bounds (`LiquidationsConfig.Validate`,
/// `protocol/x/clob/types/liquidations_config.go`): SMMR positive, BA at
/// least 1; each at most [`LIMIT_PARAMETER_MAX`] (so the engine's rates hold
/// it).
fn liquidation_limit(l: &LiquidationLimitConfig) -> Check {
    let at = |field: &str| key("liquidation.limit").key(field);
    let smmr = l.spread_to_maintenance;
    positive(&at("spread_to_maintenance"), smmr)?;
    if smmr > LIMIT_PARAMETER_MAX {
        return fail(
            at("spread_to_maintenance"),
            format!(
                "must be at most {LIMIT_PARAMETER_MAX} (a multiple of the maintenance fraction), got {smmr}"
            ),
        );
    }
    let ba = l.bankruptcy_adjustment;
    finite(&at("bankruptcy_adjustment"), ba)?;
    if !(1.0..=LIMIT_PARAMETER_MAX).contains(&ba) {
        return fail(
            at("bankruptcy_adjustment"),
            format!(
                "must be between 1 and {LIMIT_PARAMETER_MAX} (dYdX requires at least 1), got {ba}"
            ),
        );
    }
    Ok(())
}

/// `[liquidation.blocks]` (checked whatever the mode, so a sweep that
/// switches to `per_block` finds it sound): dYdX's own bounds
/// (`LiquidationsConfig.Validate`: the portion in (0, 1], the account cap not
/// zero; the minimum "intentionally not validated" there, here not negative),
/// and a block no longer than a step.
pub(super) fn liquidation_blocks(s: &Scenario) -> Check {
    let Some(b) = &s.liquidation.blocks else {
        return Ok(());
    };
    let at = |field: &str| key("liquidation.blocks").key(field);
    positive(&at("block_seconds"), b.block_seconds)?;
    if b.block_seconds > f64::from(s.step_seconds) {
        return fail(
            at("block_seconds"),
            format!(
                "a block of {} s is longer than a step ({} s): a step must hold at least one block",
                b.block_seconds, s.step_seconds
            ),
        );
    }
    positive(&at("position_portion"), b.position_portion)?;
    if b.position_portion > 1.0 {
        return fail(
            at("position_portion"),
            format!(
                "must be at most 1 (a share of the position), got {}",
                b.position_portion
            ),
        );
    }
    usd_amount(&at("min_position_usd"), b.min_position_usd)?;
    usd_amount(&at("max_account_usd"), b.max_account_usd)?;
    if b.max_account_usd <= 0.0 {
        return fail(
            at("max_account_usd"),
            "must be positive: an account could never be liquidated",
        );
    }
    Ok(())
}

/// The largest `spread_to_maintenance` and `bankruptcy_adjustment`.
const LIMIT_PARAMETER_MAX: f64 = 1_000.0;

/// `[last_line]`: `cap` in (0, 1] (checked whatever the allocation, so a sweep
/// that switches to `capped_pro_rata` finds it sound).
pub(super) fn last_line(s: &Scenario) -> Check {
    let at = key("last_line").key("cap");
    positive(&at, s.last_line.cap)?;
    if s.last_line.cap > 1.0 {
        return fail(
            at,
            format!(
                "must be at most 1 (a share of a winner's position), got {}",
                s.last_line.cap
            ),
        );
    }
    Ok(())
}

/// `[insurance_fund]`.
pub(super) fn insurance_fund(s: &Scenario) -> Check {
    usd_amount(&key("insurance_fund.initial"), s.insurance_fund.initial)?;
    usd_amount(&key("insurance_fund.floor"), s.insurance_fund.floor)
}

/// `[vault]`: amounts in range, the floor at most the capital, fractions in
/// [0, 1].
pub(super) fn vault(s: &Scenario) -> Check {
    let Some(v) = &s.vault else {
        return Ok(());
    };
    let at = |field: &str| key("vault").key(field);
    usd_amount(&at("capital"), v.capital)?;
    usd_amount(&at("floor"), v.floor)?;
    if v.floor > v.capital {
        return fail(
            at("floor"),
            format!(
                "the floor ({}) is above the capital ({}): the vault would never take anything over",
                v.floor, v.capital
            ),
        );
    }
    in_unit(&at("unwind_fraction"), v.unwind_fraction, "a share")?;
    in_unit(
        &at("takeover_below"),
        v.takeover_below,
        "a fraction of maintenance",
    )
}

/// `[controls]`.
pub(super) fn controls(s: &Scenario) -> Check {
    let steps = s.steps();
    breaker(s, steps)?;
    vol_margin_fields(s)?;
    oracle(s, steps)?;
    collateral(s)?;
    vol_margin_run(s, steps)
}

/// `[controls.breaker]`.
fn breaker(s: &Scenario, steps: usize) -> Check {
    let b = &s.controls.breaker;
    let at = |field: &str| key("controls.breaker").key(field);
    positive(&at("threshold"), b.threshold)?;
    if b.window_steps == 0 {
        return fail(at("window_steps"), "must be at least 1 step");
    }
    if b.pause_steps == 0 {
        return fail(at("pause_steps"), "must be at least 1 step");
    }
    if b.enabled && steps > 0 && b.window_steps as usize > steps {
        return fail(
            at("window_steps"),
            format!(
                "the breaker's window ({} steps) is longer than the run ({steps} steps)",
                b.window_steps
            ),
        );
    }
    Ok(())
}

/// `[controls.vol_margin]`: its numbers.
fn vol_margin_fields(s: &Scenario) -> Check {
    let v = &s.controls.vol_margin;
    let at = |field: &str| key("controls.vol_margin").key(field);
    positive(&at("sigma_ref"), v.sigma_ref)?;
    positive(&at("half_life_steps"), v.half_life_steps)?;
    if v.update_interval_steps == 0 {
        return fail(at("update_interval_steps"), "must be at least 1 step");
    }
    finite(&at("cap"), v.cap)?;
    if v.cap < 1.0 {
        return fail(
            at("cap"),
            format!(
                "must be at least 1 (margin is never scaled down), got {}",
                v.cap
            ),
        );
    }
    Ok(())
}

/// `[controls.vol_margin]`, when enabled: a cap the markets' rates can take, an
/// update interval within the run.
fn vol_margin_run(s: &Scenario, steps: usize) -> Check {
    let v = &s.controls.vol_margin;
    if !v.enabled {
        return Ok(());
    }
    let at = |field: &str| key("controls.vol_margin").key(field);
    for (name, m) in &s.market {
        let mmr = m.tiers.iter().map(|t| t.imr.max(t.mmr)).fold(0.0, f64::max);
        if mmr * v.cap >= 1.0 {
            return fail(
                at("cap"),
                format!(
                    "a cap of {} takes market `{name}`'s margin rate {mmr} to 100% or more",
                    v.cap
                ),
            );
        }
    }
    if steps > 0 && v.update_interval_steps as usize > steps {
        return fail(
            at("update_interval_steps"),
            format!(
                "the update interval ({} steps) is longer than the run ({steps} steps)",
                v.update_interval_steps
            ),
        );
    }
    Ok(())
}

/// `[controls.oracle]`.
fn oracle(s: &Scenario, steps: usize) -> Check {
    let o = &s.controls.oracle;
    let at = |field: &str| key("controls.oracle").key(field);
    if o.sources == 0 || o.sources > 64 {
        return fail(
            at("sources"),
            format!("must be between 1 and 64 sources, got {}", o.sources),
        );
    }
    non_negative(&at("noise"), o.noise)?;
    in_unit(
        &at("outage_probability"),
        o.outage_probability,
        "a probability",
    )?;
    finite(&at("trim_fraction"), o.trim_fraction)?;
    if !(0.0..0.5).contains(&o.trim_fraction) {
        return fail(
            at("trim_fraction"),
            format!("must be at least 0 and below 0.5, got {}", o.trim_fraction),
        );
    }
    finite(&at("deviation_guard"), o.deviation_guard)?;
    if o.deviation_guard <= 0.0 {
        return fail(
            at("deviation_guard"),
            format!(
                "must be above 0 (a guard of {} would drop every source off the median by any amount); 1.0 all but turns it off",
                o.deviation_guard
            ),
        );
    }
    oracle_fault(s)?;
    if o.enabled && steps > 0 && o.lag_steps as usize >= steps {
        return fail(
            at("lag_steps"),
            format!(
                "a lag of {} steps is not shorter than the run ({steps} steps)",
                o.lag_steps
            ),
        );
    }
    Ok(())
}

/// `[controls.oracle]`'s fault: an existing source, a wick above −100%.
fn oracle_fault(s: &Scenario) -> Check {
    let o = &s.controls.oracle;
    let at = |field: &str| key("controls.oracle").key(field);
    if o.fault_steps > 0 && o.faulty_source >= o.sources {
        return fail(
            at("faulty_source"),
            format!(
                "source {} does not exist: sources are numbered 0 to {}",
                o.faulty_source,
                o.sources - 1
            ),
        );
    }
    finite(&at("fault_wick"), o.fault_wick)?;
    if o.fault_wick <= -1.0 {
        return fail(
            at("fault_wick"),
            format!(
                "a wick of {} would take the source's price to zero or below",
                o.fault_wick
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
        asset_fractions(&key("controls.collateral.asset").key(name.as_str()), a)?;
        total_share += a.share;
    }
    if total_share > 1.0 + 1e-12 {
        return fail(
            key("controls.collateral.asset"),
            format!(
                "the assets' shares sum to {total_share}: an account holding all of them would \
                 hold more than its margin"
            ),
        );
    }
    if c.enabled && c.asset.is_empty() {
        return fail(
            key("controls.collateral"),
            "enabled, but no [controls.collateral.asset.<name>] is given",
        );
    }
    collateral_assets(c, &s.market_names()).map(|_| ())
}

/// One asset's haircut, holders and share.
fn asset_fractions(k: &KeyPath, a: &CollateralAssetConfig) -> Check {
    finite(&k.key("haircut"), a.haircut)?;
    if !(0.0..1.0).contains(&a.haircut) {
        return fail(
            k.key("haircut"),
            format!(
                "must be in [0, 1) (the fraction of the asset's value margin does not count; \
                 1 would count nothing), got {}",
                a.haircut
            ),
        );
    }
    for (field, x) in [("holders", a.holders), ("share", a.share)] {
        finite(&k.key(field), x)?;
        if !(0.0..=1.0).contains(&x) {
            return fail(
                k.key(field),
                format!("must be a fraction in [0, 1], got {x}"),
            );
        }
    }
    Ok(())
}

/// The scenario's collateral assets as the venue prices them (validated:
/// haircut in `[0, 1)`, a price path, a known market), markets named in
/// market-index order.
///
/// # Errors
/// The first asset that cannot be priced, at its key.
pub(crate) fn collateral_assets(
    cfg: &CollateralConfig,
    market_names: &[&str],
) -> Result<Vec<CollateralAsset>, FieldError> {
    let mut out = Vec::with_capacity(cfg.asset.len());
    for (name, a) in &cfg.asset {
        let k = key("controls.collateral.asset").key(name.as_str());
        let market = match &a.market {
            Some(m) => Some(market_names.iter().position(|n| n == m).ok_or_else(|| {
                FieldError {
                    key: k.key("market"),
                    message: format!(
                        "collateral asset `{name}` takes its price from market `{m}`, which the \
                         scenario does not define (markets: {})",
                        market_names.join(", ")
                    ),
                }
            })?),
            None => None,
        };
        let points = a.schedule.as_deref().unwrap_or(&[]);
        if market.is_none() && points.is_empty() {
            return Err(FieldError {
                key: k,
                message: format!(
                    "collateral asset `{name}` has no price path: give `market = \"…\"` (its price \
                     is that market's mark) or a `schedule` of prices"
                ),
            });
        }
        let (schedule, by_time) = schedule(&k, a)?;
        out.push(CollateralAsset {
            name: name.clone(),
            weight: 1.0 - a.haircut,
            market,
            schedule,
            by_time,
        });
    }
    Ok(out)
}

/// An asset's price schedule as `(x, price)` points, x in steps or UTC ns
/// (strictly increasing), and whether x is a time.
fn schedule(k: &KeyPath, a: &CollateralAssetConfig) -> Result<(Vec<(f64, f64)>, bool), FieldError> {
    let points = a.schedule.as_deref().unwrap_or(&[]);
    let by_time = points.first().is_some_and(|p| p.at.is_some());
    let mut schedule = Vec::with_capacity(points.len());
    let err = |key: KeyPath, message: &str| FieldError {
        key,
        message: message.to_string(),
    };
    for (i, p) in points.iter().enumerate() {
        let pk = k.key("schedule").index(i);
        let x = match (&p.step, &p.at, by_time) {
            (Some(s), None, false) => f64::from(*s),
            (None, Some(at), true) => parse_utc(at).ok_or_else(|| FieldError {
                key: pk.key("at"),
                message: format!("`{at}` is not a UTC time like 2025-10-10T21:35:00Z"),
            })? as f64,
            (Some(_), Some(_), _) => return Err(err(pk, "give `step` or `at`, not both")),
            (None, None, _) => return Err(err(pk, "needs `step` or `at`")),
            _ => {
                return Err(err(
                    pk,
                    "mixes `step` and `at` points; use one kind per schedule",
                ));
            }
        };
        if !p.price.is_finite() || p.price <= 0.0 {
            return Err(FieldError {
                key: pk.key("price"),
                message: format!("must be a positive number, got {}", p.price),
            });
        }
        if schedule.last().is_some_and(|&(px, _)| x <= px) {
            return Err(err(
                pk,
                "points must be in strictly increasing order of step or time",
            ));
        }
        schedule.push((x, p.price));
    }
    Ok((schedule, by_time))
}
