//! Argon2id password hashing on a small pool of threads of its own: each hash costs ~19 MiB
//! and tens of milliseconds of CPU, so a burst of logins queues instead of occupying the
//! runtime. Each of those threads hashes in one buffer it keeps, allocated once: letting the
//! crate allocate 19 MiB per hash left the allocator holding ~330 MiB after 300 registrations
//! (with tokio's blocking pool, 675 MiB).

use std::{
    cell::RefCell,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
};

use anyhow::{Context, anyhow};
use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash, Salt},
};
use secrecy::{ExposeSecret, SecretString};

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
    /// Verifications this hasher ran (also counted process-wide as
    /// `auth_password_verifications_total`): a login refused by its guessing limit runs none.
    verifications: Arc<AtomicU64>,
}

/// A hash to verify against when the email is unknown, so that answer takes as long as a wrong
/// password and timing does not reveal which emails exist.
static DUMMY_HASH: OnceLock<String> = OnceLock::new();

impl PasswordHasher {
    /// Starts `threads` hashing threads; they end when the last handle is dropped.
    pub fn new(threads: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            let _ = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
        }
        Self {
            jobs,
            verifications: Arc::default(),
        }
    }

    /// How many password verifications this hasher has run.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Runs `work` on a hashing thread.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(work());
            }))
            .map_err(|_| anyhow::anyhow!("the hashing threads are gone"))?;
        result.await.context("hashing job failed")
    }

    pub async fn hash(&self, password: SecretString) -> anyhow::Result<String> {
        self.run(move || hash_blocking(password.expose_secret()))
            .await?
    }

    /// Verifies `password` against `stored`; with no stored hash it spends the same effort on a
    /// dummy hash and answers `false`.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> anyhow::Result<bool> {
        let verifications = self.verifications.clone();
        self.run(move || {
            verifications.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("auth_password_verifications_total").increment(1);
            let known = stored.is_some();
            let phc = match stored {
                Some(phc) => phc,
                None => dummy_hash()?.clone(),
            };
            let matches = verify_blocking(password.expose_secret(), &phc)?;
            Ok(known && matches)
        })
        .await?
    }
}

thread_local! {
    /// This thread's Argon2 memory, sized for the default cost and kept.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// The most memory a stored hash may ask for (KiB): 4 × today's default. A stored hash beyond
/// it is refused rather than allowed to exhaust memory.
const MAX_M_COST: u32 = 4 * Params::DEFAULT_M_COST;
const MAX_T_COST: u32 = 16;
const MAX_P_COST: u32 = 8;

fn with_memory<T>(params: &Params, work: impl FnOnce(&mut [Block]) -> T) -> anyhow::Result<T> {
    let blocks = params.block_count();
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory
                .try_reserve_exact(blocks - memory.len())
                .map_err(|_| anyhow!("no memory for an Argon2 hash of {blocks} blocks"))?;
            memory.resize(blocks, Block::default());
        }
        let result = work(&mut memory[..blocks]);
        // A hash of a larger cost than today's (an old or imported one) does not keep its
        // memory: only the default size stays allocated.
        let default = Params::default().block_count();
        if memory.len() > default {
            memory.truncate(default);
            memory.shrink_to_fit();
        }
        Ok(result)
    })
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let argon2 = Argon2::default();
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow!("no randomness for a salt: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_memory(argon2.params(), |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
    })?
    .map_err(|e| anyhow!("hashing failed: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(|e| anyhow!("params: {e}"))?,
        salt: Some(Salt::new(&salt).map_err(|e| anyhow!("salt: {e}"))?),
        hash: Some(Output::new(&out).map_err(|e| anyhow!("output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// Recomputes the hash with the stored hash's own algorithm, version, cost and salt, and
/// compares in constant time.
fn verify_blocking(password: &str, phc: &str) -> anyhow::Result<bool> {
    let stored = PasswordHash::new(phc).map_err(|e| anyhow!("stored hash: {e}"))?;
    let algorithm = Algorithm::new(stored.algorithm.as_str())
        .map_err(|e| anyhow!("stored hash algorithm: {e}"))?;
    let version = match stored.version {
        Some(version) => {
            Version::try_from(version).map_err(|e| anyhow!("stored hash version: {e}"))?
        }
        None => Version::default(),
    };
    let params = Params::try_from(&stored).map_err(|e| anyhow!("stored hash params: {e}"))?;
    if params.m_cost() > MAX_M_COST || params.t_cost() > MAX_T_COST || params.p_cost() > MAX_P_COST
    {
        return Err(anyhow!(
            "stored hash asks for more than this service allows"
        ));
    }
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return Err(anyhow!("stored hash has no salt or output"));
    };
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params);
    with_memory(argon2.params(), |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, memory)
    })?
    .map_err(|e| anyhow!("hashing failed: {e}"))?;
    Ok(Output::new(&out).is_ok_and(|computed| computed == *expected))
}

fn dummy_hash() -> anyhow::Result<&'static String> {
    if let Some(hash) = DUMMY_HASH.get() {
        return Ok(hash);
    }
    let hash = hash_blocking("not-a-real-password-only-for-timing")?;
    Ok(DUMMY_HASH.get_or_init(|| hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_argon2id() {
        let hasher = PasswordHasher::new(2);
        let hash = hasher.hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(
            hasher
                .verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
    }

    #[test]
    fn hashes_are_standard_phc_strings_both_ways() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        // A hash made by the argon2 crate's own API (as stored before) verifies here...
        let theirs = Argon2::default()
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
        assert!(verify_blocking("correct horse", &theirs).unwrap());
        assert!(!verify_blocking("correct horsf", &theirs).unwrap());
        // ...and one made here verifies there, with the default cost.
        let ours = hash_blocking("correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        let params = Params::try_from(&parsed).unwrap();
        let default = Params::default();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (default.m_cost(), default.t_cost(), default.p_cost())
        );
        // A stored hash of another cost is checked with that cost.
        let cheap = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw")
        .unwrap()
        .to_string();
        assert!(verify_blocking("pw", &cheap).unwrap());
        assert!(!verify_blocking("px", &cheap).unwrap());
    }

    #[test]
    fn a_stored_hash_asking_for_too_much_memory_is_refused_not_attempted() {
        let stored = "$argon2id$v=19$m=4294967295,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                      q5hJ2m4cDbBq8QoYbyH7g3hEKSpqu6ruaSvHDJ1whc4";
        let error = verify_blocking("pw", stored).unwrap_err();
        assert!(error.to_string().contains("more than"), "{error}");
    }
}
