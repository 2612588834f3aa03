//! Variables and secrets at project level (`env` empty) or environment level.
#[cfg(feature = "ssr")]
use super::environments::flag;
use crate::error::AppError;
use crate::model::VariableView;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn scope<'a>(project: &'a str, env: Option<&'a str>) -> berth_core::variables::Scope<'a> {
    use berth_core::variables::Scope;
    match env.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => Scope::Environment(project, e),
        None => Scope::Project(project),
    }
}

#[server]
pub async fn list_variables(
    project: String,
    env: Option<String>,
) -> Result<Vec<VariableView>, AppError> {
    super::call::run(|c| async move {
        let scope = scope(&project, env.as_deref());
        Ok(berth_core::variables::list(&c.state, &c.ctx, scope).await?)
    })
    .await
}

/// Sets a variable or secret. `missing` ("on") records it as required with no value yet;
/// `secret` ("on") makes it a secret.
#[server]
pub async fn set_variable(
    project: String,
    env: Option<String>,
    name: String,
    value: Option<String>,
    secret: Option<String>,
    missing: Option<String>,
) -> Result<VariableView, AppError> {
    super::call::run(|c| async move {
        let scope = scope(&project, env.as_deref());
        let value = if flag(missing.as_deref()) {
            None
        } else {
            Some(value.unwrap_or_default())
        };
        let secret = flag(secret.as_deref());
        Ok(
            berth_core::variables::set(&c.state, &c.ctx, scope, &name, value.as_deref(), secret)
                .await?,
        )
    })
    .await
}

#[server]
pub async fn delete_variable(
    project: String,
    env: Option<String>,
    name: String,
) -> Result<(), AppError> {
    super::call::run(|c| async move {
        let scope = scope(&project, env.as_deref());
        Ok(berth_core::variables::delete(&c.state, &c.ctx, scope, &name).await?)
    })
    .await
}

/// An admin reads a secret's value (audited as `secret.reveal`).
#[server]
pub async fn reveal_secret(
    project: String,
    env: Option<String>,
    name: String,
) -> Result<String, AppError> {
    super::call::run(|c| async move {
        let scope = scope(&project, env.as_deref());
        Ok(berth_core::variables::reveal(&c.state, &c.ctx, scope, &name).await?)
    })
    .await
}
