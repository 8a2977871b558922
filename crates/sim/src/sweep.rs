//! Parameter sweeps: a `[sweep]` table names numeric scenario fields by their key
//! path and lists the values each takes; the run is the Cartesian product of them.
//!
//! ```toml
//! [[sweep.parameter]]
//! path = "market.btc.tiers[0].mmr"
//! values = [0.004, 0.005, 0.006]
//!
//! [[sweep.parameter]]
//! path = "insurance_fund.initial"
//! range = { from = 1000000, to = 3000000, steps = 3 }
//!
//! [sweep.target]
//! max_depletion_probability = 0.01
//! capital_efficiency = "insurance_fund.initial"   # default: the first parameter
//! prefer = "lower"                                # default
//! ```
//!
//! **Order.** Parameter sets are numbered in row-major order over the parameters
//! as listed, the first parameter slowest: with parameters `a` (values `a0, a1`)
//! and `b` (`b0, b1, b2`), set 0 is `(a0, b0)`, set 1 `(a0, b1)`, set 3 `(a1, b0)`.
//!
//! **Applying a set.** The base scenario (every default filled in) is turned into
//! a serde value, the value at each swept path is replaced, and the result is
//! deserialized and validated again, so a swept value out of range gets the same
//! message as in a scenario file, naming the key and the set. Integer fields
//! (`liquidation.latency_steps`) take whole values only.
//!
//! **Common random numbers.** Path `i` of every set draws from the streams keyed
//! by (seed, purpose, `i`) ([`crate::rng`]), so all sets see the same price paths
//! and the same population draws (unless the swept field shapes them, e.g. a
//! margin rate that caps leverage): differences between sets are the parameters'
//! effect, not sampling noise.
//!
//! **Work.** A sweep is `sets × paths` work items, item `w = set × paths + path`.
//! Shard `k` of `n` takes the contiguous items `[k·W/n, (k+1)·W/n)` (`W` items in
//! all); inside a shard, items are run in chunks that never cross a set and
//! never cross a multiple of [`CHUNK_PATHS`] paths.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aggregate::Aggregates;
use crate::error::SimError;
use crate::metrics::PathMetrics;
use crate::run::CHUNK_PATHS;
use crate::scenario::{FieldError, Scenario};
use backstop_data::PATH_METRICS;

/// The `[sweep]` table of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// The swept parameters, in order (the first varies slowest).
    pub parameter: Vec<SweepParameter>,
    /// What a set must achieve, and how sets meeting it are ranked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<SweepTarget>,
}

/// One swept parameter: a numeric scenario field and its values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepParameter {
    /// Key path of the field, as in error messages: `liquidation.fee`,
    /// `market.btc.tiers[0].mmr`.
    pub path: String,
    /// The values, in order (or give `range`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
    /// Evenly spaced values from `from` to `to` inclusive (or give `values`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<SweepRange>,
}

/// `steps` evenly spaced values from `from` to `to`, both included.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRange {
    /// First value.
    pub from: f64,
    /// Last value.
    pub to: f64,
    /// Number of values (1 gives `from` alone).
    pub steps: u32,
}

/// Whether lower or higher values of the capital-efficiency field are better.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prefer {
    /// Lower is better (a smaller fund, a lower margin rate).
    #[default]
    Lower,
    /// Higher is better.
    Higher,
}

/// `[sweep.target]`: the acceptance criterion and the ranking of accepted sets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepTarget {
    /// A set meets the target when its probability of insurance-fund depletion
    /// is at most this (0 to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_depletion_probability: Option<f64>,
    /// Compare the upper end of the 95% Clopper–Pearson interval instead of the
    /// point estimate (conservative with few paths).
    #[serde(default)]
    pub use_upper_bound: bool,
    /// The swept parameter that measures capital efficiency; default the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capital_efficiency: Option<String>,
    /// Whether lower (default) or higher values of it are better.
    #[serde(default)]
    pub prefer: Prefer,
}

