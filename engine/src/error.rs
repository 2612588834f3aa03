//! The engine's error type, and how Docker's answers map onto it.

use bollard::errors::Error as BollardError;

/// What went wrong talking to the Docker engine. Every message is one line a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    ImageMissing(String),
    #[error("{0}")]
    PortTaken(String),
    #[error("the container exited at once with code {code}; last lines: {}", last_lines(.logs))]
    Exited { code: i64, logs: Vec<String> },
    #[error("the container reported unhealthy: {0}")]
    Unhealthy(String),
    #[error("{0}")]
    DiskFull(String),
    #[error("{0}")]
    Timeout(String),
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    /// A remote (`tcp://`) engine asked for without TLS material, and not marked insecure.
    #[error("{0}")]
    TlsRequired(String),
    #[error("{0}")]
    Other(String),
}

fn last_lines(logs: &[String]) -> String {
    if logs.is_empty() {
        return "(none)".to_owned();
    }
    logs.join(" | ")
}

/// The Docker engine's own status and message, when it answered at all.
pub(crate) fn server_error(err: &BollardError) -> Option<(u16, &str)> {
    match err {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => Some((*status_code, message.as_str())),
        _ => None,
    }
}

/// True when Docker answered 404 (no such container, image or network).
pub(crate) fn is_not_found(err: &BollardError) -> bool {
    matches!(server_error(err), Some((404, _)))
}

/// Maps a bollard error to an [`EngineError`]; `host` names the engine in connection errors.
pub(crate) fn classify(host: &str, err: BollardError) -> EngineError {
    let text = describe(&err);
    if let Some(port) = port_in_use(&text) {
        return EngineError::PortTaken(format!("port {port} is already in use"));
    }
    if text.contains("port is already allocated") || text.contains("address already in use") {
        return EngineError::PortTaken(format!("a published port is already in use: {text}"));
    }
    if text.contains("no space left on device") {
        return EngineError::DiskFull(format!(
            "no space left on device on the Docker host {host}: {text}"
        ));
    }
    match &err {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => match status_code {
            404 if is_image_message(message) => EngineError::ImageMissing(message.clone()),
            404 => EngineError::NotFound(message.clone()),
            409 => EngineError::Conflict(message.clone()),
            _ => EngineError::Other(format!("Docker engine at {host}: {message}")),
        },
        BollardError::RequestTimeoutError => {
            EngineError::Timeout(format!("Docker engine at {host} did not answer in time"))
        }
        BollardError::SocketNotFoundError(path) => EngineError::Unreachable(format!(
            "Docker engine at {host} is unreachable: no socket at {path}"
        )),
        BollardError::HyperLegacyError { .. }
        | BollardError::HyperResponseError { .. }
        | BollardError::IOError { .. }
            if text.contains("invalid peer certificate") =>
        {
            EngineError::Unreachable(format!(
                "Docker engine at {host} refused: its TLS certificate is not signed by the CA \
                 given for it (or not valid for this address): {text}"
            ))
        }
        BollardError::HyperLegacyError { .. }
        | BollardError::HyperResponseError { .. }
        | BollardError::IOError { .. } => {
            EngineError::Unreachable(format!("Docker engine at {host} is unreachable: {text}"))
        }
        _ => EngineError::Other(format!("Docker engine at {host}: {text}")),
    }
}

/// Docker's ways of saying an image is not there (locally or in the registry).
pub(crate) fn is_image_message(message: &str) -> bool {
    message.starts_with("No such image")
        || message.contains("pull access denied")
        || message.contains("manifest unknown")
        || (message.contains("manifest for") && message.contains("not found"))
        || message.contains("repository does not exist")
}

/// The error and its causes on one line ("client error (Connect): Connection refused …").
pub(crate) fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}

/// The `host:port` in Docker's "Bind for 127.0.0.1:8080 failed: port is already allocated" or
/// "listen tcp4 0.0.0.0:8080: bind: address already in use".
fn port_in_use(text: &str) -> Option<String> {
    if let Some(rest) = text.split("Bind for ").nth(1) {
        if let Some(addr) = rest.split(" failed").next() {
            if text.contains("port is already allocated") {
                return Some(addr.trim().to_owned());
            }
        }
    }
    if text.contains("address already in use") {
        for prefix in [
            "listen tcp4 ",
            "listen tcp6 ",
            "listen tcp ",
            "listen udp4 ",
            "listen udp ",
        ] {
            if let Some(rest) = text.split(prefix).nth(1) {
                if let Some(addr) = rest.split(": bind").next() {
                    return Some(addr.trim().to_owned());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status_code: u16, message: &str) -> BollardError {
        BollardError::DockerResponseServerError {
            status_code,
            message: message.to_owned(),
        }
    }

    #[test]
    fn port_allocated_names_the_port() {
        let err = classify(
            "unix:///var/run/docker.sock",
            server(
                500,
                "driver failed programming external connectivity on endpoint web (abc): \
                 Bind for 127.0.0.1:8080 failed: port is already allocated",
            ),
        );
        assert_eq!(err.to_string(), "port 127.0.0.1:8080 is already in use");
    }

    #[test]
    fn address_in_use_names_the_port() {
        let err = classify(
            "unix:///var/run/docker.sock",
            server(
                500,
                "driver failed programming external connectivity on endpoint web (abc): Error \
                 starting userland proxy: listen tcp4 0.0.0.0:8080: bind: address already in use",
            ),
        );
        assert!(matches!(err, EngineError::PortTaken(_)));
        assert_eq!(err.to_string(), "port 0.0.0.0:8080 is already in use");
    }

    #[test]
    fn missing_image_is_image_missing() {
        let err = classify("h", server(404, "No such image: foo:v9"));
        assert!(matches!(err, EngineError::ImageMissing(_)), "{err:?}");
    }

    #[test]
    fn missing_container_is_not_found() {
        let err = classify("h", server(404, "No such container: web-1"));
        assert!(matches!(err, EngineError::NotFound(_)), "{err:?}");
    }

    #[test]
    fn full_disk_is_disk_full() {
        let err = classify(
            "h",
            server(500, "write /var/lib/docker/tmp/x: no space left on device"),
        );
        assert!(matches!(err, EngineError::DiskFull(_)), "{err:?}");
    }

    #[test]
    fn missing_socket_is_unreachable() {
        let err = classify(
            "unix:///nope.sock",
            BollardError::SocketNotFoundError("/nope.sock".into()),
        );
        assert_eq!(
            err.to_string(),
            "Docker engine at unix:///nope.sock is unreachable: no socket at /nope.sock"
        );
    }

    #[test]
    fn exited_lists_the_last_lines() {
        let err = EngineError::Exited {
            code: 3,
            logs: vec!["starting".into(), "crash: DEMO_CRASH is set".into()],
        };
        assert_eq!(
            err.to_string(),
            "the container exited at once with code 3; last lines: starting | crash: DEMO_CRASH is set"
        );
    }
}
