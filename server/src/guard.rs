//! Request middleware: who the client is (address, user agent) and cross-site protection
//! for every cookie-authenticated mutation.
use crate::api::error::ApiError;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, Method, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use berth_core::audit::{self, NewEvent, Outcome};
use berth_core::{Actor, AppState, Ctx, RequestMeta};
use berth_model::error::AppError;
use std::net::SocketAddr;
use std::sync::Arc;

fn header_text(req: &Request<Body>, name: header::HeaderName) -> Option<String> {
    req.headers()
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Attaches `RequestMeta` to every request.
pub async fn request_meta(mut req: Request<Body>, next: Next) -> Response {
    let client_addr = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let user_agent = header_text(&req, header::USER_AGENT).unwrap_or_default();
    req.extensions_mut().insert(RequestMeta {
        client_addr,
        user_agent: user_agent.chars().take(300).collect(),
    });
    next.run(req).await
}

#[derive(Clone)]
pub struct CsrfConfig {
    /// The origin of `BERTH_PUBLIC_URL`, when set.
    pub public_origin: Option<Arc<str>>,
}

/// Is this request's `Origin` / `Sec-Fetch-Site` acceptable for a state change?
pub fn same_origin(req: &Request<Body>, cfg: &CsrfConfig) -> bool {
    if let Some(site) = header_text(req, header::HeaderName::from_static("sec-fetch-site")) {
        if !matches!(site.as_str(), "same-origin" | "none") {
            return false;
        }
    }
    let Some(origin) = header_text(req, header::ORIGIN) else {
        // Non-browser clients send neither header; browsers always send Origin on POST.
        return true;
    };
    if let Some(public) = &cfg.public_origin {
        return origin == **public;
    }
    let Some(host) = header_text(req, header::HOST) else {
        return false;
    };
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

/// Refuses cross-site state changes made with the session cookie. Requests that carry a
/// bearer token (no ambient credentials) and signed webhooks are left to their own checks.
pub async fn csrf(
    State((state, cfg)): State<(AppState, CsrfConfig)>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let bearer = req.headers().contains_key(header::AUTHORIZATION);
    let hook = req.uri().path().starts_with("/api/hooks/");
    if safe || bearer || hook || same_origin(&req, &cfg) {
        return next.run(req).await;
    }
    let meta = req
        .extensions()
        .get::<RequestMeta>()
        .cloned()
        .unwrap_or_default();
    let ctx = Ctx::new(Actor::Anonymous, meta);
    let ev = NewEvent::new("csrf.refused", req.uri().path().to_string())
        .outcome(Outcome::Denied)
        .summary(serde_json::json!({ "method": req.method().as_str() }));
    if let Err(e) = audit::record(&state.db, &ctx, ev).await {
        tracing::error!(error = %e, "could not audit a cross-site refusal");
    }
    ApiError(AppError::CrossSite).into_response()
}
