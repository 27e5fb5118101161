//! OIDC clients (relying parties): registration (CLI, configuration file, upsert API),
//! storage, and client authentication at the back-channel endpoints.
//!
//! - **Confidential** clients authenticate with a secret (`client_secret_basic` or
//!   `client_secret_post`) or a signed assertion (`private_key_jwt`, keys given inline or
//!   by URL); **public** clients (`none`) must use PKCE and may not use client_credentials
//!   or CIBA.
//! - Secrets are stored as SHA-256 and compared in constant time. A password hash (argon2)
//!   is not needed and would cap grants at a few per second: client secrets are required
//!   to be high-entropy (≥ 32 characters, generated, never chosen by a person), so a
//!   preimage search on a fast hash is as hopeless as guessing the secret itself.
//! - Clients live in the database: a client added while the server runs is usable at once
//!   (a cache miss always reads the database; hits last `client_cache_secs`).
//!
//! This module must never store, log or print a client secret, and never let a public
//! client pass for a confidential one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use caducee_core::clock::Clock;
use caducee_store::audit::{self, AuditEvent};
use caducee_store::Store;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::jwt::{self, Alg, VerifyKey};
use crate::request::{AuthBy, Form};
use crate::{same_hash, secret_hash, Idp, IdpError};

/// Shortest client secret accepted (characters).
pub const MIN_SECRET_LEN: usize = 32;

/// The grants a client may be given (`ciba` is the CIBA grant
/// `urn:openid:params:grant-type:ciba`).
pub const GRANTS: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "ciba",
];

/// A registered client, as both halves of the provider see it. Never holds the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Client {
    pub client_id: String,
    /// Display name (shown on the login page and on the e-CPS device).
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Among [`GRANTS`].
    pub grants: Vec<String>,
    /// No secret and no keys: authenticates with `none`, PKCE required.
    pub public: bool,
    pub backchannel_logout_uri: Option<String>,
    /// `client_secret_basic` (also accepts `client_secret_post`), `private_key_jwt` or
    /// `none`.
    pub auth_method: String,
    /// Userinfo answered as a signed JWT (`application/jwt`) instead of JSON.
    pub userinfo_signed: bool,
    /// `RS256` (default, what PSC relying parties expect) or `ES256`.
    pub id_token_alg: String,
    /// Inline JWK Set (private_key_jwt).
    pub jwks: Option<String>,
    /// URL of the client's JWK Set (private_key_jwt).
    pub jwks_uri: Option<String>,
}

impl Client {
    pub fn has_grant(&self, grant: &str) -> bool {
        self.grants.iter().any(|g| g == grant)
    }

    pub(crate) fn alg(&self) -> Alg {
        Alg::parse(&self.id_token_alg).unwrap_or(Alg::Rs256)
    }
}

/// What a registration says. `secret` is the clear secret, hashed before it is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ClientSpec {
    #[serde(alias = "id")]
    pub client_id: String,
    pub name: String,
    #[serde(skip)]
    pub secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Default when empty: `authorization_code` and `refresh_token`.
    pub grants: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Inline JWK Set (JSON text) for private_key_jwt.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub userinfo_signed: bool,
    /// `RS256` (default) or `ES256`.
    pub id_token_alg: Option<String>,
}

impl std::fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRecord")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// A client with what authenticates it.
pub(crate) struct ClientRecord {
    pub client: Client,
    secret_hash: Option<String>,
    /// Parsed inline keys.
    keys: Vec<VerifyKey>,
}

fn check_uri(uri: &str, what: &str) -> Result<(), IdpError> {
    let u = url::Url::parse(uri)
        .map_err(|_| IdpError::BadClient(format!("{what} « {uri} » n'est pas une URL absolue")))?;
    if u.fragment().is_some() {
        return Err(IdpError::BadClient(format!(
            "{what} « {uri} » ne doit pas contenir de fragment (#…)"
        )));
    }
    if u.cannot_be_a_base() {
        return Err(IdpError::BadClient(format!("{what} « {uri} » invalide")));
    }
    Ok(())
}

