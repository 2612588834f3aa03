//! An environment's containers (`/projects/:slug/environments/:env/containers`): engine
//! status, what runs with its state, health, release, uptime, CPU and memory; a container's
//! last log lines (`?logs=<id>`, `&follow=1` to keep them coming); restart and stop.
use crate::components::forms::{action_error, OtherError};
use crate::components::live::{every, fmt_duration, REFRESH};
use crate::model::{ContainerView, Role};
use crate::serverfns::deploys::{container_logs, get_runtime, ContainerAction};
use crate::serverfns::environments::get_environment;
use crate::serverfns::projects::get_project;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// Bytes in binary units: `512 B`, `12.3 MiB`.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn memory(c: &ContainerView) -> String {
    match (c.memory_bytes, c.memory_limit) {
        (Some(used), Some(limit)) if limit > 0 => format!("{} / {}", human(used), human(limit)),
        (Some(used), _) => human(used),
        _ => "—".into(),
    }
}

fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

#[component]
fn ContainerRow(
    c: ContainerView,
    now: i64,
    base: String,
    can_act: bool,
    act: ServerAction<ContainerAction>,
    project: String,
    env: String,
) -> impl IntoView {
    let uptime = c
        .started_at
        .filter(|_| c.state == "running")
        .map_or_else(|| "—".to_string(), |s| fmt_duration(now - s));
    let id = c.id.clone();
    view! {
        <tr data-id=c.id.clone() data-service=c.service.clone() data-state=c.state.clone()>
            <td>{c.service.clone()}<div class="small muted" title=c.image.clone()>{c.name.clone()}</div></td>
            <td>{c.replica.map(|r| r.to_string()).unwrap_or_else(|| "—".into())}</td>
            <td>{c.release.map(|r| format!("#{r}")).unwrap_or_else(|| "—".into())}</td>
            <td><span class=format!("status c-{}", c.state)>{c.state.clone()}</span></td>
            <td>{if c.health.is_empty() { view! { <span class="muted">"—"</span> }.into_any() } else { view! { <span class=format!("status c-{}", c.health)>{c.health.clone()}</span> }.into_any() }}</td>
            <td class="nowrap">{uptime}</td>
            <td class="nowrap">{c.cpu_percent.map(|p| format!("{p:.1} %")).unwrap_or_else(|| "—".into())}</td>
            <td class="nowrap">{memory(&c)}</td>
            <td>{c.address.clone().map(|a| view! { <code>{a}</code> })}</td>
            <td class="nowrap">
                <a class="button small logs" href=format!("{base}?logs={}", c.id)>"Logs"</a>
                {can_act.then(|| view! {
                    <ActionForm action=act attr:class="inline container-action">
                        <input type="hidden" name="project" value=project/>
                        <input type="hidden" name="env" value=env/>
                        <input type="hidden" name="container" value=id/>
                        <button type="submit" class="small" name="op" value="restart">"Restart"</button>
                        <button type="submit" class="small danger" name="op" value="stop">"Stop"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}

#[component]
fn LogsCard(id: String, base: String, follow: bool, lines: Vec<String>) -> impl IntoView {
    let toggle = if follow {
        view! { <a href=format!("{base}?logs={id}") id="logs-follow">"Stop following"</a> }
    } else {
        view! { <a href=format!("{base}?logs={id}&follow=1") id="logs-follow">"Follow"</a> }
    };
    view! {
        <section class="card" id="container-logs-card">
            <h2>"Logs of "<code>{short(&id)}</code></h2>
            <p class="small">{toggle}" · "<a href=base.clone()>"Close"</a>
                <span class="muted">" · the last 200 lines, secret values masked"</span></p>
            <pre class="log" id="container-logs">{lines.join("\n")}</pre>
            {follow.then(|| view! { <noscript inner_html=REFRESH></noscript> })}
        </section>
    }
}

#[component]
pub fn ContainersPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let env = move || params.read().get("env").unwrap_or_default();
    let shown = move || query.read().get("logs").filter(|v| !v.is_empty());
    let follow = move || query.read().get("follow").is_some_and(|v| v == "1");
    let act = ServerAction::<ContainerAction>::new();
    let err = action_error(act);
    let tick = RwSignal::new(0u32);
    let project = Resource::new(slug, get_project);
    let environment = Resource::new(move || (slug(), env()), |(s, e)| get_environment(s, e));
    let runtime = Resource::new(
        move || (slug(), env(), act.version().get()),
        |(s, e, _)| get_runtime(s, e),
    );
    let logs = Resource::new(
        move || (slug(), env(), shown(), tick.get()),
        |(s, e, id, _)| async move {
            match id {
                Some(id) => Some(container_logs(s, e, id, 200).await),
                None => None,
            }
        },
    );
    every(2_000, move || {
        if query.with_untracked(|q| q.get("follow").is_some_and(|v| v == "1")) {
            tick.update(|t| *t += 1);
        }
    });
    let base = move || format!("/projects/{}/environments/{}/containers", slug(), env());
    view! {
        <Title text="Containers · Berth"/>
        <p class="crumbs"><a href="/projects">"Projects"</a>" / "<a href=move || format!("/projects/{}", slug())>{slug}</a>" / "
            <a href=move || format!("/projects/{}/environments/{}", slug(), env())>{env}</a></p>
        <h1>"Containers"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (p, e) = match (project.await, environment.await) {
                    (Ok(p), Ok(e)) => (p, e),
                    (Err(err), _) | (_, Err(err)) => return view! { <p class="error">{err.to_string()}</p> }.into_any(),
                };
                let need = if e.protected { Role::Maintainer } else { Role::Deployer };
                let can_act = p.my_role >= Some(need);
                let (rt, now) = match runtime.await {
                    Ok(v) => v,
                    Err(err) => return view! { <p class="error">{err.to_string()}</p> }.into_any(),
                };
                view! {
                    <p id="engine-status" class=if rt.engine_ok { "ok" } else { "error" }>
                        {rt.engine.clone()}
                        {rt.current_release.map(|n| view! { <span class="muted">{format!(" · release #{n} is current")}</span> })}
                        " · "<a href=format!("/projects/{}/environments/{}/deploys", p.slug, e.slug)>"Deploys & releases →"</a>
                    </p>
                    {if rt.containers.is_empty() {
                        view! { <p class="empty">"No containers of this environment on the engine."</p> }.into_any()
                    } else {
                        view! {
                            <table class="data" id="containers">
                                <thead><tr><th>"Service"</th><th>"Replica"</th><th>"Release"</th><th>"State"</th><th>"Health"</th>
                                    <th>"Uptime"</th><th>"CPU"</th><th>"Memory"</th><th>"Address"</th><th></th></tr></thead>
                                <tbody>
                                    {rt.containers.into_iter().map(|c| view! {
                                        <ContainerRow c now base=base() can_act act project=p.slug.clone() env=e.slug.clone()/>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }}
                }.into_any()
            })}
        </Transition>
        <OtherError err fields=&[]/>
        <Transition fallback=|| ()>
            {move || {
                let (id, follow, base) = (shown(), follow(), base());
                Suspend::new(async move {
                match (logs.await, id) {
                    (Some(Ok(lines)), Some(id)) => Some(view! { <LogsCard id base follow lines/> }.into_any()),
                    (Some(Err(err)), _) => Some(view! { <p class="error">{err.to_string()}</p> }.into_any()),
                    _ => None,
                }
            })}}
        </Transition>
    }
}
