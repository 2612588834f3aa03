//! The site form: a new site, or an existing one pre-filled (its name fixed). Each field's
//! text format is shown next to it; errors come back next to the field they are about.
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::components::spec_text::SiteText;
use crate::serverfns::sites::PutSite;
use leptos::prelude::*;

const FIELDS: &[&str] = &[
    "name",
    "hosts",
    "routes",
    "health_path",
    "smoke_checks",
    "tls",
    "cache_timeout_secs",
];

#[component]
pub fn SiteForm(
    project: String,
    site: SiteText,
    /// True for an existing site: the name is its key and stays.
    editing: bool,
    action: ServerAction<PutSite>,
    #[prop(into)] id: String,
) -> impl IntoView {
    let err = action_error(action);
    view! {
        <ActionForm action attr:id=id attr:class="site-form">
            <input type="hidden" name="project" value=project/>
            <label>"Name"
                <input name="name" required maxlength="100" value=site.name readonly=editing placeholder="site-a"/>
            </label>
            <FieldError err field="name"/>
            <label>"Hostnames"
                <span class="muted small">" one line per environment: "<code>"production: site-a.com www.site-a.com"</code>" (first = primary, rest = aliases)"</span>
                <textarea name="hosts" rows="3" spellcheck="false">{site.hosts}</textarea>
            </label>
            <FieldError err field="hosts"/>
            <label>"Routes"
                <span class="muted small">" one per line: "<code>"/api/ -> service authoring"</code>", "<code>"/static/ -> files /app/static/ 1y"</code></span>
                <textarea name="routes" rows="5" spellcheck="false">{site.routes}</textarea>
            </label>
            <FieldError err field="routes"/>
            <div class="row">
                <label>"Health path"<input name="health_path" value=site.health_path placeholder="/api/health"/></label>
                <label>"Cache timeout (s)"<input name="cache_timeout_secs" inputmode="numeric" value=site.cache_timeout_secs/></label>
            </div>
            <FieldError err field="health_path"/>
            <FieldError err field="cache_timeout_secs"/>
            <label>"Smoke checks"
                <span class="muted small">" one per line, assertions after "<code>"|"</code>": "<code>"/api/feed?size=1 | .items non-empty | .debug.site == ${HOST}"</code></span>
                <textarea name="smoke_checks" rows="2" spellcheck="false">{site.smoke_checks}</textarea>
            </label>
            <FieldError err field="smoke_checks"/>
            <label>"TLS certificates"
                <span class="muted small">" one line per environment: "<code>"production: /etc/nginx/ssl/site-a.com.crt /etc/nginx/ssl/site-a.com.key"</code></span>
                <textarea name="tls" rows="2" spellcheck="false">{site.tls}</textarea>
            </label>
            <FieldError err field="tls"/>
            <OtherError err fields=FIELDS/>
            <button type="submit" class="primary">{if editing { "Save site" } else { "Create site" }}</button>
        </ActionForm>
    }
}
