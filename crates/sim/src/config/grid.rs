//! The expanded grid of a sweep: its parameter sets, the scenario of each set,
//! and how sets meeting the target are ranked (docs: [`super::sweep`]).

use serde::Serialize;
use serde_json::Value;

use super::field::{FieldError, key};
use super::key_path::{KeyPath, KeyPathError, KeySegment};
use super::scenario::Scenario;
use super::sweep::{Prefer, SweepConfig, SweepParameter, VENUE_KEY, venue_code, venue_name};
use super::validate;

/// The expanded grid of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepGrid {
    /// Every parameter with its values, in scenario order.
    pub parameters: Vec<GridParameter>,
    /// Number of parameter sets: the product of the value counts, plus one
    /// when the scenario's own values are not among them ([`SweepGrid::current`]).
    pub sets: u32,
    /// The scenario's own values of the swept keys (the current parameters)
    /// when the product does not hold them: they are run as one more set, the
    /// last (`sets − 1`), so a sweep always measures the current parameters'
    /// risk next to the recommended set's. `None` when the product holds them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Vec<f64>>,
    /// How sets are numbered.
    pub order: &'static str,
    /// The acceptance threshold on the depletion probability, if any.
    pub max_depletion_probability: Option<f64>,
    /// Whether the threshold applies to the 95% upper bound.
    pub use_upper_bound: bool,
    /// The parameter ranking the sets that meet the target (its key path).
    pub capital_efficiency: String,
    /// Whether lower or higher values of it are better.
    pub prefer: Prefer,
    /// A venue sweep's venues, in the order listed (`[sweep] venue`): the
    /// first parameter, key `venue`, takes their codes
    /// ([`venue_code`]); empty without a venue axis.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub venues: Vec<String>,
}

/// One axis of the grid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GridParameter {
    /// The swept field's key path, as written in the scenario's
    /// `[[sweep.parameter]] key = …`.
    pub key: String,
    /// Values, in order.
    pub values: Vec<f64>,
}

/// The most parameter sets a sweep may have (a range's steps are bounded by it
/// before its values are allocated).
pub const MAX_SETS: u32 = 1_000_000;

/// Description of the set numbering, repeated in `summary.json`.
pub const ORDER: &str = "row-major over the parameters as listed, the first parameter slowest";

/// Why a swept key path or value cannot be used (the message of a
/// [`FieldError`] at `sweep.…`).
#[derive(Debug, thiserror::Error)]
enum GridError {
    #[error("cannot edit the scenario: {0}")]
    Serialize(serde_json::Error),
    #[error("{0}")]
    KeyPath(KeyPathError),
    #[error("`{text}` is not a field of the scenario: no `{name}` in {within}")]
    NoKey {
        text: String,
        name: String,
        within: String,
    },
    #[error("`{text}` is not a field of the scenario: `{at}` is out of range ({len} entries)")]
    NoIndex {
        text: String,
        at: KeyPath,
        len: usize,
    },
    #[error("`{0}` is not a numeric field of the scenario")]
    NotNumeric(String),
    #[error("`{0}` is not a field of the scenario")]
    NotAField(String),
    #[error("takes whole numbers, got {0}")]
    NotWhole(f64),
    #[error("must not be negative, got {0}")]
    Negative(f64),
    #[error("{0} is too large")]
    TooLarge(f64),
    #[error("must be finite, got {0}")]
    NotFinite(f64),
}

fn field(key: KeyPath, message: impl Into<String>) -> FieldError {
    FieldError {
        key,
        message: message.into(),
    }
}

