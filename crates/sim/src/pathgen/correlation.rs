//! Correlated markets: the Cholesky factor of a correlation matrix, given in the
//! scenario or estimated from price history, and the innovations the diffusion
//! models draw through it.
//!
//! A model with a correlation draws, at every step, one **independent** innovation
//! per market (in market order) and multiplies the vector by the lower-triangular
//! factor `L` (`L·Lᵀ = C`), so that normal innovations get exactly the correlation
//! `C`. For Student-t innovations the correlated vector is a linear combination of
//! independent standardized t draws: unit variance and correlation `C` exactly,
//! but its margins are only approximately t (a t-copula approximation, not a
//! multivariate t).
//!
//! TOML (market order = sorted market keys):
//!
//! ```toml
//! correlation = { matrix = [[1.0, 0.8], [0.8, 1.0]] }
//! # or, Pearson on the common-timestamp log-returns of prices files:
//! correlation = { files = ["history/BTCUSDT.parquet", "history/ETHUSDT.parquet"] }
//! ```

use std::path::{Path, PathBuf};

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{StandardNormal, StudentT};
use serde::{Deserialize, Serialize};

use super::{Check, fail, series};
use crate::SimError;

/// Where a multi-market model's correlation comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CorrelationSpec {
    /// `matrix = [[…], …]`: the correlation matrix, one row per market, symmetric,
    /// unit diagonal, entries in [-1, 1], positive definite.
    Matrix(Vec<Vec<f64>>),
    /// `files = […]`: one prices file per market (relative to the scenario's
    /// folder); Pearson correlation of their log-returns at the scenario step on
    /// common timestamps.
    Files(Vec<PathBuf>),
}

impl CorrelationSpec {
    /// Checks the spec for `markets` markets without reading files.
    ///
    /// # Errors
    /// `path.correlation.matrix` / `path.correlation.files` and why.
    pub fn validate(&self, markets: usize) -> Check {
        match self {
            CorrelationSpec::Matrix(m) => Cholesky::new(m, markets)
                .map(|_| ())
                .or_else(|e| fail("correlation.matrix", e)),
            CorrelationSpec::Files(files) => {
                if files.len() == markets {
                    Ok(())
                } else {
                    fail(
                        "correlation.files",
                        format!(
                            "needs one prices file per market ({markets}), got {}",
                            files.len()
                        ),
                    )
                }
            }
        }
    }

    /// The Cholesky factor: of the given matrix, or of the one estimated from the
    /// files (read relative to `base_dir`, returns at `step_seconds`).
    ///
    /// # Errors
    /// [`SimError::PathModel`] naming the matrix if it is unusable;
    /// [`SimError::Data`] for unreadable files.
    pub fn resolve(
        &self,
        base_dir: &Path,
        markets: usize,
        step_seconds: u32,
    ) -> Result<Cholesky, SimError> {
        self.validate(markets).map_err(super::to_sim)?;
        match self {
            CorrelationSpec::Matrix(m) => Cholesky::new(m, markets)
                .map_err(|e| SimError::PathModel(format!("`path.correlation.matrix`: {e}"))),
            CorrelationSpec::Files(files) => {
                let paths: Vec<PathBuf> = files.iter().map(|f| base_dir.join(f)).collect();
                let joint = series::load_joint_returns(&paths, step_seconds)?;
                if joint.returns.first().map_or(0, Vec::len) < 2 {
                    return Err(SimError::PathModel(format!(
                        "`path.correlation.files`: fewer than 2 common log-returns at a {step_seconds} s step"
                    )));
                }
                let c = pearson_matrix(&joint.returns);
                Cholesky::new(&c, markets).map_err(|e| {
                    SimError::PathModel(format!(
                        "the correlation estimated from `path.correlation.files`: {e}"
                    ))
                })
            }
        }
    }
}

/// Pearson correlation matrix of per-market series of equal length.
#[must_use]
pub fn pearson_matrix(returns: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = returns.len();
    let centred: Vec<Vec<f64>> = returns
        .iter()
        .map(|r| {
            let mean = r.iter().sum::<f64>() / r.len() as f64;
            r.iter().map(|x| x - mean).collect()
        })
        .collect();
    let mut c = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
            let v = if i == j {
                1.0
            } else {
                let d = (dot(&centred[i], &centred[i]) * dot(&centred[j], &centred[j])).sqrt();
                if d > 0.0 {
                    (dot(&centred[i], &centred[j]) / d).clamp(-1.0, 1.0)
                } else {
                    0.0
                }
            };
            c[i][j] = v;
            c[j][i] = v;
        }
    }
    c
}

/// The lower-triangular Cholesky factor `L` of a correlation matrix (`L·Lᵀ = C`).
#[derive(Clone, Debug, PartialEq)]
pub struct Cholesky {
    n: usize,
    /// Row-major `n × n`, zero above the diagonal.
    l: Vec<f64>,
}

