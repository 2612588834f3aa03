//! Authorization: the one place that decides whether an actor may do an action.
//! Every server function, REST handler, webhook and CLI path goes through `authorize`.
use super::audit::{self, NewEvent, Outcome};
use super::context::{Actor, Ctx};
use super::db::Db;
use super::error::{ServiceError, ServiceResult};
use berth_model::{Role, Scope};
use sqlx::Row;

/// Everything an actor can ask to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    // Instance-wide, instance admins only.
    ManageUsers,
    CreateProject,
    ManageSettings,
    ReadInstanceAudit,
    /// Lets an environment reach its `tcp://` Docker host without TLS.
    MarkDockerHostInsecure,
    // Per project (the matrix in PRODUCT.md).
    ReadProject,
    DeployUnprotected,
    RunBackup,
    DeployProtected,
    EditConfig,
    WriteSecret,
    Restore,
    ManageAlerts,
    RevealSecret,
    ManageMembers,
    ManageDockerHosts,
    DeleteProject,
    // About oneself.
    ManageOwnTokens,
    ChangeOwnPassword,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::ManageUsers => "manage_users",
            Action::CreateProject => "create_project",
            Action::ManageSettings => "manage_settings",
            Action::ReadInstanceAudit => "read_instance_audit",
            Action::MarkDockerHostInsecure => "mark_docker_host_insecure",
            Action::ReadProject => "read_project",
            Action::DeployUnprotected => "deploy",
            Action::RunBackup => "run_backup",
            Action::DeployProtected => "deploy_protected",
            Action::EditConfig => "edit_config",
            Action::WriteSecret => "write_secret",
            Action::Restore => "restore",
            Action::ManageAlerts => "manage_alerts",
            Action::RevealSecret => "reveal_secret",
            Action::ManageMembers => "manage_members",
            Action::ManageDockerHosts => "manage_docker_hosts",
            Action::DeleteProject => "delete_project",
            Action::ManageOwnTokens => "manage_own_tokens",
            Action::ChangeOwnPassword => "change_own_password",
        }
    }

    /// The lowest project role allowed to do it (`None`: not a project action).
    pub fn min_role(self) -> Option<Role> {
        use Action::*;
        match self {
            ReadProject => Some(Role::Viewer),
            DeployUnprotected | RunBackup => Some(Role::Deployer),
            DeployProtected | EditConfig | WriteSecret | Restore | ManageAlerts => {
                Some(Role::Maintainer)
            }
            RevealSecret | ManageMembers | ManageDockerHosts | DeleteProject => Some(Role::Admin),
            ManageUsers | CreateProject | ManageSettings | ReadInstanceAudit | ManageOwnTokens
            | ChangeOwnPassword => None,
            MarkDockerHostInsecure => None,
        }
    }

    /// The lowest token scope allowed to do it.
    pub fn min_scope(self) -> Scope {
        use Action::*;
        match self {
            ReadProject | ReadInstanceAudit => Scope::Read,
            DeployUnprotected | DeployProtected | RunBackup => Scope::Deploy,
            _ => Scope::Write,
        }
    }
}

/// The pure decision. `project_role` is the actor's membership role in the project the
/// action is about, if any.
pub fn decide(actor: &Actor, action: Action, project_role: Option<Role>) -> bool {
    let (user, scope) = match actor {
        Actor::User(u) => (u, Scope::Write),
        Actor::Token(u, t) => (u, t.scope),
        Actor::System => return true,
        // Which project: see `allowed` (a delivery acts only on the project that verified it).
        Actor::Webhook(..) => {
            return matches!(action, Action::DeployUnprotected | Action::DeployProtected)
        }
        Actor::Anonymous => return false,
    };
    if scope < action.min_scope() {
        return false;
    }
    match action.min_role() {
        None => match action {
            Action::ManageOwnTokens | Action::ChangeOwnPassword => {
                // A token may not mint tokens or change its owner's password.
                matches!(actor, Actor::User(_))
            }
            _ => user.is_admin(),
        },
        Some(min) => {
            let role = if user.is_admin() {
                Some(Role::Admin)
            } else {
                project_role
            };
            role.is_some_and(|r| r >= min)
        }
    }
}

