//! The exchange's connections to the broker, merged into one stream.
//!
//! With an external broker the exchange acknowledges an event only once it is
//! stored, so the broker's in-flight window per connection caps how many
//! events one round trip can carry. Several connections on one shared
//! subscription (`$share/...`) multiply that window; the broker spreads events
//! over them. With the broker inside the process, the MQTT client acknowledges
//! each event as soon as it reads it, and bounded queues behind it stop the
//! reading when the writer falls behind (see [`AckPolicy`]). Better still, the
//! exchange then reads the events through the broker's in-process link
//! ([`safecare_bus::local`]) and keeps a network connection only for
//! heartbeats and for what it publishes.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use safecare_bus::client::Qos;
use safecare_bus::topics::Topic;
use safecare_bus::{
    BrokerUrl, BusClient, BusError, ClientOptions, InProcessEvents, Incoming, Publish, topics,
};
use tokio::sync::{mpsc, watch};

use crate::ingest::{self, Decoded};
use crate::metrics::Metrics;

/// When the exchange acknowledges a received message to the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckPolicy {
    /// Once the message's batch is committed. An external broker keeps what
    /// the exchange has not stored, across a crash or restart of SafeCare.
    AfterCommit,
    /// As soon as the MQTT client reads it from the socket. The writer's queue
    /// holds at most `queue` messages (plus [`RECEIVED_BUFFER`] per connection
    /// on their way to it); when it is full the client stops reading, which
    /// stops the broker. Meant for the broker embedded in the same process: it
    /// keeps its messages in memory and loses them with the process, so
    /// acknowledging after the commit protects nothing there, while rumqttd's
    /// fixed window of 100 unacknowledged messages per connection would tie
    /// throughput to the commit round trip. Every message the client
    /// acknowledged reaches the queue, and the writer stores the queue before
    /// the service stops. Events read through the in-process link have
    /// nothing to acknowledge but go through the same bounded queue.
    OnReceipt { queue: usize },
}

/// Messages one connection holds between its MQTT client and the writer's
/// queue, with on-receipt acknowledgements.
pub const RECEIVED_BUFFER: usize = 1024;

impl AckPolicy {
    /// Whether the exchange acknowledges each message itself, after storing it.
    fn acks_after_commit(self) -> bool {
        self == AckPolicy::AfterCommit
    }
}

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
    rx: FeedRx,
    policy: AckPolicy,
}

/// After-commit acks need an unbounded queue (the broker's window bounds it,
/// and the writer acks only what it has taken); on-receipt acks a bounded one.
enum FeedRx {
    Unbounded(mpsc::UnboundedReceiver<Received>),
    Bounded(mpsc::Receiver<Received>),
}

#[derive(Clone)]
enum FeedTx {
    Unbounded(mpsc::UnboundedSender<Received>),
    /// Waits while the queue is full, which in turn stops the client reading.
    Bounded(mpsc::Sender<Received>),
}

impl FeedTx {
    /// Queues a message; false once the writer is gone.
    async fn send(&self, received: Received) -> bool {
        match self {
            FeedTx::Unbounded(tx) => tx.send(received).is_ok(),
            FeedTx::Bounded(tx) => tx.send(received).await.is_ok(),
        }
    }
}

/// Where the events come from, besides the connection that takes heartbeats.
pub(crate) enum EventSource {
    /// `connections` network connections on the event topics.
    Connections(usize),
    /// The embedded broker's in-process link, read until `stop` turns true;
    /// `metrics` count what the broker dropped before it was read.
    InProcess {
        events: InProcessEvents,
        stop: watch::Receiver<bool>,
        metrics: Arc<Metrics>,
    },
}

impl Feeds {
    /// Opens the connections (at least one, the first also takes heartbeats)
    /// and starts reading the events from `source`.
    pub async fn connect(
        broker: &BrokerUrl,
        client_id: &str,
        source: EventSource,
        policy: AckPolicy,
        timeout: Duration,
    ) -> Result<Feeds, BusError> {
        let connections = match &source {
            EventSource::Connections(count) => (*count).max(1),
            EventSource::InProcess { .. } => 1,
        };
        let on_connections = matches!(source, EventSource::Connections(_));
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

        let (queue, rx) = writer_queue(policy);
        let mut clients = Vec::with_capacity(connections);
        for index in 0..connections {
            let mut options = ClientOptions::new("exchange");
            if on_connections {
                options = options.subscribe(&events, Qos::AtLeastOnce);
            }
            if index == 0 {
                options = options.subscribe(topics::ALL_HEALTH, Qos::AtLeastOnce);
                options.client_id = client_id.to_string();
            } else {
                options.client_id = format!("{client_id}-{index}");
                options.heartbeat = None;
            }
            options.manual_acks = policy.acks_after_commit();
            options.incoming_capacity = RECEIVED_BUFFER;
            let (client, incoming) = BusClient::connect(broker, options, timeout).await?;
            tokio::spawn(forward(index, incoming, queue.clone()));
            clients.push(client);
        }
        if let EventSource::InProcess {
            events,
            stop,
            metrics,
        } = source
        {
            tokio::spawn(forward_in_process(events, stop, metrics, queue));
        }
        Ok(Feeds {
            clients,
            rx,
            policy,
        })
    }

    /// The next message; `None` once every connection has closed and the queue is empty.
    pub async fn recv(&mut self) -> Option<Received> {
        match &mut self.rx {
            FeedRx::Unbounded(rx) => rx.recv().await,
            FeedRx::Bounded(rx) => rx.recv().await,
        }
    }

    pub fn try_recv(&mut self) -> Option<Received> {
        match &mut self.rx {
            FeedRx::Unbounded(rx) => rx.try_recv().ok(),
            FeedRx::Bounded(rx) => rx.try_recv().ok(),
        }
    }

    pub fn policy(&self) -> AckPolicy {
        self.policy
    }

    /// Acknowledges a stored message on the connection it came from (after-commit policy only).
    pub async fn ack(&self, received: &Received) {
        if !self.policy.acks_after_commit() {
            return;
        }
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

/// The queue from the connections to the writer.
fn writer_queue(policy: AckPolicy) -> (FeedTx, FeedRx) {
    match policy {
        AckPolicy::AfterCommit => {
            let (tx, rx) = mpsc::unbounded_channel();
            (FeedTx::Unbounded(tx), FeedRx::Unbounded(rx))
        }
        AckPolicy::OnReceipt { queue } => {
            let (tx, rx) = mpsc::channel(queue.max(1));
            (FeedTx::Bounded(tx), FeedRx::Bounded(rx))
        }
    }
}

async fn forward(connection: usize, mut incoming: Incoming, tx: FeedTx) {
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
        if !tx.send(received).await {
            break;
        }
    }
}

/// Decodes and queues the events of the in-process link until told to stop.
///
/// A message taken from the link is always queued before stopping, so that
/// the writer stores it; what the link still holds stays there for the next
/// exchange of this process.
async fn forward_in_process(
    mut events: InProcessEvents,
    mut stop: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
    tx: FeedTx,
) {
    let mut dropped = 0;
    loop {
        let publish = tokio::select! {
            biased;
            _ = stop.wait_for(|stopped| *stopped) => break,
            publish = events.next() => match publish {
                Some(publish) => publish,
                None => break,
            },
        };
        if events.dropped() != dropped {
            dropped = events.dropped();
            metrics.broker_dropped.store(dropped, Ordering::Relaxed);
        }
        let decoded = Some(ingest::decode(&publish.topic, &publish.payload));
        let received = Received {
            connection: 0,
            publish,
            decoded,
        };
        if !tx.send(received).await {
            break;
        }
    }
}
