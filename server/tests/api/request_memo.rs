//! A request remembers what it looked up (`berth_core::memo`), and forgets it when one of its
//! own writes commits: a request that changes something and reads it back sees the change.
use crate::support::*;
use berth_core::{deploy, environments, users, variables, Actor, Ctx, RequestMeta};
use berth_model::InstanceRole;

async fn one_request(app: &TestApp, user: &str) -> Ctx {
    let u = users::find_by_name(&app.state.db, user)
        .await
        .unwrap()
        .expect("user");
    Ctx::for_request(Actor::User(u.auth()), RequestMeta::default())
}

#[tokio::test]
async fn a_request_reads_back_its_own_writes() {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    app.project("shop").await;
    let token = app.token("root", berth_model::Scope::Write).await;
    app.environment("shop", "staging", &token).await;
    let ctx = one_request(&app, "root").await;
    let (s, ctx) = (&app.state, &ctx);

    // The environment's latest configuration version moves with a variable written in the
    // same request.
    let before = environments::get(s, ctx, "shop", "staging").await.unwrap();
    let scope = variables::Scope::Environment("shop", "staging");
    variables::set(s, ctx, scope, "DEBUG", Some("1"), false)
        .await
        .unwrap();
    let after = environments::get(s, ctx, "shop", "staging").await.unwrap();
    assert!(
        after.config_version > before.config_version,
        "{} then {}",
        before.config_version,
        after.config_version
    );

    // Deploy settings, read through the memo, then changed and read again.
    let mut settings = deploy::settings::settings(s, ctx, "shop", "staging")
        .await
        .unwrap();
    let kept = deploy::releases(s, ctx, "shop", "staging").await.unwrap();
    assert!(kept.is_empty());
    settings.keep_releases = if settings.keep_releases == 7 { 8 } else { 7 };
    let want = settings.keep_releases;
    deploy::settings::set_settings(s, ctx, "shop", "staging", settings)
        .await
        .unwrap();
    let read = deploy::settings::settings(s, ctx, "shop", "staging")
        .await
        .unwrap();
    assert_eq!(read.keep_releases, want);

    // Renaming the environment in the same request shows the new name.
    let mut input = environments::EnvironmentInput {
        name: String::new(),
        slug: after.slug.clone(),
        protected: after.protected,
        branch: after.branch.clone(),
        docker_host: after.docker_host.clone(),
        proxy: after.proxy.clone(),
    };
    for name in ["Staging two", "Staging"] {
        input.name = name.into();
        environments::update(s, ctx, "shop", "staging", input.clone())
            .await
            .unwrap();
        let now = environments::get(s, ctx, "shop", "staging").await.unwrap();
        assert_eq!(now.name, name);
    }
}
