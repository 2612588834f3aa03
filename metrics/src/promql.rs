//! PromQL evaluation with Prometheus 2.42's semantics, read through [`Queryable`].
//!
//! Queries are parsed by `promql-parser` and converted ([`convert`]) into the evaluator's own
//! tree ([`ast`]); anything the evaluator cannot answer exactly (native histograms, functions
//! and syntax newer than Prometheus 2.42) is refused with an error naming it. Evaluation mirrors
//! Prometheus's engine: every node is evaluated over all steps at once ([`frame`]), each
//! selector with a single `select` for the whole range, windows slid with cursors.
//!
//! Prometheus 2.42's quirks are kept where its answers show them (checked against
//! `promtool` and a Prometheus 2.42 server): `atan2` keeps the metric name, `increase` may
//! extrapolate a counter to its zero point a whole interval back, `predict_linear` over an
//! `@` window moves that window with the steps of a range query. One difference on purpose:
//! the sample limit counts the points held by evaluated nodes, an approximation of
//! Prometheus's peak accounting.
use crate::model::{Labels, Matcher, MemSeries, QueryError, Queryable, Series};
use std::time::Duration;

mod aggregate;
mod ast;
mod binary;
mod convert;
mod dates;
mod error;
mod eval;
mod frame;
mod functions;
mod histogram;
pub mod json;
mod range_fns;
mod select;
pub mod testing;
mod testing_eval;
mod window_math;

#[cfg(test)]
mod tests_aggregators;
#[cfg(test)]
mod tests_api;
#[cfg(test)]
mod tests_functions;
#[cfg(test)]
mod tests_histograms;
#[cfg(test)]
mod tests_operators;
#[cfg(test)]
mod tests_range_functions;
#[cfg(test)]
mod tests_selectors;

pub use error::{ErrorKind, EvalError};

/// A range query's answer: series sorted by labels, each with a point per step it has a
/// value at.
pub type Matrix = Vec<Series>;

/// One element of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct InstantSample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

/// An instant query's answer, by the expression's type.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar(i64, f64),
    String(i64, String),
    /// In evaluation order (Prometheus does not sort instant vectors; `sort()` relies on it).
    Vector(Vec<InstantSample>),
    /// Raw samples of a range selector or the points of a subquery, series sorted by labels.
    Matrix(Vec<Series>),
}

impl Value {
    /// Prometheus's `resultType`.
    pub fn result_type(&self) -> &'static str {
        match self {
            Value::Scalar(..) => "scalar",
            Value::String(..) => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus's
    /// `--query.lookback-delta`, 5 m).
    pub lookback_delta_ms: i64,
    /// Most steps a range query may have (Prometheus's API allows 11,000).
    pub max_points_per_series: i64,
    /// Most points the evaluated nodes of a query may hold at once (Prometheus's
    /// `--query.max-samples`, 50,000,000).
    pub max_samples: usize,
    /// Evaluation time limit (Prometheus's `--query.timeout`, 2 min); `None` for none.
    pub timeout: Option<Duration>,
    /// The step of a subquery written without one (`x[1h:]`): Prometheus uses the global
    /// evaluation interval, 1 m by default.
    pub default_subquery_step_ms: i64,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            lookback_delta_ms: 5 * 60 * 1000,
            max_points_per_series: 11_000,
            max_samples: 50_000_000,
            timeout: Some(Duration::from_secs(120)),
            default_subquery_step_ms: 60 * 1000,
        }
    }
}

/// What the evaluator tells storage about a selection, as Prometheus's `SelectHints`; a
/// storage may use it (for instance to pick a resolution) and may ignore it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelectHints {
    /// The evaluation's first and last step the selection serves (before offsets).
    pub start_ms: i64,
    pub end_ms: i64,
    /// The evaluation's step (1 for an instant query).
    pub step_ms: i64,
    /// The range of a range selector, 0 for an instant selector.
    pub range_ms: i64,
    /// The function the range selector is an argument of.
    pub func: Option<&'static str>,
}

/// A [`Queryable`] that may use [`SelectHints`]. Storage implements it to receive hints;
/// the default ignores them.
pub trait HintedQueryable: Queryable {
    fn select_hinted(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        hints: &SelectHints,
    ) -> Result<Vec<Series>, QueryError> {
        let _ = hints;
        self.select(matchers, mint, maxt)
    }
}

