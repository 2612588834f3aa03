//! `POST /api/hooks/github/{project}`: reads the delivery (up to 25 MB) and hands it to the
//! service layer, which checks the signature before anything else. A body over the limit is
//! read to its end and dropped (up to [`DRAIN_MAX`] more, within [`DRAIN_TIME`]) before the 413
//! goes out, so that the sender, still writing, gets the answer rather than a broken pipe.
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use berth_core::webhooks::shield::LARGE_BODY;
use berth_core::webhooks::{self, github::MAX_BODY, Incoming, Receipt, Shield};
use berth_core::{AppState, RequestMeta};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;

pub async fn github(
    State(state): State<AppState>,
    Path(project): Path<String>,
    Extension(shield): Extension<Arc<Shield>>,
    meta: Option<Extension<RequestMeta>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let meta = meta.map(|m| m.0).unwrap_or_default();
    let signed = headers.contains_key("x-hub-signature-256");
    if let Some(r) = webhooks::before_body(&shield, &meta, signed) {
        drain(body.into_data_stream(), 0).await;
        return answer(r);
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // Large bodies (or ones of unknown length) are buffered a few at a time; an oversized one
    // is only drained, not buffered, so it needs no permit. Early answers drain the body too,
    // so that the sender reads them instead of a broken pipe.
    let _permit = match declared {
        Some(n) if n <= LARGE_BODY || n > MAX_BODY => None,
        _ => match shield.large_body() {
            Some(p) => Some(p),
            None => {
                drain(body.into_data_stream(), 0).await;
                return answer(Receipt::error(
                    503,
                    "busy",
                    "too many large deliveries at once: redeliver it in a moment",
                ));
            }
        },
    };
    let body = read(body, declared).await;
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
        &shield,
        Incoming {
            project,
            headers,
            body,
            meta,
        },
    )
    .await;
    answer(receipt)
}

fn answer(receipt: Receipt) -> Response {
    let status = StatusCode::from_u16(receipt.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(receipt.body)).into_response()
}

/// How much of an oversized body is read and dropped after the limit before closing.
pub const DRAIN_MAX: usize = 32 * 1024 * 1024;
/// How long an oversized body may take to drain.
pub const DRAIN_TIME: Duration = Duration::from_secs(30);

/// The body, or `None` when it is over [`MAX_BODY`] (or ends early, or fails).
async fn read(body: Body, declared: Option<usize>) -> Option<Vec<u8>> {
    let mut stream = body.into_data_stream();
    if declared.is_some_and(|n| n > MAX_BODY) {
        drain(stream, 0).await;
        return None;
    }
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(MAX_BODY));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.ok()?;
        if buf.len() + chunk.len() > MAX_BODY {
            drain(stream, buf.len() + chunk.len() - MAX_BODY).await;
            return None;
        }
        buf.extend_from_slice(&chunk);
    }
    Some(buf)
}

/// Reads and drops the rest of a body, up to [`DRAIN_MAX`] bytes past the limit (`over` are
/// already), within [`DRAIN_TIME`]; beyond that the connection is closed after the answer.
async fn drain(mut stream: axum::body::BodyDataStream, mut over: usize) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while over <= DRAIN_MAX {
            match stream.next().await {
                Some(Ok(chunk)) => over += chunk.len(),
                _ => break,
            }
        }
    })
    .await;
}
