//! A deploy's log and steps as they happen: every line is redacted (secret values masked),
//! numbered and written by one background writer in batches, so producers (Docker log
//! streams, the pipeline) never wait on the database.
use super::super::db::Db;
use super::super::now_ms;
use stack::interpolate::Redactor;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

enum Msg {
    Line {
        seq: i64,
        step: String,
        ts: i64,
        stream: &'static str,
        line: String,
    },
    Flush(oneshot::Sender<()>),
}

/// The log of one deploy. Cheap to clone.
#[derive(Clone)]
pub struct DeployLog {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    deploy_id: i64,
    seq: AtomicI64,
    step: Mutex<String>,
    redactor: Mutex<Redactor>,
    tx: mpsc::Sender<Msg>,
    /// Lines dropped because the writer fell behind (reported in the log once it catches up).
    dropped: AtomicI64,
    /// Time spent waiting on others (Docker, containers, jobs, drains, the health gate).
    waited_us: AtomicI64,
}

/// Lines waiting for the writer at most (about 200 batches).
const QUEUE_LINES: usize = 40_000;

/// Longest line kept; longer lines are cut (a runaway job must not fill the database).
const MAX_LINE: usize = 8 * 1024;

impl DeployLog {
    /// Starts the writer. `after_seq`: the last line already stored (resumed deploys).
    pub fn start(db: Db, deploy_id: i64, after_seq: i64) -> DeployLog {
        let (tx, rx) = mpsc::channel(QUEUE_LINES);
        tokio::spawn(writer(db.clone(), deploy_id, rx));
        DeployLog {
            inner: Arc::new(Inner {
                db,
                deploy_id,
                seq: AtomicI64::new(after_seq),
                step: Mutex::new(String::new()),
                redactor: Mutex::new(Redactor::default()),
                tx,
                dropped: AtomicI64::new(0),
                waited_us: AtomicI64::new(0),
            }),
        }
    }

    /// Counts `d` as time spent waiting on the engine, containers or the network rather than
    /// in Berth itself (what the overhead figure at the end of every deploy excludes).
    pub fn waited(&self, d: std::time::Duration) {
        self.inner
            .waited_us
            .fetch_add(d.as_micros() as i64, Ordering::Relaxed);
    }

    /// Times `f` as waiting (see [`DeployLog::waited`]).
    pub async fn wait_on<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        let t0 = std::time::Instant::now();
        let r = f.await;
        self.waited(t0.elapsed());
        r
    }

    pub fn waited_total(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.inner.waited_us.load(Ordering::Relaxed).max(0) as u64)
    }

    pub fn deploy_id(&self) -> i64 {
        self.inner.deploy_id
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// From now on, these secret values are masked too. A deploy's redactor only ever grows:
    /// a rollback that resolves an older release must keep masking the secrets the failing
    /// release added (they may sit in the failure cause).
    pub fn extend_redactor(&self, r: &Redactor) {
        self.inner
            .redactor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(r);
    }

    pub fn redact(&self, text: &str) -> String {
        self.inner
            .redactor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .redact(text)
    }

    fn set_step(&self, step: &str) {
        *self.inner.step.lock().unwrap_or_else(|p| p.into_inner()) = step.to_string();
    }

    fn push(&self, stream: &'static str, text: &str) {
        let step = self
            .inner
            .step
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let lines = {
            let r = self
                .inner
                .redactor
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            redacted_lines(&r, text)
        };
        for line in lines {
            let dropped = self.inner.dropped.swap(0, Ordering::SeqCst);
            if dropped > 0 && !self.send_line(&step, "error", format!("… {dropped} log line(s) dropped: they came faster than they could be stored")) {
                self.inner.dropped.fetch_add(dropped, Ordering::SeqCst);
            }
            if !self.send_line(&step, stream, line) {
                self.inner.dropped.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// Queues one line for the writer; false when the queue is full (the line is dropped
    /// rather than held in memory without bound).
    fn send_line(&self, step: &str, stream: &'static str, line: String) -> bool {
        let seq = self.inner.seq.fetch_add(1, Ordering::SeqCst) + 1;
        match self.inner.tx.try_send(Msg::Line {
            seq,
            step: step.to_string(),
            ts: now_ms(),
            stream,
            line,
        }) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => false,
            Err(mpsc::error::TrySendError::Closed(_)) => true,
        }
    }

    pub fn info(&self, text: impl AsRef<str>) {
        self.push("info", text.as_ref());
    }
    pub fn error(&self, text: impl AsRef<str>) {
        self.push("error", text.as_ref());
    }
    pub fn stdout(&self, text: impl AsRef<str>) {
        self.push("stdout", text.as_ref());
    }
    pub fn stderr(&self, text: impl AsRef<str>) {
        self.push("stderr", text.as_ref());
    }

    /// Waits until every line pushed so far is stored.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Records the start of a step; its lines are tagged with its name.
    pub async fn step_start(&self, position: i64, name: &str) {
        self.set_step(name);
        let now = now_ms();
        let r = sqlx::query(
            "INSERT INTO deploy_steps (deploy_id, position, name, status, started_at) VALUES ($1, $2, $3, 'running', $4)",
        )
        .bind(self.inner.deploy_id)
        .bind(position)
        .bind(name)
        .bind(now)
        .execute(&self.inner.db.pool)
        .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, deploy = self.inner.deploy_id, "could not record a step");
        }
        self.info(format!("── {name}"));
    }

    /// Records the end of a step: `ok`, `failed`, `skipped` or `cancelled`.
    pub async fn step_end(&self, position: i64, status: &str, detail: &str) {
        let detail = self.redact(detail);
        let r = sqlx::query(
            "UPDATE deploy_steps SET status = $1, detail = $2, finished_at = $3 WHERE deploy_id = $4 AND position = $5",
        )
        .bind(status)
        .bind(&detail)
        .bind(now_ms())
        .bind(self.inner.deploy_id)
        .bind(position)
        .execute(&self.inner.db.pool)
        .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, deploy = self.inner.deploy_id, "could not record a step");
        }
        self.flush().await;
    }
}

