//! `rsa-sign [SECONDS] [THREADS]` — RS256 signatures per second, one tight loop per thread.
//!
//! Each thread signs a typical JWT signing input (header + payload of a PSC-shaped access
//! token, ~700 bytes) with ONE parsed RSA-2048 key pair (the key is parsed once, as a token
//! signer keeps it), for SECONDS (default 5) of wall time. Prints one line of JSON:
//! `{"threads":T,"seconds":S,"signatures":N,"per_second":X,"per_second_per_thread":[…]}`.
//! THREADS defaults to the number of online CPUs.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let threads: usize = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));

    let key = Arc::new(RsaKeyPair::generate(KeySize::Rsa2048).unwrap_or_else(|e| {
        eprintln!("rsa-sign: key generation failed: {e}");
        std::process::exit(1)
    }));
    let modulus_bits = key.public_modulus_len() * 8;
    assert_eq!(modulus_bits, 2048);
    let _ = key.public_key();

    // A realistic signing input: base64url(header) "." base64url(payload) of an access token.
    let header = r#"{"alg":"RS256","typ":"JWT","kid":"0f1e2d3c4b5a69788796a5b4c3d2e1f0"}"#;
    let payload = r#"{"exp":1764000120,"iat":1764000000,"auth_time":1764000000,"jti":"5b1f0e7c-3f1e-4a56-9f52-0c1d2e3f4a5b","iss":"http://127.0.0.1:8080/auth/realms/esante-wallet","sub":"f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:819999900012","typ":"Bearer","azp":"bench","nonce":"6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9","session_state":"1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9","acr":"eidas1","scope":"openid scope_all","sid":"1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9","authMode":"MOBILE","otherIds":[{"identifiant":"19999900012","origine":"RPPS","qualite":1}],"preferred_username":"819999900012"}"#;
    let input = format!("{}.{}", b64url(header.as_bytes()), b64url(payload.as_bytes()));

    let stop = Arc::new(AtomicBool::new(false));
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (key, stop, barrier, input) =
                (key.clone(), stop.clone(), barrier.clone(), input.clone());
            std::thread::spawn(move || {
                let rng = SystemRandom::new();
                let mut sig = vec![0u8; key.public_modulus_len()];
                barrier.wait();
                let mut n: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    if key
                        .sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig)
                        .is_err()
                    {
                        eprintln!("rsa-sign: signing failed");
                        std::process::exit(1);
                    }
                    n += 1;
                }
                std::hint::black_box(&sig);
                n
            })
        })
        .collect();
    barrier.wait();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    let counts: Vec<u64> = handles
        .into_iter()
        .map(|h| h.join().unwrap_or(0))
        .collect();
    let elapsed = t0.elapsed().as_secs_f64();
    let total: u64 = counts.iter().sum();
    let per_thread: Vec<String> = counts
        .iter()
        .map(|c| format!("{:.0}", *c as f64 / elapsed))
        .collect();
    println!(
        "{{\"threads\":{threads},\"seconds\":{elapsed:.3},\"signatures\":{total},\"per_second\":{:.0},\"per_second_per_thread\":[{}]}}",
        total as f64 / elapsed,
        per_thread.join(",")
    );
}

fn b64url(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len() * 4 / 3 + 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}
