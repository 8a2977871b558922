//! The paths of a run with exact bands, on every worker at once and folded in
//! path order as they finish: no barrier between chunks of paths.
//!
//! Each worker takes the next path not yet taken (an atomic counter, so paths
//! are taken in path order), runs it, packs its band values
//! ([`PackedValues::pack`]) and leaves them with its metrics; whichever worker
//! leaves the next path in path order folds every finished path it can, in
//! path order, under one lock (a push each: no work of the pool inside it).
//! The folded paths are therefore those of a fold in path order, the same for
//! any number of threads; what changes is only that no worker waits for the
//! others at the end of each chunk of [`CHUNK_PATHS`] paths
//! (docs/performance.md, "Two threads, round 7").
//!
//! Memory: a worker holds one path's unpacked values while it runs it;
//! finished paths wait packed (as the bands keep them anyway) with their
//! step times until the paths before them are folded.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::limits::CHUNK_PATHS;
use super::packed::PackedValues;
use super::record::{BandRows, BandSketches};
use crate::error::SimError;

/// One finished path waiting for its turn: its metrics, step times and
/// packed band values, or its error.
type Finished<M> = Result<(M, Vec<i64>, PackedValues), SimError>;

/// The fold of the finished paths (metrics `M`: [`PathMetrics`](super::metrics::PathMetrics) in a run),
/// in path order.
struct Fold<M> {
    paths: u64,
    /// The next path to fold.
    next: u64,
    /// Finished paths after `next`, by path.
    waiting: BTreeMap<u64, Finished<M>>,
    metrics: Vec<M>,
    sketches: BandSketches,
    /// The first error in path order; nothing is folded after it.
    error: Option<SimError>,
}

impl<M> Fold<M> {
    /// Folds every finished path from `next` on, in path order;
    /// `progress(done)` after every [`CHUNK_PATHS`] paths and the last, as
    /// the chunked fold calls it. At an error, sets `stop`.
    fn advance(&mut self, progress: &(dyn Fn(u64) + Sync), stop: &AtomicBool) {
        while self.error.is_none() {
            let Some(finished) = self.waiting.remove(&self.next) else {
                return;
            };
            match finished {
                Ok((metrics, ts_ns, packed)) => {
                    self.sketches.grow_to(&BandRows {
                        ts_ns,
                        values: Vec::new(),
                    });
                    let kept = self.sketches.push_packed(packed);
                    debug_assert!(
                        kept,
                        "Invariant: paths are folded one by one only when exact"
                    );
                    self.metrics.push(metrics);
                    self.next += 1;
                    if self.next.is_multiple_of(CHUNK_PATHS) || self.next == self.paths {
                        progress(self.next);
                    }
                }
                Err(e) => {
                    self.error = Some(e);
                    self.waiting.clear();
                    stop.store(true, Ordering::Relaxed);
                }
            }
        }
    }
}

/// Runs paths `0..paths` with `run` (a path's metrics, [`PathMetrics`](super::metrics::PathMetrics) in a
/// run, and band values) on the current rayon pool and folds them
/// into `sketches` (exact: [`BandSketches::is_exact`]) in path order;
/// `progress(done)` after every [`CHUNK_PATHS`] paths folded and the last.
///
/// # Errors
/// The first path (in path order) that fails; the paths after it that have
/// not started are not run.
pub(super) fn run_in_path_order<M: Send>(
    paths: u64,
    sketches: BandSketches,
    run: &(dyn Fn(u64) -> Result<(M, BandRows), SimError> + Sync),
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Vec<M>, BandSketches), SimError> {
    debug_assert!(
        sketches.is_exact(),
        "Invariant: sketched bands fold by chunks"
    );
    let taken = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let fold = Mutex::new(Fold {
        paths,
        next: 0,
        waiting: BTreeMap::new(),
        metrics: Vec::with_capacity(usize::try_from(paths).unwrap_or(0)),
        sketches,
        error: None,
    });
    let workers = u64::try_from(rayon::current_num_threads())
        .unwrap_or(1)
        .clamp(1, paths.max(1));
    rayon::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|_| {
                work(paths, (&taken, &stop), &fold, run, progress);
            });
        }
    });
    let fold = fold
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(e) = fold.error {
        return Err(e);
    }
    debug_assert_eq!(fold.next, paths, "Invariant: every path is folded");
    Ok((fold.metrics, fold.sketches))
}

