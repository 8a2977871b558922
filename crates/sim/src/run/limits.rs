//! What a run may ask for, checked before anything large is allocated or
//! simulated: the memory it needs against what the machine has
//! ([`check_memory`]), and the money its population can reach against the
//! engine's integer range ([`check_exposure`]).
//!
//! Both run in [`crate::run::Prepared::new`], which `backstop validate` and
//! `backstop run` share, so whatever `run` refuses here `validate` refuses
//! first.

use std::fmt::Write as _;

use crate::config::field::{FieldError, key};
use crate::config::key_path::KeyPath;
use crate::config::population::PopulationConfig;
use crate::config::scenario::Scenario;
use crate::engine::AccountSpec;
use crate::error::InputError;
use crate::money::{MAX_MICROS, Micros};
use crate::venue::controls::{CollateralAsset, CollateralHolding};
use crate::venue::market::Market;

/// Paths simulated in parallel before their series are folded into the bands
/// (a run holds this many paths' per-step series at once).
pub const CHUNK_PATHS: u64 = 64;

/// Bytes the per-step bands may spend keeping every path's value, so that their
/// quantiles are exact ([`bands_exact`]); beyond it they are sketched within
/// 0.5% of the value (docs/model.md §7).
///
/// 96 MiB: every example scenario stays exact (the largest, 1,000 paths of
/// 1,440 steps and 7 band columns, takes 81 MB), and a run's peak memory stops
/// growing with its paths once past it (the sketches' size depends on the
/// steps and columns only): `mc-garch-baseline` peaks at 111 MB at 1,000 paths
/// and below that at 2,000 to 8,000 paths, where 256 MiB let it reach 192 MB
/// at 2,000 (docs/performance.md, "Memory of a Monte Carlo run").
pub const EXACT_BANDS_BYTES: u64 = 96 << 20;

/// Whether the bands of `paths` paths of `steps` steps and `columns` band
/// columns keep every value (exact quantiles) within [`EXACT_BANDS_BYTES`].
pub fn bands_exact(paths: u64, steps: u64, columns: u64) -> bool {
    paths
        .saturating_mul(steps)
        .saturating_mul(columns)
        .saturating_mul(BAND_VALUE_BYTES)
        <= EXACT_BANDS_BYTES
}

/// Bytes of one account's starting spec, its snapshot row and the engine's
/// state of it (account, position slots, index entries), per engine.
const SPEC_BYTES: u64 = 200;
/// Bytes of one account in one engine (one engine per worker thread).
const ENGINE_BYTES_PER_ACCOUNT: u64 = 320;
/// Bytes of one position slot in one engine, beyond the account's.
const ENGINE_BYTES_PER_POSITION: u64 = 48;
/// Bytes of one step of one band column of one path in flight (`f64`), and of
/// its timestamp.
const BAND_VALUE_BYTES: u64 = 8;
/// Bytes of one quantile sketch (one per step and band column) beyond its
/// values: the struct and its allocation.
const SKETCH_BYTES: u64 = 160;
/// Bytes of a sketch's buckets once it holds more values than it keeps exactly
/// (typically below 1 KiB).
const SKETCH_BUCKET_BYTES: u64 = 1_000;
/// Bytes of one step of one market of path 0's full series (`steps.parquet`).
const STEP_RECORD_BYTES: u64 = 160;
/// Bytes of one path's metrics.
const PATH_BYTES: u64 = 600;

/// The memory a run is estimated to need, by part.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryEstimate {
    /// `(what, bytes, key of the setting that drives it)`, largest first.
    pub parts: Vec<(&'static str, u64, KeyPath)>,
}

impl MemoryEstimate {
    /// The estimate of the run of `s` on `threads` worker threads (accounts of a
    /// `parquet` population are not known before the file is read and count as
    /// zero here; its rows are bounded by the file).
    pub fn of(s: &Scenario, threads: usize) -> MemoryEstimate {
        let steps = s.steps() as u64;
        let markets = s.market.len() as u64;
        let paths = u64::from(s.paths);
        let (accounts, positions) = match &s.population {
            PopulationConfig::Generated {
                accounts,
                multi_market_fraction,
                ..
            } => {
                let a = u64::from(*accounts);
                let multi = (*multi_market_fraction * a as f64).ceil() as u64;
                (a, a + multi.saturating_mul(markets.saturating_sub(1)))
            }
            PopulationConfig::Parquet { .. } => (0, 0),
        };
        let engines = (threads.max(1) as u64).min(paths).saturating_add(1);
        let columns = 3 + 4 * markets;
        let in_flight = CHUNK_PATHS.min(paths).max((threads as u64).min(paths));
        let sketch = SKETCH_BYTES
            + if paths > 128 && !bands_exact(paths, steps, columns) {
                SKETCH_BUCKET_BYTES
            } else {
                BAND_VALUE_BYTES * paths
            };
        let mut parts = vec![
            (
                "accounts",
                accounts.saturating_mul(SPEC_BYTES).saturating_add(
                    engines.saturating_mul(
                        accounts
                            .saturating_mul(ENGINE_BYTES_PER_ACCOUNT)
                            .saturating_add(positions.saturating_mul(ENGINE_BYTES_PER_POSITION)),
                    ),
                ),
                key("population.accounts"),
            ),
            (
                "per-step quantile bands",
                steps
                    .saturating_mul(columns)
                    .saturating_mul(sketch)
                    .saturating_add(
                        in_flight
                            .saturating_mul(steps)
                            .saturating_mul((columns + 1) * BAND_VALUE_BYTES),
                    )
                    .saturating_add(
                        steps
                            .saturating_mul(markets)
                            .saturating_mul(STEP_RECORD_BYTES + 16 * engines),
                    ),
                key("path.steps"),
            ),
            (
                "per-path metrics",
                paths.saturating_mul(PATH_BYTES),
                key("paths"),
            ),
        ];
        parts.sort_by_key(|p| std::cmp::Reverse(p.1));
        MemoryEstimate { parts }
    }

