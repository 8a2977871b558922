//! The fund each parameter set of a sweep needs for the sweep's depletion
//! target (docs/model.md §7c), from its paths' fund needs as `backstop
//! size-fund` sizes it, so that a sweep over anything but the fund still
//! answers "how large must the fund be" per set.
//!
//! A set runs with its own fund `F`: a path that depleted it has a need that
//! is only a lower bound (`insurance_fund_need_censored = 1`), at least
//! `F − f`, above every uncensored need. The fund for `P(depletion) ≤ p` is an
//! order statistic at rank `n − ⌊p n⌋`: exact when at most `⌊p n⌋` paths are
//! censored (the rank falls among the uncensored needs), else above `F`.

use backstop_data::{PathsTable, SetFundNeeded};

use super::aggregate::fund_size::size_fund;

/// The target a sweep without `max_depletion_probability` is sized for.
pub const DEFAULT_SWEEP_FUND_TARGET: f64 = 0.01;

/// The fund parameter set `set` of `paths` needs for `P(depletion) ≤ p`, with
/// floor `floor` (USD).
pub fn set_fund_needed(paths: &PathsTable, set: u32, floor: f64, p: f64) -> SetFundNeeded {
    let needs = paths.values("insurance_fund_need", set);
    let censored = paths
        .values("insurance_fund_need_censored", set)
        .iter()
        .filter(|&&c| c != 0.0)
        .count() as u64;
    let fund = paths
        .values("insurance_fund_initial", set)
        .first()
        .copied()
        .unwrap_or(0.0);
    let allowed = ((p * needs.len() as f64) + 1e-9).floor() as u64;
    if censored > allowed || needs.is_empty() {
        return SetFundNeeded {
            p,
            fund: None,
            ci95: [None, None],
            above: Some(fund),
            censored_paths: censored,
        };
    }
    let sizing = size_fund(&needs, floor, fund, &[p]);
    let t = &sizing.targets[0];
    SetFundNeeded {
        p,
        fund: Some(t.fund),
        // The upper end may rest on a censored need (a lower bound): only
        // stated when no path was censored.
        ci95: [t.ci95[0], if censored == 0 { t.ci95[1] } else { None }],
        above: None,
        censored_paths: censored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::PathMetrics;
    use backstop_data::PATH_METRICS;

    fn table(needs: &[(f64, bool)], fund: f64) -> PathsTable {
        let mut t = PathsTable::default();
        let row: Vec<Option<f64>> = (0..PATH_METRICS.len()).map(|_| Some(0.0)).collect();
        for (i, &(need, censored)) in needs.iter().enumerate() {
            let mut m = PathMetrics::from_row(i as u64, &row).expect("a row");
            m.insurance_fund_need = need;
            m.insurance_fund_need_censored = u32::from(censored);
            m.insurance_fund_initial = fund;
            t.push(0, i as u64, &m.to_row());
        }
        t
    }

    /// Ten paths, p = 10%: one path may deplete; the fund must cover the
    /// ninth smallest need (90) plus one micro-USD, above the floor.
    #[test]
    fn a_set_is_sized_from_its_needs_or_said_to_need_more_than_its_fund() {
        let needs: Vec<(f64, bool)> = (1..=9)
            .map(|k| (f64::from(k) * 10.0, false))
            .chain([(150.0, true)])
            .collect();
        let f = set_fund_needed(&table(&needs, 150.0), 0, 5.0, 0.1);
        assert_eq!(f.censored_paths, 1);
        let fund = f.fund.expect("one censored path is allowed at 10%");
        assert!((fund - (5.0 + 90.0 + 1e-6)).abs() < 1e-9, "{fund}");
        assert_eq!(f.ci95[1], None);
        // At 1%, no path may deplete: the answer is above the set's fund.
        let f = set_fund_needed(&table(&needs, 150.0), 0, 5.0, 0.01);
        assert_eq!((f.fund, f.above), (None, Some(150.0)));
    }
}
