//! `summary.json`: what ran and what it did. One definition of the file,
//! written by `backstop run`, `sweep` and `merge` ([`write_summary`]) and read
//! by the report.
//!
//! ```text
//! backstop_version   the version that wrote the file
//! scenario           the scenario, every default filled in (the simulator's type)
//! scenario_hash      sweeps: FNV-1a 64 of the normalised scenario
//! population         runs: accounts, positions and collateral at step 0
//! run                paths, steps, path model, outcome (sweeps: sets, work items)
//! sweep              sweeps: the expanded grid (the simulator's type)
//! sets               sweeps: every parameter set's values and aggregates
//! meeting_target     sweeps: the sets meeting the target, best first
//! aggregates         across-path statistics (a sweep: of parameter set 0)
//! ```
//!
//! The statistics are defined in docs/model.md §7. Fields appear in the order
//! above; the fields of runs only or sweeps only are left out of the other.
//! Money is USD; a number that is not finite (a probability over no paths) is
//! written as `null`. The scenario and the sweep grid are the simulator's
//! types, so [`Summary`] takes them as type parameters: a writer passes its own,
//! a reader gets JSON values.
//!
//! Reading is strict about what every writer writes and lenient where older or
//! hand-written files differ: whole numbers may be written as integral floats
//! (`1000.0`), and `adl_any`, `population`, `run.path_model` and the sweep
//! fields may be absent.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::atomic::write_bytes_atomically;
use crate::error::DataError;

/// The whole of `summary.json`; `Scenario` and `Grid` are the simulator's
/// scenario and sweep-grid types when writing, JSON values when reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary<Scenario = serde_json::Value, Grid = serde_json::Value> {
    /// `backstop` version that wrote the file.
    pub backstop_version: String,
    /// The scenario, every default filled in.
    pub scenario: Scenario,
    /// Sweeps: FNV-1a 64 of the normalised scenario JSON, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_hash: Option<String>,
    /// Runs: the population at step 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<PopulationSummary>,
    /// What was run.
    pub run: RunSummary,
    /// Sweeps: the expanded grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<Grid>,
    /// Sweeps: every parameter set, in set order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sets: Option<Vec<SetSummary>>,
    /// Sweeps: the sets meeting the target, best capital efficiency first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_target: Option<Vec<RankedSet>>,
    /// The across-path aggregates (of parameter set 0, for a sweep: what the
    /// report's charts show).
    pub aggregates: Aggregates,
}

/// The population a run starts from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationSummary {
    /// Accounts.
    #[serde(deserialize_with = "whole")]
    pub accounts: u64,
    /// Open positions (rows of `population.parquet`).
    #[serde(deserialize_with = "whole")]
    pub positions: u64,
    /// Collateral of all accounts, USD.
    pub collateral: f64,
    /// A loaded snapshot's margin units that were below maintenance at the start
    /// mark and were kept (`population.below_maintenance = "keep"`): they are
    /// liquidated at step 0. Absent when there were none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below_maintenance_kept: Option<u64>,
    /// Those dropped before the run (`population.below_maintenance = "drop"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below_maintenance_dropped: Option<u64>,
}

/// What was run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Paths run (per parameter set, for a sweep).
    #[serde(deserialize_with = "whole")]
    pub paths: u64,
    /// Steps per path.
    #[serde(deserialize_with = "whole")]
    pub steps: u64,
    /// The path model, e.g. `garch`, `replay`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_model: Option<String>,
    /// Runs: `"one"` when the run has one path (one outcome: its aggregates are
    /// that path's figures, without meaning as probabilities or quantiles;
    /// docs/model.md §7), `"distribution"` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Runs: the largest relative error of a quantile in `bands.parquet`: `0`
    /// when exact (every path's value kept), else the sketch's bound (docs/model.md
    /// §7). Absent in sweeps and older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bands_relative_error: Option<f64>,
    /// Sweeps: parameter sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sets: Option<u32>,
    /// Sweeps: (set, path) work items, `sets × paths`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_items: Option<u64>,
}

/// One parameter set of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetSummary {
    /// Parameter-set index.
    pub param_set: u32,
    /// The swept parameters' values, in sweep order.
    pub values: Vec<f64>,
    /// Whether the set meets the sweep's target; `null` without a target.
    pub meets_target: Option<bool>,
    /// The set's across-path aggregates.
    pub aggregates: Aggregates,
    /// The fund the set needs for the sweep's depletion target (1% without
    /// one), from its paths' uncensored fund needs (docs/model.md §7c), as
    /// `backstop size-fund` answers it. Absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund_needed: Option<SetFundNeeded>,
}

