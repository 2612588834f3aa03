//! Instance users (admins only for changes).
use crate::error::AppError;
use crate::model::UserView;
use leptos::prelude::*;

#[server]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    super::call::run(|c| async move { Ok(berth_core::users::list(&c.state, &c.ctx).await?) }).await
}

#[server]
pub async fn create_user(
    username: String,
    password: String,
    instance_role: String,
) -> Result<UserView, AppError> {
    super::call::run(|c| async move {
        let role: crate::model::InstanceRole = instance_role
            .parse()
            .map_err(|m: String| AppError::invalid("instance_role", m))?;
        Ok(berth_core::users::create(&c.state, &c.ctx, &username, &password, role).await?)
    })
    .await
}

#[server]
pub async fn set_user_disabled(username: String, disabled: String) -> Result<UserView, AppError> {
    super::call::run(|c| async move {
        let disabled = match disabled.as_str() {
            "true" => true,
            "false" => false,
            _ => return Err(AppError::invalid("disabled", "must be true or false")),
        };
        Ok(berth_core::users::set_disabled(&c.state, &c.ctx, &username, disabled).await?)
    })
    .await
}
