//! `balances.parquet` (`balances/v1`): where every micro-USD of path 0 sits at
//! the opening and at the end, so that a script outside the project can check
//! that money is conserved and that PnL sums to zero (docs/model.md §8,
//! "Checking conservation from the outputs"; `scripts/check-conservation.py`).
//!
//! Two kinds of rows, told apart by `market`:
//!
//! - **cash rows** (`market` null): one per party, with its USD balance at the
//!   opening and at the end; `lots`, `cost` and `value` are 0;
//! - **position rows** (`market` set): one per open position slot of an account
//!   and one per market for the external counterparty (and for the liquidity
//!   vault, in runs with one), at the end; the two cash columns are 0;
//! - **market fund rows** (`party = market_fund`, `market` set): in runs where
//!   a market has its own insurance fund (`[market.<name>.insurance_fund]`,
//!   dYdX v4's isolated market), one cash row per such fund, naming its
//!   market; `lots`, `cost` and `value` are 0. Files of runs without one are
//!   unchanged.
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `party` | `Utf8` | `account`, `external`, `insurance_fund`, `liquidators`, `venue`, `outside`, `vault` or `market_fund` ([`BalanceParty`]) |
//! | `account_id` | `UInt64`, nullable | the account (`party = account` only) |
//! | `market` | `Utf8`, nullable | the position's market; null on a cash row |
//! | `opening_cash` | `Int64` | micro-USD held before the first step |
//! | `end_cash` | `Int64` | micro-USD held after the last step |
//! | `lots` | `Int64` | signed position in the market's lots (long > 0) |
//! | `cost` | `Int64` | micro-USD: signed sum of the values of every trade booked on the position |
//! | `value` | `Int64` | micro-USD: `lots` valued at the market's last mark |
//!
//! Money is in integer micro-USD, so the checks are exact: `Σ opening_cash =
//! Σ end_cash` over all rows, and per market `Σ lots = Σ cost = Σ value = 0`
//! (every trade has two sides), hence unrealized PnL (`value − cost`) sums to
//! zero.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::SchemaRef;

use crate::error::DataError;
use crate::parquet_io::{
    BatchColumn, MAX_ROW_GROUP_ROWS, arrow_err, batches, open_projected, write_parquet,
};
use crate::results::batches::TableBatches;
use crate::schema::{Column, ColumnType, arrow_schema};

/// `backstop.schema` of `balances.parquet`.
pub const BALANCES_SCHEMA_ID: &str = "balances/v1";

/// Who holds the money of a row (the engine ledger's parties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BalanceParty {
    /// A margin unit of the population.
    Account,
    /// The external counterparty: the rest of the market.
    External,
    /// The insurance fund.
    InsuranceFund,
    /// The liquidators' fees.
    Liquidators,
    /// The venue's own balance (negative after it covered a loss).
    Venue,
    /// USD that left the ledger before the first step (non-USD collateral bought).
    Outside,
    /// The liquidity vault: its capital (cash row) and its inventory (one
    /// position row per market), in runs with a `[vault]`.
    Vault,
    /// A market's own insurance fund (a cash row naming its market), in runs
    /// with a `[market.<name>.insurance_fund]`.
    MarketFund,
}

impl BalanceParty {
    /// Every party, in the order a file lists their cash rows.
    pub const ALL: [BalanceParty; 8] = [
        BalanceParty::Account,
        BalanceParty::External,
        BalanceParty::InsuranceFund,
        BalanceParty::Liquidators,
        BalanceParty::Venue,
        BalanceParty::Outside,
        BalanceParty::Vault,
        BalanceParty::MarketFund,
    ];

