//! The project's GitHub webhook (`/projects/:slug/webhook`): what to paste into GitHub, the
//! secret and the repository, which branch deploys which environment, and every delivery with
//! why it deployed, was skipped or was refused; one delivery (`…/webhook/deliveries/:id`)
//! with its headers and payload and a replay button.
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::components::live::Status;
use crate::error::AppError;
use crate::model::{fmt_ms, DeliveryView, RefusalCount, WebhookView};
use crate::serverfns::webhooks::{
    delivery_page, take_webhook_secret, webhook_page, GenerateWebhookSecret, ReplayDelivery,
    SetWebhookRepository, SetWebhookSecret,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
fn Outcome(d: DeliveryView, project: String) -> impl IntoView {
    let deploys = d
        .deploys
        .iter()
        .map(|x| {
            view! { " "<a class="deploy-link" href=format!("/deploys/{}", x.deploy)>{format!("{} #{}", x.environment, x.deploy)}</a> }
        })
        .collect_view();
    let replay = d.replay_of.map(|r| {
        view! { <span class="muted small">" replay of "<a href=format!("/projects/{project}/webhook/deliveries/{r}")>{format!("#{r}")}</a>" by "{d.actor.clone()}</span> }
    });
    view! {
        <Status status=d.outcome.clone()/>{deploys}{replay}
        <div class="small reason">{d.reason.clone()}</div>
    }
}

#[component]
fn DeliveryTable(list: Vec<DeliveryView>, project: String) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No deliveries yet. Once GitHub's webhook is set up, its ping shows here."</p> }.into_any();
    }
    view! {
        <table class="data" id="deliveries">
            <thead><tr><th>"#"</th><th>"Received"</th><th>"Event"</th><th>"Repository"</th><th>"Ref"</th><th>"Signature"</th><th>"Outcome"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|d| {
                    let href = format!("/projects/{project}/webhook/deliveries/{}", d.id);
                    view! {
                        <tr data-delivery=d.delivery.clone() data-outcome=d.outcome.clone()>
                            <td>{d.id}</td>
                            <td class="nowrap"><time>{fmt_ms(d.received_at)}</time></td>
                            <td><code>{d.event.clone()}</code></td>
                            <td>{d.repository.clone()}</td>
                            <td><code>{d.git_ref.clone()}</code></td>
                            <td><span class=format!("sig {}", d.signature)>{d.signature.replace('_', " ")}</span></td>
                            <td><Outcome d=d.clone() project=project.clone()/></td>
                            <td><a href=href>"details"</a></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Refusals without a valid signature are counted, not all listed: the counts per hour.
#[component]
fn RefusalCounts(counts: Vec<RefusalCount>) -> impl IntoView {
    if counts.is_empty() {
        return ().into_any();
    }
    let total: i64 = counts.iter().map(|c| c.refusals).sum();
    view! {
        <details class="refusal-counts" id="refusal-counts">
            <summary>{format!("{total} refused without a valid signature in the last 24 hours (only the first of each hour are listed below)")}</summary>
            <table class="data">
                <thead><tr><th>"Hour"</th><th>"Reason"</th><th>"Refusals"</th><th>"Last"</th></tr></thead>
                <tbody>
                    {counts.into_iter().map(|c| view! {
                        <tr>
                            <td class="nowrap"><time>{fmt_ms(c.window_start)}</time></td>
                            <td>{c.reason.replace('_', " ")}</td>
                            <td>{c.refusals}</td>
                            <td class="nowrap"><time>{fmt_ms(c.last_at)}</time></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </details>
    }
    .into_any()
}

#[component]
fn SetupCard(w: WebhookView) -> impl IntoView {
    let relative = w.url.starts_with('/');
    view! {
        <section class="card" id="webhook-setup">
            <h2>"Set up in GitHub"</h2>
            <p class="muted">"Repository → Settings → Webhooks → Add webhook:"</p>
            <dl class="facts">
                <dt>"Payload URL"</dt><dd><code id="hook-url">{w.url.clone()}</code>
                    {relative.then(|| view! { <div class="small muted">"Prefix it with Berth's public address (set BERTH_PUBLIC_URL to show it here)."</div> })}</dd>
                <dt>"Content type"</dt><dd><code id="hook-content-type">{w.content_type.clone()}</code></dd>
                <dt>"Secret"</dt><dd id="hook-secret">{if w.secret_set {
                    format!("set (GITHUB_WEBHOOK_SECRET, changed {})", w.secret_updated_at.map(fmt_ms).unwrap_or_default())
                } else {
                    "not set: deliveries are refused until it is".to_string()
                }}</dd>
                <dt>"Events"</dt><dd>{w.events.join(", ")}" (or just the push event)"</dd>
                <dt>"Repository"</dt><dd>{if w.repository.is_empty() { "any repository that signs with the secret".to_string() } else { w.repository.clone() }}</dd>
            </dl>
            <table class="data" id="hook-targets">
                <thead><tr><th>"Environment"</th><th>"Branch"</th><th>"Deploys on"</th><th>"Workflow"</th></tr></thead>
                <tbody>
                    {w.targets.into_iter().map(|t| view! {
                        <tr>
                            <td>{t.environment}{t.protected.then_some(" 🔒")}</td>
                            <td>{if t.branch.is_empty() { "—".to_string() } else { t.branch }}</td>
                            <td>{t.trigger.replace('_', " ")}</td>
                            <td>{if t.workflow.is_empty() { "any".to_string() } else { t.workflow }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <p class="small muted">"Change branches on each environment's page (settings and deploy settings)."</p>
        </section>
    }
}

#[component]
fn ManageCard(
    project: String,
    repository: String,
    /// The secret a plain form post generated, taken once per page render.
    flashed: Resource<Result<Option<String>, AppError>>,
) -> impl IntoView {
    let set_secret = ServerAction::<SetWebhookSecret>::new();
    let generate = ServerAction::<GenerateWebhookSecret>::new();
    let set_repo = ServerAction::<SetWebhookRepository>::new();
    let secret_err = action_error(set_secret);
    let generate_err = action_error(generate);
    let repo_err = action_error(set_repo);
    let (p1, p2) = (project.clone(), project.clone());
    let shown = move |v: String| {
        view! {
            <div class="notice" id="new-webhook-secret">
                <p>"New secret set. Paste it into GitHub's webhook settings now: it is shown only once."</p>
                <pre class="secret"><code>{v}</code></pre>
            </div>
        }
    };
    view! {
        <section class="card" id="webhook-manage">
            <h2>"Secret and repository"</h2>
            {move || match generate.value().get() {
                Some(Ok(v)) => Some(shown(v).into_any()),
                _ => None,
            }}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move { flashed.await.ok().flatten().map(shown) })}
            </Suspense>
            {move || matches!(set_secret.value().get(), Some(Ok(()))).then(|| view! { <p class="notice" id="secret-saved">"Secret saved."</p> })}
            <div class="row">
                <ActionForm action=generate attr:id="generate-secret" attr:class="inline">
                    <input type="hidden" name="project" value=p1/>
                    <button type="submit" class="primary">"Generate a new secret"</button>
                </ActionForm>
                <ActionForm action=set_secret attr:id="set-secret" attr:class="row">
                    <input type="hidden" name="project" value=p2/>
                    <label>"Or set your own"<input type="password" name="value" autocomplete="new-password" minlength="16" required/></label>
                    <button type="submit">"Set secret"</button>
                </ActionForm>
            </div>
            <FieldError err=secret_err field="value"/>
            <OtherError err=secret_err fields=&["value"]/>
            <OtherError err=generate_err fields=&[]/>
            <ActionForm action=set_repo attr:id="set-repository" attr:class="row">
                <input type="hidden" name="project" value=project/>
                <label>"Repository"<input name="repository" value=repository placeholder="owner/name (empty: any)" spellcheck="false"/></label>
                <button type="submit">"Save repository"</button>
            </ActionForm>
            <FieldError err=repo_err field="repository"/>
            <OtherError err=repo_err fields=&["repository"]/>
        </section>
    }
}

#[component]
pub fn WebhookPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
    };
    let outcome = move || query.read().get("outcome").filter(|o| !o.is_empty());
    let page = Resource::new(
        move || (slug(), before(), outcome()),
        |(s, b, o)| webhook_page(s, b, o),
    );
    // Here, not in the card: the card may be built more than once while the page renders,
    // and the generated secret can be taken from the session only once.
    let flashed = Resource::new(|| (), |_| take_webhook_secret());
    view! {
        <Title text="GitHub webhook · Berth"/>
        <p class="crumbs"><a href="/projects">"Projects"</a>" / "<a href=move || format!("/projects/{}", slug())>{slug}</a></p>
        <h1>"GitHub webhook"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let p = match page.await {
                    Ok(p) => p,
                    Err(e) => return view! { <p class="error">{e.to_string()}</p> }.into_any(),
                };
                let project = slug();
                let next = p.deliveries.next_before.map(|b| format!("/projects/{project}/webhook?before={b}"));
                let repository = p.webhook.repository.clone();
                view! {
                    <SetupCard w=p.webhook/>
                    {p.can_manage.then(|| view! { <ManageCard project=project.clone() repository flashed/> })}
                    <section class="card">
                        <h2>"Deliveries"</h2>
                        <form method="get" class="row filters" id="delivery-filter">
                            <label>"Outcome"
                                <select name="outcome">
                                    {["", "deployed", "skipped", "refused", "duplicate", "connected", "failed"].into_iter().map(|o| view! {
                                        <option value=o selected=outcome().as_deref() == Some(o)>{if o.is_empty() { "all" } else { o }}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                            <button type="submit">"Filter"</button>
                        </form>
                        <RefusalCounts counts=p.deliveries.refusals/>
                        <DeliveryTable list=p.deliveries.deliveries project=project.clone()/>
                        {next.map(|href| view! { <p><a href=href class="button">"Older deliveries →"</a></p> })}
                    </section>
                }.into_any()
            })}
        </Suspense>
    }
}

#[component]
pub fn DeliveryPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|i| i.parse::<i64>().ok())
            .unwrap_or_default()
    };
    let replay = ServerAction::<ReplayDelivery>::new();
    let replay_err = action_error(replay);
    let page = Resource::new(
        move || (slug(), id(), replay.version().get()),
        |(s, i, _)| delivery_page(s, i),
    );
    view! {
        <Title text="Delivery · Berth"/>
        <p class="crumbs"><a href="/projects">"Projects"</a>" / "<a href=move || format!("/projects/{}", slug())>{slug}</a>
            " / "<a href=move || format!("/projects/{}/webhook", slug())>"webhook"</a></p>
        <h1>{move || format!("Delivery #{}", id())}</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let p = match page.await {
                    Ok(p) => p,
                    Err(e) => return view! { <p class="error">{e.to_string()}</p> }.into_any(),
                };
                let project = slug();
                let d = p.detail.delivery.clone();
                let can_replay = p.can_replay && p.detail.replayable;
                let replay_project = project.clone();
                view! {
                    <section class="card" id="delivery">
                        <dl class="facts">
                            <dt>"Received"</dt><dd>{fmt_ms(d.received_at)}" · answered "{d.status}" in "{format!("{:.1} ms", d.duration_us as f64 / 1000.0)}</dd>
                            <dt>"Delivery"</dt><dd><code>{d.delivery.clone()}</code></dd>
                            <dt>"Event"</dt><dd><code>{d.event.clone()}</code></dd>
                            <dt>"Repository"</dt><dd>{d.repository.clone()}" "<code>{d.git_ref.clone()}</code></dd>
                            <dt>"Signature"</dt><dd><span class=format!("sig {}", d.signature) id="delivery-signature">{d.signature.replace('_', " ")}</span></dd>
                            <dt>"Outcome"</dt><dd id="delivery-outcome"><Outcome d=d.clone() project=project.clone()/></dd>
                        </dl>
                        {can_replay.then(|| view! {
                            <ActionForm action=replay attr:id="replay-delivery">
                                <input type="hidden" name="project" value=replay_project/>
                                <input type="hidden" name="id" value=d.id.to_string()/>
                                <button type="submit" class="primary">"Replay"</button>
                                <span class="small muted">" Handles it again as you: the deploys it queues are yours."</span>
                            </ActionForm>
                        })}
                        <OtherError err=replay_err fields=&[]/>
                    </section>
                    {(!p.detail.replays.is_empty()).then(|| view! {
                        <section class="card" id="replays">
                            <h2>"Replays"</h2>
                            <DeliveryTable list=p.detail.replays.clone() project=project.clone()/>
                        </section>
                    })}
                    <section class="card">
                        <h2>"Headers"</h2>
                        <table class="data" id="delivery-headers">
                            <tbody>
                                {p.detail.headers.iter().map(|h| view! { <tr><th><code>{h.name.clone()}</code></th><td><code>{h.value.clone()}</code></td></tr> }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                    <section class="card">
                        <h2>"Payload"{p.detail.payload_truncated.then_some(" (beginning only)")}</h2>
                        <pre class="log" id="delivery-payload">{p.detail.payload.clone()}</pre>
                    </section>
                }.into_any()
            })}
        </Suspense>
    }
}
