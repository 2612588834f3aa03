//! Scrape targets for tests: a counter that grows each scrape, one that never answers in
//! time, one that answers too much.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct Exporter {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Exporter {
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    async fn serve(router: axum::Router) -> Exporter {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Exporter { addr, task }
    }

    /// `/metrics`: `demo_requests_total` for two paths (one more per scrape), with a `job`
    /// label of its own.
    pub async fn counting(hits: Arc<AtomicU64>) -> Exporter {
        let router = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let hits = hits.clone();
                async move {
                    let n = hits.fetch_add(1, Ordering::Relaxed) + 1;
                    format!(
                        "# TYPE demo_requests_total counter\n\
                         demo_requests_total{{path=\"/a\",job=\"inner\"}} {n}\n\
                         demo_requests_total{{path=\"/b\",job=\"inner\"}} {}\n\
                         # TYPE demo_temperature gauge\ndemo_temperature 21.5\n",
                        n * 2
                    )
                }
            }),
        );
        Self::serve(router).await
    }

    /// Answers after `delay`.
    pub async fn slow(delay: Duration) -> Exporter {
        let router = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || async move {
                tokio::time::sleep(delay).await;
                "late 1\n"
            }),
        );
        Self::serve(router).await
    }

    /// A body of `bytes` bytes of valid samples.
    pub async fn huge(bytes: usize) -> Exporter {
        let line = "huge_series_with_a_long_name_total{label=\"value\"} 1\n";
        let body: Arc<String> = Arc::new(line.repeat(bytes / line.len() + 1));
        let router = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let body = body.clone();
                async move { (*body).clone() }
            }),
        );
        Self::serve(router).await
    }
}

impl Exporter {
    /// `/metrics` answers `body`, always.
    pub async fn fixed(body: String) -> Exporter {
        let body = Arc::new(body);
        let router = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let body = body.clone();
                async move { (*body).clone() }
            }),
        );
        Self::serve(router).await
    }
}
