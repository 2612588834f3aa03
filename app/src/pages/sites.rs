//! A project's sites: hostnames per environment, routes, health path; maintainers and
//! admins create, edit (pre-filled form) and delete them.
use crate::components::forms::{action_error, OtherError};
use crate::components::site_form::SiteForm;
use crate::components::spec_text::SiteText;
use crate::model::{Role, SiteView};
use crate::serverfns::projects::get_project;
use crate::serverfns::sites::{list_sites, DeleteSite, PutSite};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
fn SiteRow(
    s: SiteView,
    project: String,
    can_edit: bool,
    edit: ServerAction<PutSite>,
    delete: ServerAction<DeleteSite>,
) -> impl IntoView {
    let text = SiteText::of(&s.spec);
    let name = s.name.clone();
    let hosts = s
        .spec
        .hosts
        .iter()
        .map(|(env, h)| {
            let names = std::iter::once(h.primary.clone())
                .chain(h.aliases.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ");
            view! { <div><span class="badge">{env.clone()}</span>" "<code>{names}</code></div> }
        })
        .collect_view();
    view! {
        <tr data-name=s.name.clone()>
            <td>{s.name.clone()}</td>
            <td class="small hosts">{hosts}</td>
            <td class="routes">{s.spec.routes.len()}</td>
            <td><code>{s.spec.health_path.clone()}</code></td>
            {can_edit.then(|| view! {
                <td>
                    <details class="edit-site">
                        <summary>"Edit"</summary>
                        <SiteForm project=project.clone() site=text editing=true action=edit id=format!("edit-site-{name}")/>
                    </details>
                    <ActionForm action=delete attr:class="inline delete-site">
                        <input type="hidden" name="project" value=project/>
                        <input type="hidden" name="name" value=name/>
                        <button type="submit" class="danger small">"Delete"</button>
                    </ActionForm>
                </td>
            })}
        </tr>
    }
}

#[component]
pub fn SitesPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let create = ServerAction::<PutSite>::new();
    let edit = ServerAction::<PutSite>::new();
    let delete = ServerAction::<DeleteSite>::new();
    let delete_err = action_error(delete);
    let project = Resource::new(slug, get_project);
    let sites = Resource::new(
        move || {
            (
                slug(),
                create.version().get(),
                edit.version().get(),
                delete.version().get(),
            )
        },
        |(s, _, _, _)| list_sites(s),
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let p = match project.await {
                    Ok(p) => p,
                    Err(e) => return view! { <h1>"Sites"</h1><p class="error">{e.to_string()}</p> }.into_any(),
                };
                let can_edit = p.my_role >= Some(Role::Maintainer);
                let list = sites.await;
                let slug = p.slug.clone();
                view! {
                    <Title text=format!("Sites · {} · Berth", p.name)/>
                    <p class="crumbs"><a href="/projects">"Projects"</a>" / "<a href=format!("/projects/{}", p.slug)>{p.name.clone()}</a></p>
                    <h1>"Sites"</h1>
                    <section class="card">
                        {match list {
                            Ok(list) if list.is_empty() => view! { <p class="empty">"No sites yet."</p> }.into_any(),
                            Ok(list) => view! {
                                <table class="data" id="sites">
                                    <thead><tr>
                                        <th>"Name"</th><th>"Hostnames"</th><th>"Routes"</th><th>"Health"</th>
                                        {can_edit.then(|| view! { <th></th> })}
                                    </tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|s| view! { <SiteRow s project=slug.clone() can_edit edit delete/> }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any(),
                            Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                        }}
                        <OtherError err=delete_err fields=&[]/>
                    </section>
                    {can_edit.then(|| view! {
                        <section class="card">
                            <h2>"New site"</h2>
                            <SiteForm project=slug.clone() site=SiteText::default() editing=false action=create id="new-site"/>
                        </section>
                    })}
                }.into_any()
            })}
        </Suspense>
    }
}
