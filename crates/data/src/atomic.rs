//! Atomic file replacement: write to a temporary file beside the target,
//! fsync it, then rename it over the target.
//!
//! Readers therefore see either the previous file or the complete new one,
//! never a half-written file, and a failed write leaves nothing behind.

use std::cell::Cell;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::DataError;

/// Distinguishes temporary files of concurrent writers within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Whether this thread's atomic writes skip their syncs ([`without_sync`]).
    static UNSYNCED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `write` with the atomic writes it makes on this thread
/// ([`write_atomically`] and every writer built on it) not synced to disk:
/// each file still replaces its target whole, by a rename (a process killed
/// at any instant leaves the previous file or the new one), but neither the
/// file nor its folder is `fsync`ed, so a power loss may leave the previous
/// file, none, or the new one cut short.
///
/// For files that are a cache checked when read back, never for results: a
/// sweep's resumable chunks (a chunk that does not read back whole, with its
/// scenario's hash and rows, is computed again). Their syncs made every
/// chunk's files reach the disk, and removing them once the results were
/// published then waited for the disk (docs/performance.md, "Two threads,
/// round 9"); unsynced, a chunk of a short sweep is usually removed before
/// it is ever written back.
pub fn without_sync<R>(write: impl FnOnce() -> R) -> R {
    /// Restores the flag, even if `write` panics.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            UNSYNCED.set(self.0);
        }
    }
    let _restore = Restore(UNSYNCED.replace(true));
    write()
}

/// How many temporary names to try before giving up (only matters when stale
/// temporary files from a crashed process with the same pid are lying around).
const TEMP_ATTEMPTS: u32 = 64;

/// Writes `path` atomically: `write` fills a fresh temporary file in the same
/// directory (named `.{file name}.tmp-{pid}-{n}`), which is then fsynced and
/// renamed over `path`, after which the directory is fsynced (on Unix).
///
/// If `write` fails (or panics), or anything before the rename fails, the
/// temporary file is removed and `path` is left as it was: absent, or holding
/// its previous contents.
///
/// # Errors
///
/// Returns whatever `write` returns, or [`DataError::InvalidPath`] if `path`
/// has no file name, or [`DataError::Io`] if creating, syncing or renaming the
/// temporary file fails. If only the final directory sync fails, the new file
/// is already in place (but its durability across a crash is not guaranteed)
/// and an [`DataError::Io`] saying so is returned.
pub fn write_atomically<F>(path: &Path, write: F) -> Result<(), DataError>
where
    F: FnOnce(&mut File) -> Result<(), DataError>,
{
    let file_name = path.file_name().ok_or_else(|| DataError::InvalidPath {
        path: path.to_owned(),
        reason: "has no file name",
    })?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };

    let (temp_path, file) = create_temp(path, dir, file_name)?;
    let mut guard = RemoveOnDrop {
        path: temp_path,
        armed: true,
    };
    // Declared after `guard`, so on an early return (or a panic in `write`)
    // the file is closed before the guard removes it (required on Windows).
    let mut file = file;
    write(&mut file)?;
    let synced = !UNSYNCED.get();
    if synced {
        file.sync_all().map_err(|source| {
            DataError::io(
                path,
                format!("failed to sync temporary file {}", guard.path.display()),
                source,
            )
        })?;
    }
    drop(file);
    fs::rename(&guard.path, path).map_err(|source| {
        DataError::io(
            path,
            format!(
                "failed to rename temporary file {} into place",
                guard.path.display()
            ),
            source,
        )
    })?;
    guard.armed = false;
    if !synced {
        return Ok(());
    }

    sync_dir(dir).map_err(|source| {
        DataError::io(
            path,
            format!(
                "file was replaced, but syncing directory {} failed",
                dir.display()
            ),
            source,
        )
    })
}

/// Writes `bytes` to `path` atomically; see [`write_atomically`].
///
/// # Errors
///
/// As [`write_atomically`]; a failed write is reported as [`DataError::Io`].
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    write_atomically(path, |file| {
        file.write_all(bytes)
            .map_err(|source| DataError::io(path, "failed to write temporary file", source))
    })
}

/// Creates a fresh temporary file `.{file_name}.tmp-{pid}-{n}` in `dir`.
fn create_temp(target: &Path, dir: &Path, file_name: &OsStr) -> Result<(PathBuf, File), DataError> {
    let pid = std::process::id();
    let mut last_err = None;
    for _ in 0..TEMP_ATTEMPTS {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = OsString::from(".");
        name.push(file_name);
        name.push(format!(".tmp-{pid}-{n}"));
        let temp_path = dir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp_path)
        {
            Ok(file) => return Ok((temp_path, file)),
            // A stale file from a crashed process that had the same pid.
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last_err = Some(err),
            Err(source) => {
                return Err(DataError::io(
                    target,
                    format!("failed to create temporary file {}", temp_path.display()),
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
        last_err.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)),
    ))
}

