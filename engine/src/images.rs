//! Images: making sure the one a release names is there (pulling, waiting for CI to push it),
//! looking them up and removing them.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use bollard::auth::DockerCredentials;
use bollard::query_parameters::{CreateImageOptions, RemoveImageOptions};
use futures_util::StreamExt;
use tokio::time::Instant;

use crate::error::{describe, is_not_found};
use crate::{Engine, EngineError};

/// Whether [`Engine::ensure_image`] asks the registry when the image is already here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    IfMissing,
}

/// Credentials for a private registry.
#[derive(Clone)]
pub struct RegistryAuth {
    pub server: String,
    pub username: String,
    pub password: String,
}

impl fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// An image present on the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// As asked for.
    pub reference: String,
    /// `sha256:…`, what a release pins.
    pub id: String,
    /// `repo@sha256:…` when the image came from (or went to) a registry.
    pub digest: Option<String>,
}

const MAX_BACKOFF: Duration = Duration::from_secs(10);

impl Engine {
    /// Makes `reference` available and returns its id. While it cannot be had, pulls again with
    /// backoff (1 s, 2 s, 4 s… at most 10 s) until `timeout`, and keeps looking for it locally,
    /// so a deploy started just before CI finished pushing (or tagging) waits for the image.
    /// Pull progress goes to `log`, one line per layer status change.
    pub async fn ensure_image(
        &self,
        reference: &str,
        policy: PullPolicy,
        auth: Option<&RegistryAuth>,
        timeout: Duration,
        log: &(dyn Fn(String) + Send + Sync),
    ) -> Result<ImageRef, EngineError> {
        let deadline = Instant::now() + timeout;
        if policy == PullPolicy::IfMissing {
            if let Some(found) = self.image_exists(reference).await? {
                return Ok(found);
            }
        }
        let mut backoff = Duration::from_secs(1);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let error = match tokio::time::timeout(left, self.pull(reference, auth, log)).await {
                Ok(Ok(())) => match self.image_exists(reference).await? {
                    Some(found) => return Ok(found),
                    None => "the pull finished but the image is not there".to_owned(),
                },
                Ok(Err(err @ (EngineError::Unreachable(_) | EngineError::DiskFull(_)))) => {
                    return Err(err)
                }
                Ok(Err(err)) => err.to_string(),
                Err(_) => format!("the pull did not finish within {}", secs(timeout)),
            };
            if let Some(found) = self.image_exists(reference).await? {
                if policy == PullPolicy::Always {
                    log(format!(
                        "pull of {reference} failed ({error}); using the local image"
                    ));
                }
                return Ok(found);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(EngineError::ImageMissing(format!(
                    "image {reference} not found locally and could not be pulled within {}: {error}",
                    secs(timeout)
                )));
            }
            log(format!(
                "image {reference} is not available yet ({error}); retrying in {}",
                secs(backoff)
            ));
            tokio::time::sleep(backoff.min(deadline - now)).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// The image `reference` (a name, `name:tag`, `name@digest` or an id) if it is here.
    pub async fn image_exists(&self, reference: &str) -> Result<Option<ImageRef>, EngineError> {
        let docker = self.docker().await?;
        match docker.inspect_image(reference).await {
            Ok(image) => {
                let digests = image.repo_digests.unwrap_or_default();
                Ok(Some(ImageRef {
                    reference: reference.to_owned(),
                    id: image.id.unwrap_or_default(),
                    digest: pick_digest(reference, &digests),
                }))
            }
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.fail(err)),
        }
    }

    /// Removes an image (not forced). Already gone is fine; still used by a container is
    /// [`EngineError::Conflict`].
    pub async fn remove_image(&self, id: &str) -> Result<(), EngineError> {
        let docker = self.docker().await?;
        let options = RemoveImageOptions {
            force: false,
            noprune: false,
            platforms: None,
        };
        match docker.remove_image(id, Some(options), None).await {
            Ok(_) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(err) => Err(self.fail(err)),
        }
    }

