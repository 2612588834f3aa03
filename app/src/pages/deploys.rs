//! Deploy history: the recent deploys of every project (`/deploys`) and an environment's
//! deploys and releases, with redeploy, scale and roll back
//! (`/projects/:slug/environments/:env/deploys`).
use crate::components::forms::{action_error, OtherError};
use crate::components::live::{every, queue_text, took, Status};
use crate::model::{fmt_ms, DeployView, ReleaseView, Role};
use crate::serverfns::deploys::{
    list_deploys, list_releases, recent_deploys, CancelDeploy, Redeploy, Rollback, Scale,
};
use crate::serverfns::environments::get_environment;
use crate::serverfns::projects::get_project;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

fn release_text(d: &DeployView) -> String {
    let n = |r: Option<i64>| r.map_or_else(|| "—".to_string(), |n| format!("#{n}"));
    match (d.previous_release, d.release) {
        (None, None) => "—".into(),
        (prev, new) if prev == new => n(new),
        (prev, new) => format!("{} → {}", n(prev), n(new)),
    }
}

/// Deploys as a table; with `cancel`, queued and running ones get a Cancel button.
#[component]
pub fn DeployTable(
    list: Vec<DeployView>,
    show_env: bool,
    #[prop(optional)] cancel: Option<ServerAction<CancelDeploy>>,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No deploys yet."</p> }.into_any();
    }
    view! {
        <table class="data" id="deploys">
            <thead><tr>
                <th>"Deploy"</th>{show_env.then(|| view! { <th>"Environment"</th> })}
                <th>"Kind"</th><th>"Status"</th><th>"Release"</th><th>"By"</th><th>"Reason"</th>
                <th>"Queued"</th><th>"Took"</th>{cancel.is_some().then(|| view! { <th></th> })}
            </tr></thead>
            <tbody>
                {list.into_iter().map(|d| {
                    let env_href = format!("/projects/{}/environments/{}/deploys", d.project, d.environment);
                    let active = !d.finished();
                    view! {
                        <tr data-id=d.id data-status=d.status.clone()>
                            <td><a href=format!("/deploys/{}", d.id)>{format!("#{}", d.id)}</a></td>
                            {show_env.then(|| view! { <td><a href=env_href>{format!("{} / {}", d.project, d.environment)}</a></td> })}
                            <td>{d.kind.clone()}</td>
                            <td>
                                <Status status=d.status.clone()/>
                                {d.queue_position.filter(|_| d.status == "queued").map(|n| view! { <span class="small muted">{queue_text(n)}</span> })}
                                {(d.cancel_requested && active).then(|| view! { <span class="small muted">" cancelling…"</span> })}
                            </td>
                            <td>{release_text(&d)}</td>
                            <td>{d.actor.clone()}<span class="badge">{d.trigger.clone()}</span></td>
                            <td class="small">
                                {(!d.cause.is_empty()).then(|| view! { <div class="cause">{d.cause.clone()}</div> })}
                                {d.reason.clone()}
                                {(!d.git_sha.is_empty()).then(|| view! { " "<code>{d.git_sha.chars().take(12).collect::<String>()}</code> })}
                            </td>
                            <td class="nowrap small">{fmt_ms(d.created_at)}</td>
                            <td class="nowrap">{took(d.started_at, d.finished_at)}</td>
                            {cancel.map(|action| view! {
                                <td>{(active && !d.cancel_requested).then(|| view! {
                                    <ActionForm action attr:class="inline cancel-deploy">
                                        <input type="hidden" name="id" value=d.id/>
                                        <button type="submit" class="danger small">"Cancel"</button>
                                    </ActionForm>
                                })}</td>
                            })}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The recent deploys of every project the user can see.
#[component]
pub fn RecentDeploysPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| recent_deploys());
    view! {
        <Title text="Deploys · Berth"/>
        <h1>"Deploys"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) => view! { <DeployTable list show_env=true/> }.into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

#[component]
fn ReleasesTable(
    list: Vec<ReleaseView>,
    project: String,
    env: String,
    can_deploy: bool,
    rollback: ServerAction<Rollback>,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No releases yet: the first deploy creates one."</p> }
            .into_any();
    }
    view! {
        <table class="data" id="releases">
            <thead><tr><th>"Release"</th><th>"Images"</th><th>"Config"</th><th>"Git SHA"</th><th>"Deployed"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|r| { let (project, env) = (project.clone(), env.clone()); view! {
                    <tr data-number=r.number class:current=r.current>
                        <td>
                            {format!("#{}", r.number)}
                            {r.current.then(|| view! { <span class="badge current">"current"</span> })}
                            {(r.kept && !r.current).then(|| view! { <span class="badge">"kept"</span> })}
                        </td>
                        <td class="small">{r.images.iter().map(|i| view! {
                            <div>{i.service.clone()}": "<code>{i.reference.clone()}</code>" "
                                <code class="muted" title=i.id.clone()>{short_id(&i.id)}</code>
                                {format!(" ×{}", i.replicas)}</div>
                        }).collect_view()}</td>
                        <td>{format!("v{}", r.config_version)}</td>
                        <td>{if r.git_sha.is_empty() { view! { <span class="muted">"—"</span> }.into_any() } else { view! { <code>{r.git_sha.chars().take(12).collect::<String>()}</code> }.into_any() }}</td>
                        <td class="small">{r.deployed_at.map(fmt_ms).unwrap_or_else(|| "never".into())}<div class="muted">{r.actor.clone()}" · "{r.trigger.clone()}</div></td>
                        <td>{(can_deploy && r.kept && !r.current).then(|| view! {
                            <ActionForm action=rollback attr:class="inline rollback">
                                <input type="hidden" name="project" value=project/>
                                <input type="hidden" name="env" value=env/>
                                <input type="hidden" name="release" value=r.number/>
                                <button type="submit" class="small">"Roll back to this"</button>
                            </ActionForm>
                        })}</td>
                    </tr>
                }}).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Redeploy the current release, or scale its services (pre-filled with their replicas).
#[component]
fn ActionsCard(
    current: Option<ReleaseView>,
    project: String,
    env: String,
    redeploy: ServerAction<Redeploy>,
    scale: ServerAction<Scale>,
) -> impl IntoView {
    let Some(current) = current else {
        return view! { <p class="muted">"Nothing is deployed yet."</p> }.into_any();
    };
    let (redeploy_err, scale_err) = (action_error(redeploy), action_error(scale));
    let (p2, e2) = (project.clone(), env.clone());
    view! {
        <div class="grid2">
            <ActionForm action=redeploy attr:id="redeploy">
                <h3>{format!("Redeploy release #{}", current.number)}</h3>
                <input type="hidden" name="project" value=p2/>
                <input type="hidden" name="env" value=e2/>
                <label>"Reason"<input name="reason" maxlength="500"/></label>
                <button type="submit">"Redeploy"</button>
                <OtherError err=redeploy_err fields=&[]/>
            </ActionForm>
            <ActionForm action=scale attr:id="scale">
                <h3>"Scale"</h3>
                <input type="hidden" name="project" value=project/>
                <input type="hidden" name="env" value=env/>
                <div class="row">
                    {current.images.into_iter().map(|i| view! {
                        <label>{i.service.clone()}
                            <input name=format!("replicas[{}]", i.service) inputmode="numeric" size="4" value=i.replicas/>
                        </label>
                    }).collect_view()}
                    <button type="submit">"Scale"</button>
                </div>
                <OtherError err=scale_err fields=&[]/>
            </ActionForm>
        </div>
    }
    .into_any()
}

#[component]
pub fn EnvDeploysPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let env = move || params.read().get("env").unwrap_or_default();
    let cancel = ServerAction::<CancelDeploy>::new();
    let cancel_err = action_error(cancel);
    let rollback = ServerAction::<Rollback>::new();
    let rollback_err = action_error(rollback);
    let redeploy = ServerAction::<Redeploy>::new();
    let scale = ServerAction::<Scale>::new();
    let tick = RwSignal::new(0u32);
    let project = Resource::new(slug, get_project);
    let environment = Resource::new(move || (slug(), env()), |(s, e)| get_environment(s, e));
    let history = Resource::new(
        move || (slug(), env(), cancel.version().get(), tick.get()),
        |(s, e, _, _)| list_deploys(s, e),
    );
    let releases = Resource::new(
        move || (slug(), env(), tick.get()),
        |(s, e, _)| list_releases(s, e),
    );
    // The forms' own copy: the polled one would re-render them under the user's typing.
    let current = Resource::new(move || (slug(), env()), |(s, e)| list_releases(s, e));
    // While something is queued or running, keep the history current.
    every(2_000, move || {
        let active = history
            .get_untracked()
            .and_then(Result::ok)
            .is_some_and(|l| l.iter().any(|d| !d.finished()));
        if active {
            tick.update(|t| *t += 1);
        }
    });
    view! {
        <Title text="Deploys & releases · Berth"/>
        <p class="crumbs"><a href="/projects">"Projects"</a>" / "<a href=move || format!("/projects/{}", slug())>{slug}</a>" / "
            <a href=move || format!("/projects/{}/environments/{}", slug(), env())>{env}</a></p>
        <h1>"Deploys & releases"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (p, e) = match (project.await, environment.await) {
                    (Ok(p), Ok(e)) => (p, e),
                    (Err(err), _) | (_, Err(err)) => return view! { <p class="error">{err.to_string()}</p> }.into_any(),
                };
                let need = if e.protected { Role::Maintainer } else { Role::Deployer };
                let can_deploy = p.my_role >= Some(need);
                view! {
                    <p class="muted"><a id="containers-link" href=format!("/projects/{}/environments/{}/containers", p.slug, e.slug)>"Containers →"</a></p>
                    <section class="card">
                        <h2>"History"</h2>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                match history.await {
                                    Ok(list) if can_deploy => view! { <DeployTable list show_env=false cancel/> }.into_any(),
                                    Ok(list) => view! { <DeployTable list show_env=false/> }.into_any(),
                                    Err(err) => view! { <p class="error">{err.to_string()}</p> }.into_any(),
                                }
                            })}
                        </Transition>
                        <OtherError err=cancel_err fields=&[]/>
                    </section>
                    <section class="card">
                        <h2>"Releases"</h2>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                match releases.await {
                                    Ok(list) => view! { <ReleasesTable list project=slug() env=env() can_deploy rollback/> }.into_any(),
                                    Err(err) => view! { <p class="error">{err.to_string()}</p> }.into_any(),
                                }
                            })}
                        </Transition>
                        <OtherError err=rollback_err fields=&[]/>
                    </section>
                    {can_deploy.then(|| view! {
                        <section class="card" id="deploy-actions">
                            <h2>"Redeploy or scale"</h2>
                            <Suspense fallback=|| ()>
                                {move || Suspend::new(async move {
                                    let current = current.await.ok().and_then(|l| l.into_iter().find(|r| r.current));
                                    view! { <ActionsCard current project=slug() env=env() redeploy scale/> }
                                })}
                            </Suspense>
                        </section>
                    })}
                }.into_any()
            })}
        </Suspense>
    }
}
