//! Functions of instant vectors and scalars (`abs`, `clamp`, `label_replace`, `absent`,
//! `sort`, `time`, …) as Prometheus 2.42's `promql/functions.go`; range-argument functions
//! are in [`super::range_fns`], `histogram_quantile` in [`super::histogram`].
use super::aggregate::{most_first, valid_label_name};
use super::ast::{Call, Expr, Func};
use super::error::EvalError;
use super::eval::{Evaluator, Val};
use super::frame::{Frame, FrameBuilder};
use super::select::absent_labels;
use super::{histogram, range_fns};
use crate::model::Labels;
use std::collections::HashSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MathFn {
    Abs,
    Ceil,
    Floor,
    Exp,
    Sqrt,
    Ln,
    Log2,
    Log10,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Deg,
    Rad,
    Sgn,
}

impl MathFn {
    pub fn from_name(name: &str) -> Option<MathFn> {
        use MathFn::*;
        Some(match name {
            "abs" => Abs,
            "ceil" => Ceil,
            "floor" => Floor,
            "exp" => Exp,
            "sqrt" => Sqrt,
            "ln" => Ln,
            "log2" => Log2,
            "log10" => Log10,
            "sin" => Sin,
            "cos" => Cos,
            "tan" => Tan,
            "asin" => Asin,
            "acos" => Acos,
            "atan" => Atan,
            "sinh" => Sinh,
            "cosh" => Cosh,
            "tanh" => Tanh,
            "asinh" => Asinh,
            "acosh" => Acosh,
            "atanh" => Atanh,
            "deg" => Deg,
            "rad" => Rad,
            "sgn" => Sgn,
            _ => return None,
        })
    }

    fn apply(self, v: f64) -> f64 {
        use MathFn::*;
        match self {
            Abs => v.abs(),
            Ceil => v.ceil(),
            Floor => v.floor(),
            Exp => v.exp(),
            Sqrt => v.sqrt(),
            Ln => v.ln(),
            Log2 => v.log2(),
            Log10 => v.log10(),
            Sin => v.sin(),
            Cos => v.cos(),
            Tan => v.tan(),
            Asin => v.asin(),
            Acos => v.acos(),
            Atan => v.atan(),
            Sinh => v.sinh(),
            Cosh => v.cosh(),
            Tanh => v.tanh(),
            Asinh => v.asinh(),
            Acosh => v.acosh(),
            Atanh => v.atanh(),
            Deg => v * 180.0 / std::f64::consts::PI,
            Rad => v * std::f64::consts::PI / 180.0,
            Sgn if v < 0.0 => -1.0,
            Sgn if v > 0.0 => 1.0,
            Sgn => v,
        }
    }
}

