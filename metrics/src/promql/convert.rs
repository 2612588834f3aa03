//! From `promql-parser`'s tree to [`super::ast`]: matchers become [`crate::model::Matcher`],
//! durations and `@` times milliseconds, parentheses go (Prometheus unwraps them before
//! evaluating), and every function, aggregation or syntax the evaluator cannot answer is
//! refused here, by name, before anything runs.
use super::ast::*;
use super::dates::DateFn;
use super::error::EvalError;
use super::functions::MathFn;
use super::range_fns::RangeFn;
use crate::model::{Matcher, METRIC_NAME};
use promql_parser::label::{MatchOp as PMatchOp, Matcher as PMatcher};
use promql_parser::parser::{self as pp, token, LabelModifier, VectorMatchCardinality};
use std::time::{Duration, SystemTime};

/// Parses `expr` with `promql-parser` and converts it.
pub(crate) fn parse(expr: &str) -> Result<Expr, EvalError> {
    register_holt_winters();
    let tree = pp::parse(expr).map_err(|e| EvalError::bad_data(format!("parse error: {e}")))?;
    convert(&tree)
}

/// `promql-parser` follows Prometheus 3, where `holt_winters` became
/// `double_exponential_smoothing`; Prometheus 2.42 (our reference) still calls it
/// `holt_winters`, so the name is taught to the parser once per process.
fn register_holt_winters() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use pp::value::ValueType as V;
        let f = pp::Function::new(
            "holt_winters",
            vec![V::Matrix, V::Scalar, V::Scalar],
            0,
            V::Vector,
            false,
        );
        // Only fails when the name is built in, and then the parser knows it already.
        let _ = pp::register_extra_functions(vec![f]);
    });
}

fn convert(e: &pp::Expr) -> Result<Expr, EvalError> {
    Ok(match e {
        pp::Expr::NumberLiteral(n) => Expr::Number(n.val),
        pp::Expr::StringLiteral(s) => Expr::Str(s.val.clone()),
        pp::Expr::Paren(p) => convert(&p.expr)?,
        pp::Expr::Unary(u) => Expr::Neg(Box::new(convert(&u.expr)?)),
        pp::Expr::VectorSelector(vs) => Expr::Vector(selector(vs)?),
        pp::Expr::MatrixSelector(ms) => Expr::Matrix(MatrixSelector {
            sel: selector(&ms.vs)?,
            range: millis(&ms.range),
        }),
        pp::Expr::Subquery(s) => Expr::Subquery(Box::new(Subquery {
            expr: convert(&s.expr)?,
            range: millis(&s.range),
            step: s.step.as_ref().map(millis),
            offset: offset(&s.offset),
            at: s.at.as_ref().map(at),
        })),
        pp::Expr::Call(c) => Expr::Call(Call {
            func: lookup(c.func.name)?,
            args: c
                .args
                .args
                .iter()
                .map(|a| convert(a))
                .collect::<Result<_, _>>()?,
        }),
        pp::Expr::Aggregate(a) => Expr::Aggregate(Box::new(aggregate(a)?)),
        pp::Expr::Binary(b) => Expr::Binary(Box::new(binary(b)?)),
        pp::Expr::Extension(_) => {
            return Err(EvalError::bad_data(
                "extension expressions are not supported",
            ))
        }
    })
}

