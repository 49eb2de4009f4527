//! Packet capture, decoding, flows and TCP stream reassembly for SafeCare's sensors.
//!
//! The layers, from the file up:
//!
//! 1. [`reader`]: pcap and pcapng files, read record by record with every length
//!    checked; a bad record is an error naming its packet index, and reading goes on
//!    where the format allows.
//! 2. [`decode`]: a bounded decoder for Ethernet, Linux cooked (SLL, SLL2), raw IP,
//!    VLAN, ARP, IPv4, IPv6, TCP, UDP and ICMP. It never panics on hostile bytes.
//! 3. [`defrag`]: IPv4 and IPv6 fragment reassembly with caps on memory and time.
//! 4. [`flow`]: a bidirectional flow table with idle and active timeouts, a memory
//!    cap and per-flow features of the kind CICFlowMeter computes.
//! 5. [`reassembly`]: ordered per-direction TCP stream bytes, with a memory cap.
//! 6. [`engine`]: ties them together and reports to a [`engine::Handler`].
//!
//! [`live`] reads frames from a network interface instead of a file (Linux AF_PACKET).
//!
//! [`synth`] and [`writer`] build captures in tests, so every sensor can test itself on
//! traffic it generates.

pub mod decode;
pub mod defrag;
pub mod engine;
pub mod flow;
pub mod live;
pub mod reader;
pub mod reassembly;
pub mod synth;
pub mod time;
pub mod writer;

pub use decode::{DecodeError, Packet};
pub use engine::{Engine, EngineConfig, EngineStats, Handler};
pub use flow::{Direction, EndReason, Flow, FlowKey};
pub use reader::{CaptureReader, LinkType, RawPacket, ReadError};
pub use time::Timestamp;
