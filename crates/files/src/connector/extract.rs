//! `files extract`: objects taken from a capture, analysed, written out and reported.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use safecare_capture::engine::EngineConfig;
use safecare_capture::{CaptureReader, Engine};
use safecare_core::event::Endpoint;
use safecare_core::{AssetDirectory, EventSink, Module, SecurityEvent};
use serde::Serialize;
use serde_json::json;

use super::buffer::ConnectorLimits;
use super::flows::{Connection, Connector, ConnectorItem, ConnectorStats, describe};
use super::{ExtractedObject, Issue, IssueKind, ObjectDetails, Sender};
use crate::analyze::Analyzer;
use crate::events::{truncate, verdict_events};
use crate::hash;
use crate::scan::FilesSummary;
use crate::verdict::Verdict;

/// Where extracted objects go and how much the connector may hold.
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    /// Write each object here, named by its SHA-256 (DICOM: `.dcm` and `.dataset`).
    pub output: Option<PathBuf>,
    pub limits: ConnectorLimits,
}

/// The command-line options of `files extract` beyond what the analysis checks.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectorArgs {
    /// Write each extracted object here, named by its SHA-256 (DICOM: the Part 10 file
    /// as `.dcm` and the dataset as sent as `.dataset`; HTTP: the body as `.bin`).
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    output: Option<PathBuf>,
    /// Bytes of one object (DICOM dataset or HTTP body); larger ones are reported, not extracted.
    #[arg(
        long,
        default_value_t = 256 * 1024 * 1024,
        value_name = "BYTES",
        help_heading = "Limits"
    )]
    max_object_bytes: u64,
    /// Bytes held over all objects still being reassembled and the protocol
    /// readers' buffers; a connection that would go past it is no longer read.
    #[arg(
        long,
        default_value_t = 1024 * 1024 * 1024,
        value_name = "BYTES",
        help_heading = "Limits"
    )]
    max_open_bytes: u64,
}

impl ConnectorArgs {
    /// The extraction options these arguments describe.
    pub fn options(&self) -> ExtractOptions {
        ExtractOptions {
            output: self.output.clone(),
            limits: ConnectorLimits {
                max_object_bytes: self.max_object_bytes,
                max_open_bytes: self.max_open_bytes,
                ..ConnectorLimits::default()
            },
        }
    }
}

/// What reading one capture gave, besides the objects.
#[derive(Debug, Clone, Default)]
pub struct CaptureRun {
    pub packets: u64,
    pub stats: ConnectorStats,
    /// Records the reader could not read; reading stopped at an unrecoverable one.
    pub read_errors: Vec<String>,
}

/// Reads a capture through the engine and the connector, handing each object and issue
/// to `on_item` as soon as its connection yields it (so memory stays bounded).
pub fn extract_capture(
    path: &Path,
    limits: ConnectorLimits,
    on_item: &mut dyn FnMut(ConnectorItem) -> anyhow::Result<()>,
) -> anyhow::Result<CaptureRun> {
    let mut reader = CaptureReader::open(path)
        .with_context(|| format!("could not open the capture {}", path.display()))?;
    let mut engine = Engine::new(engine_config());
    let mut connector = Connector::new(limits);
    let mut run = CaptureRun::default();

    loop {
        match reader.next_packet() {
            Ok(Some(raw)) => engine.process(&raw, &mut connector),
            Ok(None) => break,
            Err(err) => {
                engine.count_read_error();
                run.read_errors.push(err.to_string());
            }
        }
        for item in connector.take_ready() {
            on_item(item)?;
        }
    }
    engine.finish(&mut connector);
    for item in connector.take_ready() {
        on_item(item)?;
    }

    run.packets = engine.stats().packets;
    run.stats = connector.stats();
    Ok(run)
}

/// Flows live as long as a transfer takes: no active timeout cuts a long C-STORE.
fn engine_config() -> EngineConfig {
    let mut config = EngineConfig::default();
    config.flows.active_timeout = std::time::Duration::from_secs(7 * 24 * 3600);
    config
}

/// Extracts, analyses and reports every object of a capture; the testable core of
/// `files extract`.
///
/// One verdict line per object goes to `out` (the `files scan` document with a
/// `network` member); events for bad objects and broken transfers go to `sink`.
/// Transfers that could not be extracted are listed as skipped in the summary.
pub fn extract(
    capture: &Path,
    analyzer: &Analyzer,
    options: &ExtractOptions,
    site: &dyn AssetDirectory,
    sink: &mut dyn EventSink,
    out: &mut dyn Write,
) -> anyhow::Result<FilesSummary> {
    if let Some(dir) = &options.output {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create the output folder {}", dir.display()))?;
    }
    let mut summary = FilesSummary::default();
    let mut events = 0u64;

    let run = extract_capture(capture, options.limits, &mut |item| {
        let produced = match item.found {
            super::Found::Object(object) => {
                let verdict = analyse(&item.connection, &object, analyzer, options, out)?;
                summary.count(&verdict);
                object_events(&verdict, &item.connection, &object, site)
            }
            super::Found::Issue(issue) => {
                let what = describe(&item.connection, issue.about.as_ref());
                summary.unreadable.push((what, issue.detail.clone()));
                vec![issue_event(&item.connection, &issue)]
            }
        };
        for event in produced {
            sink.emit(event).context("the event sink is gone")?;
            events += 1;
        }
        Ok(())
    })?;

    for error in &run.read_errors {
        summary
            .unreadable
            .push((capture.display().to_string(), error.clone()));
    }
    summary.events = events;
    tracing::info!(
        packets = run.packets,
        tcp = run.stats.tcp_connections,
        dicom = run.stats.dicom_connections,
        http = run.stats.http_connections,
        objects = run.stats.objects,
        issues = run.stats.issues,
        "files extract finished"
    );
    Ok(summary)
}

