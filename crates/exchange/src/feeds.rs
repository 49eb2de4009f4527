//! The exchange's connections to the broker, merged into one stream.
//!
//! The exchange acknowledges an event only once it is stored, so the broker's
//! in-flight window per connection caps how many events one round trip can
//! carry (rumqttd allows 100). Several connections on one shared subscription
//! (`$share/...`) multiply that window; the broker spreads events over them.

use std::time::Duration;

use safecare_bus::client::Qos;
use safecare_bus::topics::Topic;
use safecare_bus::{BrokerUrl, BusClient, BusError, ClientOptions, Incoming, Publish, topics};
use tokio::sync::mpsc;

use crate::ingest::{self, Decoded};

/// A message, the connection that must acknowledge it, and what it decoded to.
pub(crate) struct Received {
    pub connection: usize,
    pub publish: Publish,
    /// `None` for heartbeats; events are decoded here, on the connection's
    /// task, so the writer task only stores and correlates.
    pub decoded: Option<Decoded>,
}

pub(crate) struct Feeds {
    clients: Vec<BusClient>,
    rx: mpsc::UnboundedReceiver<Received>,
}

impl Feeds {
    /// Opens `connections` connections (at least one); the first also takes heartbeats.
    pub async fn connect(
        broker: &BrokerUrl,
        client_id: &str,
        connections: usize,
        timeout: Duration,
    ) -> Result<Feeds, BusError> {
        let connections = connections.max(1);
        // The group is the service's own: a broker also counts offline
        // persistent sessions as members, so another exchange's group would take
        // a share of this one's events.
        let group: String = client_id
            .chars()
            .map(|c| if matches!(c, '/' | '+' | '#') { '_' } else { c })
            .collect();
        let events = if connections == 1 {
            topics::ALL_EVENTS.to_string()
        } else {
            format!("$share/{group}/{}", topics::ALL_EVENTS)
        };

        let (tx, rx) = mpsc::unbounded_channel();
        let mut clients = Vec::with_capacity(connections);
        for index in 0..connections {
            let mut options = ClientOptions::new("exchange").subscribe(&events, Qos::AtLeastOnce);
            if index == 0 {
                options = options.subscribe(topics::ALL_HEALTH, Qos::AtLeastOnce);
                options.client_id = client_id.to_string();
            } else {
                options.client_id = format!("{client_id}-{index}");
                options.heartbeat = None;
            }
            options.manual_acks = true;
            let (client, incoming) = BusClient::connect(broker, options, timeout).await?;
            tokio::spawn(forward(index, incoming, tx.clone()));
            clients.push(client);
        }
        Ok(Feeds { clients, rx })
    }

    pub async fn recv(&mut self) -> Option<Received> {
        self.rx.recv().await
    }

    pub fn try_recv(&mut self) -> Option<Received> {
        self.rx.try_recv().ok()
    }

    /// Acknowledges a message on the connection it came from.
    pub async fn ack(&self, received: &Received) {
        if let Some(client) = self.clients.get(received.connection) {
            let _ = client.ack(&received.publish).await;
        }
    }

    /// The connection that publishes alerts, incidents and heartbeats.
    pub fn primary(&self) -> &BusClient {
        &self.clients[0]
    }

    /// Every connection, for shutting them all down.
    pub fn clients(&self) -> Vec<BusClient> {
        self.clients.clone()
    }
}

async fn forward(connection: usize, mut incoming: Incoming, tx: mpsc::UnboundedSender<Received>) {
    while let Some(publish) = incoming.recv().await {
        let decoded = match topics::parse(&publish.topic) {
            Topic::Health(_) => None,
            _ => Some(ingest::decode(&publish.topic, &publish.payload)),
        };
        let received = Received {
            connection,
            publish,
            decoded,
        };
        if tx.send(received).is_err() {
            break;
        }
    }
}
