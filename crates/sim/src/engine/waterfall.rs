//! The loss waterfall (docs/model.md §6): a deficit is paid by the insurance
//! fund (the market's own fund where it has one, else the shared one), then by the scenario's last line: ADL against the other side, a
//! haircut of the winners' PnL, or recorded insolvency. What nobody can absorb
//! the venue covers.

use std::cmp::Reverse;

use crate::money::Micros;
use crate::venue::adl::{self, AdlCandidate, AdlFillTarget, AdlPolicy};
use crate::venue::market::MarketId;

use super::Engine;
use super::adl_record::TakeBooked;
use super::adl_request::AdlRequest;
use super::events::Event;
use super::index::BookedWinner;
use super::ledger::{Party, TransferReason, WinnerFlags};
use super::margin::MaintenanceAt;
use super::rules::LastLine;

impl Engine {
    /// Covers the deficit `deficit` a close left in account `a` (its position in
    /// `market` on `side`): the market's fund (its own, else the shared one),
    /// then the last line. A market with its own fund never draws on the
    /// shared one (dYdX v4: `IsValidInsuranceFundDelta` reads the perpetual's
    /// fund only).
    pub(super) fn cover_deficit(&mut self, a: u32, market: MarketId, side: i64, deficit: Micros) {
        let mi = market as usize;
        self.ledger.fund_stats_for(mi).ask(deficit, self.step);
        let paid = self.ledger.fund_for(mi).cover(deficit);
        self.ledger.transfer(
            self.ledger.fund_party(mi),
            Party::Account(a),
            paid,
            TransferReason::FundPayout,
        );
        if paid < deficit {
            self.ledger.fund_stats_for(mi).record_shortfall(self.step);
        }
        self.venue_flows.covered_by_fund += paid;
        self.totals.covered_by_fund += paid;
        let mut left = deficit - paid;
        let mut socialized = Micros::ZERO;
        let venue;
        match self.cfg.last_line {
            LastLine::None => {
                self.ledger.mark_dirty(a);
                self.ledger.accounts[a as usize].shortfall_recorded += left;
                self.venue_flows.insolvency += left;
                self.totals.insolvency += left;
                venue = Micros::ZERO;
            }
            LastLine::Socialize | LastLine::SocializeFunding | LastLine::Adl { .. } => {
                if matches!(self.cfg.last_line, LastLine::Socialize) && left.0 > 0 {
                    socialized = self.socialize(a, market, side, left);
                    left -= socialized;
                }
                if matches!(self.cfg.last_line, LastLine::SocializeFunding) && left.0 > 0 {
                    socialized = self.socialize_by_size(a, market, left);
                    left -= socialized;
                }
                // Whatever nobody could absorb (no winners left, or ADL rounding), the
                // venue covers and records as insolvency.
                venue = left;
                self.ledger.transfer(
                    Party::Venue,
                    Party::Account(a),
                    venue,
                    TransferReason::VenueCover,
                );
                self.venue_flows.insolvency += venue;
                self.totals.insolvency += venue;
            }
        }
        // The whole deficit is bad debt, whoever ends up carrying it.
        self.ledger.mark_dirty(a);
        self.ledger.accounts[a as usize].deficit += deficit;
        self.venue_flows.bad_debt += deficit;
        self.totals.bad_debt += deficit;
        if self.record_events {
            self.events.push(Event::BadDebt {
                account: a,
                deficit,
                insurance_fund: paid,
                socialized,
                venue,
            });
        }
    }

    /// Haircuts the other side's positive PnL in `market` pro-rata for `amount`,
    /// paid to the bankrupt account; returns what was charged (at most the total
    /// positive PnL).
    fn socialize(&mut self, bankrupt: u32, market: MarketId, side: i64, amount: Micros) -> Micros {
        let mut winners = std::mem::take(&mut self.scratch.winners);
        let total = self.collect_winners(bankrupt, market, side, &mut winners);
        let charge = (amount.0 as i128).min(total);
        let mut charged = 0i128;
        if charge > 0 {
            let shares = haircut_shares(&winners, charge, total);
            charged = shares.iter().sum();
            for (w, &h) in winners.iter().zip(&shares) {
                if h > 0 {
                    self.charge_haircut(bankrupt, w.0, Micros(h as i64), w.2);
                }
            }
            let charged_m = Micros(charged as i64);
            self.venue_flows.socialized_loss += charged_m;
            self.totals.socialized_loss += charged_m;
            for w in &winners {
                self.recheck(w.0);
            }
        }
        self.scratch.winners = winners;
        Micros(charged as i64)
    }

