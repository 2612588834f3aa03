//! GitHub webhooks over HTTP: the signature checked before anything else, pushes and workflow
//! runs queueing deploys of the mapped environments, skips and refusals explained and recorded,
//! replays, deliveries through the API, and a burst of concurrent deliveries with duplicates.
//! Payloads are GitHub's documented shapes (tests/fixtures/github).
use crate::support::*;
use app::model::{InstanceRole, Role, Scope};
use app::server::webhooks::github::sign;
use futures_util::stream::{self, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};

const SECRET: &str = "It's a Secret to Everybody";

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

async fn json_delivery(app: &TestApp, event: &str, id: &str, v: &Value) -> (u16, Value) {
    let body = serde_json::to_vec(v).unwrap();
    deliver(app, "idp", event, id, &body, None, "application/json").await
}

async fn deploys(app: &TestApp) -> Vec<(String, String, String, String, String)> {
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
            "signature_missing",
        ),
        (
            "r-2",
            &push,
            Some(wrong_secret.as_str()),
            "application/json",
            401,
            "signature_invalid",
        ),
        (
            "r-3",
            &tampered_body,
            Some(good.as_str()),
            "application/json",
            401,
            "signature_invalid",
        ),
        (
            "r-4",
            &push,
            Some(tampered_header.as_str()),
            "application/json",
            401,
            "signature_invalid",
        ),
        (
            "r-5",
            &push,
            Some("sha1=0123"),
            "application/json",
            401,
            "signature_invalid",
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
    assert_eq!(s, 404, "{b}");
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
    let refused = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(a, _, r)| a == "webhook.refused" && r == "denied")
        .count();
    assert_eq!(refused, 7);

    // Without a secret nothing verifies.
    app.project("bare").await;
    let (s, b) = deliver(app, "bare", "push", "n-1", &push, None, "application/json").await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (401, Some("no_secret")),
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