impl SweepGrid {
    /// Expands and checks `[sweep]` against the base scenario `base`: every key
    /// names a numeric field, every list is non-empty and finite, no key twice.
    ///
    /// # Errors
    /// A [`FieldError`] naming the `sweep.…` key at fault.
    pub fn new(base: &Scenario, config: &SweepConfig) -> Result<SweepGrid, FieldError> {
        let venues = config.venue.clone().unwrap_or_default();
        if config.parameter.is_empty() && config.venue.is_none() {
            return Err(field(
                key("sweep"),
                "a sweep needs at least one [[sweep.parameter]] (or a `venue` list)",
            ));
        }
        let doc = base_value(base).map_err(|e| field(key("sweep"), e.to_string()))?;
        let mut parameters: Vec<GridParameter> = Vec::new();
        let mut sets: u64 = 1;
        if config.venue.is_some() {
            let codes = venue_codes(&venues)?;
            sets = codes.len() as u64;
            parameters.push(GridParameter {
                key: VENUE_KEY.to_owned(),
                values: codes,
            });
        }
        for (k, p) in config.parameter.iter().enumerate() {
            let at = key("sweep.parameter").index(k);
            let values = parameter_values(&at, p)?;
            check_parameter(&doc, &at, p, &parameters)?;
            sets = sets.saturating_mul(values.len() as u64);
            parameters.push(GridParameter {
                key: p.key.clone(),
                values,
            });
        }
        // The scenario's own venue is the current value of the venue axis
        // when it names one.
        let own: Vec<f64> = parameters
            .iter()
            .map(|p| match p.key.as_str() {
                VENUE_KEY => base.venue.as_deref().and_then(venue_code),
                k => lookup(&doc, k).ok().and_then(Value::as_f64),
            })
            .collect::<Option<Vec<f64>>>()
            .unwrap_or_default();
        let current = (own.len() == parameters.len()
            && !parameters
                .iter()
                .zip(&own)
                .all(|(p, v)| p.values.contains(v)))
        .then_some(own);
        if current.is_some() {
            sets = sets.saturating_add(1);
        }
        let sets = u32::try_from(sets)
            .ok()
            .filter(|s| *s <= MAX_SETS)
            .ok_or_else(|| {
                field(
                    key("sweep"),
                    format!("{sets} parameter sets is too many (at most 1,000,000)"),
                )
            })?;
        let target = config.target.clone().unwrap_or_default();
        if let Some(p) = target.max_depletion_probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(field(
                key("sweep.target.max_depletion_probability"),
                format!("must be between 0 and 1, got {p}"),
            ));
        }
        for (name, p) in target.appetites.iter().flatten() {
            if !(0.0..=1.0).contains(p) {
                return Err(field(
                    key("sweep.target.appetites").key(name.clone()),
                    format!("must be between 0 and 1, got {p}"),
                ));
            }
        }
        let capital_efficiency = match &target.capital_efficiency {
            // The first numeric parameter (the venue only without one).
            None => parameters
                .iter()
                .find(|p| p.key != VENUE_KEY)
                .unwrap_or(&parameters[0])
                .key
                .clone(),
            Some(c) if parameters.iter().any(|q| &q.key == c) => c.clone(),
            Some(c) => {
                return Err(field(
                    key("sweep.target.capital_efficiency"),
                    format!("`{c}` is not one of the swept parameters"),
                ));
            }
        };
        Ok(SweepGrid {
            parameters,
            sets,
            current,
            order: ORDER,
            max_depletion_probability: target.max_depletion_probability,
            use_upper_bound: target.use_upper_bound,
            capital_efficiency,
            prefer: target.prefer,
            venues,
        })
    }

    /// The parameter values of set `set`, in parameter order: the product's,
    /// or the current values for the extra last set ([`SweepGrid::current`]).
    pub fn values(&self, set: u32) -> Vec<f64> {
        if let Some(current) = &self.current
            && set + 1 == self.sets
        {
            return current.clone();
        }
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
        let venue_axis = usize::from(!self.venues.is_empty());
        let mut doc = match venue_axis {
            0 => base_value(base),
            _ => {
                // The file read under the set's venue, with the base's paths
                // (`--paths`).
                let under = self
                    .venues
                    .iter()
                    .position(|v| venue_code(v) == Some(values[0]))
                    .and_then(|i| base.venue_scenarios.get(i))
                    .ok_or_else(|| {
                        field(
                            key("sweep.venue"),
                            format!(
                                "parameter set {set} ({described}): the scenario under this \
                                 venue was not read (a venue sweep needs the scenario file)"
                            ),
                        )
                    })?;
                let mut s = under.clone();
                s.paths = base.paths;
                base_value(&s)
            }
        }
        .map_err(|e| field(key("sweep"), e.to_string()))?;
        for (k, (p, v)) in self
            .parameters
            .iter()
            .zip(&values)
            .enumerate()
            .skip(venue_axis)
        {
            let at = key("sweep.parameter").index(k - venue_axis);
            let slot =
                lookup_mut(&mut doc, &p.key).map_err(|e| field(at.clone(), e.to_string()))?;
            *slot = number_like(slot, *v).map_err(|e| {
                field(
                    at.clone(),
                    format!("parameter set {set} ({described}): key `{}`: {e}", p.key),
                )
            })?;
        }
        let scenario: Scenario = serde_json::from_value(doc).map_err(|e| {
            field(
                key("sweep"),
                format!("parameter set {set} ({described}): {e}"),
            )
        })?;
        // The set's scenario has no `[sweep]`: its fields are all there is to check.
        validate::fields(&scenario).map_err(|e| {
            let at = match self
                .parameters
                .iter()
                .skip(venue_axis)
                .position(|p| KeyPath::parse(&p.key).is_ok_and(|kp| kp == e.key))
            {
                Some(k) => key("sweep.parameter").index(k),
                None if venue_axis == 1 => key("sweep.venue"),
                None => key("sweep.parameter").index(0),
            };
            field(
                at,
                format!(
                    "parameter set {set} ({described}): key `{}`: {}",
                    e.key, e.message
                ),
            )
        })?;
        Ok(scenario)
    }

    /// `key = value, …` of set `set`.
    pub fn describe(&self, set: u32) -> String {
        self.parameters
            .iter()
            .zip(self.values(set))
            .map(|(p, v)| match (p.key.as_str(), venue_name(v)) {
                (VENUE_KEY, Some(name)) => format!("venue = {name}"),
                _ => format!("{} = {v}", p.key),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Index of the capital-efficiency parameter.
    pub fn efficiency_index(&self) -> usize {
        self.parameters
            .iter()
            .position(|p| p.key == self.capital_efficiency)
            .unwrap_or(0)
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

/// The codes of a venue sweep's venues ([`venue_code`]), checked: known,
/// none twice, at least one.
fn venue_codes(venues: &[String]) -> Result<Vec<f64>, FieldError> {
    if venues.is_empty() {
        return Err(field(key("sweep.venue"), "the venue list is empty"));
    }
    let mut codes = Vec::with_capacity(venues.len());
    for (i, v) in venues.iter().enumerate() {
        let code = venue_code(v)
            .ok_or_else(|| field(key("sweep.venue").index(i), format!("unknown venue `{v}`")))?;
        if codes.contains(&code) {
            return Err(field(
                key("sweep.venue").index(i),
                format!("venue `{v}` is listed twice"),
            ));
        }
        codes.push(code);
    }
    Ok(codes)
}

/// The values of parameter `p` (at key `at`): its list, or its range expanded.
fn parameter_values(at: &KeyPath, p: &SweepParameter) -> Result<Vec<f64>, FieldError> {
    let values = match (&p.values, &p.range) {
        (Some(v), None) => {
            if v.is_empty() {
                return Err(field(
                    at.key("values"),
                    format!("the value list of `{}` is empty", p.key),
                ));
            }
            v.clone()
        }
        (None, Some(r)) => {
            if r.steps == 0 {
                return Err(field(
                    at.key("range"),
                    format!("the range of `{}` needs at least 1 step", p.key),
                ));
            }
            if r.steps > MAX_SETS {
                return Err(field(
                    at.key("range").key("steps"),
                    format!(
                        "a range of {} steps is more than a sweep may have sets (at most {MAX_SETS})",
                        r.steps
                    ),
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
                at.clone(),
                format!(
                    "give `{}` either `values = [...]` or `range = {{ from, to, steps }}`",
                    p.key
                ),
            ));
        }
    };
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        return Err(field(
            at.key("values"),
            format!("values must be finite, got {bad}"),
        ));
    }
    Ok(values)
}

/// Parameter `p`'s key names a numeric field of `doc` that may be swept and is
/// not swept already.
fn check_parameter(
    doc: &Value,
    at: &KeyPath,
    p: &SweepParameter,
    earlier: &[GridParameter],
) -> Result<(), FieldError> {
    if p.key == "paths" || p.key == "sweep" || p.key.starts_with("sweep.") {
        return Err(field(
            at.key("key"),
            format!(
                "`{}` cannot be swept (use --paths for the number of paths)",
                p.key
            ),
        ));
    }
    lookup(doc, &p.key).map_err(|e| field(at.key("key"), e.to_string()))?;
    if earlier.iter().any(|q| q.key == p.key) {
        return Err(field(at.key("key"), format!("`{}` is swept twice", p.key)));
    }
    Ok(())
}

/// The base scenario as a serde value, without its `[sweep]`.
fn base_value(base: &Scenario) -> Result<Value, GridError> {
    let mut doc = serde_json::to_value(base).map_err(GridError::Serialize)?;
    if let Value::Object(o) = &mut doc {
        o.remove("sweep");
    }
    Ok(doc)
}

/// The value at the key path `text` in `doc`.
fn walk<'v>(doc: &'v Value, text: &str) -> Result<&'v Value, GridError> {
    let key_path = KeyPath::parse(text).map_err(GridError::KeyPath)?;
    let mut v = doc;
    let mut at = KeyPath::root();
    for seg in key_path.segments() {
        v = match seg {
            KeySegment::Key(k) => {
                let within = if at.is_root() {
                    "the scenario".to_string()
                } else if k == "insurance_fund" && at.starts_with(&KeyPath::from("market")) {
                    // A market's own fund is swept only where the scenario gives one.
                    format!(
                        "`{at}` (the market has no fund of its own: give it a \
                         `[{at}.insurance_fund]` table to sweep its `initial` or `floor`)"
                    )
                } else {
                    format!("`{at}`")
                };
                at = at.key(k.as_str());
                v.as_object()
                    .and_then(|o| o.get(k))
                    .ok_or_else(|| GridError::NoKey {
                        text: text.to_string(),
                        name: k.clone(),
                        within,
                    })?
            }
            KeySegment::Index(i) => {
                at = at.index(*i);
                let len = v.as_array().map_or(0, Vec::len);
                v.as_array()
                    .and_then(|a| a.get(*i))
                    .ok_or_else(|| GridError::NoIndex {
                        text: text.to_string(),
                        at: at.clone(),
                        len,
                    })?
            }
        };
    }
    Ok(v)
}

/// The numeric value at the key path `text`.
fn lookup<'v>(doc: &'v Value, text: &str) -> Result<&'v Value, GridError> {
    let v = walk(doc, text)?;
    if v.is_number() {
        Ok(v)
    } else {
        Err(GridError::NotNumeric(text.to_string()))
    }
}

