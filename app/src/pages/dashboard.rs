//! The landing page: your projects and the latest activity.
use crate::model::{fmt_ms, AuditFilter};
use crate::serverfns::audit::list_audit;
use crate::serverfns::projects::list_projects;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let projects = Resource::new(|| (), |_| list_projects());
    let recent = Resource::new(
        || (),
        |_| {
            list_audit(AuditFilter {
                limit: Some(10),
                ..Default::default()
            })
        },
    );
    view! {
        <Title text="Dashboard · Berth"/>
        <h1>"Dashboard"</h1>
        <div class="grid2">
            <section class="card">
                <h2>"Projects"</h2>
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match projects.await {
                            Ok(list) if list.is_empty() => view! {
                                <p class="muted">"No projects yet. "<a href="/projects">"Create one"</a></p>
                            }.into_any(),
                            Ok(list) => view! {
                                <ul class="plain">
                                    {list.into_iter().map(|p| view! {
                                        <li>
                                            <a href=format!("/projects/{}", p.slug)>{p.name}</a>
                                            " "
                                            <span class="badge">{p.my_role.map(|r| r.to_string()).unwrap_or_default()}</span>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }.into_any(),
                            Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
            <section class="card">
                <h2>"Recent activity"</h2>
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match recent.await {
                            Ok(page) => view! {
                                <ul class="plain activity">
                                    {page.events.into_iter().map(|e| view! {
                                        <li>
                                            <time>{fmt_ms(e.ts)}</time>" "
                                            <strong>{e.actor}</strong>" "
                                            <code>{e.action}</code>" "
                                            <span class="muted">{e.target}</span>" "
                                            <span class=format!("result {}", e.result)>{e.result.clone()}</span>
                                        </li>
                                    }).collect_view()}
                                </ul>
                                <p><a href="/audit">"Full audit log →"</a></p>
                            }.into_any(),
                            Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
        </div>
    }
}
