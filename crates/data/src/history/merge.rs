// Over 700 lines: the merge is one heap over three kinds of source (and its runs); its tests stay beside it.
//! Streaming replay: [`HistorySource`] reads one file's events inside a time
//! window with bounded memory, and [`Replay`] merges several sources into one
//! time-ordered stream.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::iter::FusedIterator;
use std::path::Path;

use super::codec::cursor::Cursor;
use super::codec::metadata::{HistoryMetadata, HistorySchema, open};
use super::funding::{self, FundingColumns, FundingRow};
use super::prices::{self, PriceColumns, PriceRow};
use super::trades::{self, Side, TradeColumns, TradeRow, TradeSlice};
use super::window::TimeWindow;
use crate::error::DataError;

/// The kinds of replay event, in the order events with equal timestamps are
/// replayed (see [`Replay`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// [`ReplayEvent::Price`], from a `prices/v1` file.
    Price,
    /// [`ReplayEvent::Funding`], from a `funding/v1` file.
    Funding,
    /// [`ReplayEvent::Trade`], from a `trades/v1` file.
    Trade,
}

impl EventKind {
    /// The file schema events of this kind come from.
    #[must_use]
    pub const fn schema(self) -> HistorySchema {
        match self {
            Self::Price => HistorySchema::Prices,
            Self::Funding => HistorySchema::Funding,
            Self::Trade => HistorySchema::Trades,
        }
    }
}

/// One event of a replay: a row of a trades, prices or funding file.
///
/// Timestamps are ns since the Unix epoch (UTC); units are as in the file
/// schemas ([`trades`], [`prices`], [`funding`]). The event does not say
/// which symbol it belongs to: that is the metadata of the source it came
/// from (see [`Replay::next_with_source`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReplayEvent {
    /// An executed trade.
    Trade {
        /// Execution time.
        ts_ns: i64,
        /// Execution price in USD per base unit (> 0).
        price: f64,
        /// Traded size in base units or contracts (>= 0), per the source's contract.
        size: f64,
        /// The aggressor side.
        side: Side,
    },
    /// A mark (and possibly index) price.
    Price {
        /// Time of the observation.
        ts_ns: i64,
        /// Mark price in USD per base unit (> 0).
        mark: f64,
        /// Index price in USD per base unit (> 0), if recorded.
        index: Option<f64>,
    },
    /// A funding settlement.
    Funding {
        /// Settlement time.
        ts_ns: i64,
        /// Funding rate for the interval; positive: longs pay shorts.
        rate: f64,
        /// Funding interval in seconds (> 0).
        interval_s: i32,
    },
}

impl ReplayEvent {
    /// The event's timestamp, ns since the Unix epoch.
    #[must_use]
    pub const fn ts_ns(&self) -> i64 {
        match *self {
            Self::Trade { ts_ns, .. } | Self::Price { ts_ns, .. } | Self::Funding { ts_ns, .. } => {
                ts_ns
            }
        }
    }

    /// The event's kind.
    #[must_use]
    pub const fn kind(&self) -> EventKind {
        match self {
            Self::Trade { .. } => EventKind::Trade,
            Self::Price { .. } => EventKind::Price,
            Self::Funding { .. } => EventKind::Funding,
        }
    }

    /// The price the event carries: the mark of a price event, the execution
    /// price of a trade, `None` for funding.
    #[must_use]
    pub const fn price(&self) -> Option<f64> {
        match *self {
            Self::Trade { price, .. } => Some(price),
            Self::Price { mark, .. } => Some(mark),
            Self::Funding { .. } => None,
        }
    }
}

impl From<TradeRow> for ReplayEvent {
    fn from(row: TradeRow) -> Self {
        Self::Trade {
            ts_ns: row.ts_ns,
            price: row.price,
            size: row.size,
            side: row.side,
        }
    }
}

impl From<PriceRow> for ReplayEvent {
    fn from(row: PriceRow) -> Self {
        Self::Price {
            ts_ns: row.ts_ns,
            mark: row.mark,
            index: row.index,
        }
    }
}

impl From<FundingRow> for ReplayEvent {
    fn from(row: FundingRow) -> Self {
        Self::Funding {
            ts_ns: row.ts_ns,
            rate: row.rate,
            interval_s: row.interval_s,
        }
    }
}

