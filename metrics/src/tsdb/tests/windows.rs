//! Reading only the samples in the evaluation's windows changes no answer: every expression
//! evaluated with hints (windows) and without (everything in range) agrees bit for bit, on
//! samples in blocks, in the head and across both.
use super::{same_bits, series, Rng, HOUR, MIN, T0};
use crate::model::{stale_nan, Matcher, Queryable};
use crate::promql::{parse, Engine, HintedQueryable, SelectHints};
use crate::tsdb::{Options, Tsdb, Windows};

/// 14 h of two counters (resets, a gap, jittered scrapes) and a gauge that goes stale for a
/// while; blocks for the first 12 h, the rest in the head. Rollups are never read (they
/// answer large steps differently by design, see `retention.rs`).
fn filled(dir: &std::path::Path) -> Tsdb {
    let opts = Options {
        rollup_min_step_ms: i64::MAX,
        ..Options::default()
    };
    let db = Tsdb::open(dir, opts).unwrap();
    let labels = [
        series("c_total", &[("i", "a")]),
        series("c_total", &[("i", "b")]),
        series("g", &[]),
    ];
    let refs: Vec<_> = labels.iter().map(|l| db.series_ref(l).unwrap()).collect();
    let mut rng = Rng::new(7);
    let (mut a, mut b) = (0.0, 0.0);
    for i in 0..14 * 240 {
        let t = T0 + i * 15_000 + rng.below(40) as i64;
        if (1_000..1_060).contains(&i) {
            continue; // a target down for 15 minutes
        }
        a = if rng.below(400) == 0 {
            0.0
        } else {
            a + rng.below(30) as f64
        };
        b += rng.below(3) as f64;
        let g = if (2_000..2_100).contains(&i) {
            stale_nan()
        } else {
            (rng.below(1_000) as f64) / 8.0
        };
        let batch = [(refs[0], t, a), (refs[1], t, b), (refs[2], t, g)];
        db.append(&batch).unwrap();
        if i % 240 == 0 {
            db.maintain(t).unwrap();
        }
    }
    db
}

/// Storage seen without hints: every sample in the range.
struct Plain<'a>(&'a Tsdb);

