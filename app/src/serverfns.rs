//! Server functions: thin adapters from the browser to the service layer.
pub mod audit;
pub mod auth;
#[cfg(feature = "ssr")]
pub mod call;
pub mod deploys;
pub mod environments;
pub mod members;
pub mod metrics;
pub mod projects;
pub mod services;
pub mod settings;
pub mod sites;
pub mod stack;
pub mod tokens;
pub mod users;
pub mod variables;
pub mod webhooks;