    /// The positions on the other side of `market` (not `side`) with positive PnL,
    /// outside the bankrupt account, as `(account, slot, pnl)`; returns Σ pnl.
    fn collect_winners(
        &self,
        bankrupt: u32,
        market: MarketId,
        side: i64,
        winners: &mut Vec<(u32, u32, Micros)>,
    ) -> i128 {
        let mi = market as usize;
        let mark = self.marks[mi];
        winners.clear();
        let mut total = 0i128;
        for &s in &self.ledger.market_slots[mi] {
            let p = self.ledger.positions[s as usize];
            if p.lots == 0 || p.lots.signum() == side {
                continue;
            }
            let owner = self.ledger.slot_owner(s);
            if owner == bankrupt {
                continue;
            }
            let pnl = self.markets[mi].value(p.lots, mark) - p.cost;
            if pnl.0 > 0 {
                winners.push((owner, s, pnl));
                total += pnl.0 as i128;
            }
        }
        total
    }

    /// One winner's haircut, paid to the bankrupt account.
    fn charge_haircut(&mut self, bankrupt: u32, winner: u32, amount: Micros, positive_pnl: Micros) {
        self.ledger.transfer(
            Party::Account(winner),
            Party::Account(bankrupt),
            amount,
            TransferReason::Haircut,
        );
        self.ledger.mark_dirty(winner);
        self.ledger.accounts[winner as usize].haircut += amount;
        if self.record_events {
            self.events.push(Event::Haircut {
                account: winner,
                amount,
                positive_pnl,
            });
        }
    }

    /// Closes `lots` of the bankrupt position in `slot` against the other side at
    /// `price` (the bankruptcy price, ticks). Returns the lots nobody could take.
    ///
    /// The candidates come from the (market, side) ADL queue of
    /// [`super::adl_queue`], kept through the step rather than re-collected here.
    pub(super) fn deleverage(
        &mut self,
        a: u32,
        slot: u32,
        lots: i64,
        minimum_lots: i64,
        price: i64,
    ) -> i64 {
        let mut cands = std::mem::take(&mut self.scratch.candidates);
        let mut targets = std::mem::take(&mut self.scratch.fill_targets);
        let mut fills = std::mem::take(&mut self.scratch.fills);
        let mut queues = std::mem::take(&mut self.adl_queues);
        let p = self.ledger.positions[slot as usize];
        let mi = p.market as usize;
        let winners = -p.lots.signum();
        let q = &mut queues[2 * mi + usize::from(winners < 0)];
        #[cfg(debug_assertions)]
        let rng_before = self.rng.clone();
        let policy = match std::mem::replace(&mut self.cfg.last_line, LastLine::None) {
            LastLine::Adl { policy, scope } => (policy, scope),
            _ => unreachable!("deleverage is only called under ADL"),
        };
        let req = AdlRequest {
            market: mi,
            winners,
            bankrupt: a,
            price,
            needed: lots,
        };
        let pro_rata = matches!(policy.0, AdlPolicy::ProRata);
        // The indexes write the booking's records themselves; the other
        // policies' candidates are converted below.
        let min_max = matches!(policy.0, AdlPolicy::MinMaxLeverage);
        let indexed = pro_rata || min_max;
        let filled = match &policy.0 {
            AdlPolicy::Queue(ranking) => {
                self.sync_adl_queue(q, mi, winners, Some(ranking.as_ref()));
                self.walk_ranked_queue(q, ranking.as_ref(), &req, &mut cands, &mut fills)
            }
            AdlPolicy::DydxWalk => self.walk_dydx(&mut q.open, &req, &mut cands, &mut fills),
            AdlPolicy::ProRata => self.deleverage_pro_rata(
                &mut q.pro_rata,
                &req,
                &mut cands,
                &mut targets,
                &mut fills,
            ),
            AdlPolicy::MinMaxLeverage => {
                self.fill_min_max(&mut q.lev, &req, &mut targets, &mut fills)
            }
            other => {
                self.sync_adl_queue(q, mi, winners, None);
                self.collect_queue_candidates(q, a, price, other.reads_margin(), &mut cands);
                adl::allocate(other, &mut cands, lots, &mut self.rng, &mut fills)
            }
        };
        #[cfg(debug_assertions)]
        self.check_adl_against_full_sort(
            &policy.0, a, slot, lots, price, rng_before, &cands, &targets, &fills,
        );
        if !indexed {
            self.fill_targets_of(&cands, &mut targets);
        }
        self.cfg.last_line = LastLine::Adl {
            policy: policy.0,
            scope: policy.1,
        };
        self.adl_queues = queues;
        let bankrupt_lots = self.ledger.positions[slot as usize].lots.abs();
        let mut equity_after = std::mem::take(&mut self.scratch.equity_after);
        let accounts = self.fill_accounts_distinct(&targets, &fills);
        // A large `pro_rata` close books and re-indexes its winners a chunk
        // at a time (`adl_pro_rata.rs`), while their lines are in the cache.
        let chunked = pro_rata && accounts == FillAccounts::Increasing;
        let adl_cost = if chunked {
            let mut queues = std::mem::take(&mut self.adl_queues);
            let side = &mut queues[2 * mi + usize::from(winners < 0)].pro_rata;
            let cost =
                self.book_pro_rata_fills(side, slot, price, &targets, &fills, &mut equity_after);
            self.adl_queues = queues;
            cost
        } else {
            // Only `min_max_leverage`'s winners' positions are out of the
            // cache by their booking (docs/performance.md, round 27).
            self.book_adl_fills(
                slot,
                price,
                &targets,
                &fills,
                accounts,
                min_max,
                &mut equity_after,
            )
        };
        let adl_cost = adl_cost.max(Micros::ZERO);
        // The deficit the winners carried is bad debt like any other: the account's
        // loss beyond its equity at the mark, paid by closing at the bankruptcy price.
        self.ledger.mark_dirty(a);
        self.ledger.accounts[a as usize].deficit += adl_cost;
        self.venue_flows.bad_debt += adl_cost;
        self.venue_flows.adl_cost += adl_cost;
        self.totals.bad_debt += adl_cost;
        // No candidate (nobody on the other side in profit at the bankruptcy price with
        // equity to absorb it): nothing was deleveraged, so no ADL event is counted
        // (the lots go to the market and the venue covers what the fund cannot).
        if filled > 0 {
            let closed = AdlClose {
                bankrupt_lots,
                filled,
                minimum_lots,
                price,
                cost: adl_cost,
            };
            self.record_adl(a, slot, &closed);
        }
        if !accounts.distinct() {
            self.recheck_winners(&targets, &fills);
        }
        if pro_rata && filled > 0 && !chunked {
            let mut queues = std::mem::take(&mut self.adl_queues);
            let side = &mut queues[2 * mi + usize::from(winners < 0)].pro_rata;
            self.sync_pro_rata_after_fills(side, mi, winners, &targets, &fills, &equity_after);
            self.adl_queues = queues;
        }
        self.scratch.equity_after = equity_after;
        self.scratch.candidates = cands;
        self.scratch.fill_targets = targets;
        self.scratch.fills = fills;
        lots - filled
    }

