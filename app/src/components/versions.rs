//! Configuration versions of an environment, and the diff between two of them.
use crate::error::AppError;
use crate::model::{fmt_ms, ConfigChange, ConfigVersionView};
use leptos::prelude::*;

fn show(v: &Option<serde_json::Value>) -> AnyView {
    match v {
        None => view! { <span class="muted">"—"</span> }.into_any(),
        Some(serde_json::Value::String(s)) => view! { <code>{s.clone()}</code> }.into_any(),
        Some(other) => view! { <code>{other.to_string()}</code> }.into_any(),
    }
}

#[component]
pub fn ChangesTable(changes: Vec<ConfigChange>, from: i64, to: i64) -> impl IntoView {
    if changes.is_empty() {
        return view! { <p class="empty" id="diff-empty">{format!("No differences between v{from} and v{to}.")}</p> }.into_any();
    }
    view! {
        <table class="data" id="diff">
            <thead><tr><th>"Key"</th><th>"Change"</th><th>{format!("v{from}")}</th><th>{format!("v{to}")}</th></tr></thead>
            <tbody>
                {changes.into_iter().map(|c| {
                    // A secret's change carries no values at all: say so, rather than "—".
                    let hidden = c.kind == "changed" && c.from.is_none() && c.to.is_none();
                    view! {
                        <tr data-key=c.key.clone()>
                            <td><code>{c.key.clone()}</code></td>
                            <td><span class=format!("kind {}", c.kind)>{c.kind.clone()}</span></td>
                            {if hidden {
                                view! { <td colspan="2" class="muted">"value hidden (secret)"</td> }.into_any()
                            } else {
                                view! { <td>{show(&c.from)}</td><td>{show(&c.to)}</td> }.into_any()
                            }}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The versions list, the diff form (a GET form: `from` and `to` on the page URL, so it
/// works without JavaScript) and the changes between the chosen versions.
#[component]
pub fn VersionsCard(
    versions: Result<Vec<ConfigVersionView>, AppError>,
    action: String,
    from: Option<i64>,
    to: Option<i64>,
    diff: Option<Result<Vec<ConfigChange>, AppError>>,
) -> impl IntoView {
    let versions = match versions {
        Ok(v) => v,
        Err(e) => return view! { <section class="card"><h2>"Versions"</h2><p class="error">{e.to_string()}</p></section> }.into_any(),
    };
    let latest = versions.first().map_or(0, |v| v.number);
    let from_sel = from.unwrap_or((latest - 1).max(0));
    let to_sel = to.unwrap_or(latest);
    let options = move |sel: i64| {
        let mut numbers: Vec<i64> = versions_numbers(latest);
        numbers.push(0);
        numbers
            .into_iter()
            .map(|n| {
                let label = if n == 0 {
                    "v0 (empty)".to_string()
                } else {
                    format!("v{n}")
                };
                view! { <option value=n.to_string() selected=n == sel>{label}</option> }
            })
            .collect_view()
    };
    view! {
        <section class="card" id="versions-card">
            <h2>"Configuration versions"</h2>
            {if versions.is_empty() {
                view! { <p class="empty">"No versions yet: setting a variable makes the first."</p> }.into_any()
            } else {
                view! {
                    <table class="data" id="versions">
                        <thead><tr><th>"Version"</th><th>"Time"</th><th>"Actor"</th><th>"Reason"</th></tr></thead>
                        <tbody>
                            {versions.into_iter().map(|v| view! {
                                <tr>
                                    <td>{format!("v{}", v.number)}</td>
                                    <td>{fmt_ms(v.created_at)}</td>
                                    <td>{v.actor}</td>
                                    <td>{v.reason}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <form method="get" action=action id="diff-form" class="row">
                        <label>"From"<select name="from">{options(from_sel)}</select></label>
                        <label>"To"<select name="to">{options(to_sel)}</select></label>
                        <button type="submit">"Compare"</button>
                    </form>
                }.into_any()
            }}
            {match (diff, from, to) {
                (Some(Ok(changes)), Some(f), Some(t)) => view! { <h3>{format!("Changes from v{f} to v{t}")}</h3><ChangesTable changes from=f to=t/> }.into_any(),
                (Some(Err(e)), _, _) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                _ => ().into_any(),
            }}
        </section>
    }
    .into_any()
}

fn versions_numbers(latest: i64) -> Vec<i64> {
    (1..=latest).rev().collect()
}
