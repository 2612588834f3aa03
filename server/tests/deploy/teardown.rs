//! Deleting an environment takes its runtime down: no container, network or nginx route is
//! left running unseen, and a new environment of the same name adopts nothing.
use super::fixture;
use super::stage::{log_text, status, web_service, Stage, SECRET};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn deleting_an_environment_removes_its_containers_and_a_new_one_adopts_nothing() {
    let s = Stage::new("d-teardown").await;
    let d = s.deploy_and_wait(json!({"reason": "first"})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    assert!(!fixture::containers(&s.project, &s.env).is_empty());
    let conf = s.nginx.dir.path().join("berth.conf");
    assert!(std::fs::read_to_string(&conf).unwrap().contains("upstream"));

    let (st, b) = s.call(Method::DELETE, &s.env_path(""), json!(null)).await;
    assert!(st < 300, "{st} {b}");
    assert_eq!(fixture::containers(&s.project, &s.env), vec![]);
    assert!(
        !std::fs::read_to_string(&conf).unwrap().contains("upstream"),
        "nginx still routes to the deleted environment"
    );
    let audit = s.app.audit_actions().await;
    assert!(audit.iter().any(|(a, _, _)| a == "environment.delete"));

    // Leftovers of an older environment with the same slug (started outside the delete, as a
    // crash would leave them) are not adopted by the new one.
    let (st, b) = s
        .call(
            Method::POST,
            &format!("/projects/{}/environments", s.project),
            json!({"name": "Staging", "slug": s.env, "proxy": s.nginx.proxy_settings()}),
        )
        .await;
    assert!(st < 300, "{st} {b}");
    let leftover = format!("berth-{}-leftover", s.project);
    let out = std::process::Command::new("docker")
        .args([
            "run",
            "-d",
            "--name",
            &leftover,
            "--label",
            "berth.managed=1",
        ])
        .args(["--label", &format!("berth.project={}", s.project)])
        .args(["--label", &format!("berth.environment={}", s.env)])
        .args([
            "--label",
            "berth.environment_id=999999",
            "--label",
            "berth.service=web",
        ])
        .args(["--label", "berth.release=1", "--label", "berth.replica=0"])
        .arg("berth-demo:v1")
        .output()
        .expect("docker run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rt = s.runtime().await;
    assert_eq!(rt["containers"], json!([]), "{rt}");
    // A deploy of the new environment leaves the old one's container alone.
    s.set_var("IMAGE_TAG", "v1", false).await;
    s.set_var("DJANGO_SECRET_KEY", SECRET, true).await;
    let (st, b) = s
        .call(Method::PUT, &s.env_path("/services/web"), web_service(1))
        .await;
    assert!(st < 300, "{st} {b}");
    let d = s.deploy_and_wait(json!({"reason": "new"})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    let names: Vec<String> = fixture::containers(&s.project, &s.env)
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert!(names.contains(&leftover), "{names:?}");
    let _ = std::process::Command::new("docker")
        .args(["rm", "-f", &leftover])
        .output();
}

#[tokio::test]
async fn an_environment_with_a_deploy_in_flight_is_not_deleted() {
    let s = Stage::new("d-teardown-busy").await;
    let id = s.deploy(json!({"reason": "slow"})).await;
    let (st, b) = s.call(Method::DELETE, &s.env_path(""), json!(null)).await;
    // Either the deploy is still queued/running (refused), or it already ended (deleted).
    let d = s.get(&format!("/deploys/{id}")).await;
    if st == 409 {
        assert!(b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("queued or running"));
        let d = s.wait(id).await;
        assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
        let (st, b) = s.call(Method::DELETE, &s.env_path(""), json!(null)).await;
        assert!(st < 300, "{st} {b}");
    } else {
        assert!(st < 300, "{st} {b} {d}");
    }
    assert_eq!(fixture::containers(&s.project, &s.env), vec![]);
}
