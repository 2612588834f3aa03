//! One environment: deploying it and its current release, its settings (with how deploys
//! behave, how nginx is driven, the watchdog), its variables and secrets (with the
//! project's), and its configuration versions with a diff between any two.
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::components::spec_text::command_text;
use crate::components::variables::{merge, VarPerms, VariablesCard};
use crate::components::versions::VersionsCard;
use crate::model::{fmt_ms, EnvironmentView, ReleaseView, Role, WatchdogView};
use crate::serverfns::deploys::{
    get_deploy_settings, get_watchdog, list_releases, SaveDeploySettings, SaveProxyManager,
    SaveWatchdog, StartDeploy,
};
use crate::serverfns::environments::{
    compare_versions, get_environment, list_versions, UpdateEnvironment,
};
use crate::serverfns::projects::get_project;
use crate::serverfns::variables::{list_variables, DeleteVariable, SetVariable};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use stack::model::DeploySettings;

/// The current release, links to deploys and containers, and (for deployers) the Deploy form.
#[component]
fn DeployCard(
    e: EnvironmentView,
    current: Option<ReleaseView>,
    can_deploy: bool,
    start: ServerAction<StartDeploy>,
) -> impl IntoView {
    let err = action_error(start);
    let base = format!("/projects/{}/environments/{}", e.project, e.slug);
    view! {
        <section class="card" id="deploy-card">
            <h2>"Deploy"</h2>
            <p id="current-release">{match current {
                Some(r) => view! {
                    "Release "<strong>{format!("#{}", r.number)}</strong>" is current"
                    {r.deployed_at.map(|t| format!(", deployed {}", fmt_ms(t)))}
                    {format!(" by {} · configuration v{}", r.actor, r.config_version)}
                    {(!r.git_sha.is_empty()).then(|| view! { " · "<code>{r.git_sha.chars().take(12).collect::<String>()}</code> })}
                }.into_any(),
                None => view! { <span class="muted">"Nothing is deployed yet."</span> }.into_any(),
            }}</p>
            <p><a id="deploys-link" href=format!("{base}/deploys")>"Deploys & releases →"</a>" · "
                <a id="containers-link" href=format!("{base}/containers")>"Containers →"</a>" · "<a id="metrics-link" href=format!("{base}/metrics")>"Metrics →"</a></p>
            {can_deploy.then(|| view! {
                <ActionForm action=start attr:id="deploy-form" attr:class="row">
                    <input type="hidden" name="project" value=e.project.clone()/>
                    <input type="hidden" name="env" value=e.slug.clone()/>
                    <label class="grow">"Reason"<input name="reason" maxlength="500" placeholder="what changes"/></label>
                    <label>"Git SHA"<input name="git_sha" maxlength="64" placeholder="optional" spellcheck="false"/></label>
                    <button type="submit" class="primary">"Deploy"</button>
                </ActionForm>
                <FieldError err field="reason"/>
                <FieldError err field="git_sha"/>
                <OtherError err fields=&["reason", "git_sha"]/>
            })}
        </section>
    }
}

const SETTINGS_FIELDS: [(&str, &str); 8] = [
    ("pull_timeout_secs", "Pull timeout (s)"),
    ("ready_timeout_secs", "Ready timeout (s)"),
    ("gate_timeout_secs", "Health gate timeout (s)"),
    ("gate_interval_secs", "Health gate interval (s)"),
    ("drain_secs", "Drain (s)"),
    ("stop_grace_secs", "Stop grace (s)"),
    ("job_timeout_secs", "Job timeout (s)"),
    ("keep_releases", "Releases kept"),
];

