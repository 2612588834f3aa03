//! The projects list, and creating a project (instance admins).
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::components::layout::use_me;
use crate::model::fmt_ms;
use crate::serverfns::projects::{list_projects, CreateProject};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let create = ServerAction::<CreateProject>::new();
    let err = action_error(create);
    let projects = Resource::new(move || create.version().get(), |_| list_projects());
    let me = use_me().0;
    view! {
        <Title text="Projects · Berth"/>
        <h1>"Projects"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match projects.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No projects you can see yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="data" id="projects">
                            <thead><tr><th>"Name"</th><th>"Slug"</th><th>"Your role"</th><th>"Created"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|p| view! {
                                    <tr>
                                        <td><a href=format!("/projects/{}", p.slug)>{p.name}</a></td>
                                        <td><code>{p.slug}</code></td>
                                        <td>{p.my_role.map(|r| r.to_string()).unwrap_or_default()}</td>
                                        <td>{fmt_ms(p.created_at)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let admin = matches!(me.await, Ok(Some(ref m)) if m.is_admin());
                admin.then(|| view! {
                    <section class="card">
                        <h2>"New project"</h2>
                        <ActionForm action=create attr:id="create-project" attr:class="row">
                            <label>"Name"<input name="name" required maxlength="100" placeholder="IDP CMS"/></label>
                            <label>"Slug"<input name="slug" required maxlength="63" placeholder="idp-cms"/></label>
                            <button type="submit" class="primary">"Create project"</button>
                        </ActionForm>
                        <FieldError err field="name"/>
                        <FieldError err field="slug"/>
                        <OtherError err fields=&["name", "slug"]/>
                    </section>
                })
            })}
        </Suspense>
    }
}
