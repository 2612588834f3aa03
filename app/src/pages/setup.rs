//! First-run setup: create the first admin through the one-time link.
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::serverfns::auth::{setup_token_valid, CompleteSetup};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let valid = Resource::new(token, setup_token_valid);
    let setup = ServerAction::<CompleteSetup>::new();
    let err = action_error(setup);
    view! {
        <Title text="Set up · Berth"/>
        <main class="center">
            <div class="card narrow">
                <h1>"Welcome to Berth"</h1>
                <Suspense fallback=|| view! { <p>"Checking the link…"</p> }>
                    {move || Suspend::new(async move {
                        match valid.await {
                            Ok(true) => view! {
                                <p class="muted">"Create the first administrator account."</p>
                                <ActionForm action=setup attr:id="setup-form">
                                    <input type="hidden" name="token" value=token/>
                                    <label>"Username"<input name="username" autocomplete="username" required/></label>
                                    <FieldError err field="username"/>
                                    <label>"Password (at least 12 characters)"
                                        <input type="password" name="password" autocomplete="new-password" required minlength="12"/>
                                    </label>
                                    <FieldError err field="password"/>
                                    <FieldError err field="token"/>
                                    <OtherError err fields=&["username", "password", "token"]/>
                                    <button type="submit" class="primary">"Create administrator"</button>
                                </ActionForm>
                            }.into_any(),
                            _ => view! {
                                <p class="error" role="alert">
                                    "This setup link is used, expired or no longer needed. "
                                    "Sign in, or restart Berth with an empty database for a new link."
                                </p>
                                <p><a href="/login">"Sign in"</a></p>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
}
