//! SCADA data collection: polling Modbus/TCP devices for building readings, and a
//! simulated device to poll in demos and tests.
//!
//! The same skeleton as the passive sensor:
//!
//! 1. the configuration ([`config`]): devices, points, their registers ([`register`]) and
//!    the limits each reading is held to, validated with file and line;
//! 2. the poller ([`poll`]) that reads the points over Modbus/TCP (tokio-modbus),
//!    neighbouring points in one request ([`blocks`]), reconnecting to devices that
//!    go away, and turns answers into [`Reading`]s;
//! 3. the checks ([`watch`]): limits, rate of change, stuck values, setpoint changes,
//!    silence, raising events of module `scada`;
//! 4. the outputs ([`cli`]): readings on `telemetry/{sensor}`, events on `event/scada`,
//!    or JSON lines on stdout.
//!
//! [`simulate`] serves the same points from a Modbus/TCP server and replays faults and
//! attacks ([`fault`]).

pub mod blocks;
pub mod cli;
pub mod config;
pub mod fault;
pub mod poll;
pub mod reading;
pub mod register;
pub mod simulate;
pub mod span;
mod text;
pub mod watch;

pub use config::{ConfigError, Device, Limits, PointKind, PollConfig};
pub use reading::Reading;
