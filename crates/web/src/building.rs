//! What the building and the hospital look like now: zones, floor plans,
//! impact of incidents, availability (JSON and EDXL-HAVE), and the
//! access-control webhook.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use safecare_bus::QoS;
use serde_json::{Value, json};
use ulid::Ulid;

use crate::{ApiError, AppState};

/// The native topic the access-control webhook's body is published on.
pub const ACCESS_WEBHOOK_TOPIC: &str = "site/access/webhook";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/availability", get(availability))
        .route("/api/availability/have", get(availability_have))
        .route("/api/incidents/{id}/impact", get(impact))
        .route("/api/zones", get(zones))
        .route("/api/zones/{id}", get(zone))
        .route("/api/floors/{id}/plan.svg", get(floor_plan))
        .route("/api/webhooks/access", post(access_webhook))
}

fn not_running(module: &str) -> ApiError {
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: format!("the {module} module does not run in this process"),
    }
}

async fn availability(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let handle = state
        .modules
        .availability
        .as_ref()
        .ok_or_else(|| not_running("hams"))?;
    Ok(Json(json!(handle.availability_now())))
}

async fn availability_have(State(state): State<AppState>) -> Result<Response, ApiError> {
    let handle = state
        .modules
        .availability
        .as_ref()
        .ok_or_else(|| not_running("hams"))?;
    let xml = handle.have_now();
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    )
        .into_response())
}

async fn impact(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let service = state
        .modules
        .impact
        .as_ref()
        .ok_or_else(|| not_running("impact"))?;
    let id = Ulid::from_string(&id)
        .map_err(|_| ApiError::bad_request(format!("`{id}` is not a ULID")))?;
    let assessment = service.assessment(id).ok_or_else(|| {
        ApiError::not_found(format!(
            "no impact assessment for incident {id} (is it open?)"
        ))
    })?;
    Ok(Json(json!(assessment)))
}

async fn zones(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let zones = state
        .modules
        .zones
        .as_ref()
        .ok_or_else(|| not_running("physical"))?;
    let states = zones.read().unwrap_or_else(|e| e.into_inner());
    Ok(Json(states.to_json()))
}

async fn zone(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let zones = state
        .modules
        .zones
        .as_ref()
        .ok_or_else(|| not_running("physical"))?;
    let states = zones.read().unwrap_or_else(|e| e.into_inner());
    states
        .zone_json(&id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no zone `{id}`")))
}

async fn floor_plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let zones = state
        .modules
        .zones
        .as_ref()
        .ok_or_else(|| not_running("physical"))?;
    let site = state
        .modules
        .site
        .as_ref()
        .ok_or_else(|| not_running("site"))?;
    let known = site.zones().any(|(_, floor, _)| floor.id == id);
    if !known {
        return Err(ApiError::not_found(format!(
            "no floor `{id}` in the site model"
        )));
    }
    let svg = {
        let states = zones.read().unwrap_or_else(|e| e.into_inner());
        safecare_physical::render_floor_svg(site, &id, &states)
    };
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// Takes an access-control system's webhook and hands it to the physical adapters.
async fn access_webhook(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let events = safecare_physical::ingest_webhook(&body)
        .map_err(|err| ApiError::bad_request(format!("access webhook refused: {err}")))?;
    state
        .exchange
        .bus()
        .publish(ACCESS_WEBHOOK_TOPIC, QoS::AtLeastOnce, false, body.to_vec())
        .await
        .map_err(|err| ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: err.to_string(),
        })?;
    Ok(Json(
        json!({ "accepted": true, "direct_events": events.len() }),
    ))
}
