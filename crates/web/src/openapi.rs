//! The OpenAPI 3.1 document served at `/api/openapi.json`.
//!
//! Schemas of the documents come from the data model itself (JSON Schema
//! 2020-12, which OpenAPI 3.1 takes as it is), so they cannot drift.

use serde_json::{Map, Value, json};

/// One operation of the API: method, path, summary, query parameters, body fields.
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub query: &'static [&'static str],
    pub body: &'static [&'static str],
    pub returns: &'static str,
}

const LIST_EVENTS: &[&str] = &[
    "from",
    "to",
    "module",
    "kind",
    "asset",
    "zone",
    "min_severity",
    "limit",
    "cursor",
];
const LIST_ALERTS: &[&str] = &[
    "status",
    "min_severity",
    "domain",
    "asset",
    "zone",
    "from",
    "to",
    "limit",
    "cursor",
];
const LIST_INCIDENTS: &[&str] = &["state", "type", "owner", "limit", "cursor"];

/// Every operation the API serves; the router and this list are checked against each other.
pub const OPERATIONS: &[Operation] = &[
    op(
        "get",
        "/api/openapi.json",
        "This document",
        &[],
        &[],
        "object",
    ),
    op(
        "get",
        "/api/schema/{document}",
        "JSON Schema of event, alert or incident",
        &[],
        &[],
        "object",
    ),
    op(
        "get",
        "/api/health",
        "Platform and module health, store counts",
        &[],
        &[],
        "object",
    ),
    op(
        "get",
        "/api/events",
        "List events, newest first",
        LIST_EVENTS,
        &[],
        "EventPage",
    ),
    op(
        "get",
        "/api/events/{id}",
        "One event",
        &[],
        &[],
        "SecurityEvent",
    ),
    op(
        "get",
        "/api/alerts",
        "List alerts, newest first",
        LIST_ALERTS,
        &[],
        "AlertPage",
    ),
    op("get", "/api/alerts/{id}", "One alert", &[], &[], "Alert"),
    op(
        "get",
        "/api/alerts/{id}/audit",
        "Audit trail of an alert",
        &[],
        &[],
        "array",
    ),
    op(
        "post",
        "/api/alerts/{id}/acknowledge",
        "Acknowledge an alert",
        &[],
        &["actor"],
        "Changed",
    ),
    op(
        "post",
        "/api/alerts/{id}/confirm",
        "Confirm an alert into a new or existing incident",
        &[],
        &["actor", "incident?", "type?", "title?"],
        "Changed",
    ),
    op(
        "post",
        "/api/alerts/{id}/dismiss",
        "Dismiss an alert as false",
        &[],
        &["actor", "reason"],
        "Changed",
    ),
    op(
        "get",
        "/api/incidents",
        "List incidents, newest first",
        LIST_INCIDENTS,
        &[],
        "IncidentPage",
    ),
    op(
        "post",
        "/api/incidents",
        "Create an incident from one or more alerts",
        &[],
        &["actor", "alerts", "type?", "title?"],
        "Changed",
    ),
    op(
        "get",
        "/api/incidents/{id}",
        "One incident",
        &[],
        &[],
        "Incident",
    ),
    op(
        "get",
        "/api/incidents/{id}/audit",
        "Audit trail of an incident",
        &[],
        &[],
        "array",
    ),
    op(
        "post",
        "/api/incidents/{id}/merge",
        "Merge incidents into this one",
        &[],
        &["actor", "from"],
        "Changed",
    ),
    op(
        "post",
        "/api/incidents/{id}/state",
        "Move an incident forward",
        &[],
        &["actor", "state"],
        "Changed",
    ),
    op(
        "post",
        "/api/incidents/{id}/owner",
        "Assign an owner",
        &[],
        &["actor", "owner"],
        "Changed",
    ),
    op(
        "post",
        "/api/incidents/{id}/notes",
        "Add a note",
        &[],
        &["actor", "text"],
        "Changed",
    ),
    op(
        "get",
        "/api/dead-letters",
        "Refused messages with their reason",
        &["limit"],
        &[],
        "array",
    ),
    op(
        "get",
        "/api/stream",
        "Server-sent events: `alert` and `incident` changes",
        &[],
        &[],
        "stream",
    ),
    op(
        "post",
        "/api/files",
        "Analyse the body as one file (at most 64 MiB, else 413): its verdict document; \
         a suspicious or malicious verdict's events are published",
        &["name"],
        &[FILE_BODY],
        "object",
    ),
    op(
        "get",
        "/api/incidents/{id}/impact",
        "What an incident takes away: impacted assets with score, explaining path and time \
         to impact; services with their capacity left; recommended actions",
        &[],
        &[],
        "object",
    ),
    op(
        "get",
        "/api/availability",
        "Hospital availability now: services, beds by EDXL-HAVE type, staffing",
        &[],
        &[],
        "object",
    ),
    op(
        "get",
        "/api/availability/have",
        "Hospital availability as an EDXL-HAVE 1.0 document",
        &[],
        &[],
        "xml",
    ),
    op(
        "get",
        "/api/zones",
        "Live state of every zone: doors, sensors, cameras, open alerts",
        &[],
        &[],
        "object",
    ),
    op(
        "get",
        "/api/zones/{id}",
        "Live state of one zone",
        &[],
        &[],
        "object",
    ),
    op(
        "get",
        "/api/floors/{id}/plan.svg",
        "Floor plan with the live state of its zones",
        &[],
        &[],
        "svg",
    ),
    op(
        "post",
        "/api/webhooks/access",
        "An access-control system's message (one or a JSON array, the format of the \
         access adapter): the events it means, and the message published for the \
         physical rules",
        &[],
        &[JSON_BODY],
        "object",
    ),
    op("get", "/metrics", "Prometheus metrics", &[], &[], "text"),
];

