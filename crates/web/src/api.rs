//! The JSON API under `/api`.

use std::convert::Infallible;

use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::Stream;
use safecare_core::{IncidentState, IncidentType, SecurityEvent};
use safecare_exchange::{Changed, Command, LiveUpdate};
use safecare_store::{AlertFilter, EventFilter, IncidentFilter, Page};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use ulid::Ulid;

use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/schema/{document}", get(schema))
        .route("/api/health", get(health))
        .route("/api/events", get(list_events))
        .route("/api/events/{id}", get(get_event))
        .route("/api/alerts", get(list_alerts))
        .route("/api/alerts/{id}", get(get_alert))
        .route("/api/alerts/{id}/audit", get(audit))
        .route("/api/alerts/{id}/acknowledge", post(acknowledge))
        .route("/api/alerts/{id}/confirm", post(confirm))
        .route("/api/alerts/{id}/dismiss", post(dismiss))
        .route("/api/incidents", get(list_incidents).post(create_incident))
        .route("/api/incidents/{id}", get(get_incident))
        .route("/api/incidents/{id}/audit", get(audit))
        .route("/api/incidents/{id}/merge", post(merge))
        .route("/api/incidents/{id}/state", post(set_state))
        .route("/api/incidents/{id}/owner", post(assign))
        .route("/api/incidents/{id}/notes", post(add_note))
        .route("/api/dead-letters", get(dead_letters))
        .route("/api/stream", get(stream))
}

/// Query parameters, with a JSON error that names the bad one.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|err| {
                ApiError::bad_request(format!("bad query parameter: {}", err.body_text()))
            })
    }
}

/// A JSON body, with a JSON error that names the bad field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(request, state)
            .await
            .map(|j| ApiJson(j.0))
            .map_err(|err| ApiError::bad_request(format!("bad request body: {}", err.body_text())))
    }
}

fn parse_id(id: &str) -> Result<Ulid, ApiError> {
    Ulid::from_string(id).map_err(|_| ApiError::bad_request(format!("`{id}` is not a ULID")))
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

async fn schema(Path(document): Path<String>) -> Result<Json<Value>, ApiError> {
    safecare_core::schema::schema_of(&document)
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no schema `{document}`; try event, alert or incident"
            ))
        })
}

async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let counts = state.exchange.reader().counts().await?;
    Ok(Json(json!({
        "status": "up",
        "uptime_s": state.started.elapsed().as_secs(),
        "bus_connected": state.exchange.bus().is_connected(),
        "counts": counts,
        "modules": state.exchange.module_health(),
    })))
}

async fn list_events(
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<EventFilter>,
) -> Result<Json<Page<SecurityEvent>>, ApiError> {
    Ok(Json(state.exchange.reader().events(&filter).await?))
}

async fn get_event(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SecurityEvent>, ApiError> {
    let id = parse_id(&id)?;
    let event = state.exchange.reader().event(id).await?;
    event
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no event with id {id}")))
}

async fn list_alerts(
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<AlertFilter>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.exchange.reader().alerts(&filter).await?)))
}

async fn get_alert(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let alert = state.exchange.reader().alert(id).await?;
    alert
        .map(|a| Json(json!(a)))
        .ok_or_else(|| ApiError::not_found(format!("no alert with id {id}")))
}

async fn list_incidents(
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<IncidentFilter>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        state.exchange.reader().incidents(&filter).await?
    )))
}

async fn get_incident(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let incident = state.exchange.reader().incident(id).await?;
    incident
        .map(|i| Json(json!(i)))
        .ok_or_else(|| ApiError::not_found(format!("no incident with id {id}")))
}

async fn audit(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(json!(
        state.exchange.reader().audit_for(&id.to_string()).await?
    )))
}

#[derive(Deserialize)]
struct DeadLetterQuery {
    #[serde(default)]
    limit: Option<u32>,
}

async fn dead_letters(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DeadLetterQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = query.limit.unwrap_or(100).min(1000);
    Ok(Json(json!(
        state.exchange.reader().dead_letters(limit).await?
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Actor {
    actor: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmBody {
    actor: String,
    #[serde(default)]
    incident: Option<Ulid>,
    #[serde(default, rename = "type")]
    kind: Option<IncidentType>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DismissBody {
    actor: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateIncidentBody {
    actor: String,
    alerts: Vec<Ulid>,
    #[serde(default, rename = "type")]
    kind: Option<IncidentType>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    actor: String,
    from: Vec<Ulid>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    actor: String,
    state: IncidentState,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnerBody {
    actor: String,
    owner: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    actor: String,
    text: String,
}

async fn act(state: &AppState, command: Command) -> Result<Json<Changed>, ApiError> {
    Ok(Json(state.exchange.act(command).await?))
}

async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Actor>,
) -> Result<Json<Changed>, ApiError> {
    act(
        &state,
        Command::AcknowledgeAlert {
            alert: parse_id(&id)?,
            actor: body.actor,
        },
    )
    .await
}

async fn confirm(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ConfirmBody>,
) -> Result<Json<Changed>, ApiError> {
    let command = Command::ConfirmAlert {
        alert: parse_id(&id)?,
        actor: body.actor,
        incident: body.incident,
        kind: body.kind,
        title: body.title,
    };
    act(&state, command).await
}

async fn dismiss(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DismissBody>,
) -> Result<Json<Changed>, ApiError> {
    let command = Command::DismissAlert {
        alert: parse_id(&id)?,
        actor: body.actor,
        reason: body.reason,
    };
    act(&state, command).await
}

async fn create_incident(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateIncidentBody>,
) -> Result<Json<Changed>, ApiError> {
    let command = Command::CreateIncident {
        alerts: body.alerts,
        actor: body.actor,
        kind: body.kind,
        title: body.title,
    };
    act(&state, command).await
}

async fn merge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MergeBody>,
) -> Result<Json<Changed>, ApiError> {
    let command = Command::MergeIncidents {
        into: parse_id(&id)?,
        from: body.from,
        actor: body.actor,
    };
    act(&state, command).await
}

async fn set_state(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StateBody>,
) -> Result<Json<Changed>, ApiError> {
    let command = Command::SetIncidentState {
        incident: parse_id(&id)?,
        actor: body.actor,
        state: body.state,
    };
    act(&state, command).await
}

async fn assign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OwnerBody>,
) -> Result<Json<Changed>, ApiError> {
    let command = Command::AssignOwner {
        incident: parse_id(&id)?,
        actor: body.actor,
        owner: body.owner,
    };
    act(&state, command).await
}

async fn add_note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<Json<Changed>, ApiError> {
    let command = Command::AddNote {
        incident: parse_id(&id)?,
        actor: body.actor,
        text: body.text,
    };
    act(&state, command).await
}

/// Server-sent events: `alert` and `incident` documents as they change.
async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let updates = BroadcastStream::new(state.exchange.subscribe_live()).filter_map(|update| {
        let update = update.ok()?;
        let (name, data) = match &update {
            LiveUpdate::Alert(alert) => ("alert", serde_json::to_string(alert)),
            LiveUpdate::Incident(incident) => ("incident", serde_json::to_string(incident)),
        };
        Some(Ok(SseEvent::default().event(name).data(data.ok()?)))
    });
    Sse::new(updates).keep_alive(KeepAlive::default())
}
