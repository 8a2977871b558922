//! Writing a results table one row group at a time, without holding it whole.
//!
//! A table type that can be cut into row groups implements [`RowGroupTable`];
//! one generic writer then serves every such schema, two ways:
//!
//! - pulled: [`write_chunked`] (and [`batches_chunked`] in memory) asks a
//!   closure for each row group's rows, `chunk(range)`, in order;
//! - pushed: a [`RowGroupWriter`] takes each row group as it is produced
//!   ([`RowGroupWriter::write`]), e.g. while a path is being simulated, into a
//!   temporary file beside the target that [`RowGroupWriter::finish`] renames
//!   into place (dropped unfinished, it removes the temporary file).
//!
//! Both give a file byte-identical to writing the whole table at once: the
//! same writer settings, one record batch per row group of
//! [`MAX_ROW_GROUP_ROWS`] rows (the last one shorter), in order.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::marker::PhantomData;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;

use crate::error::DataError;
use crate::parquet_io::{MAX_ROW_GROUP_ROWS, write_parquet, writer_properties};
use crate::results::batches::TableBatches;

/// A results table that can be written one row group at a time.
pub trait RowGroupTable: Sized {
    /// The `backstop.schema` tag of its files.
    const SCHEMA_ID: &'static str;
    /// The name of the column whose length is the table's (for length errors).
    const LENGTH_COLUMN: &'static str;
    /// Whether a file of zero rows holds one empty row group (else none).
    const EMPTY_ROW_GROUP: bool;

    /// The Arrow schema of its files.
    fn schema() -> SchemaRef;

    /// Number of rows.
    fn rows(&self) -> usize;

    /// Checks lengths and values; the table's row 0 is the file's row
    /// `first_row` (errors name file rows).
    ///
    /// # Errors
    /// The first column of another length, or the first bad value.
    fn check(&self, path: &Path, first_row: usize) -> Result<(), DataError>;

    /// Rows `range` of the table as one record batch of `schema`.
    ///
    /// # Errors
    /// A batch Arrow refuses.
    fn batch(
        &self,
        path: &Path,
        schema: &SchemaRef,
        range: Range<usize>,
    ) -> Result<RecordBatch, DataError>;
}

/// Checks one row group's table (`range`: the file rows asked for) and makes
/// its record batch.
fn row_group<T: RowGroupTable>(
    path: &Path,
    schema: &SchemaRef,
    range: &Range<usize>,
    table: &T,
) -> Result<RecordBatch, DataError> {
    if table.rows() != range.len() {
        return Err(DataError::LengthMismatch {
            path: Some(path.to_owned()),
            column: T::LENGTH_COLUMN.to_owned(),
            reference: "the chunk's rows".to_owned(),
            expected: range.len(),
            found: table.rows(),
        });
    }
    table.check(path, range.start)?;
    table.batch(path, schema, 0..table.rows())
}

/// The batches of `rows` rows given by `chunk`, one per row group, each
/// checked as it comes.
fn chunk_batches<'a, T: RowGroupTable + 'a>(
    path: &'a Path,
    schema: &'a SchemaRef,
    rows: usize,
    mut chunk: impl FnMut(Range<usize>) -> T + 'a,
) -> impl Iterator<Item = Result<RecordBatch, DataError>> + 'a {
    let end = if T::EMPTY_ROW_GROUP {
        rows.max(1)
    } else {
        rows
    };
    (0..end).step_by(MAX_ROW_GROUP_ROWS).map(move |start| {
        let range = start..(start + MAX_ROW_GROUP_ROWS).min(rows);
        let table = chunk(range.clone());
        row_group(path, schema, &range, &table)
    })
}