#[component]
fn DeploySettingsForm(
    project: String,
    env: String,
    s: DeploySettings,
    can_edit: bool,
    save: ServerAction<SaveDeploySettings>,
) -> impl IntoView {
    let err = action_error(save);
    let values = [
        s.pull_timeout_secs,
        s.ready_timeout_secs,
        s.gate_timeout_secs,
        s.gate_interval_secs,
        s.drain_secs,
        s.stop_grace_secs,
        s.job_timeout_secs,
        s.keep_releases,
    ];
    let always = s.pull_policy == "always";
    view! {
        // Open when the last save failed, so that its error shows.
        <details class="card" id="deploy-settings-card" open=move || err.get().is_some()>
            <summary><h2 class="inline">"Deploy settings"</h2></summary>
            <ActionForm action=save attr:id="deploy-settings">
                <input type="hidden" name="project" value=project/>
                <input type="hidden" name="env" value=env/>
                <div class="row">
                    <label>"Pull policy"
                        <select name="pull_policy" disabled=!can_edit>
                            <option value="if_missing" selected=!always>"if missing"</option>
                            <option value="always" selected=always>"always"</option>
                        </select>
                    </label>
                    <label>"Webhook deploys on"
                        <select name="trigger" disabled=!can_edit>
                            {[("push", "push to the branch"), ("workflow_run", "successful workflow run"), ("manual", "never (manual only)")].into_iter().map(|(v, l)| view! {
                                <option value=v selected=s.trigger == v>{l}</option>
                            }).collect_view()}
                        </select>
                        <FieldError err field="trigger"/>
                    </label>
                    <label>"Workflow (optional)"<input name="workflow" value=s.workflow.clone() placeholder="any workflow" spellcheck="false" readonly=!can_edit/>
                        <FieldError err field="workflow"/></label>
                    {SETTINGS_FIELDS.into_iter().zip(values).map(|((name, label), v)| view! {
                        <label>{label}<input name=name inputmode="numeric" size="6" value=v readonly=!can_edit/>
                            <FieldError err field=name/></label>
                    }).collect_view()}
                </div>
                {can_edit.then(|| view! { <button type="submit" class="primary">"Save deploy settings"</button> })}
                <OtherError err fields=&["pull_timeout_secs", "ready_timeout_secs", "gate_timeout_secs", "gate_interval_secs", "drain_secs", "stop_grace_secs", "job_timeout_secs", "keep_releases", "trigger", "workflow"]/>
            </ActionForm>
        </details>
    }
}

