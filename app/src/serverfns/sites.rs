//! Sites of a project. The form posts flat text fields (formats in `components::spec_text`),
//! parsed here into the spec; errors name the field and the line.
// One argument per form field.
#![allow(clippy::too_many_arguments)]
use crate::error::AppError;
use crate::model::SiteView;
use leptos::prelude::*;

#[server]
pub async fn list_sites(project: String) -> Result<Vec<SiteView>, AppError> {
    super::call::run(
        |c| async move { Ok(berth_core::sites::list(&c.state, &c.ctx, &project).await?) },
    )
    .await
}

/// Creates or replaces the site `name`.
#[server]
pub async fn put_site(
    project: String,
    name: String,
    hosts: String,
    routes: String,
    health_path: String,
    smoke_checks: String,
    tls: String,
    cache_timeout_secs: String,
) -> Result<SiteView, AppError> {
    use crate::components::{spec_parse, spec_text::SiteText};
    super::call::run(|c| async move {
        let spec = spec_parse::parse_site(&SiteText {
            name,
            hosts,
            routes,
            health_path,
            smoke_checks,
            tls,
            cache_timeout_secs,
        })?;
        Ok(berth_core::sites::put(&c.state, &c.ctx, &project, spec).await?)
    })
    .await
}

#[server]
pub async fn delete_site(project: String, name: String) -> Result<(), AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::sites::delete(&c.state, &c.ctx, &project, &name).await?)
    })
    .await
}
