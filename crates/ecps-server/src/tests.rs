//! Scenarios of the e-CPS server on SQLite and on PostgreSQL (PSC-03, PSC-04, PSC-05): codes
//! are read back from the notify outbox, time moves with a `ManualClock`, argon2 runs with
//! the cheap test policy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use caducee_core::clock::{Clock, ManualClock};
use caducee_core::ids::{IdNatPs, Rpps};
use caducee_registry::queries::{set_contact, ContactUpdate};
use caducee_store::testkit::TestDb;
use caducee_store::{audit, Dialect};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use time::macros::datetime;
use time::Duration;

use crate::*;

struct Env {
    db: TestDb,
    clock: ManualClock,
    ecps: EcpsServer,
    idnat: IdNatPs,
}

fn professional(n: u32) -> IdNatPs {
    IdNatPs::from(Rpps::from_payload(&format!("10001{n:05}")).unwrap())
}

async fn add_person(env: &Env, idnat: &IdNatPs, contact: Option<(&str, &str)>) {
    sqlx::query(
        "INSERT INTO reg_person (idnat, id_type, id_pp, last_name, first_name, updated_at)
         VALUES ($1, '8', $2, 'TEST', 'Alice', 0)",
    )
    .bind(idnat.as_str())
    .bind(idnat.number())
    .execute(env.db.store.pool())
    .await
    .unwrap();
    if let Some((email, mobile)) = contact {
        set_contact(
            &env.db.store,
            &env.clock,
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

async fn env(dialect: Dialect) -> Env {
    let db = TestDb::new(dialect).await;
    db.store.migrate(&migrations()).await.unwrap();
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    let ecps = crate::testkit::server(
        db.store.clone(),
        clock.shared(),
        caducee_notify::Waker::new(),
        "https://caducee.test",
    );
    let env = Env {
        db,
        clock,
        ecps,
        idnat: professional(1),
    };
    add_person(
        &env,
        &env.idnat.clone(),
        Some(("tudor.x01@cn.medecin.fr", "+33781234522")),
    )
    .await;
    env
}

fn new_key() -> (SigningKey, String) {
    let sk = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let jwk = sk.public_key().to_jwk_string();
    (SigningKey::from(sk), jwk)
}

fn proof(key: &SigningKey, kid: &str, htm: &str, htu: &str, iat: i64, jti: &str) -> String {
    let h = URL_SAFE_NO_PAD.encode(
        serde_json::json!({"alg": "ES256", "typ": "ecps-proof+jwt", "kid": kid}).to_string(),
    );
    let p = URL_SAFE_NO_PAD
        .encode(serde_json::json!({"htm": htm, "htu": htu, "iat": iat, "jti": jti}).to_string());
    let signing_input = format!("{h}.{p}");
    let sig: Signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

const PASSWORD: &str = "mot de passe e-CPS";

async fn activate(env: &Env, idnat: &IdNatPs) -> (Device, SigningKey) {
    // A second apart from earlier messages, so the outbox's newest-first order is strict.
    env.clock.advance(Duration::seconds(1));
    let started = env.ecps.start_activation(idnat).await.unwrap();
    let (e, s) = crate::testkit::activation_codes(&env.db.store).await;
    let (key, jwk) = new_key();
    let dev = env
        .ecps
        .confirm_activation(&started.activation_id, &e, &s, PASSWORD, &jwk)
        .await
        .unwrap();
    (dev, key)
}

async fn actions(env: &Env, idnat: &IdNatPs) -> Vec<String> {
    audit::events_for(&env.db.store, idnat.as_str())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

async fn assert_no_secret_in_audit(env: &Env, secrets: &[&str]) {
    let rows = sqlx::query("SELECT details FROM audit_event")
        .fetch_all(env.db.store.pool())
        .await
        .unwrap();
    for r in rows {
        let d: String = sqlx::Row::try_get(&r, 0).unwrap();
        for s in secrets {
            assert!(!d.contains(s), "secret in audit details: {d}");
        }
    }
}

use caducee_store::on_both_engines;

on_both_engines! {
    psc_04_activation_sends_codes_by_email_and_sms => activation_sends_codes;
    psc_04_missing_contact_tells_to_contact_the_ars => missing_contact;
    psc_04_wrong_codes_five_tries_then_dead => wrong_codes;
    psc_04_codes_expire_after_ten_minutes_and_resends_are_limited => codes_expire_and_resend;
    psc_04_reactivation_replaces_the_device => reactivation_replaces;
    psc_03_right_code_and_password_approve => approve;
    psc_03_wrong_choice_denies_the_request => wrong_choice;
    psc_03_five_wrong_passwords_lock_until_reactivation => lock_after_five;
    psc_03_request_expires_after_120_seconds => request_expires;
    psc_03_push_bombing_limits => push_bombing;
    psc_05_expired_ecps_is_refused_with_reactivation_message => device_expires;
    psc_03_device_proofs_are_verified_and_replays_refused => device_proofs;
    psc_05_reminders_30_and_7_days_before_expiry_once_each => reminders_once_each;
    psc_05_late_device_gets_only_the_7_day_reminder => reminder_only_7_days;
    psc_05_no_reminder_after_expiry_or_replacement_and_missing_email_is_audited => reminder_edge_cases;
    psc_03_long_poll_wakes_on_local_and_other_node_requests => long_poll_across_nodes;
}

async fn activation_sends_codes(dialect: Dialect) {
    let env = env(dialect).await;
    let now = env.clock.unix();
    let started = env.ecps.start_activation(&env.idnat).await.unwrap();
    assert_eq!(started.email_hint, "tu***01@cn.medecin.fr");
    assert_eq!(started.sms_hint, "+3378***22");
    assert_eq!(started.expires_at, now + 600);
    let msgs = caducee_notify::recent(&env.db.store, 10).await.unwrap();
    assert_eq!(msgs.len(), 2);
    for m in &msgs {
        assert_eq!(m.template, "ecps_activation_code");
        assert_eq!(m.not_after, Some(started.expires_at));
    }
    let (e, s) = crate::testkit::activation_codes(&env.db.store).await;
    // The codes are stored hashed only.
    let row = sqlx::query("SELECT email_code_hash, sms_code_hash FROM ecps_activation")
        .fetch_one(env.db.store.pool())
        .await
        .unwrap();
    let stored: (String, String) = (
        sqlx::Row::try_get(&row, 0).unwrap(),
        sqlx::Row::try_get(&row, 1).unwrap(),
    );
    assert!(!stored.0.contains(&e) && !stored.1.contains(&s));
    let (_key, jwk) = new_key();
    env.clock.advance(Duration::minutes(9));
    let dev = env
        .ecps
        .confirm_activation(&started.activation_id, &e, &s, PASSWORD, &jwk)
        .await
        .unwrap();
    assert_eq!(dev.idnat, env.idnat.as_str());
    assert_eq!(
        dev.expires_at,
        datetime!(2029-03-02 09:09 UTC).unix_timestamp(),
        "3 years from activation"
    );
    // Used codes cannot register a second device.
    let again = env
        .ecps
        .confirm_activation(&started.activation_id, &e, &s, PASSWORD, &jwk)
        .await;
    assert!(
        matches!(again, Err(EcpsError::ActivationClosed)),
        "{again:?}"
    );
    let hash: String = env
        .db
        .store
        .pool()
        .execute_scalar("SELECT password_hash FROM ecps_device")
        .await;
    assert!(hash.starts_with("$argon2id$"));
    let mut acts = actions(&env, &env.idnat).await;
    acts.sort();
    assert_eq!(
        acts,
        vec![
            "ecps.activation.started",
            "ecps.device.activated",
            "registry.contact.updated",
        ]
    );
    assert_no_secret_in_audit(&env, &[&e, &s, PASSWORD]).await;
    env.db.cleanup().await;
}

/// Small helper: one TEXT scalar.
trait ScalarExt {
    async fn execute_scalar(&self, sql: &str) -> String;
}

impl ScalarExt for sqlx::AnyPool {
    async fn execute_scalar(&self, sql: &str) -> String {
        let row = sqlx::query(sql).fetch_one(self).await.unwrap();
        sqlx::Row::try_get(&row, 0).unwrap()
    }
}

async fn missing_contact(dialect: Dialect) {
    let env = env(dialect).await;
    let nobody = professional(2);
    add_person(&env, &nobody, None).await;
    let err = env.ecps.start_activation(&nobody).await.unwrap_err();
    assert!(matches!(err, EcpsError::MissingContact(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("agence régionale de santé (ARS)"), "{msg}");
    let unknown = professional(3);
    let err = env.ecps.start_activation(&unknown).await.unwrap_err();
    assert!(matches!(err, EcpsError::UnknownProfessional(_)), "{err:?}");
    assert!(caducee_notify::recent(&env.db.store, 10)
        .await
        .unwrap()
        .is_empty());
    env.db.cleanup().await;
}

async fn wrong_codes(dialect: Dialect) {
    let env = env(dialect).await;
    let started = env.ecps.start_activation(&env.idnat).await.unwrap();
    let (e, s) = crate::testkit::activation_codes(&env.db.store).await;
    let (_k, jwk) = new_key();
    let wrong = if e == "000000" { "000001" } else { "000000" };
    // Bad inputs do not consume a try.
    let short = env
        .ecps
        .confirm_activation(&started.activation_id, &e, &s, "court", &jwk)
        .await;
    assert!(matches!(short, Err(EcpsError::BadPassword(_))));
    let badkey = env
        .ecps
        .confirm_activation(&started.activation_id, &e, &s, PASSWORD, "{}")
        .await;
    assert!(matches!(badkey, Err(EcpsError::BadPublicKey)));
    for remaining in (1..5).rev() {
        let r = env
            .ecps
            .confirm_activation(&started.activation_id, wrong, &s, PASSWORD, &jwk)
            .await;
        match r {
            Err(EcpsError::WrongCodes { remaining: n }) => assert_eq!(n, remaining),
            other => panic!("{other:?}"),
        }
    }
    let r = env
        .ecps
        .confirm_activation(&started.activation_id, &e, wrong, PASSWORD, &jwk)
        .await;
    assert!(matches!(r, Err(EcpsError::ActivationExhausted)), "{r:?}");
    // Dead even with the right codes.
    let r = env
        .ecps
        .confirm_activation(&started.activation_id, &e, &s, PASSWORD, &jwk)
        .await;
    assert!(matches!(r, Err(EcpsError::ActivationExhausted)), "{r:?}");
    assert!(env
        .ecps
        .active_device(env.idnat.as_str())
        .await
        .unwrap()
        .is_none());
    assert!(actions(&env, &env.idnat)
        .await
        .contains(&"ecps.activation.exhausted".to_string()));
    env.db.cleanup().await;
}

async fn codes_expire_and_resend(dialect: Dialect) {
    let env = env(dialect).await;
    let started = env.ecps.start_activation(&env.idnat).await.unwrap();
    let (e, s) = crate::testkit::activation_codes(&env.db.store).await;
    let (_k, jwk) = new_key();
    env.clock.advance(Duration::minutes(10));
    let r = env
        .ecps
        .confirm_activation(&started.activation_id, &e, &s, PASSWORD, &jwk)
        .await;
    assert!(matches!(r, Err(EcpsError::ActivationExpired)), "{r:?}");
    for _ in 0..3 {
        env.clock.advance(Duration::seconds(1));
        env.ecps
            .resend_activation(&started.activation_id)
            .await
            .unwrap();
    }
    let r = env.ecps.resend_activation(&started.activation_id).await;
    assert!(matches!(r, Err(EcpsError::TooManyResends)), "{r:?}");
    // The newest codes work (the outbox lists the newest first).
    let (e2, s2) = crate::testkit::activation_codes(&env.db.store).await;
    let dev = env
        .ecps
        .confirm_activation(&started.activation_id, &e2, &s2, PASSWORD, &jwk)
        .await
        .unwrap();
    assert_eq!(dev.idnat, env.idnat.as_str());
    // At most 5 activation requests a day.
    for _ in 0..4 {
        env.ecps.start_activation(&env.idnat).await.unwrap();
    }
    let r = env.ecps.start_activation(&env.idnat).await;
    assert!(
        matches!(r, Err(EcpsError::TooManyActivations { .. })),
        "{r:?}"
    );
    env.clock.advance(Duration::hours(24));
    env.ecps.start_activation(&env.idnat).await.unwrap();
    env.db.cleanup().await;
}

async fn reactivation_replaces(dialect: Dialect) {
    let env = env(dialect).await;
    let (first, first_key) = activate(&env, &env.idnat).await;
    env.clock.advance(Duration::days(30));
    let (second, _) = activate(&env, &env.idnat).await;
    assert_ne!(first.id, second.id);
    assert_eq!(
        env.ecps
            .active_device(env.idnat.as_str())
            .await
            .unwrap()
            .map(|d| d.id),
        Some(second.id.clone())
    );
    let r = env.ecps.pending_for_device(&first.id).await;
    assert!(matches!(r, Err(EcpsError::UnknownDevice)), "{r:?}");
    let url = "https://caducee.test/ecps/api/v1/requests";
    let p = proof(&first_key, &first.id, "GET", url, env.clock.unix(), "j1");
    let r = env.ecps.authenticate_device(&p, "GET", url).await;
    assert!(matches!(r, Err(EcpsError::UnknownDevice)), "{r:?}");
    env.db.cleanup().await;
}

async fn approve(dialect: Dialect) {
    let env = env(dialect).await;
    let (dev, _) = activate(&env, &env.idnat).await;
    let req = env
        .ecps
        .create_request(env.idnat.as_str(), "ROR National", None)
        .await
        .unwrap();
    assert_eq!(req.code.len(), 2);
    assert_eq!(req.expires_at, env.clock.unix() + 120);
    let pending = env.ecps.pending_for_device(&dev.id).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].service, "ROR National");
    assert_eq!(pending[0].choices.len(), 3);
    assert!(pending[0].choices.contains(&req.code));
    env.clock.advance(Duration::seconds(8));
    let out = env
        .ecps
        .answer(&dev.id, &req.id, &req.code, PASSWORD)
        .await
        .unwrap();
    assert_eq!(out, Outcome::Approved);
    let st = env.ecps.request_state(&req.id).await.unwrap();
    assert_eq!(st.status, RequestStatus::Approved);
    assert_eq!(st.decided_at, Some(env.clock.unix()));
    assert!(env
        .ecps
        .pending_for_device(&dev.id)
        .await
        .unwrap()
        .is_empty());
    let again = env.ecps.answer(&dev.id, &req.id, &req.code, PASSWORD).await;
    assert!(matches!(again, Err(EcpsError::RequestClosed)), "{again:?}");
    // The CIBA binding code is the code shown.
    let bound = env
        .ecps
        .create_request(env.idnat.as_str(), "CIBA", Some("07"))
        .await
        .unwrap();
    assert_eq!(bound.code, "07");
    assert!(matches!(
        env.ecps
            .create_request(env.idnat.as_str(), "CIBA", Some("7"))
            .await,
        Err(EcpsError::BadBinding)
    ));
    // Cancel ("Quitter l'authentification").
    let st = env.ecps.cancel_request(&bound.id).await.unwrap();
    assert_eq!(st.status, RequestStatus::Cancelled);
    // Another professional's device cannot answer.
    let other = professional(4);
    add_person(&env, &other, Some(("autre.pro@example.fr", "+33612345678"))).await;
    let (other_dev, _) = activate(&env, &other).await;
    let req2 = env
        .ecps
        .create_request(env.idnat.as_str(), "ROR National", None)
        .await
        .unwrap();
    let r = env
        .ecps
        .answer(&other_dev.id, &req2.id, &req2.code, PASSWORD)
        .await;
    assert!(matches!(r, Err(EcpsError::RequestNotFound)), "{r:?}");
    // No device: the login page must offer the activation.
    let none = professional(5);
    add_person(&env, &none, None).await;
    assert!(matches!(
        env.ecps.create_request(none.as_str(), "X", None).await,
        Err(EcpsError::NoDevice)
    ));
    let acts = actions(&env, &env.idnat).await;
    assert!(acts.contains(&"ecps.request.approved".to_string()));
    assert!(acts.contains(&"ecps.request.cancelled".to_string()));
    assert_no_secret_in_audit(&env, &[PASSWORD]).await;
    env.db.cleanup().await;
}

async fn wrong_choice(dialect: Dialect) {
    let env = env(dialect).await;
    let (dev, _) = activate(&env, &env.idnat).await;
    let req = env
        .ecps
        .create_request(env.idnat.as_str(), "Ordre", None)
        .await
        .unwrap();
    let pending = env.ecps.pending_for_device(&dev.id).await.unwrap();
    let wrong = pending[0]
        .choices
        .iter()
        .find(|c| **c != req.code)
        .unwrap()
        .clone();
    let out = env
        .ecps
        .answer(&dev.id, &req.id, &wrong, PASSWORD)
        .await
        .unwrap();
    assert_eq!(out, Outcome::Denied);
    assert_eq!(
        env.ecps.request_state(&req.id).await.unwrap().status,
        RequestStatus::Denied
    );
    assert!(actions(&env, &env.idnat)
        .await
        .contains(&"ecps.request.denied".to_string()));
    env.db.cleanup().await;
}

async fn lock_after_five(dialect: Dialect) {
    let env = env(dialect).await;
    let (dev, _) = activate(&env, &env.idnat).await;
    let req = env
        .ecps
        .create_request(env.idnat.as_str(), "RPLUS", None)
        .await
        .unwrap();
    // A right password resets the count: 4 wrong, 1 right (wrong code), then 4 wrong again.
    for _ in 0..4 {
        env.ecps
            .answer(&dev.id, &req.id, &req.code, "mauvais mdp")
            .await
            .unwrap();
    }
    let out = env
        .ecps
        .answer(&dev.id, &req.id, "00", PASSWORD)
        .await
        .unwrap();
    assert!(matches!(out, Outcome::Denied | Outcome::Approved));
    let req = env
        .ecps
        .create_request(env.idnat.as_str(), "RPLUS", None)
        .await
        .unwrap();
    for remaining in (1..5).rev() {
        let out = env
            .ecps
            .answer(&dev.id, &req.id, &req.code, "mauvais mdp")
            .await
            .unwrap();
        assert_eq!(out, Outcome::WrongPassword { remaining });
    }
    let out = env
        .ecps
        .answer(&dev.id, &req.id, &req.code, "mauvais mdp")
        .await
        .unwrap();
    assert_eq!(out, Outcome::Locked);
    assert_eq!(
        env.ecps.request_state(&req.id).await.unwrap().status,
        RequestStatus::Denied
    );
    // Locked: even the right password is refused, and no request can be created.
    let r = env.ecps.answer(&dev.id, &req.id, &req.code, PASSWORD).await;
    assert!(matches!(r, Err(EcpsError::DeviceLocked)), "{r:?}");
    let r = env
        .ecps
        .create_request(env.idnat.as_str(), "RPLUS", None)
        .await;
    let err = r.unwrap_err();
    assert!(matches!(err, EcpsError::DeviceLocked));
    assert!(err.to_string().contains("réactivez"), "{err}");
    assert!(actions(&env, &env.idnat)
        .await
        .contains(&"ecps.device.locked".to_string()));
    // Reactivation gives a fresh, unlocked device.
    let (dev2, _) = activate(&env, &env.idnat).await;
    let req = env
        .ecps
        .create_request(env.idnat.as_str(), "RPLUS", None)
        .await
        .unwrap();
    assert_eq!(
        env.ecps
            .answer(&dev2.id, &req.id, &req.code, PASSWORD)
            .await
            .unwrap(),
        Outcome::Approved
    );
    env.db.cleanup().await;
}

async fn request_expires(dialect: Dialect) {
    let env = env(dialect).await;
    let (dev, _) = activate(&env, &env.idnat).await;
    let req = env
        .ecps
        .create_request(env.idnat.as_str(), "ROR", None)
        .await
        .unwrap();
    env.clock.advance(Duration::seconds(119));
    assert_eq!(env.ecps.pending_for_device(&dev.id).await.unwrap().len(), 1);
    env.clock.advance(Duration::seconds(1));
    assert!(env
        .ecps
        .pending_for_device(&dev.id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        env.ecps.request_state(&req.id).await.unwrap().status,
        RequestStatus::Expired
    );
    let r = env.ecps.answer(&dev.id, &req.id, &req.code, PASSWORD).await;
    assert!(matches!(r, Err(EcpsError::RequestExpired)), "{r:?}");
    let done = env.ecps.housekeeping().await.unwrap();
    assert_eq!(done.requests_expired, 1);
    assert_eq!(
        env.ecps.request_state(&req.id).await.unwrap().status,
        RequestStatus::Expired
    );
    env.db.cleanup().await;
}

async fn push_bombing(dialect: Dialect) {
    let env = env(dialect).await;
    let (_dev, _) = activate(&env, &env.idnat).await;
    let id = env.idnat.as_str();
    for _ in 0..3 {
        env.ecps.create_request(id, "S", None).await.unwrap();
    }
    let err = env.ecps.create_request(id, "S", None).await.unwrap_err();
    assert!(matches!(err, EcpsError::TooManyPending), "{err:?}");
    assert!(err.to_string().contains("en attente"));
    // Once they expire, more may come, up to 10 in 10 minutes.
    for _ in 0..2 {
        env.clock.advance(Duration::seconds(121));
        for _ in 0..3 {
            env.ecps.create_request(id, "S", None).await.unwrap();
        }
    }
    env.clock.advance(Duration::seconds(121));
    env.ecps.create_request(id, "S", None).await.unwrap();
    let err = env.ecps.create_request(id, "S", None).await.unwrap_err();
    assert!(matches!(err, EcpsError::TooManyRequests), "{err:?}");
    env.clock.advance(Duration::minutes(10));
    env.ecps.create_request(id, "S", None).await.unwrap();
    assert!(actions(&env, &env.idnat)
        .await
        .contains(&"ecps.request.refused".to_string()));
    env.db.cleanup().await;
}

async fn device_expires(dialect: Dialect) {
    let env = env(dialect).await;
    let (dev, key) = activate(&env, &env.idnat).await;
    assert_eq!(
        dev.expires_at,
        datetime!(2029-03-02 09:00:01 UTC).unix_timestamp()
    );
    env.clock.set(datetime!(2029-03-02 09:00:00 UTC));
    let req = env
        .ecps
        .create_request(env.idnat.as_str(), "ROR", None)
        .await
        .unwrap();
    env.clock.advance(Duration::seconds(1));
    for err in [
        env.ecps
            .create_request(env.idnat.as_str(), "ROR", None)
            .await
            .unwrap_err(),
        env.ecps.pending_for_device(&dev.id).await.unwrap_err(),
        env.ecps
            .answer(&dev.id, &req.id, &req.code, PASSWORD)
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(err, EcpsError::DeviceExpired), "{err:?}");
        assert!(err.to_string().contains("réactivez"), "{err}");
    }
    let url = "https://caducee.test/ecps/api/v1/requests";
    let p = proof(&key, &dev.id, "GET", url, env.clock.unix(), "late");
    let r = env.ecps.authenticate_device(&p, "GET", url).await;
    assert!(matches!(r, Err(EcpsError::DeviceExpired)), "{r:?}");
    // Reactivation after expiry works; the professional's pending request is still there.
    let (dev2, _) = activate(&env, &env.idnat).await;
    let pending = env.ecps.pending_for_device(&dev2.id).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, req.id);
    env.db.cleanup().await;
}

async fn device_proofs(dialect: Dialect) {
    let env = env(dialect).await;
    let (dev, key) = activate(&env, &env.idnat).await;
    let url = "https://caducee.test/ecps/api/v1/requests";
    let now = env.clock.unix();
    let p = proof(&key, &dev.id, "GET", url, now, "jti-1");
    let who = env
        .ecps
        .authenticate_device(&p, "GET", &format!("{url}?wait=25"))
        .await
        .unwrap();
    assert_eq!(who.id, dev.id);
    assert_eq!(who.idnat, env.idnat.as_str());
    // Replay refused (another node sees the same table).
    let r = env.ecps.authenticate_device(&p, "GET", url).await;
    assert!(
        matches!(&r, Err(EcpsError::BadDeviceProof(m)) if m.contains("rejeu")),
        "{r:?}"
    );
    assert!(actions(&env, &env.idnat)
        .await
        .contains(&"ecps.proof.replayed".to_string()));
    let refused = |r: Result<DeviceRef, EcpsError>| {
        assert!(matches!(r, Err(EcpsError::BadDeviceProof(_))), "{r:?}")
    };
    // Bound to the method and the URL.
    refused(
        env.ecps
            .authenticate_device(&proof(&key, &dev.id, "GET", url, now, "a"), "POST", url)
            .await,
    );
    refused(
        env.ecps
            .authenticate_device(
                &proof(&key, &dev.id, "GET", url, now, "b"),
                "GET",
                "https://caducee.test/ecps/api/v1/activations",
            )
            .await,
    );
    // Fresh within 60 s either way.
    env.ecps
        .authenticate_device(&proof(&key, &dev.id, "GET", url, now - 60, "c"), "GET", url)
        .await
        .unwrap();
    refused(
        env.ecps
            .authenticate_device(&proof(&key, &dev.id, "GET", url, now - 61, "d"), "GET", url)
            .await,
    );
    refused(
        env.ecps
            .authenticate_device(&proof(&key, &dev.id, "GET", url, now + 61, "e"), "GET", url)
            .await,
    );
    // Signed by another key.
    let (other, _) = new_key();
    refused(
        env.ecps
            .authenticate_device(&proof(&other, &dev.id, "GET", url, now, "f"), "GET", url)
            .await,
    );
    // Tampered payload, alg none, garbage.
    let good = proof(&key, &dev.id, "GET", url, now, "g");
    let parts: Vec<&str> = good.split('.').collect();
    let forged_payload = URL_SAFE_NO_PAD
        .encode(serde_json::json!({"htm": "POST", "htu": url, "iat": now, "jti": "g"}).to_string());
    refused(
        env.ecps
            .authenticate_device(
                &format!("{}.{forged_payload}.{}", parts[0], parts[2]),
                "POST",
                url,
            )
            .await,
    );
    let none_header =
        URL_SAFE_NO_PAD.encode(serde_json::json!({"alg": "none", "kid": dev.id}).to_string());
    refused(
        env.ecps
            .authenticate_device(&format!("{none_header}.{}.", parts[1]), "GET", url)
            .await,
    );
    refused(env.ecps.authenticate_device("a.b", "GET", url).await);
    let r = env
        .ecps
        .authenticate_device(
            &proof(&key, "no-such-device", "GET", url, now, "h"),
            "GET",
            url,
        )
        .await;
    assert!(matches!(r, Err(EcpsError::UnknownDevice)), "{r:?}");
    // The same jti stays refused until the proof could no longer be fresh, then is purged.
    env.clock.advance(Duration::seconds(62));
    let purged = env.ecps.housekeeping().await.unwrap().proofs_purged;
    assert!(purged >= 2, "{purged}");
    env.db.cleanup().await;
}

/// The expiry reminders queued in the outbox, oldest first: (recipient, subject, text).
async fn reminders(env: &Env) -> Vec<(String, String, String)> {
    let mut msgs: Vec<_> = caducee_notify::recent(&env.db.store, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.template == "ecps_expiry_reminder")
        .collect();
    msgs.reverse();
    msgs.into_iter()
        .map(|m| {
            assert_eq!(m.channel, caducee_notify::ChannelKind::Email);
            (m.recipient, m.subject, m.body_text)
        })
        .collect()
}

async fn reminder_events(env: &Env) -> Vec<serde_json::Value> {
    audit::events_for(&env.db.store, env.idnat.as_str())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "ecps.device.expiry_reminder")
        .map(|e| {
            assert_eq!(e.actor, "system:ecps");
            serde_json::from_str(&e.details).unwrap()
        })
        .collect()
}

async fn reminders_once_each(dialect: Dialect) {
    let env = env(dialect).await;
    let (dev, _) = activate(&env, &env.idnat).await;
    let expiry = datetime!(2029-03-02 09:00:01 UTC);
    assert_eq!(dev.expires_at, expiry.unix_timestamp());
    // Nothing until 30 days before, however often the housekeeping runs.
    env.clock
        .set(expiry - Duration::days(30) - Duration::seconds(1));
    assert_eq!(env.ecps.housekeeping().await.unwrap().reminders, 0);
    assert!(reminders(&env).await.is_empty());
    // 30 days before: one e-mail to the registry's address, in French, with the date.
    env.clock.advance(Duration::seconds(1));
    assert_eq!(env.ecps.housekeeping().await.unwrap().reminders, 1);
    let sent = reminders(&env).await;
    assert_eq!(sent.len(), 1);
    let (to, subject, text) = &sent[0];
    assert_eq!(to, "tudor.x01@cn.medecin.fr");
    assert_eq!(subject, "Votre e-CPS expire le 02/03/2029");
    assert!(
        text.contains("Votre e-CPS expire le 02/03/2029, dans 30 jours."),
        "{text}"
    );
    assert!(text.contains("caducee ecps activate"), "{text}");
    // The message is useless once the e-CPS has expired.
    let queued = caducee_notify::recent(&env.db.store, 1).await.unwrap();
    assert_eq!(queued[0].not_after, Some(dev.expires_at));
    // Again and again, from day 30 to day 8: no second 30-day reminder.
    for _ in 0..3 {
        assert_eq!(env.ecps.housekeeping().await.unwrap().reminders, 0);
    }
    env.clock
        .set(expiry - Duration::days(7) - Duration::seconds(1));
    assert_eq!(env.ecps.housekeeping().await.unwrap().reminders, 0);
    // 7 days before: the second one, once.
    env.clock.advance(Duration::seconds(1));
    assert_eq!(env.ecps.housekeeping().await.unwrap().reminders, 1);
    env.clock.advance(Duration::days(3));
    assert_eq!(env.ecps.housekeeping().await.unwrap().reminders, 0);
    let sent = reminders(&env).await;
    assert_eq!(sent.len(), 2);
    assert!(sent[1].2.contains("dans 7 jours"), "{}", sent[1].2);
    // Stored on the device row; audited with the masked address only.
    let row = sqlx::query("SELECT reminded_30d_at, reminded_7d_at FROM ecps_device WHERE id = $1")
        .bind(&dev.id)
        .fetch_one(env.db.store.pool())
        .await
        .unwrap();
    let marks: (Option<i64>, Option<i64>) = (
        sqlx::Row::try_get(&row, 0).unwrap(),
        sqlx::Row::try_get(&row, 1).unwrap(),
    );
    assert_eq!(
        marks,
        (
            Some((expiry - Duration::days(30)).unix_timestamp()),
            Some((expiry - Duration::days(7)).unix_timestamp())
        )
    );
    let events = reminder_events(&env).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["thresholdDays"], 30);
    assert_eq!(events[1]["thresholdDays"], 7);
    assert_eq!(events[1]["email"], "tu***01@cn.medecin.fr");
    assert_eq!(events[1]["sent"], true);
    assert_no_secret_in_audit(&env, &["tudor.x01@cn.medecin.fr"]).await;
    // Expiry: refused with the reactivation message, and no more reminders.
    env.clock.set(expiry);
    let err = env.ecps.pending_for_device(&dev.id).await.unwrap_err();
    assert!(matches!(err, EcpsError::DeviceExpired), "{err:?}");
    assert!(err.to_string().contains("réactivez-la"), "{err}");
    assert_eq!(env.ecps.housekeeping().await.unwrap().reminders, 0);
    assert_eq!(reminders(&env).await.len(), 2);
    env.db.cleanup().await;
}

async fn reminder_only_7_days(dialect: Dialect) {
    let env = env(dialect).await;
    let (dev, _) = activate(&env, &env.idnat).await;
    let expiry = time::OffsetDateTime::from_unix_timestamp(dev.expires_at).unwrap();
    // The housekeeping did not run between day 30 and day 7 (node down): 5 days left.
    env.clock.set(expiry - Duration::days(5));
    // Two nodes run it at the same moment: one reminder.
    let other = env.ecps.clone();
    let (a, b) = tokio::join!(env.ecps.housekeeping(), other.housekeeping());
    assert_eq!(a.unwrap().reminders + b.unwrap().reminders, 1);
    let sent = reminders(&env).await;
    assert_eq!(sent.len(), 1, "only the 7-day reminder");
    assert!(sent[0].2.contains("dans 5 jours"), "{}", sent[0].2);
    let events = reminder_events(&env).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["thresholdDays"], 7);
    // The 30-day one never comes afterwards.
    env.clock.advance(Duration::days(1));
    assert_eq!(env.ecps.housekeeping().await.unwrap().reminders, 0);
    assert_eq!(reminders(&env).await.len(), 1);
    // Within the last day: "moins de 24 heures" (for a device that also missed day 7).
    let late = professional(6);
    add_person(&env, &late, Some(("late.pro@example.fr", "+33612345606"))).await;
    let (late_dev, _) = activate(&env, &late).await;
    env.clock.set(
        time::OffsetDateTime::from_unix_timestamp(late_dev.expires_at).unwrap()
            - Duration::hours(20),
    );
    assert_eq!(env.ecps.housekeeping().await.unwrap().reminders, 1);
    let sent = reminders(&env).await;
    assert_eq!(sent.last().unwrap().0, "late.pro@example.fr");
    assert!(
        sent.last().unwrap().2.contains("dans moins de 24 heures"),
        "{}",
        sent.last().unwrap().2
    );
    env.db.cleanup().await;
}

async fn reminder_edge_cases(dialect: Dialect) {
    let env = env(dialect).await;
    // Replaced 10 days before its expiry: the new device is valid 3 years, nothing is due.
    let (first, _) = activate(&env, &env.idnat).await;
    let expiry = time::OffsetDateTime::from_unix_timestamp(first.expires_at).unwrap();
    env.clock.set(expiry - Duration::days(10));
    let (second, _) = activate(&env, &env.idnat).await;
    assert_ne!(first.id, second.id);
    assert_eq!(env.ecps.housekeeping().await.unwrap().reminders, 0);
    // Expired without any reminder (caducee was down for a month): none after the fact.
    let gone = professional(7);
    add_person(&env, &gone, Some(("gone.pro@example.fr", "+33612345607"))).await;
    let (gone_dev, _) = activate(&env, &gone).await;
    env.clock
        .set(time::OffsetDateTime::from_unix_timestamp(gone_dev.expires_at).unwrap());
    assert_eq!(env.ecps.housekeeping().await.unwrap().reminders, 0);
    let err = env
        .ecps
        .create_request(gone.as_str(), "ROR", None)
        .await
        .unwrap_err();
    assert!(matches!(err, EcpsError::DeviceExpired), "{err:?}");
    assert!(err.to_string().contains("réactivez-la"), "{err}");
    // No valid e-mail in the registry any more: nothing queued, the reminder is recorded
    // as not sent (audited) and not retried every minute.
    let lost = professional(8);
    add_person(&env, &lost, Some(("lost.pro@example.fr", "+33612345608"))).await;
    let (lost_dev, _) = activate(&env, &lost).await;
    sqlx::query("UPDATE reg_contact SET email = '' WHERE idnat = $1")
        .bind(lost.as_str())
        .execute(env.db.store.pool())
        .await
        .unwrap();
    env.clock.set(
        time::OffsetDateTime::from_unix_timestamp(lost_dev.expires_at).unwrap()
            - Duration::days(20),
    );
    assert_eq!(env.ecps.housekeeping().await.unwrap().reminders, 1);
    assert_eq!(env.ecps.housekeeping().await.unwrap().reminders, 0);
    assert!(reminders(&env).await.is_empty());
    let events: Vec<serde_json::Value> = audit::events_for(&env.db.store, lost.as_str())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "ecps.device.expiry_reminder")
        .map(|e| serde_json::from_str(&e.details).unwrap())
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["sent"], false);
    assert_eq!(events[0]["email"], serde_json::Value::Null);
    env.db.cleanup().await;
}

