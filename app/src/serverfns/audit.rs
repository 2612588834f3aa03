//! The audit log, as the caller may see it.
use crate::error::AppError;
use crate::model::{AuditFilter, AuditPage, VerifyReport};
use leptos::prelude::*;

#[server]
pub async fn list_audit(filter: AuditFilter) -> Result<AuditPage, AppError> {
    super::call::run(|c| async move {
        let visible = berth_core::projects::visible_ids(&c.state, &c.ctx).await?;
        Ok(berth_core::audit::list(&c.state.db, &visible, &filter).await?)
    })
    .await
}

#[server]
pub async fn verify_audit() -> Result<VerifyReport, AppError> {
    use berth_core::authz::{authorize, Action};
    super::call::run(|c| async move {
        authorize(&c.state.db, &c.ctx, Action::ReadInstanceAudit, None).await?;
        Ok(berth_core::audit::verify(&c.state.db).await?)
    })
    .await
}
