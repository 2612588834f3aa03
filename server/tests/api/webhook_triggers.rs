//! Pushes and workflow runs deploying the mapped environments, skips explained, duplicates,
//! the repository filter, the deliveries API and replays.
use crate::webhooks::{deploys, json_delivery, payload, world};
use reqwest::Method;
use serde_json::{json, Value};

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
