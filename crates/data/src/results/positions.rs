//! The positions-snapshot schema (`positions/v1`): a population of accounts
//! and their open positions, which a scenario can load and which every run
//! writes back as `population.parquet`.
//!
//! One row per position:
//!
//! | column        | type      | meaning                                                  |
//! |---------------|-----------|----------------------------------------------------------|
//! | `account_id`  | `UInt64`  | the owning account                                       |
//! | `market`      | `Utf8`    | market symbol, non-empty                                 |
//! | `size`        | `Float64` | signed size in base units: long > 0, short < 0; non-zero |
//! | `entry_price` | `Float64` | average entry price in USD per base unit, > 0            |
//! | `collateral`  | `Float64` | collateral in USD attributed to this row, >= 0           |
//! | `isolated`    | `Boolean` | whether the position is isolated-margin                  |
//!
//! All columns are non-nullable and every float must be finite.
//!
//! **Collateral.** An account's collateral is the *sum* of the `collateral`
//! column over its rows. A cross-margin account is all of that account's
//! non-isolated rows, sharing the sum of their collateral; each isolated row
//! is its own margin unit, backed only by its own `collateral`.
//!
//! **Reading** is lenient about layout but strict about content: extra
//! columns are ignored, column order does not matter, `account_id` may also be
//! `Int64` (if non-negative) and `market` may be `LargeUtf8`, `Utf8View` or
//! dictionary-encoded. A file tagged with a different `backstop.schema` is
//! rejected. Each row is validated as on writing; errors name the file, the
//! 0-based row and the column.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::SchemaRef;

use crate::error::DataError;
use crate::parquet_io::{
    BatchColumn, MAX_ROW_GROUP_ROWS, arrow_err, batches, open_projected, write_parquet,
};
use crate::results::batches::TableBatches;
use crate::rules::{Broken, non_empty, non_negative, non_zero, positive};
use crate::schema::{Column, ColumnType, arrow_schema};

/// Value of the `backstop.schema` metadata key in positions files.
pub const POSITIONS_SCHEMA_ID: &str = "positions/v1";

/// One open position of one account; see the [module docs](self) for the
/// meaning and constraints of each field.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionRow {
    /// The owning account.
    pub account_id: u64,
    /// Market symbol (non-empty).
    pub market: String,
    /// Signed size in base units: long > 0, short < 0 (finite, non-zero).
    pub size: f64,
    /// Average entry price in USD per base unit (finite, > 0).
    pub entry_price: f64,
    /// Collateral in USD attributed to this row (finite, >= 0).
    pub collateral: f64,
    /// Whether this position is isolated-margin (its own margin unit).
    pub isolated: bool,
}

const ACCOUNT_ID: Column = Column::new("account_id", ColumnType::U64);
const MARKET: Column = Column::new("market", ColumnType::Str);
const SIZE: Column = Column::new("size", ColumnType::F64);
const ENTRY_PRICE: Column = Column::new("entry_price", ColumnType::F64);
const COLLATERAL: Column = Column::new("collateral", ColumnType::F64);
const ISOLATED: Column = Column::new("isolated", ColumnType::Bool);
const COLUMNS: [Column; 6] = [ACCOUNT_ID, MARKET, SIZE, ENTRY_PRICE, COLLATERAL, ISOLATED];

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| arrow_schema(&COLUMNS));

/// The Arrow schema [`write_positions`] writes.
#[must_use]
pub fn positions_schema() -> SchemaRef {
    Arc::clone(&SCHEMA)
}

