//! The state of the quiet step (`quiet.rs`): per market the band of marks
//! within which a step only moves the marks, and the step up to which
//! nothing is scheduled. Kept in the engine's scratch space.

/// What a quiet step may assume: built at the end of a full step, valid
/// until the next full step (quiet steps do not change it).
#[derive(Debug, Default)]
pub(super) struct QuietState {
    /// Quiet steps switched off (`Engine::set_quiet_steps`).
    pub(super) off: bool,
    /// Whether the per-step outputs (flows, events, the journal, the ADL
    /// takes) still hold the last full step's: the first quiet step after
    /// it resets them, later ones find them reset.
    pub(super) dirty: bool,
    /// Quiet steps run while the step counter is below this: the next
    /// scheduled funding settlement or liquidation due; 0 when `bands` do
    /// not describe the engine now (no step is quiet).
    pub(super) until: u32,
    /// Per market: the marks (ticks) strictly between which no trigger is
    /// crossed and the open-interest check passes, and the tick's reciprocal.
    pub(super) bands: Vec<QuietBand>,
    /// The quiet step being checked: per market its mark (ticks) and the
    /// impact's log-factor and factor it was computed with.
    pub(super) next: Vec<(i64, f64, f64)>,
    /// Whether some market's impact model keeps a clock (`None`: not known
    /// yet); `Engine::set_time` skips the others.
    pub(super) clocked: Option<bool>,
    /// Quiet steps run since the engine was built or restarted, up to the
    /// step counter `since` (those after it: `step - since`, counted at the
    /// next full step, so that a quiet step writes no counter of its own).
    pub(super) count: u64,
    /// The step counter after the last full step (or at the restart).
    pub(super) since: u32,
}

/// One market's quiet band: the marks strictly between `low` and `high`
/// (ticks), and `1 / tick_size` for the quiet step's mark without a division
/// (`quiet.rs`, `checked_ticks_quick`).
#[derive(Debug, Clone, Copy)]
pub(super) struct QuietBand {
    /// The nearest long trigger (ticks; `i64::MIN`: none): a quiet mark is
    /// above it.
    pub(super) low: i64,
    /// The nearest short trigger or the open-interest bound (ticks;
    /// `i64::MAX`: none): a quiet mark is below it.
    pub(super) high: i64,
    /// `fl(1 / tick_size)` when it is a normal number, else NaN (every mark
    /// then takes the division).
    pub(super) inv_tick: f64,
}

impl QuietBand {
    /// The band as bits, for comparing two bands (a NaN reciprocal equals
    /// itself).
    pub(super) fn bits(&self) -> (i64, i64, u64) {
        (self.low, self.high, self.inv_tick.to_bits())
    }
}

impl QuietState {
    /// Counts the quiet steps run since the last full step (the step
    /// counter is `step`).
    pub(super) fn fold_count(&mut self, step: u32) {
        self.count += u64::from(step.wrapping_sub(self.since));
        self.since = step;
    }

    /// Forgets everything (the engine was restarted with other markets, at
    /// step counter `step`).
    pub(super) fn reset(&mut self, step: u32) {
        let off = self.off;
        *self = QuietState {
            off,
            since: step,
            bands: std::mem::take(&mut self.bands),
            next: std::mem::take(&mut self.next),
            ..QuietState::default()
        };
    }
}
