//! Integration tests: the real server on port 0 with a fresh database per test, on SQLite,
//! or on PostgreSQL when `BERTH_TEST_DATABASE_URL` names a server.
#[path = "api/support.rs"]
mod support;

#[path = "api/access.rs"]
mod access;
#[path = "api/account_rules.rs"]
mod account_rules;
#[path = "api/accounts.rs"]
mod accounts;
#[path = "api/audit_chain.rs"]
mod audit_chain;
#[path = "api/authorization.rs"]
mod authorization;
#[path = "api/bad_input.rs"]
mod bad_input;
#[path = "api/cli.rs"]
mod cli;
#[path = "api/concurrent_servers.rs"]
mod concurrent_servers;
#[path = "api/deploy_requests.rs"]
mod deploy_requests;
#[path = "api/docker_host_input.rs"]
mod docker_host_input;
#[path = "api/docker_hosts.rs"]
mod docker_hosts;
#[path = "api/env_versions.rs"]
mod env_versions;
#[path = "api/host_paths.rs"]
mod host_paths;
#[path = "api/login_next.rs"]
mod login_next;
#[path = "api/login_storm.rs"]
mod login_storm;
#[path = "api/metrics.rs"]
mod metrics;
#[path = "api/operations.rs"]
mod operations;
#[path = "api/outbound.rs"]
mod outbound;
#[path = "api/remote_forgery.rs"]
mod remote_forgery;
#[path = "api/request_memo.rs"]
mod request_memo;
#[path = "api/secret_history.rs"]
mod secret_history;
#[path = "api/seed_import.rs"]
mod seed_import;
#[path = "api/serverfn_access.rs"]
mod serverfn_access;
#[path = "api/service_lifecycle.rs"]
mod service_lifecycle;
#[path = "api/sessions.rs"]
mod sessions;
#[path = "api/stack_config.rs"]
mod stack_config;
#[path = "api/storage_full.rs"]
mod storage_full;
#[path = "api/trust.rs"]
mod trust;
#[path = "api/webhook_burst.rs"]
mod webhook_burst;
#[path = "api/webhook_public.rs"]
mod webhook_public;
#[path = "api/webhook_triggers.rs"]
mod webhook_triggers;
#[path = "api/webhooks.rs"]
mod webhooks;
