//! One project: its environments, its project-level variables, its members and roles.
use crate::components::environments::EnvironmentsCard;
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::components::variables::{merge, VarPerms, VariablesCard};
use crate::model::{fmt_ms, Role};
use crate::serverfns::environments::{list_environments, CreateEnvironment};
use crate::serverfns::members::{list_members, RemoveMember, SetMember};
use crate::serverfns::projects::get_project;
use crate::serverfns::variables::{list_variables, DeleteVariable, SetVariable};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let set = ServerAction::<SetMember>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let set_err = action_error(set);
    let remove_err = action_error(remove);
    let create_env = ServerAction::<CreateEnvironment>::new();
    let set_var = ServerAction::<SetVariable>::new();
    let delete_var = ServerAction::<DeleteVariable>::new();
    let project = Resource::new(slug, get_project);
    let environments = Resource::new(
        move || {
            (
                slug(),
                create_env.version().get(),
                set_var.version().get(),
                delete_var.version().get(),
            )
        },
        |(s, _, _, _)| list_environments(s),
    );
    let variables = Resource::new(
        move || (slug(), set_var.version().get(), delete_var.version().get()),
        |(s, _, _)| list_variables(s, None),
    );
    let members = Resource::new(
        move || (slug(), set.version().get(), remove.version().get()),
        |(s, _, _)| list_members(s),
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let p = match project.await {
                    Ok(p) => p,
                    Err(e) => return view! { <h1>"Project"</h1><p class="error">{e.to_string()}</p> }.into_any(),
                };
                let can_manage = p.my_role == Some(Role::Admin);
                let perms = VarPerms {
                    edit: p.my_role >= Some(Role::Maintainer),
                    reveal: p.my_role == Some(Role::Admin),
                };
                let slug = p.slug.clone();
                let envs = environments.await;
                let vars = variables.await.map(|v| merge(Vec::new(), v));
                let list = members.await;
                view! {
                    <Title text=format!("{} · Berth", p.name)/>
                    <h1>{p.name.clone()}" "<small class="muted"><code>{p.slug.clone()}</code></small></h1>
                    <p class="muted">"Your role: "{p.my_role.map(|r| r.to_string()).unwrap_or_default()}</p>
                    <p><a id="sites-link" href=format!("/projects/{}/sites", p.slug)>"Sites →"</a>" · "<a id="webhook-link" href=format!("/projects/{}/webhook", p.slug)>"GitHub webhook & deliveries →"</a></p>
                    <EnvironmentsCard list=envs project=slug.clone() can_create=perms.edit create=create_env/>
                    <VariablesCard rows=vars project=slug.clone() env=String::new() perms set=set_var delete=delete_var/>
                    <section class="card">
                        <h2>"Members"</h2>
                        {match list {
                            Ok(list) => view! {
                                <table class="data" id="members">
                                    <thead><tr><th>"User"</th><th>"Role"</th><th>"Added"</th>{can_manage.then(|| view! { <th></th> })}</tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|m| {
                                            let slug = slug.clone();
                                            view! {
                                                <tr>
                                                    <td>{m.username.clone()}</td>
                                                    <td>{m.role.to_string()}</td>
                                                    <td>{fmt_ms(m.added_at)}</td>
                                                    {can_manage.then(|| view! {
                                                        <td>
                                                            <ActionForm action=remove attr:class="inline">
                                                                <input type="hidden" name="project" value=slug/>
                                                                <input type="hidden" name="username" value=m.username/>
                                                                <button type="submit" class="danger small">"Remove"</button>
                                                            </ActionForm>
                                                        </td>
                                                    })}
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any(),
                            Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                        }}
                        <OtherError err=remove_err fields=&[]/>
                    </section>
                    {can_manage.then(|| view! {
                        <section class="card">
                            <h2>"Add a member or change a role"</h2>
                            <ActionForm action=set attr:id="set-member" attr:class="row">
                                <input type="hidden" name="project" value=slug.clone()/>
                                <label>"Username"<input name="username" required/></label>
                                <label>"Role"
                                    <select name="role">
                                        {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str()>{r.as_str()}</option> }).collect_view()}
                                    </select>
                                </label>
                                <button type="submit" class="primary">"Save"</button>
                            </ActionForm>
                            <FieldError err=set_err field="username"/>
                            <FieldError err=set_err field="role"/>
                            <OtherError err=set_err fields=&["username", "role"]/>
                            <p class="muted small">
                                "viewer: reads everything except secret values · deployer: deploys and rolls back unprotected environments, runs backups · "
                                "maintainer: protected deploys, services, sites, variables, secrets, restores, alerts · admin: reveals secrets, members, tokens, Docker hosts"
                            </p>
                        </section>
                    })}
                }.into_any()
            })}
        </Suspense>
    }
}