    /// The name written in the `party` column.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            BalanceParty::Account => "account",
            BalanceParty::External => "external",
            BalanceParty::InsuranceFund => "insurance_fund",
            BalanceParty::Liquidators => "liquidators",
            BalanceParty::Venue => "venue",
            BalanceParty::Outside => "outside",
            BalanceParty::Vault => "vault",
            BalanceParty::MarketFund => "market_fund",
        }
    }

    fn from_name(name: &str) -> Option<BalanceParty> {
        BalanceParty::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// One row of `balances/v1`; see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalanceRow {
    /// Who holds it.
    pub party: BalanceParty,
    /// The account, for `party = Account` only.
    pub account_id: Option<u64>,
    /// The position's market; `None` on a cash row.
    pub market: Option<String>,
    /// Micro-USD before the first step (cash rows).
    pub opening_cash: i64,
    /// Micro-USD after the last step (cash rows).
    pub end_cash: i64,
    /// Signed lots (position rows).
    pub lots: i64,
    /// Micro-USD, signed sum of the trades booked on the position.
    pub cost: i64,
    /// Micro-USD, `lots` at the last mark.
    pub value: i64,
}

impl BalanceRow {
    /// A cash row.
    #[must_use]
    pub fn cash(party: BalanceParty, account_id: Option<u64>, opening: i64, end: i64) -> Self {
        Self {
            party,
            account_id,
            market: None,
            opening_cash: opening,
            end_cash: end,
            lots: 0,
            cost: 0,
            value: 0,
        }
    }

    /// A position row.
    #[must_use]
    pub fn position(
        party: BalanceParty,
        account_id: Option<u64>,
        market: &str,
        lots: i64,
        cost: i64,
        value: i64,
    ) -> Self {
        Self {
            party,
            account_id,
            market: Some(market.to_owned()),
            opening_cash: 0,
            end_cash: 0,
            lots,
            cost,
            value,
        }
    }

    /// The cash row of market `market`'s own fund.
    #[must_use]
    pub fn market_fund(market: &str, opening: i64, end: i64) -> Self {
        Self {
            market: Some(market.to_owned()),
            ..Self::cash(BalanceParty::MarketFund, None, opening, end)
        }
    }

    /// Why the row breaks the schema's rules, if it does.
    fn broken(&self) -> Option<(&'static str, String)> {
        let is_account = self.party == BalanceParty::Account;
        if is_account != self.account_id.is_some() {
            return Some((
                ACCOUNT_ID.name,
                format!(
                    "must be set exactly when party is \"account\" (party is \"{}\")",
                    self.party.name()
                ),
            ));
        }
        if self.party == BalanceParty::MarketFund {
            return match &self.market {
                None => Some((MARKET.name, "a market fund row names its market".to_owned())),
                Some(m) if m.is_empty() => Some((MARKET.name, "must not be empty".to_owned())),
                Some(_) if self.lots != 0 || self.cost != 0 || self.value != 0 => Some((
                    LOTS.name,
                    "a market fund row must have lots, cost and value 0".to_owned(),
                )),
                Some(_) => None,
            };
        }
        match &self.market {
            None if self.lots != 0 || self.cost != 0 || self.value != 0 => Some((
                LOTS.name,
                "a cash row (market null) must have lots, cost and value 0".to_owned(),
            )),
            Some(m) if m.is_empty() => Some((MARKET.name, "must not be empty".to_owned())),
            Some(_) if self.opening_cash != 0 || self.end_cash != 0 => Some((
                OPENING_CASH.name,
                "a position row must have opening_cash and end_cash 0".to_owned(),
            )),
            _ => None,
        }
    }
}

const PARTY: Column = Column::new("party", ColumnType::Str);
const ACCOUNT_ID: Column = Column::nullable("account_id", ColumnType::U64);
const MARKET: Column = Column::nullable("market", ColumnType::Str);
const OPENING_CASH: Column = Column::new("opening_cash", ColumnType::I64);
const END_CASH: Column = Column::new("end_cash", ColumnType::I64);
const LOTS: Column = Column::new("lots", ColumnType::I64);
const COST: Column = Column::new("cost", ColumnType::I64);
const VALUE: Column = Column::new("value", ColumnType::I64);
const COLUMNS: [Column; 8] = [
    PARTY,
    ACCOUNT_ID,
    MARKET,
    OPENING_CASH,
    END_CASH,
    LOTS,
    COST,
    VALUE,
];

