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

use super::{invalid, series};
use crate::cholesky::Cholesky;
use crate::config::path::CorrelationSpec;
use crate::paths::error::{PathError, PathModelError};

impl CorrelationSpec {
    /// The Cholesky factor: of the given matrix, or of the one estimated from the
    /// files (read relative to `base_dir`, returns at `step_seconds`).
    ///
    /// # Errors
    /// [`PathError::Model`] naming the matrix if it is unusable;
    /// [`PathError::Data`] for unreadable files.
    pub fn resolve(
        &self,
        base_dir: &Path,
        markets: usize,
        step_seconds: u32,
    ) -> Result<Cholesky, PathError> {
        self.validate(markets).map_err(invalid)?;
        match self {
            CorrelationSpec::Matrix(m) => {
                Cholesky::new(m, markets).map_err(|e| PathModelError::CorrelationMatrix(e).into())
            }
            CorrelationSpec::Files(files) => {
                let files: Vec<PathBuf> = files.iter().map(|f| base_dir.join(f)).collect();
                let joint = series::load_joint_returns(&files, step_seconds)?;
                if joint.returns.first().map_or(0, Vec::len) < 2 {
                    return Err(PathModelError::CorrelationReturns { step_seconds }.into());
                }
                let c = pearson_matrix(&joint.returns);
                Cholesky::new(&c, markets)
                    .map_err(|e| PathModelError::EstimatedCorrelation(e).into())
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
    pub(crate) fn student_t(dof: f64) -> Result<Innovation, PathModelError> {
        let dist = StudentT::new(dof).map_err(|error| PathModelError::StudentT { dof, error })?;
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
) -> Result<Option<Cholesky>, PathError> {
    spec.map(|s| s.resolve(base_dir, markets, step_seconds))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::path::GbmConfig;
    use crate::paths::models::Scratch;
    use crate::paths::models::test_util::{corr, log_returns, write_prices_file};
    use crate::rng::{Purpose, stream};

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
