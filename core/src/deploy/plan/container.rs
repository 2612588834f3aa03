//! How a service of a release becomes a container: its environment, its image reference
//! and the registry login to pull it.
use super::Resolved;
use stack::interpolate;
use stack::model::ServiceSpec;
use stack::reserved;
use std::collections::BTreeMap;

/// A service's container environment: the application variables it inherits (all, or the
/// names it lists), then its own overrides (whose `${NAME}` references are grants). Names
/// Berth keeps for itself never get in: inheriting skips them, naming or referencing one is
/// an error.
pub fn service_env(
    spec: &ServiceSpec,
    resolved: &Resolved,
) -> Result<Vec<(String, String)>, Vec<String>> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut errors = Vec::new();
    let service = &spec.name;
    match &spec.inherit {
        None => {
            for (k, v) in &resolved.all {
                if resolved.refusal(k).is_none() && !resolved.per_deploy.contains(k) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        Some(names) => {
            for name in names {
                if let Some(why) = resolved.refusal(name) {
                    errors.push(format!("service `{service}`: inherits {why}"));
                } else if let Some(v) = resolved.all.get(name) {
                    out.insert(name.clone(), v.clone());
                } else {
                    errors.push(format!(
                        "service `{service}`: inherits `{name}`, which is not defined"
                    ));
                }
            }
        }
    }
    for (k, template) in &spec.env {
        if reserved::is_reserved(k) {
            errors.push(format!(
                "service `{service}`: env {k}: the name is {}",
                reserved::RESERVED_NOTE
            ));
            continue;
        }
        let refused: Vec<String> = interpolate::references(template)
            .iter()
            .filter_map(|n| resolved.refusal(n))
            .collect();
        if !refused.is_empty() {
            errors.push(format!(
                "service `{service}`: env {k}: {}",
                refused.join("; ")
            ));
            continue;
        }
        match interpolate::substitute(template, |n| resolved.app_value(n).cloned()) {
            Some(v) => {
                out.insert(k.clone(), v);
            }
            None => errors.push(format!(
                "service `{service}`: env {k}: references a variable that is not defined"
            )),
        }
    }
    if errors.is_empty() {
        Ok(out.into_iter().collect())
    } else {
        Err(errors)
    }
}

/// The service's image reference with `${NAME}` filled in (e.g. `app:${GIT_SHA}`).
pub fn image_reference(spec: &ServiceSpec, resolved: &Resolved) -> Result<String, String> {
    // An image reference leaves Berth (it names a registry to pull from): Berth's own values
    // may not go into it, only the registry's address.
    if let Some(why) = interpolate::references(&spec.image)
        .iter()
        .filter(|n| n.as_str() != "REGISTRY_SERVER")
        .find_map(|n| resolved.refusal(n))
    {
        return Err(format!("service `{}`: image: {why}", spec.name));
    }
    let image = interpolate::substitute(&spec.image, |n| resolved.all.get(n).cloned()).ok_or_else(
        || {
            format!(
                "service `{}`: image `{}` references a variable that is not defined",
                spec.name, spec.image
            )
        },
    )?;
    if image.trim().is_empty() {
        return Err(format!("service `{}`: no image", spec.name));
    }
    Ok(image)
}

/// Registry credentials from the secrets `REGISTRY_USERNAME` / `REGISTRY_PASSWORD`
/// (and the plain or secret `REGISTRY_SERVER`), when set.
pub fn registry_auth(resolved: &Resolved) -> Option<engine::RegistryAuth> {
    let resolved = &resolved.all;
    let username = resolved.get("REGISTRY_USERNAME")?.clone();
    let password = resolved.get("REGISTRY_PASSWORD")?.clone();
    Some(engine::RegistryAuth {
        server: resolved.get("REGISTRY_SERVER").cloned().unwrap_or_default(),
        username,
        password,
    })
}
