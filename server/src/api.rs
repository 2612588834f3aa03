//! The REST API under `/api/v1`: thin handlers over the service layer.
pub mod audit;
pub mod caller;
pub mod error;
pub mod json;
pub mod members;
pub mod openapi;
pub mod projects;
pub mod system;
pub mod tokens;
pub mod users;

use app::server::AppState;
use axum::routing::{delete, get, put};
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me", get(users::me))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{username}", axum::routing::patch(users::update))
        .route("/projects", get(projects::list).post(projects::create))
        .route(
            "/projects/{project}",
            get(projects::get).delete(projects::delete),
        )
        .route("/projects/{project}/members", get(members::list))
        .route(
            "/projects/{project}/members/{username}",
            put(members::set).delete(members::remove),
        )
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", delete(tokens::revoke))
        .route("/audit", get(audit::list))
        .route("/audit/export", get(audit::export))
        .route("/audit/verify", get(audit::verify))
        .route("/openapi.json", get(openapi::document))
        .fallback(error::not_found)
}
