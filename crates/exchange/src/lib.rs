//! The exchange service: the only subscriber that writes the central store.
//!
//! It takes security events from `event/{module}`, refuses what does not
//! parse or validate to `deadletter/{module}` with the reason, stores the
//! rest (the event id makes a resent event harmless), evaluates them into
//! alerts through the correlation rules, and publishes every alert change on
//! `alert`. It also carries out the operator workflow (acknowledge, confirm,
//! dismiss, incidents), writing an audit record for every change.
//!
//! With an external broker, messages are acknowledged only once committed,
//! so a crash or a locked, full or unreachable database loses nothing that
//! was accepted: the batch is retried and the broker redelivers what was not
//! acknowledged. With the broker embedded in the same process, which loses
//! its messages with the process anyway, they are acknowledged once queued
//! for the writer (bounded), and the writer stores the queue before it stops
//! ([`AckPolicy`]).

mod commit;
mod feeds;
pub mod ingest;
pub mod metrics;
mod service;
pub mod workflow;

pub use feeds::AckPolicy;
pub use metrics::Metrics;
pub use service::{
    ActionError, Changed, CommitReport, ExchangeConfig, ExchangeError, ExchangeHandle, LiveUpdate,
    start,
};
pub use workflow::{Command, WorkflowError};
