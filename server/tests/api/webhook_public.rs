//! The public webhook endpoint as an outsider sees it: one answer for every reason a delivery
//! could not be verified, refusals limited per address and counted compactly, signed
//! deliveries handled all the while.
use crate::support::*;
use crate::webhooks::{deliver, deploys, payload, world};
use berth_core::db::Dialect;
use berth_core::webhooks::github::sign;
use futures_util::stream::{self, StreamExt};
use reqwest::Method;

/// Status and raw body bytes of a delivery.
async fn raw(app: &TestApp, project: &str, body: &[u8], signature: Option<&str>) -> (u16, Vec<u8>) {
    let mut req = plain()
        .post(format!("{}/api/hooks/github/{project}", app.url))
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", "outsider")
        .body(body.to_vec());
    if let Some(sig) = signature {
        req = req.header("x-hub-signature-256", sig);
    }
    let res = req.send().await.expect("delivery");
    (
        res.status().as_u16(),
        res.bytes().await.expect("body").to_vec(),
    )
}

#[tokio::test]
async fn outsiders_get_one_answer_for_unknown_projects_no_secret_and_bad_signatures() {
    let w = world().await;
    let app = &w.app;
    app.project("bare").await;
    let push = serde_json::to_vec(&payload("push")).unwrap();
    let wrong = sign(b"not the secret", &push);
    let answers = [
        (
            "unknown project",
            raw(app, "nope", &push, Some(&wrong)).await,
        ),
        ("no secret", raw(app, "bare", &push, Some(&wrong)).await),
        ("missing signature", raw(app, "idp", &push, None).await),
        (
            "wrong signature",
            raw(app, "idp", &push, Some(&wrong)).await,
        ),
    ];
    let want = (
        401,
        br#"{"error":{"code":"unauthorized","message":"signature could not be verified"}}"#
            .to_vec(),
    );
    for (what, got) in &answers {
        assert_eq!(
            (got.0, String::from_utf8_lossy(&got.1)),
            (want.0, String::from_utf8_lossy(&want.1)),
            "{what}"
        );
    }
    // Maintainers still see the precise reason for their project.
    let (_, page) = app
        .api(Method::GET, "/projects/idp/deliveries", Some(&w.max), None)
        .await;
    let reasons: Vec<&str> = page["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("no X-Hub-Signature-256")),
        "{page}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("X-Hub-Signature-256 ")),
        "{page}"
    );
    let (_, bare) = app
        .api(
            Method::GET,
            "/projects/bare/deliveries",
            Some(&w.root),
            None,
        )
        .await;
    assert!(
        bare["deliveries"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("no secret GITHUB_WEBHOOK_SECRET"),
        "{bare}"
    );
}

/// SQLite: the database file with its WAL (checkpointed first, so that the WAL's reused
/// pages are not counted as growth); PostgreSQL: `pg_database_size`.
async fn database_bytes(app: &TestApp) -> i64 {
    if app.state.db.dialect == Dialect::Sqlite {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&app.state.db.pool)
            .await
            .expect("checkpoint");
    }
    match app.state.db.dialect {
        Dialect::Postgres => sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("size"),
        Dialect::Sqlite => ["berth.db", "berth.db-wal"]
            .iter()
            .map(|f| {
                std::fs::metadata(app.config.data_dir.join(f))
                    .map(|m| m.len() as i64)
                    .unwrap_or(0)
            })
            .sum(),
    }
}

#[tokio::test]
async fn a_flood_of_unsigned_posts_is_limited_and_signed_deliveries_still_deploy() {
    let w = world().await;
    let app = &w.app;
    let before = database_bytes(app).await;
    let junk = vec![b'x'; 60 * 1024];
    let flood = stream::iter(0..10_000)
        .map(|i| {
            let junk = &junk;
            async move {
                let id = format!("flood-{i}");
                deliver(app, "idp", "push", &id, junk, Some(""), "application/json")
                    .await
                    .0
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<u16>>();
    let signed = async {
        let mut answers = Vec::new();
        for i in 0..20 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let mut v = payload("push");
            v["ref"] = serde_json::json!("refs/heads/staging");
            v["after"] = serde_json::json!(format!("{:040x}", i + 1));
            let body = serde_json::to_vec(&v).unwrap();
            answers.push(
                deliver(
                    app,
                    "idp",
                    "push",
                    &format!("ok-{i}"),
                    &body,
                    None,
                    "application/json",
                )
                .await,
            );
        }
        answers
    };
    let (flood, signed) = tokio::join!(flood, signed);
    let refused = flood.iter().filter(|s| **s == 401).count();
    let limited = flood.iter().filter(|s| **s == 429).count();
    assert_eq!(refused + limited, 10_000, "only 401 and 429 answers");
    assert!(refused <= 40, "{refused} refusals reached the database");
    for (s, b) in &signed {
        assert_eq!(*s, 202, "{b}");
        assert_eq!(b["outcome"], "deployed", "{b}");
    }
    assert_eq!(deploys(app).await.len(), 20);
    let grown = database_bytes(app).await - before;
    eprintln!("the database grew by {grown} bytes");
    assert!(grown < 1024 * 1024, "the database grew by {grown} bytes");
    // The page shows how many were refused; only the first of the hour are kept whole.
    let (_, page) = app
        .api(
            Method::GET,
            "/projects/idp/deliveries?outcome=refused&limit=200",
            Some(&w.root),
            None,
        )
        .await;
    let kept = page["deliveries"].as_array().unwrap().len();
    assert!(kept <= 20, "{kept} refusals kept");
    let counted: i64 = page["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["refusals"].as_i64().unwrap())
        .sum();
    assert_eq!(counted as usize, refused, "{page}");
    let audited = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(a, _, _)| a == "webhook.refused")
        .count();
    assert_eq!(audited, 1);
}
