//! Areas whose features arrive with later capabilities; each page says what will be here.
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
fn Upcoming(title: &'static str, what: &'static str) -> impl IntoView {
    view! {
        <Title text=format!("{title} · Berth")/>
        <h1>{title}</h1>
        <div class="empty">
            <p>{what}</p>
        </div>
    }
}

#[component]
pub fn MetricsPage() -> impl IntoView {
    view! { <Upcoming title="Metrics" what="No metric sources yet. Request rates, latencies and errors per site will be charted here."/> }
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    view! { <Upcoming title="Alerts" what="No alert rules yet. Firing and resolved alerts will be listed here."/> }
}

#[component]
pub fn BackupsPage() -> impl IntoView {
    view! { <Upcoming title="Backups" what="No backup policies yet. Backups, restores and restore drills will be listed here."/> }
}
