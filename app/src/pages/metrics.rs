//! An environment's metrics (`/projects/:slug/environments/:env/metrics`): what Berth scrapes
//! and how each target did last (up or down, when, how long, how many samples, why not), the
//! settings and static targets (maintainers; a `prometheus.yml` imports), and a query box
//! (`?q=<PromQL>`: the answer as a table and the last hour as a plain chart). Every form
//! works without JavaScript; the query box is a GET form.
use crate::components::forms::{action_error, FieldError, OtherError};
use crate::components::live::fmt_duration;
use crate::model::{ChartSeries, MetricsSettings, QueryResultView, Role, ScrapeTargetView};
use crate::serverfns::environments::get_environment;
use crate::serverfns::metrics::{
    get_metrics_settings, get_scrape_targets, run_metrics_query, AddScrapeTarget,
    ImportPrometheusConfig, RemoveScrapeTarget, SaveMetricsSettings,
};
use crate::serverfns::projects::get_project;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

fn secs(ms: i64) -> String {
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[component]
fn TargetRow(
    t: ScrapeTargetView,
    now: i64,
    can_edit: bool,
    remove: ServerAction<RemoveScrapeTarget>,
    project: String,
    env: String,
) -> impl IntoView {
    let last = t.last_scrape.map_or_else(
        || "—".to_string(),
        |at| format!("{} ago", fmt_duration(now - at)),
    );
    let id = t.id;
    view! {
        <tr data-job=t.job.clone() data-instance=t.instance.clone() data-health=t.health.clone()>
            <td>{t.job.clone()}<div class="small muted">{t.kind.clone()}</div></td>
            <td><code>{t.url.clone()}</code></td>
            <td><span class=format!("status t-{}", t.health)>{t.health.clone()}</span></td>
            <td class="nowrap">{last}</td>
            <td class="nowrap">{t.last_duration_ms.map(|d| format!("{d:.1} ms")).unwrap_or_else(|| "—".into())}</td>
            <td>{t.last_samples.map(|n| n.to_string()).unwrap_or_else(|| "—".into())}</td>
            <td class="nowrap">{secs(t.interval_ms)}</td>
            <td class="error small">{t.last_error.clone()}</td>
            <td>{(can_edit && id.is_some()).then(|| view! {
                <ActionForm action=remove attr:class="inline remove-target">
                    <input type="hidden" name="project" value=project/>
                    <input type="hidden" name="env" value=env/>
                    <input type="hidden" name="id" value=id.unwrap_or_default().to_string()/>
                    <button type="submit" class="small danger">"Remove"</button>
                </ActionForm>
            })}</td>
        </tr>
    }
}

/// Lines of a chart in SVG: time across, value up, each series its own colour.
#[component]
fn Chart(series: Vec<ChartSeries>) -> impl IntoView {
    const W: f64 = 800.0;
    const H: f64 = 200.0;
    let points = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(_, v)| v.is_finite());
    let (mut t0, mut t1, mut lo, mut hi) = (i64::MAX, i64::MIN, f64::MAX, f64::MIN);
    for (t, v) in points {
        t0 = t0.min(*t);
        t1 = t1.max(*t);
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    if t0 > t1 {
        return view! { <p class="muted" id="query-chart-empty">"No data in the last hour."</p> }
            .into_any();
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let span = (t1 - t0).max(1) as f64;
    let x = move |t: i64| (t - t0) as f64 / span * W;
    let y = move |v: f64| H - (v - lo) / (hi - lo) * H;
    const COLOURS: [&str; 6] = [
        "#2f6fdf", "#d9822b", "#2e9e5b", "#c23c3c", "#8a55c9", "#5a6b7d",
    ];
    let lines = series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let pts: Vec<String> = s
                .points
                .iter()
                .filter(|(_, v)| v.is_finite())
                .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
                .collect();
            view! { <polyline fill="none" stroke=COLOURS[i % COLOURS.len()] stroke-width="1.5" points=pts.join(" ")><title>{s.label.clone()}</title></polyline> }
        })
        .collect_view();
    view! {
        <figure id="query-chart">
            <svg viewBox=format!("0 0 {W} {H}") preserveAspectRatio="none" width="100%" height="200" role="img">{lines}</svg>
            <figcaption class="small muted">{format!("last hour · min {lo} · max {hi}")}</figcaption>
        </figure>
    }
    .into_any()
}

