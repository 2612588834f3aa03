//! The access sweep: every operation of the OpenAPI document, called anonymously, by a
//! signed-in outsider, by each project role and by an instance admin, and with each token
//! scope, must be refused below the row of access.txt and allowed from it. The table is the
//! repository's record of the roles matrix in PRODUCT.md; an operation without a row, or a row
//! without an operation, fails.
use crate::support::*;
use crate::webhooks::{deliver, SECRET};
use berth_core::{tokens, Ctx};
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const TABLE: &str = include_str!("access.txt");

/// Callers from the least to the most powerful.
const LADDER: [(&str, &str); 6] = [
    ("user", "otto"),
    ("viewer", "vic"),
    ("deployer", "dee"),
    ("maintainer", "max"),
    ("admin", "ada"),
    ("instance", "root"),
];
const SCOPES: [Scope; 3] = [Scope::Read, Scope::Deploy, Scope::Write];

#[derive(Debug)]
struct Row {
    method: Method,
    /// As in the OpenAPI document (`/projects/{project}/…`), with an optional query.
    path: String,
    least: String,
    scope: Scope,
    body: Option<Value>,
    line: usize,
}

impl Row {
    fn template(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }
    fn key(&self) -> (String, String) {
        (self.method.to_string(), self.template().to_string())
    }
}

fn rows() -> Vec<Row> {
    TABLE
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| {
            let mut words = l.split_whitespace();
            let method: Method = words.next().unwrap().parse().unwrap();
            let path = words.next().unwrap().to_string();
            let least = words.next().unwrap().to_string();
            let scope: Scope = words.next().unwrap().parse().unwrap();
            // What follows the fourth word is the body.
            let mut rest = l.trim_start();
            for _ in 0..4 {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                rest = rest[end..].trim_start();
            }
            let body = (!rest.is_empty()).then(|| {
                serde_json::from_str(rest)
                    .unwrap_or_else(|e| panic!("access.txt:{}: body is not JSON: {e}", i + 1))
            });
            assert!(
                least == "session" || LADDER.iter().any(|(r, _)| *r == least),
                "access.txt:{}: unknown caller {least}",
                i + 1
            );
            Row {
                method,
                path,
                least,
                scope,
                body,
                line: i + 1,
            }
        })
        .collect()
}

/// A project `shop` with an environment `staging` (not protected), a secret variable at both
/// levels, a service, a site, a webhook delivery, a deploy; members of each role; and the
/// outsider's own token.
struct World {
    app: TestApp,
    deploy: i64,
    delivery: i64,
    /// A static scrape target of staging.
    target: i64,
    otto_token: i64,
}

async fn world() -> World {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    for name in ["otto", "vic", "dee", "max", "ada", "target"] {
        app.user(name, InstanceRole::User).await;
    }
    app.project("shop").await;
    for (name, role) in [
        ("vic", Role::Viewer),
        ("dee", Role::Deployer),
        ("max", Role::Maintainer),
        ("ada", Role::Admin),
        ("target", Role::Deployer),
    ] {
        app.member("shop", name, role).await;
    }
    let root = app.token("root", Scope::Write).await;
    let ok = |what: &str, (s, b): (u16, Value)| {
        assert!(s < 300, "fixture {what}: {s} {b}");
        b
    };
    ok(
        "environment",
        app.api(
            Method::POST,
            "/projects/shop/environments",
            Some(&root),
            Some(json!({"name": "Staging", "slug": "staging"})),
        )
        .await,
    );
    // A deploy before there is anything to run: it ends at once.
    let d = ok(
        "deploy",
        app.api(
            Method::POST,
            "/projects/shop/environments/staging/deploys",
            Some(&root),
            Some(json!({})),
        )
        .await,
    );
    let deploy = d["id"].as_i64().expect("deploy id");
    for (path, value) in [
        ("/projects/shop/variables/DB_PASSWORD", "project-secret-1"),
        (
            "/projects/shop/environments/staging/variables/DB_PASSWORD",
            "env-secret-1",
        ),
        ("/projects/shop/variables/GITHUB_WEBHOOK_SECRET", SECRET),
    ] {
        ok(
            path,
            app.put_var(path, &root, json!({"value": value, "secret": true}))
                .await,
        );
    }
    for (path, body) in [
        (
            "/projects/shop/environments/staging/services/web",
            json!({"name": "web", "image": "shop:1"}),
        ),
        (
            "/projects/shop/sites/www",
            json!({"hosts": {"staging": {"primary": "www.example.com", "aliases": []}}, "routes": []}),
        ),
        ("/projects/shop/webhook", json!({"repository": "acme/shop"})),
    ] {
        ok(
            path,
            app.api(Method::PUT, path, Some(&root), Some(body)).await,
        );
    }
    let ping =
        serde_json::to_vec(&json!({"zen": "Keep it logically awesome.", "hook_id": 1})).unwrap();
    let (s, b) = deliver(
        &app,
        "shop",
        "ping",
        "sweep-1",
        &ping,
        None,
        "application/json",
    )
    .await;
    assert!(s < 300, "fixture delivery: {s} {b}");
    let list = ok(
        "deliveries",
        app.api(Method::GET, "/projects/shop/deliveries", Some(&root), None)
            .await,
    );
    let delivery = first_id(&list).expect("a delivery id");
    let target = ok(
        "scrape target",
        app.api(
            Method::POST,
            "/projects/shop/environments/staging/metrics/targets",
            Some(&root),
            Some(json!({"job_name": "fixture", "address": "127.0.0.1:9"})),
        )
        .await,
    )["id"]
        .as_i64()
        .expect("target id");
    let otto_token = tokens::create(
        &app.state,
        &Ctx::system(),
        Some("otto"),
        "mine",
        Scope::Read,
        "",
    )
    .await
    .expect("token")
    .token
    .id;
    World {
        app,
        deploy,
        delivery,
        target,
        otto_token,
    }
}