/// One worker: takes the next path until none is left (or a path failed),
/// runs and packs it, leaves it to the fold and folds what it can.
fn work<M>(
    paths: u64,
    (taken, stop): (&AtomicU64, &AtomicBool),
    fold: &Mutex<Fold<M>>,
    run: &(dyn Fn(u64) -> Result<(M, BandRows), SimError> + Sync),
    progress: &(dyn Fn(u64) + Sync),
) {
    while !stop.load(Ordering::Relaxed) {
        let path = taken.fetch_add(1, Ordering::Relaxed);
        if path >= paths {
            return;
        }
        let finished = run(path)
            .map(|(metrics, rows)| (metrics, rows.ts_ns, PackedValues::pack(&rows.values)));
        // Poisoned only by a panic in another worker, which the scope resumes.
        let Ok(mut fold) = fold.lock() else {
            return;
        };
        if fold.error.is_none() {
            fold.waiting.insert(path, finished);
            fold.advance(progress, stop);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::InputError;

    /// Path `p`'s band values: 3 steps of 2 columns, some zeros, some `-0.0`.
    fn rows(p: u64) -> BandRows {
        let x = p as f64;
        BandRows {
            ts_ns: vec![10, 20, 30],
            values: vec![
                x,
                0.0,
                -x,
                (x * 7.0) % 5.0,
                0.5 * x,
                if p.is_multiple_of(3) { -0.0 } else { 1.0 },
            ],
        }
    }

    /// The chunked fold of `paths` paths ([`BandSketches::insert`]).
    fn chunked(paths: u64) -> BandSketches {
        let mut sketches = BandSketches::new(2, paths, 3);
        let all: Vec<BandRows> = (0..paths).map(rows).collect();
        for chunk in all.chunks(CHUNK_PATHS as usize) {
            for r in chunk {
                sketches.grow_to(r);
            }
            sketches.insert(chunk.to_vec());
        }
        sketches
    }

    fn table(sketches: &BandSketches) -> backstop_data::BandsTable {
        use backstop_data::BandSeries;
        let layout = [
            (BandSeries::InsuranceFund, None),
            (BandSeries::Mark, Some(0)),
        ];
        sketches.table(&layout, &["btc"])
    }

    /// On 1, 2 and 5 threads: the chunked fold's bands, the metrics in path
    /// order, progress after every chunk and the last path.
    #[test]
    fn paths_folded_as_they_finish_are_the_chunked_fold() {
        let paths = 200;
        let expected = table(&chunked(paths));
        for threads in [1, 2, 5] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let calls = Mutex::new(Vec::new());
            let progress = |done: u64| calls.lock().expect("calls").push(done);
            let (metrics, sketches) = pool
                .install(|| {
                    run_in_path_order(
                        paths,
                        BandSketches::new(2, paths, 3),
                        &|p| Ok((p, rows(p))),
                        &progress,
                    )
                })
                .expect("no path fails");
            assert_eq!(metrics, (0..paths).collect::<Vec<u64>>());
            assert_eq!(table(&sketches), expected, "{threads} threads");
            assert_eq!(*calls.lock().expect("calls"), vec![64, 128, 192, 200]);
        }
    }

    /// The error is the first failing path's in path order, whichever
    /// finishes first.
    #[test]
    fn the_first_failing_path_in_path_order_is_the_error() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("pool");
        let failed = pool.install(|| {
            run_in_path_order(
                300,
                BandSketches::new(2, 300, 3),
                &|p| {
                    if p == 70 || p == 71 || p == 150 {
                        if p == 70 {
                            std::thread::sleep(std::time::Duration::from_millis(20));
                        }
                        Err(InputError::TooManyPaths(p as u32).into())
                    } else {
                        Ok((p, rows(p)))
                    }
                },
                &|_| {},
            )
        });
        match failed {
            Err(SimError::Input(InputError::TooManyPaths(70))) => {}
            other => panic!("expected path 70's error, got {:?}", other.map(|r| r.0)),
        }
    }
}
