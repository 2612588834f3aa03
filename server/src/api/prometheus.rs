//! Prometheus's HTTP query API over Berth's metrics, so Grafana (or anything that speaks to
//! Prometheus) can use Berth as a data source with a bearer token: `query`, `query_range`,
//! `series`, `labels` and `label/{name}/values`, by GET or by POST (form body), with
//! Prometheus's JSON shapes and error shape (`{"status":"error","errorType":…,"error":…}`)
//! on every answer of these paths, refusals included. Under `/api/v1/…` a caller sees the
//! series of its projects; under `/api/v1/projects/{p}/prometheus/api/v1/…` one project's.
use super::caller::Caller;
use super::error::ApiError;
use answer::{bad_param, caller, failure, query_failure, service_failure, success_raw, PromError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_core::metrics::query::{self, Scope};
use berth_core::{AppState, Ctx};
use metrics::promql::json as promjson;
pub use params::Params;
use serde_json::{json, Value as Json};
use wire::metric;

#[path = "prometheus/answer.rs"]
mod answer;
#[path = "prometheus/params.rs"]
mod params;
#[path = "prometheus/wire.rs"]
mod wire;

/// Unix seconds (fractional) or RFC 3339, as Prometheus reads `time`, `start` and `end`.
pub fn parse_time(s: &str) -> Option<i64> {
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() {
            return Some((f * 1000.0).round() as i64);
        }
        return None;
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

/// Seconds (fractional) or a Prometheus duration (`15s`, `1m30s`), in milliseconds.
pub fn parse_step(s: &str) -> Option<i64> {
    if let Ok(f) = s.parse::<f64>() {
        return f.is_finite().then(|| (f * 1000.0).round() as i64);
    }
    metrics::promconfig::parse_duration(s).ok()
}

fn time_param(p: &Params, name: &str, default: i64) -> Result<i64, PromError> {
    match p.get(name) {
        None | Some("") => Ok(default),
        Some(v) => parse_time(v).ok_or_else(|| bad_param(name, v, "timestamp")),
    }
}

/// The widest range `series` and `labels` look at when none is given.
const DEFAULT_LOOKBACK_MS: i64 = 6 * 3600 * 1000;

async fn run(state: AppState, ctx: Ctx, scope: Scope, what: Endpoint, p: Params) -> Response {
    // Who may ask comes before what was asked: an outsider learns nothing from a bad query.
    if let Err(e) = query::enforced(&state, &ctx, &scope).await {
        return service_failure(e).into_response();
    }
    let now = berth_core::now_ms();
    let out = async {
        match what {
            Endpoint::Query => {
                let expr = p.get("query").unwrap_or("");
                let t = time_param(&p, "time", now)?;
                query::instant(&state, &ctx, &scope, expr, t)
                    .await
                    .map(|v| {
                        let mut out = String::new();
                        promjson::write_data(&mut out, &v);
                        out
                    })
                    .map_err(query_failure)
            }
            Endpoint::QueryRange => {
                let expr = p.get("query").unwrap_or("");
                let start = p
                    .get("start")
                    .ok_or_else(|| bad_param("start", "", "timestamp"))
                    .and_then(|v| {
                        parse_time(v).ok_or_else(|| bad_param("start", v, "timestamp"))
                    })?;
                let end = p
                    .get("end")
                    .ok_or_else(|| bad_param("end", "", "timestamp"))
                    .and_then(|v| parse_time(v).ok_or_else(|| bad_param("end", v, "timestamp")))?;
                if end < start {
                    return Err(failure(
                        "bad_data",
                        StatusCode::BAD_REQUEST,
                        "end timestamp must not be before start time",
                    ));
                }
                let step_raw = p.get("step").unwrap_or("");
                let step =
                    parse_step(step_raw).ok_or_else(|| bad_param("step", step_raw, "duration"))?;
                if step <= 0 {
                    return Err(failure(
                        "bad_data",
                        StatusCode::BAD_REQUEST,
                        "zero or negative query resolution step widths are not accepted. Try a positive integer",
                    ));
                }
                if (end - start) / step > 11_000 {
                    return Err(failure(
                        "bad_data",
                        StatusCode::BAD_REQUEST,
                        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
                    ));
                }
                query::range(&state, &ctx, &scope, expr, start, end, step)
                    .await
                    .map(|m| {
                        let mut out = String::new();
                        promjson::write_range_data(&mut out, &m);
                        out
                    })
                    .map_err(query_failure)
            }
            Endpoint::Series => {
                let end = time_param(&p, "end", now)?;
                let start = time_param(&p, "start", end - DEFAULT_LOOKBACK_MS)?;
                query::series(&state, &ctx, &scope, &p.all("match[]"), start, end)
                    .await
                    .map(|list| Json::Array(list.iter().map(metric).collect()).to_string())
                    .map_err(query_failure)
            }
            Endpoint::Labels | Endpoint::LabelValues(_) => {
                let end = time_param(&p, "end", now)?;
                let start = time_param(&p, "start", end - DEFAULT_LOOKBACK_MS)?;
                let name = match &what {
                    Endpoint::LabelValues(n) => {
                        if !berth_core::metrics::config::is_label_name(n) {
                            return Err(failure(
                                "bad_data",
                                StatusCode::BAD_REQUEST,
                                &format!("invalid label name: {n:?}"),
                            ));
                        }
                        Some(n.as_str())
                    }
                    _ => None,
                };
                query::labels(&state, &ctx, &scope, name, &p.all("match[]"), start, end)
                    .await
                    .map(|list| json!(list).to_string())
                    .map_err(query_failure)
            }
        }
    };
    match out.await {
        Ok(data) => success_raw(&data),
        Err(e) => e.into_response(),
    }
}

enum Endpoint {
    Query,
    QueryRange,
    Series,
    Labels,
    LabelValues(String),
}

macro_rules! handlers {
    ($($global:ident, $scoped:ident, $endpoint:expr, $path:literal, $doc:literal;)*) => {$(
        #[doc = $doc]
        #[utoipa::path(method(get, post), path = concat!("/api/v1", $path), tag = "metrics",
            responses((status = 200, description = "Prometheus's JSON shape"), (status = 400, description = "`{\"status\":\"error\",\"errorType\":\"bad_data\",…}`")))]
        pub async fn $global(
            State(state): State<AppState>,
            c: Result<Caller, ApiError>,
            p: Params,
        ) -> Response {
            match caller(c) {
                Ok(ctx) => run(state, ctx, Scope::Visible, $endpoint, p).await,
                Err(e) => e.into_response(),
            }
        }

        #[doc = $doc]
        #[utoipa::path(method(get, post), path = concat!("/api/v1/projects/{project}/prometheus/api/v1", $path), tag = "metrics",
            params(("project" = String, Path)),
            responses((status = 200, description = "Prometheus's JSON shape"), (status = 400, description = "`{\"status\":\"error\",\"errorType\":\"bad_data\",…}`")))]
        pub async fn $scoped(
            State(state): State<AppState>,
            Path(project): Path<String>,
            c: Result<Caller, ApiError>,
            p: Params,
        ) -> Response {
            match caller(c) {
                Ok(ctx) => run(state, ctx, Scope::Project(project), $endpoint, p).await,
                Err(e) => e.into_response(),
            }
        }
    )*};
}