/// Writes a file of `rows` rows atomically without holding them:
/// `chunk(range)` gives the rows `range` (at most [`MAX_ROW_GROUP_ROWS`] of
/// them, each chunk one row group), in order. Byte-identical to writing the
/// whole table; memory holds one chunk.
///
/// # Errors
/// A chunk without the rows asked for ([`DataError::LengthMismatch`]), a bad
/// value (naming the file row), bad metadata, and I/O or encoding errors;
/// nothing is left on disk on an error.
pub fn write_chunked<T: RowGroupTable>(
    path: &Path,
    rows: usize,
    metadata: &[(String, String)],
    chunk: impl FnMut(Range<usize>) -> T,
) -> Result<(), DataError> {
    let schema = T::schema();
    let batches = chunk_batches(path, &schema, rows, chunk);
    write_parquet(path, &schema, T::SCHEMA_ID, metadata, batches)
}

/// The record batches [`write_chunked`] writes to `path`, in memory (all
/// chunks at once), with the file's metadata on their schema.
///
/// # Errors
/// As [`write_chunked`], but nothing is written.
pub fn batches_chunked<T: RowGroupTable>(
    path: &Path,
    rows: usize,
    metadata: &[(String, String)],
    chunk: impl FnMut(Range<usize>) -> T,
) -> Result<TableBatches, DataError> {
    let schema = T::schema();
    let batches = chunk_batches(path, &schema, rows, chunk);
    TableBatches::collect(path, &schema, T::SCHEMA_ID, metadata, batches)
}

/// Distinguishes the temporary files of concurrent writers within a process.
static STREAM_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file of `T` written row group by row group as the rows are produced:
/// into a temporary file `.{name}.stream-{pid}-{n}` beside `path`, renamed
/// over `path` by [`RowGroupWriter::finish`]. Dropped before that (an error,
/// a failed run), the temporary file is removed and `path` left as it was.
///
/// Every [`RowGroupWriter::write`] but the last must have exactly
/// [`MAX_ROW_GROUP_ROWS`] rows: the file is then byte-identical to
/// [`write_chunked`] of the same rows.
pub struct RowGroupWriter<T: RowGroupTable> {
    path: PathBuf,
    temp: PathBuf,
    schema: SchemaRef,
    writer: Option<ArrowWriter<File>>,
    rows: usize,
    /// A row group shorter than [`MAX_ROW_GROUP_ROWS`] was written: only the
    /// last may be.
    short: bool,
    _table: PhantomData<fn(&T)>,
}

