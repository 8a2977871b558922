//! Step 2 of the pipeline, in memory: the valid rows of every input,
//! deduplicated, expanded, sorted and written by polars' streaming Parquet
//! sink into a scratch file.

use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use super::importer::{Importer, REJECT, engine_error};
use crate::error::DataError;
use crate::history::{HistorySchema, depth_schema, funding_schema, prices_schema, trades_schema};
use crate::parquet_io::MAX_ROW_GROUP_ROWS;

/// `ts` (Int64 ns) as `Datetime(ns, "UTC")`.
fn utc_timestamp(ts: Expr) -> Expr {
    let dtype = DataType::Datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC));
    let out_dtype = dtype.clone();
    ts.map(
        |c: Column| {
            let ns = c.i64()?.clone();
            let dt = ns.into_datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC));
            Ok(Column::from(dt.into_series()))
        },
        move |_, field| Ok(Field::new(field.name().clone(), out_dtype.clone())),
    )
    .alias("ts")
}

/// The output rows of `frames`: valid rows of every input → dedupe →
/// expand (unsorted).
pub(crate) fn expanded(
    importer: &dyn Importer,
    frames: Vec<LazyFrame>,
) -> Result<LazyFrame, PolarsError> {
    let all = concat(
        frames,
        UnionArgs {
            maintain_order: true,
            ..UnionArgs::default()
        },
    )?;
    let records = all
        .filter(col(REJECT).is_null())
        .select(importer.record())
        .unique_stable(None, UniqueKeepStrategy::First);
    importer.expand(records)
}

/// Name of the joined index price before it becomes `index`.
const INDEX_PRICE: &str = "__index_price";

/// Step 2: valid rows of every input → dedupe → expand → (join the index
/// rows on `ts`) → sort → Parquet at `temp`.
pub(crate) fn sink(
    importer: &dyn Importer,
    frames: Vec<LazyFrame>,
    index: Option<LazyFrame>,
    output: &Path,
    temp: &Path,
    key_values: Vec<(String, String)>,
) -> Result<(), DataError> {
    const ACTION: &str = "failed to import";
    let err = |e: PolarsError| engine_error(output, ACTION, &e);
    let mut rows = expanded(importer, frames).map_err(err)?;
    if let Some(index) = index {
        // Mark rows keep their order (and their count: index `ts` values are
        // unique, checked before); `index` is the index path's price there.
        let mut args = JoinArgs::new(JoinType::Left);
        args.maintain_order = MaintainOrderJoin::Left;
        rows = rows
            .select([col("ts"), col("mark")])
            .join(
                index.select([col("ts"), col("mark").alias(INDEX_PRICE)]),
                [col("ts")],
                [col("ts")],
                args,
            )
            .select([col("ts"), col("mark"), col(INDEX_PRICE).alias("index")]);
    }
    let rows = rows.sort(
        importer.sort_by().to_vec(),
        SortMultipleOptions::default()
            .with_maintain_order(true)
            .with_nulls_last(true),
    );
    let schema = importer.schema();
    let mut outputs = vec![utc_timestamp(col("ts"))];
    outputs.extend(
        arrow_columns(schema)
            .into_iter()
            .skip(1)
            .map(|name| col(name.as_str())),
    );
    let options = ParquetWriteOptions {
        // arrow-rs here reads snappy (and uncompressed) only.
        compression: ParquetCompression::Snappy,
        statistics: StatisticsOptions::default(),
        row_group_size: Some(MAX_ROW_GROUP_ROWS),
        key_value_metadata: Some(KeyValueMetadata::from_static(key_values)),
        ..ParquetWriteOptions::default()
    };
    sink_parquet(rows.select(outputs), options, temp, output)
}

/// Runs `frame` with polars' streaming engine into the Parquet file `path`,
/// written with `options`; errors name `output`, the file being imported.
pub(crate) fn sink_parquet(
    frame: LazyFrame,
    options: ParquetWriteOptions,
    path: &Path,
    output: &Path,
) -> Result<(), DataError> {
    let err = |e: PolarsError| engine_error(output, "failed to import", &e);
    let target = path.to_str().ok_or_else(|| DataError::InvalidPath {
        path: output.to_owned(),
        reason: "is not valid UTF-8 (the Parquet sink needs UTF-8 paths)",
    })?;
    frame
        .sink(
            SinkDestination::File {
                target: SinkTarget::Path(PlRefPath::new(target)),
            },
            FileWriteFormat::Parquet(Arc::new(options)),
            UnifiedSinkArgs::default(),
        )
        .map_err(err)?
        .collect_with_engine(Engine::Streaming)
        .map_err(err)?;
    Ok(())
}

/// The column names of `schema`, in order.
fn arrow_columns(schema: HistorySchema) -> Vec<String> {
    expected_arrow_schema(schema)
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect()
}

pub(crate) fn expected_arrow_schema(schema: HistorySchema) -> arrow_schema::SchemaRef {
    match schema {
        HistorySchema::Trades => trades_schema(),
        HistorySchema::Prices => prices_schema(),
        HistorySchema::Funding => funding_schema(),
        HistorySchema::Depth => depth_schema(),
    }
}
