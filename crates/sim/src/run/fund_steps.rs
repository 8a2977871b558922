//! Path 0's per-step series of each market's own insurance fund
//! (`market_fund_steps/v1`, docs/model.md §7): recorded beside `steps.parquet`
//! by the same [`super::record::StepSink`], held or streamed to its file one
//! row group at a time, so memory stays flat in the run's length. A run
//! without a market fund records nothing and writes no file.

use std::path::{Path, PathBuf};

use backstop_data::results::chunked::{self, RowGroupWriter};
use backstop_data::{DataError, MAX_ROW_GROUP_ROWS, MarketFundStepRow, MarketFundStepsTable};

use super::metrics::MarketFundMetrics;
use crate::engine::Engine;
use crate::money::Micros;

/// One funded market's running totals at the end of the last step recorded.
#[derive(Clone, Debug)]
struct Funded {
    market: u16,
    name: String,
    payouts: Micros,
    fees: Micros,
    /// Balance at the end of the last step recorded.
    balance: Micros,
}

/// Where the market funds' per-step rows go as path 0 runs.
pub(super) struct FundStepSink {
    funded: Vec<Funded>,
    rows: Vec<MarketFundStepRow>,
    writer: Option<RowGroupWriter<MarketFundStepsTable>>,
    /// The first write error: recording stops there and
    /// [`FundStepSink::finish`] returns it.
    error: Option<DataError>,
}

impl FundStepSink {
    /// A sink for the funds of `funded` (market index, name): held, or
    /// streamed to `path` (with `metadata`) when given and a market has a fund.
    ///
    /// # Errors
    /// The file cannot be started.
    pub(super) fn new(
        funded: Vec<(u16, String)>,
        path: Option<(&Path, &[(String, String)])>,
    ) -> Result<FundStepSink, DataError> {
        let writer = match path {
            Some((p, meta)) if !funded.is_empty() => Some(RowGroupWriter::create(p, meta)?),
            _ => None,
        };
        Ok(FundStepSink {
            funded: funded
                .into_iter()
                .map(|(market, name)| Funded {
                    market,
                    name,
                    payouts: Micros::ZERO,
                    fees: Micros::ZERO,
                    balance: Micros::ZERO,
                })
                .collect(),
            rows: Vec::new(),
            writer,
            error: None,
        })
    }

    /// Records step `step` (at `ts_ns`) that `engine` just ran: one row per
    /// funded market; streams a row group once one is full.
    pub(super) fn record(&mut self, engine: &Engine, step: u32, ts_ns: i64) {
        for f in &mut self.funded {
            let Some(fund) = engine.market_fund(f.market) else {
                continue;
            };
            let (payouts, fees) = (fund.payouts(), fund.fees_received());
            debug_assert!(
                payouts >= f.payouts && fees >= f.fees,
                "Invariant: a fund's cumulative payouts and fees never fall"
            );
            self.rows.push(MarketFundStepRow {
                path: 0,
                step,
                ts_ns,
                market: f.name.clone(),
                balance: fund.balance().to_usd(),
                available: fund.available().to_usd(),
                payouts: (payouts - f.payouts).to_usd(),
                fee_income: (fees - f.fees).to_usd(),
                depleted: fund.first_depletion_step().is_some_and(|d| d <= step),
            });
            (f.payouts, f.fees, f.balance) = (payouts, fees, fund.balance());
        }
        if self.rows.len() >= MAX_ROW_GROUP_ROWS && self.writer.is_some() {
            self.flush(MAX_ROW_GROUP_ROWS);
        }
    }

    /// Whether the last recorded balances, payouts and fees are the path's
    /// end figures `funds` (the invariant tying `market_fund_steps/v1` to
    /// `market_funds/v1`; true before any step when nothing is recorded).
    pub(super) fn agrees_with(&self, funds: &[MarketFundMetrics]) -> bool {
        self.funded.len() == funds.len()
            && self.funded.iter().zip(funds).all(|(f, m)| {
                f.name == m.market
                    && f.balance.to_usd() == m.final_balance
                    && f.payouts.to_usd() == m.payouts
                    && f.fees.to_usd() == m.fee_income
            })
    }

    /// Rows held now (for the series' peak).
    pub(super) fn held(&self) -> usize {
        self.rows.len()
    }

    /// Writes the first `rows` held rows as one row group.
    fn flush(&mut self, rows: usize) {
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        let chunk: Vec<MarketFundStepRow> = self.rows.drain(..rows).collect();
        if self.error.is_none()
            && let Err(e) = writer.write(&MarketFundStepsTable { rows: chunk })
        {
            self.error = Some(e);
        }
    }

    /// The recorded series: held, or written (last row group flushed, file
    /// renamed into place).
    ///
    /// # Errors
    /// The first error writing the file.
    pub(super) fn finish(mut self) -> Result<FundSteps, DataError> {
        if self.writer.is_some() && !self.rows.is_empty() {
            self.flush(self.rows.len());
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let written = match self.writer.take() {
            Some(writer) => {
                let path = writer.path().to_owned();
                writer.finish()?;
                Some(path)
            }
            None => None,
        };
        Ok(FundSteps {
            funded: !self.funded.is_empty(),
            rows: self.rows,
            written,
        })
    }
}

/// The market funds' per-step series of path 0: held rows, or the file they
/// were streamed to; empty (and no file) without a market fund.
#[derive(Clone, Debug, Default)]
pub struct FundSteps {
    funded: bool,
    rows: Vec<MarketFundStepRow>,
    written: Option<PathBuf>,
}

impl FundSteps {
    /// Whether the run has a market fund of its own (else there is no file).
    #[must_use]
    pub fn has_funds(&self) -> bool {
        self.funded
    }

    /// The rows (read back from the file when streamed).
    ///
    /// # Errors
    /// A streamed file that cannot be read back.
    pub fn rows(&self) -> Result<Vec<MarketFundStepRow>, DataError> {
        match &self.written {
            Some(path) => backstop_data::read_market_fund_steps(path),
            None => Ok(self.rows.clone()),
        }
    }

    /// Writes `market_fund_steps/v1` at `path` (a streamed file is moved or
    /// copied there); nothing without a market fund.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write(&self, path: &Path, metadata: &[(String, String)]) -> Result<(), DataError> {
        if !self.funded {
            return Ok(());
        }
        match &self.written {
            Some(from) => chunked::place(from, path),
            None => backstop_data::write_market_fund_steps(path, &self.rows, metadata),
        }
    }

    /// The record batches [`FundSteps::write`] writes to `path`, in memory;
    /// `None` without a market fund.
    ///
    /// # Errors
    /// A row breaking the schema's rules, or a streamed file unreadable.
    pub fn batches(
        &self,
        path: &Path,
        metadata: &[(String, String)],
    ) -> Result<Option<backstop_data::TableBatches>, DataError> {
        if !self.funded {
            return Ok(None);
        }
        let rows = self.rows()?;
        backstop_data::market_fund_steps_batches(path, &rows, metadata).map(Some)
    }
}
