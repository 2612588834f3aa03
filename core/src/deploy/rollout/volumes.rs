//! The environment's containers and the volumes they mount: the environment's own, or the
//! legacy ones its containers already mount under their bare name.
use super::labels::{
    env_containers, env_labels, external_volumes, own_volume, volume_name, LABEL_ENV_ID,
    LABEL_SERVICE, LABEL_VOLUME,
};
use super::Rollout;
use engine::ContainerInfo;
use stack::model::ServiceSpec;

impl Rollout<'_> {
    /// The containers of this environment that Berth started (all states). Only reads: the
    /// legacy volumes they mount are recorded by [`Rollout::note_legacy_volumes`].
    pub async fn list_containers(&self) -> Result<Vec<ContainerInfo>, String> {
        env_containers(self.engine, self.env)
            .await
            .map_err(|e| e.to_string())
    }

    /// Records the named volumes that the service containers in `list` mount under their
    /// bare name (not the environment's own, not external): [`Rollout::volume_of`] keeps
    /// mounting those.
    pub fn note_legacy_volumes(&self, list: &[ContainerInfo]) {
        let prefix = volume_name(self.env, "");
        let mut legacy = self
            .legacy_volumes
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for c in list {
            let Some(service) = c.labels.get(LABEL_SERVICE) else {
                continue;
            };
            let external = external_volumes(c);
            legacy.extend(
                c.volumes
                    .iter()
                    .filter(|v| !v.starts_with(&prefix) && !external.contains(v.as_str()))
                    .map(|v| (service.clone(), v.clone())),
            );
        }
    }

    /// The Docker volume that the named volume `source` of service `service` is: the
    /// environment's own (`berth-<project>-<env>-<source>`), or the bare name when that
    /// service's containers already mount it by that name as their own volume (made before
    /// volumes were per environment). A volume mounted as external (approved by an instance
    /// admin) never counts, nor one another service mounts: those would let a maintainer
    /// mount it without an admin.
    pub(super) fn volume_of(&self, service: &str, source: &str) -> String {
        let legacy = self
            .legacy_volumes
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if legacy.contains(&(service.to_owned(), source.to_owned())) {
            source.to_owned()
        } else {
            volume_name(self.env, source)
        }
    }

    /// Creates the environment's named volumes that `spec` mounts and do not exist yet, and
    /// refuses a volume of that name that this environment did not create (left by a deleted
    /// environment of the same name, or made by hand): mounting it would hand over data
    /// nobody meant to share.
    pub async fn ensure_volumes(&self, spec: &ServiceSpec) -> Result<(), String> {
        for v in spec.volumes.iter().filter(|v| own_volume(v)) {
            let name = self.volume_of(&spec.name, &v.source);
            if name == v.source {
                continue;
            }
            let labels = self
                .engine
                .volume_labels(&name)
                .await
                .map_err(|e| format!("volume {name}: {e}"))?;
            match labels {
                None => {
                    let mut labels = env_labels(self.env);
                    labels.insert(LABEL_VOLUME.into(), v.source.clone());
                    self.engine
                        .create_volume(&name, &labels)
                        .await
                        .map_err(|e| format!("volume {name}: {e}"))?;
                    self.log.info(format!(
                        "created volume {name} (`{}` of this environment)",
                        v.source
                    ));
                }
                Some(labels) if labels.get(LABEL_ENV_ID) == Some(&self.env.id.to_string()) => {}
                Some(_) => {
                    return Err(format!(
                        "service `{}`: the volume {name} exists but this environment did not \
                         create it (a deleted environment of the same name left it, or it was \
                         made by hand); remove it, or have an instance admin mount it as external",
                        spec.name
                    ))
                }
            }
        }
        Ok(())
    }
}
