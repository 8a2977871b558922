//! Statistics across paths (docs/model.md §7): what a risk committee reads.
//!
//! One statistic per file: [`quantile`] (per-metric quantiles),
//! [`clopper_pearson`] (exact intervals of probabilities), [`tail_risk`] (VaR and
//! expected shortfall), [`cover`] (Cover-1/Cover-2), and [`sketch`] (the
//! mergeable per-step quantile bands).

pub mod clopper_pearson;
pub mod cover;
pub mod quantile;
pub mod sketch;
pub mod tail_risk;

use std::collections::BTreeMap;

use serde::Serialize;

use super::metrics::PathMetrics;
use backstop_data::PATH_METRICS;

/// Confidence of the probability intervals.
pub const CONFIDENCE: f64 = 0.95;

/// Quantiles of one per-path metric across paths.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricSummary {
    /// Paths with a value (a first-depletion step exists only on depleted paths).
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

impl MetricSummary {
    /// The summary of `values` (type-7 quantiles); `None` without values.
    pub fn of(values: &[f64]) -> Option<MetricSummary> {
        if values.is_empty() {
            return None;
        }
        let mut s = values.to_vec();
        s.sort_by(f64::total_cmp);
        let q = |p| quantile::quantile_sorted(&s, p);
        Some(MetricSummary {
            count: s.len() as u64,
            mean: s.iter().sum::<f64>() / s.len() as f64,
            min: s[0],
            p1: q(0.01),
            p5: q(0.05),
            p25: q(0.25),
            p50: q(0.5),
            p75: q(0.75),
            p95: q(0.95),
            p99: q(0.99),
            p99_9: q(0.999),
            max: s[s.len() - 1],
        })
    }
}

/// How often something happened across paths, with its exact interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Probability {
    /// Paths on which it happened.
    pub count: u64,
    /// `count / paths`.
    pub probability: f64,
    /// Clopper–Pearson interval at [`CONFIDENCE`].
    pub ci95: [f64; 2],
}

impl Probability {
    /// `count` of `n`.
    pub fn of(count: u64, n: u64) -> Probability {
        let (lo, hi) = clopper_pearson::clopper_pearson(count, n, CONFIDENCE);
        Probability {
            count,
            probability: if n == 0 {
                f64::NAN
            } else {
                count as f64 / n as f64
            },
            ci95: [lo, hi],
        }
    }
}

/// VaR and expected shortfall of the insurance-fund loss.
#[derive(Clone, Debug, PartialEq, Serialize)]
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

/// Everything `summary.json` reports across paths.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Aggregates {
    /// Paths run.
    pub paths: u64,
    /// Paths on which the fund could not pay in full (or sat at its floor).
    pub insurance_fund_depletion: Probability,
    /// Paths with any socialized loss.
    pub socialized_loss_any: Probability,
    /// Paths with any ADL.
    pub adl_any: Probability,
    /// VaR/ES of `insurance_fund_loss` (initial minus lowest balance).
    pub insurance_fund_loss: TailRisk,
    /// Worst single account's deficit on any path.
    pub cover_1: f64,
    /// Worst two accounts' deficits together on any path.
    pub cover_2: f64,
    /// Quantiles of every per-path metric, by name (sorted).
    pub metrics: BTreeMap<String, MetricSummary>,
}

impl Aggregates {
    /// The statistics of `paths`.
    pub fn of(paths: &[PathMetrics]) -> Aggregates {
        let n = paths.len() as u64;
        let count = |f: &dyn Fn(&PathMetrics) -> bool| paths.iter().filter(|p| f(p)).count() as u64;
        let losses: Vec<f64> = paths.iter().map(|p| p.insurance_fund_loss).collect();
        let (var_95, es_95) = tail_risk::var_es(&losses, 0.95);
        let (var_99, es_99) = tail_risk::var_es(&losses, 0.99);
        let largest: Vec<(f64, f64)> = paths
            .iter()
            .map(|p| (p.largest_deficit, p.second_largest_deficit))
            .collect();
        let (cover_1, cover_2) = cover::cover(&largest);
        let rows: Vec<_> = paths.iter().map(PathMetrics::to_row).collect();
        let metrics = PATH_METRICS
            .iter()
            .enumerate()
            .filter_map(|(k, name)| {
                let values: Vec<f64> = rows.iter().filter_map(|r| r[k]).collect();
                MetricSummary::of(&values).map(|s| ((*name).to_string(), s))
            })
            .collect();
        Aggregates {
            paths: n,
            insurance_fund_depletion: Probability::of(
                count(&|p| p.insurance_fund_first_depletion_step.is_some()),
                n,
            ),
            socialized_loss_any: Probability::of(count(&|p| p.socialized_loss > 0.0), n),
            adl_any: Probability::of(count(&|p| p.adl_events > 0), n),
            insurance_fund_loss: TailRisk {
                var_95,
                es_95,
                var_99,
                es_99,
            },
            cover_1,
            cover_2,
            metrics,
        }
    }
}
