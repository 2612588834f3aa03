//! `/healthz` and `/metrics`.
use crate::metrics::Metrics;
use app::server::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

pub async fn healthz(State(state): State<AppState>) -> Response {
    let db = state.db.ping().await;
    let status = if db.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if let Err(e) = &db {
        tracing::error!(error = %e, "health check: database unreachable");
    }
    let body = json!({
        "status": if db.is_ok() { "ok" } else { "degraded" },
        "database": {
            "status": if db.is_ok() { "ok" } else { "unreachable" },
            "kind": match state.db.dialect {
                app::server::db::Dialect::Sqlite => "sqlite",
                app::server::db::Dialect::Postgres => "postgres",
            },
        },
        "docker": docker_status().await,
        "deploys": { "running_here": state.deploys.running() },
        "version": env!("CARGO_PKG_VERSION"),
    });
    (status, Json(body)).into_response()
}

pub async fn metrics(State(metrics): State<Metrics>) -> Response {
    let mut res = metrics.render().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

/// The local Docker engine (`DOCKER_HOST`, else the unix socket). Its absence does not make
/// Berth unhealthy: it still serves everything but deploys to that engine.
async fn docker_status() -> serde_json::Value {
    let engine = match engine::Engine::connect("", None) {
        Ok(e) => e,
        Err(e) => return json!({ "status": "unreachable", "error": e.to_string() }),
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), engine.ping()).await {
        Ok(Ok(version)) => json!({ "status": "ok", "version": version }),
        Ok(Err(e)) => json!({ "status": "unreachable", "error": e.to_string() }),
        Err(_) => json!({ "status": "unreachable", "error": "no answer within 2 s" }),
    }
}
