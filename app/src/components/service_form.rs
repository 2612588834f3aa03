//! The service form: a new service, or an existing one pre-filled (its name fixed). Each
//! field's text format is shown next to it; errors come back next to their field.
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::components::spec_text::ServiceText;
use crate::serverfns::services::PutService;
use leptos::prelude::*;

const FIELDS: &[&str] = &[
    "name",
    "image",
    "replicas",
    "command",
    "env_vars",
    "inherit",
    "ports",
    "volumes",
    "cpu_limit",
    "memory_limit",
    "cpu_reservation",
    "memory_reservation",
    "http_port",
    "health_path",
    "health_command",
    "health_interval",
    "health_timeout",
    "health_retries",
    "health_start_period",
    "pre_deploy",
    "update",
    "depends_on",
    "restart",
    "stop_grace",
    "runtime",
    "metrics",
];

/// A one-line input with its label and error.
#[component]
fn Field(
    err: Signal<Option<crate::error::AppError>>,
    name: &'static str,
    label: &'static str,
    value: String,
    #[prop(optional)] placeholder: &'static str,
) -> impl IntoView {
    view! {
        <label>{label}<input name=name value=value placeholder=placeholder spellcheck="false"/><FieldError err field=name/></label>
    }
}

/// A textarea with its label, format hint and error.
#[component]
fn Lines(
    err: Signal<Option<crate::error::AppError>>,
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    value: String,
) -> impl IntoView {
    view! {
        <label>{label}" "<span class="muted small">{hint}</span>
            <textarea name=name rows="3" spellcheck="false">{value}</textarea>
        </label>
        <FieldError err field=name/>
    }
}

#[component]
pub fn ServiceForm(
    project: String,
    env: String,
    service: ServiceText,
    /// True for an existing service: the name is its key and stays.
    editing: bool,
    action: ServerAction<PutService>,
    #[prop(into)] id: String,
) -> impl IntoView {
    let err = action_error(action);
    let s = service;
    view! {
        <ActionForm action attr:id=id attr:class="service-form">
            <input type="hidden" name="project" value=project/>
            <input type="hidden" name="env" value=env/>
            <div class="row">
                <label>"Name"<input name="name" required maxlength="63" value=s.name readonly=editing placeholder="authoring"/><FieldError err field="name"/></label>
                <label class="grow">"Image"<input name="image" required value=s.image placeholder="idp-cms/authoring:${GIT_SHA}" spellcheck="false"/><FieldError err field="image"/></label>
                <Field err name="replicas" label="Replicas" value=s.replicas placeholder="1"/>
                <Field err name="http_port" label="HTTP port" value=s.http_port placeholder="8000"/>
                <Field err name="metrics" label="Metrics (off, /path, :port/path)" value=s.metrics placeholder="/metrics"/>
            </div>
            <Field err name="command" label="Command (shell-like; empty: the image's)" value=s.command/>
            <Lines err name="env_vars" label="Environment" hint="KEY=value, one per line" value=s.env/>
            <div class="row">
                <label>"Receives"
                    <select name="inherit_mode">
                        <option value="all" selected=s.inherit_mode != "listed">"every variable of the environment"</option>
                        <option value="listed" selected=s.inherit_mode == "listed">"only the variables listed"</option>
                    </select>
                </label>
                <label class="grow">"Variables it receives (when listed)"" "<span class="muted small">"names, one per line; ${NAME} in its environment always grants NAME; Berth's own (DOCKER_TLS_*, REGISTRY_*, GITHUB_WEBHOOK_SECRET, BERTH_*) never"</span>
                    <textarea name="inherit" rows="2" spellcheck="false">{s.inherit}</textarea>
                </label>
            </div>
            <FieldError err field="inherit"/>
            <Lines err name="ports" label="Ports" hint="127.0.0.1:8080:80/tcp, 8080:80 or 80, one per line" value=s.ports/>
            <Lines err name="volumes" label="Volumes" hint="source:/target[:ro], one per line" value=s.volumes/>
            <div class="row">
                <Field err name="cpu_limit" label="CPU limit" value=s.cpu_limit placeholder="2"/>
                <Field err name="memory_limit" label="Memory limit" value=s.memory_limit placeholder="4G"/>
                <Field err name="cpu_reservation" label="CPU reservation" value=s.cpu_reservation placeholder="0.5"/>
                <Field err name="memory_reservation" label="Memory reservation" value=s.memory_reservation placeholder="1G"/>
            </div>
            <div class="row">
                <Field err name="health_path" label="Health: HTTP path" value=s.health_path placeholder="/api/health"/>
                <Field err name="health_command" label="or command" value=s.health_command placeholder="pg_isready -U app"/>
                <Field err name="health_interval" label="Interval (s)" value=s.health_interval/>
                <Field err name="health_timeout" label="Timeout (s)" value=s.health_timeout/>
                <Field err name="health_retries" label="Retries" value=s.health_retries/>
                <Field err name="health_start_period" label="Start period (s)" value=s.health_start_period/>
            </div>
            <Lines err name="pre_deploy" label="Pre-deploy jobs, in order" hint="migrate: python manage.py migrate --noinput (name before the first colon)" value=s.pre_deploy/>
            <div class="row">
                <label>"Updates"
                    <select name="update">
                        <option value="" selected=s.update.is_empty()>"by its shape (recreate with a writable volume or fixed port, else rolling)"</option>
                        <option value="rolling" selected=s.update == "rolling">"rolling: start the new, then stop the old"</option>
                        <option value="recreate" selected=s.update == "recreate">"recreate: stop the old, then start the new"</option>
                        <option value="manual" selected=s.update == "manual">"manual: only by \"replace now\""</option>
                    </select>
                    <FieldError err field="update"/>
                </label>
                <Field err name="restart" label="Restart policy" value=s.restart.clone() placeholder="unless-stopped"/>
                <Field err name="stop_grace" label="Stop grace (s)" value=s.stop_grace.clone() placeholder="the environment's"/>
                <label class="check"><input type="checkbox" name="internal" value="on" checked=s.internal == "on"/>" internal (not reachable through the proxy)"</label>
            </div>
            <Lines err name="depends_on" label="Depends on" hint="service or service: service_started | service_healthy | service_completed_successfully, one per line" value=s.depends_on/>
            <Lines err name="runtime" label="Runtime options" hint="entrypoint: CMD, user: 999, working_dir: /srv, shm_size: 256m, ulimit nofile: 65536, tmpfs: /run, cap_add: NET_BIND_SERVICE, cap_drop: NET_RAW, extra_host: db:10.0.0.5 — one per line" value=s.runtime/>
            <OtherError err fields=FIELDS/>
            <button type="submit" class="primary">{if editing { "Save service" } else { "Create service" }}</button>
        </ActionForm>
    }
}