/// The schemas a [`HistorySource`] can replay.
const REPLAYABLE: [HistorySchema; 3] = [
    HistorySchema::Trades,
    HistorySchema::Prices,
    HistorySchema::Funding,
];

/// The typed cursor of a source.
enum SourceCursor {
    Trades(Cursor<TradeColumns>),
    Prices(Cursor<PriceColumns>),
    Funding(Cursor<FundingColumns>),
}

/// The events of one trades, prices or funding file inside a time window,
/// streamed one record batch at a time.
///
/// Opening reads the footer only. The source then reads just the columns a
/// [`ReplayEvent`] needs (a trades file's `trade_id` is skipped) and just the
/// row groups whose `ts` min/max statistics overlap the window, decoding a
/// few thousand rows at a time; memory use does not grow with the file.
///
/// While streaming it checks, in file order:
///
/// - that `ts` never decreases, for every row decoded, inside the window or
///   not ([`DataError::UnsortedTimestamps`], naming the row, the previous row
///   and both timestamps). If the row-group statistics themselves are out of
///   order, pruning is switched off so that the exact row is found;
/// - that every row inside the window is valid as in the file's schema
///   ([`DataError::InvalidValue`] for a NaN price, [`DataError::NullValue`],
///   ...). Rows outside the window are not value-checked.
///
/// A file with zero rows, or no rows in the window, is an empty source, not
/// an error. After an error the source is exhausted.
pub struct HistorySource {
    cursor: SourceCursor,
    metadata: HistoryMetadata,
}

impl std::fmt::Debug for HistorySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistorySource")
            .field("path", &self.path())
            .field("kind", &self.kind())
            .field("metadata", &self.metadata)
            .field("row_groups_total", &self.row_groups_total())
            .field("row_groups_selected", &self.row_groups_selected())
            .field("row_groups_read", &self.row_groups_read())
            .finish_non_exhaustive()
    }
}

/// Applies `$body` to the cursor of whichever kind `$source` holds.
macro_rules! with_cursor {
    ($source:expr, $cursor:ident => $body:expr) => {
        match $source {
            SourceCursor::Trades($cursor) => $body,
            SourceCursor::Prices($cursor) => $body,
            SourceCursor::Funding($cursor) => $body,
        }
    };
}

impl HistorySource {
    /// Opens the tick-history file at `path` (its schema, from the
    /// `backstop.schema` metadata, decides the event kind) for the events in
    /// `window`.
    ///
    /// # Errors
    ///
    /// [`DataError::Io`] / [`DataError::NotParquet`] if the file cannot be
    /// opened as Parquet (for example it is empty or truncated);
    /// [`DataError::MissingMetadata`] / [`DataError::InvalidMetadata`] for its
    /// metadata; [`DataError::SchemaMismatch`] if it is not a trades, prices
    /// or funding file; [`DataError::MissingColumn`],
    /// [`DataError::ColumnType`] (naming the column, the expected and the
    /// found type) or [`DataError::DuplicateColumn`] for unusable columns.
    pub fn open(path: &Path, window: TimeWindow) -> Result<Self, DataError> {
        let opened = open(path, &REPLAYABLE)?;
        let window = Some(window);
        let builder = opened.builder;
        let cursor = match opened.schema {
            HistorySchema::Trades => {
                SourceCursor::Trades(Cursor::new(path, builder, &trades::REPLAY_COLUMNS, window)?)
            }
            HistorySchema::Prices => {
                SourceCursor::Prices(Cursor::new(path, builder, &prices::REPLAY_COLUMNS, window)?)
            }
            HistorySchema::Funding => SourceCursor::Funding(Cursor::new(
                path,
                builder,
                &funding::REPLAY_COLUMNS,
                window,
            )?),
            // `open` accepts only the replayable schemas.
            HistorySchema::Depth => {
                return Err(DataError::SchemaMismatch {
                    path: path.to_owned(),
                    expected: REPLAYABLE.map(HistorySchema::id).join(" or "),
                    found: opened.schema.id().to_owned(),
                });
            }
        };
        Ok(Self {
            cursor,
            metadata: opened.metadata,
        })
    }

