//! The axum router: pages and server functions (Leptos), the REST API, health and metrics,
//! with sessions, cross-site protection, request metadata and body limits around them.
use crate::api;
use crate::config::Config;
use crate::guard::{self, CsrfConfig};
use crate::metrics::{self, Metrics};
use app::{shell, App};
use axum::body::Body;
use axum::extract::{FromRef, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use berth_core::session_store::DbSessionStore;
use berth_core::AppState;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

#[derive(Clone)]
pub struct ServerState {
    pub app: AppState,
    pub leptos: LeptosOptions,
    pub metrics: Metrics,
}

impl FromRef<ServerState> for AppState {
    fn from_ref(s: &ServerState) -> AppState {
        s.app.clone()
    }
}
impl FromRef<ServerState> for LeptosOptions {
    fn from_ref(s: &ServerState) -> LeptosOptions {
        s.leptos.clone()
    }
}
impl FromRef<ServerState> for Metrics {
    fn from_ref(s: &ServerState) -> Metrics {
        s.metrics.clone()
    }
}

fn origin_of(url: &str) -> String {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => url[..after_scheme + i].to_string(),
        None => url.to_string(),
    }
}

/// The app's routes, listed once per process.
///
/// Leptos lists routes by running the whole app once with resource loading suppressed through
/// a process-wide flag; a resource first polled by any render while that flag is up waits
/// forever, and its page never answers. Listing once, before the first server serves, leaves
/// no render to catch in that window, however many servers one process starts (the test
/// suites start hundreds).
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn build(state: AppState, config: &Config, addr: SocketAddr) -> Router {
    let leptos = LeptosOptions::builder()
        .output_name("berth")
        .site_root("target/site")
        .site_pkg_dir(crate::assets::pkg_dir())
        .site_addr(addr)
        .build();
    let server_state = ServerState {
        app: state.clone(),
        leptos: leptos.clone(),
        metrics: Metrics::default(),
    };
    {
        // The scraper reads Berth's own metrics in process (job "berth").
        let own = server_state.metrics.clone();
        state
            .metrics
            .set_self_source(std::sync::Arc::new(move || own.render()));
    }
    let routes = route_list();
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            provide_context(app::serverfns::call::CallerCache::default());
        }
    };
    let app_fn = {
        let leptos = leptos.clone();
        move || shell(leptos.clone())
    };
    let idle = time::Duration::seconds(state.settings.session_idle.as_secs() as i64);
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name("berth_session")
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(state.settings.secure_cookies())
        .with_expiry(Expiry::OnInactivity(idle));
    let csrf = CsrfConfig {
        public_origin: config
            .public_url
            .as_deref()
            .map(|u| Arc::from(origin_of(u))),
    };
    let fallback = {
        let handler =
            leptos_axum::render_app_to_stream_with_context(context.clone(), app_fn.clone());
        move |req: Request<Body>| {
            let handler = handler.clone();
            async move {
                if crate::assets::is_asset(&req) {
                    if let Some(res) = crate::assets::serve(req.uri().path(), req.headers()) {
                        return res;
                    }
                    return api::error::error_response(
                        axum::http::StatusCode::NOT_FOUND,
                        "not_found",
                        "no such file".into(),
                        None,
                    );
                }
                handler(req).await.into_response()
            }
        }
    };
    let api = api::routes().with_state(state.clone());
    // GitHub's deliveries: up to 25 MB, no session and no cross-site check (signed instead).
    let hooks = Router::new()
        .route(
            "/api/hooks/github/{project}",
            axum::routing::post(crate::hooks::github),
        )
        .with_state(state.clone())
        .route_layer(from_fn_with_state(
            server_state.metrics.clone(),
            metrics::track,
        ))
        .layer(axum::Extension(Arc::new(
            berth_core::webhooks::Shield::default(),
        )))
        .layer(from_fn(guard::request_meta))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    Router::new()
        .route("/healthz", get(api::system::healthz))
        .route("/metrics", get(api::system::metrics))
        .nest("/api/v1", api)
        .leptos_routes_with_context(&server_state, routes, context, app_fn)
        .fallback(fallback)
        .route_layer(from_fn_with_state(
            server_state.metrics.clone(),
            metrics::track,
        ))
        .layer(from_fn_with_state((state, csrf), guard::csrf))
        .layer(sessions)
        .layer(from_fn(guard::request_meta))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        // Pages and answers carry project data: no browser or proxy keeps a copy. Static
        // assets set their own caching.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(RequestBodyLimitLayer::new(config.body_limit))
        .with_state(server_state)
        .merge(hooks)
}
