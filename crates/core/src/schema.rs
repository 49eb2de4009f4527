//! JSON Schemas of the documents on the bus, for `safecare schema`.

use schemars::schema_for;
use serde_json::Value;

use crate::{Alert, Incident, SecurityEvent};

/// The documents that have a published schema.
pub const DOCUMENTS: [&str; 3] = ["event", "alert", "incident"];

/// The JSON Schema of one document, by name; `None` for an unknown name.
pub fn schema_of(document: &str) -> Option<Value> {
    let schema = match document {
        "event" => schema_for!(SecurityEvent),
        "alert" => schema_for!(Alert),
        "incident" => schema_for!(Incident),
        _ => return None,
    };
    serde_json::to_value(schema).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_document_has_a_schema_naming_its_required_fields() {
        for document in DOCUMENTS {
            let schema = schema_of(document).unwrap();
            let required = schema["required"].as_array().unwrap();
            assert!(required.iter().any(|f| f == "id"), "{document}: {schema}");
        }
        let event = schema_of("event").unwrap();
        assert!(event["properties"]["severity"].is_object());
        assert!(schema_of("bogus").is_none());
    }
}
