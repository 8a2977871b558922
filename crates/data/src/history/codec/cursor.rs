//! Reading tick-history files: a batch-at-a-time [`Cursor`] over the rows of
//! one file inside an optional time window (pruning row groups by their `ts`
//! statistics), and [`read_rows`], a whole file into memory.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

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
/// of rows, which [`Cursor::next_row`] then hands out one by one: the
/// per-row cost of the stream is a copy, not a trip through the decoder. An
/// error found while filling the buffer is kept and returned after the rows
/// before it, so callers still see every valid row up to the offending one,
/// then the error.
///
/// The decoding runs on the caller's thread, or, after
/// [`Cursor::read_ahead`], on a reader thread of its own that fills the next
/// few buffers while the caller consumes this one (see [`ReaderThread`]).
/// Either way the rows, the errors and their order are the same.
pub(crate) struct Cursor<D: Decode> {
    path: PathBuf,
    /// Checked rows of the current batch inside the window.
    rows: Vec<D::Row>,
    /// The next row of `rows` to return.
    position: usize,
    /// The error that ended the current batch, returned after `rows`.
    pending: Option<DataError>,
    /// Where the next buffers come from.
    feed: Feed<D>,
    groups_selected: usize,
    groups_total: usize,
    /// Row groups read up to the buffer being handed out.
    groups_read: usize,
}

/// Where a [`Cursor`]'s buffers come from.
enum Feed<D: Decode> {
    /// Decoded on the caller's thread.
    Inline(Decoder<D>),
    /// Decoded ahead on a reader thread.
    Thread(ReaderThread<D::Row>),
    /// The file has ended, or failed.
    Done,
}

/// The decoding half of a [`Cursor`]: the Parquet reader and the checks'
/// state (file row position, previous timestamp).
struct Decoder<D: Decode> {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    groups: Vec<Group>,
    group: usize,
    row_in_group: usize,
    groups_read: usize,
    window: Option<TimeWindow>,
    previous: Option<(usize, i64)>,
    columns: std::marker::PhantomData<fn() -> D>,
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
            rows: Vec::new(),
            position: 0,
            pending: None,
            groups_selected: groups.len(),
            groups_total,
            groups_read: 0,
            feed: Feed::Inline(Decoder {
                path: path.to_owned(),
                reader,
                groups,
                group: 0,
                row_in_group: 0,
                groups_read: 0,
                window,
                previous: None,
                columns: std::marker::PhantomData,
            }),
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
        self.groups_selected
    }

    /// Row groups from which at least one row has been decoded so far (with
    /// a reader thread: up to the batch being handed out, not the thread's
    /// own position ahead of it).
    pub(crate) fn row_groups_read(&self) -> usize {
        self.groups_read
    }

    /// Whether the decoding runs on a reader thread.
    pub(crate) const fn reads_ahead(&self) -> bool {
        matches!(self.feed, Feed::Thread(_))
    }

    /// Moves the decoding to a reader thread that keeps up to
    /// [`READ_AHEAD_BATCHES`] checked buffers ready; the rows handed out and
    /// the errors, and their order, do not change. Does nothing if the
    /// cursor already reads ahead or has ended.
    ///
    /// # Errors
    ///
    /// [`DataError::Io`] naming the file if the thread cannot be spawned;
    /// the cursor then still decodes on the caller's thread.
    pub(crate) fn read_ahead(&mut self) -> Result<(), DataError>
    where
        D::Row: Send + 'static,
        D: 'static,
    {
        if !matches!(self.feed, Feed::Inline(_)) {
            return Ok(());
        }
        let Feed::Inline(decoder) = std::mem::replace(&mut self.feed, Feed::Done) else {
            return Ok(());
        };
        let path = self.path.clone();
        let (thread, decoder) = ReaderThread::spawn(decoder);
        match thread {
            Ok(thread) => {
                self.feed = Feed::Thread(thread);
                Ok(())
            }
            Err(source) => {
                if let Some(decoder) = decoder {
                    self.feed = Feed::Inline(decoder);
                }
                Err(DataError::io(
                    &path,
                    "failed to spawn the reader thread",
                    source,
                ))
            }
        }
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

    /// The checked rows of the current buffer not handed out yet (empty
    /// when the buffer is used up: [`Self::next_row`] then takes the next
    /// one, or returns the pending error).
    #[inline]
    pub(crate) fn buffered(&self) -> &[D::Row] {
        self.rows.get(self.position..).unwrap_or_default()
    }

    /// Hands out the first `n` rows of [`Self::buffered`] at once (as `n`
    /// calls of [`Self::next_row`] would, one by one).
    #[inline]
    pub(crate) fn take_buffered(&mut self, n: usize) -> &[D::Row] {
        let start = self.position;
        let end = start.saturating_add(n).min(self.rows.len());
        self.position = end;
        self.rows.get(start..end).unwrap_or_default()
    }

    /// The buffer is used up: returns the pending error, or takes buffers
    /// until one holds a row (or the file ends).
    #[cold]
    fn refill(&mut self) -> Result<Option<D::Row>, DataError> {
        loop {
            if let Some(err) = self.pending.take() {
                self.close();
                return Err(err);
            }
            self.position = 0;
            let next = match &mut self.feed {
                Feed::Inline(decoder) => {
                    self.rows.clear();
                    let next = decoder.next_buffer(&mut self.rows);
                    self.groups_read = decoder.groups_read;
                    next
                }
                Feed::Thread(thread) => thread.next_buffer(&mut self.rows, &mut self.groups_read),
                Feed::Done => None,
            };
            match next {
                None => {
                    self.close();
                    return Ok(None);
                }
                Some(error) => self.pending = error,
            }
            if let Some(row) = self.rows.first() {
                self.position = 1;
                return Ok(Some(*row));
            }
        }
    }

    /// Exhausts the cursor, releasing the reader (and its thread) and the
    /// buffer.
    fn close(&mut self) {
        self.feed = Feed::Done;
        self.rows = Vec::new();
        self.position = 0;
    }
}

