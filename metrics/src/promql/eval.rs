//! The evaluator's core: the query-wide context (storage, limits, deadline), an evaluator
//! per time grid (the query's, a subquery's, or one step for a step-invariant part), and
//! the dispatch from node to operator as Prometheus's `evaluator.eval`.
use super::ast::{At, Expr, Subquery, ValueType};
use super::error::EvalError;
use super::frame::{Frame, DUPLICATE_LABELSET};
use super::{aggregate, binary, functions, EngineOptions, HintedQueryable, InstantSample};
use super::{Matrix, SelectHints, Value};
use crate::model::{Labels, Matcher, QueryError, Queryable, Series};
use std::cell::Cell;
use std::collections::HashSet;
use std::time::Instant;

/// Where samples come from.
pub(crate) enum Source<'a> {
    Plain(&'a dyn Queryable),
    Hinted(&'a dyn HintedQueryable),
}

impl Source<'_> {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        hints: &SelectHints,
    ) -> Result<Vec<Series>, QueryError> {
        match self {
            Source::Plain(q) => q.select(matchers, mint, maxt),
            Source::Hinted(q) => q.select_hinted(matchers, mint, maxt, hints),
        }
    }
}

/// A range query's grid, checked as Prometheus's API checks it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    start: i64,
    end: i64,
    step: i64,
}

impl Span {
    pub fn new(opts: &EngineOptions, start: i64, end: i64, step: i64) -> Result<Span, EvalError> {
        if end < start {
            return Err(EvalError::bad_data(
                "end timestamp must not be before start time",
            ));
        }
        if step <= 0 {
            return Err(EvalError::bad_data(
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        if (end - start) / step > opts.max_points_per_series {
            return Err(EvalError::bad_data(format!(
                "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
                thousands(opts.max_points_per_series)
            )));
        }
        Ok(Span { start, end, step })
    }
}

fn thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) fn instant(
    opts: &EngineOptions,
    src: &Source,
    expr: &Expr,
    t: i64,
) -> Result<Value, EvalError> {
    let ctx = Ctx::new(opts, src, t, t);
    // Prometheus evaluates an instant query as a one-step range with interval 1.
    let ev = Evaluator::new(&ctx, t, t, 1);
    Ok(match ev.eval(expr)? {
        Val::Scalar(v) => Value::Scalar(t, v[0]),
        Val::String(s) => Value::String(t, s),
        Val::Vector(frame) => {
            let (ids, vals) = frame.at(0);
            Value::Vector(
                ids.iter()
                    .zip(vals)
                    .map(|(id, v)| InstantSample {
                        labels: frame.labels[*id as usize].clone(),
                        t,
                        v: *v,
                    })
                    .collect(),
            )
        }
        Val::Matrix(mut m) => {
            m.sort_by(|a, b| a.labels.cmp(&b.labels));
            Value::Matrix(m)
        }
    })
}

pub(crate) fn range(
    opts: &EngineOptions,
    src: &Source,
    expr: &Expr,
    span: Span,
) -> Result<Matrix, EvalError> {
    let ty = expr.value_type();
    if ty != ValueType::Scalar && ty != ValueType::Vector {
        return Err(EvalError::bad_data(format!(
            "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
            ty.documented()
        )));
    }
    let ctx = Ctx::new(opts, src, span.start, span.end);
    let ev = Evaluator::new(&ctx, span.start, span.end, span.step);
    let mut out = match ev.eval(expr)? {
        Val::Scalar(v) => vec![Series {
            labels: Labels::default(),
            samples: v
                .into_iter()
                .enumerate()
                .map(|(i, v)| (ev.ts(i), v))
                .collect(),
        }],
        Val::Vector(frame) => frame.into_series(span.start, span.step),
        Val::String(_) | Val::Matrix(_) => unreachable!("checked above"),
    };
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(out)
}

/// A node's value over an evaluator's steps.
pub(crate) enum Val {
    /// One value per step.
    Scalar(Vec<f64>),
    Vector(Frame),
    String(String),
    /// Only where Prometheus returns a matrix: a range selector or subquery at the top of an
    /// instant query.
    Matrix(Vec<Series>),
}

impl Val {
    fn points(&self) -> usize {
        match self {
            Val::Scalar(v) => v.len(),
            Val::Vector(f) => f.len(),
            Val::String(_) => 0,
            Val::Matrix(m) => m.iter().map(|s| s.samples.len()).sum(),
        }
    }
}

/// What every evaluator of one query shares.
pub(crate) struct Ctx<'a> {
    src: &'a Source<'a>,
    pub opts: &'a EngineOptions,
    /// The query's start and end, what `@ start()` and `@ end()` mean everywhere.
    query_start: i64,
    query_end: i64,
    deadline: Option<Instant>,
    /// Points held by evaluated nodes still in use.
    live: Cell<usize>,
    work: Cell<u64>,
}

impl<'a> Ctx<'a> {
    fn new(opts: &'a EngineOptions, src: &'a Source<'a>, start: i64, end: i64) -> Ctx<'a> {
        Ctx {
            src,
            opts,
            query_start: start,
            query_end: end,
            deadline: opts.timeout.map(|d| Instant::now() + d),
            live: Cell::new(0),
            work: Cell::new(0),
        }
    }

    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        hints: &SelectHints,
    ) -> Result<Vec<Series>, EvalError> {
        self.check_deadline()?;
        Ok(self.src.select(matchers, mint, maxt, hints)?)
    }

