//! The one user-facing error type: serializable, free of internal detail.
use serde::{Deserialize, Serialize};
use server_fn::{codec::JsonEncoding, error::FromServerFnError, ServerFnError};

/// What a caller (browser, API client, CLI) is told when something goes wrong.
/// Internal causes are logged on the server and never carried here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
pub enum AppError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("too many attempts; try again in {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("cross-site request refused")]
    CrossSite,
    #[error("something went wrong on the server; the details are in its log")]
    Internal,
    #[error("request failed: {0}")]
    Request(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Stable machine-readable code used in REST errors.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Invalid { .. } => "invalid",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::CrossSite => "cross_site",
            AppError::Internal => "internal",
            AppError::Request(_) => "bad_request",
        }
    }

    /// The HTTP status that fits this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated => 401,
            AppError::Forbidden | AppError::CrossSite => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Invalid { .. } => 422,
            AppError::RateLimited { .. } => 429,
            AppError::Internal => 500,
            AppError::Request(_) => 400,
        }
    }

    /// The form field this error belongs to, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: server_fn::error::ServerFnErrorErr) -> Self {
        AppError::Request(value.to_string())
    }
}

impl From<ServerFnError> for AppError {
    fn from(value: ServerFnError) -> Self {
        AppError::Request(value.to_string())
    }
}