impl Cholesky {
    /// Factors `matrix`, checking that it is a `markets × markets` correlation
    /// matrix: square, symmetric (to 1e-12), unit diagonal, entries in [-1, 1],
    /// positive definite (every pivot > 1e-12).
    ///
    /// # Errors
    /// What is wrong, as a phrase to follow the matrix's name (`"is not symmetric: …"`).
    pub fn new(matrix: &[Vec<f64>], markets: usize) -> Result<Cholesky, String> {
        let n = matrix.len();
        if n != markets {
            return Err(format!("has {n} rows, expected one per market ({markets})"));
        }
        for (i, row) in matrix.iter().enumerate() {
            if row.len() != n {
                return Err(format!(
                    "is not square: row {i} has {} entries, expected {n}",
                    row.len()
                ));
            }
            for (j, &v) in row.iter().enumerate() {
                if !v.is_finite() || !(-1.0..=1.0).contains(&v) {
                    return Err(format!("has entry [{i}][{j}] = {v} outside [-1, 1]"));
                }
            }
            if row[i] != 1.0 {
                return Err(format!(
                    "has diagonal entry [{i}][{i}] = {}, expected 1",
                    row[i]
                ));
            }
        }
        for (i, row) in matrix.iter().enumerate() {
            for (j, &v) in row.iter().enumerate().take(i) {
                if (v - matrix[j][i]).abs() > 1e-12 {
                    return Err(format!(
                        "is not symmetric: [{i}][{j}] = {v} but [{j}][{i}] = {}",
                        matrix[j][i]
                    ));
                }
            }
        }
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let mut s = matrix[i][j];
                for k in 0..j {
                    s -= l[i * n + k] * l[j * n + k];
                }
                if i == j {
                    if s <= 1e-12 {
                        return Err(format!(
                            "is not positive definite (pivot {i} is {s:.3e}): some markets are \
                             perfectly or inconsistently correlated"
                        ));
                    }
                    l[i * n + i] = s.sqrt();
                } else {
                    l[i * n + j] = s / l[j * n + j];
                }
            }
        }
        Ok(Cholesky { n, l })
    }

    /// Number of markets.
    #[must_use]
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the factor is empty (no market).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Entry `(i, j)` of `L`.
    #[must_use]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.l[i * self.n + j]
    }

    /// `z ← L·z`, in place: row `i` only reads `z[..=i]`, so rows go last to first.
    pub fn correlate(&self, z: &mut [f64]) {
        debug_assert_eq!(z.len(), self.n);
        for i in (0..self.n).rev() {
            let row = &self.l[i * self.n..i * self.n + i + 1];
            z[i] = row.iter().zip(&z[..=i]).map(|(a, b)| a * b).sum();
        }
    }
}

/// Unit-variance innovations: standard normal or standardized Student-t.
#[derive(Clone, Debug)]
pub(crate) enum Innovation {
    /// N(0, 1).
    Normal,
    /// `t(ν) · √((ν−2)/ν)`: Student-t scaled to unit variance.
    StudentT {
        /// The t distribution.
        dist: StudentT<f64>,
        /// `√((ν−2)/ν)`.
        scale: f64,
    },
}

impl Innovation {
    /// Standardized t with `dof > 2` (checked by the caller's validation).
    pub(crate) fn student_t(dof: f64) -> Result<Innovation, SimError> {
        let dist = StudentT::new(dof)
            .map_err(|e| SimError::PathModel(format!("Student-t with dof {dof}: {e}")))?;
        Ok(Innovation::StudentT {
            dist,
            scale: ((dof - 2.0) / dof).sqrt(),
        })
    }

    /// One draw.
    #[inline]
    pub(crate) fn draw(&self, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            Innovation::Normal => rng.sample(StandardNormal),
            Innovation::StudentT { dist, scale } => rng.sample(dist) * scale,
        }
    }

    /// Fills `z` with independent draws (market order), then correlates them.
    #[inline]
    pub(crate) fn draw_vector(&self, chol: Option<&Cholesky>, rng: &mut ChaCha8Rng, z: &mut [f64]) {
        for x in z.iter_mut() {
            *x = self.draw(rng);
        }
        if let Some(c) = chol {
            c.correlate(z);
        }
    }
}

/// The factor a config's optional correlation resolves to, or `None`.
pub(crate) fn resolve_optional(
    spec: Option<&CorrelationSpec>,
    base_dir: &Path,
    markets: usize,
    step_seconds: u32,
) -> Result<Option<Cholesky>, SimError> {
    spec.map(|s| s.resolve(base_dir, markets, step_seconds))
        .transpose()
}

