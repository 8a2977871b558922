//! Stationary block bootstrap (Politis & Romano, 1994) of historical log-returns.
//!
//! The returns are read from prices files (the `mark` column, one file per
//! market, through `backstop_data`), put on the scenario's step (a file may be
//! finer: the price at each step boundary is the last one at or before it; a step
//! that is not a whole multiple of the file's spacing is an error), and kept on the
//! timestamps common to every file. A path resamples them in blocks: the first
//! return is drawn uniformly; after each step, with probability `1/mean_block_steps`
//! a new block starts at a uniformly drawn return, otherwise the next return
//! follows (wrapping from the last to the first). Block lengths are therefore
//! geometric with mean `mean_block_steps`, and the resampled series is
//! stationary. Every market uses the **same** indices, so the markets'
//! cross-correlation (and their joint crashes) are kept. A block may run across a
//! gap in the data; the returns on either side are each genuine one-step returns.
//!
//! ```toml
//! [path]
//! kind = "bootstrap"
//! steps = 1440
//! files = ["history/BTCUSDT-prices.parquet"]   # one per market, relative to the scenario
//! mean_block_steps = 60.0                      # default 60
//! ```

use std::path::{Path, PathBuf};

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::series::load_joint_returns;
use super::{PathModel, Scratch, debug_check_price, invalid, start_output};
use crate::config::path::BootstrapConfig;
use crate::paths::error::{PathError, PathModelError};

impl BootstrapConfig {
    /// Validates, reads the files (relative to `base_dir`) and builds the model.
    ///
    /// # Errors
    /// [`PathError::Data`] for an unreadable file; [`PathError::Model`] for bad
    /// parameters, a file with fewer than 2 prices or whose spacing does not divide
    /// the step, or fewer common returns than `mean_block_steps`.
    pub fn build(
        &self,
        base_dir: &Path,
        markets: usize,
        step_seconds: u32,
    ) -> Result<Box<dyn PathModel>, PathError> {
        self.validate(markets).map_err(invalid)?;
        let files: Vec<PathBuf> = self.files.iter().map(|f| base_dir.join(f)).collect();
        let joint = load_joint_returns(&files, step_seconds)?;
        let n = joint.returns.first().map_or(0, Vec::len);
        if n == 0 || (n as f64) < self.mean_block_steps {
            return Err(PathModelError::TooFewReturns {
                returns: n,
                step_seconds,
                mean_block_steps: self.mean_block_steps,
            }
            .into());
        }
        Ok(Box::new(Bootstrap {
            steps: self.steps as usize,
            returns: joint.returns,
            restart: 1.0 / self.mean_block_steps,
        }))
    }
}

/// The built bootstrap: the historical returns, market-major.
#[derive(Clone, Debug)]
struct Bootstrap {
    steps: usize,
    returns: Vec<Vec<f64>>,
    /// Probability of starting a new block at each step.
    restart: f64,
}

impl PathModel for Bootstrap {
    fn markets(&self) -> usize {
        self.returns.len()
    }

    fn steps(&self) -> usize {
        self.steps
    }

