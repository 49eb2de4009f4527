//! CSV with a header row: each column header is a field name.

use std::io::Read;

use serde_json::{Map, Value};

use super::{MAX_LINE_BYTES, RecordError, RecordResult, json};
use crate::record::Origin;

/// Most columns accepted in one file.
const MAX_COLUMNS: usize = 1024;

/// Reads CSV rows as records; a malformed row is reported and skipped.
pub fn read_csv(
    reader: impl Read,
    name: &str,
    visit: &mut dyn FnMut(RecordResult),
) -> std::io::Result<()> {
    let mut csv = ::csv::ReaderBuilder::new()
        .flexible(true)
        .buffer_capacity(64 * 1024)
        .from_reader(reader);

    let headers = match csv.headers() {
        Ok(headers) => headers.clone(),
        Err(err) => {
            let origin = Origin {
                source: name.to_string(),
                record: 1,
            };
            visit(Err(RecordError::new(
                origin,
                format!("unreadable CSV header: {err}"),
            )));
            return Ok(());
        }
    };
    let headers: Vec<String> = headers
        .iter()
        .take(MAX_COLUMNS)
        .map(str::to_string)
        .collect();

    let mut row = ::csv::StringRecord::new();
    let mut number = 1u64;
    loop {
        number += 1;
        let origin = Origin {
            source: name.to_string(),
            record: number,
        };
        match csv.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => visit(row_to_record(&headers, &row, origin)),
            Err(err) if err.is_io_error() => {
                visit(Err(RecordError::new(origin, format!("read failed: {err}"))));
                break;
            }
            Err(err) => visit(Err(RecordError::new(
                origin,
                format!("malformed CSV row: {err}"),
            ))),
        }
    }
    Ok(())
}

fn row_to_record(headers: &[String], row: &::csv::StringRecord, origin: Origin) -> RecordResult {
    if row.as_slice().len() > MAX_LINE_BYTES {
        return Err(RecordError::new(
            origin,
            "CSV row over the 1 MiB limit, skipped",
        ));
    }
    let mut fields = Map::new();
    for (name, value) in headers.iter().zip(row.iter()) {
        if !value.is_empty() {
            fields.insert(name.clone(), typed(value));
        }
    }
    json::record_from_json(Value::Object(fields), origin)
}

/// Whole numbers become numbers (so `EventID: 4624` matches); all else stays text.
fn typed(value: &str) -> Value {
    match value.parse::<i64>() {
        Ok(n) if !value.starts_with('0') || value == "0" => Value::from(n),
        _ => Value::from(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_records_with_their_header_names() {
        let text = "EventID,Channel,TargetUserName\n4625,Security,admin\n\"unterminated,x\n";
        let mut out = Vec::new();
        read_csv(text.as_bytes(), "t.csv", &mut |r| out.push(r)).unwrap();

        let first = out[0].as_ref().unwrap();
        assert_eq!(first.event_id(), Some(4625));
        assert_eq!(first.str("TargetUserName"), Some("admin"));
        assert_eq!(first.source.services, ["security"]);
        assert_eq!(first.origin.record, 2);
    }
}
