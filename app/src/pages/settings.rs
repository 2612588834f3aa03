//! Your account (password) and, for admins, the audit chain check.
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::serverfns::audit::VerifyAudit;
use crate::serverfns::auth::ChangePassword;
use crate::serverfns::settings::{host_paths, SetHostPaths};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let err = action_error(change);
    let verify = ServerAction::<VerifyAudit>::new();
    let verify_err = action_error(verify);
    let set_paths = ServerAction::<SetHostPaths>::new();
    let paths_err = action_error(set_paths);
    let paths = Resource::new(move || set_paths.version().get(), |_| host_paths());
    view! {
        <Title text="Settings · Berth"/>
        <h1>"Settings"</h1>
        <section class="card">
            <h2>"Change your password"</h2>
            <p class="muted small">"Your other sessions end when the password changes."</p>
            <ActionForm action=change attr:id="change-password">
                <label>"Current password"<input type="password" name="current_password" required autocomplete="current-password"/></label>
                <FieldError err field="current_password"/>
                <label>"New password (at least 12 characters)"<input type="password" name="new_password" required minlength="12" autocomplete="new-password"/></label>
                <FieldError err field="new_password"/>
                <OtherError err fields=&["current_password", "new_password"]/>
                <button type="submit" class="primary">"Change password"</button>
            </ActionForm>
            {move || matches!(change.value().get(), Some(Ok(()))).then(|| view! { <p class="ok">"Password changed."</p> })}
        </section>
        <section class="card">
            <h2>"Audit chain"</h2>
            <p class="muted small">"Walks the whole audit log and checks every link of its hash chain (instance admins)."</p>
            <ActionForm action=verify attr:id="verify-audit">
                <button type="submit">"Verify now"</button>
            </ActionForm>
            {move || verify.value().get().and_then(|r| r.ok()).map(|r| if r.ok {
                view! { <p class="ok">{format!("Intact: {} events checked.", r.events_checked)}</p> }.into_any()
            } else {
                view! { <p class="error">{format!("Broken at event {}: {}", r.first_bad_seq.unwrap_or_default(), r.problem.unwrap_or_default())}</p> }.into_any()
            })}
            <OtherError err=verify_err fields=&[]/>
        </section>
        <section class="card">
            <h2>"Allowed host paths"</h2>
            <p class="muted small">"Host directories that maintainers may bind-mount into containers (a mount inside one of them is allowed). A mount of "<code>"/"</code>", the Docker socket or Berth's data directory gives a container every secret: only instance admins mount paths outside this list. Named volumes are always allowed."</p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let current = paths.await.map(|p| p.join("\n")).unwrap_or_default();
                    view! {
                        <ActionForm action=set_paths attr:id="host-paths">
                            <label>"One absolute path per line"<textarea name="paths" rows="3" spellcheck="false">{current}</textarea></label>
                            <FieldError err=paths_err field="paths"/>
                            <OtherError err=paths_err fields=&["paths"]/>
                            <button type="submit">"Save host paths (instance admins)"</button>
                        </ActionForm>
                    }
                })}
            </Suspense>
        </section>
    }
}
