//! Reading tick-history files: a batch-at-a-time [`Cursor`] over the rows of
//! one file inside an optional time window (pruning row groups by their `ts`
//! statistics), and [`read_rows`], a whole file into memory.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::channel;
use std::thread::JoinHandle;

use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::statistics::Statistics;

use super::chunk_file::ChunkFile;
use super::columns::TS;
use super::hand_off::{Consumer, HandOff, Producer};
use super::metadata::open;
use super::rows::{Decode, HistoryTable, Record};
use crate::error::DataError;
use crate::history::window::TimeWindow;
use crate::rules::non_decreasing;
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
/// Each record batch is checked once, column by column where it can be (the
/// fast path: no nulls, every value valid, times in order, the batch inside
/// the window), else row by row to find the first bad row; the checked rows
/// are then handed out straight from the decoded columns, one by one
/// ([`Cursor::next_row`]) or, for trades, as slices of the columns
/// ([`Cursor::take_rows`]): no row is copied into a buffer. The rows of a
/// batch inside the window are one range of it (the times are in order). An
/// error found while checking is kept and returned after the rows before it,
/// so callers still see every valid row up to the offending one, then the
/// error.
///
/// The decoding runs on the caller's thread, or, after
/// [`Cursor::read_ahead`], on a reader thread of its own that decodes and
/// checks the next few batches while the caller consumes this one (see
/// [`ReaderThread`]). Either way the rows, the errors and their order are
/// the same.
pub(crate) struct Cursor<D: Decode> {
    path: PathBuf,
    /// The current batch's decoded columns, checked over `position..end`.
    batch: Option<D>,
    /// The next row of `batch` to return.
    position: usize,
    /// The end of the current batch's checked rows.
    end: usize,
    /// The error that ended the current batch, returned after its rows.
    pending: Option<DataError>,
    /// Where the next batches come from.
    feed: Feed<D>,
    groups_selected: usize,
    groups_total: usize,
    /// Row groups read up to the batch being handed out.
    groups_read: usize,
}

/// Where a [`Cursor`]'s batches come from.
enum Feed<D: Decode> {
    /// Decoded on the caller's thread.
    Inline(Decoder<D>),
    /// Decoded ahead on a reader thread.
    Thread(ReaderThread<D>),
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

/// One checked batch: its decoded columns (`None` if none were decoded),
/// the range of its rows to hand out (inside the window, checked), the
/// error that ended it (returned after those rows), and the row groups read
/// so far.
struct Chunk<D> {
    columns: Option<D>,
    rows: Range<usize>,
    error: Option<DataError>,
    groups_read: usize,
}

impl<D: Decode> Cursor<D> {
    /// A cursor over `columns` of an opened file, reading only the row groups
    /// that can hold timestamps in `window` (`None`: every row).
    pub(crate) fn new(
        path: &Path,
        builder: ParquetRecordBatchReaderBuilder<ChunkFile>,
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
            batch: None,
            position: 0,
            end: 0,
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
    /// [`READ_AHEAD`]'s capacity of checked batches ready; the rows handed out and
    /// the errors, and their order, do not change. Does nothing if the
    /// cursor already reads ahead or has ended.
    ///
    /// # Errors
    ///
    /// [`DataError::Io`] naming the file if the thread cannot be spawned;
    /// the cursor then still decodes on the caller's thread.
    pub(crate) fn read_ahead(&mut self) -> Result<(), DataError>
    where
        D: Send + 'static,
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
        if let Some(row) = self.next_buffered() {
            return Ok(Some(row));
        }
        self.refill()
    }

    /// The next checked row of the current batch, if it holds one more
    /// (`None`: [`Self::next_row`] would take the next batch, or end, or
    /// return the pending error).
    // Inlined always, as `Replay::next_with_source`'s fast path: called, its
    // row came back through memory and was read back in wider loads than
    // it was stored with (a store-forwarding stall per event).
    #[inline(always)]
    pub(crate) fn next_buffered(&mut self) -> Option<D::Row> {
        if self.position < self.end
            && let Some(batch) = &self.batch
        {
            let row = batch.checked_row(self.position);
            self.position += 1;
            return Some(row);
        }
        None
    }

    /// The times of the checked rows of the current batch not handed out
    /// yet (empty when the batch is used up: [`Self::next_row`] then takes
    /// the next one, or returns the pending error).
    #[inline]
    pub(crate) fn buffered_ts(&self) -> &[i64] {
        self.batch
            .as_ref()
            .and_then(|batch| batch.ts_raw().get(self.position..self.end))
            .unwrap_or_default()
    }

