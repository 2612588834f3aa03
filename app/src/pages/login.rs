//! Sign in.
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::serverfns::auth::Login;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let err = action_error(login);
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    view! {
        <Title text="Sign in · Berth"/>
        <main class="center">
            <div class="card narrow">
                <h1>"⚓ Berth"</h1>
                <p class="muted">"Sign in to your control panel."</p>
                <ActionForm action=login attr:id="login-form">
                    <input type="hidden" name="next" value=next/>
                    <label>
                        "Username"
                        <input name="username" autocomplete="username" required autofocus/>
                    </label>
                    <FieldError err field="username"/>
                    <label>
                        "Password"
                        <input type="password" name="password" autocomplete="current-password" required/>
                    </label>
                    <FieldError err field="password"/>
                    <OtherError err fields=&["username", "password"]/>
                    <button type="submit" class="primary" disabled=move || login.pending().get()>
                        "Sign in"
                    </button>
                </ActionForm>
            </div>
        </main>
    }
}