#[component]
fn QueryCard(project: String, env: String, expr: String) -> impl IntoView {
    let shown = expr.clone();
    let result = Resource::new(
        move || (project.clone(), expr.clone()),
        |(p, e)| async move {
            if e.trim().is_empty() {
                None
            } else {
                Some(run_metrics_query(p, e).await)
            }
        },
    );
    let example = format!("up{{environment=\"{env}\"}}");
    view! {
        <section class="card" id="query-card">
            <h2>"Query"</h2>
            <form method="get" id="query-form" class="row">
                <label class="grow">"PromQL"<input name="q" value=shown placeholder=example spellcheck="false"/></label>
                <button type="submit" class="primary">"Run"</button>
            </form>
            <Suspense fallback=|| view! { <p class="muted">"Running…"</p> }>
                {move || Suspend::new(async move {
                    match result.await {
                        None => view! { <p class="muted small">"Series of this project only; e.g. rate(django_requests_total[5m])."</p> }.into_any(),
                        Some(Err(err)) => view! { <p class="error">{err.to_string()}</p> }.into_any(),
                        Some(Ok(r)) => view! { <QueryResult r/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn QueryResult(r: QueryResultView) -> impl IntoView {
    if let Some(e) = r.error.clone().filter(|_| r.rows.is_empty()) {
        return view! { <p class="error" id="query-error">{e}</p> }.into_any();
    }
    view! {
        <table class="data" id="query-result" data-type=r.result_type.clone()>
            <thead><tr><th>"Series"</th><th>"Value"</th></tr></thead>
            <tbody>{r.rows.into_iter().map(|(s, v)| view! { <tr><td><code>{s}</code></td><td>{v}</td></tr> }).collect_view()}</tbody>
        </table>
        {(r.truncated > 0).then(|| view! { <p class="muted small">{format!("{} more not shown", r.truncated)}</p> })}
        {r.error.map(|e| view! { <p class="error">{e}</p> })}
        {(!r.chart.is_empty()).then(|| view! { <Chart series=r.chart/> })}
    }
    .into_any()
}

#[component]
fn SettingsCard(
    s: MetricsSettings,
    project: String,
    env: String,
    save: ServerAction<SaveMetricsSettings>,
) -> impl IntoView {
    let err = action_error(save);
    view! {
        <ActionForm action=save attr:id="metrics-settings" attr:class="row">
            <input type="hidden" name="project" value=project/>
            <input type="hidden" name="env" value=env/>
            <label><input type="checkbox" name="scrape_replicas" value="on" checked=s.scrape_replicas/>" Scrape every replica"</label>
            <label>"Interval"<input name="interval" value=secs(s.interval_ms) size="6"/></label>
            <label>"Timeout"<input name="timeout" value=secs(s.timeout_ms) size="6"/></label>
            <label>"Raw kept (days)"<input name="retention_raw_days" value=s.retention_raw_days.to_string() size="4"/></label>
            <label>"Rollups kept (days)"<input name="retention_rollup_days" value=s.retention_rollup_days.to_string() size="4"/></label>
            <label class="grow">"Remote write URL"<input name="remote_write_url" value=s.remote_write_url.clone() placeholder="https://mimir.example.com/api/v1/push" spellcheck="false"/></label>
            <label class="grow">"Remote read URL"<input name="remote_read_url" value=s.remote_read_url.clone() placeholder="http://prometheus:9090/api/v1/read" spellcheck="false"/></label>
            <button type="submit">"Save"</button>
        </ActionForm>
        <FieldError err field="remote_write_url"/>
        <FieldError err field="remote_read_url"/>
        <FieldError err field="interval"/>
        <FieldError err field="retention_raw_days"/>
        <FieldError err field="retention_rollup_days"/>
        <OtherError err fields=&["interval", "retention_raw_days", "retention_rollup_days", "remote_write_url", "remote_read_url"]/>
    }
}

#[component]
fn EditCard(
    project: String,
    env: String,
    add: ServerAction<AddScrapeTarget>,
    import: ServerAction<ImportPrometheusConfig>,
) -> impl IntoView {
    let add_err = action_error(add);
    let import_err = action_error(import);
    let (p2, e2) = (project.clone(), env.clone());
    view! {
        <section class="card" id="targets-edit">
            <h2>"Static targets"</h2>
            <ActionForm action=add attr:id="add-target" attr:class="row">
                <input type="hidden" name="project" value=project/>
                <input type="hidden" name="env" value=env/>
                <label>"Job"<input name="job_name" required placeholder="opensearch"/></label>
                <label class="grow">"Address"<input name="address" required placeholder="opensearch:9200" spellcheck="false"/></label>
                <label>"Path"<input name="metrics_path" placeholder="/metrics" spellcheck="false"/></label>
                <button type="submit">"Add target"</button>
            </ActionForm>
            <FieldError err=add_err field="job_name"/>
            <FieldError err=add_err field="address"/>
            <FieldError err=add_err field="metrics_path"/>
            <OtherError err=add_err fields=&["job_name", "address", "metrics_path"]/>
            <ActionForm action=import attr:id="import-prometheus">
                <input type="hidden" name="project" value=p2/>
                <input type="hidden" name="env" value=e2/>
                <label>"Import a prometheus.yml (each job's static targets replace that job's)"<textarea name="config" rows="6" spellcheck="false" placeholder="scrape_configs:\n  - job_name: opensearch\n    static_configs:\n      - targets: ['opensearch:9200']"></textarea></label>
                <FieldError err=import_err field="config"/>
                <OtherError err=import_err fields=&["config"]/>
                <button type="submit">"Import"</button>
            </ActionForm>
            {move || import.value().get().and_then(|r| r.ok()).map(|r| view! {
                <p class="ok" id="import-result">{format!("Imported {} targets of {} jobs.", r.targets, r.jobs.len())}
                    {(!r.unsupported.is_empty()).then(|| format!(" Not acted on: {}.", r.unsupported.join(", ")))}</p>
            })}
        </section>
    }
}

#[component]
pub fn MetricsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let env = move || params.read().get("env").unwrap_or_default();
    let expr = move || query.read().get("q").unwrap_or_default();
    let save = ServerAction::<SaveMetricsSettings>::new();
    let add = ServerAction::<AddScrapeTarget>::new();
    let remove = ServerAction::<RemoveScrapeTarget>::new();
    let import = ServerAction::<ImportPrometheusConfig>::new();
    let remove_err = action_error(remove);
    let project = Resource::new(slug, get_project);
    let environment = Resource::new(move || (slug(), env()), |(s, e)| get_environment(s, e));
    let targets = Resource::new(
        move || {
            (
                slug(),
                env(),
                add.version().get(),
                remove.version().get(),
                import.version().get(),
                save.version().get(),
            )
        },
        |(s, e, ..)| get_scrape_targets(s, e),
    );
    let settings = Resource::new(
        move || (slug(), env(), save.version().get()),
        |(s, e, _)| get_metrics_settings(s, e),
    );
    view! {
        <Title text="Metrics · Berth"/>
        <p class="crumbs"><a href="/projects">"Projects"</a>" / "<a href=move || format!("/projects/{}", slug())>{slug}</a>" / "
            <a href=move || format!("/projects/{}/environments/{}", slug(), env())>{env}</a></p>
        <h1>"Metrics"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (p, e) = match (project.await, environment.await) {
                    (Ok(p), Ok(e)) => (p, e),
                    (Err(err), _) | (_, Err(err)) => return view! { <p class="error">{err.to_string()}</p> }.into_any(),
                };
                let can_edit = p.my_role >= Some(Role::Maintainer);
                let (list, now) = match targets.await {
                    Ok(v) => v,
                    Err(err) => return view! { <p class="error">{err.to_string()}</p> }.into_any(),
                };
                let s = settings.await.unwrap_or_default();
                view! {
                    <section class="card" id="targets-card">
                        <h2>"Targets"</h2>
                        {if can_edit {
                            view! { <SettingsCard s project=p.slug.clone() env=e.slug.clone() save/> }.into_any()
                        } else {
                            view! { <p class="muted small">{format!("Every {} · raw samples kept {} days, 5-minute rollups {} days", secs(s.interval_ms), s.retention_raw_days, s.retention_rollup_days)}</p> }.into_any()
                        }}
                        {if list.is_empty() {
                            view! { <p class="empty">"Nothing to scrape yet: deploy a service with an HTTP port, or add a target."</p> }.into_any()
                        } else {
                            view! {
                                <table class="data" id="targets">
                                    <thead><tr><th>"Job"</th><th>"Endpoint"</th><th>"State"</th><th>"Last scrape"</th><th>"Took"</th>
                                        <th>"Samples"</th><th>"Every"</th><th>"Error"</th><th></th></tr></thead>
                                    <tbody>{list.into_iter().map(|t| view! {
                                        <TargetRow t now can_edit remove project=p.slug.clone() env=e.slug.clone()/>
                                    }).collect_view()}</tbody>
                                </table>
                            }.into_any()
                        }}
                        <OtherError err=remove_err fields=&[]/>
                    </section>
                    {can_edit.then(|| view! { <EditCard project=p.slug.clone() env=e.slug.clone() add import/> })}
                }.into_any()
            })}
        </Transition>
        {move || view! { <QueryCard project=slug() env=env() expr=expr()/> }}
    }
}
