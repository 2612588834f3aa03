//! An instant vector at every step of an evaluation: one table of label sets and the
//! samples, by series or by step. Step-wise operators walk it one step at a time as
//! Prometheus's `rangeEval` does, but label work (signatures, groups, output labels) happens
//! once per series instead of once per sample.
use super::error::EvalError;
use crate::model::{Labels, Series};
use std::cell::OnceCell;
use std::collections::HashMap;

/// Points per series: `(step, value)`, ascending steps.
pub(crate) type Points = Vec<(u32, f64)>;

/// The same samples laid out step by step.
#[derive(Clone, Debug, Default)]
struct ByStep {
    /// `steps + 1` offsets into `ids`/`vals`.
    offsets: Vec<usize>,
    ids: Vec<u32>,
    vals: Vec<f64>,
}

/// Samples in either layout, the other made on first use: selectors and range functions
/// produce series by series, most operators read step by step, and the answer is series
/// by series again, so a query that never needs steps never transposes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Frame {
    pub labels: Vec<Labels>,
    steps: usize,
    by_series: OnceCell<Vec<Points>>,
    by_step: OnceCell<ByStep>,
}

impl Frame {
    /// From series-major points; series without points are left out.
    pub fn from_series(steps: usize, series: Vec<(Labels, Points)>) -> Frame {
        let (labels, points): (Vec<Labels>, Vec<Points>) =
            series.into_iter().filter(|(_, p)| !p.is_empty()).unzip();
        Frame {
            labels,
            steps,
            by_series: OnceCell::from(points),
            by_step: OnceCell::new(),
        }
    }

    /// The samples present at `step`, in series order (or as a step-wise operator produced
    /// them).
    pub fn at(&self, step: usize) -> (&[u32], &[f64]) {
        let b = self.by_step.get_or_init(|| self.transpose_to_steps());
        let (a, e) = (b.offsets[step], b.offsets[step + 1]);
        (&b.ids[a..e], &b.vals[a..e])
    }

    /// Each series' points, indexed like `labels`.
    pub fn series_points(&self) -> &[Points] {
        self.by_series.get_or_init(|| self.transpose_to_series())
    }

    /// Whether the samples are at hand series by series (no transposing to read them so).
    pub fn is_by_series(&self) -> bool {
        self.by_series.get().is_some()
    }

    /// How many samples the frame holds.
    pub fn len(&self) -> usize {
        match (self.by_series.get(), self.by_step.get()) {
            (Some(s), _) => s.iter().map(Vec::len).sum(),
            (None, Some(b)) => b.ids.len(),
            (None, None) => 0,
        }
    }

    fn transpose_to_steps(&self) -> ByStep {
        let series = self.by_series.get().map_or(&[][..], Vec::as_slice);
        let mut offsets = vec![0usize; self.steps + 1];
        for pts in series {
            for (s, _) in pts {
                offsets[*s as usize + 1] += 1;
            }
        }
        for i in 1..=self.steps {
            offsets[i] += offsets[i - 1];
        }
        let total = offsets[self.steps];
        let mut fill = offsets.clone();
        let mut ids = vec![0u32; total];
        let mut vals = vec![0f64; total];
        for (id, pts) in series.iter().enumerate() {
            for (s, v) in pts {
                let at = &mut fill[*s as usize];
                ids[*at] = id as u32;
                vals[*at] = *v;
                *at += 1;
            }
        }
        ByStep { offsets, ids, vals }
    }

    fn transpose_to_series(&self) -> Vec<Points> {
        let mut points: Vec<Points> = vec![Vec::new(); self.labels.len()];
        if let Some(b) = self.by_step.get() {
            for step in 0..self.steps {
                for i in b.offsets[step]..b.offsets[step + 1] {
                    points[b.ids[i] as usize].push((step as u32, b.vals[i]));
                }
            }
        }
        points
    }

    /// Series-major: each series with its `(t, value)` points; series without points left
    /// out, in table order.
    pub fn into_series(mut self, start: i64, interval: i64) -> Vec<Series> {
        let points = match self.by_series.take() {
            Some(p) => p,
            None => self.transpose_to_series(),
        };
        self.labels
            .into_iter()
            .zip(points)
            .filter(|(_, p)| !p.is_empty())
            .map(|(labels, pts)| Series {
                labels,
                samples: pts
                    .into_iter()
                    .map(|(s, v)| (start + i64::from(s) * interval, v))
                    .collect(),
            })
            .collect()
    }

    /// A one-step frame repeated at every one of `steps` steps.
    pub fn repeat(self, steps: usize) -> Frame {
        debug_assert_eq!(self.steps, 1);
        let points: Vec<Points> = self
            .series_points()
            .iter()
            .map(|p| match p.first() {
                Some((_, v)) => (0..steps as u32).map(|s| (s, *v)).collect(),
                None => Vec::new(),
            })
            .collect();
        Frame {
            labels: self.labels,
            steps,
            by_series: OnceCell::from(points),
            by_step: OnceCell::new(),
        }
    }
}

/// Builds a [`Frame`] step by step, interning output label sets and refusing a step that
/// holds one label set twice, as Prometheus's `rangeEval` does.
pub(crate) struct FrameBuilder {
    labels: Vec<Labels>,
    index: HashMap<Labels, u32>,
    offsets: Vec<usize>,
    ids: Vec<u32>,
    vals: Vec<f64>,
    /// Per id, 1 + the step it was last pushed at.
    seen: Vec<u32>,
}

pub(crate) const DUPLICATE_LABELSET: &str = "vector cannot contain metrics with the same labelset";

impl FrameBuilder {
    pub fn new(steps: usize) -> FrameBuilder {
        let mut offsets = Vec::with_capacity(steps + 1);
        offsets.push(0);
        FrameBuilder {
            labels: Vec::new(),
            index: HashMap::new(),
            offsets,
            ids: Vec::new(),
            vals: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// The id of `labels`, added on first sight.
    pub fn intern(&mut self, labels: Labels) -> u32 {
        if let Some(id) = self.index.get(&labels) {
            return *id;
        }
        let id = self.labels.len() as u32;
        self.index.insert(labels.clone(), id);
        self.labels.push(labels);
        self.seen.push(0);
        id
    }

    /// Adds a sample at the current step.
    pub fn push(&mut self, id: u32, v: f64) -> Result<(), EvalError> {
        let step = self.offsets.len() as u32;
        let seen = &mut self.seen[id as usize];
        if *seen == step {
            return Err(EvalError::execution(DUPLICATE_LABELSET));
        }
        *seen = step;
        self.ids.push(id);
        self.vals.push(v);
        Ok(())
    }

    pub fn end_step(&mut self) {
        self.offsets.push(self.ids.len());
    }

    pub fn finish(self) -> Frame {
        Frame {
            labels: self.labels,
            steps: self.offsets.len() - 1,
            by_series: OnceCell::new(),
            by_step: OnceCell::from(ByStep {
                offsets: self.offsets,
                ids: self.ids,
                vals: self.vals,
            }),
        }
    }
}

/// Labels as Prometheus's `labels.Labels.String()` prints them in error messages:
/// `{__name__="up", job="a"}`.
pub(crate) fn go_labels(l: &Labels) -> String {
    let mut s = String::from("{");
    for (i, label) in l.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&label.name);
        s.push('=');
        s.push_str(&format!("{:?}", &*label.value));
    }
    s.push('}');
    s
}
