//! The connection to one Docker engine: where it is, TLS, and API version negotiation.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use bollard::{ClientVersion, Docker, API_DEFAULT_VERSION};
use tokio::sync::OnceCell;

use crate::error::{classify, describe, server_error, EngineError};

/// Seconds bollard waits for the engine to start answering a request (not for a whole stream).
const REQUEST_TIMEOUT_SECS: u64 = 300;
const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

/// Client certificate material for a remote engine (`tcp://host:2376` with `--tlsverify`).
#[derive(Clone)]
pub struct TlsMaterial {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_pem", &format_args!("<{} bytes>", self.ca_pem.len()))
            .field("cert_pem", &format_args!("<{} bytes>", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// A Docker engine. Cheap to clone; clones share one connection. Connecting is lazy: the first
/// call that needs the engine connects and negotiates the API version, and a failed attempt
/// is retried by the next call (so Berth can start before the engine does).
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    /// As the user wrote it (or the default), for messages.
    host: String,
    target: Target,
    docker: OnceCell<Docker>,
    /// Holds the PEM files bollard reads; removed when the last clone is dropped.
    _tls_dir: Option<tempfile::TempDir>,
}

enum Target {
    Unix(String),
    Http(String),
    Https {
        addr: String,
        ca: PathBuf,
        cert: PathBuf,
        key: PathBuf,
    },
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("host", &self.inner.host)
            .field("tls", &matches!(self.inner.target, Target::Https { .. }))
            .finish()
    }
}

impl Engine {
    /// `host`: `""` (the `DOCKER_HOST` variable, else the local socket), `unix:///path`, or
    /// `tcp://host:port`, which needs `tls`: a remote engine is reached over TLS or not at all
    /// ([`EngineError::TlsRequired`]); see [`Engine::connect_insecure`] for the one exception.
    /// Only checks the address; see [`Engine`].
    pub fn connect(host: &str, tls: Option<&TlsMaterial>) -> Result<Engine, EngineError> {
        Engine::open(host, tls, false)
    }

    /// Like [`Engine::connect`], but a `tcp://` host without TLS material is reached over
    /// plain HTTP. Only for a host someone entitled to decide has marked insecure.
    pub fn connect_insecure(host: &str, tls: Option<&TlsMaterial>) -> Result<Engine, EngineError> {
        Engine::open(host, tls, true)
    }

    fn open(
        host: &str,
        tls: Option<&TlsMaterial>,
        allow_plain: bool,
    ) -> Result<Engine, EngineError> {
        let from_env = host.trim().is_empty();
        let host = match host.trim() {
            "" => std::env::var("DOCKER_HOST")
                .ok()
                .filter(|h| !h.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_SOCKET.to_owned()),
            h => h.to_owned(),
        };
        let env_tls;
        let tls = match tls {
            Some(t) => Some(t),
            None if from_env && !host.starts_with("unix://") => {
                env_tls = docker_cert_path()
                    .map(read_tls_dir)
                    .transpose()
                    .map_err(|e| {
                        EngineError::Other(format!(
                            "cannot read the TLS files of DOCKER_CERT_PATH for {host}: {e}"
                        ))
                    })?;
                env_tls.as_ref()
            }
            None => None,
        };
        let (target, tls_dir) = if let Some(path) = host.strip_prefix("unix://") {
            (Target::Unix(path.to_owned()), None)
        } else if let Some(addr) = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("https://"))
            .or_else(|| host.strip_prefix("http://"))
        {
            match tls {
                Some(tls) => {
                    let dir = write_tls(tls).map_err(|e| {
                        EngineError::Other(format!("cannot store the TLS files for {host}: {e}"))
                    })?;
                    let target = Target::Https {
                        addr: format!("https://{addr}"),
                        ca: dir.path().join("ca.pem"),
                        cert: dir.path().join("cert.pem"),
                        key: dir.path().join("key.pem"),
                    };
                    (target, Some(dir))
                }
                None if allow_plain && !host.starts_with("https://") => {
                    (Target::Http(format!("tcp://{addr}")), None)
                }
                None => {
                    return Err(EngineError::TlsRequired(format!(
                        "the Docker engine at {host} is remote: Berth reaches it only over TLS, \
                         and no TLS material (CA, client certificate and key) was given"
                    )))
                }
            }
        } else {
            return Err(EngineError::Other(format!(
                "unsupported Docker host {host:?}: use unix:///path/to/docker.sock or tcp://host:port (with TLS)"
            )));
        };
        Ok(Engine {
            inner: Arc::new(Inner {
                host,
                target,
                docker: OnceCell::new(),
                _tls_dir: tls_dir,
            }),
        })
    }