/// The expanded grid of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepGrid {
    /// Every parameter with its values, in scenario order.
    pub parameters: Vec<GridParameter>,
    /// Number of parameter sets (the product of the value counts).
    pub sets: u32,
    /// How sets are numbered.
    pub order: &'static str,
    /// The acceptance threshold on the depletion probability, if any.
    pub max_depletion_probability: Option<f64>,
    /// Whether the threshold applies to the 95% upper bound.
    pub use_upper_bound: bool,
    /// The parameter ranking the sets that meet the target.
    pub capital_efficiency: String,
    /// Whether lower or higher values of it are better.
    pub prefer: Prefer,
}

/// One axis of the grid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GridParameter {
    /// Key path.
    pub path: String,
    /// Values, in order.
    pub values: Vec<f64>,
}

/// Description of the set numbering, repeated in `summary.json`.
pub const ORDER: &str = "row-major over the parameters as listed, the first parameter slowest";

fn field(key: String, message: impl Into<String>) -> FieldError {
    FieldError {
        key,
        message: message.into(),
    }
}

impl SweepGrid {
    /// Expands and checks `[sweep]` against the base scenario `base`: every path
    /// names a numeric field, every list is non-empty and finite, no path twice.
    ///
    /// # Errors
    /// A [`FieldError`] naming the `sweep.…` key at fault.
    pub fn new(base: &Scenario, config: &SweepConfig) -> Result<SweepGrid, FieldError> {
        if config.parameter.is_empty() {
            return Err(field(
                "sweep".into(),
                "a sweep needs at least one [[sweep.parameter]]",
            ));
        }
        let doc = base_value(base).map_err(|m| field("sweep".into(), m))?;
        let mut parameters: Vec<GridParameter> = Vec::new();
        let mut sets: u64 = 1;
        for (k, p) in config.parameter.iter().enumerate() {
            let key = format!("sweep.parameter[{k}]");
            let values = match (&p.values, &p.range) {
                (Some(v), None) => {
                    if v.is_empty() {
                        return Err(field(
                            format!("{key}.values"),
                            format!("the value list of `{}` is empty", p.path),
                        ));
                    }
                    v.clone()
                }
                (None, Some(r)) => {
                    if r.steps == 0 {
                        return Err(field(
                            format!("{key}.range"),
                            format!("the range of `{}` needs at least 1 step", p.path),
                        ));
                    }
                    let n = r.steps;
                    (0..n)
                        .map(|i| {
                            if i + 1 == n && n > 1 {
                                r.to
                            } else if n == 1 {
                                r.from
                            } else {
                                r.from + (r.to - r.from) * f64::from(i) / f64::from(n - 1)
                            }
                        })
                        .collect()
                }
                _ => {
                    return Err(field(
                        key,
                        format!(
                            "give `{}` either `values = [...]` or `range = {{ from, to, steps }}`",
                            p.path
                        ),
                    ));
                }
            };
            if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
                return Err(field(
                    format!("{key}.values"),
                    format!("values must be finite, got {bad}"),
                ));
            }
            if p.path == "paths" || p.path == "sweep" || p.path.starts_with("sweep.") {
                return Err(field(
                    format!("{key}.path"),
                    format!(
                        "`{}` cannot be swept (use --paths for the number of paths)",
                        p.path
                    ),
                ));
            }
            lookup(&doc, &p.path).map_err(|m| field(format!("{key}.path"), m))?;
            if parameters.iter().any(|q| q.path == p.path) {
                return Err(field(
                    format!("{key}.path"),
                    format!("`{}` is swept twice", p.path),
                ));
            }
            sets = sets.saturating_mul(values.len() as u64);
            parameters.push(GridParameter {
                path: p.path.clone(),
                values,
            });
        }
        let sets = u32::try_from(sets)
            .ok()
            .filter(|s| *s <= 1_000_000)
            .ok_or_else(|| {
                field(
                    "sweep".into(),
                    format!("{sets} parameter sets is too many (at most 1,000,000)"),
                )
            })?;
        let target = config.target.clone().unwrap_or_default();
        if let Some(p) = target.max_depletion_probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(field(
                "sweep.target.max_depletion_probability".into(),
                format!("must be between 0 and 1, got {p}"),
            ));
        }
        let capital_efficiency = match &target.capital_efficiency {
            None => parameters[0].path.clone(),
            Some(c) if parameters.iter().any(|q| &q.path == c) => c.clone(),
            Some(c) => {
                return Err(field(
                    "sweep.target.capital_efficiency".into(),
                    format!("`{c}` is not one of the swept parameters"),
                ));
            }
        };
        Ok(SweepGrid {
            parameters,
            sets,
            order: ORDER,
            max_depletion_probability: target.max_depletion_probability,
            use_upper_bound: target.use_upper_bound,
            capital_efficiency,
            prefer: target.prefer,
        })
    }

    /// The parameter values of set `set`, in parameter order.
    pub fn values(&self, set: u32) -> Vec<f64> {
        let mut rest = set as usize;
        let mut out = vec![0.0; self.parameters.len()];
        for (k, p) in self.parameters.iter().enumerate().rev() {
            let n = p.values.len().max(1);
            out[k] = p.values[rest % n];
            rest /= n;
        }
        out
    }

    /// The scenario of parameter set `set`: `base` (without its `[sweep]`) with
    /// the set's values applied, validated.
    ///
    /// # Errors
    /// A [`FieldError`] at `sweep.parameter[k]` naming the set, the swept key
    /// and what is wrong with the value.
    pub fn apply(&self, base: &Scenario, set: u32) -> Result<Scenario, FieldError> {
        let values = self.values(set);
        let described = self.describe(set);
        let mut doc = base_value(base).map_err(|m| field("sweep".into(), m))?;
        for (k, (p, v)) in self.parameters.iter().zip(&values).enumerate() {
            let at = format!("sweep.parameter[{k}]");
            let slot = lookup_mut(&mut doc, &p.path).map_err(|m| field(at.clone(), m))?;
            *slot = number_like(slot, *v).map_err(|m| {
                field(
                    at.clone(),
                    format!("parameter set {set} ({described}): key `{}`: {m}", p.path),
                )
            })?;
        }
        let scenario: Scenario = serde_json::from_value(doc).map_err(|e| {
            field(
                "sweep".into(),
                format!("parameter set {set} ({described}): {e}"),
            )
        })?;
        scenario.validate().map_err(|e| {
            let k = self
                .parameters
                .iter()
                .position(|p| p.path == e.key)
                .unwrap_or(0);
            field(
                format!("sweep.parameter[{k}]"),
                format!(
                    "parameter set {set} ({described}): key `{}`: {}",
                    e.key, e.message
                ),
            )
        })?;
        Ok(scenario)
    }

    /// `path = value, …` of set `set`.
    pub fn describe(&self, set: u32) -> String {
        self.parameters
            .iter()
            .zip(self.values(set))
            .map(|(p, v)| format!("{} = {v}", p.path))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Index of the capital-efficiency parameter.
    pub fn efficiency_index(&self) -> usize {
        self.parameters
            .iter()
            .position(|p| p.path == self.capital_efficiency)
            .unwrap_or(0)
    }

    /// Whether a set with these aggregates meets the target (`None` without one).
    pub fn meets_target(&self, a: &Aggregates) -> Option<bool> {
        let max = self.max_depletion_probability?;
        let d = &a.insurance_fund_depletion;
        let p = if self.use_upper_bound {
            d.ci95[1]
        } else {
            d.probability
        };
        Some(p <= max)
    }

    /// The sets meeting the target, best capital efficiency first (ties by set).
    pub fn ranked(&self, meets: &[Option<bool>]) -> Vec<u32> {
        let k = self.efficiency_index();
        let mut sets: Vec<u32> = (0..self.sets)
            .filter(|s| meets.get(*s as usize).copied().flatten() == Some(true))
            .collect();
        sets.sort_by(|a, b| {
            let (va, vb) = (self.values(*a)[k], self.values(*b)[k]);
            let o = match self.prefer {
                Prefer::Lower => va.total_cmp(&vb),
                Prefer::Higher => vb.total_cmp(&va),
            };
            o.then(a.cmp(b))
        });
        sets
    }
}

