//! Price impact of liquidation orders.
//!
//! A liquidation sells (long) or buys (short) into the market and pays slippage.
//! The model is swappable behind [`ImpactModel`]; the square-root law is the
//! default. The engine splits the impact of each step's liquidation flow into a
//! permanent part that shifts the mark for everyone (the feedback that makes
//! cascades) and a temporary part that decays with a half-life ([`ImpactState`]).

/// Largest price impact a model may return, as a fraction of the mark.
pub const MAX_IMPACT: f64 = 0.95;

/// A price-impact model: the relative move caused by an order flow.
pub trait ImpactModel: Send + Sync {
    /// Signed fractional impact of `signed_flow_usd` (buys positive) executed within
    /// one step: positive for buys, negative for sells, `|impact| ≤ MAX_IMPACT`.
    fn impact(&self, signed_flow_usd: f64) -> f64;
}

/// No slippage and no feedback: liquidations execute at the mark.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoImpact;

impl ImpactModel for NoImpact {
    fn impact(&self, _signed_flow_usd: f64) -> f64 {
        0.0
    }
}

/// The square-root law: `impact = Y × σ × sqrt(Q / V)`.
///
/// `Q` is the notional traded, `V` the market's volume and `σ` its volatility over
/// the same horizon; `Y` is of order one in empirical studies.
#[derive(Clone, Copy, Debug)]
pub struct SquareRootImpact {
    /// Dimensionless prefactor `Y`.
    pub coefficient: f64,
    /// Volatility over the impact horizon, as a fraction.
    pub volatility: f64,
    /// Traded volume over the same horizon, USD.
    pub volume_usd: f64,
}

impl ImpactModel for SquareRootImpact {
    fn impact(&self, signed_flow_usd: f64) -> f64 {
        if signed_flow_usd == 0.0 {
            return 0.0;
        }
        let magnitude =
            self.coefficient * self.volatility * (signed_flow_usd.abs() / self.volume_usd).sqrt();
        magnitude.min(MAX_IMPACT).copysign(signed_flow_usd)
    }
}

/// Impact carried by a market's mark from step to step.
///
/// `mark = path price × exp(permanent + temporary)`, both in log terms.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ImpactState {
    /// Accumulated permanent impact (log).
    pub permanent: f64,
    /// Temporary impact (log), decaying each step.
    pub temporary: f64,
}

impl ImpactState {
    /// Multiplier applied to the path price.
    pub fn factor(&self) -> f64 {
        (self.permanent + self.temporary).exp()
    }

    /// Ends a step: decays the temporary part, then adds the step's impact `impact`
    /// (fraction), `permanent_fraction` of it permanently.
    pub fn end_step(&mut self, impact: f64, permanent_fraction: f64, decay: f64) {
        let log_impact = (1.0 + impact).ln();
        self.temporary = self.temporary * decay + (1.0 - permanent_fraction) * log_impact;
        self.permanent += permanent_fraction * log_impact;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_root_law_scales_with_sqrt_of_size_and_signs_with_flow() {
        let m = SquareRootImpact {
            coefficient: 1.0,
            volatility: 0.02,
            volume_usd: 1e8,
        };
        let a = m.impact(1e6);
        let b = m.impact(4e6);
        assert!((a - 0.002).abs() < 1e-12);
        assert!((b / a - 2.0).abs() < 1e-12);
        assert_eq!(m.impact(-1e6), -a);
        assert_eq!(m.impact(0.0), 0.0);
        assert_eq!(m.impact(-1e30), -MAX_IMPACT);
    }

    #[test]
    fn temporary_impact_decays_and_permanent_stays() {
        let mut s = ImpactState::default();
        s.end_step(-0.1, 0.5, 0.5);
        let perm = s.permanent;
        assert!(perm < 0.0 && (s.temporary - perm).abs() < 1e-15);
        for _ in 0..60 {
            s.end_step(0.0, 0.5, 0.5);
        }
        assert_eq!(s.permanent, perm);
        assert!(s.temporary.abs() < 1e-15);
        assert!((s.factor() - (0.9f64).sqrt()).abs() < 1e-12);
    }
}