impl<D: Decode> Decoder<D> {
    /// Decodes the next record batch into `rows` (empty on entry): `None` at
    /// the end of the file, else `Some` of the error that ended the batch,
    /// if any, after the valid rows before it. After an error the caller
    /// reads no further.
    fn next_buffer(&mut self, rows: &mut Vec<D::Row>) -> Option<Option<DataError>> {
        match crate::parquet_io::next_batch(&self.path, &mut self.reader) {
            None => None,
            Some(Err(error)) => Some(Some(error)),
            Some(Ok(batch)) => Some(self.fill(&batch, rows).err()),
        }
    }

    /// Decodes and checks `batch` into `rows` (rows inside the window),
    /// stopping at the first bad row.
    fn fill(&mut self, batch: &RecordBatch, rows: &mut Vec<D::Row>) -> Result<(), DataError> {
        let columns = D::from_batch(&self.path, batch)?;
        let n = batch.num_rows();
        rows.reserve(n);
        // Fast path: a batch wholly inside the window, in time order and
        // valid is checked column by column and copied out in one go.
        if let Some(ts) = columns.ts_values()
            && let (Some(&first), Some(&last)) = (ts.first(), ts.last())
            && self.previous.is_none_or(|(_, previous)| previous <= first)
            && self
                .window
                .is_none_or(|window| window.contains(first) && window.contains(last))
            && ts.windows(2).all(|pair| pair[0] <= pair[1])
            && columns.all_rows(rows)
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
            rows.push(record);
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

/// Checked buffers a reader thread keeps ready ahead of the consumer.
pub(crate) const READ_AHEAD_BATCHES: usize = 4;

/// One buffer from a reader thread: the checked rows of one record batch,
/// the error that ended it (if any), and the row groups read so far.
struct Chunk<R> {
    rows: Vec<R>,
    error: Option<DataError>,
    groups_read: usize,
}

/// A [`Decoder`] running on its own thread, sending checked buffers through
/// a bounded channel of [`READ_AHEAD_BATCHES`]; used-up buffers come back
/// through a second channel, so that steady state allocates nothing.
///
/// The thread stops after the end of the file or the first error (sent
/// after the valid rows before it, in the same buffer as inline), or as
/// soon as the consumer is gone: dropping the `ReaderThread` closes the
/// channel and joins the thread, which at most finishes the batch it is
/// decoding. A panic on the thread is resumed on the consumer's.
struct ReaderThread<R> {
    chunks: Option<Receiver<Chunk<R>>>,
    recycle: Sender<Vec<R>>,
    handle: Option<JoinHandle<()>>,
}

impl<R: Copy + Send + 'static> ReaderThread<R> {
    /// Starts `decoder` on a reader thread. If the thread cannot be spawned,
    /// the error and the decoder, back.
    fn spawn<D>(decoder: Decoder<D>) -> (std::io::Result<Self>, Option<Decoder<D>>)
    where
        D: Decode<Row = R> + 'static,
    {
        let (chunk_tx, chunks) = sync_channel(READ_AHEAD_BATCHES);
        let (recycle, recycle_rx) = channel();
        // The decoder travels to the thread through a channel, so that a
        // failed spawn can hand it back.
        let (decoder_tx, decoder_rx) = channel::<Decoder<D>>();
        let spawned = std::thread::Builder::new()
            .name("backstop-reader".to_owned())
            .spawn(move || {
                if let Ok(decoder) = decoder_rx.recv() {
                    decode_ahead(decoder, &chunk_tx, &recycle_rx);
                }
            });
        match spawned {
            Ok(handle) => {
                // The thread holds the receiver until it starts, so this send
                // cannot fail while it runs.
                let _ = decoder_tx.send(decoder);
                let thread = Self {
                    chunks: Some(chunks),
                    recycle,
                    handle: Some(handle),
                };
                (Ok(thread), None)
            }
            Err(error) => (Err(error), Some(decoder)),
        }
    }
}

impl<R> ReaderThread<R> {
    /// Swaps the next buffer into `rows` (the used one goes back to the
    /// thread) and updates `groups_read`: as [`Decoder::next_buffer`].
    fn next_buffer(
        &mut self,
        rows: &mut Vec<R>,
        groups_read: &mut usize,
    ) -> Option<Option<DataError>> {
        let chunk = self.chunks.as_ref()?.recv();
        match chunk {
            Ok(mut chunk) => {
                std::mem::swap(rows, &mut chunk.rows);
                // The thread may have ended already; the buffer is then freed.
                let _ = self.recycle.send(chunk.rows);
                *groups_read = chunk.groups_read;
                Some(chunk.error)
            }
            Err(_) => {
                rows.clear();
                self.stop();
                None
            }
        }
    }

