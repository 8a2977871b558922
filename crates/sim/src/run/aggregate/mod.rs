//! Statistics across paths (docs/model.md §7): what a risk committee reads.
//!
//! One statistic per file: [`quantile`] (per-metric quantiles),
//! [`clopper_pearson`] (exact intervals of probabilities), [`tail_risk`] (VaR and
//! expected shortfall), [`cover`] (Cover-1/Cover-2), [`fund_size`] (the fund
//! a depletion target needs, from the uncensored needs), and [`sketch`] (the
//! mergeable per-step quantile bands). The result types are `backstop_data`'s
//! (one definition of `summary.json`); this module computes them.

pub mod clopper_pearson;
pub mod cover;
pub mod fund_size;
pub mod quantile;
pub mod sketch;
pub mod tail_risk;

use super::metrics::PathMetrics;
use backstop_data::PATH_METRICS;
pub use backstop_data::{Aggregates, MetricSummary, Probability, TailRisk};

/// Confidence of the probability intervals.
pub const CONFIDENCE: f64 = 0.95;

/// The summary of `values` (type-7 quantiles); `None` without values.
pub fn metric_summary(values: &[f64]) -> Option<MetricSummary> {
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

/// `count` of `n` paths, with its Clopper–Pearson interval at [`CONFIDENCE`].
pub fn probability(count: u64, n: u64) -> Probability {
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

/// The statistics of `paths`: everything `summary.json` reports across paths.
pub fn aggregates(paths: &[PathMetrics]) -> Aggregates {
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
            metric_summary(&values).map(|s| ((*name).to_string(), s))
        })
        .collect();
    Aggregates {
        paths: n,
        insurance_fund_depletion: probability(
            count(&|p| p.insurance_fund_first_depletion_step.is_some()),
            n,
        ),
        socialized_loss_any: probability(count(&|p| p.socialized_loss > 0.0), n),
        adl_any: Some(probability(count(&|p| p.adl_closes > 0), n)),
        insurance_fund_loss: TailRisk {
            var_95,
            es_95,
            var_99,
            es_99,
        },
        cover_1,
        cover_2,
        metrics,
        outcome: None,
    }
}
