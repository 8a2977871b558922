//! [`ChunkFile`]: a tick-history file read by arrow-rs a whole column chunk
//! at a time (one `read` of each chunk the reader touches), instead of
//! arrow-rs's own `ChunkReader` for [`File`], which for every page opens a
//! duplicate descriptor, seeks, reads 8 KiB through a `BufReader` to parse
//! the page header, closes it, and then does the same again to read the
//! page itself (about ten system calls and an extra 8 KiB copy a page).
//!
//! The bytes handed to the decoder are the same bytes of the file: a page
//! inside a cached chunk is a slice of it, anything else (the footer, a
//! request that runs past its chunk's end in a damaged file, chunks larger
//! than [`MAX_CACHED_CHUNK`]) is read from the file as arrow-rs reads it.
//! Why (docs/performance.md, "Replay through the engine, round 8"): the
//! per-page system calls are a measurable part of a replay's reader thread.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::{Buf, Bytes};
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{ChunkReader, Length};

/// Column chunks larger than this (bytes) are read page by page, as arrow-rs
/// reads a [`File`], so that a file written with huge row groups is not
/// held in memory a chunk at a time.
pub(crate) const MAX_CACHED_CHUNK: u64 = 16 << 20;

/// Buffers of chunks no page refers to any more, kept for the next chunks'
/// reads: at most this many (the chunks of two row groups of a trades
/// replay's four columns), so that the memory stays within about twice the
/// chunks held.
const SPARE_BUFFERS: usize = 8;

/// Chunk buffers free for reuse: a chunk read into one needs no fresh
/// memory (no page faults, no zeroing by the kernel) once the replay has
/// warmed up.
type Spare = Arc<Mutex<Vec<Vec<u8>>>>;

/// A chunk's bytes, owned by the [`Bytes`] handed to the decoder: when the
/// last slice of it is dropped, its buffer goes back to the [`Spare`] list
/// (or is freed if the list is full).
struct Pooled {
    buffer: Vec<u8>,
    spare: Spare,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buffer
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Ok(mut spare) = self.spare.lock()
            && spare.len() < SPARE_BUFFERS
        {
            spare.push(std::mem::take(&mut self.buffer));
        }
    }
}

/// A column chunk's place in the file and its row group.
#[derive(Debug, Clone)]
struct Chunk {
    bytes: Range<u64>,
    group: usize,
}

/// A chunk read whole, by its index in [`ChunkFile::chunks`].
#[derive(Debug)]
struct Held {
    index: usize,
    bytes: Bytes,
}

/// A Parquet file whose column chunks are read whole the first time a page
/// of theirs is asked for; the chunks of at most two row groups are kept
/// (the one being read and, while a batch crosses into the next group, the
/// one before), so the memory is bounded by two row groups' projected
/// columns whatever the length of the file.
#[derive(Debug)]
pub(crate) struct ChunkFile {
    file: Mutex<File>,
    len: u64,
    /// Every column chunk's byte range (at most [`MAX_CACHED_CHUNK`] long,
    /// not empty), sorted by start.
    chunks: Vec<Chunk>,
    held: Mutex<Vec<Held>>,
    /// Buffers of chunks done with, for the next reads.
    spare: Spare,
}

/// What [`ChunkFile::get_read`] hands out: a slice of a chunk read whole, or
/// the file itself (buffered, as arrow-rs reads a [`File`]).
pub(crate) enum ChunkRead {
    /// Inside a chunk read whole.
    Held(bytes::buf::Reader<Bytes>),
    /// Anywhere else.
    File(BufReader<File>),
}

impl Read for ChunkRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Held(reader) => reader.read(buf),
            Self::File(reader) => reader.read(buf),
        }
    }
}

