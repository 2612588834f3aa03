//! Password hashing: argon2id with OWASP parameters, always off the async threads, and only
//! a few at a time (each takes 19 MiB, so a burst of logins cannot exhaust memory or cores).
use super::error::{ServiceError, ServiceResult};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::{Arc, LazyLock, OnceLock};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many hashes may run at once: one per core, at least 2 and at most 4 (76 MiB).
fn slots() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 4)
}

static SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(slots())));

type Job = Box<dyn FnOnce() + Send>;

/// How long a hashing thread keeps its 19 MiB after its last hash: a burst of logins reuses
/// it, an idle server gives it back.
const KEEP_MEMORY: std::time::Duration = std::time::Duration::from_secs(2);

/// The hashing threads: one per slot, for the life of the process. Each keeps its argon2
/// memory between hashes, so a fixed set of threads bounds that memory; on tokio's blocking
/// pool every new thread would keep its own (a 30-hash burst was seen at 579 MiB). A thread
/// that has had nothing to hash for [`KEEP_MEMORY`] frees it.
static WORKERS: LazyLock<std::sync::mpsc::Sender<Job>> = LazyLock::new(|| {
    use std::sync::mpsc::RecvTimeoutError;
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    for i in 0..slots() {
        let rx = rx.clone();
        let _ = std::thread::Builder::new()
            .name(format!("berth-hash-{i}"))
            .spawn(move || loop {
                let job = match rx.lock() {
                    Ok(r) => r.recv_timeout(KEEP_MEMORY),
                    Err(_) => return,
                };
                match job {
                    // A panic is the job's failure (its caller sees it), not the thread's.
                    Ok(job) => {
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                    Err(RecvTimeoutError::Timeout) => release_memory(),
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            });
    }
    tx
});

/// Runs `work` on a hashing thread once a hash slot is free. The slot goes with the work,
/// so a caller that gives up early does not let more hashes run than there are slots.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ServiceResult<T> {
    let slot = SLOTS
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ServiceError::Internal(format!("hash slots: {e}")))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    WORKERS
        .send(Box::new(move || {
            let _slot = slot;
            let _ = tx.send(work());
        }))
        .map_err(|_| ServiceError::Internal("the hashing threads have stopped".into()))?;
    rx.await
        .map_err(|_| ServiceError::Internal("hash task failed".into()))
}

/// Takes every hash slot until the guard is dropped, so that a test can show that some path
/// refuses a request without hashing (it would wait for a slot otherwise).
#[doc(hidden)]
pub async fn hold_every_slot() -> OwnedSemaphorePermit {
    SLOTS
        .clone()
        .acquire_many_owned(slots() as u32)
        .await
        .expect("hash slots are never closed")
}

fn argon() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, owasp())
}

thread_local! {
    /// The argon2 working memory of this hashing thread, allocated once and reused: glibc
    /// keeps a freed 19 MiB block in the heap rather than returning it, and a fresh one per
    /// hash grew a burst of 30 logins to 400+ MiB.
    static MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Wipes and frees this thread's argon2 memory (derived from the last password hashed; it
/// goes back to the allocator zeroed). The next hash allocates it again.
fn release_memory() {
    MEMORY.with(|m| {
        if let Ok(mut blocks) = m.try_borrow_mut() {
            blocks.fill(argon2::Block::default());
            *blocks = Vec::new();
        }
    });
}

/// Bytes of argon2 memory this thread holds.
#[cfg(test)]
fn memory_held() -> usize {
    MEMORY.with(|m| m.borrow().capacity() * std::mem::size_of::<argon2::Block>())
}

/// `argon.hash_password` with this thread's reusable memory.
fn hash_with<'a>(
    argon: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: argon2::password_hash::Salt<'a>,
) -> argon2::password_hash::Result<PasswordHash<'a>> {
    let mut salt_arr = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_arr)?;
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let output = MEMORY.with(|m| {
        let mut blocks = m.borrow_mut();
        blocks.resize(params.block_count(), argon2::Block::default());
        argon2::password_hash::Output::init_with(output_len, |out| {
            Ok(argon.hash_password_into_with_memory(password, salt_bytes, out, &mut blocks[..])?)
        })
    })?;
    Ok(PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(params)?,
        salt: Some(salt),
        hash: Some(output),
    })
}

