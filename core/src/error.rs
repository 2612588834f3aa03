//! Errors of the service layer, and how they become the user-facing `AppError`.
use berth_model::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("not signed in")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    #[error("rate limited for {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("internal: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Unauthenticated => AppError::Unauthenticated,
            ServiceError::Forbidden => AppError::Forbidden,
            ServiceError::NotFound(what) => AppError::NotFound(what),
            ServiceError::Conflict(m) => AppError::Conflict(m),
            ServiceError::Invalid { field, message } => AppError::Invalid { field, message },
            ServiceError::RateLimited { retry_after } => AppError::RateLimited { retry_after },
            ServiceError::Db(err) => {
                tracing::error!(error = %err, "database error");
                AppError::Internal
            }
            ServiceError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                AppError::Internal
            }
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