    /// The whole estimate, bytes.
    pub fn total(&self) -> u64 {
        self.parts.iter().fold(0u64, |t, p| t.saturating_add(p.1))
    }
}

/// Bytes of memory available now (`MemAvailable` of `/proc/meminfo`), or `None`
/// where there is no such file.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Refuses a run whose estimated memory is more than the machine has available,
/// before anything is allocated.
///
/// # Errors
/// [`InputError::Memory`] with the estimate, its largest part's key and the
/// memory available.
pub fn check_memory(s: &Scenario, threads: usize) -> Result<(), InputError> {
    let Some(available) = available_memory() else {
        return Ok(());
    };
    check_memory_against(s, threads, available)
}

/// [`check_memory`] against `available` bytes.
///
/// # Errors
/// As [`check_memory`].
pub fn check_memory_against(
    s: &Scenario,
    threads: usize,
    available: u64,
) -> Result<(), InputError> {
    let estimate = MemoryEstimate::of(s, threads);
    let total = estimate.total();
    if total <= available {
        return Ok(());
    }
    let mut parts = String::new();
    for (i, (what, bytes, k)) in estimate.parts.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(parts, "{sep}{what} ({k}) {}", gib(*bytes));
    }
    Err(InputError::Memory {
        key: estimate.parts[0].2.clone(),
        message: format!(
            "the run needs about {} of memory ({parts}; {threads} worker threads), more than the \
             {} available (MemAvailable in /proc/meminfo)",
            gib(total),
            gib(available)
        ),
    })
}

/// Bytes in GiB, for messages.
fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Refuses a population whose money could leave the engine's integer range:
/// the gross open interest (every position's size, summed over markets) valued
/// at the highest price the path can reach, the same at the entry prices, and
/// the collateral plus the insurance fund, each at most
/// [`MAX_MICROS`]. `max_prices[m]` is the highest price of market `m` known
/// before the run (the whole path when it is fixed, else the start price; the
/// engine checks the open interest again at every step).
///
/// # Errors
/// [`InputError::OutOfRange`] at the key that sets the amount
/// (`population.max_notional`, `population.accounts`, `population.file`,
/// `insurance_fund.initial`), with the value and the limit.
pub fn check_exposure(
    s: &Scenario,
    population: &[AccountSpec],
    markets: &[Market],
    max_prices: &[f64],
    fund: Micros,
) -> Result<(), InputError> {
    let n = markets.len();
    let mut gross = vec![0i128; n];
    let mut at_entry = 0i128;
    let mut collateral = i128::from(fund.0);
    // Saturating: a snapshot may hold sizes near i64::MAX lots, whose value
    // does not fit even i128; saturated, it is still far above the limit.
    for a in population {
        collateral = collateral.saturating_add(i128::from(a.collateral.0));
        for &(m, lots, entry) in &a.positions {
            let m = m as usize;
            if m >= n {
                continue;
            }
            let lots = i128::from(lots).abs();
            gross[m] = gross[m].saturating_add(lots);
            at_entry = at_entry.saturating_add(
                lots.saturating_mul(i128::from(entry))
                    .saturating_mul(i128::from(markets[m].micros_per_lot_tick)),
            );
        }
    }
    let mut at_max = 0i128;
    let mut worst = (0usize, 0i128);
    for (m, market) in markets.iter().enumerate() {
        let ticks = market
            .checked_ticks(max_prices.get(m).copied().unwrap_or(f64::NAN))
            .unwrap_or(1);
        let v = gross[m]
            .saturating_mul(i128::from(ticks))
            .saturating_mul(i128::from(market.micros_per_lot_tick));
        at_max = at_max.saturating_add(v);
        if v > worst.1 {
            worst = (m, v);
        }
    }
    let limit = i128::from(MAX_MICROS);
    let population_key = match &s.population {
        PopulationConfig::Generated { .. } => key("population.max_notional"),
        PopulationConfig::Parquet { .. } => key("population.file"),
    };
    let usd = |v: i128| v as f64 / 1e6;
    let accounts = population.len();
    if at_max > limit || at_entry > limit {
        let (m, v) = worst;
        let (name, price) = (
            markets.get(m).map_or("", |m| m.name.as_str()),
            max_prices.get(m).copied().unwrap_or(f64::NAN),
        );
        return Err(InputError::OutOfRange(FieldError {
            key: population_key,
            message: format!(
                "the {accounts} accounts' positions would reach a gross open interest of {:e} USD \
                 (market `{name}`: {:e} USD at its highest price of the path, {price}; {:e} USD at \
                 the entry prices), above the largest amount the engine can hold, {:.3e} USD; \
                 draw smaller notionals or fewer accounts",
                usd(at_max.max(at_entry)),
                usd(v),
                usd(at_entry),
                usd(limit)
            ),
        }));
    }
    if collateral > limit {
        return Err(InputError::OutOfRange(FieldError {
            key: if usd(i128::from(fund.0)) > usd(collateral) / 2.0 {
                key("insurance_fund.initial")
            } else {
                population_key
            },
            message: format!(
                "the {accounts} accounts' collateral and the insurance fund sum to {:e} USD, above \
                 the largest amount the engine can hold, {:.3e} USD",
                usd(collateral),
                usd(limit)
            ),
        }));
    }
    Ok(())
}

