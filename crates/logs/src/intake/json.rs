//! JSON lines, and streams of whole JSON documents.
//!
//! A Windows event rendered by evtx (`{"Event": ...}`) is flattened like an
//! EVTX record; any other object is taken as it is, with `product`,
//! `service` and `category` members (when present) as its Sigma log source.

use std::io::{BufRead, Read};

use serde_json::Value;

use super::lines::{Line, read_bounded_line};
use super::{MAX_LINE_BYTES, RecordError, RecordResult, windows};
use crate::record::{LogRecord, Origin, RecordSource};

/// The largest multi-line JSON file read whole: 64 MiB.
pub const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Reads JSON lines, or (when the first line is a lone `{` or `[`) a stream of documents.
pub fn read_json(
    mut reader: impl BufRead,
    name: &str,
    visit: &mut dyn FnMut(RecordResult),
) -> std::io::Result<()> {
    let multi_line = {
        let head = reader.fill_buf()?;
        let first_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
        matches!(first_line.trim_ascii(), b"{" | b"[")
    };
    if multi_line {
        return read_documents(reader, name, visit);
    }

    let mut number = 0u64;
    while let Some(line) = read_bounded_line(&mut reader, MAX_LINE_BYTES)? {
        number += 1;
        let origin = Origin {
            source: name.to_string(),
            record: number,
        };
        match line {
            Line::TooLong { length } => visit(Err(too_long(origin, length))),
            Line::Text(text) if text.trim_ascii().is_empty() => {}
            Line::Text(text) => visit(parse_record(&text, origin)),
        }
    }
    Ok(())
}

/// Parses one JSON text into a record.
pub fn parse_record(text: &[u8], origin: Origin) -> RecordResult {
    match serde_json::from_slice::<Value>(text) {
        Ok(value) => record_from_json(value, origin),
        Err(err) => Err(RecordError::new(origin, format!("not valid JSON: {err}"))),
    }
}

/// Reads a file of whole documents: objects one after another, or one array of them.
fn read_documents(
    reader: impl BufRead,
    name: &str,
    visit: &mut dyn FnMut(RecordResult),
) -> std::io::Result<()> {
    let mut text = Vec::new();
    reader.take(MAX_DOCUMENT_BYTES + 1).read_to_end(&mut text)?;
    if text.len() as u64 > MAX_DOCUMENT_BYTES {
        let origin = Origin {
            source: name.to_string(),
            record: 1,
        };
        let reason =
            format!("multi-line JSON over {MAX_DOCUMENT_BYTES} bytes; convert it to JSON lines");
        visit(Err(RecordError::new(origin, reason)));
        return Ok(());
    }

    let documents = serde_json::Deserializer::from_slice(&text).into_iter::<Value>();
    for (index, item) in documents.enumerate() {
        let origin = Origin {
            source: name.to_string(),
            record: index as u64 + 1,
        };
        match item {
            Ok(Value::Array(items)) => {
                for item in items {
                    visit(record_from_json(item, origin.clone()));
                }
            }
            Ok(value) => visit(record_from_json(value, origin)),
            Err(err) => {
                let reason = format!("not valid JSON, rest of file skipped: {err}");
                visit(Err(RecordError::new(origin, reason)));
                break;
            }
        }
    }
    Ok(())
}

/// Turns one JSON value into a record.
pub fn record_from_json(value: Value, origin: Origin) -> RecordResult {
    if value.get("Event").is_some_and(Value::is_object) {
        return windows::record_from_event_json(&value, origin.clone())
            .ok_or_else(|| RecordError::new(origin, "Event object has no System element"));
    }
    let Value::Object(fields) = value else {
        return Err(RecordError::new(origin, "JSON record is not an object"));
    };

    let mut record = LogRecord::new(fields, origin);
    record.time = first_text(&record, &["@timestamp", "timestamp", "time", "UtcTime"])
        .and_then(|t| windows::parse_system_time(&t));
    record.host = first_text(&record, &["host.name", "hostname", "host", "Computer"]);
    record.source = source_of(&record);
    Ok(record)
}

/// The Sigma log source named by a generic record's own members.
pub(crate) fn source_of(record: &LogRecord) -> RecordSource {
    if record.str("Channel").is_some() {
        return windows::windows_source(
            record.str("Channel").unwrap_or_default(),
            record.event_id(),
            record.str("Provider_Name").unwrap_or_default(),
        );
    }
    RecordSource {
        product: record.str("product").map(str::to_string),
        services: record
            .str("service")
            .map(str::to_string)
            .into_iter()
            .collect(),
        categories: record
            .str("category")
            .map(str::to_string)
            .into_iter()
            .collect(),
    }
}

fn first_text(record: &LogRecord, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| {
        record.text(name).or_else(|| {
            let (outer, inner) = name.split_once('.')?;
            record
                .fields
                .get(outer)?
                .get(inner)?
                .as_str()
                .map(str::to_string)
        })
    })
}

pub(crate) fn too_long(origin: Origin, length: usize) -> RecordError {
    RecordError::new(
        origin,
        format!("line of {length} bytes is over the {MAX_LINE_BYTES}-byte limit, skipped"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<RecordResult> {
        let mut out = Vec::new();
        read_json(text.as_bytes(), "t.json", &mut |r| out.push(r)).unwrap();
        out
    }

    #[test]
    fn json_lines_keep_going_after_a_bad_line() {
        let out = read("{\"a\":1}\nnot json\n\n{\"product\":\"linux\",\"b\":2}\n");

        assert_eq!(out.len(), 3);
        assert!(out[0].is_ok());
        let err = out[1].as_ref().unwrap_err();
        assert_eq!(err.origin.record, 2);
        assert!(err.reason.contains("not valid JSON"));
        assert_eq!(
            out[2].as_ref().unwrap().source.product.as_deref(),
            Some("linux")
        );
    }

    #[test]
    fn pretty_documents_are_read_one_after_another() {
        let out = read("{\n \"a\": 1\n}\n{\n \"a\": 2\n}\n");
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].as_ref().unwrap().int("a"), Some(2));
    }

    #[test]
    fn a_scalar_is_not_a_record() {
        let out = read("42\n");
        assert!(
            out[0]
                .as_ref()
                .unwrap_err()
                .reason
                .contains("not an object")
        );
    }
}
