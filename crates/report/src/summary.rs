//! `summary.json` as the report reads it: the file's one definition
//! ([`backstop_data::Summary`]), checked, and the facts about the run the
//! report shows ([`RunInfo`]): the scenario's name, steps, seed, data files and
//! parameters, the population, and the across-path aggregates.

use std::path::Path;

use backstop_data::{Aggregates, Probability, Summary};
use serde_json::Value;

use crate::error::ReportError;
use crate::format::{count, plain};

/// What the report shows about a run, read from its `summary.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// `backstop_version` that wrote the results.
    pub backstop_version: String,
    /// Scenario name.
    pub name: String,
    /// Scenario description (may be empty).
    pub description: String,
    /// Master seed, as written (number or text); `None` if absent.
    pub seed: Option<String>,
    /// Length of a step, seconds.
    pub step_seconds: f64,
    /// UTC time of step 0, as written; `None` if absent.
    pub start: Option<String>,
    /// Path model (`garch`, `linear`, `series`, ...).
    pub path_model: String,
    /// How a replay steps through its data, `scenario.path.stepping` (`tick`: one
    /// step per event time, irregular; `resample`: fixed steps); `None` if absent.
    pub stepping: Option<String>,
    /// Data files a replay reads, as `(what, path)` sorted by market:
    /// `scenario.path.market.<key>.prices` / `trades` / `funding` (what is e.g.
    /// `btc prices`) and a book-depth impact file,
    /// `scenario.market.<key>.impact.file` (`btc book depth`).
    pub data_files: Vec<(String, String)>,
    /// Paths simulated.
    pub paths: u64,
    /// Steps per path.
    pub steps: u64,
    /// Accounts in the population, if stated.
    pub accounts: Option<u64>,
    /// Positions in the population, if stated.
    pub positions: Option<u64>,
    /// Collateral of the population, USD, if stated.
    pub collateral: Option<f64>,
    /// Margin units of a loaded snapshot below maintenance at the start mark that
    /// were kept (liquidated at step 0), if any.
    pub below_maintenance_kept: Option<u64>,
    /// Those dropped before the run, if any.
    pub below_maintenance_dropped: Option<u64>,
    /// Insurance fund at step 0, USD, from `scenario.insurance_fund.initial`.
    pub insurance_fund_initial: Option<f64>,
    /// Every scenario parameter, flattened (`liquidation.fee` → `0.005`), sorted by key.
    pub parameters: Vec<(String, String)>,
    /// The across-path aggregates.
    pub aggregates: Aggregates,
    /// A sweep's sets meeting its target, best capital efficiency first
    /// (`meeting_target`); `None` for a run.
    pub meeting_target: Option<Vec<u32>>,
    /// A sweep's target on the depletion probability
    /// (`sweep.max_depletion_probability`), if it has one.
    pub max_depletion_probability: Option<f64>,
    /// Whether a sweep's target is met by the upper end of the 95% interval
    /// (`sweep.use_upper_bound`; `false` when absent, as older files meant).
    pub use_upper_bound: bool,
    /// A sweep's risk appetites (`scenario.sweep.target.appetites`), by name:
    /// each a bound on the probability of depletion.
    pub appetites: Vec<(String, f64)>,
    /// Whether higher values of the capital-efficiency parameter are better
    /// (`sweep.prefer = "higher"`).
    pub prefer_higher: bool,
    /// A sweep's capital-efficiency parameter (`sweep.capital_efficiency`), the
    /// key sets meeting the target are ranked by.
    pub capital_efficiency: Option<String>,
    /// A sweep's swept parameters: key path and the scenario's own (current)
    /// value there, `None` when the scenario has no number at that key.
    pub swept: Vec<(String, Option<f64>)>,
    /// A sweep's extra set holding the scenario's own values, when the grid's
    /// product does not (`sweep.current` of `summary.json`): the last set.
    pub current_set: Option<u32>,
    /// The largest relative error of a band quantile (`run.bands_relative_error`):
    /// 0 exact; `None` when not stated (sweeps, older files).
    pub bands_relative_error: Option<f64>,
}

/// Reads fields of the scenario (a JSON object), naming the file and the
/// dotted field (`scenario.…`) in every error.
struct ScenarioFields<'a> {
    file: &'a Path,
    scenario: &'a Value,
}