    /// Closes the channel and joins the thread, resuming its panic if it
    /// panicked.
    fn stop(&mut self) {
        self.chunks = None;
        if let Some(handle) = self.handle.take()
            && let Err(panic) = handle.join()
            && !std::thread::panicking()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

impl<R> Drop for ReaderThread<R> {
    fn drop(&mut self) {
        self.chunks = None;
        if let Some(handle) = self.handle.take() {
            // A panic on the thread is not resumed while dropping.
            let _ = handle.join();
        }
    }
}

/// The reader thread's loop: decodes buffers (reusing returned ones) and
/// sends them, until the end of the file, the
/// first error, or the consumer hanging up.
fn decode_ahead<D: Decode>(
    mut decoder: Decoder<D>,
    chunks: &SyncSender<Chunk<D::Row>>,
    recycle: &Receiver<Vec<D::Row>>,
) {
    let mut rows = Vec::new();
    loop {
        if rows.capacity() == 0
            && let Ok(spare) = recycle.try_recv()
        {
            rows = spare;
        }
        rows.clear();
        let Some(error) = decoder.next_buffer(&mut rows) else {
            return;
        };
        // Empty buffers are sent too: the consumer's row-group count then
        // moves exactly as inline.
        let last = error.is_some();
        let chunk = Chunk {
            rows: std::mem::take(&mut rows),
            error,
            groups_read: decoder.groups_read,
        };
        if chunks.send(chunk).is_err() || last {
            return;
        }
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
