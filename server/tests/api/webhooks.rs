//! GitHub webhooks over HTTP: the signature checked before anything else, pushes and workflow
//! runs queueing deploys of the mapped environments, skips and refusals explained and recorded,
//! replays, deliveries through the API, and a burst of concurrent deliveries with duplicates.
//! Payloads are GitHub's documented shapes (tests/fixtures/github).
use crate::support::*;
use berth_core::webhooks::github::sign;
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::{json, Value};

pub const SECRET: &str = "It's a Secret to Everybody";

/// A fixture with `{"$ref": "repository.json"}` replaced by the repository object.
pub fn payload(name: &str) -> Value {
    fn resolve(v: &mut Value, repo: &Value) {
        match v {
            Value::Object(m)
                if m.get("$ref").and_then(Value::as_str) == Some("repository.json") =>
            {
                *v = repo.clone()
            }
            Value::Object(m) => m.values_mut().for_each(|x| resolve(x, repo)),
            Value::Array(a) => a.iter_mut().for_each(|x| resolve(x, repo)),
            _ => {}
        }
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/github");
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{f}")).expect("fixture"))
            .expect("fixture JSON")
    };
    let repo = read("repository.json");
    let mut v = read(&format!("{name}.json"));
    resolve(&mut v, &repo);
    v
}

/// A project `idp` with staging (branch `staging`) and protected production (`main`), the
/// webhook secret set, and tokens for an admin, a maintainer and a deployer.
pub struct World {
    pub app: TestApp,
    pub root: String,
    pub max: String,
    pub dee: String,
}

