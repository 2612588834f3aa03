//! Reading samples: one `select` per selector for the whole evaluation, then instant
//! selectors (the latest sample within the lookback, none if it is a staleness marker) and
//! range windows (`[t - range, t]`, closed at both ends as in Prometheus 2.x, staleness
//! markers dropped; see [`super::range_fns`]) slid over the sorted samples with cursors.
use super::ast::{Expr, MatrixSelector, Selector};
use super::error::EvalError;
use super::eval::Evaluator;
use super::frame::Frame;
use super::SelectHints;
use crate::model::{is_stale, Labels, Series};

/// The series of a range argument (a range selector or a subquery) and how to window them.
pub(crate) struct RangeInput {
    /// Staleness markers included (a range selector's); windows skip them.
    pub series: Vec<Series>,
    pub range: i64,
    pub offset: i64,
    /// A window fixed by `@`.
    pub at: Option<i64>,
}

impl RangeInput {
    /// The end of the window at evaluation time `ts`.
    pub fn window_end(&self, ts: i64) -> i64 {
        self.at.unwrap_or(ts) - self.offset
    }
}

impl<'a> Evaluator<'a> {
    fn select_for(
        &self,
        sel: &Selector,
        range: i64,
        func: Option<&'static str>,
    ) -> Result<Vec<Series>, EvalError> {
        let (first, last) = self.eval_times(sel.at);
        let back = if range > 0 {
            range
        } else {
            self.ctx.opts.lookback_delta_ms
        };
        let hints = SelectHints {
            start_ms: first,
            end_ms: last,
            step_ms: self.interval,
            range_ms: range,
            func,
        };
        self.ctx.select(
            &sel.matchers,
            first - sel.offset - back,
            last - sel.offset,
            &hints,
        )
    }

    /// An instant selector at every step. With `timestamps`, each value is the time of the
    /// sample chosen, in seconds (what `timestamp()` reports for a selector).
    pub fn vector_selector(&self, sel: &Selector, timestamps: bool) -> Result<Frame, EvalError> {
        let func = timestamps.then_some("timestamp");
        let series = self.select_for(sel, 0, func)?;
        let fixed = sel.at.map(|a| self.ctx.resolve(a));
        let lookback = self.ctx.opts.lookback_delta_ms;
        let mut out = Vec::with_capacity(series.len());
        // A sample is seen at most lookback / step + 1 times; a series has at most a point a step.
        let per_sample = (lookback / self.interval.max(1) + 1) as usize;
        for s in series {
            self.ctx.tick(self.steps as u64)?;
            let samples = &s.samples;
            let mut cur = Cursor::new(samples);
            let mut pts =
                Vec::with_capacity(self.steps.min(samples.len().saturating_mul(per_sample)));
            for step in 0..self.steps {
                let reft = fixed.unwrap_or_else(|| self.ts(step)) - sel.offset;
                let next = cur.past(reft);
                if next == 0 {
                    continue;
                }
                let (t, v) = samples[next - 1];
                if t < reft - lookback || is_stale(v) {
                    continue;
                }
                pts.push((step as u32, if timestamps { t as f64 / 1000.0 } else { v }));
            }
            if !pts.is_empty() {
                out.push((s.labels, pts));
            }
        }
        Ok(Frame::from_series(self.steps, out))
    }

    /// A range selector at the top of an instant query: its raw samples.
    pub fn matrix_selector_raw(&self, m: &MatrixSelector) -> Result<Vec<Series>, EvalError> {
        let input = self.matrix_input(m, None)?;
        let end = input.window_end(self.start);
        let start = end - input.range;
        Ok(input
            .series
            .into_iter()
            .filter_map(|s| {
                let (lo, hi) = window(&s.samples, start, end);
                let samples: Vec<(i64, f64)> = s.samples[lo..hi]
                    .iter()
                    .filter(|(_, v)| !is_stale(*v))
                    .copied()
                    .collect();
                (!samples.is_empty()).then_some(Series {
                    labels: s.labels,
                    samples,
                })
            })
            .collect())
    }

    fn matrix_input(
        &self,
        m: &MatrixSelector,
        func: Option<&'static str>,
    ) -> Result<RangeInput, EvalError> {
        let series = self.select_for(&m.sel, m.range, func)?;
        Ok(RangeInput {
            series,
            range: m.range,
            offset: m.sel.offset,
            at: m.sel.at.map(|a| self.ctx.resolve(a)),
        })
    }

    /// The series of a function's range argument: a range selector or a subquery.
    pub fn range_input(&self, e: &Expr, func: &'static str) -> Result<RangeInput, EvalError> {
        match e {
            Expr::Matrix(m) => self.matrix_input(m, Some(func)),
            Expr::Subquery(s) => Ok(RangeInput {
                series: self.subquery(s)?,
                range: s.range,
                offset: s.offset,
                at: s.at.map(|a| self.ctx.resolve(a)),
            }),
            _ => Err(EvalError::execution(format!(
                "expected a range vector in call to function \"{func}\""
            ))),
        }
    }
}

