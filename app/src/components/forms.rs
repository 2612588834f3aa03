//! Form errors that work with and without JavaScript.
//!
//! With JavaScript the error comes back as the action's value; without it, the server
//! redirects to the form's page with the error encoded in the `__err` query parameter
//! (server_fn's form redirects), which this module decodes during server rendering.
use crate::error::AppError;
use base64::Engine;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

fn decode(raw: &str) -> Option<AppError> {
    let bytes = base64::engine::general_purpose::URL_SAFE.decode(raw).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The latest error of `action`, whichever way the form was sent.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let query = use_query_map();
    let from_url = Memo::new(move |_| {
        let q = query.read();
        if q.get("__path").as_deref() == Some(S::PATH) {
            q.get("__err").and_then(|e| decode(&e))
        } else {
            None
        }
    });
    Signal::derive(move || match action.value().get() {
        Some(Err(e)) => Some(e),
        Some(Ok(_)) => None,
        None => from_url.get(),
    })
}

/// Shows the error if it belongs to `field`; with `field = ""`, shows errors that belong to
/// no field.
#[component]
pub fn FieldError(err: Signal<Option<AppError>>, #[prop(into)] field: String) -> impl IntoView {
    move || {
        err.get()
            .filter(|e| match e.field() {
                Some(f) => f == field,
                None => field.is_empty(),
            })
            .map(|e| {
                let text = match &e {
                    AppError::Invalid { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                view! { <p class="error" role="alert">{text}</p> }
            })
    }
}

/// Shows an error when a form's error is about a field this form does not have.
#[component]
pub fn OtherError(err: Signal<Option<AppError>>, fields: &'static [&'static str]) -> impl IntoView {
    move || {
        err.get()
            .filter(|e| e.field().is_none_or(|f| !fields.contains(&f)))
            .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    }
}
