//! Per-step series read back for the charts with memory bounded in the length
//! of the run: every step of a series of up to [`EXACT_STEPS`] steps; beyond
//! that, buckets of `2^k` consecutive steps, two points each (docs/model.md,
//! "Charts of long runs").
//!
//! A [`Sampler`] takes a series row by row, in file order, as the Parquet
//! readers decode it, and never holds more than [`EXACT_STEPS`] steps.

use std::collections::BTreeMap;

/// Steps a series keeps exactly, one point each; a longer series is downsampled.
pub const EXACT_STEPS: usize = 8192;

/// Buckets a downsampled series keeps at most (two points each, so at most
/// [`EXACT_STEPS`] points).
const MAX_BUCKETS: usize = EXACT_STEPS / 2;

/// How a column merges the rows of one step and the steps of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A level (a price, a balance): a later row of the same step replaces the
    /// value (a NaN does not); a bucket keeps its lowest and highest value, in
    /// the order they occurred, so crash extremes stay visible.
    Level,
    /// A flow of one market: the rows of a step add up; a bucket keeps the sum
    /// of its steps (its first point; the second is 0), so totals over any
    /// range of whole buckets stay exact.
    Flow,
    /// A venue-wide flow repeated on every market's row: a later row of the
    /// same step replaces it; a bucket keeps the sum, as [`Kind::Flow`].
    VenueFlow,
}

/// One step: its time, one value per column, and a flag (OR over its rows).
#[derive(Debug, Clone)]
struct Row {
    ts_ns: i64,
    values: Vec<f64>,
    flag: bool,
}

impl Row {
    fn new(ts_ns: i64, values: &[f64], flag: bool, kinds: &[Kind]) -> Self {
        let values = values
            .iter()
            .zip(kinds)
            // A flow starts from zero, as a sum of its rows does.
            .map(|(v, k)| if *k == Kind::Flow { 0.0 + v } else { *v })
            .collect();
        Self {
            ts_ns,
            values,
            flag,
        }
    }

    /// Merges a later row of the same step.
    fn merge(&mut self, ts_ns: i64, values: &[f64], flag: bool, kinds: &[Kind]) {
        self.ts_ns = ts_ns;
        self.flag |= flag;
        if self.values.len() < values.len() {
            self.values.resize(values.len(), f64::NAN);
        }
        for ((old, new), kind) in self.values.iter_mut().zip(values).zip(kinds) {
            match kind {
                Kind::Level if new.is_nan() => {}
                Kind::Level | Kind::VenueFlow => *old = *new,
                Kind::Flow if old.is_nan() => *old = 0.0 + new,
                Kind::Flow => *old += new,
            }
        }
    }
}

/// One column of a bucket.
#[derive(Debug, Clone, Copy)]
struct Cell {
    lo: f64,
    lo_at: u32,
    hi: f64,
    hi_at: u32,
    sum: f64,
}

impl Cell {
    const EMPTY: Self = Self {
        lo: f64::NAN,
        lo_at: 0,
        hi: f64::NAN,
        hi_at: 0,
        sum: 0.0,
    };

    fn of(v: f64, step: u32) -> Self {
        Self {
            lo: v,
            lo_at: step,
            hi: v,
            hi_at: step,
            sum: if v.is_nan() { 0.0 } else { v },
        }
    }

    fn merge(&mut self, other: &Self) {
        if !other.lo.is_nan() && (self.lo.is_nan() || other.lo < self.lo) {
            self.lo = other.lo;
            self.lo_at = other.lo_at;
        }
        if !other.hi.is_nan() && (self.hi.is_nan() || other.hi > self.hi) {
            self.hi = other.hi;
            self.hi_at = other.hi_at;
        }
        self.sum += other.sum;
    }
}

/// Consecutive steps merged into two points.
#[derive(Debug, Clone)]
struct Bucket {
    first: u32,
    first_ts: i64,
    last: u32,
    last_ts: i64,
    steps: u32,
    cells: Vec<Cell>,
    flag: bool,
}

impl Bucket {
    fn of(step: u32, row: &Row) -> Self {
        Self {
            first: step,
            first_ts: row.ts_ns,
            last: step,
            last_ts: row.ts_ns,
            steps: 1,
            cells: row.values.iter().map(|v| Cell::of(*v, step)).collect(),
            flag: row.flag,
        }
    }

    fn merge(&mut self, other: Self) {
        if other.first < self.first {
            self.first = other.first;
            self.first_ts = other.first_ts;
        }
        if other.last >= self.last {
            self.last = other.last;
            self.last_ts = other.last_ts;
        }
        self.steps += other.steps;
        self.flag |= other.flag;
        if self.cells.len() < other.cells.len() {
            self.cells.resize(other.cells.len(), Cell::EMPTY);
        }
        for (cell, o) in self.cells.iter_mut().zip(&other.cells) {
            cell.merge(o);
        }
    }
}

