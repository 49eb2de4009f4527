//! The bus client every module uses: connect, publish, receive, heartbeat.
//!
//! The client keeps reconnecting on its own; while the broker is away,
//! publishes wait in the client's queue and are sent when it comes back.
//! Sessions are persistent (clean session off), so a subscriber that was
//! away gets the QoS 1 messages it missed, and with manual acks a message is
//! acknowledged only after the subscriber has dealt with it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, EventLoop, LastWill, MqttOptions, Packet, Publish, QoS};
use serde::Serialize;
use thiserror::Error;
use tokio::sync::{mpsc, watch};

use crate::health::HealthReport;
use crate::{BrokerUrl, topics};

pub use rumqttc::QoS as Qos;

/// How a module connects to the bus.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// MQTT client id; must be unique per connection.
    pub client_id: String,
    /// The module name used for `health/{module}` and the last will.
    pub module: String,
    /// Topic filters to subscribe to (again after every reconnect).
    pub subscriptions: Vec<(String, QoS)>,
    /// Acknowledge received QoS 1 messages only through [`BusClient::ack`].
    pub manual_acks: bool,
    /// QoS 1 messages in flight at once, each way.
    pub inflight: u16,
    /// Heartbeat period on `health/{module}`; `None` for no heartbeat.
    pub heartbeat: Option<Duration>,
    /// Received messages buffered before the client stops reading the socket
    /// (automatic acks only; with manual acks the broker's in-flight window bounds it).
    pub incoming_capacity: usize,
}

impl ClientOptions {
    pub fn new(module: &str) -> Self {
        ClientOptions {
            client_id: format!("safecare-{module}-{}", std::process::id()),
            module: module.to_string(),
            subscriptions: Vec::new(),
            manual_acks: false,
            inflight: 1000,
            heartbeat: Some(Duration::from_secs(10)),
            incoming_capacity: 10_000,
        }
    }

    pub fn subscribe(mut self, filter: &str, qos: QoS) -> Self {
        self.subscriptions.push((filter.to_string(), qos));
        self
    }
}

/// Why the bus could not be used.
#[derive(Debug, Error)]
pub enum BusError {
    #[error(
        "could not reach the MQTT broker at {url} within {seconds} s ({reason}): start it \
         (e.g. `mosquitto -d`) or run without --broker to use the embedded one"
    )]
    Unreachable {
        url: String,
        seconds: u64,
        reason: String,
    },
    #[error("the bus client has shut down; restart the module")]
    Closed,
}

/// Messages received on the subscriptions.
pub struct Incoming {
    rx: IncomingRx,
}

/// With automatic acks the channel is bounded, so a slow reader slows the socket.
/// With manual acks it is not: the broker's in-flight window already bounds it,
/// and a bounded channel could deadlock (the reader waiting to queue an ack
/// while the event loop waits to hand over a message).
enum IncomingRx {
    Bounded(mpsc::Receiver<Publish>),
    Unbounded(mpsc::UnboundedReceiver<Publish>),
}

enum IncomingTx {
    Bounded(mpsc::Sender<Publish>),
    Unbounded(mpsc::UnboundedSender<Publish>),
}

impl IncomingTx {
    /// Hands a message over; false once the reader is gone.
    async fn send(&self, publish: Publish) -> bool {
        match self {
            IncomingTx::Bounded(tx) => tx.send(publish).await.is_ok(),
            IncomingTx::Unbounded(tx) => tx.send(publish).is_ok(),
        }
    }
}

impl Incoming {
    /// The next message; `None` once the client has shut down.
    pub async fn recv(&mut self) -> Option<Publish> {
        match &mut self.rx {
            IncomingRx::Bounded(rx) => rx.recv().await,
            IncomingRx::Unbounded(rx) => rx.recv().await,
        }
    }

    /// A message if one is waiting, without blocking.
    pub fn try_recv(&mut self) -> Option<Publish> {
        match &mut self.rx {
            IncomingRx::Bounded(rx) => rx.try_recv().ok(),
            IncomingRx::Unbounded(rx) => rx.try_recv().ok(),
        }
    }
}

