//! The protocol side of the identity provider through real HTTP (PSC-01, PSC-09): the real
//! router on an ephemeral port, a real database (SQLite and PostgreSQL), the demo personas
//! of the registry, a `ManualClock` (expiries are reached by moving it, never by sleeping),
//! the cheap test argon2 policy for the e-CPS. Authorization codes come from
//! `Idp::issue_code`, as the browser side obtains them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use caducee_core::clock::ManualClock;
use caducee_core::ids::IdNatPs;
use caducee_ecps_server::{EcpsServer, Outcome};
use caducee_idp::{Authentication, ClientSpec, CodeRequest, Idp, IdpConfig};
use caducee_store::testkit::TestDb;
use caducee_store::{on_both_engines, Dialect, Store};
use serde_json::{json, Value};
use sha2::Digest;
use time::macros::datetime;
use time::Duration;

const JULIE: &str = "819999900012";
const THOMAS: &str = "819999900020";
const SECRET: &str = "0123456789abcdef0123456789abcdef-secret";
const INSTANCE_SECRET: &[u8] = b"instance secret of the tests, 32+ bytes long";
const PASSWORD: &str = "mot de passe e-CPS";

struct Rig {
    db: TestDb,
    clock: ManualClock,
    idp: Idp,
    ecps: Arc<EcpsServer>,
    base: String,
    http: reqwest::Client,
}

async fn seed_personas(store: &Store, clock: &ManualClock) {
    use caducee_registry::generate::{generate_personne_activite, personas_rows, GenerateOptions};
    use caducee_registry::import::{import_reader, ImportOptions, NoProgress};
    let mut data = Vec::new();
    generate_personne_activite(
        &GenerateOptions {
            rows: 0,
            seed: 1,
            crlf: false,
        },
        &mut data,
    )
    .unwrap();
    data.extend_from_slice(personas_rows().as_bytes());
    let total = data.len() as u64;
    let report = tempfile_path();
    import_reader(
        store,
        clock,
        "personas",
        Box::new(std::io::Cursor::new(data)),
        total,
        report,
        &ImportOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
}

fn tempfile_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("caducee-idp-test-{}.tsv", uuid::Uuid::new_v4()))
}

async fn start_node(
    store: Store,
    clock: &ManualClock,
    config: IdpConfig,
) -> (Idp, Arc<EcpsServer>, String) {
    start_node_at(store, clock, config, None).await
}

