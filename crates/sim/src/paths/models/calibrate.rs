//! Fitting the Monte Carlo models to a price history.
//!
//! From log-returns `r` at a fixed step of `dt` years (365-day year):
//!
//! - **GBM**: `volatility = sd(r)/√dt`, `drift = mean(r)/dt + volatility²/2`.
//! - **Student-t**: `volatility` as GBM; `dof` by **maximum likelihood** of a
//!   location–scale t (location = the sample mean; scale and ν free, ν = [`MIN_DOF`] + e^θ),
//!   with its standard error from the observed information. (Moment matching of
//!   the kurtosis, ν = 4 + 6/κ, is unusable for crypto returns, whose kurtosis is
//!   often infinite or dominated by a few prints.)
//! - **GARCH(1,1)-t**: maximum likelihood of `ε = r − mean(r)` with
//!   `h(t+1) = v(1 − α − β) + α·ε(t)² + β·h(t)`, `h(0)` the sample variance, over the
//!   long-run variance `v`, α, β and ν, by Nelder–Mead under the transformation
//!   `v = e^a`, `α + β = logistic(b)`, `α = (α + β)·logistic(c)`, `ν = 2.1 + e^d`,
//!   which keeps every trial point stationary and valid. Standard errors (of
//!   `α + β` in particular) come from the inverse of the finite-difference Hessian
//!   of the log-likelihood in the natural parameters.
//! - **Jumps**: a return is a jump if `|r − mean| > k·σ_bv` with
//!   **k = [`JUMP_THRESHOLD_K`] = 4** and σ_bv the bipower-variation volatility
//!   `√(π/2 · mean(|ε(t)|·|ε(t−1)|))` (robust to the jumps themselves). Intensity =
//!   jumps / years observed; jump mean and stdev are those of the jump returns;
//!   the diffusion volatility is the sd of the other returns.
//!
//! [`Calibration::to_toml_snippet`] prints a `[path]` table per model; their drift is
//! 0 (martingale paths, as stress tests usually assume), the estimated drift is in a
//! comment.

use std::path::Path;

use backstop_data::history::read_prices;
use serde::Serialize;

use super::optim::{hessian, inverse_spd, ln_gamma, nelder_mead};
use super::series::{NS, load_joint_returns, native_step_ns};
use super::year_fraction;
use crate::config::path::{GarchConfig, GbmConfig, JumpConfig, ModelConfig, StudentTConfig};
use crate::paths::error::{PathError, PathModelError};

/// Threshold, in bipower-variation standard deviations, beyond which a return is
/// counted as a jump.
pub const JUMP_THRESHOLD_K: f64 = 4.0;

/// Fewest returns [`calibrate`] accepts.
pub const MIN_RETURNS: usize = 10;

/// Largest ν reported; beyond it the t is indistinguishable from a normal.
pub const MAX_DOF: f64 = 200.0;

/// Smallest ν fitted: short, extreme samples (a crash window) can push the t
/// likelihood towards ν → 2, an infinite-variance limit the models cannot use.
pub const MIN_DOF: f64 = 2.1;

/// GBM fit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GbmFit {
    /// Annualised drift μ (`E[S(t)] = S(0)e^{μt}`).
    pub drift: f64,
    /// Annualised volatility.
    pub volatility: f64,
}

/// Student-t fit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StudentTFit {
    /// Annualised volatility (sample sd).
    pub volatility: f64,
    /// Degrees of freedom by maximum likelihood, capped at [`MAX_DOF`].
    pub dof: f64,
    /// Standard error of `dof` (observed information), if available.
    pub dof_se: Option<f64>,
}

/// GARCH(1,1)-t fit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GarchFit {
    /// Long-run annualised volatility.
    pub volatility: f64,
    /// ARCH coefficient α.
    pub alpha: f64,
    /// GARCH coefficient β.
    pub beta: f64,
    /// Degrees of freedom ν of the standardized t innovations, capped at [`MAX_DOF`].
    pub dof: f64,
    /// Standard error of α + β (observed information), if the information matrix
    /// is positive definite at the optimum.
    pub persistence_se: Option<f64>,
    /// Maximised log-likelihood.
    pub log_likelihood: f64,
    /// Whether Nelder–Mead converged within its evaluation budget.
    pub converged: bool,
}

/// Merton jump-diffusion fit by thresholding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JumpFit {
    /// Annualised volatility of the non-jump returns.
    pub volatility: f64,
    /// Jumps per year.
    pub intensity: f64,
    /// Mean log jump size (0 without jumps).
    pub jump_mean: f64,
    /// Stdev of the log jump size (0 with fewer than 2 jumps).
    pub jump_stdev: f64,
    /// Returns counted as jumps.
    pub jumps: usize,
    /// The threshold used, in bipower sd ([`JUMP_THRESHOLD_K`]).
    pub threshold_k: f64,
}

