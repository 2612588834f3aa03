//! Projects.
use crate::error::AppError;
use crate::model::ProjectView;
use leptos::prelude::*;

#[server]
pub async fn list_projects() -> Result<Vec<ProjectView>, AppError> {
    super::call::run(|c| async move { Ok(berth_core::projects::list(&c.state, &c.ctx).await?) })
        .await
}

#[server]
pub async fn get_project(slug: String) -> Result<ProjectView, AppError> {
    super::call::run(
        |c| async move { Ok(berth_core::projects::get(&c.state, &c.ctx, &slug).await?) },
    )
    .await
}

#[server]
pub async fn create_project(name: String, slug: String) -> Result<ProjectView, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::projects::create(&c.state, &c.ctx, &name, &slug).await?)
    })
    .await
}

#[server]
pub async fn delete_project(slug: String) -> Result<(), AppError> {
    super::call::run(|c| async move {
        berth_core::projects::delete(&c.state, &c.ctx, &slug).await?;
        leptos_axum::redirect("/projects");
        Ok(())
    })
    .await
}
