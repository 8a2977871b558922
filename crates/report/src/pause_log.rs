//! The circuit breaker's pauses of a one-path run, folded step by step as
//! `steps.parquet` is read: memory does not grow with the length of the run, so
//! a run of a million steps (whose charts are downsampled) gets its pause table
//! as a short one does (docs/model.md, "Charts of long runs").
//!
//! A pause starts at a paused step that follows an unpaused one, or `pause`
//! steps into a run of paused steps (the breaker tripped again as the previous
//! pause ended); it lasts until the first unpaused step or `pause` steps. The
//! window after it is the `pause` steps that follow, steps paused again
//! excluded.

/// Pauses kept with their own figures (the report's table lists these); every
/// pause still counts in the totals.
pub const PAUSES_KEPT: usize = 20;

/// One circuit-breaker pause and what followed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pause {
    /// Step number of the step that tripped the breaker.
    pub start_step: u32,
    /// Steps paused (the tripping step included; fewer at the end of the run).
    pub steps: usize,
    /// Liquidations during the pause (none execute while paused).
    pub liquidations_during: f64,
    /// Steps of the window after the pause (up to `pause_steps`, not paused).
    pub after_steps: usize,
    /// Liquidations in the window after the pause.
    pub liquidations_after: f64,
    /// Notional liquidated in the window after the pause, USD.
    pub notional_after: f64,
    /// Bad debt incurred in the window after the pause, USD.
    pub bad_debt_after: f64,
    /// Change of the insurance fund from before the pause to the end of the
    /// window after it, USD.
    pub fund_change: f64,
}

/// The breaker's pauses of a one-path run and what followed them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PauseAnalysis {
    /// The first [`PAUSES_KEPT`] pauses, in time order.
    pub pauses: Vec<Pause>,
    /// Pauses in the run (trips of the breaker), kept or not.
    pub trips: usize,
    /// Steps in the run.
    pub steps: usize,
    /// Steps with liquidations paused.
    pub steps_paused: usize,
    /// Steps in the windows after the pauses (each counted once).
    pub after_steps: usize,
    /// Liquidations in those windows.
    pub liquidations_after: f64,
    /// Notional liquidated in those windows, USD.
    pub notional_after: f64,
    /// Bad debt in those windows, USD.
    pub bad_debt_after: f64,
    /// Liquidations in the whole run.
    pub liquidations_total: f64,
    /// Notional liquidated in the whole run, USD.
    pub notional_total: f64,
    /// Bad debt in the whole run, USD.
    pub bad_debt_total: f64,
}

/// One whole step as the pause log reads it (all markets' rows merged).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StepFigures {
    /// The step's number.
    pub step: u32,
    /// Whether the breaker paused liquidations during the step.
    pub paused: bool,
    /// Liquidations during the step.
    pub liquidations: f64,
    /// Notional liquidated during the step (long and short), USD.
    pub notional: f64,
    /// Bad debt incurred during the step, USD.
    pub bad_debt: f64,
    /// The insurance fund at the end of the step, USD.
    pub fund: f64,
}

/// A kept pause whose window after it is still open.
#[derive(Debug, Clone)]
struct Open {
    /// Index into the kept pauses.
    kept: usize,
    /// Step index (0-based, in reading order) where the pause started.
    start: usize,
    /// Step index of the first step after the pause, once it has ended.
    end: Option<usize>,
    /// The fund before the pause (the step before it, or its first step).
    fund_before: f64,
    /// The fund at the last step counted so far (the pause's last step, then
    /// the window's last unpaused step).
    fund_last: f64,
}

/// Folds a run's steps, in step order, into its [`PauseAnalysis`].
#[derive(Debug, Clone)]
pub(crate) struct PauseLog {
    /// The breaker's pause, steps (at least 1).
    pause: usize,
    out: PauseAnalysis,
    /// Kept pauses still taking steps (during them or in their window after).
    open: Vec<Open>,
    /// Index of the next step.
    index: usize,
    /// Start index of the current run of paused steps.
    run_start: Option<usize>,
    /// Start index of the latest pause while it lasts (kept or not).
    ongoing: Option<usize>,
    /// Steps with index below this are in some pause's window after.
    after_until: usize,
    /// The previous step's number and fund.
    previous: Option<(u32, f64)>,
    /// Set when a step number did not increase: the log stops there.
    unordered: Option<u32>,
}

impl PauseLog {
    /// A log for a breaker that pauses for `pause` steps (0 reads as 1).
    pub(crate) fn new(pause: usize) -> Self {
        Self {
            pause: pause.max(1),
            out: PauseAnalysis::default(),
            open: Vec::new(),
            index: 0,
            run_start: None,
            ongoing: None,
            after_until: 0,
            previous: None,
            unordered: None,
        }
    }