impl ClientSpec {
    /// Checks the registration and normalises it (default grants, algorithm).
    pub fn validate(mut self) -> Result<ClientSpec, IdpError> {
        let id = self.client_id.trim().to_string();
        if id.is_empty()
            || id.len() > 100
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        {
            return Err(IdpError::BadClient(
                "identifiant de client invalide : 1 à 100 caractères parmi lettres, chiffres, - _ . :"
                    .into(),
            ));
        }
        self.client_id = id;
        self.name = self.name.trim().to_string();
        if self.name.is_empty() {
            return Err(IdpError::BadClient(
                "le nom du client est obligatoire".into(),
            ));
        }
        if let Some(s) = &self.secret {
            if s.chars().count() < MIN_SECRET_LEN {
                return Err(IdpError::BadClient(format!(
                    "secret trop court : au moins {MIN_SECRET_LEN} caractères aléatoires (par exemple `openssl rand -hex 32`)"
                )));
            }
        }
        if self.grants.is_empty() {
            self.grants = vec!["authorization_code".into(), "refresh_token".into()];
        }
        let mut grants: Vec<String> = Vec::new();
        for g in &self.grants {
            let g = match g.trim() {
                "urn:openid:params:grant-type:ciba" => "ciba",
                other => other,
            };
            if !GRANTS.contains(&g) {
                return Err(IdpError::BadClient(format!(
                    "autorisation « {g} » inconnue : {}",
                    GRANTS.join(", ")
                )));
            }
            if !grants.iter().any(|x| x == g) {
                grants.push(g.to_string());
            }
        }
        self.grants = grants;
        if let Some(j) = &self.jwks {
            let v: serde_json::Value = serde_json::from_str(j)
                .map_err(|e| IdpError::BadClient(format!("JWKS illisible : {e}")))?;
            if jwt::keys_of_jwks(&v).is_empty() {
                return Err(IdpError::BadClient(
                    "JWKS sans clé utilisable (RSA ou EC P-256, usage signature)".into(),
                ));
            }
            self.jwks = Some(v.to_string());
        }
        if let Some(u) = &self.jwks_uri {
            check_uri(u, "jwks_uri")?;
        }
        if self.secret.is_some() && (self.jwks.is_some() || self.jwks_uri.is_some()) {
            return Err(IdpError::BadClient(
                "un client s'authentifie soit par secret, soit par clés (private_key_jwt), pas les deux"
                    .into(),
            ));
        }
        let public = self.secret.is_none() && self.jwks.is_none() && self.jwks_uri.is_none();
        if public {
            for g in ["client_credentials", "ciba"] {
                if self.grants.iter().any(|x| x == g) {
                    return Err(IdpError::BadClient(format!(
                        "un client public (sans secret ni clés) ne peut pas utiliser « {g} »"
                    )));
                }
            }
        }
        for u in &self.redirect_uris {
            check_uri(u, "redirect_uri")?;
        }
        for u in &self.post_logout_redirect_uris {
            check_uri(u, "post_logout_redirect_uri")?;
        }
        if let Some(u) = &self.backchannel_logout_uri {
            check_uri(u, "backchannel_logout_uri")?;
        }
        if self.grants.iter().any(|g| g == "authorization_code") && self.redirect_uris.is_empty() {
            return Err(IdpError::BadClient(
                "l'autorisation « authorization_code » demande au moins une redirect_uri".into(),
            ));
        }
        let alg = self.id_token_alg.as_deref().unwrap_or("RS256");
        if Alg::parse(alg).is_none() {
            return Err(IdpError::BadClient(format!(
                "algorithme « {alg} » non pris en charge : RS256 ou ES256"
            )));
        }
        self.id_token_alg = Some(alg.to_string());
        Ok(self)
    }
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn parse_list(s: &str) -> Result<Vec<String>, IdpError> {
    serde_json::from_str(s).map_err(|e| IdpError::Internal(format!("liste illisible : {e}")))
}

fn record_of(r: &sqlx::any::AnyRow) -> Result<ClientRecord, IdpError> {
    let secret_hash: Option<String> = r.try_get("secret_hash")?;
    let jwks: Option<String> = r.try_get("jwks")?;
    let jwks_uri: Option<String> = r.try_get("jwks_uri")?;
    let keys = jwks
        .as_deref()
        .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
        .map(|v| jwt::keys_of_jwks(&v))
        .unwrap_or_default();
    let auth_method = if secret_hash.is_some() {
        "client_secret_basic"
    } else if jwks.is_some() || jwks_uri.is_some() {
        "private_key_jwt"
    } else {
        "none"
    };
    Ok(ClientRecord {
        client: Client {
            client_id: r.try_get("client_id")?,
            name: r.try_get("name")?,
            redirect_uris: parse_list(&r.try_get::<String, _>("redirect_uris")?)?,
            post_logout_redirect_uris: parse_list(
                &r.try_get::<String, _>("post_logout_redirect_uris")?,
            )?,
            grants: parse_list(&r.try_get::<String, _>("grants")?)?,
            public: auth_method == "none",
            backchannel_logout_uri: r.try_get("backchannel_logout_uri")?,
            auth_method: auth_method.to_string(),
            userinfo_signed: r.try_get::<i64, _>("userinfo_signed")? != 0,
            id_token_alg: r.try_get("id_token_alg")?,
            jwks,
            jwks_uri,
        },
        secret_hash,
        keys,
    })
}

/// Keys fetched from a client's `jwks_uri` and when.
type CachedKeys = (Arc<Vec<VerifyKey>>, Instant);

/// Per-node cache of clients read from the database (hits only: misses always read).
#[derive(Default)]
pub(crate) struct ClientCache {
    entries: Mutex<HashMap<String, (Arc<ClientRecord>, Instant)>>,
    /// Keys fetched from `jwks_uri`, by URL.
    remote_jwks: Mutex<HashMap<String, CachedKeys>>,
}

impl ClientCache {
    fn get(&self, id: &str, ttl: Duration) -> Option<Arc<ClientRecord>> {
        let map = self.entries.lock().ok()?;
        map.get(id)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(c, _)| c.clone())
    }

