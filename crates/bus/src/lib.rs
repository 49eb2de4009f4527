//! The SafeCare data exchange layer (DESIGN.md section 3).
//!
//! Every part of the platform talks over MQTT topics under `safecare/v1/`.
//! This crate owns the topic scheme ([`topics`]), the broker embedded in
//! `safecare up` ([`broker`]) with its in-process event feed ([`local`]), the
//! client every module uses ([`client`]) and the heartbeat documents on
//! `health/{module}` ([`health`]).

pub mod broker;
pub mod client;
pub mod health;
pub mod local;
pub mod mosquitto;
pub mod topics;
pub mod url;

pub use broker::{BrokerError, EmbeddedBroker};
pub use client::{BusClient, BusError, ClientOptions, Incoming};
pub use health::{HealthReport, HealthStatus};
pub use local::InProcessEvents;
pub use rumqttc::{Publish, QoS};
pub use url::{BrokerUrl, UrlError};
