//! The impact service on the bus: incidents in, assessments with actions out.
//!
//! Subscribes to `safecare/v1/incident`; on every incident change it reassesses the
//! incident and publishes the assessment, with the recommended actions, on
//! `safecare/v1/impact` (QoS 1). A resolved, closed or merged incident gets a `cleared`
//! assessment so that consumers (HAMS) drop its impact. When the site file changes, the
//! engine is rebuilt and every open incident is reassessed against the new site.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use safecare_bus::client::Qos;
use safecare_bus::{BrokerUrl, BusClient, BusError, ClientOptions, Incoming, topics};
use safecare_core::site::Site;
use safecare_core::{Incident, MAX_MESSAGE_BYTES};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use ulid::Ulid;

use crate::assessment::{ImpactAssessment, is_cleared};
use crate::playbook::PlaybookSet;
use crate::propagate::Engine;
use crate::rules::RuleSet;

/// The module name on the bus (`health/impact`).
pub const MODULE: &str = "impact";
/// Open incidents kept for reassessment at most; beyond, the oldest update is dropped.
pub const MAX_OPEN_INCIDENTS: usize = 10_000;

/// How the impact service runs.
#[derive(Debug, Clone)]
pub struct ImpactConfig {
    pub rules: Arc<RuleSet>,
    pub playbooks: Arc<PlaybookSet>,
    /// MQTT client id; a unique one is made when `None`.
    pub client_id: Option<String>,
    pub connect_timeout: Duration,
}

impl Default for ImpactConfig {
    fn default() -> Self {
        ImpactConfig {
            rules: Arc::new(RuleSet::defaults()),
            playbooks: Arc::new(PlaybookSet::defaults()),
            client_id: None,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Why the impact service stopped or could not start.
#[derive(Debug, Error)]
pub enum ImpactServiceError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("the impact service has stopped; restart the module")]
    Stopped,
}

enum Command {
    ReplaceSite(Arc<Site>, oneshot::Sender<usize>),
    Sync(oneshot::Sender<()>),
}

/// A running impact service; cheap to clone.
#[derive(Clone)]
pub struct ImpactService {
    commands: mpsc::Sender<Command>,
    current: Arc<RwLock<BTreeMap<Ulid, ImpactAssessment>>>,
    published: Arc<AtomicU64>,
    rejected: Arc<AtomicU64>,
    bus: BusClient,
}

impl ImpactService {
    /// The current assessment of every open incident.
    pub fn assessments(&self) -> Vec<ImpactAssessment> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.values().cloned().collect()
    }

    /// The current assessment of one incident.
    pub fn assessment(&self, incident: Ulid) -> Option<ImpactAssessment> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.get(&incident).cloned()
    }

    /// Assessments published so far.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Incident messages that did not parse.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Switches to a new site and reassesses every open incident; returns how many.
    pub async fn replace_site(&self, site: Arc<Site>) -> Result<usize, ImpactServiceError> {
        let (reply, done) = oneshot::channel();
        self.commands
            .send(Command::ReplaceSite(site, reply))
            .await
            .map_err(|_| ImpactServiceError::Stopped)?;
        done.await.map_err(|_| ImpactServiceError::Stopped)
    }

    /// Waits until every message received so far has been handled.
    pub async fn sync(&self) -> Result<(), ImpactServiceError> {
        let (reply, done) = oneshot::channel();
        self.commands
            .send(Command::Sync(reply))
            .await
            .map_err(|_| ImpactServiceError::Stopped)?;
        done.await.map_err(|_| ImpactServiceError::Stopped)
    }

    /// Says goodbye on the bus and stops.
    pub async fn shutdown(&self) {
        self.bus.shutdown().await;
    }
}

/// Connects to the broker with the default rules and playbooks and starts the service.
pub async fn run(broker: &BrokerUrl, site: Arc<Site>) -> Result<ImpactService, ImpactServiceError> {
    run_with(broker, site, ImpactConfig::default()).await
}

/// Connects to the broker and starts the service with the given rules and playbooks.
pub async fn run_with(
    broker: &BrokerUrl,
    site: Arc<Site>,
    config: ImpactConfig,
) -> Result<ImpactService, ImpactServiceError> {
    let mut options = ClientOptions::new(MODULE).subscribe(topics::INCIDENT, Qos::AtLeastOnce);
    options.client_id = config
        .client_id
        .clone()
        .unwrap_or_else(|| format!("safecare-impact-{}", Ulid::new()));
    let (bus, incoming) = BusClient::connect(broker, options, config.connect_timeout).await?;

    let engine = build_engine(site, config.rules.clone()).await;
    let (commands, commands_rx) = mpsc::channel(16);
    let service = ImpactService {
        commands,
        current: Arc::default(),
        published: Arc::default(),
        rejected: Arc::default(),
        bus: bus.clone(),
    };
    let worker = Worker {
        engine,
        rules: config.rules,
        playbooks: config.playbooks,
        open: BTreeMap::new(),
        incoming,
        commands: commands_rx,
        service: service.clone(),
    };
    tokio::spawn(worker.run());
    tracing::info!(broker = %broker, "impact service started");
    Ok(service)
}