fn aggregate(a: &pp::AggregateExpr) -> Result<Aggregate, EvalError> {
    let op = match a.op.id() {
        token::T_SUM => AggOp::Sum,
        token::T_AVG => AggOp::Avg,
        token::T_COUNT => AggOp::Count,
        token::T_MIN => AggOp::Min,
        token::T_MAX => AggOp::Max,
        token::T_GROUP => AggOp::Group,
        token::T_STDDEV => AggOp::Stddev,
        token::T_STDVAR => AggOp::Stdvar,
        token::T_TOPK => AggOp::Topk,
        token::T_BOTTOMK => AggOp::Bottomk,
        token::T_QUANTILE => AggOp::Quantile,
        token::T_COUNT_VALUES => AggOp::CountValues,
        _ => {
            return Err(EvalError::bad_data(format!(
                "aggregation \"{}\" is not supported",
                a.op
            )))
        }
    };
    let (mut grouping, without) = match &a.modifier {
        Some(LabelModifier::Include(l)) => (l.labels.clone(), false),
        Some(LabelModifier::Exclude(l)) => (l.labels.clone(), true),
        None => (Vec::new(), false),
    };
    grouping.sort();
    Ok(Aggregate {
        op,
        expr: convert(&a.expr)?,
        param: a.param.as_deref().map(convert).transpose()?,
        grouping,
        without,
    })
}

fn binary(b: &pp::BinaryExpr) -> Result<Binary, EvalError> {
    let op = match b.op.id() {
        token::T_ADD => BinOp::Add,
        token::T_SUB => BinOp::Sub,
        token::T_MUL => BinOp::Mul,
        token::T_DIV => BinOp::Div,
        token::T_MOD => BinOp::Mod,
        token::T_POW => BinOp::Pow,
        token::T_ATAN2 => BinOp::Atan2,
        token::T_EQLC => BinOp::Eq,
        token::T_NEQ => BinOp::Ne,
        token::T_GTR => BinOp::Gt,
        token::T_LSS => BinOp::Lt,
        token::T_GTE => BinOp::Ge,
        token::T_LTE => BinOp::Le,
        token::T_LAND => BinOp::And,
        token::T_LOR => BinOp::Or,
        token::T_LUNLESS => BinOp::Unless,
        _ => {
            return Err(EvalError::bad_data(format!(
                "binary operator \"{}\" is not supported",
                b.op
            )))
        }
    };
    let mut matching = Matching {
        card: if op.is_set() {
            Card::ManyToMany
        } else {
            Card::OneToOne
        },
        on: false,
        labels: Vec::new(),
        include: Vec::new(),
    };
    let mut return_bool = false;
    if let Some(m) = &b.modifier {
        if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
            return Err(EvalError::bad_data("fill modifiers are not supported"));
        }
        return_bool = m.return_bool;
        match &m.card {
            VectorMatchCardinality::OneToOne => {}
            VectorMatchCardinality::ManyToMany => matching.card = Card::ManyToMany,
            VectorMatchCardinality::ManyToOne(l) => {
                matching.card = Card::ManyToOne;
                matching.include = l.labels.clone();
            }
            VectorMatchCardinality::OneToMany(l) => {
                matching.card = Card::OneToMany;
                matching.include = l.labels.clone();
            }
        }
        match &m.matching {
            Some(LabelModifier::Include(l)) => {
                matching.on = true;
                matching.labels = l.labels.clone();
            }
            Some(LabelModifier::Exclude(l)) => matching.labels = l.labels.clone(),
            None => {}
        }
    }
    Ok(Binary {
        op,
        lhs: convert(&b.lhs)?,
        rhs: convert(&b.rhs)?,
        return_bool,
        matching,
    })
}

fn selector(vs: &pp::VectorSelector) -> Result<Selector, EvalError> {
    if !vs.matchers.or_matchers.is_empty() {
        return Err(EvalError::bad_data(
            "\"or\" inside a selector's braces is not supported",
        ));
    }
    let mut matchers = Vec::with_capacity(vs.matchers.matchers.len() + 1);
    for m in &vs.matchers.matchers {
        matchers.push(matcher(m)?);
    }
    if let Some(name) = &vs.name {
        matchers.push(Matcher::equal(METRIC_NAME, name));
    }
    Ok(Selector {
        matchers,
        offset: offset(&vs.offset),
        at: vs.at.as_ref().map(at),
    })
}