async fn long_poll_across_nodes(dialect: Dialect) {
    use std::time::{Duration as StdDuration, Instant};
    let env = env(dialect).await;
    let (dev, _) = activate(&env, &env.idnat).await;
    // Nothing pending: an empty answer after the wait, and no waiter left behind.
    let t0 = Instant::now();
    let none = env
        .ecps
        .wait_for_pending(&dev.id, StdDuration::from_millis(600))
        .await
        .unwrap();
    assert!(none.is_empty());
    assert!(t0.elapsed() >= StdDuration::from_millis(600));
    assert_eq!(env.ecps.waiting_devices(), 0);
    // Another node: its own e-CPS server (own waiters, own poller) on the same database.
    let other_store = caducee_store::Store::connect(&env.db.url).await.unwrap();
    let node_b = EcpsServer::new(
        other_store.clone(),
        env.clock.shared(),
        caducee_notify::Waker::new(),
        EcpsConfig::default(),
    );
    for (creator, name) in [(&env.ecps, "same node"), (&node_b, "other node")] {
        let waiter = {
            let ecps = env.ecps.clone();
            let id = dev.id.clone();
            tokio::spawn(async move {
                let t0 = Instant::now();
                let r = ecps
                    .wait_for_pending(&id, StdDuration::from_secs(10))
                    .await
                    .unwrap();
                (r, t0.elapsed())
            })
        };
        // Let it register and start waiting.
        let deadline = Instant::now() + StdDuration::from_secs(5);
        while env.ecps.waiting_devices() == 0 {
            assert!(Instant::now() < deadline, "{name}: the waiter never waited");
            tokio::time::sleep(StdDuration::from_millis(10)).await;
        }
        let created_at = Instant::now();
        let req = creator
            .create_request(env.idnat.as_str(), name, None)
            .await
            .unwrap();
        let (pending, _) = waiter.await.unwrap();
        let latency = created_at.elapsed();
        assert_eq!(pending.len(), 1, "{name}");
        assert_eq!(pending[0].id, req.id, "{name}");
        // Same node: woken by the creation; other node: seen by this node's poller within
        // 250 ms (the bound leaves room for a loaded machine).
        assert!(
            latency < StdDuration::from_millis(1_500),
            "{name}: {latency:?}"
        );
        assert_eq!(env.ecps.waiting_devices(), 0);
        env.ecps.cancel_request(&req.id).await.unwrap();
    }
    // A locked device's long-poll is refused, not left waiting.
    sqlx::query("UPDATE ecps_device SET locked = 1 WHERE id = $1")
        .bind(&dev.id)
        .execute(env.db.store.pool())
        .await
        .unwrap();
    let r = env
        .ecps
        .wait_for_pending(&dev.id, StdDuration::from_secs(5))
        .await;
    assert!(matches!(r, Err(EcpsError::DeviceLocked)), "{r:?}");
    other_store.close().await;
    env.db.cleanup().await;
}
