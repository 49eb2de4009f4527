//! The `safecare files` command line.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use safecare_capture::live;
use safecare_core::{AssetDirectory, EventSink};

use crate::analyze::{AnalysisConfig, Analyzer};
use crate::archive::ArchiveLimits;
use crate::hash::Blocklist;
use crate::report::Reporter;
use crate::scan::{collect_sized_files, default_threads, scan_files_on};
use crate::watch::{WatchOptions, watch};

pub use crate::scan::FilesSummary;

/// Advanced file analysis: DICOM polyglots, malformed files, hashes, zip bombs.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum FilesCommand {
    /// Analyse files and folders (recursively): one verdict JSON line per file on stdout.
    ///
    /// Suspicious and malicious files also become security events. Unreadable
    /// files and folders are reported in the summary and skipped.
    ///
    /// Examples:
    ///   safecare files scan /srv/pacs/incoming
    ///   safecare files scan upload.dcm --blocklist bad-sha256.txt --quarantine /var/safecare/quarantine
    ///   safecare files scan usb/ --require-pseudonymised
    #[command(verbatim_doc_comment)]
    Scan {
        /// Files, or folders scanned recursively (symbolic links inside are not followed).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        detection: DetectionArgs,
        /// Copy suspicious and malicious files here, each with its verdict JSON beside it.
        #[arg(long, value_name = "DIR", help_heading = "Output")]
        quarantine: Option<PathBuf>,
    },
    /// Watch a folder: analyse each file that lands in it, or is moved in, once it stops growing.
    ///
    /// One verdict JSON line per file on stdout, events for suspicious and
    /// malicious files (to the broker with --broker). The folder and its
    /// subfolders are listed every --poll-ms; a file is analysed when its size
    /// and modification time have held for --settle-ms, and again if it
    /// changes. Unreadable files are reported and the watch goes on; Ctrl-C ends it.
    ///
    /// Examples:
    ///   safecare files watch /srv/pacs/incoming --broker mqtt://127.0.0.1:1883
    ///   safecare files watch /mnt/usb-drop --quarantine /var/safecare/quarantine --existing
    #[command(verbatim_doc_comment)]
    Watch {
        /// The folder to watch, with its subfolders.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        #[command(flatten)]
        detection: DetectionArgs,
        /// Copy suspicious and malicious files here, each with its verdict JSON beside it.
        #[arg(long, value_name = "DIR", help_heading = "Output")]
        quarantine: Option<PathBuf>,
        /// Also analyse the files already in the folder when the watch starts.
        #[arg(long, help_heading = "Watch")]
        existing: bool,
        /// Time between two listings of the folder, in milliseconds.
        #[arg(
            long,
            default_value_t = 1000,
            value_name = "MS",
            help_heading = "Watch"
        )]
        poll_ms: u64,
        /// A file is analysed once its size and modification time held this long (milliseconds).
        #[arg(
            long,
            default_value_t = 2000,
            value_name = "MS",
            help_heading = "Watch"
        )]
        settle_ms: u64,
    },
    /// Extract files from captured traffic and analyse them: DICOM C-STORE and HTTP downloads.
    ///
    /// Every TCP connection is followed. DICOM associations (ports 104 and
    /// 11112, or any connection opening with an A-ASSOCIATE-RQ) give each
    /// C-STORE dataset, wrapped in a Part 10 file; plain HTTP/1.x connections
    /// give each successful response body. One verdict JSON line per object
    /// (the `files scan` document with a `network` member: client, server, AE
    /// titles or URL); broken or cut transfers become events and are listed
    /// in the summary.
    ///
    /// Examples:
    ///   safecare files extract pacs.pcap
    ///   safecare files extract tap.pcapng --output /var/safecare/extracted --broker mqtt://127.0.0.1:1883
    #[command(verbatim_doc_comment)]
    Extract {
        /// The capture (pcap or pcapng).
        #[arg(value_name = "FILE.pcap")]
        capture: PathBuf,
        #[command(flatten)]
        detection: DetectionArgs,
        #[command(flatten)]
        connector: crate::connector::extract::ConnectorArgs,
    },
}

