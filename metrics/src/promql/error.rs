//! Why a query failed, in Prometheus's words: the `errorType` its HTTP API reports and the
//! message it would give.
use crate::model::QueryError;
use std::fmt;

/// The class of a failure; [`EvalError::error_type`] names it as Prometheus's API does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The query does not parse, is of the wrong type for the request, or asks for more
    /// points than allowed (Prometheus answers these 400 `bad_data`).
    BadData,
    /// The query parsed but cannot be evaluated (Prometheus answers 422 `execution`).
    Execution,
    /// The evaluation ran past the engine's timeout (503 `timeout`).
    Timeout,
    /// The query would load more series or samples than allowed. Prometheus reports its
    /// sample limit as `execution`, so [`EvalError::error_type`] does too; the kind lets a
    /// caller tell limits apart.
    TooMany,
    /// The storage failed (500 `internal`).
    Internal,
}

/// A failed query: what kind and Prometheus's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError {
    pub kind: ErrorKind,
    pub message: String,
}

impl EvalError {
    pub fn bad_data(message: impl Into<String>) -> EvalError {
        EvalError {
            kind: ErrorKind::BadData,
            message: message.into(),
        }
    }

    pub fn execution(message: impl Into<String>) -> EvalError {
        EvalError {
            kind: ErrorKind::Execution,
            message: message.into(),
        }
    }

    pub(crate) fn timeout() -> EvalError {
        EvalError {
            kind: ErrorKind::Timeout,
            message: "query timed out in expression evaluation".to_string(),
        }
    }

    pub(crate) fn too_many_samples() -> EvalError {
        EvalError {
            kind: ErrorKind::TooMany,
            message: "query processing would load too many samples into memory in query execution"
                .to_string(),
        }
    }

    /// Prometheus's `errorType` for this failure.
    pub fn error_type(&self) -> &'static str {
        match self.kind {
            ErrorKind::BadData => "bad_data",
            ErrorKind::Execution | ErrorKind::TooMany => "execution",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EvalError {}

impl From<QueryError> for EvalError {
    fn from(e: QueryError) -> EvalError {
        match e {
            QueryError::TooMuchData(message) => EvalError {
                kind: ErrorKind::TooMany,
                message,
            },
            QueryError::Storage(message) => EvalError {
                kind: ErrorKind::Internal,
                message: format!("expanding series: {message}"),
            },
        }
    }
}
