//! The e-CPS device API through real HTTP (PSC-03, PSC-04, PSC-05): the component's router
//! (`caducee_ecps_server::router`, what `web` mounts) on an ephemeral port, a real database
//! (SQLite and PostgreSQL), a `ManualClock`, the cheap test argon2 policy. Codes are read
//! back from the outbox; the device is a P-256 key signing DPoP-like proofs. Two routers on
//! one PostgreSQL database play two nodes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use caducee_core::clock::{Clock, ManualClock};
use caducee_core::ids::{IdNatPs, Rpps};
use caducee_ecps_server::{migrations, EcpsServer, RequestStatus};
use caducee_registry::queries::{set_contact, ContactUpdate};
use caducee_store::testkit::TestDb;
use caducee_store::{Dialect, Store};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{json, Value};
use time::macros::datetime;
use time::Duration;

const PASSWORD: &str = "mot de passe e-CPS";

/// One caducee node: the device API router served on an ephemeral port.
struct Node {
    /// Where this node listens.
    base: String,
    /// The public URL the device signs (the same for every node behind one name).
    public: String,
    ecps: Arc<EcpsServer>,
    http: reqwest::Client,
}

async fn start_node(store: Store, clock: &ManualClock) -> Node {
    start_node_at(store, clock, None).await
}

async fn start_node_at(store: Store, clock: &ManualClock, public: Option<&str>) -> Node {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let public = public.map_or_else(|| base.clone(), str::to_string);
    let ecps = Arc::new(caducee_ecps_server::testkit::server(
        store,
        clock.shared(),
        caducee_notify::Waker::new(),
        &public,
    ));
    let app = caducee_ecps_server::router(ecps.clone(), &public).layer(axum::middleware::from_fn(
        caducee_ecps_server::testkit::claimed_source,
    ));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Node {
        base,
        public,
        ecps,
        http: reqwest::Client::new(),
    }
}

fn professional(n: u32) -> IdNatPs {
    IdNatPs::from(Rpps::from_payload(&format!("10001{n:05}")).unwrap())
}

