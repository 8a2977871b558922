//! The invariants of docs/model.md §8, checked exactly at the current state.
//!
//! O(accounts): for tests and debug runs, never the hot loop. The ledger also
//! asserts conservation on the spot at every transfer in debug builds.

use crate::money::Micros;
use crate::venue::market::MarketId;

use super::Engine;
use super::events::Event;
use super::ledger::Party;
use super::rules::LastLine;

/// An invariant that does not hold, with the numbers that show it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InvariantViolation {
    /// The parties' money does not sum to the ledger's total.
    #[error("conservation: ledger sums to {sum} µUSD, started at {total}")]
    Conservation {
        /// Σ over the parties, µUSD.
        sum: i64,
        /// What it must be.
        total: i64,
    },
    /// A collateral asset's units (accounts + external counterparty) changed.
    #[error("conservation: collateral asset {asset} sums to {held} units, started at {initial}")]
    CollateralUnits {
        /// Asset index.
        asset: usize,
        /// Units held now.
        held: i64,
        /// Units at the start.
        initial: i64,
    },
    /// A market's sizes do not net to zero.
    #[error("zero-sum: market {market} has net size {lots} lots")]
    NetSize {
        /// Market name.
        market: String,
        /// Net lots.
        lots: i64,
    },
    /// The tracked long open interest differs from the positions.
    #[error("open interest: market {market} tracks {tracked} long lots, holds {held}")]
    OpenInterest {
        /// Market name.
        market: String,
        /// Lots tracked.
        tracked: i64,
        /// Lots held.
        held: i64,
    },
    /// Unrealized PnL over everyone is not zero.
    #[error("zero-sum: unrealized PnL sums to {sum} µUSD")]
    UnrealizedPnl {
        /// The sum.
        sum: i128,
    },
    /// An account with positions is below zero with no liquidation pending.
    #[error(
        "account {account} has negative equity {equity} with open positions and no pending liquidation"
    )]
    NegativeEquity {
        /// Account id.
        account: u64,
        /// Its equity.
        equity: Micros,
    },
    /// Under `none`: the accounts' shortfall differs from the recorded insolvency.
    #[error("insolvency: accounts are short {short} µUSD, recorded {recorded}")]
    Insolvency {
        /// Σ negative equity of flat accounts, µUSD.
        short: i64,
        /// Recorded insolvency, µUSD.
        recorded: i64,
    },
    /// Negative equity left although the last line is not `none`.
    #[error("negative equity {short} µUSD left with last line not `none`")]
    Uncovered {
        /// Σ negative equity, µUSD.
        short: i64,
    },
    /// ADL closed more than the bankrupt position.
    #[error("ADL closed {closed} lots of a {bankrupt}-lot position")]
    AdlOverclose {
        /// Lots closed.
        closed: i64,
        /// Lots of the bankrupt position.
        bankrupt: i64,
    },
    /// A haircut above the winner's positive PnL.
    #[error("haircut {amount} above positive PnL {positive_pnl} (account {account})")]
    HaircutAbovePnl {
        /// Haircut.
        amount: Micros,
        /// The winner's positive PnL.
        positive_pnl: Micros,
        /// Account index.
        account: u32,
    },
    /// The liquidation index missed a liquidatable account.
    #[error(
        "account {account} is liquidatable (equity {equity}, maintenance {maintenance}) but was not caught at step {step}"
    )]
    IndexMissed {
        /// Account id.
        account: u64,
        /// Its equity.
        equity: Micros,
        /// Its maintenance requirement.
        maintenance: Micros,
        /// Steps run.
        step: u32,
    },
}

type Check = Result<(), InvariantViolation>;

impl Engine {
    /// Checks docs/model.md §8 exactly at the current state: conservation of money,
    /// zero-sum PnL, no negative equity (except recorded insolvency under `none`),
    /// and, for the events of the last step, that ADL never closed more than the
    /// bankrupt position and haircuts never exceeded positive PnL.
    ///
    /// O(accounts): for tests and debug runs, not the hot loop.
    ///
    /// # Errors
    /// The first violated invariant.
    pub fn check_invariants(&self) -> Check {
        self.check_conservation()?;
        self.check_zero_sum()?;
        self.check_negative_equity()?;
        self.check_events()
    }

    /// Checks that the index missed nothing: every account that is not pending is
    /// not liquidatable. O(accounts); for tests.
    ///
    /// # Errors
    /// [`InvariantViolation::IndexMissed`] for the first liquidatable account that
    /// is not pending.
    pub fn check_index_soundness(&self) -> Check {
        for (i, acc) in self.ledger.accounts.iter().enumerate() {
            if !self.ledger.is_pending(i as u32) && self.is_liquidatable(i as u32) {
                return Err(InvariantViolation::IndexMissed {
                    account: acc.id,
                    equity: self.equity(i as u32),
                    maintenance: self.maintenance(i as u32),
                    step: self.step,
                });
            }
        }
        Ok(())
    }