async fn writer(db: Db, deploy_id: i64, mut rx: mpsc::Receiver<Msg>) {
    let mut batch = Vec::new();
    let mut waiters = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Line {
                    seq,
                    step,
                    ts,
                    stream,
                    line,
                } => batch.push((seq, step, ts, stream, line)),
                Msg::Flush(w) => waiters.push(w),
            }
            if batch.len() < 200 {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            if let Err(e) = insert(&db, deploy_id, &batch).await {
                tracing::warn!(error = %e, deploy = deploy_id, "could not store deploy log lines");
            }
            batch.clear();
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

async fn insert(
    db: &Db,
    deploy_id: i64,
    batch: &[(i64, String, i64, &'static str, String)],
) -> Result<(), sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    for (seq, step, ts, stream, line) in batch {
        sqlx::query(
            "INSERT INTO deploy_logs (deploy_id, seq, step, ts, stream, line) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(deploy_id)
        .bind(seq)
        .bind(step)
        .bind(ts)
        .bind(*stream)
        .bind(line)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Masks the values the secrets of this environment's scope (project and environment) had
/// before they were last overwritten or deleted: containers started before a rotation still
/// hold them.
pub async fn earlier_secrets(
    state: &super::super::AppState,
    env: &super::plan::EnvInfo,
) -> super::super::error::ServiceResult<Redactor> {
    let values = super::super::secrets::history::earlier_values(
        &state.db,
        &state.secrets,
        env.project_id,
        &env.project,
        env.id,
        &env.slug,
    )
    .await?;
    Ok(stack::interpolate::redactor(values))
}

/// `text` redacted whole (a multi-line secret inside it is masked whole; its lines are also
/// needles, for texts that arrive already split), then split into lines, each cut to
/// [`MAX_LINE`].
fn redacted_lines(r: &Redactor, text: &str) -> Vec<String> {
    r.redact(text)
        .lines()
        .map(|raw| {
            let mut line = raw.trim_end_matches('\r').to_string();
            if line.len() > MAX_LINE {
                let mut cut = MAX_LINE;
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                line.truncate(cut);
                line.push_str(" …(cut)");
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stack::interpolate::{redactor, MASK};

    async fn log() -> (DeployLog, std::path::PathBuf) {
        let path =
            std::env::temp_dir().join(format!("berth-log-{}-{}.db", std::process::id(), now_ms()));
        let db = Db::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        (DeployLog::start(db, 1, 0), path)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_redactor_only_grows() {
        let (log, path) = log().await;
        log.extend_redactor(&redactor(vec!["new-secret-of-the-failing-release".into()]));
        // A rollback resolves the old release: its secrets are added, none removed.
        log.extend_redactor(&redactor(vec!["old-secret".into()]));
        assert_eq!(
            log.redact("new-secret-of-the-failing-release old-secret"),
            format!("{MASK} {MASK}")
        );
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_multi_line_secret_in_one_push_is_masked_whole_and_by_line() {
        let key = "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQAB\n-----END KEY-----";
        let r = redactor(vec![key.into()]);
        assert_eq!(
            redacted_lines(&r, &format!("before {key} after\nnext")),
            vec![format!("before {MASK} after"), "next".to_string()]
        );
        let crlf = redacted_lines(&r, &key.replace('\n', "\r\n"));
        assert!(crlf.iter().all(|l| l == MASK), "{crlf:?}");
    }
}