impl HintedQueryable for MemSeries {}

/// A parsed, type-checked query, ready to evaluate any number of times.
#[derive(Clone, Debug)]
pub struct Parsed {
    expr: ast::Expr,
}

/// Parses `expr`; the error is Prometheus's `bad_data`. Use it to validate rules.
pub fn parse(expr: &str) -> Result<Parsed, EvalError> {
    Ok(Parsed {
        expr: convert::parse(expr)?,
    })
}

impl Parsed {
    /// Prometheus's name for the result type: `"scalar"`, `"vector"`, `"matrix"`, `"string"`.
    pub fn value_type(&self) -> &'static str {
        match self.expr.value_type() {
            ast::ValueType::Scalar => "scalar",
            ast::ValueType::Vector => "vector",
            ast::ValueType::Matrix => "matrix",
            ast::ValueType::String => "string",
        }
    }

    /// The matchers of every vector selector in the query (the metric name as
    /// `__name__="…"`), those inside range selectors and subqueries included.
    pub fn selectors(&self) -> Vec<&[Matcher]> {
        let mut out = Vec::new();
        self.expr
            .for_each_selector(&mut |s| out.push(s.matchers.as_slice()));
        out
    }

    /// The same query with `enforced` added to every selector, so evaluating it can only see
    /// series those matchers select (and `absent()` reports their labels).
    pub fn scoped(&self, enforced: &[Matcher]) -> Parsed {
        let mut expr = self.expr.clone();
        expr.for_each_selector_mut(&mut |s| s.matchers.extend(enforced.iter().cloned()));
        Parsed { expr }
    }
}

/// Evaluates queries; holds only options, so one engine serves any number of threads.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    pub opts: EngineOptions,
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Engine {
        Engine { opts }
    }

    /// An instant query at `t_ms`.
    pub fn instant(&self, q: &dyn Queryable, expr: &str, t_ms: i64) -> Result<Value, EvalError> {
        self.instant_scoped(q, expr, t_ms, &[])
    }

    /// An instant query that sees only the series `enforced` selects (see [`Parsed::scoped`]).
    pub fn instant_scoped(
        &self,
        q: &dyn Queryable,
        expr: &str,
        t_ms: i64,
        enforced: &[Matcher],
    ) -> Result<Value, EvalError> {
        let parsed = parse(expr)?.scoped(enforced);
        eval::instant(&self.opts, &eval::Source::Plain(q), &parsed.expr, t_ms)
    }

    /// A range query from `start_ms` to `end_ms` every `step_ms`.
    pub fn range(
        &self,
        q: &dyn Queryable,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Matrix, EvalError> {
        let parsed = parse(expr)?;
        let span = eval::Span::new(&self.opts, start_ms, end_ms, step_ms)?;
        eval::range(&self.opts, &eval::Source::Plain(q), &parsed.expr, span)
    }

    /// [`Engine::instant`] for a parsed (possibly scoped) query, passing hints to storage.
    pub fn instant_parsed(
        &self,
        q: &dyn HintedQueryable,
        parsed: &Parsed,
        t_ms: i64,
    ) -> Result<Value, EvalError> {
        eval::instant(&self.opts, &eval::Source::Hinted(q), &parsed.expr, t_ms)
    }

    /// [`Engine::range`] for a parsed (possibly scoped) query, passing hints to storage.
    pub fn range_parsed(
        &self,
        q: &dyn HintedQueryable,
        parsed: &Parsed,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Matrix, EvalError> {
        let span = eval::Span::new(&self.opts, start_ms, end_ms, step_ms)?;
        eval::range(&self.opts, &eval::Source::Hinted(q), &parsed.expr, span)
    }
}

/// A float as Prometheus writes it in JSON: `NaN`, `+Inf`, `-Inf`, otherwise the shortest
/// decimal that reads back to the same float, never with an exponent (Go's
/// `strconv.FormatFloat(v, 'f', -1, 64)`).
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        // Rust's Display is the shortest round-trip digits without exponent, as Go's 'f', -1.
        format!("{v}")
    }
}
