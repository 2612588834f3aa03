//! The scraper: every few seconds it works out what to scrape (static targets from the
//! database, replicas from each environment's Docker engine, Berth itself) and keeps one
//! loop per target, each at its own interval and offset. Fetching is async; parsing and
//! storing run on blocking threads, so a slow or huge target holds up neither the web
//! server nor the deploy runner. A target that goes away has its series marked stale.
use super::super::deploy::{connect, plan, rollout};
use super::super::{now_ms, AppState};
use super::config;
use super::scrape::{self, Cache};
use super::targets::{self, Target};
use ::metrics::tsdb::RetentionPolicy;
use berth_model::MetricsSettings;
use engine::ContainerInfo;
use sqlx::Row;
use stack::interpolate::Redactor;
use stack::model::ServiceSpec;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How often the target list is worked out again (sooner when settings change).
const RECONCILE: Duration = Duration::from_secs(5);
/// How often each environment's containers are listed.
const DISCOVER: Duration = Duration::from_secs(10);
/// How often the storage compacts and applies retention.
const MAINTAIN: Duration = Duration::from_secs(60);

/// Starts the scraper and the storage's upkeep; both stop with `stop`.
pub fn spawn(state: AppState, stop: CancellationToken) {
    if state.metrics.tsdb().is_none() {
        tracing::warn!("metrics storage not open: nothing is scraped");
        return;
    }
    tokio::spawn(run(state.clone(), stop.clone()));
    super::remote::spawn(state.clone(), stop.clone());
    tokio::spawn(maintain(state, stop));
}

struct Running {
    stop: CancellationToken,
}

/// Each environment's secret values, masked in what its targets answer before anything is
/// parsed or stored: a target that prints a secret (in a label, a help text, an error) is
/// treated like a container that logs one.
type Redactors = Arc<Mutex<HashMap<i64, Arc<Redactor>>>>;

async fn run(state: AppState, stop: CancellationToken) {
    let client = scrape::client();
    // Static targets are addresses a maintainer typed: they go through the outbound rule.
    let policy = state.metrics.outbound();
    let strict = super::outbound::client(policy, None);
    let mut running: HashMap<String, Running> = HashMap::new();
    let mut discovered: HashMap<i64, (Instant, Vec<Target>)> = HashMap::new();
    let redactors: Redactors = Arc::default();
    let mut secrets_seen = state.metrics.secrets_generation();
    loop {
        let generation = state.metrics.secrets_generation();
        if generation != secrets_seen {
            // A secret changed: no scrape until its environment's redactor is read again.
            redactors.lock().expect("redactors").clear();
            secrets_seen = generation;
        }
        match desired(&state, &mut discovered, &redactors).await {
            Ok(list) => {
                let keys: std::collections::HashSet<&str> =
                    list.iter().map(|t| t.key.as_str()).collect();
                running.retain(|k, r| {
                    let keep = keys.contains(k.as_str());
                    if !keep {
                        r.stop.cancel();
                    }
                    keep
                });
                for t in &list {
                    if !running.contains_key(&t.key) {
                        let token = stop.child_token();
                        let client = match t.kind {
                            targets::Kind::Static => strict.clone(),
                            _ => client.clone(),
                        };
                        tokio::spawn(target_loop(
                            state.clone(),
                            client,
                            Arc::new(t.clone()),
                            redactors.clone(),
                            token.clone(),
                        ));
                        running.insert(t.key.clone(), Running { stop: token });
                    }
                }
                state.metrics.set_targets(list);
            }
            Err(e) => tracing::warn!(error = %e, "could not work out the scrape targets"),
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = state.metrics.woken() => {}
            _ = tokio::time::sleep(RECONCILE) => {}
        }
    }
    for r in running.values() {
        r.stop.cancel();
    }
}

async fn services(state: &AppState) -> Result<HashMap<i64, Vec<ServiceSpec>>, sqlx::Error> {
    let rows = sqlx::query("SELECT environment_id, spec FROM services")
        .fetch_all(&state.db.pool)
        .await?;
    let mut out: HashMap<i64, Vec<ServiceSpec>> = HashMap::new();
    for r in rows {
        let env: i64 = r.try_get(0)?;
        let spec: String = r.try_get(1)?;
        if let Ok(s) = serde_json::from_str::<ServiceSpec>(&spec) {
            out.entry(env).or_default().push(s);
        }
    }
    Ok(out)
}

