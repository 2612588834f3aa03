//! Deploy engine tests on the real Docker engine and a real nginx (both started by `make
//! test`); they fail, not skip, when either is missing. The demo images are built from this
//! repository (`scripts/demo-image.sh`).
#[path = "api/support.rs"]
mod support;

#[path = "deploy/access_log.rs"]
mod access_log;
#[path = "deploy/container_env.rs"]
mod container_env;
#[path = "deploy/direct_gate.rs"]
mod direct_gate;
#[path = "deploy/fixture.rs"]
mod fixture;
#[path = "deploy/masking.rs"]
mod masking;
#[path = "deploy/metrics.rs"]
mod metrics;
#[path = "deploy/one_shot.rs"]
mod one_shot;
#[path = "deploy/operations.rs"]
mod operations;
#[path = "deploy/pipeline.rs"]
mod pipeline;
#[path = "deploy/recovery.rs"]
mod recovery;
#[path = "deploy/remote_tls.rs"]
mod remote_tls;
#[path = "deploy/stage.rs"]
mod stage;
#[path = "deploy/stateful.rs"]
mod stateful;
#[path = "deploy/stateful_failure.rs"]
mod stateful_failure;
#[path = "deploy/teardown.rs"]
mod teardown;
#[path = "deploy/tls_engine.rs"]
mod tls_engine;
#[path = "deploy/volumes.rs"]
mod volumes;