/// A connected bus client; cheap to clone.
#[derive(Clone)]
pub struct BusClient {
    client: AsyncClient,
    module: String,
    connected: Arc<AtomicBool>,
    closing: Arc<AtomicBool>,
    acks: Arc<AtomicU64>,
}

impl BusClient {
    /// Connects, waits for the broker to accept (up to `timeout`), and starts the driver task.
    pub async fn connect(
        url: &BrokerUrl,
        options: ClientOptions,
        timeout: Duration,
    ) -> Result<(BusClient, Incoming), BusError> {
        let (client, eventloop) = AsyncClient::new(mqtt_options(url, &options), 10_000);
        let (tx, rx) = if options.manual_acks {
            let (tx, rx) = mpsc::unbounded_channel();
            (IncomingTx::Unbounded(tx), IncomingRx::Unbounded(rx))
        } else {
            let (tx, rx) = mpsc::channel(options.incoming_capacity.max(1));
            (IncomingTx::Bounded(tx), IncomingRx::Bounded(rx))
        };
        let (ready_tx, mut ready_rx) = watch::channel(None::<Result<(), String>>);
        let connected = Arc::new(AtomicBool::new(false));
        let acks = Arc::new(AtomicU64::new(0));

        let driver = Driver {
            client: client.clone(),
            options: options.clone(),
            url: url.to_string(),
            incoming: tx,
            connected: connected.clone(),
            acks: acks.clone(),
            ready: ready_tx,
            started: Instant::now(),
        };
        tokio::spawn(driver.run(eventloop));

        let first = tokio::time::timeout(timeout, async {
            loop {
                if let Some(result) = ready_rx.borrow_and_update().clone() {
                    return result;
                }
                if ready_rx.changed().await.is_err() {
                    return Err("client stopped".to_string());
                }
            }
        })
        .await;
        let unreachable = |reason: String| BusError::Unreachable {
            url: url.to_string(),
            seconds: timeout.as_secs().max(1),
            reason,
        };
        match first {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => return Err(unreachable(reason)),
            Err(_) => return Err(unreachable("timed out".into())),
        }

        let closing = Arc::new(AtomicBool::new(false));
        let bus = BusClient {
            client,
            module: options.module.clone(),
            connected,
            closing,
            acks,
        };
        if let Some(period) = options.heartbeat {
            tokio::spawn(heartbeat(bus.clone(), period));
        }
        Ok((bus, Incoming { rx }))
    }

    /// The module this client speaks for.
    pub fn module(&self) -> &str {
        &self.module
    }

    /// True while the broker connection is up.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Queues a message; it is sent now or as soon as the broker is back.
    pub async fn publish(
        &self,
        topic: &str,
        qos: QoS,
        retain: bool,
        payload: Vec<u8>,
    ) -> Result<(), BusError> {
        self.client
            .publish(topic, qos, retain, payload)
            .await
            .map_err(|_| BusError::Closed)
    }

    /// Publishes a value as JSON.
    pub async fn publish_json(
        &self,
        topic: &str,
        qos: QoS,
        retain: bool,
        value: &impl Serialize,
    ) -> Result<(), BusError> {
        let payload = serde_json::to_vec(value).unwrap_or_default();
        self.publish(topic, qos, retain, payload).await
    }

    /// Publishes a security event on `event/{module}` at QoS 1.
    pub async fn publish_event(
        &self,
        event: &safecare_core::SecurityEvent,
    ) -> Result<(), BusError> {
        let topic = topics::event(event.module.as_str());
        self.publish_json(&topic, QoS::AtLeastOnce, false, event)
            .await
    }

    /// Acknowledges a QoS 1 message received with manual acks.
    pub async fn ack(&self, publish: &Publish) -> Result<(), BusError> {
        self.client.ack(publish).await.map_err(|_| BusError::Closed)
    }

    /// Says goodbye: publishes `down` on the health topic and disconnects.
    pub async fn shutdown(&self) {
        self.closing.store(true, Ordering::Relaxed);
        let down = HealthReport::down(&self.module).to_json();
        let topic = topics::health(&self.module);
        let acked_before = self.acks.load(Ordering::Relaxed);
        let _ = self
            .client
            .publish(topic, QoS::AtLeastOnce, true, down)
            .await;

        // A broker may drop publishes still in the socket when DISCONNECT follows them.
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.acks.load(Ordering::Relaxed) == acked_before && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = self.client.disconnect().await;
    }
}