async fn env_infos(state: &AppState) -> Result<Vec<plan::EnvInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT e.id, e.project_id, p.slug, e.slug, e.protected, e.docker_host, e.branch \
         FROM environments e JOIN projects p ON p.id = e.project_id ORDER BY e.id",
    )
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(plan::EnvInfo {
                id: r.try_get(0)?,
                project_id: r.try_get(1)?,
                project: r.try_get(2)?,
                slug: r.try_get(3)?,
                protected: r.try_get::<i64, _>(4)? != 0,
                docker_host: r.try_get(5)?,
                branch: r.try_get(6)?,
            })
        })
        .collect()
}

async fn containers(state: &AppState, env: &plan::EnvInfo) -> Option<Vec<ContainerInfo>> {
    let engine = connect::connect(state, env).await.ok()?;
    let work = rollout::env_containers(&engine, env);
    match tokio::time::timeout(Duration::from_secs(8), work).await {
        Ok(Ok(list)) => Some(list),
        _ => None,
    }
}

/// Everything that should be scraped now.
async fn desired(
    state: &AppState,
    discovered: &mut HashMap<i64, (Instant, Vec<Target>)>,
    redactors: &Redactors,
) -> Result<Vec<Target>, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let envs = env_infos(state).await.map_err(|e| err(&e))?;
    let settings: HashMap<i64, MetricsSettings> = config::all_settings(state)
        .await
        .map_err(|e| err(&e))?
        .into_iter()
        .collect();
    let statics = config::all_targets(state).await.map_err(|e| err(&e))?;
    let specs = services(state).await.map_err(|e| err(&e))?;
    set_retention(state, &envs, &settings);
    let mut out = vec![targets::berth()];
    discovered.retain(|id, _| envs.iter().any(|e| e.id == *id));
    redactors
        .lock()
        .expect("redactors")
        .retain(|id, _| envs.iter().any(|e| e.id == *id));
    for env in &envs {
        let s = settings.get(&env.id).cloned().unwrap_or_default();
        let stale_secrets = discovered
            .get(&env.id)
            .is_none_or(|(at, _)| at.elapsed() >= DISCOVER)
            || !redactors.lock().expect("redactors").contains_key(&env.id);
        if stale_secrets {
            // Without the secrets nothing of the environment is scraped: an unmasked body
            // must never be stored.
            match super::super::deploy::containers::redactor(state, env).await {
                Ok(r) => {
                    redactors
                        .lock()
                        .expect("redactors")
                        .insert(env.id, Arc::new(r));
                }
                Err(e) => {
                    tracing::warn!(env = env.id, error = %e, "metrics: could not read the secrets to mask")
                }
            }
        }
        out.extend(
            statics
                .iter()
                .filter(|t| t.environment_id == env.id)
                .filter_map(|t| targets::of_static(t, env)),
        );
        let env_specs = specs.get(&env.id).map(Vec::as_slice).unwrap_or(&[]);
        if env_specs.is_empty() {
            discovered.remove(&env.id);
            continue;
        }
        let stale = discovered
            .get(&env.id)
            .is_none_or(|(at, _)| at.elapsed() >= DISCOVER);
        if stale {
            // An engine that cannot be reached keeps the last list (its targets report down).
            if let Some(list) = containers(state, env).await {
                let mut found = targets::of_replicas(env, &s, env_specs, &list);
                // The containers themselves, while the environment runs any.
                if list.iter().any(|c| c.state == "running") {
                    found.push(targets::docker(env, &s));
                }
                discovered.insert(env.id, (Instant::now(), found));
            }
        }
        if let Some((_, found)) = discovered.get(&env.id) {
            out.extend(found.iter().cloned());
        }
    }
    Ok(out)
}

