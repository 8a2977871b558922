//! `summary.json`: the scenario, the run and the across-path aggregates.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::ReportError;

/// A probability estimated from paths, with its 95% confidence interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Probability {
    /// Paths where the event happened.
    pub count: f64,
    /// Estimated probability, 0 to 1.
    pub probability: f64,
    /// 95% confidence interval `[low, high]`.
    pub ci95: [f64; 2],
}

/// Value at risk and expected shortfall of the insurance-fund loss, USD.
#[derive(Debug, Clone, PartialEq)]
pub struct TailRisk {
    /// 95% value at risk.
    pub var_95: f64,
    /// 95% expected shortfall.
    pub es_95: f64,
    /// 99% value at risk.
    pub var_99: f64,
    /// 99% expected shortfall.
    pub es_99: f64,
}

/// Across-path distribution of one per-path metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantiles {
    /// Mean.
    pub mean: f64,
    /// Minimum.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// Maximum.
    pub max: f64,
}

/// The across-path aggregates of MODEL.md §7.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregates {
    /// Paths aggregated.
    pub paths: u64,
    /// Probability that the insurance fund was depleted.
    pub insurance_fund_depletion: Probability,
    /// Probability of any socialized loss.
    pub socialized_loss_any: Probability,
    /// Probability of any auto-deleveraging, if the run reports it.
    pub adl_any: Option<Probability>,
    /// VaR / ES of the insurance-fund loss.
    pub insurance_fund_loss: TailRisk,
    /// Cover-1 stressed shortfall, USD.
    pub cover_1: f64,
    /// Cover-2 stressed shortfall, USD.
    pub cover_2: f64,
    /// Quantiles of every per-path metric, by metric name (sorted).
    pub metrics: BTreeMap<String, Quantiles>,
}

/// What `summary.json` says, as the report needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
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
    pub accounts: Option<f64>,
    /// Positions in the population, if stated.
    pub positions: Option<f64>,
    /// Collateral of the population, USD, if stated.
    pub collateral: Option<f64>,
    /// Insurance fund at step 0, USD, from `scenario.insurance_fund.initial`.
    pub insurance_fund_initial: Option<f64>,
    /// Every scenario parameter, flattened (`liquidation.fee` → `0.005`), sorted by key.
    pub parameters: Vec<(String, String)>,
    /// The across-path aggregates.
    pub aggregates: Aggregates,
}

/// Reads fields of one JSON document, naming the file in every error.
struct Fields<'a> {
    file: &'a Path,
    root: &'a Value,
}

impl<'a> Fields<'a> {
    fn get(&self, field: &str) -> Option<&'a Value> {
        let mut v = self.root;
        for part in field.split('.') {
            v = v.get(part)?;
        }
        if v.is_null() { None } else { Some(v) }
    }

    fn missing(&self, field: &str) -> ReportError {
        ReportError::MissingField {
            file: self.file.to_owned(),
            field: field.to_owned(),
        }
    }

    fn invalid(&self, field: &str, expected: &'static str) -> ReportError {
        ReportError::InvalidField {
            file: self.file.to_owned(),
            field: field.to_owned(),
            expected,
        }
    }

    fn require(&self, field: &str) -> Result<&'a Value, ReportError> {
        self.get(field).ok_or_else(|| self.missing(field))
    }

    fn f64(&self, field: &str) -> Result<f64, ReportError> {
        self.require(field)?
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or_else(|| self.invalid(field, "a finite number"))
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

    fn u64(&self, field: &str) -> Result<u64, ReportError> {
        let v = self.require(field)?;
        if let Some(n) = v.as_u64() {
            return Ok(n);
        }
        // Accept integral floats (`1000.0`) from writers that emit every number as f64.
        match v.as_f64() {
            Some(f) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 9.0e15 => {
                // Exact: an integral f64 below 2^53.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Ok(f as u64)
            }
            _ => Err(self.invalid(field, "a non-negative integer")),
        }
    }

    fn str(&self, field: &str) -> Result<String, ReportError> {
        self.require(field)?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| self.invalid(field, "a string"))
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

    fn probability(&self, field: &str) -> Result<Probability, ReportError> {
        let probability = self.f64(&format!("{field}.probability"))?;
        if !(0.0..=1.0).contains(&probability) {
            return Err(self.invalid(&format!("{field}.probability"), "a number from 0 to 1"));
        }
        let ci_field = format!("{field}.ci95");
        let ci = self
            .require(&ci_field)?
            .as_array()
            .filter(|a| a.len() == 2)
            .ok_or_else(|| self.invalid(&ci_field, "an array [low, high]"))?;
        let bound = |v: &Value| {
            v.as_f64()
                .filter(|x| (0.0..=1.0).contains(x))
                .ok_or_else(|| self.invalid(&ci_field, "two numbers from 0 to 1"))
        };
        let low = bound(&ci[0])?;
        let high = bound(&ci[1])?;
        if low > high {
            return Err(self.invalid(&ci_field, "low <= high"));
        }
        Ok(Probability {
            count: self.f64(&format!("{field}.count"))?,
            probability,
            ci95: [low, high],
        })
    }

    fn quantiles(&self, field: &str) -> Result<Quantiles, ReportError> {
        let q = |name: &str| self.f64(&format!("{field}.{name}"));
        Ok(Quantiles {
            mean: q("mean")?,
            min: q("min")?,
            p50: q("p50")?,
            p95: q("p95")?,
            p99: q("p99")?,
            p99_9: q("p99_9")?,
            max: q("max")?,
        })
    }
}