/// The first index at or after `from` whose time is after `t` (samples ascending by time),
/// found by galloping: steps usually skip a few samples, sometimes many.
fn advance_past(samples: &[(i64, f64)], from: usize, t: i64) -> usize {
    let n = samples.len();
    if from >= n || samples[from].0 > t {
        return from;
    }
    let mut lo = from; // samples[lo].0 <= t
    let mut jump = 1;
    loop {
        let hi = lo + jump;
        if hi >= n || samples[hi].0 > t {
            let hi = hi.min(n);
            return lo + 1 + samples[lo + 1..hi].partition_point(|s| s.0 <= t);
        }
        lo = hi;
        jump *= 2;
    }
}

/// A position in one series' samples that only moves forward. Scrapes are regular, so it
/// jumps to where the average gap puts the time asked for and corrects from there, which
/// costs a probe or two where a search would cost a handful of unpredictable branches.
pub(crate) struct Cursor<'a> {
    samples: &'a [(i64, f64)],
    pos: usize,
    /// The first sample's time.
    t0: i64,
    /// Samples per millisecond on average.
    per_ms: f64,
    /// How far the last answer was from the estimate (gaps shift what follows).
    bias: i64,
}

impl<'a> Cursor<'a> {
    pub fn new(samples: &'a [(i64, f64)]) -> Cursor<'a> {
        let per_ms = match (samples.first(), samples.last()) {
            (Some(a), Some(b)) if b.0 > a.0 => (samples.len() - 1) as f64 / (b.0 - a.0) as f64,
            _ => 0.0,
        };
        Cursor {
            samples,
            pos: 0,
            t0: samples.first().map_or(0, |s| s.0),
            per_ms,
            bias: 0,
        }
    }

    /// Moves to the first sample after `t` (never back) and returns its index.
    pub fn past(&mut self, t: i64) -> usize {
        let s = self.samples;
        let from = self.pos;
        if from >= s.len() || s[from].0 > t {
            return from;
        }
        // Estimated from the time alone (not from the samples read last), so the reads of
        // successive steps do not wait on each other.
        let estimate = ((t - self.t0) as f64 * self.per_ms) as i64 + 1;
        let g = (estimate + self.bias).clamp(from as i64 + 1, s.len() as i64) as usize;
        let found = if g < s.len() && s[g].0 <= t {
            advance_past(s, g, t)
        } else {
            // The answer is in from + 1 ..= g: usually g itself or just before.
            let floor = from + 1;
            let mut i = g;
            let mut probes = 0;
            while i > floor && s[i - 1].0 > t && probes < 4 {
                i -= 1;
                probes += 1;
            }
            if i > floor && s[i - 1].0 > t {
                i = floor + s[floor..i].partition_point(|x| x.0 <= t);
            }
            i
        };
        self.bias = found as i64 - estimate;
        self.pos = found;
        found
    }

    /// Moves to the first sample at or after `t` and returns its index.
    pub fn at_or_after(&mut self, t: i64) -> usize {
        self.past(t - 1)
    }
}

/// The indexes `lo..hi` of the samples in `[start, end]`.
pub(crate) fn window(samples: &[(i64, f64)], start: i64, end: i64) -> (usize, usize) {
    let lo = samples.partition_point(|s| s.0 < start);
    let hi = samples.partition_point(|s| s.0 <= end);
    (lo, hi.max(lo))
}

/// The labels `absent()` and `absent_over_time()` report: the equality matchers of a
/// selector argument, except the metric name and names matched more than once or otherwise.
pub(crate) fn absent_labels(arg: &Expr) -> Labels {
    let matchers = match arg {
        Expr::Vector(s) => &s.matchers,
        Expr::Matrix(m) => &m.sel.matchers,
        _ => return Labels::default(),
    };
    let mut set: Vec<(&str, &str)> = Vec::new();
    let mut drop: Vec<&str> = Vec::new();
    for m in matchers {
        if m.name == crate::model::METRIC_NAME {
            continue;
        }
        let equal = matches!(m.op, crate::model::MatchOp::Equal);
        if equal && !set.iter().any(|(n, v)| *n == m.name && !v.is_empty()) {
            set.push((&m.name, &m.value));
        } else {
            drop.push(&m.name);
        }
    }
    set.retain(|(n, _)| !drop.contains(n));
    Labels::new(set)
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn a_cursor_finds_what_a_search_finds_on_regular_and_irregular_series() {
        let regular: Vec<(i64, f64)> = (0..500).map(|i| (i * 15_000, 0.0)).collect();
        let mut x = 7u64;
        let mut t = 0;
        let irregular: Vec<(i64, f64)> = (0..500)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                t += if x >> 60 == 0 {
                    900_000
                } else {
                    (x >> 40) as i64 % 20_000 + 1
                };
                (t, 0.0)
            })
            .collect();
        for samples in [&regular, &irregular] {
            for step in [1_000, 15_000, 236_000, 3_600_000] {
                let (mut past, mut at) = (Cursor::new(samples), Cursor::new(samples));
                for q in (-20_000..samples[499].0 + 20_000).step_by(step as usize) {
                    assert_eq!(past.past(q), samples.partition_point(|s| s.0 <= q));
                    assert_eq!(at.at_or_after(q), samples.partition_point(|s| s.0 < q));
                }
            }
        }
    }
}
