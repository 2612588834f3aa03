//! Functions of a range argument (`rate(x[5m])`, `max_over_time(y[1h:1m])`): one series at
//! a time, the window slid across the steps with two cursors, as Prometheus evaluates them
//! (the math per window is in [`super::window_math`]).
use super::ast::Expr;
use super::error::EvalError;
use super::eval::{Evaluator, Val};
use super::frame::{Frame, DUPLICATE_LABELSET};
use super::select::{absent_labels, Cursor, RangeInput};
use super::window_math as wm;
use crate::model::is_stale;
use std::collections::{HashSet, VecDeque};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RangeFn {
    Rate,
    Increase,
    Delta,
    Irate,
    Idelta,
    Deriv,
    PredictLinear,
    Resets,
    Changes,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    SumOverTime,
    CountOverTime,
    QuantileOverTime,
    StddevOverTime,
    StdvarOverTime,
    LastOverTime,
    PresentOverTime,
    AbsentOverTime,
    HoltWinters,
}

const NAMES: [(&str, RangeFn); 21] = [
    ("rate", RangeFn::Rate),
    ("increase", RangeFn::Increase),
    ("delta", RangeFn::Delta),
    ("irate", RangeFn::Irate),
    ("idelta", RangeFn::Idelta),
    ("deriv", RangeFn::Deriv),
    ("predict_linear", RangeFn::PredictLinear),
    ("resets", RangeFn::Resets),
    ("changes", RangeFn::Changes),
    ("avg_over_time", RangeFn::AvgOverTime),
    ("min_over_time", RangeFn::MinOverTime),
    ("max_over_time", RangeFn::MaxOverTime),
    ("sum_over_time", RangeFn::SumOverTime),
    ("count_over_time", RangeFn::CountOverTime),
    ("quantile_over_time", RangeFn::QuantileOverTime),
    ("stddev_over_time", RangeFn::StddevOverTime),
    ("stdvar_over_time", RangeFn::StdvarOverTime),
    ("last_over_time", RangeFn::LastOverTime),
    ("present_over_time", RangeFn::PresentOverTime),
    ("absent_over_time", RangeFn::AbsentOverTime),
    ("holt_winters", RangeFn::HoltWinters),
];

impl RangeFn {
    pub fn from_name(name: &str) -> Option<RangeFn> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("", |(n, _)| n)
    }

    fn matrix_arg(self) -> usize {
        match self {
            RangeFn::QuantileOverTime => 1,
            _ => 0,
        }
    }

    fn is_counter(self) -> bool {
        matches!(self, RangeFn::Rate | RangeFn::Increase)
    }
}

/// The scalar arguments at one step.
struct Params<'p> {
    scalars: &'p [Option<Vec<f64>>],
    step: usize,
}

impl Params<'_> {
    fn get(&self, i: usize) -> f64 {
        self.scalars[i].as_ref().map_or(f64::NAN, |v| v[self.step])
    }
}

