//! Project members and their roles.
use crate::error::AppError;
use crate::model::MemberView;
use leptos::prelude::*;

#[server]
pub async fn list_members(project: String) -> Result<Vec<MemberView>, AppError> {
    let c = super::call::call().await?;
    Ok(crate::server::members::list(&c.state, &c.ctx, &project).await?)
}

#[server]
pub async fn set_member(
    project: String,
    username: String,
    role: String,
) -> Result<MemberView, AppError> {
    let c = super::call::call().await?;
    let role: crate::model::Role = role
        .parse()
        .map_err(|m: String| AppError::invalid("role", m))?;
    Ok(crate::server::members::set(&c.state, &c.ctx, &project, &username, role).await?)
}

#[server]
pub async fn remove_member(project: String, username: String) -> Result<(), AppError> {
    let c = super::call::call().await?;
    Ok(crate::server::members::remove(&c.state, &c.ctx, &project, &username).await?)
}