fn owasp() -> Params {
    // OWASP: m = 19 MiB, t = 2, p = 1.
    Params::new(19 * 1024, 2, 1, None).expect("valid argon2 params")
}

pub fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hash_with(&argon(), &owasp(), password.as_bytes(), salt.as_salt())
        .expect("argon2 hashing cannot fail with valid params")
        .to_string()
}

pub fn verify_blocking(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    if parsed.algorithm != argon2::ARGON2ID_IDENT {
        return false;
    }
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    // `Output` compares in constant time.
    hash_with(&argon, &params, password.as_bytes(), salt)
        .is_ok_and(|h| h.hash.as_ref() == Some(&expected))
}

/// A real hash of a random password, checked for unknown users so that the time a login
/// takes does not tell whether the account exists.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("berth-dummy-password-never-matches"))
}

pub async fn hash(password: String) -> ServiceResult<String> {
    bounded(move || hash_blocking(&password)).await
}

/// Verifies against `phc`, or against the dummy hash when there is no user.
pub async fn verify(password: String, phc: Option<String>) -> ServiceResult<bool> {
    bounded(move || match phc {
        Some(phc) => verify_blocking(&password, &phc),
        None => {
            let _ = verify_blocking(&password, dummy_hash());
            false
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_roundtrip_uses_argon2id_owasp_params() {
        let h = hash_blocking("correct horse battery");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_blocking("correct horse battery", &h));
        assert!(!verify_blocking("wrong horse battery", &h));
        assert!(!verify_blocking("x", "not-a-hash"));
        // Interchangeable with the crate's own hashing (stored hashes keep verifying).
        use argon2::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::generate(&mut OsRng);
        let theirs = argon().hash_password(b"pw-123", &salt).unwrap().to_string();
        assert!(verify_blocking("pw-123", &theirs));
        assert!(!verify_blocking("pw-124", &theirs));
        let ours = PasswordHash::new(&h).unwrap();
        assert!(argon()
            .verify_password(b"correct horse battery", &ours)
            .is_ok());
    }

    #[test]
    fn a_hashing_thread_can_give_its_memory_back() {
        std::thread::spawn(|| {
            assert_eq!(memory_held(), 0);
            hash_blocking("correct horse battery");
            assert!(memory_held() >= 19 * 1024 * 1024, "{}", memory_held());
            release_memory();
            assert_eq!(memory_held(), 0);
            // And hashes again as before.
            let h = hash_blocking("again");
            assert!(verify_blocking("again", &h));
        })
        .join()
        .unwrap();
    }

    #[tokio::test]
    async fn an_idle_hashing_thread_frees_its_memory() {
        // Every hashing thread at once (a barrier keeps each on its own), after they idled.
        let held = || async {
            let n = slots();
            let barrier = Arc::new(std::sync::Barrier::new(n));
            let jobs = (0..n).map(|_| {
                let b = barrier.clone();
                bounded(move || {
                    b.wait();
                    memory_held()
                })
            });
            futures_util::future::join_all(jobs)
                .await
                .into_iter()
                .map(|r| r.unwrap())
                .sum::<usize>()
        };
        hash("correct horse battery".into()).await.unwrap();
        assert!(held().await >= 19 * 1024 * 1024);
        let deadline = std::time::Instant::now() + KEEP_MEMORY * 10;
        loop {
            tokio::time::sleep(KEEP_MEMORY).await;
            if held().await == 0 {
                break;
            }
            // Another test of this binary may have hashed meanwhile; it idles too.
            assert!(
                std::time::Instant::now() < deadline,
                "the hashing threads kept their memory"
            );
        }
    }
}
