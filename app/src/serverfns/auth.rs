//! Signing in and out, first-run setup, and one's own password.
use crate::error::AppError;
use crate::model::Me;
use leptos::prelude::*;

#[server]
pub async fn get_me() -> Result<Option<Me>, AppError> {
    super::call::run(|c| async move { Ok(c.ctx.user().map(|u| u.me())) }).await
}

#[server]
pub async fn login(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use berth_core::{users, validate, web};
    super::call::run(|c| async move {
        let user = users::login(&c.state, &c.ctx, &username, &password).await?;
        web::sign_in(&c.session, &user).await?;
        // Only paths on this site, so the login form cannot send people elsewhere.
        leptos_axum::redirect(&validate::next_path(next.as_deref()));
        Ok(())
    })
    .await
}

#[server]
pub async fn logout() -> Result<(), AppError> {
    super::call::run(|c| async move {
        berth_core::web::sign_out(&c.state, &c.session, &c.ctx).await?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

#[server]
pub async fn setup_token_valid(token: String) -> Result<bool, AppError> {
    super::call::run(|c| async move { Ok(berth_core::setup::token_valid(&c.state, &token).await?) })
        .await
}

#[server]
pub async fn complete_setup(
    token: String,
    username: String,
    password: String,
) -> Result<(), AppError> {
    use berth_core::{setup, users, web};
    super::call::run(|c| async move {
        let view = setup::complete(&c.state, &c.ctx, &token, &username, &password).await?;
        let user = users::find_by_id(&c.state.db, view.id)
            .await?
            .ok_or(AppError::Internal)?;
        web::sign_in(&c.session, &user.auth()).await?;
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}

#[server]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    super::call::run(|c| async move {
        let keep = c.session.id().map(|id| id.to_string());
        berth_core::users::change_password(
            &c.state,
            &c.ctx,
            &current_password,
            &new_password,
            keep.as_deref(),
        )
        .await?;
        // The password changed after this session signed in: start it afresh.
        if let Some(u) = c.ctx.user() {
            berth_core::web::sign_in(&c.session, u).await?;
        }
        Ok(())
    })
    .await
}
