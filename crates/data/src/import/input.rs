//! Preparing one input file for the CSV scanner: decompressing `.gz` and
//! `.zip` inputs into the scratch directory, rejecting empty files, and
//! reading the first line to tell a header from data and to find the
//! columns a format needs.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::DataError;

/// How an importer's columns are found in a file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// The columns of the venue's published layout, in order; a file without
    /// a header is read by position with these names (extra trailing columns
    /// are ignored).
    pub(crate) positional: &'static [&'static str],
    /// The columns the importer reads, each one of `positional`.
    pub(crate) required: &'static [&'static str],
    /// Other header spellings accepted for a column: `(alias, name)`.
    pub(crate) aliases: &'static [(&'static str, &'static str)],
}

/// One input, ready for the CSV scanner.
#[derive(Debug)]
pub(crate) struct PreparedInput {
    /// The file the user named (an archive, for compressed inputs); every
    /// message names this one.
    pub(crate) original: PathBuf,
    /// The plain CSV file to scan (the original, or a decompressed copy).
    pub(crate) csv: PathBuf,
    /// Whether the first line is a header.
    pub(crate) has_header: bool,
    /// For each required column (in [`Layout::required`] order), the name it
    /// has in the scanned frame: the header's spelling, or `column_{k}` for a
    /// headerless file.
    pub(crate) columns: Vec<String>,
}

impl PreparedInput {
    /// The 1-based line number of 0-based data row `row`.
    pub(crate) fn line(&self, row: u64) -> u64 {
        row + 1 + u64::from(self.has_header)
    }
}

/// The compression of a file, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zip,
}

/// Decompresses `path` into `scratch` if needed (file `n` of the request),
/// then reads its first line to find `layout`'s columns.
pub(crate) fn prepare(
    path: &Path,
    n: usize,
    scratch: &Path,
    layout: &Layout,
) -> Result<PreparedInput, DataError> {
    let mut file = File::open(path)
        .map_err(|source| DataError::io(path, "failed to open input for reading", source))?;
    let mut magic = [0_u8; 4];
    let got = read_up_to(&mut file, &mut magic)
        .map_err(|source| DataError::io(path, "failed to read input", source))?;
    if got == 0 {
        return Err(DataError::EmptyInput {
            path: path.to_owned(),
            what: "the file is empty",
        });
    }
    let compression = match magic[..got] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [b'P', b'K', 3, 4] => Compression::Zip,
        _ => Compression::None,
    };
    drop(file);
    let csv = match compression {
        Compression::None => path.to_owned(),
        Compression::Gzip => {
            let target = scratch.join(format!("input-{n}.csv"));
            gunzip(path, &target)?;
            target
        }
        Compression::Zip => {
            let target = scratch.join(format!("input-{n}.csv"));
            unzip_single_csv(path, &target)?;
            target
        }
    };
    let first = first_line(path, &csv)?;
    let Some(first) = first else {
        return Err(DataError::EmptyInput {
            path: path.to_owned(),
            what: if compression == Compression::None {
                "the file holds no lines"
            } else {
                "the archive holds an empty CSV file"
            },
        });
    };
    let fields: Vec<&str> = first.split(',').map(str::trim).collect();
    let has_header = looks_like_header(&fields);
    let columns = if has_header {
        if !has_data_line(path, &csv)? {
            return Err(DataError::EmptyInput {
                path: path.to_owned(),
                what: "the file holds a header but no data rows",
            });
        }
        find_by_name(path, &fields, layout)?
    } else {
        find_by_position(path, fields.len(), layout)?
    };
    Ok(PreparedInput {
        original: path.to_owned(),
        csv,
        has_header,
        columns,
    })
}

/// Reads until `buf` is full or the reader ends; returns the bytes read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A header is a line none of whose fields is a number or starts with a
/// digit (data lines of every supported layout start with a timestamp, an
/// id, or a venue name followed by numbers).
fn looks_like_header(fields: &[&str]) -> bool {
    fields.iter().all(|field| {
        !field.is_empty()
            && field.parse::<f64>().is_err()
            && !field.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+')
    })
}

/// Maps each required column to its header spelling (case-insensitive,
/// aliases allowed).
fn find_by_name(path: &Path, header: &[&str], layout: &Layout) -> Result<Vec<String>, DataError> {
    layout
        .required
        .iter()
        .map(|&name| {
            let accepted = |field: &str| {
                field.eq_ignore_ascii_case(name)
                    || layout
                        .aliases
                        .iter()
                        .any(|&(alias, target)| target == name && field.eq_ignore_ascii_case(alias))
            };
            header
                .iter()
                .find(|field| accepted(field))
                .map(|field| (*field).to_owned())
                .ok_or_else(|| DataError::MissingCsvColumn {
                    path: path.to_owned(),
                    column: name.to_owned(),
                    found: format!("header: {}", header.join(", ")),
                })
        })
        .collect()
}