fn matcher(m: &PMatcher) -> Result<Matcher, EvalError> {
    let regex = |negated: bool| {
        let build = |p: &str| {
            if negated {
                Matcher::not_regex(&m.name, p)
            } else {
                Matcher::regex(&m.name, p)
            }
        };
        build(&m.value)
            .or_else(|_| build(&escape_literal_braces(&m.value)))
            .map(|mut built| {
                built.value = m.value.clone();
                built
            })
            .map_err(|e| {
                EvalError::bad_data(format!(
                    "parse error: invalid regular expression {:?}: {e}",
                    m.value
                ))
            })
    };
    match &m.op {
        PMatchOp::Equal => Ok(Matcher::equal(&m.name, &m.value)),
        PMatchOp::NotEqual => Ok(Matcher::not_equal(&m.name, &m.value)),
        PMatchOp::Re(_) => regex(false),
        PMatchOp::NotRe(_) => regex(true),
    }
}

/// Go's regexp reads a `{` that does not start a repetition (`a{b}`) as a literal; Rust's
/// refuses it. Escapes such braces so the pattern means what it means to Prometheus.
fn escape_literal_braces(p: &str) -> String {
    let bytes = p.as_bytes();
    let mut out = String::with_capacity(p.len() + 4);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\\' && i + 1 < bytes.len() {
            // Keep escapes whole, including an escaped brace.
            let ch_len = p[i + 1..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&p[i..i + 1 + ch_len]);
            i += 1 + ch_len;
            continue;
        }
        if c == b'{' && !is_repetition(&p[i..]) {
            out.push_str("\\{");
            i += 1;
            continue;
        }
        let ch_len = p[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&p[i..i + ch_len]);
        i += ch_len;
    }
    out
}

/// `{n}`, `{n,}` or `{n,m}` at the start of `s`.
fn is_repetition(s: &str) -> bool {
    let Some(end) = s.find('}') else {
        return false;
    };
    let inner = &s[1..end];
    let mut parts = inner.splitn(2, ',');
    let first = parts.next().unwrap_or("");
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    match parts.next() {
        None => digits(first),
        Some(second) => digits(first) && (second.is_empty() || digits(second)),
    }
}

fn millis(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn offset(o: &Option<pp::Offset>) -> i64 {
    match o {
        None => 0,
        Some(pp::Offset::Pos(d)) => millis(d),
        Some(pp::Offset::Neg(d)) => -millis(d),
    }
}

fn at(a: &pp::AtModifier) -> At {
    match a {
        pp::AtModifier::Start => At::Start,
        pp::AtModifier::End => At::End,
        pp::AtModifier::At(t) => At::Time(match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => millis(&d),
            Err(e) => -millis(&e.duration()),
        }),
    }
}

fn lookup(name: &str) -> Result<Func, EvalError> {
    if let Some(f) = RangeFn::from_name(name) {
        return Ok(Func::Range(f));
    }
    if let Some(f) = MathFn::from_name(name) {
        return Ok(Func::Math(f));
    }
    if let Some(f) = DateFn::from_name(name) {
        return Ok(Func::Date(f));
    }
    Ok(match name {
        "round" => Func::Round,
        "clamp" => Func::Clamp,
        "clamp_min" => Func::ClampMin,
        "clamp_max" => Func::ClampMax,
        "time" => Func::Time,
        "timestamp" => Func::Timestamp,
        "vector" => Func::Vector,
        "scalar" => Func::Scalar,
        "sort" => Func::Sort,
        "sort_desc" => Func::SortDesc,
        "absent" => Func::Absent,
        "label_replace" => Func::LabelReplace,
        "label_join" => Func::LabelJoin,
        "histogram_quantile" => Func::HistogramQuantile,
        "pi" => Func::Pi,
        n if n.starts_with("histogram_") => {
            return Err(EvalError::bad_data(format!(
            "function \"{n}\" is not supported: it reads native histograms, which are not stored"
        )))
        }
        n => {
            return Err(EvalError::bad_data(format!(
                "function \"{n}\" is not supported"
            )))
        }
    })
}
