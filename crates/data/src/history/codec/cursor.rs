//! Reading tick-history files: a batch-at-a-time [`Cursor`] over the rows of
//! one file inside an optional time window (pruning row groups by their `ts`
//! statistics), and [`read_rows`], a whole file into memory.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::statistics::Statistics;

use super::columns::TS;
use super::metadata::open;
use super::rows::{Decode, HistoryTable, Record};
use crate::error::DataError;
use crate::history::window::TimeWindow;
use crate::schema::{Column, projection};

/// Rows per record batch when streaming; with the few columns a replay
/// projects this is tens of kilobytes per source.
pub(crate) const BATCH_ROWS: usize = 4096;

/// A row group the cursor reads: where it starts in the file and how long it is.
#[derive(Debug, Clone, Copy)]
struct Group {
    first_row: usize,
    rows: usize,
}

/// The row groups to read: all non-empty groups when `window` is `None`,
/// otherwise those whose `ts` min/max statistics overlap it. Groups without
/// usable statistics are kept. When the statistics show the groups out of
/// time order (the file is unsorted), nothing is pruned, so that reading
/// reports the exact unsorted row instead of silently missing rows.
fn plan_row_groups(
    path: &Path,
    metadata: &ParquetMetaData,
    window: Option<TimeWindow>,
) -> Result<(Vec<usize>, Vec<Group>), DataError> {
    let ts_leaf = metadata
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|column| matches!(column.path().parts(), [name] if name == TS.name));
    let mut all = Vec::with_capacity(metadata.num_row_groups());
    let mut first_row = 0usize;
    for row_group in metadata.row_groups() {
        let rows = usize::try_from(row_group.num_rows()).map_err(|_| DataError::Parquet {
            path: path.to_owned(),
            action: "failed to read Parquet footer",
            source: ParquetError::General(format!("row group has {} rows", row_group.num_rows())),
        })?;
        let range = ts_leaf
            .filter(|&leaf| leaf < row_group.num_columns())
            .and_then(|leaf| match row_group.column(leaf).statistics() {
                Some(Statistics::Int64(stats)) => Some((*stats.min_opt()?, *stats.max_opt()?)),
                _ => None,
            });
        all.push((Group { first_row, rows }, range));
        first_row = first_row.saturating_add(rows);
    }

    let in_order = all
        .iter()
        .filter_map(|(_, range)| *range)
        .try_fold(i64::MIN, |previous_max, (min, max)| {
            (min >= previous_max && min <= max).then_some(max)
        })
        .is_some();
    let keep = |range: Option<(i64, i64)>| match (window, range) {
        (Some(window), Some((min, max))) if in_order => window.overlaps(min, max),
        _ => true,
    };
    Ok(all
        .into_iter()
        .enumerate()
        .filter(|(_, (group, range))| group.rows > 0 && keep(*range))
        .map(|(index, (group, _))| (index, group))
        .unzip())
}

/// Streams the rows of one file, batch by batch, inside an optional time
/// window, checking that timestamps never decrease and validating every row
/// returned.
///
/// Each record batch is decoded and checked in one tight loop into a buffer
/// of rows (reused from batch to batch), which [`Cursor::next_row`] then
/// hands out one by one: the per-row cost of the stream is a copy, not a
/// trip through the decoder. An error found while filling the buffer is kept
/// and returned after the rows before it, so callers still see every valid
/// row up to the offending one, then the error.
pub(crate) struct Cursor<D: Decode> {
    path: PathBuf,
    reader: Option<ParquetRecordBatchReader>,
    /// Checked rows of the current batch inside the window.
    rows: Vec<D::Row>,
    /// The next row of `rows` to return.
    position: usize,
    /// The error that ended the current batch, returned after `rows`.
    pending: Option<DataError>,
    groups: Vec<Group>,
    group: usize,
    row_in_group: usize,
    groups_read: usize,
    groups_total: usize,
    window: Option<TimeWindow>,
    previous: Option<(usize, i64)>,
}

