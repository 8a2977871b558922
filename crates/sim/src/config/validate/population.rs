//! `[population]`: the generated population's distributions and shares, or a
//! snapshot file.

use crate::config::field::{Check, fail, in_unit, key, non_negative, positive, usd_amount};
use crate::config::key_path::KeyPath;
use crate::config::population::{Distribution, PopulationConfig};

/// The most accounts a generated population may have (each costs a few
/// hundred bytes per engine, one engine per worker thread; the memory estimate
/// of a run, `crate::run::memory`, is checked as well).
pub const MAX_ACCOUNTS: u32 = 50_000_000;

/// The population.
pub(super) fn population(p: &PopulationConfig) -> Check {
    match p {
        PopulationConfig::Generated {
            accounts,
            notional,
            leverage,
            max_notional,
            long_fraction,
            entry_dispersion,
            isolated_fraction,
            multi_market_fraction,
            resample: _,
        } => {
            let at = |field: &str| key("population").key(field);
            if *accounts == 0 {
                return fail(
                    at("accounts"),
                    "must be at least 1 (zero accounts leave nothing to simulate)",
                );
            }
            if *accounts > MAX_ACCOUNTS {
                return fail(
                    at("accounts"),
                    format!("{accounts} accounts is more than the limit of {MAX_ACCOUNTS}"),
                );
            }
            distribution(&at("notional"), notional, 0.0)?;
            distribution(&at("leverage"), leverage, 1.0)?;
            positive(&at("max_notional"), *max_notional)?;
            usd_amount(&at("max_notional"), *max_notional)?;
            in_unit(&at("long_fraction"), *long_fraction, "a fraction")?;
            in_unit(&at("isolated_fraction"), *isolated_fraction, "a fraction")?;
            in_unit(
                &at("multi_market_fraction"),
                *multi_market_fraction,
                "a fraction",
            )?;
            non_negative(&at("entry_dispersion"), *entry_dispersion)?;
            if *entry_dispersion >= 1.0 {
                return fail(
                    at("entry_dispersion"),
                    "must be below 1 (a log standard deviation)",
                );
            }
            Ok(())
        }
        PopulationConfig::Parquet { file, .. } => {
            if file.as_os_str().is_empty() {
                return fail(key("population.file"), "must name a Parquet positions file");
            }
            Ok(())
        }
    }
}

/// A distribution of a positive quantity whose values are at least `at_least`.
fn distribution(k: &KeyPath, d: &Distribution, at_least: f64) -> Check {
    let least = |field: &str, x: f64| {
        if x < at_least {
            fail(
                k.key(field),
                format!("must be at least {at_least}, got {x}"),
            )
        } else {
            Ok(())
        }
    };
    match *d {
        Distribution::Lognormal { median, sigma } => {
            positive(&k.key("median"), median)?;
            non_negative(&k.key("sigma"), sigma)?;
            least("median", median)
        }
        Distribution::Pareto { scale, shape } => {
            positive(&k.key("scale"), scale)?;
            positive(&k.key("shape"), shape)?;
            least("scale", scale)
        }
        Distribution::Uniform { min, max } => {
            positive(&k.key("min"), min)?;
            positive(&k.key("max"), max)?;
            least("min", min)?;
            if max < min {
                return fail(
                    k.key("max"),
                    format!("must be at least min ({min}), got {max}"),
                );
            }
            Ok(())
        }
        Distribution::Constant { value } => {
            positive(&k.key("value"), value)?;
            least("value", value)
        }
    }
}
