//! The database handle: one `sqlx::Any` pool over SQLite or PostgreSQL, portable SQL,
//! and the migrations of each dialect.
use sqlx::any::{AnyPoolOptions, AnyQueryResult};
use sqlx::{AnyPool, Executor};
use std::time::Duration;

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub dialect: Dialect,
}

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../../../migrations/sqlite/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "stack",
        sql: include_str!("../../../migrations/sqlite/0002_stack.sql"),
    },
    Migration {
        version: 3,
        name: "audit_rowid",
        sql: include_str!("../../../migrations/sqlite/0003_audit_rowid.sql"),
    },
    Migration {
        version: 4,
        name: "deploys",
        sql: include_str!("../../../migrations/sqlite/0004_deploys.sql"),
    },
    Migration {
        version: 5,
        name: "webhooks",
        sql: include_str!("../../../migrations/sqlite/0005_webhooks.sql"),
    },
];

const POSTGRES_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../../../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "stack",
        sql: include_str!("../../../migrations/postgres/0002_stack.sql"),
    },
    Migration {
        version: 3,
        name: "audit_rowid",
        sql: include_str!("../../../migrations/postgres/0003_audit_rowid.sql"),
    },
    Migration {
        version: 4,
        name: "deploys",
        sql: include_str!("../../../migrations/postgres/0004_deploys.sql"),
    },
    Migration {
        version: 5,
        name: "webhooks",
        sql: include_str!("../../../migrations/postgres/0005_webhooks.sql"),
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
        Ok(Db { pool, dialect })
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
        let mut tx = self.pool.begin().await?;
        let _: AnyQueryResult =
            sqlx::query("UPDATE audit_head SET locked = locked + 1 WHERE id = 1")
                .execute(&mut *tx)
                .await?;
        Ok(tx)
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
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