/// The sweep of a scenario with a `[sweep]` table, checked.
///
/// # Errors
/// As [`SweepGrid::new`] and [`SweepGrid::apply`] (every set is applied once).
pub fn validate(s: &Scenario) -> Result<(), FieldError> {
    if let Some(config) = &s.sweep {
        let grid = SweepGrid::new(s, config)?;
        for set in 0..grid.sets {
            grid.apply(s, set)?;
        }
    }
    Ok(())
}

fn base_value(base: &Scenario) -> Result<Value, String> {
    let mut doc =
        serde_json::to_value(base).map_err(|e| format!("cannot edit the scenario: {e}"))?;
    if let Value::Object(o) = &mut doc {
        o.remove("sweep");
    }
    Ok(doc)
}

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Result<Vec<Seg<'_>>, String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if name.is_empty() {
            return Err(format!(
                "`{path}` is not a key path like `liquidation.fee` or `market.btc.tiers[0].mmr`"
            ));
        }
        out.push(Seg::Key(name));
        if !rest.is_empty() {
            for idx in format!("[{rest}").split('[').skip(1) {
                let i = idx
                    .strip_suffix(']')
                    .and_then(|i| i.parse().ok())
                    .ok_or_else(|| format!("`{path}`: bad index `[{idx}`"))?;
                out.push(Seg::Index(i));
            }
        }
    }
    Ok(out)
}

