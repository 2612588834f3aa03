//! Users of this instance; admins create and disable them.
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::components::layout::use_me;
use crate::model::fmt_ms;
use crate::serverfns::users::{list_users, CreateUser, SetUserDisabled};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn TeamPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let toggle = ServerAction::<SetUserDisabled>::new();
    let err = action_error(create);
    let toggle_err = action_error(toggle);
    let users = Resource::new(
        move || (create.version().get(), toggle.version().get()),
        |_| list_users(),
    );
    let me = use_me().0;
    view! {
        <Title text="Team · Berth"/>
        <h1>"Team"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = me.await.ok().flatten();
                let admin = me.as_ref().is_some_and(|m| m.is_admin());
                let my_id = me.map(|m| m.id).unwrap_or_default();
                let list = users.await;
                view! {
                    {match list {
                        Ok(list) => view! {
                            <table class="data" id="users">
                                <thead><tr><th>"User"</th><th>"Instance role"</th><th>"Created"</th><th>"Status"</th>{admin.then(|| view! { <th></th> })}</tr></thead>
                                <tbody>
                                    {list.into_iter().map(|u| {
                                        let can_toggle = admin && u.id != my_id;
                                        view! {
                                            <tr>
                                                <td>{u.username.clone()}</td>
                                                <td>{u.instance_role.to_string()}</td>
                                                <td>{fmt_ms(u.created_at)}</td>
                                                <td>{if u.disabled { "disabled" } else { "active" }}</td>
                                                {admin.then(|| view! {
                                                    <td>
                                                        {can_toggle.then(|| view! {
                                                            <ActionForm action=toggle attr:class="inline">
                                                                <input type="hidden" name="username" value=u.username.clone()/>
                                                                <input type="hidden" name="disabled" value=if u.disabled { "false" } else { "true" }/>
                                                                <button type="submit" class="small">{if u.disabled { "Enable" } else { "Disable" }}</button>
                                                            </ActionForm>
                                                        })}
                                                    </td>
                                                })}
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }}
                    <OtherError err=toggle_err fields=&[]/>
                    {admin.then(|| view! {
                        <section class="card">
                            <h2>"New user"</h2>
                            <ActionForm action=create attr:id="create-user" attr:class="row">
                                <label>"Username"<input name="username" required maxlength="64"/></label>
                                <label>"Password"<input type="password" name="password" required minlength="12" autocomplete="new-password"/></label>
                                <label>"Instance role"
                                    <select name="instance_role">
                                        <option value="user">"user"</option>
                                        <option value="admin">"admin"</option>
                                    </select>
                                </label>
                                <button type="submit" class="primary">"Create user"</button>
                            </ActionForm>
                            <FieldError err field="username"/>
                            <FieldError err field="password"/>
                            <OtherError err fields=&["username", "password"]/>
                        </section>
                    })}
                }.into_any()
            })}
        </Suspense>
    }
}