async fn add_person(
    store: &Store,
    clock: &ManualClock,
    idnat: &IdNatPs,
    contact: Option<(&str, &str)>,
) {
    sqlx::query(
        "INSERT INTO reg_person (idnat, id_type, id_pp, last_name, first_name, updated_at)
         VALUES ($1, '8', $2, 'TEST', 'Alice', 0)",
    )
    .bind(idnat.as_str())
    .bind(idnat.number())
    .execute(store.pool())
    .await
    .unwrap();
    if let Some((email, mobile)) = contact {
        set_contact(
            store,
            clock,
            idnat,
            &ContactUpdate {
                email: email.into(),
                mobile: mobile.into(),
                actor: "operator:test".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
}

/// Professional 1 with an e-mail and a mobile in the registry: one who can activate.
async fn reachable_professional(store: &Store, clock: &ManualClock) -> IdNatPs {
    let idnat = professional(1);
    add_person(
        store,
        clock,
        &idnat,
        Some(("tudor.x01@cn.medecin.fr", "+33781234522")),
    )
    .await;
    idnat
}

async fn fresh_db(dialect: Dialect) -> (TestDb, ManualClock) {
    let db = TestDb::new(dialect).await;
    db.store.migrate(&migrations()).await.unwrap();
    (db, ManualClock::new(datetime!(2026-03-02 09:00 UTC)))
}

/// The device side: its key, its id once registered, and a counter for unique `jti`s.
struct Device {
    key: SigningKey,
    jwk: Value,
    id: String,
    n: std::cell::Cell<u32>,
}

impl Device {
    fn new() -> Device {
        let sk = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let jwk: Value = serde_json::from_str(&sk.public_key().to_jwk_string()).unwrap();
        Device {
            key: SigningKey::from(sk),
            jwk,
            id: String::new(),
            n: std::cell::Cell::new(0),
        }
    }

    /// A proof for `htm` on `htu` at the clock's time, with a fresh `jti`.
    fn proof(&self, clock: &ManualClock, htm: &str, htu: &str) -> String {
        self.n.set(self.n.get() + 1);
        let h = URL_SAFE_NO_PAD
            .encode(json!({"alg": "ES256", "typ": "ecps-proof+jwt", "kid": self.id}).to_string());
        let p = URL_SAFE_NO_PAD.encode(
            json!({"htm": htm, "htu": htu, "iat": clock.unix(), "jti": format!("jti-{}", self.n.get())})
                .to_string(),
        );
        let input = format!("{h}.{p}");
        let sig: Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }
}

async fn post(node: &Node, path: &str, body: Value) -> (u16, Value) {
    let r = node
        .http
        .post(format!("{}{path}", node.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A device call: signs `method` + `public + path` (query excluded) and sends it.
async fn device_call(
    node: &Node,
    clock: &ManualClock,
    dev: &Device,
    method: &str,
    path_and_query: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let path = path_and_query.split('?').next().unwrap();
    let proof = dev.proof(clock, method, &format!("{}{path}", node.public));
    send_with_proof(node, method, path_and_query, &proof, body).await
}

async fn send_with_proof(
    node: &Node,
    method: &str,
    path_and_query: &str,
    proof: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}{path_and_query}", node.base);
    let req = match method {
        "GET" => node.http.get(url),
        _ => node.http.post(url),
    }
    .header("DPoP", proof);
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Activation through the HTTP API: start, read the codes from the outbox, confirm.
async fn activate(node: &Node, clock: &ManualClock, idnat: &IdNatPs, id_typed: &str) -> Device {
    clock.advance(Duration::seconds(1));
    let (status, started) = post(node, "/ecps/api/v1/activations", json!({"id": id_typed})).await;
    assert_eq!(status, 201, "{started}");
    assert_eq!(started["email_hint"], "tu***01@cn.medecin.fr");
    assert_eq!(started["sms_hint"], "+3378***22");
    assert_eq!(started["expires_at"], clock.unix() + 600);
    let activation = started["activation_id"].as_str().unwrap().to_string();
    let (e, s) = caducee_ecps_server::testkit::activation_codes(node.ecps.store()).await;
    let mut dev = Device::new();
    let (status, created) = post(
        node,
        &format!("/ecps/api/v1/activations/{activation}/confirm"),
        json!({"email_code": e, "sms_code": s, "password": PASSWORD, "public_jwk": dev.jwk}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    dev.id = created["device_id"].as_str().unwrap().to_string();
    let active = node
        .ecps
        .active_device(idnat.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(active.id, dev.id);
    assert_eq!(created["expires_at"], active.expires_at);
    dev
}

use caducee_store::on_both_engines;

on_both_engines! {
    psc_03_activation_long_poll_and_approval_through_http => approve_flow;
    psc_04_missing_contact_answers_with_the_ars_message => missing_contact;
    psc_03_wrong_password_five_times_locks_with_423 => lock_flow;
    psc_04_bad_inputs_are_json_client_errors => bad_inputs;
    psc_03_psc_05_request_and_device_expire_by_the_clock_through_http => expiry_flow;
    sec_14_one_long_poll_per_device_a_new_one_ends_the_old => one_long_poll_per_device;
    sec_06_activations_limited_per_source_and_untried_codes_block_for_an_hour_only => activation_limits;
    sec_17_every_activation_answer_is_counted_per_source_before_it_is_computed => enumeration_costs;
}

async fn approve_flow(dialect: Dialect) {
    let (db, clock) = fresh_db(dialect).await;
    let idnat = reachable_professional(&db.store, &clock).await;
    let node = start_node(db.store.clone(), &clock).await;
    // The RPPS without the leading 8.
    let dev = activate(&node, &clock, &idnat, &idnat.as_str()[1..]).await;

    // Device status.
    let (status, body) = device_call(&node, &clock, &dev, "GET", "/ecps/api/v1/device", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], dev.id.as_str());
    assert_eq!(body["idnat"], idnat.as_str());
    assert_eq!(
        body["expires_at"],
        datetime!(2029-03-02 09:00:01 UTC).unix_timestamp()
    );

    // Nothing pending: a short long-poll returns an empty list after its wait.
    let t0 = Instant::now();
    let (status, body) = device_call(
        &node,
        &clock,
        &dev,
        "GET",
        "/ecps/api/v1/requests?wait=1",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["requests"], json!([]));
    assert!(
        t0.elapsed() >= StdDuration::from_millis(700),
        "{:?}",
        t0.elapsed()
    );

    // A long-poll in flight returns as soon as a request is created.
    let poll = {
        let proof = dev.proof(
            &clock,
            "GET",
            &format!("{}/ecps/api/v1/requests", node.base),
        );
        let node_base = node.base.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let r = reqwest::Client::new()
                .get(format!("{node_base}/ecps/api/v1/requests?wait=10"))
                .header("DPoP", proof)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap(), t0.elapsed())
        })
    };
    tokio::time::sleep(StdDuration::from_millis(600)).await;
    let req = node
        .ecps
        .create_request(idnat.as_str(), "ROR National", None)
        .await
        .unwrap();
    let (status, body, waited) = poll.await.unwrap();
    assert_eq!(status, 200, "{body}");
    // It waited for the request (created 600 ms in), then returned at once.
    assert!(
        waited >= StdDuration::from_millis(500) && waited < StdDuration::from_secs(5),
        "{waited:?}"
    );
    let list = body["requests"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{body}");
    assert_eq!(list[0]["id"], req.id.as_str());
    assert_eq!(list[0]["service"], "ROR National");
    assert_eq!(list[0]["expires_at"], req.expires_at);
    let choices: Vec<&str> = list[0]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(choices.len(), 3);
    assert!(choices.contains(&req.code.as_str()));

    // The right code and password approve.
    let path = format!("/ecps/api/v1/requests/{}", req.id);
    let (status, body) = device_call(
        &node,
        &clock,
        &dev,
        "POST",
        &path,
        Some(json!({"code": req.code, "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"outcome": "approved"}));
    assert_eq!(
        node.ecps.request_state(&req.id).await.unwrap().status,
        RequestStatus::Approved
    );
    // Answering again: already decided.
    let (status, body) = device_call(
        &node,
        &clock,
        &dev,
        "POST",
        &path,
        Some(json!({"code": req.code, "password": PASSWORD})),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("request_closed"))
    );

    // A wrong choice denies.
    let req = node
        .ecps
        .create_request(idnat.as_str(), "Ordre", None)
        .await
        .unwrap();
    let wrong = ["00", "01", "02"]
        .into_iter()
        .find(|c| *c != req.code)
        .unwrap();
    let (status, body) = device_call(
        &node,
        &clock,
        &dev,
        "POST",
        &format!("/ecps/api/v1/requests/{}", req.id),
        Some(json!({"code": wrong, "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "denied");
    assert_eq!(
        node.ecps.request_state(&req.id).await.unwrap().status,
        RequestStatus::Denied
    );

    // A replayed proof is refused, on the same node or another.
    let proof = dev.proof(&clock, "GET", &format!("{}/ecps/api/v1/device", node.base));
    let (status, _) = send_with_proof(&node, "GET", "/ecps/api/v1/device", &proof, None).await;
    assert_eq!(status, 200);
    let (status, body) = send_with_proof(&node, "GET", "/ecps/api/v1/device", &proof, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "bad_device_proof");
    assert!(
        body["message"].as_str().unwrap().contains("rejeu"),
        "{body}"
    );
    // A proof for another URL or method is refused.
    let proof = dev.proof(
        &clock,
        "GET",
        &format!("{}/ecps/api/v1/requests", node.base),
    );
    let (status, _) = send_with_proof(&node, "GET", "/ecps/api/v1/device", &proof, None).await;
    assert_eq!(status, 401);
    // No proof at all.
    let r = node
        .http
        .get(format!("{}/ecps/api/v1/requests?wait=0", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "missing_device_proof");

    // PSC-05: an expired e-CPS is refused with a message that says to reactivate.
    clock.set(datetime!(2029-03-02 09:00:02 UTC));
    let (status, body) = device_call(&node, &clock, &dev, "GET", "/ecps/api/v1/device", None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "device_expired");
    assert!(body["message"].as_str().unwrap().contains("réactivez"));
    db.cleanup().await;
}

async fn missing_contact(dialect: Dialect) {
    let (db, clock) = fresh_db(dialect).await;
    let nobody = professional(2);
    add_person(&db.store, &clock, &nobody, None).await;
    let node = start_node(db.store.clone(), &clock).await;
    let (status, body) = post(
        &node,
        "/ecps/api/v1/activations",
        json!({"id": nobody.as_str()}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "missing_contact");
    let msg = body["message"].as_str().unwrap();
    assert!(msg.contains("agence régionale de santé (ARS)"), "{msg}");
    // Unknown professional, malformed id.
    let (status, body) = post(
        &node,
        "/ecps/api/v1/activations",
        json!({"id": professional(3).as_str()}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_professional"))
    );
    let (status, body) = post(&node, "/ecps/api/v1/activations", json!({"id": "12345"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_id")));
    assert!(caducee_notify::recent(&db.store, 10)
        .await
        .unwrap()
        .is_empty());
    db.cleanup().await;
}

async fn lock_flow(dialect: Dialect) {
    let (db, clock) = fresh_db(dialect).await;
    let idnat = reachable_professional(&db.store, &clock).await;
    let node = start_node(db.store.clone(), &clock).await;
    let dev = activate(&node, &clock, &idnat, idnat.as_str()).await;
    let req = node
        .ecps
        .create_request(idnat.as_str(), "RPLUS", None)
        .await
        .unwrap();
    let path = format!("/ecps/api/v1/requests/{}", req.id);
    for remaining in (1..5).rev() {
        let (status, body) = device_call(
            &node,
            &clock,
            &dev,
            "POST",
            &path,
            Some(json!({"code": req.code, "password": "mauvais mdp"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({"outcome": "wrong_password", "remaining": remaining})
        );
    }
    let (status, body) = device_call(
        &node,
        &clock,
        &dev,
        "POST",
        &path,
        Some(json!({"code": req.code, "password": "mauvais mdp"})),
    )
    .await;
    assert_eq!(status, 423, "{body}");
    assert_eq!(body["error"], "device_locked");
    assert!(body["message"].as_str().unwrap().contains("réactivez"));
    // Locked: every device call now answers 423.
    let (status, _) = device_call(
        &node,
        &clock,
        &dev,
        "GET",
        "/ecps/api/v1/requests?wait=0",
        None,
    )
    .await;
    assert_eq!(status, 423);
    db.cleanup().await;
}

async fn bad_inputs(dialect: Dialect) {
    let (db, clock) = fresh_db(dialect).await;
    let idnat = reachable_professional(&db.store, &clock).await;
    let node = start_node(db.store.clone(), &clock).await;
    // Not JSON / missing field.
    let r = node
        .http
        .post(format!("{}/ecps/api/v1/activations", node.base))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "bad_request");
    let (status, body) = post(&node, "/ecps/api/v1/activations", json!({})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));
    // Unknown activation.
    let (status, body) = post(&node, "/ecps/api/v1/activations/nope/resend", json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("activation_not_found"))
    );
    // Start, resend, then wrong codes, a bad key, a short password.
    let (status, started) = post(
        &node,
        "/ecps/api/v1/activations",
        json!({"id": idnat.as_str()}),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let activation = started["activation_id"].as_str().unwrap();
    clock.advance(Duration::seconds(1));
    let (status, resent) = post(
        &node,
        &format!("/ecps/api/v1/activations/{activation}/resend"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{resent}");
    assert_eq!(resent["activation_id"], activation);
    assert_eq!(resent["sms_hint"], "+3378***22");
    let (e, s) = caducee_ecps_server::testkit::activation_codes(&db.store).await;
    let dev = Device::new();
    let confirm = format!("/ecps/api/v1/activations/{activation}/confirm");
    let (status, body) = post(
        &node,
        &confirm,
        json!({"email_code": e, "sms_code": s, "password": "court", "public_jwk": dev.jwk}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("bad_password"))
    );
    let (status, body) = post(
        &node,
        &confirm,
        json!({"email_code": e, "sms_code": s, "password": PASSWORD, "public_jwk": {}}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("bad_public_key"))
    );
    let wrong = if e == "000000" { "000001" } else { "000000" };
    let (status, body) = post(
        &node,
        &confirm,
        json!({"email_code": wrong, "sms_code": s, "password": PASSWORD, "public_jwk": dev.jwk}),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (403, Some("wrong_codes")));
    assert!(
        body["message"].as_str().unwrap().contains("4 essai"),
        "{body}"
    );
    // The JWK may also come as a string; the right codes still work after a wrong try.
    let (status, body) = post(
        &node,
        &confirm,
        json!({"email_code": e, "sms_code": s, "password": PASSWORD, "public_jwk": dev.jwk.to_string()}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // Bad wait parameter.
    let mut dev = dev;
    dev.id = body["device_id"].as_str().unwrap().to_string();
    let (status, body) = device_call(
        &node,
        &clock,
        &dev,
        "GET",
        "/ecps/api/v1/requests?wait=abc",
        None,
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_wait")));
    db.cleanup().await;
}

/// Expiry by moving the clock, through the real HTTP API: a request is listed until its
/// 120 s have passed, then gone from the long-poll and refused with 410; the device works
/// until the last second of its 3 years, then every call (answer included) is refused with
/// 403 and a message that says to reactivate.
async fn expiry_flow(dialect: Dialect) {
    let (db, clock) = fresh_db(dialect).await;
    let idnat = reachable_professional(&db.store, &clock).await;
    let node = start_node(db.store.clone(), &clock).await;
    let dev = activate(&node, &clock, &idnat, idnat.as_str()).await;

    let req = node
        .ecps
        .create_request(idnat.as_str(), "ROR National", None)
        .await
        .unwrap();
    assert_eq!(req.expires_at, clock.unix() + 120);
    clock.advance(Duration::seconds(119));
    let (status, body) = device_call(
        &node,
        &clock,
        &dev,
        "GET",
        "/ecps/api/v1/requests?wait=0",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["requests"][0]["id"], req.id.as_str());
    clock.advance(Duration::seconds(1));
    let (status, body) = device_call(
        &node,
        &clock,
        &dev,
        "GET",
        "/ecps/api/v1/requests?wait=0",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["requests"], json!([]));
    let path = format!("/ecps/api/v1/requests/{}", req.id);
    let (status, body) = device_call(
        &node,
        &clock,
        &dev,
        "POST",
        &path,
        Some(json!({"code": req.code, "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["error"], "request_expired");
    assert!(
        body["message"].as_str().unwrap().contains("a expiré"),
        "{body}"
    );
    assert_eq!(
        node.ecps.request_state(&req.id).await.unwrap().status,
        RequestStatus::Expired
    );

    // The device's 3 years: usable until its last second, refused from its expiry on.
    let expires_at = node
        .ecps
        .active_device(idnat.as_str())
        .await
        .unwrap()
        .unwrap()
        .expires_at;
    clock.set(time::OffsetDateTime::from_unix_timestamp(expires_at - 1).unwrap());
    let req = node
        .ecps
        .create_request(idnat.as_str(), "Ordre", None)
        .await
        .unwrap();
    let (status, body) = device_call(
        &node,
        &clock,
        &dev,
        "GET",
        "/ecps/api/v1/requests?wait=0",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["requests"][0]["id"], req.id.as_str());
    clock.advance(Duration::seconds(1));
    let path = format!("/ecps/api/v1/requests/{}", req.id);
    for (method, path, body) in [
        ("GET", "/ecps/api/v1/requests?wait=0", None),
        (
            "POST",
            path.as_str(),
            Some(json!({"code": req.code, "password": PASSWORD})),
        ),
    ] {
        let (status, body) = device_call(&node, &clock, &dev, method, path, body).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert_eq!(body["error"], "device_expired");
        let msg = body["message"].as_str().unwrap();
        assert!(
            msg.contains("a expiré") && msg.contains("réactivez-la"),
            "{msg}"
        );
    }
    assert_eq!(
        node.ecps.request_state(&req.id).await.unwrap().status,
        RequestStatus::Pending,
        "an expired e-CPS decides nothing"
    );
    db.cleanup().await;
}

/// Two nodes on one PostgreSQL database: activation through node B, a request created by
/// node A's e-CPS server, seen by a long-poll on node B and approved through node B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psc_03_two_nodes_request_created_on_a_is_approved_through_b() {
    let (db, clock) = fresh_db(Dialect::Postgres).await;
    let idnat = reachable_professional(&db.store, &clock).await;
    // Both nodes behind one public name, as behind a load balancer.
    let public = Some("https://caducee.test");
    let node_a = start_node_at(db.store.clone(), &clock, public).await;
    let store_b = Store::connect(&db.url).await.unwrap();
    let node_b = start_node_at(store_b.clone(), &clock, public).await;
    let dev = activate(&node_b, &clock, &idnat, idnat.as_str()).await;

    let poll = {
        let proof = dev.proof(&clock, "GET", "https://caducee.test/ecps/api/v1/requests");
        let base = node_b.base.clone();
        tokio::spawn(async move {
            let r = reqwest::Client::new()
                .get(format!("{base}/ecps/api/v1/requests?wait=10"))
                .header("DPoP", proof)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    };
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    let req = node_a
        .ecps
        .create_request(idnat.as_str(), "ROR National", None)
        .await
        .unwrap();
    let (status, body) = poll.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["requests"][0]["id"], req.id.as_str());
    let (status, body) = device_call(
        &node_b,
        &clock,
        &dev,
        "POST",
        &format!("/ecps/api/v1/requests/{}", req.id),
        Some(json!({"code": req.code, "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "approved");
    assert_eq!(
        node_a.ecps.request_state(&req.id).await.unwrap().status,
        RequestStatus::Approved
    );
    // A proof used on node B is refused on node A: the spent proofs are in the database.
    let proof = dev.proof(&clock, "GET", "https://caducee.test/ecps/api/v1/device");
    let (status, _) = send_with_proof(&node_b, "GET", "/ecps/api/v1/device", &proof, None).await;
    assert_eq!(status, 200);
    let (status, body) = send_with_proof(&node_a, "GET", "/ecps/api/v1/device", &proof, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("rejeu"),
        "{body}"
    );
    store_b.close().await;
    db.cleanup().await;
}

/// A long-poll of `GET /ecps/api/v1/requests?wait=SECS`, sent now and answered later:
/// (status, body, how long it took).
fn spawn_long_poll(
    node: &Node,
    clock: &ManualClock,
    dev: &Device,
    wait: u64,
) -> tokio::task::JoinHandle<(u16, Value, StdDuration)> {
    let proof = dev.proof(
        clock,
        "GET",
        &format!("{}/ecps/api/v1/requests", node.public),
    );
    let url = format!("{}/ecps/api/v1/requests?wait={wait}", node.base);
    tokio::spawn(async move {
        let t0 = Instant::now();
        let r = reqwest::Client::new()
            .get(url)
            .header("DPoP", proof)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.unwrap(), t0.elapsed())
    })
}

/// Waits (real time, a few milliseconds at a time) until `n` long-polls wait on the node.
async fn until_waiting(node: &Node, n: usize) {
    let deadline = Instant::now() + StdDuration::from_secs(5);
    while node.ecps.waiting_devices() != n {
        assert!(
            Instant::now() < deadline,
            "{} long-polls waiting, {n} expected",
            node.ecps.waiting_devices()
        );
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
}

/// Issue 10 item 14: one device holds one long-poll at a time. A new long-poll of the same
/// device ends the one waiting on the node (answered at once, empty, `superseded`), the new
/// one gets the next request, and another device's long-poll is left alone.
async fn one_long_poll_per_device(dialect: Dialect) {
    let (db, clock) = fresh_db(dialect).await;
    let idnat = reachable_professional(&db.store, &clock).await;
    let other = professional(2);
    add_person(
        &db.store,
        &clock,
        &other,
        Some(("autre.x02@cn.medecin.fr", "+33781234533")),
    )
    .await;
    let node = start_node(db.store.clone(), &clock).await;
    let dev = activate(&node, &clock, &idnat, idnat.as_str()).await;
    clock.advance(Duration::seconds(1));
    let (status, started) = post(
        &node,
        "/ecps/api/v1/activations",
        json!({"id": other.as_str()}),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let (e, s) = caducee_ecps_server::testkit::activation_codes(&db.store).await;
    let mut other_dev = Device::new();
    let (status, created) = post(
        &node,
        &format!(
            "/ecps/api/v1/activations/{}/confirm",
            started["activation_id"].as_str().unwrap()
        ),
        json!({"email_code": e, "sms_code": s, "password": PASSWORD, "public_jwk": other_dev.jwk}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    other_dev.id = created["device_id"].as_str().unwrap().to_string();

    let bystander = spawn_long_poll(&node, &clock, &other_dev, 10);
    until_waiting(&node, 1).await;
    let first = spawn_long_poll(&node, &clock, &dev, 5);
    until_waiting(&node, 2).await;
    let second = spawn_long_poll(&node, &clock, &dev, 10);
    let (status, body, took) = first.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["requests"], json!([]), "{body}");
    assert_eq!(body["superseded"], true, "{body}");
    assert!(
        took < StdDuration::from_secs(4),
        "the old long-poll waited {took:?}"
    );
    // The new one and the other device's still wait: one long-poll per device.
    until_waiting(&node, 2).await;
    assert!(!second.is_finished() && !bystander.is_finished());

    let req = node
        .ecps
        .create_request(idnat.as_str(), "ROR National", None)
        .await
        .unwrap();
    let (status, body, _) = second.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["requests"][0]["id"], req.id.as_str(), "{body}");
    assert!(body.get("superseded").is_none(), "{body}");
    until_waiting(&node, 1).await;
    assert!(!bystander.is_finished());
    let req = node
        .ecps
        .create_request(other.as_str(), "Ordre", None)
        .await
        .unwrap();
    let (status, body, _) = bystander.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["requests"][0]["id"], req.id.as_str(), "{body}");
    db.cleanup().await;
}

/// A POST from the source address `source`: (status, body, Retry-After).
async fn post_from(
    node: &Node,
    source: &str,
    path: &str,
    body: Value,
) -> (u16, Value, Option<i64>) {
    let r = node
        .http
        .post(format!("{}{path}", node.base))
        .header("x-test-source", source)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse::<i64>().unwrap());
    (status, r.json().await.unwrap_or(Value::Null), retry)
}

/// Activation messages queued so far (e-mails, SMS).
async fn activation_messages(store: &Store) -> (usize, usize) {
    let msgs = caducee_notify::recent(store, 1000).await.unwrap();
    let count = |kind| {
        msgs.iter()
            .filter(|m| m.template == "ecps_activation_code" && m.channel == kind)
            .count()
    };
    (
        count(caducee_notify::ChannelKind::Email),
        count(caducee_notify::ChannelKind::Sms),
    )
}

/// Issue 10 item 6: activations of someone else's RPPS. One source may start 2 activations an
/// hour for one professional and send 10 code pairs an hour (starts and resends, whoever
/// for); an activation whose codes were never entered right weighs on the professional's
/// budget (5) for one hour only, while one that was used weighs for 24 hours as before.
async fn activation_limits(dialect: Dialect) {
    const STRANGER: &str = "203.0.113.7";
    const VICTIM: &str = "198.51.100.20";
    let (db, clock) = fresh_db(dialect).await;
    let victim = reachable_professional(&db.store, &clock).await;
    let node = start_node(db.store.clone(), &clock).await;
    let start = json!({"id": victim.as_str()});
    let path = "/ecps/api/v1/activations";

    // The stranger: two activations for the victim, then refused for that person.
    let mut last = String::new();
    for _ in 0..2 {
        clock.advance(Duration::seconds(1));
        let (status, body, _) = post_from(&node, STRANGER, path, start.clone()).await;
        assert_eq!(status, 201, "{body}");
        last = body["activation_id"].as_str().unwrap().to_string();
    }
    let (status, body, retry) = post_from(&node, STRANGER, path, start.clone()).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "too_many_from_source", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("réessayez dans"),
        "{body}"
    );
    assert!(retry.is_some_and(|r| r > 0 && r <= 3600), "{retry:?}");
    // Its resends and its starts for other people share one budget of 10 sends an hour
    // (the refused start above counted: 3 so far).
    for _ in 0..3 {
        let (status, body, _) =
            post_from(&node, STRANGER, &format!("{path}/{last}/resend"), json!({})).await;
        assert_eq!(status, 200, "{body}");
    }
    for n in 10..14 {
        let (status, body, _) = post_from(
            &node,
            STRANGER,
            path,
            json!({"id": professional(n).as_str()}),
        )
        .await;
        assert_eq!(status, 404, "{body}");
    }
    let (status, body, _) =
        post_from(&node, STRANGER, &format!("{path}/{last}/resend"), json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("too_many_from_source")),
        "{body}"
    );
    // What reached the victim: 2 activations and 3 resends, 5 e-mails and 5 SMS, not 8.
    assert_eq!(activation_messages(&db.store).await, (5, 5));

    // The victim, from their own address, still activates: strangers' activations whose
    // codes were never entered do not use up their budget.
    clock.advance(Duration::seconds(1));
    let (status, body, _) = post_from(&node, VICTIM, path, start.clone()).await;
    assert_eq!(status, 201, "{body}");

    // A stranger from another address fills the budget (2 + 1 + 2 = 5)…
    for source in ["203.0.113.8", "203.0.113.8"] {
        clock.advance(Duration::seconds(1));
        let (status, body, _) = post_from(&node, source, path, start.clone()).await;
        assert_eq!(status, 201, "{source}: {body}");
    }
    let (status, body, retry) = post_from(&node, VICTIM, path, start.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("too_many_activations")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("minutes"), "{message}");
    let retry = retry.unwrap();
    assert!(retry > 0 && retry <= 3600, "{retry}");
    // …for an hour only, not a day.
    clock.advance(Duration::seconds(retry));
    clock.advance(Duration::seconds(1));
    let dev = activate_from(&node, &clock, VICTIM, &victim).await;
    assert!(!dev.id.is_empty());

    // Activations whose codes were used still weigh 24 hours: five in a day, then none.
    for _ in 0..4 {
        clock.advance(Duration::hours(1));
        activate_from(&node, &clock, VICTIM, &victim).await;
    }
    clock.advance(Duration::hours(2));
    let (status, body, retry) = post_from(&node, VICTIM, path, start.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("too_many_activations")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("heures"),
        "{body}"
    );
    let retry = retry.unwrap();
    assert!(retry > 3600 && retry <= 86_400, "{retry}");
    clock.advance(Duration::seconds(retry + 1));
    let (status, body, _) = post_from(&node, VICTIM, path, start).await;
    assert_eq!(status, 201, "{body}");
    db.cleanup().await;
}

/// An activation from `source`, confirmed with the codes of the outbox.
async fn activate_from(node: &Node, clock: &ManualClock, source: &str, idnat: &IdNatPs) -> Device {
    let (status, started, _) = post_from(
        node,
        source,
        "/ecps/api/v1/activations",
        json!({"id": idnat.as_str()}),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let (e, s) = caducee_ecps_server::testkit::activation_codes(node.ecps.store()).await;
    let mut dev = Device::new();
    let (status, created, _) = post_from(
        node,
        source,
        &format!(
            "/ecps/api/v1/activations/{}/confirm",
            started["activation_id"].as_str().unwrap()
        ),
        json!({"email_code": e, "sms_code": s, "password": PASSWORD, "public_jwk": dev.jwk}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    dev.id = created["device_id"].as_str().unwrap().to_string();
    clock.advance(Duration::seconds(1));
    dev
}

/// Issue 10 item 17: the activation API tells an unknown identifier, missing coordinates and
/// a reachable professional apart (the professional needs the masked coordinates and the
/// "contact your ARS"), so every such answer is counted per source, before it is computed:
/// past the source's budget, every identifier gets the same refusal and nothing is looked
/// up or sent.
async fn enumeration_costs(dialect: Dialect) {
    const PROBE: &str = "2001:db8:42:7::1";
    let (db, clock) = fresh_db(dialect).await;
    let known = reachable_professional(&db.store, &clock).await;
    let unreachable = professional(2);
    add_person(&db.store, &clock, &unreachable, None).await;
    let node = start_node(db.store.clone(), &clock).await;
    let path = "/ecps/api/v1/activations";
    let mut answers = Vec::new();
    for n in 0..10u32 {
        clock.advance(Duration::seconds(1));
        let id = match n {
            0 => unreachable.clone(),
            1 => known.clone(),
            n => professional(100 + n),
        };
        // Another address of the same IPv6 /64 each time: one source.
        let source = format!("2001:db8:42:7::{:x}", n + 2);
        let (status, body, _) = post_from(&node, &source, path, json!({"id": id.as_str()})).await;
        answers.push((status, body["error"].as_str().map(str::to_string)));
    }
    assert_eq!(answers[0], (409, Some("missing_contact".to_string())));
    assert_eq!(answers[1].0, 201);
    assert!(answers[2..]
        .iter()
        .all(|a| *a == (404, Some("unknown_professional".to_string()))));
    let sent = activation_messages(&db.store).await;
    assert_eq!(sent, (1, 1));
    // The eleventh answer, whatever the identifier: the same refusal, nothing sent.
    let mut refusals = Vec::new();
    for id in [&known, &unreachable, &professional(999)] {
        let (status, body, retry) = post_from(&node, PROBE, path, json!({"id": id.as_str()})).await;
        assert_eq!(status, 429, "{body}");
        assert!(retry.is_some(), "{body}");
        refusals.push(body);
    }
    assert_eq!(refusals[0]["error"], "too_many_from_source");
    assert!(refusals.iter().all(|r| *r == refusals[0]), "{refusals:?}");
    assert_eq!(activation_messages(&db.store).await, sent);
    // Another source is not concerned.
    let (status, body, _) = post_from(
        &node,
        "192.0.2.55",
        path,
        json!({"id": professional(999).as_str()}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_professional")),
        "{body}"
    );
    // An hour later, the probing source has its budget back.
    clock.advance(Duration::hours(2));
    let (status, body, _) = post_from(
        &node,
        PROBE,
        path,
        json!({"id": professional(999).as_str()}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    db.cleanup().await;
}