impl ChunkFile {
    /// `file`, whose footer is `metadata`, read a column chunk at a time.
    ///
    /// # Errors
    ///
    /// The I/O error if the file's length cannot be read.
    pub(crate) fn new(file: File, metadata: &ParquetMetaData) -> std::io::Result<Self> {
        let len = file.metadata()?.len();
        let mut chunks: Vec<Chunk> = metadata
            .row_groups()
            .iter()
            .enumerate()
            .flat_map(|(group, row_group)| {
                row_group.columns().iter().filter_map(move |column| {
                    let start = column
                        .dictionary_page_offset()
                        .unwrap_or_else(|| column.data_page_offset());
                    let start = u64::try_from(start).ok()?;
                    let size = u64::try_from(column.compressed_size()).ok()?;
                    let end = start.checked_add(size)?;
                    (size > 0 && size <= MAX_CACHED_CHUNK && end <= len).then_some(Chunk {
                        bytes: start..end,
                        group,
                    })
                })
            })
            .collect();
        chunks.sort_by_key(|chunk| chunk.bytes.start);
        Ok(Self {
            file: Mutex::new(file),
            len,
            chunks,
            held: Mutex::new(Vec::new()),
            spare: Arc::new(Mutex::new(Vec::with_capacity(SPARE_BUFFERS))),
        })
    }

    /// The bytes from `start` to the end of the chunk that holds
    /// `start..start + len` (`len` `None`: only `start`), reading the chunk
    /// whole if it is not held; `None` if no chunk holds the range or the
    /// chunk cannot be read (the caller then reads the file directly, which
    /// reports the error).
    fn held_from(&self, start: u64, len: Option<u64>) -> Option<Bytes> {
        let index = self
            .chunks
            .partition_point(|chunk| chunk.bytes.start <= start)
            .checked_sub(1)?;
        let chunk = &self.chunks[index];
        let end = start.checked_add(len.unwrap_or(1))?;
        if end > chunk.bytes.end {
            return None;
        }
        let offset = usize::try_from(start - chunk.bytes.start).ok()?;
        let mut held = self.held.lock().ok()?;
        if let Some(found) = held.iter().find(|held| held.index == index) {
            return Some(found.bytes.slice(offset..));
        }
        let bytes = self.read_whole(&chunk.bytes).ok()?;
        // Chunks of row groups before the previous one are done with (the
        // reader moves forward through the groups; a page being decoded
        // keeps its own slice alive).
        held.retain(|held| self.chunks[held.index].group + 1 >= chunk.group);
        let slice = bytes.slice(offset..);
        debug_assert!(
            held.iter().all(|held| held.index != index),
            "Invariant: each chunk is held at most once"
        );
        held.push(Held { index, bytes });
        Some(slice)
    }

    /// Reads `range` of the file in one go, into a spare buffer if there
    /// is one (its bytes were written by an earlier read, so only a longer
    /// chunk's extra bytes are zeroed before the read overwrites them).
    fn read_whole(&self, range: &Range<u64>) -> std::io::Result<Bytes> {
        let len = usize::try_from(range.end - range.start)
            .map_err(|_| std::io::Error::other("chunk too large"))?;
        let mut buffer = self.spare_buffer(len);
        buffer.resize(len, 0);
        let mut file = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("file lock poisoned"))?;
        file.seek(SeekFrom::Start(range.start))?;
        file.read_exact(&mut buffer)?;
        Ok(Bytes::from_owner(Pooled {
            buffer,
            spare: Arc::clone(&self.spare),
        }))
    }

    /// A spare buffer for a chunk of `len` bytes: the smallest that holds
    /// it, else the largest (it grows), else a new one.
    fn spare_buffer(&self, len: usize) -> Vec<u8> {
        let Ok(mut spare) = self.spare.lock() else {
            return Vec::new();
        };
        let fits = spare
            .iter()
            .enumerate()
            .filter(|(_, buffer)| buffer.capacity() >= len)
            .min_by_key(|(_, buffer)| buffer.capacity())
            .map(|(i, _)| i);
        let pick = fits.or_else(|| {
            spare
                .iter()
                .enumerate()
                .max_by_key(|(_, buffer)| buffer.capacity())
                .map(|(i, _)| i)
        });
        pick.map_or_else(Vec::new, |i| spare.swap_remove(i))
    }

    /// A duplicate handle of the file, for the reads outside the chunks.
    fn clone_file(&self) -> Result<File> {
        let file = self
            .file
            .lock()
            .map_err(|_| ParquetError::General("file lock poisoned".to_owned()))?;
        Ok(file.try_clone()?)
    }
}

