//! PromQL answers, scoped to what the caller may read. Every series read goes through
//! [`Scoped`], which adds the caller's `project` matcher to every selection the evaluator
//! makes (in one place, below the evaluator): a token or session sees only its projects'
//! series, whatever the expression says. Environments with a remote read URL are read from
//! their store too, with the same matchers ([`scoped`] says how the answers combine).
//! Instance admins asking instance-wide see everything (Berth's own series too).
//! Queries run in a bounded number of slots, each within [`TIMEOUT`] ([`limit`]).
use super::super::context::{Actor, Ctx};
use super::super::error::{ServiceError, ServiceResult};
use super::super::{projects, AppState};
use ::metrics::model::{Labels, Matcher, Queryable, Series};
use ::metrics::promql::{self, Engine, EngineOptions, ErrorKind, EvalError, Value};
use ::metrics::tsdb::Tsdb;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod limit;
mod page;
pub mod remote_read;
pub mod scoped;

pub use page::page_query;
use scoped::Scoped;

/// Which series a request may see.
#[derive(Clone, Debug)]
pub enum Scope {
    /// Every project the caller is a member of (all series for instance admins).
    Visible,
    /// One project (the per-project Prometheus API, one Grafana data source each).
    Project(String),
}

/// The longest a query runs, waiting for a slot included.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// The most series a `series`/`labels` answer lists.
pub const MAX_SERIES: usize = 10_000;

/// Why a query has no answer: the caller may not ask (a service error), the query failed
/// (Prometheus's error types), or it could not run now (every slot busy, a remote store
/// failing: Prometheus's `unavailable`, 503).
#[derive(Debug)]
pub enum QueryFailure {
    Service(ServiceError),
    Eval(EvalError),
    Unavailable(String),
}

impl From<ServiceError> for QueryFailure {
    fn from(e: ServiceError) -> Self {
        QueryFailure::Service(e)
    }
}

impl From<EvalError> for QueryFailure {
    fn from(e: EvalError) -> Self {
        QueryFailure::Eval(e)
    }
}

fn escape_regex(s: &str) -> String {
    regex_escape(s)
}

/// `regex::escape` without the dependency: slugs are `[a-z0-9-]`, but escape all the same.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !c.is_ascii_alphanumeric() && c != '_' && c != '-' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The matchers every selection of this caller carries.
pub async fn enforced(state: &AppState, ctx: &Ctx, scope: &Scope) -> ServiceResult<Vec<Matcher>> {
    let me = ctx.user().ok_or(ServiceError::Unauthenticated)?;
    match scope {
        Scope::Project(slug) => {
            projects::resolve(state, ctx, slug).await?;
            Ok(vec![Matcher::equal("project", slug)])
        }
        Scope::Visible if me.is_admin() => Ok(Vec::new()),
        Scope::Visible => {
            let slugs: Vec<String> = projects::list(state, ctx)
                .await?
                .into_iter()
                .map(|p| escape_regex(&p.slug))
                .collect();
            if slugs.is_empty() {
                // Matches no series: project names are never empty.
                return Ok(vec![Matcher::equal("project", "")]
                    .into_iter()
                    .chain([Matcher::not_equal("project", "")])
                    .collect());
            }
            let m = Matcher::regex("project", &slugs.join("|"))
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            Ok(vec![m])
        }
    }
}

fn storage(state: &AppState) -> Result<Arc<Tsdb>, QueryFailure> {
    state
        .metrics
        .tsdb()
        .ok_or_else(|| QueryFailure::Eval(EvalError::execution("metrics storage is not open")))
}

/// The storage and remote stores as this caller may see them, for one query.
async fn scoped(state: &AppState, enforced: Vec<Matcher>) -> Result<Scoped, QueryFailure> {
    let remotes = remote_read::environments(state, &enforced).await?;
    Ok(Scoped {
        tsdb: storage(state)?,
        enforced,
        remotes,
        rt: tokio::runtime::Handle::current(),
        deadline: Instant::now() + TIMEOUT,
        remote_error: Arc::new(Mutex::new(None)),
        outbound: state.metrics.outbound(),
    })
}

fn engine(left: Duration) -> Engine {
    Engine::new(EngineOptions {
        timeout: Some(left),
        ..EngineOptions::default()
    })
}

fn too_many(message: String) -> EvalError {
    EvalError {
        kind: ErrorKind::TooMany,
        message,
    }
}