/// The numeric value at the key path `text`, to replace.
fn lookup_mut<'v>(doc: &'v mut Value, text: &str) -> Result<&'v mut Value, GridError> {
    lookup(doc, text)?;
    let key_path = KeyPath::parse(text).map_err(GridError::KeyPath)?;
    let mut v = doc;
    for seg in key_path.segments() {
        v = match seg {
            KeySegment::Key(k) => v.get_mut(k),
            KeySegment::Index(i) => v.get_mut(*i),
        }
        .ok_or_else(|| GridError::NotAField(text.to_string()))?;
    }
    Ok(v)
}

/// `v` as a number of the same kind as `old` (integer fields take whole values).
fn number_like(old: &Value, v: f64) -> Result<Value, GridError> {
    let integer = old.is_u64() || old.is_i64();
    if integer {
        if v.fract() != 0.0 || !v.is_finite() {
            return Err(GridError::NotWhole(v));
        }
        if v < 0.0 {
            return Err(GridError::Negative(v));
        }
        if v > 9.0e15 {
            return Err(GridError::TooLarge(v));
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return Ok(Value::from(v as u64));
    }
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .ok_or(GridError::NotFinite(v))
}

/// Every set of the sweep applied once (each checked as a scenario of its own).
///
/// # Errors
/// As [`SweepGrid::new`] and [`SweepGrid::apply`].
pub(super) fn check_every_set(s: &Scenario, config: &SweepConfig) -> Result<(), FieldError> {
    let grid = SweepGrid::new(s, config)?;
    for set in 0..grid.sets {
        grid.apply(s, set)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The first parameter uses `path`, the spelling of earlier versions, which
    // is still read; the second `key`, today's.
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
key = "market.btc.tiers[0].mmr"
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
    }

    #[test]
    fn current_values_outside_the_product_are_run_as_one_more_set() {
        // The base scenario's latency (1) is not among [0, 2]: the current
        // values are set 6, after the 2 × 3 product.
        let text = BASE.replace(
            "max_notional = 10000.0",
            "max_notional = 10000.0\n[liquidation]\nlatency_steps = 1",
        );
        let base = Scenario::from_toml_str(&text, std::path::Path::new("x.toml")).unwrap();
        let grid = SweepGrid::new(&base, base.sweep.as_ref().unwrap()).unwrap();
        assert_eq!(grid.sets, 7);
        assert_eq!(grid.current, Some(vec![1.0, 0.005]));
        assert_eq!(grid.values(5), [2.0, 0.006]);
        assert_eq!(grid.values(6), [1.0, 0.005]);
        assert_eq!(grid.apply(&base, 6).unwrap().liquidation.latency_steps, 1);
        // The product holding them: no extra set.
        let base = Scenario::from_toml_str(BASE, std::path::Path::new("x.toml")).unwrap();
        let grid = SweepGrid::new(&base, base.sweep.as_ref().unwrap()).unwrap();
        assert_eq!((grid.sets, grid.current), (6, None));
    }

    #[test]
    fn lookups_name_the_missing_part() {
        let base = Scenario::from_toml_str(BASE, std::path::Path::new("x.toml")).unwrap();
        let doc = base_value(&base).unwrap();
        assert_eq!(
            lookup(&doc, "market.eth.price").unwrap_err().to_string(),
            "`market.eth.price` is not a field of the scenario: no `eth` in `market`"
        );
        assert_eq!(
            lookup(&doc, "market.btc.tiers[3].mmr")
                .unwrap_err()
                .to_string(),
            "`market.btc.tiers[3].mmr` is not a field of the scenario: \
             `market.btc.tiers[3]` is out of range (1 entries)"
        );
        assert_eq!(
            lookup(&doc, "market.btc.insurance_fund.initial")
                .unwrap_err()
                .to_string(),
            "`market.btc.insurance_fund.initial` is not a field of the scenario: no \
             `insurance_fund` in `market.btc` (the market has no fund of its own: give it a \
             `[market.btc.insurance_fund]` table to sweep its `initial` or `floor`)"
        );
        assert!(lookup(&doc, "a..b").is_err());
        assert!(lookup(&doc, "market.btc.tick_size").is_ok());
    }
}
