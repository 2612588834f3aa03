//! The REST API under `/api/v1`: thin handlers over the service layer.
pub mod audit;
pub mod caller;
mod deploy_log;
pub mod deploys;
pub mod environments;
pub mod error;
pub mod json;
pub mod members;
pub mod metrics_config;
pub mod openapi;
pub mod projects;
pub mod prometheus;
pub mod runtime;
pub mod settings;
pub mod stack_config;
pub mod system;
pub mod tokens;
pub mod users;
pub mod variables;
pub mod webhooks;

use axum::routing::{delete, get, post, put};
use axum::Router;
use berth_core::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me", get(users::me))
        .route(
            "/settings/host-paths",
            get(settings::get_host_paths).put(settings::put_host_paths),
        )
        .route("/users", get(users::list).post(users::create))
        .route("/users/{username}", axum::routing::patch(users::update))
        .route("/projects", get(projects::list).post(projects::create))
        .route(
            "/projects/{project}/environments/{env}/deploys",
            get(deploys::list).post(deploys::create),
        )
        .route(
            "/projects/{project}/environments/{env}/rollback",
            post(deploys::rollback),
        )
        .route(
            "/projects/{project}/environments/{env}/redeploy",
            post(deploys::redeploy),
        )
        .route(
            "/projects/{project}/environments/{env}/scale",
            post(deploys::scale),
        )
        .route(
            "/projects/{project}/environments/{env}/restart",
            post(deploys::restart),
        )
        .route(
            "/projects/{project}/environments/{env}/services/{service}/replace",
            post(deploys::replace),
        )
        .route(
            "/projects/{project}/environments/{env}/releases",
            get(deploys::releases),
        )
        .route(
            "/projects/{project}/environments/{env}/deploy-settings",
            get(deploys::get_settings).put(deploys::put_settings),
        )
        .route(
            "/projects/{project}/environments/{env}/containers",
            get(runtime::list),
        )
        .route(
            "/projects/{project}/environments/{env}/containers/{id}/logs",
            get(runtime::logs),
        )
        .route(
            "/projects/{project}/environments/{env}/containers/{id}/restart",
            post(runtime::restart),
        )
        .route(
            "/projects/{project}/environments/{env}/containers/{id}/stop",
            post(runtime::stop),
        )
        .route(
            "/projects/{project}/environments/{env}/watchdog",
            get(runtime::get_watchdog).put(runtime::put_watchdog),
        )
        .route("/deploys/{id}", get(deploys::get))
        .route("/deploys/{id}/cancel", post(deploys::cancel))
        .route("/deploys/{id}/log", get(deploys::log))
        .route(
            "/projects/{project}",
            get(projects::get).delete(projects::delete),
        )
        .route("/projects/{project}/members", get(members::list))
        .route(
            "/projects/{project}/members/{username}",
            put(members::set).delete(members::remove),
        )
        .route(
            "/projects/{project}/environments",
            get(environments::list).post(environments::create),
        )
        .route(
            "/projects/{project}/environments/{env}",
            get(environments::get)
                .patch(environments::update)
                .delete(environments::delete),
        )
        .route(
            "/projects/{project}/environments/{env}/versions",
            get(environments::versions),
        )
        .route(
            "/projects/{project}/environments/{env}/versions/diff",
            get(environments::diff),
        )
        .route(
            "/projects/{project}/variables",
            get(variables::list_project),
        )
        .route(
            "/projects/{project}/variables/{name}",
            put(variables::put_project).delete(variables::delete_project),
        )
        .route(
            "/projects/{project}/variables/{name}/reveal",
            axum::routing::post(variables::reveal_project),
        )
        .route(
            "/projects/{project}/environments/{env}/variables",
            get(variables::list_env),
        )
        .route(
            "/projects/{project}/environments/{env}/variables/{name}",
            put(variables::put_env).delete(variables::delete_env),
        )
        .route(
            "/projects/{project}/environments/{env}/variables/{name}/reveal",
            axum::routing::post(variables::reveal_env),
        )
        .route(
            "/projects/{project}/environments/{env}/services",
            get(stack_config::list_services),
        )
        .route(
            "/projects/{project}/environments/{env}/services/{name}",
            put(stack_config::put_service).delete(stack_config::delete_service),
        )
        .route("/projects/{project}/sites", get(stack_config::list_sites))
        .route(
            "/projects/{project}/sites/{name}",
            put(stack_config::put_site).delete(stack_config::delete_site),
        )
        .route(
            "/projects/{project}/environments/{env}/imports/env",
            axum::routing::post(stack_config::import_env),
        )
        .route(
            "/projects/{project}/environments/{env}/imports/compose",
            axum::routing::post(stack_config::import_compose),
        )
        .route(
            "/projects/{project}/environments/{env}/nginx.conf",
            get(stack_config::nginx_conf),
        )
        .route(
            "/projects/{project}/environments/{env}/nginx/check",
            axum::routing::post(stack_config::nginx_check),
        )
        .route(
            "/projects/{project}/environments/{env}/export/docker-compose.yml",
            get(stack_config::export_compose),
        )
        .route(
            "/projects/{project}/environments/{env}/export/env",
            get(stack_config::export_env),
        )
        .route(
            "/projects/{project}/webhook",
            get(webhooks::get_settings).put(webhooks::put_settings),
        )
        .route("/projects/{project}/deliveries", get(webhooks::list))
        .route("/projects/{project}/deliveries/{id}", get(webhooks::get))
        .route(
            "/projects/{project}/deliveries/{id}/replay",
            post(webhooks::replay),
        )
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", delete(tokens::revoke))
        .route("/audit", get(audit::list))
        .route("/audit/export", get(audit::export))
        .route("/audit/verify", get(audit::verify))
        .route("/openapi.json", get(openapi::document))
        .route(
            "/projects/{project}/environments/{env}/metrics/targets",
            get(metrics_config::list_targets).post(metrics_config::add_target),
        )
        .route(
            "/projects/{project}/environments/{env}/metrics/targets/{id}",
            delete(metrics_config::remove_target),
        )
        .route(
            "/projects/{project}/environments/{env}/metrics/settings",
            get(metrics_config::get_settings).put(metrics_config::put_settings),
        )
        .route(
            "/projects/{project}/environments/{env}/metrics/import",
            post(metrics_config::import),
        )
        .merge(prometheus::routes())
        .fallback(error::not_found)
        .layer(axum::middleware::map_response(error::json_errors))
}