    /// Takes the next step.
    pub(crate) fn step(&mut self, s: &StepFigures) {
        if self.unordered.is_some() {
            return;
        }
        if let Some((prev, _)) = self.previous
            && s.step <= prev
        {
            self.unordered = Some(s.step);
            return;
        }
        let i = self.index;
        self.close_ended(i, s.paused);
        let trips = s.paused && self.starts_pause(i);
        if trips {
            self.start_pause(i, s);
        }
        self.count(i, s);
        if !s.paused {
            self.run_start = None;
        }
        self.previous = Some((s.step, s.fund));
        self.index += 1;
    }

    /// Ends the open pauses that end before step `i` and drops the ones whose
    /// window is over.
    fn close_ended(&mut self, i: usize, paused: bool) {
        let pause = self.pause;
        if let Some(start) = self.ongoing
            && (!paused || i - start >= pause)
        {
            self.ongoing = None;
            self.after_until = self.after_until.max(i + pause);
        }
        for o in &mut self.open {
            if o.end.is_none() && (!paused || i - o.start >= pause) {
                o.end = Some(i);
            }
        }
        self.open
            .retain(|o| o.end.is_none_or(|end| i < end + pause));
    }

    /// Whether paused step `i` trips the breaker (a new pause starts).
    fn starts_pause(&mut self, i: usize) -> bool {
        let start = *self.run_start.get_or_insert(i);
        (i - start).is_multiple_of(self.pause)
    }

    fn start_pause(&mut self, i: usize, s: &StepFigures) {
        debug_assert!(
            self.ongoing.is_none() && self.open.iter().all(|o| o.end.is_some()),
            "Invariant: a pause starts only once the previous one has ended"
        );
        self.ongoing = Some(i);
        self.out.trips += 1;
        if self.out.pauses.len() < PAUSES_KEPT {
            let fund_before = self.previous.map_or(s.fund, |(_, f)| f);
            self.out.pauses.push(Pause {
                start_step: s.step,
                steps: 0,
                liquidations_during: 0.0,
                after_steps: 0,
                liquidations_after: 0.0,
                notional_after: 0.0,
                bad_debt_after: 0.0,
                fund_change: 0.0,
            });
            self.open.push(Open {
                kept: self.out.pauses.len() - 1,
                start: i,
                end: None,
                fund_before,
                fund_last: s.fund,
            });
        }
    }

    /// Adds step `i` to the run's totals and to the open pauses.
    fn count(&mut self, i: usize, s: &StepFigures) {
        let out = &mut self.out;
        out.steps += 1;
        out.liquidations_total += s.liquidations;
        out.notional_total += s.notional;
        out.bad_debt_total += s.bad_debt;
        if s.paused {
            out.steps_paused += 1;
        } else if i < self.after_until {
            out.after_steps += 1;
            out.liquidations_after += s.liquidations;
            out.notional_after += s.notional;
            out.bad_debt_after += s.bad_debt;
        }
        for o in &mut self.open {
            let p = &mut out.pauses[o.kept];
            match o.end {
                None => {
                    p.steps += 1;
                    p.liquidations_during += s.liquidations;
                    o.fund_last = s.fund;
                }
                Some(_) if !s.paused => {
                    p.after_steps += 1;
                    p.liquidations_after += s.liquidations;
                    p.notional_after += s.notional;
                    p.bad_debt_after += s.bad_debt;
                    o.fund_last = s.fund;
                }
                Some(_) => {}
            }
            p.fund_change = o.fund_last - o.fund_before;
        }
    }

