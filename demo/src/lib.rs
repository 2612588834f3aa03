//! Berth's demo site: a tiny std-only HTTP app that stands in for the seed Django sites in
//! deploy tests (same endpoints, same metric names), and `berth-load`, the load generator
//! that measures whether a deploy dropped requests.
// `deny`, not `forbid`: `signals` alone needs `unsafe` to call libc's `signal`.
#![deny(unsafe_code)]

pub mod app;
pub mod client;
pub mod commands;
pub mod config;
pub mod escape;
pub mod exporters;
pub mod http;
pub mod load;
pub mod log;
pub mod metrics;
pub mod server;
pub mod signals;
