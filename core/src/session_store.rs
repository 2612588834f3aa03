//! tower-sessions storage in Berth's own database, keyed so that all of a user's sessions can
//! be ended at once (logout everywhere, password change, disabling a user).
use super::db::Db;
use async_trait::async_trait;
use sqlx::Row;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result as StoreResult};
use tower_sessions::SessionStore;

/// Session data key holding the signed-in user's id.
pub const USER_ID: &str = "uid";
/// Session data key holding when the user signed in (Unix ms), for the absolute timeout.
pub const SIGNED_IN_AT: &str = "signed_in_at";
/// Session data key holding when the session was last refreshed (Unix ms).
pub const SEEN_AT: &str = "seen_at";

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        DbSessionStore { db }
    }

    /// Removes expired sessions; run periodically.
    pub async fn delete_expired(&self) -> Result<u64, sqlx::Error> {
        let now = chrono::Utc::now().timestamp_millis();
        let n = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if n > 0 {
            self.db.auth.changed();
        }
        Ok(n)
    }

    async fn load_row(&self, id: &Id) -> StoreResult<Option<Record>> {
        let now = chrono::Utc::now().timestamp_millis();
        let row =
            sqlx::query("SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2")
                .bind(id.to_string())
                .bind(now)
                .fetch_optional(&self.db.pool)
                .await
                .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let data: String = row.try_get(0).map_err(backend)?;
        let expires: i64 = row.try_get(1).map_err(backend)?;
        let data = serde_json::from_str(&data).map_err(|e| Error::Decode(e.to_string()))?;
        let expiry_date =
            time::OffsetDateTime::from_unix_timestamp_nanos(expires as i128 * 1_000_000)
                .map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }
}

fn backend(e: sqlx::Error) -> Error {
    Error::Backend(e.to_string())
}

fn expires_ms(r: &Record) -> i64 {
    (r.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64
}

fn user_id(r: &Record) -> Option<i64> {
    r.data.get(USER_ID).and_then(|v| v.as_i64())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> StoreResult<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        loop {
            let res = sqlx::query(
                "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(record.id.to_string())
            .bind(user_id(record))
            .bind(&data)
            .bind(expires_ms(record))
            .execute(&self.db.pool)
            .await;
            match res {
                Ok(_) => {
                    self.db.auth.changed();
                    return Ok(());
                }
                Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                    record.id = Id::default();
                }
                Err(e) => return Err(backend(e)),
            }
        }
    }

    /// Updates a stored session and never inserts one: tower-sessions calls `create` for new
    /// sessions, so a missing row means the session was ended and must not come back.
    async fn save(&self, record: &Record) -> StoreResult<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        let updated = sqlx::query(
            "UPDATE sessions SET user_id = $2, data = $3, expires_at = $4 WHERE id = $1",
        )
        .bind(record.id.to_string())
        .bind(user_id(record))
        .bind(&data)
        .bind(expires_ms(record))
        .execute(&self.db.pool)
        .await
        .map_err(backend)?
        .rows_affected();
        self.db.auth.changed();
        if updated == 0 {
            // Ended (logged out, expired, cycled) while this request was in flight: it stays
            // ended. New sessions come through `create`.
            tracing::debug!("session save found no row; not recreating it");
        }
        Ok(())
    }

    /// Answered from this process's recent reads when no session or user was written since
    /// ([`super::auth_cache`]); an expired record is never answered.
    async fn load(&self, id: &Id) -> StoreResult<Option<Record>> {
        let key = id.to_string();
        if let Some(r) = self.db.auth.session(&key) {
            if r.expiry_date > time::OffsetDateTime::now_utc() {
                return Ok(Some(r));
            }
        }
        let generation = self.db.auth.generation();
        let record = self.load_row(id).await?;
        if let Some(r) = &record {
            self.db.auth.put_session(generation, &key, r.clone());
        }
        Ok(record)
    }

    async fn delete(&self, id: &Id) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.db.pool)
            .await
            .map_err(backend)?;
        self.db.auth.changed();
        Ok(())
    }
}