/// Every model fitted to one return series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Calibration {
    /// Step of the returns, seconds.
    pub step_seconds: u32,
    /// Number of log-returns fitted.
    pub returns: usize,
    /// GBM.
    pub gbm: GbmFit,
    /// Student-t.
    pub student_t: StudentTFit,
    /// GARCH(1,1)-t.
    pub garch: GarchFit,
    /// Jump-diffusion.
    pub jump: JumpFit,
}

/// Fits every model to `prices` sampled every `step_seconds`.
///
/// # Errors
/// [`PathError::Model`] if a price is not finite and positive, the step is 0,
/// there are fewer than [`MIN_RETURNS`] returns, or the prices are constant.
pub fn calibrate(prices: &[f64], step_seconds: u32) -> Result<Calibration, PathError> {
    if let Some((index, &price)) = prices
        .iter()
        .enumerate()
        .find(|(_, p)| !(p.is_finite() && **p > 0.0))
    {
        return Err(PathModelError::CalibrationPrice { index, price }.into());
    }
    let returns: Vec<f64> = prices.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    Ok(calibrate_returns(&returns, step_seconds)?)
}

/// Reads a prices file (the `mark` column) and fits every model to its log-returns
/// at `step_seconds` (default: the file's own spacing, which must then be whole
/// seconds). Only returns over one step between observed prices are used, so gaps
/// in the data do not become returns.
///
/// # Errors
/// [`PathError::Data`] for an unreadable file; [`PathError::Model`] for fewer
/// than 2 prices, a step the file cannot be resampled to, or as [`calibrate`].
pub fn calibrate_file(file: &Path, step_seconds: Option<u32>) -> Result<Calibration, PathError> {
    let step = match step_seconds {
        Some(s) => s,
        None => native_step_seconds(file)?,
    };
    let joint = load_joint_returns(&[file.to_path_buf()], step)?;
    Ok(calibrate_returns(&joint.returns[0], step)?)
}

/// The spacing of a prices file's timestamps, in whole seconds.
fn native_step_seconds(file: &Path) -> Result<u32, PathError> {
    let rows = read_prices(file)?.rows;
    let native = native_step_ns(&rows).ok_or_else(|| PathModelError::CalibrationTimestamps {
        file: file.to_path_buf(),
    })?;
    if native % NS != 0 {
        return Err(PathModelError::CalibrationSpacing {
            file: file.to_path_buf(),
            spacing_s: native as f64 / NS as f64,
        }
        .into());
    }
    Ok(
        u32::try_from(native / NS).map_err(|_| PathModelError::CalibrationGap {
            file: file.to_path_buf(),
        })?,
    )
}

/// Fits every model to log-returns at `step_seconds`.
fn calibrate_returns(r: &[f64], step_seconds: u32) -> Result<Calibration, PathModelError> {
    if step_seconds == 0 {
        return Err(PathModelError::CalibrationStep);
    }
    if r.len() < MIN_RETURNS {
        return Err(PathModelError::CalibrationReturns {
            returns: r.len(),
            min: MIN_RETURNS,
        });
    }
    let dt = year_fraction(step_seconds);
    let n = r.len() as f64;
    let mean = r.iter().sum::<f64>() / n;
    let var = r.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    if var.is_nan() || var <= 0.0 {
        return Err(PathModelError::CalibrationFlat);
    }
    let volatility = (var / dt).sqrt();
    let eps: Vec<f64> = r.iter().map(|x| x - mean).collect();
    Ok(Calibration {
        step_seconds,
        returns: r.len(),
        gbm: GbmFit {
            drift: mean / dt + 0.5 * volatility * volatility,
            volatility,
        },
        student_t: fit_student_t(&eps, var, volatility),
        garch: fit_garch(&eps, var, dt),
        jump: fit_jumps(r, mean, dt),
    })
}

/// Log-likelihood of a location-zero t with scale `s` and dof `nu`.
fn t_log_likelihood(eps: &[f64], s: f64, nu: f64) -> f64 {
    if !(s > 0.0 && nu > 0.0) {
        return f64::NAN;
    }
    let n = eps.len() as f64;
    let c = ln_gamma(0.5 * (nu + 1.0))
        - ln_gamma(0.5 * nu)
        - 0.5 * (nu * std::f64::consts::PI).ln()
        - s.ln();
    let k = 1.0 / (nu * s * s);
    n * c - 0.5 * (nu + 1.0) * eps.iter().map(|e| (e * e * k).ln_1p()).sum::<f64>()
}