/// Takes each whole step of a [`Sampler`] once (its rows merged), in step
/// order while the series is exact and in reading order once downsampled: for
/// figures that must be read over every step, not from the sampled points.
pub(crate) trait StepSink {
    /// Step `step`: its values in column order and its flag.
    fn step(&mut self, step: u32, values: &[f64], flag: bool);
}

impl StepSink for () {
    fn step(&mut self, _: u32, _: &[f64], _: bool) {}
}

/// A series read back row by row, kept exactly up to [`EXACT_STEPS`] steps and
/// downsampled beyond; every whole step also goes to its [`StepSink`].
#[derive(Debug, Clone)]
pub(crate) struct Sampler<S = ()> {
    kinds: Vec<Kind>,
    /// While exact: every step so far.
    exact: BTreeMap<u32, Row>,
    /// Once downsampled: log2 of the bucket width.
    shift: Option<u32>,
    /// Once downsampled: the step whose rows are being merged (rows of one
    /// step are adjacent in the files a run writes).
    pending: Option<(u32, Row)>,
    /// Once downsampled: the buckets, by `step >> shift`.
    buckets: BTreeMap<u32, Bucket>,
    /// Takes every whole step.
    sink: S,
}

/// A series as the charts read it: one point per step, or two per bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Sampled {
    /// Step of each point (a bucket's first and last step).
    pub step: Vec<u32>,
    /// Recorded time of each point's step, ns.
    pub ts_ns: Vec<i64>,
    /// One vector per column, a value per point.
    pub columns: Vec<Vec<f64>>,
    /// The flag of each point (a bucket's: any of its steps).
    pub flags: Vec<bool>,
    /// Steps per bucket: 1 when every step is kept.
    pub steps_per_point: u32,
    /// Steps read (distinct steps, before downsampling).
    pub steps: usize,
}

impl Sampler {
    /// A series with columns of `kinds`.
    pub(crate) fn new(kinds: Vec<Kind>) -> Self {
        Self::with_sink(kinds, ())
    }
}

impl<S: StepSink> Sampler<S> {
    /// A series with columns of `kinds` whose whole steps also go to `sink`.
    pub(crate) fn with_sink(kinds: Vec<Kind>, sink: S) -> Self {
        Self {
            kinds,
            exact: BTreeMap::new(),
            shift: None,
            pending: None,
            buckets: BTreeMap::new(),
            sink,
        }
    }

    /// Adds a column (say a market first seen late); earlier steps read NaN
    /// there. Returns its index.
    pub(crate) fn add_column(&mut self, kind: Kind) -> usize {
        self.kinds.push(kind);
        self.kinds.len() - 1
    }

    /// Columns so far.
    pub(crate) fn columns(&self) -> usize {
        self.kinds.len()
    }

    /// One row of step `step` (values in column order; a step may have several
    /// rows, merged by each column's [`Kind`]).
    pub(crate) fn push(&mut self, step: u32, ts_ns: i64, values: &[f64], flag: bool) {
        if self.shift.is_none() {
            match self.exact.get_mut(&step) {
                Some(row) => row.merge(ts_ns, values, flag, &self.kinds),
                None => {
                    self.exact
                        .insert(step, Row::new(ts_ns, values, flag, &self.kinds));
                    if self.exact.len() > EXACT_STEPS {
                        self.start_downsampling();
                    }
                }
            }
            return;
        }
        match &mut self.pending {
            Some((s, row)) if *s == step => row.merge(ts_ns, values, flag, &self.kinds),
            _ => {
                let row = Row::new(ts_ns, values, flag, &self.kinds);
                if let Some((s, done)) = self.pending.replace((step, row)) {
                    self.bucket(s, &done);
                }
            }
        }
    }

    /// Leaves exact mode: every step but the last (maybe still taking rows)
    /// into buckets of the smallest width that keeps them within [`MAX_BUCKETS`].
    fn start_downsampling(&mut self) {
        let mut exact = std::mem::take(&mut self.exact);
        self.pending = exact.pop_last();
        self.shift = Some(0);
        for (step, row) in exact {
            self.bucket(step, &row);
        }
    }