/// The verdict document of `files scan`, with where the object came from.
#[derive(Serialize)]
struct NetworkVerdict<'a> {
    #[serde(flatten)]
    verdict: &'a Verdict,
    network: NetworkContext<'a>,
}

/// The connection an object crossed and what its protocol said about it.
#[derive(Serialize)]
struct NetworkContext<'a> {
    client: Address,
    server: Address,
    sender: Sender,
    time: DateTime<Utc>,
    #[serde(flatten)]
    details: &'a ObjectDetails,
    /// The DICOM dataset exactly as sent (the analysed file wraps it).
    #[serde(skip_serializing_if = "Option::is_none")]
    dataset: Option<DatasetCopy>,
}

#[derive(Serialize)]
struct Address {
    ip: String,
    port: u16,
}

#[derive(Serialize)]
struct DatasetCopy {
    sha256: String,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
}

/// Analyses one object, writes it out when asked, and prints its verdict line.
fn analyse(
    connection: &Connection,
    object: &ExtractedObject,
    analyzer: &Analyzer,
    options: &ExtractOptions,
    out: &mut dyn Write,
) -> anyhow::Result<Verdict> {
    let mut verdict = analyzer.analyze_bytes(&label(connection, &object.details), &object.bytes);
    let is_dicom = matches!(object.details, ObjectDetails::Dicom(_));
    let mut dataset = is_dicom.then(|| DatasetCopy {
        sha256: hash::hashes(object.sent_bytes()).sha256,
        size: object.sent_bytes().len() as u64,
        path: None,
    });

    if let Some(dir) = &options.output {
        let extension = if is_dicom { "dcm" } else { "bin" };
        let path = dir.join(format!("{}.{extension}", verdict.hashes.sha256));
        write(&path, &object.bytes)?;
        verdict.path = path.display().to_string();
        if let Some(copy) = &mut dataset {
            let path = dir.join(format!("{}.dataset", verdict.hashes.sha256));
            write(&path, object.sent_bytes())?;
            copy.path = Some(path.display().to_string());
        }
    }

    let line = NetworkVerdict {
        verdict: &verdict,
        network: NetworkContext {
            client: address(connection.client),
            server: address(connection.server),
            sender: object.sender,
            time: connection.started.to_datetime(),
            details: &object.details,
            dataset,
        },
    };
    let json = serde_json::to_string(&line).context("could not serialise a verdict")?;
    writeln!(out, "{json}").context("could not write to stdout")?;
    Ok(verdict)
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| {
        format!(
            "could not write {}: check that the --output folder is writable and has room",
            path.display()
        )
    })
}

/// The name an object is reported under when it is not written to disk.
fn label(connection: &Connection, details: &ObjectDetails) -> String {
    match details {
        ObjectDetails::Dicom(info) => format!(
            "dicom://{}/{}",
            connection.server,
            info.sop_instance_uid
                .as_deref()
                .unwrap_or("unknown-instance")
        ),
        ObjectDetails::Http(info) => info
            .url
            .clone()
            .unwrap_or_else(|| format!("http://{}/", connection.server)),
    }
}

/// The events of a verdict, with the connection as source and destination.
fn object_events(
    verdict: &Verdict,
    connection: &Connection,
    object: &ExtractedObject,
    site: &dyn AssetDirectory,
) -> Vec<SecurityEvent> {
    let mut events = verdict_events(verdict, site);
    for event in &mut events {
        add_connection(event, connection, object.sender, site);
        event
            .evidence
            .insert("network".into(), json!(object.details));
        if let (ObjectDetails::Http(info), Some(file)) = (&object.details, &mut event.file) {
            file.mime_type = info.content_type.clone();
        }
    }
    events
}

/// The event for a transfer that could not be extracted whole.
fn issue_event(connection: &Connection, issue: &Issue) -> SecurityEvent {
    let severity = match issue.kind {
        IssueKind::Malformed => 50,
        IssueKind::OverLimit => 40,
        IssueKind::Truncated => 20,
    };
    let summary = format!(
        "{}: {}",
        describe(connection, issue.about.as_ref()),
        issue.detail
    );
    let mut event = SecurityEvent::new(
        Module::Files,
        issue.kind.event_kind(),
        severity,
        truncate(&summary),
    );
    event.evidence.insert("detail".into(), json!(issue.detail));
    event.evidence.insert("sender".into(), json!(issue.sender));
    if let Some(details) = &issue.about {
        event.evidence.insert("network".into(), json!(details));
    }
    event
}

/// Client as source, server as destination; the receiving host's asset when the site knows it.
fn add_connection(
    event: &mut SecurityEvent,
    connection: &Connection,
    sender: Sender,
    site: &dyn AssetDirectory,
) {
    event.time = connection.started.to_datetime();
    event.source = Some(endpoint(connection.client));
    event.destination = Some(endpoint(connection.server));
    let receiver = match sender {
        Sender::Client => connection.server,
        Sender::Server => connection.client,
    };
    if let Some(asset) = site.by_ip(receiver.ip()) {
        event.asset = Some(asset.id.clone());
        event.location = Some(asset.location.clone());
    }
}

fn endpoint(address: std::net::SocketAddr) -> Endpoint {
    Endpoint {
        ip: Some(address.ip().to_string()),
        port: Some(address.port()),
        ..Endpoint::default()
    }
}

fn address(address: std::net::SocketAddr) -> Address {
    Address {
        ip: address.ip().to_string(),
        port: address.port(),
    }
}