/// Removes the temporary file on drop unless disarmed after the rename.
struct RemoveOnDrop {
    path: PathBuf,
    armed: bool,
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: drop cannot report failure, and the error that led
            // here is the one worth returning.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Makes the rename durable by syncing the directory entry (Unix only; other
/// platforms cannot open a directory as a file).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn failing(path: &Path) -> DataError {
        DataError::InvalidPath {
            path: path.to_owned(),
            reason: "test failure",
        }
    }

    #[test]
    fn writes_bytes_and_replaces_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_bytes_atomically(&path, b"first").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        write_bytes_atomically(&path, b"second, longer").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second, longer");
        assert_eq!(dir_entries(dir.path()), vec!["out.bin".to_owned()]);
    }

    #[test]
    fn failed_closure_leaves_no_file_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let err = write_atomically(&path, |file| {
            file.write_all(b"partial").unwrap();
            Err(failing(&path))
        })
        .unwrap_err();
        assert!(matches!(
            err,
            DataError::InvalidPath {
                reason: "test failure",
                ..
            }
        ));
        assert!(!path.exists());
        assert!(
            dir_entries(dir.path()).is_empty(),
            "{:?}",
            dir_entries(dir.path())
        );
    }

    #[test]
    fn failed_closure_leaves_previous_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_bytes_atomically(&path, b"keep me").unwrap();
        let result = write_atomically(&path, |file| {
            file.write_all(b"garbage").unwrap();
            Err(failing(&path))
        });
        assert!(result.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"keep me");
        assert_eq!(dir_entries(dir.path()), vec!["out.bin".to_owned()]);
    }

    #[test]
    fn panicking_closure_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let caught = std::panic::catch_unwind(|| {
            let _ = write_atomically(&path, |_| panic!("boom"));
        });
        assert!(caught.is_err());
        assert!(dir_entries(dir.path()).is_empty());
    }

    #[test]
    fn temp_file_is_hidden_sibling_while_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let mut seen = Vec::new();
        write_atomically(&path, |_| {
            seen = dir_entries(dir.path());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.len(), 1);
        let prefix = format!(".out.bin.tmp-{}-", std::process::id());
        assert!(seen[0].starts_with(&prefix), "{seen:?}");
        assert_eq!(dir_entries(dir.path()), vec!["out.bin".to_owned()]);
    }

    #[test]
    fn rename_failure_cleans_up_and_names_the_target() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory cannot be replaced by a file.
        let path = dir.path().join("occupied");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inner"), b"x").unwrap();
        let err = write_bytes_atomically(&path, b"data").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DataError::Io { .. }), "{err:?}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert_eq!(dir_entries(dir.path()), vec!["occupied".to_owned()]);
    }

    /// Unsynced writes replace the file whole, as synced ones do, leave
    /// no temporary file, and the flag is this thread's only and restored
    /// (even after a panic).
    #[test]
    fn unsynced_writes_replace_the_file_whole_and_the_flag_is_restored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_bytes_atomically(&path, b"first").unwrap();
        without_sync(|| {
            assert!(UNSYNCED.get());
            std::thread::scope(|s| {
                s.spawn(|| assert!(!UNSYNCED.get(), "another thread's flag"));
            });
            write_bytes_atomically(&path, b"second").unwrap();
            // Nested: still unsynced after the inner call returns.
            without_sync(|| ());
            assert!(UNSYNCED.get());
        });
        assert!(!UNSYNCED.get());
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(dir_entries(dir.path()), vec!["out.bin".to_owned()]);
        let caught = std::panic::catch_unwind(|| without_sync(|| panic!("boom")));
        assert!(caught.is_err());
        assert!(!UNSYNCED.get(), "restored after a panic");
        let err = without_sync(|| {
            write_atomically(&path, |file| {
                file.write_all(b"garbage").unwrap();
                Err(failing(&path))
            })
        });
        assert!(err.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(dir_entries(dir.path()), vec!["out.bin".to_owned()]);
    }

    #[test]
    fn path_without_file_name_is_rejected() {
        let err = write_bytes_atomically(Path::new("/"), b"x").unwrap_err();
        assert!(matches!(err, DataError::InvalidPath { .. }), "{err:?}");
    }
}
