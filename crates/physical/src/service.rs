//! The bus service: native topics in, security events out, zone states kept live.
//!
//! [`run`] connects one client that subscribes to the native topics of
//! [`crate::NativeTopics`], to every security event (`safecare/v1/event/+`) and to
//! alerts (`safecare/v1/alert`). Native messages go through the [`Engine`]; its events are
//! published on `safecare/v1/event/{module}`; a message the adapters refuse is published
//! on `safecare/v1/deadletter/{module}` with the reason. Every event and alert on the bus
//! updates the [`ZoneStates`], whose changed zone ids are broadcast for live streams.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::Utc;
use safecare_bus::client::Qos;
use safecare_bus::{BrokerUrl, BusClient, BusError, ClientOptions, Incoming, Publish, topics};
use safecare_core::site::Site;
use safecare_core::{Alert, SecurityEvent};
use serde::Serialize;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::adapters::NativeTopics;
use crate::engine::{Engine, EngineStats};
use crate::error::AdapterError;
use crate::pullpoint::{self, PullPoint};
use crate::site_view::SiteView;
use crate::thresholds::Thresholds;
use crate::zones::ZoneStates;

/// Bytes of a refused payload copied into its dead letter.
const DEAD_LETTER_EXCERPT: usize = 4096;

/// How the service runs; [`ServiceOptions::default`] suits `safecare up`.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    pub topics: NativeTopics,
    pub thresholds: Thresholds,
    /// MQTT client id; unique per connection.
    pub client_id: String,
    /// How often the time-driven rules run (doors held, cameras silent).
    pub tick: Duration,
    /// How long to wait for the broker at start.
    pub connect_timeout: Duration,
    /// ONVIF cameras to poll through pull-point subscriptions.
    pub pull_points: Vec<PullPoint>,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            topics: NativeTopics::default(),
            thresholds: Thresholds::default(),
            client_id: format!("safecare-physical-{}", std::process::id()),
            tick: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(10),
            pull_points: Vec::new(),
        }
    }
}

/// A running physical-security service.
pub struct PhysicalService {
    bus: BusClient,
    zones: Arc<RwLock<ZoneStates>>,
    stats: Arc<RwLock<EngineStats>>,
    changes: broadcast::Sender<String>,
    tasks: Vec<JoinHandle<()>>,
}

/// One rejected native message, as published on `deadletter/{module}`.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub time: chrono::DateTime<Utc>,
    pub topic: String,
    /// Stable code of the error (`json`, `field`, `xml`, ...).
    pub code: &'static str,
    pub reason: String,
    /// The start of the payload, lossily as text.
    pub payload: String,
    pub payload_bytes: usize,
}

/// Starts the adapters and rules over `site` on the broker at `broker`.
pub async fn run(broker: &BrokerUrl, site: Arc<Site>) -> Result<PhysicalService, BusError> {
    run_with(broker, site, ServiceOptions::default()).await
}

/// Starts the service with explicit options.
pub async fn run_with(
    broker: &BrokerUrl,
    site: Arc<Site>,
    options: ServiceOptions,
) -> Result<PhysicalService, BusError> {
    let mut client = ClientOptions::new("physical");
    client.client_id = options.client_id.clone();
    for filter in options.topics.filters() {
        client = client.subscribe(&filter, Qos::AtLeastOnce);
    }
    client = client
        .subscribe(topics::ALL_EVENTS, Qos::AtLeastOnce)
        .subscribe(topics::ALERT, Qos::AtLeastOnce);
    let (bus, incoming) = BusClient::connect(broker, client, options.connect_timeout).await?;

    let zones = Arc::new(RwLock::new(ZoneStates::new(site.clone())));
    let stats = Arc::new(RwLock::new(EngineStats::default()));
    let (changes, _) = broadcast::channel(1024);
    let engine = Engine::with(
        SiteView::new(site),
        options.thresholds.clone(),
        options.topics.clone(),
    );
    let worker = Worker {
        bus: bus.clone(),
        engine,
        zones: zones.clone(),
        stats: stats.clone(),
        changes: changes.clone(),
    };
    let mut tasks = vec![tokio::spawn(worker.run(incoming, options.tick))];
    for point in options.pull_points {
        let prefix = options.topics.prefix.clone();
        tasks.push(tokio::spawn(pullpoint::run(point, bus.clone(), prefix)));
    }
    tracing::info!(broker = %broker, "physical security service started");
    Ok(PhysicalService {
        bus,
        zones,
        stats,
        changes,
        tasks,
    })
}