    /// Re-checks the margin of each winner filled, in fill order, after every
    /// fill is booked: the close's path when some account takes two of its
    /// fills (else [`Engine::book_adl_fills`] re-checks each winner as it
    /// books it). The equity is summed again: an account filled twice has
    /// changed since its first fill's equity was read.
    fn recheck_winners(&mut self, cands: &[AdlFillTarget], fills: &[(usize, i64)]) {
        for &(i, _) in fills {
            self.recheck_winner(cands[i].account, None);
        }
    }

    /// Whether the fills of `fills` go to different accounts: then each
    /// winner's lines change at its own fill only, so its equity after the
    /// fill follows from the candidate's and the fill, and its margin can be
    /// re-checked as soon as the fill is booked. `pro_rata`'s fills come in
    /// increasing account order (checked by comparing neighbours); other
    /// orders (`min_max_leverage`'s leverage order, the queues' rankings)
    /// are checked by a mark in each winner's account line
    /// ([`super::ledger::Ledger::mark_distinct`]), which
    /// [`Engine::book_adl_fills`] clears as it books each fill. (Checking
    /// them on a sorted copy of the accounts was tried and did not pay:
    /// docs/performance.md, "ADL fills' winner side, round 9"; the mark
    /// reads the line the booking writes anyway.)
    fn fill_accounts_distinct(
        &mut self,
        cands: &[AdlFillTarget],
        fills: &[(usize, i64)],
    ) -> FillAccounts {
        let increasing = fills
            .windows(2)
            .all(|w| cands[w[0].0].account < cands[w[1].0].account);
        if increasing {
            FillAccounts::Increasing
        } else if self
            .ledger
            .mark_distinct(fills.iter().map(|&(i, _)| cands[i].account))
        {
            FillAccounts::Marked
        } else {
            FillAccounts::Repeated
        }
    }

    /// The booking's record of each candidate of `cands` (index for index,
    /// so the fills' indexes hold), for the policies that allocate on full
    /// candidates. The equity is the candidate's USD figure when it carries
    /// it exactly, else the account's now (nothing has been booked yet:
    /// the same amount).
    pub(super) fn fill_targets_of(&self, cands: &[AdlCandidate], targets: &mut Vec<AdlFillTarget>) {
        targets.clear();
        targets.extend(cands.iter().map(|c| self.fill_target_of(c)));
    }

    /// The booking's record of candidate `c`, read before any fill of its
    /// close is booked ([`Engine::fill_targets_of`]).
    pub(super) fn fill_target_of(&self, c: &AdlCandidate) -> AdlFillTarget {
        let equity = Micros::from_usd_exact(c.equity).unwrap_or_else(|| self.equity(c.account));
        AdlFillTarget::of(c, equity)
    }