/// Maps each required column to the scanner's `column_{k}` name of its
/// position in the published layout.
fn find_by_position(path: &Path, width: usize, layout: &Layout) -> Result<Vec<String>, DataError> {
    layout
        .required
        .iter()
        .map(|&name| {
            let position = layout
                .positional
                .iter()
                .position(|&column| column == name)
                .unwrap_or(usize::MAX);
            if position < width {
                Ok(format!("column_{}", position + 1))
            } else {
                Err(DataError::MissingCsvColumn {
                    path: path.to_owned(),
                    column: name.to_owned(),
                    found: format!(
                        "no header and {width} column(s); the published layout is {}",
                        layout.positional.join(", ")
                    ),
                })
            }
        })
        .collect()
}

/// The first line of `csv` without its line ending or a UTF-8 byte-order
/// mark, `None` if the file has no non-blank first line.
fn first_line(original: &Path, csv: &Path) -> Result<Option<String>, DataError> {
    let file = File::open(csv)
        .map_err(|source| DataError::io(original, "failed to open input for reading", source))?;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    reader
        .read_until(b'\n', &mut line)
        .map_err(|source| DataError::io(original, "failed to read input", source))?;
    let text = String::from_utf8_lossy(&line);
    let text = text
        .trim_start_matches('\u{feff}')
        .trim_end_matches(['\r', '\n']);
    Ok((!text.trim().is_empty()).then(|| text.to_owned()))
}

/// Whether `csv` has a non-blank line after its first.
fn has_data_line(original: &Path, csv: &Path) -> Result<bool, DataError> {
    let file = File::open(csv)
        .map_err(|source| DataError::io(original, "failed to open input for reading", source))?;
    let mut lines = BufReader::new(file).split(b'\n').skip(1);
    for line in &mut lines {
        let line =
            line.map_err(|source| DataError::io(original, "failed to read input", source))?;
        if !line.trim_ascii().is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Streams the gzip file `path` (all members) into `target`.
fn gunzip(path: &Path, target: &Path) -> Result<(), DataError> {
    let file = File::open(path)
        .map_err(|source| DataError::io(path, "failed to open input for reading", source))?;
    let mut decoder = flate2::read::MultiGzDecoder::new(BufReader::new(file));
    let out = File::create(target).map_err(|source| {
        DataError::io(
            path,
            "failed to create a scratch file to decompress into",
            source,
        )
    })?;
    let mut out = io::BufWriter::new(out);
    copy_decompressed(path, "gzip", &mut decoder, &mut out)
}

/// Extracts the single CSV file of the zip archive `path` into `target`.
fn unzip_single_csv(path: &Path, target: &Path) -> Result<(), DataError> {
    let corrupt = |reason: String| DataError::Decompress {
        path: path.to_owned(),
        format: "zip",
        reason,
    };
    let file = File::open(path)
        .map_err(|source| DataError::io(path, "failed to open input for reading", source))?;
    let mut archive =
        zip::ZipArchive::new(BufReader::new(file)).map_err(|e| corrupt(e.to_string()))?;
    let mut files: Vec<String> = Vec::new();
    for name in archive.file_names() {
        let name = name.map_err(|e| corrupt(e.to_string()))?;
        if !name.ends_with('/') {
            files.push(name.into_owned());
        }
    }
    let [name] = files.as_slice() else {
        return Err(corrupt(format!(
            "expected exactly one file in the archive, found {}: {}",
            files.len(),
            files.join(", ")
        )));
    };
    let mut entry = archive
        .by_name(name)
        .map_err(|e| corrupt(format!("{name}: {e}")))?;
    let out = File::create(target).map_err(|source| {
        DataError::io(
            path,
            "failed to create a scratch file to decompress into",
            source,
        )
    })?;
    let mut out = io::BufWriter::new(out);
    copy_decompressed(path, "zip", &mut entry, &mut out)
}

/// Copies a decompressing reader into `out`, naming the archive on failure.
fn copy_decompressed(
    path: &Path,
    format: &'static str,
    reader: &mut impl Read,
    out: &mut impl Write,
) -> Result<(), DataError> {
    io::copy(reader, out).map_err(|e| DataError::Decompress {
        path: path.to_owned(),
        format,
        reason: match e.kind() {
            io::ErrorKind::UnexpectedEof => {
                format!("truncated: the compressed stream ends early ({e})")
            }
            _ => format!("corrupt or unreadable compressed data ({e})"),
        },
    })?;
    out.flush().map_err(|source| {
        DataError::io(
            path,
            "failed to write the decompressed scratch file",
            source,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_told_from_data() {
        assert!(looks_like_header(&["open_time", "open", "high"]));
        assert!(looks_like_header(&[
            "exchange",
            "symbol",
            "timestamp",
            "local_timestamp"
        ]));
        assert!(!looks_like_header(&["1760054400000", "121582.79", "x"]));
        assert!(!looks_like_header(&["2025-10-10 00:00:07", "-5", "8243.0"]));
        assert!(!looks_like_header(&[
            "binance-delivery",
            "ATOMUSD_PERP",
            "1"
        ]));
        assert!(!looks_like_header(&["NaN"]));
        assert!(!looks_like_header(&["open_time", ""]));
    }
}