/// The fund one parameter set needs for a depletion target, from its paths'
/// fund needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetFundNeeded {
    /// The target: P(depletion) ≤ `p`.
    pub p: f64,
    /// The fund, USD; `null` when more of the set's paths depleted its fund
    /// than the target allows (their needs are only lower bounds: the fund
    /// needed is above `above`).
    pub fund: Option<f64>,
    /// 95% interval of the fund from order statistics; an end is `null` when
    /// the paths cannot bound it (too few, or a depleted path's need there).
    pub ci95: [Option<f64>; 2],
    /// When `fund` is `null`: the set's own fund, which the answer exceeds.
    pub above: Option<f64>,
    /// Paths whose fund depleted (their need is a lower bound).
    #[serde(deserialize_with = "whole")]
    pub censored_paths: u64,
}

/// A parameter set meeting the sweep's target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedSet {
    /// Parameter-set index.
    pub param_set: u32,
    /// The swept parameters' values, in sweep order.
    pub values: Vec<f64>,
    /// The value of the capital-efficiency parameter.
    pub capital_efficiency: f64,
    /// Probability of insurance-fund depletion.
    pub depletion_probability: f64,
    /// Its 95% Clopper–Pearson interval.
    pub depletion_ci95: [f64; 2],
}

/// Everything `summary.json` reports across paths (docs/model.md §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregates {
    /// Paths aggregated.
    #[serde(deserialize_with = "whole")]
    pub paths: u64,
    /// Paths on which the fund could not pay in full (or sat at its floor).
    pub insurance_fund_depletion: Probability,
    /// Paths with any socialized loss.
    pub socialized_loss_any: Probability,
    /// Paths with any ADL (always written; absent in some older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adl_any: Option<Probability>,
    /// VaR and expected shortfall of the insurance-fund loss.
    pub insurance_fund_loss: TailRisk,
    /// VaR and expected shortfall of the liquidity vault's loss (capital minus
    /// its lowest equity), for runs with a `[vault]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_loss: Option<TailRisk>,
    /// Worst single account's deficit on any path (Cover-1), USD.
    pub cover_1: f64,
    /// Worst two accounts' deficits together on any path (Cover-2), USD.
    pub cover_2: f64,
    /// Quantiles of every per-path metric with values, by metric name (sorted).
    pub metrics: BTreeMap<String, MetricSummary>,
    /// Runs of one outcome (`run.outcome = "one"`): a sentence saying that these
    /// are one path's figures, not a distribution (probabilities are 0 or 1 and
    /// their `ci95` is that value, not a sampling interval; every quantile is the
    /// value). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// How often something happened across paths, with its exact interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probability {
    /// Paths on which it happened.
    #[serde(deserialize_with = "whole")]
    pub count: u64,
    /// `count / paths`.
    pub probability: f64,
    /// Clopper–Pearson interval at 95%, `[low, high]`.
    pub ci95: [f64; 2],
}

/// VaR and expected shortfall of the insurance-fund loss, USD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TailRisk {
    /// VaR at 95%.
    pub var_95: f64,
    /// Expected shortfall at 95%.
    pub es_95: f64,
    /// VaR at 99%.
    pub var_99: f64,
    /// Expected shortfall at 99%.
    pub es_99: f64,
}

/// Quantiles of one per-path metric across paths (type 7, as numpy's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    /// Paths with a value (a first-depletion step exists only on depleted paths).
    #[serde(deserialize_with = "whole")]
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Minimum.
    pub min: f64,
    /// 1st percentile.
    pub p1: f64,
    /// 5th percentile.
    pub p5: f64,
    /// Lower quartile.
    pub p25: f64,
    /// Median.
    pub p50: f64,
    /// Upper quartile.
    pub p75: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// Maximum.
    pub max: f64,
}

/// Writes `summary` atomically to `path` as pretty-printed JSON (two-space
/// indent, fields in declaration order) with a final newline.
///
/// # Errors
/// [`DataError::Json`] if a value cannot be written as JSON (a map with
/// non-text keys), and the errors of
/// [`write_bytes_atomically`].
pub fn write_summary<S: Serialize, G: Serialize>(
    path: &Path,
    summary: &Summary<S, G>,
) -> Result<(), DataError> {
    write_bytes_atomically(path, &summary_json(path, summary)?)
}

/// The bytes [`write_summary`] writes to `path` (pretty JSON and a newline),
/// in memory.
///
/// # Errors
/// [`DataError::Json`] if a value cannot be written as JSON (a map with
/// non-text keys).
pub fn summary_json<S: Serialize, G: Serialize>(
    path: &Path,
    summary: &Summary<S, G>,
) -> Result<Vec<u8>, DataError> {
    let mut json = serde_json::to_vec_pretty(summary).map_err(|source| DataError::Json {
        path: path.to_owned(),
        action: "failed to write JSON",
        source,
    })?;
    json.push(b'\n');
    Ok(json)
}

