//! A path's ADL waves (docs/model.md §6, "ADL waves"): the engine folds every
//! winner's take into the wave measures of [`crate::venue::adl_waves`] as it
//! books it ([`crate::engine::Engine::finish_adl_waves`] hands them out at the
//! path's end); their `adl_waves/v1` rows.

use backstop_data::AdlWaveRow;

use super::metrics::PathMetrics;

/// The waves of path `p` as `adl_waves/v1` rows of parameter set `param_set`.
pub(super) fn wave_rows(param_set: u32, p: &PathMetrics) -> impl Iterator<Item = AdlWaveRow> + '_ {
    p.adl_waves
        .iter()
        .enumerate()
        .map(move |(i, w)| AdlWaveRow {
            param_set,
            path: p.path,
            wave: i as u32,
            first_step: w.first_step,
            last_step: w.last_step,
            needed: w.needed,
            taken: w.taken,
            excess: w.excess,
            multiple: w.multiple,
            pnl_taken: w.pnl_taken,
            max_pnl_share: w.max_pnl_share,
            top1_share: w.top1_share,
            gini: w.gini,
            accounts: w.accounts,
            winners_equity_after: w.winners_equity_after,
        })
}