    /// The file being read.
    #[must_use]
    pub fn path(&self) -> &Path {
        with_cursor!(&self.cursor, cursor => cursor.path())
    }

    /// The kind of events this source yields.
    #[must_use]
    pub const fn kind(&self) -> EventKind {
        match self.cursor {
            SourceCursor::Trades(_) => EventKind::Trade,
            SourceCursor::Prices(_) => EventKind::Price,
            SourceCursor::Funding(_) => EventKind::Funding,
        }
    }

    /// The file's metadata (symbol, venue, contract, ...).
    #[must_use]
    pub const fn metadata(&self) -> &HistoryMetadata {
        &self.metadata
    }

    /// Number of row groups in the file.
    #[must_use]
    pub fn row_groups_total(&self) -> usize {
        with_cursor!(&self.cursor, cursor => cursor.row_groups_total())
    }

    /// Number of row groups left to read after pruning by the window.
    #[must_use]
    pub fn row_groups_selected(&self) -> usize {
        with_cursor!(&self.cursor, cursor => cursor.row_groups_selected())
    }

    /// Number of row groups from which rows have been decoded so far (at most
    /// [`Self::row_groups_selected`]).
    #[must_use]
    pub fn row_groups_read(&self) -> usize {
        with_cursor!(&self.cursor, cursor => cursor.row_groups_read())
    }

    /// Moves this source's decoding to a reader thread of its own, which
    /// keeps the next few checked batches ready while the caller consumes
    /// this one; the events, the errors (still naming the file, row and
    /// column) and their order do not change. Dropping the source stops the
    /// thread. Does nothing if the source already reads ahead or has ended.
    ///
    /// # Errors
    ///
    /// [`DataError::Io`] naming the file if the thread cannot be spawned;
    /// the source then still decodes on the caller's thread.
    pub fn read_ahead(&mut self) -> Result<(), DataError> {
        with_cursor!(&mut self.cursor, cursor => cursor.read_ahead())
    }

    /// Whether the source decodes on a reader thread ([`Self::read_ahead`]).
    #[must_use]
    pub const fn reads_ahead(&self) -> bool {
        with_cursor!(&self.cursor, cursor => cursor.reads_ahead())
    }

    /// The next event in the window, in file order; `Ok(None)` at the end.
    ///
    /// # Errors
    ///
    /// [`DataError::UnsortedTimestamps`], [`DataError::NullValue`] or
    /// [`DataError::InvalidValue`] naming the file and row, or
    /// [`DataError::Arrow`] / [`DataError::Parquet`] if the data cannot be
    /// decoded. The source is exhausted afterwards.
    #[inline]
    pub fn next_event(&mut self) -> Result<Option<ReplayEvent>, DataError> {
        Ok(match &mut self.cursor {
            SourceCursor::Trades(cursor) => cursor.next_row()?.map(ReplayEvent::from),
            SourceCursor::Prices(cursor) => cursor.next_row()?.map(ReplayEvent::from),
            SourceCursor::Funding(cursor) => cursor.next_row()?.map(ReplayEvent::from),
        })
    }
}

