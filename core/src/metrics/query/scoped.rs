//! The storage as one caller may see it: every selection carries the caller's `project`
//! matchers, on the embedded storage and on every remote store read with it.
//!
//! How local and remote answers combine: the union of their series; a series both hold (the
//! same label set: an environment that remote-writes to the store it reads from) has its
//! samples merged by time, the embedded storage's sample winning where both have one. So the
//! store fills what local retention removed, and a sample both hold counts once. While an
//! environment reads remotely, local selections read raw samples (not rollups), so both sides
//! hold the same kind of points. A store that fails fails the query (`unavailable`): an
//! answer from half the data would be a wrong number.
use super::remote_read::{self, RemoteEnv};
use ::metrics::model::{Labels, Matcher, QueryError, Queryable, Series};
use ::metrics::promql::{HintedQueryable, SelectHints};
use ::metrics::remote::read::{ReadHints, ReadQuery};
use ::metrics::tsdb::{Tsdb, Windows};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The resolution of the storage's rollups.
const ROLLUP_MS: i64 = 5 * 60 * 1000;

/// The storage (and remote stores) as the caller may see it.
pub struct Scoped {
    pub tsdb: Arc<Tsdb>,
    pub enforced: Vec<Matcher>,
    pub remotes: Vec<RemoteEnv>,
    /// Where remote reads run (the caller is a blocking thread).
    pub rt: tokio::runtime::Handle,
    /// When the query must be done; remote reads get what is left.
    pub deadline: Instant,
    /// Why a remote store failed, for the answer's error type.
    pub remote_error: Arc<Mutex<Option<String>>>,
    /// Where the remote stores' addresses may lead (see [`crate::metrics::outbound`]).
    pub outbound: crate::metrics::outbound::Policy,
}

impl Scoped {
    fn with(&self, matchers: &[Matcher]) -> Vec<Matcher> {
        matchers.iter().chain(&self.enforced).cloned().collect()
    }

    /// The series every remote store holds for these matchers (the caller's and each
    /// environment's added), merged. `labels_only` asks the store for label sets (Prometheus's
    /// `series` hint: no chunk is read); a store that ignores the hint answers samples too.
    fn remote(
        &self,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
        labels_only: bool,
    ) -> Result<Vec<Series>, QueryError> {
        // Per store: the queries sent, and for each the matchers its answer must meet.
        type Asked = (Vec<ReadQuery>, Vec<Vec<Matcher>>);
        let mut by_url: BTreeMap<&str, Asked> = BTreeMap::new();
        for r in &self.remotes {
            // An environment whose own labels the selection cannot match is not asked: its
            // store would answer nothing (or only what it has no business answering), and a
            // store that is down or slow must not hold up queries about other projects.
            let own: Labels =
                Labels::new(r.matchers.iter().map(|x| (x.name.clone(), x.value.clone())));
            if m.iter()
                .filter(|x| own.get(&x.name).is_some())
                .any(|x| !x.matches_labels(&own))
            {
                continue;
            }
            // The store gets the caller's matchers and the environment's, not the list of
            // every project the caller may read.
            let matchers: Vec<Matcher> = m.iter().chain(&r.matchers).cloned().collect();
            let entry = by_url.entry(&r.url).or_default();
            entry.0.push(ReadQuery {
                start_ms: mint,
                end_ms: maxt,
                matchers: matchers.clone(),
                hints: labels_only.then(|| ReadHints {
                    start_ms: mint,
                    end_ms: maxt,
                    func: "series".into(),
                    ..ReadHints::default()
                }),
            });
            entry
                .1
                .push(matchers.into_iter().chain(self.enforced.clone()).collect());
        }
        let mut out = Vec::new();
        for (url, (queries, wanted)) in by_url {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let got = self
                .rt
                .block_on(remote_read::fetch(url, &queries, left, self.outbound))
                .map_err(|e| {
                    let msg = e.to_string();
                    *self.remote_error.lock().expect("remote error") = Some(msg.clone());
                    QueryError::Storage(msg)
                })?;
            for (mut series, want) in got.into_iter().zip(&wanted) {
                // A store answers for the environment it was asked about, and nothing else: a
                // series with another project's or environment's labels (a hostile or shared
                // store) is dropped, never merged into that project's series.
                series.retain(|s| want.iter().all(|x| x.matches_labels(&s.labels)));
                for s in &mut series {
                    // In time order, one sample per time, within the range: the evaluator
                    // relies on it and a store's answer is not trusted to.
                    s.samples.retain(|(t, _)| *t >= mint && *t <= maxt);
                    s.samples.sort_by_key(|(t, _)| *t);
                    s.samples.dedup_by_key(|(t, _)| *t);
                }
                series.retain(|s| labels_only || !s.samples.is_empty());
                out = merge(out, series);
            }
        }
        Ok(out)
    }

