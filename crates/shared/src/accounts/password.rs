//! Password hashing with Argon2id (memory-hard, so a stolen database is slow to crack), off
//! the async executor: one hash takes tens of milliseconds of CPU and would otherwise stall
//! every request on that thread.
//!
//! Each hash or verification also takes about 19 MiB of memory, so at most one per core runs at
//! a time, process-wide ([`HASHING_PERMITS`]). A caller that cannot start within
//! [`HASHING_WAIT`] gets [`AccountError::Busy`] (the API answers `503` with `Retry-After`)
//! instead of queueing without bound: a burst of logins costs a bounded amount of memory and
//! CPU whatever its size.
//!
//! The work runs on a fixed set of threads of its own, one per permit, rather than on the
//! runtime's blocking pool: the allocator keeps freed memory per thread (arena), so 19 MiB
//! blocks freed on a changing set of pool threads would pile up to hundreds of megabytes of
//! resident memory even with only two hashes at a time.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use grandma_store::Secret;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::AccountError;

/// The shortest password accepted for any account.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longer inputs are refused: hashing cost grows with the input and nobody types 1 KiB.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The problem with a new password, if any.
pub fn check_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(format!(
            "must have at least {MIN_PASSWORD_CHARS} characters"
        ))
    } else if chars > MAX_PASSWORD_CHARS {
        Err(format!("must have at most {MAX_PASSWORD_CHARS} characters"))
    } else {
        Ok(())
    }
}

/// How long a hash or verification waits for a free core before it is refused as busy.
pub const HASHING_WAIT: Duration = Duration::from_secs(2);
/// What a refused caller is told to wait before trying again, in seconds.
pub const HASHING_RETRY_AFTER_SECS: u64 = 1;

/// Hashes and verifications that may run at once: one per core.
pub fn hashing_permits() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The process-wide bound on concurrent Argon2 work, sized by [`hashing_permits`].
pub static HASHING_PERMITS: OnceLock<Semaphore> = OnceLock::new();

/// A permit to hash, or [`AccountError::Busy`] after [`HASHING_WAIT`].
async fn permit() -> Result<SemaphorePermit<'static>, AccountError> {
    let permits = HASHING_PERMITS.get_or_init(|| Semaphore::new(hashing_permits()));
    permit_within(permits, HASHING_WAIT).await
}

/// A permit of `permits`, or [`AccountError::Busy`] when none frees up within `wait`.
async fn permit_within(
    permits: &Semaphore,
    wait: Duration,
) -> Result<SemaphorePermit<'_>, AccountError> {
    match tokio::time::timeout(wait, permits.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        // The semaphore is never closed; a closed one is as good as busy.
        Ok(Err(_)) | Err(_) => {
            tracing::warn!("password hashing refused: every permit is taken");
            Err(AccountError::Busy {
                retry_after_secs: HASHING_RETRY_AFTER_SECS,
            })
        }
    }
}

/// Work for the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// The queue of the hashing threads, started on first use.
fn hashing_threads() -> &'static Mutex<Sender<Job>> {
    static THREADS: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    THREADS.get_or_init(|| {
        let (sender, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..hashing_permits() {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = match receiver.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A panic is the caller's error (its answer channel is dropped);
                            // the thread goes on with the next job.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Mutex::new(sender)
    })
}

/// Runs `work` on a hashing thread once a permit is free; the permit is held until the work is
/// done, even if the caller stops waiting, so no more than the permits ever run or queue.
async fn on_hashing_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AccountError> {
    let permit = permit().await?;
    let (answer, answered) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _permit = permit;
        let _ = answer.send(work());
    });
    let sent = hashing_threads()
        .lock()
        .map_err(|_| AccountError::Hashing("the hashing threads stopped".into()))?
        .send(job);
    if sent.is_err() {
        return Err(AccountError::Hashing("the hashing threads stopped".into()));
    }
    answered
        .await
        .map_err(|_| AccountError::Hashing("hashing failed unexpectedly".into()))
}

/// A PHC-formatted Argon2id hash of `password` (default parameters, a random 16-byte salt).
pub async fn hash(password: Secret) -> Result<Secret, AccountError> {
    on_hashing_thread(move || {
        hash_now(password.expose().as_bytes())
            .map(Secret)
            .map_err(AccountError::Hashing)
    })
    .await?
}