/// Go's `math.Max`: NaN wins, +0 beats -0.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            b
        } else {
            a
        }
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`: NaN wins, -0 beats +0.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            a
        } else {
            b
        }
    } else {
        a.min(b)
    }
}

/// Every sample of `frame` through `f` (`None` drops it), with labels from `relabel`
/// (worked out once per series). Series by series when the input is so and no two series
/// end up with one label set; otherwise step by step, refusing a step where two do.
pub(crate) fn map_frame(
    ev: &Evaluator,
    frame: &Frame,
    relabel: impl FnMut(&Labels) -> Labels,
    mut f: impl FnMut(usize, f64) -> Option<f64>,
) -> Result<Frame, EvalError> {
    let out_labels: Vec<Labels> = frame.labels.iter().map(relabel).collect();
    let mut distinct = HashSet::with_capacity(out_labels.len());
    if frame.is_by_series() && out_labels.iter().all(|l| distinct.insert(l)) {
        let series = out_labels
            .iter()
            .zip(frame.series_points())
            .map(|(l, pts)| {
                let mapped = pts
                    .iter()
                    .filter_map(|(s, v)| f(*s as usize, *v).map(|o| (*s, o)))
                    .collect();
                (l.clone(), mapped)
            })
            .collect();
        return Ok(Frame::from_series(ev.steps, series));
    }
    let mut b = FrameBuilder::new(ev.steps);
    let mut ids: Vec<Option<u32>> = vec![None; frame.labels.len()];
    for step in 0..ev.steps {
        let (in_ids, vals) = frame.at(step);
        ev.ctx.tick(in_ids.len() as u64)?;
        for (id, v) in in_ids.iter().zip(vals) {
            if let Some(out) = f(step, *v) {
                let o = *ids[*id as usize]
                    .get_or_insert_with(|| b.intern(out_labels[*id as usize].clone()));
                b.push(o, out)?;
            }
        }
        b.end_step();
    }
    Ok(b.finish())
}

fn drop_name(l: &Labels) -> Labels {
    l.without_name()
}

fn string_arg(e: &Expr) -> Result<&str, EvalError> {
    match e {
        Expr::Str(s) => Ok(s),
        _ => Err(EvalError::execution("expected a string literal")),
    }
}

/// A vector with one sample without labels per step.
fn unlabelled(ev: &Evaluator, values: impl Iterator<Item = f64>) -> Frame {
    let pts = values.enumerate().map(|(i, v)| (i as u32, v)).collect();
    Frame::from_series(ev.steps, vec![(Labels::default(), pts)])
}

pub(crate) fn call(ev: &Evaluator, c: &Call) -> Result<Val, EvalError> {
    let args = &c.args;
    let vector_arg = |i: usize| ev.eval_vector(&args[i]);
    let scalar_arg = |i: usize| ev.eval_scalar(&args[i]);
    let frame = match c.func {
        Func::Range(f) => return range_fns::eval(ev, f, args),
        Func::HistogramQuantile => return histogram::histogram_quantile(ev, args),
        Func::Time => {
            return Ok(Val::Scalar(
                (0..ev.steps).map(|i| ev.ts(i) as f64 / 1000.0).collect(),
            ))
        }
        Func::Pi => return Ok(Val::Scalar(vec![std::f64::consts::PI; ev.steps])),
        Func::Scalar => {
            let f = vector_arg(0)?;
            let one = |i| match f.at(i) {
                (ids, vals) if ids.len() == 1 => vals[0],
                _ => f64::NAN,
            };
            return Ok(Val::Scalar((0..ev.steps).map(one).collect()));
        }
        Func::Vector => unlabelled(ev, scalar_arg(0)?.into_iter()),
        Func::Math(m) => map_frame(ev, &vector_arg(0)?, drop_name, |_, v| Some(m.apply(v)))?,
        Func::Date(d) if args.is_empty() => {
            unlabelled(ev, (0..ev.steps).map(|i| d.apply((ev.ts(i) / 1000) as f64)))
        }
        Func::Date(d) => map_frame(ev, &vector_arg(0)?, drop_name, |_, v| Some(d.apply(v)))?,
        Func::Round => {
            let to = match args.len() {
                1 => vec![1.0; ev.steps],
                _ => scalar_arg(1)?,
            };
            let v = vector_arg(0)?;
            map_frame(ev, &v, drop_name, |step, v| {
                // Rounding by the inverse has fewer float accuracy issues.
                let inverse = 1.0 / to[step];
                Some((v * inverse + 0.5).floor() / inverse)
            })?
        }
        Func::Clamp => {
            let v = vector_arg(0)?;
            let (lo, hi) = (scalar_arg(1)?, scalar_arg(2)?);
            map_frame(ev, &v, drop_name, |step, v| {
                (hi[step] >= lo[step] || hi[step].is_nan() || lo[step].is_nan())
                    .then(|| go_max(lo[step], go_min(hi[step], v)))
            })?
        }
        Func::ClampMin => {
            let v = vector_arg(0)?;
            let lo = scalar_arg(1)?;
            map_frame(ev, &v, drop_name, |step, v| Some(go_max(v, lo[step])))?
        }
        Func::ClampMax => {
            let v = vector_arg(0)?;
            let hi = scalar_arg(1)?;
            map_frame(ev, &v, drop_name, |step, v| Some(go_min(v, hi[step])))?
        }
        Func::Timestamp => match &args[0] {
            // A selector's own sample times, not the evaluation times.
            Expr::Vector(sel) => {
                let f = ev.vector_selector(sel, true)?;
                map_frame(ev, &f, drop_name, |_, v| Some(v))?
            }
            _ => map_frame(ev, &vector_arg(0)?, drop_name, |step, _| {
                Some(ev.ts(step) as f64 / 1000.0)
            })?,
        },
        Func::Sort | Func::SortDesc => sort(ev, &vector_arg(0)?, c.func == Func::SortDesc)?,
        Func::Absent => {
            let f = vector_arg(0)?;
            let missing = (0..ev.steps).filter(|i| f.at(*i).0.is_empty());
            let pts = missing.map(|i| (i as u32, 1.0)).collect();
            Frame::from_series(ev.steps, vec![(absent_labels(&args[0]), pts)])
        }
        Func::LabelReplace => label_replace(ev, args)?,
        Func::LabelJoin => label_join(ev, args)?,
    };
    Ok(Val::Vector(frame))
}

/// `sort` (ascending) and `sort_desc`, NaN last; only an instant query shows the order.
fn sort(ev: &Evaluator, f: &Frame, desc: bool) -> Result<Frame, EvalError> {
    let mut b = FrameBuilder::new(ev.steps);
    let ids: Vec<u32> = f.labels.iter().map(|l| b.intern(l.clone())).collect();
    let mut buf: Vec<(u32, f64)> = Vec::new();
    for step in 0..ev.steps {
        let (in_ids, vals) = f.at(step);
        buf.clear();
        buf.extend(in_ids.iter().copied().zip(vals.iter().copied()));
        buf.sort_by(|x, y| most_first(desc, x.1, y.1));
        for (id, v) in &buf {
            b.push(ids[*id as usize], *v)?;
        }
        b.end_step();
    }
    Ok(b.finish())
}

fn label_replace(ev: &Evaluator, args: &[Expr]) -> Result<Frame, EvalError> {
    let dst = string_arg(&args[1])?;
    let repl = string_arg(&args[2])?;
    let src = string_arg(&args[3])?;
    let pattern = string_arg(&args[4])?;
    let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|_| {
        EvalError::execution(format!(
            "invalid regular expression in label_replace(): {pattern}"
        ))
    })?;
    if !valid_label_name(dst) {
        return Err(EvalError::execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let v = ev.eval_vector(&args[0])?;
    let relabel = |l: &Labels| match re.captures(l.get(src).unwrap_or("")) {
        None => l.clone(),
        Some(caps) => {
            let mut value = String::new();
            caps.expand(repl, &mut value);
            let mut out = l.clone();
            out.set(dst, &value);
            out
        }
    };
    map_frame(ev, &v, relabel, |_, v| Some(v))
}

fn label_join(ev: &Evaluator, args: &[Expr]) -> Result<Frame, EvalError> {
    let dst = string_arg(&args[1])?;
    let sep = string_arg(&args[2])?;
    let mut srcs = Vec::new();
    for a in &args[3..] {
        let src = string_arg(a)?;
        if !valid_label_name(src) {
            return Err(EvalError::execution(format!(
                "invalid source label name in label_join(): {src}"
            )));
        }
        srcs.push(src);
    }
    if !valid_label_name(dst) {
        return Err(EvalError::execution(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let v = ev.eval_vector(&args[0])?;
    let relabel = |l: &Labels| {
        let joined: Vec<&str> = srcs.iter().map(|s| l.get(s).unwrap_or("")).collect();
        let mut out = l.clone();
        out.set(dst, &joined.join(sep));
        out
    };
    map_frame(ev, &v, relabel, |_, v| Some(v))
}