impl<T: RowGroupTable> std::fmt::Debug for RowGroupWriter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowGroupWriter")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl<T: RowGroupTable> RowGroupWriter<T> {
    /// Starts the file `path` with `metadata` (plus `backstop.schema`).
    ///
    /// # Errors
    /// Bad metadata, a path without a file name, or a temporary file that
    /// cannot be created.
    pub fn create(path: &Path, metadata: &[(String, String)]) -> Result<Self, DataError> {
        let properties = writer_properties(path, T::SCHEMA_ID, metadata)?;
        let file_name = path.file_name().ok_or_else(|| DataError::InvalidPath {
            path: path.to_owned(),
            reason: "has no file name",
        })?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let (temp, file) = create_temp(path, dir, file_name)?;
        let schema = T::schema();
        let writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties));
        let writer = match writer {
            Ok(w) => w,
            Err(source) => {
                let _ = fs::remove_file(&temp);
                return Err(DataError::Parquet {
                    path: path.to_owned(),
                    action: "failed to start Parquet writer",
                    source,
                });
            }
        };
        Ok(RowGroupWriter {
            path: path.to_owned(),
            temp,
            schema,
            writer: Some(writer),
            rows: 0,
            short: false,
            _table: PhantomData,
        })
    }

    /// The file this writer puts in place.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows written so far.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Writes `table` as the next row group (its rows are the file's next
    /// ones; errors name file rows).
    ///
    /// # Errors
    /// More than [`MAX_ROW_GROUP_ROWS`] rows, a row group after a short one
    /// ([`DataError::LengthMismatch`]), a bad value, or a failed write.
    pub fn write(&mut self, table: &T) -> Result<(), DataError> {
        let n = table.rows();
        if n > MAX_ROW_GROUP_ROWS || (self.short && n > 0) {
            return Err(DataError::LengthMismatch {
                path: Some(self.path.clone()),
                column: T::LENGTH_COLUMN.to_owned(),
                reference: "a row group's rows".to_owned(),
                expected: MAX_ROW_GROUP_ROWS,
                found: n,
            });
        }
        let range = self.rows..self.rows + n;
        let batch = row_group(&self.path, &self.schema, &range, table)?;
        self.write_batch(&batch)?;
        self.short = n < MAX_ROW_GROUP_ROWS;
        self.rows += n;
        Ok(())
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), DataError> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        writer.write(batch).map_err(|source| DataError::Parquet {
            path: self.path.clone(),
            action: "failed to write Parquet data",
            source,
        })
    }

    /// Closes the file and renames it into place at `path`.
    ///
    /// # Errors
    /// A failed encoding, sync or rename (the temporary file is then removed).
    pub fn finish(mut self) -> Result<(), DataError> {
        if T::EMPTY_ROW_GROUP && self.rows == 0 && !self.short {
            let empty = self.schema_empty_batch()?;
            self.write_batch(&empty)?;
        }
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        let file = writer.into_inner().map_err(|source| DataError::Parquet {
            path: self.path.clone(),
            action: "failed to finish Parquet file",
            source,
        })?;
        file.sync_all().map_err(|source| {
            DataError::io(
                &self.path,
                format!("failed to sync temporary file {}", self.temp.display()),
                source,
            )
        })?;
        drop(file);
        fs::rename(&self.temp, &self.path).map_err(|source| {
            DataError::io(
                &self.path,
                format!(
                    "failed to rename temporary file {} into place",
                    self.temp.display()
                ),
                source,
            )
        })?;
        // Renamed: nothing left to remove.
        self.temp = PathBuf::new();
        Ok(())
    }

    /// A batch of zero rows (the one row group of an empty file of `T`).
    fn schema_empty_batch(&self) -> Result<RecordBatch, DataError> {
        Ok(RecordBatch::new_empty(Arc::clone(&self.schema)))
    }
}

impl<T: RowGroupTable> Drop for RowGroupWriter<T> {
    fn drop(&mut self) {
        // Close the file before removing it; best effort (the error that led
        // here is the one worth reporting).
        drop(self.writer.take());
        if !self.temp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Creates a fresh temporary file `.{file_name}.stream-{pid}-{n}` in `dir`.
fn create_temp(
    target: &Path,
    dir: &Path,
    file_name: &std::ffi::OsStr,
) -> Result<(PathBuf, File), DataError> {
    let pid = std::process::id();
    let mut last = None;
    for _ in 0..64 {
        let n = STREAM_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = OsString::from(".");
        name.push(file_name);
        name.push(format!(".stream-{pid}-{n}"));
        let temp = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(source) => {
                return Err(DataError::io(
                    target,
                    format!("failed to create temporary file {}", temp.display()),
                    source,
                ));
            }
        }
    }
    Err(DataError::io(
        target,
        format!(
            "failed to find a free temporary file name in {}",
            dir.display()
        ),
        last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)),
    ))
}

/// Puts the file `from` (a table streamed while a run ran) at `to`: nothing
/// to do when it is already there, else an atomic copy ([`crate::write_atomically`]).
///
/// # Errors
/// [`DataError::Io`] if `from` cannot be read or `to` written.
pub fn place(from: &Path, to: &Path) -> Result<(), DataError> {
    if from == to {
        return Ok(());
    }
    crate::write_atomically(to, |file| {
        let mut src = File::open(from)
            .map_err(|e| DataError::io(from, "cannot open the streamed file", e))?;
        io::copy(&mut src, file)
            .map(|_| ())
            .map_err(|e| DataError::io(to, "cannot copy the streamed file", e))
    })
}
