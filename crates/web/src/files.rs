//! File uploads: `POST /api/files` analyses the body as one file, answers its
//! verdict document, and publishes the verdict's events on the bus like any
//! detector (the exchange stores them; this crate never writes the store).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use futures::StreamExt;
use safecare_core::{AssetDirectory, EmptyDirectory};
use safecare_files::events::verdict_events;
use safecare_files::{Analyzer, Verdict};
use serde::Deserialize;
use serde_json::json;

use crate::{ApiError, AppState};

/// The largest upload analysed unless the platform says otherwise: 64 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// Longest file name kept in the verdict and its events.
const MAX_NAME_CHARS: usize = 255;

/// The file analysis as the API runs it.
#[derive(Clone)]
pub struct FilesModule {
    pub analyzer: Arc<Analyzer>,
    /// Bodies larger than this are refused with 413 before they are analysed.
    pub max_upload_bytes: usize,
}

impl FilesModule {
    /// Uploads analysed by `analyzer`, up to [`DEFAULT_MAX_UPLOAD_BYTES`].
    pub fn new(analyzer: Arc<Analyzer>) -> Self {
        FilesModule {
            analyzer,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/files", post(upload))
}

#[derive(Debug, Deserialize)]
struct UploadQuery {
    /// The file's name, shown in the verdict and its events.
    name: Option<String>,
}

/// Analyses the request body as one file and publishes the events of a bad verdict.
async fn upload(
    State(state): State<AppState>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Verdict>, ApiError> {
    let files = state.modules.files.clone().ok_or_else(|| ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: "the files module does not run in this process".into(),
    })?;
    let name = upload_name(query.name)?;

    // Refuse what is declared too large before reading it, then count what arrives.
    let max = files.max_upload_bytes;
    let mut stream = body.into_data_stream();
    if declared_length(&headers).is_some_and(|length| length > max as u64) {
        if !expects_continue(&headers) {
            drain(&mut stream).await;
        }
        return Err(too_large(max));
    }
    let bytes = match read_capped(&mut stream, max).await? {
        Some(bytes) => bytes,
        None => {
            drain(&mut stream).await;
            return Err(too_large(max));
        }
    };

    let analyzer = files.analyzer.clone();
    let verdict = tokio::task::spawn_blocking(move || analyzer.analyze_bytes(&name, &bytes))
        .await
        .map_err(|err| {
            tracing::error!(%err, "the analysis of an upload failed");
            ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: "the analysis failed (details in the server log)".into(),
            }
        })?;

    publish_events(&state, &verdict).await?;
    Ok(Json(verdict))
}

/// The name given in `?name=`, or `upload`; control characters are refused.
fn upload_name(name: Option<String>) -> Result<String, ApiError> {
    let name = name.unwrap_or_else(|| "upload".to_string());
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::bad_request(format!(
            "`name` must have 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "`name` must not hold control characters",
        ));
    }
    Ok(name)
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
}

/// Reads the body; `None` as soon as it passes `max` bytes.
async fn read_capped(stream: &mut BodyStream, max: usize) -> Result<Option<Vec<u8>>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|err| ApiError::bad_request(format!("the upload broke off: {err}")))?;
        if bytes.len() + chunk.len() > max {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

/// The body of a request, as it arrives.
type BodyStream = axum::body::BodyDataStream;

/// How much of a refused upload is read and thrown away before the 413 goes
/// out. A client that sends a whole file before it reads the answer (curl,
/// most scripts) would otherwise see its connection reset instead of the
/// reason; past this much, or a pause of [`DRAIN_IDLE`], the connection is
/// closed anyway.
const DRAIN_BYTES: usize = 256 * 1024 * 1024;
const DRAIN_IDLE: Duration = Duration::from_secs(1);

/// Reads and drops what is left of a refused upload, within the limits above.
async fn drain(stream: &mut BodyStream) {
    let mut drained = 0;
    while drained < DRAIN_BYTES {
        match tokio::time::timeout(DRAIN_IDLE, stream.next()).await {
            Ok(Some(Ok(chunk))) => drained += chunk.len(),
            Ok(Some(Err(_)) | None) | Err(_) => return,
        }
    }
}

/// Whether the client waits for `100 Continue` before it sends the body: it
/// then reads the 413 without sending anything, and draining would only ask
/// it for the body.
fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("100-continue"))
}

fn too_large(max: usize) -> ApiError {
    ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!(
            "the file is larger than the upload limit of {max} bytes; \
             analyse it where it lies with `safecare files scan`"
        ),
    }
}

/// Publishes the verdict's events on `event/files`; the exchange stores them.
async fn publish_events(state: &AppState, verdict: &Verdict) -> Result<(), ApiError> {
    let site: &dyn AssetDirectory = match &state.modules.site {
        Some(site) => site.as_ref(),
        None => &EmptyDirectory,
    };
    for mut event in verdict_events(verdict, site) {
        event
            .evidence
            .insert("channel".into(), json!("http_upload"));
        state
            .exchange
            .bus()
            .publish_event(&event)
            .await
            .map_err(|err| ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: format!("the verdict's events could not be published: {err}; retry"),
            })?;
    }
    Ok(())
}
