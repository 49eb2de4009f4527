//! The MQTT broker embedded in `safecare up`.
//!
//! rumqttd runs on its own threads inside the process. It cannot be stopped
//! before the process ends, which suits its one job: to be the platform's bus
//! when no external broker is given.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
use thiserror::Error;

use crate::local::{EventsSlot, InProcessEvents};

/// The largest MQTT payload the embedded broker carries.
///
/// Twice the platform's 1 MiB message limit, so that an oversized message
/// still reaches the exchange and is dead-lettered with its reason instead of
/// vanishing at the broker.
pub const MAX_BROKER_PAYLOAD: usize = 2 * safecare_core::MAX_MESSAGE_BYTES;

/// Why the embedded broker could not start.
#[derive(Debug, Error)]
pub enum BrokerError {
    #[error(
        "port {port} on {ip} is taken (is Mosquitto or another SafeCare running?): \
         pass --mqtt-listen {ip}:<free port>, or use the running broker with \
         --broker mqtt://{ip}:{port}"
    )]
    PortTaken { ip: std::net::IpAddr, port: u16 },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the embedded broker did not accept connections on {addr} within 5 s")]
    NotReady { addr: SocketAddr },
    #[error("the embedded broker failed to start its router: {0}; restart safecare")]
    Router(String),
}

/// A running embedded broker.
#[derive(Debug, Clone)]
pub struct EmbeddedBroker {
    /// MQTT 3.1.1 listener.
    pub addr: SocketAddr,
    /// MQTT 5 listener, when one was asked for.
    pub addr_v5: Option<SocketAddr>,
    /// Every event topic, subscribed inside the process from the start.
    events: EventsSlot,
}

impl EmbeddedBroker {
    /// Starts the broker on `listen` (MQTT 3.1.1) and optionally `listen_v5` (MQTT 5).
    ///
    /// Port 0 picks a free port; the chosen address is in the result.
    pub fn start(
        listen: SocketAddr,
        listen_v5: Option<SocketAddr>,
    ) -> Result<EmbeddedBroker, BrokerError> {
        let addr = claim_port(listen)?;
        let addr_v5 = listen_v5.map(claim_port).transpose()?;

        let mut broker = Broker::new(broker_config(addr, addr_v5));
        let events = EventsSlot::open(&broker).map_err(BrokerError::Router)?;
        std::thread::Builder::new()
            .name("mqtt-broker".into())
            .spawn(move || {
                if let Err(err) = broker.start() {
                    tracing::error!(%err, "embedded MQTT broker stopped; restart safecare");
                }
            })
            .map_err(|source| BrokerError::Listen { addr, source })?;

        wait_until_listening(addr)?;
        if let Some(addr_v5) = addr_v5 {
            wait_until_listening(addr_v5)?;
        }
        tracing::info!(%addr, ?addr_v5, "embedded MQTT broker listening");
        Ok(EmbeddedBroker {
            addr,
            addr_v5,
            events,
        })
    }

    /// The events published to this broker, read inside the process, for the
    /// exchange; `None` while another reader holds them (see [`crate::local`]).
    ///
    /// The subscription exists from the broker's start: events published
    /// before anyone reads wait in the broker's log.
    pub fn in_process_events(&self) -> Option<InProcessEvents> {
        self.events.take()
    }

    /// The URL clients use to reach the MQTT 3.1.1 listener.
    pub fn url(&self) -> crate::BrokerUrl {
        crate::BrokerUrl {
            host: self.addr.ip().to_string(),
            port: self.addr.port(),
            username: None,
            password: None,
        }
    }
}

/// Checks that the address is free (resolving port 0 to a free port) and releases it.
fn claim_port(listen: SocketAddr) -> Result<SocketAddr, BrokerError> {
    match TcpListener::bind(listen) {
        Ok(listener) => listener.local_addr().map_err(|source| BrokerError::Listen {
            addr: listen,
            source,
        }),
        Err(err) if err.kind() == ErrorKind::AddrInUse => Err(BrokerError::PortTaken {
            ip: listen.ip(),
            port: listen.port(),
        }),
        Err(source) => Err(BrokerError::Listen {
            addr: listen,
            source,
        }),
    }
}

fn wait_until_listening(addr: SocketAddr) -> Result<(), BrokerError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(BrokerError::NotReady { addr })
}

fn broker_config(addr: SocketAddr, addr_v5: Option<SocketAddr>) -> Config {
    let server = |name: &str, listen: SocketAddr| ServerSettings {
        name: name.to_string(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 5000,
            max_payload_size: MAX_BROKER_PAYLOAD,
            max_inflight_count: 2048,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };

    Config {
        id: 0,
        router: RouterConfig {
            max_connections: 10_000,
            max_outgoing_packet_count: 2048,
            // Each topic keeps at most 4 x 32 MiB of messages for slow subscribers
            // (about 300,000 events); a subscriber further behind than that loses
            // the oldest messages (rumqttd logs "Read cursor start jumped").
            max_segment_size: 32 * 1024 * 1024,
            max_segment_count: 4,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([(
            "v4".to_string(),
            server("mqtt-v3.1.1", addr),
        )])),
        v5: addr_v5.map(|a| HashMap::from([("v5".to_string(), server("mqtt-v5", a))])),
        ..Config::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_gets_a_message_that_says_what_to_do() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = EmbeddedBroker::start(addr, None).unwrap_err().to_string();
        assert!(
            err.contains("--mqtt-listen") && err.contains("--broker"),
            "{err}"
        );
    }
}
