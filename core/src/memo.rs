//! What one request looks up again and again, looked up once.
//!
//! A page calls several server functions in process, and each resolves its project, its
//! environment and the caller's role there: the environment page asked the database the same
//! three questions 24 times. A request's [`Ctx`](super::Ctx) carries a memo of those answers,
//! shared by every server function of that request.
//!
//! Staleness is bounded three ways: a memo lives only as long as its request's `Ctx` (REST
//! handlers and server functions make one per request; background work and `Ctx::system()`
//! get none); every write through the service layer forgets everything when it commits (each
//! is audited, and `audit::append` registers the memo with the transaction); and an answer older than [`MAX_AGE`] is asked again, so even a
//! long-lived request (a log stream) never acts on an old role.
use berth_model::{EnvironmentView, Role};
use stack::model::DeploySettings;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// How long a remembered answer is trusted.
pub const MAX_AGE: Duration = Duration::from_secs(2);

/// A project as resolved by slug.
#[derive(Clone, Debug)]
pub struct ProjectRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
}

/// An environment as resolved by slug (without its project), with its whole view.
#[derive(Clone, Debug)]
pub struct EnvRow {
    pub id: i64,
    pub slug: String,
    pub protected: bool,
    pub view: Arc<EnvironmentView>,
}

/// An environment's deploy settings and current release.
pub type Runtime = (DeploySettings, Option<i64>);

type Cell<T> = Arc<OnceCell<T>>;

#[derive(Default)]
struct Answers {
    since: Option<Instant>,
    projects: HashMap<String, Cell<ProjectRow>>,
    environments: HashMap<(i64, String), Cell<EnvRow>>,
    roles: HashMap<(i64, i64), Cell<Option<Role>>>,
    runtimes: HashMap<i64, Cell<Runtime>>,
}

/// A request's memo; `Memo::default()` remembers nothing.
///
/// Each answer is looked up once even when the server functions of a page ask at the same
/// moment (a page's resources load concurrently): the first asks, the others wait for its
/// answer. A failed lookup is not remembered.
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

    /// The cell for one answer, or none when the memo is off.
    fn cell<K, T>(
        &self,
        map: impl FnOnce(&mut Answers) -> &mut HashMap<K, Cell<T>>,
        key: K,
    ) -> Option<Cell<T>>
    where
        K: std::hash::Hash + Eq,
    {
        let answers = self.0.as_ref()?;
        let mut a = answers.lock().unwrap_or_else(|p| p.into_inner());
        if a.since.is_none_or(|t| t.elapsed() > MAX_AGE) {
            *a = Answers {
                since: Some(Instant::now()),
                ..Answers::default()
            };
        }
        Some(map(&mut a).entry(key).or_default().clone())
    }

    async fn answer<T, E, Fut>(cell: Option<Cell<T>>, ask: impl FnOnce() -> Fut) -> Result<T, E>
    where
        T: Clone,
        Fut: Future<Output = Result<T, E>>,
    {
        match cell {
            Some(cell) => cell.get_or_try_init(ask).await.cloned(),
            None => ask().await,
        }
    }

    /// The project `slug`, as `ask` finds it the first time in this request.
    pub async fn project<E, Fut>(
        &self,
        slug: &str,
        ask: impl FnOnce() -> Fut,
    ) -> Result<ProjectRow, E>
    where
        Fut: Future<Output = Result<ProjectRow, E>>,
    {
        Self::answer(self.cell(|a| &mut a.projects, slug.to_string()), ask).await
    }

    /// Environment `slug` of project `project_id`.
    pub async fn environment<E, Fut>(
        &self,
        project_id: i64,
        slug: &str,
        ask: impl FnOnce() -> Fut,
    ) -> Result<EnvRow, E>
    where
        Fut: Future<Output = Result<EnvRow, E>>,
    {
        let key = (project_id, slug.to_string());
        Self::answer(self.cell(|a| &mut a.environments, key), ask).await
    }

    /// User `user_id`'s role in project `project_id` (none: not a member).
    pub async fn role<E, Fut>(
        &self,
        user_id: i64,
        project_id: i64,
        ask: impl FnOnce() -> Fut,
    ) -> Result<Option<Role>, E>
    where
        Fut: Future<Output = Result<Option<Role>, E>>,
    {
        Self::answer(self.cell(|a| &mut a.roles, (user_id, project_id)), ask).await
    }

    /// Environment `env_id`'s deploy settings and current release.
    pub async fn runtime<E, Fut>(
        &self,
        env_id: i64,
        ask: impl FnOnce() -> Fut,
    ) -> Result<Runtime, E>
    where
        Fut: Future<Output = Result<Runtime, E>>,
    {
        Self::answer(self.cell(|a| &mut a.runtimes, env_id), ask).await
    }

    /// After a write that may change any answer.
    pub fn forget(&self) {
        if let Some(answers) = &self.0 {
            *answers.lock().unwrap_or_else(|p| p.into_inner()) = Answers::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn shop() -> ProjectRow {
        ProjectRow {
            id: 7,
            slug: "shop".into(),
            name: "Shop".into(),
            created_at: 0,
        }
    }

    /// Looks `shop` up through `m`, counting the lookups that really ran.
    async fn lookup(m: &Memo, asked: &AtomicUsize) -> Result<ProjectRow, ()> {
        m.project("shop", || async {
            asked.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(shop())
        })
        .await
    }

    #[tokio::test]
    async fn a_request_asks_once_until_it_forgets() {
        let asked = AtomicUsize::new(0);
        let m = Memo::for_request();
        let other = m.clone(); // another server function of the same request
        assert_eq!(lookup(&m, &asked).await.unwrap().id, 7);
        assert_eq!(lookup(&other, &asked).await.unwrap().id, 7);
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        other.forget();
        lookup(&m, &asked).await.unwrap();
        assert_eq!(asked.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn concurrent_askers_share_one_lookup() {
        let asked = AtomicUsize::new(0);
        let m = Memo::for_request();
        let (m2, m3) = (m.clone(), m.clone());
        let (a, b, c) = tokio::join!(lookup(&m, &asked), lookup(&m2, &asked), lookup(&m3, &asked));
        assert!(a.is_ok() && b.is_ok() && c.is_ok());
        assert_eq!(asked.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn failures_are_not_remembered_and_the_default_memo_remembers_nothing() {
        let m = Memo::for_request();
        let r: Result<Option<Role>, &str> = m.role(1, 7, || async { Err("db down") }).await;
        assert!(r.is_err());
        let r: Result<_, &str> = m.role(1, 7, || async { Ok(Some(Role::Viewer)) }).await;
        assert_eq!(r, Ok(Some(Role::Viewer)));

        let asked = AtomicUsize::new(0);
        let off = Memo::default();
        lookup(&off, &asked).await.unwrap();
        lookup(&off, &asked).await.unwrap();
        assert_eq!(asked.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn old_answers_are_asked_again() {
        let asked = AtomicUsize::new(0);
        let m = Memo::for_request();
        lookup(&m, &asked).await.unwrap();
        if let Some(answers) = &m.0 {
            answers.lock().unwrap().since = Instant::now().checked_sub(MAX_AGE * 2);
        }
        lookup(&m, &asked).await.unwrap();
        assert_eq!(asked.load(Ordering::SeqCst), 2);
    }
}
