//! argon2id hashing and verification of passwords (the e-CPS's, the portals' local
//! accounts'), bounded so that a burst of logins queues instead of exhausting memory.
//!
//! Each hash costs `m` KiB of memory and a CPU for tens of milliseconds, so hashes run on a
//! few dedicated threads (one per CPU by default), never on the async workers: a burst of
//! logins waits in their queue, and at most that many hashes (19 MiB each with the OWASP
//! parameters) exist at once.
//!
//! - Each thread keeps its one block array and reuses it: letting argon2 allocate 19 MiB
//!   per hash left freed copies in the allocator's per-thread arenas, which grew a server
//!   to 470 MB after a few dozen logins, and paid the page faults of a fresh allocation on
//!   every hash (half the time of a hash on the benchmark machine).
//! - A thread that finishes a hash takes the next one from the queue itself: with a
//!   semaphore and `spawn_blocking`, each hand-over waited for an async worker to be
//!   scheduled, which cost up to half the throughput on a busy machine.
//!
//! Must never log a password or a hash, never run argon2 on an async worker thread, and
//! never let configuration choose the cost: production uses [`Argon2Policy::owasp`]; the
//! cheap [`Argon2Policy::for_tests`] exists only in test builds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::rngs::OsRng;

use crate::PasswordError;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Policy {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Parallelism (lanes).
    pub p: u32,
}

impl Argon2Policy {
    /// OWASP's recommended argon2id parameters: m = 19 MiB, t = 2, p = 1.
    pub const fn owasp() -> Argon2Policy {
        Argon2Policy {
            m_kib: 19 * 1024,
            t: 2,
            p: 1,
        }
    }

    /// A cheap cost (64 KiB, t = 1) so tests run fast. Absent from non-test builds.
    #[cfg(any(test, feature = "testkit"))]
    pub const fn for_tests() -> Argon2Policy {
        Argon2Policy {
            m_kib: 64,
            t: 1,
            p: 1,
        }
    }

    fn params(&self) -> Result<Params, PasswordError> {
        Params::new(self.m_kib, self.t, self.p, None)
            .map_err(|e| PasswordError::Hashing(e.to_string()))
    }
}

impl Default for Argon2Policy {
    fn default() -> Self {
        Argon2Policy::owasp()
    }
}

/// Hashes and verifies passwords on dedicated threads, at most one hash per thread at a
/// time. Cheap to clone; clones share the threads. The threads start with the first hash
/// and stop when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    policy: Argon2Policy,
    pool: Arc<Pool>,
}

/// One hash to compute, given the thread's block array.
type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

/// The hashing threads and their queue.
struct Pool {
    threads: usize,
    /// Blocks of one array: the policy's memory cost.
    blocks: usize,
    /// The queue, created with the threads by the first hash.
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    /// Threads started and block arrays allocated so far (each thread allocates one).
    started: AtomicUsize,
    arrays: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("threads", &self.threads)
            .field("blocks", &self.blocks)
            .finish_non_exhaustive()
    }
}

/// A queue or a list whose content stays valid whatever happened to another holder (jobs
/// are whole values): recover from poisoning instead of propagating it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Pool {
    fn submit(&self, job: Job) -> Result<(), PasswordError> {
        let mut queue = lock(&self.queue);
        if queue.is_none() {
            *queue = Some(self.start()?);
        }
        match queue.as_ref().map(|q| q.send(job)) {
            Some(Ok(())) => Ok(()),
            // Every thread is gone (cannot happen short of a bug: jobs' panics are caught).
            _ => {
                *queue = None;
                Err(PasswordError::Hashing(
                    "les fils de calcul des mots de passe sont arrêtés".into(),
                ))
            }
        }
    }

    fn start(&self) -> Result<mpsc::Sender<Job>, PasswordError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..self.threads {
            let (rx, blocks) = (rx.clone(), self.blocks);
            let arrays = self.arrays.clone();
            std::thread::Builder::new()
                .name(format!("ecps-argon2-{i}"))
                .spawn(move || {
                    let mut memory: Vec<Block> = Vec::new();
                    loop {
                        // One idle thread waits on the queue, the others on the lock.
                        let next = lock(&rx).recv();
                        let Ok(job) = next else {
                            // The hasher is dropped: nothing more will come.
                            return;
                        };
                        if memory.len() != blocks {
                            memory = vec![Block::default(); blocks];
                            arrays.fetch_add(1, Ordering::Relaxed);
                        }
                        // A panicking job drops its answer channel (its caller gets an
                        // error); the thread and its memory stay for the next jobs.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            job(&mut memory)
                        }));
                    }
                })
                .map_err(|e| PasswordError::Hashing(format!("fil de calcul : {e}")))?;
            self.started.fetch_add(1, Ordering::Relaxed);
        }
        Ok(tx)
    }
}