impl PhysicalService {
    /// The live zone states, for the API (`zone_json`, `to_json`) and the floor plans.
    pub fn zone_states(&self) -> Arc<RwLock<ZoneStates>> {
        self.zones.clone()
    }

    /// Zone ids as they change, for a live stream; slow receivers miss old ids.
    pub fn zone_changes(&self) -> broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    /// The engine's counters so far.
    pub fn stats(&self) -> EngineStats {
        self.stats.read().map(|s| *s).unwrap_or_default()
    }

    /// Stops the service and says goodbye on the health topic.
    pub async fn shutdown(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.bus.shutdown().await;
    }
}

struct Worker {
    bus: BusClient,
    engine: Engine,
    zones: Arc<RwLock<ZoneStates>>,
    stats: Arc<RwLock<EngineStats>>,
    changes: broadcast::Sender<String>,
}

impl Worker {
    async fn run(mut self, mut incoming: Incoming, tick: Duration) {
        let mut timer = tokio::time::interval(tick);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                message = incoming.recv() => {
                    let Some(message) = message else { break };
                    self.handle(message).await;
                }
                _ = timer.tick() => {
                    let events = self.engine.tick(Utc::now());
                    self.publish(events).await;
                }
            }
            if let Ok(mut stats) = self.stats.write() {
                *stats = self.engine.stats();
            }
        }
        tracing::warn!("physical security service: the bus client closed, stopping");
    }

    async fn handle(&mut self, message: Publish) {
        let topic = message.topic.clone();
        match topics::parse(&topic) {
            topics::Topic::Event(_) => self.zone_event(&message.payload),
            topics::Topic::Alert => self.zone_alert(&message.payload),
            _ => self.native(&topic, &message.payload).await,
        }
    }

    async fn native(&mut self, topic: &str, payload: &[u8]) {
        match self.engine.ingest(topic, payload, Utc::now()) {
            Ok(events) => self.publish(events).await,
            Err(err) => self.dead_letter(topic, payload, err).await,
        }
    }

    async fn publish(&self, events: Vec<SecurityEvent>) {
        for event in events {
            if let Err(err) = self.bus.publish_event(&event).await {
                tracing::error!(%err, kind = %event.kind, "could not queue an event: it is lost");
            }
        }
    }

    async fn dead_letter(&self, topic: &str, payload: &[u8], err: AdapterError) {
        let module = self
            .engine
            .topics()
            .route(topic)
            .map_or("physical", |(system, _)| system.module().as_str());
        let excerpt = &payload[..payload.len().min(DEAD_LETTER_EXCERPT)];
        let letter = DeadLetter {
            time: Utc::now(),
            topic: topic.to_string(),
            code: err.code(),
            reason: err.to_string(),
            payload: String::from_utf8_lossy(excerpt).into_owned(),
            payload_bytes: payload.len(),
        };
        let target = topics::deadletter(module);
        if let Err(err) = self
            .bus
            .publish_json(&target, Qos::AtLeastOnce, false, &letter)
            .await
        {
            tracing::error!(%err, "could not queue a dead letter: the refused message is lost");
        }
    }

    fn zone_event(&self, payload: &[u8]) {
        let Ok(event) = SecurityEvent::from_json(payload) else {
            return;
        };
        let zone = event
            .zone()
            .map(String::from)
            .or_else(|| event.asset.clone());
        if let Ok(mut zones) = self.zones.write() {
            zones.apply_event(&event);
        }
        if let Some(zone) = zone {
            let _ = self.changes.send(zone);
        }
    }

    fn zone_alert(&self, payload: &[u8]) {
        let Ok(alert) = serde_json::from_slice::<Alert>(payload) else {
            return;
        };
        if let Ok(mut zones) = self.zones.write() {
            zones.apply_alert(&alert);
        }
        if let Some(zone) = alert.zone.or(alert.asset) {
            let _ = self.changes.send(zone);
        }
    }
}
