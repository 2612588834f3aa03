//! Editing an environment's services. The form posts flat text fields (formats in
//! `components::spec_text`), parsed here into the spec; errors name the field and the line.
// One argument per form field.
#![allow(clippy::too_many_arguments)]
use crate::error::AppError;
use crate::model::ServiceView;
use leptos::prelude::*;

/// Creates or replaces the service `name`. (Listing is `stack::list_services`.)
#[server]
pub async fn put_service(
    project: String,
    env: String,
    name: String,
    image: String,
    replicas: String,
    command: String,
    env_vars: String,
    inherit_mode: String,
    inherit: String,
    ports: String,
    volumes: String,
    cpu_limit: String,
    memory_limit: String,
    cpu_reservation: String,
    memory_reservation: String,
    http_port: String,
    health_path: String,
    health_command: String,
    health_interval: String,
    health_timeout: String,
    health_retries: String,
    health_start_period: String,
    pre_deploy: String,
    #[server(default)] update: String,
    #[server(default)] depends_on: String,
    #[server(default)] restart: String,
    #[server(default)] internal: String,
    #[server(default)] stop_grace: String,
    #[server(default)] runtime: String,
    #[server(default)] metrics: String,
) -> Result<ServiceView, AppError> {
    use crate::components::{spec_parse, spec_text::ServiceText};
    super::call::run(|c| async move {
        let text = ServiceText {
            name,
            image,
            replicas,
            command,
            env: env_vars,
            inherit_mode,
            inherit,
            ports,
            volumes,
            cpu_limit,
            memory_limit,
            cpu_reservation,
            memory_reservation,
            http_port,
            health_path,
            health_command,
            health_interval,
            health_timeout,
            health_retries,
            health_start_period,
            pre_deploy,
            update,
            depends_on,
            restart,
            internal,
            stop_grace,
            runtime,
            metrics,
        };
        let spec = spec_parse::parse_service(&text).map_err(env_field)?;
        berth_core::services::put(&c.state, &c.ctx, &project, &env, spec)
            .await
            .map_err(|e| env_field(e.into()))
    })
    .await
}

/// The form names fields flat: `resources.cpu_limit` is `cpu_limit`, `env` is `env_vars`
/// (`env` is the environment).
#[cfg(feature = "ssr")]
fn env_field(e: AppError) -> AppError {
    match e {
        AppError::Invalid { field, message } => {
            let field = match field.strip_prefix("resources.").unwrap_or(&field) {
                "env" => "env_vars".to_string(),
                f => f.to_string(),
            };
            AppError::Invalid { field, message }
        }
        other => other,
    }
}

#[server]
pub async fn delete_service(project: String, env: String, name: String) -> Result<(), AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::services::delete(&c.state, &c.ctx, &project, &env, &name).await?)
    })
    .await
}
