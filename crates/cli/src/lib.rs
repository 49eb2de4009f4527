//! The pieces behind the `safecare` command, shared with its integration tests.

pub mod bench;
pub mod capture_steps;
pub mod captures;
pub mod demo;
pub mod logging;
pub mod output;
pub mod platform;
pub mod replay;
pub mod scenarios;
