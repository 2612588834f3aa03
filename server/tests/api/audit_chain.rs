//! The audit log records every action with who, from where and what changed, and its hash
//! chain exposes edited, deleted and inserted rows.
use crate::support::*;
use berth_core::audit;
use berth_model::{InstanceRole, Scope};
use reqwest::Method;
use serde_json::json;

async fn with_events() -> TestApp {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    let t = app.token("root", Scope::Write).await;
    for i in 0..5 {
        let (s, _) = app
            .api(
                Method::POST,
                "/projects",
                Some(&t),
                Some(json!({"name": format!("P{i}"), "slug": format!("p{i}")})),
            )
            .await;
        assert_eq!(s, 201);
    }
    app
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql)
        .execute(&app.state.db.pool)
        .await
        .expect(sql);
}

#[tokio::test]
async fn events_name_the_actor_client_and_change() {
    let app = with_events().await;
    let page = audit::list(&app.state.db, &None, &Default::default())
        .await
        .unwrap();
    let e = page
        .events
        .iter()
        .find(|e| e.action == "project.create" && e.target == "project:p3")
        .expect("event");
    assert_eq!(e.actor_kind, "token");
    assert!(e.actor.starts_with("root (token "), "{}", e.actor);
    assert_eq!(e.client_addr, "127.0.0.1");
    assert_eq!(e.result, "success");
    let summary: serde_json::Value = serde_json::from_str(&e.summary).unwrap();
    assert_eq!(summary["slug"], "p3");
    assert!(audit::verify(&app.state.db).await.unwrap().ok);
}

#[tokio::test]
async fn an_edited_event_is_found() {
    let app = with_events().await;
    exec(
        &app,
        "UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 4",
    )
    .await;
    let r = audit::verify(&app.state.db).await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.first_bad_seq, Some(4));
    assert!(r.problem.unwrap().contains("altered"));
}

#[tokio::test]
async fn a_deleted_event_is_found() {
    let app = with_events().await;
    exec(&app, "DELETE FROM audit_events WHERE seq = 3").await;
    let r = audit::verify(&app.state.db).await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.first_bad_seq, Some(3));
    assert!(r.problem.unwrap().contains("missing"));
}

#[tokio::test]
async fn deleting_the_newest_events_is_found() {
    let app = with_events().await;
    let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_events")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    exec(
        &app,
        &format!("DELETE FROM audit_events WHERE seq = {last}"),
    )
    .await;
    let r = audit::verify(&app.state.db).await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.first_bad_seq, Some(last));
}

#[tokio::test]
async fn an_inserted_event_is_found() {
    let app = with_events().await;
    // Shift later events up and forge one in the gap, with a self-consistent hash.
    let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_events")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    for seq in (3..=last).rev() {
        exec(
            &app,
            &format!(
                "UPDATE audit_events SET seq = {} WHERE seq = {seq}",
                seq + 1
            ),
        )
        .await;
    }
    let prev: String = sqlx::query_scalar("SELECT hash FROM audit_events WHERE seq = 2")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let mut forged = audit::StoredEvent {
        seq: 3,
        ts: 1,
        actor_kind: "user".into(),
        actor_id: None,
        actor_name: "root".into(),
        client_addr: "127.0.0.1".into(),
        user_agent: "x".into(),
        action: "user.create".into(),
        target: "user:backdoor".into(),
        project_id: None,
        summary: "{}".into(),
        result: "success".into(),
        prev_hash: prev,
        hash: String::new(),
    };
    forged.hash = audit::event_hash(&forged);
    let mut tx = app.state.db.begin_write().await.unwrap();
    audit::insert_raw(&mut tx, &forged).await.unwrap();
    tx.commit().await.unwrap();
    let r = audit::verify(&app.state.db).await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.first_bad_seq, Some(4), "{r:?}");
}

#[tokio::test]
async fn verify_is_served_over_the_api_for_admins() {
    let app = with_events().await;
    let t = app.token("root", Scope::Read).await;
    let (s, r) = app.api(Method::GET, "/audit/verify", Some(&t), None).await;
    assert_eq!(s, 200);
    assert_eq!(r["ok"], true);
    exec(&app, "UPDATE audit_events SET target = 'x' WHERE seq = 2").await;
    let (_, r) = app.api(Method::GET, "/audit/verify", Some(&t), None).await;
    assert_eq!(r["ok"], false);
    assert_eq!(r["first_bad_seq"], 2);
}

#[tokio::test]
async fn audit_filters_page_and_export() {
    let app = with_events().await;
    let t = app.token("root", Scope::Read).await;
    let (_, page) = app
        .api(
            Method::GET,
            "/audit?action=project.create&limit=2",
            Some(&t),
            None,
        )
        .await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e["action"] == "project.create"));
    let before = page["next_before"].as_i64().expect("more pages");
    let (_, page2) = app
        .api(
            Method::GET,
            &format!("/audit?action=project.create&limit=2&before={before}"),
            Some(&t),
            None,
        )
        .await;
    assert!(page2["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["seq"].as_i64().unwrap() < before));
    let (_, none) = app
        .api(Method::GET, "/audit?since=2999-01-01", Some(&t), None)
        .await;
    assert_eq!(none["events"], json!([]));
    let (s, err) = app
        .api(Method::GET, "/audit?since=yesterday", Some(&t), None)
        .await;
    assert_eq!(s, 422, "{err}");
    let res = plain()
        .get(format!("{}/api/v1/audit/export?target=project:p", app.url))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let text = res.text().await.unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
}

#[tokio::test]
async fn concurrent_writers_keep_the_chain_linear() {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    let t = app.token("root", Scope::Write).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let url = app.url.clone();
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            plain()
                .post(format!("{url}/api/v1/projects"))
                .bearer_auth(t)
                .json(&json!({"name": "P", "slug": format!("c{i}")}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 201);
    }
    let r = audit::verify(&app.state.db).await.unwrap();
    assert!(r.ok, "{r:?}");
}
