//! The writer task: one task owns the store's write side and the correlation engine.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use safecare_bus::client::Qos;
use safecare_bus::topics;
use safecare_bus::{BrokerUrl, BusClient, BusError, EmbeddedBroker, HealthReport};
use safecare_core::{Alert, AlertStatus, Incident, SecurityEvent};
use safecare_correlate::{Engine, RuleSet};
use safecare_store::{Batch, CommitOutcome, DeadLetter, Store, StoreError, StoreReader};
use serde::Serialize;
use thiserror::Error;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use ulid::Ulid;

use crate::commit::{self, Pending, Stored};
use crate::feeds::{AckPolicy, EventSource, Feeds, Received};
use crate::ingest::Decoded;
use crate::metrics::Metrics;
use crate::workflow::{self, Command, WorkflowError};

/// Tuning of the exchange service.
#[derive(Debug, Clone)]
pub struct ExchangeConfig {
    /// Most messages committed in one transaction.
    pub batch_max: usize,
    /// How many recent event ids are remembered to skip redelivered events.
    pub recent_ids: usize,
    /// How long to wait for the broker at start.
    pub connect_timeout: Duration,
    /// MQTT client id of the service (further connections add `-1`, `-2`, ...).
    pub client_id: String,
    /// Connections sharing the event subscription; with after-commit acks each
    /// adds the broker's in-flight window (events not yet stored) to the service's.
    /// One by default: rumqttd 0.20's router panics ("group must exists") when
    /// a member of a shared subscription leaves with messages unacknowledged.
    pub connections: usize,
    /// When received events are acknowledged to the broker.
    pub ack: AckPolicy,
    /// The broker embedded in this process, when it is the one in use: the
    /// events are then read through its in-process link (unless another
    /// exchange of the process holds it) instead of `connections`.
    pub embedded: Option<EmbeddedBroker>,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        ExchangeConfig {
            batch_max: 1000,
            recent_ids: 100_000,
            connect_timeout: Duration::from_secs(10),
            client_id: "safecare-exchange".to_string(),
            connections: 1,
            ack: AckPolicy::AfterCommit,
            embedded: None,
        }
    }
}

/// Why the service could not start.
#[derive(Debug, Error)]
pub enum ExchangeError {
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Why an operator action failed.
#[derive(Debug, Error)]
pub enum ActionError {
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    #[error("the store refused the change: {0}")]
    Store(#[from] StoreError),
    #[error("the exchange service has stopped; restart safecare")]
    Stopped,
}

/// The documents an action changed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Changed {
    pub alerts: Vec<Alert>,
    pub incidents: Vec<Incident>,
}

/// A change pushed to live clients (the console's stream).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "lowercase")]
pub enum LiveUpdate {
    Alert(Alert),
    Incident(Incident),
}

/// What one committed batch held, for benchmarks and the demo.
#[derive(Debug, Clone)]
pub struct CommitReport {
    pub event_ids: Vec<Ulid>,
    pub outcome: CommitOutcome,
    pub committed_at: Instant,
}

enum Request {
    Act(Command, oneshot::Sender<Result<Changed, ActionError>>),
    Sync(oneshot::Sender<()>),
}

/// A handle on the running service; cheap to clone.
#[derive(Clone)]
pub struct ExchangeHandle {
    requests: mpsc::Sender<Request>,
    reader: StoreReader,
    pub(crate) metrics: Arc<Metrics>,
    live: broadcast::Sender<LiveUpdate>,
    commits: broadcast::Sender<Arc<CommitReport>>,
    health: Arc<RwLock<BTreeMap<String, HealthReport>>>,
    bus: BusClient,
    connections: Arc<Vec<BusClient>>,
    ack: AckPolicy,
    /// Set when the service is told to stop; with on-receipt acks, the writer
    /// then stores what is queued and stops once the connections are closed.
    closing: Arc<AtomicBool>,
    /// Stops reading the embedded broker's in-process link.
    stop_in_process: Arc<watch::Sender<bool>>,
    /// Makes the writer give up a batch the store does not take.
    pub(crate) stop: Arc<watch::Sender<bool>>,
    /// Set by the writer when it has stopped.
    finished: Arc<watch::Sender<bool>>,
}

/// How long a stopping service with on-receipt acks may take to store its queue.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

impl ExchangeHandle {
    /// Stops the service.
    ///
    /// With after-commit acks, a batch it could not store stays
    /// unacknowledged, so the broker hands it to the next exchange that takes
    /// over the session. With on-receipt acks, the connections are closed first
    /// and the writer stores every event already acknowledged before it stops.
    pub async fn shutdown(&self) {
        self.closing.store(true, Ordering::Relaxed);
        if self.ack == AckPolicy::AfterCommit {
            self.stop.send_replace(true);
        }
        self.stop_in_process.send_replace(true);
        for connection in self.connections.iter() {
            connection.shutdown().await;
        }

        let mut finished = self.finished.subscribe();
        let stored = tokio::time::timeout(DRAIN_TIMEOUT, finished.wait_for(|done| *done)).await;
        if stored.is_err() {
            tracing::error!(
                seconds = DRAIN_TIMEOUT.as_secs(),
                "the exchange could not store its queued events in time; giving up on them"
            );
        }
        self.stop.send_replace(true);
    }