/// Writes `rows` atomically as `balances/v1`, in the order given.
///
/// # Errors
/// A row breaking the schema's rules (before anything is written, naming the
/// row and column), bad metadata, and I/O or encoding errors.
pub fn write_balances(
    path: &Path,
    rows: &[BalanceRow],
    metadata: &[(String, String)],
) -> Result<(), DataError> {
    let schema = arrow_schema(&COLUMNS);
    let batches = row_batches(path, &schema, rows)?;
    write_parquet(path, &schema, BALANCES_SCHEMA_ID, metadata, batches)
}

/// Writes the rows of `chunks` atomically as `balances/v1`, one row group a
/// chunk, without holding more than a chunk: the same file as
/// [`write_balances`] of all the rows when every chunk but the last has
/// [`MAX_ROW_GROUP_ROWS`] rows (`balance_rows` of a million accounts is
/// ~176 MB held).
///
/// # Errors
/// As [`write_balances`]; a row breaking the schema's rules (named by its
/// index in the whole file) is found as its chunk is written, and the file is
/// then not written.
pub fn write_balances_streamed(
    path: &Path,
    chunks: impl Iterator<Item = Vec<BalanceRow>>,
    metadata: &[(String, String)],
) -> Result<(), DataError> {
    let schema = arrow_schema(&COLUMNS);
    let mut offset = 0;
    let any = std::cell::Cell::new(false);
    let batches = chunks
        .map(|chunk| {
            any.set(true);
            let batch = checked_batch(path, &schema, &chunk, offset);
            offset += chunk.len();
            batch
        })
        .chain(std::iter::from_fn(|| {
            // No chunk at all: one empty row group, as for no rows.
            (!any.replace(true)).then(|| batch(path, &schema, &[]))
        }));
    write_parquet(path, &schema, BALANCES_SCHEMA_ID, metadata, batches)
}

/// `chunk`'s batch, its rows checked first (`offset`: the index of its first
/// row in the file).
fn checked_batch(
    path: &Path,
    schema: &SchemaRef,
    chunk: &[BalanceRow],
    offset: usize,
) -> Result<RecordBatch, DataError> {
    for (index, row) in chunk.iter().enumerate() {
        if let Some((column, reason)) = row.broken() {
            return Err(DataError::invalid(path, offset + index, column, reason));
        }
    }
    batch(path, schema, chunk)
}

/// Checks the rows, then yields their batches, one per row group.
fn row_batches<'a>(
    path: &'a Path,
    schema: &'a SchemaRef,
    rows: &'a [BalanceRow],
) -> Result<impl Iterator<Item = Result<RecordBatch, DataError>> + 'a, DataError> {
    for (index, row) in rows.iter().enumerate() {
        if let Some((column, reason)) = row.broken() {
            return Err(DataError::invalid(path, index, column, reason));
        }
    }
    Ok((0..rows.len().max(1))
        .step_by(MAX_ROW_GROUP_ROWS)
        .map(move |start| {
            let chunk = &rows[start..(start + MAX_ROW_GROUP_ROWS).min(rows.len())];
            batch(path, schema, chunk)
        }))
}

/// One row group's batch of `chunk`.
fn batch(path: &Path, schema: &SchemaRef, chunk: &[BalanceRow]) -> Result<RecordBatch, DataError> {
    let int = |f: fn(&BalanceRow) -> i64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(chunk.iter().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            chunk.iter().map(|r| r.party.name()),
        )),
        Arc::new(chunk.iter().map(|r| r.account_id).collect::<UInt64Array>()),
        Arc::new(
            chunk
                .iter()
                .map(|r| r.market.as_deref())
                .collect::<StringArray>(),
        ),
        int(|r| r.opening_cash),
        int(|r| r.end_cash),
        int(|r| r.lots),
        int(|r| r.cost),
        int(|r| r.value),
    ];
    RecordBatch::try_new(Arc::clone(schema), columns)
        .map_err(arrow_err(path, "failed to build record batch"))
}