    /// Money over every party, summed afresh; collateral units per asset.
    fn check_conservation(&self) -> Check {
        let l = &self.ledger;
        let sum: i64 = (0..l.accounts.len() as u32)
            .map(|a| l.collateral(a).0)
            .sum::<i64>()
            + l.balance(Party::External).0
            + l.balance(Party::InsuranceFund).0
            + (0..self.markets.len())
                .map(|m| l.balance(Party::MarketFund(m as MarketId)).0)
                .sum::<i64>()
            + l.balance(Party::Liquidators).0
            + l.balance(Party::Venue).0
            + l.balance(Party::Vault).0;
        if sum != l.total().0 {
            return Err(InvariantViolation::Conservation {
                sum,
                total: l.total().0,
            });
        }
        if let Some(c) = &self.collateral {
            for k in 0..c.assets {
                let held: i64 =
                    c.units.iter().skip(k).step_by(c.assets).sum::<i64>() + c.ext_units[k];
                if held != c.initial_units[k] {
                    return Err(InvariantViolation::CollateralUnits {
                        asset: k,
                        held,
                        initial: c.initial_units[k],
                    });
                }
            }
        }
        Ok(())
    }

    /// Net size, tracked open interest and unrealized PnL per market.
    fn check_zero_sum(&self) -> Check {
        let l = &self.ledger;
        let mut pnl = 0i128;
        for (i, m) in self.markets.iter().enumerate() {
            let mut lots = l.ext_lots[i] + l.vault_lots[i];
            pnl += (m.value(l.ext_lots[i], self.marks[i]) - l.ext_cost[i]).0 as i128;
            pnl += (m.value(l.vault_lots[i], self.marks[i]) - l.vault_cost[i]).0 as i128;
            for &s in &l.market_slots[i] {
                let p = l.positions[s as usize];
                lots += p.lots;
                pnl += (m.value(p.lots, self.marks[i]) - p.cost).0 as i128;
            }
            if lots != 0 {
                return Err(InvariantViolation::NetSize {
                    market: m.name.clone(),
                    lots,
                });
            }
            let long: i64 = l.market_slots[i]
                .iter()
                .map(|&s| l.positions[s as usize].lots.max(0))
                .sum::<i64>()
                + l.ext_lots[i].max(0)
                + l.vault_lots[i].max(0);
            if long != l.long_lots[i] {
                return Err(InvariantViolation::OpenInterest {
                    market: m.name.clone(),
                    tracked: l.long_lots[i],
                    held: long,
                });
            }
        }
        if pnl != 0 {
            return Err(InvariantViolation::UnrealizedPnl { sum: pnl });
        }
        Ok(())
    }

    /// Negative equity only while a liquidation is pending, or as recorded
    /// insolvency under `none`.
    fn check_negative_equity(&self) -> Check {
        let mut shortfall = 0i64;
        for (i, acc) in self.ledger.accounts.iter().enumerate() {
            let e = self.equity(i as u32);
            if e.0 >= 0 || self.ledger.is_pending(i as u32) {
                continue;
            }
            if self.has_open_positions(i as u32) {
                return Err(InvariantViolation::NegativeEquity {
                    account: acc.id,
                    equity: e,
                });
            }
            shortfall -= e.0;
        }
        match self.cfg.last_line {
            LastLine::None if shortfall != self.totals.insolvency.0 => {
                Err(InvariantViolation::Insolvency {
                    short: shortfall,
                    recorded: self.totals.insolvency.0,
                })
            }
            LastLine::None => Ok(()),
            _ if shortfall != 0 => Err(InvariantViolation::Uncovered { short: shortfall }),
            _ => Ok(()),
        }
    }

    /// ADL and haircuts of the last step's events.
    fn check_events(&self) -> Check {
        for ev in &self.events {
            match *ev {
                Event::Adl {
                    bankrupt_lots,
                    closed_lots,
                    ..
                } if closed_lots > bankrupt_lots => {
                    return Err(InvariantViolation::AdlOverclose {
                        closed: closed_lots,
                        bankrupt: bankrupt_lots,
                    });
                }
                Event::Haircut {
                    amount,
                    positive_pnl,
                    account,
                } if amount > positive_pnl => {
                    return Err(InvariantViolation::HaircutAbovePnl {
                        amount,
                        positive_pnl,
                        account,
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }
}
