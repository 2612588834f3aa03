//! A storm of bad logins: attempts are counted before any password is hashed, hashing is
//! bounded, and the server keeps answering other pages meanwhile.
use crate::support::*;
use berth_core::error::ServiceError;
use berth_core::{password, setup, Ctx};
use berth_model::InstanceRole;
use leptos::server_fn::ServerFn;
use std::time::Duration;
use tokio::task::JoinSet;

const STORM: usize = 200;
/// Generous: a page that waits behind the storm's hashes would take far longer.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// Starts `STORM` concurrent bad logins; `account(i)` names the account of the i-th.
fn storm(app: &TestApp, account: impl Fn(usize) -> String) -> JoinSet<u16> {
    let url = format!("{}{}", app.url, app::serverfns::auth::Login::PATH);
    let origin = app.url.clone();
    let mut set = JoinSet::new();
    for i in 0..STORM {
        let (url, origin, user) = (url.clone(), origin.clone(), account(i));
        set.spawn(async move {
            let res = browser()
                .post(url)
                .header("origin", origin)
                .form(&[
                    ("username", user.as_str()),
                    ("password", "wrong-password-x"),
                ])
                .send()
                .await
                .expect("login answered");
            res.status().as_u16()
        });
    }
    set
}

async fn answers_meanwhile(app: &TestApp) {
    for path in ["/healthz", "/login"] {
        let res = tokio::time::timeout(
            ANSWER_WITHIN,
            plain().get(format!("{}{path}", app.url)).send(),
        )
        .await
        .unwrap_or_else(|_| panic!("{path} did not answer during the storm"))
        .expect("answered");
        assert!(res.status().as_u16() < 500 || path == "/healthz", "{path}");
    }
}

async fn finish(mut set: JoinSet<u16>) {
    while let Some(status) = set.join_next().await {
        let status = status.expect("task");
        assert!(matches!(status, 422 | 429), "a bad login got {status}");
    }
}

async fn passwords_checked(app: &TestApp) -> usize {
    app.audit_actions()
        .await
        .iter()
        .filter(|(a, _, r)| a == "auth.login" && r == "failure")
        .count()
}

#[tokio::test]
async fn a_storm_on_one_account_hashes_only_until_the_throttle_refuses() {
    let app = spawn().await;
    app.user("alice", InstanceRole::User).await;
    let set = storm(&app, |_| "alice".into());
    answers_meanwhile(&app).await;
    finish(set).await;
    let checked = passwords_checked(&app).await;
    assert!(checked <= 5, "{checked} passwords were checked");
}

#[tokio::test]
async fn a_storm_on_unknown_accounts_from_one_address_is_bounded_by_the_address() {
    let app = spawn().await;
    let set = storm(&app, |i| format!("nobody-{i}"));
    answers_meanwhile(&app).await;
    finish(set).await;
    let checked = passwords_checked(&app).await;
    assert!(checked <= 30, "{checked} passwords were checked");
}

#[tokio::test]
async fn a_bad_setup_token_is_refused_before_any_password_is_hashed() {
    let app = spawn().await;
    setup::issue_if_needed(&app.state)
        .await
        .unwrap()
        .expect("token");
    // With every hash slot taken, a path that hashes first would wait here.
    let held = password::hold_every_slot().await;
    let refused = tokio::time::timeout(
        ANSWER_WITHIN,
        setup::complete(
            &app.state,
            &Ctx::system(),
            "not-the-token",
            "root",
            PASSWORD,
        ),
    )
    .await
    .expect("refused without waiting for a hash");
    drop(held);
    assert!(
        matches!(&refused, Err(ServiceError::Invalid { field, .. }) if field == "token"),
        "{refused:?}"
    );
    assert_eq!(app.count("users").await, 0);
}
