//! The HTTP server loop: accepts connections, bounds what a client can hold, tells each
//! request where it comes from, and stops gracefully.
//!
//! Written here (with hyper-util's connection builder, as axum's own "serve with hyper"
//! example does) because `axum::serve` offers none of the limits a public identity service
//! needs (issue 10, item 14):
//! - a **header-read timeout**: a client that sends half a request head is cut after
//!   `header_read_timeout` instead of holding its connection and ~64 KB forever (slowloris);
//!   an idle keep-alive connection is closed by the same timer;
//! - a cap on **connections per source** (IPv6 by /64) and on connections in all, so that
//!   one address cannot take the sockets of everyone else; a connection over a cap is
//!   closed at once and counted in `caducee_http_connections_refused_total`;
//! - the **client source** ([`ClientSource`]) of every request, in its extensions, from the
//!   peer address or, when the peer is a trusted reverse proxy, from `X-Forwarded-For`;
//!   the rate limits of the components count by it. `ConnectInfo<SocketAddr>` is set too.
//!
//! Connection counts are per node by nature (a connection lives on one node), so they are
//! kept in memory; the rate limits, which must hold across nodes, are in the database.

use axum::extract::ConnectInfo;
use axum::Router;
use caducee_core::source::ClientSource;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

/// What one client may hold. Defaults suit one node behind no proxy.
#[derive(Clone, Debug)]
pub struct ServerLimits {
    /// Time a client has to send a request head (and an idle keep-alive connection lives).
    pub header_read_timeout: Duration,
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections of one source (IPv4 address, IPv6 /64).
    pub max_connections_per_source: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR blocks).
    pub trusted_proxies: Vec<IpBlock>,
    /// Time given to open connections to finish at shutdown.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_connections_per_source: 256,
            trusted_proxies: Vec::new(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// An address block: `192.0.2.10`, `10.0.0.0/8`, `2001:db8::/32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpBlock {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for IpBlock {
    type Err = String;
    fn from_str(s: &str) -> Result<IpBlock, String> {
        let bad = || format!("« {s} » n'est pas une adresse IP ni un bloc CIDR (ex. 10.0.0.0/8)");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(IpBlock { addr, prefix })
    }
}

impl IpBlock {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ClientSource::new(ip).ip().unwrap_or(ip);
        match (self.addr, ip) {
            (IpAddr::V4(block), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(block) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(block), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(block) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The source of a request from `peer`: the peer itself, or, when the peer is a trusted
/// proxy, the last address of `X-Forwarded-For` that is not a trusted proxy.
fn source_of(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpBlock]) -> ClientSource {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|b| b.contains(ip));
    if !is_trusted(peer) {
        return ClientSource::new(peer);
    }
    let hops = forwarded_for.unwrap_or("").split(',').rev();
    for hop in hops {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(ip) => continue,
            Ok(ip) => return ClientSource::new(ip),
            Err(_) => break,
        }
    }
    ClientSource::new(peer)
}

/// Open connections per source; a [`Slot`] gives its place back when dropped.
#[derive(Default)]
struct Admission {
    open: Mutex<(usize, HashMap<String, usize>)>,
}

struct Slot {
    admission: Arc<Admission>,
    key: String,
}

