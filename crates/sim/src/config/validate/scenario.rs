//! The top-level fields of a scenario, and every table's checks in file order.

use super::{market, path, population, venue};
use crate::config::field::{Check, fail, key};
use crate::config::path::PathConfig;
use crate::config::scenario::Scenario;
use crate::time::parse_utc;

/// The most paths a run may have (each keeps its metrics, a few hundred bytes).
pub const MAX_PATHS: u32 = 10_000_000;

/// The most steps a run may have: steps are `u32` in the engine, and a step's
/// due liquidations are scheduled `latency_steps` (shorter than the run) later.
pub const MAX_STEPS: usize = 100_000_000;

/// Every field of a scenario (its `[sweep]` aside).
pub(crate) fn fields(s: &Scenario) -> Check {
    name(&s.name)?;
    if parse_utc(&s.start).is_none() {
        return fail(
            key("start"),
            format!(
                "must be a UTC time like 2025-10-10T00:00:00Z, got {:?}",
                s.start
            ),
        );
    }
    if s.step_seconds == 0 {
        return fail(key("step_seconds"), "must be at least 1");
    }
    market::markets(s)?;
    if s.paths == 0 {
        return fail(
            key("paths"),
            "must be at least 1 (zero paths simulate nothing)",
        );
    }
    if s.paths > MAX_PATHS {
        return fail(
            key("paths"),
            format!("{} paths is more than the limit of {MAX_PATHS}", s.paths),
        );
    }
    path::path(s)?;
    let steps = s.steps();
    if steps > MAX_STEPS {
        let at = match &s.path {
            PathConfig::Series { .. } => key("path.prices"),
            PathConfig::Replay(_) | PathConfig::Overlay(_) => key("path.end"),
            _ => key("path.steps"),
        };
        return fail(
            at,
            format!("a run of {steps} steps is more than the limit of {MAX_STEPS}"),
        );
    }
    population::population(&s.population)?;
    venue::liquidation(&s.liquidation, steps)?;
    venue::liquidation_blocks(s)?;
    venue::insurance_fund(s)?;
    venue::vault(s)?;
    venue::last_line(s)?;
    venue::controls(s)
}

/// The name is the output folder's.
fn name(name: &str) -> Check {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        return Ok(());
    }
    fail(
        key("name"),
        format!(
            "must be a non-empty folder name of letters, digits, '-', '_' or '.', got {name:?}"
        ),
    )
}