/// A whole number, written as an integer or as an integral float (`1000.0`)
/// by writers that emit every number as a float.
fn whole<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    struct Whole;
    impl Visitor<'_> for Whole {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a non-negative integer")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
            // Exact: an integral f64 below 2^53.
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 9.0e15 {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Ok(v as u64)
            } else {
                Err(E::invalid_value(de::Unexpected::Float(v), &self))
            }
        }
    }
    deserializer.deserialize_any(Whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probability(count: u64, n: u64) -> Probability {
        #[allow(clippy::cast_precision_loss)]
        let p = count as f64 / n as f64;
        Probability {
            count,
            probability: p,
            ci95: [p * 0.5, (p * 1.5).min(1.0)],
        }
    }

    fn aggregates() -> Aggregates {
        let quantiles = MetricSummary {
            count: 3,
            mean: 0.1 + 0.2,
            min: -0.0,
            p1: 1e-7,
            p5: 1.0,
            p25: 2.5,
            p50: 1e21,
            p75: 123_456.789,
            p95: 5e-324,
            p99: 1.0 / 3.0,
            p99_9: 100.0,
            max: f64::MAX,
        };
        Aggregates {
            paths: 3,
            insurance_fund_depletion: probability(1, 3),
            socialized_loss_any: Probability {
                count: 0,
                probability: f64::NAN,
                ci95: [0.0, 1.0],
            },
            adl_any: Some(probability(2, 3)),
            insurance_fund_loss: TailRisk {
                var_95: 1.0,
                es_95: 2.0,
                var_99: 3.0,
                es_99: 4.0,
            },
            vault_loss: None,
            cover_1: 10.0,
            cover_2: 12.5,
            metrics: [("bad_debt".to_owned(), quantiles)].into_iter().collect(),
            outcome: None,
        }
    }

    #[test]
    fn run_summary_layout_and_number_formatting() {
        let summary: Summary<serde_json::Value> = Summary {
            backstop_version: "0.1.0".to_owned(),
            scenario: serde_json::json!({ "name": "s" }),
            scenario_hash: None,
            population: Some(PopulationSummary {
                accounts: 2,
                positions: 3,
                collateral: 1500.0,
                below_maintenance_kept: None,
                below_maintenance_dropped: None,
            }),
            run: RunSummary {
                paths: 3,
                steps: 20,
                path_model: Some("garch".to_owned()),
                outcome: Some("distribution".to_owned()),
                sets: None,
                work_items: None,
                bands_relative_error: None,
            },
            sweep: None,
            sets: None,
            meeting_target: None,
            aggregates: aggregates(),
        };
        let text = serde_json::to_string(&summary).unwrap();
        let keys = [
            "backstop_version",
            "scenario",
            "population",
            "run",
            "aggregates",
        ];
        let at: Vec<usize> = keys
            .iter()
            .map(|k| text.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(!text.contains("scenario_hash") && !text.contains("\"sets\""));
        // A probability over no paths is `null`; floats as serde_json writes them.
        assert!(text.contains(r#""socialized_loss_any":{"count":0,"probability":null"#));
        assert!(text.contains(r#""mean":0.30000000000000004,"min":-0.0,"p1":1e-7"#));
        assert!(
            text.contains(r#""p50":1e+21"#) && text.contains(r#""collateral":1500.0"#),
            "{text}"
        );
    }

    #[test]
    fn read_back_accepts_integral_floats_and_absent_optionals() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("summary.json");
        let mut summary: Summary = Summary {
            backstop_version: "0.1.0".to_owned(),
            scenario: serde_json::json!({ "name": "s", "seed": 7 }),
            scenario_hash: Some("00ff".to_owned()),
            population: None,
            run: RunSummary {
                paths: 3,
                steps: 20,
                path_model: None,
                outcome: None,
                sets: Some(2),
                work_items: Some(6),
                bands_relative_error: None,
            },
            sweep: Some(serde_json::json!({ "sets": 2 })),
            sets: Some(vec![SetSummary {
                param_set: 0,
                values: vec![0.5],
                meets_target: None,
                aggregates: aggregates(),
                fund_needed: None,
            }]),
            meeting_target: Some(Vec::new()),
            aggregates: aggregates(),
        };
        summary.aggregates.socialized_loss_any = probability(0, 3);
        summary.sets = None;
        write_summary(&file, &summary).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.ends_with("}\n") && text.contains("\n  \"run\": {\n    \"paths\": 3,"));
        let back: Summary = serde_json::from_str(&text).unwrap();
        assert_eq!(back, summary);

        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
        value["run"]["paths"] = serde_json::json!(3.0);
        value["aggregates"]["insurance_fund_depletion"]["count"] = serde_json::json!(1.0);
        value["aggregates"]
            .as_object_mut()
            .unwrap()
            .remove("adl_any");
        let back: Summary = serde_json::from_value(value.clone()).unwrap();
        assert_eq!((back.run.paths, back.aggregates.adl_any), (3, None));
        for bad in [serde_json::json!(-3), serde_json::json!(2.5)] {
            value["run"]["paths"] = bad;
            let err = serde_json::from_value::<Summary>(value.clone()).unwrap_err();
            assert!(err.to_string().contains("a non-negative integer"), "{err}");
        }
    }
}
