//! Column descriptions: one [`Column`] (name, type, nullable) per column of a
//! file schema. The same description builds the Arrow schema a writer writes
//! ([`arrow_schema`]) and finds and type-checks the columns a reader reads
//! ([`projection`]), so a schema's columns are listed once, beside its rows.
//!
//! Readers are lenient about layout: extra columns are ignored, column order
//! does not matter, and some types accept a few physical Arrow types (see
//! [`ColumnType`]); what they find is reported in one place, here, naming the
//! file, the column and the expected and found types.

use std::path::Path;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::DataError;

/// The time zone written into every `Timestamp(ns, tz)` column.
pub(crate) const UTC: &str = "UTC";

/// Time zones read as UTC in `Timestamp(ns, tz)` columns.
const UTC_ALIASES: [&str; 4] = ["UTC", "Etc/UTC", "+00:00", "Z"];

/// The logical type of a column: the Arrow type written, and the Arrow types
/// accepted on reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnType {
    /// `UInt64`; reads `Int64` too (values must then be non-negative).
    U64,
    /// `UInt32`.
    U32,
    /// `Int8`.
    I8,
    /// `Int32`.
    I32,
    /// `Int64`.
    I64,
    /// `Float64`.
    F64,
    /// `Boolean`.
    Bool,
    /// `Utf8`; reads `LargeUtf8`, `Utf8View` or a dictionary of those too.
    Str,
    /// `Timestamp(Nanosecond, "UTC")`; reads any UTC spelling of the zone.
    TimestampNsUtc,
}

impl ColumnType {
    /// Human-readable description of the accepted types, for error messages.
    pub(crate) const fn expected(self) -> &'static str {
        match self {
            Self::U64 => "UInt64 (or non-negative Int64)",
            Self::U32 => "UInt32",
            Self::I8 => "Int8",
            Self::I32 => "Int32",
            Self::I64 => "Int64",
            Self::F64 => "Float64",
            Self::Bool => "Boolean",
            Self::Str => "Utf8 (or LargeUtf8, Utf8View, or a dictionary of them)",
            Self::TimestampNsUtc => "Timestamp(ns, \"UTC\")",
        }
    }

    /// Whether a file's column of `data_type` can be read as this type.
    pub(crate) fn accepts(self, data_type: &DataType) -> bool {
        fn is_string(data_type: &DataType) -> bool {
            matches!(
                data_type,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        }
        match self {
            Self::U64 => matches!(data_type, DataType::UInt64 | DataType::Int64),
            Self::U32 => *data_type == DataType::UInt32,
            Self::I8 => *data_type == DataType::Int8,
            Self::I32 => *data_type == DataType::Int32,
            Self::I64 => *data_type == DataType::Int64,
            Self::F64 => *data_type == DataType::Float64,
            Self::Bool => *data_type == DataType::Boolean,
            Self::Str => match data_type {
                DataType::Dictionary(key, value) => {
                    key.is_dictionary_key_type() && is_string(value)
                }
                other => is_string(other),
            },
            Self::TimestampNsUtc => matches!(
                data_type,
                DataType::Timestamp(TimeUnit::Nanosecond, Some(tz)) if UTC_ALIASES.contains(&tz.as_ref())
            ),
        }
    }

    /// The Arrow type written.
    pub(crate) fn data_type(self) -> DataType {
        match self {
            Self::U64 => DataType::UInt64,
            Self::U32 => DataType::UInt32,
            Self::I8 => DataType::Int8,
            Self::I32 => DataType::Int32,
            Self::I64 => DataType::Int64,
            Self::F64 => DataType::Float64,
            Self::Bool => DataType::Boolean,
            Self::Str => DataType::Utf8,
            Self::TimestampNsUtc => DataType::Timestamp(TimeUnit::Nanosecond, Some(UTC.into())),
        }
    }
}

/// One column of a file schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Column {
    /// Column name.
    pub(crate) name: &'static str,
    /// Its type.
    pub(crate) ty: ColumnType,
    /// Whether it may hold nulls.
    pub(crate) nullable: bool,
}

impl Column {
    /// A column without nulls.
    pub(crate) const fn new(name: &'static str, ty: ColumnType) -> Self {
        Self {
            name,
            ty,
            nullable: false,
        }
    }

    /// A column that may hold nulls.
    pub(crate) const fn nullable(name: &'static str, ty: ColumnType) -> Self {
        Self {
            name,
            ty,
            nullable: true,
        }
    }

    /// The Arrow field written.
    pub(crate) fn field(&self) -> Field {
        Field::new(self.name, self.ty.data_type(), self.nullable)
    }

