//! `/api/v1/audit`: filtered pages, a JSON Lines export, and chain verification.
use super::caller::Caller;
use super::error::ApiResult;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_core::authz::{authorize, Action};
use berth_core::{audit, projects, AppState};
use berth_model::{AuditFilter, AuditPage, VerifyReport};

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditFilter),
    responses((status = 200, body = AuditPage)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(filter): Query<AuditFilter>,
) -> ApiResult<Json<AuditPage>> {
    let visible = projects::visible_ids(&state, &ctx).await?;
    Ok(Json(audit::list(&state.db, &visible, &filter).await?))
}

/// Every matching event, newest first, one JSON object per line.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", params(AuditFilter),
    responses((status = 200, content_type = "application/x-ndjson", body = String)))]
pub async fn export(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(mut filter): Query<AuditFilter>,
) -> ApiResult<Response> {
    let visible = projects::visible_ids(&state, &ctx).await?;
    filter.limit = Some(1000);
    // One page of events at a time: the export of a long log is streamed, never built whole.
    let first = audit::list(&state.db, &visible, &filter).await?;
    // A page that cannot be read ends the body with an error, so the client sees a broken
    // transfer instead of an export that looks complete.
    let pages = futures_util::stream::unfold(
        (Some(Ok(first)), state, visible, filter),
        |(page, state, visible, mut filter)| async move {
            let page = match page? {
                Ok(page) => page,
                Err(e) => {
                    return Some((
                        Err(std::io::Error::other(e)),
                        (None, state, visible, filter),
                    ))
                }
            };
            let mut chunk = String::new();
            for e in &page.events {
                chunk.push_str(&serde_json::to_string(e).unwrap_or_default());
                chunk.push('\n');
            }
            let next = match page.next_before {
                Some(b) => {
                    filter.before = Some(b);
                    match audit::list(&state.db, &visible, &filter).await {
                        Ok(p) => Some(Ok(p)),
                        Err(e) => {
                            tracing::error!(error = %e, "audit export stopped");
                            Some(Err(
                                "the audit export stopped: the database failed".to_string()
                            ))
                        }
                    }
                }
                None => None,
            };
            Some((
                Ok(axum::body::Bytes::from(chunk)),
                (next, state, visible, filter),
            ))
        },
    );
    let mut res = axum::body::Body::from_stream(pages).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit.jsonl\""),
    );
    Ok(res)
}

#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = VerifyReport, description = "`ok` is false when the chain is broken")))]
pub async fn verify(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> ApiResult<Json<VerifyReport>> {
    authorize(&state.db, &ctx, Action::ReadInstanceAudit, None).await?;
    Ok(Json(audit::verify(&state.db).await?))
}