    /// The buffer is used up: returns the pending error, or takes batches
    /// until one holds a row (or the file ends).
    #[cold]
    fn refill(&mut self) -> Result<Option<D::Row>, DataError> {
        loop {
            if let Some(err) = self.pending.take() {
                self.close();
                return Err(err);
            }
            // The used batch goes back to the reader thread (freed there),
            // or is freed here before the next is decoded.
            let used = self.batch.take();
            let chunk = match &mut self.feed {
                Feed::Inline(decoder) => {
                    drop(used);
                    decoder.next_chunk()
                }
                Feed::Thread(thread) => thread.next_chunk(used),
                Feed::Done => None,
            };
            let Some(chunk) = chunk else {
                self.close();
                return Ok(None);
            };
            self.groups_read = chunk.groups_read;
            self.pending = chunk.error;
            self.batch = chunk.columns;
            self.position = chunk.rows.start;
            self.end = chunk.rows.end;
            if self.position < self.end
                && let Some(batch) = &self.batch
            {
                let row = batch.checked_row(self.position);
                self.position += 1;
                return Ok(Some(row));
            }
        }
    }

    /// Exhausts the cursor, releasing the reader (and its thread) and the
    /// batch.
    fn close(&mut self) {
        self.feed = Feed::Done;
        self.batch = None;
        self.position = 0;
        self.end = 0;
    }
}

impl<D: Decode> Cursor<D> {
    /// Hands out the first `n` checked rows of the current batch at once
    /// (as `n` calls of [`Self::next_row`] would, one by one): the batch's
    /// decoded columns and the range of those rows in them; `None` with no
    /// batch. Each schema makes its slice of them (`take_trades`, in
    /// `history/trades.rs`).
    #[inline]
    pub(crate) fn take_rows(&mut self, n: usize) -> Option<(&D, Range<usize>)> {
        let start = self.position;
        let end = start.saturating_add(n).min(self.end);
        self.position = end;
        self.batch.as_ref().map(|batch| (batch, start..end))
    }
}

impl<D: Decode> Decoder<D> {
    /// Decodes and checks the next record batch: `None` at the end of the
    /// file. After an error the caller reads no further.
    fn next_chunk(&mut self) -> Option<Chunk<D>> {
        let (columns, rows, error) =
            match crate::parquet_io::next_batch(&self.path, &mut self.reader)? {
                Err(error) => (None, 0..0, Some(error)),
                Ok(batch) => match D::from_batch(&self.path, &batch) {
                    Err(error) => (None, 0..0, Some(error)),
                    Ok(columns) => {
                        let (rows, error) = self.check(&columns);
                        (Some(columns), rows, error)
                    }
                },
            };
        Some(Chunk {
            columns,
            rows,
            error,
            groups_read: self.groups_read,
        })
    }

    /// Checks the rows of `columns` in file order: the range of them inside
    /// the window up to the first bad row (the times are in order, so those
    /// are one range), and the error of that row, if any.
    fn check(&mut self, columns: &D) -> (Range<usize>, Option<DataError>) {
        let n = columns.len();
        // Fast path: a batch wholly inside the window, in time order and
        // valid is checked column by column.
        if let Some(ts) = columns.ts_values()
            && let (Some(&first), Some(&last)) = (ts.first(), ts.last())
            && self.previous.is_none_or(|(_, previous)| previous <= first)
            && self
                .window
                .is_none_or(|window| window.contains(first) && window.contains(last))
            && non_decreasing(ts)
            && columns.all_valid()
        {
            return match self.skip_rows(n) {
                Ok(last_row) => {
                    self.previous = Some((last_row, last));
                    (0..n, None)
                }
                Err(error) => (0..n, Some(error)),
            };
        }
        let mut rows: Option<Range<usize>> = None;
        for i in 0..n {
            match self.check_row(columns, i) {
                Ok(false) => {}
                Ok(true) => {
                    debug_assert!(
                        rows.as_ref().is_none_or(|rows| rows.end == i),
                        "Invariant: the rows inside the window are one range"
                    );
                    rows = Some(rows.map_or(i..i + 1, |rows| rows.start..i + 1));
                }
                Err(error) => return (rows.unwrap_or(0..0), Some(error)),
            }
        }
        (rows.unwrap_or(0..0), None)
    }