    /// The analysis, or the first step number that did not increase.
    ///
    /// # Errors
    ///
    /// The step number that was not above the one before it.
    pub(crate) fn finish(self) -> Result<PauseAnalysis, u32> {
        match self.unordered {
            Some(step) => Err(step),
            None => Ok(self.out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analysis of a whole series held in memory, as the report computed it
    /// before the log streamed (indexes into the series; every pause kept).
    fn reference(steps: &[StepFigures], pause: usize) -> PauseAnalysis {
        let n = steps.len();
        let paused: Vec<bool> = steps.iter().map(|s| s.paused).collect();
        let is_trip = |i: usize| {
            let mut start = i;
            while start > 0 && paused[start - 1] {
                start -= 1;
            }
            (i - start).is_multiple_of(pause)
        };
        let mut out = PauseAnalysis::default();
        let mut in_after = vec![false; n];
        let mut i = 0;
        while i < n {
            if !paused[i] || (i > 0 && paused[i - 1] && !is_trip(i)) {
                i += 1;
                continue;
            }
            let start = i;
            let mut end = start;
            while end < n && end - start < pause && paused[end] {
                end += 1;
            }
            let after: Vec<usize> = (end..(end + pause).min(n))
                .filter(|k| !paused[*k])
                .collect();
            for k in &after {
                in_after[*k] = true;
            }
            let before = steps[start.saturating_sub(1)].fund;
            let last = after.last().copied().unwrap_or(end - 1);
            out.trips += 1;
            if out.pauses.len() < PAUSES_KEPT {
                out.pauses.push(Pause {
                    start_step: steps[start].step,
                    steps: end - start,
                    liquidations_during: (start..end).map(|k| steps[k].liquidations).sum(),
                    after_steps: after.len(),
                    liquidations_after: after.iter().map(|k| steps[*k].liquidations).sum(),
                    notional_after: after.iter().map(|k| steps[*k].notional).sum(),
                    bad_debt_after: after.iter().map(|k| steps[*k].bad_debt).sum(),
                    fund_change: steps[last].fund - before,
                });
            }
            i = end;
        }
        for (k, s) in steps.iter().enumerate() {
            out.steps += 1;
            out.liquidations_total += s.liquidations;
            out.notional_total += s.notional;
            out.bad_debt_total += s.bad_debt;
            if s.paused {
                out.steps_paused += 1;
            }
            if in_after[k] {
                out.after_steps += 1;
                out.liquidations_after += s.liquidations;
                out.notional_after += s.notional;
                out.bad_debt_after += s.bad_debt;
            }
        }
        out
    }

    /// A fixed-seed xorshift stream: the tests' random series.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// A random series of `n` steps: paused runs of random length, integer
    /// figures (so sums are exact in any order), step numbers with gaps.
    fn series(rng: &mut XorShift, n: usize) -> Vec<StepFigures> {
        let mut out = Vec::with_capacity(n);
        let mut step = 0u32;
        let mut paused_left = 0;
        let mut fund = 1_000_000.0;
        for _ in 0..n {
            step += 1 + u32::from(rng.below(4) == 0);
            if paused_left == 0 && rng.below(6) == 0 {
                paused_left = 1 + rng.below(12);
            }
            let paused = paused_left > 0;
            paused_left = paused_left.saturating_sub(1);
            #[allow(clippy::cast_precision_loss)]
            let liquidations = if paused { 0.0 } else { rng.below(5) as f64 };
            #[allow(clippy::cast_precision_loss)]
            let bad_debt = rng.below(3) as f64 * 100.0;
            fund -= bad_debt;
            out.push(StepFigures {
                step,
                paused,
                liquidations,
                notional: liquidations * 1_000.0,
                bad_debt,
                fund,
            });
        }
        out
    }

    fn fold(steps: &[StepFigures], pause: usize) -> PauseAnalysis {
        let mut log = PauseLog::new(pause);
        for s in steps {
            log.step(s);
        }
        log.finish().expect("steps in order")
    }

    #[test]
    fn the_streamed_log_equals_the_whole_series_analysis() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut tripped = 0;
        for case in 0..3_000 {
            let n = 1 + (case % 97);
            let pause = 1 + (case % 7);
            let steps = series(&mut rng, n);
            let want = reference(&steps, pause);
            tripped += usize::from(want.trips > PAUSES_KEPT);
            assert_eq!(fold(&steps, pause), want, "case {case}: pause {pause}");
        }
        assert!(tripped > 0, "some cases have more pauses than are kept");
    }

    #[test]
    fn a_pause_longer_than_the_breaker_is_several_trips() {
        let step = |step: u32, paused: bool| StepFigures {
            step,
            paused,
            liquidations: f64::from(u8::from(!paused)),
            notional: 0.0,
            bad_debt: 0.0,
            fund: f64::from(step),
        };
        // Paused 0..7 with a pause of 3: trips at 0, 3 and 6.
        let steps: Vec<_> = (0..10).map(|s| step(s, s < 7)).collect();
        let a = fold(&steps, 3);
        assert_eq!(a.trips, 3);
        let starts: Vec<u32> = a.pauses.iter().map(|p| p.start_step).collect();
        assert_eq!(starts, [0, 3, 6]);
        assert_eq!(a.pauses[2].steps, 1);
        assert_eq!((a.pauses[2].after_steps, a.after_steps), (3, 3));
        // The first pauses are followed at once by another: no window after.
        assert_eq!(a.pauses[0].after_steps, 0);
        assert_eq!(a.pauses[0].fund_change, 2.0);
    }

    #[test]
    fn a_step_out_of_order_stops_the_log() {
        let mut log = PauseLog::new(2);
        for step in [1, 2, 2] {
            log.step(&StepFigures {
                step,
                paused: false,
                liquidations: 0.0,
                notional: 0.0,
                bad_debt: 0.0,
                fund: 0.0,
            });
        }
        assert_eq!(log.finish(), Err(2));
    }
}
