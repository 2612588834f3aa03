//! `POST /api/hooks/github/{project}`: reads the delivery (up to 25 MB) and hands it to the
//! service layer, which checks the signature before anything else.
use app::server::webhooks::{self, github::MAX_BODY, Incoming};
use app::server::{AppState, RequestMeta};
use axum::body::{to_bytes, Body};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

pub async fn github(
    State(state): State<AppState>,
    Path(project): Path<String>,
    meta: Option<Extension<RequestMeta>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let body = if declared.is_some_and(|n| n > MAX_BODY) {
        None
    } else {
        // A body that ends early or runs past the limit is treated as too large.
        to_bytes(body, MAX_BODY).await.ok().map(|b| b.to_vec())
    };
    let headers = headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let receipt = webhooks::receive(
        &state,
        Incoming {
            project,
            headers,
            body,
            meta: meta.map(|m| m.0).unwrap_or_default(),
        },
    )
    .await;
    let status = StatusCode::from_u16(receipt.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(receipt.body)).into_response()
}
