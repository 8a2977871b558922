//! The top-level fields of a scenario, and every table's checks in file order.

use super::{market, path, population, venue};
use crate::config::field::{Check, fail, key};
use crate::config::scenario::Scenario;
use crate::time::parse_utc;

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
    path::path(s)?;
    population::population(&s.population)?;
    venue::liquidation(&s.liquidation)?;
    venue::insurance_fund(s)?;
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