#[tokio::test]
async fn pushes_and_workflow_runs_deploy_the_mapped_environments_and_explain_skips() {
    let w = world().await;
    let app = &w.app;
    let (s, b) = json_delivery(app, "ping", "p-1", &payload("ping")).await;
    assert_eq!((s, b["outcome"].as_str()), (200, Some("connected")), "{b}");

    // A push to main deploys production with the commit, the pusher and the message.
    let (s, b) = json_delivery(app, "push", "d-1", &payload("push")).await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(b["outcome"], "deployed");
    assert_eq!(b["deploys"][0]["environment"], "production", "{b}");
    let d = deploys(app).await;
    assert_eq!(d.len(), 1);
    let params: Value = serde_json::from_str(&d[0].1).unwrap();
    assert_eq!(
        params["git_sha"],
        "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    );
    assert_eq!(params["git_branch"], "main");
    assert!(
        params["reason"]
            .as_str()
            .unwrap()
            .starts_with("Cache the portal feed for 60 s — push to main by octocat"),
        "{params}"
    );
    assert_eq!(
        (d[0].2.as_str(), d[0].3.as_str(), d[0].4.as_str()),
        ("github:octocat", "webhook", "deploy")
    );
    let (s, dv) = app
        .api(
            Method::GET,
            &format!("/deploys/{}", b["deploys"][0]["deploy"]),
            Some(&w.root),
            None,
        )
        .await;
    assert_eq!(
        (s, dv["deploy"]["trigger"].as_str()),
        (200, Some("webhook")),
        "{dv}"
    );

    // The same delivery again queues nothing.
    let (s, b) = json_delivery(app, "push", "d-1", &payload("push")).await;
    assert_eq!((s, b["outcome"].as_str()), (200, Some("duplicate")), "{b}");
    assert_eq!(deploys(app).await.len(), 1);

    // Tags, deleted branches and unmapped branches are skipped, each with its reason.
    let mut feature = payload("push");
    feature["ref"] = json!("refs/heads/feature/cache-feed");
    for (id, event, v, why) in [
        ("s-1", "push", payload("push_tag"), "tag `v2.4.0` pushed"),
        ("s-2", "push", payload("push_delete"), "branch `feature/cache-feed` was deleted"),
        ("s-3", "push", feature, "no environment deploys branch `feature/cache-feed` (deploy branches: staging → staging, main → production)"),
    ] {
        let (s, b) = json_delivery(app, event, id, &v).await;
        assert_eq!((s, b["outcome"].as_str()), (200, Some("skipped")), "{id}: {b}");
        assert!(b["reason"].as_str().unwrap().contains(why), "{id}: {b}");
    }
    assert_eq!(deploys(app).await.len(), 1);

    // Only the project's repository deploys once one is set.
    let (s, b) = app
        .api(
            Method::PUT,
            "/projects/idp/webhook",
            Some(&w.root),
            Some(json!({"repository": "https://github.com/idp-org/other.git"})),
        )
        .await;
    assert_eq!(
        (s, b["repository"].as_str()),
        (200, Some("idp-org/other")),
        "{b}"
    );
    let (s, b) = json_delivery(app, "push", "s-4", &payload("push")).await;
    assert_eq!((s, b["outcome"].as_str()), (200, Some("skipped")), "{b}");
    assert!(
        b["reason"]
            .as_str()
            .unwrap()
            .contains("is not this project's"),
        "{b}"
    );
    app.api(
        Method::PUT,
        "/projects/idp/webhook",
        Some(&w.root),
        Some(json!({"repository": "idp-org/idp-sites"})),
    )
    .await;

    // Staging waits for CI: pushes are skipped, a successful workflow run deploys it.
    let (s, b) = app
        .api(
            Method::PUT,
            "/projects/idp/environments/staging/deploy-settings",
            Some(&w.root),
            Some(json!({"trigger": "workflow_run", "workflow": "build.yml"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let mut to_staging = payload("push");
    to_staging["ref"] = json!("refs/heads/staging");
    let (_, b) = json_delivery(app, "push", "w-1", &to_staging).await;
    assert_eq!(
        b["reason"], "`staging` deploys on workflow_run, not on push",
        "{b}"
    );
    let mut failed_run = payload("workflow_run");
    failed_run["workflow_run"]["conclusion"] = json!("failure");
    let (_, b) = json_delivery(app, "workflow_run", "w-2", &failed_run).await;
    assert!(
        b["reason"]
            .as_str()
            .unwrap()
            .contains("concluded `failure`"),
        "{b}"
    );
    let (s, b) = json_delivery(app, "workflow_run", "w-3", &payload("workflow_run")).await;
    assert_eq!(
        (s, b["deploys"][0]["environment"].as_str()),
        (202, Some("staging")),
        "{b}"
    );
    let d = deploys(app).await;
    assert_eq!(d.len(), 2);
    let params: Value = serde_json::from_str(&d[1].1).unwrap();
    assert_eq!(
        params["git_sha"],
        "acb5820ced9479c074f688cc328bf03f341a511d"
    );

    // The API shows a delivery with its headers and pretty payload; maintainers replay it.
    let (_, page) = app
        .api(
            Method::GET,
            "/projects/idp/deliveries?outcome=deployed",
            Some(&w.dee),
            None,
        )
        .await;
    let list = page["deliveries"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{page}");
    let first = list.iter().find(|x| x["delivery"] == "d-1").unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, detail) = app
        .api(
            Method::GET,
            &format!("/projects/idp/deliveries/{first}"),
            Some(&w.dee),
            None,
        )
        .await;
    assert_eq!(s, 200, "{detail}");
    assert!(
        detail["payload"]
            .as_str()
            .unwrap()
            .contains("\n  \"after\": \"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c\""),
        "{detail}"
    );
    let headers = detail["headers"].as_array().unwrap();
    assert!(headers
        .iter()
        .any(|h| h["name"] == "x-github-event" && h["value"] == "push"));
    assert_eq!(detail["replayable"], true);
    let (s, _) = app
        .api(
            Method::POST,
            &format!("/projects/idp/deliveries/{first}/replay"),
            Some(&w.dee),
            None,
        )
        .await;
    assert_eq!(s, 403, "deployers may not replay");
    let (s, r) = app
        .api(
            Method::POST,
            &format!("/projects/idp/deliveries/{first}/replay"),
            Some(&w.max),
            None,
        )
        .await;
    assert_eq!(s, 202, "{r}");
    assert_eq!(
        (r["replay_of"].as_i64(), r["outcome"].as_str()),
        (Some(first), Some("deployed")),
        "{r}"
    );
    let d = deploys(app).await;
    assert_eq!(d.len(), 3);
    assert!(
        d[2].2.starts_with("max (token "),
        "replayed deploys are the maintainer's: {}",
        d[2].2
    );
    let actions: Vec<String> = app
        .audit_actions()
        .await
        .into_iter()
        .map(|(a, _, _)| a)
        .collect();
    assert!(actions.contains(&"webhook.replay".to_string()));
    assert!(actions.contains(&"project.webhook".to_string()));
    let refused_replay = app
        .api(
            Method::POST,
            "/projects/idp/deliveries/999999/replay",
            Some(&w.max),
            None,
        )
        .await;
    assert_eq!(refused_replay.0, 404);

    // The set-up to paste into GitHub.
    let (s, v) = app
        .api(Method::GET, "/projects/idp/webhook", Some(&w.dee), None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            v["url"].as_str(),
            v["content_type"].as_str(),
            v["secret_set"].as_bool()
        ),
        (
            Some("/api/hooks/github/idp"),
            Some("application/json"),
            Some(true)
        )
    );
    assert_eq!(v["targets"][0]["trigger"], "workflow_run");
}

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
