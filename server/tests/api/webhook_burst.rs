//! Limits under load: oversized bodies, and a burst of concurrent deliveries with duplicates.
use crate::webhooks::{deliver, deploys, payload, world};
use futures_util::stream::{self, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Posts `len` bytes to `path` over a raw connection, still writing (in 64 KB pieces, the first
/// ones slowly) after the server has had time to decide, then reads the whole answer.
async fn post_slowly(base: &str, path: &str, len: usize, content_length: bool) -> (u16, Value) {
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let length = if content_length {
        format!("content-length: {len}\r\n")
    } else {
        "transfer-encoding: chunked\r\n".to_string()
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         x-github-event: push\r\nx-github-delivery: big-raw\r\nconnection: close\r\n{length}\r\n"
    );
    s.write_all(head.as_bytes()).await.expect("head");
    let piece = vec![b' '; 64 * 1024];
    let mut sent = 0;
    let mut n = 0;
    while sent < len {
        let k = piece.len().min(len - sent);
        let w = if content_length {
            s.write_all(&piece[..k]).await
        } else {
            let mut chunk = format!("{k:x}\r\n").into_bytes();
            chunk.extend_from_slice(&piece[..k]);
            chunk.extend_from_slice(b"\r\n");
            s.write_all(&chunk).await
        };
        w.unwrap_or_else(|e| panic!("the server stopped reading after {sent} bytes: {e}"));
        sent += k;
        n += 1;
        if n < 5 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    if !content_length {
        s.write_all(b"0\r\n\r\n").await.expect("last chunk");
    }
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)
        .await
        .unwrap_or_else(|e| panic!("no answer after the whole body: {e}"));
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn bodies_over_25_mb_are_answered_413_after_the_client_finished_sending() {
    let w = world().await;
    for content_length in [true, false] {
        let (s, b) = post_slowly(
            &w.app.url,
            "/api/hooks/github/idp",
            25 * 1024 * 1024 + 1,
            content_length,
        )
        .await;
        assert_eq!(s, 413, "content-length {content_length}: {b}");
        assert_eq!(b["error"]["code"], "payload_too_large", "{b}");
    }
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
