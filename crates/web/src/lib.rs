//! The SafeCare HTTP API: what operators and the console read and do.
//!
//! Reads go to the store through its read-only handle; every change goes
//! through the exchange service, which writes the store and the audit trail.
//! Errors are JSON `{"error": "..."}`: a precise message for what the caller
//! can fix, a generic one (with the detail in the log) for internal faults.

mod api;
mod error;
pub mod openapi;
mod status;

use std::net::SocketAddr;
use std::time::Instant;

use axum::Router;
use safecare_exchange::ExchangeHandle;

pub use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub exchange: ExchangeHandle,
    /// Name of the hospital the platform watches, for the status page.
    pub site_name: String,
    pub started: Instant,
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    api::routes().merge(status::routes()).with_state(state)
}

/// Serves the API on an already bound listener until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?addr, "HTTP API listening");
    axum::serve(listener, router(state)).await
}
