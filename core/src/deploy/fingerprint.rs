//! What a container is, as a fingerprint: the parts of its spec that matter (image id,
//! command, environment values, volumes, ports, resources, health check, restart policy,
//! runtime options, how it is reached). A deploy keeps a service's containers when the
//! fingerprint of what it would start equals theirs, and says what changed otherwise.
//!
//! The fingerprint sits in the container's labels. Environment values (secrets among them)
//! enter it only through an HMAC keyed with a random per-instance salt kept in the database,
//! so a label never helps anyone guess a value.
use engine::{ContainerInfo, ContainerSpec};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;

/// The digest of all parts: equal digests mean "keep the container".
pub const LABEL_SPEC: &str = "berth.spec";
/// The parts (JSON), to say what changed.
pub const LABEL_PARTS: &str = "berth.spec.parts";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Parts {
    /// The image id (`sha256:…`), or the reference when the id is not known.
    pub image: String,
    pub command: String,
    /// Variable name → keyed digest of its value.
    pub env: BTreeMap<String, String>,
    pub volumes: String,
    pub ports: String,
    pub resources: String,
    pub health: String,
    /// e.g. `unless-stopped`.
    pub restart: String,
    pub runtime: String,
    /// HTTP port, publishing, network and aliases.
    pub network: String,
}

fn mac(salt: &[u8], parts: &[&[u8]]) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(salt).expect("HMAC takes any key");
    for p in parts {
        m.update(&(p.len() as u64).to_be_bytes());
        m.update(p);
    }
    hex::encode(&m.finalize().into_bytes()[..8])
}

fn json_mac(salt: &[u8], v: &impl Serialize) -> String {
    mac(
        salt,
        &[serde_json::to_string(v).unwrap_or_default().as_bytes()],
    )
}

/// The fingerprint of what `spec` would start (its name and labels do not count).
pub fn parts(spec: &ContainerSpec, salt: &[u8]) -> Parts {
    Parts {
        image: spec.image.clone(),
        command: json_mac(salt, &spec.command),
        env: spec
            .env
            .iter()
            .map(|(k, v)| (k.clone(), mac(salt, &[k.as_bytes(), v.as_bytes()])))
            .collect(),
        volumes: json_mac(salt, &spec.volumes),
        ports: json_mac(salt, &spec.ports),
        resources: json_mac(salt, &(spec.cpu_limit, spec.memory_limit)),
        health: json_mac(salt, &spec.health),
        restart: spec.restart.render(),
        runtime: json_mac(salt, &spec.runtime),
        network: json_mac(
            salt,
            &(
                spec.http_port,
                spec.publish_http,
                &spec.network,
                &spec.aliases,
            ),
        ),
    }
}

const SALT_SETTING: &str = "container_fingerprint_salt";