impl PasswordHasher {
    /// One thread per CPU.
    pub fn new(policy: Argon2Policy) -> PasswordHasher {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        PasswordHasher::with_threads(policy, cpus)
    }

    /// `threads` hashes at most at once (and as many block arrays).
    pub fn with_threads(policy: Argon2Policy, threads: usize) -> PasswordHasher {
        PasswordHasher {
            policy,
            pool: Arc::new(Pool {
                threads: threads.max(1),
                // Params::block_count: m rounded down to a multiple of 8 blocks per lane.
                blocks: argon2_blocks(policy.m_kib, policy.p),
                queue: Mutex::new(None),
                started: AtomicUsize::new(0),
                arrays: Arc::new(AtomicUsize::new(0)),
            }),
        }
    }

    pub fn policy(&self) -> Argon2Policy {
        self.policy
    }

    /// Most hashes computed at once.
    pub fn threads(&self) -> usize {
        self.pool.threads
    }

    /// Block arrays allocated so far: at most one per thread, ever.
    pub fn memory_arrays(&self) -> usize {
        self.pool.arrays.load(Ordering::Relaxed)
    }

    /// The argon2id PHC string of `password` with a fresh random salt.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let params = self.policy.params()?;
        let password = password.to_owned();
        self.run(move |memory| {
            let salt = SaltString::generate(&mut OsRng);
            let mut salt_buf = [0u8; 64];
            let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf).map_err(hashing)?;
            let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
            let output = Output::init_with(
                params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN),
                |out| {
                    argon2
                        .hash_password_into_with_memory(
                            password.as_bytes(),
                            salt_bytes,
                            out,
                            memory,
                        )
                        .map_err(Into::into)
                },
            )
            .map_err(hashing)?;
            let phc = PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(&params).map_err(hashing)?,
                salt: Some(salt.as_salt()),
                hash: Some(output),
            };
            Ok(phc.to_string())
        })
        .await
    }

    /// True when `password` matches the PHC string `phc` (its own parameters are used, so
    /// hashes made under an older policy still verify).
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool, PasswordError> {
        let password = password.to_owned();
        let phc = phc.to_owned();
        self.run(move |memory| {
            let parsed = PasswordHash::new(&phc).map_err(corrupt)?;
            let algorithm = Algorithm::try_from(parsed.algorithm).map_err(corrupt)?;
            let version = parsed
                .version
                .map(Version::try_from)
                .transpose()
                .map_err(corrupt)?
                .unwrap_or_default();
            let params = Params::try_from(&parsed).map_err(corrupt)?;
            let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
                return Err(PasswordError::Corrupt(
                    "empreinte de mot de passe sans sel ou sans condensat".into(),
                ));
            };
            let mut salt_buf = [0u8; 64];
            let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(corrupt)?;
            let argon2 = Argon2::new(algorithm, version, params.clone());
            // A hash made under a costlier policy needs more memory than the pool's.
            let mut larger;
            let memory: &mut [Block] = if memory.len() >= params.block_count() {
                memory
            } else {
                larger = vec![Block::default(); params.block_count()];
                &mut larger
            };
            let computed = Output::init_with(expected.len(), |out| {
                argon2
                    .hash_password_into_with_memory(
                        password.as_bytes(),
                        salt_bytes,
                        out,
                        &mut *memory,
                    )
                    .map_err(Into::into)
            })
            .map_err(hashing)?;
            // Output's equality is constant-time.
            Ok(computed == expected)
        })
        .await
    }

    /// Runs `f` on a hashing thread with its block array and returns its result.
    async fn run<T, F>(&self, f: F) -> Result<T, PasswordError>
    where
        T: Send + 'static,
        F: FnOnce(&mut [Block]) -> Result<T, PasswordError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pool.submit(Box::new(move |memory| {
            // The caller may have gone (client disconnected): nobody to tell.
            let _ = tx.send(f(memory));
        }))?;
        rx.await
            .map_err(|_| PasswordError::Hashing("calcul du mot de passe interrompu".into()))?
    }
}

