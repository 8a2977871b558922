//! Typed access to the columns of a decoded tick-history batch: the `ts`
//! column every schema starts with, and the values of a column at a row,
//! failing with an error that names the file, the column and the row.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray, RecordBatch};
use parquet::errors::ParquetError;

use crate::error::DataError;
use crate::schema::{Column, ColumnType};

/// The `ts` column every tick-history schema starts with.
pub(crate) const TS: Column = Column::new("ts", ColumnType::TimestampNsUtc);

/// Column `col` of `batch` as a primitive array of type `T`.
pub(crate) fn column<T: ArrowPrimitiveType>(
    path: &Path,
    batch: &RecordBatch,
    col: &Column,
) -> Result<PrimitiveArray<T>, DataError> {
    optional_column(path, batch, col)?.ok_or_else(|| col.missing(path))
}

/// Like [`column`], but `None` when the batch has no such column (it was not
/// projected).
pub(crate) fn optional_column<T: ArrowPrimitiveType>(
    path: &Path,
    batch: &RecordBatch,
    col: &Column,
) -> Result<Option<PrimitiveArray<T>>, DataError> {
    let Some(array) = batch.column_by_name(col.name) else {
        return Ok(None);
    };
    if !col.ty.accepts(array.data_type()) {
        return Err(col.wrong_type(path, array.data_type()));
    }
    array
        .as_primitive_opt::<T>()
        .cloned()
        .map(Some)
        .ok_or_else(|| col.wrong_type(path, array.data_type()))
}

/// Value `i` of a non-nullable column, as file row `row`.
#[inline]
pub(crate) fn value<T: ArrowPrimitiveType>(
    path: &Path,
    array: &PrimitiveArray<T>,
    col: &Column,
    i: usize,
    row: usize,
) -> Result<T::Native, DataError> {
    match optional_value(path, array, i)? {
        Some(value) => Ok(value),
        None => Err(DataError::NullValue {
            path: path.to_owned(),
            column: col.name.to_owned(),
            row,
        }),
    }
}

/// Value `i` of a nullable column, `None` if null.
#[inline]
pub(crate) fn optional_value<T: ArrowPrimitiveType>(
    path: &Path,
    array: &PrimitiveArray<T>,
    i: usize,
) -> Result<Option<T::Native>, DataError> {
    if array.is_null(i) {
        return Ok(None);
    }
    // A record batch's columns all have its length, so this cannot miss.
    array
        .values()
        .get(i)
        .copied()
        .map(Some)
        .ok_or_else(|| DataError::Parquet {
            path: path.to_owned(),
            action: "failed to decode Parquet data",
            source: ParquetError::General(format!(
                "column shorter than its batch (index {i} of {})",
                array.len()
            )),
        })
}

/// Value `i` of a timestamp column, `None` if null (or out of range).
#[inline]
pub(crate) fn ts_value<T: ArrowPrimitiveType<Native = i64>>(
    array: &PrimitiveArray<T>,
    i: usize,
) -> Option<i64> {
    if array.is_null(i) {
        None
    } else {
        array.values().get(i).copied()
    }
}
