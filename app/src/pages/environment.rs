//! One environment: its settings, its variables and secrets (with the project's), and its
//! configuration versions with a diff between any two.
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::components::variables::{merge, VarPerms, VariablesCard};
use crate::components::versions::VersionsCard;
use crate::model::{EnvironmentView, Role};
use crate::serverfns::environments::{
    compare_versions, get_environment, list_versions, UpdateEnvironment,
};
use crate::serverfns::projects::get_project;
use crate::serverfns::variables::{list_variables, DeleteVariable, SetVariable};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
fn SettingsForm(
    e: EnvironmentView,
    can_edit: bool,
    can_protect: bool,
    update: ServerAction<UpdateEnvironment>,
) -> impl IntoView {
    let err = action_error(update);
    view! {
        <section class="card" id="environment-settings">
            <h2>"Settings"</h2>
            <dl class="facts">
                <dt>"Slug"</dt><dd><code>{e.slug.clone()}</code></dd>
                <dt>"Branch"</dt><dd>{if e.branch.is_empty() { "—".to_string() } else { e.branch.clone() }}</dd>
                <dt>"Docker host"</dt><dd>{if e.docker_host.is_empty() { "local engine".to_string() } else { e.docker_host.clone() }}</dd>
                <dt>"Protected"</dt><dd>{if e.protected { "yes" } else { "no" }}</dd>
                <dt>"Edge proxy"</dt><dd>{format!(
                    "nginx on :{}{}{}{}",
                    e.proxy.http_port,
                    e.proxy.https_port.map(|p| format!(" and :{p} (TLS)")).unwrap_or_default(),
                    if e.proxy.redirect_http { ", HTTP → HTTPS" } else { "" },
                    if e.proxy.hsts_max_age > 0 { format!(", HSTS {} s", e.proxy.hsts_max_age) } else { String::new() },
                )}</dd>
            </dl>
            {(!e.docker_tls_missing.is_empty()).then(|| view! {
                <p class="error" id="docker-tls-missing">
                    "This remote Docker host needs its TLS client material as secrets of this environment: "
                    {e.docker_tls_missing.join(", ")}
                </p>
            })}
            {can_edit.then(|| view! {
                <ActionForm action=update attr:id="update-environment" attr:class="row">
                    <input type="hidden" name="project" value=e.project.clone()/>
                    <input type="hidden" name="env" value=e.slug.clone()/>
                    <label>"Name"<input name="name" required maxlength="100" value=e.name.clone()/></label>
                    <label>"Branch"<input name="branch" maxlength="200" value=e.branch.clone()/></label>
                    <label>"nginx HTTP port"<input name="http_port" inputmode="numeric" value=e.proxy.http_port.to_string()/></label>
                    <label>"HTTPS port"<input name="https_port" inputmode="numeric" value=e.proxy.https_port.map(|p| p.to_string()).unwrap_or_default()/></label>
                    <label>"HSTS max-age (s)"<input name="hsts_max_age" inputmode="numeric" value=e.proxy.hsts_max_age.to_string()/></label>
                    <label class="check"><input type="checkbox" name="redirect_http" checked=e.proxy.redirect_http/>"HTTP → HTTPS"</label>
                    {if can_protect {
                        view! {
                            <label>"Docker host"<input name="docker_host" placeholder="local engine" value=e.docker_host.clone()/></label>
                            <label class="check"><input type="checkbox" name="protected" checked=e.protected/>"protected"</label>
                        }.into_any()
                    } else {
                        // Only admins change protection; keep it as it is.
                        view! { <input type="hidden" name="protected" value=if e.protected { "on" } else { "" }/> }.into_any()
                    }}
                    <button type="submit" class="primary">"Save"</button>
                </ActionForm>
                <FieldError err field="name"/>
                <FieldError err field="branch"/>
                <FieldError err field="docker_host"/>
                <FieldError err field="proxy.http_port"/>
                <FieldError err field="proxy.https_port"/>
                <FieldError err field="proxy.hsts_max_age"/>
                <OtherError err fields=&["name", "branch", "docker_host", "proxy.http_port", "proxy.https_port", "proxy.hsts_max_age"]/>
            })}
        </section>
    }
}

#[component]
pub fn EnvironmentPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let env = move || params.read().get("env").unwrap_or_default();
    let num = move |k: &str| {
        query
            .read()
            .get(k)
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    let update = ServerAction::<UpdateEnvironment>::new();
    let set = ServerAction::<SetVariable>::new();
    let delete = ServerAction::<DeleteVariable>::new();
    let changed = move || (set.version().get(), delete.version().get());
    let project = Resource::new(slug, get_project);
    let environment = Resource::new(
        move || (slug(), env(), update.version().get()),
        |(s, e, _)| get_environment(s, e),
    );
    let env_vars = Resource::new(
        move || (slug(), env(), changed()),
        |(s, e, _)| list_variables(s, Some(e)),
    );
    let project_vars = Resource::new(
        move || (slug(), changed()),
        |(s, _)| list_variables(s, None),
    );
    let versions = Resource::new(
        move || (slug(), env(), changed()),
        |(s, e, _)| list_versions(s, e),
    );
    let diff = Resource::new(
        move || (slug(), env(), num("from"), num("to")),
        |(s, e, from, to)| async move {
            match (from, to) {
                (Some(f), Some(t)) => Some(compare_versions(s, e, f, t).await),
                _ => None,
            }
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (p, e) = match (project.await, environment.await) {
                    (Ok(p), Ok(e)) => (p, e),
                    (Err(err), _) | (_, Err(err)) => {
                        return view! { <h1>"Environment"</h1><p class="error">{err.to_string()}</p> }.into_any();
                    }
                };
                let role = p.my_role;
                let perms = VarPerms {
                    edit: role >= Some(Role::Maintainer),
                    reveal: role == Some(Role::Admin),
                };
                let rows = match (env_vars.await, project_vars.await) {
                    (Ok(ev), Ok(pv)) => Ok(merge(ev, pv)),
                    (Err(err), _) | (_, Err(err)) => Err(err),
                };
                let action = format!("/projects/{}/environments/{}", p.slug, e.slug);
                let (from, to) = (num("from"), num("to"));
                let versions = versions.await;
                let diff = diff.await;
                view! {
                    <Title text=format!("{} · {} · Berth", e.name, p.name)/>
                    <p class="crumbs"><a href="/projects">"Projects"</a>" / "<a href=format!("/projects/{}", p.slug)>{p.name.clone()}</a></p>
                    <h1>
                        {e.name.clone()}" "<small class="muted"><code>{e.slug.clone()}</code></small>
                        {e.protected.then(|| view! { <span class="badge protected">"protected"</span> })}
                    </h1>
                    <p class="muted">"Your role: "{role.map(|r| r.to_string()).unwrap_or_default()}
                        {format!(" · configuration v{}", e.config_version)}
                        " · "<a id="stack-link" href=format!("/projects/{}/environments/{}/stack", p.slug, e.slug)>"Services, imports and nginx →"</a></p>
                    <SettingsForm e=e.clone() can_edit=perms.edit can_protect=perms.reveal update/>
                    <VariablesCard rows project=p.slug.clone() env=e.slug.clone() perms set delete/>
                    <VersionsCard versions action from to diff/>
                }.into_any()
            })}
        </Suspense>
    }
}