impl Iterator for HistorySource {
    type Item = Result<ReplayEvent, DataError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

impl FusedIterator for HistorySource {}

/// A source's next event, waiting in the merge heap. Ordered by the tie rule
/// (see [`Replay`]); `source` is unique within the heap, so no two heads
/// compare equal.
#[derive(Debug, Clone, Copy)]
struct Head {
    ts_ns: i64,
    kind: EventKind,
    source: usize,
    event: ReplayEvent,
}

impl Head {
    const fn key(&self) -> (i64, EventKind, usize) {
        (self.ts_ns, self.kind, self.source)
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// A run of events handed out at once by [`Replay::next_run`].
#[derive(Debug)]
pub enum ReplayRun<'a> {
    /// Consecutive trades of one trades source, in merge order.
    Trades {
        /// The source's index.
        source: usize,
        /// The trades, in file order: slices of the source's decoded and
        /// checked columns.
        trades: TradeSlice<'a>,
    },
    /// One event.
    Event {
        /// The source's index.
        source: usize,
        /// The event.
        event: ReplayEvent,
    },
}

/// Several [`HistorySource`]s merged into one stream of [`ReplayEvent`]s in
/// non-decreasing timestamp order.
///
/// The merge keeps one pending event per source (the earliest apart, the
/// others in a binary heap), so memory is one record batch and one event per
/// source, and yielding an event allocates nothing (beyond the record batches
/// the sources decode). While one source's events come before every other
/// source's next event, they are handed out with one comparison each and no
/// heap operation.
///
/// # Tie rule
///
/// Events with equal timestamps are replayed in this order, which is total,
/// stable and independent of batch and row-group sizes:
///
/// 1. by kind: **[`Price`](ReplayEvent::Price), then
///    [`Funding`](ReplayEvent::Funding), then [`Trade`](ReplayEvent::Trade)**
///    ([`EventKind`]'s order);
/// 2. then by source index (the order the sources were given in);
/// 3. then, within one source, in file row order.
///
/// Why this kind order: a price row is the *state* of the market at its
/// timestamp (the mark the venue's risk engine sees at that instant); a
/// funding settlement at that timestamp is valued at that mark and paid by
/// the positions open at that instant; trades are *flows* that change
/// positions and that later marks will reflect. State, then settlement, then
/// flow: so a settlement never sees a mark from "after" itself, and a trade
/// stamped exactly at a funding time counts as after the settlement, as on
/// venues where only positions held at the funding timestamp pay or receive
/// funding.
///
/// # Errors and end of stream
///
/// The first error from any source is yielded once, after which the replay is
/// finished (it is a [`FusedIterator`]). With no sources, or only empty ones,
/// the replay is empty.
pub struct Replay {
    sources: Vec<HistorySource>,
    /// The source whose event was yielded last, read lazily: while its next
    /// event still comes before every other source's head, the merge hands
    /// out that source's run of events with one comparison an event and no
    /// heap operation (one source: no heap at all).
    running: Option<usize>,
    /// The other sources' next events.
    heap: BinaryHeap<Reverse<Head>>,
    started: bool,
    finished: bool,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("sources", &self.sources)
            .field("pending_events", &self.heap.len())
            .field("running", &self.running)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Replay {
    /// A replay merging `sources`; source `i` has index `i` for the tie rule.
    /// Nothing is read until the first event is asked for.
    #[must_use]
    pub fn new(sources: Vec<HistorySource>) -> Self {
        let heap = BinaryHeap::with_capacity(sources.len());
        Self {
            sources,
            running: None,
            heap,
            started: false,
            finished: false,
        }
    }

    /// Opens every file in `paths` with [`HistorySource::open`] for `window`
    /// and merges them, in that order.
    ///
    /// # Errors
    ///
    /// The first error of [`HistorySource::open`].
    pub fn open<P: AsRef<Path>>(paths: &[P], window: TimeWindow) -> Result<Self, DataError> {
        let sources = paths
            .iter()
            .map(|path| HistorySource::open(path.as_ref(), window))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(sources))
    }

    /// Opens `paths` as [`Self::open`] does, each source decoding on a reader
    /// thread of its own ([`HistorySource::read_ahead`]): one thread per
    /// file, while the merge and its tie rule stay on the caller's thread,
    /// so the events and errors are exactly those of [`Self::open`].
    ///
    /// # Errors
    ///
    /// The first error of [`HistorySource::open`], or of spawning a thread.
    pub fn open_read_ahead<P: AsRef<Path>>(
        paths: &[P],
        window: TimeWindow,
    ) -> Result<Self, DataError> {
        let mut replay = Self::open(paths, window)?;
        replay.read_ahead()?;
        Ok(replay)
    }

    /// Moves every source's decoding to a reader thread of its own (see
    /// [`HistorySource::read_ahead`]); the merge stays on the caller's
    /// thread. Dropping the replay stops the threads.
    ///
    /// # Errors
    ///
    /// [`DataError::Io`] if a thread cannot be spawned (the sources before
    /// it read ahead, the others decode on the caller's thread).
    pub fn read_ahead(&mut self) -> Result<(), DataError> {
        self.sources
            .iter_mut()
            .try_for_each(HistorySource::read_ahead)
    }

