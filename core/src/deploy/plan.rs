//! What a release pins, captured from the environment's configuration, and how a service of
//! a release becomes a container: its variables resolved (secrets opened at the last moment,
//! never stored in the release) and its image reference filled in.
//!
//! Split between computing the plan (`capture`: what the environment's configuration is
//! now, its secrets) and turning it into containers (`resolve`: the variables; `container`:
//! a service's environment and image).
mod capture;
mod container;
mod resolve;
#[cfg(test)]
mod tests;

pub use capture::{capture, env_info, open_secrets, EnvInfo};
pub use container::{image_reference, registry_auth, service_env};
pub use resolve::{git_variables, redactor, resolve_all, Resolved};
