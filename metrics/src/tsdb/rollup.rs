//! Rollups: the last sample of every bucket (5 minutes by default), kept longer than raw
//! samples and read for queries with a large step.
//!
//! Why the last sample: a counter's last value per bucket keeps `rate()`/`increase()` over
//! windows of several buckets close to the raw answer (the increase between two bucket ends
//! is exact; only the partial buckets at a window's edges are approximated), and a reset
//! shows up as a drop between consecutive rollup points, which `rate()` still detects. What
//! is lost: resets followed by a climb back above the previous value within one bucket,
//! and for gauges anything between bucket ends (`max_over_time` of a spike). Staleness
//! markers are kept when they are a bucket's last sample, so ended series still end.

/// The last sample of each `res`-wide bucket (buckets aligned to multiples of `res`).
pub fn last_per_bucket(samples: &[(i64, f64)], res: i64) -> Vec<(i64, f64)> {
    let mut out: Vec<(i64, f64)> = Vec::with_capacity(samples.len() / 8 + 1);
    let mut bucket = None;
    for &(t, v) in samples {
        let b = t.div_euclid(res);
        if bucket == Some(b) {
            *out.last_mut().expect("bucket started") = (t, v);
        } else {
            bucket = Some(b);
            out.push((t, v));
        }
    }
    out
}

/// Sorts samples by time keeping the first of equal times (inputs are already sorted
/// unless sources overlapped).
pub fn normalize(samples: &mut Vec<(i64, f64)>) {
    if samples.windows(2).all(|w| w[0].0 < w[1].0) {
        return;
    }
    samples.sort_by_key(|s| s.0);
    samples.dedup_by_key(|s| s.0);
}