fn walk<'v>(doc: &'v Value, path: &str) -> Result<&'v Value, String> {
    let mut v = doc;
    let mut at = String::new();
    for seg in segments(path)? {
        v = match seg {
            Seg::Key(k) => {
                let next = v.as_object().and_then(|o| o.get(k));
                let shown = if at.is_empty() {
                    "the scenario".to_string()
                } else {
                    format!("`{at}`")
                };
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(k);
                next.ok_or_else(|| {
                    format!("`{path}` is not a field of the scenario: no `{k}` in {shown}")
                })?
            }
            Seg::Index(i) => {
                let next = v.as_array().and_then(|a| a.get(i));
                let len = v.as_array().map_or(0, Vec::len);
                at.push_str(&format!("[{i}]"));
                next.ok_or_else(|| format!("`{path}` is not a field of the scenario: `{at}` is out of range ({len} entries)"))?
            }
        };
    }
    Ok(v)
}

fn lookup<'v>(doc: &'v Value, path: &str) -> Result<&'v Value, String> {
    let v = walk(doc, path)?;
    if v.is_number() {
        Ok(v)
    } else {
        Err(format!("`{path}` is not a numeric field of the scenario"))
    }
}

fn lookup_mut<'v>(doc: &'v mut Value, path: &str) -> Result<&'v mut Value, String> {
    lookup(doc, path)?;
    let mut v = doc;
    for seg in segments(path)? {
        v = match seg {
            Seg::Key(k) => v.get_mut(k),
            Seg::Index(i) => v.get_mut(i),
        }
        .ok_or_else(|| format!("`{path}` is not a field of the scenario"))?;
    }
    Ok(v)
}

