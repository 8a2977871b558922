//! A path's ADL waves (docs/model.md §6, "ADL waves"): the engine's per-step
//! record of every winner's take ([`crate::engine::AdlTakeRecord`]) folded into
//! the wave measures of [`crate::venue::adl_waves`] as the steps run.

use backstop_data::AdlWaveRow;

use super::metrics::PathMetrics;
use crate::engine::Engine;
use crate::venue::adl_waves::{AdlTake, AdlWave, WaveFold};

/// Takes read ahead by [`WaveFold::touch`] before they are folded.
const TOUCH_AHEAD: usize = 64;

/// The waves of one path, folded step by step: the wave being run keeps one
/// entry per winner it touched; a finished wave keeps only its measures.
#[derive(Default)]
pub(super) struct WaveRecorder {
    fold: WaveFold,
    waves: Vec<AdlWave>,
}

impl WaveRecorder {
    /// Folds the takes of the step `engine` just ran (nothing on a step
    /// without ADL: O(1)).
    pub(super) fn observe(&mut self, engine: &Engine) {
        let takes = engine.adl_takes();
        if takes.is_empty() {
            return;
        }
        let step = engine.adl_takes_step();
        let needed = || engine.adl_needed_notional().to_usd();
        if let Some(wave) = self.fold.step(step, needed) {
            self.waves.push(wave);
        }
        // In chunks, each touched first: its winners' entries are read in
        // a pass of their own, their misses overlapping.
        // The touch hands over the slots it read: `take_at` reads them once.
        let mut slots = [0u32; TOUCH_AHEAD];
        for chunk in takes.chunks(TOUCH_AHEAD) {
            self.fold.touch(chunk.iter().map(|t| t.winner), &mut slots);
            for (t, &slot) in chunk.iter().zip(&slots) {
                let take = AdlTake {
                    step,
                    account: t.winner,
                    notional: engine.adl_take_notional(t).to_usd(),
                    lots: t.lots,
                    held: t.held,
                    pnl_before: t.pnl_before,
                    equity_after: t.equity_after,
                };
                self.fold.take_at(&take, slot);
            }
        }
    }

    /// The path's waves, in step order.
    pub(super) fn finish(mut self) -> Vec<AdlWave> {
        self.waves.extend(self.fold.finish());
        self.waves
    }
}

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
