//! Historical replay: tick history from Parquet files driven through the engine.
//!
//! The files of every market (a price source each, optionally funding) are merged
//! by timestamp by [`backstop_data::Replay`] (a k-way merge; at equal times prices
//! come before funding before trades, then by source order, then by row) into one
//! stream, read in bounded batches with row groups outside the window skipped.
//! Memory therefore does not grow with the length of the history.
//!
//! **Steps.** `resample`: step `k` is at `start + k × step_seconds` and every
//! market is at the last price at or before that time. `tick`: one step per
//! distinct event time, the first at `start`; markets without an event keep their
//! last price.
//!
//! **Start.** Prices before `start` (up to [`LOOKBACK_NS`] earlier) set each
//! market's price at step 0; a market with no price in that look-back is an error.
//!
//! **Funding.** A funding event settles its rate at the first step at or after its
//! time, replacing the market's scheduled funding (funding events before `start`
//! are skipped).
//!
//! **Contracts.** Prices are USD per base unit in every schema, including COIN-M
//! (inverse) trades, whose sizes are contracts of a USD face: the replay only
//! uses prices, so no conversion is needed.

use std::path::{Path, PathBuf};

use backstop_data::history::read_history_metadata;
use backstop_data::{
    EventKind, HistorySchema, HistorySource, Replay, ReplayEvent, ReplayRun, TimeWindow,
};

use super::cursor::{PathCursor, StepInput};
use super::error::{PathError, ReplayError};
use crate::config::field::key;
use crate::config::key_path::KeyPath;
use crate::config::path::{ReplayConfig, ReplayStepping};
use crate::config::scenario::Scenario;
use crate::money::Rate;
use crate::time::{NS_PER_SECOND, parse_utc};

/// How far before `start` a replay looks for each market's opening price.
pub const LOOKBACK_NS: i64 = 24 * 3_600 * 1_000_000_000;

/// What a source feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Price(usize),
    Funding(usize),
}

/// A replay prepared once per run: files checked, opening prices known.
#[derive(Clone, Debug)]
pub struct ReplayPlan {
    sources: Vec<(PathBuf, Role)>,
    markets: usize,
    start_ns: i64,
    end_ns: i64,
    step_ns: i64,
    stepping: ReplayStepping,
    start_prices: Vec<f64>,
    /// The markets' keys, in order (for errors).
    market_names: std::sync::Arc<[String]>,
}

impl ReplayPlan {
    /// Checks the files of `cfg` (relative to `base_dir`) and reads the opening
    /// prices.
    ///
    /// # Errors
    /// A file that is missing or unreadable, of the wrong schema for its key, or a
    /// market without a price in the look-back before `start`.
    pub fn new(s: &Scenario, cfg: &ReplayConfig, base_dir: &Path) -> Result<ReplayPlan, PathError> {
        let start_ns = parse_utc(&s.start).unwrap_or(0);
        let end_ns = parse_utc(&cfg.end).unwrap_or(start_ns);
        let mut plan = ReplayPlan {
            sources: sources(s, cfg, base_dir)?,
            markets: s.market.len(),
            start_ns,
            end_ns,
            step_ns: i64::from(s.step_seconds) * NS_PER_SECOND,
            stepping: cfg.stepping,
            start_prices: Vec::new(),
            market_names: s.market.keys().cloned().collect(),
        };
        let mut cursor = plan.cursor()?;
        let mut first = StepInput::new(plan.markets);
        cursor.advance(&mut first)?;
        plan.start_prices = first.prices;
        if let Some(m) = plan
            .start_prices
            .iter()
            .position(|p| p.is_nan() || *p <= 0.0)
        {
            let name = s.market.keys().nth(m).map_or("?", String::as_str);
            return Err(ReplayError::NoOpeningPrice {
                key: key("path.market").key(name),
                start: s.start.clone(),
            }
            .into());
        }
        Ok(plan)
    }

    /// Each market's price at `start`.
    pub fn start_prices(&self) -> &[f64] {
        &self.start_prices
    }

