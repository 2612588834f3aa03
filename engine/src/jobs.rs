//! One-off containers (migrations and the like): run to completion, stream output, clean up.

use std::time::Duration;

use bollard::query_parameters::WaitContainerOptions;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::images::secs;
use crate::{ContainerSpec, Engine, EngineError, LogLine};

impl Engine {
    /// Runs `spec` once: creates and starts it, sends each line of its output to `log` as it
    /// comes, waits for it to exit and returns the exit code. The container is always removed,
    /// killed first on timeout ([`EngineError::Timeout`]) or cancellation.
    pub async fn run_job(
        &self,
        spec: &ContainerSpec,
        timeout: Duration,
        cancel: CancellationToken,
        log: &(dyn Fn(LogLine) + Send + Sync),
    ) -> Result<i64, EngineError> {
        let id = self.create(spec).await?;
        let outcome = tokio::select! {
            result = self.run_created(&id, log) => result,
            () = tokio::time::sleep(timeout) => Err(EngineError::Timeout(format!(
                "job {} did not finish within {}; it was killed", spec.name, secs(timeout)
            ))),
            () = cancel.cancelled() => Err(EngineError::Cancelled),
        };
        self.remove_quietly(&id).await;
        outcome
    }

    async fn run_created(
        &self,
        id: &str,
        log: &(dyn Fn(LogLine) + Send + Sync),
    ) -> Result<i64, EngineError> {
        let docker = self.docker().await?;
        docker
            .start_container(id, None)
            .await
            .map_err(|e| self.fail(e))?;
        // Docker's log stream ends when the container stops.
        let mut lines = self.logs(id, usize::MAX, true);
        while let Some(line) = lines.next().await {
            log(line?);
        }
        let options = WaitContainerOptions {
            condition: "not-running".to_owned(),
        };
        let mut wait = docker.wait_container(id, Some(options));
        match wait.next().await {
            Some(Ok(exit)) => Ok(exit.status_code),
            // bollard reports a non-zero exit as an error that carries the code.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(err)) => Err(self.fail(err)),
            None => Err(EngineError::Other(format!(
                "Docker engine at {} did not report how job {id} ended",
                self.host()
            ))),
        }
    }
}
