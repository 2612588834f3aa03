//! What every server function needs first: the state, the caller and their session.
use crate::error::AppError;
use berth_core::{web, AppState, Ctx, RequestMeta};
use leptos::prelude::*;
use tower_sessions::Session;

pub struct Call {
    pub state: AppState,
    pub ctx: Ctx,
    pub session: Session,
}

/// The caller of one request and its session, resolved once. A page render calls its server
/// functions in process, one per resource; without this each would extract the session from
/// the request and read the session and the user again. Provided per request (pages and
/// server-function calls alike) by the router.
#[derive(Clone, Default)]
pub struct CallerCache(std::sync::Arc<tokio::sync::OnceCell<(Ctx, Session)>>);

pub async fn call() -> Result<Call, AppError> {
    let state = use_context::<AppState>().ok_or(AppError::Internal)?;
    let resolve = || async {
        let session: Session = leptos_axum::extract().await.map_err(|e| {
            tracing::error!(error = %e, "no session layer");
            AppError::Internal
        })?;
        let meta = leptos_axum::extract::<axum::Extension<RequestMeta>>()
            .await
            .map(|e| e.0)
            .unwrap_or_default();
        let ctx = web::session_ctx(&state, &session, meta).await?;
        Ok::<_, AppError>((ctx, session))
    };
    let (ctx, session) = match use_context::<CallerCache>() {
        Some(cache) => cache.0.get_or_try_init(resolve).await?.clone(),
        None => resolve().await?,
    };
    Ok(Call {
        state,
        ctx,
        session,
    })
}

/// Runs a server function body with its caller, and gives a failure the HTTP status of
/// its error.
pub async fn run<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(Call) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let result = match call().await {
        Ok(c) => body(c).await,
        Err(e) => Err(e),
    };
    with_status(result)
}

/// True when the request is a plain HTML form post (no JavaScript).
pub fn plain_form_post() -> bool {
    use_context::<http::request::Parts>()
        .and_then(|p| {
            p.headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false)
}

/// Gives a failed server function call the HTTP status of its error, except for plain
/// form posts, which must stay redirects back to the form.
pub fn with_status<T>(r: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &r {
        if !plain_form_post() {
            if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
                if let Ok(code) = http::StatusCode::from_u16(e.status()) {
                    opts.set_status(code);
                }
            }
        }
    }
    r
}
