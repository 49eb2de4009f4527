//! A shared, thread-safe handle on the availability model, for the bus service and HTTP.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::Utc;
use safecare_core::site::Site;
use safecare_impact::ImpactAssessment;
use tokio::sync::Notify;

use crate::have::have_xml;
use crate::model::{Availability, AvailabilityModel, Override, OverrideError};

/// The availability model behind a lock; cheap to clone, shared by the service and the
/// HTTP API (`GET /api/availability` serves [`AvailabilityHandle::availability_now`],
/// `GET /api/availability/have` serves [`AvailabilityHandle::have_now`]).
#[derive(Clone)]
pub struct AvailabilityHandle {
    model: Arc<RwLock<AvailabilityModel>>,
    changed: Arc<Notify>,
}

impl AvailabilityHandle {
    /// A handle on a model at baseline.
    pub fn new(site: Arc<Site>) -> AvailabilityHandle {
        AvailabilityHandle {
            model: Arc::new(RwLock::new(AvailabilityModel::new(site))),
            changed: Arc::new(Notify::new()),
        }
    }

    /// Availability now, as JSON-ready data.
    pub fn availability_now(&self) -> Availability {
        self.read().compute(Utc::now())
    }

    /// Availability now, as EDXL-HAVE 1.0 XML.
    pub fn have_now(&self) -> String {
        have_xml(&self.availability_now())
    }

    /// Takes in an incident's latest impact assessment.
    pub fn apply(&self, assessment: ImpactAssessment) {
        self.write().apply(assessment);
        self.changed.notify_one();
    }

    /// Sets an operator override; the service republishes.
    pub fn set_override(&self, item: Override) -> Result<(), OverrideError> {
        self.write().set_override(item)?;
        self.changed.notify_one();
        Ok(())
    }

    /// Removes a service's override; true if there was one.
    pub fn clear_override(&self, service: &str) -> bool {
        let removed = self.write().clear_override(service);
        if removed {
            self.changed.notify_one();
        }
        removed
    }

    /// Switches to a new site.
    pub fn replace_site(&self, site: Arc<Site>) {
        self.write().replace_site(site);
        self.changed.notify_one();
    }

    /// Resolves when something changed since the last call (used by the service).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    fn read(&self) -> RwLockReadGuard<'_, AvailabilityModel> {
        self.model.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, AvailabilityModel> {
        self.model.write().unwrap_or_else(|e| e.into_inner())
    }
}
