//! The `safecare files` command line.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use safecare_core::{AssetDirectory, EventSink};

use crate::analyze::{AnalysisConfig, Analyzer};
use crate::archive::ArchiveLimits;
use crate::events::{quarantined_event, verdict_events};
use crate::hash::Blocklist;
use crate::scan::{collect_files, quarantine, scan_files};
use crate::verdict::VerdictLevel;

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
        /// Known-bad SHA-256 digests, one per line (`#` comments, `sha256sum` output accepted).
        #[arg(long, value_name = "FILE", help_heading = "Detection")]
        blocklist: Option<PathBuf>,
        /// Report patient-identifying DICOM elements as suspicious (the site pseudonymises).
        #[arg(long, help_heading = "Detection")]
        require_pseudonymised: bool,
        /// YARA rule files or folders (.yar/.yara), added to the built-in rules.
        #[cfg(feature = "yara")]
        #[arg(long = "yara", value_name = "PATH", help_heading = "Detection")]
        yara_rules: Vec<PathBuf>,
        /// Copy suspicious and malicious files here, each with its verdict JSON beside it.
        #[arg(long, value_name = "DIR", help_heading = "Output")]
        quarantine: Option<PathBuf>,
        /// Nested archives deeper than this are a finding.
        #[arg(long, default_value_t = 4, value_name = "N", help_heading = "Limits")]
        max_archive_depth: usize,
        /// Total bytes an archive may expand to.
        #[arg(long, default_value_t = 512 * 1024 * 1024, value_name = "BYTES", help_heading = "Limits")]
        max_archive_bytes: u64,
        /// Expansion ratio of one archive member above which it is a bomb.
        #[arg(
            long,
            default_value_t = 200,
            value_name = "RATIO",
            help_heading = "Limits"
        )]
        max_ratio: u64,
    },
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
            blocklist,
            require_pseudonymised,
            quarantine: quarantine_dir,
            max_archive_depth,
            max_archive_bytes,
            max_ratio,
            #[cfg(feature = "yara")]
            yara_rules,
        } => {
            let mut config = AnalysisConfig::default();
            if let Some(path) = &blocklist {
                config.blocklist = Blocklist::load(path)?;
                tracing::info!(entries = config.blocklist.len(), path = %path.display(), "blocklist loaded");
            }
            config.dicom.require_pseudonymised = require_pseudonymised;
            config.archive = ArchiveLimits {
                max_depth: max_archive_depth,
                max_total: max_archive_bytes,
                max_ratio,
                ..ArchiveLimits::default()
            };
            #[cfg(feature = "yara")]
            let refused = {
                let (rules, refused) = crate::yara::load(&yara_rules);
                let loaded = rules.files_loaded;
                tracing::info!(files = loaded, refused = refused.len(), "YARA rules loaded");
                config.yara = Some(std::sync::Arc::new(rules));
                refused
            };

            let analyzer = Analyzer::new(config);
            let mut stdout = std::io::stdout().lock();
            let quarantine_dir = quarantine_dir.as_deref();
            #[allow(unused_mut)]
            let mut summary = scan(&paths, &analyzer, quarantine_dir, site, sink, &mut stdout)?;

            #[cfg(feature = "yara")]
            {
                summary.refused_rules = refused.into_iter().map(|r| (r.file, r.reason)).collect();
            }
            Ok(summary)
        }
    }
}

/// Scans `paths`, writing verdict lines to `out`; the testable core of `files scan`.
pub fn scan(
    paths: &[PathBuf],
    analyzer: &Analyzer,
    quarantine_dir: Option<&std::path::Path>,
    site: &dyn AssetDirectory,
    sink: &mut dyn EventSink,
    out: &mut dyn Write,
) -> anyhow::Result<FilesSummary> {
    let mut summary = FilesSummary::default();
    let files = collect_files(paths, &mut summary.unreadable);
    tracing::info!(files = files.len(), "files scan started");

    let mut events = 0u64;
    let mut quarantined = 0u64;
    scan_files(analyzer, &files, &mut summary, |path, verdict| {
        writeln!(out, "{}", verdict.to_json_line()).context("could not write to stdout")?;
        for event in verdict_events(verdict, site) {
            sink.emit(event).context("the event sink is gone")?;
            events += 1;
        }
        if let (Some(dir), true) = (quarantine_dir, verdict.verdict != VerdictLevel::Clean) {
            let copy = quarantine(path, verdict, dir)?;
            sink.emit(quarantined_event(verdict, &copy))
                .context("the event sink is gone")?;
            quarantined += 1;
            events += 1;
        }
        Ok(())
    })?;

    summary.events = events;
    summary.quarantined = quarantined;
    Ok(summary)
}