    pub fn resolve(&self, at: At) -> i64 {
        match at {
            At::Start => self.query_start,
            At::End => self.query_end,
            At::Time(t) => t,
        }
    }

    pub fn check_deadline(&self) -> Result<(), EvalError> {
        match self.deadline {
            Some(d) if Instant::now() > d => Err(EvalError::timeout()),
            _ => Ok(()),
        }
    }

    /// Counts `units` of work and looks at the clock every so often.
    pub fn tick(&self, units: u64) -> Result<(), EvalError> {
        let w = self.work.get() + units;
        self.work.set(w % (1 << 16));
        if w >= 1 << 16 {
            self.check_deadline()?;
        }
        Ok(())
    }

    fn hold(&self, points: usize) -> Result<(), EvalError> {
        let live = self.live.get() + points;
        if live > self.opts.max_samples {
            return Err(EvalError::too_many_samples());
        }
        self.live.set(live);
        Ok(())
    }
}

/// Evaluates over one grid: `steps` evaluation times from `start` every `interval`.
#[derive(Clone, Copy)]
pub(crate) struct Evaluator<'a> {
    pub ctx: &'a Ctx<'a>,
    pub start: i64,
    pub end: i64,
    pub interval: i64,
    pub steps: usize,
}

impl<'a> Evaluator<'a> {
    pub fn new(ctx: &'a Ctx<'a>, start: i64, end: i64, interval: i64) -> Evaluator<'a> {
        let steps = if end < start {
            0
        } else {
            ((end - start) / interval + 1) as usize
        };
        Evaluator {
            ctx,
            start,
            end,
            interval,
            steps,
        }
    }

    /// The evaluation time of `step`.
    pub fn ts(&self, step: usize) -> i64 {
        self.start + step as i64 * self.interval
    }

    pub fn eval(&self, e: &Expr) -> Result<Val, EvalError> {
        self.ctx.check_deadline()?;
        let before = self.ctx.live.get();
        let out = self.eval_node(e)?;
        // The children's points are still held while this node's are made.
        self.ctx.hold(out.points())?;
        self.ctx.live.set(before);
        self.ctx.hold(out.points())?;
        Ok(out)
    }

    fn eval_node(&self, e: &Expr) -> Result<Val, EvalError> {
        let literal = matches!(e, Expr::Number(_) | Expr::Str(_));
        if self.steps > 1 && !literal && e.value_type() != ValueType::Matrix && e.step_invariant() {
            // Evaluated once at the first step and repeated, as Prometheus's
            // StepInvariantExpr.
            let once = Evaluator {
                end: self.start,
                steps: 1,
                ..*self
            };
            return Ok(match once.eval(e)? {
                Val::Scalar(v) => Val::Scalar(vec![v[0]; self.steps]),
                Val::Vector(f) => Val::Vector(f.repeat(self.steps)),
                other => other,
            });
        }
        match e {
            Expr::Number(n) => Ok(Val::Scalar(vec![*n; self.steps])),
            Expr::Str(s) => Ok(Val::String(s.clone())),
            Expr::Vector(sel) => Ok(Val::Vector(self.vector_selector(sel, false)?)),
            Expr::Matrix(m) => Ok(Val::Matrix(self.matrix_selector_raw(m)?)),
            Expr::Subquery(s) => Ok(Val::Matrix(self.subquery(s)?)),
            Expr::Neg(inner) => self.negate(inner),
            Expr::Call(c) => functions::call(self, c),
            Expr::Aggregate(a) => aggregate::eval(self, a),
            Expr::Binary(b) => binary::eval(self, b),
        }
    }

    pub fn eval_scalar(&self, e: &Expr) -> Result<Vec<f64>, EvalError> {
        match self.eval(e)? {
            Val::Scalar(v) => Ok(v),
            _ => Err(EvalError::execution("expected a scalar")),
        }
    }

    pub fn eval_vector(&self, e: &Expr) -> Result<Frame, EvalError> {
        match self.eval(e)? {
            Val::Vector(f) => Ok(f),
            _ => Err(EvalError::execution("expected an instant vector")),
        }
    }

    /// Unary minus: negated values; on vectors the metric name goes, and two series left
    /// with one label set are an error (over the whole range, as Prometheus checks it).
    fn negate(&self, inner: &Expr) -> Result<Val, EvalError> {
        match self.eval(inner)? {
            Val::Scalar(v) => Ok(Val::Scalar(v.into_iter().map(|x| -x).collect())),
            Val::Vector(frame) => {
                let mut series = frame.into_series(0, 1);
                let mut seen = HashSet::new();
                for s in &mut series {
                    s.labels = s.labels.without_name();
                    if !seen.insert(s.labels.clone()) {
                        return Err(EvalError::execution(DUPLICATE_LABELSET));
                    }
                }
                let by_step = series
                    .into_iter()
                    .map(|s| {
                        let pts = s.samples.iter().map(|(i, v)| (*i as u32, -v)).collect();
                        (s.labels, pts)
                    })
                    .collect();
                Ok(Val::Vector(Frame::from_series(self.steps, by_step)))
            }
            _ => Err(EvalError::execution(
                "unary minus expects a scalar or vector",
            )),
        }
    }

    /// A subquery's points: the inner expression evaluated from the first multiple of the
    /// step after `start - offset - range` to `end - offset`, as Prometheus aligns it.
    pub fn subquery(&self, s: &Subquery) -> Result<Vec<Series>, EvalError> {
        let (first, last) = self.eval_times(s.at);
        let step = s.step.unwrap_or(self.ctx.opts.default_subquery_step_ms);
        if step <= 0 {
            return Err(EvalError::execution("subquery step must be positive"));
        }
        let end = last - s.offset;
        let from = first - s.offset - s.range;
        let mut start = step * (from / step);
        if start < from {
            start += step;
        }
        let inner = Evaluator::new(self.ctx, start, end, step);
        if inner.steps == 0 {
            return Ok(Vec::new());
        }
        Ok(match inner.eval(&s.expr)? {
            Val::Scalar(v) => vec![Series {
                labels: Labels::default(),
                samples: v
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (inner.ts(i), v))
                    .collect(),
            }],
            Val::Vector(frame) => frame.into_series(start, step),
            _ => return Err(EvalError::execution("subquery of a non-vector expression")),
        })
    }

    /// The first and last evaluation times a node sees: fixed by `@`, else the grid's.
    pub fn eval_times(&self, at: Option<At>) -> (i64, i64) {
        match at {
            Some(a) => {
                let t = self.ctx.resolve(a);
                (t, t)
            }
            None => (self.start, self.end),
        }
    }
}
