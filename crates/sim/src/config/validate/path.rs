//! `[path]`: fixed prices, a replay's window and files, and every path model's
//! parameters (checked without reading any file; files are read when the model
//! is built, `crate::paths::models`).

use crate::cholesky::Cholesky;
use crate::config::field::{Check, dof_above_2, fail, finite, key, non_negative, positive};
use crate::config::key_path::KeyPath;
use crate::config::path::{
    BootstrapConfig, BridgeConfig, CorrelationSpec, GarchConfig, GbmConfig, JumpConfig,
    ModelConfig, OverlayConfig, PathConfig, ReplayConfig, StudentTConfig,
};
use crate::config::scenario::Scenario;
use crate::time::parse_utc;

/// The scenario's path.
pub(super) fn path(s: &Scenario) -> Check {
    match &s.path {
        PathConfig::Linear {
            steps,
            shock_start_step,
            shock,
            ..
        } => linear(s, *steps, *shock_start_step, *shock),
        PathConfig::Series { prices } => series(s, prices),
        PathConfig::Replay(r) => replay(s, r),
        other => match other.model() {
            Some(model) => model.validate(s.market.len()),
            None => Ok(()),
        },
    }
}

/// `path.<field>`.
fn at(field: &str) -> KeyPath {
    key("path").key(field)
}

/// A run of at least one step whose move starts within it and leaves every
/// market's price on its tick grid.
fn linear(s: &Scenario, steps: u32, shock_start_step: u32, shock: f64) -> Check {
    if steps == 0 {
        return fail(at("steps"), "must be at least 1");
    }
    if shock_start_step >= steps {
        return fail(
            at("shock_start_step"),
            format!(
                "the move would start at step {shock_start_step}, after the run's last step ({}): \
                 it would never happen",
                steps - 1
            ),
        );
    }
    finite(&at("shock"), shock)?;
    if shock <= -1.0 {
        return fail(
            at("shock"),
            format!("a move of {shock} would take prices to zero or below"),
        );
    }
    for (name, m) in &s.market {
        if let Some(start) = m.price {
            let end = start * (1.0 + shock);
            super::market::on_tick_grid(&at("shock"), end, m.tick_size).map_err(|e| {
                crate::config::field::FieldError {
                    key: e.key,
                    message: format!("takes market `{name}` from {start} to {end}: {}", e.message),
                }
            })?;
        }
    }
    Ok(())
}

/// One series per market, equal lengths, finite positive prices.
fn series(s: &Scenario, prices: &std::collections::BTreeMap<String, Vec<f64>>) -> Check {
    for name in s.market.keys() {
        if !prices.contains_key(name) {
            return fail(at("prices"), format!("no price series for market `{name}`"));
        }
    }
    let mut len = None;
    for (name, series) in prices {
        let k = at("prices").key(name.as_str());
        if !s.market.contains_key(name) {
            return fail(
                k,
                format!(
                    "no market `{name}` (markets: {})",
                    s.market_names().join(", ")
                ),
            );
        }
        if series.is_empty() {
            return fail(k, "the series is empty");
        }
        if *len.get_or_insert(series.len()) != series.len() {
            return fail(k, "every market's series must have the same length");
        }
        let tick_size = s.market[name].tick_size;
        for (i, &p) in series.iter().enumerate() {
            if !(p.is_finite() && p > 0.0) {
                return fail(
                    k.index(i),
                    format!("prices must be finite and positive, got {p}"),
                );
            }
            super::market::on_tick_grid(&k.index(i), p, tick_size)?;
        }
    }
    Ok(())
}