fn set_retention(
    state: &AppState,
    envs: &[plan::EnvInfo],
    settings: &HashMap<i64, MetricsSettings>,
) {
    let Some(tsdb) = state.metrics.tsdb() else {
        return;
    };
    let day = Duration::from_secs(86_400);
    let d = MetricsSettings::default();
    let policy = |s: &MetricsSettings, matchers: Vec<(String, String)>| RetentionPolicy {
        matchers,
        raw: day * s.retention_raw_days.max(1) as u32,
        rollup: day * s.retention_rollup_days.max(1) as u32,
    };
    let policies = envs
        .iter()
        .filter_map(|e| settings.get(&e.id).map(|s| (e, s)))
        .filter(|(_, s)| **s != d)
        .map(|(e, s)| {
            policy(
                s,
                vec![
                    ("project".to_string(), e.project.clone()),
                    ("environment".to_string(), e.slug.clone()),
                ],
            )
        })
        .collect();
    tsdb.set_retention(policies, policy(&d, Vec::new()));
}

/// Scrapes one target until `stop`.
async fn target_loop(
    state: AppState,
    client: reqwest::Client,
    target: Arc<Target>,
    redactors: Redactors,
    stop: CancellationToken,
) {
    let Some(tsdb) = state.metrics.tsdb() else {
        return;
    };
    let interval = Duration::from_millis(target.interval_ms.max(1) as u64);
    // Targets spread over the interval (by their key), as Prometheus's scrape offsets.
    let offset = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        target.key.hash(&mut h);
        Duration::from_millis(h.finish() % interval.as_millis().max(1) as u64)
    };
    let mut cache = Cache::default();
    let first = tokio::time::Instant::now() + offset.min(Duration::from_secs(1));
    let mut tick = tokio::time::interval_at(first, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        if state.metrics.paused() && !matches!(target.kind, targets::Kind::Berth) {
            // The storage refused the last write; Berth's own target keeps probing it.
            continue;
        }
        let start = now_ms();
        let t0 = Instant::now();
        let fetched = match target.kind {
            targets::Kind::Berth => state
                .metrics
                .self_metrics()
                .map(|body| (body, ::metrics::exposition::Format::Prometheus))
                .ok_or_else(|| "Berth's own metrics are not wired".to_string()),
            targets::Kind::Docker => {
                let timeout = Duration::from_millis(target.timeout_ms.max(1) as u64);
                super::docker::fetch(&state, target.env_id.unwrap_or_default(), timeout).await
            }
            targets::Kind::Static => match reqwest::Url::parse(&target.url)
                .map_err(|_| "the target's URL is not valid".to_string())
                .and_then(|u| super::outbound::check_url(&u, state.metrics.outbound()))
            {
                Ok(()) => scrape::fetch(&client, &target).await,
                Err(why) => Err(why),
            },
            _ => scrape::fetch(&client, &target).await,
        };
        let took = t0.elapsed();
        let fetched = match target.env_id {
            None => fetched,
            Some(env) => {
                let r = redactors.lock().expect("redactors").get(&env).cloned();
                match r {
                    Some(r) => fetched.map(|(body, format)| (r.redact(&body), format)),
                    None => Err("the environment's secrets could not be read to mask them".into()),
                }
            }
        };
        let (t, tsdb2) = (target.clone(), tsdb.clone());
        let work = tokio::task::spawn_blocking(move || {
            let r = scrape::ingest(&tsdb2, &t, &mut cache, fetched, start, took);
            (cache, r)
        });
        match work.await {
            Ok((c, report)) => {
                cache = c;
                state.metrics.record(&target.key, start, report);
            }
            Err(e) => {
                tracing::error!(error = %e, "a scrape panicked");
                cache = Cache::default();
            }
        }
    }
    let now = now_ms();
    let _ = tokio::task::spawn_blocking(move || scrape::end(&tsdb, &mut cache, now)).await;
}

/// Compacts, applies retention, trims the WAL.
async fn maintain(state: AppState, stop: CancellationToken) {
    let Some(tsdb) = state.metrics.tsdb() else {
        return;
    };
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(MAINTAIN) => {}
        }
        let t = tsdb.clone();
        match tokio::task::spawn_blocking(move || t.maintain(now_ms())).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "metrics storage upkeep failed"),
            Err(e) => tracing::error!(error = %e, "metrics storage upkeep panicked"),
        }
    }
}