pub(crate) fn eval(ev: &Evaluator, f: RangeFn, args: &[Expr]) -> Result<Val, EvalError> {
    let mi = f.matrix_arg();
    let scalars = args
        .iter()
        .enumerate()
        .map(|(i, a)| (i != mi).then(|| ev.eval_scalar(a)).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    let mut input = ev.range_input(&args[mi], f.name())?;
    if f == RangeFn::PredictLinear {
        // Prometheus 2.42 turns `@` into an offset from the query's start, and
        // predict_linear (which reads the evaluation time) is evaluated at every step with
        // that offset: in a range query its window moves with the steps.
        if let Some(at) = input.at.take() {
            input.offset -= at - ev.start;
        }
    }
    if f == RangeFn::AbsentOverTime {
        return Ok(Val::Vector(absent_over_time(ev, &input, &args[mi])));
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut scratch = Vec::new();
    let mut clean: Vec<(i64, f64)> = Vec::new();
    let range_secs = wm::seconds(input.range);
    // Each sample is in about range / step + 1 windows; no series has more points than steps.
    let per_sample = (input.range / ev.interval.max(1) + 1) as usize;
    for s in &input.series {
        ev.ctx.tick(ev.steps as u64)?;
        let samples = &s.samples;
        let (mut lo_cur, mut hi_cur) = (Cursor::new(samples), Cursor::new(samples));
        let mut scan = Scan::default();
        let mut pts = Vec::with_capacity(ev.steps.min(samples.len().saturating_mul(per_sample)));
        for step in 0..ev.steps {
            let ts = ev.ts(step);
            let end = input.window_end(ts);
            let start = end - input.range;
            let hi = hi_cur.past(end);
            let lo = lo_cur.at_or_after(start).min(hi);
            if lo == hi {
                continue;
            }
            let (stale, reset) = scan.window(samples, lo, hi, f.is_counter());
            let w: &[(i64, f64)] = if stale {
                clean.clear();
                clean.extend(samples[lo..hi].iter().filter(|x| !is_stale(x.1)));
                if clean.is_empty() {
                    continue;
                }
                &clean
            } else {
                &samples[lo..hi]
            };
            let p = Params {
                scalars: &scalars,
                step,
            };
            let v = match f {
                RangeFn::Rate | RangeFn::Increase | RangeFn::Delta => {
                    // Without markers the scan knows about resets; with them, look again.
                    let reset = f.is_counter() && (reset || stale);
                    let e = wm::Extrapolation {
                        range_start: start,
                        range_end: end,
                        range_secs,
                        is_counter: f.is_counter(),
                        is_rate: f == RangeFn::Rate,
                    };
                    e.apply(w, reset)
                }
                RangeFn::Irate => wm::instant_value(w, true),
                RangeFn::Idelta => wm::instant_value(w, false),
                RangeFn::Deriv => wm::deriv(w),
                RangeFn::PredictLinear => wm::predict_linear(w, p.get(1), ts),
                RangeFn::Resets => Some(wm::resets(w)),
                RangeFn::Changes => Some(wm::changes(w)),
                RangeFn::AvgOverTime => Some(wm::avg(w)),
                RangeFn::MinOverTime => Some(wm::min(w)),
                RangeFn::MaxOverTime => Some(wm::max(w)),
                RangeFn::SumOverTime => Some(w.iter().fold(0.0, |s, x| s + x.1)),
                RangeFn::CountOverTime => Some(w.len() as f64),
                RangeFn::QuantileOverTime => {
                    scratch.clear();
                    scratch.extend(w.iter().map(|x| x.1));
                    Some(super::histogram::quantile(p.get(0), &mut scratch))
                }
                RangeFn::StddevOverTime => Some(wm::stdvar(w).sqrt()),
                RangeFn::StdvarOverTime => Some(wm::stdvar(w)),
                RangeFn::LastOverTime => Some(w[w.len() - 1].1),
                RangeFn::PresentOverTime => Some(1.0),
                RangeFn::HoltWinters => wm::holt_winters(w, p.get(1), p.get(2))?,
                RangeFn::AbsentOverTime => unreachable!("handled above"),
            };
            if let Some(v) = v {
                pts.push((step as u32, v));
            }
        }
        if pts.is_empty() {
            continue;
        }
        // last_over_time acts like an offset and keeps the name; the others drop it.
        let labels = if f == RangeFn::LastOverTime {
            s.labels.clone()
        } else {
            s.labels.without_name()
        };
        if !seen.insert(labels.clone()) {
            return Err(EvalError::execution(DUPLICATE_LABELSET));
        }
        out.push((labels, pts));
    }
    Ok(Val::Vector(Frame::from_series(ev.steps, out)))
}

/// 1 at the steps where no series has a sample in its window.
fn absent_over_time(ev: &Evaluator, input: &RangeInput, arg: &Expr) -> Frame {
    let mut present = vec![false; ev.steps];
    for s in &input.series {
        let (mut lo_cur, mut hi_cur) = (Cursor::new(&s.samples), Cursor::new(&s.samples));
        let mut scan = Scan::default();
        for (step, p) in present.iter_mut().enumerate() {
            let end = input.window_end(ev.ts(step));
            let hi = hi_cur.past(end);
            let lo = lo_cur.at_or_after(end - input.range).min(hi);
            if lo < hi && !*p {
                let (stale, _) = scan.window(&s.samples, lo, hi, false);
                *p = !stale || s.samples[lo..hi].iter().any(|x| !is_stale(x.1));
            }
        }
    }
    let pts: Vec<(u32, f64)> = present
        .iter()
        .enumerate()
        .filter(|(_, p)| !**p)
        .map(|(i, _)| (i as u32, 1.0))
        .collect();
    Frame::from_series(ev.steps, vec![(absent_labels(arg), pts)])
}

/// Looks at each sample once however much the windows overlap, noting staleness markers and
/// counter resets (a sample below the one before), so a clean window costs nothing extra.
#[derive(Default)]
struct Scan {
    /// Samples before this index are looked at.
    scanned: usize,
    /// Indexes of markers not yet behind the window.
    stale: VecDeque<usize>,
    /// Indexes `i` of resets between `i - 1` and `i`, not yet behind the window.
    resets: VecDeque<usize>,
}

impl Scan {
    /// Whether the window `lo..hi` holds a staleness marker, and whether a reset lies
    /// between two of its samples (looked for only with `resets`).
    fn window(&mut self, s: &[(i64, f64)], lo: usize, hi: usize, resets: bool) -> (bool, bool) {
        for i in self.scanned.max(lo)..hi {
            let v = s[i].1;
            if is_stale(v) {
                self.stale.push_back(i);
            } else if resets && i > 0 && v < s[i - 1].1 {
                self.resets.push_back(i);
            }
        }
        self.scanned = self.scanned.max(hi);
        while self.stale.front().is_some_and(|&i| i < lo) {
            self.stale.pop_front();
        }
        while self.resets.front().is_some_and(|&i| i <= lo) {
            self.resets.pop_front();
        }
        (
            self.stale.front().is_some_and(|&i| i < hi),
            self.resets.front().is_some_and(|&i| i < hi),
        )
    }
}