    /// Debug builds: a booking record an index wrote from its own entry
    /// (`pro_rata`'s, `min_max_leverage`'s) is what a candidate evaluation
    /// of its slot at `price` gives, in every field the booking reads (the
    /// equity bit for bit).
    #[cfg(debug_assertions)]
    pub(super) fn check_fill_target(&self, c: &AdlFillTarget, price: i64) {
        let full = self.adl_candidate(c.slot, price, false);
        assert_eq!(
            full.map(|f| (f.account, f.slot, f.lots, f.equity.to_bits())),
            Some((c.account, c.slot, c.lots, c.equity.to_usd().to_bits())),
            "Invariant: an index's booking record is a candidate evaluation's"
        );
    }

    /// Debug builds, small markets: the allocation from the queue is the one a
    /// fresh collection and full sort of the candidates gives (same fills, as a
    /// set of (slot, lots); for the unranked policies the same candidates in the
    /// same order).
    #[cfg(debug_assertions)]
    #[allow(clippy::too_many_arguments)]
    fn check_adl_against_full_sort(
        &self,
        policy: &AdlPolicy,
        a: u32,
        slot: u32,
        lots: i64,
        price: i64,
        mut rng: rand_chacha::ChaCha8Rng,
        cands: &[AdlCandidate],
        targets: &[AdlFillTarget],
        fills: &[(usize, i64)],
    ) {
        let mi = self.ledger.positions[slot as usize].market as usize;
        if self.ledger.market_slots[mi].len() > 4000 {
            return;
        }
        if matches!(policy, AdlPolicy::DydxWalk) {
            self.check_dydx_walk_against_full_scan(a, slot, lots, price, rng, cands, fills);
            return;
        }
        if matches!(policy, AdlPolicy::MinMaxLeverage) {
            self.check_min_max_against_full_scan(a, slot, lots, price, targets, fills);
            return;
        }
        let mut full = Vec::new();
        self.collect_adl_candidates(a, slot, price, policy.reads_margin(), &mut full);
        if matches!(policy, AdlPolicy::ProRata) {
            self.check_pro_rata_against_full(&mut full, lots, targets, fills);
            return;
        }
        if !matches!(policy, AdlPolicy::Queue(_)) {
            assert_eq!(
                full, cands,
                "Invariant: the ADL queue holds every candidate, in order"
            );
            return;
        }
        let mut full_fills = Vec::new();
        adl::allocate(policy, &mut full, lots, &mut rng, &mut full_fills);
        let by_slot = |c: &[AdlCandidate], f: &[(usize, i64)]| {
            let mut v: Vec<(u32, i64)> = f.iter().map(|&(i, l)| (c[i].slot, l)).collect();
            v.sort_unstable();
            v
        };
        assert_eq!(
            by_slot(cands, fills),
            by_slot(&full, &full_fills),
            "Invariant: the ADL queue fills as a full sort of the candidates does"
        );
    }

    /// Every position that can take part of the bankrupt position in `slot` at
    /// `price`, in slot order (debug builds: the reference the queues are checked
    /// against).
    #[cfg(debug_assertions)]
    fn collect_adl_candidates(
        &self,
        a: u32,
        slot: u32,
        price: i64,
        margin: bool,
        cands: &mut Vec<AdlCandidate>,
    ) {
        let p = self.ledger.positions[slot as usize];
        let mi = p.market as usize;
        let side = p.lots.signum();
        cands.clear();
        for &s in &self.ledger.market_slots[mi] {
            let q = self.ledger.positions[s as usize];
            if q.lots == 0 || q.lots.signum() == side || self.ledger.slot_owner(s) == a {
                continue;
            }
            if let Some(c) = self.adl_candidate(s, price, margin) {
                cands.push(c);
            }
        }
    }

    /// The position in slot `s` as a candidate against a bankruptcy price `price`
    /// (ticks): `None` unless it is still in profit at that price, in an account
    /// with positive equity, and can take at least one lot; its lots are limited
    /// to what its equity absorbs. Without `margin`, the account's `maintenance`
    /// and `wallet` are left at 0 (see [`AdlPolicy::reads_margin`]).
    pub(super) fn adl_candidate(&self, s: u32, price: i64, margin: bool) -> Option<AdlCandidate> {
        let owner = self.ledger.slot_owner(s);
        self.adl_candidate_with_equity(owner, s, price, margin, self.equity(owner))
    }

