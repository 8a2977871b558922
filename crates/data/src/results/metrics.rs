//! The per-path metrics (docs/model.md §7): one table of their names, in
//! `paths/v1` column order, and what each measures. Every other list of metrics
//! (the simulator's row, the aggregates, the report's tables) follows this one:
//! by name, or by position in [`METRICS`].

/// How a per-path metric is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricUnit {
    /// US dollars (exact conversions of the engine's micro-USD).
    Usd,
    /// A share, 0 to 1.
    Fraction,
    /// A whole number of things (events, accounts, steps run).
    Count,
    /// A step index: a time on the run's step grid.
    Step,
    /// A multiplier of margin rates (1 when unchanged).
    Multiplier,
}

/// One per-path metric: a column of `paths/v1` and a key of the aggregates'
/// `metrics` in `summary.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Column name in `paths/v1`, key in `summary.json`.
    pub name: &'static str,
    /// What it measures.
    pub unit: MetricUnit,
    /// Whether a path may have no value (null in `paths/v1`), e.g. the first
    /// depletion step of a path on which the fund never depleted.
    pub optional: bool,
}

const fn metric(name: &'static str, unit: MetricUnit) -> Metric {
    Metric {
        name,
        unit,
        optional: false,
    }
}

/// Number of per-path metrics.
pub const METRIC_COUNT: usize = 39;

/// Every per-path metric, in `paths/v1` column order.
pub const METRICS: [Metric; METRIC_COUNT] = {
    use MetricUnit::{Count, Fraction, Multiplier, Step, Usd};
    [
        metric("steps", Count),
        metric("insurance_fund_initial", Usd),
        metric("insurance_fund_min", Usd),
        metric("insurance_fund_final", Usd),
        metric("insurance_fund_max_drawdown", Usd),
        metric("insurance_fund_max_drawdown_pct", Fraction),
        metric("insurance_fund_loss", Usd),
        metric("insurance_fund_min_step", Step),
        Metric {
            name: "insurance_fund_first_depletion_step",
            unit: Step,
            optional: true,
        },
        metric("insurance_fund_payouts", Usd),
        metric("insurance_fund_fee_income", Usd),
        metric("bad_debt", Usd),
        metric("socialized_loss", Usd),
        metric("accounts_haircut", Count),
        metric("max_haircut", Usd),
        metric("insolvency", Usd),
        metric("adl_closes", Count),
        metric("adl_notional", Usd),
        metric("adl_excess_notional", Usd),
        metric("adl_cost", Usd),
        metric("adl_accounts_hit", Count),
        metric("liquidation_orders", Count),
        metric("liquidated_notional", Usd),
        metric("accounts_liquidated", Count),
        metric("liquidator_fees", Usd),
        metric("largest_deficit", Usd),
        metric("second_largest_deficit", Usd),
        metric("breaker_trips", Count),
        metric("breaker_steps_paused", Count),
        metric("margin_multiplier_max", Multiplier),
        metric("oracle_sources_dropped", Count),
        metric("oracle_stale_ignored", Count),
        metric("collateral_converted", Usd),
        metric("collateral_conversions", Count),
        metric("insurance_fund_need", Usd),
        metric("insurance_fund_need_step", Step),
        metric("insurance_fund_need_bad_debt", Usd),
        metric("insurance_fund_need_at_step_end", Usd),
        metric("insurance_fund_need_censored", Count),
    ]
};

/// The names of [`METRICS`], in the same order: the metric columns of
/// `paths/v1`.
pub const PATH_METRICS: [&str; METRIC_COUNT] = {
    let mut names = [""; METRIC_COUNT];
    let mut k = 0;
    while k < METRIC_COUNT {
        names[k] = METRICS[k].name;
        k += 1;
    }
    names
};

/// The metric named `name`, if it is one of [`METRICS`].
#[must_use]
pub fn find_metric(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

/// The position of metric `name` in [`METRICS`] (its column among the metric
/// columns of `paths/v1`).
#[must_use]
pub const fn metric_index(name: &str) -> Option<usize> {
    let mut k = 0;
    while k < METRIC_COUNT {
        if const_str_eq(METRICS[k].name, name) {
            return Some(k);
        }
        k += 1;
    }
    None
}

/// The position of metric `name`, for a writer that fills a `paths/v1` row by
/// name at compile time: `row[metric_column("bad_debt")]`. In a `const` context
/// a name that is not in [`METRICS`] stops the build.
///
/// # Panics
/// If `name` is not a metric (at compile time when evaluated in a `const`).
#[must_use]
pub const fn metric_column(name: &str) -> usize {
    match metric_index(name) {
        Some(k) => k,
        None => panic!("not a metric of results/metrics.rs"),
    }
}

/// `a == b`, usable in a `const fn`.
const fn const_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_follow_the_table() {
        for (k, m) in METRICS.iter().enumerate() {
            assert_eq!(PATH_METRICS[k], m.name);
            assert_eq!(metric_index(m.name), Some(k));
            assert_eq!(find_metric(m.name), Some(m));
        }
        assert_eq!(find_metric("no_such_metric"), None);
        let optional: Vec<&str> = METRICS
            .iter()
            .filter(|m| m.optional)
            .map(|m| m.name)
            .collect();
        assert_eq!(optional, ["insurance_fund_first_depletion_step"]);
    }
}
