//! The query in the evaluator's own terms (see [`super::convert`] for how it is built):
//! matchers as [`crate::model::Matcher`], durations and `@` times in milliseconds, no
//! parentheses (Prometheus unwraps them before evaluating).
use super::dates::DateFn;
use super::functions::MathFn;
use super::range_fns::RangeFn;
use crate::model::Matcher;

#[derive(Clone, Debug)]
pub(crate) enum Expr {
    Number(f64),
    Str(String),
    Vector(Selector),
    Matrix(MatrixSelector),
    Subquery(Box<Subquery>),
    Neg(Box<Expr>),
    Call(Call),
    Aggregate(Box<Aggregate>),
    Binary(Box<Binary>),
}

/// The `@` modifier; `start()`/`end()` are the query's, even inside a subquery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum At {
    Start,
    End,
    Time(i64),
}

#[derive(Clone, Debug)]
pub(crate) struct Selector {
    /// Includes `__name__="…"` when the metric name is written before the braces.
    pub matchers: Vec<Matcher>,
    pub offset: i64,
    pub at: Option<At>,
}

#[derive(Clone, Debug)]
pub(crate) struct MatrixSelector {
    pub sel: Selector,
    pub range: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct Subquery {
    pub expr: Expr,
    pub range: i64,
    pub step: Option<i64>,
    pub offset: i64,
    pub at: Option<At>,
}

#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub func: Func,
    pub args: Vec<Expr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    Range(RangeFn),
    Math(MathFn),
    Date(DateFn),
    Round,
    Clamp,
    ClampMin,
    ClampMax,
    Time,
    Timestamp,
    Vector,
    Scalar,
    Sort,
    SortDesc,
    Absent,
    LabelReplace,
    LabelJoin,
    HistogramQuantile,
    Pi,
}

#[derive(Clone, Debug)]
pub(crate) struct Aggregate {
    pub op: AggOp,
    pub expr: Expr,
    pub param: Option<Expr>,
    /// Sorted, as Prometheus sorts them.
    pub grouping: Vec<String>,
    pub without: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AggOp {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    Quantile,
    CountValues,
}

#[derive(Clone, Debug)]
pub(crate) struct Binary {
    pub op: BinOp,
    pub lhs: Expr,
    pub rhs: Expr,
    pub return_bool: bool,
    pub matching: Matching,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl BinOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Lt | BinOp::Ge | BinOp::Le
        )
    }

    pub fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }
}

/// Prometheus's `VectorMatching`.
#[derive(Clone, Debug)]
pub(crate) struct Matching {
    pub card: Card,
    /// `on(…)` (true) or `ignoring(…)`/no clause (false).
    pub on: bool,
    pub labels: Vec<String>,
    /// The `group_left(…)`/`group_right(…)` labels copied from the "one" side.
    pub include: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValueType {
    Scalar,
    Vector,
    Matrix,
    String,
}

impl ValueType {
    /// As Prometheus documents the types (`"range vector"`, …) in its errors.
    pub fn documented(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
            ValueType::String => "string",
        }
    }
}

impl Expr {
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::Number(_) => ValueType::Scalar,
            Expr::Str(_) => ValueType::String,
            Expr::Vector(_) | Expr::Aggregate(_) => ValueType::Vector,
            Expr::Matrix(_) | Expr::Subquery(_) => ValueType::Matrix,
            Expr::Neg(e) => e.value_type(),
            Expr::Call(c) => match c.func {
                Func::Time | Func::Scalar | Func::Pi => ValueType::Scalar,
                _ => ValueType::Vector,
            },
            Expr::Binary(b) => {
                if b.lhs.value_type() == ValueType::Scalar
                    && b.rhs.value_type() == ValueType::Scalar
                {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
        }
    }

    /// Calls `f` on every vector selector, those under range selectors and subqueries too.
    pub fn for_each_selector<'a>(&'a self, f: &mut dyn FnMut(&'a Selector)) {
        match self {
            Expr::Number(_) | Expr::Str(_) => {}
            Expr::Vector(s) => f(s),
            Expr::Matrix(m) => f(&m.sel),
            Expr::Subquery(s) => s.expr.for_each_selector(f),
            Expr::Neg(e) => e.for_each_selector(f),
            Expr::Call(c) => c.args.iter().for_each(|a| a.for_each_selector(f)),
            Expr::Aggregate(a) => {
                if let Some(p) = &a.param {
                    p.for_each_selector(f);
                }
                a.expr.for_each_selector(f);
            }
            Expr::Binary(b) => {
                b.lhs.for_each_selector(f);
                b.rhs.for_each_selector(f);
            }
        }
    }

    /// Like [`Expr::for_each_selector`], mutably.
    pub fn for_each_selector_mut(&mut self, f: &mut dyn FnMut(&mut Selector)) {
        match self {
            Expr::Number(_) | Expr::Str(_) => {}
            Expr::Vector(s) => f(s),
            Expr::Matrix(m) => f(&mut m.sel),
            Expr::Subquery(s) => s.expr.for_each_selector_mut(f),
            Expr::Neg(e) => e.for_each_selector_mut(f),
            Expr::Call(c) => c.args.iter_mut().for_each(|a| a.for_each_selector_mut(f)),
            Expr::Aggregate(a) => {
                if let Some(p) = &mut a.param {
                    p.for_each_selector_mut(f);
                }
                a.expr.for_each_selector_mut(f);
            }
            Expr::Binary(b) => {
                b.lhs.for_each_selector_mut(f);
                b.rhs.for_each_selector_mut(f);
            }
        }
    }

    /// Whether the value is the same at every step, so Prometheus evaluates it once and
    /// repeats it (its `PreprocessExpr`): literals, and anything whose selectors all carry
    /// `@`, except through functions that read the evaluation time.
    pub fn step_invariant(&self) -> bool {
        match self {
            Expr::Number(_) | Expr::Str(_) => true,
            Expr::Vector(s) => s.at.is_some(),
            Expr::Matrix(m) => m.sel.at.is_some(),
            Expr::Subquery(s) => s.at.is_some(),
            Expr::Neg(e) => e.step_invariant(),
            // Prometheus looks at the aggregated expression only, not the parameter.
            Expr::Aggregate(a) => a.expr.step_invariant(),
            Expr::Binary(b) => b.lhs.step_invariant() && b.rhs.step_invariant(),
            Expr::Call(c) => !c.func.reads_eval_time() && c.args.iter().all(Expr::step_invariant),
        }
    }
}

impl Func {
    /// Prometheus's `AtModifierUnsafeFunctions`.
    pub fn reads_eval_time(self) -> bool {
        matches!(
            self,
            Func::Date(_) | Func::Range(RangeFn::PredictLinear) | Func::Time | Func::Timestamp
        )
    }
}
