//! The state of the quiet step (`quiet.rs`): per market the band of marks
//! within which a step only moves the marks, and the step up to which
//! nothing is scheduled. Kept in the engine's scratch space.

/// What a quiet step may assume: built at the end of a full step, valid
/// until the next full step (quiet steps do not change it).
#[derive(Debug, Default)]
pub(super) struct QuietState {
    /// Whether `bands` and `until` describe the engine now.
    pub(super) valid: bool,
    /// Quiet steps switched off (`Engine::set_quiet_steps`).
    pub(super) off: bool,
    /// Whether the per-step outputs (flows, events, the journal, the ADL
    /// takes) still hold the last full step's: the first quiet step after
    /// it resets them, later ones find them reset.
    pub(super) dirty: bool,
    /// Quiet steps run while the step counter is below this: the next
    /// scheduled funding settlement or liquidation due.
    pub(super) until: u32,
    /// Per market: the marks (ticks) strictly between which no trigger is
    /// crossed and the open-interest check passes.
    pub(super) bands: Vec<(i64, i64)>,
    /// The quiet step being checked: per market its mark (ticks) and the
    /// impact's log-factor and factor it was computed with.
    pub(super) next: Vec<(i64, f64, f64)>,
    /// Whether some market's impact model keeps a clock (`None`: not known
    /// yet); `Engine::set_time` skips the others.
    pub(super) clocked: Option<bool>,
    /// Quiet steps run since the engine was built or restarted.
    pub(super) count: u64,
}

impl QuietState {
    /// Forgets everything (the engine was restarted with other markets).
    pub(super) fn reset(&mut self) {
        let off = self.off;
        *self = QuietState {
            off,
            bands: std::mem::take(&mut self.bands),
            next: std::mem::take(&mut self.next),
            ..QuietState::default()
        };
    }
}
