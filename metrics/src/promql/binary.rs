//! Binary operators as Prometheus 2.42's `VectorBinop`, `VectorscalarBinop`, `VectorAnd`,
//! `VectorOr` and `VectorUnless`: matching by signature (the `on` labels, or all but the
//! `ignoring` ones and the name), cardinality errors where Prometheus raises them, the name
//! dropped by arithmetic and `bool`, `group_left`/`group_right` copying labels from the
//! "one" side. Signatures and result labels are worked out once per series (pair).
use super::ast::{BinOp, Binary, Card, Matching, ValueType};
use super::error::EvalError;
use super::eval::{Evaluator, Val};
use super::frame::{go_labels, Frame, FrameBuilder, Points};
use super::functions::map_frame;
use crate::model::{Labels, METRIC_NAME};
use std::collections::{HashMap, HashSet};

pub(crate) fn eval(ev: &Evaluator, b: &Binary) -> Result<Val, EvalError> {
    let (lt, rt) = (b.lhs.value_type(), b.rhs.value_type());
    Ok(Val::Vector(match (lt, rt) {
        (ValueType::Scalar, ValueType::Scalar) => {
            let l = ev.eval_scalar(&b.lhs)?;
            let r = ev.eval_scalar(&b.rhs)?;
            return Ok(Val::Scalar(
                l.iter()
                    .zip(&r)
                    .map(|(x, y)| scalar_op(b.op, *x, *y))
                    .collect(),
            ));
        }
        (ValueType::Vector, ValueType::Scalar) => {
            let l = ev.eval_vector(&b.lhs)?;
            let r = ev.eval_scalar(&b.rhs)?;
            vector_scalar(ev, b, &l, &r, false)?
        }
        (ValueType::Scalar, ValueType::Vector) => {
            let l = ev.eval_scalar(&b.lhs)?;
            let r = ev.eval_vector(&b.rhs)?;
            vector_scalar(ev, b, &r, &l, true)?
        }
        (ValueType::Vector, ValueType::Vector) => {
            let l = ev.eval_vector(&b.lhs)?;
            let r = ev.eval_vector(&b.rhs)?;
            if b.op.is_set() {
                set_op(ev, b, &l, &r)?
            } else {
                vector_vector(ev, b, &l, &r)?
            }
        }
        _ => {
            return Err(EvalError::execution(format!(
                "binary operation between {} and {}",
                lt.documented(),
                rt.documented()
            )))
        }
    }))
}

fn arith(op: BinOp, l: f64, r: f64) -> Option<f64> {
    Some(match op {
        BinOp::Add => l + r,
        BinOp::Sub => l - r,
        BinOp::Mul => l * r,
        BinOp::Div => l / r,
        BinOp::Mod => l % r,
        BinOp::Pow => l.powf(r),
        BinOp::Atan2 => l.atan2(r),
        _ => return None,
    })
}

fn compare(op: BinOp, l: f64, r: f64) -> bool {
    match op {
        BinOp::Eq => l == r,
        BinOp::Ne => l != r,
        BinOp::Gt => l > r,
        BinOp::Lt => l < r,
        BinOp::Ge => l >= r,
        BinOp::Le => l <= r,
        _ => false,
    }
}

/// Prometheus's `scalarBinop`: comparisons give 1 or 0.
fn scalar_op(op: BinOp, l: f64, r: f64) -> f64 {
    arith(op, l, r).unwrap_or_else(|| f64::from(u8::from(compare(op, l, r))))
}

/// Prometheus's `vectorElemBinop`: the value and whether to keep the element.
fn elem_op(op: BinOp, l: f64, r: f64) -> (f64, bool) {
    match arith(op, l, r) {
        Some(v) => (v, true),
        None => (l, compare(op, l, r)),
    }
}

/// Arithmetic drops the metric name; comparisons, set operators and (in Prometheus 2.42)
/// `atan2` keep it.
fn drops_name(op: BinOp) -> bool {
    op != BinOp::Atan2 && arith(op, 0.0, 0.0).is_some()
}

fn vector_scalar(
    ev: &Evaluator,
    b: &Binary,
    vec: &Frame,
    scalar: &[f64],
    swap: bool,
) -> Result<Frame, EvalError> {
    let drop = drops_name(b.op) || b.return_bool;
    let relabel = |l: &Labels| if drop { l.without_name() } else { l.clone() };
    map_frame(ev, vec, relabel, |step, v| {
        let s = scalar[step];
        let (l, r) = if swap { (s, v) } else { (v, s) };
        let (mut value, keep) = elem_op(b.op, l, r);
        // The vector's value stays the result even when it is on the right.
        if b.op.is_comparison() && swap {
            value = r;
        }
        if b.return_bool {
            Some(f64::from(u8::from(keep)))
        } else {
            keep.then_some(value)
        }
    })
}