    fn put(&self, id: &str, rec: Arc<ClientRecord>) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert(id.to_string(), (rec, Instant::now()));
        }
    }

    pub(crate) fn forget(&self, id: &str) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(id);
        }
    }
}

/// Longest life of a `private_key_jwt` assertion (`exp - iat`, seconds): an assertion is
/// made for one request and sent at once (openid-client gives 60 s), so a longer one is a
/// credential kept for later, which a replay cache could not hold for ever.
pub(crate) const MAX_ASSERTION_LIFETIME: i64 = 300;
/// How far ahead of our clock an assertion's `iat` (and `nbf`) may be (the client's clock).
pub(crate) const ASSERTION_CLOCK_SKEW: i64 = 60;

/// Remote JWKS are reused this long; an unknown kid refetches after `JWKS_REFETCH`.
const JWKS_TTL: Duration = Duration::from_secs(300);
const JWKS_REFETCH: Duration = Duration::from_secs(10);

/// Creates or replaces a client (CLI, configuration file, demo portals), audited in the
/// same transaction. Works on a bare store, so the CLI needs no running provider.
pub async fn upsert_client(
    store: &Store,
    clock: &dyn Clock,
    spec: ClientSpec,
    actor: &str,
) -> Result<Client, IdpError> {
    let spec = spec.validate()?;
    let now = clock.unix();
    let mut tx = store.begin().await?;
    let existed = sqlx::query("SELECT 1 FROM idp_client WHERE client_id = $1")
        .bind(&spec.client_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    sqlx::query(
        "INSERT INTO idp_client (client_id, name, secret_hash, jwks, jwks_uri, redirect_uris,
            post_logout_redirect_uris, grants, backchannel_logout_uri, userinfo_signed,
            id_token_alg, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
         ON CONFLICT (client_id) DO UPDATE SET name = excluded.name,
            secret_hash = excluded.secret_hash, jwks = excluded.jwks,
            jwks_uri = excluded.jwks_uri, redirect_uris = excluded.redirect_uris,
            post_logout_redirect_uris = excluded.post_logout_redirect_uris,
            grants = excluded.grants, backchannel_logout_uri = excluded.backchannel_logout_uri,
            userinfo_signed = excluded.userinfo_signed, id_token_alg = excluded.id_token_alg,
            updated_at = excluded.updated_at",
    )
    .bind(&spec.client_id)
    .bind(&spec.name)
    .bind(spec.secret.as_deref().map(secret_hash))
    .bind(&spec.jwks)
    .bind(&spec.jwks_uri)
    .bind(json_list(&spec.redirect_uris))
    .bind(json_list(&spec.post_logout_redirect_uris))
    .bind(json_list(&spec.grants))
    .bind(&spec.backchannel_logout_uri)
    .bind(i64::from(spec.userinfo_signed))
    .bind(spec.id_token_alg.as_deref().unwrap_or("RS256"))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor,
            action: if existed {
                "idp.client.updated"
            } else {
                "idp.client.added"
            },
            subject: Some(&spec.client_id),
            details: serde_json::json!({
                "name": spec.name,
                "confidential": spec.secret.is_some() || spec.jwks.is_some() || spec.jwks_uri.is_some(),
                "secretSet": spec.secret.is_some(),
                "redirectUris": spec.redirect_uris,
                "postLogoutRedirectUris": spec.post_logout_redirect_uris,
                "grants": spec.grants,
                "backchannelLogoutUri": spec.backchannel_logout_uri,
                "userinfoSigned": spec.userinfo_signed,
                "idTokenAlg": spec.id_token_alg,
            }),
            request_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    read_client(store, &spec.client_id)
        .await?
        .map(|r| r.client)
        .ok_or_else(|| IdpError::Internal("client disparu après son enregistrement".into()))
}

/// Removes a client; its refresh tokens are revoked with it. Returns false when unknown.
pub async fn remove_client(
    store: &Store,
    clock: &dyn Clock,
    client_id: &str,
    actor: &str,
) -> Result<bool, IdpError> {
    let now = clock.unix();
    let mut tx = store.begin().await?;
    let gone = sqlx::query("DELETE FROM idp_client WHERE client_id = $1")
        .bind(client_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if gone > 0 {
        sqlx::query(
            "UPDATE idp_refresh SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor,
                action: "idp.client.removed",
                subject: Some(client_id),
                details: serde_json::json!({}),
                request_id: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(gone > 0)
}

/// Every client, by id.
pub async fn list_clients(store: &Store) -> Result<Vec<Client>, IdpError> {
    sqlx::query("SELECT * FROM idp_client ORDER BY client_id")
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| record_of(r).map(|c| c.client))
        .collect()
}

async fn read_client(store: &Store, client_id: &str) -> Result<Option<ClientRecord>, IdpError> {
    sqlx::query("SELECT * FROM idp_client WHERE client_id = $1")
        .bind(client_id)
        .fetch_optional(store.pool())
        .await?
        .map(|row| record_of(&row))
        .transpose()
}

impl Idp {
    /// Creates or replaces a client (see [`upsert_client`]); usable at once on every node.
    pub async fn upsert_client(&self, spec: ClientSpec, actor: &str) -> Result<Client, IdpError> {
        let id = spec.client_id.trim().to_string();
        let c = upsert_client(self.store(), self.clock().as_ref(), spec, actor).await;
        self.inner.clients.forget(&id);
        c
    }

    /// Removes a client (see [`remove_client`]).
    pub async fn remove_client(&self, client_id: &str, actor: &str) -> Result<bool, IdpError> {
        let gone = remove_client(self.store(), self.clock().as_ref(), client_id, actor).await;
        self.inner.clients.forget(client_id);
        gone
    }

    /// Every client, by id.
    pub async fn list_clients(&self) -> Result<Vec<Client>, IdpError> {
        list_clients(self.store()).await
    }

    /// A client by id (seam: the browser side validates authorization requests with it).
    pub async fn client(&self, client_id: &str) -> Result<Option<Client>, IdpError> {
        Ok(self
            .client_record(client_id)
            .await?
            .map(|r| r.client.clone()))
    }

    pub(crate) async fn client_record(
        &self,
        client_id: &str,
    ) -> Result<Option<Arc<ClientRecord>>, IdpError> {
        let ttl = Duration::from_secs(self.config().client_cache_secs);
        if !ttl.is_zero() {
            if let Some(c) = self.inner.clients.get(client_id, ttl) {
                return Ok(Some(c));
            }
        }
        let Some(rec) = read_client(self.store(), client_id).await? else {
            return Ok(None);
        };
        let rec = Arc::new(rec);
        if !ttl.is_zero() {
            self.inner.clients.put(client_id, rec.clone());
        }
        Ok(Some(rec))
    }

    /// Authenticates the client of a back-channel request (RFC 6749 §2.3, OIDC Core §9):
    /// HTTP Basic, `client_secret` in the body, a `private_key_jwt` assertion, or only
    /// `client_id` for a public client. `audience` is the endpoint's URL (accepted in an
    /// assertion's `aud` beside the issuer and the token endpoint).
    pub(crate) async fn authenticate_client(
        &self,
        headers: &HeaderMap,
        form: &Form,
        audience: &str,
    ) -> Result<(Arc<ClientRecord>, AuthBy), IdpError> {
        let fail = |m: &str| IdpError::InvalidClient(m.to_string());
        let basic = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Basic ")
                    .or_else(|| v.strip_prefix("basic "))
            });
        let body_id = form.get("client_id");
        let assertion = form.get("client_assertion");
        if let Some(b) = basic {
            if form.get("client_secret").is_some() || assertion.is_some() {
                return Err(IdpError::InvalidRequest(
                    "une seule méthode d'authentification du client par requête".into(),
                ));
            }
            let decoded = STANDARD
                .decode(b.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .ok_or_else(|| fail("en-tête Authorization illisible"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| fail("en-tête Authorization illisible"))?;
            // RFC 6749 §2.3.1: both are form-urlencoded before Basic encoding.
            let id = form_decode(id);
            let secret = form_decode(secret);
            if body_id.is_some_and(|b| b != id) {
                return Err(fail("client_id contradictoire"));
            }
            let rec = self.secret_client(&id, &secret).await?;
            return Ok((rec, AuthBy::Secret));
        }
        if let Some(a) = assertion {
            if form.get("client_assertion_type")
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                return Err(IdpError::InvalidRequest(
                    "client_assertion_type doit valoir urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
            }
            let rec = self.assertion_client(a, body_id, audience).await?;
            return Ok((rec, AuthBy::Assertion));
        }
        let id = body_id.ok_or_else(|| fail("authentification du client requise"))?;
        if let Some(secret) = form.get("client_secret") {
            let rec = self.secret_client(id, secret).await?;
            return Ok((rec, AuthBy::Secret));
        }
        let rec = self
            .client_record(id)
            .await?
            .ok_or_else(|| fail("client inconnu"))?;
        if !rec.client.public {
            return Err(fail("ce client doit s'authentifier"));
        }
        Ok((rec, AuthBy::None))
    }

    async fn secret_client(&self, id: &str, secret: &str) -> Result<Arc<ClientRecord>, IdpError> {
        let fail = || IdpError::InvalidClient("authentification du client refusée".into());
        let rec = self.client_record(id).await?.ok_or_else(fail)?;
        let stored = rec.secret_hash.as_deref().ok_or_else(fail)?;
        if !same_hash(&secret_hash(secret), stored) {
            return Err(fail());
        }
        Ok(rec)
    }

    /// private_key_jwt (RFC 7523 §3): `iss` = `sub` = the client, `aud` names us, signed by
    /// one of the client's keys, short-lived (`iat` required, not ahead of our clock by more
    /// than [`ASSERTION_CLOCK_SKEW`], `exp - iat` at most [`MAX_ASSERTION_LIFETIME`]), not
    /// expired, `jti` never seen before. Each `jti` is remembered in the database (every
    /// node reads it) until the assertion's `exp`, so it is refused as long as it is valid.
    async fn assertion_client(
        &self,
        assertion: &str,
        body_id: Option<&str>,
        audience: &str,
    ) -> Result<Arc<ClientRecord>, IdpError> {
        #[derive(Deserialize)]
        struct Claims {
            iss: String,
            sub: String,
            aud: serde_json::Value,
            exp: i64,
            #[serde(default)]
            iat: Option<i64>,
            #[serde(default)]
            nbf: Option<i64>,
            jti: String,
        }
        let fail = |m: &str| IdpError::InvalidClient(format!("assertion du client refusée : {m}"));
        let jws = jwt::split(assertion).map_err(|_| fail("mal formée"))?;
        let header = jws.header().map_err(|_| fail("en-tête illisible"))?;
        // The claims are read before the signature only to find which client's keys to
        // use; nothing is trusted until the signature is checked below.
        let unverified: Claims = jws
            .claims()
            .map_err(|_| fail("revendications illisibles"))?;
        if unverified.iss != unverified.sub || body_id.is_some_and(|b| b != unverified.sub) {
            return Err(fail("iss, sub et client_id doivent nommer le client"));
        }
        let rec = self
            .client_record(&unverified.sub)
            .await?
            .ok_or_else(|| fail("client inconnu"))?;
        let c = &rec.client;
        if c.jwks.is_none() && c.jwks_uri.is_none() {
            return Err(fail("ce client n'a pas de clés enregistrées"));
        }
        let verify_with = |keys: &[VerifyKey]| {
            keys.iter()
                .filter(|k| {
                    header.kid.is_none()
                        || k.kid.is_none()
                        || k.kid.as_deref() == header.kid.as_deref()
                })
                .any(|k| k.verify(&jws, &header.alg).is_ok())
        };
        let mut ok = verify_with(&rec.keys);
        if !ok {
            if let Some(uri) = &c.jwks_uri {
                ok = verify_with(&self.remote_jwks(uri, false).await?)
                    || verify_with(&self.remote_jwks(uri, true).await?);
            }
        }
        if !ok {
            return Err(fail("signature invalide"));
        }
        let now = self.now();
        if unverified.exp <= now {
            return Err(fail("expirée"));
        }
        let Some(iat) = unverified.iat else {
            return Err(fail("date d'émission (iat) manquante"));
        };
        if iat > now + ASSERTION_CLOCK_SKEW
            || unverified
                .nbf
                .is_some_and(|nbf| nbf > now + ASSERTION_CLOCK_SKEW)
        {
            return Err(fail("émise dans le futur (iat ou nbf)"));
        }
        if unverified.exp - iat > MAX_ASSERTION_LIFETIME {
            return Err(fail(&format!(
                "durée de validité supérieure à {MAX_ASSERTION_LIFETIME} secondes (exp - iat)"
            )));
        }
        let auds: Vec<&str> = match &unverified.aud {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
            _ => Vec::new(),
        };
        let token_endpoint = format!("{}/protocol/openid-connect/token", self.issuer());
        if !auds
            .iter()
            .any(|a| *a == self.issuer() || *a == token_endpoint || *a == audience)
        {
            return Err(fail("audience (aud) inattendue"));
        }
        if unverified.jti.is_empty() {
            return Err(fail("jti manquant"));
        }
        let fresh = sqlx::query(
            "INSERT INTO idp_assertion_jti (client_id, jti, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (client_id, jti) DO NOTHING",
        )
        .bind(&c.client_id)
        .bind(&unverified.jti)
        // Until the assertion expires (at most MAX_ASSERTION_LIFETIME + the skew from now):
        // the housekeeping deletes the id only once the assertion can no longer pass.
        .bind(unverified.exp)
        .execute(self.store().pool())
        .await?
        .rows_affected();
        if fresh == 0 {
            return Err(fail("déjà utilisée (jti rejoué)"));
        }
        Ok(rec)
    }

    /// The keys at a client's `jwks_uri`, cached; `refresh` refetches when the cache is
    /// older than a few seconds (a client that rotated its keys).
    async fn remote_jwks(&self, uri: &str, refresh: bool) -> Result<Arc<Vec<VerifyKey>>, IdpError> {
        let cached = self
            .inner
            .clients
            .remote_jwks
            .lock()
            .ok()
            .and_then(|m| m.get(uri).cloned());
        if let Some((keys, at)) = &cached {
            let max_age = if refresh { JWKS_REFETCH } else { JWKS_TTL };
            if at.elapsed() < max_age {
                return Ok(keys.clone());
            }
        }
        let fetched = async {
            let resp = self
                .inner
                .http
                .get(uri)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .ok()?;
            if !resp.status().is_success() {
                return None;
            }
            resp.json::<serde_json::Value>().await.ok()
        }
        .await;
        let Some(doc) = fetched else {
            tracing::warn!(uri, "JWKS du client injoignable");
            return Ok(cached.map(|(k, _)| k).unwrap_or_default());
        };
        let keys = Arc::new(jwt::keys_of_jwks(&doc));
        if let Ok(mut m) = self.inner.clients.remote_jwks.lock() {
            m.insert(uri.to_string(), (keys.clone(), Instant::now()));
        }
        Ok(keys)
    }
}

/// Decodes one `application/x-www-form-urlencoded` value (`+` is a space).
fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec() -> ClientSpec {
        ClientSpec {
            client_id: "app".into(),
            name: "App".into(),
            secret: Some("s".repeat(32)),
            redirect_uris: vec!["https://app.example/cb".into()],
            ..Default::default()
        }
    }

    #[test]
    fn psc_01_client_registrations_are_checked() {
        let ok = spec().validate().unwrap();
        assert_eq!(ok.grants, ["authorization_code", "refresh_token"]);
        assert_eq!(ok.id_token_alg.as_deref(), Some("RS256"));
        let short = ClientSpec {
            secret: Some("short".into()),
            ..spec()
        };
        assert!(matches!(short.validate(), Err(IdpError::BadClient(m)) if m.contains("32")));
        let public_cc = ClientSpec {
            secret: None,
            grants: vec!["client_credentials".into()],
            ..spec()
        };
        assert!(public_cc.validate().is_err());
        let fragment = ClientSpec {
            redirect_uris: vec!["https://app.example/cb#x".into()],
            ..spec()
        };
        assert!(fragment.validate().is_err());
        let ciba = ClientSpec {
            grants: vec!["urn:openid:params:grant-type:ciba".into()],
            redirect_uris: vec![],
            ..spec()
        };
        assert_eq!(ciba.validate().unwrap().grants, ["ciba"]);
        let bad_alg = ClientSpec {
            id_token_alg: Some("HS256".into()),
            ..spec()
        };
        assert!(bad_alg.validate().is_err());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(form_decode("a%3Ab+c"), "a:b c");
    }
}
