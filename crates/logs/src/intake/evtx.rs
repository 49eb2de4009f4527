//! Windows EVTX files through the `evtx` crate.
//!
//! A damaged chunk or record is reported with the file and the position of
//! the record in the file, and the parser moves on to the next record.

use std::path::Path;

use evtx::{EvtxParser, ParserSettings};

use super::{IntakeError, RecordError, RecordResult, windows};
use crate::record::Origin;

/// Reads an EVTX file record by record.
pub fn read_evtx_file(path: &Path, visit: &mut dyn FnMut(RecordResult)) -> Result<(), IntakeError> {
    let parser = EvtxParser::from_path(path).map_err(|err| IntakeError::Evtx {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })?;
    read_records(parser, &path.display().to_string(), visit);
    Ok(())
}

/// Reads EVTX records from bytes in memory (tests and fuzzing).
pub fn read_evtx_bytes(
    bytes: Vec<u8>,
    name: &str,
    visit: &mut dyn FnMut(RecordResult),
) -> Result<(), IntakeError> {
    let parser = EvtxParser::from_buffer(bytes).map_err(|err| IntakeError::Evtx {
        path: name.into(),
        reason: err.to_string(),
    })?;
    read_records(parser, name, visit);
    Ok(())
}

fn read_records<T: std::io::Read + std::io::Seek>(
    parser: EvtxParser<T>,
    name: &str,
    visit: &mut dyn FnMut(RecordResult),
) {
    let settings = ParserSettings::new().num_threads(1);
    let mut parser = parser.with_configuration(settings);
    let mut last_id = 0u64;
    let mut position = 0u64;

    for item in parser.records_json_value() {
        position += 1;
        match item {
            Ok(record) => {
                last_id = record.event_record_id;
                let origin = Origin {
                    source: name.to_string(),
                    record: record.event_record_id,
                };
                let parsed = windows::record_from_event_json(&record.data, origin.clone())
                    .ok_or_else(|| RecordError::new(origin, "record has no Event/System element"));
                visit(parsed);
            }
            Err(err) => {
                let origin = Origin {
                    source: name.to_string(),
                    record: position,
                };
                let reason = format!(
                    "damaged EVTX record (entry {position}, after record id {last_id}): {err}"
                );
                visit(Err(RecordError::new(origin, reason)));
            }
        }
    }
}
