//! Per-site request metrics from the managed nginx's access log: the demo app deployed
//! behind a real nginx, requests with two Host names (and 404, 405, 502 and slow ones), then
//! counts, error ratio and latency read through the project's Prometheus API. The gate and
//! the watchdog also send `GET` requests through the proxy, so exact counts are asserted on
//! what only this test sends (`HEAD`, `POST`, 404, 502).
use super::stage::{log_text, status, Stage};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const A: &str = "site-a.local";
const B: &str = "site-b.local";

/// The instant query `expr` through the project's Prometheus API.
async fn query(s: &Stage, expr: &str) -> Vec<Value> {
    let path = format!("/projects/{}/prometheus/api/v1/query", s.project);
    let res = super::support::plain()
        .get(format!("{}/api/v1{path}", s.app.url))
        .query(&[("query", expr)])
        .bearer_auth(&s.token)
        .send()
        .await
        .expect("query");
    let body: Value = res.json().await.expect("JSON");
    assert_eq!(body["status"], "success", "{expr}: {body}");
    body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The single value of `expr` (None when the answer is empty).
async fn value(s: &Stage, expr: &str) -> Option<f64> {
    let list = query(s, expr).await;
    assert!(list.len() <= 1, "{expr}: {list:?}");
    list.first()
        .and_then(|v| v["value"][1].as_str())
        .map(|v| v.parse().expect("a number"))
}

/// Waits until `expr` is `want` (counters only grow, so a larger value fails at once).
async fn until(s: &Stage, expr: &str, want: f64) {
    let mut last = None;
    for _ in 0..100 {
        last = value(s, expr).await;
        match last {
            Some(v) if v == want => return,
            Some(v) if v > want => panic!("{expr} is {v}, more than the {want} sent"),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("{expr} never reached {want}; last {last:?}");
}

/// `method path` through nginx with `Host: host`; the status.
async fn send(s: &Stage, method: Method, host: &str, path: &str) -> u16 {
    super::support::plain()
        .request(method, format!("{}{path}", s.nginx.base()))
        .header("host", host)
        .send()
        .await
        .expect("through nginx")
        .status()
        .as_u16()
}

/// Sends forged datagrams to the socket the configuration names: this environment's id
/// with a wrong token for a site `evil.local`, and garbage.
fn spoof(config: &str) {
    let server = config
        .split("syslog:server=")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .expect("a syslog server");
    let env_id = config
        .split("'berth1 ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .expect("the environment id");
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let forged = format!(
        "<190>Dec  7 23:51:07 berth: berth1 {env_id} {} evil.local GET 500 0.001 10 -",
        "ab".repeat(16)
    );
    for d in [forged.as_bytes(), b"<190>garbage", &[0xff; 3000][..]] {
        socket.send_to(d, server).unwrap();
    }
}

#[tokio::test]
async fn nginx_access_log_gives_requests_errors_and_latency_per_site() {
    let s = Stage::new("d-acc").await;
    let (code, b) = s
        .call(
            Method::PUT,
            &s.env_path("/metrics/settings"),
            json!({"scrape_replicas": false, "interval_ms": 1000, "timeout_ms": 900,
                   "retention_raw_days": 15, "retention_rollup_days": 90}),
        )
        .await;
    assert_eq!(code, 200, "{b}");
    // One replica: the demo's slowness (below) is per process.
    let (code, b) = s
        .call(
            Method::PUT,
            &s.env_path("/services/web"),
            super::stage::web_service(1),
        )
        .await;
    assert!(code < 300, "{code} {b}");
    // A service with no replicas behind `/down/` of site A: nginx answers 502 there.
    let (code, b) = s
        .call(
            Method::PUT,
            &s.env_path("/services/spare"),
            json!({"name": "spare", "image": "berth-demo:${IMAGE_TAG}", "replicas": 0,
                   "http_port": 8000}),
        )
        .await;
    assert!(code < 300, "{code} {b}");
    let mut site_a = super::stage::site("site-a", A, &s.env);
    site_a["routes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"path": "/down/", "target": {"kind": "service", "service": "spare"}}));
    let (code, b) = s
        .call(
            Method::PUT,
            &format!("/projects/{}/sites/site-a", s.project),
            site_a,
        )
        .await;
    assert!(code < 300, "{code} {b}");
    let d = s.deploy_and_wait(json!({})).await;
    assert_eq!(status(&d), "succeeded", "{}", log_text(&d));
    let config = s.nginx.config();
    assert!(
        config.contains("access_log syslog:server=127.0.0.1:"),
        "{config}"
    );

    for _ in 0..12 {
        assert_eq!(send(&s, Method::HEAD, A, "/api/health").await, 200);
    }
    for _ in 0..5 {
        assert_eq!(
            send(&s, Method::GET, A, "/no/such/page?token=abc").await,
            404
        );
    }
    for _ in 0..3 {
        assert_eq!(send(&s, Method::GET, A, "/down/x").await, 502);
    }
    for _ in 0..7 {
        assert_eq!(send(&s, Method::HEAD, B, "/api/health").await, 200);
    }
    for _ in 0..2 {
        assert_eq!(send(&s, Method::POST, B, "/api/health").await, 405);
    }
    // Site B slow for a moment: 4 requests of at least 0.6 s.
    assert_eq!(
        send(&s, Method::POST, B, "/_demo/slow?ms=600&site=site-b.local").await,
        200
    );
    for _ in 0..4 {
        assert_eq!(send(&s, Method::HEAD, B, "/").await, 200);
    }
    assert_eq!(
        send(&s, Method::POST, B, "/_demo/slow?ms=0&site=site-b.local").await,
        200
    );
    // A Host no site has: nginx's own default server answers, nothing is counted.
    assert_eq!(send(&s, Method::HEAD, "evil.example", "/").await, 421);
    // Datagrams from anything else that reaches the socket: a wrong token, garbage.
    spoof(&config);

    let sel =
        |site: &str, m: &str| format!(r#"sum(berth_http_requests_total{{site="{site}",{m}}})"#);
    until(&s, &sel(A, r#"method="HEAD",code="200""#), 12.0).await;
    until(&s, &sel(A, r#"code="404""#), 5.0).await;
    until(&s, &sel(A, r#"code="502""#), 3.0).await;
    until(&s, &sel(B, r#"method="HEAD",code="200""#), 11.0).await;
    until(&s, &sel(B, r#"method="POST""#), 4.0).await;
    assert_eq!(value(&s, &sel(B, r#"code=~"5..""#)).await, None);
    assert_eq!(
        value(&s, r#"sum(berth_http_requests_total{site="evil.local"})"#).await,
        None
    );

    // Labels: the environment's, job="nginx"; only the configured sites.
    let series = query(&s, "berth_http_requests_total").await;
    for v in &series {
        let m = &v["metric"];
        assert_eq!(m["project"], s.project.as_str(), "{m}");
        assert_eq!(m["environment"], "staging", "{m}");
        assert_eq!(m["job"], "nginx", "{m}");
        let site = m["site"].as_str().unwrap();
        assert!(
            super::stage::SITES.iter().any(|(_, h)| *h == site),
            "{site}"
        );
    }

    // QPS per site, error ratio, latency.
    let qps = query(&s, "sum by (site) (rate(berth_http_requests_total[1m]))").await;
    for site in [A, B] {
        let v = qps.iter().find(|v| v["metric"]["site"] == site);
        let v: f64 = v.expect(site)["value"][1]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(v > 0.0, "{site}: {qps:?}");
    }
    let ratio = |site: &str| {
        format!(
            r#"sum(increase(berth_http_requests_total{{site="{site}",code=~"5.."}}[5m])) / sum(increase(berth_http_requests_total{{site="{site}"}}[5m]))"#
        )
    };
    let a_ratio = value(&s, &ratio(A)).await.expect("site A's error ratio");
    assert!(a_ratio > 0.0 && a_ratio < 1.0, "{a_ratio}");
    // Raw counters: the 4 slow requests are above 0.5 s, everything else of site B is not
    // necessarily (the watchdog's probes during the slow moment are slow too).
    let slow = value(
        &s,
        &format!(
            r#"berth_http_request_duration_seconds_bucket{{site="{B}",le="+Inf"}} - ignoring(le) berth_http_request_duration_seconds_bucket{{site="{B}",le="0.5"}}"#
        ),
    )
    .await
    .expect("site B's buckets");
    assert!(slow >= 4.0, "{slow}");
    let count_matches = value(
        &s,
        &format!(
            r#"sum(berth_http_requests_total{{site="{B}"}}) - sum(berth_http_request_duration_seconds_count{{site="{B}"}})"#
        ),
    )
    .await;
    assert_eq!(count_matches, Some(0.0));
    let p99 = value(
        &s,
        &format!(
            r#"histogram_quantile(0.99, sum by (le) (increase(berth_http_request_duration_seconds_bucket{{site="{B}"}}[5m])))"#
        ),
    )
    .await
    .expect("site B's p99");
    assert!((0.5..=10.0).contains(&p99), "{p99}");
    let p90 = value(
        &s,
        &format!(
            r#"histogram_quantile(0.9, sum by (le) (rate(berth_http_request_duration_seconds_bucket{{site="{A}"}}[1m])))"#
        ),
    )
    .await
    .expect("site A's p90");
    assert!(p90.is_finite() && p90 >= 0.0, "{p90}");
}
