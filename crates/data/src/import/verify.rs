//! Step 3 of the pipeline: the scratch file read back with this crate's own
//! reader ([`verify`]), then moved into place ([`publish`]).

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::sink::expected_arrow_schema;
use crate::error::DataError;
use crate::history::{
    HistoryMetadata, HistorySchema, HistorySource, ReplayEvent, TimeWindow, read_depth,
    read_history_metadata,
};

/// What [`verify`] found in the written file.
pub(crate) struct Written {
    pub(crate) rows: usize,
    /// Rows with a non-null `index` (prices files).
    pub(crate) with_index: usize,
    pub(crate) first_ts_ns: i64,
    pub(crate) last_ts_ns: i64,
}

/// Step 3: reads `temp` back with the crate's own reader.
pub(crate) fn verify(
    schema: HistorySchema,
    temp: &Path,
    expected: &HistoryMetadata,
) -> Result<Written, DataError> {
    let (found, metadata) = read_history_metadata(temp)?;
    if found != schema {
        return Err(DataError::SchemaMismatch {
            path: temp.to_owned(),
            expected: schema.id().to_owned(),
            found: found.id().to_owned(),
        });
    }
    if metadata != *expected {
        return Err(DataError::InvalidMetadata {
            path: temp.to_owned(),
            key: "*".to_owned(),
            value: format!("{metadata:?}"),
            reason: format!("differs from what was written: {expected:?}"),
        });
    }
    check_arrow_types(schema, temp)?;
    let mut rows = 0_usize;
    let mut with_index = 0_usize;
    let mut first = None;
    let mut last = 0_i64;
    if schema == HistorySchema::Depth {
        for row in read_depth(temp)?.rows {
            rows += 1;
            first.get_or_insert(row.ts_ns);
            last = row.ts_ns;
        }
    } else {
        for event in HistorySource::open(temp, TimeWindow::ALL)? {
            let event = event?;
            if let ReplayEvent::Price { index: Some(_), .. } = event {
                with_index += 1;
            }
            let ts = event.ts_ns();
            rows += 1;
            first.get_or_insert(ts);
            last = ts;
        }
    }
    let first = first.ok_or_else(|| DataError::InvalidInput {
        what: "import",
        reason: "no rows were written".to_owned(),
    })?;
    Ok(Written {
        rows,
        with_index,
        first_ts_ns: first,
        last_ts_ns: last,
    })
}

/// Checks that every column has exactly the name and Arrow type (including
/// the `ts` zone spelling `"UTC"`) of the schema, in order. Nullability is
/// not compared: polars writes every column as nullable (OPTIONAL); the
/// row-by-row read in [`verify`] rejects a null where the schema has none.
fn check_arrow_types(schema: HistorySchema, temp: &Path) -> Result<(), DataError> {
    let file = File::open(temp)
        .map_err(|source| DataError::io(temp, "failed to open file for reading", source))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| DataError::NotParquet {
            path: temp.to_owned(),
            source,
        })?;
    let found = builder.schema();
    let expected = expected_arrow_schema(schema);
    for (i, field) in expected.fields().iter().enumerate() {
        let Some(got) = found.fields().get(i) else {
            return Err(DataError::MissingColumn {
                path: temp.to_owned(),
                column: field.name().clone(),
                expected_type: field.data_type().to_string(),
            });
        };
        if got.name() != field.name() || got.data_type() != field.data_type() {
            return Err(DataError::ColumnType {
                path: temp.to_owned(),
                column: field.name().clone(),
                expected: field.data_type().to_string(),
                found: format!("`{}` {}", got.name(), got.data_type()),
            });
        }
    }
    if found.fields().len() != expected.fields().len() {
        return Err(DataError::InvalidInput {
            what: "import",
            reason: format!(
                "{} columns written, the schema has {}",
                found.fields().len(),
                expected.fields().len()
            ),
        });
    }
    Ok(())
}

/// fsyncs `temp` and renames it over `output`, then fsyncs the directory.
pub(crate) fn publish(temp: &Path, output: &Path) -> Result<(), DataError> {
    File::open(temp)
        .and_then(|file| file.sync_all())
        .map_err(|source| DataError::io(output, "failed to sync the imported file", source))?;
    std::fs::rename(temp, output).map_err(|source| {
        DataError::io(
            output,
            format!(
                "failed to rename the imported file {} into place",
                temp.display()
            ),
            source,
        )
    })?;
    #[cfg(unix)]
    {
        let dir = match output.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        File::open(&dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|source| {
                DataError::io(
                    output,
                    "imported file is in place, but syncing its directory failed",
                    source,
                )
            })?;
    }
    Ok(())
}
