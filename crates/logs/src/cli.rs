//! The `safecare logs` command line: scan files, follow files, receive syslog.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use safecare_core::{AssetDirectory, EventSink};

use crate::analytics::DeviceProfiles;
use crate::events::{detection_event, finding_event};
use crate::follow::FollowedFile;
use crate::intake::{Format, RecordError, syslog};
use crate::receiver::{ReceiverConfig, SyslogReceiver};
use crate::record::{LogRecord, Origin};
use crate::scan::{Hit, Scanner};
use crate::sigma::load_rules;

pub use crate::scan::LogsSummary;

/// How findings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One line per finding on stdout, for people; no events are emitted.
    Table,
    /// Security events to the event sink (JSON lines on stdout, or the bus).
    Jsonl,
}

/// Rules, profiles and output shared by every subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct DetectionOptions {
    /// Sigma rule files or folders (searched recursively for .yml/.yaml).
    #[arg(
        long = "rules",
        short = 'r',
        value_name = "PATH",
        help_heading = "Detection"
    )]
    pub rules: Vec<PathBuf>,
    /// pySigma-style processing pipeline (YAML), e.g. for `expand` placeholders.
    #[arg(long = "pipeline", value_name = "FILE", help_heading = "Detection")]
    pub pipelines: Vec<PathBuf>,
    /// Device profiles (YAML): working hours, auto-logon devices, thresholds.
    #[arg(long, value_name = "FILE", help_heading = "Detection")]
    pub profiles: Option<PathBuf>,
    /// Output: `jsonl` emits security events, `table` prints a line per finding.
    #[arg(long, value_enum, default_value = "jsonl", help_heading = "Output")]
    pub format: OutputFormat,
}

/// Security analytics over device logs: Sigma rules and device analytics.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum LogsCommand {
    /// Scan log files or folders of them (EVTX, syslog/auth.log, JSON lines, CSV) once.
    ///
    /// Examples:
    ///   safecare logs scan Security.evtx --rules sigma/rules/windows
    ///   safecare logs scan auth.log -r sigma/rules/linux --profiles devices.yaml --format table
    ///   safecare logs scan export.csv --input-format csv --rules my-rules/
    #[command(verbatim_doc_comment)]
    Scan {
        /// Log files, or folders scanned recursively.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Input format; detected from the extension and first bytes when omitted.
        #[arg(long, value_enum, help_heading = "Input")]
        input_format: Option<Format>,
        #[allow(missing_docs)]
        #[command(flatten)]
        detection: DetectionOptions,
    },
    /// Follow growing syslog or JSON-lines files, like `tail -f`.
    ///
    /// Examples:
    ///   safecare logs follow /var/log/auth.log --rules sigma/rules/linux
    ///   safecare logs follow /var/log/devices/*.jsonl --input-format json --from-start
    #[command(verbatim_doc_comment)]
    Follow {
        /// Files to follow.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// `syslog` (default) or `json` lines.
        #[arg(long, value_enum, default_value = "syslog", help_heading = "Input")]
        input_format: Format,
        /// Read the files from their start instead of only new lines.
        #[arg(long, help_heading = "Input")]
        from_start: bool,
        /// Poll interval in milliseconds.
        #[arg(long, default_value_t = 500, value_name = "MS", help_heading = "Input")]
        poll_ms: u64,
        /// Stop after this many seconds (default: run until interrupted).
        #[arg(long, value_name = "SECS", help_heading = "Input")]
        duration: Option<u64>,
        #[allow(missing_docs)]
        #[command(flatten)]
        detection: DetectionOptions,
    },
    /// Receive syslog (RFC 3164/5424) pushed by devices over UDP and/or TCP.
    ///
    /// Examples:
    ///   safecare logs receive --udp 5514 --tcp 5514 --rules sigma/rules/linux
    ///   safecare logs receive --bind 127.0.0.1 --udp 0 --duration 60
    #[command(verbatim_doc_comment)]
    Receive {
        /// Address to listen on.
        #[arg(long, default_value = "0.0.0.0", help_heading = "Network")]
        bind: IpAddr,
        /// UDP port (0 picks a free one).
        #[arg(long, value_name = "PORT", help_heading = "Network")]
        udp: Option<u16>,
        /// TCP port (0 picks a free one).
        #[arg(long, value_name = "PORT", help_heading = "Network")]
        tcp: Option<u16>,
        /// Stop after this many seconds (default: run until interrupted).
        #[arg(long, value_name = "SECS", help_heading = "Network")]
        duration: Option<u64>,
        /// Stop after this many messages.
        #[arg(long, value_name = "N", help_heading = "Network")]
        max_messages: Option<u64>,
        #[allow(missing_docs)]
        #[command(flatten)]
        detection: DetectionOptions,
    },
}