impl Length for ChunkFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for ChunkFile {
    type T = ChunkRead;

    fn get_read(&self, start: u64) -> Result<ChunkRead> {
        if let Some(bytes) = self.held_from(start, None) {
            return Ok(ChunkRead::Held(bytes.reader()));
        }
        let mut file = self.clone_file()?;
        file.seek(SeekFrom::Start(start))?;
        Ok(ChunkRead::File(BufReader::new(file)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes> {
        if let Some(bytes) = u64::try_from(length)
            .ok()
            .and_then(|len| self.held_from(start, Some(len)))
        {
            return Ok(bytes.slice(..length));
        }
        self.clone_file()?.get_bytes(start, length)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    use super::*;

    /// A file of `groups` row groups of `rows` rows of two i64 columns.
    fn file_of(groups: usize, rows: usize) -> (tempfile::NamedTempFile, Arc<ParquetMetaData>) {
        let mut tmp = tempfile::NamedTempFile::new().expect("temp file");
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(rows))
            .set_data_page_row_count_limit(rows / 4 + 1)
            .build();
        let values = |k: i64| -> ArrayRef {
            Arc::new(Int64Array::from_iter_values(
                (0..i64::try_from(groups * rows).expect("small")).map(|i| i * k % 1_000_003),
            ))
        };
        let batch =
            RecordBatch::try_from_iter([("a", values(7)), ("b", values(13))]).expect("batch");
        let mut writer =
            ArrowWriter::try_new(tmp.as_file_mut(), batch.schema(), Some(props)).expect("writer");
        writer.write(&batch).expect("write");
        writer.close().expect("close");
        tmp.flush().expect("flush");
        let file = File::open(tmp.path()).expect("open");
        let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
            .parse_and_finish(&file)
            .expect("footer");
        (tmp, Arc::new(metadata))
    }

    /// `file_of(groups, rows)` opened twice, as a plain `File` and through a
    /// `ChunkFile` (the temporary file returned to be kept alive beside them).
    fn opened(groups: usize, rows: usize) -> (tempfile::NamedTempFile, File, ChunkFile) {
        let (tmp, metadata) = file_of(groups, rows);
        let plain = File::open(tmp.path()).expect("open");
        let chunked =
            ChunkFile::new(File::open(tmp.path()).expect("open"), &metadata).expect("chunk file");
        (tmp, plain, chunked)
    }

    /// Every range read through a `ChunkFile` is the file's bytes, inside a
    /// chunk, across chunks, past the end (an error, as `File`'s).
    #[test]
    fn reads_the_files_bytes_anywhere() {
        let (_tmp, plain, chunked) = opened(5, 4000);
        assert_eq!(chunked.len(), plain.len());
        assert!(chunked.chunks.len() >= 10, "two columns in five groups");
        let len = plain.len();
        let mut starts: Vec<u64> = chunked
            .chunks
            .iter()
            .flat_map(|chunk| [chunk.bytes.start, chunk.bytes.end - 1, chunk.bytes.end])
            .collect();
        starts.extend([0, 1, len - 8, len - 1]);
        for &start in &starts {
            for length in [0, 1, 17, 300, 5000, 100_000] {
                let expected = plain.get_bytes(start, length);
                let got = chunked.get_bytes(start, length);
                match (expected, got) {
                    (Ok(expected), Ok(got)) => assert_eq!(expected, got, "{start}+{length}"),
                    (Err(_), Err(_)) => {}
                    (expected, got) => panic!("{start}+{length}: {expected:?} against {got:?}"),
                }
            }
            let mut expected = Vec::new();
            plain
                .get_read(start)
                .expect("read")
                .take(20_000)
                .read_to_end(&mut expected)
                .expect("read");
            let mut got = Vec::new();
            chunked
                .get_read(start)
                .expect("read")
                .take(20_000)
                .read_to_end(&mut got)
                .expect("read");
            // A read inside a chunk ends at the chunk's end: a prefix of the
            // file's bytes from `start`.
            assert!(!got.is_empty() || expected.is_empty(), "{start}");
            assert_eq!(got[..], expected[..got.len()], "{start}");
        }
        let held = chunked.held.lock().expect("lock");
        let groups: Vec<usize> = held
            .iter()
            .map(|held| chunked.chunks[held.index].group)
            .collect();
        let last = groups.iter().max().copied().unwrap_or(0);
        assert!(
            groups.iter().all(|&group| group + 1 >= last),
            "only the last two groups held: {groups:?}"
        );
    }

    /// A chunk's buffer is reused only once no slice of it is alive: slices
    /// of every chunk, all kept while the others are read, are still the
    /// file's bytes; released, their buffers wait in the spare list (within
    /// its bound) and the next reads, into them, give the file's bytes too.
    #[test]
    fn reuses_a_chunks_buffer_only_when_free() {
        let (_tmp, plain, chunked) = opened(9, 4000);
        let ranges: Vec<(u64, usize)> = chunked
            .chunks
            .iter()
            .map(|chunk| {
                let len = usize::try_from(chunk.bytes.end - chunk.bytes.start).expect("small");
                (chunk.bytes.start, len)
            })
            .collect();
        assert!(ranges.len() >= 18, "two columns in nine groups");
        let expected: Vec<Bytes> = ranges
            .iter()
            .map(|&(start, len)| plain.get_bytes(start, len).expect("read"))
            .collect();
        let kept: Vec<Bytes> = ranges
            .iter()
            .map(|&(start, len)| chunked.get_bytes(start, len).expect("read"))
            .collect();
        assert_eq!(kept, expected, "slices kept alive keep their bytes");
        assert!(chunked.spare.lock().expect("lock").is_empty());
        drop(kept);
        // The chunks of the last two groups are still held; the others are free.
        assert_eq!(chunked.spare.lock().expect("lock").len(), SPARE_BUFFERS);
        // Read again from the start: the first reads go into spare buffers
        // (of this or another chunk's length).
        for (i, (&(start, len), expected)) in ranges.iter().zip(&expected).enumerate() {
            let got = chunked.get_bytes(start, len).expect("read");
            assert_eq!(&got, expected, "chunk {i}: a reused buffer holds its bytes");
            let spare = chunked.spare.lock().expect("lock").len();
            assert!(spare <= SPARE_BUFFERS, "chunk {i}: {spare} spare");
            if i < 2 {
                // Groups 0 and 1 read again release nothing (the held
                // chunks are all of later groups): each read took a spare.
                assert_eq!(spare, SPARE_BUFFERS - i - 1, "chunk {i}");
            }
        }
    }

    /// A file decoded through a `ChunkFile` gives the same batches as
    /// through a `File`.
    #[test]
    fn decodes_as_the_file() {
        use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
        let (tmp, _) = file_of(7, 3000);
        fn decode<R: ChunkReader + 'static>(
            input: R,
            metadata: ArrowReaderMetadata,
        ) -> Vec<RecordBatch> {
            ParquetRecordBatchReaderBuilder::new_with_metadata(input, metadata)
                .with_batch_size(1000)
                .build()
                .expect("reader")
                .collect::<std::result::Result<_, _>>()
                .expect("batches")
        }
        let batches = |chunked: bool| -> Vec<RecordBatch> {
            let file = File::open(tmp.path()).expect("open");
            let metadata = ArrowReaderMetadata::load(&file, Default::default()).expect("metadata");
            if chunked {
                let input = ChunkFile::new(file, metadata.metadata()).expect("chunk file");
                decode(input, metadata)
            } else {
                decode(file, metadata)
            }
        };
        let expected = batches(false);
        assert_eq!(expected.len(), 21);
        assert_eq!(batches(true), expected);
    }
}