/// Writes `rows` to `path` atomically as a `positions/v1` Parquet file, with
/// `metadata` (plus `backstop.schema`) as key-value metadata.
///
/// Output is deterministic: the same rows and metadata give a byte-identical
/// file. Rows are written in the order given.
///
/// # Errors
///
/// [`DataError::InvalidValue`] if a row breaks the schema's rules (checked
/// before anything is written; the row index is into `rows`),
/// [`DataError::ReservedMetadataKey`] / [`DataError::DuplicateMetadataKey`]
/// for bad metadata, and I/O or encoding errors from the write itself.
pub fn write_positions(
    path: &Path,
    rows: &[PositionRow],
    metadata: &[(String, String)],
) -> Result<(), DataError> {
    let schema = positions_schema();
    let batches = row_batches(path, &schema, rows)?;
    write_parquet(path, &schema, POSITIONS_SCHEMA_ID, metadata, batches)
}

/// The record batches [`write_positions`] writes to `path` (one per row
/// group), in memory, with the file's metadata on their schema.
///
/// # Errors
/// As [`write_positions`], but nothing is written.
pub fn positions_batches(
    path: &Path,
    rows: &[PositionRow],
    metadata: &[(String, String)],
) -> Result<TableBatches, DataError> {
    let schema = positions_schema();
    let batches = row_batches(path, &schema, rows)?;
    TableBatches::collect(path, &schema, POSITIONS_SCHEMA_ID, metadata, batches)
}

/// Checks every row, then yields the batches of `rows`, one per row group.
fn row_batches<'a>(
    path: &'a Path,
    schema: &'a SchemaRef,
    rows: &'a [PositionRow],
) -> Result<impl Iterator<Item = Result<RecordBatch, DataError>> + 'a, DataError> {
    for (index, row) in rows.iter().enumerate() {
        validate_row(path, index, row)?;
    }
    Ok(rows
        .chunks(MAX_ROW_GROUP_ROWS)
        .map(move |chunk| to_batch(path, schema, chunk)))
}

