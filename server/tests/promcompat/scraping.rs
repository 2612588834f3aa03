//! The looser check, of scraping itself: Berth and the `direct` Prometheus scrape the same
//! targets at different instants, so only what does not depend on the instant is compared:
//! `up`, `scrape_samples_scraped`, and the series each stored for a target (Berth's own
//! `project` and `environment` labels aside).
use super::answer::show_labels;
use super::compare::Api;
use super::world::{Target, World};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

type Labels = BTreeMap<String, String>;

/// What went wrong, one line per finding; empty when both scraped alike.
pub async fn check(world: &World) -> Vec<String> {
    let (berth, direct) = (world.berth(), world.direct());
    let mut findings = Vec::new();
    for t in &world.targets {
        findings.extend(up(t, &berth, &direct).await);
        findings.extend(samples_scraped(t, &berth, &direct).await);
        findings.extend(series(t, &berth, &direct).await);
    }
    findings
}

/// Asks both sides `expr` until `ok` holds of the two answers, a few times 2 s apart: a
/// loaded machine may time out one scrape, and a series may appear between the two
/// scrapers' scrapes. Only a difference that lasts is reported.
async fn lasting(
    expr: String,
    berth: &Api,
    direct: &Api,
    ok: impl Fn(Option<f64>, Option<f64>) -> bool,
) -> Option<String> {
    let mut last = (None, None);
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        last = (berth.single(&expr).await, direct.single(&expr).await);
        if ok(last.0, last.1) {
            return None;
        }
    }
    Some(format!(
        "{expr}: Berth {:?}, Prometheus {:?}",
        last.0, last.1
    ))
}

/// A steady target is up on both; the flaky one was both up and down on both lately.
async fn up(t: &Target, berth: &Api, direct: &Api) -> Vec<String> {
    let sel = t.selector();
    let exprs: Vec<(String, f64)> = match t.steady() {
        true => vec![(format!("up{sel}"), 1.0)],
        false => vec![
            (format!("min_over_time(up{sel}[30s])"), 0.0),
            (format!("max_over_time(up{sel}[30s])"), 1.0),
        ],
    };
    let mut out = Vec::new();
    for (expr, want) in exprs {
        let both = move |b: Option<f64>, d: Option<f64>| b == Some(want) && d == Some(want);
        out.extend(lasting(expr, berth, direct, both).await);
    }
    out
}

/// The latest successful scrape's sample count (the flaky target's failed scrapes count 0).
async fn samples_scraped(t: &Target, berth: &Api, direct: &Api) -> Vec<String> {
    let expr = format!("max_over_time(scrape_samples_scraped{}[3s])", t.selector());
    let equal = |b: Option<f64>, d: Option<f64>| b.is_some() && b == d;
    lasting(expr, berth, direct, equal)
        .await
        .into_iter()
        .collect()
}

/// The series each side stored for the target over the last minute.
async fn series(t: &Target, berth: &Api, direct: &Api) -> Vec<String> {
    let now = chrono::Utc::now().timestamp();
    let params = [
        ("match[]", t.selector()),
        ("start", (now - 60).to_string()),
        ("end", now.to_string()),
    ];
    let (b, d) = (
        berth.get("/series", &params).await,
        direct.get("/series", &params).await,
    );
    let (bs, ds) = (label_sets(&b, true), label_sets(&d, false));
    if bs.is_empty() || ds.is_empty() {
        return vec![format!(
            "series of {}: none on one side: Berth {b}, Prometheus {d}",
            t.selector()
        )];
    }
    let only = |a: &BTreeSet<Labels>, b: &BTreeSet<Labels>| -> Vec<String> {
        a.difference(b).take(5).map(show_labels).collect()
    };
    let (ob, od) = (only(&bs, &ds), only(&ds, &bs));
    if ob.is_empty() && od.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "series of {}: {} (Berth) vs {} (Prometheus); only Berth: {ob:?}; only Prometheus: {od:?}",
        t.selector(),
        bs.len(),
        ds.len()
    )]
}

fn label_sets(answer: &Value, berths: bool) -> BTreeSet<Labels> {
    let list = answer["data"].as_array().cloned().unwrap_or_default();
    list.iter()
        .filter_map(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !berths || !matches!(k.as_str(), "project" | "environment"))
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .collect()
}
