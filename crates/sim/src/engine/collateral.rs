//! Non-USD collateral in the engine (`[controls.collateral]`, docs/model.md
//! §10): who holds how many units of which asset, what they are worth at the
//! step's prices, their sale at a liquidation, and how the liquidation index
//! stays sound while their prices move.

use crate::money::Micros;
use crate::venue::controls::{CollateralHolding, CollateralPricing};

use super::collateral_book::{COLLATERAL_INDEX_SLACK, CollateralBook};
use super::ledger::{Party, TransferReason};
use super::{Engine, EngineError};

impl Engine {
    /// Gives accounts non-USD collateral (see [`crate::venue::controls::collateral`]);
    /// call before the first step, after [`Engine::set_time`] if the prices follow a
    /// schedule in UTC time. Each holding's `cost` leaves the account's USD balance
    /// (the USD ledger's total falls by the same), and its units count at their
    /// weighted price: equity falls by `cost − units × weighted price`, the haircut
    /// on an asset bought at market. The accounts are then re-indexed.
    ///
    /// # Errors
    /// A holding of an unknown or isolated account, of an unknown asset, or of a
    /// negative number of units or cost.
    pub fn set_collateral(
        &mut self,
        pricing: Box<dyn CollateralPricing>,
        holdings: &[CollateralHolding],
    ) -> Result<(), EngineError> {
        let mut book = self.new_collateral_book(pricing);
        for h in holdings {
            self.hold(&mut book, h)?;
        }
        for h in &mut book.holders {
            h.sort_unstable();
        }
        self.collateral = Some(book);
        self.reindex_all();
        Ok(())
    }

    /// An empty book priced at the current marks.
    fn new_collateral_book(&self, mut pricing: Box<dyn CollateralPricing>) -> CollateralBook {
        let n = pricing.assets();
        let marks_usd: Vec<f64> = self
            .markets
            .iter()
            .zip(&self.marks)
            .map(|(m, &t)| t as f64 * m.tick_size)
            .collect();
        let mut prices = vec![0.0; n];
        let mut market_prices = vec![0.0; n];
        pricing.prices(
            self.step,
            self.now_ns,
            &marks_usd,
            &mut market_prices,
            &mut prices,
        );
        CollateralBook {
            pricing,
            assets: n,
            units: vec![0; self.ledger.accounts.len() * n],
            holders: vec![Vec::new(); n],
            prices,
            market_prices,
            assumed: vec![0.0; n],
            ext_units: vec![0; n],
            initial_units: vec![0; n],
            marks_usd,
        }
    }

    /// Books one holding: its units into `book`, its cost out of the account's
    /// USD (and out of the ledger).
    fn hold(
        &mut self,
        book: &mut CollateralBook,
        h: &CollateralHolding,
    ) -> Result<(), EngineError> {
        let fail = |reason| EngineError::Collateral {
            account: h.account,
            reason,
        };
        let acc = self
            .ledger
            .accounts
            .get(h.account as usize)
            .ok_or(fail("no such account"))?;
        let k = h.asset as usize;
        if k >= book.assets {
            return Err(fail("no such asset"));
        }
        if acc.isolated {
            return Err(fail("an isolated account holds USD only"));
        }
        if h.units < 0 || h.cost < 0 {
            return Err(fail("negative units or cost"));
        }
        let slot = &mut book.units[h.account as usize * book.assets + k];
        if *slot == 0 && h.units > 0 {
            book.holders[k].push(h.account);
        }
        *slot += h.units;
        book.initial_units[k] += h.units;
        self.ledger.transfer(
            Party::Account(h.account),
            Party::Outside,
            Micros(h.cost),
            TransferReason::CollateralPurchase,
        );
        Ok(())
    }

    /// Value of an account's non-USD collateral at the step's weighted prices
    /// (zero without collateral).
    pub fn collateral_value(&self, account: u32) -> Micros {
        self.asset_value(account, 1.0)
    }