pub async fn world() -> World {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    app.user("max", InstanceRole::User).await;
    app.user("dee", InstanceRole::User).await;
    app.project("idp").await;
    app.member("idp", "max", Role::Maintainer).await;
    app.member("idp", "dee", Role::Deployer).await;
    let root = app.token("root", Scope::Write).await;
    for (slug, branch, protected) in [("staging", "staging", false), ("production", "main", true)] {
        let (s, b) = app
            .api(
                Method::POST,
                "/projects/idp/environments",
                Some(&root),
                Some(json!({"name": slug, "slug": slug, "protected": protected, "branch": branch})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    let (s, b) = app
        .put_var(
            "/projects/idp/variables/GITHUB_WEBHOOK_SECRET",
            &root,
            json!({"value": SECRET, "secret": true}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let max = app.token("max", Scope::Deploy).await;
    let dee = app.token("dee", Scope::Deploy).await;
    World {
        app,
        root,
        max,
        dee,
    }
}

/// Sends a delivery; `signature: None` signs the body with [`SECRET`].
pub async fn deliver(
    app: &TestApp,
    project: &str,
    event: &str,
    id: &str,
    body: &[u8],
    signature: Option<&str>,
    content_type: &str,
) -> (u16, Value) {
    let sig = signature
        .map(str::to_string)
        .unwrap_or_else(|| sign(SECRET.as_bytes(), body));
    let mut req = plain()
        .post(format!("{}/api/hooks/github/{project}", app.url))
        .header("content-type", content_type)
        .header("x-github-event", event)
        .header("x-github-delivery", id)
        .header("x-github-hook-id", "109948940")
        .header("user-agent", "GitHub-Hookshot/7d2bc1b")
        .body(body.to_vec());
    if !sig.is_empty() {
        req = req.header("x-hub-signature-256", sig);
    }
    let res = req.send().await.expect("delivery");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub async fn json_delivery(app: &TestApp, event: &str, id: &str, v: &Value) -> (u16, Value) {
    let body = serde_json::to_vec(v).unwrap();
    deliver(app, "idp", event, id, &body, None, "application/json").await
}

pub async fn deploys(app: &TestApp) -> Vec<(String, String, String, String, String)> {
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT e.slug, d.params, d.actor, d.trigger_kind, d.kind FROM deploys d JOIN environments e ON e.id = d.environment_id ORDER BY d.id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .expect("deploys");
    rows
}
#[tokio::test]
async fn signatures_are_checked_before_anything_and_refusals_are_recorded() {
    let w = world().await;
    let app = &w.app;
    // GitHub's published test vector reaches the JSON parser: the signature is valid, and the
    // body is then refused as not JSON — recorded with the signature result.
    let vector = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let (s, b) = deliver(
        app,
        "idp",
        "push",
        "v-1",
        b"Hello, World!",
        Some(vector),
        "application/json",
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"]["code"], "invalid_json", "{b}");

    let push = serde_json::to_vec(&payload("push")).unwrap();
    let good = sign(SECRET.as_bytes(), &push);
    let mut tampered_body = push.clone();
    let at = tampered_body.len() / 2;
    tampered_body[at] ^= 0x01;
    let mut tampered_header = good.clone();
    let last = tampered_header.pop().unwrap();
    tampered_header.push(if last == '0' { '1' } else { '0' });
    let wrong_secret = sign(b"not the secret", &push);
    for (id, body, sig, ct, status, code) in [
        (
            "r-1",
            &push,
            Some(""),
            "application/json",
            401,
            "unauthorized",
        ),
        (
            "r-2",
            &push,
            Some(wrong_secret.as_str()),
            "application/json",
            401,
            "unauthorized",
        ),
        (
            "r-3",
            &tampered_body,
            Some(good.as_str()),
            "application/json",
            401,
            "unauthorized",
        ),
        (
            "r-4",
            &push,
            Some(tampered_header.as_str()),
            "application/json",
            401,
            "unauthorized",
        ),
        (
            "r-5",
            &push,
            Some("sha1=0123"),
            "application/json",
            401,
            "unauthorized",
        ),
        (
            "r-6",
            &push,
            None,
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
        ),
    ] {
        let (s, b) = deliver(app, "idp", "push", id, body, sig, ct).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (status, Some(code)),
            "{id}: {b}"
        );
    }
    let (s, b) = deliver(app, "nope", "push", "r-7", &push, None, "application/json").await;
    assert_eq!(s, 401, "{b}");
    let (s, b) = deliver(
        app,
        "idp",
        "issues",
        "r-8",
        b"{\"action\":\"opened\"}",
        None,
        "application/json",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["outcome"], "skipped");
    assert!(
        b["reason"]
            .as_str()
            .unwrap()
            .contains("`issues` is not handled"),
        "{b}"
    );
    assert!(deploys(app).await.is_empty(), "nothing may be queued");

    // Every delivery to the project is listed with its signature result and why.
    let (s, page) = app
        .api(
            Method::GET,
            "/projects/idp/deliveries?limit=50",
            Some(&w.dee),
            None,
        )
        .await;
    assert_eq!(s, 200, "{page}");
    let list = page["deliveries"].as_array().unwrap();
    let by_id = |id: &str| {
        list.iter()
            .find(|d| d["delivery"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(list.len(), 8, "{page}");
    assert_eq!(
        (
            by_id("v-1")["signature"].as_str(),
            by_id("v-1")["outcome"].as_str()
        ),
        (Some("valid"), Some("refused"))
    );
    assert_eq!(by_id("r-1")["signature"], "missing");
    for id in ["r-2", "r-3", "r-4", "r-5"] {
        assert_eq!(by_id(id)["signature"], "invalid", "{id}");
        assert_eq!(by_id(id)["status"], 401, "{id}");
    }
    assert!(by_id("r-6")["reason"]
        .as_str()
        .unwrap()
        .contains("application/json"));
    assert_eq!(by_id("r-8")["outcome"], "skipped");
    // Signed refusals are audited one by one; unsigned ones once per hour (the first).
    let refused = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(a, _, r)| a == "webhook.refused" && r == "denied")
        .count();
    assert_eq!(refused, 3);
    let counted: Vec<(String, i64)> = page["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["reason"].as_str().unwrap().to_string(),
                c["refusals"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counted,
        vec![
            ("signature_invalid".to_string(), 4),
            ("signature_missing".to_string(), 1)
        ],
        "{page}"
    );

    // Without a secret nothing verifies.
    app.project("bare").await;
    let (s, b) = deliver(app, "bare", "push", "n-1", &push, None, "application/json").await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{b}"
    );
    // The secret's value appears in no answer, delivery or audit entry.
    let everything = format!(
        "{} {} {}",
        app.text("/projects/idp/deliveries", &w.root).await,
        app.text("/audit/export", &w.root).await,
        app.text("/projects/idp/webhook", &w.root).await,
    );
    assert!(!everything.contains(SECRET));
}