    /// Checks row `i` of `columns` (its time in order, and its values if it
    /// is inside the window): whether it is inside the window.
    fn check_row(&mut self, columns: &D, i: usize) -> Result<bool, DataError> {
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
            return Ok(false);
        }
        let record = columns.row(&self.path, i, row)?;
        record.check().map_err(|bad| bad.at(&self.path, row))?;
        Ok(true)
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

/// The reader thread's queue ([`HandOff`]): up to 256 checked batches
/// (4,096 rows each, ~100 KB of trades, ~22 ms of decoding) ahead of the
/// consumer, which, once it has emptied the queue, sleeps until 8 are
/// ready; a reader that filled it sleeps until the consumer is down to 128;
/// the reader keeps the last 64 batches handed back before freeing them.
/// Memory: up to ~322 batches, ~33 MB for trades, whatever the length of
/// the file (the queue is deep only while the consumer lags: in a replay
/// through the engine it is near empty after the first liquidations).
///
/// Why these sizes (docs/performance.md, "Replay through the engine, round
/// 7" and "round 9"): with the old 4-batch channel the engine's thread slept
/// and was woken at nearly every batch (~2,000 context switches for 10M
/// trades), the scheduler then often ran both threads on one core, and the
/// reader rewrote buffers the engine had just read, paying to take the lines
/// back from the other core (the decode's `memset` up to 6x its cost in the
/// plain decode). The reader is the replay's critical path, so it must not
/// wait for the engine: early in the file the engine liquidates most of its
/// accounts and falls behind by 100-200 batches, and a late wake-up of the
/// consumer (its core taken by another process) adds to that; a queue of
/// 64 then held the reader asleep for 4-36 ms a run, one of 256 never did.
pub(crate) const READ_AHEAD: HandOff = HandOff {
    capacity: 256,
    wake_at: 8,
    resume_at: 128,
    keep_returned: 64,
};

/// A [`Decoder`] running on its own thread, sending checked batches through
/// a [`HandOff`] queue of [`READ_AHEAD`]'s sizes; the consumer hands each
/// used-up batch back, so that its buffers are freed on the thread that
/// allocated them.
///
/// The thread stops after the end of the file or the first error (sent
/// after the valid rows before it, in the same batch as inline), or as
/// soon as the consumer is gone: dropping the `ReaderThread` closes the
/// queue and joins the thread, which at most finishes the batch it is
/// decoding. A panic on the thread is resumed on the consumer's.
struct ReaderThread<D> {
    chunks: Option<Consumer<Chunk<D>, D>>,
    handle: Option<JoinHandle<()>>,
}

impl<D: Decode + Send + 'static> ReaderThread<D> {
    /// Starts `decoder` on a reader thread. If the thread cannot be spawned,
    /// the error and the decoder, back.
    fn spawn(decoder: Decoder<D>) -> (std::io::Result<Self>, Option<Decoder<D>>) {
        let (producer, chunks) = READ_AHEAD.channel();
        // The decoder travels to the thread through a channel, so that a
        // failed spawn can hand it back.
        let (decoder_tx, decoder_rx) = channel::<Decoder<D>>();
        let spawned = std::thread::Builder::new()
            .name("backstop-reader".to_owned())
            .spawn(move || {
                if let Ok(decoder) = decoder_rx.recv() {
                    decode_ahead(decoder, producer);
                }
            });
        match spawned {
            Ok(handle) => {
                // The thread holds the receiver until it starts, so this send
                // cannot fail while it runs.
                let _ = decoder_tx.send(decoder);
                let thread = Self {
                    chunks: Some(chunks),
                    handle: Some(handle),
                };
                (Ok(thread), None)
            }
            Err(error) => (Err(error), Some(decoder)),
        }
    }
}

impl<D> ReaderThread<D> {
    /// Hands the used batch back to the thread (freed there), then the next
    /// checked batch, as [`Decoder::next_chunk`].
    fn next_chunk(&mut self, used: Option<D>) -> Option<Chunk<D>> {
        let chunk = self.chunks.as_mut()?.recv_returning(used);
        if chunk.is_none() {
            self.stop();
        }
        chunk
    }

    /// Closes the queue and joins the thread, resuming its panic if it
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

impl<D> Drop for ReaderThread<D> {
    fn drop(&mut self) {
        self.chunks = None;
        if let Some(handle) = self.handle.take() {
            // A panic on the thread is not resumed while dropping.
            let _ = handle.join();
        }
    }
}

/// The reader thread's loop: decodes and checks batches and sends them
/// (the send frees the used ones that came back), until the end of the
/// file, the first error, or the consumer hanging up. Dropping the producer
/// (also when unwinding) ends the consumer's stream.
fn decode_ahead<D: Decode>(mut decoder: Decoder<D>, mut chunks: Producer<Chunk<D>, D>) {
    loop {
        let Some(chunk) = decoder.next_chunk() else {
            return;
        };
        // Batches without rows are sent too: the consumer's row-group count
        // then moves exactly as inline.
        let last = chunk.error.is_some();
        if !chunks.send(chunk) || last {
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