/// Runs a `safecare logs` subcommand, emitting findings to `sink`.
///
/// Returns the run's counts; the caller prints them. With `--format table`
/// the findings are printed to stdout and nothing is emitted.
pub fn run(
    command: LogsCommand,
    site: &dyn AssetDirectory,
    sink: &mut dyn EventSink,
) -> anyhow::Result<LogsSummary> {
    run_with_profiles(command, site, sink, DeviceProfiles::default())
}

/// Like [`run`], with the device profiles to use when `--profiles` is not given
/// (the lead passes those of the site model: [`DeviceProfiles::from_site`]).
pub fn run_with_profiles(
    command: LogsCommand,
    site: &dyn AssetDirectory,
    sink: &mut dyn EventSink,
    site_profiles: DeviceProfiles,
) -> anyhow::Result<LogsSummary> {
    let build_scanner = |detection: &DetectionOptions| build_scanner(detection, &site_profiles);
    match command {
        LogsCommand::Scan {
            paths,
            input_format,
            detection,
        } => {
            let mut scanner = build_scanner(&detection)?;
            let mut output = Output::new(detection.format, site, sink);
            for path in &expand_paths(&paths) {
                let result = scanner.scan_file(path, input_format, &mut |hit, record| {
                    output.write(hit, record)
                });
                if let Err(err) = result {
                    tracing::error!(%err, "log file not scanned");
                }
                output.check()?;
            }
            finish(scanner, output)
        }
        LogsCommand::Follow {
            files,
            input_format,
            from_start,
            poll_ms,
            duration,
            detection,
        } => {
            let mut scanner = build_scanner(&detection)?;
            let mut output = Output::new(detection.format, site, sink);
            let mut followed: Vec<FollowedFile> = files
                .into_iter()
                .map(|f| FollowedFile::new(f, input_format, !from_start))
                .collect();
            let deadline = duration.map(|s| Instant::now() + Duration::from_secs(s));
            loop {
                for file in &mut followed {
                    file.poll(&mut |record| handle(&mut scanner, &mut output, record))
                        .with_context(|| format!("could not read {}", file.path.display()))?;
                }
                output.check()?;
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(poll_ms));
            }
            finish(scanner, output)
        }
        LogsCommand::Receive {
            bind,
            udp,
            tcp,
            duration,
            max_messages,
            detection,
        } => {
            let mut scanner = build_scanner(&detection)?;
            let receiver = SyslogReceiver::start(&ReceiverConfig {
                bind,
                udp_port: udp,
                tcp_port: tcp,
            })?;
            let mut output = Output::new(detection.format, site, sink);
            let deadline = duration.map(|s| Instant::now() + Duration::from_secs(s));
            let mut count = 0u64;
            while deadline.is_none_or(|d| Instant::now() < d)
                && max_messages.is_none_or(|m| count < m)
            {
                let Some(message) = receiver.next(Duration::from_millis(200)) else {
                    continue;
                };
                count += 1;
                let origin = Origin {
                    source: message.peer,
                    record: count,
                };
                let record = syslog::parse_syslog_line(&message.bytes, origin, chrono::Utc::now());
                handle(&mut scanner, &mut output, record);
                output.check()?;
            }
            if receiver.dropped() > 0 {
                tracing::warn!(
                    dropped = receiver.dropped(),
                    "syslog messages dropped: scanner too slow"
                );
            }
            finish(scanner, output)
        }
    }
}

/// Files of the given paths, folders walked recursively (sorted, depth-limited).
fn expand_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(path: &std::path::Path, depth: usize, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(path) else {
            out.push(path.to_path_buf());
            return;
        };
        if depth >= 16 {
            tracing::warn!(path = %path.display(), "folder nested too deep, not scanned");
            return;
        }
        let mut children: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        children.sort();
        for child in children {
            if child.is_dir() {
                walk(&child, depth + 1, out);
            } else {
                out.push(child);
            }
        }
    }

    let mut files = Vec::new();
    for path in paths {
        walk(path, 0, &mut files);
    }
    files
}