    /// The engine's address, as used in messages.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// The engine's version (e.g. `20.10.24`), proving it answers.
    pub async fn ping(&self) -> Result<String, EngineError> {
        let docker = self.docker().await?;
        let version = docker.version().await.map_err(|e| self.fail(e))?;
        Ok(version.version.unwrap_or_default())
    }

    /// The connected, version-negotiated client.
    pub(crate) async fn docker(&self) -> Result<&Docker, EngineError> {
        self.inner.docker.get_or_try_init(|| self.negotiate()).await
    }

    pub(crate) fn fail(&self, err: bollard::errors::Error) -> EngineError {
        classify(&self.inner.host, err)
    }

    /// Talks the newest API version both sides know. bollard's own negotiation asks with its
    /// newest version, which engines older than it reject ("client version 1.53 is too new.
    /// Maximum supported API version is 1.41"), so that answer is read as well.
    async fn negotiate(&self) -> Result<Docker, EngineError> {
        let docker = self.client(API_DEFAULT_VERSION)?;
        let answer = docker.version().await;
        let server = match answer {
            Ok(version) => version.api_version.as_deref().and_then(parse_version),
            Err(err) => match server_error(&err).and_then(|(_, m)| max_supported(m)) {
                Some(version) => Some(version),
                None => return Err(self.fail(err)),
            },
        };
        match server {
            Some(v) if v < *API_DEFAULT_VERSION => self.client(&v),
            _ => Ok(docker),
        }
    }

    fn client(&self, version: &ClientVersion) -> Result<Docker, EngineError> {
        let connected = match &self.inner.target {
            Target::Unix(path) => Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, version),
            Target::Http(addr) => Docker::connect_with_http(addr, REQUEST_TIMEOUT_SECS, version),
            Target::Https {
                addr,
                ca,
                cert,
                key,
            } => Docker::connect_with_ssl(addr, key, cert, ca, REQUEST_TIMEOUT_SECS, version),
        };
        use bollard::errors::Error as E;
        connected.map_err(|e| match e {
            E::SocketNotFoundError(_) => self.fail(e),
            E::CertPathError { .. } | E::CertMultipleKeys { .. } | E::CertParseError { .. } => {
                EngineError::Other(format!(
                    "the TLS material for the Docker engine at {} is invalid: {}",
                    self.inner.host,
                    describe(&e)
                ))
            }
            other => EngineError::Unreachable(format!(
                "Docker engine at {} is unreachable: {}",
                self.inner.host,
                describe(&other)
            )),
        })
    }
}

fn write_tls(tls: &TlsMaterial) -> std::io::Result<tempfile::TempDir> {
    // tempfile creates the directory 0700, so the key is private to this user.
    let dir = tempfile::Builder::new()
        .prefix("berth-docker-tls-")
        .tempdir()?;
    std::fs::write(dir.path().join("ca.pem"), &tls.ca_pem)?;
    std::fs::write(dir.path().join("cert.pem"), &tls.cert_pem)?;
    std::fs::write(dir.path().join("key.pem"), &tls.key_pem)?;
    Ok(dir)
}

/// Where the Docker CLI convention keeps TLS files for `DOCKER_HOST`: `DOCKER_CERT_PATH`, or
/// `~/.docker` when `DOCKER_TLS_VERIFY` is set; `None` when neither is.
fn docker_cert_path() -> Option<PathBuf> {
    let set = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if let Some(dir) = set("DOCKER_CERT_PATH") {
        return Some(PathBuf::from(dir));
    }
    set("DOCKER_TLS_VERIFY")?;
    set("HOME").map(|h| PathBuf::from(h).join(".docker"))
}

