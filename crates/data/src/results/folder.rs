//! A results folder that appears complete or not at all.
//!
//! A run writes every file into a scratch folder beside its results folder,
//! `<out>/.<name>.scratch-<pid>`, and [`ScratchFolder::publish`] swaps it into
//! place once everything is written: the previous folder (if any) is renamed to
//! `<out>/.<name>.old-<pid>`, the scratch folder to `<out>/<name>`, and the old
//! one removed. A reader, or a process killed at any instant, therefore sees the
//! previous results whole, the new results whole, or (killed between the two
//! renames) no results folder: never a folder mixing files of two runs, never a
//! half-written one.
//!
//! Entries the results folder holds that are not results of the run (a
//! sweep's resumable `work/` chunks and its `shard-K-of-N/` folders, the
//! `keep` names of [`ScratchFolder::publish`]) move from the previous folder
//! into the new one after the swap.
//!
//! A failed run drops its scratch folder ([`Drop`]); one left by a killed
//! process (whose pid no longer runs) is removed by the next
//! [`ScratchFolder::create`] for the same results folder, after moving the
//! `keep` entries of a stale `.old-` folder back to a results folder that lacks
//! them.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::DataError;

/// A scratch folder beside a results folder, swapped into place by
/// [`ScratchFolder::publish`] and removed on drop if never published.
#[derive(Debug)]
pub struct ScratchFolder {
    scratch: PathBuf,
    target: PathBuf,
    published: bool,
}

/// What a stale entry beside a results folder was.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stale {
    Scratch,
    Old,
}

impl ScratchFolder {
    /// Creates an empty scratch folder for the results folder `target`
    /// (creating `target`'s parent if needed), first cleaning what killed runs
    /// for the same `target` left behind. `keep` names the entries of a
    /// results folder that are not results (see [`ScratchFolder::publish`]).
    ///
    /// # Errors
    /// [`DataError::InvalidPath`] if `target` has no folder name,
    /// [`DataError::Io`] if a folder cannot be created or cleaned.
    pub fn create(target: &Path, keep: &[&str]) -> Result<ScratchFolder, DataError> {
        let (parent, name) = split(target)?;
        fs::create_dir_all(&parent)
            .map_err(|e| DataError::io(&parent, "cannot create the folder", e))?;
        clean_stale(&parent, &name, target, keep)?;
        let scratch = parent.join(hidden(&name, "scratch", std::process::id()));
        if scratch.exists() {
            fs::remove_dir_all(&scratch)
                .map_err(|e| DataError::io(&scratch, "cannot remove a stale scratch folder", e))?;
        }
        fs::create_dir(&scratch)
            .map_err(|e| DataError::io(&scratch, "cannot create the scratch folder", e))?;
        Ok(ScratchFolder {
            scratch,
            target: target.to_owned(),
            published: false,
        })
    }

    /// The folder to write into.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.scratch
    }

    /// Swaps the scratch folder into place as the results folder, then moves
    /// the entries named in `keep` (or starting with one of them followed by
    /// `-`: `shard` keeps `shard-0-of-4`) from the previous results folder into
    /// the new one and removes the rest of the previous folder.
    ///
    /// # Errors
    /// [`DataError::Io`] if a rename fails (the previous results are then
    /// still in place, or, if only the second rename failed, kept at
    /// `.<name>.old-<pid>` beside it).
    pub fn publish(self, keep: &[&str]) -> Result<(), DataError> {
        self.publish_then(keep, || {})
    }

    /// [`ScratchFolder::publish`], running `then` on a thread of its own once
    /// the new results folder is in place (its `keep` entries moved into
    /// it), beside the removal of the previous folder: `then` (a sweep's
    /// removal of its resumable chunks, say) and that removal both wait for
    /// the disk, and one after the other they were a rerun's tail
    /// (docs/performance.md, "Two threads, round 8"). `then` is not run if
    /// the new folder could not be put in place.
    ///
    /// # Errors
    /// As [`ScratchFolder::publish`].
    pub fn publish_then(
        mut self,
        keep: &[&str],
        then: impl FnOnce() + Send,
    ) -> Result<(), DataError> {
        let (parent, name) = split(&self.target)?;
        let old = parent.join(hidden(&name, "old", std::process::id()));
        let had_old = self.target.exists();
        if had_old {
            fs::rename(&self.target, &old).map_err(|e| {
                DataError::io(&self.target, "cannot move the previous results aside", e)
            })?;
        }
        fs::rename(&self.scratch, &self.target).map_err(|e| {
            DataError::io(&self.target, "cannot move the new results into place", e)
        })?;
        self.published = true;
        // The renames synced to disk beside what follows them (the kept
        // entries moved, `then`, the previous folder removed): each waits for
        // the disk, and one after the other they were a sweep's tail
        // (docs/performance.md, "Two threads, round 9").
        std::thread::scope(|scope| {
            let syncing = scope.spawn(|| sync_dir(&parent));
            let done = self.after_publish(&old, had_old, keep, then);
            syncing
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            done
        })
    }

    /// What follows the renames of [`ScratchFolder::publish_then`]: the kept
    /// entries of the previous folder (`old`, if `had_old`) moved into the
    /// new one, then `then` beside the previous folder's removal.
    fn after_publish(
        &self,
        old: &Path,
        had_old: bool,
        keep: &[&str],
        then: impl FnOnce() + Send,
    ) -> Result<(), DataError> {
        if !had_old {
            then();
            return Ok(());
        }
        move_kept(old, &self.target, keep)?;
        std::thread::scope(|scope| {
            let beside = scope.spawn(then);
            let removed = remove_tree(old);
            beside
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            removed
        })
        .map_err(|e| DataError::io(old, "cannot remove the previous results", e))
    }
}

