//! Variables and secrets: the table (with delete and reveal), and the set-variable form.
//! Used on the project page (project level) and the environment page (both levels).
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::error::AppError;
use crate::model::{fmt_ms, VariableView};
use crate::serverfns::variables::{reveal_secret, DeleteVariable, SetVariable};
use leptos::prelude::*;

/// What the viewer may do with the listed variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VarPerms {
    pub edit: bool,
    pub reveal: bool,
}

/// One row of the table: a variable and whether a more specific one overrides it.
#[derive(Clone, Debug)]
pub struct VarRow {
    pub var: VariableView,
    pub overridden: bool,
}

/// Environment variables first in name order, with the project-level ones they do not
/// override, or override (marked).
pub fn merge(env_vars: Vec<VariableView>, project_vars: Vec<VariableView>) -> Vec<VarRow> {
    let overrides: Vec<String> = env_vars.iter().map(|e| e.name.clone()).collect();
    let mut rows: Vec<VarRow> = project_vars
        .into_iter()
        .map(|v| VarRow {
            overridden: overrides.contains(&v.name),
            var: v,
        })
        .chain(env_vars.into_iter().map(|var| VarRow {
            var,
            overridden: false,
        }))
        .collect();
    rows.sort_by(|a, b| {
        (a.var.name.as_str(), a.var.scope == "project")
            .cmp(&(b.var.name.as_str(), b.var.scope == "project"))
    });
    rows
}

/// "Reveal" for admins: asks the server for the value (audited) and shows it inline.
#[component]
fn Reveal(project: String, env: String, name: String) -> impl IntoView {
    let reveal = Action::new(move |_: &()| {
        let (p, e, n) = (project.clone(), env.clone(), name.clone());
        async move { reveal_secret(p, Some(e), n).await }
    });
    view! {
        {move || match reveal.value().get() {
            Some(Ok(v)) => view! { <code class="revealed">{v}</code> }.into_any(),
            Some(Err(e)) => view! { <span class="error">{e.to_string()}</span> }.into_any(),
            None => view! {
                <span class="muted">"••••"</span>
                <button type="button" class="small reveal" on:click=move |_| { reveal.dispatch(()); }
                    disabled=move || reveal.pending().get()>"Reveal"</button>
            }.into_any(),
        }}
    }
}

#[component]
fn Value(v: VariableView, project: String, perms: VarPerms) -> impl IntoView {
    if v.missing {
        return view! { <span class="badge warn">"missing"</span> }.into_any();
    }
    if !v.secret {
        return view! { <code class="value">{v.value.unwrap_or_default()}</code> }.into_any();
    }
    if perms.reveal {
        let env = if v.scope == "project" {
            String::new()
        } else {
            v.scope.clone()
        };
        return view! { <Reveal project env name=v.name/> }.into_any();
    }
    view! { <span class="muted">"••••"</span> }.into_any()
}

#[component]
pub fn VariablesTable(
    rows: Vec<VarRow>,
    project: String,
    perms: VarPerms,
    delete: ServerAction<DeleteVariable>,
) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty">"No variables yet."</p> }.into_any();
    }
    view! {
        <table class="data" id="variables">
            <thead><tr>
                <th>"Name"</th><th>"Scope"</th><th>"Value"</th><th>"Version"</th><th>"Updated"</th>
                {perms.edit.then(|| view! { <th></th> })}
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|VarRow { var: v, overridden }| {
                    let env = if v.scope == "project" { String::new() } else { v.scope.clone() };
                    let (project, name) = (project.clone(), v.name.clone());
                    view! {
                        <tr data-name=v.name.clone() data-scope=v.scope.clone() class:overridden=overridden>
                            <td>
                                <code>{v.name.clone()}</code>
                                {v.secret.then(|| view! { <span class="badge secret">"secret"</span> })}
                                {overridden.then(|| view! { <span class="badge">"overridden"</span> })}
                                {stack::reserved::is_reserved(&v.name).then(|| view! { <span class="badge berth" title="Berth reads it itself; it never reaches a container or job">{stack::reserved::RESERVED_NOTE}</span> })}
                            </td>
                            <td>{v.scope.clone()}</td>
                            <td class="value"><Value v=v.clone() project=project.clone() perms/></td>
                            <td>{v.version}</td>
                            <td class="small updated">{v.updated_by.clone()}<br/><span class="muted">{fmt_ms(v.updated_at)}</span></td>
                            {perms.edit.then(|| view! {
                                <td>
                                    <ActionForm action=delete attr:class="inline delete-variable">
                                        <input type="hidden" name="project" value=project/>
                                        <input type="hidden" name="env" value=env/>
                                        <input type="hidden" name="name" value=name/>
                                        <button type="submit" class="danger small">"Delete"</button>
                                    </ActionForm>
                                </td>
                            })}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The set-variable form: a new variable, or a new value for an existing one.
#[component]
pub fn SetVariableForm(
    project: String,
    env: String,
    set: ServerAction<SetVariable>,
) -> impl IntoView {
    let err = action_error(set);
    view! {
        <ActionForm action=set attr:id="set-variable" attr:class="row">
            <input type="hidden" name="project" value=project/>
            <input type="hidden" name="env" value=env/>
            <label>"Name"<input name="name" required maxlength="128" placeholder="DATABASE_URL" autocomplete="off"/></label>
            <label class="grow">"Value"<input name="value" maxlength="65536" autocomplete="off" spellcheck="false"/></label>
            <label class="check"><input type="checkbox" name="secret"/>"secret"</label>
            <label class="check"><input type="checkbox" name="missing"/>"required, no value yet"</label>
            <button type="submit" class="primary">"Set"</button>
        </ActionForm>
        <FieldError err field="name"/>
        <FieldError err field="value"/>
        <OtherError err fields=&["name", "value"]/>
        <p class="muted small">"Secrets are encrypted at rest and never shown again; refer to others with "<code>"${NAME}"</code>"."</p>
    }
}

/// The variables card: table, delete errors, and the set form for those who may edit.
#[component]
pub fn VariablesCard(
    rows: Result<Vec<VarRow>, AppError>,
    project: String,
    env: String,
    perms: VarPerms,
    set: ServerAction<SetVariable>,
    delete: ServerAction<DeleteVariable>,
) -> impl IntoView {
    let delete_err = action_error(delete);
    view! {
        <section class="card" id="variables-card">
            <h2>{if env.is_empty() { "Project variables and secrets" } else { "Variables and secrets" }}</h2>
            {match rows {
                Ok(rows) => view! { <VariablesTable rows project=project.clone() perms delete/> }.into_any(),
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            }}
            <OtherError err=delete_err fields=&[]/>
            {perms.edit.then(|| view! { <SetVariableForm project env set/> })}
        </section>
    }
}
