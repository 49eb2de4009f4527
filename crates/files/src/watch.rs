//! Watching a folder: each file that lands in it, or is moved in, is analysed
//! once it has stopped growing.
//!
//! The folder is listed every poll interval rather than followed through
//! inotify: listing works the same on local disks and on the network shares
//! (NFS, SMB) where modalities drop their files, cannot overflow an event
//! queue, and is how a file's growth has to be watched anyway (see
//! docs/ARCHITECTURE.md). A file is ready when its size and modification
//! time have not changed for the settle time; a file that changes after its
//! analysis is analysed again.

use std::collections::{HashMap, HashSet};
use std::fs::{self, Metadata};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;

use crate::analyze::Analyzer;
use crate::report::Reporter;
use crate::scan::{FilesSummary, scan_files_on};

/// How a folder is watched.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Time between two listings of the folder.
    pub poll: Duration,
    /// A file is analysed once its size and modification time held this long.
    pub settle: Duration,
    /// Analyse the files already there when the watch starts, too.
    pub existing: bool,
    /// Threads analysing the files that are ready at the same time.
    pub threads: usize,
    /// Folders never looked into (the quarantine, when it lies inside).
    pub exclude: Vec<PathBuf>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            poll: Duration::from_secs(1),
            settle: Duration::from_secs(2),
            existing: false,
            threads: crate::scan::default_threads(),
            exclude: Vec::new(),
        }
    }
}

/// What the watch last saw of one file.
#[derive(Debug)]
struct Seen {
    size: u64,
    modified: Option<SystemTime>,
    /// When the size or modification time last changed (or the file appeared).
    changed: Instant,
    /// Analysed (or found unreadable) in its current state.
    done: bool,
}

/// The files of a watched folder: which are new, which still grow, which were analysed.
#[derive(Debug)]
pub struct DirectoryWatch {
    root: PathBuf,
    settle: Duration,
    exclude: Vec<DirKey>,
    files: HashMap<PathBuf, Seen>,
    /// Unreadable folders already reported, so each is reported once while it stays so.
    reported: HashSet<PathBuf>,
}

impl DirectoryWatch {
    /// Starts watching `root`; the files already there are ready at once when `existing`
    /// is set, and otherwise only once they change.
    pub fn new(root: &Path, options: &WatchOptions, now: Instant) -> DirectoryWatch {
        let exclude = options
            .exclude
            .iter()
            .filter_map(|dir| fs::metadata(dir).ok().map(|m| DirKey::of(dir, &m)))
            .collect();
        let mut watch = DirectoryWatch {
            root: root.to_path_buf(),
            settle: options.settle,
            exclude,
            files: HashMap::new(),
            reported: HashSet::new(),
        };

        let mut unreadable = Vec::new();
        for (path, metadata) in watch.list(&mut unreadable) {
            let seen = Seen {
                size: metadata.len(),
                modified: metadata.modified().ok(),
                changed: now,
                done: !options.existing,
            };
            watch.files.insert(path, seen);
        }
        watch
    }

    /// Lists the folder again and returns the files ready for analysis, in path order.
    ///
    /// Folders that cannot be read are added to `unreadable` once, until they can be again.
    pub fn poll(&mut self, now: Instant, unreadable: &mut Vec<(String, String)>) -> Vec<PathBuf> {
        let listed = self.list(unreadable);
        let present: HashSet<&PathBuf> = listed.iter().map(|(path, _)| path).collect();
        self.files.retain(|path, _| present.contains(path));

        let mut ready = Vec::new();
        for (path, metadata) in &listed {
            let (size, modified) = (metadata.len(), metadata.modified().ok());
            let seen = self.files.entry(path.clone()).or_insert(Seen {
                size,
                modified,
                changed: now,
                done: false,
            });
            if seen.size != size || seen.modified != modified {
                *seen = Seen {
                    size,
                    modified,
                    changed: now,
                    done: false,
                };
            } else if !seen.done && now.duration_since(seen.changed) >= self.settle {
                ready.push(path.clone());
            }
        }
        ready.sort();
        ready
    }

    /// Marks files analysed: they are analysed again only if they change.
    pub fn mark_done(&mut self, files: &[PathBuf]) {
        for path in files {
            if let Some(seen) = self.files.get_mut(path) {
                seen.done = true;
            }
        }
    }

    /// How many files the watch currently knows.
    pub fn known_files(&self) -> usize {
        self.files.len()
    }