/// The labels series match on: `on(…)` keeps those, otherwise the listed ones and the name go.
fn signature(l: &Labels, m: &Matching) -> Labels {
    let listed = |n: &str| m.labels.iter().any(|x| x == n);
    Labels::from_sorted(
        l.iter()
            .filter(|x| {
                if m.on {
                    listed(&x.name)
                } else {
                    !listed(&x.name) && &*x.name != METRIC_NAME
                }
            })
            .cloned()
            .collect(),
    )
}

/// Signature ids of both sides' series, shared so equal signatures get equal ids.
fn signatures(m: &Matching, l: &Frame, r: &Frame) -> (Vec<u32>, Vec<u32>, usize) {
    let mut ids: HashMap<Labels, u32> = HashMap::new();
    let mut of = |f: &Frame| -> Vec<u32> {
        f.labels
            .iter()
            .map(|x| {
                let next = ids.len() as u32;
                *ids.entry(signature(x, m)).or_insert(next)
            })
            .collect()
    };
    let (a, b) = (of(l), of(r));
    (a, b, ids.len())
}

/// Prometheus's `resultMetric`.
fn result_labels(lhs: &Labels, rhs: &Labels, b: &Binary) -> Labels {
    let m = &b.matching;
    let mut out = if drops_name(b.op) {
        lhs.without_name()
    } else {
        lhs.clone()
    };
    if m.card == Card::OneToOne {
        let listed = |n: &str| m.labels.iter().any(|x| x == n);
        out = Labels::from_sorted(
            out.into_vec()
                .into_iter()
                .filter(|x| listed(&x.name) == m.on)
                .collect(),
        );
    }
    for name in &m.include {
        out.set(name, rhs.get(name).unwrap_or(""));
    }
    if b.return_bool {
        out = out.without_name();
    }
    out
}

fn vector_vector(ev: &Evaluator, b: &Binary, l: &Frame, r: &Frame) -> Result<Frame, EvalError> {
    if let Some(out) = one_to_one_by_series(ev, b, l, r) {
        return Ok(out);
    }
    let m = &b.matching;
    let one_to_many = m.card == Card::OneToMany;
    // For one-to-many the sides swap so the right is always the "one" side.
    let (many, one) = if one_to_many { (r, l) } else { (l, r) };
    let (many_sig, one_sig, nsig) = signatures(m, many, one);
    let mut one_at: Vec<(u32, u32, f64)> = vec![(0, 0, 0.0); nsig];
    let mut matched: Vec<u32> = vec![0; nsig];
    let mut inserted: HashSet<(u32, u32)> = HashSet::new();
    let mut pair_out: HashMap<(u32, u32), u32> = HashMap::new();
    let mut out = FrameBuilder::new(ev.steps);
    for step in 0..ev.steps {
        let stamp = step as u32 + 1;
        let (one_ids, one_vals) = one.at(step);
        for (id, &v) in one_ids.iter().zip(one_vals) {
            let sig = one_sig[*id as usize] as usize;
            if one_at[sig].0 == stamp {
                let earlier = &one.labels[one_at[sig].1 as usize];
                let this = &one.labels[*id as usize];
                return Err(EvalError::execution(format!(
                    "found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                    go_labels(&signature(this, m)),
                    if one_to_many { "left" } else { "right" },
                    go_labels(this),
                    go_labels(earlier),
                )));
            }
            one_at[sig] = (stamp, *id, v);
        }
        inserted.clear();
        let (many_ids, many_vals) = many.at(step);
        ev.ctx.tick(many_ids.len() as u64)?;
        for (id, &v) in many_ids.iter().zip(many_vals) {
            let sig = many_sig[*id as usize] as usize;
            let (st, one_id, one_v) = one_at[sig];
            if st != stamp {
                continue;
            }
            let (vl, vr) = if one_to_many { (one_v, v) } else { (v, one_v) };
            let (mut value, keep) = elem_op(b.op, vl, vr);
            if b.return_bool {
                value = f64::from(u8::from(keep));
            } else if !keep {
                continue;
            }
            let o = *pair_out.entry((*id, one_id)).or_insert_with(|| {
                let labels =
                    result_labels(&many.labels[*id as usize], &one.labels[one_id as usize], b);
                out.intern(labels)
            });
            if m.card == Card::OneToOne {
                if matched[sig] == stamp {
                    return Err(EvalError::execution(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                    ));
                }
                matched[sig] = stamp;
            } else if !inserted.insert((sig as u32, o)) {
                return Err(EvalError::execution(
                    "multiple matches for labels: grouping labels must ensure unique matches",
                ));
            }
            out.push(o, value)?;
        }
        out.end_step();
    }
    Ok(out.finish())
}

