//! The caller's API tokens.
use crate::error::AppError;
use crate::model::{CreatedToken, TokenView};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
const FLASH: &str = "new_token";

#[server]
pub async fn list_tokens() -> Result<Vec<TokenView>, AppError> {
    super::call::run(|c| async move { Ok(berth_core::tokens::list_own(&c.state, &c.ctx).await?) })
        .await
}

#[server]
pub async fn create_token(
    name: String,
    scope: String,
    expires_in: String,
) -> Result<CreatedToken, AppError> {
    super::call::run(|c| async move {
        let scope: crate::model::Scope = scope
            .parse()
            .map_err(|m: String| AppError::invalid("scope", m))?;
        let created =
            berth_core::tokens::create(&c.state, &c.ctx, None, &name, scope, &expires_in).await?;
        if super::call::plain_form_post() {
            // Without JavaScript the page reloads; keep the secret (sealed) for that render.
            berth_core::flash::put(&c.state, &c.ctx, &c.session, FLASH, &created).await?;
        }
        Ok(created)
    })
    .await
}

/// The token created by the last plain form post, once.
#[server]
pub async fn take_new_token() -> Result<Option<CreatedToken>, AppError> {
    super::call::run(|c| async move {
        Ok(berth_core::flash::take(&c.state, &c.ctx, &c.session, FLASH).await?)
    })
    .await
}

#[server]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    super::call::run(|c| async move { Ok(berth_core::tokens::revoke(&c.state, &c.ctx, id).await?) })
        .await
}