impl<'a> ScenarioFields<'a> {
    /// The value at `field` (dotted, under `scenario`), `None` if absent or null.
    fn get(&self, field: &str) -> Option<&'a Value> {
        let mut v = self.scenario;
        for part in field.split('.') {
            v = v.get(part)?;
        }
        if v.is_null() { None } else { Some(v) }
    }

    fn invalid(&self, field: &str, expected: &str) -> ReportError {
        ReportError::InvalidField {
            file: self.file.to_owned(),
            field: format!("scenario.{field}"),
            reason: format!("expected {expected}"),
        }
    }

    fn opt_f64(&self, field: &str) -> Result<Option<f64>, ReportError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| self.invalid(field, "a finite number")),
        }
    }

    fn opt_str(&self, field: &str) -> Result<Option<String>, ReportError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(|s| Some(s.to_owned()))
                .ok_or_else(|| self.invalid(field, "a string")),
        }
    }

    fn str(&self, field: &str) -> Result<String, ReportError> {
        self.opt_str(field)?
            .ok_or_else(|| ReportError::MissingField {
                file: self.file.to_owned(),
                field: format!("scenario.{field}"),
            })
    }
}

/// The error for a field that `summary.json` lacks or that has the wrong
/// type, naming the file and the dotted field.
fn field_error(file: &Path, error: serde_path_to_error::Error<serde_json::Error>) -> ReportError {
    let path = error.path().to_string();
    let message = error.into_inner().to_string();
    // serde words a missing field as "missing field `name`" (its own text for
    // `de::Error::missing_field`): the field's path is the parent's plus it.
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let field = if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return ReportError::MissingField {
            file: file.to_owned(),
            field,
        };
    }
    ReportError::InvalidField {
        file: file.to_owned(),
        field: path,
        reason: message,
    }
}

/// Checks a probability and its interval lie in [0, 1], low <= high.
fn check_probability(file: &Path, field: &str, p: &Probability) -> Result<(), ReportError> {
    let invalid = |field: String, expected: &str| ReportError::InvalidField {
        file: file.to_owned(),
        field,
        reason: format!("expected {expected}"),
    };
    let unit = |x: f64| (0.0..=1.0).contains(&x);
    if !unit(p.probability) {
        return Err(invalid(
            format!("{field}.probability"),
            "a number from 0 to 1",
        ));
    }
    let [low, high] = p.ci95;
    if !(unit(low) && unit(high)) {
        return Err(invalid(format!("{field}.ci95"), "two numbers from 0 to 1"));
    }
    if low > high {
        return Err(invalid(format!("{field}.ci95"), "low <= high"));
    }
    Ok(())
}

impl RunInfo {
    /// The circuit breaker's pause in steps (at least 1), when the scenario
    /// enables the breaker (`controls.breaker.enabled = true`) and states its
    /// `controls.breaker.pause_steps`.
    #[must_use]
    pub fn breaker_pause_steps(&self) -> Option<usize> {
        if self.parameter("controls.breaker.enabled") != Some("true") {
            return None;
        }
        let pause: u64 = self
            .parameter("controls.breaker.pause_steps")?
            .replace(',', "")
            .parse()
            .ok()?;
        usize::try_from(pause).ok().map(|p| p.max(1))
    }

    /// A scenario parameter as written in `summary.json` (flattened key, e.g.
    /// `controls.breaker.threshold`).
    #[must_use]
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A numeric scenario parameter (its thousands separators dropped);
    /// `None` when absent or not a number.
    #[must_use]
    pub fn parameter_f64(&self, key: &str) -> Option<f64> {
        self.parameter(key)?.replace(',', "").parse().ok()
    }

    /// Parses the text of a `summary.json`; `file` is only used in error messages.
    ///
    /// # Errors
    ///
    /// [`ReportError::Json`] if the text is not JSON, [`ReportError::MissingField`]
    /// or [`ReportError::InvalidField`] naming the file and the dotted field when a
    /// required field is absent or malformed.
    pub fn parse(file: &Path, text: &str) -> Result<Self, ReportError> {
        let root: Value = serde_json::from_str(text).map_err(|source| ReportError::Json {
            path: file.to_owned(),
            source,
        })?;
        let summary: Summary =
            serde_path_to_error::deserialize(root).map_err(|e| field_error(file, e))?;
        if !summary.scenario.is_object() {
            return Err(ReportError::InvalidField {
                file: file.to_owned(),
                field: "scenario".to_owned(),
                reason: "expected an object".to_owned(),
            });
        }
        let a = &summary.aggregates;
        check_probability(
            file,
            "aggregates.insurance_fund_depletion",
            &a.insurance_fund_depletion,
        )?;
        check_probability(
            file,
            "aggregates.socialized_loss_any",
            &a.socialized_loss_any,
        )?;
        if let Some(adl) = &a.adl_any {
            check_probability(file, "aggregates.adl_any", adl)?;
        }
        Self::from_summary(file, summary)
    }