fn mqtt_options(url: &BrokerUrl, options: &ClientOptions) -> MqttOptions {
    let mut mqtt = MqttOptions::new(options.client_id.clone(), url.host.clone(), url.port);
    mqtt.set_keep_alive(Duration::from_secs(15))
        .set_clean_session(false)
        .set_manual_acks(options.manual_acks)
        .set_inflight(options.inflight.max(1))
        .set_max_packet_size(
            crate::broker::MAX_BROKER_PAYLOAD + 1024,
            crate::broker::MAX_BROKER_PAYLOAD + 1024,
        )
        .set_last_will(LastWill::new(
            topics::health(&options.module),
            HealthReport::down(&options.module).to_json(),
            QoS::AtLeastOnce,
            true,
        ));
    if let Some(user) = &url.username {
        mqtt.set_credentials(user.clone(), url.password.clone().unwrap_or_default());
    }
    mqtt
}

/// Drives the MQTT event loop: reconnects, resubscribes, hands messages over.
struct Driver {
    client: AsyncClient,
    options: ClientOptions,
    url: String,
    incoming: IncomingTx,
    connected: Arc<AtomicBool>,
    acks: Arc<AtomicU64>,
    ready: watch::Sender<Option<Result<(), String>>>,
    started: Instant,
}

impl Driver {
    async fn run(self, mut eventloop: EventLoop) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = Duration::from_millis(100);
                    self.on_connected().await;
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    if !self.incoming.send(publish).await {
                        break;
                    }
                }
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    self.acks.fetch_add(1, Ordering::Relaxed);
                }
                // Safe to stop here with automatic acks: rumqttc hands out every
                // packet it read (and acknowledged) before it takes the next request,
                // so each acknowledged message has already been handed over.
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                Ok(_) => {}
                Err(rumqttc::ConnectionError::RequestsDone) => break,
                Err(err) => {
                    self.on_error(&err);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        self.connected.store(false, Ordering::Relaxed);
    }

    async fn on_connected(&self) {
        let was_down = self.ready.borrow().is_some();
        self.connected.store(true, Ordering::Relaxed);
        if was_down {
            tracing::info!(url = %self.url, module = %self.options.module, "reconnected to MQTT broker");
        }

        if !self.options.subscriptions.is_empty() {
            let filters = self
                .options
                .subscriptions
                .iter()
                .map(|(filter, qos)| rumqttc::SubscribeFilter::new(filter.clone(), *qos));
            if self.client.subscribe_many(filters).await.is_err() {
                return;
            }
        }

        let uptime = self.started.elapsed().as_secs();
        let up = HealthReport::up(&self.options.module, uptime).to_json();
        let topic = topics::health(&self.options.module);
        let _ = self.client.publish(topic, QoS::AtLeastOnce, true, up).await;
        self.ready.send_replace(Some(Ok(())));
    }

    fn on_error(&self, err: &rumqttc::ConnectionError) {
        if self.connected.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                url = %self.url, module = %self.options.module, %err,
                "lost the MQTT broker; messages wait in memory until it is back"
            );
        } else if self.ready.borrow().is_none() {
            // Not yet connected once: let `connect` report it, keep trying meanwhile.
            tracing::debug!(url = %self.url, %err, "broker not reachable yet");
            self.ready.send_if_modified(|state| {
                if state.is_none() && self.started.elapsed() > Duration::from_secs(60) {
                    *state = Some(Err(err.to_string()));
                    return true;
                }
                false
            });
        }
    }
}

/// Publishes `up` on `health/{module}` every `period`, retained.
async fn heartbeat(bus: BusClient, period: Duration) {
    let started = Instant::now();
    let topic = topics::health(&bus.module);
    let mut ticker = tokio::time::interval(period);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if bus.closing.load(Ordering::Relaxed) {
            break;
        }
        let report = HealthReport::up(&bus.module, started.elapsed().as_secs()).to_json();
        if bus
            .client
            .publish(&topic, QoS::AtLeastOnce, true, report)
            .await
            .is_err()
        {
            break;
        }
    }
}