/// Reads a positions file, in file order. A file with zero rows yields an
/// empty `Vec`.
///
/// # Errors
///
/// [`DataError::Io`] / [`DataError::NotParquet`] if the file cannot be opened
/// as Parquet; [`DataError::SchemaMismatch`] if it is tagged as another
/// schema; [`DataError::MissingColumn`], [`DataError::ColumnType`] or
/// [`DataError::DuplicateColumn`] for unusable columns;
/// [`DataError::NullValue`] or [`DataError::InvalidValue`] (naming the row)
/// for bad values.
pub fn read_positions(path: &Path) -> Result<Vec<PositionRow>, DataError> {
    let reader = open_projected(path, POSITIONS_SCHEMA_ID, &COLUMNS)?;
    let mut rows = Vec::new();
    let (mut ids, mut markets, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
    let (mut entries, mut collaterals, mut isolateds) = (Vec::new(), Vec::new(), Vec::new());
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        let column = |spec| BatchColumn::new(path, &batch, spec, offset);
        ids.clear();
        markets.clear();
        sizes.clear();
        entries.clear();
        collaterals.clear();
        isolateds.clear();
        column(ACCOUNT_ID)?.push_u64(&mut ids)?;
        column(MARKET)?.push_string(&mut markets)?;
        column(SIZE)?.push_f64(&mut sizes)?;
        column(ENTRY_PRICE)?.push_f64(&mut entries)?;
        column(COLLATERAL)?.push_f64(&mut collaterals)?;
        column(ISOLATED)?.push_bool(&mut isolateds)?;

        let decoded = ids
            .iter()
            .zip(markets.drain(..))
            .zip(&sizes)
            .zip(&entries)
            .zip(&collaterals)
            .zip(&isolateds);
        for (index, (((((&account_id, market), &size), &entry_price), &collateral), &isolated)) in
            decoded.enumerate()
        {
            let row = PositionRow {
                account_id,
                market,
                size,
                entry_price,
                collateral,
                isolated,
            };
            validate_row(path, offset + index, &row)?;
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Checks one row against the schema's rules.
fn validate_row(path: &Path, index: usize, row: &PositionRow) -> Result<(), DataError> {
    let fail = |column: &'static str| move |broken: Broken| broken.at(path, index, column);
    non_empty(&row.market).map_err(fail(MARKET.name))?;
    non_zero(row.size).map_err(fail(SIZE.name))?;
    positive(row.entry_price).map_err(fail(ENTRY_PRICE.name))?;
    non_negative(row.collateral).map_err(fail(COLLATERAL.name))?;
    Ok(())
}

fn to_batch(
    path: &Path,
    schema: &SchemaRef,
    rows: &[PositionRow],
) -> Result<RecordBatch, DataError> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|r| r.account_id),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.market.as_str()),
        )),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.size))),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.entry_price),
        )),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.collateral),
        )),
        Arc::new(BooleanArray::from(
            rows.iter().map(|r| r.isolated).collect::<Vec<_>>(),
        )),
    ];
    RecordBatch::try_new(Arc::clone(schema), columns)
        .map_err(arrow_err(path, "failed to build record batch"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{SCHEMA_METADATA_KEY, read_metadata};
    use arrow_array::{Int64Array, LargeStringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn row(
        account_id: u64,
        market: &str,
        size: f64,
        entry_price: f64,
        collateral: f64,
        isolated: bool,
    ) -> PositionRow {
        PositionRow {
            account_id,
            market: market.to_owned(),
            size,
            entry_price,
            collateral,
            isolated,
        }
    }

    fn sample() -> Vec<PositionRow> {
        vec![
            row(1, "BTC-PERP", 0.5, 60_000.0, 10_000.0, false),
            row(1, "ETH-PERP", -3.25, 3_000.0, 0.0, false),
            row(2, "BTC-PERP", -0.125, 61_234.5, 1_500.0, true),
            row(u64::MAX, "SOL-PERP", 1e-9, 150.0, 0.0, true),
        ]
    }

    /// Writes `batch` with a plain ArrowWriter, bypassing validation.
    fn write_raw(path: &Path, batch: &RecordBatch) {
        let file = std::fs::File::create(path).unwrap();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(batch).unwrap();
        writer.close().unwrap();
    }

    /// A batch with the positions schema but arbitrary values.
    fn raw_batch(rows: &[PositionRow]) -> RecordBatch {
        to_batch(Path::new("unused"), &positions_schema(), rows).unwrap()
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("population.parquet");
        let rows = sample();
        write_positions(&path, &rows, &[]).unwrap();
        assert_eq!(read_positions(&path).unwrap(), rows);
    }

    #[test]
    fn empty_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.parquet");
        write_positions(&path, &[], &[]).unwrap();
        assert!(read_positions(&path).unwrap().is_empty());
    }

    #[test]
    fn output_is_byte_identical() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.parquet");
        let b = dir.path().join("b.parquet");
        let meta = kv(&[("scenario", "crash-2021-05-19"), ("seed", "7")]);
        let mut meta_reordered = meta.clone();
        meta_reordered.reverse();
        write_positions(&a, &sample(), &meta).unwrap();
        write_positions(&b, &sample(), &meta_reordered).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    }

    #[test]
    fn metadata_round_trip_and_file_properties() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.parquet");
        write_positions(
            &path,
            &sample(),
            &kv(&[("source", "test"), ("a.first", "")]),
        )
        .unwrap();
        assert_eq!(
            read_metadata(&path).unwrap(),
            kv(&[
                ("a.first", ""),
                (SCHEMA_METADATA_KEY, POSITIONS_SCHEMA_ID),
                ("source", "test"),
            ])
        );
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let meta = reader.metadata();
        assert_eq!(
            meta.file_metadata().created_by(),
            Some(crate::parquet_io::CREATED_BY)
        );
        let column = meta.row_group(0).column(0);
        assert_eq!(column.compression(), parquet::basic::Compression::SNAPPY);
        assert!(column.statistics().is_some());
    }

    #[test]
    fn large_populations_are_split_into_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.parquet");
        let rows: Vec<PositionRow> = (0..MAX_ROW_GROUP_ROWS as u64 + 10)
            .map(|i| row(i, "BTC-PERP", 1.0, 100.0, 5.0, i % 2 == 0))
            .collect();
        write_positions(&path, &rows, &[]).unwrap();
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(reader.metadata().num_row_groups(), 2);
        assert_eq!(read_positions(&path).unwrap(), rows);
    }

    #[test]
    fn extra_columns_and_alternative_types_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("foreign.parquet");
        let schema = Arc::new(Schema::new(vec![
            Field::new("note", DataType::Utf8, true),
            Field::new("isolated", DataType::Boolean, true),
            Field::new("market", DataType::LargeUtf8, true),
            Field::new("collateral", DataType::Float64, true),
            Field::new("entry_price", DataType::Float64, false),
            Field::new("size", DataType::Float64, false),
            Field::new("account_id", DataType::Int64, false),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![None, Some("x")])),
            Arc::new(BooleanArray::from(vec![true, false])),
            Arc::new(LargeStringArray::from(vec!["BTC-PERP", "ETH-PERP"])),
            Arc::new(Float64Array::from(vec![10.0, 0.0])),
            Arc::new(Float64Array::from(vec![100.0, 200.0])),
            Arc::new(Float64Array::from(vec![-1.0, 2.0])),
            Arc::new(Int64Array::from(vec![7, 8])),
        ];
        write_raw(&path, &RecordBatch::try_new(schema, columns).unwrap());
        assert_eq!(
            read_positions(&path).unwrap(),
            vec![
                row(7, "BTC-PERP", -1.0, 100.0, 10.0, true),
                row(8, "ETH-PERP", 2.0, 200.0, 0.0, false),
            ]
        );
    }

    #[test]
    fn negative_int64_account_id_is_rejected_with_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("neg.parquet");
        let batch = raw_batch(&sample());
        let mut columns = batch.columns().to_vec();
        columns[0] = Arc::new(Int64Array::from(vec![1, 2, -3, 4]));
        let mut fields: Vec<Field> = positions_schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields[0] = Field::new("account_id", DataType::Int64, false);
        write_raw(
            &path,
            &RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap(),
        );
        let err = read_positions(&path).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 2, ref column, .. } if column == "account_id"),
            "{err:?}"
        );
    }

    #[test]
    fn missing_column_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.parquet");
        let batch = raw_batch(&sample());
        let index = batch.schema().index_of("collateral").unwrap();
        let mut batch = batch;
        batch.remove_column(index);
        write_raw(&path, &batch);
        let err = read_positions(&path).unwrap_err();
        match &err {
            DataError::MissingColumn {
                path: p,
                column,
                expected_type,
            } => {
                assert_eq!(p, &path);
                assert_eq!(column, "collateral");
                assert_eq!(expected_type, "Float64");
            }
            other => panic!("unexpected error {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("collateral") && msg.contains("missing.parquet"),
            "{msg}"
        );
    }

    #[test]
    fn wrong_column_type_names_column_expected_and_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wrong.parquet");
        let batch = raw_batch(&sample()[..2]);
        let mut fields: Vec<Field> = positions_schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut columns = batch.columns().to_vec();
        fields[2] = Field::new("size", DataType::Utf8, false);
        columns[2] = Arc::new(StringArray::from(vec!["0.5", "-3.25"]));
        write_raw(
            &path,
            &RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap(),
        );
        let err = read_positions(&path).unwrap_err();
        match &err {
            DataError::ColumnType {
                path: p,
                column,
                expected,
                found,
            } => {
                assert_eq!(p, &path);
                assert_eq!(column, "size");
                assert_eq!(expected, "Float64");
                assert_eq!(found, "Utf8");
            }
            other => panic!("unexpected error {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("wrong.parquet") && msg.contains("`size`"),
            "{msg}"
        );
    }

    #[test]
    fn nan_entry_price_is_rejected_with_row_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nan.parquet");
        let mut rows = sample();
        rows[3].entry_price = f64::NAN;

        // On write, before anything reaches disk.
        let err = write_positions(&path, &rows, &[]).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 3, ref column, .. } if column == "entry_price"),
            "{err:?}"
        );
        assert!(!path.exists());

        // On read, from a file written by someone else.
        write_raw(&path, &raw_batch(&rows));
        let err = read_positions(&path).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 3, ref column, .. } if column == "entry_price"),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("nan.parquet") && msg.contains("row 3") && msg.contains("NaN"),
            "{msg}"
        );
    }

    #[test]
    fn row_numbers_count_across_batches() {
        // The reader decodes in batches of 1024 rows; row numbers must be
        // file-wide, not batch-relative.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("many.parquet");
        let mut rows: Vec<PositionRow> = (0..3000)
            .map(|i| row(i, "ETH-PERP", 2.0, 2_000.0, 50.0, false))
            .collect();
        rows[2500].size = f64::NAN;
        write_raw(&path, &raw_batch(&rows));
        let err = read_positions(&path).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 2500, ref column, .. } if column == "size"),
            "{err:?}"
        );
    }

    #[test]
    fn negative_collateral_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("neg.parquet");
        let mut rows = sample();
        rows[1].collateral = -0.01;
        let err = write_positions(&path, &rows, &[]).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 1, ref column, .. } if column == "collateral"),
            "{err:?}"
        );
        write_raw(&path, &raw_batch(&rows));
        let err = read_positions(&path).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 1, ref column, .. } if column == "collateral"),
            "{err:?}"
        );
    }

    #[test]
    fn zero_size_infinite_collateral_and_empty_market_are_rejected() {
        let path = Path::new("x.parquet");
        let cases = [
            (row(1, "BTC", 0.0, 1.0, 1.0, false), "size"),
            (row(1, "BTC", f64::NEG_INFINITY, 1.0, 1.0, false), "size"),
            (row(1, "BTC", 1.0, 0.0, 1.0, false), "entry_price"),
            (row(1, "BTC", 1.0, 1.0, f64::INFINITY, false), "collateral"),
            (row(1, "", 1.0, 1.0, 1.0, false), "market"),
        ];
        for (bad, expected_column) in cases {
            let err = validate_row(path, 0, &bad).unwrap_err();
            assert!(
                matches!(err, DataError::InvalidValue { ref column, .. } if column == expected_column),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn nulls_are_rejected_with_row_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nulls.parquet");
        let batch = raw_batch(&sample()[..3]);
        let mut fields: Vec<Field> = positions_schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut columns = batch.columns().to_vec();
        fields[1] = Field::new("market", DataType::Utf8, true);
        columns[1] = Arc::new(StringArray::from(vec![
            Some("BTC-PERP"),
            Some("ETH-PERP"),
            None,
        ]));
        write_raw(
            &path,
            &RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap(),
        );
        let err = read_positions(&path).unwrap_err();
        assert!(
            matches!(err, DataError::NullValue { row: 2, ref column, .. } if column == "market"),
            "{err:?}"
        );
    }

    #[test]
    fn not_parquet_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("positions.csv");
        std::fs::write(&path, "account_id,market\n1,BTC\n").unwrap();
        let err = read_positions(&path).unwrap_err();
        assert!(matches!(err, DataError::NotParquet { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("positions.csv") && msg.contains("not a readable Parquet file"),
            "{msg}"
        );

        let missing = dir.path().join("nope.parquet");
        let err = read_positions(&missing).unwrap_err();
        assert!(matches!(err, DataError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("nope.parquet"));
    }

    #[test]
    fn file_of_another_schema_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.parquet");
        crate::results::steps::write_steps(
            &path,
            &crate::results::steps::StepsTable::default(),
            &[],
        )
        .unwrap();
        let err = read_positions(&path).unwrap_err();
        assert!(matches!(err, DataError::SchemaMismatch { .. }), "{err:?}");
    }
}
