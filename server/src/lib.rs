//! The `berth` server: configuration, startup, the axum router, the REST API and the CLI.
#![forbid(unsafe_code)]

pub mod api;
pub mod assets;
pub mod cli;
pub mod config;
pub mod guard;
pub mod hooks;
pub mod metrics;
pub mod router;
pub mod telemetry;

use berth_core::secrets::SecretBox;
use berth_core::{session_store::DbSessionStore, setup, AppState, Db};
use config::Config;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Opens the database, migrates it, and builds the shared state.
pub fn build_state(
    config: &Config,
) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<AppState>> + Send + '_>> {
    Box::pin(async move {
        std::fs::create_dir_all(&config.data_dir)?;
        let db = Db::connect(&config.database_url()).await?;
        let applied = db.migrate().await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "database migrated");
        }
        let secrets = SecretBox::load(&config.data_dir, config.master_key.as_deref())
            .map_err(|e| anyhow::anyhow!(e))?;
        Ok(AppState::new(db, config.settings(), secrets))
    })
}

/// Serves on `listener` until `shutdown` resolves; what `berth serve` and the tests run.
pub async fn launch_with_listener(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = build_state(&config).await?;
    let addr = listener.local_addr()?;
    if let Some(token) = setup::issue_if_needed(&state).await? {
        let base = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        tracing::warn!(
            "No users yet. Create the first admin within the hour at {base}/setup?token={token} \
             (single use), or run: berth admin create --username NAME --role admin --password-stdin"
        );
    }
    // The deploy runner, the watchdog and the session sweeper stop when the server shuts down.
    let workers = tokio_util::sync::CancellationToken::new();
    // The nginx access log socket, before the deploy runner renders any proxy configuration.
    if let Some(listen) = config.access_log_listen {
        let started = berth_core::metrics::access_log::start(
            &state,
            listen,
            &config.data_dir,
            workers.clone(),
        );
        match started.await {
            Ok(at) => tracing::info!(%at, "listening for the managed nginx's access log (UDP)"),
            Err(e) => tracing::warn!(error = %e, "no per-site request metrics"),
        }
    }
    spawn_session_sweeper(state.clone(), workers.clone());
    berth_core::deploy::runner::spawn(state.clone(), workers.clone());
    berth_core::deploy::watchdog::spawn(state.clone(), workers.clone());
    // Metrics: the storage under the data directory, then the scraper (Berth's own metrics
    // included, read in process).
    state
        .metrics
        .set_outbound(berth_core::metrics::outbound::Policy {
            allow_loopback: config.metrics_allow_loopback,
        });
    if config.metrics_max_queries > 0 {
        state.metrics.set_max_queries(config.metrics_max_queries);
    }
    match state.metrics.open(&config.data_dir.join("metrics")) {
        Ok(()) => berth_core::metrics::scheduler::spawn(state.clone(), workers.clone()),
        Err(e) => {
            tracing::error!(error = %e, "metrics storage could not be opened; nothing is scraped")
        }
    }
    let shutdown = {
        let workers = workers.clone();
        async move {
            shutdown.await;
            workers.cancel();
        }
    };
    let pool = state.db.pool.clone();
    let app = router::build(state, &config, addr);
    tracing::info!(%addr, "Berth is listening");
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    // Give the database its connections back (a shared PostgreSQL counts them), waiting a
    // little for what is still finishing.
    workers.cancel();
    if tokio::time::timeout(std::time::Duration::from_secs(5), pool.close())
        .await
        .is_err()
    {
        tracing::warn!("database connections still busy 5 s after shutdown");
    }
    served?;
    tracing::info!("Berth stopped");
    Ok(())
}

fn spawn_session_sweeper(state: AppState, stop: tokio_util::sync::CancellationToken) {
    tokio::spawn(async move {
        let store = DbSessionStore::new(state.db.clone());
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "could not sweep expired sessions");
            }
        }
    });
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