    /// The label sets of the series matching `m` with samples in the range, local and
    /// remote: for `/api/v1/series`, `labels` and label values.
    pub fn series_labels(
        &self,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, QueryError> {
        let mut out = self.tsdb.series_labels(&self.with(m), mint, maxt)?;
        if !self.remotes.is_empty() {
            out.extend(
                self.remote(m, mint, maxt, true)?
                    .into_iter()
                    .map(|s| s.labels),
            );
            out.sort();
            out.dedup();
        }
        Ok(out)
    }

    fn select_step(
        &self,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
        step: i64,
        windows: Option<Windows>,
    ) -> Result<Vec<Series>, QueryError> {
        let local = |step| {
            self.tsdb
                .select_windows(&self.with(m), mint, maxt, step, windows)
        };
        if self.remotes.is_empty() {
            return local(step);
        }
        let local = local(0)?;
        Ok(merge(local, self.remote(m, mint, maxt, false)?))
    }
}

/// The union of two sets of series; a label set in both has its samples merged by time,
/// `first`'s winning at equal times. Sorted by labels.
pub fn merge(first: Vec<Series>, second: Vec<Series>) -> Vec<Series> {
    let mut by: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
    for s in first.into_iter().chain(second) {
        match by.get_mut(&s.labels) {
            Some(samples) => {
                samples.extend(s.samples);
                // Stable: at equal times the sample that came first stays first.
                samples.sort_by_key(|(t, _)| *t);
                samples.dedup_by_key(|(t, _)| *t);
            }
            None => {
                by.insert(s.labels, s.samples);
            }
        }
    }
    by.into_iter()
        .map(|(labels, samples)| Series { labels, samples })
        .collect()
}

impl HintedQueryable for Scoped {
    fn select_hinted(
        &self,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
        hints: &SelectHints,
    ) -> Result<Vec<Series>, QueryError> {
        // The storage may answer a coarse step from its 5-minute rollups; a range selector
        // then needs room for two of them, else it reads raw samples.
        let coarse = hints.range_ms == 0 || hints.range_ms >= 2 * ROLLUP_MS;
        let step = if coarse { hints.step_ms } else { 0 };
        let windows = Windows::from_hints(mint, maxt, hints);
        self.select_step(m, mint, maxt, step, windows)
    }
}

impl Queryable for Scoped {
    fn select(&self, m: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, QueryError> {
        self.select_step(m, mint, maxt, 0, None)
    }

    fn label_names(&self, m: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<String>, QueryError> {
        let mut names = self.tsdb.label_names(&self.with(m), mint, maxt)?;
        if !self.remotes.is_empty() {
            for s in self.remote(m, mint, maxt, true)? {
                names.extend(s.labels.iter().map(|l| l.name.to_string()));
            }
            names.sort();
            names.dedup();
        }
        Ok(names)
    }

    fn label_values(
        &self,
        name: &str,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, QueryError> {
        let mut values = self.tsdb.label_values(name, &self.with(m), mint, maxt)?;
        if !self.remotes.is_empty() {
            for s in self.remote(m, mint, maxt, true)? {
                values.extend(s.labels.get(name).map(str::to_string));
            }
            values.sort();
            values.dedup();
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, samples: &[(i64, f64)]) -> Series {
        Series {
            labels: Labels::new([("__name__", name)]),
            samples: samples.to_vec(),
        }
    }

    #[test]
    fn merged_series_keep_the_first_sample_at_equal_times() {
        let out = merge(
            vec![s("b", &[(2, 20.0), (4, 40.0)]), s("a", &[(1, 1.0)])],
            vec![
                s("b", &[(1, 1.0), (2, 99.0), (3, 3.0)]),
                s("c", &[(5, 5.0)]),
            ],
        );
        assert_eq!(
            out,
            vec![
                s("a", &[(1, 1.0)]),
                s("b", &[(1, 1.0), (2, 20.0), (3, 3.0), (4, 40.0)]),
                s("c", &[(5, 5.0)]),
            ]
        );
    }
}