    /// A fresh cursor at step 0.
    ///
    /// # Errors
    /// A file that cannot be opened or decoded.
    pub fn cursor(&self) -> Result<ReplayCursor, PathError> {
        let window = TimeWindow::new(self.start_ns.saturating_sub(LOOKBACK_NS), self.end_ns)?;
        let opened = self
            .sources
            .iter()
            .map(|(p, _)| HistorySource::open(p, window))
            .collect::<Result<Vec<_>, _>>()?;
        let kinds: Vec<EventKind> = opened.iter().map(HistorySource::kind).collect();
        let mut cursor = ReplayCursor {
            replay: Replay::new(opened),
            roles: self.sources.iter().map(|(_, r)| *r).collect(),
            kinds,
            stepping: self.stepping,
            next_ns: self.start_ns,
            start_ns: self.start_ns,
            end_ns: self.end_ns,
            step_ns: self.step_ns,
            prices: vec![0.0; self.markets],
            funding: vec![None; self.markets],
            market_names: std::sync::Arc::clone(&self.market_names),
            peeked: None,
            started: false,
            steps: 0,
        };
        cursor.prime()?;
        Ok(cursor)
    }
}

/// Every market's files, checked for their schema, in market order: a price
/// source, then funding.
fn sources(
    s: &Scenario,
    cfg: &ReplayConfig,
    base_dir: &Path,
) -> Result<Vec<(PathBuf, Role)>, PathError> {
    let mut sources = Vec::new();
    for (m, name) in s.market.keys().enumerate() {
        let Some(files) = cfg.market.get(name) else {
            continue;
        };
        let market_key = key("path.market").key(name.as_str());
        for (file, field, role, want) in [
            (
                &files.prices,
                "prices",
                Role::Price(m),
                HistorySchema::Prices,
            ),
            (
                &files.trades,
                "trades",
                Role::Price(m),
                HistorySchema::Trades,
            ),
            (
                &files.funding,
                "funding",
                Role::Funding(m),
                HistorySchema::Funding,
            ),
        ] {
            if let Some(file) = file {
                let file = base_dir.join(file);
                check_schema(&market_key.key(field), &file, want)?;
                if want == HistorySchema::Funding {
                    check_funding_rates(&market_key.key(field), &file)?;
                }
                sources.push((file, role));
            }
        }
    }
    Ok(sources)
}

/// A history file of schema `want`, named by scenario key `key`.
fn check_schema(key: &KeyPath, file: &Path, want: HistorySchema) -> Result<(), ReplayError> {
    let (schema, _) = read_history_metadata(file).map_err(|error| ReplayError::Metadata {
        key: key.clone(),
        error: Box::new(error),
    })?;
    if schema != want {
        return Err(ReplayError::Schema {
            key: key.clone(),
            file: file.to_path_buf(),
            found: schema.id(),
            expected: want.id(),
        });
    }
    Ok(())
}

/// Every rate of a funding file below 100% in size (the bound of
/// `market.<m>.funding.rate`), checked when the replay is prepared, so that
/// `backstop validate` refuses the file too. Funding files are small (one row
/// per settlement: 90 rows a month at 8 h).
fn check_funding_rates(key: &KeyPath, file: &Path) -> Result<(), PathError> {
    let table = backstop_data::history::read_funding(file)?;
    if let Some(row) = table.rows.iter().find(|r| r.rate.abs() >= 1.0) {
        return Err(ReplayError::FundingRate {
            key: key.clone(),
            time: format!(
                "{} ({})",
                backstop_data::time::format_utc_ns(row.ts_ns),
                file.display()
            ),
            rate: row.rate,
        }
        .into());
    }
    Ok(())
}

/// Streams one replay, step by step.
pub struct ReplayCursor {
    replay: Replay,
    roles: Vec<Role>,
    kinds: Vec<EventKind>,
    stepping: ReplayStepping,
    /// Time of the next step.
    next_ns: i64,
    start_ns: i64,
    end_ns: i64,
    step_ns: i64,
    prices: Vec<f64>,
    funding: Vec<Option<f64>>,
    /// The markets' keys, for errors.
    market_names: std::sync::Arc<[String]>,
    peeked: Option<(usize, ReplayEvent)>,
    started: bool,
    steps: u64,
}

