//! Berth's service layer: database, accounts, authorization, audit, secrets and deploy
//! orchestration. Server functions (`app`), the REST API, the webhook receiver and the CLI
//! (`server`) are thin adapters over it. No web framework and no UI here; the pure
//! subsystems it drives are crates of their own (`engine`, `stack`).
#![forbid(unsafe_code)]
pub mod audit;
pub mod auth_cache;
pub mod authz;
pub mod context;
pub mod db;
pub mod deploy;
pub mod edge;
pub mod environments;
pub mod error;
pub mod flash;
pub mod host_paths;
pub mod imports;
pub mod members;
pub mod memo;
pub mod metrics;
pub mod password;
pub mod projects;
pub mod secrets;
pub mod services;
pub mod session_store;
pub mod setup;
pub mod sites;
pub mod state;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod validate;
pub mod variables;
pub mod versions;
pub mod web;
pub mod webhooks;

pub use context::{Actor, Ctx, RequestMeta};
pub use db::Db;
pub use error::ServiceError;
pub use state::AppState;

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
