//! Every compared expression asked of Berth and of Prometheus at the same whole-second
//! times, as instant queries and as range queries, answers paired for [`super::answer`].
use super::answer;
use super::expressions::AT_PLACEHOLDER;
use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use std::time::Duration;

/// Queries in flight at once (per side), on a 2-core machine shared with both servers.
const PARALLEL: usize = 4;

/// One side's query API: Berth's (with a bearer token) or Prometheus's.
pub struct Api {
    base: String,
    token: Option<String>,
    client: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, token: Option<&str>) -> Api {
        Api {
            base: format!("{base}/api/v1"),
            token: token.map(str::to_string),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    /// `GET /api/v1{path}?params` as JSON; a request that fails is a JSON string saying so.
    pub async fn get(&self, path: &str, params: &[(&str, String)]) -> Value {
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        let mut req = self
            .client
            .get(format!("{}{path}?{}", self.base, query.join("&")));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        match req.send().await {
            Ok(res) => {
                let status = res.status();
                let text = res.text().await.unwrap_or_default();
                serde_json::from_str(&text)
                    .unwrap_or_else(|_| Value::String(format!("HTTP {status}: {text}")))
            }
            Err(e) => Value::String(format!("request failed: {e}")),
        }
    }

    /// The value of a one-sample instant query now, if it has exactly one.
    pub async fn single(&self, expr: &str) -> Option<f64> {
        let answer = self.get("/query", &[("query", expr.to_string())]).await;
        let result = answer["data"]["result"].as_array()?;
        match result.as_slice() {
            [one] => one["value"][1].as_str()?.parse().ok(),
            _ => None,
        }
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// When an expression is evaluated: an instant query, or a range query.
#[derive(Clone, Copy, Debug)]
pub enum At {
    Instant(i64),
    Range { start: i64, end: i64, step: i64 },
}

impl At {
    fn request(&self, expr: &str) -> (&'static str, Vec<(&'static str, String)>) {
        let q = ("query", expr.to_string());
        match *self {
            At::Instant(t) => ("/query", vec![q, ("time", t.to_string())]),
            At::Range { start, end, step } => (
                "/query_range",
                vec![
                    q,
                    ("start", start.to_string()),
                    ("end", end.to_string()),
                    ("step", step.to_string()),
                ],
            ),
        }
    }

    pub fn describe(&self) -> String {
        match *self {
            At::Instant(t) => format!("query at {t}"),
            At::Range { start, end, step } => format!("query_range {start}..{end} step {step}s"),
        }
    }
}

/// The times every expression is compared at, and what `${AT}` stands for.
pub struct Plan {
    pub times: Vec<At>,
    pub at: i64,
}

impl Plan {
    /// Instants at `end` and a little before, ranges over the last 40 s (step 2 s), the
    /// last 75 s (step 5 s) and the last 10 min (step 1 min, mostly before the data: the
    /// coarse steps a dashboard asks for); `${AT}` is 25 s before `end`.
    pub fn ending_at(end: i64) -> Plan {
        Plan {
            times: vec![
                At::Instant(end),
                At::Instant(end - 7),
                At::Instant(end - 19),
                At::Range {
                    start: end - 40,
                    end,
                    step: 2,
                },
                At::Range {
                    start: end - 75,
                    end,
                    step: 5,
                },
                At::Range {
                    start: end - 600,
                    end,
                    step: 60,
                },
            ],
            at: end - 25,
        }
    }
}

/// One expression at one time, as both answered it.
pub struct Outcome {
    pub expr: String,
    pub at: At,
    pub berth: Value,
    pub prom: Value,
    pub difference: Option<String>,
}

impl Outcome {
    /// Whether Prometheus answered with at least one series (or a scalar).
    pub fn prometheus_has_data(&self) -> bool {
        self.prom["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    }
}

/// Asks both sides every expression at every time of `plan`.
pub async fn run(exprs: &[String], plan: &Plan, berth: &Api, prom: &Api) -> Vec<Outcome> {
    let jobs: Vec<(String, At)> = exprs
        .iter()
        .flat_map(|e| plan.times.iter().map(move |at| (e.clone(), *at)))
        .collect();
    stream::iter(jobs)
        .map(|(expr, at)| async move {
            let query = expr.replace(AT_PLACEHOLDER, &plan.at.to_string());
            let (path, params) = at.request(&query);
            let (b, p) = futures_util::join!(berth.get(path, &params), prom.get(path, &params));
            let ordered = query.starts_with("sort(") || query.starts_with("sort_desc(");
            Outcome {
                difference: answer::difference(&b, &p, ordered),
                expr,
                at,
                berth: b,
                prom: p,
            }
        })
        .buffered(PARALLEL)
        .collect()
        .await
}
