//! Label sets only: what `/api/v1/series` answers needs the series that match and have
//! samples in a range, never their samples (no chunk is decoded).
use std::collections::BTreeSet;

use super::Tsdb;
use crate::model::{Labels, Matcher, QueryError};

impl Tsdb {
    /// The label sets of the series matching all `matchers` with samples in `mint..=maxt`,
    /// sorted and unique; at most the configured query series limit.
    pub fn series_labels(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, QueryError> {
        let mut out = BTreeSet::new();
        for (id, labels) in self.head.matching(matchers) {
            if self.head.overlaps(id, mint, maxt) {
                out.insert(labels);
            }
        }
        self.check_series(out.len())?;
        let blocks = self.blocks.read().expect("blocks lock").clone();
        for b in blocks
            .iter()
            .filter(|b| b.meta.maxt >= mint && b.meta.mint <= maxt)
        {
            for i in b.matching(matchers) {
                if b.overlaps(i, mint, maxt) {
                    out.insert(b.labels(i));
                }
            }
            self.check_series(out.len())?;
        }
        Ok(out.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{fill, series, DAY, T0};
    use super::super::{Options, Tsdb};
    use crate::model::{Matcher, Queryable};

    #[test]
    fn label_sets_come_without_reading_samples() {
        let dir = tempfile::tempdir().unwrap();
        let db = Tsdb::open(
            dir.path(),
            Options {
                max_query_samples: 50,
                ..Options::default()
            },
        )
        .unwrap();
        let a = series("up", &[("project", "shop")]);
        let b = series("up", &[("project", "blog")]);
        let c = series("other", &[("project", "shop")]);
        fill(&db, &[a.clone(), b.clone(), c], T0, 100, |_, i| i as f64);
        db.maintain(T0 + DAY).unwrap();
        fill(&db, std::slice::from_ref(&a), T0 + DAY, 10, |_, i| i as f64);
        let up = [Matcher::equal("__name__", "up")];
        // Reading the samples is over the limit; the label sets are not.
        assert!(db.select(&up, T0, T0 + 2 * DAY).is_err());
        let found = db.series_labels(&up, T0, T0 + 2 * DAY).unwrap();
        assert_eq!(found, vec![b.clone(), a.clone()]);
        // Only series with samples in the range.
        let later = db.series_labels(&up, T0 + DAY, T0 + 2 * DAY).unwrap();
        assert_eq!(later, vec![a]);
        assert!(db.series_labels(&up, 0, T0 - 1).unwrap().is_empty());
    }

    #[test]
    fn the_series_limit_applies() {
        let dir = tempfile::tempdir().unwrap();
        let db = Tsdb::open(
            dir.path(),
            Options {
                max_query_series: 2,
                ..Options::default()
            },
        )
        .unwrap();
        let list: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|p| series("up", &[("project", p)]))
            .collect();
        fill(&db, &list, T0, 3, |_, i| i as f64);
        let up = [Matcher::equal("__name__", "up")];
        assert!(db.series_labels(&up, T0, T0 + DAY).is_err());
    }
}

/// `cargo test -p metrics --release --lib series_labels_timing -- --ignored --nocapture`:
/// label sets against full selections on 10,000 series of 1,000 samples.
#[cfg(test)]
#[test]
#[ignore]
fn series_labels_timing() {
    use super::tests::{fill, series, T0};
    use crate::model::{Matcher, Queryable};
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), super::Options::default()).unwrap();
    let labels: Vec<_> = (0..10_000)
        .map(|i| series("x", &[("i", &i.to_string())]))
        .collect();
    fill(&db, &labels, T0, 1_000, |s, i| (s + i) as f64);
    let m = [Matcher::equal("__name__", "x")];
    let end = T0 + 1_000 * 15_000;
    for _ in 0..2 {
        let t = std::time::Instant::now();
        let n = db.select(&m, T0, end).unwrap().len();
        let select = t.elapsed();
        let t = std::time::Instant::now();
        let k = db.series_labels(&m, T0, end).unwrap().len();
        let only = t.elapsed();
        eprintln!("{n} series: select {select:?}, series_labels {only:?} ({k})");
    }
}