handlers! {
    query_global, query_project, Endpoint::Query, "/query", "An instant query (PromQL) at `time`.";
    range_global, range_project, Endpoint::QueryRange, "/query_range", "A range query (PromQL) from `start` to `end` every `step`.";
    series_global, series_project, Endpoint::Series, "/series", "The series matching `match[]`.";
    labels_global, labels_project, Endpoint::Labels, "/labels", "Label names.";
}

/// A label's values.
#[utoipa::path(method(get, post), path = "/api/v1/label/{name}/values", tag = "metrics",
    params(("name" = String, Path)),
    responses((status = 200, description = "Prometheus's JSON shape")))]
pub async fn label_values_global(
    State(state): State<AppState>,
    Path(name): Path<String>,
    c: Result<Caller, ApiError>,
    p: Params,
) -> Response {
    match caller(c) {
        Ok(ctx) => run(state, ctx, Scope::Visible, Endpoint::LabelValues(name), p).await,
        Err(e) => e.into_response(),
    }
}

/// A label's values in one project.
#[utoipa::path(method(get, post), path = "/api/v1/projects/{project}/prometheus/api/v1/label/{name}/values", tag = "metrics",
    params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "Prometheus's JSON shape")))]
pub async fn label_values_project(
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
    c: Result<Caller, ApiError>,
    p: Params,
) -> Response {
    match caller(c) {
        Ok(ctx) => {
            run(
                state,
                ctx,
                Scope::Project(project),
                Endpoint::LabelValues(name),
                p,
            )
            .await
        }
        Err(e) => e.into_response(),
    }
}

/// The routes, for `api::routes`.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    let p = "/projects/{project}/prometheus/api/v1";
    axum::Router::new()
        .route("/query", get(query_global).post(query_global))
        .route("/query_range", get(range_global).post(range_global))
        .route("/series", get(series_global).post(series_global))
        .route("/labels", get(labels_global).post(labels_global))
        .route(
            "/label/{name}/values",
            get(label_values_global).post(label_values_global),
        )
        .route(
            &format!("{p}/query"),
            get(query_project).post(query_project),
        )
        .route(
            &format!("{p}/query_range"),
            get(range_project).post(range_project),
        )
        .route(
            &format!("{p}/series"),
            get(series_project).post(series_project),
        )
        .route(
            &format!("{p}/labels"),
            get(labels_project).post(labels_project),
        )
        .route(
            &format!("{p}/label/{{name}}/values"),
            get(label_values_project).post(label_values_project),
        )
}
