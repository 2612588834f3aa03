//! The master key and sealing of secret values (XChaCha20-Poly1305 from `stack::seal`), and
//! the reference checks that run before any variable is written.
use super::db::Tx;
use super::error::{ServiceError, ServiceResult};
use sqlx::Row;
use stack::interpolate::{self, ResolveError, VarValue};
use stack::seal::{Keyring, MasterKey, SealError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

pub use stack::seal::aad;

pub mod history;

/// The keyring, and where it came from (so another process's rotation can be picked up).
#[derive(Debug)]
pub struct SecretBox {
    keyring: RwLock<Keyring>,
    key_file: Option<PathBuf>,
}

fn parse_keys(text: &str) -> Result<Keyring, String> {
    let mut keys = text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|k| MasterKey::parse(k).map_err(|e| format!("invalid master key: {e}")));
    let current = keys.next().ok_or("no master key found")??;
    let previous = keys.collect::<Result<Vec<_>, _>>()?;
    Ok(Keyring::with_previous(current, previous))
}

fn key_file_text(ring: &Keyring) -> String {
    let mut text = String::from(
        "# Berth master key: the first line seals new secrets; later lines still open old ones.\n",
    );
    text.push_str(&ring.current().to_text());
    text.push('\n');
    for k in ring.previous() {
        text.push_str(&k.to_text());
        text.push('\n');
    }
    text
}