impl<D: Decode> Cursor<D> {
    /// A cursor over `columns` of an opened file, reading only the row groups
    /// that can hold timestamps in `window` (`None`: every row).
    pub(crate) fn new(
        path: &Path,
        builder: ParquetRecordBatchReaderBuilder<File>,
        columns: &[Column],
        window: Option<TimeWindow>,
    ) -> Result<Self, DataError> {
        let mask = projection(path, &builder, columns)?;
        let groups_total = builder.metadata().num_row_groups();
        let (indices, groups) = plan_row_groups(path, builder.metadata(), window)?;
        let reader = builder
            .with_projection(mask)
            .with_row_groups(indices)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|source| DataError::Parquet {
                path: path.to_owned(),
                action: "failed to set up Parquet reader",
                source,
            })?;
        Ok(Self {
            path: path.to_owned(),
            reader: Some(reader),
            rows: Vec::new(),
            position: 0,
            pending: None,
            groups,
            group: 0,
            row_in_group: 0,
            groups_read: 0,
            groups_total,
            window,
            previous: None,
        })
    }

    /// The file being read.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Row groups in the file.
    pub(crate) fn row_groups_total(&self) -> usize {
        self.groups_total
    }

    /// Row groups selected for reading after pruning by the window.
    pub(crate) fn row_groups_selected(&self) -> usize {
        self.groups.len()
    }

    /// Row groups from which at least one row has been decoded so far.
    pub(crate) fn row_groups_read(&self) -> usize {
        self.groups_read
    }

    /// The next row inside the window, `Ok(None)` at the end of the file.
    /// After an error the cursor is exhausted.
    #[inline]
    pub(crate) fn next_row(&mut self) -> Result<Option<D::Row>, DataError> {
        if let Some(row) = self.rows.get(self.position) {
            self.position += 1;
            return Ok(Some(*row));
        }
        self.refill()
    }

    /// The buffer is used up: returns the pending error, or decodes batches
    /// until one yields a row (or the file ends).
    #[cold]
    fn refill(&mut self) -> Result<Option<D::Row>, DataError> {
        loop {
            if let Some(err) = self.pending.take() {
                self.close();
                return Err(err);
            }
            let Some(reader) = self.reader.as_mut() else {
                return Ok(None);
            };
            let batch = match crate::parquet_io::next_batch(&self.path, reader) {
                None => {
                    self.close();
                    return Ok(None);
                }
                Some(Err(error)) => {
                    self.close();
                    return Err(error);
                }
                Some(Ok(batch)) => batch,
            };
            self.rows.clear();
            self.position = 0;
            if let Err(err) = self.fill(&batch) {
                self.pending = Some(err);
            }
            if let Some(row) = self.rows.first() {
                self.position = 1;
                return Ok(Some(*row));
            }
        }
    }

    /// Exhausts the cursor, releasing the reader and the buffer.
    fn close(&mut self) {
        self.reader = None;
        self.rows = Vec::new();
        self.position = 0;
    }

    /// Decodes and checks `batch` into `self.rows` (rows inside the window),
    /// stopping at the first bad row.
    fn fill(&mut self, batch: &RecordBatch) -> Result<(), DataError> {
        let columns = D::from_batch(&self.path, batch)?;
        let n = batch.num_rows();
        self.rows.reserve(n);
        // Fast path: a batch wholly inside the window, in time order and
        // valid is checked column by column and copied out in one go.
        if let Some(ts) = columns.ts_values()
            && let (Some(&first), Some(&last)) = (ts.first(), ts.last())
            && self.previous.is_none_or(|(_, previous)| previous <= first)
            && self
                .window
                .is_none_or(|window| window.contains(first) && window.contains(last))
            && ts.windows(2).all(|pair| pair[0] <= pair[1])
            && columns.all_rows(&mut self.rows)
        {
            let last_row = self.skip_rows(n)?;
            self.previous = Some((last_row, last));
            return Ok(());
        }
        for i in 0..n {
            let row = self.file_row()?;
            let ts = columns.ts(i).ok_or_else(|| DataError::NullValue {
                path: self.path.clone(),
                column: TS.name.to_owned(),
                row,
            })?;
            if let Some((previous_row, previous_ts_ns)) = self.previous
                && ts < previous_ts_ns
            {
                return Err(DataError::UnsortedTimestamps {
                    path: self.path.clone(),
                    row,
                    ts_ns: ts,
                    previous_row,
                    previous_ts_ns,
                });
            }
            self.previous = Some((row, ts));
            if self.window.is_some_and(|window| !window.contains(ts)) {
                continue;
            }
            let record = columns.row(&self.path, i, row)?;
            record.check().map_err(|bad| bad.at(&self.path, row))?;
            self.rows.push(record);
        }
        Ok(())
    }

    /// Moves past `n > 0` decoded rows, as `n` calls of [`Self::file_row`];
    /// returns the file row index of the last.
    fn skip_rows(&mut self, mut n: usize) -> Result<usize, DataError> {
        let mut last = 0;
        while n > 0 {
            while self
                .groups
                .get(self.group)
                .is_some_and(|group| self.row_in_group >= group.rows)
            {
                self.group += 1;
                self.row_in_group = 0;
            }
            let group = self.groups.get(self.group).ok_or_else(|| self.overrun())?;
            if self.row_in_group == 0 {
                self.groups_read += 1;
            }
            let take = n.min(group.rows - self.row_in_group);
            last = group.first_row + self.row_in_group + take - 1;
            self.row_in_group += take;
            n -= take;
        }
        Ok(last)
    }

    /// The error for a reader that yields more rows than the footer declares.
    fn overrun(&self) -> DataError {
        DataError::Parquet {
            path: self.path.clone(),
            action: "failed to decode Parquet data",
            source: ParquetError::General("more rows decoded than the footer declares".to_owned()),
        }
    }

    /// The file row index of the next decoded row, moving through the
    /// selected row groups (batches may span several).
    fn file_row(&mut self) -> Result<usize, DataError> {
        self.skip_rows(1)
    }
}

/// Reads a whole file of row type `R`, validating every row.
pub(crate) fn read_rows<R: Record>(path: &Path) -> Result<HistoryTable<R>, DataError> {
    let opened = open(path, &[R::SCHEMA])?;
    let mut cursor = Cursor::<R::Decoder>::new(path, opened.builder, R::COLUMNS, None)?;
    let mut rows = Vec::new();
    while let Some(row) = cursor.next_row()? {
        rows.push(row);
    }
    Ok(HistoryTable {
        metadata: opened.metadata,
        rows,
    })
}