    /// Millionths of collateral asset `asset` that `account` holds.
    pub fn collateral_units(&self, account: u32, asset: usize) -> i64 {
        self.collateral
            .as_ref()
            .map_or(0, |c| c.units[account as usize * c.assets + asset])
    }

    /// `Σ floor(units × weighted price × factor)` over an account's assets.
    pub(super) fn asset_value(&self, account: u32, factor: f64) -> Micros {
        let Some(c) = &self.collateral else {
            return Micros::ZERO;
        };
        let row = account as usize * c.assets;
        let mut v = 0i64;
        for (k, &u) in c.units[row..row + c.assets].iter().enumerate() {
            if u != 0 {
                v += (u as f64 * c.prices[k] * factor).floor() as i64;
            }
        }
        Micros(v)
    }

    /// Equity the index assumes: collateral assets valued
    /// [`COLLATERAL_INDEX_SLACK`] below their weighted price, from the account's
    /// `equity` at their weighted price.
    pub(super) fn index_equity_from(&self, account: u32, equity: Micros) -> Micros {
        match &self.collateral {
            None => equity,
            Some(_) => {
                equity - self.asset_value(account, 1.0)
                    + self.asset_value(account, 1.0 - COLLATERAL_INDEX_SLACK)
            }
        }
    }

    /// Prices the assets at the step's marks (step stage 1, after the marks).
    pub(super) fn reprice_collateral(&mut self) {
        let Some(c) = self.collateral.as_mut() else {
            return;
        };
        for (i, m) in self.markets.iter().enumerate() {
            c.marks_usd[i] = self.marks[i] as f64 * m.tick_size;
        }
        c.pricing.prices(
            self.step,
            self.now_ns,
            &c.marks_usd,
            &mut c.market_prices,
            &mut c.prices,
        );
    }

    /// Sells every non-USD asset of `a` to the external counterparty at its market
    /// price (equity rises by the haircut on them). Returns whether it held any.
    pub(super) fn convert_collateral(&mut self, a: u32) -> bool {
        let Some(c) = self.collateral.as_mut() else {
            return false;
        };
        let row = a as usize * c.assets;
        let mut cash = Micros::ZERO;
        let mut any = false;
        for k in 0..c.assets {
            let u = c.units[row + k];
            if u == 0 {
                continue;
            }
            cash += Micros((u as f64 * c.market_prices[k]).floor() as i64);
            c.ext_units[k] += u;
            c.units[row + k] = 0;
            any = true;
        }
        if any {
            self.ledger.transfer(
                Party::External,
                Party::Account(a),
                cash,
                TransferReason::CollateralSale,
            );
            self.totals.collateral_converted += cash;
            self.totals.collateral_conversions += 1;
        }
        any
    }

    /// Re-evaluates the holders of every asset whose price fell below what their
    /// triggers assumed. O(assets) on a quiet step.
    pub(super) fn reindex_collateral_holders(&mut self) {
        let n = self.collateral.as_ref().map_or(0, |c| c.assets);
        for k in 0..n {
            let Some(c) = self.collateral.as_mut() else {
                return;
            };
            if c.prices[k] >= c.assumed[k] {
                continue;
            }
            c.assumed[k] = 0.0;
            let holders = std::mem::take(&mut c.holders[k]);
            for &a in &holders {
                if self.collateral_units(a, k) > 0 {
                    self.recheck(a);
                }
            }
            if let Some(c) = self.collateral.as_mut() {
                c.holders[k] = holders;
            }
        }
    }

    /// Records, when `a`'s triggers are computed, the weighted price they assume
    /// for each asset it holds.
    pub(super) fn note_assumed_collateral(&mut self, a: u32) {
        let Some(c) = self.collateral.as_mut() else {
            return;
        };
        let row = a as usize * c.assets;
        for k in 0..c.assets {
            let assumed = c.prices[k] * (1.0 - COLLATERAL_INDEX_SLACK);
            if c.units[row + k] > 0 && assumed > c.assumed[k] {
                c.assumed[k] = assumed;
            }
        }
    }
}
