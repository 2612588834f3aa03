//! Project members and their roles.
use crate::error::AppError;
use crate::model::MemberView;
use leptos::prelude::*;

#[server]
pub async fn list_members(project: String) -> Result<Vec<MemberView>, AppError> {
    super::call::run(
        |c| async move { Ok(berth_core::members::list(&c.state, &c.ctx, &project).await?) },
    )
    .await
}

#[server]
pub async fn set_member(
    project: String,
    username: String,
    role: String,
) -> Result<MemberView, AppError> {
    super::call::run(|c| async move {
        let role: crate::model::Role = role
            .parse()
            .map_err(|m: String| AppError::invalid("role", m))?;
        Ok(berth_core::members::set(&c.state, &c.ctx, &project, &username, role).await?)
    })
    .await
}

#[server]
pub async fn remove_member(project: String, username: String) -> Result<(), AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::members::remove(&c.state, &c.ctx, &project, &username).await?)
    })
    .await
}
