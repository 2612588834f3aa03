//! Instance settings: the host paths services may bind-mount without an admin.
use crate::error::AppError;
use leptos::prelude::*;

#[server]
pub async fn host_paths() -> Result<Vec<String>, AppError> {
    super::call::run(|c| async move { Ok(berth_core::host_paths::get(&c.state, &c.ctx).await?) })
        .await
}

/// `paths`: one absolute path per line.
#[server]
pub async fn set_host_paths(paths: String) -> Result<Vec<String>, AppError> {
    super::call::run(|c| async move {
        let list: Vec<String> = paths.lines().map(str::to_string).collect();
        Ok(berth_core::host_paths::set(&c.state, &c.ctx, &list).await?)
    })
    .await
}