impl Summary {
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
        let f = Fields { file, root: &root };
        let scenario = f.require("scenario")?;
        if !scenario.is_object() {
            return Err(f.invalid("scenario", "an object"));
        }
        let metrics_value = f.require("aggregates.metrics")?;
        let metrics_map = metrics_value
            .as_object()
            .ok_or_else(|| f.invalid("aggregates.metrics", "an object"))?;
        let mut metrics = BTreeMap::new();
        for key in metrics_map.keys() {
            metrics.insert(
                key.clone(),
                f.quantiles(&format!("aggregates.metrics.{key}"))?,
            );
        }
        let aggregates = Aggregates {
            paths: f.u64("aggregates.paths")?,
            insurance_fund_depletion: f.probability("aggregates.insurance_fund_depletion")?,
            socialized_loss_any: f.probability("aggregates.socialized_loss_any")?,
            adl_any: match f.get("aggregates.adl_any") {
                Some(_) => Some(f.probability("aggregates.adl_any")?),
                None => None,
            },
            insurance_fund_loss: TailRisk {
                var_95: f.f64("aggregates.insurance_fund_loss.var_95")?,
                es_95: f.f64("aggregates.insurance_fund_loss.es_95")?,
                var_99: f.f64("aggregates.insurance_fund_loss.var_99")?,
                es_99: f.f64("aggregates.insurance_fund_loss.es_99")?,
            },
            cover_1: f.f64("aggregates.cover_1")?,
            cover_2: f.f64("aggregates.cover_2")?,
            metrics,
        };
        let step_seconds = f.opt_f64("scenario.step_seconds")?.unwrap_or(60.0);
        if step_seconds <= 0.0 {
            return Err(f.invalid("scenario.step_seconds", "a positive number"));
        }
        let path_model = match f.opt_str("run.path_model")? {
            Some(m) => m,
            None => f
                .opt_str("scenario.path.kind")?
                .unwrap_or_else(|| "unknown".to_owned()),
        };
        let seed = f.get("scenario.seed").map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let stepping = f.opt_str("scenario.path.stepping")?;
        let data_files = data_files(scenario);
        let mut parameters = Vec::new();
        flatten("", scenario, &mut parameters);
        parameters.sort();
        Ok(Self {
            backstop_version: f.str("backstop_version")?,
            name: f.str("scenario.name")?,
            description: f.opt_str("scenario.description")?.unwrap_or_default(),
            seed,
            step_seconds,
            start: f.opt_str("scenario.start")?,
            path_model,
            stepping,
            data_files,
            paths: f.u64("run.paths")?,
            steps: f.u64("run.steps")?,
            accounts: f.opt_f64("population.accounts")?,
            positions: f.opt_f64("population.positions")?,
            collateral: f.opt_f64("population.collateral")?,
            insurance_fund_initial: f.opt_f64("scenario.insurance_fund.initial")?,
            parameters,
            aggregates,
        })
    }

    /// Reads and parses `path` (a `summary.json`).
    ///
    /// # Errors
    ///
    /// [`ReportError::Io`] if the file cannot be read, else as [`Summary::parse`].
    pub fn read(path: &Path) -> Result<Self, ReportError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
            path: path.to_owned(),
            context: "cannot read",
            source,
        })?;
        Self::parse(path, &text)
    }
}

impl Summary {
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
        let n = crate::format::count(self.steps as f64);
        if self.is_tick() {
            format!("{n} ticks (one step per event time)")
        } else {
            format!("{n} steps of {}s", crate::format::plain(self.step_seconds))
        }
    }
}

/// The replay data files of `scenario` (see [`Summary::data_files`]); string
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
                    crate::format::plain(min),
                    crate::format::plain(max)
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
        Value::Number(n) => n
            .as_f64()
            .map_or_else(|| n.to_string(), crate::format::plain),
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
        let s = Summary::parse(Path::new("x/summary.json"), &minimal().to_string()).unwrap();
        assert_eq!(s.path_model, "series", "falls back to scenario.path.kind");
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
    fn bad_values_name_the_field() {
        let mut v = minimal();
        v["aggregates"]["socialized_loss_any"]["ci95"] = serde_json::json!([0.5, 0.1]);
        let err = Summary::parse(Path::new("r/summary.json"), &v.to_string()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("r/summary.json") && msg.contains("socialized_loss_any.ci95"),
            "{msg}"
        );

        let mut v = minimal();
        v["run"]["paths"] = serde_json::json!(-3);
        let msg = Summary::parse(Path::new("summary.json"), &v.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("run.paths") && msg.contains("non-negative integer"),
            "{msg}"
        );

        let mut v = minimal();
        v["aggregates"]["metrics"] = serde_json::json!({ "bad_debt": { "mean": 1.0 } });
        let msg = Summary::parse(Path::new("summary.json"), &v.to_string())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("aggregates.metrics.bad_debt.min"), "{msg}");
    }
}
