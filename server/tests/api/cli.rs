//! The `berth` command line against the same databases.
use crate::support::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn berth(app: &TestApp, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env("BERTH_DATA_DIR", app.data_dir.path())
        .env("BERTH_DATABASE_URL", app.database_url())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run berth");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn admin_create_reads_the_password_from_stdin_and_never_prints_it() {
    let app = spawn().await;
    let secret = "a-very-secret-password-42";
    let (code, out, err) = berth(
        &app,
        &[
            "admin",
            "create",
            "--username",
            "Root",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some(&format!("{secret}\n")),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains(secret) && !err.contains(secret));
    assert!(app
        .login(&browser(), "root", secret)
        .await
        .status()
        .is_success());
    let (code, _, err) = berth(
        &app,
        &["admin", "create", "--username", "xx", "--password-stdin"],
        Some("short\n"),
    );
    assert_ne!(code, 0);
    assert!(err.contains("password"), "{err}");
}

#[tokio::test]
async fn token_create_prints_a_working_token_once() {
    let app = spawn().await;
    app.user("ci", berth_model::InstanceRole::User).await;
    let (code, out, err) = berth(
        &app,
        &[
            "token",
            "create",
            "--username",
            "ci",
            "--name",
            "gha",
            "--scope",
            "deploy",
            "--expires-in",
            "30d",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let token = out.trim();
    let (status, me) = app
        .api(reqwest::Method::GET, "/me", Some(token), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "ci");
}

#[tokio::test]
async fn audit_verify_exits_non_zero_on_a_broken_chain() {
    let app = spawn().await;
    app.user("aa", berth_model::InstanceRole::User).await;
    app.user("bb", berth_model::InstanceRole::User).await;
    let (code, out, _) = berth(&app, &["audit", "verify"], None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"));
    sqlx::query("UPDATE audit_events SET action = 'x' WHERE seq = 1")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let (code, out, _) = berth(&app, &["audit", "verify"], None);
    assert_eq!(code, 1);
    assert!(out.contains("event 1"), "{out}");
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let app = spawn().await;
    let (code, out, err) = berth(&app, &["migrate"], None);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, _) = berth(&app, &["migrate"], None);
    assert_eq!(code, 0);
}

#[tokio::test]
async fn rotate_key_reseals_secrets_and_the_running_server_still_opens_them() {
    let app = spawn().await;
    app.user("root", berth_model::InstanceRole::Admin).await;
    app.project("shop").await;
    let t = app.token("root", berth_model::Scope::Write).await;
    let (s, _) = app
        .api(
            reqwest::Method::PUT,
            "/projects/shop/variables/API_KEY",
            Some(&t),
            Some(serde_json::json!({"value": "value-before-rotation", "secret": true})),
        )
        .await;
    assert_eq!(s, 200);
    let before: String = sqlx::query_scalar("SELECT key_id FROM variables WHERE name = 'API_KEY'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let (code, out, err) = berth(&app, &["secrets", "rotate-key"], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("re-sealed 1 secrets"), "{out}");
    let after: String = sqlx::query_scalar("SELECT key_id FROM variables WHERE name = 'API_KEY'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_ne!(before, after);
    // This server was started with the old key only; it picks the new one up from the file.
    let (s, v) = app
        .api(
            reqwest::Method::POST,
            "/projects/shop/variables/API_KEY/reveal",
            Some(&t),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["value"], "value-before-rotation");
    let key_file = std::fs::read_to_string(app.data_dir.path().join("master.key")).unwrap();
    assert_eq!(
        key_file.lines().filter(|l| !l.starts_with('#')).count(),
        2,
        "old key kept"
    );
}