fn build_scanner(
    options: &DetectionOptions,
    site_profiles: &DeviceProfiles,
) -> anyhow::Result<Scanner> {
    let mut pipelines = Vec::new();
    for path in &options.pipelines {
        let pipeline = rsigma_eval::parse_pipeline_file(path)
            .map_err(|err| anyhow::anyhow!("pipeline {} is invalid: {err}", path.display()))?;
        pipelines.push(pipeline);
    }
    let rules = load_rules(&options.rules, &pipelines);
    let profiles = match &options.profiles {
        Some(path) => DeviceProfiles::load(path)?,
        None => site_profiles.clone(),
    };
    Ok(Scanner::new(rules, profiles))
}

fn handle(scanner: &mut Scanner, output: &mut Output<'_>, record: Result<LogRecord, RecordError>) {
    match record {
        Ok(record) => {
            for hit in scanner.process(&record) {
                output.write(&hit, &record);
            }
        }
        Err(error) => scanner.record_error(&error),
    }
}

fn finish(mut scanner: Scanner, output: Output<'_>) -> anyhow::Result<LogsSummary> {
    output.check()?;
    let mut summary = scanner.take_summary();
    summary.events_emitted = output.emitted;
    Ok(summary)
}

/// Writes hits as a table or as events, remembering the first sink failure.
struct Output<'a> {
    format: OutputFormat,
    site: &'a dyn AssetDirectory,
    sink: &'a mut dyn EventSink,
    emitted: u64,
    failed: Option<std::io::Error>,
}

impl<'a> Output<'a> {
    fn new(
        format: OutputFormat,
        site: &'a dyn AssetDirectory,
        sink: &'a mut dyn EventSink,
    ) -> Self {
        Output {
            format,
            site,
            sink,
            emitted: 0,
            failed: None,
        }
    }

    fn write(&mut self, hit: &Hit, record: &LogRecord) {
        if self.failed.is_some() {
            return;
        }
        match self.format {
            OutputFormat::Table => print_row(hit, record),
            OutputFormat::Jsonl => {
                let event = match hit {
                    Hit::Sigma(detection) => detection_event(detection, record, self.site),
                    Hit::Analytic(finding) => finding_event(finding, record, self.site),
                };
                match self.sink.emit(event) {
                    Ok(()) => self.emitted += 1,
                    Err(err) => self.failed = Some(err),
                }
            }
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        match &self.failed {
            Some(err) => Err(anyhow::anyhow!("event sink failed, stopping: {err}")),
            None => Ok(()),
        }
    }
}

fn print_row(hit: &Hit, record: &LogRecord) {
    let time = record
        .time
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into());
    let host = record.host.as_deref().unwrap_or("-");
    let (level, what) = match hit {
        Hit::Sigma(d) => (
            d.level.clone().unwrap_or_else(|| "-".into()),
            d.title.clone(),
        ),
        Hit::Analytic(f) => (f.kind.to_string(), f.summary.clone()),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{time}  {host:<20} {level:<22} {what}  [{}]",
        record.origin
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: LogsCommand,
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_keeps_the_examples_on_their_own_lines() {
        let mut command = Cli::command();
        let scan = command.find_subcommand_mut("scan").unwrap();
        let help = scan.render_long_help().to_string();
        println!("{help}");
        assert!(
            help.contains("\n  safecare logs scan Security.evtx --rules sigma/rules/windows\n"),
            "{help}"
        );
    }

    #[test]
    fn scan_parses_paths_rules_and_format() {
        let cli = Cli::try_parse_from([
            "logs", "scan", "a.evtx", "b.log", "-r", "rules/", "--format", "table",
        ])
        .unwrap();
        let LogsCommand::Scan {
            paths,
            detection,
            input_format,
        } = cli.command
        else {
            panic!("not a scan");
        };
        assert_eq!(paths.len(), 2);
        assert_eq!(detection.rules, [PathBuf::from("rules/")]);
        assert_eq!(detection.format, OutputFormat::Table);
        assert_eq!(input_format, None);
    }

    #[test]
    fn receive_takes_ports() {
        let cli = Cli::try_parse_from(["logs", "receive", "--udp", "5514", "--tcp", "0"]).unwrap();
        assert!(matches!(
            cli.command,
            LogsCommand::Receive {
                udp: Some(5514),
                tcp: Some(0),
                ..
            }
        ));
    }
}