/// `v` as a number of the same kind as `old` (integer fields take whole values).
fn number_like(old: &Value, v: f64) -> Result<Value, String> {
    let integer = old.is_u64() || old.is_i64();
    if integer {
        if v.fract() != 0.0 || !v.is_finite() {
            return Err(format!("takes whole numbers, got {v}"));
        }
        if v < 0.0 {
            return Err(format!("must not be negative, got {v}"));
        }
        if v > 9.0e15 {
            return Err(format!("{v} is too large"));
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return Ok(Value::from(v as u64));
    }
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .ok_or_else(|| format!("must be finite, got {v}"))
}

/// A stable 64-bit FNV-1a hash of the normalised scenario: its JSON with every
/// default filled in (the `paths` in effect included), as `fnv1a64:<16 hex>`.
/// Files the scenario names are not hashed, only their names.
///
/// # Errors
/// A scenario that cannot be serialized (not expected).
pub fn scenario_hash(s: &Scenario) -> Result<String, SimError> {
    let bytes = serde_json::to_vec(s)
        .map_err(|e| SimError::Input(format!("cannot hash the scenario: {e}")))?;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    Ok(format!("fnv1a64:{h:016x}"))
}

/// `K/N`: shard `K` (from 0) of `N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    /// This shard, `0 ≤ index < count`.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl ShardSpec {
    /// The whole sweep as one shard.
    pub const WHOLE: ShardSpec = ShardSpec { index: 0, count: 1 };

    /// Parses `K/N`.
    ///
    /// # Errors
    /// Anything but two integers with `0 ≤ K < N`.
    pub fn parse(text: &str) -> Result<ShardSpec, SimError> {
        let bad = |why: &str| SimError::Input(format!("--shard `{text}`: {why}"));
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| bad("expected K/N, e.g. 0/4 (shard K from 0 of N)"))?;
        let k: u32 = k
            .trim()
            .parse()
            .map_err(|_| bad("K is not a whole number"))?;
        let n: u32 = n
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number"))?;
        if n == 0 {
            return Err(bad("N must be at least 1"));
        }
        if k >= n {
            return Err(bad(&format!(
                "K must be between 0 and {} (shards are numbered from 0)",
                n - 1
            )));
        }
        Ok(ShardSpec { index: k, count: n })
    }

    /// The work items `[from, to)` of this shard among `items`.
    pub fn items(self, items: u64) -> (u64, u64) {
        let at = |k: u32| (u128::from(items) * u128::from(k) / u128::from(self.count)) as u64;
        (at(self.index), at(self.index + 1))
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A run of consecutive paths `[from, to)` of one parameter set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Parameter set.
    pub set: u32,
    /// First path.
    pub from: u64,
    /// One past the last path.
    pub to: u64,
}

impl Chunk {
    /// The chunk's file name in the work folder:
    /// `set-0003-paths-000064-000127.parquet` (last path inclusive).
    pub fn file_name(&self) -> String {
        format!(
            "set-{:04}-paths-{:06}-{:06}.parquet",
            self.set,
            self.from,
            self.to.saturating_sub(1)
        )
    }

    /// Paths in the chunk.
    pub fn len(&self) -> u64 {
        self.to - self.from
    }

    /// Whether the chunk is empty (never, for chunks from [`chunks`]).
    pub fn is_empty(&self) -> bool {
        self.to <= self.from
    }
}

/// The chunks covering work items `[from, to)` of a sweep of `paths` paths per
/// set, in item order.
pub fn chunks(paths: u64, from: u64, to: u64) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut w = from;
    while w < to && paths > 0 {
        let set = w / paths;
        let path = w % paths;
        let end_path = ((path / CHUNK_PATHS + 1) * CHUNK_PATHS)
            .min(paths)
            .min(path + (to - w));
        out.push(Chunk {
            set: set as u32,
            from: path,
            to: end_path,
        });
        w += end_path - path;
    }
    out
}