    /// One pull attempt, progress to `log`.
    async fn pull(
        &self,
        reference: &str,
        auth: Option<&RegistryAuth>,
        log: &(dyn Fn(String) + Send + Sync),
    ) -> Result<(), EngineError> {
        let docker = self.docker().await?;
        let options = CreateImageOptions {
            from_image: Some(with_tag(reference)),
            ..Default::default()
        };
        let credentials = auth.map(|a| DockerCredentials {
            username: Some(a.username.clone()),
            password: Some(a.password.clone()),
            serveraddress: Some(a.server.clone()),
            ..Default::default()
        });
        let mut stream = docker.create_image(Some(options), None, credentials);
        let mut progress = PullProgress::default();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| self.pull_failed(e))?;
            if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                return Err(EngineError::ImageMissing(detail));
            }
            if let Some(line) = info.status.and_then(|s| progress.line(info.id, s)) {
                log(line);
            }
        }
        Ok(())
    }
}

impl Engine {
    /// A failed pull is a missing image unless the engine itself is the problem.
    fn pull_failed(&self, err: bollard::errors::Error) -> EngineError {
        let message = match &err {
            bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
            bollard::errors::Error::DockerStreamError { error } => error.clone(),
            other => describe(other),
        };
        match self.fail(err) {
            e @ (EngineError::Unreachable(_) | EngineError::DiskFull(_)) => e,
            _ => EngineError::ImageMissing(message),
        }
    }
}

/// Turns Docker's pull messages (one per chunk downloaded) into one line per layer status.
#[derive(Default)]
struct PullProgress {
    layers: HashMap<String, String>,
}

impl PullProgress {
    fn line(&mut self, layer: Option<String>, status: String) -> Option<String> {
        match layer.filter(|l| !l.is_empty()) {
            Some(layer) if self.layers.get(&layer) == Some(&status) => None,
            Some(layer) => {
                let line = format!("{layer}: {status}");
                self.layers.insert(layer, status);
                Some(line)
            }
            None => Some(status),
        }
    }
}

/// `foo` means `foo:latest` (without a tag Docker would pull every tag).
fn with_tag(reference: &str) -> String {
    let name = reference.rsplit('/').next().unwrap_or(reference);
    if name.contains(':') || name.contains('@') {
        reference.to_owned()
    } else {
        format!("{reference}:latest")
    }
}

/// The repository digest that belongs to the repository `reference` names, else the first.
fn pick_digest(reference: &str, digests: &[String]) -> Option<String> {
    let repo = repository(reference);
    digests
        .iter()
        .find(|d| d.split('@').next() == Some(repo))
        .or_else(|| digests.first())
        .cloned()
}

fn repository(reference: &str) -> &str {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    match without_digest.rsplit_once(':') {
        // A colon after the last slash is a tag; before it, a registry port.
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => without_digest,
    }
}

pub(crate) fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untagged_references_pull_latest() {
        assert_eq!(with_tag("nginx"), "nginx:latest");
        assert_eq!(with_tag("registry:5000/app"), "registry:5000/app:latest");
        assert_eq!(with_tag("registry:5000/app:v2"), "registry:5000/app:v2");
        assert_eq!(with_tag("app@sha256:abc"), "app@sha256:abc");
    }

    #[test]
    fn picks_the_digest_of_the_named_repository() {
        let digests = vec![
            "ghcr.io/acme/other@sha256:1".to_owned(),
            "ghcr.io/acme/web@sha256:2".to_owned(),
        ];
        assert_eq!(
            pick_digest("ghcr.io/acme/web:v3", &digests).as_deref(),
            Some("ghcr.io/acme/web@sha256:2")
        );
        assert_eq!(
            pick_digest("localhost:5000/x", &digests).as_deref(),
            Some("ghcr.io/acme/other@sha256:1")
        );
        assert_eq!(pick_digest("x", &[]), None);
    }

    #[test]
    fn pull_progress_is_one_line_per_layer_status() {
        let mut progress = PullProgress::default();
        let layer = || Some("a1b2".to_owned());
        let lines: Vec<_> = [
            (None, "Pulling from acme/web"),
            (layer(), "Pulling fs layer"),
            (layer(), "Downloading"),
            (layer(), "Downloading"),
            (layer(), "Downloading"),
            (layer(), "Pull complete"),
            (None, "Status: Downloaded newer image for acme/web:v3"),
        ]
        .into_iter()
        .filter_map(|(id, status)| progress.line(id, status.to_owned()))
        .collect();
        assert_eq!(
            lines,
            [
                "Pulling from acme/web",
                "a1b2: Pulling fs layer",
                "a1b2: Downloading",
                "a1b2: Pull complete",
                "Status: Downloaded newer image for acme/web:v3",
            ]
        );
    }

    #[test]
    fn password_is_not_printed() {
        let auth = RegistryAuth {
            server: "ghcr.io".into(),
            username: "ci".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
    }
}
