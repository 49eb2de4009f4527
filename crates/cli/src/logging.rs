//! Where the `safecare` binary's logs go, and what is left out by default.
//!
//! rumqttd 0.20, the embedded broker, logs the end of every client
//! connection at ERROR, a clean DISCONNECT included ("router-drop",
//! "no-connection id N is already gone"), and so does a connection closed
//! before its CONNECT (a port scan, or SafeCare's own check that the broker
//! listens). An operator cannot tell those lines from a fault, so the default
//! filter leaves out these call sites and keeps everything else rumqttd says
//! at WARN or above (a subscriber that lost messages, a listener that failed).
//! Setting `SAFECARE_LOG` replaces the default and shows them again.

use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The filter used when `SAFECARE_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,rumqttd=warn,sqlx=warn";

/// Call sites of rumqttd 0.20.0 (file, line) that report a routine end of a
/// client connection. Another rumqttd version moves the lines, and the
/// messages come back rather than anything else being hidden.
const ROUTINE_BROKER_CALL_SITES: &[(&str, u32)] = &[
    ("src/server/broker.rs", 512), // "Error while handling MQTT connect packet"
    ("src/server/broker.rs", 581), // "router-drop": the client disconnected
    ("src/server/broker.rs", 592), // "disconnected": the socket closed or reset
    ("src/router/routing.rs", 416), // "no-connection id N is already gone"
    ("src/router/routing.rs", 436),
    ("src/router/routing.rs", 539),
];

/// Logs to standard error with `SAFECARE_LOG`'s filter, or the default one.
pub fn init() {
    let (filter, hide_routine) = match EnvFilter::try_from_env("SAFECARE_LOG") {
        Ok(filter) => (filter, false),
        Err(_) => (EnvFilter::new(DEFAULT_FILTER), true),
    };
    let routine = filter_fn(move |meta| {
        !(hide_routine && is_routine_broker_log(meta.target(), meta.file(), meta.line()))
    });

    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter)
        .with_filter(routine);
    tracing_subscriber::registry().with(output).init();
}

/// Whether a log call site is one of rumqttd's routine end-of-connection reports.
fn is_routine_broker_log(target: &str, file: Option<&str>, line: Option<u32>) -> bool {
    let (Some(file), Some(line)) = (file, line) else {
        return false;
    };
    target.starts_with("rumqttd::")
        && ROUTINE_BROKER_CALL_SITES
            .iter()
            .any(|&(path, routine_line)| file.ends_with(path) && line == routine_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROKER_RS: &str = "/cargo/registry/src/index/rumqttd-0.20.0/src/server/broker.rs";

    #[test]
    fn only_the_listed_rumqttd_call_sites_are_routine() {
        let router_drop = (Some(BROKER_RS), Some(581));
        assert!(is_routine_broker_log(
            "rumqttd::server::broker",
            router_drop.0,
            router_drop.1
        ));

        // The listener failing, a few lines away in the same file, is kept.
        assert!(!is_routine_broker_log(
            "rumqttd::server::broker",
            Some(BROKER_RS),
            Some(215)
        ));
        // Another crate's file of the same name is kept.
        assert!(!is_routine_broker_log(
            "safecare_bus::broker",
            Some(BROKER_RS),
            Some(581)
        ));
        assert!(!is_routine_broker_log(
            "rumqttd::server::broker",
            None,
            Some(581)
        ));
    }
}