/// A project the action is about.
#[derive(Clone, Debug)]
pub struct ProjectRef {
    pub id: i64,
    pub slug: String,
}

pub async fn role_in(db: &Db, user_id: i64, project_id: i64) -> ServiceResult<Option<Role>> {
    let row = sqlx::query("SELECT role FROM memberships WHERE project_id = $1 AND user_id = $2")
        .bind(project_id)
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(match row {
        Some(r) => Some(
            r.try_get::<String, _>(0)?
                .parse()
                .map_err(|e: String| ServiceError::Internal(e))?,
        ),
        None => None,
    })
}

/// The caller's role in `project`, remembered for the rest of the request.
pub(crate) async fn caller_role(
    db: &Db,
    ctx: &Ctx,
    project: Option<&ProjectRef>,
) -> ServiceResult<Option<Role>> {
    let (Some(p), Some(u)) = (project, ctx.user()) else {
        return Ok(None);
    };
    ctx.memo.role(u.id, p.id, || role_in(db, u.id, p.id)).await
}

/// Decides, and records a refusal in the audit log. Unauthenticated callers get
/// `Unauthenticated`; a project the caller may not even read looks like it does not exist.
/// [`decide`], with the one fact it cannot see: the project a webhook delivery was verified
/// for is the only one it may act on.
fn allowed(
    actor: &Actor,
    action: Action,
    project: Option<&ProjectRef>,
    role: Option<Role>,
) -> bool {
    if let Actor::Webhook(_, verified_for) = actor {
        if project.map(|p| p.id) != Some(*verified_for) {
            return false;
        }
    }
    decide(actor, action, role)
}

/// Whether the caller may do `action`, without recording anything (for showing or hiding
/// what a page or answer contains; mutations use [`authorize`]).
pub async fn may(
    db: &Db,
    ctx: &Ctx,
    action: Action,
    project: Option<&ProjectRef>,
) -> ServiceResult<bool> {
    let role = caller_role(db, ctx, project).await?;
    Ok(allowed(&ctx.actor, action, project, role))
}

