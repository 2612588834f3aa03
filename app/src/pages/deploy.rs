//! One deploy (`/deploys/:id`): its status (the cause first when it failed), its steps and
//! its live log. Hydrated, it polls for new lines; without JavaScript the page refreshes
//! itself while the deploy is queued or running.
use crate::components::forms::{action_error, OtherError};
use crate::components::live::{every, queue_text, took, Status, REFRESH};
use crate::model::{fmt_ms, DeployDetail, DeployLogLine, DeployStepView, DeployView};
use crate::serverfns::deploys::{deploy_page, get_deploy, CancelDeploy};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// At most this many log lines per poll; a full page means more are waiting.
const PAGE: usize = 10_000;

#[component]
fn Facts(deploy: RwSignal<DeployView>) -> impl IntoView {
    move || {
        let d = deploy.get();
        let n = |r: Option<i64>| r.map_or_else(|| "—".to_string(), |n| format!("#{n}"));
        view! {
            <dl class="facts">
                <dt>"Kind"</dt><dd>{d.kind.clone()}</dd>
                <dt>"Release"</dt><dd>{format!("{} → {}", n(d.previous_release), n(d.release))}</dd>
                <dt>"By"</dt><dd>{d.actor.clone()}<span class="badge">{d.trigger.clone()}</span></dd>
                <dt>"Reason"</dt><dd>{if d.reason.is_empty() { "—".to_string() } else { d.reason.clone() }}</dd>
                <dt>"Git SHA"</dt><dd>{if d.git_sha.is_empty() { view! { "—" }.into_any() } else { view! { <code>{d.git_sha.clone()}</code> }.into_any() }}</dd>
                <dt>"Queued"</dt><dd>{fmt_ms(d.created_at)}
                    {d.queue_position.filter(|_| d.status == "queued").map(|q| format!(" · in the queue:{}", queue_text(q)))}</dd>
                <dt>"Started"</dt><dd>{d.started_at.map(fmt_ms).unwrap_or_else(|| "—".into())}</dd>
                <dt>"Took"</dt><dd id="deploy-took">{took(d.started_at, d.finished_at)}</dd>
            </dl>
        }
    }
}

#[component]
fn Steps(steps: RwSignal<Vec<DeployStepView>>) -> impl IntoView {
    view! {
        <table class="data" id="deploy-steps">
            <thead><tr><th>"Step"</th><th>"Status"</th><th>"Took"</th><th>"Detail"</th></tr></thead>
            <tbody>
                {move || steps.get().into_iter().map(|s| view! {
                    <tr data-step=s.name.clone() data-status=s.status.clone()>
                        <td>{s.name.replace('_', " ")}</td>
                        <td><Status status=s.status.clone()/></td>
                        <td class="nowrap">{took(s.started_at, s.finished_at)}</td>
                        <td class="small">{s.detail.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn Log(lines: RwSignal<Vec<DeployLogLine>>) -> impl IntoView {
    view! {
        <div class="log" id="deploy-log" role="log">
            <For each=move || lines.get() key=|l| l.seq let:l>
                <div class=format!("line {}", l.stream) data-seq=l.seq>
                    <span class="step">{l.step}</span>{l.line}
                </div>
            </For>
        </div>
        {move || lines.with(Vec::is_empty).then(|| view! { <p class="muted">"No output yet."</p> })}
    }
}

#[component]
fn Live(
    detail: DeployDetail,
    can_cancel: bool,
    cancel: ServerAction<CancelDeploy>,
) -> impl IntoView {
    let DeployDetail {
        deploy: d,
        steps,
        log,
    } = detail;
    let (id, project, env, active) = (
        d.id,
        d.project.clone(),
        d.environment.clone(),
        !d.finished(),
    );
    let deploy = RwSignal::new(d);
    let steps = RwSignal::new(steps);
    let lines = RwSignal::new(log);
    let (busy, done) = (StoredValue::new(false), StoredValue::new(!active));
    every(500, move || {
        if done.try_get_value().unwrap_or(true) || busy.try_get_value().unwrap_or(true) {
            return;
        }
        busy.set_value(true);
        let after = lines.with_untracked(|l| l.last().map_or(0, |l| l.seq));
        leptos::task::spawn_local(async move {
            if let Ok(next) = get_deploy(id, after).await {
                done.try_set_value(next.deploy.finished() && next.log.len() < PAGE);
                if !next.log.is_empty() {
                    lines.try_update(|l| l.extend(next.log));
                }
                if steps.try_with_untracked(|s| *s != next.steps) == Some(true) {
                    steps.try_set(next.steps);
                }
                deploy.try_set(next.deploy);
            }
            busy.try_set_value(false);
        });
    });
    let env_href = format!("/projects/{project}/environments/{env}");
    view! {
        <Title text=format!("Deploy #{id} · Berth")/>
        <p class="crumbs"><a href="/projects">"Projects"</a>" / "<a href=format!("/projects/{project}")>{project.clone()}</a>
            " / "<a href=env_href.clone()>{env.clone()}</a>" / "<a href=format!("{env_href}/deploys")>"Deploys & releases"</a></p>
        <h1>{format!("Deploy #{id} ")}<span id="deploy-status">{move || view! { <Status status=deploy.get().status/> }}</span></h1>
        {move || {
            let d = deploy.get();
            (!d.cause.is_empty()).then(|| view! { <p class="cause-banner" id="deploy-cause" role="alert">{d.cause}</p> })
        }}
        {move || {
            let d = deploy.get();
            (can_cancel && !d.finished()).then(|| if d.cancel_requested {
                view! { <p class="muted">"Cancelling: what was switched is being rolled back…"</p> }.into_any()
            } else {
                view! {
                    <ActionForm action=cancel attr:id="cancel-deploy" attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class="danger">"Cancel deploy"</button>
                    </ActionForm>
                }.into_any()
            })
        }}
        <section class="card"><Facts deploy/></section>
        <section class="card"><h2>"Steps"</h2><Steps steps/></section>
        <section class="card"><h2>"Log"</h2><Log lines/></section>
        {active.then(|| view! { <noscript inner_html=REFRESH></noscript> })}
    }
}

#[component]
pub fn DeployPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let cancel = ServerAction::<CancelDeploy>::new();
    let err = action_error(cancel);
    let page = Resource::new(
        move || (id(), cancel.version().get()),
        |(id, _)| deploy_page(id),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok((detail, can_cancel)) => view! { <Live detail can_cancel cancel/> }.into_any(),
                    Err(e) => view! { <h1>"Deploy"</h1><p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <OtherError err fields=&[]/>
    }
}
