//! A project's environments: the list and, for maintainers, the create form.
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::error::AppError;
use crate::model::EnvironmentView;
use crate::serverfns::environments::CreateEnvironment;
use leptos::prelude::*;

#[component]
pub fn EnvironmentsCard(
    list: Result<Vec<EnvironmentView>, AppError>,
    project: String,
    can_create: bool,
    create: ServerAction<CreateEnvironment>,
) -> impl IntoView {
    let err = action_error(create);
    view! {
        <section class="card" id="environments-card">
            <h2>"Environments"</h2>
            {match list {
                Ok(list) if list.is_empty() => view! { <p class="empty">"No environments yet."</p> }.into_any(),
                Ok(list) => view! {
                    <table class="data" id="environments">
                        <thead><tr><th>"Name"</th><th>"Slug"</th><th>"Branch"</th><th>"Config version"</th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|e| view! {
                                <tr data-slug=e.slug.clone()>
                                    <td>
                                        <a href=format!("/projects/{}/environments/{}", e.project, e.slug)>{e.name.clone()}</a>
                                        {e.protected.then(|| view! { <span class="badge protected">"protected"</span> })}
                                    </td>
                                    <td><code>{e.slug.clone()}</code></td>
                                    <td>{if e.branch.is_empty() {
                                        view! { <span class="muted">"—"</span> }.into_any()
                                    } else {
                                        view! { <code>{e.branch.clone()}</code> }.into_any()
                                    }}</td>
                                    <td>{if e.config_version == 0 { "—".to_string() } else { format!("v{}", e.config_version) }}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            }}
            {can_create.then(|| view! {
                <h3>"New environment"</h3>
                <ActionForm action=create attr:id="create-environment" attr:class="row">
                    <input type="hidden" name="project" value=project/>
                    <label>"Name"<input name="name" required maxlength="100" placeholder="Production"/></label>
                    <label>"Slug"<input name="slug" required maxlength="63" placeholder="production"/></label>
                    <label>"Branch"<input name="branch" maxlength="200" placeholder="main"/></label>
                    <label class="check"><input type="checkbox" name="protected"/>"protected"</label>
                    <button type="submit" class="primary">"Create environment"</button>
                </ActionForm>
                <FieldError err field="name"/>
                <FieldError err field="slug"/>
                <FieldError err field="branch"/>
                <OtherError err fields=&["name", "slug", "branch"]/>
            })}
        </section>
    }
}
