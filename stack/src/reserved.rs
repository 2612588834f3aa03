//! The variable names Berth keeps for itself: credentials and settings it uses to reach
//! engines, registries and GitHub. Their values never reach a container or a job, whatever a
//! service asks for; this list is the one place that says which names they are.

/// Names Berth reads for itself (exact matches).
pub const RESERVED_NAMES: &[&str] = &[
    "DOCKER_TLS_CA_CERT",
    "DOCKER_TLS_CLIENT_CERT",
    "DOCKER_TLS_CLIENT_KEY",
    "GITHUB_WEBHOOK_SECRET",
    "REGISTRY_SERVER",
    "REGISTRY_USERNAME",
    "REGISTRY_PASSWORD",
];

/// Every name with this prefix is Berth's too (notification channels, backup storage and
/// whatever later features keep as variables).
pub const RESERVED_PREFIX: &str = "BERTH_";

/// Whether `name` is used by Berth and so never passed to containers.
pub fn is_reserved(name: &str) -> bool {
    name.starts_with(RESERVED_PREFIX) || RESERVED_NAMES.contains(&name)
}

/// What the UI and error messages say about a reserved name.
pub const RESERVED_NOTE: &str = "used by Berth, not passed to containers";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berths_own_credentials_and_every_berth_name_are_reserved() {
        for n in [
            "DOCKER_TLS_CLIENT_KEY",
            "GITHUB_WEBHOOK_SECRET",
            "REGISTRY_PASSWORD",
            "BERTH_SMTP_PASSWORD",
            "BERTH_",
        ] {
            assert!(is_reserved(n), "{n}");
        }
        for n in [
            "DATABASE_URL",
            "REGISTRY",
            "berth_x",
            "MY_BERTH_X",
            "DOCKER_HOST",
        ] {
            assert!(!is_reserved(n), "{n}");
        }
    }
}
