//! What a deployed `caducee serve` exposes, seen from outside (issue 10, items 14 and 16):
//! `/metrics` only with its token or on its own address, HSTS on an https public URL, the
//! header-read timeout and the per-source connection cap configured by `[http]`.

use super::*;
use std::io::{Read, Write};

#[tokio::test]
async fn sec_16_metrics_need_their_token_or_their_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/c.db", dir.path().display());
    let http = reqwest::Client::new();
    let status = |r: reqwest::Response| r.status().as_u16();

    // Outside demo mode, nothing configured: /metrics is not there.
    let (mut plain, base) = serve(&url, &[]);
    let r = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(status(r), 404);
    plain.kill().unwrap();
    plain.wait().unwrap();

    // With a token (read from a file): only the bearer of the token reads them.
    let token_file = dir.path().join("metrics.token");
    std::fs::write(&token_file, "jeton-de-supervision-assez-long-0123456789\n").unwrap();
    let metrics_port = free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let (mut guarded, base) = serve_with(
        &url,
        &[
            ("CADUCEE_METRICS_TOKEN_FILE", token_file.to_str().unwrap()),
            ("CADUCEE_METRICS_LISTEN", metrics_addr.as_str()),
        ],
    );
    let r = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(status(r), 404, "no token, no metrics");
    let r = http
        .get(format!("{base}/metrics"))
        .bearer_auth("un-autre-jeton")
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 404, "a wrong token, no metrics");
    let r = http
        .get(format!("{base}/metrics"))
        .bearer_auth("jeton-de-supervision-assez-long-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("caducee_database_up"));
    // The metrics address serves /metrics (with the token, as one is set) and nothing else.
    let r = http
        .get(format!("http://{metrics_addr}/metrics"))
        .bearer_auth("jeton-de-supervision-assez-long-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("http://{metrics_addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 404);
    guarded.kill().unwrap();
    guarded.wait().unwrap();
}

#[tokio::test]
async fn sec_16_https_public_url_sends_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/c.db", dir.path().display());
    let http = reqwest::Client::new();
    let (mut plain, base) = serve(&url, &[]);
    let r = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert!(!r.headers().contains_key("strict-transport-security"));
    plain.kill().unwrap();
    plain.wait().unwrap();
    // The scheme is compared without regard to case.
    let (mut tls, base) = serve_with(&url, &[("CADUCEE_PUBLIC_URL", "HTTPS://idp.sante.example")]);
    let r = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(
        r.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
    tls.kill().unwrap();
    tls.wait().unwrap();
}

/// Reads from `stream` until the server closes it; false if it is still open after 10 s.
fn closed_by_server(stream: &mut std::net::TcpStream) -> bool {
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[tokio::test]
async fn sec_14_half_sent_requests_and_connection_floods_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/c.db", dir.path().display());
    let (mut child, base) = serve_with(
        &url,
        &[
            ("CADUCEE_HTTP__HEADER_READ_TIMEOUT_SECS", "1"),
            ("CADUCEE_HTTP__MAX_CONNECTIONS_PER_SOURCE", "20"),
        ],
    );
    let addr = base.trim_start_matches("http://").to_string();
    // A request head that never ends is cut after the timeout.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Lent: ")
        .unwrap();
    assert!(
        closed_by_server(&mut slow),
        "a half-sent request held its connection"
    );
    // One address opens 20 connections; the 21st is closed at once.
    let held: Vec<std::net::TcpStream> = (0..20)
        .map(|_| {
            let mut c = std::net::TcpStream::connect(&addr).unwrap();
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut head = [0u8; 12];
            c.read_exact(&mut head).unwrap();
            assert_eq!(&head, b"HTTP/1.1 200");
            c
        })
        .collect();
    let mut extra = std::net::TcpStream::connect(&addr).unwrap();
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut head = [0u8; 12];
    assert!(
        !matches!(extra.read(&mut head), Ok(n) if n > 0),
        "the 21st connection of one address was served"
    );
    drop(held);
    child.kill().unwrap();
    child.wait().unwrap();
}