/// What the analysis checks, shared by `scan` and `watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct DetectionArgs {
    /// Known-bad SHA-256 digests, one per line (`#` comments, `sha256sum` output accepted).
    #[arg(long, value_name = "FILE", help_heading = "Detection")]
    pub blocklist: Option<PathBuf>,
    /// Report patient-identifying DICOM elements as suspicious (the site pseudonymises).
    #[arg(long, help_heading = "Detection")]
    pub require_pseudonymised: bool,
    /// YARA rule files or folders (.yar/.yara), added to the built-in rules.
    #[cfg(feature = "yara")]
    #[arg(long = "yara", value_name = "PATH", help_heading = "Detection")]
    pub yara_rules: Vec<PathBuf>,
    /// Nested archives deeper than this are a finding.
    #[arg(long, default_value_t = 4, value_name = "N", help_heading = "Limits")]
    pub max_archive_depth: usize,
    /// Total bytes an archive may expand to.
    #[arg(long, default_value_t = 512 * 1024 * 1024, value_name = "BYTES", help_heading = "Limits")]
    pub max_archive_bytes: u64,
    /// Expansion ratio of one archive member above which it is a bomb.
    #[arg(
        long,
        default_value_t = 200,
        value_name = "RATIO",
        help_heading = "Limits"
    )]
    pub max_ratio: u64,
    /// Files analysed at once by `scan` and `watch` (`extract` reads one capture in
    /// order); one per CPU core by default. Each holds up to 1 GiB of its file in memory
    /// (the rest is only hashed), and up to 16 MiB of small files read as a batch.
    #[arg(long, value_name = "N", help_heading = "Limits")]
    pub threads: Option<usize>,
}

impl DetectionArgs {
    /// The analyser these options describe, and the YARA rule files refused on the way.
    fn analyzer(&self) -> anyhow::Result<(Analyzer, Vec<(String, String)>)> {
        let mut config = AnalysisConfig::default();
        if let Some(path) = &self.blocklist {
            config.blocklist = Blocklist::load(path)?;
            tracing::info!(entries = config.blocklist.len(), path = %path.display(), "blocklist loaded");
        }
        config.dicom.require_pseudonymised = self.require_pseudonymised;
        config.archive = ArchiveLimits {
            max_depth: self.max_archive_depth,
            max_total: self.max_archive_bytes,
            max_ratio: self.max_ratio,
            ..ArchiveLimits::default()
        };
        #[cfg(feature = "yara")]
        let refused = {
            let (rules, refused) = crate::yara::load(&self.yara_rules);
            let loaded = rules.files_loaded;
            tracing::info!(files = loaded, refused = refused.len(), "YARA rules loaded");
            config.yara = Some(std::sync::Arc::new(rules));
            refused.into_iter().map(|r| (r.file, r.reason)).collect()
        };
        #[cfg(not(feature = "yara"))]
        let refused = Vec::new();
        Ok((Analyzer::new(config), refused))
    }

    fn threads(&self) -> usize {
        self.threads.unwrap_or_else(default_threads).max(1)
    }
}