    /// [`Engine::adl_candidate`] for slot `s` of `owner`, whose equity at the
    /// marks the caller already holds (`equity`, as [`Engine::equity`] gives it).
    pub(super) fn adl_candidate_with_equity(
        &self,
        owner: u32,
        s: u32,
        price: i64,
        margin: bool,
        equity: Micros,
    ) -> Option<AdlCandidate> {
        debug_assert_eq!(
            equity,
            self.equity(owner),
            "Invariant: the equity given is the account's at the marks"
        );
        let q = self.ledger.positions[s as usize];
        let mi = q.market as usize;
        let mark = self.marks[mi];
        let m = &self.markets[mi];
        // Only positions still in profit at the bankruptcy price, in accounts with
        // positive equity: ADL must not create new bankruptcies.
        if (m.value(q.lots, price) - q.cost).0 <= 0 {
            return None;
        }
        if equity.0 <= 0 {
            return None;
        }
        // When the bankruptcy price is worse than the mark for the winner (the
        // bankrupt was already underwater: a gap, or the latency window), each lot
        // closed costs it `loss` against the mark. Take no more lots than its
        // equity absorbs: positive equity alone did not keep a cross account,
        // losing in another market, from being made bankrupt by the ADL.
        let loss = (m.value(-q.lots.signum(), price) - m.value(-q.lots.signum(), mark)).0;
        let lots = if loss > 0 {
            q.lots.abs().min(equity.0 / loss)
        } else {
            q.lots.abs()
        };
        if lots == 0 {
            return None;
        }
        Some(self.candidate_fields(owner, s, lots, equity, price, margin))
    }

    /// The position in slot `s` as its ranking sees it: every field a score reads
    /// (PnL, entry value, notional, equity, wallet, maintenance) at the mark,
    /// unfiltered.
    pub(super) fn adl_candidate_at_mark(&self, s: u32) -> AdlCandidate {
        let owner = self.ledger.slot_owner(s);
        let lots = self.ledger.positions[s as usize].lots.abs();
        let mark = self.marks[self.ledger.positions[s as usize].market as usize];
        self.candidate_fields(owner, s, lots, self.equity(owner), mark, true)
    }

    /// The candidate record of slot `s` of `owner` taking up to `lots` at `price`.
    fn candidate_fields(
        &self,
        owner: u32,
        s: u32,
        lots: i64,
        equity: Micros,
        price: i64,
        margin: bool,
    ) -> AdlCandidate {
        let q = self.ledger.positions[s as usize];
        let mi = q.market as usize;
        let mark = self.marks[mi];
        let m = &self.markets[mi];
        AdlCandidate {
            account: owner,
            slot: s,
            lots,
            pnl: (m.value(q.lots, mark) - q.cost).to_usd(),
            entry_value: q.cost.to_usd().abs(),
            notional: m.value(q.lots.abs(), mark).to_usd(),
            equity: equity.to_usd(),
            wallet: if margin {
                (self.ledger.collateral(owner) + self.asset_value(owner, 1.0)).to_usd()
            } else {
                0.0
            },
            maintenance: if margin {
                self.maintenance(owner).to_usd()
            } else {
                0.0
            },
            loss_per_lot: (m.value(-q.lots.signum(), price) - m.value(-q.lots.signum(), mark))
                .to_usd(),
            lot_value: m.value(1, mark).to_usd(),
        }
    }

