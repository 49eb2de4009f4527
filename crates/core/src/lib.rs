//! The SafeCare data model, shared by every part of the platform.
//!
//! This crate depends on nothing else of the project. It defines what a
//! detector reports ([`SecurityEvent`]), what an operator handles ([`Alert`]),
//! what people confirm and follow ([`Incident`]), the audit trail of every
//! change ([`AuditRecord`]) and the JSON Schemas of all three documents.

pub mod alert;
pub mod audit;
pub mod directory;
pub mod event;
pub mod incident;
pub mod markup;
pub mod scenario;
pub mod schema;
pub mod sink;
pub mod site;
pub mod validate;

pub use alert::{Alert, AlertDomain, AlertStatus, CapSeverity};
pub use audit::AuditRecord;
pub use directory::{AssetDirectory, AssetInfo, EmptyDirectory};
pub use event::{Domain, Location, Module, SecurityEvent};
pub use incident::{Incident, IncidentState, IncidentType, Note, TimelineEntry};
pub use sink::EventSink;
pub use validate::{FieldError, MAX_MESSAGE_BYTES, ParseError};