/// A node listening on its own port (returned); `public` is the URL the nodes share behind
/// one name (the issuer), by default this node's address.
async fn start_node_at(
    store: Store,
    clock: &ManualClock,
    config: IdpConfig,
    public: Option<&str>,
) -> (Idp, Arc<EcpsServer>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let own = format!("http://{}", listener.local_addr().unwrap());
    let base = public.map_or_else(|| own.clone(), str::to_string);
    let ecps = Arc::new(caducee_ecps_server::testkit::server(
        store.clone(),
        clock.shared(),
        caducee_notify::Waker::new(),
        &base,
    ));
    let idp = Idp::start(
        store,
        clock.shared(),
        &base,
        config,
        ecps.clone(),
        INSTANCE_SECRET,
    )
    .await
    .unwrap();
    let app = caducee_idp::router(idp.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (idp, ecps, own)
}

async fn rig_with(dialect: Dialect, config: IdpConfig) -> Rig {
    let db = TestDb::new(dialect).await;
    db.store.migrate(&caducee_idp::migrations()).await.unwrap();
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    seed_personas(&db.store, &clock).await;
    let (idp, ecps, base) = start_node(db.store.clone(), &clock, config).await;
    Rig {
        db,
        clock,
        idp,
        ecps,
        base,
        http: reqwest::Client::new(),
    }
}

async fn rig(dialect: Dialect) -> Rig {
    rig_with(dialect, IdpConfig::default()).await
}

impl Rig {
    fn url(&self, path: &str) -> String {
        format!("{}/auth/realms/esante-wallet{path}", self.base)
    }

    fn issuer(&self) -> String {
        format!("{}/auth/realms/esante-wallet", self.base)
    }

    /// A confidential client with the demo secret.
    async fn confidential(&self, id: &str, grants: &[&str]) {
        self.idp
            .upsert_client(
                ClientSpec {
                    client_id: id.into(),
                    name: format!("Application {id}"),
                    secret: Some(SECRET.into()),
                    redirect_uris: vec![format!("https://{id}.example/cb")],
                    post_logout_redirect_uris: vec![format!("https://{id}.example/bye")],
                    grants: grants.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                },
                "operator:test",
            )
            .await
            .unwrap();
    }

    async fn post(&self, path: &str, client: Option<&str>, form: &[(&str, &str)]) -> (u16, Value) {
        let mut req = self.http.post(self.url(path)).form(form);
        if let Some(c) = client {
            req = req.basic_auth(c, Some(SECRET));
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let cc = resp
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(cc.as_deref(), Some("no-store"), "{path} must not be cached");
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn token(&self, client: &str, form: &[(&str, &str)]) -> (u16, Value) {
        self.post("/protocol/openid-connect/token", Some(client), form)
            .await
    }

    async fn introspect(&self, client: &str, token: &str) -> Value {
        let (s, v) = self
            .post(
                "/protocol/openid-connect/token/introspect",
                Some(client),
                &[("token", token)],
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v
    }

    async fn userinfo(&self, token: &str) -> reqwest::Response {
        self.http
            .get(self.url("/protocol/openid-connect/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// A code for `client` as the browser side would get it, for Julie Martin.
    async fn code(&self, client: &str, challenge: Option<&str>, session: Option<&str>) -> String {
        self.idp
            .issue_code(
                &CodeRequest {
                    client_id: client.into(),
                    redirect_uri: format!("https://{client}.example/cb"),
                    scope: "openid scope_all".into(),
                    nonce: Some("n-0S6_WzA2Mj".into()),
                    code_challenge: challenge.map(str::to_string),
                },
                &Authentication {
                    idnat: JULIE.into(),
                    auth_time: self.now() - 5,
                    acr: "eidas1".into(),
                    amr: vec!["pwd".into(), "swk".into(), "mfa".into()],
                    auth_mode: "MOBILE".into(),
                    session_id: session.map(str::to_string),
                },
            )
            .await
            .unwrap()
    }

    async fn redeem(&self, client: &str, code: &str, verifier: Option<&str>) -> (u16, Value) {
        let redirect = format!("https://{client}.example/cb");
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect.as_str()),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        self.token(client, &form).await
    }

    fn now(&self) -> i64 {
        use caducee_core::clock::Clock;
        self.clock.unix()
    }

    async fn jwks(&self) -> Value {
        self.http
            .get(self.url("/protocol/openid-connect/certs"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// The claims of a JWT, after checking its signature against the published JWKS with an
/// independent code path (aws-lc-rs's unparsed keys for RS256, the p256 crate for ES256).
async fn verified_claims(rig: &Rig, jwt: &str) -> (Value, Value) {
    let jwks = rig.jwks().await;
    let mut parts = jwt.split('.');
    let (h, p, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
    let sig = URL_SAFE_NO_PAD.decode(s).unwrap();
    let kid = header["kid"].as_str().unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} not in the JWKS"));
    let msg = format!("{h}.{p}");
    let d = |k: &str| URL_SAFE_NO_PAD.decode(jwk[k].as_str().unwrap()).unwrap();
    match header["alg"].as_str().unwrap() {
        "RS256" => {
            use aws_lc_rs::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
            RsaPublicKeyComponents {
                n: d("n"),
                e: d("e"),
            }
            .verify(&RSA_PKCS1_2048_8192_SHA256, msg.as_bytes(), &sig)
            .expect("RS256 signature verifies with the JWKS");
        }
        "ES256" => {
            use p256::ecdsa::signature::Verifier as _;
            let mut point = vec![4u8];
            point.extend(d("x"));
            point.extend(d("y"));
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
            let sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
            vk.verify(msg.as_bytes(), &sig)
                .expect("ES256 signature verifies with the JWKS");
        }
        other => panic!("unexpected alg {other}"),
    }
    (header, claims)
}

fn pkce() -> (String, String) {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
}

// ---------------------------------------------------------------------------------------
// Discovery and JWKS
// ---------------------------------------------------------------------------------------

async fn discovery_and_jwks(dialect: Dialect) {
    let rig = rig(dialect).await;
    let std: Value = rig
        .http
        .get(rig.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wallet: Value = rig
        .http
        .get(rig.url("/.well-known/wallet-openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(std, wallet);
    let iss = rig.issuer();
    assert_eq!(s(&std, "issuer"), iss);
    for (k, path) in [
        ("authorization_endpoint", "/protocol/openid-connect/auth"),
        ("token_endpoint", "/protocol/openid-connect/token"),
        ("userinfo_endpoint", "/protocol/openid-connect/userinfo"),
        ("jwks_uri", "/protocol/openid-connect/certs"),
        ("end_session_endpoint", "/protocol/openid-connect/logout"),
        (
            "introspection_endpoint",
            "/protocol/openid-connect/token/introspect",
        ),
        ("revocation_endpoint", "/protocol/openid-connect/revoke"),
        (
            "backchannel_authentication_endpoint",
            "/protocol/openid-connect/ext/ciba/auth",
        ),
    ] {
        assert_eq!(s(&std, k), format!("{iss}{path}"), "{k}");
    }
    let set = |k: &str| -> BTreeSet<String> {
        std[k]
            .as_array()
            .unwrap_or_else(|| panic!("{k}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let want = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<BTreeSet<_>>();
    assert!(set("grant_types_supported").is_superset(&want(&[
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:openid:params:grant-type:ciba"
    ])));
    assert_eq!(
        set("backchannel_token_delivery_modes_supported"),
        want(&["poll"])
    );
    assert!(
        set("token_endpoint_auth_methods_supported").is_superset(&want(&[
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ]))
    );
    assert_eq!(set("code_challenge_methods_supported"), want(&["S256"]));
    assert!(set("scopes_supported").is_superset(&want(&[
        "openid",
        "scope_all",
        "profile",
        "email",
        "rpps",
        "identity",
        "eidas1"
    ])));
    assert_eq!(set("acr_values_supported"), want(&["eidas1"]));
    assert_eq!(std["authorization_response_iss_parameter_supported"], true);
    assert_eq!(std["backchannel_logout_supported"], true);
    assert!(set("id_token_signing_alg_values_supported").contains("RS256"));

    // Browser-based clients: CORS preflight on the token endpoint.
    let pre = rig
        .http
        .request(
            reqwest::Method::OPTIONS,
            rig.url("/protocol/openid-connect/token"),
        )
        .header("origin", "https://spa.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");

    let jwks = rig.jwks().await;
    let keys = jwks["keys"].as_array().unwrap();
    assert!(keys
        .iter()
        .any(|k| k["alg"] == "RS256" && k["kty"] == "RSA" && k["use"] == "sig"));
    assert!(keys
        .iter()
        .any(|k| k["alg"] == "ES256" && k["crv"] == "P-256"));
    assert!(keys
        .iter()
        .all(|k| k["kid"].is_string() && k.get("d").is_none()));
    rig.db.cleanup().await;
}

/// Issue 10 item 16: public clients authenticate with `none` (client_id only, PKCE) at the
/// token and revocation endpoints, so discovery says so; introspection refuses them and
/// does not list it.
async fn sec_16_discovery_lists_none_for_public_clients(dialect: Dialect) {
    let rig = rig(dialect).await;
    let doc: Value = rig
        .http
        .get(rig.url("/.well-known/wallet-openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let methods = |k: &str| -> Vec<String> {
        doc[k]
            .as_array()
            .unwrap_or_else(|| panic!("{k}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let has_none = |k: &str| methods(k).iter().any(|m| m == "none");
    assert!(has_none("token_endpoint_auth_methods_supported"));
    assert!(has_none("revocation_endpoint_auth_methods_supported"));
    assert!(!has_none("introspection_endpoint_auth_methods_supported"));
    for m in [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ] {
        assert!(
            methods("token_endpoint_auth_methods_supported").contains(&m.to_string()),
            "{m}"
        );
    }
    rig.db.cleanup().await;
}

// ---------------------------------------------------------------------------------------
// Client credentials, client authentication, clients added while running
// ---------------------------------------------------------------------------------------

async fn client_credentials(dialect: Dialect) {
    let rig = rig(dialect).await;
    rig.confidential("svc", &["client_credentials"]).await;
    // Basic.
    let (st, v) = rig
        .token(
            "svc",
            &[("grant_type", "client_credentials"), ("scope", "openid")],
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 120);
    assert!(v.get("refresh_token").is_none() && v.get("id_token").is_none());
    let (header, at) = verified_claims(&rig, s(&v, "access_token")).await;
    assert_eq!(header["typ"], "JWT");
    assert_eq!(at["sub"], "service-account-svc");
    assert_eq!(at["typ"], "Bearer");
    assert_eq!(at["azp"], "svc");
    assert_eq!(at["iss"], rig.issuer());
    assert!(at.get("preferred_username").is_none() && at.get("otherIds").is_none());
    // Post.
    let (st, _) = rig
        .post(
            "/protocol/openid-connect/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "svc"),
                ("client_secret", SECRET),
            ],
        )
        .await;
    assert_eq!(st, 200);
    // Wrong secret: 401 with a Basic challenge.
    let resp = rig
        .http
        .post(rig.url("/protocol/openid-connect/token"))
        .basic_auth("svc", Some("not the secret at all, really not it"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    // A grant the client does not have; an unknown grant type; an unknown scope.
    rig.confidential("web", &["authorization_code"]).await;
    let (st, v) = rig
        .token("web", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!((st, s(&v, "error")), (400, "unauthorized_client"));
    let (st, v) = rig.token("svc", &[("grant_type", "password")]).await;
    assert_eq!((st, s(&v, "error")), (400, "unsupported_grant_type"));
    let (st, v) = rig
        .token(
            "svc",
            &[("grant_type", "client_credentials"), ("scope", "admin")],
        )
        .await;
    assert_eq!((st, s(&v, "error")), (400, "invalid_scope"));
    // A parameter sent twice.
    let resp = rig
        .http
        .post(rig.url("/protocol/openid-connect/token"))
        .basic_auth("svc", Some(SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Public clients cannot use client_credentials (and are refused at registration).
    let public = ClientSpec {
        client_id: "pub".into(),
        name: "Public".into(),
        grants: vec!["client_credentials".into()],
        ..Default::default()
    };
    assert!(rig
        .idp
        .upsert_client(public, "operator:test")
        .await
        .is_err());
    rig.db.cleanup().await;
}

async fn client_added_while_running_is_usable_at_once(dialect: Dialect) {
    let rig = rig(dialect).await;
    // The CLI writes to the database from another process: no provider involved.
    let (st, _) = rig
        .token("late", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(st, 401);
    caducee_idp::admin::upsert_client(
        &rig.db.store,
        &rig.clock,
        ClientSpec {
            client_id: "late".into(),
            name: "Arrivé en cours de route".into(),
            secret: Some(SECRET.into()),
            grants: vec!["client_credentials".into()],
            ..Default::default()
        },
        "operator:cli",
    )
    .await
    .unwrap();
    let (st, v) = rig
        .token("late", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(st, 200, "{v}");
    // Removed through the provider: refused at once on this node.
    assert!(rig
        .idp
        .remove_client("late", "operator:test")
        .await
        .unwrap());
    let (st, _) = rig
        .token("late", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(st, 401);
    // Both at the same instant of the clock: their order in the trail is not defined.
    let mut actions: Vec<String> = caducee_store::audit::events_for(&rig.db.store, "late")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    actions.sort();
    assert_eq!(actions, ["idp.client.added", "idp.client.removed"]);
    // No secret in the audit trail or the client table.
    let rows = sqlx::query("SELECT details FROM audit_event")
        .fetch_all(rig.db.store.pool())
        .await
        .unwrap();
    for r in rows {
        let d: String = sqlx::Row::try_get(&r, 0).unwrap();
        assert!(!d.contains(SECRET));
    }
    rig.db.cleanup().await;
}

// ---------------------------------------------------------------------------------------
// Authorization code, PKCE, refresh rotation
// ---------------------------------------------------------------------------------------

async fn code_grant_with_pkce(dialect: Dialect) {
    let rig = rig(dialect).await;
    rig.confidential("app", &["authorization_code", "refresh_token"])
        .await;
    let (verifier, challenge) = pkce();

    // Wrong verifier, missing verifier, wrong redirect: refused, the code stays unused.
    let code = rig.code("app", Some(&challenge), Some("sid-1")).await;
    let (st, v) = rig.redeem("app", &code, Some(&pkce().0)).await;
    assert_eq!((st, s(&v, "error")), (400, "invalid_grant"));
    let (st, v) = rig.redeem("app", &code, None).await;
    assert_eq!((st, s(&v, "error")), (400, "invalid_grant"));
    let (st, v) = rig
        .token(
            "app",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.example/other"),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!((st, s(&v, "error")), (400, "invalid_grant"));
    // Another client cannot redeem it.
    rig.confidential("other", &["authorization_code"]).await;
    let (st, _) = rig.redeem("other", &code, Some(&verifier)).await;
    assert_eq!(st, 400);

    // The right one.
    let (st, v) = rig.redeem("app", &code, Some(&verifier)).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 120);
    assert_eq!(v["scope"], "openid scope_all");
    let sub = format!("f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:{JULIE}");
    let (h, id) = verified_claims(&rig, s(&v, "id_token")).await;
    assert_eq!(h["alg"], "RS256");
    assert_eq!(id["iss"], rig.issuer());
    assert_eq!(id["sub"], sub);
    assert_eq!(id["aud"], "app");
    assert_eq!(id["azp"], "app");
    assert_eq!(id["acr"], "eidas1");
    assert_eq!(id["amr"], json!(["pwd", "swk", "mfa"]));
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["sid"], "sid-1");
    assert_eq!(id["preferred_username"], JULIE);
    assert_eq!(id["auth_time"], rig.now() - 5);
    assert_eq!(id["iat"], rig.now());
    assert_eq!(id["exp"], rig.now() + 120);
    let (h, at) = verified_claims(&rig, s(&v, "access_token")).await;
    assert_eq!(h["typ"], "JWT");
    for (k, want) in [
        ("iss", json!(rig.issuer())),
        ("sub", json!(sub)),
        ("typ", json!("Bearer")),
        ("azp", json!("app")),
        ("aud", json!("app")),
        ("nonce", json!("n-0S6_WzA2Mj")),
        ("session_state", json!("sid-1")),
        ("sid", json!("sid-1")),
        ("acr", json!("eidas1")),
        ("scope", json!("openid scope_all")),
        ("authMode", json!("MOBILE")),
        (
            "otherIds",
            json!([{"identifiant": JULIE, "origine": "RPPS", "qualite": 1}]),
        ),
        ("preferred_username", json!(JULIE)),
        ("exp", json!(rig.now() + 120)),
        ("iat", json!(rig.now())),
    ] {
        assert_eq!(at[k], want, "access token {k}");
    }
    assert!(at["jti"].is_string());
    let refresh = s(&v, "refresh_token").to_string();
    let access = s(&v, "access_token").to_string();
    // Stored hashed only.
    let stored: i64 = sqlx::query("SELECT COUNT(*) FROM idp_refresh WHERE token_hash = $1")
        .bind(&refresh)
        .fetch_one(rig.db.store.pool())
        .await
        .map(|r| sqlx::Row::get(&r, 0))
        .unwrap();
    assert_eq!(stored, 0);

    // A second use of the code fails and revokes what the first use issued.
    let (st, v) = rig.redeem("app", &code, Some(&verifier)).await;
    assert_eq!((st, s(&v, "error")), (400, "invalid_grant"));
    assert_eq!(
        rig.introspect("app", &access).await,
        json!({"active": false})
    );
    let (st, _) = rig
        .token(
            "app",
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(st, 400);
    let actions: Vec<String> = caducee_store::audit::events_for(&rig.db.store, JULIE)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"idp.code.reused".to_string()),
        "{actions:?}"
    );

    // An expired code.
    let code = rig.code("app", Some(&challenge), None).await;
    rig.clock.advance(Duration::seconds(61));
    let (st, _) = rig.redeem("app", &code, Some(&verifier)).await;
    assert_eq!(st, 400);

    // Public client: PKCE required at issue, then client_id only.
    rig.idp
        .upsert_client(
            ClientSpec {
                client_id: "spa".into(),
                name: "SPA".into(),
                redirect_uris: vec!["https://spa.example/cb".into()],
                ..Default::default()
            },
            "operator:test",
        )
        .await
        .unwrap();
    let no_pkce = rig
        .idp
        .issue_code(
            &CodeRequest {
                client_id: "spa".into(),
                redirect_uri: "https://spa.example/cb".into(),
                scope: "openid".into(),
                nonce: None,
                code_challenge: None,
            },
            &Authentication {
                idnat: JULIE.into(),
                auth_time: rig.now(),
                acr: "eidas1".into(),
                amr: vec!["mfa".into()],
                auth_mode: "MOBILE".into(),
                session_id: None,
            },
        )
        .await;
    assert!(no_pkce.is_err());
    let code = rig.code("spa", Some(&challenge), None).await;
    let (st, v) = rig
        .post(
            "/protocol/openid-connect/token",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "spa"),
                ("code", &code),
                ("redirect_uri", "https://spa.example/cb"),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(st, 200, "{v}");
    rig.db.cleanup().await;
}

async fn refresh_rotation_and_reuse(dialect: Dialect) {
    let rig = rig(dialect).await;
    rig.confidential("app", &["authorization_code", "refresh_token"])
        .await;
    let (verifier, challenge) = pkce();
    let code = rig.code("app", Some(&challenge), Some("sid-r")).await;
    let (_, v) = rig.redeem("app", &code, Some(&verifier)).await;
    let r1 = s(&v, "refresh_token").to_string();
    rig.clock.advance(Duration::seconds(30));
    let (st, v) = rig
        .token(
            "app",
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let r2 = s(&v, "refresh_token").to_string();
    assert_ne!(r1, r2);
    let a2 = s(&v, "access_token").to_string();
    let (_, id) = verified_claims(&rig, s(&v, "id_token")).await;
    assert_eq!(
        id["auth_time"],
        rig.now() - 35,
        "auth_time stays the original"
    );
    assert_eq!(id["sid"], "sid-r");
    assert_eq!(rig.introspect("app", &r2).await["active"], true);
    assert_eq!(rig.introspect("app", &r1).await["active"], false);
    // Narrowing the scope is allowed, widening is not.
    let (st, v) = rig
        .token(
            "app",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &r2),
                ("scope", "openid rpps"),
            ],
        )
        .await;
    assert_eq!((st, s(&v, "error")), (400, "invalid_scope"));
    let (st, v) = rig
        .token(
            "app",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &r2),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["scope"], "openid");
    let (_, narrowed) = verified_claims(&rig, s(&v, "access_token")).await;
    assert_eq!(narrowed["scope"], "openid");
    let r3 = s(&v, "refresh_token").to_string();
    // The rotated r1 presented again: the whole family dies, r2, r3 and their access
    // tokens too.
    let (st, v) = rig
        .token(
            "app",
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
        )
        .await;
    assert_eq!((st, s(&v, "error")), (400, "invalid_grant"));
    let (st, _) = rig
        .token(
            "app",
            &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(rig.introspect("app", &a2).await["active"], false);
    assert_eq!(rig.introspect("app", &r3).await["active"], false);
    assert_eq!(rig.userinfo(&a2).await.status(), 401);
    // A refresh token is the client's own.
    let code = rig.code("app", Some(&challenge), None).await;
    let (_, v) = rig.redeem("app", &code, Some(&verifier)).await;
    rig.confidential("thief", &["refresh_token"]).await;
    let (st, _) = rig
        .token(
            "thief",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", s(&v, "refresh_token")),
            ],
        )
        .await;
    assert_eq!(st, 400);
    // Expiry.
    rig.clock.advance(Duration::seconds(1801));
    let (st, _) = rig
        .token(
            "app",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", s(&v, "refresh_token")),
            ],
        )
        .await;
    assert_eq!(st, 400);
    rig.db.cleanup().await;
}

// ---------------------------------------------------------------------------------------
// Userinfo
// ---------------------------------------------------------------------------------------

/// The example of reference/psc.md: every key at every level.
fn psc_example() -> Value {
    serde_json::from_str(
        r#"{
      "sub": "f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:899700366240",
      "preferred_username": "899700366240",
      "SubjectNameID": "899700366240",
      "given_name": "KIT", "family_name": "DOC0036624", "email_verified": false,
      "authMode": "CARD",
      "otherIds": [{"identifiant": "899700366240", "origine": "RPPS", "qualite": 1}],
      "SubjectRole": ["10^1.2.250.1.213.1.1.5.5"],
      "SubjectOrganization": "CABINET M DOC0036624", "SubjectOrganizationID": "R95141",
      "Secteur_Activite": "SA07^1.2.250.1.71.4.2.4",
      "Palier_Authentification": "APPPRIP3^1.2.250.1.213.1.5.1.1.1",
      "PSI_Locale": "1.2.250.1.213.1.3.1.1", "UITVersion": "1.0",
      "Mode_Acces_Raison": "", "Acces_Regulation_Medicale": "FAUX",
      "SubjectRefPro": {
        "codeCivilite": "M",
        "exercices": [{
          "codeProfession": "10", "codeCategorieProfessionnelle": "C",
          "codeCiviliteDexercice": "DR", "nomDexercice": "DOC0036624", "prenomDexercice": "KIT",
          "codeTypeSavoirFaire": "S", "codeSavoirFaire": "SM26",
          "activities": [{
            "codeModeExercice": "L", "codeSecteurDactivite": "SA07", "codeSectionPharmacien": "",
            "codeRole": "", "codeGenreActivite": "", "numeroSiretSite": "", "numeroSirenSite": "",
            "numeroFinessSite": "", "numeroFinessetablissementJuridique": "",
            "identifiantTechniqueDeLaStructure": "R95141", "raisonSocialeSite": "CABINET M DOC0036624",
            "enseigneCommercialeSite": "", "complementDestinataire": "CABINET M DOC",
            "complementPointGeographique": "", "numeroVoie": "1", "indiceRepetitionVoie": "",
            "codeTypeDeVoie": "R", "libelleVoie": "NOIR", "mentionDistribution": "",
            "bureauCedex": "75009 PARIS", "codePostal": "75009", "codeCommune": "", "codePays": "99000",
            "telephone": "", "telephone2": "", "telecopie": "", "adresseEMail": "",
            "codeDepartement": "", "ancienIdentifiantDeLaStructure": "499700366240007",
            "autoriteDenregistrement": "CNOM/CNOM/CNOM"
          }]
        }]
      }
    }"#,
    )
    .unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// Same keys at every level as the PSC example, and the same JSON type for each value.
fn assert_same_shape(ours: &Value, psc: &Value, at: &str) {
    match (ours, psc) {
        (Value::Object(_), Value::Object(_)) => {
            let (a, b) = (keys(ours), keys(psc));
            // Ours may add the two claims one sandbox identity had at the top level.
            let extra: BTreeSet<String> = a.difference(&b).cloned().collect();
            let missing: BTreeSet<String> = b.difference(&a).cloned().collect();
            assert!(missing.is_empty(), "{at}: missing {missing:?}");
            let allowed: BTreeSet<String> = if at.is_empty() {
                ["codeCivilite", "codeGenreActivite"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            } else {
                BTreeSet::new()
            };
            assert!(extra.is_subset(&allowed), "{at}: unexpected {extra:?}");
            for k in b {
                assert_same_shape(&ours[&k], &psc[&k], &format!("{at}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert!(!a.is_empty(), "{at}: empty list");
            assert_same_shape(&a[0], &b[0], &format!("{at}[0]"));
        }
        (a, b) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "{at}: {a} vs {b}"
        ),
    }
}

async fn userinfo_shape(dialect: Dialect) {
    let rig = rig(dialect).await;
    rig.confidential("app", &["authorization_code", "refresh_token"])
        .await;
    let (verifier, challenge) = pkce();
    let code = rig.code("app", Some(&challenge), None).await;
    let (_, v) = rig.redeem("app", &code, Some(&verifier)).await;
    let access = s(&v, "access_token").to_string();

    let resp = rig.userinfo(&access).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let info: Value = resp.json().await.unwrap();
    assert_same_shape(&info, &psc_example(), "");
    // Julie Martin, liberal GP in Lyon (crates/registry/src/generate.rs).
    assert_eq!(
        info["sub"],
        format!("f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:{JULIE}")
    );
    assert_eq!(info["preferred_username"], JULIE);
    assert_eq!(info["SubjectNameID"], JULIE);
    assert_eq!(info["given_name"], "Julie");
    assert_eq!(info["family_name"], "Martin");
    assert_eq!(info["email_verified"], false);
    assert_eq!(info["authMode"], "MOBILE");
    assert_eq!(
        info["otherIds"],
        json!([{"identifiant": JULIE, "origine": "RPPS", "qualite": 1}])
    );
    assert_eq!(info["SubjectRole"], json!(["10^1.2.250.1.213.1.1.5.5"]));
    assert_eq!(info["Secteur_Activite"], "SA07^1.2.250.1.71.4.2.4");
    assert_eq!(info["SubjectOrganization"], "CABINET DU DR MARTIN JULIE");
    assert_eq!(
        info["Palier_Authentification"],
        "APPPRIP3^1.2.250.1.213.1.5.1.1.1"
    );
    assert_eq!(info["Acces_Regulation_Medicale"], "FAUX");
    assert_eq!(info["codeCivilite"], "MME");
    assert_eq!(info["SubjectRefPro"]["codeCivilite"], "MME");
    let ex = &info["SubjectRefPro"]["exercices"][0];
    assert_eq!(ex["codeProfession"], "10");
    assert_eq!(ex["codeCategorieProfessionnelle"], "C");
    assert_eq!(ex["codeCiviliteDexercice"], "DR");
    assert_eq!(ex["nomDexercice"], "Martin");
    assert_eq!(ex["prenomDexercice"], "Julie");
    assert_eq!(ex["codeSavoirFaire"], "SM54");
    let act = &ex["activities"][0];
    assert_eq!(act["codeModeExercice"], "L");
    assert_eq!(act["codeSecteurDactivite"], "SA07");
    assert_eq!(act["numeroVoie"], "12");
    assert_eq!(act["codeTypeDeVoie"], "R");
    assert_eq!(act["libelleVoie"], "Victor Hugo");
    assert_eq!(act["codeGenreActivite"], info["codeGenreActivite"]);
    assert_eq!(
        act["identifiantTechniqueDeLaStructure"],
        info["SubjectOrganizationID"]
    );
    assert_eq!(act["raisonSocialeSite"], info["SubjectOrganization"]);
    assert!(act["numeroSiretSite"]
        .as_str()
        .unwrap()
        .starts_with("79999001"));
    // Every activity value a string ("" when unknown).
    assert!(act.as_object().unwrap().values().all(Value::is_string));

    // POST, with the token in the body.
    let resp = rig
        .http
        .post(rig.url("/protocol/openid-connect/userinfo"))
        .form(&[("access_token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), info);

    // Bad, expired and ID tokens: 401 invalid_token with the Bearer challenge.
    for bad in ["not-a-token", s(&v, "id_token")] {
        let resp = rig.userinfo(bad).await;
        assert_eq!(resp.status(), 401);
        let challenge = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
    }
    rig.clock.advance(Duration::seconds(121));
    assert_eq!(rig.userinfo(&access).await.status(), 401);
    rig.db.cleanup().await;
}

async fn userinfo_follows_registry_updates(dialect: Dialect) {
    let rig = rig_with(
        dialect,
        IdpConfig {
            claims_cache_secs: 0,
            ..IdpConfig::default()
        },
    )
    .await;
    rig.confidential("app", &["authorization_code"]).await;
    let (verifier, challenge) = pkce();
    let code = rig.code("app", Some(&challenge), None).await;
    let (_, v) = rig.redeem("app", &code, Some(&verifier)).await;
    let access = s(&v, "access_token").to_string();
    let before: Value = rig.userinfo(&access).await.json().await.unwrap();
    assert_eq!(before["family_name"], "Martin");
    sqlx::query("UPDATE reg_person SET last_name = 'Martin-Durand' WHERE idnat = $1")
        .bind(JULIE)
        .execute(rig.db.store.pool())
        .await
        .unwrap();
    let after: Value = rig.userinfo(&access).await.json().await.unwrap();
    assert_eq!(after["family_name"], "Martin-Durand");
    rig.db.cleanup().await;
}

async fn signed_userinfo(dialect: Dialect) {
    let rig = rig(dialect).await;
    rig.idp
        .upsert_client(
            ClientSpec {
                client_id: "signed".into(),
                name: "Signée".into(),
                secret: Some(SECRET.into()),
                redirect_uris: vec!["https://signed.example/cb".into()],
                userinfo_signed: true,
                id_token_alg: Some("ES256".into()),
                ..Default::default()
            },
            "operator:test",
        )
        .await
        .unwrap();
    let (verifier, challenge) = pkce();
    let code = rig.code("signed", Some(&challenge), None).await;
    let (st, v) = rig.redeem("signed", &code, Some(&verifier)).await;
    assert_eq!(st, 200, "{v}");
    let (h, _) = verified_claims(&rig, s(&v, "id_token")).await;
    assert_eq!(h["alg"], "ES256");
    let resp = rig.userinfo(s(&v, "access_token")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/jwt");
    let jwt = resp.text().await.unwrap();
    let (h, claims) = verified_claims(&rig, &jwt).await;
    assert_eq!(h["alg"], "ES256");
    assert_eq!(claims["iss"], rig.issuer());
    assert_eq!(claims["aud"], "signed");
    assert_eq!(claims["SubjectNameID"], JULIE);
    assert!(claims["SubjectRefPro"]["exercices"].is_array());
    rig.db.cleanup().await;
}

// ---------------------------------------------------------------------------------------
// Introspection and revocation
// ---------------------------------------------------------------------------------------

async fn introspection_and_revocation(dialect: Dialect) {
    let rig = rig(dialect).await;
    rig.confidential("app", &["authorization_code", "refresh_token"])
        .await;
    rig.confidential("api", &["client_credentials"]).await;
    let (verifier, challenge) = pkce();
    let code = rig.code("app", Some(&challenge), None).await;
    let (_, v) = rig.redeem("app", &code, Some(&verifier)).await;
    let access = s(&v, "access_token").to_string();
    let refresh = s(&v, "refresh_token").to_string();

    // A resource server (another client) introspects the access token.
    let i = rig.introspect("api", &access).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], "app");
    assert_eq!(i["username"], JULIE);
    assert_eq!(i["SubjectNameID"], JULIE);
    assert_eq!(i["scope"], "openid scope_all");
    assert_eq!(i["acr"], "eidas1");
    assert_eq!(i["authMode"], "MOBILE");
    assert_eq!(i["otherIds"][0]["identifiant"], JULIE);
    assert_eq!(
        i["sub"],
        format!("f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:{JULIE}")
    );
    assert_eq!(i["token_type"], "Bearer");
    assert_eq!(i["exp"], rig.now() + 120);
    assert_eq!(i["iat"], rig.now());
    // Refresh tokens: only by their client.
    let r = rig.introspect("app", &refresh).await;
    assert_eq!(r["active"], true);
    assert_eq!(r["client_id"], "app");
    assert_eq!(r["username"], JULIE);
    assert_eq!(
        rig.introspect("api", &refresh).await,
        json!({"active": false})
    );
    assert_eq!(
        rig.introspect("api", "garbage").await,
        json!({"active": false})
    );
    // Without client authentication: 401.
    let (st, _) = rig
        .post(
            "/protocol/openid-connect/token/introspect",
            None,
            &[("token", &access)],
        )
        .await;
    assert_eq!(st, 401);

    // A second node behind the same public URL.
    let (_idp2, _, own2) = start_node_at(
        rig.db.store.clone(),
        &rig.clock,
        IdpConfig {
            revocation_reload_millis: 0,
            ..IdpConfig::default()
        },
        Some(&rig.base),
    )
    .await;
    let on_node2 = |token: String| {
        let http = rig.http.clone();
        let url = format!("{own2}/auth/realms/esante-wallet/protocol/openid-connect/userinfo");
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(on_node2(access.clone()).await, 200);
    // Revoking the access token on the first node.
    let (st, _) = rig
        .post(
            "/protocol/openid-connect/revoke",
            Some("app"),
            &[("token", &access), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(rig.introspect("api", &access).await["active"], false);
    assert_eq!(rig.userinfo(&access).await.status(), 401);
    // The second node learns it from the database.
    assert_eq!(on_node2(access.clone()).await, 401);
    // Revoking the refresh token revokes its family.
    let (_, v2) = rig
        .token(
            "app",
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    let refresh2 = s(&v2, "refresh_token").to_string();
    let access2 = s(&v2, "access_token").to_string();
    let (st, _) = rig
        .post(
            "/protocol/openid-connect/revoke",
            Some("app"),
            &[("token", &refresh2)],
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(rig.introspect("app", &refresh2).await["active"], false);
    assert_eq!(rig.introspect("api", &access2).await["active"], false);
    // Unknown tokens are accepted silently (RFC 7009); others' tokens are refused.
    let (st, _) = rig
        .post(
            "/protocol/openid-connect/revoke",
            Some("app"),
            &[("token", "unknown")],
        )
        .await;
    assert_eq!(st, 200);
    let code = rig.code("app", Some(&challenge), None).await;
    let (_, v3) = rig.redeem("app", &code, Some(&verifier)).await;
    let (st, _) = rig
        .post(
            "/protocol/openid-connect/revoke",
            Some("api"),
            &[("token", s(&v3, "refresh_token"))],
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(
        rig.introspect("app", s(&v3, "refresh_token")).await["active"],
        true
    );
    rig.db.cleanup().await;
}

// ---------------------------------------------------------------------------------------
// private_key_jwt
// ---------------------------------------------------------------------------------------

fn es256_assertion(key: &p256::ecdsa::SigningKey, kid: &str, claims: Value) -> String {
    use p256::ecdsa::signature::Signer as _;
    let h = URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": kid, "typ": "JWT"}).to_string());
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{h}.{p}");
    let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

/// Registers the `private_key_jwt` client "pkj" (client credentials) with a fresh P-256 key
/// of kid "k1"; returns the key that signs its assertions.
async fn pkj_client(rig: &Rig) -> p256::ecdsa::SigningKey {
    let sk = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let mut jwk: Value = serde_json::from_str(&sk.public_key().to_jwk_string()).unwrap();
    jwk["kid"] = json!("k1");
    rig.idp
        .upsert_client(
            ClientSpec {
                client_id: "pkj".into(),
                name: "Clés".into(),
                jwks: Some(json!({"keys": [jwk]}).to_string()),
                grants: vec!["client_credentials".into()],
                ..Default::default()
            },
            "operator:test",
        )
        .await
        .unwrap();
    p256::ecdsa::SigningKey::from(sk)
}

/// The status of a client credentials grant authenticated by `assertion`.
async fn send_assertion(rig: &Rig, assertion: &str) -> u16 {
    rig.http
        .post(rig.url("/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn private_key_jwt(dialect: Dialect) {
    let rig = rig(dialect).await;
    let key = pkj_client(&rig).await;
    let client = rig.idp.client("pkj").await.unwrap().unwrap();
    assert!(!client.public);
    assert_eq!(client.auth_method, "private_key_jwt");
    let token_url = rig.url("/protocol/openid-connect/token");
    let claims = |jti: &str, aud: &str| json!({"iss": "pkj", "sub": "pkj", "aud": aud, "jti": jti, "exp": rig.now() + 60, "iat": rig.now()});
    let r = &rig;
    let send = |assertion: String| async move { send_assertion(r, &assertion).await };
    let a1 = es256_assertion(&key, "k1", claims("j1", &token_url));
    assert_eq!(send(a1.clone()).await, 200);
    // Replayed, wrong audience, wrong key, expired: refused.
    assert_eq!(send(a1).await, 401);
    assert_eq!(
        send(es256_assertion(
            &key,
            "k1",
            claims("j2", "https://elsewhere")
        ))
        .await,
        401
    );
    let other = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    assert_eq!(
        send(es256_assertion(&other, "k1", claims("j3", &token_url))).await,
        401
    );
    let mut old = claims("j4", &rig.issuer());
    old["exp"] = json!(rig.now() - 1);
    assert_eq!(send(es256_assertion(&key, "k1", old)).await, 401);
    // The issuer as audience is accepted too.
    assert_eq!(
        send(es256_assertion(&key, "k1", claims("j5", &rig.issuer()))).await,
        200
    );
    // A key-authenticated client cannot use a secret it does not have.
    let (st, _) = rig
        .token("pkj", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(st, 401);
    rig.db.cleanup().await;
}

/// Issue 10 item 7: an assertion is a short-lived credential. It must say when it was made
/// (`iat`), live at most five minutes (`exp - iat`), and not come from the future beyond a
/// small clock skew.
async fn sec_07_private_key_jwt_with_long_lifetime_is_refused(dialect: Dialect) {
    let rig = rig(dialect).await;
    let key = pkj_client(&rig).await;
    let aud = rig.url("/protocol/openid-connect/token");
    let now = rig.now();
    let assertion = |jti: &str, iat: Option<i64>, exp: i64| {
        let mut c = json!({"iss": "pkj", "sub": "pkj", "aud": aud, "jti": jti, "exp": exp});
        if let Some(iat) = iat {
            c["iat"] = json!(iat);
        }
        es256_assertion(&key, "k1", c)
    };
    let ten_years = 10 * 365 * 86_400;
    for (what, a) in [
        (
            "exp ten years ahead",
            assertion("long", Some(now), now + ten_years),
        ),
        ("no iat", assertion("no-iat", None, now + 60)),
        (
            "an hour of life",
            assertion("hour", Some(now - 10), now + 3590),
        ),
        (
            "iat an hour ahead",
            assertion("future", Some(now + 3600), now + 3660),
        ),
    ] {
        assert_eq!(send_assertion(&rig, &a).await, 401, "{what}");
    }
    // Five minutes of life, and an iat a few seconds ahead (clock skew), are fine.
    assert_eq!(
        send_assertion(&rig, &assertion("five", Some(now), now + 300)).await,
        200
    );
    assert_eq!(
        send_assertion(&rig, &assertion("skew", Some(now + 5), now + 65)).await,
        200
    );
    rig.db.cleanup().await;
}

/// Issue 10 item 7: a `jti` is remembered, in the database every node reads, as long as its
/// assertion is valid: never accepted twice, even an hour later after a purge.
async fn sec_07_jti_remembered_until_exp(dialect: Dialect) {
    let rig = rig(dialect).await;
    let key = pkj_client(&rig).await;
    let aud = rig.url("/protocol/openid-connect/token");
    let now = rig.now();
    let signed = |jti: &str, iat: i64, exp: i64| {
        es256_assertion(
            &key,
            "k1",
            json!({"iss": "pkj", "sub": "pkj", "aud": aud, "jti": jti, "iat": iat, "exp": exp}),
        )
    };
    // An assertion valid two hours: whatever its first answer, its replay an hour later
    // (remembered ids purged by the housekeeping) is refused.
    let long = signed("deux-heures", now, now + 7200);
    let _ = send_assertion(&rig, &long).await;
    rig.clock.advance(Duration::seconds(3601));
    rig.idp.housekeeping().await.unwrap();
    assert_eq!(
        send_assertion(&rig, &long).await,
        401,
        "replayed after an hour"
    );

    // The longest assertion accepted is remembered until its exp, in the database …
    let now = rig.now();
    let a = signed("cinq-minutes", now, now + 300);
    assert_eq!(send_assertion(&rig, &a).await, 200);
    let stored: i64 = sqlx::query_scalar(
        "SELECT expires_at FROM idp_assertion_jti WHERE client_id = 'pkj' AND jti = 'cinq-minutes'",
    )
    .fetch_one(rig.db.store.pool())
    .await
    .unwrap();
    assert_eq!(stored, now + 300);
    // … so that another node refuses its replay up to its last second, purge or not.
    let (_, _, other) = start_node_at(
        rig.db.store.clone(),
        &rig.clock,
        IdpConfig::default(),
        Some(&rig.base),
    )
    .await;
    rig.clock.advance(Duration::seconds(299));
    rig.idp.housekeeping().await.unwrap();
    let replay = rig
        .http
        .post(format!(
            "{other}/auth/realms/esante-wallet/protocol/openid-connect/token"
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", a.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401, "replayed on another node");
    rig.db.cleanup().await;
}

// ---------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------

async fn key_rotation_overlap(dialect: Dialect) {
    let rig = rig(dialect).await;
    rig.confidential("svc", &["client_credentials"]).await;
    let kid_of = |t: &str| -> String {
        let h: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(t.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        h["kid"].as_str().unwrap().to_string()
    };
    let rs_kids = |jwks: &Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["alg"] == "RS256")
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, v) = rig
        .token("svc", &[("grant_type", "client_credentials")])
        .await;
    let old_kid = kid_of(s(&v, "access_token"));
    let old_token = s(&v, "access_token").to_string();

    // A second node on the same database.
    let (idp_b, _, base_b) = start_node_at(
        rig.db.store.clone(),
        &rig.clock,
        IdpConfig::default(),
        Some(&rig.base),
    )
    .await;

    let new_kid = rig
        .idp
        .rotate_key(caducee_idp::Alg::Rs256, false, "operator:test")
        .await
        .unwrap();
    assert_ne!(new_kid, old_kid);
    // Published at once, not yet signing.
    let jwks = rig.jwks().await;
    assert_eq!(rs_kids(&jwks).len(), 2);
    assert!(rs_kids(&jwks).contains(&new_kid));
    let (_, v) = rig
        .token("svc", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(kid_of(s(&v, "access_token")), old_kid);

    // After the publication delay the new key signs; the old stays published.
    rig.clock.advance(Duration::seconds(601));
    let (_, v) = rig
        .token("svc", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(kid_of(s(&v, "access_token")), new_kid);
    verified_claims(&rig, s(&v, "access_token")).await;
    assert!(rs_kids(&rig.jwks().await).contains(&old_kid));
    // A token signed by the old key still introspects while valid... (issued 601 s ago: expired)
    assert_eq!(rig.introspect("svc", &old_token).await["active"], false);

    // Node B picks the rotation up after its reload.
    idp_b.reload_keys().await.unwrap();
    let http = reqwest::Client::new();
    let resp: Value = http
        .post(format!(
            "{base_b}/auth/realms/esante-wallet/protocol/openid-connect/token"
        ))
        .basic_auth("svc", Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(kid_of(s(&resp, "access_token")), new_kid);
    let jwks_b: Value = http
        .get(format!(
            "{base_b}/auth/realms/esante-wallet/protocol/openid-connect/certs"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rs_kids(&jwks_b).len(), 2);

    // Once every token of the old key has expired, it leaves the JWKS.
    rig.clock.advance(Duration::seconds(120 + 61));
    assert_eq!(rs_kids(&rig.jwks().await), vec![new_kid.clone()]);
    // The keys are stored sealed.
    let rows = sqlx::query("SELECT sealed_private FROM idp_key")
        .fetch_all(rig.db.store.pool())
        .await
        .unwrap();
    for r in rows {
        let sealed: String = sqlx::Row::get(&r, 0);
        assert!(sealed.starts_with("v1.") && !sealed.contains("PRIVATE"));
    }
    // A node with another instance secret refuses to start (it could not sign).
    let ecps = rig.ecps.clone();
    let wrong = Idp::start(
        rig.db.store.clone(),
        rig.clock.shared(),
        &rig.base,
        IdpConfig::default(),
        ecps,
        b"another instance secret, also 32+ bytes",
    )
    .await;
    assert!(matches!(wrong, Err(caducee_idp::IdpError::Config(_))));
    rig.db.cleanup().await;
}

// ---------------------------------------------------------------------------------------
// Logout: id_token_hint and back-channel logout
// ---------------------------------------------------------------------------------------

async fn end_session_and_backchannel_logout(dialect: Dialect) {
    let rig = rig(dialect).await;
    // The client's back-channel endpoint.
    let (bc, mut rx) = logout_endpoint(vec![200]).await;
    rig.idp
        .upsert_client(
            ClientSpec {
                client_id: "app".into(),
                name: "App".into(),
                secret: Some(SECRET.into()),
                redirect_uris: vec!["https://app.example/cb".into()],
                backchannel_logout_uri: Some(bc),
                ..Default::default()
            },
            "operator:test",
        )
        .await
        .unwrap();
    rig.confidential("quiet", &["authorization_code", "refresh_token"])
        .await;
    let (verifier, challenge) = pkce();
    let code = rig.code("app", Some(&challenge), Some("sid-logout")).await;
    let (_, v) = rig.redeem("app", &code, Some(&verifier)).await;
    let code = rig
        .code("quiet", Some(&challenge), Some("sid-logout"))
        .await;
    let (_, q) = rig.redeem("quiet", &code, Some(&verifier)).await;

    // The id_token_hint is recognised, even expired.
    rig.clock.advance(Duration::seconds(3600));
    let hint = rig
        .idp
        .verify_id_token_hint(s(&v, "id_token"))
        .await
        .unwrap();
    assert_eq!(hint.client_id, "app");
    assert_eq!(hint.idnat, JULIE);
    assert_eq!(hint.sid.as_deref(), Some("sid-logout"));
    assert!(rig
        .idp
        .verify_id_token_hint(s(&v, "access_token"))
        .await
        .is_err());
    assert!(rig.idp.verify_id_token_hint("a.b.c").await.is_err());
    rig.clock.advance(Duration::seconds(-3600));

    rig.idp.end_session("sid-logout").await.unwrap();
    // Both clients' refresh tokens are dead.
    for (c, t) in [("app", &v), ("quiet", &q)] {
        let (st, _) = rig
            .token(
                c,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", s(t, "refresh_token")),
                ],
            )
            .await;
        assert_eq!(st, 400, "{c}");
        assert_eq!(
            rig.introspect(c, s(t, "access_token")).await["active"],
            false
        );
    }
    // Only the client with a back-channel URI is called, with a signed logout token.
    let body = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("logout token delivered")
        .unwrap();
    let token = logout_token_of(&body);
    let (h, claims) = verified_claims(&rig, &token).await;
    assert_eq!(h["typ"], "logout+jwt");
    assert_eq!(claims["iss"], rig.issuer());
    assert_eq!(claims["aud"], "app");
    assert_eq!(claims["sid"], "sid-logout");
    assert_eq!(
        claims["sub"],
        format!("f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:{JULIE}")
    );
    assert!(claims["jti"].is_string() && claims["iat"].is_number());
    assert_eq!(
        claims["events"],
        json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    assert!(claims.get("nonce").is_none());
    rig.db.cleanup().await;
}

/// A client endpoint for back-channel logouts that answers with the given statuses in turn
/// (the last one repeats) and hands every body it receives to the test.
async fn logout_endpoint(
    statuses: Vec<u16>,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(move |body: String| {
            let (tx, calls, statuses) = (tx.clone(), calls.clone(), statuses.clone());
            async move {
                let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = tx.send(body);
                axum::http::StatusCode::from_u16(statuses[n.min(statuses.len() - 1)]).unwrap()
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, rx)
}

/// The `logout_token` of a back-channel logout request's form body.
fn logout_token_of(body: &str) -> String {
    url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

async fn delivery_row(rig: &Rig, client: &str) -> (i64, Option<i64>, Option<i64>) {
    let r = sqlx::query(
        "SELECT attempts, delivered_at, failed_at FROM idp_logout_delivery WHERE client_id = $1",
    )
    .bind(client)
    .fetch_one(rig.db.store.pool())
    .await
    .unwrap();
    use sqlx::Row;
    (r.get(0), r.get(1), r.get(2))
}

/// NFR-01 for logouts: a back-channel logout the client refused is kept in the database,
/// retried by another node (a restart) when its pause is over by the clock, with a freshly
/// signed token; one that keeps failing is given up after its attempts, and audited.
async fn backchannel_logout_survives_a_restart_and_is_retried(dialect: Dialect) {
    let rig = rig(dialect).await;
    let (flaky, mut flaky_rx) = logout_endpoint(vec![503, 200]).await;
    let (down, mut down_rx) = logout_endpoint(vec![500]).await;
    for (id, uri) in [("flaky", flaky), ("down", down)] {
        rig.idp
            .upsert_client(
                ClientSpec {
                    client_id: id.into(),
                    name: id.into(),
                    secret: Some(SECRET.into()),
                    redirect_uris: vec![format!("https://{id}.example/cb")],
                    backchannel_logout_uri: Some(uri),
                    ..Default::default()
                },
                "operator:test",
            )
            .await
            .unwrap();
    }
    let (verifier, challenge) = pkce();
    for id in ["flaky", "down"] {
        let code = rig.code(id, Some(&challenge), Some("sid-retry")).await;
        rig.redeem(id, &code, Some(&verifier)).await;
    }
    rig.idp.end_session("sid-retry").await.unwrap();
    // The first attempts are made at once, in the background, and refused.
    for rx in [&mut flaky_rx, &mut down_rx] {
        tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
            .await
            .expect("first attempt")
            .unwrap();
    }
    for id in ["flaky", "down"] {
        let mut row = delivery_row(&rig, id).await;
        for _ in 0..200 {
            if row.0 == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            row = delivery_row(&rig, id).await;
        }
        assert_eq!(row, (1, None, None), "{id}: one failed attempt recorded");
    }

    // "Restart": another node on the same database. Nothing is due before the pause.
    let (node_b, _, _) = start_node(rig.db.store.clone(), &rig.clock, IdpConfig::default()).await;
    assert_eq!(node_b.deliver_logouts().await.unwrap(), 0);
    assert!(flaky_rx.try_recv().is_err());
    rig.clock.advance(Duration::seconds(5));
    assert_eq!(
        node_b.deliver_logouts().await.unwrap(),
        1,
        "flaky now accepts"
    );
    let body = flaky_rx.try_recv().unwrap();
    let token = logout_token_of(&body);
    let (_, claims) = verified_claims(&rig, &token).await;
    assert_eq!(claims["aud"], "flaky");
    assert_eq!(claims["sid"], "sid-retry");
    assert_eq!(
        claims["iat"],
        caducee_core::clock::Clock::unix(&rig.clock),
        "signed at the retry, not kept"
    );
    let flaky_row = delivery_row(&rig, "flaky").await;
    assert_eq!((flaky_row.0, flaky_row.1.is_some()), (2, true));

    // "down" keeps failing: retried after each pause, then given up and audited.
    let mut attempts = delivery_row(&rig, "down").await.0;
    while delivery_row(&rig, "down").await.2.is_none() {
        rig.clock.advance(Duration::seconds(3600));
        node_b.deliver_logouts().await.unwrap();
        attempts += 1;
        assert!(
            attempts <= caducee_idp::MAX_LOGOUT_ATTEMPTS,
            "given up in time"
        );
    }
    assert_eq!(
        delivery_row(&rig, "down").await.0,
        caducee_idp::MAX_LOGOUT_ATTEMPTS
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_event WHERE action = 'idp.logout.backchannel_failed'",
    )
    .fetch_one(rig.db.store.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);
    // Once given up, no more attempts.
    rig.clock.advance(Duration::seconds(3600));
    assert_eq!(node_b.deliver_logouts().await.unwrap(), 0);
    while down_rx.try_recv().is_ok() {}
    node_b.deliver_logouts().await.unwrap();
    assert!(down_rx.try_recv().is_err());
    rig.db.cleanup().await;
}

// ---------------------------------------------------------------------------------------
// CIBA
// ---------------------------------------------------------------------------------------

/// Activates an e-CPS for a persona through the e-CPS server API; returns the device id.
async fn activate(rig: &Rig, idnat: &str) -> String {
    use caducee_registry::queries::{set_contact, ContactUpdate};
    let id = IdNatPs::parse(idnat).unwrap();
    set_contact(
        &rig.db.store,
        &rig.clock,
        &id,
        &ContactUpdate {
            email: "julie.martin@example.test".into(),
            mobile: "+33612345601".into(),
            actor: "operator:test".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    rig.clock.advance(Duration::seconds(1));
    let started = rig.ecps.start_activation(&id).await.unwrap();
    let (e, s) = caducee_ecps_server::testkit::activation_codes(&rig.db.store).await;
    let sk = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let dev = rig
        .ecps
        .confirm_activation(
            &started.activation_id,
            &e,
            &s,
            PASSWORD,
            &sk.public_key().to_jwk_string(),
        )
        .await
        .unwrap();
    dev.id
}

async fn ciba_start(rig: &Rig, client: &str, hint: &str, binding: &str) -> (u16, Value) {
    rig.post(
        "/protocol/openid-connect/ext/ciba/auth",
        Some(client),
        &[
            ("scope", "openid scope_all"),
            ("acr_values", "eidas1"),
            ("login_hint", hint),
            ("binding_message", binding),
        ],
    )
    .await
}

async fn ciba_poll(rig: &Rig, client: &str, id: &str) -> (u16, Value) {
    rig.token(
        client,
        &[
            ("grant_type", "urn:openid:params:grant-type:ciba"),
            ("auth_req_id", id),
        ],
    )
    .await
}

async fn ciba(dialect: Dialect) {
    let rig = rig(dialect).await;
    rig.confidential("backend", &["ciba", "refresh_token"])
        .await;
    let device = activate(&rig, JULIE).await;

    // Unknown professional, malformed hint, professional without e-CPS, bad binding.
    let (st, v) = ciba_start(&rig, "backend", "19999999999", "42").await;
    assert_eq!((st, s(&v, "error")), (400, "unknown_user_id"), "{v}");
    let (st, v) = ciba_start(&rig, "backend", "12", "42").await;
    assert_eq!((st, s(&v, "error")), (400, "unknown_user_id"));
    let (st, v) = ciba_start(&rig, "backend", THOMAS, "42").await;
    assert_eq!((st, s(&v, "error")), (403, "access_denied"));
    assert!(s(&v, "error_description").contains("activez"), "{v}");
    let (st, v) = ciba_start(&rig, "backend", "19999900012", "4a2").await;
    assert_eq!((st, s(&v, "error")), (400, "invalid_binding_message"));
    // A client without the grant.
    rig.confidential("nociba", &["client_credentials"]).await;
    let (st, v) = ciba_start(&rig, "nociba", "19999900012", "42").await;
    assert_eq!((st, s(&v, "error")), (400, "unauthorized_client"));

    // The RPPS without its 8 works.
    let (st, v) = ciba_start(&rig, "backend", "19999900012", "42").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["expires_in"], 120);
    assert_eq!(v["interval"], 1);
    let id = s(&v, "auth_req_id").to_string();
    // Pending, then too fast.
    let (st, v) = ciba_poll(&rig, "backend", &id).await;
    assert_eq!((st, s(&v, "error")), (400, "authorization_pending"));
    let (st, v) = ciba_poll(&rig, "backend", &id).await;
    assert_eq!((st, s(&v, "error")), (400, "slow_down"));
    // Another client cannot poll it.
    let (st, v) = ciba_poll(&rig, "nociba", &id).await;
    assert_eq!((st, s(&v, "error")), (400, "unauthorized_client"));

    // The professional approves on the device, with the client's binding code.
    let pending = rig.ecps.pending_for_device(&device).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].service, "Application backend");
    assert!(pending[0].choices.contains(&"42".to_string()));
    let outcome = rig
        .ecps
        .answer(&device, &pending[0].id, "42", PASSWORD)
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Approved);
    // The slow_down made the interval 1 + 5 s: polling 6 s after the last accepted poll
    // is on time.
    rig.clock.advance(Duration::seconds(6));
    let (st, v) = ciba_poll(&rig, "backend", &id).await;
    assert_eq!(st, 200, "{v}");
    assert!(v["refresh_token"].is_string());
    let (_, id_token) = verified_claims(&rig, s(&v, "id_token")).await;
    assert_eq!(id_token["acr"], "eidas1");
    assert_eq!(id_token["preferred_username"], JULIE);
    assert!(id_token["sid"].is_string());
    let (_, at) = verified_claims(&rig, s(&v, "access_token")).await;
    assert_eq!(at["authMode"], "MOBILE");
    let info: Value = rig
        .userinfo(s(&v, "access_token"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["SubjectNameID"], JULIE);
    // Tokens are issued once.
    rig.clock.advance(Duration::seconds(10));
    let (st, v) = ciba_poll(&rig, "backend", &id).await;
    assert_eq!((st, s(&v, "error")), (400, "invalid_grant"));

    // Denied: the professional picks another code.
    rig.clock.advance(Duration::seconds(60));
    let (_, v) = ciba_start(&rig, "backend", JULIE, "17").await;
    let id = s(&v, "auth_req_id").to_string();
    let pending = rig.ecps.pending_for_device(&device).await.unwrap();
    let wrong = pending[0]
        .choices
        .iter()
        .find(|c| *c != "17")
        .unwrap()
        .clone();
    assert_eq!(
        rig.ecps
            .answer(&device, &pending[0].id, &wrong, PASSWORD)
            .await
            .unwrap(),
        Outcome::Denied
    );
    let (st, v) = ciba_poll(&rig, "backend", &id).await;
    assert_eq!((st, s(&v, "error")), (403, "access_denied"));

    // Expired: nobody answers within 120 s.
    rig.clock.advance(Duration::seconds(5));
    let (_, v) = ciba_start(&rig, "backend", JULIE, "33").await;
    let id = s(&v, "auth_req_id").to_string();
    rig.clock.advance(Duration::seconds(121));
    let (st, v) = ciba_poll(&rig, "backend", &id).await;
    assert_eq!((st, s(&v, "error")), (400, "expired_token"));
    rig.db.cleanup().await;
}

on_both_engines! {
    psc_01_discovery_documents_and_jwks => discovery_and_jwks;
    sec_16_discovery_lists_none_for_public_clients => sec_16_discovery_lists_none_for_public_clients;
    psc_01_client_credentials_and_client_authentication => client_credentials;
    psc_01_client_added_while_running_is_usable_at_once => client_added_while_running_is_usable_at_once;
    psc_01_code_grant_pkce_redirect_and_single_use => code_grant_with_pkce;
    psc_01_refresh_rotates_and_reuse_revokes_the_family => refresh_rotation_and_reuse;
    psc_09_userinfo_has_the_psc_shape_for_a_demo_persona => userinfo_shape;
    psc_09_userinfo_follows_registry_updates => userinfo_follows_registry_updates;
    psc_09_userinfo_signed_for_a_client_configured_so => signed_userinfo;
    psc_01_introspection_and_revocation => introspection_and_revocation;
    psc_01_private_key_jwt_client_authentication => private_key_jwt;
    sec_07_private_key_jwt_with_long_lifetime_is_refused => sec_07_private_key_jwt_with_long_lifetime_is_refused;
    sec_07_jti_remembered_until_exp => sec_07_jti_remembered_until_exp;
    psc_01_key_rotation_with_overlap_across_nodes => key_rotation_overlap;
    psc_01_end_session_revokes_and_sends_backchannel_logout => end_session_and_backchannel_logout;
    psc_01_nfr_01_backchannel_logout_survives_a_restart_and_is_retried => backchannel_logout_survives_a_restart_and_is_retried;
    psc_01_ciba_pending_slow_down_approved_denied_expired => ciba;
}

/// Issue 10 item 17: CIBA answers tell a client whether an identifier exists, has an e-CPS,
/// is locked: a client collects 30 refusals per 10 minutes, then every request is refused
/// before its answer is computed, a real professional's too; another client is not
/// affected, and the budget comes back with time.
mod ciba_enumeration {
    use super::*;

    async fn sec_17_ciba_refusals_per_client_are_bounded(dialect: Dialect) {
        let rig = rig(dialect).await;
        rig.confidential("scanner", &["ciba"]).await;
        rig.confidential("honest", &["ciba"]).await;
        let _device = activate(&rig, JULIE).await;
        for i in 0..30u64 {
            let rpps =
                caducee_core::ids::Rpps::from_payload(&format!("{}", 2_000_000_000 + i)).unwrap();
            let (st, v) = ciba_start(&rig, "scanner", rpps.as_str(), "42").await;
            assert_eq!((st, s(&v, "error")), (400, "unknown_user_id"), "{i}: {v}");
        }
        let (st, v) = ciba_start(&rig, "scanner", JULIE, "42").await;
        assert_eq!(st, 429, "{v}");
        assert!(
            s(&v, "error_description").contains("trop de demandes"),
            "{v}"
        );
        let (st, v) = ciba_start(&rig, "honest", JULIE, "42").await;
        assert_eq!(st, 200, "{v}");
        rig.clock.advance(Duration::seconds(1_201));
        let (st, v) = ciba_start(&rig, "scanner", JULIE, "43").await;
        assert_eq!(st, 200, "{v}");
        rig.db.cleanup().await;
    }

    on_both_engines! {
        sec_17_ciba_refusals_per_client_are_bounded => sec_17_ciba_refusals_per_client_are_bounded;
    }
}
