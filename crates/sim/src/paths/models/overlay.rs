//! Crash overlay: a historical window's log-returns replayed from today's price
//! ("March 2020 from today's level"), optionally scaled.
//!
//! The window `[start, end)` (UTC) of a prices file (the `mark` column) is put on
//! the scenario's step: boundary `k` is `start + k·step`, `k = 0 … steps − 1`,
//! `steps = (end − start) / step`, and its price `h(k)` is the last mark at or
//! before it ([`backstop_data::resample_last`]; a file finer than the step is
//! resampled, one whose spacing does not divide the step is an error). The path is
//!
//! `S(k) = S(0) · exp(scale · ln(h(k)/h(0)))`
//!
//! so `scale = 1` reproduces the window's price ratios from any start price and
//! `scale = 1.5` multiplies every log-return by 1.5. The overlay is deterministic:
//! it draws nothing from the path's random stream. One file may serve every market
//! or each market has its own (in market order).
//!
//! ```toml
//! [path]
//! kind = "overlay"
//! files = ["history/BTCUSDT-prices.parquet"]
//! start = "2020-03-12T10:30:00Z"
//! end = "2020-03-12T14:30:00Z"
//! scale = 1.0                                  # default 1
//! ```

use std::path::Path;

use backstop_data::history::{ReplayEvent, read_prices};
use backstop_data::resample_last;
use rand_chacha::ChaCha8Rng;

use super::series::{check_resamplable, native_step_ns};
use super::{PathModel, Scratch, debug_check_price, invalid};
use crate::config::path::OverlayConfig;
use crate::paths::error::{PathError, PathModelError};
use crate::time::NS_PER_SECOND as NS;

impl OverlayConfig {
    /// Validates, reads the window from the files (relative to `base_dir`) and
    /// builds the model; its `steps()` is the window's length in steps.
    ///
    /// # Errors
    /// [`PathError::Data`] for an unreadable file; [`PathError::Model`] for bad
    /// parameters, a window that is not a whole number of steps, no data in the
    /// window, no price at or before its start, data ending more than a step before
    /// its last step, or a file spacing that does not divide the step.
    pub fn build(
        &self,
        base_dir: &Path,
        markets: usize,
        step_seconds: u32,
    ) -> Result<Box<dyn PathModel>, PathError> {
        self.validate(markets).map_err(invalid)?;
        let (start, end) = self.window().map_err(invalid)?;
        let step_ns = i64::from(step_seconds) * NS;
        if step_ns <= 0 || (end - start) % step_ns != 0 {
            return Err(PathModelError::WindowNotWhole {
                start: self.start.clone(),
                end: self.end.clone(),
                step_seconds,
            }
            .into());
        }
        let steps =
            usize::try_from((end - start) / step_ns).map_err(|_| PathModelError::WindowTooLong)?;
        let mut log_moves = Vec::with_capacity(self.files.len());
        for file in &self.files {
            let history = window_prices(&base_dir.join(file), start, end, step_ns, steps)?;
            let h0 = history[0];
            log_moves.push(history.iter().map(|h| self.scale * (h / h0).ln()).collect());
        }
        Ok(Box::new(Overlay {
            markets,
            steps,
            log_moves,
        }))
    }
}

/// The window's prices at the step boundaries, from prices file `file`.
fn window_prices(
    file: &Path,
    start: i64,
    end: i64,
    step_ns: i64,
    steps: usize,
) -> Result<Vec<f64>, PathError> {
    let rows = read_prices(file)?.rows;
    let inside: Vec<_> = rows
        .iter()
        .filter(|r| (start..end).contains(&r.ts_ns))
        .copied()
        .collect();
    if inside.is_empty() {
        return Err(PathModelError::EmptyWindow {
            file: file.to_path_buf(),
            start,
            end,
        }
        .into());
    }
    if let Some(native) = native_step_ns(&rows) {
        check_resamplable(file, native, step_ns)?;
    }
    let last_boundary = end - step_ns;
    let last = rows.last().map_or(i64::MIN, |r| r.ts_ns);
    if last <= last_boundary - step_ns {
        return Err(PathModelError::DataEndsEarly {
            file: file.to_path_buf(),
            last,
            last_boundary,
        }
        .into());
    }
    let events = rows.iter().map(|r| {
        Ok(ReplayEvent::Price {
            ts_ns: r.ts_ns,
            mark: r.mark,
            index: r.index,
        })
    });
    resample_last(events, start, step_ns, steps).map_err(|error| {
        PathModelError::WindowStart {
            file: file.to_path_buf(),
            error: Box::new(error),
        }
        .into()
    })
}

/// The built overlay: `scale · ln(h(k)/h(0))` per file.
#[derive(Clone, Debug)]
struct Overlay {
    markets: usize,
    steps: usize,
    log_moves: Vec<Vec<f64>>,
}

impl PathModel for Overlay {
    fn markets(&self) -> usize {
        self.markets
    }

    fn steps(&self) -> usize {
        self.steps
    }

    fn is_random(&self) -> bool {
        false
    }

