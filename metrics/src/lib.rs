//! Berth's metrics subsystem, pure (no database, no web): reading what targets expose
//! ([`exposition`]), the shared vocabulary ([`model`]), storage ([`tsdb`]), PromQL
//! evaluation ([`promql`]), `prometheus.yml` import ([`promconfig`]) and remote write
//! bodies ([`remote`]).
#![forbid(unsafe_code)]
pub mod exposition;
pub mod model;
pub mod promconfig;
pub mod promql;
pub mod remote;
pub mod tsdb;
