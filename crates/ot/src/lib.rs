//! BMS threat detection for SafeCare: Modbus/TCP and BACnet/IP.
//!
//! The crate follows the same skeleton for each protocol:
//!
//! 1. a pure parser ([`modbus`], [`bacnet`]) that turns bytes into typed messages and
//!    answers bad input with a typed error, never a panic;
//! 2. the state it keeps ([`sensor`]): Modbus request/response pairing by transaction
//!    id over reassembled TCP streams, BACnet invoke ids over UDP;
//! 3. the detections ([`detect`]) over a learned allowlist ([`baseline`]) and the site
//!    model's safe bounds;
//! 4. the events they raise, module `ot`, kinds `ot.modbus.*` and `ot.bacnet.*`.
//!
//! [`cli`] holds the `safecare ot` subcommands; [`live`] runs the sensor on a network
//! interface. [`scada`] is the active side: it polls Modbus/TCP devices for building
//! readings (`safecare ot poll`) and simulates such devices (`safecare ot simulate`).

pub mod bacnet;
pub mod baseline;
pub mod cli;
pub mod detect;
pub mod live;
pub mod modbus;
pub mod scada;
pub mod sensor;
pub mod transaction;

pub use cli::{OtCommand, OtSummary};
pub use sensor::{OtSensor, SensorStats};
pub use transaction::Transaction;
