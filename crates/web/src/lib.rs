//! The SafeCare HTTP API: what operators and the console read and do.
//!
//! Reads go to the store through its read-only handle; every change goes
//! through the exchange service, which writes the store and the audit trail.
//! Errors are JSON `{"error": "..."}`: a precise message for what the caller
//! can fix, a generic one (with the detail in the log) for internal faults.

mod api;
mod building;
mod error;
mod files;
pub mod openapi;
mod status;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::Router;
use safecare_core::site::Site;
use safecare_exchange::ExchangeHandle;
use safecare_hams::AvailabilityHandle;
use safecare_impact::service::ImpactService;
use safecare_physical::ZoneStates;

pub use error::ApiError;
pub use files::{DEFAULT_MAX_UPLOAD_BYTES, FilesModule};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub exchange: ExchangeHandle,
    /// Name of the hospital the platform watches, for the status page.
    pub site_name: String,
    pub started: Instant,
    /// The other modules running in this process, when they are.
    pub modules: Modules,
}

/// Modules whose state the API serves when they run in the same process.
#[derive(Clone, Default)]
pub struct Modules {
    pub site: Option<Arc<Site>>,
    pub availability: Option<AvailabilityHandle>,
    pub impact: Option<ImpactService>,
    pub zones: Option<Arc<RwLock<ZoneStates>>>,
    /// File analysis of uploads (`POST /api/files`).
    pub files: Option<FilesModule>,
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    api::routes()
        .merge(building::routes())
        .merge(files::routes())
        .merge(status::routes())
        .with_state(state)
}

/// Serves the API on an already bound listener until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?addr, "HTTP API listening");
    axum::serve(listener, router(state)).await
}
