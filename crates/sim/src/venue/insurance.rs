//! The insurance fund: first payer of bad debt, fed by liquidation fees.
//!
//! Its balance changes only through [`InsuranceFund::receive_fee`] and
//! [`InsuranceFund::pay_out`], which the engine's ledger calls when it moves money
//! to or from the fund; everything else here is statistics.

use crate::money::Micros;

/// The venue's insurance fund, with the path statistics docs/model.md §7 defines.
///
/// `floor` is the level below which the fund does not pay: the last line
/// (ADL, socialization) starts when a payout would take it below the floor.
#[derive(Clone, Debug, PartialEq)]
pub struct InsuranceFund {
    balance: Micros,
    floor: Micros,
    initial: Micros,
    peak: Micros,
    /// Lowest end-of-step balance; `None` before the first step ends.
    minimum: Option<Micros>,
    minimum_step: u32,
    max_drawdown: Micros,
    max_drawdown_pct: f64,
    first_depletion_step: Option<u32>,
    payouts: Micros,
    fees_received: Micros,
    need: FundNeed,
}

/// The uncensored fund need of a path (docs/model.md §7c): the largest
/// cumulative draw `D = Σ deficits asked − Σ fees received` an unlimited fund
/// would see. Tracked exactly until the fund first depletes (until then the run
/// is the unlimited fund's run); frozen from then on, when it is a lower bound
/// (`censored`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FundNeed {
    /// Current cumulative draw `D`, micro-USD (negative when fees exceed deficits).
    pub draw: Micros,
    /// Deficits asked of the fund so far (what an unlimited fund would have paid).
    pub asked: Micros,
    /// `N = max(0, max D)`, over the moments right after each deficit asked.
    pub need: Micros,
    /// Step at which `N` was first reached (0 when `N = 0`).
    pub step: u32,
    /// Deficits asked up to that moment: the bad debt behind `N`.
    pub bad_debt: Micros,
    /// `M = max(0, max D)` over the ends of steps (`M ≤ N`).
    pub need_at_step_end: Micros,
    /// The fund depleted: from then on the run is not the unlimited fund's, and
    /// `need` is a lower bound (the draw at depletion, already above `initial −
    /// floor`, or equal to it at a step's end).
    pub censored: bool,
}

impl InsuranceFund {
    /// A fund holding `initial`, paying down to `floor`.
    pub fn new(initial: Micros, floor: Micros) -> InsuranceFund {
        InsuranceFund {
            balance: initial,
            floor,
            initial,
            peak: initial,
            minimum: None,
            minimum_step: 0,
            max_drawdown: Micros::ZERO,
            max_drawdown_pct: 0.0,
            first_depletion_step: None,
            payouts: Micros::ZERO,
            fees_received: Micros::ZERO,
            need: FundNeed::default(),
        }
    }

    /// Records that a deficit `deficit` is asked of the fund at `step` (before it
    /// pays what it can, or before ADL takes the deficit past it): the unlimited
    /// fund's draw grows by it. Nothing after the first depletion.
    pub fn ask(&mut self, deficit: Micros, step: u32) {
        let n = &mut self.need;
        if n.censored {
            return;
        }
        n.draw += deficit;
        n.asked += deficit;
        if n.draw > n.need {
            n.need = n.draw;
            n.step = step;
            n.bad_debt = n.asked;
        }
    }

    /// The uncensored need so far (docs/model.md §7c).
    pub fn need(&self) -> FundNeed {
        self.need
    }

    /// Current balance.
    pub fn balance(&self) -> Micros {
        self.balance
    }

    /// What the fund can pay now without going below its floor.
    pub fn available(&self) -> Micros {
        (self.balance - self.floor).positive_part()
    }

    /// How much of `deficit` the fund pays: all of it while that keeps it at or
    /// above its floor, else what it has above the floor.
    pub fn cover(&self, deficit: Micros) -> Micros {
        Micros(deficit.0.min(self.available().0).max(0))
    }

    /// Credits a liquidation-fee share (called by the engine's ledger).
    pub fn receive_fee(&mut self, amount: Micros) {
        debug_assert!(amount.0 >= 0, "Invariant: fees are non-negative");
        self.balance += amount;
        self.fees_received += amount;
        if !self.need.censored {
            self.need.draw -= amount;
        }
    }

    /// Pays `amount` out for a deficit (called by the engine's ledger); never
    /// below the floor.
    pub fn pay_out(&mut self, amount: Micros) {
        debug_assert!(
            amount.0 >= 0 && amount <= self.available(),
            "Invariant: the fund pays {amount}, at most what it has above its floor"
        );
        self.balance -= amount;
        self.payouts += amount;
    }

