//! PromQL answers, scoped to what the caller may read. Every series read goes through
//! [`Scoped`], which adds the caller's `project` matcher to every selection the evaluator
//! makes (in one place, below the evaluator): a token or session sees only its projects'
//! series, whatever the expression says.
//! Instance admins asking instance-wide see everything (Berth's own series too).
use super::super::context::Ctx;
use super::super::error::{ServiceError, ServiceResult};
use super::super::{projects, AppState};
use ::metrics::model::{Labels, Matcher, QueryError, Queryable, Series};
use ::metrics::promql::{
    self, Engine, EngineOptions, ErrorKind, EvalError, HintedQueryable, SelectHints, Value,
};
use ::metrics::tsdb::Tsdb;
use std::sync::Arc;
use std::time::Duration;

/// Which series a request may see.
#[derive(Clone, Debug)]
pub enum Scope {
    /// Every project the caller is a member of (all series for instance admins).
    Visible,
    /// One project (the per-project Prometheus API, one Grafana data source each).
    Project(String),
}

/// The longest a query runs.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// The most series a `series`/`labels` answer lists.
pub const MAX_SERIES: usize = 10_000;

/// Why a query has no answer: either the caller may not ask (a service error) or the query
/// failed (Prometheus's error types).
#[derive(Debug)]
pub enum QueryFailure {
    Service(ServiceError),
    Eval(EvalError),
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

/// The resolution of the storage's rollups.
const ROLLUP_MS: i64 = 5 * 60 * 1000;

/// The storage as the caller may see it.
pub struct Scoped {
    tsdb: Arc<Tsdb>,
    enforced: Vec<Matcher>,
}

impl Scoped {
    fn with(&self, matchers: &[Matcher]) -> Vec<Matcher> {
        matchers.iter().chain(&self.enforced).cloned().collect()
    }
}

impl HintedQueryable for Scoped {
    fn select_hinted(
        &self,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
        hints: &SelectHints,
    ) -> Result<Vec<Series>, QueryError> {
        // The storage may answer a coarse step from its 5-minute rollups; a range selector
        // then needs room for two of them, else it reads raw samples.
        let coarse = hints.range_ms == 0 || hints.range_ms >= 2 * ROLLUP_MS;
        let step = if coarse { hints.step_ms } else { 0 };
        self.tsdb.select_hinted(&self.with(m), mint, maxt, step)
    }
}

impl Queryable for Scoped {
    fn select(&self, m: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, QueryError> {
        self.tsdb.select_hinted(&self.with(m), mint, maxt, 0)
    }

    fn label_names(&self, m: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<String>, QueryError> {
        if m.is_empty() && self.enforced.is_empty() {
            return self.tsdb.label_names(&[], mint, maxt);
        }
        self.tsdb.label_names(&self.with(m), mint, maxt)
    }

    fn label_values(
        &self,
        name: &str,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, QueryError> {
        self.tsdb.label_values(name, &self.with(m), mint, maxt)
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

fn engine() -> Engine {
    Engine::new(EngineOptions {
        timeout: Some(TIMEOUT),
        ..EngineOptions::default()
    })
}

fn too_many(message: String) -> EvalError {
    EvalError {
        kind: ErrorKind::TooMany,
        message,
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EvalError> + Send + 'static,
) -> Result<T, QueryFailure> {
    match tokio::time::timeout(TIMEOUT, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(r)) => r.map_err(QueryFailure::Eval),
        Ok(Err(e)) => Err(QueryFailure::Eval(EvalError {
            kind: ErrorKind::Internal,
            message: format!("the query failed: {e}"),
        })),
        Err(_) => Err(QueryFailure::Eval(EvalError {
            kind: ErrorKind::Timeout,
            message: "query timed out in expression evaluation".into(),
        })),
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
    let q = Scoped {
        tsdb: storage(state)?,
        enforced,
    };
    blocking(move || engine().instant_parsed(&q, &parsed, t_ms)).await
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
    let q = Scoped {
        tsdb: storage(state)?,
        enforced,
    };
    blocking(move || engine().range_parsed(&q, &parsed, start_ms, end_ms, step_ms)).await
}

/// Parses `match[]` selectors.
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
    let q = Scoped {
        tsdb: storage(state)?,
        enforced,
    };
    blocking(move || {
        let mut out: Vec<Labels> = Vec::new();
        for m in &sels {
            for s in q.select(m, start_ms, end_ms).map_err(EvalError::from)? {
                out.push(s.labels);
            }
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
    let q = Scoped {
        tsdb: storage(state)?,
        enforced,
    };
    let name = name.map(str::to_string);
    blocking(move || {
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

/// The most rows and chart series the query box shows.
const PAGE_ROWS: usize = 200;
const PAGE_SERIES: usize = 20;

/// The query box of an environment's metrics page: the answer now as a table and the last
/// hour as a chart, in one project's scope. A failed query is an answer with an error.
pub async fn page_query(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    expr: &str,
) -> ServiceResult<berth_model::QueryResultView> {
    use berth_model::{ChartSeries, QueryResultView};
    let scope = Scope::Project(project.to_string());
    let now = super::super::now_ms();
    let mut view = QueryResultView {
        expr: expr.to_string(),
        ..Default::default()
    };
    let fail = |f: QueryFailure| -> ServiceResult<String> {
        match f {
            QueryFailure::Service(e) => Err(e),
            QueryFailure::Eval(e) => Ok(format!("{}: {e}", e.error_type())),
        }
    };
    match instant(state, ctx, &scope, expr, now).await {
        Ok(v) => {
            let rows: Vec<(String, String)> = match &v {
                Value::Scalar(_, x) => {
                    view.result_type = "scalar".into();
                    vec![("scalar".into(), promql::format_value(*x))]
                }
                Value::String(_, s) => {
                    view.result_type = "string".into();
                    vec![("string".into(), s.clone())]
                }
                Value::Vector(list) => {
                    view.result_type = "vector".into();
                    list.iter()
                        .map(|s| (s.labels.to_string(), promql::format_value(s.v)))
                        .collect()
                }
                Value::Matrix(list) => {
                    view.result_type = "matrix".into();
                    list.iter()
                        .map(|s| {
                            let last = s.samples.last().map(|(_, v)| promql::format_value(*v));
                            (
                                s.labels.to_string(),
                                format!(
                                    "{} samples, last {}",
                                    s.samples.len(),
                                    last.unwrap_or_default()
                                ),
                            )
                        })
                        .collect()
                }
            };
            view.truncated = rows.len().saturating_sub(PAGE_ROWS);
            view.rows = rows.into_iter().take(PAGE_ROWS).collect();
        }
        Err(f) => {
            view.error = Some(fail(f)?);
            return Ok(view);
        }
    }
    if matches!(view.result_type.as_str(), "vector" | "scalar") {
        let hour = 3_600_000;
        match range(state, ctx, &scope, expr, now - hour, now, 15_000).await {
            Ok(m) => {
                view.chart = m
                    .into_iter()
                    .take(PAGE_SERIES)
                    .map(|s| ChartSeries {
                        label: s.labels.to_string(),
                        points: s.samples,
                    })
                    .collect()
            }
            Err(f) => view.error = Some(fail(f)?),
        }
    }
    Ok(view)
}