fn fit_student_t(eps: &[f64], var: f64, volatility: f64) -> StudentTFit {
    let nll = |x: &[f64]| -t_log_likelihood(eps, x[0].exp(), MIN_DOF + x[1].exp().min(1e6));
    let sd = var.sqrt();
    let m = nelder_mead(nll, &[sd.ln(), 3f64.ln()], &[0.2, 0.5], 600, 1e-9);
    let (s, nu) = (m.x[0].exp(), MIN_DOF + m.x[1].exp().min(1e6));
    // No standard error at either bound of ν.
    let dof_se = if nu < MAX_DOF && nu > MIN_DOF + 1e-3 {
        hessian(
            |x: &[f64]| -t_log_likelihood(eps, x[0], x[1]),
            &[s, nu],
            &[1e-3 * s, 1e-3 * nu],
        )
        .and_then(|h| inverse_spd(&h))
        .map(|c| c[1][1].sqrt())
    } else {
        None
    };
    StudentTFit {
        volatility,
        dof: nu.min(MAX_DOF),
        dof_se,
    }
}

/// GARCH(1,1)-t log-likelihood of `eps` in the natural parameters; NaN outside
/// the valid region.
fn garch_log_likelihood(eps: &[f64], h0: f64, v: f64, alpha: f64, beta: f64, nu: f64) -> f64 {
    if !(v > 0.0 && alpha >= 0.0 && beta >= 0.0 && alpha + beta < 1.0 && nu > 2.0) {
        return f64::NAN;
    }
    let omega = v * (1.0 - alpha - beta);
    let c = ln_gamma(0.5 * (nu + 1.0))
        - ln_gamma(0.5 * nu)
        - 0.5 * (std::f64::consts::PI * (nu - 2.0)).ln();
    let k = 0.5 * (nu + 1.0);
    let inv_nu2 = 1.0 / (nu - 2.0);
    let mut h = h0;
    let mut ll = 0.0;
    for &e in eps {
        let e2 = e * e;
        ll -= 0.5 * h.ln() + k * (e2 / h * inv_nu2).ln_1p();
        h = omega + alpha * e2 + beta * h;
    }
    ll + c * eps.len() as f64
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn fit_garch(eps: &[f64], var: f64, dt: f64) -> GarchFit {
    let natural = |x: &[f64]| {
        let p = logistic(x[1]);
        let a = p * logistic(x[2]);
        (x[0].exp(), a, p - a, MIN_DOF + x[3].exp().min(1e6))
    };
    let nll = |x: &[f64]| {
        let (v, a, b, nu) = natural(x);
        -garch_log_likelihood(eps, var, v, a, b, nu)
    };
    // Start: v = sample variance, α + β = 0.9, α = 0.1·0.9, ν = 6.
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let x0 = [var.ln(), logit(0.9), logit(0.1), (6.0 - MIN_DOF).ln()];
    let m = nelder_mead(nll, &x0, &[0.3, 1.0, 0.7, 0.7], 1600, 1e-8);
    let (v, alpha, beta, nu) = natural(&m.x);
    let persistence_se = hessian(
        |x: &[f64]| -garch_log_likelihood(eps, var, x[0], x[1], x[2], x[3]),
        &[v, alpha, beta, nu],
        &[1e-3 * v, 1e-4, 1e-4, 1e-3 * nu],
    )
    .and_then(|h| inverse_spd(&h))
    .and_then(|c| {
        let s = c[1][1] + c[2][2] + 2.0 * c[1][2];
        (s > 0.0).then(|| s.sqrt())
    });
    GarchFit {
        volatility: (v / dt).sqrt(),
        alpha,
        beta,
        dof: nu.min(MAX_DOF),
        persistence_se,
        log_likelihood: -m.f,
        converged: m.converged,
    }
}

fn fit_jumps(r: &[f64], mean: f64, dt: f64) -> JumpFit {
    let abs: Vec<f64> = r.iter().map(|x| (x - mean).abs()).collect();
    let bipower = std::f64::consts::FRAC_PI_2 * abs.windows(2).map(|w| w[0] * w[1]).sum::<f64>()
        / (abs.len() - 1) as f64;
    let threshold = JUMP_THRESHOLD_K * bipower.sqrt();
    let (mut jumps, mut rest) = (Vec::new(), Vec::new());
    for (&x, &a) in r.iter().zip(&abs) {
        if a > threshold {
            jumps.push(x);
        } else {
            rest.push(x);
        }
    }
    let mean_var = |x: &[f64]| {
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        let v = if x.len() > 1 {
            x.iter().map(|y| (y - m) * (y - m)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        (m, v)
    };
    let (_, rest_var) = mean_var(&rest);
    let (jump_mean, jump_var) = if jumps.is_empty() {
        (0.0, 0.0)
    } else {
        mean_var(&jumps)
    };
    JumpFit {
        volatility: (rest_var / dt).sqrt(),
        intensity: jumps.len() as f64 / (r.len() as f64 * dt),
        jump_mean,
        jump_stdev: jump_var.sqrt(),
        jumps: jumps.len(),
        threshold_k: JUMP_THRESHOLD_K,
    }
}

impl Calibration {
    /// The fitted models as scenario configs (`steps` = one day of steps, drift 0).
    #[must_use]
    pub fn configs(&self) -> Vec<ModelConfig> {
        let steps = (86_400 / self.step_seconds.max(1)).max(1);
        vec![
            ModelConfig::Gbm(GbmConfig {
                steps,
                drift: 0.0,
                volatility: self.gbm.volatility,
                correlation: None,
            }),
            ModelConfig::StudentT(StudentTConfig {
                steps,
                drift: 0.0,
                volatility: self.student_t.volatility,
                dof: self.student_t.dof,
                correlation: None,
            }),
            ModelConfig::Garch(GarchConfig {
                steps,
                drift: 0.0,
                volatility: self.garch.volatility,
                alpha: self.garch.alpha,
                beta: self.garch.beta,
                dof: self.garch.dof,
                correlation: None,
            }),
            ModelConfig::Jump(JumpConfig {
                steps,
                drift: 0.0,
                volatility: self.jump.volatility,
                intensity: self.jump.intensity,
                jump_mean: self.jump.jump_mean,
                jump_stdev: self.jump.jump_stdev,
                correlation: None,
            }),
        ]
    }

    /// One `[path]` table per model, each preceded by comments (what was fitted,
    /// standard errors), for `backstop calibrate FILE` to print; copy one into a
    /// scenario (with `step_seconds` as fitted, and `steps` to taste).
    #[must_use]
    pub fn to_toml_snippet(&self) -> String {
        let fmt_se = |se: Option<f64>| se.map_or_else(|| "n/a".to_string(), |s| format!("{s:.4}"));
        let notes = [
            format!(
                "# GBM: volatility = sd of log-returns (estimated drift {:.4}/yr, not used)",
                self.gbm.drift
            ),
            format!(
                "# Student-t: dof by maximum likelihood (SE {})",
                fmt_se(self.student_t.dof_se)
            ),
            format!(
                "# GARCH(1,1)-t by maximum likelihood: alpha + beta = {:.4} (SE {}), log-likelihood {:.1}{}",
                self.garch.alpha + self.garch.beta,
                fmt_se(self.garch.persistence_se),
                self.garch.log_likelihood,
                if self.garch.converged {
                    ""
                } else {
                    ", NOT CONVERGED"
                }
            ),
            format!(
                "# Merton jumps: {} returns beyond {} bipower sd counted as jumps",
                self.jump.jumps, self.jump.threshold_k
            ),
        ];
        let mut s = format!(
            "# Calibrated on {} log-returns at step_seconds = {} (annualised, 365-day year).\n\
             # Drift 0: martingale paths. steps = one day.\n",
            self.returns, self.step_seconds
        );
        for (note, cfg) in notes.iter().zip(self.configs()) {
            let body = toml::to_string(&cfg).unwrap_or_else(|e| format!("# cannot print: {e}\n"));
            s.push('\n');
            s.push_str(note);
            s.push_str("\n[path]\n");
            s.push_str(&body);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::models::Scratch;
    use crate::paths::models::test_util::march_2020_file;
    use crate::rng::{Purpose, stream};

    fn simulate(cfg: &ModelConfig, step: u32, seed: u64) -> Vec<f64> {
        let model = cfg.build(Path::new("."), 1, step).unwrap();
        let mut out = model.new_output();
        model.fill(
            &[100.0],
            &mut stream(seed, Purpose::Path, 0),
            &mut Scratch::new(),
            &mut out,
        );
        out.swap_remove(0)
    }

    /// GBM σ within 5 SE (σ/√(2n)); Student-t ν = 4 recovered within 5 SE of the
    /// observed information.
    #[test]
    fn recovers_gbm_volatility_and_t_dof() {
        let gbm = ModelConfig::Gbm(GbmConfig {
            steps: 20_001,
            drift: 0.0,
            volatility: 0.7,
            correlation: None,
        });
        let c = calibrate(&simulate(&gbm, 300, 1), 300).unwrap();
        let se = 0.7 / (2.0 * 20_000f64).sqrt();
        assert!(
            (c.gbm.volatility - 0.7).abs() < 5.0 * se,
            "{}",
            c.gbm.volatility
        );
        let t = ModelConfig::StudentT(StudentTConfig {
            steps: 20_001,
            drift: 0.0,
            volatility: 0.7,
            dof: 4.0,
            correlation: None,
        });
        let c = calibrate(&simulate(&t, 300, 2), 300).unwrap();
        let se = c.student_t.dof_se.unwrap();
        assert!(
            (c.student_t.dof - 4.0).abs() < 5.0 * se,
            "{} ± {se}",
            c.student_t.dof
        );
        assert!(se < 0.5, "{se}");
    }

    /// Jumps 40 diffusion sd deep are all found: count within 5 Poisson SE of
    /// λT, mean size within 5 SE (s/√N), diffusion σ within 5 SE.
    #[test]
    fn recovers_jumps_by_thresholding() {
        let cfg = JumpConfig {
            steps: 100_001,
            drift: 0.0,
            volatility: 0.5,
            intensity: 2000.0,
            jump_mean: -0.03,
            jump_stdev: 0.01,
            correlation: None,
        };
        let c = calibrate(&simulate(&ModelConfig::Jump(cfg.clone()), 60, 3), 60).unwrap();
        let years = 100_000.0 * year_fraction(60);
        let expected = cfg.intensity * years;
        let got = c.jump.jumps as f64;
        assert!(
            (got - expected).abs() < 5.0 * expected.sqrt(),
            "{got} vs {expected}"
        );
        assert!((c.jump.intensity * years - got).abs() < 1e-9);
        let se_m = cfg.jump_stdev / got.sqrt();
        assert!(
            (c.jump.jump_mean - cfg.jump_mean).abs() < 5.0 * se_m,
            "{}",
            c.jump.jump_mean
        );
        let se_v = 0.5 / (2.0 * 100_000f64).sqrt();
        assert!(
            (c.jump.volatility - 0.5).abs() < 5.0 * se_v,
            "{}",
            c.jump.volatility
        );
    }

    /// Real data: BTCUSDT 2020-03-12, 1-minute. Every fit is finite and plausible
    /// (annualised vol of that day well above 50%), and every printed snippet
    /// parses back into a config that validates.
    #[test]
    fn calibrates_a_real_prices_file_and_prints_valid_snippets() {
        let dir = tempfile::tempdir().unwrap();
        let (file, rows) = march_2020_file(dir.path());
        let c = calibrate_file(&file, None).unwrap();
        assert_eq!(c.step_seconds, 60);
        assert_eq!(c.returns, rows.len() - 1);
        assert!(c.gbm.volatility > 0.5 && c.gbm.volatility.is_finite());
        assert!(c.student_t.dof > 2.0 && c.garch.dof > 2.0);
        assert!(c.garch.alpha >= 0.0 && c.garch.beta >= 0.0 && c.garch.alpha + c.garch.beta < 1.0);
        assert!(c.jump.intensity.is_finite() && c.jump.volatility > 0.0);
        let text = c.to_toml_snippet();
        let tables: Vec<&str> = text.split("[path]\n").skip(1).collect();
        assert_eq!(tables.len(), 4, "{text}");
        for (t, cfg) in tables.iter().zip(c.configs()) {
            let body: String = t
                .lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n");
            let parsed: ModelConfig =
                toml::from_str(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
            assert_eq!(parsed, cfg);
            parsed.validate(1).unwrap();
        }
        assert!(text.contains("kind = \"garch\""));
        // 5-minute grid aligned on multiples of 300 s inside the data.
        let five = calibrate_file(&file, Some(300)).unwrap();
        let step = 300 * NS;
        let first =
            rows[0].0.div_euclid(step) * step + if rows[0].0 % step == 0 { 0 } else { step };
        let last = rows.last().unwrap().0.div_euclid(step) * step;
        assert_eq!(five.returns as i64, (last - first) / step);
        println!("{text}");
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(calibrate(&[1.0, 2.0], 60).is_err());
        assert!(
            calibrate(&[1.0; 20], 60)
                .unwrap_err()
                .to_string()
                .contains("never move")
        );
        let mut p: Vec<f64> = (1..30).map(f64::from).collect();
        p[3] = -1.0;
        assert!(
            calibrate(&p, 60)
                .unwrap_err()
                .to_string()
                .contains("price 3")
        );
    }
}