    /// Adds a whole step to its bucket, widening the buckets when too many.
    fn bucket(&mut self, step: u32, row: &Row) {
        self.sink.step(step, &row.values, row.flag);
        let shift = self.shift.unwrap_or(0);
        let b = Bucket::of(step, row);
        match self.buckets.entry(step >> shift) {
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(b);
            }
            std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().merge(b),
        }
        while self.buckets.len() > MAX_BUCKETS {
            let shift = self.shift.unwrap_or(0) + 1;
            self.shift = Some(shift);
            let old = std::mem::take(&mut self.buckets);
            for (key, b) in old {
                match self.buckets.entry(key >> 1) {
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(b);
                    }
                    std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().merge(b),
                }
            }
        }
    }

    /// The points, ascending by step.
    pub(crate) fn finish(self) -> Sampled {
        self.finish_with_sink().0
    }

    /// The points, ascending by step, and the sink that took every step.
    pub(crate) fn finish_with_sink(mut self) -> (Sampled, S) {
        let n = self.kinds.len();
        let mut out = Sampled {
            columns: vec![Vec::new(); n],
            steps_per_point: 1,
            ..Sampled::default()
        };
        let Some(shift) = self.shift else {
            out.steps = self.exact.len();
            for (step, row) in self.exact {
                self.sink.step(step, &row.values, row.flag);
                out.step.push(step);
                out.ts_ns.push(row.ts_ns);
                out.flags.push(row.flag);
                for (i, column) in out.columns.iter_mut().enumerate() {
                    column.push(row.values.get(i).copied().unwrap_or(f64::NAN));
                }
            }
            return (out, self.sink);
        };
        if let Some((step, row)) = self.pending.take() {
            self.bucket(step, &row);
        }
        let shift = self.shift.unwrap_or(shift);
        out.steps_per_point = 1u32.checked_shl(shift).unwrap_or(u32::MAX);
        for b in self.buckets.into_values() {
            out.steps += b.steps as usize;
            let two = b.steps > 1;
            out.step.push(b.first);
            out.ts_ns.push(b.first_ts);
            out.flags.push(b.flag);
            if two {
                out.step.push(b.last);
                out.ts_ns.push(b.last_ts);
                out.flags.push(b.flag);
            }
            for (i, column) in out.columns.iter_mut().enumerate() {
                let cell = b.cells.get(i).copied().unwrap_or(Cell::EMPTY);
                let kind = self.kinds.get(i).copied().unwrap_or(Kind::Level);
                let (first, second) = match kind {
                    Kind::Level if cell.lo_at <= cell.hi_at => (cell.lo, cell.hi),
                    Kind::Level => (cell.hi, cell.lo),
                    Kind::Flow | Kind::VenueFlow => (cell.sum, 0.0),
                };
                column.push(first);
                if two {
                    column.push(second);
                }
            }
        }
        (out, self.sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A level with a crash in the middle, a flow of 1 a step, a flag once.
    fn long(n: u32) -> Sampled {
        let mut s = Sampler::new(vec![Kind::Level, Kind::Flow]);
        for step in 0..n {
            let level = if step == n / 2 {
                -5.0
            } else {
                f64::from(step % 7)
            };
            s.push(step, i64::from(step) * 60, &[level, 0.5], false);
            s.push(step, i64::from(step) * 60, &[f64::NAN, 0.5], step == n / 3);
        }
        s.finish()
    }

    #[test]
    fn short_series_keep_every_step_and_merge_rows() {
        let out = long(1000);
        assert_eq!(out.steps_per_point, 1);
        assert_eq!(out.steps, 1000);
        assert_eq!(out.step, (0..1000).collect::<Vec<_>>());
        assert_eq!(out.columns[0][500], -5.0);
        assert_eq!(out.columns[0][8], 1.0);
        assert!(out.columns[1].iter().all(|v| *v == 1.0));
        assert_eq!(out.flags.iter().filter(|f| **f).count(), 1);
    }

    #[test]
    fn long_series_are_bounded_and_keep_extremes_and_totals() {
        let n = 1_000_000;
        let out = long(n);
        assert_eq!(out.steps, n as usize);
        assert!(out.steps_per_point > 1);
        assert!(out.step.len() <= EXACT_STEPS, "{}", out.step.len());
        assert!(out.step.len() >= EXACT_STEPS / 4, "{}", out.step.len());
        assert!(out.step.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(out.step.first(), Some(&0));
        assert_eq!(out.step.last(), Some(&(n - 1)));
        // The crash's low and the level's high survive.
        let lo = out.columns[0].iter().copied().fold(f64::INFINITY, f64::min);
        let hi = out.columns[0]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!((lo, hi), (-5.0, 6.0));
        // The flow's total is every step's.
        let total: f64 = out.columns[1].iter().sum();
        assert_eq!(total, f64::from(n));
        assert_eq!(out.flags.iter().filter(|f| **f).count(), 2);
        assert!(
            out.ts_ns
                .iter()
                .zip(&out.step)
                .all(|(t, s)| *t == i64::from(*s) * 60)
        );
    }
}
