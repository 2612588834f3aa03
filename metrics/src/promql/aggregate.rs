//! Aggregation operators (`sum by (site) (…)`, `topk(3, …)`, `count_values("v", …)`) as
//! Prometheus 2.42's `aggregation`: groups in order of first appearance at each step, the
//! same running formulas, `topk`/`bottomk` through the same heap so ties resolve alike.
use super::ast::{AggOp, Aggregate, Expr};
use super::error::EvalError;
use super::eval::{Evaluator, Val};
use super::frame::{Frame, FrameBuilder};
use super::histogram::quantile;
use crate::model::{Labels, METRIC_NAME};
use std::collections::HashMap;

pub(crate) fn eval(ev: &Evaluator, a: &Aggregate) -> Result<Val, EvalError> {
    let param = |what: &str| {
        a.param
            .as_ref()
            .ok_or_else(|| EvalError::execution(format!("{what} needs a parameter")))
    };
    let frame;
    let out = match a.op {
        AggOp::CountValues => {
            let Expr::Str(label) = param("count_values")? else {
                return Err(EvalError::execution(
                    "count_values needs a string parameter",
                ));
            };
            if !valid_label_name(label) {
                return Err(EvalError::execution(format!(
                    "invalid label name {label:?}"
                )));
            }
            frame = ev.eval_vector(&a.expr)?;
            count_values(ev, a, &frame, label)?
        }
        AggOp::Topk | AggOp::Bottomk => {
            let k = ev.eval_scalar(param("topk/bottomk")?)?;
            frame = ev.eval_vector(&a.expr)?;
            top_or_bottom(ev, a, &frame, &k)?
        }
        _ => {
            let q = match a.op {
                AggOp::Quantile => Some(ev.eval_scalar(param("quantile")?)?),
                _ => None,
            };
            frame = ev.eval_vector(&a.expr)?;
            accumulate(ev, a, &frame, q.as_deref())?
        }
    };
    Ok(Val::Vector(out))
}

/// Prometheus's `model.LabelName.IsValid`.
pub(crate) fn valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A group's labels: `without` drops the listed labels and the name, `by` keeps the listed
/// ones (the name too, if listed), neither keeps none.
fn group_labels(l: &Labels, grouping: &[String], without: bool) -> Labels {
    let keep = |name: &str| {
        let listed = grouping.iter().any(|g| g == name);
        if without {
            !listed && name != METRIC_NAME
        } else {
            listed
        }
    };
    Labels::from_sorted(l.iter().filter(|x| keep(&x.name)).cloned().collect())
}

#[derive(Clone, Copy, Default)]
struct Acc {
    value: f64,
    mean: f64,
    count: f64,
}

fn accumulate(
    ev: &Evaluator,
    a: &Aggregate,
    frame: &Frame,
    q: Option<&[f64]>,
) -> Result<Frame, EvalError> {
    let mut b = FrameBuilder::new(ev.steps);
    let gid: Vec<u32> = frame
        .labels
        .iter()
        .map(|l| b.intern(group_labels(l, &a.grouping, a.without)))
        .collect();
    let groups = gid.iter().max().map_or(0, |m| *m as usize + 1);
    let mut acc = vec![Acc::default(); groups];
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); if q.is_some() { groups } else { 0 }];
    let mut stamp = vec![0u32; groups];
    let mut touched = Vec::new();
    for step in 0..ev.steps {
        let (ids, vals) = frame.at(step);
        ev.ctx.tick(ids.len() as u64)?;
        for (id, &v) in ids.iter().zip(vals) {
            let g = gid[*id as usize] as usize;
            let c = &mut acc[g];
            if stamp[g] != step as u32 + 1 {
                stamp[g] = step as u32 + 1;
                touched.push(g);
                *c = Acc {
                    value: match a.op {
                        AggOp::Stddev | AggOp::Stdvar => 0.0,
                        AggOp::Group => 1.0,
                        _ => v,
                    },
                    mean: v,
                    count: 1.0,
                };
                if q.is_some() {
                    values[g].clear();
                    values[g].push(v);
                }
                continue;
            }
            match a.op {
                AggOp::Sum => c.value += v,
                AggOp::Avg => {
                    c.count += 1.0;
                    let keep_infinite = c.mean.is_infinite()
                        && ((v.is_infinite() && (c.mean > 0.0) == (v > 0.0))
                            || (!v.is_infinite() && !v.is_nan()));
                    if !keep_infinite {
                        c.mean += v / c.count - c.mean / c.count;
                    }
                }
                AggOp::Max => {
                    if c.value < v || c.value.is_nan() {
                        c.value = v;
                    }
                }
                AggOp::Min => {
                    if c.value > v || c.value.is_nan() {
                        c.value = v;
                    }
                }
                AggOp::Count => c.count += 1.0,
                AggOp::Stddev | AggOp::Stdvar => {
                    c.count += 1.0;
                    let delta = v - c.mean;
                    c.mean += delta / c.count;
                    c.value += delta * (v - c.mean);
                }
                AggOp::Quantile => values[g].push(v),
                AggOp::Group | AggOp::Topk | AggOp::Bottomk | AggOp::CountValues => {}
            }
        }
        for &g in &touched {
            let c = acc[g];
            let v = match a.op {
                AggOp::Avg => c.mean,
                AggOp::Count => c.count,
                AggOp::Stdvar => c.value / c.count,
                AggOp::Stddev => (c.value / c.count).sqrt(),
                AggOp::Quantile => quantile(q.map_or(f64::NAN, |q| q[step]), &mut values[g]),
                _ => c.value,
            };
            b.push(g as u32, v)?;
        }
        touched.clear();
        b.end_step();
    }
    Ok(b.finish())
}

