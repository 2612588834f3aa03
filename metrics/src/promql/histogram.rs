//! `histogram_quantile()` over classic buckets (series with an `le` label) and the
//! quantile estimate shared with `quantile` and `quantile_over_time`, as Prometheus 2.42's
//! `bucketQuantile` and `quantile`.
use super::ast::Expr;
use super::error::EvalError;
use super::eval::{Evaluator, Val};
use super::frame::FrameBuilder;
use crate::model::Labels;
use std::cmp::Ordering;
use std::collections::HashMap;

/// The `q`-quantile of `values` (reordered), interpolating between neighbours;
/// NaN values sort first, as Prometheus's `vectorByValueHeap`.
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// `(upper bound, cumulative count)` pairs of one histogram at one step.
pub(crate) fn bucket_quantile(q: f64, buckets: &mut Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
    if buckets.last().map(|b| b.0) != Some(f64::INFINITY) {
        return f64::NAN;
    }
    coalesce(buckets);
    ensure_monotonic(buckets);
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    // sort.Search over all but the +Inf bucket.
    let b = buckets[..buckets.len() - 1].partition_point(|x| x.1 < rank);
    if b == buckets.len() - 1 {
        return buckets[buckets.len() - 2].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let mut start = 0.0;
    let end = buckets[b].0;
    let mut count = buckets[b].1;
    if b > 0 {
        start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    start + (end - start) * (rank / count)
}

/// Merges buckets with the same upper bound (adding their counts).
fn coalesce(buckets: &mut Vec<(f64, f64)>) {
    let mut out = 0;
    for i in 1..buckets.len() {
        if buckets[i].0 == buckets[out].0 {
            buckets[out].1 += buckets[i].1;
        } else {
            out += 1;
            buckets[out] = buckets[i];
        }
    }
    buckets.truncate(out + 1);
}

/// Raises counts that fall below an earlier bucket's (scrapes are not atomic).
fn ensure_monotonic(buckets: &mut [(f64, f64)]) {
    let mut max = f64::NEG_INFINITY;
    for b in buckets {
        if b.1 > max {
            max = b.1;
        } else if b.1 < max {
            b.1 = max;
        }
    }
}

/// Go's `strconv.ParseFloat` for the values `le` takes (`+Inf`, `1e-3`, `0.5`); Rust's
/// parser reads the same forms, `Inf` and `+Inf` included (not Go's hexadecimal floats).
fn parse_le(s: &str) -> Option<f64> {
    s.parse().ok()
}

pub(crate) fn histogram_quantile(ev: &Evaluator, args: &[Expr]) -> Result<Val, EvalError> {
    let q = ev.eval_scalar(&args[0])?;
    let frame = ev.eval_vector(&args[1])?;
    // Per input series: its histogram (the labels without `le`) and upper bound; series
    // without a readable `le` take no part, as in Prometheus.
    let mut group_of: Vec<Option<(usize, f64)>> = Vec::with_capacity(frame.labels.len());
    let mut groups: HashMap<Labels, usize> = HashMap::new();
    let mut out_labels: Vec<Labels> = Vec::new();
    for l in &frame.labels {
        let Some(upper) = l.get("le").and_then(parse_le) else {
            group_of.push(None);
            continue;
        };
        let mut key = l.clone();
        key.set("le", "");
        let next = groups.len();
        let g = *groups.entry(key.clone()).or_insert(next);
        if g == out_labels.len() {
            out_labels.push(key.without_name());
        }
        group_of.push(Some((g, upper)));
    }
    let mut b = FrameBuilder::new(ev.steps);
    let mut out_id: Vec<Option<u32>> = vec![None; out_labels.len()];
    let mut buckets: Vec<Vec<(f64, f64)>> = vec![Vec::new(); out_labels.len()];
    let mut touched: Vec<usize> = Vec::new();
    for (step, qv) in q.iter().enumerate() {
        let (ids, vals) = frame.at(step);
        for (id, v) in ids.iter().zip(vals) {
            if let Some((g, upper)) = group_of[*id as usize] {
                if buckets[g].is_empty() {
                    touched.push(g);
                }
                buckets[g].push((upper, *v));
            }
        }
        for &g in &touched {
            let value = bucket_quantile(*qv, &mut buckets[g]);
            buckets[g].clear();
            let id = *out_id[g].get_or_insert_with(|| b.intern(out_labels[g].clone()));
            b.push(id, value)?;
        }
        touched.clear();
        b.end_step();
    }
    Ok(Val::Vector(b.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_quantile_interpolates_inside_the_bucket_holding_the_rank() {
        let mut b = vec![(0.1, 50.0), (0.5, 90.0), (f64::INFINITY, 100.0)];
        // rank 50 is the top of the first bucket.
        assert_eq!(bucket_quantile(0.5, &mut b.clone()), 0.1);
        // rank 70: halfway through (0.1, 0.5].
        assert!((bucket_quantile(0.7, &mut b) - 0.3).abs() < 1e-12);
    }

    #[test]
    fn bucket_quantile_without_inf_bucket_or_observations_is_nan() {
        assert!(bucket_quantile(0.5, &mut vec![(0.1, 1.0), (0.5, 2.0)]).is_nan());
        assert!(bucket_quantile(0.5, &mut vec![(f64::INFINITY, 3.0)]).is_nan());
        assert!(bucket_quantile(0.5, &mut vec![(1.0, 0.0), (f64::INFINITY, 0.0)]).is_nan());
    }

    #[test]
    fn quantile_sorts_nan_first_and_clamps_q() {
        assert_eq!(quantile(0.5, &mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(quantile(-1.0, &mut [1.0]), f64::NEG_INFINITY);
        assert_eq!(quantile(2.0, &mut [1.0]), f64::INFINITY);
        assert!(quantile(0.0, &mut [1.0, f64::NAN]).is_nan());
        assert_eq!(quantile(1.0, &mut [1.0, f64::NAN]), 1.0);
    }
}
