//! API errors as JSON, with the HTTP status that fits.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use safecare_exchange::{ActionError, WorkflowError};
use safecare_store::StoreError;
use serde_json::json;

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if let StoreError::InvalidCursor { .. } = err {
            return ApiError::bad_request(err.to_string());
        }
        tracing::error!(%err, "store failure while answering an API request");
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "the store is unavailable; retry shortly (details in the server log)".into(),
        }
    }
}

impl From<ActionError> for ApiError {
    fn from(err: ActionError) -> Self {
        match err {
            ActionError::Workflow(err) => {
                let status = match err {
                    WorkflowError::NotFound { .. } => StatusCode::NOT_FOUND,
                    WorkflowError::Invalid(_) => StatusCode::BAD_REQUEST,
                    _ => StatusCode::CONFLICT,
                };
                ApiError {
                    status,
                    message: err.to_string(),
                }
            }
            ActionError::Store(err) => err.into(),
            ActionError::Stopped => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: err.to_string(),
            },
        }
    }
}
