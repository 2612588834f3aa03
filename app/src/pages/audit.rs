//! The audit log: filters, paging backwards, JSON Lines export.
use crate::model::{fmt_ms, AuditFilter};
use crate::serverfns::audit::list_audit;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

fn filter_from_query(q: &leptos_router::params::ParamsMap) -> AuditFilter {
    let text = |k: &str| q.get(k).filter(|v| !v.trim().is_empty());
    AuditFilter {
        actor: text("actor"),
        action: text("action"),
        target: text("target"),
        since: text("since"),
        until: text("until"),
        before: q.get("before").and_then(|b| b.parse().ok()),
        limit: q.get("limit").and_then(|b| b.parse().ok()),
    }
}

fn query_string(f: &AuditFilter) -> String {
    let mut parts = Vec::new();
    let mut push = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{k}={}", crate::components::layout::urlencode(v)));
        }
    };
    push("actor", &f.actor);
    push("action", &f.action);
    push("target", &f.target);
    push("since", &f.since);
    push("until", &f.until);
    parts.join("&")
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| filter_from_query(&query.read()));
    let page = Resource::new(move || filter.get(), list_audit);
    let value = move |k: &'static str| move || query.read().get(k).unwrap_or_default();
    view! {
        <Title text="Audit log · Berth"/>
        <h1>"Audit log"</h1>
        <form method="get" action="/audit" class="row filters" id="audit-filter">
            <label>"Actor"<input name="actor" value=value("actor")/></label>
            <label>"Action"<input name="action" placeholder="user., auth.login" value=value("action")/></label>
            <label>"Target"<input name="target" value=value("target")/></label>
            <label>"Since"<input name="since" placeholder="2026-01-31" value=value("since")/></label>
            <label>"Until"<input name="until" placeholder="2026-12-31T23:59" value=value("until")/></label>
            <button type="submit">"Filter"</button>
            <a class="button" href=move || format!("/api/v1/audit/export?{}", query_string(&filter.get())) download="audit.jsonl">"Export JSON Lines"</a>
        </form>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => {
                        let next = p.next_before.map(|b| {
                            let qs = query_string(&filter.get_untracked());
                            format!("/audit?{qs}&before={b}")
                        });
                        view! {
                            <table class="data" id="audit">
                                <thead><tr><th>"#"</th><th>"Time"</th><th>"Actor"</th><th>"Action"</th><th>"Target"</th><th>"Result"</th><th>"Client"</th><th>"Details"</th></tr></thead>
                                <tbody>
                                    {p.events.into_iter().map(|e| view! {
                                        <tr>
                                            <td>{e.seq}</td>
                                            <td><time>{fmt_ms(e.ts)}</time></td>
                                            <td>{e.actor}<span class="muted small">" "{e.actor_kind}</span></td>
                                            <td><code>{e.action}</code></td>
                                            <td>{e.target}</td>
                                            <td><span class=format!("result {}", e.result)>{e.result.clone()}</span></td>
                                            <td class="small" title=e.user_agent>{e.client_addr}</td>
                                            <td class="small"><code>{e.summary}</code></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {next.map(|href| view! { <p><a href=href class="button">"Older events →"</a></p> })}
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
