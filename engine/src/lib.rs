//! Berth's runtime side: a typed async API over a Docker engine (containers, images, jobs,
//! readiness) and over the nginx edge proxy. No database, no web code.
#![forbid(unsafe_code)]

mod containers;
mod docker;
mod error;
mod http_get;
mod images;
mod jobs;
mod logs;
mod network;
pub mod proxy;
mod ready;
mod spec;
mod stats;
mod volumes;

pub use containers::{ContainerInfo, Started};
pub use docker::{Engine, TlsMaterial};
pub use error::EngineError;
pub use images::{ImageRef, PullPolicy, RegistryAuth};
pub use logs::{LogLine, LogStream};
pub use ready::Probe;
pub use spec::{ContainerSpec, HTTP_PORT_LABEL};
pub use stats::{Stats, Usage};
/// Re-exported so callers need no direct dependency for [`Engine::run_job`] and friends.
pub use tokio_util::sync::CancellationToken;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn shareable<T: Clone + Send + Sync + std::fmt::Debug + 'static>() {}
    fn spawnable<F: std::future::Future + Send>(_: F) {}

    /// The deploy pipeline clones the engine into tasks and spawns these futures.
    #[test]
    fn engine_and_its_futures_can_cross_tasks() {
        shareable::<Engine>();
        shareable::<proxy::Proxy>();
        let engine = Engine::connect("unix:///nonexistent.sock", None).unwrap();
        let spec = ContainerSpec::default();
        let cancel = CancellationToken::new();
        let log = |_: LogLine| {};
        let pull_log = |_: String| {};
        spawnable(engine.ensure_image("x", PullPolicy::IfMissing, None, Duration::ZERO, &pull_log));
        spawnable(engine.run_job(&spec, Duration::ZERO, cancel.clone(), &log));
        spawnable(engine.wait_ready("x", &Probe::DockerHealth, Duration::ZERO, cancel));
        spawnable(engine.start(&spec));
        spawnable(engine.list(&[]));
        spawnable(engine.stats("x"));
        let proxy = proxy::Proxy::Container {
            engine: engine.clone(),
            container: "edge".into(),
            config_path: "/etc/nginx/conf.d/berth.conf".into(),
        };
        spawnable(proxy.apply(""));
    }
}