/// Validation of a config's optional correlation.
pub(crate) fn validate_optional(spec: Option<&CorrelationSpec>, markets: usize) -> Check {
    spec.map_or(Ok(()), |s| s.validate(markets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pathgen::test_util::{corr, log_returns, write_prices_file};
    use crate::pathgen::{GbmConfig, Scratch};
    use crate::rng::{Purpose, stream};

    #[test]
    fn factor_reproduces_the_matrix() {
        let c = vec![
            vec![1.0, 0.5, -0.3],
            vec![0.5, 1.0, 0.2],
            vec![-0.3, 0.2, 1.0],
        ];
        let l = Cholesky::new(&c, 3).unwrap();
        for (i, row) in c.iter().enumerate() {
            for (j, want) in row.iter().enumerate() {
                let v: f64 = (0..3).map(|k| l.get(i, k) * l.get(j, k)).sum();
                assert!((v - want).abs() < 1e-14, "({i},{j}) {v}");
            }
        }
    }

    #[test]
    fn bad_matrices_are_named_errors() {
        let spec = |m: Vec<Vec<f64>>| CorrelationSpec::Matrix(m).validate(2).unwrap_err();
        let e = spec(vec![vec![1.0, 0.5], vec![0.4, 1.0]]);
        assert_eq!(e.key, "path.correlation.matrix");
        assert!(e.message.contains("not symmetric"), "{}", e.message);
        assert!(
            spec(vec![vec![0.9, 0.0], vec![0.0, 1.0]])
                .message
                .contains("diagonal")
        );
        assert!(
            spec(vec![vec![1.0, 1.5], vec![1.5, 1.0]])
                .message
                .contains("outside")
        );
        assert!(spec(vec![vec![1.0]]).message.contains("one per market"));
        // Unit diagonal, symmetric, entries in range, but not PD.
        let e = CorrelationSpec::Matrix(vec![
            vec![1.0, 0.9, -0.9],
            vec![0.9, 1.0, 0.9],
            vec![-0.9, 0.9, 1.0],
        ])
        .validate(3)
        .unwrap_err();
        assert!(e.message.contains("not positive definite"), "{}", e.message);
        let e = CorrelationSpec::Matrix(vec![vec![1.0, 1.0], vec![1.0, 1.0]])
            .resolve(Path::new("."), 2, 60)
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("`path.correlation.matrix`: is not positive definite"),
            "{e}"
        );
    }

    /// Three correlated GBMs: the sample correlation of their returns is within
    /// 5 standard errors of the target, SE of a sample correlation ≈ (1 − ρ²)/√n.
    #[test]
    fn generated_returns_have_the_target_correlation() {
        let c = vec![
            vec![1.0, 0.7, -0.4],
            vec![0.7, 1.0, 0.1],
            vec![-0.4, 0.1, 1.0],
        ];
        let cfg = GbmConfig {
            steps: 20_001,
            drift: 0.0,
            volatility: 0.8,
            correlation: Some(CorrelationSpec::Matrix(c.clone())),
        };
        let model = cfg.build(Path::new("."), 3, 60).unwrap();
        let mut out = model.new_output();
        model.fill(
            &[100.0, 50.0, 10.0],
            &mut stream(11, Purpose::Path, 0),
            &mut Scratch::new(),
            &mut out,
        );
        let r: Vec<Vec<f64>> = out.iter().map(|p| log_returns(p)).collect();
        let n = r[0].len() as f64;
        for i in 0..3 {
            for j in 0..i {
                let rho = c[i][j];
                let se = (1.0 - rho * rho) / n.sqrt();
                let got = corr(&r[i], &r[j]);
                assert!((got - rho).abs() < 5.0 * se, "({i},{j}) {got} vs {rho}");
            }
        }
    }

    /// Estimated from files: two series built from shared and own normal shocks
    /// with known correlation 0.6; Pearson on the common timestamps (one file has
    /// a gap) is within 5 SE.
    #[test]
    fn correlation_estimated_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = stream(5, Purpose::Path, 0);
        let n = 4000;
        let (mut a, mut b) = (vec![(0, 100.0)], vec![(0, 200.0)]);
        let rho: f64 = 0.6;
        for t in 1..=n {
            let z1: f64 = rng.sample(StandardNormal);
            let z2: f64 = rng.sample(StandardNormal);
            let ts = t * 60_000_000_000_i64;
            let pa = a.last().unwrap().1 * (0.001 * z1).exp();
            let pb =
                b.last().unwrap().1 * (0.001 * (rho * z1 + (1.0 - rho * rho).sqrt() * z2)).exp();
            a.push((ts, pa));
            b.push((ts, pb));
        }
        b.retain(|&(ts, _)| !(1000 * 60_000_000_000..1100 * 60_000_000_000).contains(&ts));
        let fa = write_prices_file(dir.path(), "a.parquet", &a);
        let fb = write_prices_file(dir.path(), "b.parquet", &b);
        let spec = CorrelationSpec::Files(vec!["a.parquet".into(), "b.parquet".into()]);
        let l = spec.resolve(dir.path(), 2, 60).unwrap();
        let se = (1.0 - rho * rho) / (n as f64).sqrt();
        assert!((l.get(1, 0) - rho).abs() < 5.0 * se, "{}", l.get(1, 0));
        assert!(fa.exists() && fb.exists());
    }
}