/// The record batches [`write_balances`] writes to `path` (one per row group), in
/// memory, with the file's metadata on their schema.
///
/// # Errors
/// As [`write_balances`], but nothing is written.
pub fn balances_batches(
    path: &Path,
    rows: &[BalanceRow],
    metadata: &[(String, String)],
) -> Result<TableBatches, DataError> {
    let schema = arrow_schema(&COLUMNS);
    let batches = row_batches(path, &schema, rows)?;
    TableBatches::collect(path, &schema, BALANCES_SCHEMA_ID, metadata, batches)
}

/// Reads a `balances/v1` file, in file order.
///
/// # Errors
/// An unreadable file, another schema tag, a missing or mistyped column
/// (named), an unknown party or a row breaking the schema's rules (naming the
/// row and column).
pub fn read_balances(path: &Path) -> Result<Vec<BalanceRow>, DataError> {
    let reader = open_projected(path, BALANCES_SCHEMA_ID, &COLUMNS)?;
    let mut rows = Vec::new();
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        let column = |spec| BatchColumn::new(path, &batch, spec, offset);
        let (mut parties, mut ids, mut markets) = (Vec::new(), Vec::new(), Vec::new());
        let [mut opening, mut end, mut lots, mut cost, mut value] =
            [(); 5].map(|()| Vec::<i64>::new());
        column(PARTY)?.push_string(&mut parties)?;
        column(ACCOUNT_ID)?.push_opt_u64(&mut ids)?;
        column(MARKET)?.push_opt_string(&mut markets)?;
        column(OPENING_CASH)?.push_i64(&mut opening)?;
        column(END_CASH)?.push_i64(&mut end)?;
        column(LOTS)?.push_i64(&mut lots)?;
        column(COST)?.push_i64(&mut cost)?;
        column(VALUE)?.push_i64(&mut value)?;
        for (i, (party, (account_id, market))) in parties
            .into_iter()
            .zip(ids.into_iter().zip(markets))
            .enumerate()
        {
            let party = BalanceParty::from_name(&party).ok_or_else(|| {
                DataError::invalid(
                    path,
                    offset + i,
                    PARTY.name,
                    format!(
                        "unknown party \"{party}\" (expected one of {})",
                        BalanceParty::ALL.map(BalanceParty::name).join(", ")
                    ),
                )
            })?;
            let row = BalanceRow {
                party,
                account_id,
                market,
                opening_cash: opening[i],
                end_cash: end[i],
                lots: lots[i],
                cost: cost[i],
                value: value[i],
            };
            if let Some((column, reason)) = row.broken() {
                return Err(DataError::invalid(path, offset + i, column, reason));
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

/// What a conservation check of a `balances/v1` table found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conservation {
    /// Σ `opening_cash` over every row, micro-USD.
    pub opening_total: i128,
    /// Σ `end_cash` over every row, micro-USD.
    pub end_total: i128,
    /// Per market (sorted by name): `(market, Σ lots, Σ cost, Σ value)`.
    pub markets: Vec<(String, i128, i128, i128)>,
}

impl Conservation {
    /// Sums `rows` (exactly, in `i128`).
    #[must_use]
    pub fn of(rows: &[BalanceRow]) -> Conservation {
        let mut markets: std::collections::BTreeMap<&str, (i128, i128, i128)> =
            std::collections::BTreeMap::new();
        let (mut opening_total, mut end_total) = (0i128, 0i128);
        for r in rows {
            opening_total += i128::from(r.opening_cash);
            end_total += i128::from(r.end_cash);
            if let Some(m) = &r.market {
                let e = markets.entry(m).or_default();
                e.0 += i128::from(r.lots);
                e.1 += i128::from(r.cost);
                e.2 += i128::from(r.value);
            }
        }
        Conservation {
            opening_total,
            end_total,
            markets: markets
                .into_iter()
                .map(|(m, (l, c, v))| (m.to_owned(), l, c, v))
                .collect(),
        }
    }

    /// Whether money is conserved and every market's lots, costs and values
    /// sum to zero (so unrealized PnL does).
    #[must_use]
    pub fn holds(&self) -> bool {
        self.opening_total == self.end_total
            && self
                .markets
                .iter()
                .all(|&(_, l, c, v)| l == 0 && c == 0 && v == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<BalanceRow> {
        vec![
            BalanceRow::cash(BalanceParty::Account, Some(7), 1_000_000, 400_000),
            BalanceRow::cash(BalanceParty::External, None, 0, 599_900),
            BalanceRow::cash(BalanceParty::InsuranceFund, None, 50, 150),
            BalanceRow::cash(BalanceParty::Liquidators, None, 0, 0),
            BalanceRow::cash(BalanceParty::Venue, None, 0, 0),
            BalanceRow::cash(BalanceParty::Outside, None, 0, 0),
            BalanceRow::position(BalanceParty::Account, Some(7), "BTC", 3, 90, 60),
            BalanceRow::position(BalanceParty::External, None, "BTC", -3, -90, -60),
        ]
    }

    #[test]
    fn round_trips_and_conserves() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("balances.parquet");
        let rows = sample();
        write_balances(&path, &rows, &[]).unwrap();
        let back = read_balances(&path).unwrap();
        assert_eq!(back, rows);
        let c = Conservation::of(&back);
        assert!(c.holds(), "{c:?}");
        assert_eq!(c.markets, vec![("BTC".to_owned(), 0, 0, 0)]);
    }

    /// Rows streamed in chunks of [`MAX_ROW_GROUP_ROWS`] make the file
    /// `write_balances` makes of them all; a broken row is named by its index
    /// in the file, and nothing is left behind.
    #[test]
    fn streamed_in_row_groups_is_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<BalanceRow> = (0..MAX_ROW_GROUP_ROWS as u64 + 10)
            .map(|id| BalanceRow::cash(BalanceParty::Account, Some(id), 5, 5))
            .chain(sample())
            .collect();
        let (held, streamed) = (dir.path().join("held"), dir.path().join("streamed"));
        write_balances(&held, &rows, &[]).unwrap();
        let chunks = rows.chunks(MAX_ROW_GROUP_ROWS).map(<[BalanceRow]>::to_vec);
        write_balances_streamed(&streamed, chunks, &[]).unwrap();
        assert_eq!(
            std::fs::read(&held).unwrap(),
            std::fs::read(&streamed).unwrap()
        );
        let (none, nothing) = (dir.path().join("none"), dir.path().join("nothing"));
        write_balances(&none, &[], &[]).unwrap();
        write_balances_streamed(&nothing, std::iter::empty(), &[]).unwrap();
        assert_eq!(
            std::fs::read(&none).unwrap(),
            std::fs::read(&nothing).unwrap()
        );
        let mut bad = rows;
        let at = MAX_ROW_GROUP_ROWS + 3;
        bad[at].account_id = None;
        let broken = dir.path().join("broken");
        let chunks = bad.chunks(MAX_ROW_GROUP_ROWS).map(<[BalanceRow]>::to_vec);
        let err = write_balances_streamed(&broken, chunks, &[]).unwrap_err();
        let held_err = write_balances(&broken, &bad, &[]).unwrap_err();
        assert_eq!(err.to_string(), held_err.to_string());
        assert!(!broken.exists());
    }

    #[test]
    fn a_broken_ledger_is_seen() {
        let mut rows = sample();
        rows[2].end_cash += 1;
        assert!(!Conservation::of(&rows).holds());
        let mut rows = sample();
        rows[6].value += 1;
        assert!(!Conservation::of(&rows).holds());
    }

    #[test]
    fn refuses_rows_that_mix_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("balances.parquet");
        let mut rows = sample();
        rows[1].account_id = Some(3);
        let err = write_balances(&path, &rows, &[]).unwrap_err().to_string();
        assert!(err.contains("row 1") && err.contains("account_id"), "{err}");
        let mut rows = sample();
        rows[0].lots = 1;
        let err = write_balances(&path, &rows, &[]).unwrap_err().to_string();
        assert!(err.contains("row 0") && err.contains("lots"), "{err}");
        assert!(!path.exists(), "nothing written");
    }
}
