//! The database handle: one `sqlx::Any` pool over SQLite or PostgreSQL, portable SQL,
//! and the migrations of each dialect.
use sqlx::any::{AnyPoolOptions, AnyQueryResult};
use sqlx::{AnyPool, Executor};
use std::time::Duration;

/// A writing transaction (from [`Db::begin_write`]); use it as a connection (`&mut *tx`).
/// On SQLite it also holds Berth's in-process write gate until it is committed or dropped,
/// so that writers queue in order instead of polling SQLite's lock.
pub struct Tx {
    inner: sqlx::Transaction<'static, sqlx::Any>,
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// Request memos that must forget their answers once this transaction commits.
    forget: Vec<super::memo::Memo>,
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.inner
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.inner.commit().await?;
        for memo in &self.forget {
            memo.forget();
        }
        Ok(())
    }

    /// Once this transaction commits, `memo` (a request's) forgets what it remembered: its
    /// answers may describe what this transaction changed.
    pub fn forget_on_commit(&mut self, memo: &super::memo::Memo) {
        self.forget.push(memo.clone());
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.inner.rollback().await
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub dialect: Dialect,
    /// SQLite has one writer at a time: writers of this process wait here, in order.
    write_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// This process's recent answers about sessions and users (see [`super::auth_cache`]).
    pub auth: std::sync::Arc<AuthRows>,
}

/// The session records and user rows [`Db::auth`] remembers.
pub type AuthRows =
    super::auth_cache::AuthCache<tower_sessions::session::Record, super::users::UserRecord>;

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../../migrations/sqlite/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "stack",
        sql: include_str!("../../migrations/sqlite/0002_stack.sql"),
    },
    Migration {
        version: 3,
        name: "audit_rowid",
        sql: include_str!("../../migrations/sqlite/0003_audit_rowid.sql"),
    },
    Migration {
        version: 4,
        name: "deploys",
        sql: include_str!("../../migrations/sqlite/0004_deploys.sql"),
    },
    Migration {
        version: 5,
        name: "webhooks",
        sql: include_str!("../../migrations/sqlite/0005_webhooks.sql"),
    },
    Migration {
        version: 6,
        name: "secret_history",
        sql: include_str!("../../migrations/sqlite/0006_secret_history.sql"),
    },
    Migration {
        version: 7,
        name: "webhook_refusals",
        sql: include_str!("../../migrations/sqlite/0007_webhook_refusals.sql"),
    },
    Migration {
        version: 8,
        name: "docker_insecure",
        sql: include_str!("../../migrations/sqlite/0008_docker_insecure.sql"),
    },
    Migration {
        version: 9,
        name: "host_paths",
        sql: include_str!("../../migrations/sqlite/0009_host_paths.sql"),
    },
    Migration {
        version: 10,
        name: "metrics",
        sql: include_str!("../../migrations/sqlite/0010_metrics.sql"),
    },
    Migration {
        version: 11,
        name: "metrics_remote_read",
        sql: include_str!("../../migrations/sqlite/0011_metrics_remote_read.sql"),
    },
];

const POSTGRES_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "stack",
        sql: include_str!("../../migrations/postgres/0002_stack.sql"),
    },
    Migration {
        version: 3,
        name: "audit_rowid",
        sql: include_str!("../../migrations/postgres/0003_audit_rowid.sql"),
    },
    Migration {
        version: 4,
        name: "deploys",
        sql: include_str!("../../migrations/postgres/0004_deploys.sql"),
    },
    Migration {
        version: 5,
        name: "webhooks",
        sql: include_str!("../../migrations/postgres/0005_webhooks.sql"),
    },
    Migration {
        version: 6,
        name: "secret_history",
        sql: include_str!("../../migrations/postgres/0006_secret_history.sql"),
    },
    Migration {
        version: 7,
        name: "webhook_refusals",
        sql: include_str!("../../migrations/postgres/0007_webhook_refusals.sql"),
    },
    Migration {
        version: 8,
        name: "docker_insecure",
        sql: include_str!("../../migrations/postgres/0008_docker_insecure.sql"),
    },
    Migration {
        version: 9,
        name: "host_paths",
        sql: include_str!("../../migrations/postgres/0009_host_paths.sql"),
    },
    Migration {
        version: 10,
        name: "metrics",
        sql: include_str!("../../migrations/postgres/0010_metrics.sql"),
    },
    Migration {
        version: 11,
        name: "metrics_remote_read",
        sql: include_str!("../../migrations/postgres/0011_metrics_remote_read.sql"),
    },
];

