//! Who is acting, and from where: handed to every service function.
use super::memo::Memo;
use berth_model::{InstanceRole, Me, Scope};

#[derive(Clone, Debug)]
pub struct AuthUser {
    pub id: i64,
    pub username: String,
    pub instance_role: InstanceRole,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.instance_role == InstanceRole::Admin
    }
    pub fn me(&self) -> Me {
        Me {
            id: self.id,
            username: self.username.clone(),
            instance_role: self.instance_role,
        }
    }
}

#[derive(Clone, Debug)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
}

#[derive(Clone, Debug)]
pub enum Actor {
    /// Signed in through the browser session.
    User(AuthUser),
    /// An API token acting for its owner, within its scope.
    Token(AuthUser, TokenInfo),
    /// A signed webhook delivery: its name (`github:<pusher>`) and the one project whose
    /// secret verified it (it may act on nothing else).
    Webhook(String, i64),
    /// Berth itself (CLI, background workers).
    System,
    Anonymous,
}

impl Actor {
    pub fn user(&self) -> Option<&AuthUser> {
        match self {
            Actor::User(u) | Actor::Token(u, _) => Some(u),
            _ => None,
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::Token(..) => "token",
            Actor::Webhook(..) => "webhook",
            Actor::System => "system",
            Actor::Anonymous => "anonymous",
        }
    }
    pub fn name(&self) -> String {
        match self {
            Actor::User(u) => u.username.clone(),
            Actor::Token(u, t) => format!("{} (token {})", u.username, t.name),
            Actor::Webhook(w, _) => w.clone(),
            Actor::System => "system".into(),
            Actor::Anonymous => "anonymous".into(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub client_addr: String,
    pub user_agent: String,
}

/// The caller of a service function.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub actor: Actor,
    pub meta: RequestMeta,
    /// Answers this request already looked up (off outside requests).
    pub memo: Memo,
}

impl Ctx {
    /// A caller outside any request (background work, the CLI): remembers nothing.
    pub fn new(actor: Actor, meta: RequestMeta) -> Ctx {
        Ctx {
            actor,
            meta,
            memo: Memo::default(),
        }
    }
    /// The caller of one HTTP request: its lookups are remembered for the request.
    pub fn for_request(actor: Actor, meta: RequestMeta) -> Ctx {
        Ctx {
            actor,
            meta,
            memo: Memo::for_request(),
        }
    }
    pub fn system() -> Ctx {
        Ctx::new(
            Actor::System,
            RequestMeta {
                client_addr: "local".into(),
                user_agent: "berth-cli".into(),
            },
        )
    }
    pub fn user(&self) -> Option<&AuthUser> {
        self.actor.user()
    }
}