    /// The sources, by index (their metadata and row-group counters).
    #[must_use]
    pub fn sources(&self) -> &[HistorySource] {
        &self.sources
    }

    /// The next event and the index of the source it came from; `None` at
    /// the end.
    ///
    /// # Errors
    ///
    /// The first error of any source's [`HistorySource::next_event`]; the
    /// replay is finished afterwards.
    // Inlined always (the fast path is a few instructions): called, its
    // result, as large as a `DataError`, went through memory every event.
    #[inline(always)]
    pub fn next_with_source(&mut self) -> Option<Result<(usize, ReplayEvent), DataError>> {
        // The common case, inlined into the caller's loop: the running trades
        // source's next checked row is in its current batch.
        if let Some(source) = self.running
            && let Some(HistorySource {
                cursor: SourceCursor::Trades(cursor),
                ..
            }) = self.sources.get_mut(source)
            && let Some(row) = cursor.next_buffered()
        {
            debug_assert!(
                self.started && !self.finished,
                "Invariant: a running source means a started, unfinished replay"
            );
            return Some(Ok(self.run_on(source, ReplayEvent::from(row))));
        }
        self.next_with_source_slow()
    }

    /// [`Self::next_with_source`] when the running source is not a trades
    /// source with a buffered row: the start, the next batch or source, the
    /// end, an error. Out of line, so that the common case stays small.
    #[inline(never)]
    fn next_with_source_slow(&mut self) -> Option<Result<(usize, ReplayEvent), DataError>> {
        if self.finished {
            return None;
        }
        if !self.started {
            self.started = true;
            for index in 0..self.sources.len() {
                if let Err(err) = self.refill(index) {
                    return Some(Err(self.finish(err)));
                }
            }
        }
        if let Some(source) = self.running {
            let next = self
                .sources
                .get_mut(source)
                .map_or(Ok(None), HistorySource::next_event);
            match next {
                Ok(Some(event)) => return Some(Ok(self.run_on(source, event))),
                Ok(None) => self.running = None,
                Err(err) => return Some(Err(self.finish(err))),
            }
        }
        // The running source has ended (or none ran yet): the earliest head
        // starts the next run.
        let Some(Reverse(head)) = self.heap.pop() else {
            self.finished = true;
            return None;
        };
        self.running = Some(head.source);
        Some(Ok((head.source, head.event)))
    }

    /// `event`, just read from the running `source`, if it comes before every
    /// other source's head; otherwise the earliest of those, whose source runs
    /// next, while `event` waits in the heap in its place (one sift-down).
    #[inline]
    fn run_on(&mut self, source: usize, event: ReplayEvent) -> (usize, ReplayEvent) {
        // One source (or the others ended): nothing to compare with.
        if self.heap.is_empty() {
            return (source, event);
        }
        let next = Head {
            ts_ns: event.ts_ns(),
            kind: event.kind(),
            source,
            event,
        };
        if let Some(mut top) = self.heap.peek_mut()
            && top.0 < next
        {
            let earlier = std::mem::replace(&mut top.0, next);
            self.running = Some(earlier.source);
            return (earlier.source, earlier.event);
        }
        (source, event)
    }

    /// The next event; `None` at the end. As [`Self::next_with_source`]
    /// without the source index.
    ///
    /// # Errors
    ///
    /// As [`Self::next_with_source`].
    #[inline(always)]
    pub fn next_event(&mut self) -> Option<Result<ReplayEvent, DataError>> {
        self.next_with_source()
            .map(|result| result.map(|(_, event)| event))
    }

    /// The next events in merge order, a run at a time: the trades of the
    /// running source that come before every other source's next event, as
    /// slices of the columns its reader has decoded and checked (one source:
    /// the rest of its batch), or else one event as
    /// [`Self::next_with_source`] gives it. The events, their order and the
    /// errors (naming file, row and column, at the same event) are those of
    /// [`Self::next_with_source`]; a consumer only skips the per-event
    /// hand-out.
    ///
    /// # Errors
    ///
    /// As [`Self::next_with_source`].
    #[inline]
    pub fn next_run(&mut self) -> Option<Result<ReplayRun<'_>, DataError>> {
        self.next_run_until(i64::MAX)
    }