/// Blocks of argon2 memory for `m_kib` KiB and `p` lanes, as `Params::block_count` counts
/// them (a multiple of 8 blocks per lane).
fn argon2_blocks(m_kib: u32, p: u32) -> usize {
    let sync_points = 4 * p.max(1);
    let blocks = (m_kib / sync_points) * sync_points;
    usize::try_from(blocks).unwrap_or(0)
}

fn hashing(e: impl std::fmt::Display) -> PasswordError {
    PasswordError::Hashing(e.to_string())
}

/// A stored hash that cannot be read: a fault of the data, not of the password.
fn corrupt(e: impl std::fmt::Display) -> PasswordError {
    PasswordError::Corrupt(format!("empreinte de mot de passe : {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn psc_03_argon2id_hash_verifies_and_refuses_wrong_password() {
        let h = PasswordHasher::new(Argon2Policy::for_tests());
        let phc = h.hash("correct horse").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(h.verify("correct horse", &phc).await.unwrap());
        assert!(!h.verify("correct hors", &phc).await.unwrap());
        assert!(h.verify("x", "not a phc").await.is_err());
    }

    #[test]
    fn psc_03_production_policy_is_owasp() {
        let p = Argon2Policy::default();
        assert_eq!((p.m_kib, p.t, p.p), (19 * 1024, 2, 1));
        let params = p.params().unwrap();
        assert_eq!(argon2_blocks(p.m_kib, p.p), params.block_count());
        let t = Argon2Policy::for_tests();
        assert_eq!(
            argon2_blocks(t.m_kib, t.p),
            t.params().unwrap().block_count()
        );
    }

    /// The pooled computation is plain argon2id: hashes stored before verify here, and the
    /// reference implementation verifies the hashes made here.
    #[tokio::test]
    async fn psc_03_pooled_argon2_matches_the_reference_implementation() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let h = PasswordHasher::new(Argon2Policy::for_tests());
        let ours = h.hash("correct horse").await.unwrap();
        Argon2::default()
            .verify_password(b"correct horse", &PasswordHash::new(&ours).unwrap())
            .unwrap();
        let params = Params::new(64, 1, 1, None).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(h.verify("correct horse", &theirs).await.unwrap());
        assert!(!h.verify("correct hors", &theirs).await.unwrap());
        // A hash made with more memory than the pool's arrays (an older, costlier policy).
        let bigger = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(256, 1, 2, None).unwrap(),
        )
        .hash_password(b"correct horse", &salt)
        .unwrap()
        .to_string();
        assert!(h.verify("correct horse", &bigger).await.unwrap());
        assert!(!h.verify("correct horse!", &bigger).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn psc_03_hashing_is_bounded_by_its_threads() {
        let h = PasswordHasher::with_threads(Argon2Policy::for_tests(), 2);
        assert_eq!(h.memory_arrays(), 0, "nothing before the first hash");
        let mut tasks = Vec::new();
        for i in 0..16 {
            let h = h.clone();
            tasks.push(tokio::spawn(async move {
                h.hash(&format!("password-{i}")).await
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        // 16 hashes, 2 threads, so at most 2 block arrays ever (the memory bound).
        assert_eq!(h.threads(), 2);
        assert!(
            (1..=2).contains(&h.memory_arrays()),
            "{}",
            h.memory_arrays()
        );
        assert_eq!(h.pool.started.load(Ordering::Relaxed), 2);
    }
}