fn write_private(path: &Path, text: &str, create_new: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if create_new {
        opts.create_new(true);
    } else {
        opts.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

impl SecretBox {
    /// `BERTH_MASTER_KEY` (comma-separated, newest first) when given, else
    /// `<data dir>/master.key`, created with mode 0600 on first start.
    pub fn load(data_dir: &Path, from_env: Option<&str>) -> Result<SecretBox, String> {
        if let Some(text) = from_env {
            return Ok(SecretBox {
                keyring: RwLock::new(parse_keys(text)?),
                key_file: None,
            });
        }
        let path = data_dir.join("master.key");
        if !path.exists() {
            let ring = Keyring::new(MasterKey::generate());
            match write_private(&path, &key_file_text(&ring), true) {
                Ok(()) => tracing::info!(path = %path.display(), "created a new master key"),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(SecretBox {
            keyring: RwLock::new(parse_keys(&text)?),
            key_file: Some(path),
        })
    }

    /// A throwaway keyring (tests and tools).
    pub fn ephemeral() -> SecretBox {
        SecretBox {
            keyring: RwLock::new(Keyring::new(MasterKey::generate())),
            key_file: None,
        }
    }

    pub fn current_key_id(&self) -> String {
        self.keyring.read().expect("keyring lock").current_id()
    }

    /// Seals `value` for the secret named by `aad`; returns the sealed text and its key id.
    pub fn seal(&self, aad: &str, value: &str) -> ServiceResult<(String, String)> {
        let ring = self.keyring.read().expect("keyring lock");
        Ok((ring.seal(aad, value.as_bytes()), ring.current_id()))
    }

    /// Opens a sealed value. A key id this process does not know may come from a rotation
    /// done by another process: the key file is read again once before giving up.
    pub fn open(&self, aad: &str, sealed: &str) -> ServiceResult<String> {
        let first = self.keyring.read().expect("keyring lock").open(aad, sealed);
        let bytes = match first {
            Err(SealError::UnknownKey(_)) if self.key_file.is_some() => {
                self.reload()?;
                self.keyring.read().expect("keyring lock").open(aad, sealed)
            }
            other => other,
        }
        .map_err(|e| ServiceError::Internal(format!("cannot open a secret: {e}")))?;
        String::from_utf8(bytes).map_err(|_| ServiceError::Internal("a secret is not UTF-8".into()))
    }

    fn reload(&self) -> ServiceResult<()> {
        if let Some(path) = &self.key_file {
            let text =
                std::fs::read_to_string(path).map_err(|e| ServiceError::Internal(e.to_string()))?;
            let ring = parse_keys(&text).map_err(ServiceError::Internal)?;
            *self.keyring.write().expect("keyring lock") = ring;
        }
        Ok(())
    }

    /// Makes a new current key, keeping the old ones for opening, and writes the key file
    /// first so that other processes can open what is re-sealed next.
    pub fn rotate(&self) -> ServiceResult<String> {
        let path = self.key_file.as_ref().ok_or_else(|| {
            ServiceError::invalid(
                "BERTH_MASTER_KEY",
                "the key comes from the environment: set BERTH_MASTER_KEY=<new key>,<old key> and restart; \
                 then run rotate-key again to re-seal under the new key",
            )
        })?;
        let mut ring = self.keyring.write().expect("keyring lock");
        let mut next = Keyring::with_previous(ring.current().clone(), ring.previous().to_vec());
        next.rotate(MasterKey::generate());
        let tmp = path.with_extension("key.new");
        let _ = std::fs::remove_file(&tmp);
        write_private(&tmp, &key_file_text(&next), true)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let id = next.current_id();
        *ring = next;
        Ok(id)
    }

    pub fn reseal(&self, aad: &str, sealed: &str) -> ServiceResult<String> {
        self.keyring
            .read()
            .expect("keyring lock")
            .reseal(aad, sealed)
            .map_err(|e| ServiceError::Internal(format!("cannot re-seal a secret: {e}")))
    }
}

/// Syntax of the `${NAME}` references in a value.
pub fn check_references(value: &str) -> Result<(), String> {
    match interpolate::syntax_errors(value).into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Refuses a state of an environment's variables with references to undefined names or
/// cycles (missing values are allowed: they block deploys, not edits).
pub async fn check_environment(tx: &mut Tx, env_id: i64) -> ServiceResult<()> {
    let project_id: i64 = sqlx::query_scalar("SELECT project_id FROM environments WHERE id = $1")
        .bind(env_id)
        .fetch_one(&mut **tx)
        .await?;
    let mut vars = BTreeMap::new();
    for r in sqlx::query(
        "SELECT name, is_secret, value FROM variables WHERE project_id = $1 AND environment_id IN (0, $2) \
         ORDER BY environment_id",
    )
    .bind(project_id)
    .bind(env_id)
    .fetch_all(&mut **tx)
    .await?
    {
        let name: String = r.try_get(0)?;
        let value = if r.try_get::<i64, _>(1)? != 0 {
            VarValue::Secret(String::new())
        } else {
            match r.try_get::<Option<String>, _>(2)? {
                Some(v) => VarValue::Plain(v),
                None => VarValue::Missing,
            }
        };
        vars.insert(name, value);
    }
    if let Err(errors) = interpolate::resolve(&vars) {
        let first = errors.into_iter().find(|e| {
            matches!(
                e,
                ResolveError::MissingReference { .. }
                    | ResolveError::Cycle { .. }
                    | ResolveError::Syntax { .. }
            )
        });
        if let Some(e) = first {
            return Err(ServiceError::invalid("value", e.to_string()));
        }
    }
    Ok(())
}

/// Re-seals every secret (and every kept earlier value) under the current key; returns how
/// many secrets were re-sealed. The read and the re-seal happen in one write transaction, so
/// a secret written meanwhile is not overwritten with its older value.
pub async fn reseal_all(state: &super::AppState) -> ServiceResult<usize> {
    let key_id = state.secrets.current_key_id();
    let mut tx = state.db.begin_write().await?;
    let rows = sqlx::query(
        "SELECT v.id, p.slug, COALESCE(e.slug, ''), v.name, v.sealed FROM variables v \
         JOIN projects p ON p.id = v.project_id LEFT JOIN environments e ON e.id = v.environment_id \
         WHERE v.is_secret = 1 AND v.sealed IS NOT NULL",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut n = 0;
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let project: String = r.try_get(1)?;
        let env: String = r.try_get(2)?;
        let name: String = r.try_get(3)?;
        let sealed: String = r.try_get(4)?;
        let aad = aad(&project, (!env.is_empty()).then_some(env.as_str()), &name);
        let fresh = state.secrets.reseal(&aad, &sealed)?;
        sqlx::query("UPDATE variables SET sealed = $1, key_id = $2 WHERE id = $3")
            .bind(&fresh)
            .bind(&key_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        n += 1;
    }
    let earlier = history::reseal_in(&mut tx, &state.secrets, &key_id).await?;
    super::audit::append(
        &mut tx,
        &super::Ctx::system(),
        super::audit::NewEvent::new("secrets.rotate_key", "instance").summary(
            serde_json::json!({ "key_id": key_id, "resealed": n, "earlier_values": earlier }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}