    /// The error for a file without this column.
    pub(crate) fn missing(&self, path: &Path) -> DataError {
        DataError::MissingColumn {
            path: path.to_owned(),
            column: self.name.to_owned(),
            expected_type: self.ty.expected().to_owned(),
        }
    }

    /// The error for a file whose column has another type.
    pub(crate) fn wrong_type(&self, path: &Path, found: &DataType) -> DataError {
        DataError::ColumnType {
            path: path.to_owned(),
            column: self.name.to_owned(),
            expected: self.ty.expected().to_owned(),
            found: found.to_string(),
        }
    }
}

/// The Arrow schema written for `columns`, in that order.
pub(crate) fn arrow_schema(columns: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(
        columns.iter().map(Column::field).collect::<Vec<_>>(),
    ))
}

/// Resolves `columns` by name and type in the file and returns the projection
/// onto exactly those columns (extra columns in the file are ignored).
///
/// # Errors
/// A missing, duplicated or mistyped column, naming the file and the column.
pub(crate) fn projection<T: parquet::file::reader::ChunkReader>(
    path: &Path,
    builder: &ParquetRecordBatchReaderBuilder<T>,
    columns: &[Column],
) -> Result<ProjectionMask, DataError> {
    let schema = builder.schema();
    let mut roots = Vec::with_capacity(columns.len());
    for col in columns {
        let mut matches = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, field)| field.name() == col.name);
        let (index, field) = matches.next().ok_or_else(|| col.missing(path))?;
        if matches.next().is_some() {
            return Err(DataError::DuplicateColumn {
                path: path.to_owned(),
                column: col.name.to_owned(),
            });
        }
        if !col.ty.accepts(field.data_type()) {
            return Err(col.wrong_type(path, field.data_type()));
        }
        // Top-level Arrow fields correspond one-to-one to Parquet root columns.
        roots.push(index);
    }
    Ok(ProjectionMask::roots(builder.parquet_schema(), roots))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_accept_their_alternatives_only() {
        let utc = |tz: &str| DataType::Timestamp(TimeUnit::Nanosecond, Some(tz.into()));
        let ts = ColumnType::TimestampNsUtc;
        assert!(ts.accepts(&utc("UTC")) && ts.accepts(&utc("+00:00")));
        assert!(ts.accepts(&utc("Etc/UTC")));
        assert!(!ts.accepts(&utc("Europe/London")) && !ts.accepts(&utc("Asia/Tokyo")));
        assert!(!ts.accepts(&DataType::Timestamp(TimeUnit::Nanosecond, None)));
        assert!(!ts.accepts(&DataType::Timestamp(
            TimeUnit::Microsecond,
            Some("UTC".into())
        )));
        assert!(!ts.accepts(&DataType::Int64));
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        assert!(ColumnType::Str.accepts(&dict));
        assert!(ColumnType::Str.accepts(&DataType::Utf8View));
        assert!(!ColumnType::Str.accepts(&DataType::Binary));
        assert!(ColumnType::U64.accepts(&DataType::Int64));
        assert!(!ColumnType::U64.accepts(&DataType::UInt32));
        assert!(!ColumnType::I64.accepts(&DataType::UInt64));
        assert!(ColumnType::I8.accepts(&DataType::Int8));
        assert!(!ColumnType::I8.accepts(&DataType::Int16));
        assert!(!ColumnType::I32.accepts(&DataType::Int64));
        assert!(!ColumnType::F64.accepts(&DataType::Float32));
        for ty in [
            ColumnType::U64,
            ColumnType::U32,
            ColumnType::I8,
            ColumnType::I32,
            ColumnType::I64,
            ColumnType::F64,
            ColumnType::Bool,
            ColumnType::Str,
            ColumnType::TimestampNsUtc,
        ] {
            assert!(ty.accepts(&ty.data_type()), "{ty:?}");
        }
    }

    #[test]
    fn schema_follows_the_columns() {
        let schema = arrow_schema(&[
            Column::new("ts", ColumnType::TimestampNsUtc),
            Column::nullable("index", ColumnType::F64),
        ]);
        assert_eq!(
            schema.field(0).data_type(),
            &DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
        );
        assert!(!schema.field(0).is_nullable() && schema.field(1).is_nullable());
        let err = Column::new("mark", ColumnType::F64)
            .wrong_type(Path::new("f.parquet"), &DataType::Utf8)
            .to_string();
        assert!(err.contains("`mark`") && err.contains("Float64"), "{err}");
    }
}
