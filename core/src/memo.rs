//! What one request looks up again and again, looked up once.
//!
//! A page calls several server functions in process, and each resolves its project, its
//! environment and the caller's role there: the environment page asked the database the same
//! three questions 24 times. A request's [`Ctx`](super::Ctx) carries a memo of those answers,
//! shared by every server function of that request.
//!
//! Staleness is bounded three ways: a memo lives only as long as its request's `Ctx` (REST
//! handlers and server functions make one per request; background work and `Ctx::system()`
//! get none); a write to projects, environments or memberships through the service layer
//! forgets everything; and an answer older than [`MAX_AGE`] is asked again, so even a
//! long-lived request (a log stream) never acts on an old role.
use super::authz::ProjectRef;
use berth_model::Role;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a remembered answer is trusted.
pub const MAX_AGE: Duration = Duration::from_secs(2);

/// An environment as resolved by slug (without its project).
#[derive(Clone, Debug)]
pub struct EnvRow {
    pub id: i64,
    pub slug: String,
    pub protected: bool,
}

#[derive(Default)]
struct Answers {
    since: Option<Instant>,
    projects: HashMap<String, ProjectRef>,
    environments: HashMap<(i64, String), EnvRow>,
    roles: HashMap<(i64, i64), Option<Role>>,
}

/// A request's memo; `Memo::default()` remembers nothing.
#[derive(Clone, Default)]
pub struct Memo(Option<Arc<Mutex<Answers>>>);

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Memo(on)"
        } else {
            "Memo(off)"
        })
    }
}

impl Memo {
    /// A memo for one request.
    pub fn for_request() -> Memo {
        Memo(Some(Arc::default()))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Answers) -> Option<T>) -> Option<T> {
        let cell = self.0.as_ref()?;
        let mut a = cell.lock().unwrap_or_else(|p| p.into_inner());
        match a.since {
            Some(t) if t.elapsed() <= MAX_AGE => {}
            _ => {
                *a = Answers {
                    since: Some(Instant::now()),
                    ..Answers::default()
                }
            }
        }
        f(&mut a)
    }

    pub fn project(&self, slug: &str) -> Option<ProjectRef> {
        self.with(|a| a.projects.get(slug).cloned())
    }
    pub fn remember_project(&self, p: &ProjectRef) {
        self.with(|a| a.projects.insert(p.slug.clone(), p.clone()).map(|_| ()));
    }

    pub fn environment(&self, project_id: i64, slug: &str) -> Option<EnvRow> {
        self.with(|a| a.environments.get(&(project_id, slug.to_string())).cloned())
    }
    pub fn remember_environment(&self, project_id: i64, e: &EnvRow) {
        self.with(|a| {
            a.environments
                .insert((project_id, e.slug.clone()), e.clone())
                .map(|_| ())
        });
    }

    /// `Some(role)` when remembered (the role itself may be none: not a member).
    pub fn role(&self, user_id: i64, project_id: i64) -> Option<Option<Role>> {
        self.with(|a| a.roles.get(&(user_id, project_id)).copied())
    }
    pub fn remember_role(&self, user_id: i64, project_id: i64, role: Option<Role>) {
        self.with(|a| a.roles.insert((user_id, project_id), role).map(|_| ()));
    }

    /// After a write that may change any answer.
    pub fn forget(&self) {
        if let Some(cell) = &self.0 {
            *cell.lock().unwrap_or_else(|p| p.into_inner()) = Answers::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> ProjectRef {
        ProjectRef {
            id: 7,
            slug: "shop".into(),
        }
    }

    #[test]
    fn a_request_memo_answers_until_forgotten() {
        let m = Memo::for_request();
        assert!(m.project("shop").is_none());
        m.remember_project(&shop());
        m.remember_role(1, 7, Some(Role::Viewer));
        m.remember_role(2, 7, None);
        assert_eq!(m.project("shop").map(|p| p.id), Some(7));
        assert_eq!(m.role(1, 7), Some(Some(Role::Viewer)));
        assert_eq!(m.role(2, 7), Some(None));
        assert_eq!(m.role(3, 7), None);
        // Clones share the answers: every server function of one request.
        let other = m.clone();
        other.forget();
        assert!(m.project("shop").is_none());
        assert_eq!(m.role(1, 7), None);
    }

    #[test]
    fn the_default_memo_remembers_nothing() {
        let m = Memo::default();
        m.remember_project(&shop());
        m.remember_role(1, 7, Some(Role::Admin));
        assert!(m.project("shop").is_none());
        assert_eq!(m.role(1, 7), None);
    }

    #[test]
    fn old_answers_are_asked_again() {
        let m = Memo::for_request();
        m.remember_role(1, 7, Some(Role::Admin));
        if let Some(cell) = &m.0 {
            cell.lock().unwrap().since = Instant::now().checked_sub(MAX_AGE * 2);
        }
        assert_eq!(m.role(1, 7), None);
    }
}