fn read_tls_dir(dir: PathBuf) -> std::io::Result<TlsMaterial> {
    let read = |f: &str| std::fs::read_to_string(dir.join(f));
    Ok(TlsMaterial {
        ca_pem: read("ca.pem")?,
        cert_pem: read("cert.pem")?,
        key_pem: read("key.pem")?,
    })
}

fn parse_version(text: &str) -> Option<ClientVersion> {
    let (major, minor) = text.trim().split_once('.')?;
    Some(ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

fn max_supported(message: &str) -> Option<ClientVersion> {
    let rest = message.split("Maximum supported API version is").nth(1)?;
    parse_version(rest.split_whitespace().next()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_maximum_from_a_too_new_answer() {
        let v =
            max_supported("client version 1.53 is too new. Maximum supported API version is 1.41")
                .unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
    }

    #[test]
    fn rejects_unknown_schemes() {
        let err = Engine::connect("ssh://box", None).unwrap_err();
        assert!(err.to_string().contains("unsupported Docker host"), "{err}");
    }

    fn material() -> TlsMaterial {
        TlsMaterial {
            ca_pem: "CA".into(),
            cert_pem: "CERT".into(),
            key_pem: "KEY".into(),
        }
    }

    fn uses_tls(engine: &Engine) -> bool {
        matches!(engine.inner.target, Target::Https { .. })
    }

    #[test]
    fn a_tcp_host_without_tls_material_is_refused() {
        let err = Engine::connect("tcp://10.0.0.5:2376", None).unwrap_err();
        assert!(matches!(err, EngineError::TlsRequired(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("tcp://10.0.0.5:2376"), "{text}");
        assert!(text.contains("only over TLS"), "{text}");
        let err = Engine::connect("http://10.0.0.5:2375", None).unwrap_err();
        assert!(matches!(err, EngineError::TlsRequired(_)), "{err:?}");
    }

    #[test]
    fn a_tcp_host_with_tls_material_uses_https() {
        let engine = Engine::connect("tcp://10.0.0.5:2376", Some(&material())).unwrap();
        assert!(uses_tls(&engine));
        assert!(format!("{engine:?}").contains("tls: true"), "{engine:?}");
    }

    #[test]
    fn plain_tcp_only_when_insecure_is_asked_for_explicitly() {
        let engine = Engine::connect_insecure("tcp://10.0.0.5:2375", None).unwrap();
        assert!(!uses_tls(&engine));
        // TLS material still wins over the insecure mark.
        let engine = Engine::connect_insecure("tcp://10.0.0.5:2376", Some(&material())).unwrap();
        assert!(uses_tls(&engine));
        // An https:// address never goes plain.
        let err = Engine::connect_insecure("https://10.0.0.5:2376", None).unwrap_err();
        assert!(matches!(err, EngineError::TlsRequired(_)), "{err:?}");
    }

    #[test]
    fn a_unix_socket_needs_no_tls() {
        let engine = Engine::connect("unix:///var/run/docker.sock", None).unwrap();
        assert!(!uses_tls(&engine));
    }

    #[test]
    fn debug_hides_the_key() {
        let tls = TlsMaterial {
            ca_pem: "CA".into(),
            cert_pem: "CERT".into(),
            key_pem: "SECRET KEY".into(),
        };
        assert!(!format!("{tls:?}").contains("SECRET"));
    }

    #[tokio::test]
    async fn a_missing_socket_is_unreachable() {
        let engine = Engine::connect("unix:///nonexistent/docker.sock", None).unwrap();
        let err = engine.ping().await.unwrap_err();
        assert!(matches!(err, EngineError::Unreachable(_)), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("Docker engine at unix:///nonexistent/docker.sock is unreachable"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_refused_tcp_port_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let engine = Engine::connect_insecure(&format!("tcp://127.0.0.1:{port}"), None).unwrap();
        let err = engine.ping().await.unwrap_err();
        assert!(matches!(err, EngineError::Unreachable(_)), "{err:?}");
        assert!(err.to_string().contains("onnection refused"), "{err}");
    }
}
