//! What range functions compute over one window of samples, transcribed from Prometheus
//! 2.42's `promql/functions.go` (same order of float operations where it matters).
use super::error::EvalError;

type Window<'w> = &'w [(i64, f64)];

/// `rate`, `increase` and `delta`: Prometheus's `extrapolatedRate`.
pub(crate) struct Extrapolation {
    pub range_start: i64,
    pub range_end: i64,
    /// The range in seconds, as Go's `Duration.Seconds()` (see [`seconds`]).
    pub range_secs: f64,
    pub is_counter: bool,
    pub is_rate: bool,
}

/// Go's `time.Duration.Seconds()` of `ms` milliseconds: whole seconds plus the fraction.
pub(crate) fn seconds(ms: i64) -> f64 {
    (ms / 1000) as f64 + ((ms % 1000) * 1_000_000) as f64 / 1e9
}

impl Extrapolation {
    /// `has_reset` says whether a counter reset lies in the window (without one the
    /// correction loop adds nothing and is skipped).
    pub fn apply(&self, w: Window, has_reset: bool) -> Option<f64> {
        if w.len() < 2 {
            return None;
        }
        let (first, last) = (w[0], w[w.len() - 1]);
        let mut result = last.1 - first.1;
        if self.is_counter && has_reset {
            let mut prev = first.1;
            for &(_, cur) in &w[1..] {
                if cur < prev {
                    result += prev;
                }
                prev = cur;
            }
        }
        let mut to_start = (first.0 - self.range_start) as f64 / 1000.0;
        let to_end = (self.range_end - last.0) as f64 / 1000.0;
        let sampled = (last.0 - first.0) as f64 / 1000.0;
        let average = sampled / (w.len() - 1) as f64;
        if self.is_counter && result > 0.0 && first.1 >= 0.0 {
            // A counter starts at zero: do not extrapolate below it.
            let to_zero = sampled * (first.1 / result);
            if to_zero < to_start {
                to_start = to_zero;
            }
        }
        let threshold = average * 1.1;
        let mut interval = sampled;
        interval += if to_start < threshold {
            to_start
        } else {
            average / 2.0
        };
        interval += if to_end < threshold {
            to_end
        } else {
            average / 2.0
        };
        let mut factor = interval / sampled;
        if self.is_rate {
            factor /= self.range_secs;
        }
        Some(result * factor)
    }
}

/// `irate` (`is_rate`) and `idelta`: from the last two samples.
pub(crate) fn instant_value(w: Window, is_rate: bool) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (prev, last) = (w[w.len() - 2], w[w.len() - 1]);
    let mut v = if is_rate && last.1 < prev.1 {
        last.1
    } else {
        last.1 - prev.1
    };
    let interval = last.0 - prev.0;
    if interval == 0 {
        return None;
    }
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

pub(crate) fn deriv(w: Window) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    // Relative to the first sample's time, for precision (prometheus#2674).
    Some(linear_regression(w, w[0].0).0)
}

pub(crate) fn predict_linear(w: Window, duration: f64, ts: i64) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(w, ts);
    Some(slope * duration + intercept)
}

fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Least squares over `(seconds since intercept_time, value)`: `(slope, intercept)`.
fn linear_regression(w: Window, intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = w[0].1;
    let mut const_y = true;
    for (i, &(t, v)) in w.iter().enumerate() {
        if const_y && i > 0 && v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (t - intercept_time) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(v, sy, cy);
        (sxy, cxy) = kahan_inc(x * v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov_xy = sxy - sx * sy / n;
    let var_x = sx2 - sx * sx / n;
    let slope = cov_xy / var_x;
    let intercept = sy / n - slope * sx / n;
    (slope, intercept)
}

pub(crate) fn resets(w: Window) -> f64 {
    let mut n = 0;
    for p in w.windows(2) {
        if p[1].1 < p[0].1 {
            n += 1;
        }
    }
    n as f64
}

pub(crate) fn changes(w: Window) -> f64 {
    let mut n = 0;
    for p in w.windows(2) {
        let (prev, cur) = (p[0].1, p[1].1);
        if cur != prev && !(cur.is_nan() && prev.is_nan()) {
            n += 1;
        }
    }
    n as f64
}

/// The running mean Prometheus uses, which keeps an infinite mean once reached.
pub(crate) fn avg(w: Window) -> f64 {
    let (mut mean, mut count) = (0.0f64, 0.0);
    for &(_, v) in w {
        count += 1.0;
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        mean += v / count - mean / count;
    }
    mean
}

/// NaN only if all are NaN (Prometheus's `min_over_time`).
pub(crate) fn min(w: Window) -> f64 {
    let mut m = w[0].1;
    for &(_, v) in w {
        if v < m || m.is_nan() {
            m = v;
        }
    }
    m
}

pub(crate) fn max(w: Window) -> f64 {
    let mut m = w[0].1;
    for &(_, v) in w {
        if v > m || m.is_nan() {
            m = v;
        }
    }
    m
}

/// Population variance, Welford's way as Prometheus.
pub(crate) fn stdvar(w: Window) -> f64 {
    let (mut aux, mut count, mut mean) = (0.0, 0.0, 0.0);
    for &(_, v) in w {
        count += 1.0;
        let delta = v - mean;
        mean += delta / count;
        aux += delta * (v - mean);
    }
    aux / count
}

/// Double exponential smoothing, as Prometheus 2.42's `holt_winters`.
pub(crate) fn holt_winters(w: Window, sf: f64, tf: f64) -> Result<Option<f64>, EvalError> {
    if sf <= 0.0 || sf >= 1.0 {
        return Err(EvalError::execution(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
        )));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(EvalError::execution(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
        )));
    }
    if w.len() < 2 {
        return Ok(None);
    }
    let (mut s0, mut s1) = (0.0, w[0].1);
    let mut b = w[1].1 - w[0].1;
    for (i, &(_, v)) in w.iter().enumerate().skip(1) {
        let x = sf * v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Ok(Some(s1))
}
