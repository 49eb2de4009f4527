//! SafeCare's IT network sensor (`safecare net`).
//!
//! Packets come from a capture file or a live interface through
//! [`safecare_capture`]; the [`sensor::NetSensor`] hands them, their flows and the
//! first bytes of their TCP streams to the [detections](detect), which raise
//! [`SecurityEvent`](safecare_core::SecurityEvent)s naming the source and target
//! assets and zones from the site's [`AssetDirectory`](safecare_core::AssetDirectory).
//! An isolation forest ([`anomaly`]) learns normal flows and flags unusual ones, and
//! [`eve`] turns a Suricata EVE log into events.
//!
//! The command line lives in [`cli`]; the `safecare` binary wires it in.

pub mod anomaly;
pub mod app;
pub mod bench;
pub mod cli;
pub mod context;
pub mod detect;
pub mod eve;
pub mod live;
pub mod scan;
pub mod sensor;
mod window;

pub use cli::{NetCommand, NetSummary, run};
pub use sensor::{NetSensor, SensorConfig};