/// Checks that the non-USD collateral the population holds stays inside the
/// engine's integer range at the highest price its schedule (times the highest
/// mark of its market, for a market-priced asset) can reach: `Σ units × price`
/// per asset, in micro-USD, at most [`MAX_MICROS`].
///
/// # Errors
/// [`InputError::OutOfRange`] at `controls.collateral.asset.<name>.schedule`
/// (or `.market`), with the value reached and the limit.
pub fn check_collateral(
    assets: &[CollateralAsset],
    holdings: &[CollateralHolding],
    max_prices: &[f64],
) -> Result<(), InputError> {
    for (k, asset) in assets.iter().enumerate() {
        let units: i128 = holdings
            .iter()
            .filter(|h| usize::from(h.asset) == k)
            .map(|h| i128::from(h.units))
            .sum();
        let schedule_max = asset
            .schedule
            .iter()
            .map(|&(_, v)| v)
            .fold(1.0f64, f64::max);
        let mark_max = asset
            .market
            .map_or(1.0, |m| max_prices.get(m).copied().unwrap_or(f64::NAN));
        let price = schedule_max * mark_max;
        let value = units as f64 * price;
        if !(value.is_finite() && value <= MAX_MICROS as f64) {
            let field = if asset.schedule.iter().any(|&(_, v)| v > 1.0) {
                "schedule"
            } else {
                "market"
            };
            return Err(InputError::OutOfRange(FieldError {
                key: key("controls.collateral.asset")
                    .key(asset.name.as_str())
                    .key(field),
                message: format!(
                    "the {:e} units held would be worth {:e} USD at the asset's highest price, {price}, above the largest amount the engine can hold, {:.3e} USD",
                    units as f64 / 1e6,
                    value / 1e6,
                    MAX_MICROS as f64 / 1e6
                ),
            }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(accounts: u32, steps: u32, paths: u32) -> Scenario {
        let src = format!(
            r#"
name = "t"
paths = {paths}
[market.btc]
price = 100000.0
tick_size = 0.1
lot_size = 0.001
tiers = [{{ notional_floor = 0, imr = 0.01, mmr = 0.005 }}]
[path]
kind = "gbm"
steps = {steps}
volatility = 0.5
[population]
kind = "generated"
accounts = {accounts}
notional = {{ distribution = "constant", value = 1000.0 }}
leverage = {{ distribution = "constant", value = 5.0 }}
max_notional = 1e6
"#
        );
        Scenario::from_toml_str(&src, Path::new("t.toml")).unwrap()
    }

    #[test]
    fn the_estimate_grows_with_accounts_steps_and_paths() {
        let small = MemoryEstimate::of(&scenario(1_000, 1_000, 10), 4).total();
        for bigger in [
            scenario(100_000, 1_000, 10),
            scenario(1_000, 100_000, 10),
            scenario(1_000, 1_000, 100_000),
        ] {
            assert!(MemoryEstimate::of(&bigger, 4).total() > small);
        }
        // 50 million accounts on 8 threads: hundreds of GiB, refused on a 16 GiB machine.
        let huge = scenario(50_000_000, 1_000, 10);
        let e = MemoryEstimate::of(&huge, 8);
        assert!(e.total() > 100 << 30, "{e:?}");
        let err = check_memory_against(&huge, 8, 16 << 30).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("population.accounts"), "{text}");
        assert!(text.contains("16.00 GiB available"), "{text}");
        // The small one fits.
        check_memory_against(&scenario(1_000, 1_000, 10), 8, 16 << 30).unwrap();
    }
}