impl Db {
    /// Connects to `url` (`sqlite://…` or `postgres://…`).
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        };
        let mut opts = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        opts = match dialect {
            Dialect::Sqlite => opts.max_connections(8).after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; \
                             PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;",
                    )
                    .await?;
                    Ok(())
                })
            }),
            Dialect::Postgres => opts.max_connections(16),
        };
        let pool = opts.connect(url).await?;
        Ok(Db {
            pool,
            dialect,
            write_gate: Default::default(),
            auth: Default::default(),
        })
    }

    /// Applies the migrations not yet applied, each in its own transaction.
    pub fn migrate(
        &self,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Vec<i64>, sqlx::Error>> + Send + '_>,
    > {
        Box::pin(self.migrate_inner())
    }

    async fn migrate_inner(&self) -> Result<Vec<i64>, sqlx::Error> {
        let migrations = match self.dialect {
            Dialect::Sqlite => SQLITE_MIGRATIONS,
            Dialect::Postgres => POSTGRES_MIGRATIONS,
        };
        let mut conn = self.pool.acquire().await?;
        if self.dialect == Dialect::Postgres {
            // Several replicas may start at once; only one migrates.
            sqlx::query("SELECT pg_advisory_lock(7215829)")
                .execute(&mut *conn)
                .await?;
        }
        let result = apply(&mut conn, migrations).await;
        if self.dialect == Dialect::Postgres {
            let _ = sqlx::query("SELECT pg_advisory_unlock(7215829)")
                .execute(&mut *conn)
                .await;
        }
        result
    }

    /// Begins a transaction that will write. Its first statement takes the write lock
    /// (SQLite: the database; PostgreSQL: the audit head row), so concurrent writers queue
    /// instead of failing, and the audit chain stays linear across replicas.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        if self.dialect == Dialect::Sqlite {
            // Writers of this process queue in order on the gate. Other writers (another
            // process, the deploy log's own batches) may still hold SQLite's lock: SQLite's
            // busy handler would sleep in growing steps (up to 100 ms each), so wait for
            // those in short async steps instead.
            let gate =
                tokio::time::timeout(SQLITE_WRITE_WAIT, self.write_gate.clone().lock_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?;
            let mut tx = Tx {
                inner: self.pool.begin().await?,
                _gate: Some(gate),
                forget: Vec::new(),
            };
            tx.execute("PRAGMA busy_timeout = 0").await?;
            let taken = take_write_lock(&mut tx).await;
            tx.execute("PRAGMA busy_timeout = 10000").await?;
            taken?;
            return Ok(tx);
        }
        let mut tx = Tx {
            inner: self.pool.begin().await?,
            _gate: None,
            forget: Vec::new(),
        };
        let _: AnyQueryResult = sqlx::query(WRITE_LOCK).execute(&mut *tx).await?;
        Ok(tx)
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// The first statement of every writing transaction: it takes the write lock.
const WRITE_LOCK: &str = "UPDATE audit_head SET locked = locked + 1 WHERE id = 1";
/// How long a SQLite writer waits for the others before giving up (as `busy_timeout`).
const SQLITE_WRITE_WAIT: Duration = Duration::from_secs(10);

fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            // SQLITE_BUSY (5) and its extended codes (e.g. 261, 517), or the message.
            d.code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| c & 0xff == 5)
                || d.message().contains("database is locked")
        }
        _ => false,
    }
}

/// Takes SQLite's write lock, retrying every few milliseconds while another writer holds it.
async fn take_write_lock(tx: &mut Tx) -> Result<(), sqlx::Error> {
    let deadline = std::time::Instant::now() + SQLITE_WRITE_WAIT;
    let mut wait = Duration::from_millis(1);
    loop {
        match sqlx::query(WRITE_LOCK).execute(&mut **tx).await {
            Ok(_) => return Ok(()),
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_millis(4));
            }
            Err(e) => return Err(e),
        }
    }
}

async fn apply(
    conn: &mut sqlx::AnyConnection,
    migrations: &[Migration],
) -> Result<Vec<i64>, sqlx::Error> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS berth_migrations (version BIGINT PRIMARY KEY, \
         name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let done: Vec<i64> = sqlx::query_scalar("SELECT version FROM berth_migrations")
        .fetch_all(&mut *conn)
        .await?;
    let mut applied = Vec::new();
    for m in migrations.iter().filter(|m| !done.contains(&m.version)) {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        tx.execute(m.sql).await?;
        sqlx::query("INSERT INTO berth_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(super::now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        applied.push(m.version);
    }
    Ok(applied)
}
