//! The OpenAPI document, generated from the handlers and types.
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Berth API", description = "Manage projects, environments, configuration, deploys, releases, containers, metrics (scrape targets, and Prometheus's query API), GitHub webhook deliveries, members, tokens and the audit log."),
    paths(
        super::users::me, super::users::list, super::users::create, super::users::update,
        super::settings::get_host_paths, super::settings::put_host_paths,
        super::projects::list, super::projects::create, super::projects::get, super::projects::delete,
        super::members::list, super::members::set, super::members::remove,
        super::tokens::list, super::tokens::create, super::tokens::revoke,
        super::audit::list, super::audit::export, super::audit::verify,
        super::environments::list, super::environments::create, super::environments::get,
        super::environments::update, super::environments::delete,
        super::environments::versions, super::environments::diff,
        super::variables::list_project, super::variables::list_env, super::variables::put_project,
        super::variables::put_env, super::variables::delete_project, super::variables::delete_env,
        super::variables::reveal_project, super::variables::reveal_env,
        super::stack_config::list_services, super::stack_config::put_service,
        super::stack_config::delete_service, super::stack_config::list_sites,
        super::stack_config::put_site, super::stack_config::delete_site,
        super::stack_config::import_env, super::stack_config::import_compose,
        super::stack_config::nginx_conf, super::stack_config::nginx_check,
        super::stack_config::export_compose, super::stack_config::export_env,
        super::deploys::create, super::deploys::list, super::deploys::rollback,
        super::deploys::redeploy, super::deploys::scale, super::deploys::restart, super::deploys::replace,
        super::deploys::releases, super::deploys::get, super::deploys::cancel, super::deploys::log,
        super::deploys::get_settings, super::deploys::put_settings,
        super::runtime::list, super::runtime::logs, super::runtime::restart, super::runtime::stop,
        super::runtime::get_watchdog, super::runtime::put_watchdog,
        super::webhooks::get_settings, super::webhooks::put_settings, super::webhooks::list,
        super::webhooks::get, super::webhooks::replay,
        super::metrics_config::list_targets, super::metrics_config::add_target,
        super::metrics_config::remove_target, super::metrics_config::get_settings,
        super::metrics_config::put_settings, super::metrics_config::import,
        super::prometheus::query_global, super::prometheus::query_project,
        super::prometheus::range_global, super::prometheus::range_project,
        super::prometheus::series_global, super::prometheus::series_project,
        super::prometheus::labels_global, super::prometheus::labels_project,
        super::prometheus::label_values_global, super::prometheus::label_values_project,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