/// Runs a `safecare files` subcommand: verdict lines to stdout, events to `sink`.
///
/// Returns the run's counts; the caller prints them.
pub fn run(
    command: FilesCommand,
    site: &dyn AssetDirectory,
    sink: &mut dyn EventSink,
) -> anyhow::Result<FilesSummary> {
    match command {
        FilesCommand::Scan {
            paths,
            detection,
            quarantine,
        } => {
            let (analyzer, refused) = detection.analyzer()?;
            let options = ScanOptions {
                quarantine: quarantine.as_deref(),
                threads: detection.threads(),
                progress: std::io::stderr().is_terminal(),
            };
            let mut stdout = std::io::stdout().lock();
            let mut summary = scan_with(&paths, &analyzer, &options, site, sink, &mut stdout)?;
            summary.refused_rules = refused;
            Ok(summary)
        }
        FilesCommand::Watch {
            dir,
            detection,
            quarantine,
            existing,
            poll_ms,
            settle_ms,
        } => {
            let (analyzer, refused) = detection.analyzer()?;
            let options = WatchOptions {
                poll: Duration::from_millis(poll_ms.max(1)),
                settle: Duration::from_millis(settle_ms),
                existing,
                threads: detection.threads(),
                exclude: quarantine.iter().cloned().collect(),
            };
            if let Some(dir) = &quarantine {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!(
                        "cannot create the quarantine {}: check the path",
                        dir.display()
                    )
                })?;
            }
            let mut stdout = std::io::stdout().lock();
            let mut reporter = Reporter::new(&mut stdout, sink, site);
            reporter.quarantine = quarantine.as_deref();
            reporter.flush_each = true;

            // Ctrl-C and SIGTERM end the watch after the file at hand, so its summary
            // is printed and the events already emitted reach the broker.
            live::install_stop_handler();
            let mut summary = watch(
                &dir,
                &analyzer,
                &options,
                &mut reporter,
                &live::stop_requested,
            )?;
            summary.refused_rules = refused;
            Ok(summary)
        }
        FilesCommand::Extract {
            capture,
            detection,
            connector,
        } => {
            let (analyzer, refused) = detection.analyzer()?;
            let options = connector.options();
            let mut stdout = std::io::stdout().lock();
            let extract = crate::connector::extract;
            let mut summary = extract(&capture, &analyzer, &options, site, sink, &mut stdout)?;
            summary.refused_rules = refused;
            Ok(summary)
        }
    }
}

/// How `files scan` runs beyond what it checks.
#[derive(Debug, Clone)]
pub struct ScanOptions<'a> {
    /// Copy suspicious and malicious files here.
    pub quarantine: Option<&'a Path>,
    /// Files analysed at once.
    pub threads: usize,
    /// Show a progress bar on stderr for large scans (the caller checks it is a terminal).
    pub progress: bool,
}

/// Scans `paths`, writing verdict lines to `out`; the testable core of `files scan`.
///
/// Uses one thread per core and no progress bar; see [`scan_with`].
pub fn scan(
    paths: &[PathBuf],
    analyzer: &Analyzer,
    quarantine_dir: Option<&Path>,
    site: &dyn AssetDirectory,
    sink: &mut dyn EventSink,
    out: &mut dyn Write,
) -> anyhow::Result<FilesSummary> {
    let options = ScanOptions {
        quarantine: quarantine_dir,
        threads: default_threads(),
        progress: false,
    };
    scan_with(paths, analyzer, &options, site, sink, out)
}

/// Scans `paths` as `options` say, writing verdict lines to `out` in the files' order.
pub fn scan_with(
    paths: &[PathBuf],
    analyzer: &Analyzer,
    options: &ScanOptions<'_>,
    site: &dyn AssetDirectory,
    sink: &mut dyn EventSink,
    out: &mut dyn Write,
) -> anyhow::Result<FilesSummary> {
    let mut summary = FilesSummary::default();
    let listed = collect_sized_files(paths, &mut summary.unreadable);
    let bytes: u64 = listed.iter().map(|(_, size)| size).sum();
    let files: Vec<PathBuf> = listed.into_iter().map(|(path, _)| path).collect();
    tracing::info!(files = files.len(), bytes, "files scan started");

    let bar = progress_bar(options.progress, files.len(), bytes);
    let mut reporter = Reporter::new(out, sink, site);
    reporter.quarantine = options.quarantine;
    scan_files_on(
        analyzer,
        &files,
        options.threads,
        &mut summary,
        |path, verdict| {
            if let Some(bar) = &bar {
                bar.inc(verdict.size);
            }
            reporter.report(path, verdict)
        },
    )?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    summary.events = reporter.events;
    summary.quarantined = reporter.quarantined;
    Ok(summary)
}

/// Scans at least this large get a progress bar.
const PROGRESS_MIN_FILES: usize = 1000;
const PROGRESS_MIN_BYTES: u64 = 256 * 1024 * 1024;

/// A progress bar in bytes on stderr, for scans of many files or many bytes.
fn progress_bar(wanted: bool, files: usize, bytes: u64) -> Option<ProgressBar> {
    if !wanted || (files < PROGRESS_MIN_FILES && bytes < PROGRESS_MIN_BYTES) {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(format!("{files} files"));
    Some(bar)
}
