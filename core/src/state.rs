//! The one application state, built at startup and shared by every adapter.
use super::db::Db;
use super::secrets::SecretBox;
use super::throttle::Throttle;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Settings {
    /// `BERTH_PUBLIC_URL`, e.g. `https://berth.example.com` (no trailing slash).
    pub public_url: Option<String>,
    pub session_idle: Duration,
    pub session_absolute: Duration,
}

impl Settings {
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: None,
            session_idle: Duration::from_secs(30 * 60),
            session_absolute: Duration::from_secs(12 * 3600),
        }
    }
}

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub throttle: Arc<Throttle>,
    pub settings: Arc<Settings>,
    pub secrets: Arc<SecretBox>,
    /// The deploy runner's in-process state (cancel tokens, wake-ups).
    pub deploys: Arc<super::deploy::Hub>,
    /// Metrics: the storage, the scraper's targets and their health.
    pub metrics: Arc<super::metrics::Hub>,
}

impl AppState {
    pub fn new(db: Db, settings: Settings, secrets: SecretBox) -> Self {
        AppState {
            db,
            throttle: Arc::new(Throttle::default()),
            settings: Arc::new(settings),
            secrets: Arc::new(secrets),
            deploys: Arc::new(super::deploy::Hub::default()),
            metrics: Arc::new(super::metrics::Hub::default()),
        }
    }
}
