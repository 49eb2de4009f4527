//! The HAMS service on the bus: impact assessments in, availability out.
//!
//! Subscribes to `safecare/v1/impact`, keeps the open incidents' assessments, and after
//! every change (an assessment, a cleared incident, an operator override, a new site)
//! publishes the availability, retained, as JSON on `safecare/v1/availability` and as
//! EDXL-HAVE 1.0 XML on `safecare/v1/availability/have`. A burst of changes is published
//! once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use safecare_bus::client::Qos;
use safecare_bus::{BrokerUrl, BusClient, BusError, ClientOptions, Incoming, topics};
use safecare_core::site::Site;
use safecare_impact::ImpactAssessment;
use thiserror::Error;
use ulid::Ulid;

use crate::handle::AvailabilityHandle;
use crate::have::have_xml;

/// The module name on the bus (`health/hams`).
pub const MODULE: &str = "hams";

/// Why the HAMS service could not start.
#[derive(Debug, Error)]
pub enum HamsError {
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// A running HAMS service; cheap to clone.
#[derive(Clone)]
pub struct HamsService {
    handle: AvailabilityHandle,
    bus: BusClient,
    published: Arc<AtomicU64>,
    rejected: Arc<AtomicU64>,
}

impl HamsService {
    /// The shared availability handle (serve it over HTTP, set overrides).
    pub fn handle(&self) -> &AvailabilityHandle {
        &self.handle
    }

    /// Availability documents published so far (JSON and XML count as one).
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Impact messages that did not parse.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Says goodbye on the bus and stops.
    pub async fn shutdown(&self) {
        self.bus.shutdown().await;
    }
}

/// Connects to the broker and starts the service on a new availability model of `site`.
pub async fn run(broker: &BrokerUrl, site: Arc<Site>) -> Result<HamsService, HamsError> {
    run_with(broker, AvailabilityHandle::new(site), None).await
}

/// Starts the service on an existing handle (the HTTP API shares it).
pub async fn run_with(
    broker: &BrokerUrl,
    handle: AvailabilityHandle,
    client_id: Option<String>,
) -> Result<HamsService, HamsError> {
    let mut options = ClientOptions::new(MODULE).subscribe(topics::IMPACT, Qos::AtLeastOnce);
    options.client_id = client_id.unwrap_or_else(|| format!("safecare-hams-{}", Ulid::new()));
    let (bus, incoming) = BusClient::connect(broker, options, Duration::from_secs(10)).await?;

    let service = HamsService {
        handle,
        bus,
        published: Arc::default(),
        rejected: Arc::default(),
    };
    publish(&service).await;
    tokio::spawn(worker(service.clone(), incoming));
    tracing::info!(broker = %broker, "hams service started");
    Ok(service)
}

async fn worker(service: HamsService, mut incoming: Incoming) {
    loop {
        tokio::select! {
            publish_message = incoming.recv() => match publish_message {
                Some(message) => on_message(&service, &message.payload),
                None => break,
            },
            () = service.handle.changed() => publish(&service).await,
        }
    }
    tracing::info!("hams service stopped");
}

fn on_message(service: &HamsService, payload: &[u8]) {
    match serde_json::from_slice::<ImpactAssessment>(payload) {
        Ok(assessment) => service.handle.apply(assessment),
        Err(err) => {
            service.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%err, bytes = payload.len(), "impact message does not parse; skipped");
        }
    }
}

async fn publish(service: &HamsService) {
    let availability = service.handle.availability_now();
    let xml = have_xml(&availability);
    let json = service
        .bus
        .publish_json(topics::AVAILABILITY, Qos::AtLeastOnce, true, &availability)
        .await;
    let have = service
        .bus
        .publish(
            topics::AVAILABILITY_HAVE,
            Qos::AtLeastOnce,
            true,
            xml.into_bytes(),
        )
        .await;
    match json.and(have) {
        Ok(()) => {
            service.published.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                incidents = availability.incidents.len(),
                "availability published"
            );
        }
        Err(err) => tracing::error!(%err, "availability not published"),
    }
}