fn count_values(
    ev: &Evaluator,
    a: &Aggregate,
    frame: &Frame,
    label: &str,
) -> Result<Frame, EvalError> {
    let mut grouping = a.grouping.clone();
    if !a.without {
        grouping.push(label.to_string());
    }
    let mut b = FrameBuilder::new(ev.steps);
    let mut counts: HashMap<u32, f64> = HashMap::new();
    let mut order = Vec::new();
    for step in 0..ev.steps {
        let (ids, vals) = frame.at(step);
        for (id, v) in ids.iter().zip(vals) {
            let mut l = frame.labels[*id as usize].clone();
            l.set(label, &super::format_value(*v));
            let g = b.intern(group_labels(&l, &grouping, a.without));
            let n = counts.entry(g).or_insert_with(|| {
                order.push(g);
                0.0
            });
            *n += 1.0;
        }
        for g in order.drain(..) {
            b.push(g, counts[&g])?;
        }
        counts.clear();
        b.end_step();
    }
    Ok(b.finish())
}

/// Prometheus's `vectorByValueHeap` (`topk`) and `vectorByReverseValueHeap` (`bottomk`)
/// order: NaN counts as least.
fn heap_less(top: bool, a: f64, b: f64) -> bool {
    a.is_nan() || if top { a < b } else { a > b }
}

/// The order `topk` (largest first) and `bottomk` (smallest first) answer in, NaN last.
pub(crate) fn most_first(top: bool, x: f64, y: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if top => y.partial_cmp(&x).unwrap_or(Ordering::Equal),
        _ => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
    }
}

fn heap_up(h: &mut [(f64, u32)], top: bool, mut j: usize) {
    while j > 0 {
        let i = (j - 1) / 2;
        if !heap_less(top, h[j].0, h[i].0) {
            break;
        }
        h.swap(i, j);
        j = i;
    }
}

fn heap_down(h: &mut [(f64, u32)], top: bool, mut i: usize, n: usize) {
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        if j1 + 1 < n && heap_less(top, h[j1 + 1].0, h[j1].0) {
            j = j1 + 1;
        }
        if !heap_less(top, h[j].0, h[i].0) {
            break;
        }
        h.swap(i, j);
        i = j;
    }
}

fn top_or_bottom(
    ev: &Evaluator,
    a: &Aggregate,
    frame: &Frame,
    k: &[f64],
) -> Result<Frame, EvalError> {
    let top = a.op == AggOp::Topk;
    let mut groups: HashMap<Labels, usize> = HashMap::new();
    let gid: Vec<usize> = frame
        .labels
        .iter()
        .map(|l| {
            let next = groups.len();
            *groups
                .entry(group_labels(l, &a.grouping, a.without))
                .or_insert(next)
        })
        .collect();
    let mut heaps: Vec<Vec<(f64, u32)>> = vec![Vec::new(); groups.len()];
    let mut touched = Vec::new();
    let mut b = FrameBuilder::new(ev.steps);
    let mut out_id: Vec<Option<u32>> = vec![None; frame.labels.len()];
    for (step, &kf) in k.iter().enumerate() {
        // Prometheus's convertibleToInt64.
        if !(-9.223_372_036_854_776e18..=9.223_372_036_854_775e18).contains(&kf) {
            return Err(EvalError::execution(format!(
                "Scalar value {} overflows int64",
                super::format_value(kf)
            )));
        }
        let k = kf as i64;
        let (ids, vals) = frame.at(step);
        if k < 1 {
            b.end_step();
            continue;
        }
        for (id, &v) in ids.iter().zip(vals) {
            let h = &mut heaps[gid[*id as usize]];
            if h.is_empty() {
                touched.push(gid[*id as usize]);
                h.push((v, *id));
                continue;
            }
            if (h.len() as i64) < k || heap_less(top, h[0].0, v) || h[0].0.is_nan() {
                if h.len() as i64 == k {
                    if k == 1 {
                        h[0] = (v, *id);
                        continue;
                    }
                    let n = h.len() - 1;
                    h.swap(0, n);
                    heap_down(h, top, 0, n);
                    h.pop();
                }
                h.push((v, *id));
                let last = h.len() - 1;
                heap_up(h, top, last);
            }
        }
        for &g in &touched {
            let h = &mut heaps[g];
            // The heap keeps the least on top; the answer lists the most first.
            h.sort_by(|x, y| most_first(top, x.0, y.0));
            for &(v, id) in h.iter() {
                let o = *out_id[id as usize]
                    .get_or_insert_with(|| b.intern(frame.labels[id as usize].clone()));
                b.push(o, v)?;
            }
            h.clear();
        }
        touched.clear();
        b.end_step();
    }
    Ok(b.finish())
}