/// Rebuilds a path's metrics from its `paths/v1` row (in [`PATH_METRICS`]
/// order): everything the aggregates use. The time of the minimum (not in the
/// file) is 0 and the per-account haircuts are left empty.
///
/// # Errors
/// A missing value or a count that is not a whole number, naming the metric.
pub fn metrics_from_row(path: u64, row: &[Option<f64>]) -> Result<PathMetrics, SimError> {
    let get = |name: &str| -> Result<Option<f64>, SimError> {
        let k = PATH_METRICS
            .iter()
            .position(|m| *m == name)
            .ok_or_else(|| SimError::Input(format!("unknown metric {name}")))?;
        Ok(row.get(k).copied().flatten())
    };
    let f = |name: &str| -> Result<f64, SimError> {
        get(name)?.ok_or_else(|| SimError::Input(format!("path {path}: `{name}` is missing")))
    };
    let n = |name: &str| -> Result<u32, SimError> {
        let v = f(name)?;
        if v.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&v) {
            return Err(SimError::Input(format!(
                "path {path}: `{name}` = {v} is not a count"
            )));
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(v as u32)
    };
    let depletion = match get("insurance_fund_first_depletion_step")? {
        None => None,
        Some(_) => Some(n("insurance_fund_first_depletion_step")?),
    };
    Ok(PathMetrics {
        path,
        steps: n("steps")?,
        insurance_fund_initial: f("insurance_fund_initial")?,
        insurance_fund_min: f("insurance_fund_min")?,
        insurance_fund_final: f("insurance_fund_final")?,
        insurance_fund_max_drawdown: f("insurance_fund_max_drawdown")?,
        insurance_fund_max_drawdown_pct: f("insurance_fund_max_drawdown_pct")?,
        insurance_fund_loss: f("insurance_fund_loss")?,
        insurance_fund_min_step: n("insurance_fund_min_step")?,
        insurance_fund_min_ts_ns: 0,
        insurance_fund_first_depletion_step: depletion,
        insurance_fund_payouts: f("insurance_fund_payouts")?,
        insurance_fund_fee_income: f("insurance_fund_fee_income")?,
        bad_debt: f("bad_debt")?,
        socialized_loss: f("socialized_loss")?,
        accounts_haircut: n("accounts_haircut")?,
        max_haircut: f("max_haircut")?,
        insolvency: f("insolvency")?,
        adl_events: n("adl_events")?,
        adl_notional: f("adl_notional")?,
        adl_excess_notional: f("adl_excess_notional")?,
        adl_cost: f("adl_cost")?,
        adl_accounts_hit: n("adl_accounts_hit")?,
        liquidations: n("liquidations")?,
        liquidated_notional: f("liquidated_notional")?,
        accounts_liquidated: n("accounts_liquidated")?,
        liquidator_fees: f("liquidator_fees")?,
        largest_deficit: f("largest_deficit")?,
        second_largest_deficit: f("second_largest_deficit")?,
        breaker_trips: n("breaker_trips")?,
        breaker_steps_paused: n("breaker_steps_paused")?,
        margin_multiplier_max: f("margin_multiplier_max")?,
        oracle_sources_dropped: n("oracle_sources_dropped")?,
        oracle_stale_ignored: n("oracle_stale_ignored")?,
        collateral_converted: f("collateral_converted")?,
        collateral_conversions: n("collateral_conversions")?,
        haircuts: Vec::new(),
    })
}