impl Queryable for Plain<'_> {
    fn select(
        &self,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<crate::model::Series>, crate::model::QueryError> {
        self.0.select(m, mint, maxt)
    }
    fn label_names(
        &self,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, crate::model::QueryError> {
        self.0.label_names(m, mint, maxt)
    }
    fn label_values(
        &self,
        n: &str,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, crate::model::QueryError> {
        self.0.label_values(n, m, mint, maxt)
    }
}

#[test]
fn answers_with_windows_are_the_answers_without() {
    let dir = tempfile::tempdir().unwrap();
    let db = filled(dir.path());
    assert!(db.stats().raw_blocks > 0, "some samples are in blocks");
    let engine = Engine::default();
    let exprs = [
        "rate(c_total[1m])",
        "increase(c_total[5m] offset 7m)",
        "irate(c_total[90s])",
        "sum by (i) (rate(c_total[2m]))",
        "resets(c_total[4m]) + changes(g[4m])",
        "max_over_time(g[3m]) - min_over_time(g[30s])",
        "g",
        "timestamp(g)",
        "g offset 13m",
        "rate(c_total[1m] @ 1699950000)",
        "count_over_time(g[45s])",
        "max_over_time(rate(c_total[1m])[20m:2m])",
        "absent_over_time(g[1m])",
    ];
    let mut checked_gaps = 0;
    for step in [15_000, 37_000, 10 * MIN, 43 * MIN + 12_000, 2 * HOUR] {
        for (start, end) in [
            (T0 + 3 * MIN, T0 + 14 * HOUR),
            (T0 + 5 * HOUR + 1, T0 + 13 * HOUR + 29_000),
            (T0 + 11 * HOUR, T0 + 14 * HOUR + 10 * MIN),
        ] {
            for e in exprs {
                let parsed = parse(e).unwrap();
                let hinted = engine.range_parsed(&db, &parsed, start, end, step).unwrap();
                let plain = engine.range(&Plain(&db), e, start, end, step).unwrap();
                assert_eq!(hinted.len(), plain.len(), "{e} step {step}");
                for (h, p) in hinted.iter().zip(&plain) {
                    assert_eq!(h.labels, p.labels);
                    assert!(
                        same_bits(&h.samples, &p.samples),
                        "{e} step {step} from {start}: {:?} vs {:?}",
                        h.samples,
                        p.samples
                    );
                }
                checked_gaps += (step > 5 * MIN) as usize;
            }
            let t = end - 17_000;
            for e in exprs {
                let parsed = parse(e).unwrap();
                let hinted = engine.instant_parsed(&db, &parsed, t).unwrap();
                assert_eq!(hinted, engine.instant(&Plain(&db), e, t).unwrap(), "{e}");
            }
        }
    }
    assert!(checked_gaps > 0);
}

#[test]
fn a_windowed_selection_holds_only_samples_in_windows() {
    let dir = tempfile::tempdir().unwrap();
    let db = filled(dir.path());
    let m = [Matcher::equal("__name__", "c_total")];
    let (start, end, step, range) = (T0 + HOUR, T0 + 14 * HOUR, 30 * MIN, 2 * MIN);
    let hints = SelectHints {
        start_ms: start,
        end_ms: end,
        step_ms: step,
        range_ms: range,
        func: Some("rate"),
    };
    let windows = Windows::from_hints(start - range, end, &hints).unwrap();
    let all = db.select(&m, start - range, end).unwrap();
    let some = HintedQueryable::select_hinted(&db, &m, start - range, end, &hints).unwrap();
    assert_eq!(all.len(), some.len());
    for (a, s) in all.iter().zip(&some) {
        let inside: Vec<_> = a
            .samples
            .iter()
            .copied()
            .filter(|(t, _)| windows.contains(*t))
            .collect();
        assert!(same_bits(&s.samples, &inside));
        assert!(
            s.samples.len() * 10 < a.samples.len(),
            "{}",
            s.samples.len()
        );
    }
}

#[test]
fn blocks_written_before_restart_points_read_the_same() {
    use crate::tsdb::block_writer::WRITE_PLAIN;
    let (old_dir, new_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    WRITE_PLAIN.with(|p| p.set(true));
    let old = filled(old_dir.path());
    WRITE_PLAIN.with(|p| p.set(false));
    let new = filled(new_dir.path());
    let magics = |dir: &std::path::Path| -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir.join("blocks")).unwrap() {
            let chunks = e.unwrap().path().join("chunks");
            if let Ok(b) = std::fs::read(chunks) {
                out.push(b[..4].to_vec());
            }
        }
        out
    };
    assert!(magics(old_dir.path()).iter().all(|m| m == b"BTC1"));
    let metas = |dir: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(dir.join("blocks"))
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.unwrap().path().join("meta")).ok())
            .map(|m| m.lines().next().unwrap_or_default().to_string())
            .collect()
    };
    assert!(metas(old_dir.path())
        .iter()
        .all(|m| m == "berth-tsdb-block 1"));
    assert!(metas(new_dir.path())
        .iter()
        .all(|m| m == "berth-tsdb-block 2"));
    assert!(magics(new_dir.path()).iter().all(|m| m == b"BTC2"));
    assert!(!magics(old_dir.path()).is_empty());
    let all = |db: &Tsdb| super::everything(db);
    let (a, b) = (all(&old), all(&new));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!(same_bits(&x.samples, &y.samples));
    }
    let engine = Engine::default();
    let parsed = parse("rate(c_total[1m])").unwrap();
    let (start, end, step) = (T0 + HOUR, T0 + 14 * HOUR, 43 * MIN);
    assert_eq!(
        engine
            .range_parsed(&old, &parsed, start, end, step)
            .unwrap(),
        engine
            .range_parsed(&new, &parsed, start, end, step)
            .unwrap()
    );
    // Reopened, the old blocks still read; maintenance compacts them into new ones.
    drop(old);
    let old = Tsdb::open(old_dir.path(), Options::default()).unwrap();
    old.maintain(T0 + 40 * HOUR).unwrap();
    let c = all(&old);
    assert_eq!(c.len(), b.len());
    for (x, y) in c.iter().zip(&b) {
        assert!(same_bits(&x.samples, &y.samples));
    }
}