impl Admission {
    fn admit(self: &Arc<Self>, key: String, limits: &ServerLimits, capped: bool) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.0 >= limits.max_connections {
            return None;
        }
        let of_source = open.1.entry(key.clone()).or_insert(0);
        if capped && *of_source >= limits.max_connections_per_source {
            return None;
        }
        *of_source += 1;
        open.0 += 1;
        Some(Slot {
            admission: self.clone(),
            key,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .admission
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.key);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open connections finish
/// for at most `limits.shutdown_grace`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_read_timeout));
    let admission = Arc::new(Admission::default());
    let graceful = GracefulShutdown::new();
    let limits = Arc::new(limits);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of
                    // spinning on the same error.
                    tracing::warn!(error = %e, "connexion refusée par le système");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let behind_proxy = limits.trusted_proxies.iter().any(|b| b.contains(peer.ip()));
        let key = ClientSource::new(peer.ip()).throttle_key();
        let Some(slot) = admission.admit(key, &limits, !behind_proxy) else {
            metrics::counter!("caducee_http_connections_refused_total").increment(1);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let limits_for_requests = limits.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
            let forwarded = req
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok());
            let source = source_of(peer.ip(), forwarded, &limits_for_requests.trusted_proxies);
            req.extensions_mut().insert(source);
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("des connexions étaient encore ouvertes à l'arrêt");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn start(limits: ServerLimits) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let app = Router::new().route(
            "/",
            axum::routing::get(
                |axum::Extension(source): axum::Extension<ClientSource>| async move {
                    source.throttle_key()
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, app, limits, async {
            let _ = stopped.await;
        }));
        (addr, stop)
    }

    /// Reads until the server closes the connection; the time it took.
    async fn closed_after(stream: &mut tokio::net::TcpStream) -> Duration {
        let started = std::time::Instant::now();
        let mut buf = [0u8; 1024];
        let wait = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
        });
        assert!(wait.await.is_ok(), "the server kept the connection open");
        started.elapsed()
    }

    #[tokio::test]
    async fn sec_14_half_sent_request_is_cut_after_the_header_timeout() {
        let (addr, _stop) = start(ServerLimits {
            header_read_timeout: Duration::from_millis(300),
            ..ServerLimits::default()
        })
        .await;
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        let took = closed_after(&mut slow).await;
        assert!(took < Duration::from_secs(5), "closed after {took:?}");
        // A whole request is served and tells its source.
        let mut ok = tokio::net::TcpStream::connect(addr).await.unwrap();
        ok.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        ok.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("ip4:127.0.0.1"), "{answer}");
    }

    #[tokio::test]
    async fn sec_14_one_source_cannot_take_every_connection() {
        let (addr, _stop) = start(ServerLimits {
            max_connections_per_source: 3,
            ..ServerLimits::default()
        })
        .await;
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
            // A complete request proves the connection was admitted.
            c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut buf = [0u8; 12];
            c.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"HTTP/1.1 200");
            held.push(c);
        }
        let mut fourth = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _ = fourth.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let mut buf = [0u8; 12];
        let read = fourth.read(&mut buf).await;
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "the fourth connection was served"
        );
        // A place freed is a place again.
        drop(held.pop());
        let admitted = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
                let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
                let mut buf = [0u8; 12];
                if matches!(c.read(&mut buf).await, Ok(n) if n > 0) {
                    break;
                }
                tokio::task::yield_now().await;
            }
        });
        assert!(admitted.await.is_ok(), "a freed place was not given again");
    }

    #[test]
    fn sec_14_forwarded_for_only_from_trusted_proxies() {
        let trusted: Vec<IpBlock> = vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()];
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "192.0.2.7".parse().unwrap();
        // A stranger cannot choose its source by sending the header.
        assert_eq!(
            source_of(stranger, Some("203.0.113.9"), &trusted),
            ClientSource::new(stranger)
        );
        // Behind the proxy: the last hop that is not a proxy; a spoofed first hop is ignored.
        let client: IpAddr = "198.51.100.4".parse().unwrap();
        assert_eq!(
            source_of(proxy, Some("203.0.113.9, 198.51.100.4, 10.9.9.9"), &trusted),
            ClientSource::new(client)
        );
        assert_eq!(source_of(proxy, None, &trusted), ClientSource::new(proxy));
        assert!("10.0.0.0/33".parse::<IpBlock>().is_err());
        assert!("2001:db8::/32"
            .parse::<IpBlock>()
            .unwrap()
            .contains("2001:db8:5::1".parse().unwrap()));
    }
}
