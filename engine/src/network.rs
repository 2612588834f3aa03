//! User-defined bridge networks, where a stack's containers find each other by name.

use std::collections::{BTreeMap, HashMap};

use bollard::models::NetworkCreateRequest;

use crate::error::{is_not_found, server_error};
use crate::{Engine, EngineError};

impl Engine {
    /// Creates the bridge network `name` with `labels` unless it exists (whatever its labels).
    pub async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let docker = self.docker().await?;
        match docker.inspect_network(name, None).await {
            Ok(_) => return Ok(()),
            Err(err) if is_not_found(&err) => {}
            Err(err) => return Err(self.fail(err)),
        }
        let request = NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("bridge".to_owned()),
            attachable: Some(true),
            labels: Some(labels.clone().into_iter().collect::<HashMap<_, _>>()),
            ..Default::default()
        };
        match docker.create_network(request).await {
            Ok(_) => Ok(()),
            // Created meanwhile by someone else.
            Err(err) if matches!(server_error(&err), Some((409, _))) => Ok(()),
            Err(err) => Err(self.fail(err)),
        }
    }

    /// Removes the network `name`. Already gone is fine; still used by a container is
    /// [`EngineError::Conflict`].
    pub async fn remove_network(&self, name: &str) -> Result<(), EngineError> {
        let docker = self.docker().await?;
        match docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            // "error while removing network: network … has active endpoints"
            Err(err) => match server_error(&err) {
                Some((403, message)) => Err(EngineError::Conflict(message.to_owned())),
                _ => Err(self.fail(err)),
            },
        }
    }
}