/// Runs `f` over `q` in a query slot; a remote store's failure is answered `unavailable`.
async fn run<T: Send + 'static>(
    state: &AppState,
    ctx: &Ctx,
    mut q: Scoped,
    f: impl FnOnce(&Scoped, Duration) -> Result<T, EvalError> + Send + 'static,
) -> Result<T, QueryFailure> {
    let remote_error = q.remote_error.clone();
    // A user's (or token owner's) queries share that user's part of the slots.
    let caller = match &ctx.actor {
        Actor::User(u) | Actor::Token(u, _) => Some(format!("user:{}", u.id)),
        Actor::Webhook(name, _) => Some(format!("webhook:{name}")),
        Actor::System | Actor::Anonymous => None,
    }
    .map(|c| state.metrics.caller_slots(&c));
    let out = limit::run(state.metrics.query_slots(), caller, TIMEOUT, move |left| {
        q.deadline = Instant::now() + left;
        f(&q, left)
    })
    .await;
    let remote = remote_error.lock().expect("remote error").take();
    match (out, remote) {
        (Err(QueryFailure::Eval(_)), Some(remote)) => Err(QueryFailure::Unavailable(remote)),
        (out, _) => out,
    }
}

/// `/api/v1/query`.
pub async fn instant(
    state: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    expr: &str,
    t_ms: i64,
) -> Result<Value, QueryFailure> {
    let enforced = enforced(state, ctx, scope).await?;
    // The scope is enforced where series are read (`Scoped`), not written into the query:
    // `absent()` then reports the labels the caller wrote, as Prometheus does.
    let parsed = promql::parse(expr)?;
    let q = scoped(state, enforced).await?;
    run(state, ctx, q, move |q, left| {
        engine(left).instant_parsed(q, &parsed, t_ms)
    })
    .await
}

/// `/api/v1/query_range`.
pub async fn range(
    state: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    expr: &str,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
) -> Result<Vec<Series>, QueryFailure> {
    let enforced = enforced(state, ctx, scope).await?;
    // The scope is enforced where series are read (`Scoped`), not written into the query:
    // `absent()` then reports the labels the caller wrote, as Prometheus does.
    let parsed = promql::parse(expr)?;
    let q = scoped(state, enforced).await?;
    run(state, ctx, q, move |q, left| {
        engine(left).range_parsed(q, &parsed, start_ms, end_ms, step_ms)
    })
    .await
}

/// The most `match[]` selectors one request may send.
pub const MAX_MATCHES: usize = 20;

fn selectors(matches: &[String]) -> Result<Vec<Vec<Matcher>>, QueryFailure> {
    if matches.len() > MAX_MATCHES {
        return Err(QueryFailure::Eval(EvalError::bad_data(format!(
            "at most {MAX_MATCHES} match[] selectors"
        ))));
    }
    matches
        .iter()
        .map(|m| {
            let parsed = promql::parse(m).map_err(QueryFailure::Eval)?;
            match parsed.selectors().as_slice() {
                [one] if parsed.value_type() == "vector" => Ok(one.to_vec()),
                _ => Err(QueryFailure::Eval(EvalError::bad_data(format!(
                    "invalid parameter \"match[]\": {m:?} is not a series selector"
                )))),
            }
        })
        .collect()
}

/// `/api/v1/series`: the label sets of the series matching any of `matches`.
pub async fn series(
    state: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    matches: &[String],
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<Labels>, QueryFailure> {
    let enforced = enforced(state, ctx, scope).await?;
    if matches.is_empty() {
        return Err(QueryFailure::Eval(EvalError::bad_data(
            "no match[] parameter provided",
        )));
    }
    let sels = selectors(matches)?;
    let q = scoped(state, enforced).await?;
    // Label sets only: no sample is read.
    run(state, ctx, q, move |q, _| {
        let mut out: Vec<Labels> = Vec::new();
        for m in &sels {
            out.extend(
                q.series_labels(m, start_ms, end_ms)
                    .map_err(EvalError::from)?,
            );
            if out.len() > MAX_SERIES {
                return Err(too_many(format!(
                    "more than {MAX_SERIES} series match; narrow the selector"
                )));
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    })
    .await
}

/// `/api/v1/labels` (`name` None) or `/api/v1/label/{name}/values`.
pub async fn labels(
    state: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    name: Option<&str>,
    matches: &[String],
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<String>, QueryFailure> {
    let enforced = enforced(state, ctx, scope).await?;
    let sels = selectors(matches)?;
    let q = scoped(state, enforced).await?;
    let name = name.map(str::to_string);
    run(state, ctx, q, move |q, _| {
        let sels = if sels.is_empty() {
            vec![Vec::new()]
        } else {
            sels
        };
        let mut out = Vec::new();
        for m in &sels {
            let found = match &name {
                Some(n) => q.label_values(n, m, start_ms, end_ms),
                None => q.label_names(m, start_ms, end_ms),
            }
            .map_err(EvalError::from)?;
            out.extend(found);
        }
        out.sort();
        out.dedup();
        Ok(out)
    })
    .await
}