/// How deploys install the generated nginx configuration and reload nginx (admins).
#[component]
fn ProxyManagerForm(e: EnvironmentView, save: ServerAction<SaveProxyManager>) -> impl IntoView {
    let err = action_error(save);
    let m = e.proxy.manager.clone();
    let mode = m.mode.clone();
    view! {
        <details class="card" id="proxy-manager-card" open=move || err.get().is_some()>
            <summary><h2 class="inline">"nginx manager"</h2></summary>
            <p class="muted small">"host: nginx on this machine, driven by the commands below · container: an nginx container, driven through Docker · none: upstreams are not switched."</p>
            <ActionForm action=save attr:id="proxy-manager">
                <input type="hidden" name="project" value=e.project.clone()/>
                <input type="hidden" name="env" value=e.slug.clone()/>
                <div class="row">
                    <label>"Mode"
                        <select name="mode">
                            {[("", "none"), ("host", "host"), ("container", "container")].into_iter().map(|(v, l)| view! {
                                <option value=v selected=mode == v>{l}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label class="grow">"Config path"<input name="config_path" value=m.config_path placeholder="/etc/nginx/conf.d/berth.conf" spellcheck="false"/></label>
                    <label>"Container"<input name="container" value=m.container placeholder="nginx" spellcheck="false"/></label>
                </div>
                <div class="row">
                    <label class="grow">"Test command"<input name="test_command" value=command_text(&m.test_command) placeholder="nginx -t" spellcheck="false"/></label>
                    <label class="grow">"Reload command"<input name="reload_command" value=command_text(&m.reload_command) placeholder="nginx -s reload" spellcheck="false"/></label>
                </div>
                <button type="submit" class="primary">"Save nginx manager"</button>
                <FieldError err field="mode"/>
                <FieldError err field="test_command"/>
                <FieldError err field="reload_command"/>
                <OtherError err fields=&["mode", "test_command", "reload_command"]/>
            </ActionForm>
        </details>
    }
}

#[component]
fn WatchdogForm(
    project: String,
    env: String,
    w: WatchdogView,
    can_edit: bool,
    save: ServerAction<SaveWatchdog>,
) -> impl IntoView {
    let err = action_error(save);
    view! {
        <section class="card" id="watchdog-card">
            <h2>"Watchdog"</h2>
            <p class="small" id="watchdog-status">
                {if w.enabled { "On" } else { "Off" }}
                {w.last_check_at.map(|t| format!(" · last check {}: {}", fmt_ms(t), if w.last_status.is_empty() { "—" } else { &w.last_status }))}
                {(w.consecutive_failures > 0).then(|| view! { <span class="error">{format!(" · {} failure(s) in a row", w.consecutive_failures)}</span> })}
                {w.last_alert_at.map(|t| format!(" · last alert {}", fmt_ms(t)))}
            </p>
            {can_edit.then(|| view! {
                <ActionForm action=save attr:id="watchdog" attr:class="row">
                    <input type="hidden" name="project" value=project/>
                    <input type="hidden" name="env" value=env/>
                    <label class="check"><input type="checkbox" name="enabled" checked=w.enabled/>"enabled"</label>
                    <label>"Every (s)"<input name="interval_secs" inputmode="numeric" size="6" value=w.interval_secs/></label>
                    <label>"Alert after failures"<input name="failure_threshold" inputmode="numeric" size="4" value=w.failure_threshold/></label>
                    <label class="grow">"Alert webhook URL"<input name="webhook_url" type="url" value=w.webhook_url placeholder="https://…"/></label>
                    <button type="submit" class="primary">"Save watchdog"</button>
                </ActionForm>
                <FieldError err field="interval_secs"/>
                <FieldError err field="failure_threshold"/>
                <FieldError err field="webhook_url"/>
                <OtherError err fields=&["interval_secs", "failure_threshold", "webhook_url"]/>
            })}
        </section>
    }
}

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
                <dt>"nginx manager"</dt><dd id="proxy-manager-mode">{match e.proxy.manager.mode.as_str() {
                    "" => "none: deploys do not switch upstreams".to_string(),
                    "container" => format!("container {}", e.proxy.manager.container),
                    mode => format!("{mode}, config at {}", e.proxy.manager.config_path),
                }}</dd>
            </dl>
            {e.docker_insecure.then(|| view! {
                <p class="error" id="docker-insecure">
                    "Insecure Docker host: an instance admin lets Berth reach this engine over plain TCP, without TLS. \
                     Anyone on the network path can read and control it; set the TLS secrets below to use TLS."
                </p>
            })}
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
                            {(e.docker_host.starts_with("tcp://") || e.docker_insecure).then(|| view! {
                                <label class="check" title="Reach this tcp:// engine over plain TCP, without TLS: an instance admin's decision, audited">
                                    <input type="checkbox" name="docker_insecure" checked=e.docker_insecure/>"plain TCP, no TLS"
                                </label>
                            })}
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
                <FieldError err field="docker_insecure"/>
                <FieldError err field="proxy.http_port"/>
                <FieldError err field="proxy.https_port"/>
                <FieldError err field="proxy.hsts_max_age"/>
                <OtherError err fields=&["name", "branch", "docker_host", "docker_insecure", "proxy.http_port", "proxy.https_port", "proxy.hsts_max_age"]/>
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
    let start = ServerAction::<StartDeploy>::new();
    let save_settings = ServerAction::<SaveDeploySettings>::new();
    let save_manager = ServerAction::<SaveProxyManager>::new();
    let save_watchdog = ServerAction::<SaveWatchdog>::new();
    let set = ServerAction::<SetVariable>::new();
    let delete = ServerAction::<DeleteVariable>::new();
    let changed = move || (set.version().get(), delete.version().get());
    let project = Resource::new(slug, get_project);
    let environment = Resource::new(
        move || {
            (
                slug(),
                env(),
                update.version().get(),
                save_manager.version().get(),
            )
        },
        |(s, e, _, _)| get_environment(s, e),
    );
    let releases = Resource::new(move || (slug(), env()), |(s, e)| list_releases(s, e));
    let settings = Resource::new(
        move || (slug(), env(), save_settings.version().get()),
        |(s, e, _)| get_deploy_settings(s, e),
    );
    let watchdog = Resource::new(
        move || (slug(), env(), save_watchdog.version().get()),
        |(s, e, _)| get_watchdog(s, e),
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
        move || (slug(), env(), num("vbefore"), changed()),
        |(s, e, before, _)| list_versions(s, e, before),
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
                let need = if e.protected { Role::Maintainer } else { Role::Deployer };
                let can_deploy = role >= Some(need);
                let current = releases.await.ok().and_then(|l| l.into_iter().find(|r| r.current));
                let (project, env) = (p.slug.clone(), e.slug.clone());
                let settings = settings.await.map(|s| view! {
                    <DeploySettingsForm project=project.clone() env=env.clone() s can_edit=perms.edit save=save_settings/>
                });
                let watchdog = watchdog.await.map(|w| view! {
                    <WatchdogForm project env w can_edit=perms.edit save=save_watchdog/>
                });
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
                    <DeployCard e=e.clone() current can_deploy start/>
                    <SettingsForm e=e.clone() can_edit=perms.edit can_protect=perms.reveal update/>
                    {perms.reveal.then(|| view! { <ProxyManagerForm e=e.clone() save=save_manager/> })}
                    {settings.ok()}
                    {watchdog.ok()}
                    <VariablesCard rows project=p.slug.clone() env=e.slug.clone() perms set delete/>
                    <VersionsCard versions latest=e.config_version before=num("vbefore") action from to diff/>
                }.into_any()
            })}
        </Suspense>
    }
}