impl ReplayCursor {
    fn next_event(&mut self) -> Result<Option<(usize, ReplayEvent)>, PathError> {
        if let Some(e) = self.peeked.take() {
            return Ok(Some(e));
        }
        match self.replay.next_with_source() {
            None => Ok(None),
            Some(Ok(e)) => Ok(Some(e)),
            Some(Err(e)) => Err(e.into()),
        }
    }

    fn apply(&mut self, source: usize, event: ReplayEvent, in_window: bool) {
        debug_assert!(self.kinds[source] == event.kind(), "Invariant: kind");
        match (self.roles[source], event) {
            (Role::Price(m), e) => {
                if let Some(p) = e.price() {
                    self.prices[m] = p;
                }
            }
            (Role::Funding(m), ReplayEvent::Funding { rate, .. }) if in_window => {
                // Two settlements between steps: the rates add up.
                let f = self.funding[m].get_or_insert(0.0);
                *f += rate;
            }
            _ => {}
        }
    }

    /// Applies every event at or before `boundary` (in the window), the
    /// first one after it kept as `peeked`. Trades come a run at a time
    /// ([`Replay::next_run_until`]): a price source's run sets its market's
    /// price to the run's last trade, as applying each in turn would.
    fn take_until(&mut self, boundary: i64) -> Result<(), PathError> {
        loop {
            if let Some((s, e)) = self.peeked.take() {
                if e.ts_ns() > boundary {
                    self.peeked = Some((s, e));
                    return Ok(());
                }
                self.apply(s, e, true);
                continue;
            }
            let last_trade = match self.replay.next_run_until(boundary) {
                None => return Ok(()),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(ReplayRun::Trades { source, trades })) => {
                    trades.last().map(|row| (source, ReplayEvent::from(row)))
                }
                Some(Ok(ReplayRun::Event { source, event })) => {
                    if event.ts_ns() > boundary {
                        self.peeked = Some((source, event));
                        return Ok(());
                    }
                    Some((source, event))
                }
            };
            if let Some((s, e)) = last_trade {
                self.apply(s, e, true);
            }
        }
    }

    /// Reads the look-back: every event before `start`.
    fn prime(&mut self) -> Result<(), PathError> {
        while let Some((s, e)) = self.next_event()? {
            if e.ts_ns() >= self.start_ns {
                self.peeked = Some((s, e));
                break;
            }
            self.apply(s, e, false);
        }
        Ok(())
    }

    /// Steps emitted so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }
}

impl PathCursor for ReplayCursor {
    fn advance(&mut self, step: &mut StepInput) -> Result<bool, PathError> {
        let boundary = match self.stepping {
            ReplayStepping::Resample => {
                if self.started {
                    self.next_ns = self.next_ns.saturating_add(self.step_ns);
                }
                self.next_ns
            }
            ReplayStepping::Tick => {
                if self.started {
                    // The next step is at the next event's time.
                    match self.next_event()? {
                        None => return Ok(false),
                        Some((s, e)) => {
                            let ts = e.ts_ns();
                            self.peeked = Some((s, e));
                            ts
                        }
                    }
                } else {
                    self.start_ns
                }
            }
        };
        if boundary >= self.end_ns {
            return Ok(false);
        }
        self.started = true;
        self.take_until(boundary)?;
        step.ts_ns = boundary;
        step.prices.copy_from_slice(&self.prices);
        for (m, (out, f)) in step.funding.iter_mut().zip(&mut self.funding).enumerate() {
            *out = match f.take() {
                None => None,
                Some(r) if r.abs() < 1.0 => Rate::from_fraction(r),
                Some(rate) => {
                    let name = self.market_names.get(m).map_or("?", String::as_str);
                    return Err(ReplayError::FundingRate {
                        key: key("path.market").key(name).key("funding"),
                        time: backstop_data::time::format_utc_ns(boundary),
                        rate,
                    }
                    .into());
                }
            };
        }
        self.steps += 1;
        Ok(true)
    }
}