impl Drop for ScratchFolder {
    fn drop(&mut self) {
        if !self.published {
            // Best effort: the error that led here is the one worth reporting.
            let _ = fs::remove_dir_all(&self.scratch);
        }
    }
}

/// `target`'s parent folder and folder name.
fn split(target: &Path) -> Result<(PathBuf, OsString), DataError> {
    let name = target.file_name().ok_or_else(|| DataError::InvalidPath {
        path: target.to_owned(),
        reason: "has no folder name",
    })?;
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name.to_owned()))
}

/// `.<name>.<kind>-<pid>`.
fn hidden(name: &OsString, kind: &str, pid: u32) -> OsString {
    let mut s = OsString::from(".");
    s.push(name);
    s.push(format!(".{kind}-{pid}"));
    s
}

/// Removes the scratch and old folders of `name` left by processes that no
/// longer run, after moving the kept entries of an old folder back into
/// `target` where it lacks them.
fn clean_stale(
    parent: &Path,
    name: &OsString,
    target: &Path,
    keep: &[&str],
) -> Result<(), DataError> {
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let (kind, pid) = match rest.split_once('-') {
            Some(("scratch", pid)) => (Stale::Scratch, pid),
            Some(("old", pid)) => (Stale::Old, pid),
            _ => continue,
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() || process_runs(pid) {
            continue;
        }
        let path = entry.path();
        if kind == Stale::Old {
            fs::create_dir_all(target)
                .map_err(|e| DataError::io(target, "cannot create the folder", e))?;
            move_kept(&path, target, keep)?;
        }
        fs::remove_dir_all(&path)
            .map_err(|e| DataError::io(&path, "cannot remove what a killed run left", e))?;
    }
    Ok(())
}

/// Threads removing files at once ([`remove_files`]).
const REMOVE_THREADS: usize = 8;

