//! Berth's metrics subsystem, pure (no database, no web): reading what targets expose
//! ([`exposition`]), the shared vocabulary ([`model`]), storage and PromQL evaluation.
#![forbid(unsafe_code)]
pub mod exposition;
pub mod model;
pub mod promql;
pub mod tsdb;
pub mod promconfig;
pub mod remote;
