//! Scanning paths: recursive walk, one verdict per file, quarantine of bad files.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use thiserror::Error;

use crate::analyze::{Analyzed, Analyzer};
use crate::verdict::{Verdict, VerdictLevel};

/// Counts of one scan, printed by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilesSummary {
    pub files: u64,
    pub bytes: u64,
    pub clean: u64,
    pub suspicious: u64,
    pub malicious: u64,
    pub quarantined: u64,
    pub events: u64,
    /// Paths that could not be read, with the reason; they were skipped.
    pub unreadable: Vec<(String, String)>,
    /// YARA rule files the engine refused, with the reason (empty without the `yara` feature).
    pub refused_rules: Vec<(String, String)>,
}

impl FilesSummary {
    /// Counts one verdict.
    pub fn count(&mut self, verdict: &Verdict) {
        self.files += 1;
        self.bytes += verdict.size;
        match verdict.verdict {
            VerdictLevel::Clean => self.clean += 1,
            VerdictLevel::Suspicious => self.suspicious += 1,
            VerdictLevel::Malicious => self.malicious += 1,
        }
    }
}

impl fmt::Display for FilesSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} files ({} bytes): {} clean, {} suspicious, {} malicious; {} quarantined, {} events, {} unreadable",
            self.files,
            self.bytes,
            self.clean,
            self.suspicious,
            self.malicious,
            self.quarantined,
            self.events,
            self.unreadable.len()
        )?;
        for (path, reason) in &self.unreadable {
            write!(f, "\n  skipped {path}: {reason}")?;
        }
        if !self.refused_rules.is_empty() {
            write!(f, "\n{} YARA rule files refused:", self.refused_rules.len())?;
            for (file, reason) in &self.refused_rules {
                write!(f, "\n  {file}: {reason}")?;
            }
        }
        Ok(())
    }
}

/// Lists the files under `paths`, recursively; unreadable entries go to `unreadable`.
///
/// Symbolic links inside directories are not followed (no loops, no escapes);
/// paths named on the command line are followed.
pub fn collect_files(paths: &[PathBuf], unreadable: &mut Vec<(String, String)>) -> Vec<PathBuf> {
    collect_sized_files(paths, unreadable)
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

/// [`collect_files`] with each file's size in bytes as listed.
pub fn collect_sized_files(
    paths: &[PathBuf],
    unreadable: &mut Vec<(String, String)>,
) -> Vec<(PathBuf, u64)> {
    let mut files = Vec::new();
    let mut pending: Vec<PathBuf> = paths.iter().rev().cloned().collect();
    let mut top_level = paths.len();

    while let Some(path) = pending.pop() {
        let follow = top_level > 0;
        top_level = top_level.saturating_sub(1);
        let metadata = if follow {
            fs::metadata(&path)
        } else {
            fs::symlink_metadata(&path)
        };
        let metadata = match metadata {
            Ok(metadata) => metadata,
            Err(err) => {
                unreadable.push((path.display().to_string(), err.to_string()));
                continue;
            }
        };
        if metadata.is_file() {
            files.push((path, metadata.len()));
        } else if metadata.is_dir() {
            match sorted_entries(&path) {
                Ok(entries) => pending.extend(entries.into_iter().rev()),
                Err(err) => unreadable.push((path.display().to_string(), err.to_string())),
            }
        } else if metadata.file_type().is_symlink() {
            let reason = "symbolic link inside a scanned folder, not followed".to_string();
            unreadable.push((path.display().to_string(), reason));
        }
    }
    files
}

/// The entries of a folder, sorted by name.
pub(crate) fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        entries.push(entry?.path());
    }
    entries.sort();
    Ok(entries)
}

/// Why a file could not be quarantined.
#[derive(Debug, Error)]
pub enum QuarantineError {
    #[error("could not quarantine into {dir}: {source} (check that the directory is writable)")]
    Write {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// Copies a file into `dir` as `<sha256>.bin`, never executable, with `<sha256>.verdict.json` beside it.
///
/// Returns the path of the copy. The original is left where it is.
pub fn quarantine(
    source: &Path,
    verdict: &Verdict,
    dir: &Path,
) -> Result<PathBuf, QuarantineError> {
    let write_error = |source| QuarantineError::Write {
        dir: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(write_error)?;

    let copy = dir.join(format!("{}.bin", verdict.hashes.sha256));
    fs::copy(source, &copy).map_err(write_error)?;
    let mut permissions = fs::metadata(&copy).map_err(write_error)?.permissions();
    permissions.set_readonly(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        permissions.set_mode(0o400);
    }
    fs::set_permissions(&copy, permissions).map_err(write_error)?;

    let json = serde_json::to_vec_pretty(verdict).map_err(|err| write_error(err.into()))?;
    fs::write(
        dir.join(format!("{}.verdict.json", verdict.hashes.sha256)),
        json,
    )
    .map_err(write_error)?;
    Ok(copy)
}

/// The threads a scan uses by default: one per CPU core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Scans files on one thread per core, handing each verdict to `on_verdict` in the files' order.
pub fn scan_files(
    analyzer: &Analyzer,
    files: &[PathBuf],
    summary: &mut FilesSummary,
    on_verdict: impl FnMut(&Path, &Verdict) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    scan_files_on(analyzer, files, default_threads(), summary, on_verdict)
}

/// Scans files on `threads` threads (at least one), handing each verdict to `on_verdict`
/// in the files' order, on the calling thread.
///
/// An unreadable file is logged and listed in `summary.unreadable`; the others go on.
/// An error from `on_verdict` stops the scan and is returned.
pub fn scan_files_on(
    analyzer: &Analyzer,
    files: &[PathBuf],
    threads: usize,
    summary: &mut FilesSummary,
    mut on_verdict: impl FnMut(&Path, &Verdict) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let threads = threads.clamp(1, files.len().max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);

    std::thread::scope(|scope| {
        let (results, verdicts) = mpsc::sync_channel(threads * 2);
        for _ in 0..threads {
            let results = results.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                let next_file = || {
                    if stop.load(Ordering::Relaxed) {
                        return None;
                    }
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    files.get(index).map(|path| (index, path.as_path()))
                };
                let deliver = |batch| results.send(batch).is_ok();
                analyzer.worker().analyze_each(next_file, deliver);
            });
        }
        drop(results);

        let outcome = deliver_in_order(files, verdicts, summary, &mut on_verdict);
        stop.store(true, Ordering::Relaxed);
        outcome
    })
}

/// Hands results to `on_verdict` in file order, holding those that arrive early.
fn deliver_in_order(
    files: &[PathBuf],
    verdicts: mpsc::Receiver<Vec<Analyzed>>,
    summary: &mut FilesSummary,
    on_verdict: &mut impl FnMut(&Path, &Verdict) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut early = BTreeMap::new();
    let mut due = 0;
    for batch in verdicts {
        early.extend(batch);
        while let Some(result) = early.remove(&due) {
            let path = &files[due];
            due += 1;
            match result {
                Ok(verdict) => {
                    summary.count(&verdict);
                    on_verdict(path, &verdict)?;
                }
                Err(err) => {
                    tracing::warn!(path = %path.display(), error = %err, "file skipped");
                    summary
                        .unreadable
                        .push((path.display().to_string(), err.to_string()));
                }
            }
        }
    }
    Ok(())
}