/// Whether `password` matches `hash`. A malformed stored hash is a mismatch, logged.
pub async fn verify(password: Secret, hash: Secret) -> Result<bool, AccountError> {
    on_hashing_thread(move || {
        verify_now(password.expose().as_bytes(), hash.expose()).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "stored password hash cannot be verified");
            false
        })
    })
    .await
}

/// Spends about the time of a real verification, so that a login for an unknown e-mail takes
/// as long as one with a wrong password and does not reveal which accounts exist. Busy like a
/// real verification when every core is hashing, so that answer does not reveal it either.
pub async fn verify_dummy(password: Secret) -> Result<(), AccountError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    on_hashing_thread(move || {
        let hash = DUMMY.get_or_init(|| hash_now(b"dummy password for timing").unwrap_or_default());
        let _ = verify_now(password.expose().as_bytes(), hash);
    })
    .await
}

thread_local! {
    /// The Argon2 memory of a hashing thread, kept between hashes: allocated once, never
    /// returned to the allocator, so its size is the most hashing ever holds per thread.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2 of `password` and `salt` into `out`, in this thread's [`MEMORY`].
fn argon2_into(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    MEMORY.with_borrow_mut(|blocks| {
        let needed = params.block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::new());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
    })
}

/// The PHC string of a new Argon2id hash of `password`.
fn hash_now(password: &[u8]) -> Result<String, String> {
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt: [u8; 16] = rand::random();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(&argon2, &params, password, &salt, &mut out).map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored`, compared in constant time.
fn verify_now(password: &[u8], stored: &str) -> Result<bool, String> {
    let phc = PasswordHash::new(stored).map_err(|e| e.to_string())?;
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return Err("the stored hash has no salt or no output".into());
    };
    let params = Params::try_from(&phc).map_err(|e| e.to_string())?;
    let algorithm = Algorithm::try_from(phc.algorithm.as_str()).map_err(|e| e.to_string())?;
    let version = match phc.version {
        Some(v) => Version::try_from(v).map_err(|e| e.to_string())?,
        None => Version::default(),
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    argon2_into(&argon2, &params, password, salt.as_ref(), &mut out).map_err(|e| e.to_string())?;
    Ok(Output::new(&out).map_err(|e| e.to_string())? == *expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_standard_phc_strings() {
        use argon2::password_hash::PasswordVerifier;
        let ours = hash_now(b"correct horse").unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        // The argon2 crate's own verifier accepts ours, and ours accepts the crate's.
        Argon2::default()
            .verify_password(b"correct horse", ours.as_str())
            .unwrap();
        use argon2::password_hash::PasswordHasher;
        let theirs = Argon2::default().hash_password(b"battery staple").unwrap();
        assert_eq!(verify_now(b"battery staple", &theirs.to_string()), Ok(true));
        assert_eq!(
            verify_now(b"battery stapler", &theirs.to_string()),
            Ok(false)
        );
    }

    #[tokio::test]
    async fn hashes_verify_and_mismatches_do_not() {
        let h = hash(Secret::from("correct horse")).await.unwrap();
        assert!(h.expose().starts_with("$argon2id$"));
        assert!(
            verify(Secret::from("correct horse"), h.clone())
                .await
                .unwrap()
        );
        assert!(!verify(Secret::from("wrong horse"), h).await.unwrap());
        assert!(
            !verify(Secret::from("x"), Secret::from("not a hash"))
                .await
                .unwrap()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_beyond_the_permits_waits_then_is_busy() {
        let permits = Semaphore::new(2);
        let wait = Duration::from_millis(200);
        let first = permit_within(&permits, wait).await.unwrap();
        let _second = permit_within(&permits, wait).await.unwrap();
        let started = std::time::Instant::now();
        let refused = permit_within(&permits, wait).await;
        assert!(matches!(
            refused,
            Err(AccountError::Busy {
                retry_after_secs: HASHING_RETRY_AFTER_SECS
            })
        ));
        assert!(started.elapsed() >= wait);
        // A permit given back within the wait is taken.
        let waiter = permit_within(&permits, Duration::from_secs(5));
        let (got, ()) = tokio::join!(waiter, async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(first);
        });
        assert!(got.is_ok());
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(check_password("1234567").is_err());
        assert!(check_password("12345678").is_ok());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
    }
}
