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

/// One page of the versions list (newest first; `before` pages back through older ones with
/// a plain link), the diff form (a GET form: `from` and `to` on the page URL, so it works
/// without JavaScript; number fields, not one option per version, so a history of thousands
/// stays a small page) and the changes between the chosen versions.
#[component]
pub fn VersionsCard(
    versions: Result<Vec<ConfigVersionView>, AppError>,
    /// The environment's newest version number.
    latest: i64,
    /// The page shows versions numbered below this.
    before: Option<i64>,
    action: String,
    from: Option<i64>,
    to: Option<i64>,
    diff: Option<Result<Vec<ConfigChange>, AppError>>,
) -> impl IntoView {
    let versions = match versions {
        Ok(v) => v,
        Err(e) => return view! { <section class="card"><h2>"Versions"</h2><p class="error">{e.to_string()}</p></section> }.into_any(),
    };
    // The environment's own number may be older than this list when the list reloaded after a
    // change (the list follows every change; the environment is not read again).
    let latest = latest.max(versions.first().map_or(0, |v| v.number));
    let from_sel = from.unwrap_or((latest - 1).max(0));
    let to_sel = to.unwrap_or(latest);
    // Older versions exist below this page's last one (version 1 is the oldest).
    let older = versions
        .last()
        .map(|v| v.number)
        .filter(|n| *n > 1)
        .map(|n| format!("{action}?vbefore={n}#versions-card"));
    let newer = before.map(|_| format!("{action}#versions-card"));
    let number = move |name: &'static str, value: i64| {
        view! {
            <input type="number" name=name min="0" max=latest.to_string() value=value.to_string()
                required=true inputmode="numeric" class="narrow"/>
        }
    };
    view! {
        <section class="card" id="versions-card">
            <h2>"Configuration versions"</h2>
            {if latest == 0 {
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
                    <p class="row" id="versions-pages">
                        {newer.map(|href| view! { <a href=href rel="prev">"← Newest versions"</a> })}
                        {older.map(|href| view! { <a href=href rel="next" id="older-versions">"Older versions →"</a> })}
                    </p>
                    <form method="get" action=action id="diff-form" class="row">
                        <label>"From v"{number("from", from_sel)}</label>
                        <label>"To v"{number("to", to_sel)}</label>
                        <button type="submit">"Compare"</button>
                        <span class="muted">"v0 is the empty configuration"</span>
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