/// Removes every file of `files`, [`REMOVE_THREADS`] at once: each `unlink`
/// waits for the disk (the inode freed and journalled; the folder's lock is
/// held for the name only), and one after another they were a rerun's and a
/// sweep's tail on a busy disk (docs/performance.md, "Two threads, round 7").
/// Every file is tried, whatever fails.
///
/// # Errors
/// The first failure of a thread's share, if any (the others are tried all
/// the same).
pub fn remove_files(files: &[PathBuf]) -> std::io::Result<()> {
    let share = files.len().div_ceil(REMOVE_THREADS).max(1);
    let removed: Vec<std::io::Result<()>> = std::thread::scope(|scope| {
        let threads: Vec<_> = files
            .chunks(share)
            .map(|some| {
                scope.spawn(move || {
                    let mut first = Ok(());
                    for f in some {
                        let removed = fs::remove_file(f);
                        if first.is_ok() {
                            first = removed;
                        }
                    }
                    first
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    removed.into_iter().collect()
}

/// Removes the folder `dir` and everything in it, as [`fs::remove_dir_all`]
/// (links are removed, not followed), its files by [`remove_files`].
fn remove_tree(dir: &Path) -> std::io::Result<()> {
    let (mut files, mut dirs) = (Vec::new(), vec![dir.to_owned()]);
    let mut i = 0;
    while let Some(d) = dirs.get(i).cloned() {
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                dirs.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
        i += 1;
    }
    remove_files(&files)?;
    // Deepest first: each folder after the ones found in it.
    dirs.iter().rev().try_for_each(fs::remove_dir)
}

/// Moves the entries of `from` named by `keep` into `to`, where absent.
fn move_kept(from: &Path, to: &Path, keep: &[&str]) -> Result<(), DataError> {
    if keep.is_empty() {
        return Ok(());
    }
    let entries = fs::read_dir(from).map_err(|e| DataError::io(from, "cannot list", e))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let text = name.to_string_lossy();
        let kept = keep
            .iter()
            .any(|k| text == *k || text.strip_prefix(k).is_some_and(|r| r.starts_with('-')));
        let dest = to.join(&name);
        if kept && !dest.exists() {
            fs::rename(entry.path(), &dest)
                .map_err(|e| DataError::io(&dest, "cannot move into the new results folder", e))?;
        }
    }
    Ok(())
}

/// Whether a process with this pid runs (Linux: `/proc/<pid>`; elsewhere
/// assumed to run, so nothing of another process is ever removed).
fn process_runs(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        proc.join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Syncs the folder entry so the renames survive a crash (Unix; best effort).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    {
        if let Ok(f) = fs::File::open(dir) {
            let _ = f.sync_all();
        }
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn publish_replaces_the_folder_whole_and_keeps_the_named_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("run");
        fs::create_dir_all(target.join("shard-0-of-2")).unwrap();
        fs::write(target.join("old.txt"), "old").unwrap();
        fs::write(target.join("summary.json"), "old").unwrap();
        let s = ScratchFolder::create(&target, &["shard", "work"]).unwrap();
        fs::write(s.path().join("summary.json"), "new").unwrap();
        // Until published, the old results stand.
        assert_eq!(
            fs::read_to_string(target.join("summary.json")).unwrap(),
            "old"
        );
        s.publish(&["shard", "work"]).unwrap();
        assert_eq!(names(&target), ["shard-0-of-2", "summary.json"]);
        assert_eq!(
            fs::read_to_string(target.join("summary.json")).unwrap(),
            "new"
        );
        assert_eq!(names(tmp.path()), ["run"]);
    }

    /// `then` runs once, after the new folder is in place with the kept
    /// entries of the previous one moved into it (a sweep's `work/` chunks,
    /// which it removes), whether or not there was a previous folder; the
    /// previous folder is gone when `publish_then` returns.
    #[test]
    fn publish_then_runs_after_the_new_folder_is_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("run");
        for rerun in [false, true] {
            if rerun {
                fs::create_dir_all(target.join("work")).unwrap();
                fs::write(target.join("work").join("chunk"), "c").unwrap();
            }
            let s = ScratchFolder::create(&target, &["work"]).unwrap();
            fs::write(s.path().join("summary.json"), "new").unwrap();
            let seen = std::sync::Mutex::new(Vec::new());
            s.publish_then(&["work"], || {
                let mut seen = seen.lock().unwrap();
                seen.push(fs::read_to_string(target.join("summary.json")).unwrap());
                if target.join("work").is_dir() {
                    fs::remove_file(target.join("work").join("chunk")).unwrap();
                    fs::remove_dir(target.join("work")).unwrap();
                    seen.push("work".to_owned());
                }
            })
            .unwrap();
            let expected: &[&str] = if rerun { &["new", "work"] } else { &["new"] };
            assert_eq!(*seen.lock().unwrap(), expected);
            assert_eq!(names(&target), ["summary.json"]);
            assert_eq!(names(tmp.path()), ["run"]);
        }
    }

    #[test]
    fn a_dropped_scratch_folder_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("run");
        let s = ScratchFolder::create(&target, &[]).unwrap();
        fs::write(s.path().join("a"), "x").unwrap();
        drop(s);
        assert!(names(tmp.path()).is_empty());
    }

    #[test]
    fn what_a_killed_run_left_is_cleaned_and_its_kept_entries_recovered() {
        let tmp = tempfile::tempdir().unwrap();
        // pid 4294967295 never runs.
        let dead = u32::MAX;
        let name = OsString::from("run");
        let scratch = tmp.path().join(hidden(&name, "scratch", dead));
        fs::create_dir_all(&scratch).unwrap();
        let old = tmp.path().join(hidden(&name, "old", dead));
        fs::create_dir_all(old.join("work")).unwrap();
        fs::write(old.join("summary.json"), "old").unwrap();
        let target = tmp.path().join("run");
        let s = ScratchFolder::create(&target, &["work"]).unwrap();
        let mut left = names(tmp.path());
        left.retain(|n| !n.contains(&std::process::id().to_string()));
        assert_eq!(left, ["run"]);
        assert_eq!(names(&target), ["work"]);
        drop(s);
    }
}
