//! Limits under load: oversized bodies, and a burst of concurrent deliveries with duplicates.
use crate::webhooks::{deliver, deploys, payload, world};
use futures_util::stream::{self, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn bodies_over_25_mb_are_refused() {
    let w = world().await;
    let body = vec![b' '; 25 * 1024 * 1024 + 1];
    let (s, b) = deliver(
        &w.app,
        "idp",
        "push",
        "big-1",
        &body,
        None,
        "application/json",
    )
    .await;
    assert_eq!(s, 413, "{b}");
    let (_, page) = w
        .app
        .api(Method::GET, "/projects/idp/deliveries", Some(&w.root), None)
        .await;
    assert_eq!(page["deliveries"][0]["outcome"], "refused");
    assert_eq!(page["deliveries"][0]["signature"], "unchecked");
}

#[tokio::test]
async fn a_burst_of_deliveries_handles_each_distinct_one_once() {
    let w = world().await;
    let app = &w.app;
    // 250 distinct deliveries over many branches, each sent 1–7 times: 1,000 in all.
    let branches = ["main", "staging", "feature/a", "feature/b", "release/x"];
    let mut sends = Vec::new();
    let mut distinct = Vec::new();
    for i in 0..250usize {
        let branch = branches[i % branches.len()];
        let mut v = payload("push");
        v["ref"] = json!(format!("refs/heads/{branch}"));
        v["after"] = json!(format!("{:040x}", i + 1));
        let body = serde_json::to_vec(&v).unwrap();
        let id = format!("burst-{i}");
        distinct.push((id.clone(), branch));
        let copies = 1 + i % 7;
        for _ in 0..copies {
            sends.push((id.clone(), body.clone()));
        }
    }
    while sends.len() < 1000 {
        let k = sends.len() % 250;
        let again = sends
            .iter()
            .find(|(id, _)| *id == format!("burst-{k}"))
            .cloned()
            .unwrap();
        sends.push(again);
    }
    sends.truncate(1000);
    // Interleave so that copies of one delivery race each other.
    let mut order: Vec<usize> = (0..sends.len()).collect();
    order.sort_by_key(|i| (i * 7919) % 1009);
    let sends: Vec<(String, Vec<u8>)> = order.into_iter().map(|i| sends[i].clone()).collect();
    let results: Vec<(String, u16, Value)> = stream::iter(sends)
        .map(|(id, body)| async move {
            let (s, b) = deliver(app, "idp", "push", &id, &body, None, "application/json").await;
            (id, s, b)
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert_eq!(results.len(), 1000);
    for (id, s, b) in &results {
        assert!(*s == 200 || *s == 202, "{id}: {s} {b}");
    }
    let sent_ids: std::collections::BTreeSet<&str> =
        results.iter().map(|(id, _, _)| id.as_str()).collect();
    let deployable: Vec<&(String, &str)> = distinct
        .iter()
        .filter(|(id, branch)| {
            sent_ids.contains(id.as_str()) && (*branch == "main" || *branch == "staging")
        })
        .collect();
    // Each distinct delivery handled exactly once; every other copy answered `duplicate`.
    let handled: Vec<&(String, u16, Value)> = results
        .iter()
        .filter(|(_, _, b)| b["outcome"] != "duplicate")
        .collect();
    assert_eq!(handled.len(), sent_ids.len());
    let mut seen = std::collections::BTreeSet::new();
    for (id, _, _) in &handled {
        assert!(seen.insert(id.clone()), "{id} handled twice");
    }
    // One deploy per deployable delivery: none lost, none twice.
    let d = deploys(app).await;
    assert_eq!(d.len(), deployable.len());
    let mut shas: Vec<String> = d
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.1).unwrap()["git_sha"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    shas.sort();
    shas.dedup();
    assert_eq!(shas.len(), deployable.len());
    let recorded = app.count("webhook_deliveries").await;
    assert_eq!(recorded, 1000);
}
