//! SafeCare part `logs`: e-health device security analytics.
//!
//! Radiology workstations, modality consoles and device servers log logons,
//! services, antivirus and application-whitelisting decisions. This crate
//! reads those logs (Windows EVTX, syslog, JSON lines, CSV), evaluates the
//! community's Sigma rules over them, runs stateful per-device analytics
//! (brute force, off-hours logons, disabled antivirus, new USB storage, ...)
//! and reports each finding as a [`safecare_core::SecurityEvent`].
//!
//! Layout: [`intake`] parses formats into [`record::LogRecord`]s, [`sigma`]
//! loads and evaluates rules, [`analytics`] holds the device detections,
//! [`events`] turns findings into security events, [`scan`] ties them
//! together, [`follow`] and [`receiver`] take logs as they are written or
//! pushed, and [`cli`] is the command line mounted as `safecare logs`.

#![warn(missing_docs)]

pub mod analytics;
pub mod cli;
pub mod events;
pub mod follow;
pub mod intake;
pub mod receiver;
pub mod record;
pub mod scan;
pub mod sigma;

pub use cli::{LogsCommand, run};
pub use record::{LogRecord, Origin, RecordSource};
pub use scan::{Hit, LogsSummary, Scanner};
