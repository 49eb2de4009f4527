//! Log intake: files and streams in, [`LogRecord`]s out.
//!
//! Each format has its own module with a pure parser; this module picks the
//! format of a file and reads it record by record. A record that does not
//! parse becomes a [`RecordError`] naming the file and record, and reading
//! goes on with the next one.

pub mod csv;
pub mod evtx;
pub mod json;
pub mod lines;
pub mod syslog;
pub mod windows;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::record::{LogRecord, Origin};

/// The longest text line or JSON record accepted: 1 MiB.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// A log file format the intake reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Windows XML event log (binary `.evtx`).
    Evtx,
    /// JSON lines, or a stream of JSON documents (such as `evtx_dump -o json`).
    Json,
    /// Syslog: RFC 3164, RFC 5424 and Linux `auth.log` lines.
    Syslog,
    /// CSV with a header row naming the fields.
    Csv,
}

/// A file that could not be read at all.
#[derive(Debug, Error)]
#[allow(missing_docs)] // fields: the file and the cause
pub enum IntakeError {
    #[error("could not open {path}: {source}")]
    /// The file could not be opened.
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not read {path}: {source}")]
    /// Reading the file failed part-way.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a readable EVTX file ({reason}); check the file or pass --format")]
    /// The file has no valid EVTX header.
    Evtx { path: PathBuf, reason: String },
}

/// One record that could not be parsed; the records around it still are.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{origin}: {reason}")]
pub struct RecordError {
    /// The file and record.
    pub origin: Origin,
    /// What is wrong with it.
    pub reason: String,
}

impl RecordError {
    /// An error for the given record.
    pub fn new(origin: Origin, reason: impl Into<String>) -> Self {
        RecordError {
            origin,
            reason: reason.into(),
        }
    }
}

/// What a reader hands over for each record: the record, or why it failed.
pub type RecordResult = Result<LogRecord, RecordError>;

/// Guesses a file's format from its extension, then from its first bytes.
pub fn detect_format(path: &Path) -> Result<Format, IntakeError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match extension.as_str() {
        "evtx" => return Ok(Format::Evtx),
        "json" | "jsonl" | "ndjson" => return Ok(Format::Json),
        "csv" => return Ok(Format::Csv),
        _ => {}
    }

    let mut head = [0u8; 8];
    let file = File::open(path).map_err(|source| IntakeError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let read = file
        .take(8)
        .read(&mut head)
        .map_err(|source| IntakeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    let head = head.get(..read).unwrap_or_default();
    let format = if head.starts_with(b"ElfFile\0") {
        Format::Evtx
    } else if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        Format::Json
    } else {
        Format::Syslog
    };
    Ok(format)
}

/// Reads every record of a file, handing each (or its error) to `visit`.
///
/// An error is returned only when the file cannot be read at all; broken
/// records go to `visit` as [`RecordError`]s and reading continues.
pub fn read_file(
    path: &Path,
    format: Format,
    visit: &mut dyn FnMut(RecordResult),
) -> Result<(), IntakeError> {
    let name = path.display().to_string();
    if format == Format::Evtx {
        return evtx::read_evtx_file(path, visit);
    }

    let file = File::open(path).map_err(|source| IntakeError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = BufReader::new(file);
    let result = match format {
        Format::Json => json::read_json(reader, &name, visit),
        Format::Syslog => syslog::read_syslog(reader, &name, visit),
        Format::Csv => csv::read_csv(reader, &name, visit),
        Format::Evtx => Ok(()),
    };
    result.map_err(|source| IntakeError::Read {
        path: path.to_path_buf(),
        source,
    })
}
