//! Named volumes: created with labels, so whoever asks later can tell whose they are.

use std::collections::{BTreeMap, HashMap};

use bollard::models::VolumeCreateRequest;

use crate::error::{is_not_found, server_error};
use crate::{Engine, EngineError};

impl Engine {
    /// The labels of the named volume `name`, or `None` when there is no such volume.
    pub async fn volume_labels(
        &self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, EngineError> {
        let docker = self.docker().await?;
        match docker.inspect_volume(name).await {
            Ok(v) => Ok(Some(v.labels.into_iter().collect())),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.fail(err)),
        }
    }

    /// Creates the local named volume `name` with `labels`. One that already exists is
    /// left as it is (Docker answers with the existing volume).
    pub async fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let docker = self.docker().await?;
        let request = VolumeCreateRequest {
            name: Some(name.to_owned()),
            labels: Some(labels.clone().into_iter().collect::<HashMap<_, _>>()),
            ..Default::default()
        };
        docker
            .create_volume(request)
            .await
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Removes the named volume `name`. Already gone is fine; still mounted by a container
    /// is [`EngineError::Conflict`].
    pub async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        let docker = self.docker().await?;
        match docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
        {
            Ok(()) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(err) => match server_error(&err) {
                Some((409, message)) => Err(EngineError::Conflict(message.to_owned())),
                _ => Err(self.fail(err)),
            },
        }
    }
}