/// A replay's window, files and markets.
fn replay(s: &Scenario, r: &ReplayConfig) -> Check {
    let start = parse_utc(&s.start).unwrap_or(0);
    let Some(end) = parse_utc(&r.end) else {
        return fail(
            at("end"),
            format!("not a UTC time like 2025-10-10T21:00:00Z: {:?}", r.end),
        );
    };
    if end <= start {
        return fail(
            at("end"),
            format!(
                "the window must end after `start` ({}), got {}",
                s.start, r.end
            ),
        );
    }
    if s.paths != 1 && s.population.is_fixed() {
        return fail(
            key("paths"),
            format!(
                "a replay with a fixed population is one outcome (history happened once), got {} paths; set population.resample = \"per_path\" to draw a population per path",
                s.paths
            ),
        );
    }
    for name in s.market.keys() {
        if !r.market.contains_key(name) {
            return fail(
                at("market"),
                format!("no history for market `{name}`: add [path.market.{name}]"),
            );
        }
    }
    for (name, files) in &r.market {
        let k = at("market").key(name.as_str());
        if !s.market.contains_key(name) {
            return fail(
                k,
                format!(
                    "no market `{name}` (markets: {})",
                    s.market_names().join(", ")
                ),
            );
        }
        match (&files.prices, &files.trades) {
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                return fail(
                    k,
                    "give exactly one price source: `prices` (a prices/v1 file) or `trades` (a trades/v1 file)",
                );
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ path models

/// A model needs a market to price.
fn check_markets(markets: usize) -> Check {
    if markets == 0 {
        fail(
            at("kind"),
            "the scenario has no market to generate prices for",
        )
    } else {
        Ok(())
    }
}

impl ModelConfig {
    /// Checks the parameters for `markets` markets without reading any file.
    ///
    /// # Errors
    /// The first bad key (`path.…`) and why.
    pub fn validate(&self, markets: usize) -> Check {
        match self {
            ModelConfig::Gbm(c) => c.validate(markets),
            ModelConfig::StudentT(c) => c.validate(markets),
            ModelConfig::Garch(c) => c.validate(markets),
            ModelConfig::Jump(c) => c.validate(markets),
            ModelConfig::Bridge(c) => c.validate(markets),
            ModelConfig::Bootstrap(c) => c.validate(markets),
            ModelConfig::Overlay(c) => c.validate(markets),
        }
    }
}

impl GbmConfig {
    /// Checks the parameters for `markets` markets.
    ///
    /// # Errors
    /// The first bad key and why.
    pub fn validate(&self, markets: usize) -> Check {
        check_markets(markets)?;
        finite(&at("drift"), self.drift)?;
        non_negative(&at("volatility"), self.volatility)?;
        validate_correlation(self.correlation.as_ref(), markets)
    }
}

impl StudentTConfig {
    /// Checks the parameters for `markets` markets.
    ///
    /// # Errors
    /// The first bad key and why.
    pub fn validate(&self, markets: usize) -> Check {
        check_markets(markets)?;
        finite(&at("drift"), self.drift)?;
        non_negative(&at("volatility"), self.volatility)?;
        dof_above_2(&at("dof"), self.dof)?;
        validate_correlation(self.correlation.as_ref(), markets)
    }
}

impl GarchConfig {
    /// Checks the parameters for `markets` markets.
    ///
    /// # Errors
    /// The first bad key and why.
    pub fn validate(&self, markets: usize) -> Check {
        check_markets(markets)?;
        finite(&at("drift"), self.drift)?;
        non_negative(&at("volatility"), self.volatility)?;
        non_negative(&at("alpha"), self.alpha)?;
        non_negative(&at("beta"), self.beta)?;
        if self.alpha + self.beta >= 1.0 {
            return fail(
                at("beta"),
                format!(
                    "`path.alpha` + `path.beta` must be < 1 for a stationary GARCH, got {} + {}",
                    self.alpha, self.beta
                ),
            );
        }
        dof_above_2(&at("dof"), self.dof)?;
        validate_correlation(self.correlation.as_ref(), markets)
    }
}

impl JumpConfig {
    /// Checks the parameters for `markets` markets.
    ///
    /// # Errors
    /// The first bad key and why.
    pub fn validate(&self, markets: usize) -> Check {
        check_markets(markets)?;
        finite(&at("drift"), self.drift)?;
        non_negative(&at("volatility"), self.volatility)?;
        non_negative(&at("intensity"), self.intensity)?;
        finite(&at("jump_mean"), self.jump_mean)?;
        non_negative(&at("jump_stdev"), self.jump_stdev)?;
        let k = (self.jump_mean + 0.5 * self.jump_stdev * self.jump_stdev).exp();
        if !k.is_finite() {
            return fail(
                at("jump_mean"),
                "with `path.jump_stdev`, the mean jump factor e^(m + s²/2) overflows",
            );
        }
        validate_correlation(self.correlation.as_ref(), markets)
    }
}

impl BridgeConfig {
    /// Checks the parameters for `markets` markets.
    ///
    /// # Errors
    /// The first bad key and why.
    pub fn validate(&self, markets: usize) -> Check {
        check_markets(markets)?;
        if self.pin_step == 0 || self.pin_step >= self.steps {
            return fail(
                at("pin_step"),
                format!(
                    "must be at least 1 and below `path.steps` ({}), got {}",
                    self.steps, self.pin_step
                ),
            );
        }
        finite(&at("crash"), self.crash)?;
        if self.crash <= -1.0 {
            return fail(
                at("crash"),
                format!(
                    "a move of {} would take prices to zero or below",
                    self.crash
                ),
            );
        }
        non_negative(&at("volatility"), self.volatility)?;
        finite(&at("drift"), self.drift)?;
        validate_correlation(self.correlation.as_ref(), markets)
    }
}

impl BootstrapConfig {
    /// Checks the parameters for `markets` markets (files are read by `build`).
    ///
    /// # Errors
    /// The first bad key and why.
    pub fn validate(&self, markets: usize) -> Check {
        check_markets(markets)?;
        if self.files.len() != markets {
            return fail(
                at("files"),
                format!(
                    "needs one prices file per market ({markets}), got {}",
                    self.files.len()
                ),
            );
        }
        finite(&at("mean_block_steps"), self.mean_block_steps)?;
        if self.mean_block_steps < 1.0 {
            return fail(
                at("mean_block_steps"),
                format!("must be at least 1 step, got {}", self.mean_block_steps),
            );
        }
        Ok(())
    }
}

impl OverlayConfig {
    /// Checks the parameters for `markets` markets (files are read by `build`).
    ///
    /// # Errors
    /// The first bad key and why.
    pub fn validate(&self, markets: usize) -> Check {
        check_markets(markets)?;
        if self.files.len() != 1 && self.files.len() != markets {
            return fail(
                at("files"),
                format!(
                    "needs one prices file, or one per market ({markets}), got {}",
                    self.files.len()
                ),
            );
        }
        let (start, end) = self.window()?;
        if end <= start {
            return fail(
                at("end"),
                format!(
                    "must be after `path.start` ({}), got {}",
                    self.start, self.end
                ),
            );
        }
        positive(&at("scale"), self.scale)
    }

    /// The window `[start, end)` in UTC ns.
    ///
    /// # Errors
    /// `path.start` or `path.end` that is not a UTC time.
    pub fn window(&self) -> Result<(i64, i64), crate::config::field::FieldError> {
        let parse = |field: &str, s: &str| {
            parse_utc(s).ok_or_else(|| crate::config::field::FieldError {
                key: at(field),
                message: format!("must be a UTC time like 2020-03-12T10:30:00Z, got {s:?}"),
            })
        };
        Ok((parse("start", &self.start)?, parse("end", &self.end)?))
    }
}

impl CorrelationSpec {
    /// Checks the spec for `markets` markets without reading files.
    ///
    /// # Errors
    /// `path.correlation.matrix` / `path.correlation.files` and why.
    pub fn validate(&self, markets: usize) -> Check {
        let k = at("correlation");
        match self {
            CorrelationSpec::Matrix(m) => Cholesky::new(m, markets)
                .map(|_| ())
                .or_else(|e| fail(k.key("matrix"), e.to_string())),
            CorrelationSpec::Files(files) => {
                if files.len() == markets {
                    Ok(())
                } else {
                    fail(
                        k.key("files"),
                        format!(
                            "needs one prices file per market ({markets}), got {}",
                            files.len()
                        ),
                    )
                }
            }
        }
    }
}

/// Validation of a config's optional correlation.
fn validate_correlation(spec: Option<&CorrelationSpec>, markets: usize) -> Check {
    spec.map_or(Ok(()), |s| s.validate(markets))
}
