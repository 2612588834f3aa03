//! The page for unknown paths.
use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="center">
            <h1>"Not found"</h1>
            <p><a href="/">"Back to the dashboard"</a></p>
        </main>
    }
}