/// The aggregates of every set from the full `paths/v1` rows of a sweep, which
/// must hold exactly the rows `(set, path)` for every set and path, in that
/// order.
///
/// # Errors
/// A missing, extra or misplaced row, or a row [`metrics_from_row`] refuses.
pub fn set_aggregates(
    table: &backstop_data::PathsTable,
    sets: u32,
    paths: u64,
) -> Result<Vec<Aggregates>, SimError> {
    let expected = u64::from(sets) * paths;
    if table.len() as u64 != expected {
        return Err(SimError::Input(format!(
            "expected {expected} path rows ({sets} sets × {paths} paths), found {}",
            table.len()
        )));
    }
    let mut out = Vec::with_capacity(sets as usize);
    let mut row = vec![None; PATH_METRICS.len()];
    for set in 0..sets {
        let mut metrics = Vec::with_capacity(paths as usize);
        for path in 0..paths {
            let r = (u64::from(set) * paths + path) as usize;
            if table.param_set.get(r) != Some(&set) || table.path.get(r) != Some(&path) {
                return Err(SimError::Input(format!(
                    "row {r} should be set {set} path {path}, found set {:?} path {:?}",
                    table.param_set.get(r),
                    table.path.get(r)
                )));
            }
            for (slot, column) in row.iter_mut().zip(&table.metrics) {
                *slot = column.get(r).copied().flatten();
            }
            metrics.push(metrics_from_row(path, &row)?);
        }
        out.push(Aggregates::of(&metrics));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_sets_and_64_path_blocks() {
        let c = chunks(100, 0, 300);
        let lens: Vec<_> = c.iter().map(|c| (c.set, c.from, c.to)).collect();
        assert_eq!(
            lens,
            vec![
                (0, 0, 64),
                (0, 64, 100),
                (1, 0, 64),
                (1, 64, 100),
                (2, 0, 64),
                (2, 64, 100)
            ]
        );
        let s = ShardSpec::parse("1/3").unwrap();
        assert_eq!(s.items(24), (8, 16));
        let c = chunks(6, 8, 16);
        assert_eq!(
            c.iter().map(|c| (c.set, c.from, c.to)).collect::<Vec<_>>(),
            vec![(1, 2, 6), (2, 0, 4)]
        );
        for bad in ["3/3", "0/0", "x", "1/x", "-1/2"] {
            assert!(ShardSpec::parse(bad).is_err(), "{bad}");
        }
    }

    const BASE: &str = r#"
name = "x"
[market.btc]
price = 100000.0
tick_size = 0.1
lot_size = 0.001
tiers = [{ notional_floor = 0, imr = 0.01, mmr = 0.005 }]
[path]
kind = "linear"
steps = 10
shock_steps = 5
shock = -0.1
[population]
kind = "generated"
accounts = 10
notional = { distribution = "constant", value = 1000.0 }
leverage = { distribution = "constant", value = 5.0 }
max_notional = 10000.0
[[sweep.parameter]]
path = "liquidation.latency_steps"
values = [0, 2]
[[sweep.parameter]]
path = "market.btc.tiers[0].mmr"
range = { from = 0.004, to = 0.006, steps = 3 }
[sweep.target]
max_depletion_probability = 0.01
capital_efficiency = "market.btc.tiers[0].mmr"
"#;

    #[test]
    fn sets_are_row_major_first_parameter_slowest_and_apply_their_values() {
        let base = Scenario::from_toml_str(BASE, std::path::Path::new("x.toml")).unwrap();
        let grid = SweepGrid::new(&base, base.sweep.as_ref().unwrap()).unwrap();
        assert_eq!(grid.sets, 6);
        assert_eq!(grid.values(0), [0.0, 0.004]);
        assert_eq!(grid.values(1), [0.0, 0.005]);
        assert_eq!(grid.values(2), [0.0, 0.006]);
        assert_eq!(grid.values(3), [2.0, 0.004]);
        let s = grid.apply(&base, 5).unwrap();
        assert_eq!(s.liquidation.latency_steps, 2);
        assert_eq!(s.market["btc"].tiers[0].mmr, 0.006);
        assert!(s.sweep.is_none());
        assert_eq!(grid.efficiency_index(), 1);
        // Lower mmr first, ties by set.
        let meets = vec![
            Some(true),
            None,
            Some(true),
            Some(true),
            Some(false),
            Some(true),
        ];
        assert_eq!(grid.ranked(&meets), vec![0, 3, 2, 5]);
        // The hash is stable and sees every field.
        let mut other = base.clone();
        assert_eq!(
            scenario_hash(&base).unwrap(),
            scenario_hash(&other).unwrap()
        );
        other.seed += 1;
        assert_ne!(
            scenario_hash(&base).unwrap(),
            scenario_hash(&other).unwrap()
        );
    }

    #[test]
    fn segments_parse_indices() {
        let s = segments("market.btc.tiers[1].mmr").unwrap();
        assert_eq!(s.len(), 5);
        assert!(segments("a..b").is_err());
        assert!(segments("a[x]").is_err());
    }
}
