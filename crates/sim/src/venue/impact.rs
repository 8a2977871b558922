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

    /// Moves the model's clock to `ts_ns` (UTC ns) before a step; models with
    /// time-varying liquidity (a recorded order book) follow it, others ignore it.
    fn advance_to(&mut self, _ts_ns: i64) {}

    /// Whether [`ImpactModel::advance_to`] does anything: a model that
    /// overrides it must return `true` (the engine skips the call for the
    /// others).
    fn has_clock(&self) -> bool {
        false
    }
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

/// One side of a depth snapshot: (distance from mid as a fraction, cumulative
/// notional USD), increasing in both.
type DepthCurve = Vec<(f64, f64)>;

/// A depth file that is not a usable book.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DepthBookError {
    /// No rows.
    #[error("the depth file has no snapshots")]
    Empty,
    /// A side whose cumulative notional falls with distance from mid.
    #[error("snapshot {snapshot} (ts {ts_ns} ns): cumulative notional decreases with distance")]
    Decreasing {
        /// Snapshot index.
        snapshot: usize,
        /// Its time, UTC ns.
        ts_ns: i64,
    },
}

/// Recorded order-book depth of one market: snapshots of cumulative notional by
/// distance from mid, as Binance's `bookDepth` publishes (±1% … ±5%).
#[derive(Clone, Debug, PartialEq)]
pub struct DepthBook {
    ts_ns: Vec<i64>,
    /// Per snapshot: the bid side (hit by sells) and the ask side (lifted by buys).
    sides: Vec<(DepthCurve, DepthCurve)>,
}

impl DepthBook {
    /// Groups `depth/v1` rows (time-ordered) into snapshots.
    ///
    /// # Errors
    /// No rows, or a snapshot side whose cumulative notional decreases with distance.
    pub fn from_rows(
        rows: &[backstop_data::history::DepthRow],
    ) -> Result<DepthBook, DepthBookError> {
        let mut book = DepthBook {
            ts_ns: Vec::new(),
            sides: Vec::new(),
        };
        for r in rows {
            if book.ts_ns.last() != Some(&r.ts_ns) {
                book.ts_ns.push(r.ts_ns);
                book.sides.push((Vec::new(), Vec::new()));
            }
            let Some((bids, asks)) = book.sides.last_mut() else {
                continue;
            };
            let side = if r.percentage < 0.0 { bids } else { asks };
            if r.percentage != 0.0 {
                side.push((r.percentage.abs() / 100.0, r.notional));
            }
        }
        if book.ts_ns.is_empty() {
            return Err(DepthBookError::Empty);
        }
        for (i, (bids, asks)) in book.sides.iter_mut().enumerate() {
            for side in [bids, asks] {
                side.sort_by(|a, b| a.0.total_cmp(&b.0));
                if side.windows(2).any(|w| w[1].1 < w[0].1) {
                    return Err(DepthBookError::Decreasing {
                        snapshot: i,
                        ts_ns: book.ts_ns[i],
                    });
                }
            }
        }
        Ok(book)
    }

    /// Number of snapshots.
    pub fn len(&self) -> usize {
        self.ts_ns.len()
    }

    /// Whether there are no snapshots (never, once built).
    pub fn is_empty(&self) -> bool {
        self.ts_ns.is_empty()
    }
}

/// Impact read off the recorded book: a sell of `Q` USD moves the price to the
/// distance from mid at which the bids' cumulative notional reaches `Q`
/// (linear between recorded bands, and beyond the last band along the line
/// through mid and the last band); buys walk the asks. The snapshot used is the
/// last at or before the step's time (the first before any).
#[derive(Clone, Debug)]
pub struct BookDepthImpact {
    book: std::sync::Arc<DepthBook>,
    current: usize,
}

impl BookDepthImpact {
    /// A model over `book`, at its first snapshot.
    pub fn new(book: std::sync::Arc<DepthBook>) -> BookDepthImpact {
        BookDepthImpact { book, current: 0 }
    }

    /// The distance (fraction) at which `curve` has absorbed `q` USD.
    fn walk(curve: &[(f64, f64)], q: f64) -> f64 {
        let mut prev = (0.0, 0.0);
        for &(d, n) in curve {
            if n >= q {
                let span = n - prev.1;
                return if span > 0.0 {
                    prev.0 + (d - prev.0) * (q - prev.1) / span
                } else {
                    d
                };
            }
            prev = (d, n);
        }
        if prev.1 > 0.0 {
            prev.0 * q / prev.1
        } else {
            MAX_IMPACT
        }
    }
}

impl ImpactModel for BookDepthImpact {
    fn impact(&self, signed_flow_usd: f64) -> f64 {
        if signed_flow_usd == 0.0 {
            return 0.0;
        }
        let Some((bids, asks)) = self.book.sides.get(self.current) else {
            return 0.0;
        };
        let curve = if signed_flow_usd < 0.0 { bids } else { asks };
        Self::walk(curve, signed_flow_usd.abs())
            .min(MAX_IMPACT)
            .copysign(signed_flow_usd)
    }

    fn has_clock(&self) -> bool {
        true
    }

    fn advance_to(&mut self, ts_ns: i64) {
        // Amortised O(1): time only moves forward within a path.
        while self.current + 1 < self.book.ts_ns.len() && self.book.ts_ns[self.current + 1] <= ts_ns
        {
            self.current += 1;
        }
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
mod depth_tests {
    use super::*;
    use backstop_data::history::DepthRow;

    fn row(ts_ns: i64, percentage: f64, notional: f64) -> DepthRow {
        DepthRow {
            ts_ns,
            percentage,
            depth: notional / 100.0,
            notional,
        }
    }

    #[test]
    fn walks_the_side_hit_and_follows_time() {
        let rows = [
            row(0, -2.0, 3e6),
            row(0, -1.0, 1e6),
            row(0, 1.0, 2e6),
            row(0, 2.0, 4e6),
            row(100, -1.0, 1e5),
            row(100, 1.0, 2e6),
        ];
        let book = std::sync::Arc::new(DepthBook::from_rows(&rows).unwrap());
        assert_eq!(book.len(), 2);
        let mut m = BookDepthImpact::new(book);
        // A $500k sell is half-way to the 1% band of bids: -0.5%.
        assert!((m.impact(-5e5) + 0.005).abs() < 1e-12);
        // $2M of sells: between 1% ($1M) and 2% ($3M) -> 1.5%.
        assert!((m.impact(-2e6) + 0.015).abs() < 1e-12);
        // Buys walk the asks: $3M -> 1.5%.
        assert!((m.impact(3e6) - 0.015).abs() < 1e-12);
        // Beyond the last band: along the line through mid and it (2% per $3M).
        assert!((m.impact(-6e6) + 0.04).abs() < 1e-12);
        m.advance_to(99);
        assert!((m.impact(-5e5) + 0.005).abs() < 1e-12);
        // The thin book at t=100: $500k of sells is 5x the 1% band.
        m.advance_to(100);
        assert!((m.impact(-5e5) + 0.05).abs() < 1e-12);
        assert_eq!(m.impact(-1e12), -MAX_IMPACT);
    }

    #[test]
    fn rejects_a_decreasing_side() {
        let rows = [row(0, -1.0, 2e6), row(0, -2.0, 1e6)];
        assert!(
            DepthBook::from_rows(&rows)
                .unwrap_err()
                .to_string()
                .contains("decreases")
        );
        assert!(DepthBook::from_rows(&[]).is_err());
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