/// The body field of an operation whose body is a file's raw bytes.
const FILE_BODY: &str = "@file";

/// The body field of an operation whose body is a JSON document of another
/// system's format (described in its adapter's documentation).
const JSON_BODY: &str = "@json";

const fn op(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    query: &'static [&'static str],
    body: &'static [&'static str],
    returns: &'static str,
) -> Operation {
    Operation {
        method,
        path,
        summary,
        query,
        body,
        returns,
    }
}

/// The whole OpenAPI document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for operation in OPERATIONS {
        let entry = paths.entry(operation.path).or_insert_with(|| json!({}));
        entry[operation.method] = describe(operation);
    }

    let mut schemas = Map::new();
    for (name, document) in [
        ("SecurityEvent", "event"),
        ("Alert", "alert"),
        ("Incident", "incident"),
    ] {
        if let Some(schema) = safecare_core::schema::schema_of(document) {
            schemas.insert(name.into(), schema);
        }
    }
    for (page, item) in [
        ("EventPage", "SecurityEvent"),
        ("AlertPage", "Alert"),
        ("IncidentPage", "Incident"),
    ] {
        schemas.insert(page.into(), page_schema(item));
    }
    schemas.insert(
        "Changed".into(),
        json!({ "type": "object", "properties": {
            "alerts": { "type": "array", "items": { "$ref": "#/components/schemas/Alert" } },
            "incidents": { "type": "array", "items": { "$ref": "#/components/schemas/Incident" } }
        }}),
    );
    schemas.insert(
        "Error".into(),
        json!({ "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } }),
    );

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "SafeCare API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Events, alerts and incidents of the SafeCare hospital security platform."
        },
        "paths": paths,
        "components": { "schemas": schemas }
    })
}

fn describe(operation: &Operation) -> Value {
    let mut parameters: Vec<Value> = operation
        .query
        .iter()
        .map(|name| json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" } }))
        .collect();
    for segment in operation.path.split('/') {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            parameters.push(json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }));
        }
    }

    let mut value = json!({
        "summary": operation.summary,
        "parameters": parameters,
        "responses": {
            "200": { "description": "OK", "content": response_content(operation.returns) },
            "400": error_response("The request is wrong; the message says which field"),
            "404": error_response("No such document"),
        }
    });
    if operation.body == [FILE_BODY] {
        value["requestBody"] = json!({ "required": true, "content": {
            "application/octet-stream": { "schema": { "type": "string", "format": "binary" } }
        }});
        value["responses"]["413"] = error_response("The file is larger than the upload limit");
    } else if operation.body == [JSON_BODY] {
        value["requestBody"] = json!({ "required": true, "content": {
            "application/json": { "schema": {} }
        }});
    } else if !operation.body.is_empty() {
        value["requestBody"] = request_body(operation.body);
        value["responses"]["409"] = error_response("The workflow does not allow this change now");
    }
    value
}

fn response_content(returns: &str) -> Value {
    match returns {
        "text" => json!({ "text/plain": { "schema": { "type": "string" } } }),
        "xml" => json!({ "application/xml": { "schema": { "type": "string" } } }),
        "svg" => json!({ "image/svg+xml": { "schema": { "type": "string" } } }),
        "stream" => json!({ "text/event-stream": { "schema": { "type": "string" } } }),
        "object" | "array" => json!({ "application/json": { "schema": { "type": returns } } }),
        schema => json!({ "application/json": {
            "schema": { "$ref": format!("#/components/schemas/{schema}") }
        }}),
    }
}

fn request_body(fields: &[&str]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in fields {
        let (name, optional) = match field.strip_suffix('?') {
            Some(name) => (name, true),
            None => (*field, false),
        };
        let schema = match name {
            "alerts" | "from" => json!({ "type": "array", "items": { "type": "string" } }),
            _ => json!({ "type": "string" }),
        };
        properties.insert(name.into(), schema);
        if !optional {
            required.push(name);
        }
    }
    json!({ "required": true, "content": { "application/json": { "schema": {
        "type": "object", "properties": properties, "required": required
    }}}})
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": {
        "schema": { "$ref": "#/components/schemas/Error" }
    }}})
}

fn page_schema(item: &str) -> Value {
    json!({ "type": "object", "required": ["items"], "properties": {
        "items": { "type": "array", "items": { "$ref": format!("#/components/schemas/{item}") } },
        "next_cursor": { "type": ["string", "null"] }
    }})
}