    /// Records that a deficit at `step` exceeded what the fund could pay (it paid
    /// less than asked, or ADL under `position` scope went past it before it
    /// paid), if it is the first time: the fund's first depletion.
    pub fn record_shortfall(&mut self, step: u32) {
        if self.first_depletion_step.is_none() {
            self.first_depletion_step = Some(step);
        }
        self.need.censored = true;
    }

    /// Updates the running minimum, peak and drawdown at the end of a step.
    /// The minimum is over end-of-step balances only: the initial balance is
    /// not one (a fund that grows from step 0 has its minimum at step 0's end).
    pub fn observe(&mut self, step: u32) {
        if !self.need.censored && self.need.draw > self.need.need_at_step_end {
            self.need.need_at_step_end = self.need.draw;
        }
        if self.minimum.is_none_or(|m| self.balance < m) {
            self.minimum = Some(self.balance);
            self.minimum_step = step;
        }
        if self.balance > self.peak {
            self.peak = self.balance;
        }
        let dd = self.peak - self.balance;
        if dd > self.max_drawdown {
            self.max_drawdown = dd;
            self.max_drawdown_pct = if self.peak.0 > 0 {
                dd.0 as f64 / self.peak.0 as f64
            } else {
                0.0
            };
        }
        if self.available() == Micros::ZERO
            && self.initial > self.floor
            && self.first_depletion_step.is_none()
        {
            self.first_depletion_step = Some(step);
            self.need.censored = true;
        }
    }

    /// Starting balance.
    pub fn initial(&self) -> Micros {
        self.initial
    }
    /// Lowest end-of-step balance so far (the initial balance before any step
    /// has ended).
    pub fn minimum(&self) -> Micros {
        self.minimum.unwrap_or(self.initial)
    }
    /// Step at which the minimum was first reached.
    pub fn minimum_step(&self) -> u32 {
        self.minimum_step
    }
    /// Largest fall from a running peak, micro-USD.
    pub fn max_drawdown(&self) -> Micros {
        self.max_drawdown
    }
    /// Largest fall from a running peak, as a fraction of that peak.
    pub fn max_drawdown_pct(&self) -> f64 {
        self.max_drawdown_pct
    }
    /// First step at which the fund could not pay (or sat at its floor).
    pub fn first_depletion_step(&self) -> Option<u32> {
        self.first_depletion_step
    }
    /// Total paid out for bad debt.
    pub fn payouts(&self) -> Micros {
        self.payouts
    }
    /// Total fee income.
    pub fn fees_received(&self) -> Micros {
        self.fees_received
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pays_down_to_the_floor_and_records_depletion() {
        let mut f = InsuranceFund::new(Micros(100), Micros(30));
        assert_eq!(f.cover(Micros(50)), Micros(50));
        f.pay_out(Micros(50));
        assert_eq!(f.first_depletion_step(), None);
        assert_eq!(f.cover(Micros(50)), Micros(20));
        f.pay_out(Micros(20));
        f.record_shortfall(4);
        assert_eq!(f.balance(), Micros(30));
        assert_eq!(f.cover(Micros(-5)), Micros(0));
        assert_eq!(f.first_depletion_step(), Some(4));
        f.record_shortfall(5);
        assert_eq!(f.first_depletion_step(), Some(4));
        f.observe(4);
        assert_eq!(f.minimum(), Micros(30));
        assert_eq!(f.max_drawdown(), Micros(70));
        assert!((f.max_drawdown_pct() - 0.7).abs() < 1e-12);
        f.receive_fee(Micros(5));
        assert_eq!(f.available(), Micros(5));
    }

    /// The minimum is the lowest balance at a step's end: a fund that only
    /// grows has its minimum at the end of step 0, above its initial balance.
    #[test]
    fn minimum_excludes_the_initial_balance() {
        let mut f = InsuranceFund::new(Micros(100), Micros(0));
        assert_eq!(
            f.minimum(),
            Micros(100),
            "before any step: the initial balance"
        );
        f.receive_fee(Micros(7));
        f.observe(0);
        f.receive_fee(Micros(3));
        f.observe(1);
        assert_eq!(f.minimum(), Micros(107));
        assert_eq!(f.minimum_step(), 0);
        f.pay_out(Micros(50));
        f.observe(2);
        assert_eq!((f.minimum(), f.minimum_step()), (Micros(60), 2));
    }
}