/// `and`, `or`, `unless`: elements kept whole (name included), matched by signature.
fn set_op(ev: &Evaluator, b: &Binary, l: &Frame, r: &Frame) -> Result<Frame, EvalError> {
    let (lsig, rsig, nsig) = signatures(&b.matching, l, r);
    let mut seen: Vec<u32> = vec![0; nsig];
    let mut out = FrameBuilder::new(ev.steps);
    let mut lout: Vec<Option<u32>> = vec![None; l.labels.len()];
    let mut rout: Vec<Option<u32>> = vec![None; r.labels.len()];
    for step in 0..ev.steps {
        let stamp = step as u32 + 1;
        let (lids, lvals) = l.at(step);
        let (rids, rvals) = r.at(step);
        let mut emit = |f: &Frame, map: &mut Vec<Option<u32>>, id: u32, v: f64| {
            let o =
                *map[id as usize].get_or_insert_with(|| out.intern(f.labels[id as usize].clone()));
            out.push(o, v)
        };
        match b.op {
            BinOp::And if !lids.is_empty() && !rids.is_empty() => {
                rids.iter()
                    .for_each(|id| seen[rsig[*id as usize] as usize] = stamp);
                for (id, &v) in lids.iter().zip(lvals) {
                    if seen[lsig[*id as usize] as usize] == stamp {
                        emit(l, &mut lout, *id, v)?;
                    }
                }
            }
            BinOp::Or => {
                for (id, &v) in lids.iter().zip(lvals) {
                    seen[lsig[*id as usize] as usize] = stamp;
                    emit(l, &mut lout, *id, v)?;
                }
                for (id, &v) in rids.iter().zip(rvals) {
                    if seen[rsig[*id as usize] as usize] != stamp {
                        emit(r, &mut rout, *id, v)?;
                    }
                }
            }
            BinOp::Unless => {
                rids.iter()
                    .for_each(|id| seen[rsig[*id as usize] as usize] = stamp);
                for (id, &v) in lids.iter().zip(lvals) {
                    if seen[lsig[*id as usize] as usize] != stamp {
                        emit(l, &mut lout, *id, v)?;
                    }
                }
            }
            _ => {}
        }
        out.end_step();
    }
    Ok(out.finish())
}

/// One-to-one matching series by series, when it cannot go wrong at any step: both
/// sides already by series, each signature on at most one series per side, and distinct
/// result label sets. Then every pair of series is known up front and merged by step.
fn one_to_one_by_series(ev: &Evaluator, b: &Binary, l: &Frame, r: &Frame) -> Option<Frame> {
    if b.matching.card != Card::OneToOne || !l.is_by_series() || !r.is_by_series() {
        return None;
    }
    let (lsig, rsig, nsig) = signatures(&b.matching, l, r);
    let mut right_of = vec![u32::MAX; nsig];
    for (id, sig) in rsig.iter().enumerate() {
        let slot = &mut right_of[*sig as usize];
        if *slot != u32::MAX {
            return None;
        }
        *slot = id as u32;
    }
    let mut left_seen = vec![false; nsig];
    let mut pairs = Vec::new();
    let mut distinct = HashSet::new();
    for (lid, sig) in lsig.iter().enumerate() {
        if std::mem::replace(&mut left_seen[*sig as usize], true) {
            return None;
        }
        let rid = right_of[*sig as usize];
        if rid != u32::MAX {
            let labels = result_labels(&l.labels[lid], &r.labels[rid as usize], b);
            if !distinct.insert(labels.clone()) {
                return None;
            }
            pairs.push((lid, rid as usize, labels));
        }
    }
    let (lp, rp) = (l.series_points(), r.series_points());
    let series = pairs
        .into_iter()
        .map(|(lid, rid, labels)| (labels, merge(b, &lp[lid], &rp[rid])))
        .collect();
    Some(Frame::from_series(ev.steps, series))
}

/// The operator over the steps both series have a value at.
fn merge(b: &Binary, l: &Points, r: &Points) -> Points {
    let mut out = Vec::with_capacity(l.len().min(r.len()));
    let (mut i, mut j) = (0, 0);
    while i < l.len() && j < r.len() {
        let (ls, lv) = l[i];
        let (rs, rv) = r[j];
        if ls < rs {
            i += 1;
        } else if rs < ls {
            j += 1;
        } else {
            let (value, keep) = elem_op(b.op, lv, rv);
            if b.return_bool {
                out.push((ls, f64::from(u8::from(keep))));
            } else if keep {
                out.push((ls, value));
            }
            i += 1;
            j += 1;
        }
    }
    out
}
