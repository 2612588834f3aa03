//! What reaches a container's environment: every container and pre-deploy job Berth starts
//! is inspected on the engine while the deploy runs. Berth's own names (and values made of
//! them) never get in, and a service with a list gets no other variable.
use super::stage::{log_text, status, web_service, Stage, SECRET};
use bollard::query_parameters::ListContainersOptions;
use bollard::Docker;
use reqwest::Method;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

const REGISTRY_PW: &str = "registry-pw-0d1a26e67d8f";
const HOOK_SECRET: &str = "hook-secret-5eaf1f6ba5c5";
const BERTH_VALUE: &str = "berth-channel-token-7fc3c7d9";
const WORKER_ONLY: &str = "worker-only-value-91ac0fd1c";

/// (container name, role label, environment) of every container of the project seen so far.
type Seen = BTreeMap<String, (String, Vec<String>)>;

async fn look(docker: &Docker, project: &str, seen: &mut Seen) {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("berth.project={project}")],
    )]);
    let Ok(list) = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        }))
        .await
    else {
        return;
    };
    for c in list {
        let Some(id) = c.id else { continue };
        if seen.contains_key(&id) {
            continue;
        }
        // A job may be gone between the listing and the inspection: look again next round.
        if let Ok(info) = docker.inspect_container(&id, None).await {
            let config = info.config.unwrap_or_default();
            let role = config
                .labels
                .unwrap_or_default()
                .get("berth.role")
                .cloned()
                .unwrap_or_default();
            let name = info.name.unwrap_or_default();
            seen.insert(
                id,
                (format!("{name} ({role})"), config.env.unwrap_or_default()),
            );
        }
    }
}

#[tokio::test]
async fn no_container_or_job_receives_berths_names_or_a_secret_it_was_not_given() {
    let s = Stage::new("d-envs").await;
    s.set_var("REGISTRY_PASSWORD", REGISTRY_PW, true).await;
    s.set_var("GITHUB_WEBHOOK_SECRET", HOOK_SECRET, true).await;
    s.set_var("BERTH_CHANNEL_TOKEN", BERTH_VALUE, true).await;
    // A plain variable made of a reserved one is withheld like it.
    s.set_var("PULL_AUTH", "ci:${REGISTRY_PASSWORD}", false)
        .await;
    s.set_var("WORKER_ONLY", WORKER_ONLY, true).await;
    // `web` receives every application variable; its migration job runs long enough to be
    // inspected while it runs.
    let mut web = web_service(1);
    web["env"]["DEMO_MIGRATE_MS"] = json!("3000");
    let (st, b) = s.call(Method::PUT, &s.env_path("/services/web"), web).await;
    assert!(st < 300, "{st} {b}");
    // `worker` receives only what it lists, and its own reference.
    let (st, b) = s
        .call(
            Method::PUT,
            &s.env_path("/services/worker"),
            json!({
                "name": "worker", "image": "berth-demo:${IMAGE_TAG}", "replicas": 1,
                "inherit": ["IMAGE_TAG"],
                "env": { "TOKEN": "${WORKER_ONLY}" },
            }),
        )
        .await;
    assert!(st < 300, "{st} {b}");

    let docker = Docker::connect_with_local_defaults().expect("docker");
    let id = s.deploy(json!({"reason": "inspect"})).await;
    let mut seen = Seen::new();
    let detail = loop {
        look(&docker, &s.project, &mut seen).await;
        let d = s.get(&format!("/deploys/{id}")).await;
        if !matches!(d["deploy"]["status"].as_str(), Some("queued" | "running")) {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status(&detail), "succeeded", "{}", log_text(&detail));
    look(&docker, &s.project, &mut seen).await;

    let roles: Vec<&str> = seen.values().map(|(n, _)| n.as_str()).collect();
    assert!(
        roles.iter().any(|n| n.ends_with("(job)")),
        "no job seen: {roles:?}"
    );
    assert!(roles.iter().any(|n| n.contains("-worker-")), "{roles:?}");
    assert!(roles.iter().any(|n| n.contains("-web-")), "{roles:?}");
    for (name, env) in seen.values() {
        let text = env.join("\n");
        for reserved in [
            "REGISTRY_PASSWORD=",
            "GITHUB_WEBHOOK_SECRET=",
            "BERTH_",
            "PULL_AUTH=",
        ] {
            assert!(
                !env.iter().any(|e| e.starts_with(reserved)),
                "{name} received {reserved}"
            );
        }
        for value in [REGISTRY_PW, HOOK_SECRET, BERTH_VALUE] {
            assert!(!text.contains(value), "{name} received a value of Berth's");
        }
        if name.contains("-worker-") {
            let names: Vec<&str> = env
                .iter()
                .filter_map(|e| e.split_once('=').map(|(k, _)| k))
                // What the engine and the demo image set themselves.
                .filter(|k| !matches!(*k, "PATH" | "HOSTNAME" | "HOME" | "DEMO_VERSION" | "PORT"))
                .collect();
            assert_eq!(names, vec!["IMAGE_TAG", "TOKEN"], "{name}: {names:?}");
            assert!(!text.contains(SECRET), "{name} received DJANGO_SECRET_KEY");
            assert!(text.contains(&format!("TOKEN={WORKER_ONLY}")));
        } else {
            assert!(
                text.contains(&format!("DJANGO_SECRET_KEY={SECRET}")),
                "{name}"
            );
            assert!(
                text.contains(&format!("WORKER_ONLY={WORKER_ONLY}")),
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn a_service_that_names_a_reserved_variable_is_refused_at_input() {
    let s = Stage::new("d-envs-in").await;
    for (body, field) in [
        (
            json!({"name": "w", "image": "a", "inherit": ["REGISTRY_PASSWORD"]}),
            "inherit",
        ),
        (
            json!({"name": "w", "image": "a", "env": {"X": "${DOCKER_TLS_CLIENT_KEY}"}}),
            "env",
        ),
        (
            json!({"name": "w", "image": "a", "env": {"BERTH_X": "1"}}),
            "env",
        ),
        (
            json!({"name": "w", "image": "a", "pre_deploy": [{"name": "../../x", "command": ["a"]}]}),
            "pre_deploy",
        ),
    ] {
        let (st, b) = s.call(Method::PUT, &s.env_path("/services/w"), body).await;
        assert_eq!(st, 422, "{b}");
        assert_eq!(b["error"]["field"], field, "{b}");
    }
}