    /// Every regular file under the root with its metadata; symbolic links are not followed.
    fn list(&mut self, unreadable: &mut Vec<(String, String)>) -> Vec<(PathBuf, Metadata)> {
        let mut files = Vec::new();
        let mut pending = vec![self.root.clone()];
        while let Some(dir) = pending.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => {
                    self.reported.remove(&dir);
                    entries
                }
                Err(err) => {
                    if self.reported.insert(dir.clone()) {
                        tracing::warn!(dir = %dir.display(), error = %err, "folder not readable");
                        unreadable.push((dir.display().to_string(), err.to_string()));
                    }
                    continue;
                }
            };
            // An entry deleted since the folder was read is simply gone.
            for entry in entries.flatten() {
                let Ok(metadata) = entry.metadata() else {
                    continue;
                };
                if metadata.is_file() {
                    files.push((entry.path(), metadata));
                } else if metadata.is_dir() && !self.excluded(&entry.path(), &metadata) {
                    pending.push(entry.path());
                }
            }
        }
        files
    }

    fn excluded(&self, dir: &Path, metadata: &Metadata) -> bool {
        let key = DirKey::of(dir, metadata);
        self.exclude.contains(&key)
    }
}

/// Identifies a folder however its path is spelt: device and inode on Unix.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DirKey {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg_attr(unix, allow(dead_code))]
    Path(PathBuf),
}

impl DirKey {
    fn of(path: &Path, metadata: &Metadata) -> DirKey {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let _ = path;
            DirKey::Inode(metadata.dev(), metadata.ino())
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            DirKey::Path(fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
        }
    }
}

/// Watches `root` until `stop` says so, reporting each file once it is ready.
///
/// Unreadable files and folders are reported in the summary and the watch goes
/// on; it fails only when `root` is not a folder at the start, or when the
/// reporter fails (stdout or the event sink gone, quarantine not writable).
pub fn watch(
    root: &Path,
    analyzer: &Analyzer,
    options: &WatchOptions,
    reporter: &mut Reporter<'_>,
    stop: &dyn Fn() -> bool,
) -> anyhow::Result<FilesSummary> {
    let metadata = fs::metadata(root).with_context(|| {
        format!(
            "cannot watch {}: check that the folder exists",
            root.display()
        )
    })?;
    anyhow::ensure!(
        metadata.is_dir(),
        "cannot watch {}: it is a file, not a folder (use `files scan` for files)",
        root.display()
    );

    let mut summary = FilesSummary::default();
    let mut state = DirectoryWatch::new(root, options, Instant::now());
    tracing::info!(dir = %root.display(), files = state.known_files(), "files watch started");

    while !stop() {
        let ready = state.poll(Instant::now(), &mut summary.unreadable);
        if !ready.is_empty() {
            scan_files_on(
                analyzer,
                &ready,
                options.threads,
                &mut summary,
                |path, verdict| reporter.report(path, verdict),
            )?;
            state.mark_done(&ready);
        }
        sleep_unless_stopped(options.poll, stop);
    }

    summary.events = reporter.events;
    summary.quarantined = reporter.quarantined;
    Ok(summary)
}

/// Sleeps for `period`, waking every 100 ms to see whether to stop.
fn sleep_unless_stopped(period: Duration, stop: &dyn Fn() -> bool) {
    let deadline = Instant::now() + period;
    while !stop() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(settle_ms: u64) -> WatchOptions {
        WatchOptions {
            settle: Duration::from_millis(settle_ms),
            ..WatchOptions::default()
        }
    }

    #[test]
    fn a_file_is_ready_only_once_it_stopped_growing() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let mut watch = DirectoryWatch::new(dir.path(), &options(2000), t0);
        let mut unreadable = Vec::new();
        let file = dir.path().join("incoming.dcm");

        std::fs::write(&file, b"first half").unwrap();
        assert!(watch.poll(t0, &mut unreadable).is_empty(), "just appeared");

        std::fs::write(&file, b"first half and the second half").unwrap();
        let later = t0 + Duration::from_secs(3);
        assert!(watch.poll(later, &mut unreadable).is_empty(), "it grew");
        let settled = later + Duration::from_secs(2);
        assert_eq!(watch.poll(settled, &mut unreadable), vec![file.clone()]);

        watch.mark_done(std::slice::from_ref(&file));
        let after = settled + Duration::from_secs(10);
        assert!(
            watch.poll(after, &mut unreadable).is_empty(),
            "analysed once"
        );
        assert!(unreadable.is_empty());
    }

    #[test]
    fn files_there_at_the_start_wait_unless_asked_and_the_excluded_folder_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let quarantine = dir.path().join("quarantine");
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        std::fs::create_dir_all(&quarantine).unwrap();
        std::fs::write(dir.path().join("sub/old.dcm"), b"old").unwrap();
        std::fs::write(quarantine.join("copy.bin"), b"copy").unwrap();
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(5);
        let mut unreadable = Vec::new();

        let mut watch = DirectoryWatch::new(dir.path(), &options(1000), t0);
        assert!(watch.poll(later, &mut unreadable).is_empty());

        let existing = WatchOptions {
            existing: true,
            exclude: vec![quarantine.clone()],
            ..options(1000)
        };
        let mut watch = DirectoryWatch::new(dir.path(), &existing, t0);
        let ready = watch.poll(later, &mut unreadable);
        assert_eq!(ready, vec![dir.path().join("sub/old.dcm")]);
    }
}