async fn build_engine(site: Arc<Site>, rules: Arc<RuleSet>) -> Arc<Engine> {
    let built = tokio::task::spawn_blocking({
        let site = site.clone();
        let rules = rules.clone();
        move || Engine::new(site, rules)
    })
    .await;
    match built {
        Ok(engine) => Arc::new(engine),
        Err(err) => {
            tracing::warn!(%err, "building the harm graph in the background failed; building inline");
            Arc::new(Engine::new(site, rules))
        }
    }
}

struct Worker {
    engine: Arc<Engine>,
    rules: Arc<RuleSet>,
    playbooks: Arc<PlaybookSet>,
    /// Open incidents, kept to reassess them when the site changes.
    open: BTreeMap<Ulid, Incident>,
    incoming: Incoming,
    commands: mpsc::Receiver<Command>,
    service: ImpactService,
}

impl Worker {
    async fn run(mut self) {
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::ReplaceSite(site, reply)) => {
                        let count = self.replace_site(site).await;
                        let _ = reply.send(count);
                    }
                    Some(Command::Sync(reply)) => {
                        while let Some(publish) = self.incoming.try_recv() {
                            self.on_message(&publish.payload).await;
                        }
                        let _ = reply.send(());
                    }
                    None => break,
                },
                publish = self.incoming.recv() => match publish {
                    Some(publish) => self.on_message(&publish.payload).await,
                    None => break,
                },
            }
        }
        tracing::info!("impact service stopped");
    }

    async fn on_message(&mut self, payload: &[u8]) {
        let incident: Incident = match serde_json::from_slice(payload) {
            Ok(incident) => incident,
            Err(err) => {
                self.service.rejected.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%err, bytes = payload.len(), "incident message does not parse; skipped");
                return;
            }
        };
        if is_cleared(&incident) {
            self.open.remove(&incident.id);
        } else {
            self.open.insert(incident.id, incident.clone());
            self.forget_oldest();
        }
        self.assess_and_publish(incident).await;
    }

    /// Keeps the open incidents bounded: drops the least recently updated beyond the cap.
    fn forget_oldest(&mut self) {
        if self.open.len() <= MAX_OPEN_INCIDENTS {
            return;
        }
        let oldest = self.open.values().min_by_key(|i| i.updated).map(|i| i.id);
        if let Some(oldest) = oldest {
            self.open.remove(&oldest);
            tracing::warn!(
                incident = %oldest,
                max = MAX_OPEN_INCIDENTS,
                "too many open incidents; the oldest is no longer reassessed on site changes"
            );
        }
    }

    async fn assess_and_publish(&mut self, incident: Incident) {
        let engine = self.engine.clone();
        let playbooks = self.playbooks.clone();
        let assessed = tokio::task::spawn_blocking(move || {
            let mut assessment = engine.assess(&incident);
            assessment.actions = playbooks.recommend(&assessment, &incident);
            assessment
        })
        .await;
        let assessment = match assessed {
            Ok(assessment) => assessment,
            Err(err) => {
                tracing::error!(%err, "an assessment failed; the incident's impact is not published");
                return;
            }
        };
        self.publish(assessment).await;
    }

    async fn publish(&mut self, assessment: ImpactAssessment) {
        {
            let mut current = self
                .service
                .current
                .write()
                .unwrap_or_else(|e| e.into_inner());
            if assessment.cleared {
                current.remove(&assessment.incident);
            } else {
                current.insert(assessment.incident, assessment.clone());
            }
        }
        let payload = assessment.to_json_within(MAX_MESSAGE_BYTES);
        if payload.len() > MAX_MESSAGE_BYTES {
            tracing::error!(
                incident = %assessment.incident,
                bytes = payload.len(),
                "the impact of this incident does not fit in a bus message even without assets"
            );
        }
        let sent = self
            .service
            .bus
            .publish(topics::IMPACT, Qos::AtLeastOnce, false, payload)
            .await;
        match sent {
            Ok(()) => {
                self.service.published.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    incident = %assessment.incident,
                    services = assessment.services.len(),
                    cleared = assessment.cleared,
                    "impact published"
                );
            }
            Err(err) => {
                tracing::error!(%err, incident = %assessment.incident, "impact not published")
            }
        }
    }

    async fn replace_site(&mut self, site: Arc<Site>) -> usize {
        tracing::info!(
            site = site.id(),
            open = self.open.len(),
            "site changed; reassessing open incidents"
        );
        self.engine = build_engine(site, self.rules.clone()).await;
        let open: Vec<Incident> = self.open.values().cloned().collect();
        for incident in &open {
            self.assess_and_publish(incident.clone()).await;
        }
        open.len()
    }
}
