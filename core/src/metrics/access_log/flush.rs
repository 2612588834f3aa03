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

#[cfg(test)]
mod tests {
    use super::*;
    use ::metrics::model::is_stale;

    fn env(project: &str) -> EnvRef {
        EnvRef {
            project: project.into(),
            slug: "staging".into(),
            interval_ms: 1000,
        }
    }

    fn request(c: &Collector, site: &str, at: i64) {
        let token = c.sink(1).token;
        let d = format!("<190>Dec  7 23:51:07 berth: berth1 1 {token} {site} GET 200 0.1 5 -");
        super::super::receive::take(c, d.as_bytes(), at);
    }

    fn count(batch: &[(Labels, i64, f64)], site: &str, t: i64) -> Option<f64> {
        batch
            .iter()
            .find(|(l, at, _)| {
                l.get("__name__") == Some("berth_http_requests_total")
                    && l.get("site") == Some(site)
                    && *at == t
            })
            .map(|(_, _, v)| *v)
    }

    #[test]
    fn stored_once_an_interval_from_zero_and_ended_when_idle_or_gone() {
        let c = Collector::new("127.0.0.1:9".parse().unwrap(), b"salt");
        c.set_envs([(1, env("p"))].into());
        let (mut last, mut labelled) = (HashMap::new(), HashMap::new());
        request(&c, "a.test", 10_000);
        request(&c, "a.test", 10_100);
        let b = due(&c, 10_500, &mut last, &mut labelled);
        assert_eq!(count(&b, "a.test", 9_500), Some(0.0), "starts at 0");
        assert_eq!(count(&b, "a.test", 10_500), Some(2.0));
        assert!(b.iter().all(|(l, _, _)| l.get("project") == Some("p")
            && l.get("environment") == Some("staging")
            && l.get("job") == Some("nginx")));
        assert!(
            due(&c, 11_000, &mut last, &mut labelled).is_empty(),
            "within the interval"
        );
        request(&c, "b.test", 11_200);
        let b = due(&c, 11_600, &mut last, &mut labelled);
        assert_eq!(count(&b, "a.test", 11_600), Some(2.0));
        assert_eq!(
            count(&b, "b.test", 10_500),
            Some(0.0),
            "from the last store"
        );
        assert_eq!(count(&b, "b.test", 11_600), Some(1.0));
        assert_eq!(count(&b, "a.test", 10_500), None, "a.test is not new");

        // a.test idle: its series end, b.test goes on.
        request(&c, "b.test", 10_100 + SITE_IDLE_MS);
        let t = 10_200 + SITE_IDLE_MS;
        let b = due(&c, t, &mut last, &mut labelled);
        assert!(count(&b, "a.test", t).is_some_and(is_stale));
        assert_eq!(count(&b, "b.test", t), Some(2.0));

        // The environment is deleted: b.test's series end, nothing is kept.
        c.set_envs(HashMap::new());
        let b = due(&c, t + 2000, &mut last, &mut labelled);
        assert!(count(&b, "b.test", t + 2000).is_some_and(is_stale));
        assert!(b.iter().all(|(_, _, v)| is_stale(*v)));
        assert!(c.totals.lock().unwrap().envs.is_empty());
        assert!(due(&c, t + 4000, &mut last, &mut labelled).is_empty());
    }
}
