//! Helpers for tests of the e-CPS (this crate's, the device API's, the CLI's). Compiled
//! only for tests or with the `testkit` feature; never part of a production build.

#![allow(clippy::expect_used, clippy::panic)]

use caducee_notify::ChannelKind;
use caducee_store::Store;

/// The codes of the newest e-CPS activation messages in the outbox: (e-mail code, SMS code).
/// Reads the bodies, which the outbox keeps until the messages are sent.
pub async fn activation_codes(store: &Store) -> (String, String) {
    let msgs = caducee_notify::recent(store, 20)
        .await
        .expect("outbox readable");
    let find = |kind: ChannelKind| {
        let m = msgs
            .iter()
            .find(|m| m.template == "ecps_activation_code" && m.channel == kind)
            .expect("activation message");
        six_digit_run(&m.body_text).expect("a 6-digit code in the body")
    };
    (find(ChannelKind::Email), find(ChannelKind::Sms))
}

/// The first run of exactly six digits in a text.
pub fn six_digit_run(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .map(str::to_string)
}

/// An e-CPS server for tests: the default rules, `public_url` in its messages, and the fast
/// test argon2 parameters (the production ones take ~15 ms of a core per hash).
pub fn server(
    store: Store,
    clock: caducee_core::clock::SharedClock,
    waker: caducee_notify::Waker,
    public_url: &str,
) -> crate::EcpsServer {
    crate::EcpsServer::new(
        store,
        clock,
        waker,
        crate::EcpsConfig {
            public_url: Some(public_url.to_string()),
            ..crate::EcpsConfig::default()
        },
    )
    .with_hasher(crate::PasswordHasher::new(crate::Argon2Policy::for_tests()))
}

/// A middleware for test routers: the source address a test client claims in
/// `x-test-source`, put where the real server (`web::server`) puts the peer's, so that the
/// per-source limits can be played from several addresses on one loopback. Without the
/// header the request has no source, as behind a router served without `web::server`.
pub async fn claimed_source(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let claimed = req
        .headers()
        .get("x-test-source")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<std::net::IpAddr>().ok());
    if let Some(ip) = claimed {
        req.extensions_mut()
            .insert(caducee_core::source::ClientSource::new(ip));
    }
    next.run(req).await
}