pub async fn authorize(
    db: &Db,
    ctx: &Ctx,
    action: Action,
    project: Option<&ProjectRef>,
) -> ServiceResult<()> {
    if matches!(ctx.actor, Actor::Anonymous) {
        return Err(ServiceError::Unauthenticated);
    }
    let role = caller_role(db, ctx, project).await?;
    if allowed(&ctx.actor, action, project, role) {
        return Ok(());
    }
    let target = match project {
        Some(p) => format!("project:{}", p.slug),
        None => "instance".to_string(),
    };
    let mut ev = NewEvent::new("authz.denied", target)
        .summary(serde_json::json!({ "action": action.name() }))
        .outcome(Outcome::Denied);
    if let Some(p) = project {
        ev = ev.project(p.id);
    }
    audit::record(db, ctx, ev).await?;
    let outsider = project.is_some() && role.is_none() && !ctx.user().is_some_and(|u| u.is_admin());
    if outsider {
        return Err(ServiceError::NotFound("project".into()));
    }
    Err(ServiceError::Forbidden)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{AuthUser, TokenInfo};
    use berth_model::InstanceRole;

    fn user(admin: bool) -> AuthUser {
        AuthUser {
            id: 1,
            username: "u".into(),
            instance_role: if admin {
                InstanceRole::Admin
            } else {
                InstanceRole::User
            },
        }
    }

    #[test]
    fn the_role_matrix_of_the_product_card() {
        let a = Actor::User(user(false));
        let cases = [
            (Action::ReadProject, Role::Viewer),
            (Action::DeployUnprotected, Role::Deployer),
            (Action::RunBackup, Role::Deployer),
            (Action::DeployProtected, Role::Maintainer),
            (Action::EditConfig, Role::Maintainer),
            (Action::WriteSecret, Role::Maintainer),
            (Action::Restore, Role::Maintainer),
            (Action::ManageAlerts, Role::Maintainer),
            (Action::RevealSecret, Role::Admin),
            (Action::ManageMembers, Role::Admin),
            (Action::ManageDockerHosts, Role::Admin),
        ];
        for (action, min) in cases {
            for role in Role::ALL {
                assert_eq!(
                    decide(&a, action, Some(role)),
                    role >= min,
                    "{action:?} as {role}"
                );
            }
            assert!(!decide(&a, action, None), "{action:?} as outsider");
        }
    }

    #[test]
    fn instance_admin_is_admin_everywhere_and_only_they_manage_users() {
        assert!(decide(&Actor::User(user(true)), Action::RevealSecret, None));
        assert!(decide(&Actor::User(user(true)), Action::ManageUsers, None));
        assert!(!decide(
            &Actor::User(user(false)),
            Action::ManageUsers,
            Some(Role::Admin)
        ));
        assert!(!decide(
            &Actor::User(user(false)),
            Action::CreateProject,
            None
        ));
    }

    #[test]
    fn tokens_never_exceed_their_scope_or_owner() {
        let t = |scope| {
            Actor::Token(
                user(false),
                TokenInfo {
                    id: 1,
                    name: "ci".into(),
                    scope,
                },
            )
        };
        assert!(decide(
            &t(Scope::Read),
            Action::ReadProject,
            Some(Role::Admin)
        ));
        assert!(!decide(
            &t(Scope::Read),
            Action::DeployUnprotected,
            Some(Role::Admin)
        ));
        assert!(decide(
            &t(Scope::Deploy),
            Action::DeployUnprotected,
            Some(Role::Deployer)
        ));
        assert!(!decide(
            &t(Scope::Deploy),
            Action::EditConfig,
            Some(Role::Admin)
        ));
        assert!(!decide(
            &t(Scope::Write),
            Action::EditConfig,
            Some(Role::Deployer)
        ));
        assert!(!decide(&t(Scope::Write), Action::ManageOwnTokens, None));
    }

    #[test]
    fn only_instance_admins_mark_a_docker_host_insecure() {
        let a = Action::MarkDockerHostInsecure;
        for role in Role::ALL {
            assert!(!decide(&Actor::User(user(false)), a, Some(role)), "{role}");
        }
        assert!(decide(&Actor::User(user(true)), a, None));
        let token = |scope| {
            Actor::Token(
                user(true),
                TokenInfo {
                    id: 1,
                    name: "ci".into(),
                    scope,
                },
            )
        };
        assert!(decide(&token(Scope::Write), a, None));
        assert!(!decide(&token(Scope::Deploy), a, None));
        assert!(!decide(&Actor::Webhook("github".into(), 1), a, None));
    }

    #[test]
    fn a_webhook_delivery_acts_only_on_the_project_that_verified_it() {
        let hook = Actor::Webhook("github:octocat".into(), 7);
        let p = |id| ProjectRef {
            id,
            slug: "p".into(),
        };
        assert!(allowed(&hook, Action::DeployProtected, Some(&p(7)), None));
        assert!(!allowed(&hook, Action::DeployProtected, Some(&p(8)), None));
        assert!(!allowed(&hook, Action::DeployUnprotected, None, None));
        assert!(!allowed(&hook, Action::EditConfig, Some(&p(7)), None));
    }

    #[test]
    fn anonymous_may_do_nothing() {
        assert!(!decide(
            &Actor::Anonymous,
            Action::ReadProject,
            Some(Role::Admin)
        ));
    }
}
