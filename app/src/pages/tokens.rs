//! The caller's API tokens: create (shown once), list, revoke.
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::model::{fmt_ms, CreatedToken};
use crate::serverfns::tokens::{list_tokens, take_new_token, CreateToken, RevokeToken};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
fn NewTokenNotice(t: CreatedToken) -> impl IntoView {
    view! {
        <div class="notice" id="new-token">
            <p>"Token "<strong>{t.token.name}</strong>" created. Copy it now: it is shown only once."</p>
            <pre class="secret"><code>{t.secret}</code></pre>
        </div>
    }
}

#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let err = action_error(create);
    let revoke_err = action_error(revoke);
    let flashed = Resource::new(|| (), |_| take_new_token());
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    view! {
        <Title text="API tokens · Berth"/>
        <h1>"API tokens"</h1>
        <p class="muted">"Use a token as "<code>"Authorization: Bearer …"</code>" with the REST API under "<code>"/api/v1"</code>". A token can never do more than you can."</p>
        {move || match create.value().get() {
            Some(Ok(t)) => Some(view! { <NewTokenNotice t/> }.into_any()),
            _ => None,
        }}
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                flashed.await.ok().flatten().map(|t| view! { <NewTokenNotice t/> })
            })}
        </Suspense>
        <section class="card">
            <h2>"New token"</h2>
            <ActionForm action=create attr:id="create-token" attr:class="row">
                <label>"Name"<input name="name" required maxlength="64" placeholder="github-actions"/></label>
                <label>"Scope"
                    <select name="scope">
                        <option value="read">"read"</option>
                        <option value="deploy">"deploy"</option>
                        <option value="write">"write"</option>
                    </select>
                </label>
                <label>"Expires in"
                    <select name="expires_in">
                        <option value="30d">"30 days"</option>
                        <option value="90d">"90 days"</option>
                        <option value="365d">"1 year"</option>
                        <option value="never">"never"</option>
                    </select>
                </label>
                <button type="submit" class="primary">"Create token"</button>
            </ActionForm>
            <FieldError err field="name"/>
            <FieldError err field="scope"/>
            <FieldError err field="expires_in"/>
            <OtherError err fields=&["name", "scope", "expires_in"]/>
        </section>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match tokens.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No tokens yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="data" id="tokens">
                            <thead><tr><th>"Name"</th><th>"Prefix"</th><th>"Scope"</th><th>"Created"</th><th>"Expires"</th><th>"Last used"</th><th></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|t| view! {
                                    <tr class:revoked=t.revoked>
                                        <td>{t.name.clone()}</td>
                                        <td><code>{t.prefix.clone()}"…"</code></td>
                                        <td>{t.scope.to_string()}</td>
                                        <td>{fmt_ms(t.created_at)}</td>
                                        <td>{t.expires_at.map(fmt_ms).unwrap_or_else(|| "never".into())}</td>
                                        <td>{t.last_used_at.map(fmt_ms).unwrap_or_else(|| "never".into())}</td>
                                        <td>
                                            {if t.revoked {
                                                view! { <span class="muted">"revoked"</span> }.into_any()
                                            } else {
                                                view! {
                                                    <ActionForm action=revoke attr:class="inline">
                                                        <input type="hidden" name="id" value=t.id.to_string()/>
                                                        <button type="submit" class="danger small">"Revoke"</button>
                                                    </ActionForm>
                                                }.into_any()
                                            }}
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <OtherError err=revoke_err fields=&[]/>
    }
}
