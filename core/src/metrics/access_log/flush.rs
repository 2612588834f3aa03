//! Storing the counts: every second the environments are read again, and each
//! environment's sites are appended to the storage once per its scrape interval. A site
//! idle for [`SITE_IDLE_MS`], or whose environment is gone, has its series marked stale and
//! its counters dropped (they start over if it comes back: a counter reset to `rate()`).
use super::aggregate::SiteStats;
use super::{Collector, EnvRef, JOB};
use crate::now_ms;
use crate::AppState;
use ::metrics::model::{stale_nan, Labels};
use berth_model::MetricsSettings;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a site may get no request before its series end.
pub const SITE_IDLE_MS: i64 = 15 * 60 * 1000;
const TICK: Duration = Duration::from_secs(1);

/// Reads the environments (labels, intervals) into the collector.
pub(super) async fn refresh_envs(state: &AppState, c: &Collector) {
    let rows = sqlx::query(
        "SELECT e.id, p.slug, e.slug, s.interval_ms FROM environments e \
         JOIN projects p ON p.id = e.project_id \
         LEFT JOIN metrics_settings s ON s.environment_id = e.id",
    )
    .fetch_all(&state.db.pool)
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "access log: could not read the environments");
            return;
        }
    };
    let default = MetricsSettings::default().interval_ms;
    let envs = rows
        .iter()
        .filter_map(|r| {
            Some((
                r.try_get::<i64, _>(0).ok()?,
                EnvRef {
                    project: r.try_get(1).ok()?,
                    slug: r.try_get(2).ok()?,
                    interval_ms: r
                        .try_get::<Option<i64>, _>(3)
                        .ok()?
                        .unwrap_or(default)
                        .max(1000),
                },
            ))
        })
        .collect();
    c.set_envs(envs);
}

/// Stores until `stop`.
pub(super) async fn run(state: AppState, c: Arc<Collector>, stop: CancellationToken) {
    let mut last: HashMap<i64, i64> = HashMap::new();
    // The environment each stored site was labelled with (to end its series later).
    let mut labelled: HashMap<i64, EnvRef> = HashMap::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
        refresh_envs(&state, &c).await;
        let Some(tsdb) = state.metrics.tsdb() else {
            continue;
        };
        let now = now_ms();
        let batch = due(&c, now, &mut last, &mut labelled);
        if batch.is_empty() {
            continue;
        }
        let work = tokio::task::spawn_blocking(move || tsdb.append_labeled(&batch));
        match work.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "access log: samples not stored"),
            Err(e) => tracing::error!(error = %e, "access log: storing panicked"),
        }
    }
}

/// The samples due at `now`: each environment whose interval has passed, and the stale
/// markers of sites that went away.
fn due(
    c: &Collector,
    now: i64,
    last: &mut HashMap<i64, i64>,
    labelled: &mut HashMap<i64, EnvRef>,
) -> Vec<(Labels, i64, f64)> {
    let envs = c.envs.read().expect("access log environments").clone();
    let mut batch = Vec::new();
    let end = |batch: &mut Vec<_>, env: &EnvRef, site: &str, stats: &SiteStats| {
        let scope = scope(env);
        batch.extend(
            stats
                .samples(site, &scope)
                .into_iter()
                .map(|(l, _)| (l, now, stale_nan())),
        );
    };
    let mut totals = c.totals.lock().expect("access log totals");
    totals.envs.retain(|id, sites| {
        let current = envs.get(id);
        let stored = labelled.get(id);
        let same = |a: &EnvRef, b: &EnvRef| a.project == b.project && a.slug == b.slug;
        // Deleted, or its project or slug renamed (the labels change): end what was stored.
        let gone = match (current, stored) {
            (None, _) => true,
            (Some(cur), Some(old)) => !same(cur, old),
            (Some(_), None) => false,
        };
        if gone {
            if let Some(old) = stored {
                for (site, stats) in sites.iter() {
                    end(&mut batch, old, site, stats);
                }
            }
            labelled.remove(id);
            last.remove(id);
            return false;
        }
        let Some(env) = current else {
            return false;
        };
        sites.retain(|site, stats| {
            let idle = now - stats.last_seen >= SITE_IDLE_MS;
            if idle && stored.is_some() {
                end(&mut batch, env, site, stats);
            }
            !idle
        });
        let previous = last.get(id).copied();
        if previous.is_none_or(|t| now - t >= env.interval_ms) && !sites.is_empty() {
            last.insert(*id, now);
            labelled.insert(*id, env.clone());
            // A new series starts at 0 at the last store (or an interval ago).
            let start = previous.unwrap_or(now - env.interval_ms).min(now - 1);
            let scope = scope(env);
            for (site, stats) in sites.iter_mut() {
                for (l, v, new) in stats.take_samples(site, &scope) {
                    if new {
                        batch.push((l.clone(), start, 0.0));
                    }
                    batch.push((l, now, v));
                }
            }
        }
        !sites.is_empty()
    });
    batch
}

fn scope(env: &EnvRef) -> [(&'static str, &str); 3] {
    [
        ("project", env.project.as_str()),
        ("environment", env.slug.as_str()),
        ("job", JOB),
    ]
}