    /// Books each fill: the winner closes at the bankruptcy price against the
    /// bankrupt position in `slot` ([`Engine::book_adl_fill`]). Returns what
    /// the winners gave up against the mark (negative when the bankrupt
    /// account was still solvent at the mark, so the bankruptcy price was
    /// better than the mark for the winners), and writes each winner's equity
    /// after its fill, in fill order, to `equity_after`.
    ///
    /// When the fills go to different accounts (`accounts`, see
    /// [`Engine::fill_accounts_distinct`]; the marks it set are cleared
    /// here, fill by fill), the bankrupt position's pending funding is
    /// applied once before the fills (with its lots before any fill, as
    /// booking each fill against it applies it at the first) and the
    /// position moves once after them, by their sum
    /// (`Ledger::settle_counter`).
    ///
    /// In chunks of [`TOUCH_AHEAD`] fills, each chunk's winners' positions
    /// loaded first ([`Engine::touch_fill_positions`]) if `touch`: where the
    /// policy's reads left them out of the cache (`min_max_leverage`: 56% of
    /// the booking's samples at 1M on that load; `pro_rata`: 7%, for which
    /// the pass is ~1% more instructions for nothing, and its chunked closes
    /// touch their fills already).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn book_adl_fills(
        &mut self,
        slot: u32,
        price: i64,
        cands: &[AdlFillTarget],
        fills: &[(usize, i64)],
        accounts: FillAccounts,
        touch: bool,
        equity_after: &mut Vec<Micros>,
    ) -> Micros {
        let close = self.close_booking(slot, price, accounts);
        // Written in place, a slot per fill, and the take log sized once a
        // close: no capacity check per fill.
        equity_after.clear();
        equity_after.resize(fills.len(), Micros::ZERO);
        self.adl_log.takes.reserve(fills.len());
        if close.distinct && !fills.is_empty() {
            self.ledger.ready_counter(slot);
        }
        let mut sums = FillSums::default();
        let chunks = fills
            .chunks(TOUCH_AHEAD)
            .zip(equity_after.chunks_mut(TOUCH_AHEAD));
        for (chunk, outs) in chunks {
            if touch {
                self.touch_fill_positions(cands, chunk);
            }
            for (&(i, q), out) in chunk.iter().zip(outs) {
                *out = self.book_adl_fill(&close, cands[i], q, &mut sums);
            }
        }
        if close.distinct {
            self.ledger
                .settle_counter(slot, sums.taken_lots, sums.taken_value);
        }
        sums.adl_cost
    }

    /// What every fill of the close of the bankrupt position in `slot` at
    /// `price` reads, read once a close ([`Engine::book_adl_fills`]).
    fn close_booking(&self, slot: u32, price: i64, accounts: FillAccounts) -> CloseBooking {
        let mi = self.ledger.positions[slot as usize].market as usize;
        let mark = self.marks[mi];
        // One lot's value at the bankruptcy price and at the mark, as 128-bit
        // products (see `value_of_lots`).
        let k = i128::from(self.markets[mi].micros_per_lot_tick);
        CloseBooking {
            slot,
            bankrupt: self.ledger.slot_owner(slot),
            mi,
            price,
            mark,
            at_price_k: i128::from(price) * k,
            at_mark_k: i128::from(mark) * k,
            maintenance: self.maintenance_at(mi),
            distinct: accounts.distinct(),
            marked: accounts == FillAccounts::Marked,
        }
    }

    /// Books one fill of a close (`close`): `q` lots of the winner `c`'s
    /// position close at the bankruptcy price against the bankrupt one.
    /// Adds to `sums` what it moves; returns the winner's equity after it.
    ///
    /// With distinct accounts the winner's equity after its fill is its
    /// candidate's equity (read when the close chose it; nothing has changed
    /// the account since) plus what the fill moved (the fill's lots at the
    /// mark less what it paid), instead of a sum over its lines; and its
    /// margin is re-checked right after its fill, while its lines are in
    /// the cache, rather than in a second pass over the winners
    /// (`recheck_winners`). Exact: the re-check reads only the winner's own
    /// lines and the marks, which the later fills of the close (other
    /// winners, the bankrupt position) do not change, and the re-checks
    /// push their triggers in the same order as before. Debug builds assert
    /// each equity against a fresh sum.
    #[inline(always)]
    fn book_adl_fill(
        &mut self,
        close: &CloseBooking,
        c: AdlFillTarget,
        q: i64,
        sums: &mut FillSums,
    ) -> Micros {
        let before = self.ledger.positions[c.slot as usize];
        let w_trade = -before.lots.signum() * q;
        let v = value_of_lots(w_trade, close.at_price_k);
        let at_mark = value_of_lots(w_trade, close.at_mark_k);
        let pnl_before = value_of_lots(before.lots, close.at_mark_k) - before.cost;
        let m = &self.markets[close.mi];
        debug_assert_eq!(
            (v, at_mark, pnl_before),
            (
                m.value(w_trade, close.price),
                m.value(w_trade, close.mark),
                m.value(before.lots, close.mark) - before.cost
            ),
            "Invariant: a lot's value read once a close is the market's"
        );
        let flags = self.trade_adl_fill(close, c, w_trade, v, sums);
        // With distinct accounts the record's equity is the account's
        // before this fill; the position's lots move by `w_trade` and its
        // cost by `v`; its value at the mark is linear in the lots; the
        // collateral keeps its true balance (pending funding applied is
        // funding paid).
        let equity = if close.distinct {
            c.equity + at_mark - v
        } else {
            self.equity(c.account)
        };
        debug_assert_eq!(
            equity,
            self.equity(c.account),
            "Invariant: a winner's equity after its fill is its equity before plus the fill's move"
        );
        self.log_adl_take(&TakeBooked {
            winner: c.account,
            market: before.market,
            lots: q,
            held: before.lots.abs(),
            pnl_before,
            equity_after: equity,
        });
        // What the winner gave up: it pays `v` at the bankruptcy price instead of
        // the value at the mark (positive when the bankruptcy price is worse for
        // it than the mark). The sign was reversed (it counted the winner's gain).
        sums.adl_cost += v - at_mark;
        let booked = BookedWinner {
            slot: c.slot,
            lots: before.lots + w_trade,
            equity,
        };
        self.after_adl_fill(close, c.account, booked, flags);
        equity
    }

    /// The ledger's side of one fill of `close`: the winner `c` trades
    /// `w_trade` lots of value `v` against the bankrupt position. With
    /// distinct accounts the bankrupt position does not move here (its
    /// move is summed in `sums`, written once after the fills) and the
    /// winner's flags, read and written once by the booking, are returned
    /// ([`super::ledger::Ledger::trade_distinct_winner`]).
    #[inline(always)]
    fn trade_adl_fill(
        &mut self,
        close: &CloseBooking,
        c: AdlFillTarget,
        w_trade: i64,
        v: Micros,
        sums: &mut FillSums,
    ) -> Option<WinnerFlags> {
        let owners = (c.account, close.bankrupt);
        if !close.distinct {
            self.ledger
                .trade_between(c.slot, close.slot, owners, w_trade, v);
            return None;
        }
        debug_assert_ne!(
            c.account, close.bankrupt,
            "Invariant: distinct fills' winners are not the bankrupt account"
        );
        sums.taken_lots += w_trade;
        sums.taken_value += v;
        Some(self.ledger.trade_distinct_winner(
            c.slot,
            close.slot,
            owners,
            w_trade,
            v,
            close.marked,
        ))
    }

    /// After one fill's booking: the winner counted as hit by ADL (once)
    /// and, with distinct accounts (`flags`: its flags before the fill),
    /// its margin re-checked ([`Engine::recheck_booked_winner`]).
    #[inline(always)]
    fn after_adl_fill(
        &mut self,
        close: &CloseBooking,
        winner: u32,
        booked: BookedWinner,
        flags: Option<WinnerFlags>,
    ) {
        // The booking marked the winner dirty (`trade_between`).
        debug_assert!(
            self.ledger.is_dirty(winner),
            "Invariant: a booked winner is marked dirty"
        );
        if let Some(flags) = flags {
            // Hit, mark cleared: written by the booking.
            self.accounts_adl_hit += u32::from(!flags.adl_hit());
            self.recheck_booked_winner(winner, booked, flags, &close.maintenance);
        } else if self.ledger.mark_adl_hit(winner) {
            self.accounts_adl_hit += 1;
        }
    }

    /// The winners' positions of the next `fills` (at most
    /// [`TOUCH_AHEAD`]) of a close, loaded in a pass of their own before
    /// their booking: each fill's first read of its winner's position was a
    /// cache miss at venue scale (round 27: 56% of `book_adl_fills`'
    /// samples at 1M accounts), one after the other, as a fill's booking is
    /// too long for the next one's load to start early; a loop that does
    /// nothing else keeps those misses in flight at once (as
    /// `Engine::touch_lev_candidates` does for the offers). Reads only:
    /// changes nothing the run writes. (One generic loop with `pro_rata`'s
    /// `touch_fills`, a closure for the word read, was tried in round 28:
    /// +0.27% of `pro_rata`'s instructions at 100k, the allocation inlined
    /// into `deleverage` compiled differently, for five lines saved.)
    fn touch_fill_positions(&self, cands: &[AdlFillTarget], fills: &[(usize, i64)]) {
        let mut fold = 0i64;
        for &(i, _) in fills {
            fold = fold.wrapping_add(self.ledger.positions[cands[i].slot as usize].lots);
        }
        std::hint::black_box(fold);
    }

    /// Counts one ADL of the bankrupt position in `slot` of account `a`.
    fn record_adl(&mut self, a: u32, slot: u32, c: &AdlClose) {
        let market = self.ledger.positions[slot as usize].market;
        let mi = market as usize;
        let m = &self.markets[mi];
        let mark = self.marks[mi];
        let notional = m.value(c.filled, mark);
        let excess = m.value((c.filled - c.minimum_lots).max(0), mark);
        let f = &mut self.flows[mi];
        f.adl_notional += notional;
        f.adl_count += 1;
        self.totals.adl_events += 1;
        self.totals.adl_notional += notional;
        self.totals.adl_excess_notional += excess;
        self.totals.adl_cost += c.cost;
        self.log_adl_needed(notional - excess);
        if self.record_events {
            self.events.push(Event::Adl {
                account: a,
                market,
                bankrupt_lots: c.bankrupt_lots,
                closed_lots: c.filled,
                minimum_lots: c.minimum_lots,
                price: c.price,
            });
        }
    }
}

