//! The environment's stack: services, imports with preview, the generated nginx config.
use crate::error::AppError;
use crate::model::{ImportPlan, ServiceView};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
const FLASH: &str = "import_plan";

#[server]
pub async fn list_services(project: String, env: String) -> Result<Vec<ServiceView>, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::services::list(&c.state, &c.ctx, &project, &env).await?)
    })
    .await
}

/// Previews (`apply` absent) or applies an import of a `.env` (`kind = env`) or
/// `docker-compose.yml` (`kind = compose`) pasted into the form.
#[server]
pub async fn import_file(
    project: String,
    env: String,
    kind: String,
    file_name: String,
    content: String,
    apply: Option<String>,
) -> Result<ImportPlan, AppError> {
    use berth_core::{imports, variables::Scope};
    super::call::run(|c| async move {
        let apply = apply.is_some_and(|a| a == "true" || a == "on");
        let name = if file_name.trim().is_empty() {
            kind.clone()
        } else {
            file_name
        };
        let plan = match kind.as_str() {
            "env" => {
                imports::env_file(
                    &c.state,
                    &c.ctx,
                    Scope::Environment(&project, &env),
                    &name,
                    &content,
                    None,
                    apply,
                )
                .await?
            }
            "compose" => {
                imports::compose_file(&c.state, &c.ctx, &project, &env, &name, &content, apply)
                    .await?
            }
            _ => return Err(AppError::invalid("kind", "must be env or compose")),
        };
        if super::call::plain_form_post() {
            // Without JavaScript the page reloads: keep the plan (sealed) for that render.
            berth_core::flash::put(&c.state, &c.ctx, &c.session, FLASH, &plan).await?;
        }
        Ok(plan)
    })
    .await
}

/// The plan of the last plain form post, once.
#[server]
pub async fn take_import_plan() -> Result<Option<ImportPlan>, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::flash::take(&c.state, &c.ctx, &c.session, FLASH).await?)
    })
    .await
}

#[server]
pub async fn nginx_config(project: String, env: String) -> Result<String, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::edge::nginx_config(&c.state, &c.ctx, &project, &env).await?)
    })
    .await
}

/// Runs `nginx -t`; returns (ok, output).
#[server]
pub async fn check_nginx(project: String, env: String) -> Result<(bool, String), AppError> {
    super::call::run(|c| async move {
        let r = berth_core::edge::nginx_check(&c.state, &c.ctx, &project, &env).await?;
        Ok((r.ok, r.output))
    })
    .await
}