    /// Carries out an operator action and returns what it changed.
    pub async fn act(&self, command: Command) -> Result<Changed, ActionError> {
        workflow::check(&command)?;
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Act(command, reply))
            .await
            .map_err(|_| ActionError::Stopped)?;
        answer.await.map_err(|_| ActionError::Stopped)?
    }

    /// Returns once every message received so far has been stored and evaluated.
    pub async fn sync(&self) {
        let (reply, answer) = oneshot::channel();
        if self.requests.send(Request::Sync(reply)).await.is_ok() {
            let _ = answer.await;
        }
    }

    /// Read access to the store, for the API.
    pub fn reader(&self) -> &StoreReader {
        &self.reader
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Alert and incident changes as they happen.
    pub fn subscribe_live(&self) -> broadcast::Receiver<LiveUpdate> {
        self.live.subscribe()
    }

    /// Every committed batch, as it is committed.
    pub fn subscribe_commits(&self) -> broadcast::Receiver<Arc<CommitReport>> {
        self.commits.subscribe()
    }

    /// The last heartbeat of every module seen on `health/+`.
    pub fn module_health(&self) -> Vec<HealthReport> {
        self.health
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The bus client of the service, for publishing on behalf of the platform.
    pub fn bus(&self) -> &BusClient {
        &self.bus
    }
}

/// Connects to the broker and starts the writer task.
pub async fn start(
    store: Store,
    broker: &BrokerUrl,
    rules: RuleSet,
    config: ExchangeConfig,
) -> Result<ExchangeHandle, ExchangeError> {
    let (stop_in_process, stop) = watch::channel(false);
    let in_process = config
        .embedded
        .as_ref()
        .and_then(EmbeddedBroker::in_process_events);
    if config.embedded.is_some() && in_process.is_none() {
        tracing::warn!(
            "another exchange in this process reads the embedded broker's events; \
             this one subscribes over the network instead"
        );
    }
    let metrics = Arc::new(Metrics::default());
    let source = match in_process {
        Some(events) => EventSource::InProcess {
            events,
            stop,
            metrics: metrics.clone(),
        },
        None => EventSource::Connections(config.connections),
    };
    let incoming = Feeds::connect(
        broker,
        &config.client_id,
        source,
        config.ack,
        config.connect_timeout,
    )
    .await?;
    let bus = incoming.primary().clone();

    let (requests, requests_rx) = mpsc::channel(64);
    let handle = ExchangeHandle {
        requests,
        reader: store.reader(),
        metrics,
        live: broadcast::channel(1024).0,
        commits: broadcast::channel(16_384).0,
        health: Arc::default(),
        bus: bus.clone(),
        connections: Arc::new(incoming.clients()),
        ack: config.ack,
        closing: Arc::default(),
        stop_in_process: Arc::new(stop_in_process),
        stop: Arc::new(watch::channel(false).0),
        finished: Arc::new(watch::channel(false).0),
    };
    let writer = Writer {
        store: Arc::new(store),
        in_flight: None,
        next_seq: 0,
        engine: Engine::new(rules),
        incoming,
        requests: requests_rx,
        handle: handle.clone(),
        acknowledged: HashSet::new(),
        recent: RecentIds::new(config.recent_ids),
        batch_max: config.batch_max.max(1),
    };
    tokio::spawn(writer.run());
    tracing::info!(broker = %broker, "exchange service started");
    Ok(handle)
}

struct Writer {
    store: Arc<Store>,
    /// The batch being committed on its own task, if any.
    in_flight: Option<JoinHandle<Stored>>,
    /// The number of the next batch: the store writes them in this order.
    next_seq: u64,
    engine: Engine,
    incoming: Feeds,
    requests: mpsc::Receiver<Request>,
    handle: ExchangeHandle,
    /// Alerts a person acknowledged: correlation updates keep that status.
    acknowledged: HashSet<Ulid>,
    recent: RecentIds,
    batch_max: usize,
}

impl Writer {
    async fn run(mut self) {
        let mut expire = tokio::time::interval(Duration::from_secs(5));
        let mut stop = self.handle.stop.subscribe();
        loop {
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                request = self.requests.recv() => match request {
                    Some(Request::Act(command, reply)) => {
                        let _ = reply.send(self.act(command).await);
                    }
                    Some(Request::Sync(reply)) => {
                        self.drain().await;
                        let _ = reply.send(());
                    }
                    None => {
                        self.handle.closing.store(true, Ordering::Relaxed);
                        self.handle.stop.send_replace(true);
                        break;
                    }
                },
                publish = self.incoming.recv() => match publish {
                    Some(first) => {
                        let batch = self.collect(first);
                        self.ingest(batch).await;
                    }
                    None => break,
                },
                stored = commit::wait(&mut self.in_flight), if self.in_flight.is_some() => {
                    self.in_flight = None;
                    if let Some(stored) = stored {
                        self.announce(stored).await;
                    }
                }
                _ = expire.tick() => self.engine.expire(Utc::now()),
            }
        }
        self.finish_commit().await;
        if self.handle.closing.load(Ordering::Relaxed) {
            tracing::info!("exchange service stopped");
        } else {
            tracing::error!("exchange service stopped unexpectedly; restart safecare");
        }
        self.handle.finished.send_replace(true);
    }

    /// Takes the first message and whatever else is already waiting, up to the batch size.
    fn collect(&mut self, first: Received) -> Vec<Received> {
        let mut batch = vec![first];
        while batch.len() < self.batch_max {
            match self.incoming.try_recv() {
                Some(publish) => batch.push(publish),
                None => break,
            }
        }
        batch
    }

    /// Processes and stores every message already received.
    async fn drain(&mut self) {
        while let Some(first) = self.incoming.try_recv() {
            let batch = self.collect(first);
            self.ingest(batch).await;
        }
        self.finish_commit().await;
    }

    async fn ingest(&mut self, mut messages: Vec<Received>) {
        let started = Instant::now();
        let metrics = self.handle.metrics.clone();

        // 1. Decode: events, dead letters, and heartbeats of other modules.
        let mut batch = Batch::default();
        for message in &mut messages {
            let Some(decoded) = message.decoded.take() else {
                self.record_health(&message.publish.payload);
                continue;
            };
            metrics.messages_received.fetch_add(1, Ordering::Relaxed);
            match decoded {
                Decoded::Event(event) => batch.events.push(*event),
                Decoded::Rejected(letter) => {
                    metrics.dead_letter(&letter.module, &letter.reason_code);
                    tracing::debug!(topic = %letter.topic, reason = %letter.reason, "dead letter");
                    batch.dead_letters.push(letter);
                }
            }
        }

        // 2. Skip redelivered events, then evaluate the new ones into alerts.
        let received = batch.events.len();
        batch.events.retain(|event| self.recent.insert(event.id));
        let redelivered = (received - batch.events.len()) as u64;
        batch.alerts = self.correlate(&batch.events);

        // 3. Store it on a task of its own while the next batch is correlated.
        // A SQLite file's writer thread gets it at once, queued behind the
        // batch in flight, so that it never waits for this task; the previous
        // batch is announced only once this one is on its way.
        // Only batches with something to write take a number: an empty one
        // never reaches the store, so it must not hold up the next.
        let seq = self.next_seq;
        if !batch.is_empty() {
            self.next_seq += 1;
        }
        let (batch, queued) = match self.store.queue_in_order(batch, seq) {
            Ok(queued) => (Batch::default(), Some(queued)),
            Err(batch) => (batch, None),
        };
        let previous = self.take_commit().await;
        let pending = Pending {
            messages,
            batch,
            seq,
            redelivered,
            started,
        };
        let task = commit::spawn(
            self.store.clone(),
            self.handle.clone(),
            self.incoming.policy(),
            pending,
            queued,
        );
        self.in_flight = Some(task);
        if let Some(stored) = previous {
            self.announce(stored).await;
        }
    }

    /// Waits for the batch being committed, then acknowledges and announces it.
    async fn finish_commit(&mut self) {
        if let Some(stored) = self.take_commit().await {
            self.announce(stored).await;
        }
    }

    /// Waits for the batch being committed; `None` when there was none or its task failed.
    async fn take_commit(&mut self) -> Option<Stored> {
        let task = self.in_flight.take()?;
        match task.await {
            Ok(stored) => Some(stored),
            Err(err) => {
                tracing::error!(%err, "the commit task failed; its batch was not stored");
                None
            }
        }
    }

    /// Acknowledges a stored batch (after-commit policy) and tells the world.
    async fn announce(&mut self, stored: Stored) {
        let Stored { pending, outcome } = stored;
        let Some(outcome) = outcome else {
            return;
        };
        for message in &pending.messages {
            self.incoming.ack(message).await;
        }

        let metrics = &self.handle.metrics;
        let batch = &pending.batch;
        let duplicates = outcome.events_duplicate + pending.redelivered;
        metrics
            .events_stored
            .fetch_add(outcome.events_inserted, Ordering::Relaxed);
        metrics
            .events_duplicate
            .fetch_add(duplicates, Ordering::Relaxed);
        metrics.batches_committed.fetch_add(1, Ordering::Relaxed);
        metrics.observe_latency(pending.started.elapsed(), batch.events.len() as u64);
        self.publish_dead_letters(&batch.dead_letters).await;
        for alert in &batch.alerts {
            self.publish_alert(alert).await;
        }
        let report = CommitReport {
            event_ids: batch.events.iter().map(|e| e.id).collect(),
            outcome,
            committed_at: Instant::now(),
        };
        let _ = self.handle.commits.send(Arc::new(report));
    }

    /// Runs new events through the engine; returns the latest version of each changed alert.
    fn correlate(&mut self, events: &[SecurityEvent]) -> Vec<Alert> {
        let before = self.engine.stats();
        let mut alerts = self.engine.process_batch(events);
        for alert in &mut alerts {
            if self.acknowledged.contains(&alert.id) {
                alert.status = AlertStatus::Acknowledged;
            }
        }

        let metrics = &self.handle.metrics;
        let stats = self.engine.stats();
        metrics
            .correlation_late_events
            .store(stats.late_events, Ordering::Relaxed);
        metrics
            .correlation_evicted_groups
            .store(stats.evicted_groups, Ordering::Relaxed);
        metrics
            .correlation_tracked_groups
            .store(stats.tracked_groups as u64, Ordering::Relaxed);
        let raised = stats.alerts_created - before.alerts_created;
        let updated = stats.alerts_updated - before.alerts_updated;
        metrics.alerts_raised.fetch_add(raised, Ordering::Relaxed);
        metrics.alert_updates.fetch_add(updated, Ordering::Relaxed);
        alerts
    }

    async fn act(&mut self, command: Command) -> Result<Changed, ActionError> {
        // An action reads and changes alerts: the batch in flight must be stored first.
        self.finish_commit().await;
        let now = Utc::now();
        let mut batch = Batch::default();
        let mut changed = Changed::default();

        match command {
            Command::AcknowledgeAlert { alert, actor } => {
                let mut doc = self.alert(alert).await?;
                let detail = serde_json::json!({});
                batch.audit.push(workflow::move_alert(
                    &mut doc,
                    AlertStatus::Acknowledged,
                    &actor,
                    now,
                    detail,
                )?);
                self.acknowledged.insert(alert);
                self.engine.alert_acknowledged(alert);
                changed.alerts.push(doc);
            }
            Command::DismissAlert {
                alert,
                actor,
                reason,
            } => {
                let mut doc = self.alert(alert).await?;
                let detail = serde_json::json!({ "reason": reason });
                batch.audit.push(workflow::move_alert(
                    &mut doc,
                    AlertStatus::Dismissed,
                    &actor,
                    now,
                    detail,
                )?);
                doc.dismiss_reason = Some(reason);
                changed.alerts.push(doc);
            }
            Command::ConfirmAlert {
                alert,
                actor,
                incident,
                kind,
                title,
            } => {
                let mut doc = self.alert(alert).await?;
                let target = match incident {
                    Some(id) => Some(self.incident(id).await?),
                    None => None,
                };
                let mut incident =
                    self.confirm_into(&mut doc, target, kind, title, &actor, now, &mut batch)?;
                incident.updated = now;
                changed.alerts.push(doc);
                changed.incidents.push(incident);
            }
            Command::CreateIncident {
                alerts,
                actor,
                kind,
                title,
            } => {
                let mut docs = Vec::new();
                for id in alerts {
                    let mut doc = self.alert(id).await?;
                    let detail = serde_json::json!({});
                    batch.audit.push(workflow::move_alert(
                        &mut doc,
                        AlertStatus::Confirmed,
                        &actor,
                        now,
                        detail,
                    )?);
                    docs.push(doc);
                }
                let (incident, record) = workflow::new_incident(&docs, kind, title, &actor, now);
                batch.audit.push(record);
                for doc in &mut docs {
                    doc.incident = Some(incident.id);
                }
                changed.alerts = docs;
                changed.incidents.push(incident);
            }
            Command::MergeIncidents { into, from, actor } => {
                let mut target = self.incident(into).await?;
                let mut sources = Vec::new();
                for id in from {
                    sources.push(self.incident(id).await?);
                }
                batch
                    .audit
                    .extend(workflow::merge(&mut target, &mut sources, &actor, now)?);
                changed.incidents.push(target);
                changed.incidents.extend(sources);
            }
            Command::SetIncidentState {
                incident,
                actor,
                state,
            } => {
                let mut doc = self.incident(incident).await?;
                batch
                    .audit
                    .push(workflow::set_state(&mut doc, state, &actor, now)?);
                changed.incidents.push(doc);
            }
            Command::AssignOwner {
                incident,
                actor,
                owner,
            } => {
                let mut doc = self.incident(incident).await?;
                batch
                    .audit
                    .push(workflow::assign(&mut doc, &owner, &actor, now)?);
                changed.incidents.push(doc);
            }
            Command::AddNote {
                incident,
                actor,
                text,
            } => {
                let mut doc = self.incident(incident).await?;
                batch
                    .audit
                    .push(workflow::add_note(&mut doc, &text, &actor, now)?);
                changed.incidents.push(doc);
            }
        }

        batch.alerts = changed.alerts.clone();
        batch.incidents = changed.incidents.clone();
        self.store.commit(&batch).await?;
        self.after_action(&changed).await;
        Ok(changed)
    }

    #[allow(clippy::too_many_arguments)]
    fn confirm_into(
        &mut self,
        alert: &mut Alert,
        target: Option<Incident>,
        kind: Option<safecare_core::IncidentType>,
        title: Option<String>,
        actor: &str,
        now: chrono::DateTime<Utc>,
        batch: &mut Batch,
    ) -> Result<Incident, WorkflowError> {
        let detail = serde_json::json!({});
        batch.audit.push(workflow::move_alert(
            alert,
            AlertStatus::Confirmed,
            actor,
            now,
            detail,
        )?);
        let incident = match target {
            Some(mut incident) => {
                batch
                    .audit
                    .push(workflow::add_alert(&mut incident, alert, actor, now)?);
                incident
            }
            None => {
                let (incident, record) =
                    workflow::new_incident(std::slice::from_ref(alert), kind, title, actor, now);
                batch.audit.push(record);
                incident
            }
        };
        alert.incident = Some(incident.id);
        Ok(incident)
    }

    async fn after_action(&mut self, changed: &Changed) {
        let metrics = self.handle.metrics.clone();
        for alert in &changed.alerts {
            if alert.status.is_closed() {
                self.engine.alert_closed(alert.id);
                self.acknowledged.remove(&alert.id);
            }
            metrics.alert_updates.fetch_add(1, Ordering::Relaxed);
            self.publish_alert(alert).await;
        }
        for incident in &changed.incidents {
            metrics.incidents_changed.fetch_add(1, Ordering::Relaxed);
            let _ = self
                .handle
                .bus
                .publish_json(topics::INCIDENT, Qos::AtLeastOnce, false, incident)
                .await;
            let _ = self
                .handle
                .live
                .send(LiveUpdate::Incident(incident.clone()));
        }
    }

    async fn alert(&self, id: Ulid) -> Result<Alert, ActionError> {
        self.store
            .reader()
            .alert(id)
            .await?
            .ok_or(ActionError::Workflow(WorkflowError::NotFound {
                what: "alert",
                id,
            }))
    }

    async fn incident(&self, id: Ulid) -> Result<Incident, ActionError> {
        self.store
            .reader()
            .incident(id)
            .await?
            .ok_or(ActionError::Workflow(WorkflowError::NotFound {
                what: "incident",
                id,
            }))
    }

    async fn publish_alert(&self, alert: &Alert) {
        let _ = self
            .handle
            .bus
            .publish_json(topics::ALERT, Qos::AtLeastOnce, false, alert)
            .await;
        let _ = self.handle.live.send(LiveUpdate::Alert(alert.clone()));
    }

    async fn publish_dead_letters(&self, letters: &[DeadLetter]) {
        for letter in letters {
            let topic = topics::deadletter(&letter.module);
            let _ = self
                .handle
                .bus
                .publish_json(&topic, Qos::AtLeastOnce, false, letter)
                .await;
        }
    }

    fn record_health(&self, payload: &[u8]) {
        if let Ok(report) = serde_json::from_slice::<HealthReport>(payload) {
            let mut map = self
                .handle
                .health
                .write()
                .unwrap_or_else(|e| e.into_inner());
            map.insert(report.module.clone(), report);
        }
    }
}

use std::sync::atomic::Ordering;

/// A bounded memory of recently seen event ids, oldest forgotten first.
struct RecentIds {
    set: HashSet<Ulid>,
    order: VecDeque<Ulid>,
    capacity: usize,
}

impl RecentIds {
    fn new(capacity: usize) -> Self {
        RecentIds {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Remembers `id`; false when it was already remembered.
    fn insert(&mut self, id: Ulid) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        true
    }
}