    /// The facts of a checked `summary`.
    fn from_summary(file: &Path, summary: Summary) -> Result<Self, ReportError> {
        let f = ScenarioFields {
            file,
            scenario: &summary.scenario,
        };
        let step_seconds = f.opt_f64("step_seconds")?.unwrap_or(60.0);
        if step_seconds <= 0.0 {
            return Err(f.invalid("step_seconds", "a positive number"));
        }
        let path_model = match summary.run.path_model.clone() {
            Some(m) => m,
            None => f
                .opt_str("path.kind")?
                .unwrap_or_else(|| "unknown".to_owned()),
        };
        let seed = f.get("seed").map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let mut parameters = Vec::new();
        flatten("", &summary.scenario, &mut parameters);
        parameters.sort();
        let population = summary.population.as_ref();
        Ok(Self {
            backstop_version: summary.backstop_version.clone(),
            name: f.str("name")?,
            description: f.opt_str("description")?.unwrap_or_default(),
            seed,
            step_seconds,
            start: f.opt_str("start")?,
            path_model,
            stepping: f.opt_str("path.stepping")?,
            data_files: data_files(&summary.scenario),
            paths: summary.run.paths,
            steps: summary.run.steps,
            accounts: population.map(|p| p.accounts),
            positions: population.map(|p| p.positions),
            collateral: population.map(|p| p.collateral),
            below_maintenance_kept: population.and_then(|p| p.below_maintenance_kept),
            below_maintenance_dropped: population.and_then(|p| p.below_maintenance_dropped),
            insurance_fund_initial: f.opt_f64("insurance_fund.initial")?,
            parameters,
            meeting_target: summary
                .meeting_target
                .as_ref()
                .map(|sets| sets.iter().map(|s| s.param_set).collect()),
            max_depletion_probability: summary
                .sweep
                .as_ref()
                .and_then(|s| s.get("max_depletion_probability"))
                .and_then(Value::as_f64),
            use_upper_bound: summary
                .sweep
                .as_ref()
                .and_then(|s| s.get("use_upper_bound"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            appetites: f
                .get("sweep.target.appetites")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
                        .collect()
                })
                .unwrap_or_default(),
            prefer_higher: summary
                .sweep
                .as_ref()
                .and_then(|s| s.get("prefer"))
                .and_then(Value::as_str)
                == Some("higher"),
            capital_efficiency: summary
                .sweep
                .as_ref()
                .and_then(|s| s.get("capital_efficiency"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            swept: swept(&summary),
            current_set: summary
                .sweep
                .as_ref()
                .and_then(|s| s.get("current"))
                .filter(|c| !c.is_null())
                .and(summary.run.sets)
                .and_then(|n| n.checked_sub(1)),
            bands_relative_error: summary.run.bands_relative_error,
            aggregates: summary.aggregates,
        })
    }

    /// Reads and parses `path` (a `summary.json`).
    ///
    /// # Errors
    ///
    /// [`ReportError::Io`] if the file cannot be read, else as [`RunInfo::parse`].
    pub fn read(path: &Path) -> Result<Self, ReportError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
            path: path.to_owned(),
            context: "cannot read",
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Whether the run steps once per event time of its data (`path.stepping =
    /// "tick"`), so steps have no fixed length.
    #[must_use]
    pub fn is_tick(&self) -> bool {
        self.stepping.as_deref() == Some("tick")
    }

    /// The steps of the run in words: `384 ticks (one step per event time)` for a
    /// tick replay, else `1,440 steps of 60s`.
    #[must_use]
    pub fn steps_text(&self) -> String {
        #[allow(clippy::cast_precision_loss)]
        let n = count(self.steps as f64);
        if self.is_tick() {
            format!("{n} ticks (one step per event time)")
        } else {
            format!("{n} steps of {}s", plain(self.step_seconds))
        }
    }
}

/// A sweep's swept keys (`sweep.parameters[].key`) with the scenario's value
/// at each (`market.btc.tiers[0].mmr` → `scenario.market.btc.tiers[0].mmr`).
fn swept(summary: &Summary) -> Vec<(String, Option<f64>)> {
    let Some(parameters) = summary
        .sweep
        .as_ref()
        .and_then(|s| s.get("parameters"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    parameters
        .iter()
        .filter_map(|p| p.get("key").and_then(Value::as_str))
        .map(|key| match key {
            // A venue sweep: the scenario's own venue, as its code.
            "venue" => (
                key.to_owned(),
                summary
                    .scenario
                    .get("venue")
                    .and_then(Value::as_str)
                    .and_then(|v| crate::format::VENUES.iter().position(|n| *n == v))
                    .map(|i| i as f64),
            ),
            _ => (key.to_owned(), value_at(&summary.scenario, key)),
        })
        .collect()
}

/// The number at a key path (`a.b[0].c`, as sweeps write them) in `root`.
pub(crate) fn value_at(root: &Value, key: &str) -> Option<f64> {
    let mut v = root;
    for part in key.split('.') {
        let mut rest = part;
        let name_end = rest.find('[').unwrap_or(rest.len());
        if name_end > 0 {
            v = v.get(&rest[..name_end])?;
        }
        rest = &rest[name_end..];
        while let Some(inner) = rest.strip_prefix('[') {
            let close = inner.find(']')?;
            let index: usize = inner[..close].trim().parse().ok()?;
            v = v.get(index)?;
            rest = &inner[close + 1..];
        }
    }
    v.as_f64()
}

/// The replay data files of `scenario` (see [`RunInfo::data_files`]); string
/// values only, anything else is skipped.
fn data_files(scenario: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(markets) = scenario
        .get("path")
        .and_then(|p| p.get("market"))
        .and_then(Value::as_object)
    {
        for (key, market) in markets {
            for what in ["prices", "trades", "funding"] {
                if let Some(file) = market.get(what).and_then(Value::as_str) {
                    out.push((format!("{key} {what}"), file.to_owned()));
                }
            }
        }
    }
    if let Some(markets) = scenario.get("market").and_then(Value::as_object) {
        for (key, market) in markets {
            let impact = market.get("impact");
            let model = impact.and_then(|i| i.get("model")).and_then(Value::as_str);
            let file = impact.and_then(|i| i.get("file")).and_then(Value::as_str);
            if let Some(file) = file {
                let what = if model.is_none_or(|m| m == "book_depth") {
                    "book depth"
                } else {
                    "impact data"
                };
                out.push((format!("{key} {what}"), file.to_owned()));
            }
        }
    }
    out
}

/// Longest array shown element by element in the parameters table.
const MAX_LISTED: usize = 8;

/// Flattens `value` into `(dotted key, text)` pairs: objects by key, arrays of
/// objects by index (`tiers.0.imr`), short arrays of scalars inline, long ones
/// summarised.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for key in keys {
                if let Some(v) = map.get(key) {
                    flatten(&join(key), v, out);
                }
            }
        }
        Value::Array(items) if items.iter().any(|v| v.is_object() || v.is_array()) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&join(&i.to_string()), v, out);
            }
        }
        Value::Array(items) if items.len() > MAX_LISTED => {
            let nums: Vec<f64> = items.iter().filter_map(Value::as_f64).collect();
            let text = if nums.len() == items.len() {
                let min = nums.iter().copied().fold(f64::INFINITY, f64::min);
                let max = nums.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                format!(
                    "{} values from {} to {}",
                    items.len(),
                    plain(min),
                    plain(max)
                )
            } else {
                format!("{} values", items.len())
            };
            out.push((prefix.to_owned(), text));
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(scalar_text).collect();
            out.push((prefix.to_owned(), format!("[{}]", parts.join(", "))));
        }
        scalar => out.push((prefix.to_owned(), scalar_text(scalar))),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), plain),
        Value::Null => "none".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> Value {
        serde_json::json!({
            "backstop_version": "0.1.0",
            "scenario": {
                "name": "s",
                "path": { "kind": "series", "prices": { "btc": (0..20).map(f64::from).collect::<Vec<_>>() } },
                "market": { "btc": { "tiers": [ { "imr": 0.01 }, { "imr": 0.02 } ] } },
                "last_line": { "kind": "adl" },
                "tags": ["a", "b"]
            },
            "run": { "paths": 1, "steps": 20.0 },
            "aggregates": {
                "paths": 1,
                "insurance_fund_depletion": { "count": 0, "probability": 0.0, "ci95": [0.0, 0.975] },
                "socialized_loss_any": { "count": 1, "probability": 1.0, "ci95": [0.025, 1.0] },
                "insurance_fund_loss": { "var_95": 1.0, "es_95": 1.0, "var_99": 1.0, "es_99": 1.0 },
                "cover_1": 0.0, "cover_2": 0.0,
                "metrics": {}
            }
        })
    }

    #[test]
    fn optional_fields_default_and_parameters_flatten_sorted() {
        let s = RunInfo::parse(Path::new("x/summary.json"), &minimal().to_string()).unwrap();
        assert_eq!(s.path_model, "series", "falls back to scenario.path.kind");
        assert_eq!(s.aggregates.socialized_loss_any.count, 1);
        assert_eq!(s.steps, 20);
        assert!(s.seed.is_none() && s.start.is_none() && s.aggregates.adl_any.is_none());
        assert_eq!(s.step_seconds, 60.0);
        let keys: Vec<&str> = s.parameters.iter().map(|(k, _)| k.as_str()).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        let get = |k: &str| {
            s.parameters
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("market.btc.tiers.1.imr"), Some("0.02"));
        assert_eq!(get("path.prices.btc"), Some("20 values from 0 to 19"));
        assert_eq!(get("tags"), Some("[a, b]"));
        assert_eq!(get("last_line.kind"), Some("adl"));
    }

    #[test]
    fn sweep_facts_are_read() {
        let mut v = minimal();
        v["sweep"] = serde_json::json!({ "max_depletion_probability": 0.01 });
        v["meeting_target"] = serde_json::json!([
            { "param_set": 2, "values": [1.0], "capital_efficiency": 1.0,
              "depletion_probability": 0.0, "depletion_ci95": [0.0, 0.1] }
        ]);
        let s = RunInfo::parse(Path::new("summary.json"), &v.to_string()).unwrap();
        assert_eq!(s.max_depletion_probability, Some(0.01));
        assert_eq!(s.meeting_target, Some(vec![2]));
        let s = RunInfo::parse(Path::new("summary.json"), &minimal().to_string()).unwrap();
        assert_eq!(
            (s.max_depletion_probability, s.meeting_target),
            (None, None)
        );
    }

    #[test]
    fn swept_keys_read_the_current_values() {
        let mut v = minimal();
        v["sweep"] = serde_json::json!({
            "use_upper_bound": true,
            "parameters": [
                { "key": "market.btc.tiers[1].imr", "values": [0.01] },
                { "key": "insurance_fund.initial", "values": [1.0] }
            ]
        });
        let s = RunInfo::parse(Path::new("summary.json"), &v.to_string()).unwrap();
        assert!(s.use_upper_bound);
        assert_eq!(
            s.swept,
            [
                ("market.btc.tiers[1].imr".to_owned(), Some(0.02)),
                ("insurance_fund.initial".to_owned(), None)
            ]
        );
    }

    #[test]
    fn bad_values_name_the_field() {
        let mut v = minimal();
        v["aggregates"]["socialized_loss_any"]["ci95"] = serde_json::json!([0.5, 0.1]);
        let err = RunInfo::parse(Path::new("r/summary.json"), &v.to_string()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("r/summary.json") && msg.contains("socialized_loss_any.ci95"),
            "{msg}"
        );

        let mut v = minimal();
        v["run"]["paths"] = serde_json::json!(-3);
        let msg = RunInfo::parse(Path::new("summary.json"), &v.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("run.paths") && msg.contains("non-negative integer"),
            "{msg}"
        );

        let mut v = minimal();
        let mut quantiles = serde_json::json!({
            "count": 1, "mean": 1.0, "min": 1.0, "p1": 1.0, "p5": 1.0, "p25": 1.0, "p50": 1.0,
            "p75": 1.0, "p95": 1.0, "p99": 1.0, "p99_9": 1.0, "max": 1.0
        });
        quantiles.as_object_mut().unwrap().remove("min");
        v["aggregates"]["metrics"] = serde_json::json!({ "bad_debt": quantiles });
        let msg = RunInfo::parse(Path::new("summary.json"), &v.to_string())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("aggregates.metrics.bad_debt.min"), "{msg}");
    }
}