    fn fill(
        &self,
        start: &[f64],
        _rng: &mut ChaCha8Rng,
        _scratch: &mut Scratch,
        out: &mut [Vec<f64>],
    ) {
        for (m, (series, &s0)) in out.iter_mut().zip(start).enumerate() {
            let moves = &self.log_moves[if self.log_moves.len() == 1 { 0 } else { m }];
            series.clear();
            series.extend(moves.iter().map(|x| {
                let p = s0 * x.exp();
                debug_check_price(p);
                p
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::models::test_util::{march_2020_file, write_prices_file};
    use crate::rng::{Purpose, stream};
    use crate::time::parse_utc;

    fn cfg(file: &Path, start: &str, end: &str, scale: f64) -> OverlayConfig {
        OverlayConfig {
            files: vec![file.file_name().unwrap().into()],
            start: start.into(),
            end: end.into(),
            scale,
        }
    }

    fn run(
        c: &OverlayConfig,
        dir: &Path,
        markets: usize,
        step: u32,
        start: &[f64],
    ) -> Vec<Vec<f64>> {
        let model = c.build(dir, markets, step).unwrap();
        let mut out = model.new_output();
        model.fill(
            start,
            &mut stream(0, Purpose::Path, 0),
            &mut Scratch::new(),
            &mut out,
        );
        out
    }

    /// BTCUSDT 2020-03-12 10:30–14:30, 1-minute data: scale 1 gives the window's
    /// price ratios from 100 000 (to 1e-12); scale 1.5 multiplies each log-return by
    /// 1.5; a 5-minute step takes every fifth price.
    #[test]
    fn replays_the_window_shape_and_scales_log_returns() {
        let dir = tempfile::tempdir().unwrap();
        let (file, rows) = march_2020_file(dir.path());
        let t0 = parse_utc("2020-03-12T10:30:00Z").unwrap();
        let hist: Vec<f64> = rows
            .iter()
            .filter(|r| (t0..t0 + 240 * 60 * NS).contains(&r.0))
            .map(|r| r.1)
            .collect();
        assert_eq!(hist.len(), 240);
        let c = cfg(&file, "2020-03-12T10:30:00Z", "2020-03-12T14:30:00Z", 1.0);
        let out = run(&c, dir.path(), 2, 60, &[100_000.0, 3_000.0]);
        for series in &out {
            assert_eq!(series.len(), 240);
            for (k, p) in series.iter().enumerate() {
                let want = hist[k] / hist[0];
                assert!((p / series[0] - want).abs() < 1e-12 * want, "step {k}");
            }
        }
        assert_eq!(out[0][0], 100_000.0);
        let scaled = run(
            &cfg(&file, &c.start, &c.end, 1.5),
            dir.path(),
            1,
            60,
            &[100_000.0],
        );
        for k in 1..240 {
            let got = (scaled[0][k] / scaled[0][k - 1]).ln();
            let want = 1.5 * (hist[k] / hist[k - 1]).ln();
            assert!((got - want).abs() < 1e-12, "step {k}: {got} vs {want}");
        }
        let five = run(&c, dir.path(), 1, 300, &[1.0]);
        assert_eq!(five[0].len(), 48);
        for (k, p) in five[0].iter().enumerate() {
            assert!((p - hist[5 * k] / hist[0]).abs() < 1e-12, "step {k}");
        }
    }

    #[test]
    fn unusable_windows_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (file, _) = march_2020_file(dir.path());
        let err = |c: &OverlayConfig, step| c.build(dir.path(), 1, step).err().unwrap().to_string();
        let e = err(
            &cfg(&file, "2021-01-01T00:00:00Z", "2021-01-01T01:00:00Z", 1.0),
            60,
        );
        assert!(e.contains("no price in the window"), "{e}");
        let e = err(
            &cfg(&file, "2020-03-12T10:30:00Z", "2020-03-12T11:00:00Z", 1.0),
            90,
        );
        assert!(e.contains("cannot be resampled"), "{e}");
        let e = err(
            &cfg(&file, "2020-03-12T10:30:00Z", "2020-03-12T10:31:30Z", 1.0),
            60,
        );
        assert!(e.contains("whole number"), "{e}");
        let e = err(
            &cfg(&file, "2020-03-12T14:30:00Z", "2020-03-12T16:30:00Z", 1.0),
            60,
        );
        assert!(e.contains("data ends"), "{e}");
        let e = err(
            &cfg(&file, "2020-03-12T10:00:00Z", "2020-03-12T11:00:00Z", 1.0),
            60,
        );
        assert!(
            e.contains("window start") && e.contains("after the start"),
            "{e}"
        );
        let c = cfg(&file, "2020-03-12T11:00:00Z", "2020-03-12T10:00:00Z", 1.0);
        assert_eq!(c.validate(1).unwrap_err().key, "path.end");
        let c = cfg(&file, "2020-02-30T11:00:00Z", "2020-03-12T12:00:00Z", 1.0);
        assert_eq!(c.validate(1).unwrap_err().key, "path.start");
        let c = cfg(&file, "2020-03-12T11:00:00Z", "2020-03-12T12:00:00Z", 0.0);
        assert_eq!(c.validate(1).unwrap_err().key, "path.scale");
        write_prices_file(dir.path(), "other.parquet", &[(0, 1.0)]);
        let mut c = cfg(&file, "2020-03-12T11:00:00Z", "2020-03-12T12:00:00Z", 1.0);
        c.files.push("other.parquet".into());
        assert_eq!(c.validate(3).unwrap_err().key, "path.files");
    }
}