/// This instance's salt: made (random) the first time, then read.
pub async fn salt(db: &super::super::db::Db) -> Result<Vec<u8>, sqlx::Error> {
    let read = || async {
        sqlx::query_scalar::<_, String>("SELECT value FROM instance_settings WHERE name = $1")
            .bind(SALT_SETTING)
            .fetch_optional(&db.pool)
            .await
    };
    if let Some(v) = read().await? {
        return Ok(v.into_bytes());
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let fresh = hex::encode(bytes);
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO instance_settings (name, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(SALT_SETTING)
    .bind(&fresh)
    .bind(chrono::Utc::now().timestamp_millis())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(read().await?.unwrap_or(fresh).into_bytes())
}

pub fn digest(parts: &Parts, salt: &[u8]) -> String {
    json_mac(salt, parts)
}

/// Labels `spec` with its fingerprint.
pub fn stamp(spec: &mut ContainerSpec, salt: &[u8]) {
    let p = parts(spec, salt);
    spec.labels.insert(LABEL_SPEC.into(), digest(&p, salt));
    spec.labels.insert(
        LABEL_PARTS.into(),
        serde_json::to_string(&p).unwrap_or_default(),
    );
}

/// The fingerprint digest a container was started with (none before fingerprints existed).
pub fn of(c: &ContainerInfo) -> Option<&str> {
    c.labels.get(LABEL_SPEC).map(String::as_str)
}

fn short(image: &str) -> String {
    match image.strip_prefix("sha256:") {
        Some(h) => format!("sha256:{}", &h[..h.len().min(12)]),
        None => image.to_string(),
    }
}

/// What differs between a running container and what would be started, in words that name
/// variables and never show values: `image sha256:… → sha256:…`, `env DATABASE_URL changed`.
pub fn changes(running: &ContainerInfo, new: &Parts) -> Vec<String> {
    let Some(old) = running
        .labels
        .get(LABEL_PARTS)
        .and_then(|j| serde_json::from_str::<Parts>(j).ok())
    else {
        return vec!["started before Berth recorded container specs".into()];
    };
    let mut out = Vec::new();
    if old.image != new.image {
        out.push(format!(
            "image {} → {}",
            short(&old.image),
            short(&new.image)
        ));
    }
    if old.command != new.command {
        out.push("command changed".into());
    }
    for (k, v) in &new.env {
        match old.env.get(k) {
            None => out.push(format!("env {k} added")),
            Some(o) if o != v => out.push(format!("env {k} changed")),
            _ => {}
        }
    }
    for k in old.env.keys().filter(|k| !new.env.contains_key(*k)) {
        out.push(format!("env {k} removed"));
    }
    let named = [
        ("volumes", &old.volumes, &new.volumes),
        ("ports", &old.ports, &new.ports),
        ("resources", &old.resources, &new.resources),
        ("health check", &old.health, &new.health),
        ("runtime options", &old.runtime, &new.runtime),
        ("network settings", &old.network, &new.network),
    ];
    for (what, a, b) in named {
        if a != b {
            out.push(format!("{what} changed"));
        }
    }
    if old.restart != new.restart {
        out.push(format!("restart {} → {}", old.restart, new.restart));
    }
    if out.is_empty() {
        out.push("settings changed".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ContainerSpec {
        ContainerSpec {
            name: "berth-shop-prod-web-r1-0-d1".into(),
            image: "sha256:0123456789abcdef0123".into(),
            env: vec![
                ("DATABASE_URL".into(), "postgres://u:hunter2@db/shop".into()),
                ("DEBUG".into(), "0".into()),
            ],
            ..Default::default()
        }
    }

    fn running(spec: &ContainerSpec) -> ContainerInfo {
        ContainerInfo {
            id: "c1".into(),
            name: spec.name.clone(),
            image: spec.image.clone(),
            image_id: spec.image.clone(),
            labels: spec.labels.clone(),
            state: "running".into(),
            health: None,
            started_at: None,
            exit_code: None,
            http_addr: None,
            restart_count: 0,
            ips: Default::default(),
            volumes: Vec::new(),
        }
    }

    #[test]
    fn names_and_labels_do_not_count_values_do_and_never_show() {
        let salt = b"instance-salt";
        let mut a = spec();
        stamp(&mut a, salt);
        let mut b = spec();
        b.name = "berth-shop-prod-web-r2-0-d9".into();
        b.labels.insert("berth.release".into(), "2".into());
        stamp(&mut b, salt);
        assert_eq!(a.labels[LABEL_SPEC], b.labels[LABEL_SPEC]);

        let mut c = spec();
        c.env[0].1 = "postgres://u:hunter3@db/shop".into();
        c.image = "sha256:fedcba9876543210fedc".into();
        let new = parts(&c, salt);
        assert_ne!(digest(&new, salt), a.labels[LABEL_SPEC]);
        let said = changes(&running(&a), &new);
        assert_eq!(
            said,
            vec![
                "image sha256:0123456789ab → sha256:fedcba987654".to_string(),
                "env DATABASE_URL changed".to_string()
            ]
        );
        let labels = serde_json::to_string(&a.labels).unwrap();
        assert!(!labels.contains("hunter2"), "{labels}");
        // Another instance's salt gives other digests.
        assert_ne!(
            digest(&parts(&spec(), b"other"), b"other"),
            a.labels[LABEL_SPEC]
        );
    }

    #[test]
    fn a_container_from_before_fingerprints_is_a_change() {
        let said = changes(&running(&spec()), &parts(&spec(), b"s"));
        assert_eq!(said, vec!["started before Berth recorded container specs"]);
    }
}