    fn fill(
        &self,
        start: &[f64],
        rng: &mut ChaCha8Rng,
        _scratch: &mut Scratch,
        out: &mut [Vec<f64>],
    ) {
        start_output(start, self.steps, out);
        let n = self.returns[0].len();
        let mut i = rng.random_range(0..n);
        for t in 1..self.steps {
            if t > 1 {
                let u: f64 = rng.random();
                i = if u < self.restart {
                    rng.random_range(0..n)
                } else if i + 1 == n {
                    0
                } else {
                    i + 1
                };
            }
            for (series, r) in out.iter_mut().zip(&self.returns) {
                let p = series[t - 1] * r[i].exp();
                debug_check_price(p);
                series[t] = p;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::models::test_util::{log_returns, march_2020_file, write_prices_file};
    use crate::rng::{Purpose, stream};
    use rand_distr::StandardNormal;

    /// Index of the input return nearest `x` (inputs sorted by value).
    fn nearest(sorted: &[(f64, usize)], x: f64) -> (f64, usize) {
        let k = sorted.partition_point(|(v, _)| *v < x);
        let mut best = (f64::INFINITY, usize::MAX);
        for &(v, i) in &sorted[k.saturating_sub(1)..(k + 1).min(sorted.len())] {
            let d = (v - x).abs();
            if d < best.0 {
                best = (d, i);
            }
        }
        best
    }

    /// Real data (BTCUSDT 1 m, 2020-03-12) for two markets (the file and a copy
    /// scaled ×0.03, an "ETH"): every output return pair is an input pair at the
    /// same index (to 1e-9, the price product's rounding), so both markets share
    /// the block indices.
    #[test]
    fn output_returns_are_input_returns_jointly() {
        let dir = tempfile::tempdir().unwrap();
        let (btc, rows) = march_2020_file(dir.path());
        // A second market: different prices, a gap of 10 minutes.
        let mut rng = stream(1, Purpose::Path, 99);
        let eth_rows: Vec<(i64, f64)> = rows
            .iter()
            .enumerate()
            .filter(|(i, _)| !(100..110).contains(i))
            .map(|(_, &(ts, p))| {
                let z: f64 = rng.sample(StandardNormal);
                (ts, p * 0.03 * (1.0 + 0.001 * z))
            })
            .collect();
        let eth = write_prices_file(dir.path(), "eth.parquet", &eth_rows);
        let cfg = BootstrapConfig {
            steps: 2000,
            files: vec![
                btc.file_name().unwrap().into(),
                eth.file_name().unwrap().into(),
            ],
            mean_block_steps: 20.0,
        };
        let joint = load_joint_returns(&[btc.clone(), eth.clone()], 60).unwrap();
        assert_eq!(joint.returns[0].len(), rows.len() - 1 - 11);
        let mut sorted: Vec<(f64, usize)> = joint.returns[0]
            .iter()
            .copied()
            .enumerate()
            .map(|(i, v)| (v, i))
            .collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let model = cfg.build(dir.path(), 2, 60).unwrap();
        let mut out = model.new_output();
        model.fill(
            &[100.0, 5.0],
            &mut stream(2, Purpose::Path, 0),
            &mut Scratch::new(),
            &mut out,
        );
        let (r0, r1) = (log_returns(&out[0]), log_returns(&out[1]));
        for (a, b) in r0.iter().zip(&r1) {
            // BTC's returns repeat (2-decimal prices); find any index matching both.
            let (d, _) = nearest(&sorted, *a);
            assert!(d < 1e-9, "return {a} is not an input return");
            let ok = joint.returns[0]
                .iter()
                .zip(&joint.returns[1])
                .any(|(x, y)| (x - a).abs() < 1e-9 && (y - b).abs() < 1e-9);
            assert!(ok, "pair ({a}, {b}) is not an input pair");
        }
    }

    /// Distinct synthetic returns identify the index of every output return; a
    /// block ends where the index does not advance by one. Block starts after
    /// step 1 ~ Binomial(steps − 2, 1/L): the mean block length is within 5 SE.
    #[test]
    fn mean_block_length_is_as_configured() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = stream(3, Purpose::Path, 0);
        let mut rows = vec![(0_i64, 100.0)];
        for t in 1..500 {
            let z: f64 = rng.sample(StandardNormal);
            rows.push((
                t * 60_000_000_000,
                rows.last().unwrap().1 * (0.002 * z).exp(),
            ));
        }
        write_prices_file(dir.path(), "x.parquet", &rows);
        let input = log_returns(&rows.iter().map(|r| r.1).collect::<Vec<_>>());
        let mut sorted: Vec<(f64, usize)> = input
            .iter()
            .copied()
            .enumerate()
            .map(|(i, v)| (v, i))
            .collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let l = 25.0;
        let cfg = BootstrapConfig {
            steps: 40_000,
            files: vec!["x.parquet".into()],
            mean_block_steps: l,
        };
        let model = cfg.build(dir.path(), 1, 60).unwrap();
        let mut out = model.new_output();
        model.fill(
            &[1.0],
            &mut stream(4, Purpose::Path, 0),
            &mut Scratch::new(),
            &mut out,
        );
        let idx: Vec<usize> = log_returns(&out[0])
            .iter()
            .map(|&r| {
                let (d, i) = nearest(&sorted, r);
                assert!(d < 1e-9);
                i
            })
            .collect();
        let n = input.len();
        let breaks = idx.windows(2).filter(|w| w[1] != (w[0] + 1) % n).count() as f64;
        let trials = (idx.len() - 1) as f64;
        let p = 1.0 / l;
        // A new block starting exactly at i + 1 (prob. p/n) is not seen: expected p(1 − 1/n).
        let q = p * (1.0 - 1.0 / n as f64);
        let se = (trials * q * (1.0 - q)).sqrt();
        assert!(
            (breaks - trials * q).abs() < 5.0 * se,
            "{breaks} breaks vs {}",
            trials * q
        );
        let mean_len = trials / breaks;
        assert!((mean_len - l).abs() < 0.2 * l, "{mean_len}");
    }

    #[test]
    fn too_short_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        write_prices_file(dir.path(), "one.parquet", &[(0, 1.0)]);
        let rows: Vec<(i64, f64)> = (0..11)
            .map(|t| (t * 60_000_000_000, 1.0 + t as f64))
            .collect();
        write_prices_file(dir.path(), "ten.parquet", &rows);
        let cfg = |f: &str, l| BootstrapConfig {
            steps: 10,
            files: vec![f.into()],
            mean_block_steps: l,
        };
        let e = cfg("one.parquet", 1.0)
            .build(dir.path(), 1, 60)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 2"), "{e}");
        let e = cfg("ten.parquet", 11.0)
            .build(dir.path(), 1, 60)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("10 one-step log-returns") && e.contains("mean_block_steps"),
            "{e}"
        );
        assert!(cfg("ten.parquet", 10.0).build(dir.path(), 1, 60).is_ok());
        // 60 s data cannot be put on a 90 s step; 120 s is fine (5 returns).
        let e = cfg("ten.parquet", 2.0)
            .build(dir.path(), 1, 90)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot be resampled"), "{e}");
        assert!(cfg("ten.parquet", 5.0).build(dir.path(), 1, 120).is_ok());
        assert!(cfg("ten.parquet", 5.1).build(dir.path(), 1, 120).is_err());
        assert_eq!(
            cfg("ten.parquet", 0.5).validate(1).unwrap_err().key,
            "path.mean_block_steps"
        );
    }
}