/// The first `id` in a list answer (`[…]` or `{"…": […]}`).
fn first_id(v: &Value) -> Option<i64> {
    match v {
        Value::Array(a) => a.iter().find_map(|x| x["id"].as_i64()),
        Value::Object(m) => m.values().find_map(first_id),
        _ => None,
    }
}

/// The concrete path of a row in world `w`.
fn concrete(row: &Row, w: &World) -> String {
    let id = if row.path.starts_with("/deploys/") {
        w.deploy.to_string()
    } else if row.path.contains("/deliveries/") {
        w.delivery.to_string()
    } else if row.path.starts_with("/tokens/") {
        w.otto_token.to_string()
    } else if row.path.contains("/metrics/targets/") {
        w.target.to_string()
    } else {
        "no-such-container".to_string()
    };
    let name = if row.path.contains("/variables/") {
        "DB_PASSWORD"
    } else if row.path.contains("/sites/") {
        "www"
    } else {
        "web"
    };
    let path = row
        .path
        .replace("{project}", "shop")
        .replace("{env}", "staging")
        .replace("{service}", "web")
        .replace("{username}", "target")
        .replace("{name}", name)
        .replace("{id}", &id);
    if row.template().ends_with("/versions/diff") {
        format!("{path}?from=1&to=1")
    } else {
        path
    }
}

/// (status, the start of the answer).
async fn call(w: &World, row: &Row, token: Option<&str>) -> (u16, String) {
    let (s, b) = w
        .app
        .api(
            row.method.clone(),
            &concrete(row, w),
            token,
            row.body.clone(),
        )
        .await;
    (s, b.to_string().chars().take(200).collect())
}

fn rank(role: &str) -> usize {
    LADDER
        .iter()
        .position(|(r, _)| *r == role)
        .unwrap_or(LADDER.len())
}

/// The refusals of one row (nothing that a correct server would let change): anonymous, each
/// caller below the row's least, and an instance admin's tokens below its scope.
async fn refusals(w: &World, row: &Row, failures: &mut Vec<String>) {
    let at = format!("access.txt:{} {} {}", row.line, row.method, row.path);
    let (s, b) = call(w, row, None).await;
    if s != 401 {
        failures.push(format!("{at}: anonymous got {s}, not 401: {b}"));
    }
    let least = rank(&row.least);
    for (role, user) in LADDER.iter().take(least) {
        let token = w.app.token(user, row.scope).await;
        let (s, b) = call(w, row, Some(&token)).await;
        // An outsider may be told the project does not exist; a member is told no.
        let refused = s == 403 || (*role == "user" && s == 404);
        if !refused {
            failures.push(format!("{at}: {role} ({user}) got {s}: {b}"));
        }
    }
    for scope in SCOPES {
        if scope >= row.scope && row.least != "session" {
            continue;
        }
        let token = w.app.token("root", scope).await;
        let (s, b) = call(w, row, Some(&token)).await;
        if s != 403 {
            failures.push(format!(
                "{at}: an instance admin's {} token got {s}: {b}",
                scope.as_str()
            ));
        }
    }
}

/// The one call of a row that is allowed: its least caller with its least scope.
async fn allowed(w: &World, row: &Row, failures: &mut Vec<String>) {
    if row.least == "session" {
        return;
    }
    let at = format!("access.txt:{} {} {}", row.line, row.method, row.path);
    let (role, user) = LADDER[rank(&row.least)];
    let token = w.app.token(user, row.scope).await;
    let (s, b) = call(w, row, Some(&token)).await;
    // The container id and the release are made up: "not found" is the answer once allowed.
    let missing_ok = row.path.contains("/containers/{id}") || row.path.ends_with("/rollback");
    if s == 401 || s == 403 || s >= 500 || (s == 404 && !missing_ok) {
        failures.push(format!(
            "{at}: {role} ({user}) with a {} token got {s}: {b}",
            row.scope.as_str()
        ));
    }
}

#[tokio::test]
async fn every_operation_has_a_row_and_is_refused_below_it_and_allowed_from_it() {
    let rows = rows();
    let shared = world().await;
    let (s, doc) = shared
        .app
        .api(Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(s, 200);
    let mut in_doc = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            let path = path.strip_prefix("/api/v1").unwrap_or(path);
            in_doc.insert((method.to_uppercase(), path.to_string()));
        }
    }
    let mut in_table = BTreeSet::new();
    for row in &rows {
        assert!(
            in_table.insert(row.key()),
            "access.txt:{}: {} {} has two rows",
            row.line,
            row.method,
            row.path
        );
    }
    let missing: Vec<_> = in_doc.difference(&in_table).collect();
    assert!(
        missing.is_empty(),
        "operations without a row in access.txt: {missing:?}"
    );
    let stale: Vec<_> = in_table.difference(&in_doc).collect();
    assert!(
        stale.is_empty(),
        "rows of access.txt without an operation: {stale:?}"
    );

    let mut failures = Vec::new();
    // Reads share one world; each other operation gets a fresh one, as its allowed call
    // changes things (deleting the project, say).
    for row in rows.iter().filter(|r| r.method == Method::GET) {
        refusals(&shared, row, &mut failures).await;
        allowed(&shared, row, &mut failures).await;
    }
    drop(shared);
    for row in rows.iter().filter(|r| r.method != Method::GET) {
        let w = world().await;
        refusals(&w, row, &mut failures).await;
        // A refused DELETE that went through anyway leaves this call a 404.
        allowed(&w, row, &mut failures).await;
    }
    assert!(
        failures.is_empty(),
        "{} of the calls were not what access.txt says:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
