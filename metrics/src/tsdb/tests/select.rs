use super::{fill, open, series, T0};
use crate::model::{Labels, Matcher, MemSeries, QueryError, Queryable};
use crate::tsdb::{Options, Tsdb};

fn corpus() -> Vec<Labels> {
    vec![
        series("http_requests_total", &[("env", "prod"), ("code", "200")]),
        series("http_requests_total", &[("env", "prod"), ("code", "500")]),
        series("http_requests_total", &[("env", "dev"), ("code", "200")]),
        series("http_requests_total", &[("code", "404")]),
        series("up", &[("env", "prod"), ("job", "node")]),
        series("up", &[("job", "cadvisor")]),
        series("memory_bytes", &[("env", "staging")]),
    ]
}

/// Every matcher kind, on present and absent labels, matching and not matching "".
fn matcher_sets() -> Vec<Vec<Matcher>> {
    let n = |v| Matcher::equal("__name__", v);
    vec![
        vec![n("http_requests_total")],
        vec![n("up"), Matcher::equal("env", "prod")],
        vec![n("http_requests_total"), Matcher::not_equal("env", "prod")],
        vec![n("http_requests_total"), Matcher::equal("env", "")],
        vec![Matcher::not_equal("env", "")],
        vec![Matcher::regex("__name__", "http.*|up").unwrap()],
        vec![
            Matcher::regex("__name__", ".+").unwrap(),
            Matcher::regex("env", "prod|").unwrap(),
        ],
        vec![
            Matcher::regex("code", "[45]..").unwrap(),
            Matcher::not_regex("env", "dev").unwrap(),
        ],
        vec![n("up"), Matcher::not_regex("job", "cad.*").unwrap()],
        vec![n("up"), Matcher::not_regex("env", ".*").unwrap()],
        vec![n("nothing")],
        vec![Matcher::equal("env", "prod"), Matcher::equal("env", "dev")],
        vec![
            Matcher::regex("env", "prod").unwrap(),
            Matcher::equal("code", ""),
        ],
        vec![n("memory_bytes"), Matcher::not_equal("job", "x")],
    ]
}

/// Head and blocks must both agree with the reference implementation in `model`.
#[test]
fn matchers_select_the_same_series_as_the_reference_in_head_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let labels = corpus();
    fill(&db, &labels, T0, 4, |s, i| (s * 10 + i) as f64);
    let reference = MemSeries(
        db.select(&[Matcher::regex("__name__", ".+").unwrap()], 0, i64::MAX)
            .unwrap(),
    );
    assert_eq!(reference.0.len(), labels.len());
    let check = |db: &Tsdb, place: &str| {
        for ms in matcher_sets() {
            let want: Vec<Labels> = reference
                .select(&ms, 0, i64::MAX)
                .unwrap()
                .into_iter()
                .map(|s| s.labels)
                .collect();
            let got: Vec<Labels> = db
                .select(&ms, 0, i64::MAX)
                .unwrap()
                .into_iter()
                .map(|s| s.labels)
                .collect();
            assert_eq!(got, want, "{place}: {ms:?}");
        }
    };
    check(&db, "head");
    // A later sample for one series moves the rest into a block.
    let r = db.series_ref(&labels[0]).unwrap();
    db.append(&[(r, T0 + 5 * 3_600_000, 1.0)]).unwrap();
    db.maintain(T0 + 5 * 3_600_000).unwrap();
    assert!(db.stats().raw_blocks > 0);
    check(&db, "blocks");
}

#[test]
fn results_are_sorted_by_labels_and_cut_to_the_time_range() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let labels = corpus();
    fill(&db, &labels, T0, 100, |_, i| i as f64);
    let got = db
        .select(
            &[Matcher::regex("__name__", ".+").unwrap()],
            T0 + 15_000,
            T0 + 45_000,
        )
        .unwrap();
    assert!(got.windows(2).all(|w| w[0].labels < w[1].labels));
    assert!(got
        .iter()
        .all(|s| s.samples == vec![(T0 + 15_000, 1.0), (T0 + 30_000, 2.0), (T0 + 45_000, 3.0)]));
}

#[test]
fn label_names_and_values_come_from_matching_series() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    fill(&db, &corpus(), T0, 2, |_, _| 1.0);
    let names = db
        .label_names(&[Matcher::equal("__name__", "up")], 0, i64::MAX)
        .unwrap();
    assert_eq!(names, vec!["__name__", "env", "job"]);
    let envs = db.label_values("env", &[], 0, i64::MAX).unwrap();
    assert_eq!(envs, vec!["dev", "prod", "staging"]);
    assert!(db.label_values("env", &[], 0, T0 - 1).unwrap().is_empty());
}

#[test]
fn selections_over_the_limits_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(
        dir.path(),
        Options {
            max_query_series: 3,
            max_query_samples: 50,
            ..Options::default()
        },
    )
    .unwrap();
    fill(&db, &corpus(), T0, 10, |_, _| 1.0);
    let all = [Matcher::regex("__name__", ".+").unwrap()];
    assert!(matches!(
        db.select(&all, 0, i64::MAX),
        Err(QueryError::TooMuchData(_))
    ));
    let up = [Matcher::equal("__name__", "up")];
    assert_eq!(db.select(&up, 0, i64::MAX).unwrap().len(), 2);
    let http = [Matcher::equal("__name__", "http_requests_total")];
    assert!(
        matches!(
            db.select(&http, 0, i64::MAX),
            Err(QueryError::TooMuchData(_))
        ),
        "4 series"
    );
    let many = [Matcher::equal("__name__", "up")];
    assert_eq!(db.select(&many, 0, T0 + 100_000).unwrap().len(), 2);
    fill(&db, &corpus()[4..5], T0 + 1_000_000, 50, |_, _| 1.0);
    assert!(
        matches!(db.select(&up, 0, i64::MAX), Err(QueryError::TooMuchData(_))),
        "60 samples"
    );
}