    /// [`Self::next_run`] with a run of trades cut after the last row at or
    /// before `until_ns` (a consumer stepping at `until_ns` takes the rows
    /// up to it; a single event may still come after it).
    ///
    /// # Errors
    ///
    /// As [`Self::next_with_source`].
    #[inline]
    pub fn next_run_until(&mut self, until_ns: i64) -> Option<Result<ReplayRun<'_>, DataError>> {
        if let Some(source) = self.running
            && !self.finished
        {
            let n = self.trades_run_len(source, until_ns);
            if n > 0 {
                // `n > 0`: the running source is a trades source.
                return match self.sources.get_mut(source) {
                    Some(HistorySource {
                        cursor: SourceCursor::Trades(cursor),
                        ..
                    }) => Some(Ok(ReplayRun::Trades {
                        source,
                        trades: cursor.take_trades(n),
                    })),
                    _ => None,
                };
            }
        }
        self.next_with_source()
            .map(|result| result.map(|(source, event)| ReplayRun::Event { source, event }))
    }

    /// How many of the running trades `source`'s buffered rows come before
    /// every other source's head (the tie rule's key) and at or before
    /// `until_ns` (the rows are in time order, checked as they were
    /// decoded: both are prefixes).
    #[inline]
    fn trades_run_len(&self, source: usize, until_ns: i64) -> usize {
        let Some(HistorySource {
            cursor: SourceCursor::Trades(cursor),
            ..
        }) = self.sources.get(source)
        else {
            return 0;
        };
        let ts = cursor.buffered_ts();
        match self.heap.peek() {
            None => ts.partition_point(|&ts_ns| ts_ns <= until_ns),
            Some(Reverse(head)) => {
                let bound = head.key();
                ts.partition_point(|&ts_ns| {
                    ts_ns <= until_ns && (ts_ns, EventKind::Trade, source) < bound
                })
            }
        }
    }

    /// Reads source `index`'s next event into the heap.
    fn refill(&mut self, index: usize) -> Result<(), DataError> {
        let Some(source) = self.sources.get_mut(index) else {
            return Ok(());
        };
        if let Some(event) = source.next_event()? {
            self.heap.push(Reverse(Head {
                ts_ns: event.ts_ns(),
                kind: event.kind(),
                source: index,
                event,
            }));
        }
        Ok(())
    }

    /// Marks the replay finished and passes `err` through.
    fn finish(&mut self, err: DataError) -> DataError {
        self.finished = true;
        self.running = None;
        self.heap.clear();
        err
    }
}

impl Iterator for Replay {
    type Item = Result<ReplayEvent, DataError>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_event()
    }
}

impl FusedIterator for Replay {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_small_and_copy() {
        fn assert_copy<T: Copy>() {}
        assert_copy::<ReplayEvent>();
        assert!(std::mem::size_of::<ReplayEvent>() <= 40);
    }

    #[test]
    fn kind_order_is_the_tie_rule() {
        assert!(EventKind::Price < EventKind::Funding);
        assert!(EventKind::Funding < EventKind::Trade);
        assert_eq!(EventKind::Trade.schema(), HistorySchema::Trades);
    }

    #[test]
    fn head_order_is_ts_then_kind_then_source() {
        let event = ReplayEvent::Funding {
            ts_ns: 0,
            rate: 0.0,
            interval_s: 1,
        };
        let head = |ts_ns, kind, source| Head {
            ts_ns,
            kind,
            source,
            event,
        };
        let mut heads = [
            head(2, EventKind::Price, 0),
            head(1, EventKind::Trade, 0),
            head(1, EventKind::Price, 2),
            head(1, EventKind::Price, 1),
            head(1, EventKind::Funding, 3),
        ];
        heads.sort();
        let keys: Vec<_> = heads.iter().map(Head::key).collect();
        assert_eq!(
            keys,
            [
                (1, EventKind::Price, 1),
                (1, EventKind::Price, 2),
                (1, EventKind::Funding, 3),
                (1, EventKind::Trade, 0),
                (2, EventKind::Price, 0),
            ]
        );
    }

    #[test]
    fn empty_replay_ends_at_once() {
        let mut replay = Replay::new(Vec::new());
        assert!(replay.next().is_none());
        assert!(replay.next().is_none());
    }
}
