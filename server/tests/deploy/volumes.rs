//! Named volumes belong to one environment: staging never writes to production's data, a
//! volume this environment did not create is refused, and a volume made before Berth
//! namespaced them keeps serving the service that uses it.
use super::fixture;
use super::stage::{log_text, status, Stage};
use reqwest::Method;
use serde_json::{json, Value};
use std::process::Command;

/// A service that writes `mark` into its volume `source` (mounted at /tmp) and stays up.
fn store(source: &str, mark: &str) -> Value {
    json!({
        "name": "store",
        "image": fixture::db_image(),
        "replicas": 1,
        "command": ["sh", "-c", format!("[ -f /tmp/mark ] || echo {mark} > /tmp/mark; exec sleep 1000000")],
        "inherit": [],
        "volumes": [{ "source": source, "target": "/tmp" }],
    })
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The running `store` container of an environment: (id, volume names it mounts).
fn store_container(project: &str, env: &str) -> (String, Vec<String>) {
    let id = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=berth.project={project}"),
        "--filter",
        &format!("label=berth.environment={env}"),
        "--filter",
        "label=berth.service=store",
    ]);
    assert!(
        !id.is_empty() && !id.contains('\n'),
        "one store in {env}: {id:?}"
    );
    let volumes = docker(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}",
        &id,
    ]);
    (id, volumes.split_whitespace().map(String::from).collect())
}

async fn put(s: &Stage, path: &str, body: Value) {
    let (code, b) = s.call(Method::PUT, path, body).await;
    assert!(code < 300, "{path}: {b}");
}

#[tokio::test]
async fn each_environment_has_its_own_volumes_and_never_adopts_a_foreign_one() {
    let s = Stage::new("d-vol").await;
    let p = s.project.clone();
    let (code, b) = s
        .call(
            Method::POST,
            &format!("/projects/{p}/environments"),
            json!({"name": "Production", "slug": "production"}),
        )
        .await;
    assert!(code < 300, "{b}");
    let prod = |rest: &str| format!("/projects/{p}/environments/production{rest}");
    put(
        &s,
        &s.env_path("/services/store"),
        store("files", "staging"),
    )
    .await;
    put(&s, &prod("/services/store"), store("files", "production")).await;

    let d = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    let (code, b) = s.call(Method::POST, &prod("/deploys"), json!({})).await;
    assert_eq!(code, 202, "{b}");
    let d = s.wait(b["id"].as_i64().unwrap()).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));

    // The same volume name in the spec, two Docker volumes, two contents.
    let (staging, sv) = store_container(&p, "staging");
    let (production, pv) = store_container(&p, "production");
    assert_eq!(sv, [format!("berth-{p}-staging-files")]);
    assert_eq!(pv, [format!("berth-{p}-production-files")]);
    assert_eq!(docker(&["exec", &staging, "cat", "/tmp/mark"]), "staging");
    assert_eq!(
        docker(&["exec", &production, "cat", "/tmp/mark"]),
        "production"
    );
    assert_eq!(
        docker(&[
            "volume",
            "inspect",
            "-f",
            "{{index .Labels \"berth.environment\"}}/{{index .Labels \"berth.volume\"}}",
            &pv[0]
        ]),
        "production/files"
    );
    // A volume of this environment's name that it did not create (made by hand here; a
    // deleted environment of the same slug leaves the same) is refused, not mounted.
    let foreign = format!("berth-{p}-production-cache");
    docker(&["volume", "create", &foreign]);
    let _guard = fixture::VolumeGuard(foreign.clone());
    let mut other = store("cache", "x");
    other["name"] = json!("other");
    put(&s, &prod("/services/other"), other).await;
    let (code, b) = s.call(Method::POST, &prod("/deploys"), json!({})).await;
    assert_eq!(code, 202, "{b}");
    let d = s.wait(b["id"].as_i64().unwrap()).await;
    let log = log_text(&d);
    assert_ne!(status(&d), "succeeded", "{log}");
    assert!(
        log.contains(&format!(
            "the volume {foreign} exists but this environment did not create it"
        )),
        "{log}"
    );
    // Production's store kept running, on its own volume.
    let (still, _) = store_container(&p, "production");
    assert_eq!(still, production);
}

#[tokio::test]
async fn a_volume_from_before_namespacing_keeps_serving_its_service() {
    let s = Stage::new("d-legacy").await;
    let p = s.project.clone();
    let source = format!("{p}-files");
    put(&s, &s.env_path("/services/store"), store(&source, "new")).await;
    let d = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    let (id, volumes) = store_container(&p, &s.env);
    assert_eq!(volumes, [format!("berth-{p}-staging-{source}")]);

    // What an earlier Berth left: the same container, its labels, the bare volume name,
    // holding the data.
    let _guard = fixture::VolumeGuard(source.clone());
    let labels = docker(&[
        "inspect",
        "-f",
        "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}\n{{end}}",
        &id,
    ]);
    let name = docker(&["inspect", "-f", "{{.Name}}", &id]);
    docker(&["rm", "-f", &id]);
    let mut run = vec![
        "run".to_string(),
        "-d".into(),
        "--name".into(),
        name.trim_start_matches('/').to_string(),
        "-v".into(),
        format!("{source}:/tmp"),
    ];
    for l in labels.lines().filter(|l| !l.is_empty()) {
        run.push("--label".into());
        run.push(l.to_string());
    }
    run.extend([
        fixture::db_image().to_string(),
        "sh".into(),
        "-c".into(),
        "echo legacy > /tmp/mark; exec sleep 1000000".into(),
    ]);
    docker(&run.iter().map(String::as_str).collect::<Vec<_>>());

    // The next deploy replaces the container (its fingerprint is not this spec's), and the new one mounts the volume with the data.
    let d = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    let (new, volumes) = store_container(&p, &s.env);
    assert_ne!(new, id);
    assert_eq!(volumes, std::slice::from_ref(&source));
    assert_eq!(docker(&["exec", &new, "cat", "/tmp/mark"]), "legacy");
}

#[tokio::test]
async fn an_external_volume_of_one_service_is_not_another_services_own() {
    let s = Stage::new("d-extvol").await;
    let p = s.project.clone();
    // An instance admin mounts the volume `<p>-shared` into `store` as external.
    let shared = format!("{p}-shared");
    docker(&["volume", "create", &shared]);
    let _guard = fixture::VolumeGuard(shared.clone());
    let mut spec = store(&shared, "admin");
    spec["volumes"][0]["external"] = json!(true);
    put(&s, &s.env_path("/services/store"), spec).await;
    let d = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    let (_, volumes) = store_container(&p, &s.env);
    assert_eq!(volumes, std::slice::from_ref(&shared));

    // Another service names the same volume as one of its own (no admin needed for that): it
    // gets this environment's volume of that name, not the external one.
    let mut other = store(&shared, "other");
    other["name"] = json!("other");
    put(&s, &s.env_path("/services/other"), other).await;
    let d = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    let id = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=berth.project={p}"),
        "--filter",
        "label=berth.service=other",
    ]);
    let mounts = docker(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}",
        &id,
    ]);
    assert_eq!(mounts, format!("berth-{p}-{}-{shared}", s.env));

    // Nor does the external volume become `store`'s own when the admin's mark is taken away:
    // the spec then names an own volume, which is this environment's.
    put(&s, &s.env_path("/services/store"), store(&shared, "own")).await;
    let d = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    let (_, volumes) = store_container(&p, &s.env);
    assert_eq!(volumes, [format!("berth-{p}-{}-{shared}", s.env)]);
}
