//! The sweep's world: a project with a protected and an unprotected environment, members of
//! every role, and the ways to call a server function as each of them.
use super::*;

/// A project `shop` with an unprotected environment `staging` and a protected `prod`, an
/// ended deploy in each, the service `web` in both, secrets, a site, a webhook delivery;
/// members of each role; and a token of `target`.
pub(super) struct World {
    pub(super) app: TestApp,
    pub(super) users: BTreeMap<String, i64>,
    /// Placeholder → value.
    pub(super) values: BTreeMap<&'static str, String>,
}

pub(super) async fn world() -> World {
    let app = spawn().await;
    let mut users = BTreeMap::new();
    users.insert(
        "root".to_string(),
        app.user("root", InstanceRole::Admin).await,
    );
    for name in ["otto", "vic", "dee", "max", "ada", "target"] {
        users.insert(name.to_string(), app.user(name, InstanceRole::User).await);
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
    let api = |method: Method, path: String, body: Option<Value>| {
        let app = &app;
        let root = &root;
        async move {
            let (s, b) = app.api(method, &path, Some(root), body).await;
            assert!(s < 300, "fixture {path}: {s} {b}");
            b
        }
    };
    for body in [
        json!({"name": "Staging", "slug": "staging"}),
        json!({"name": "Production", "slug": "prod", "protected": true}),
    ] {
        api(
            Method::POST,
            "/projects/shop/environments".into(),
            Some(body),
        )
        .await;
    }
    // Deploys before there is anything to run: they end at once.
    let mut deploys = Vec::new();
    for env in ["staging", "prod"] {
        let d = api(
            Method::POST,
            format!("/projects/shop/environments/{env}/deploys"),
            Some(json!({})),
        )
        .await;
        deploys.push(d["id"].as_i64().expect("deploy id"));
    }
    // They end before there is a service to start, and nothing runs in the background
    // while refusals are checked for changes.
    let deadline = Instant::now() + Duration::from_secs(30);
    for id in &deploys {
        loop {
            let status: String = sqlx::query_scalar("SELECT status FROM deploys WHERE id = $1")
                .bind(id)
                .fetch_one(&app.state.db.pool)
                .await
                .expect("deploy status");
            if !matches!(status.as_str(), "queued" | "running") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "fixture deploy {id} still {status}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for (path, value) in [
        ("/projects/shop/variables/DB_PASSWORD", "project-secret-1"),
        (
            "/projects/shop/environments/staging/variables/DB_PASSWORD",
            "env-secret-1",
        ),
        ("/projects/shop/variables/GITHUB_WEBHOOK_SECRET", SECRET),
    ] {
        api(
            Method::PUT,
            path.into(),
            Some(json!({"value": value, "secret": true})),
        )
        .await;
    }
    for env in ["staging", "prod"] {
        api(
            Method::PUT,
            format!("/projects/shop/environments/{env}/services/web"),
            Some(json!({"name": "web", "image": "shop:1"})),
        )
        .await;
    }
    api(
        Method::PUT,
        "/projects/shop/sites/www".into(),
        Some(
            json!({"hosts": {"staging": {"primary": "www.example.com", "aliases": []}}, "routes": []}),
        ),
    )
    .await;
    api(
        Method::PUT,
        "/projects/shop/webhook".into(),
        Some(json!({"repository": "acme/shop"})),
    )
    .await;
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
    let list = api(Method::GET, "/projects/shop/deliveries".into(), None).await;
    let delivery = list
        .as_array()
        .or_else(|| {
            list.as_object()
                .and_then(|m| m.values().find_map(Value::as_array))
        })
        .and_then(|a| a.iter().find_map(|x| x["id"].as_i64()))
        .expect("a delivery id");
    let token = own_token(&app, "target").await;
    let values = BTreeMap::from([
        ("{deploy}", deploys[0].to_string()),
        ("{prod_deploy}", deploys[1].to_string()),
        ("{delivery}", delivery.to_string()),
        ("{token}", token.to_string()),
        ("{missing}", "999".to_string()),
    ]);
    World { app, users, values }
}

/// A new API token of `user`; its id.
pub(super) async fn own_token(app: &TestApp, user: &str) -> i64 {
    tokens::create(
        &app.state,
        &Ctx::system(),
        Some(user),
        &format!("sweep-{}", rand::random::<u32>()),
        Scope::Read,
        "",
    )
    .await
    .expect("token")
    .token
    .id
}

/// A fresh signed-in session of `user` (what signing in stores), as its cookie. Fresh for
/// every call: a call may end the session (logout) or replace it (login).
pub(super) async fn session_cookie(w: &World, user: &str) -> String {
    let now = berth_core::now_ms();
    let mut record = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    record.data.insert(USER_ID.into(), json!(w.users[user]));
    record.data.insert(SIGNED_IN_AT.into(), json!(now));
    record.data.insert(SEEN_AT.into(), json!(now));
    DbSessionStore::new(w.app.state.db.clone())
        .create(&mut record)
        .await
        .expect("session");
    format!("berth_session={}", record.id)
}

/// Calls a row's function as `user` (`None`: nobody signed in) the way the hydrated UI does;
/// the status and the answer (AppError's JSON on failure).
pub(super) async fn call(
    w: &World,
    reg: &BTreeMap<String, Registered>,
    row: &Row,
    user: Option<&str>,
) -> (u16, Value) {
    let f = &reg[row.name()];
    let mut form = Vec::new();
    for (k, v) in &row.form {
        let v = match v.as_str() {
            "{own_token}" => match user {
                Some(u) => own_token(&w.app, u).await.to_string(),
                None => w.values["{token}"].clone(),
            },
            p if p.starts_with('{') => w.values[p].clone(),
            _ => v.clone(),
        };
        form.push((k.clone(), v));
    }
    let mut req = plain()
        .request(f.method.clone(), format!("{}{}", w.app.url, f.path))
        .headers(w.app.origin_headers());
    req = if f.method == Method::GET {
        req.query(&form)
    } else {
        req.form(&form)
    };
    if let Some(u) = user {
        req = req.header("cookie", session_cookie(w, u).await);
    }
    let res = req.send().await.expect("server function call");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

pub(super) fn short(v: &Value) -> String {
    v.to_string().chars().take(200).collect()
}
