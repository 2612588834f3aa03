//! An environment's stack: its services, importing the stack's own files (preview, then
//! apply), the generated nginx configuration and exports.
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::components::service_form::ServiceForm;
use crate::components::spec_text::ServiceText;
use crate::model::{ImportPlan, Role};
use crate::serverfns::deploys::ReplaceService;
use crate::serverfns::projects::get_project;
use crate::serverfns::services::{DeleteService, PutService};
use crate::serverfns::stack::{
    list_services, nginx_config, take_import_plan, CheckNginx, ImportFile,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

fn mem(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "—".into(),
        |b| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
    )
}

#[component]
fn PlanTable(plan: ImportPlan) -> impl IntoView {
    view! {
        <div class="card" id="import-plan">
            <h2>{if plan.applied { "Imported" } else { "Preview: nothing is written until you apply" }}</h2>
            <table class="data">
                <thead><tr><th>"Kind"</th><th>"Name"</th><th>"Action"</th><th>"Line"</th><th>"Note"</th></tr></thead>
                <tbody>
                    {plan.items.into_iter().map(|i| view! {
                        <tr>
                            <td><span class="badge">{i.kind}</span></td>
                            <td><code>{i.name}</code>{i.missing.then(|| view! { <span class="badge missing">"missing"</span> })}</td>
                            <td>{i.action}</td>
                            <td>{(i.line > 0).then_some(i.line)}</td>
                            <td class="small muted">{i.note}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            {(!plan.unsupported.is_empty()).then(|| view! {
                <h3>"Not modelled by Berth (listed, not applied)"</h3>
                <ul class="small">{plan.unsupported.into_iter().map(|u| view! { <li><code>{u}</code></li> }).collect_view()}</ul>
            })}
        </div>
    }
}

#[component]
pub fn StackPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let env = move || params.read().get("env").unwrap_or_default();
    let import = ServerAction::<ImportFile>::new();
    let import_err = action_error(import);
    let check = ServerAction::<CheckNginx>::new();
    let check_err = action_error(check);
    let create = ServerAction::<PutService>::new();
    let edit = ServerAction::<PutService>::new();
    let delete = ServerAction::<DeleteService>::new();
    let delete_err = action_error(delete);
    let replace = ServerAction::<ReplaceService>::new();
    let replace_err = action_error(replace);
    let changed = move || {
        (
            import.version().get(),
            create.version().get(),
            edit.version().get(),
            delete.version().get(),
        )
    };
    let project = Resource::new(slug, get_project);
    let services = Resource::new(
        move || (slug(), env(), changed()),
        |(p, e, _)| list_services(p, e),
    );
    let config = Resource::new(
        move || (slug(), env(), changed()),
        |(p, e, _)| nginx_config(p, e),
    );
    let flashed = Resource::new(|| (), |_| take_import_plan());
    view! {
        <Title text="Stack · Berth"/>
        <p class="muted"><a href=move || format!("/projects/{}/environments/{}", slug(), env())>"← environment"</a></p>
        <h1>"Stack of "{env}</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let can_edit = matches!(project.await, Ok(ref p) if p.my_role.is_some_and(|r| r >= Role::Maintainer));
                let list = services.await;
                view! {
                    <section class="card">
                        <h2>"Services"</h2>
                        {match list {
                            Ok(list) if list.is_empty() => view! { <p class="empty">"No services yet: import a docker-compose file below, or add one."</p> }.into_any(),
                            Ok(list) => view! {
                                <table class="data" id="services">
                                    <thead><tr><th>"Name"</th><th>"Image"</th><th>"Replicas"</th><th>"CPU"</th><th>"Memory"</th><th>"Ports"</th><th>"Env"</th><th>"Updates"</th>{can_edit.then(|| view! { <th></th> })}</tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|s| { let name = s.name.clone(); let text = ServiceText::of(&s.spec); view! {
                                            <tr data-name=s.name.clone()>
                                                <td>{s.name.clone()}</td>
                                                <td><code>{s.spec.image.clone()}</code></td>
                                                <td>{s.spec.replicas}</td>
                                                <td>{s.spec.resources.cpu_limit.map(|c| c.to_string()).unwrap_or_else(|| "—".into())}</td>
                                                <td>{mem(s.spec.resources.memory_limit)}</td>
                                                <td class="small">{s.spec.ports.iter().map(|p| format!("{}:{}", p.host_port.map(|h| h.to_string()).unwrap_or_default(), p.container_port)).collect::<Vec<_>>().join(", ")}</td>
                                                <td class="small">{s.spec.env.len()}</td>
                                                <td class="small update">{stack::lifecycle::update_of(&s.spec).as_str()}</td>
                                                {can_edit.then(|| view! {
                                                    <td>
                                                        {(stack::lifecycle::update_of(&s.spec) == stack::lifecycle::Update::Manual).then({ let name = name.clone(); move || view! {
                                                            <ActionForm action=replace attr:class="inline replace-service">
                                                                <input type="hidden" name="project" value=slug()/>
                                                                <input type="hidden" name="env" value=env()/>
                                                                <input type="hidden" name="name" value=name/>
                                                                <button type="submit" class="small" title="Replace its containers with the current configuration (stops the old first if it has a writable volume)">"Replace now"</button>
                                                            </ActionForm>
                                                        }})}
                                                        <details class="edit-service">
                                                            <summary>"Edit"</summary>
                                                            <ServiceForm project=slug() env=env() service=text editing=true action=edit id=format!("edit-service-{name}")/>
                                                        </details>
                                                        <ActionForm action=delete attr:class="inline delete-service">
                                                            <input type="hidden" name="project" value=slug()/>
                                                            <input type="hidden" name="env" value=env()/>
                                                            <input type="hidden" name="name" value=name/>
                                                            <button type="submit" class="danger small">"Delete"</button>
                                                        </ActionForm>
                                                    </td>
                                                }.into_any())}
                                            </tr>
                                        }}).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any(),
                            Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                        }}
                        <p class="small">
                            <a href=format!("/api/v1/projects/{}/environments/{}/export/docker-compose.yml", slug(), env())>"Export docker-compose.yml"</a>
                            " · "
                            <a href=format!("/api/v1/projects/{}/environments/{}/export/env", slug(), env())>"Export .env (secrets as ${NAME})"</a>
                        </p>
                        <OtherError err=delete_err fields=&[]/>
                        <OtherError err=replace_err fields=&[]/>
                    </section>
                    {can_edit.then(|| view! {
                        <section class="card">
                            <details id="new-service-card">
                                <summary>"New service"</summary>
                                <ServiceForm project=slug() env=env() service=ServiceText { replicas: "1".into(), ..Default::default() } editing=false action=create id="new-service"/>
                            </details>
                        </section>
                    })}
                    {can_edit.then(|| view! {
                        <section class="card">
                            <h2>"Import"</h2>
                            <p class="muted small">"Paste a .env or docker-compose.yml. Preview first: it lists what will be created or changed, which keys become secrets, and what Berth does not model."</p>
                            <ActionForm action=import attr:id="import-form">
                                <input type="hidden" name="project" value=slug()/>
                                <input type="hidden" name="env" value=env()/>
                                <div class="row">
                                    <label>"Kind"
                                        <select name="kind">
                                            <option value="env">".env file"</option>
                                            <option value="compose">"docker-compose.yml"</option>
                                        </select>
                                    </label>
                                    <label>"File name"<input name="file_name" placeholder=".env.prod"/></label>
                                    <label class="inline-check"><input type="checkbox" name="apply" value="true"/>" Apply (one transaction)"</label>
                                </div>
                                <label>"Content"<textarea name="content" rows="12" required spellcheck="false"></textarea></label>
                                <FieldError err=import_err field="file"/>
                                <OtherError err=import_err fields=&["file"]/>
                                <button type="submit" class="primary">"Preview or apply"</button>
                            </ActionForm>
                        </section>
                    })}
                }.into_any()
            })}
        </Suspense>
        {move || match import.value().get() {
            Some(Ok(plan)) => Some(view! { <PlanTable plan/> }),
            _ => None,
        }}
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move { flashed.await.ok().flatten().map(|plan| view! { <PlanTable plan/> }) })}
        </Suspense>
        <section class="card">
            <h2>"Edge proxy (nginx)"</h2>
            <p class="muted small">"Generated from the project's sites and this environment's services. Upstreams are filled in by deploys."</p>
            <ActionForm action=check attr:id="nginx-check">
                <input type="hidden" name="project" value=slug/>
                <input type="hidden" name="env" value=env/>
                <button type="submit">"Check with nginx -t"</button>
            </ActionForm>
            {move || check.value().get().and_then(|r| r.ok()).map(|(ok, out)| view! {
                <p class=if ok { "ok" } else { "error" }>{if ok { "nginx -t: syntax is ok" } else { "nginx -t failed" }}</p>
                <pre class="small">{out}</pre>
            })}
            <OtherError err=check_err fields=&[]/>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match config.await {
                        Ok(text) => view! { <pre class="config" id="nginx-config">{text}</pre> }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
