//! `/healthz` and `/metrics`.
use crate::metrics::Metrics;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_core::AppState;
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
                berth_core::db::Dialect::Sqlite => "sqlite",
                berth_core::db::Dialect::Postgres => "postgres",
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

/// How long an answer about the Docker engine is reused: a load balancer polling `/healthz`
/// many times a second must not dial the engine each time.
const DOCKER_STATUS_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// [`probe_docker`], reused for [`DOCKER_STATUS_TTL`]; one probe at a time (callers that
/// arrive meanwhile wait for its answer). `checked_ms_ago` says how old the answer is.
async fn docker_status() -> serde_json::Value {
    use std::sync::OnceLock;
    use std::time::Instant;
    static LAST: OnceLock<tokio::sync::Mutex<Option<(Instant, serde_json::Value)>>> =
        OnceLock::new();
    let mut last = LAST
        .get_or_init(|| tokio::sync::Mutex::new(None))
        .lock()
        .await;
    let (at, value) = match last.as_ref() {
        Some((at, v)) if at.elapsed() < DOCKER_STATUS_TTL => (*at, v.clone()),
        _ => {
            let v = probe_docker().await;
            let at = Instant::now();
            *last = Some((at, v.clone()));
            (at, v)
        }
    };
    drop(last);
    let mut value = value;
    value["checked_ms_ago"] = json!(at.elapsed().as_millis() as u64);
    value
}

/// The local Docker engine (`DOCKER_HOST`, else the unix socket). Its absence does not make
/// Berth unhealthy: it still serves everything but deploys to that engine. `/healthz` answers
/// anyone, so why the engine is unreachable (which can name its address or certificate
/// paths) goes to the log, not into the answer.
async fn probe_docker() -> serde_json::Value {
    let unreachable = |why: &dyn std::fmt::Display| {
        tracing::warn!(error = %why, "health check: Docker engine unreachable");
        json!({ "status": "unreachable" })
    };
    let engine = match engine::Engine::connect("", None) {
        Ok(e) => e,
        Err(e) => return unreachable(&e),
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), engine.ping()).await {
        Ok(Ok(version)) => json!({ "status": "ok", "version": version }),
        Ok(Err(e)) => unreachable(&e),
        Err(_) => unreachable(&"no answer within 2 s"),
    }
}
