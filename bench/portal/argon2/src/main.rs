//! `portal-argon2 SECONDS [IN_FLIGHT]`: argon2id verifications per second on this machine,
//! through the same `caducee_passwords::PasswordHasher` (OWASP m = 19 MiB, t = 2, p = 1, one
//! thread per CPU) the portals' logins use, with IN_FLIGHT (default 8) verifications queued at
//! any time so the threads never wait. Prints one JSON line:
//! `{"hashes":…,"seconds":…,"per_second":…,"cpu_ticks":…,"threads":…,"m_kib":…,"t":…,"p":…}`
//! where `cpu_ticks` is the process's user + system CPU during the measure, in clock ticks
//! of /proc/self/stat (`getconf CLK_TCK` per second).

use caducee_passwords::{Argon2Policy, PasswordHasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let in_flight: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(8);
    let policy = Argon2Policy::owasp();
    let hasher = PasswordHasher::new(policy);
    let password = "péniche-vélo-grenadine-42";
    let phc = hasher.hash(password).await.expect("hash");
    // Warm-up: every thread allocates its block array once.
    for _ in 0..hasher.threads() * 2 {
        assert!(hasher.verify(password, &phc).await.expect("verify"));
    }
    let done = Arc::new(AtomicU64::new(0));
    let cpu0 = cpu_ticks();
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..in_flight {
        let (hasher, phc, done) = (hasher.clone(), phc.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let ok = hasher.verify(password, &phc).await.expect("verify");
                assert!(ok);
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_ticks().saturating_sub(cpu0);
    let hashes = done.load(Ordering::Relaxed);
    println!(
        "{{\"hashes\":{hashes},\"seconds\":{elapsed:.3},\"per_second\":{:.2},\"cpu_ticks\":{cpu},\"threads\":{},\"m_kib\":{},\"t\":{},\"p\":{}}}",
        hashes as f64 / elapsed,
        hasher.threads(),
        policy.m_kib,
        policy.t,
        policy.p
    );
}

/// utime + stime of this process (all threads), in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let n = |i: usize| fields.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}