/// How the fills of one ADL close spread over the winners' accounts
/// ([`Engine::fill_accounts_distinct`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FillAccounts {
    /// Different accounts, in increasing order (`pro_rata`'s): no marks.
    Increasing,
    /// Different accounts in another order: each carries the ledger's
    /// mark until its fill is booked.
    Marked,
    /// Some account takes two fills: no marks.
    Repeated,
}

impl FillAccounts {
    /// Whether each fill goes to a different account.
    fn distinct(self) -> bool {
        !matches!(self, FillAccounts::Repeated)
    }
}

/// What every fill of one ADL close reads ([`Engine::close_booking`]).
struct CloseBooking {
    /// The bankrupt position's slot.
    slot: u32,
    /// Its account.
    bankrupt: u32,
    /// Its market.
    mi: usize,
    /// The bankruptcy price and the market's mark, ticks (debug builds'
    /// checks of the products below).
    price: i64,
    mark: i64,
    /// One lot's value at the bankruptcy price and at the mark
    /// ([`value_of_lots`]).
    at_price_k: i128,
    at_mark_k: i128,
    /// The winners' requirements' market reads.
    maintenance: MaintenanceAt,
    /// Whether each fill goes to a different account
    /// ([`FillAccounts::distinct`]), and whether the winners carry the
    /// ledger's close mark ([`FillAccounts::Marked`]).
    distinct: bool,
    marked: bool,
}

