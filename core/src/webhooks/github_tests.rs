//! Signature, event interpretation and environment choice.
use super::*;
use serde_json::json;

#[test]
fn githubs_published_vector_verifies() {
    // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    let secret = b"It's a Secret to Everybody";
    let body = b"Hello, World!";
    let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert_eq!(sign(secret, body), sig);
    assert_eq!(verify(secret, body, Some(sig)), Signature::Valid);
    assert_eq!(
        verify(secret, b"Hello, World?", Some(sig)),
        Signature::Invalid("does not match the body and the project's secret")
    );
    assert_eq!(
        verify(b"another secret", body, Some(sig)),
        Signature::Invalid("does not match the body and the project's secret")
    );
    assert_eq!(verify(secret, body, None), Signature::Missing);
    assert!(matches!(
        verify(secret, body, Some("sha1=757107")),
        Signature::Invalid(_)
    ));
    assert!(matches!(
        verify(secret, body, Some("sha256=zz")),
        Signature::Invalid(_)
    ));
    let mut tampered = sig.to_string();
    tampered.replace_range(10..11, "8");
    assert!(matches!(
        verify(secret, body, Some(&tampered)),
        Signature::Invalid(_)
    ));
}

fn sha() -> String {
    "6113728f27ae82c7b1a177c8d03f9e96e0adf246".into()
}

#[test]
fn pushes_tags_and_deletions() {
    let push = json!({"ref": "refs/heads/main", "after": sha(), "deleted": false,
        "repository": {"full_name": "octo/site"}, "pusher": {"name": "octocat"},
        "head_commit": {"message": "Fix the feed\n\nLonger text"}});
    let Ask::Deploy(t) = interpret("push", &push) else {
        panic!()
    };
    assert_eq!(
        (t.branch.as_str(), t.actor.as_str(), t.message.as_str()),
        ("main", "octocat", "Fix the feed")
    );
    assert_eq!(t.repository, "octo/site");
    let tag = json!({"ref": "refs/tags/v1.2.0", "after": sha()});
    assert_eq!(
        interpret("push", &tag),
        Ask::Skip("tag `v1.2.0` pushed: tags do not deploy".into())
    );
    let deleted = json!({"ref": "refs/heads/feature", "after": "0000000000000000000000000000000000000000", "deleted": true});
    assert_eq!(
        interpret("push", &deleted),
        Ask::Skip("branch `feature` was deleted".into())
    );
    assert!(
        matches!(interpret("issues", &json!({})), Ask::Skip(r) if r.contains("`issues` is not handled"))
    );
    assert_eq!(interpret("ping", &json!({"zen": "x"})), Ask::Ping);
}

#[test]
fn workflow_runs_deploy_only_when_a_push_run_succeeded_on_the_same_repository() {
    let run = |action: &str, conclusion: &str, event: &str, head: &str| {
        json!({"action": action, "repository": {"full_name": "octo/site"},
            "workflow_run": {"name": "Build", "path": ".github/workflows/build.yml", "conclusion": conclusion,
                "event": event, "head_branch": "main", "head_sha": sha(),
                "head_repository": {"full_name": head}, "actor": {"login": "octocat"},
                "head_commit": {"message": "Build it"}}})
    };
    let Ask::Deploy(t) = interpret(
        "workflow_run",
        &run("completed", "success", "push", "octo/site"),
    ) else {
        panic!()
    };
    assert_eq!(
        (t.kind, t.workflow.as_str(), t.sha.as_str()),
        ("workflow_run", "Build", sha().as_str())
    );
    for (v, why) in [
        (run("requested", "", "push", "octo/site"), "requested"),
        (
            run("completed", "failure", "push", "octo/site"),
            "concluded `failure`",
        ),
        (
            run("completed", "success", "pull_request", "octo/site"),
            "`pull_request` event",
        ),
        (
            run("completed", "success", "push", "mallory/site"),
            "a fork",
        ),
    ] {
        assert!(
            matches!(interpret("workflow_run", &v), Ask::Skip(r) if r.contains(why)),
            "{why}"
        );
    }
}

#[test]
fn choosing_explains_what_is_not_deployed() {
    let env = |slug: &str, branch: &str, trigger: &str, workflow: &str| Target {
        id: 1,
        slug: slug.into(),
        protected: false,
        branch: branch.into(),
        trigger: trigger.into(),
        workflow: workflow.into(),
    };
    let targets = [
        env("staging", "staging", "push", ""),
        env("production", "main", "workflow_run", "build.yml"),
    ];
    let t = |kind: &'static str, branch: &str, workflow: &str| Trigger {
        kind,
        repository: "o/r".into(),
        branch: branch.into(),
        sha: sha(),
        actor: "a".into(),
        message: String::new(),
        workflow: workflow.into(),
        workflow_path: format!(".github/workflows/{workflow}.yml"),
    };
    let (c, _) = choose(&t("push", "staging", ""), &targets);
    assert_eq!(c.len(), 1);
    let (c, n) = choose(&t("push", "main", ""), &targets);
    assert!(c.is_empty());
    assert_eq!(
        n,
        vec!["`production` deploys on workflow_run, not on push".to_string()]
    );
    let (c, _) = choose(&t("workflow_run", "main", "build"), &targets);
    assert_eq!(c[0].slug, "production");
    let (c, n) = choose(&t("workflow_run", "main", "lint"), &targets);
    assert!(c.is_empty() && n[0].contains("waits for workflow `build.yml`"));
    let (_, n) = choose(&t("push", "feature/x", ""), &targets);
    assert_eq!(n, vec!["no environment deploys branch `feature/x` (deploy branches: staging → staging, main → production)".to_string()]);
}

#[test]
fn a_run_without_a_name_is_named_by_its_workflow_or_its_file() {
    // GitHub's own example `workflow_run` payload has `"name": ""` on the run.
    let run = |run_name: &str, workflow_name: Option<&str>| {
        let mut v = json!({"action": "requested", "repository": {"full_name": "octo/site"},
            "workflow_run": {"name": run_name, "path": ".github/workflows/build.yml",
                "event": "push", "head_branch": "main", "head_sha": sha()}});
        if let Some(n) = workflow_name {
            v["workflow"] = json!({"name": n, "path": ".github/workflows/build.yml"});
        }
        v
    };
    let reason = |v: &serde_json::Value| match interpret("workflow_run", v) {
        Ask::Skip(r) => r,
        other => panic!("{other:?}"),
    };
    assert!(
        reason(&run("", Some("Build and test"))).contains("workflow `Build and test` requested")
    );
    assert!(reason(&run("", None)).contains("workflow `.github/workflows/build.yml` requested"));
    assert!(reason(&run("CI", Some("Build and test"))).contains("workflow `CI` requested"));
    let mut done = run("", Some("Build and test"));
    done["action"] = json!("completed");
    done["workflow_run"]["conclusion"] = json!("success");
    let Ask::Deploy(t) = interpret("workflow_run", &done) else {
        panic!()
    };
    assert_eq!(t.workflow, "Build and test");
}
