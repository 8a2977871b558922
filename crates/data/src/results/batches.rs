//! A results table held in memory: the record batches a writer of this crate
//! encodes into its Parquet file, and that file's key-value metadata on the
//! schema. `backstop.run` in Python hands these to pyarrow without a file; the
//! writers and the `*_batches` functions build them with the same code, so the
//! table in memory is the table in the file.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};

use crate::error::DataError;
use crate::metadata::build_key_value_metadata;
use crate::parquet_io::arrow_err;

/// One results table in memory: its schema, carrying the key-value metadata
/// its file would carry (`backstop.schema`, version, scenario, seed...), and
/// its record batches (one per row group of the file).
#[derive(Debug, Clone)]
pub struct TableBatches {
    /// The columns, with the file's key-value metadata.
    pub schema: SchemaRef,
    /// The rows, in file order; every batch has [`TableBatches::schema`].
    pub batches: Vec<RecordBatch>,
}

impl TableBatches {
    /// Collects `batches` (the writer's own) under `schema` with `metadata`
    /// plus `backstop.schema = schema_id`. `path` is the file the table would
    /// be written to, for error messages.
    pub(crate) fn collect<I>(
        path: &Path,
        schema: &SchemaRef,
        schema_id: &str,
        metadata: &[(String, String)],
        batches: I,
    ) -> Result<Self, DataError>
    where
        I: IntoIterator<Item = Result<RecordBatch, DataError>>,
    {
        let meta: HashMap<String, String> = build_key_value_metadata(path, schema_id, metadata)?
            .into_iter()
            .map(|kv| (kv.key, kv.value.unwrap_or_default()))
            .collect();
        let schema = Arc::new(Schema::new_with_metadata(schema.fields().clone(), meta));
        let batches = batches
            .into_iter()
            .map(|b| {
                b?.with_schema(Arc::clone(&schema))
                    .map_err(arrow_err(path, "failed to build record batch"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { schema, batches })
    }

    /// Number of rows.
    #[must_use]
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use arrow_array::RecordBatch;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::TableBatches;
    use crate::results::balances::{BalanceParty, BalanceRow};
    use crate::{
        DataError, HaircutsTable, MAX_ROW_GROUP_ROWS, PATH_METRICS, PathsTable, PositionRow,
        SCHEMA_METADATA_KEY,
    };

    /// The file at `path` as the reader sees it: schema metadata and batches
    /// of one row group each.
    fn read(path: &Path) -> (std::collections::HashMap<String, String>, Vec<RecordBatch>) {
        let file = std::fs::File::open(path).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .with_batch_size(MAX_ROW_GROUP_ROWS);
        let meta = builder.schema().metadata().clone();
        let batches = builder.build().unwrap().map(Result::unwrap).collect();
        (meta.into(), batches)
    }

    /// The batches in memory are the file's, row group by row group, with
    /// the file's metadata on their schema.
    fn same_as_file(
        write: impl FnOnce(&Path) -> Result<(), DataError>,
        memory: impl FnOnce(&Path) -> Result<TableBatches, DataError>,
    ) -> TableBatches {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write(&path).unwrap();
        let mem = memory(&path).unwrap();
        let (meta, file_batches) = read(&path);
        let mine: std::collections::HashMap<String, String> = mem.schema.metadata().clone().into();
        assert_eq!(mine, meta);
        assert!(!meta[SCHEMA_METADATA_KEY].is_empty());
        let mem_batches: Vec<RecordBatch> = mem
            .batches
            .iter()
            .filter(|b| b.num_rows() > 0)
            .cloned()
            .collect();
        assert_eq!(mem_batches.len(), file_batches.len());
        for (m, f) in mem_batches.iter().zip(&file_batches) {
            assert_eq!(m.columns(), f.columns());
            assert_eq!(m.schema().fields(), f.schema().fields());
        }
        mem
    }

    fn meta() -> Vec<(String, String)> {
        vec![("backstop.scenario".to_owned(), "t".to_owned())]
    }

    #[test]
    fn positions_in_memory_are_the_files_row_groups() {
        let rows: Vec<PositionRow> = (0..MAX_ROW_GROUP_ROWS as u64 + 10)
            .map(|i| PositionRow {
                account_id: i,
                market: if i % 2 == 0 { "BTC" } else { "ETH" }.to_owned(),
                size: if i % 3 == 0 { -1.5 } else { 0.25 },
                entry_price: 100.0 + i as f64,
                collateral: 10.0,
                isolated: i % 5 == 0,
            })
            .collect();
        let mem = same_as_file(
            |p| crate::write_positions(p, &rows, &meta()),
            |p| crate::positions_batches(p, &rows, &meta()),
        );
        assert_eq!(mem.batches.len(), 2);
        assert_eq!(mem.num_rows(), rows.len());
    }

    #[test]
    fn paths_haircuts_and_balances_in_memory_are_the_files() {
        let mut paths = PathsTable::default();
        let mut values = [Some(1.0); PATH_METRICS.len()];
        values[1] = None;
        paths.push(0, 0, &values);
        paths.push(0, 1, &[Some(2.5); PATH_METRICS.len()]);
        let mem = same_as_file(
            |p| crate::write_paths(p, &paths, &meta()),
            |p| crate::paths_batches(p, &paths, &meta()),
        );
        assert_eq!(mem.num_rows(), 2);
        let cuts = HaircutsTable {
            param_set: vec![0, 0],
            path: vec![0, 1],
            account_id: vec![7, 9],
            amount: vec![1.25, 3.0],
        };
        same_as_file(
            |p| crate::write_haircuts(p, &cuts, &meta()),
            |p| crate::haircuts_batches(p, &cuts, &meta()),
        );
        let none = HaircutsTable::default();
        let mem = same_as_file(
            |p| crate::write_haircuts(p, &none, &meta()),
            |p| crate::haircuts_batches(p, &none, &meta()),
        );
        assert_eq!(mem.num_rows(), 0);
        let balances = vec![
            BalanceRow::cash(BalanceParty::Account, Some(1), 100, 40),
            BalanceRow::cash(BalanceParty::InsuranceFund, None, 5, 65),
        ];
        same_as_file(
            |p| crate::write_balances(p, &balances, &meta()),
            |p| crate::balances_batches(p, &balances, &meta()),
        );
    }

    #[test]
    fn a_bad_row_fails_in_memory_as_on_writing_naming_the_file() {
        let rows = vec![PositionRow {
            account_id: 1,
            market: "BTC".to_owned(),
            size: 0.0,
            entry_price: 100.0,
            collateral: 1.0,
            isolated: false,
        }];
        let err = crate::positions_batches(Path::new("population.parquet"), &rows, &meta())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("population.parquet") && err.contains("size"),
            "{err}"
        );
    }
}