/// What the fills of one close booked so far add up to
/// ([`Engine::book_adl_fill`]).
#[derive(Default)]
struct FillSums {
    /// What the winners gave up against the mark.
    adl_cost: Micros,
    /// With distinct accounts, the winners' side of the fills: the
    /// bankrupt position's move, written once (`Ledger::settle_counter`).
    taken_lots: i64,
    taken_value: Micros,
}

/// Fills whose winners' positions `book_adl_fills` loads in one pass
/// ([`Engine::touch_fill_positions`]): about the loads a core keeps in
/// flight, few enough that the lines (and their pages' TLB entries) are
/// still at hand when those fills book.
const TOUCH_AHEAD: usize = 16;

/// One ADL of a bankrupt position, as counted.
struct AdlClose {
    /// The bankrupt position before the fills, lots (absolute).
    bankrupt_lots: i64,
    /// Lots closed against winners.
    filled: i64,
    /// Lots that would have sufficed.
    minimum_lots: i64,
    /// Bankruptcy price, ticks.
    price: i64,
    /// What the winners gave up against the mark.
    cost: Micros,
}

/// The value of `lots` at a price whose one-lot value is `price_k` (the
/// price in ticks times the market's micro-USD per lot-tick, as a 128-bit
/// product): [`crate::venue::market::Market::value`] with the price's
/// product formed once a close instead of per fill. Exact: integer
/// multiplication is associative (`lots × (ticks × k)` is
/// `(lots × ticks) × k`), and `ticks × k` fits in 128 bits.
#[inline(always)]
fn value_of_lots(lots: i64, price_k: i128) -> Micros {
    let v = i128::from(lots) * price_k;
    debug_assert!(
        v.abs() < i64::MAX as i128,
        "Invariant: position value fits in i64 micros"
    );
    Micros(v as i64)
}

/// Each winner's haircut for a charge of `charge` against Σ pnl = `total`:
/// pro-rata, rounded down; the remaining micros go one each to the largest PnLs
/// (ties by slot), never above a winner's PnL (docs/model.md §1).
fn haircut_shares(winners: &[(u32, u32, Micros)], charge: i128, total: i128) -> Vec<i128> {
    let mut shares: Vec<i128> = winners
        .iter()
        .map(|w| charge * w.2.0 as i128 / total)
        .collect();
    let mut charged: i128 = shares.iter().sum();
    let mut order: Vec<usize> = (0..winners.len()).collect();
    order.sort_by_key(|&i| (Reverse(winners[i].2), winners[i].1));
    let mut i = 0;
    while charged < charge && !order.is_empty() {
        let w = order[i % order.len()];
        if shares[w] < winners[w].2.0 as i128 {
            shares[w] += 1;
            charged += 1;
        }
        i += 1;
    }
    shares
}

#[cfg(test)]
mod property_tests {
    use proptest::prelude::*;

    use super::value_of_lots;
    use crate::money::{Micros, Rate};
    use crate::venue::market::{MarginSchedule, Market};

    /// A market whose lot-tick is worth `k` micro-USD (one margin bracket).
    fn market(k: i64) -> Market {
        let rate = |x: f64| Rate::from_fraction(x).expect("a test rate");
        let margin = MarginSchedule::new(&[(Micros::ZERO, rate(0.01), rate(0.005))]);
        Market::plain("m", 0.1, 0.001, k, margin)
    }

    proptest! {
        /// The booking's per-close product gives the market's value of any
        /// lots (signs, zero, one lot and the largest included) at any price
        /// (one tick to a billion), whenever that value fits in micros (up
        /// to 10^18 here).
        #[test]
        fn value_of_lots_is_the_markets_value(
            lots in prop_oneof![
                Just(0i64), Just(1), Just(-1), Just(1_000_000), Just(-1_000_000),
                -1_000_000i64..=1_000_000
            ],
            ticks in prop_oneof![Just(1i64), Just(1_000_000_000), 1i64..=1_000_000_000],
            k in prop_oneof![Just(1i64), Just(1_000), 1i64..=1_000],
        ) {
            let m = market(k);
            let price_k = i128::from(ticks) * i128::from(k);
            prop_assert_eq!(value_of_lots(lots, price_k), m.value(lots, ticks));
            prop_assert_eq!(value_of_lots(-lots, price_k), m.value(-lots, ticks));
        }
    }
}
