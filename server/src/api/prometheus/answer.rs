//! Answers in Prometheus's shapes: `{"status":"success","data":…}`, and refusals and
//! failures as `{"status":"error","errorType":…,"error":…}` with its status codes.
use super::super::caller::Caller;
use super::super::error::ApiError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_core::metrics::query::QueryFailure;
use berth_core::{Ctx, ServiceError};
use berth_model::error::AppError;
use serde_json::json;

/// A refusal or failure, answered in Prometheus's error shape.
pub struct PromError {
    kind: &'static str,
    status: StatusCode,
    message: String,
}

impl IntoResponse for PromError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            axum::Json(json!({ "status": "error", "errorType": self.kind, "error": self.message })),
        )
            .into_response();
        no_store(&mut res);
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

pub fn failure(kind: &'static str, status: StatusCode, message: &str) -> PromError {
    PromError {
        kind,
        status,
        message: message.to_string(),
    }
}

pub fn no_store(res: &mut Response) {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// `{"status":"success","data":…}` around `data`, JSON written by `metrics::promql::json`.
pub fn success_raw(data: &str) -> Response {
    let mut body = String::with_capacity(data.len() + 32);
    body.push_str("{\"status\":\"success\",\"data\":");
    body.push_str(data);
    body.push('}');
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    no_store(&mut res);
    res
}

pub fn service_failure(e: ServiceError) -> PromError {
    let app: AppError = e.into();
    let (kind, status) = match &app {
        AppError::Unauthenticated => ("unauthorized", StatusCode::UNAUTHORIZED),
        AppError::Forbidden | AppError::CrossSite => ("forbidden", StatusCode::FORBIDDEN),
        AppError::NotFound(_) => ("not_found", StatusCode::NOT_FOUND),
        AppError::RateLimited { .. } => ("unavailable", StatusCode::TOO_MANY_REQUESTS),
        AppError::Invalid { .. } => ("bad_data", StatusCode::BAD_REQUEST),
        _ => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
    };
    failure(kind, status, &app.to_string())
}

pub fn query_failure(f: QueryFailure) -> PromError {
    match f {
        QueryFailure::Service(e) => service_failure(e),
        QueryFailure::Unavailable(m) => failure("unavailable", StatusCode::SERVICE_UNAVAILABLE, &m),
        QueryFailure::Eval(e) => {
            let status = match e.error_type() {
                "bad_data" => StatusCode::BAD_REQUEST,
                "execution" | "too_many" => StatusCode::UNPROCESSABLE_ENTITY,
                "timeout" | "canceled" | "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            failure(e.error_type(), status, &e.to_string())
        }
    }
}

pub fn bad_param(name: &str, value: &str, what: &str) -> PromError {
    failure(
        "bad_data",
        StatusCode::BAD_REQUEST,
        &format!("invalid parameter \"{name}\": cannot parse \"{value}\" to a valid {what}"),
    )
}

pub fn caller(c: Result<Caller, ApiError>) -> Result<Ctx, PromError> {
    match c {
        Ok(Caller(ctx)) => Ok(ctx),
        Err(ApiError(e)) => Err(match e {
            AppError::Unauthenticated => service_failure(ServiceError::Unauthenticated),
            AppError::Forbidden => service_failure(ServiceError::Forbidden),
            AppError::RateLimited { retry_after } => {
                service_failure(ServiceError::RateLimited { retry_after })
            }
            other => failure(
                "internal",
                StatusCode::INTERNAL_SERVER_ERROR,
                &other.to_string(),
            ),
        }),
    }
}
