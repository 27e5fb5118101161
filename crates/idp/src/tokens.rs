//! Tokens: authorization codes (seam: [`Idp::issue_code`]), the grants of the token
//! endpoint (authorization code, refresh token with rotation and reuse detection, client
//! credentials; CIBA in `ciba.rs`), ID and access tokens shaped as PSC's, refresh tokens,
//! revocation (RFC 7009) and introspection (RFC 7662).
//!
//! - Codes and refresh tokens are random 256-bit strings stored as SHA-256 only.
//! - A code is single-use: its redemption is one conditional UPDATE; a second redemption
//!   revokes everything the first issued (the refresh family and its access token).
//! - Every refresh rotates (RFC 9700 §4.14.2): presenting a refresh token that was already
//!   rotated revokes the whole family, the attacker's and the victim's copies alike.
//! - Access tokens are JWTs checked by signature; a revoked one is remembered by `jti`
//!   until it expires, in the database (every node) and in each node's memory
//!   (`Revocations`, reloaded about every second), so that userinfo and introspection
//!   cost no query.
//!
//! This module must never store a code or a refresh token in clear, never log one, and
//! never issue tokens from a code or refresh token whose checks it has not all passed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use caducee_store::audit::{self, AuditEvent};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use sqlx::Row;

use crate::clients::{Client, ClientRecord};
use crate::jwt::{b64, Alg};
use crate::request::AuthBy;
use crate::{random_secret, secret_hash, Authentication, CodeRequest, Idp, IdpError};

/// The uuid of PSC's federated subject `f:<uuid>:<idNat>`: the one PSC itself uses (see
/// reference/psc.md), the same for everyone, so a relying party that stored PSC subjects
/// finds its users unchanged.
pub const SUBJECT_UUID: &str = "550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd";

/// The scopes this provider knows (reference/psc.md).
pub const SCOPES: [&str; 7] = [
    "openid",
    "scope_all",
    "profile",
    "email",
    "rpps",
    "identity",
    "eidas1",
];

/// The subject of a professional.
pub fn subject(idnat: &str) -> String {
    format!("f:{SUBJECT_UUID}:{idnat}")
}

/// The idNat of a subject of ours, None for a service account.
pub fn idnat_of_subject(sub: &str) -> Option<&str> {
    sub.strip_prefix("f:")?
        .strip_prefix(SUBJECT_UUID)?
        .strip_prefix(':')
}

/// `otherIds` of tokens and userinfo: the national identifier and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherId {
    pub identifiant: String,
    pub origine: String,
    pub qualite: i64,
}

pub fn other_ids(idnat: &str) -> Vec<OtherId> {
    vec![OtherId {
        identifiant: idnat.to_string(),
        // idNat_PS: 8 + RPPS, 0 + ADELI (other prefixes are structures' staff).
        origine: if idnat.starts_with('0') {
            "ADELI"
        } else {
            "RPPS"
        }
        .to_string(),
        qualite: 1,
    }]
}

/// The claims of an access token (reference/psc.md). User claims are absent from a
/// service account's token (client credentials).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub typ: String,
    pub azp: String,
    pub aud: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    pub scope: String,
    #[serde(rename = "authMode", default, skip_serializing_if = "Option::is_none")]
    pub auth_mode: Option<String>,
    #[serde(rename = "otherIds", default, skip_serializing_if = "Option::is_none")]
    pub other_ids: Option<Vec<OtherId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
}

/// The claims of an ID token (reference/psc.md, OIDC Core §2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub acr: String,
    pub amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub azp: String,
    pub preferred_username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Keycloak's marker, so that an ID token is never taken for an access token.
    pub typ: String,
    pub jti: String,
}

/// What the end-session endpoint learns from a verified `id_token_hint` (seam).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenHint {
    /// The audience: the client the ID token was issued to.
    pub client_id: String,
    pub idnat: String,
    pub sid: Option<String>,
}

/// The body of a successful token response (RFC 6749 §5.1, with Keycloak's extra fields
/// that PSC relying parties see).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(rename = "not-before-policy")]
    pub not_before_policy: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_state: Option<String>,
    pub scope: String,
}

/// A professional's authorization as it travels from a code or refresh token to tokens.
#[derive(Debug, Clone)]
pub(crate) struct UserGrant {
    pub idnat: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    pub auth_mode: String,
    pub session_id: Option<String>,
}

impl UserGrant {
    pub(crate) fn from_authentication(
        auth: &Authentication,
        scope: &str,
        nonce: Option<&str>,
    ) -> Self {
        UserGrant {
            idnat: auth.idnat.clone(),
            scope: scope.to_string(),
            nonce: nonce.map(str::to_string),
            auth_time: auth.auth_time,
            acr: auth.acr.clone(),
            amr: auth.amr.clone(),
            auth_mode: auth.auth_mode.clone(),
            session_id: auth.session_id.clone(),
        }
    }

    fn from_row(r: &sqlx::any::AnyRow) -> Result<UserGrant, IdpError> {
        let amr: String = r.try_get("amr")?;
        Ok(UserGrant {
            idnat: r.try_get("idnat")?,
            scope: r.try_get("scope")?,
            nonce: r.try_get("nonce")?,
            auth_time: r.try_get("auth_time")?,
            acr: r.try_get("acr")?,
            amr: serde_json::from_str(&amr).unwrap_or_default(),
            auth_mode: r.try_get("auth_mode")?,
            session_id: r.try_get("session_id")?,
        })
    }
}

/// An access token about to be issued: its id and expiry are known before it is signed, so
/// they can be stored with the grant in the same transaction.
pub(crate) struct PendingAccess {
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

/// Access tokens revoked before their expiry, as this node knows them.
#[derive(Default)]
pub(crate) struct Revocations {
    jtis: Mutex<HashMap<String, i64>>,
    loaded_at: Mutex<Option<Instant>>,
    reloading: AtomicBool,
}

impl Revocations {
    fn contains(&self, jti: &str) -> bool {
        self.jtis
            .lock()
            .map(|m| m.contains_key(jti))
            .unwrap_or(true)
    }

    fn insert(&self, jti: &str, exp: i64) {
        if let Ok(mut m) = self.jtis.lock() {
            m.insert(jti.to_string(), exp);
        }
    }
}

/// S256 of a PKCE verifier (RFC 7636 §4.2).
fn s256(verifier: &str) -> String {
    b64(&sha2::Sha256::digest(verifier.as_bytes()))
}

/// OIDC `at_hash`: left half of the SHA-256 of the access token (RS256 and ES256 both use
/// SHA-256).
fn at_hash(access_token: &str) -> String {
    let d = sha2::Sha256::digest(access_token.as_bytes());
    b64(&d[..16])
}

/// The scopes of an authorization request that this provider knows, deduplicated, in
/// request order; the others are dropped, as Keycloak (which PSC is) ignores them and RFC
/// 6749 §3.3 allows, so a relying party written for PSC that sends one still logs in (the
/// token response's `scope` says what was granted).
pub(crate) fn known_scopes(requested: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for s in requested.split(' ').filter(|s| SCOPES.contains(s)) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" ")
}

/// Checks a requested scope against what the provider knows (and, when given, what was
/// granted); returns it normalised (deduplicated, in request order).
pub(crate) fn check_scope(requested: &str, granted: Option<&str>) -> Result<String, IdpError> {
    let mut out: Vec<&str> = Vec::new();
    for s in requested.split(' ').filter(|s| !s.is_empty()) {
        if !SCOPES.contains(&s) {
            return Err(IdpError::InvalidScope(format!("scope « {s} » inconnu")));
        }
        if let Some(g) = granted {
            if !g.split(' ').any(|x| x == s) {
                return Err(IdpError::InvalidScope(format!(
                    "scope « {s} » non accordé à l'origine"
                )));
            }
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out.join(" "))
}

impl Idp {
    pub(crate) fn pending_access(&self) -> PendingAccess {
        let iat = self.now();
        PendingAccess {
            jti: uuid::Uuid::new_v4().to_string(),
            iat,
            exp: iat + self.config().access_token_ttl_secs,
        }
    }

    /// Signs the access and ID tokens of a user grant.
    fn sign_user_tokens(
        &self,
        client: &Client,
        g: &UserGrant,
        access: &PendingAccess,
        scope: &str,
    ) -> Result<(String, Option<String>), IdpError> {
        let keys = self.keys();
        let now = access.iat;
        let rs = keys
            .signer(Alg::Rs256, now)
            .ok_or_else(|| IdpError::Internal("aucune clé RS256 active".into()))?;
        let sub = subject(&g.idnat);
        let at = AccessClaims {
            iss: self.issuer().to_string(),
            sub: sub.clone(),
            typ: "Bearer".into(),
            azp: client.client_id.clone(),
            aud: client.client_id.clone(),
            nonce: g.nonce.clone(),
            session_state: g.session_id.clone(),
            sid: g.session_id.clone(),
            acr: Some(g.acr.clone()),
            scope: scope.to_string(),
            auth_mode: Some(g.auth_mode.clone()),
            other_ids: Some(other_ids(&g.idnat)),
            preferred_username: Some(g.idnat.clone()),
            auth_time: Some(g.auth_time),
            exp: access.exp,
            iat: now,
            jti: access.jti.clone(),
        };
        // Access tokens are RS256 for everyone (what resource servers of the PSC ecosystem
        // verify); the client's algorithm choice applies to what it verifies itself.
        let access_token = rs.sign("JWT", &at)?;
        let id_token = if scope.split(' ').any(|s| s == "openid") {
            let key = keys.signer(client.alg(), now).ok_or_else(|| {
                IdpError::Internal("aucune clé active pour cet algorithme".into())
            })?;
            let idc = IdClaims {
                iss: self.issuer().to_string(),
                sub,
                aud: client.client_id.clone(),
                exp: now + self.config().id_token_ttl_secs,
                iat: now,
                auth_time: g.auth_time,
                nonce: g.nonce.clone(),
                acr: g.acr.clone(),
                amr: g.amr.clone(),
                sid: g.session_id.clone(),
                azp: client.client_id.clone(),
                preferred_username: g.idnat.clone(),
                at_hash: Some(at_hash(&access_token)),
                typ: "ID".into(),
                jti: uuid::Uuid::new_v4().to_string(),
            };
            Some(key.sign("JWT", &idc)?)
        } else {
            None
        };
        Ok((access_token, id_token))
    }

    /// Seam: stores an authorization code (hashed) with everything the token grant needs,
    /// and returns it.
    pub async fn issue_code(
        &self,
        req: &CodeRequest,
        auth: &Authentication,
    ) -> Result<String, IdpError> {
        let client = self
            .client(&req.client_id)
            .await?
            .ok_or_else(|| IdpError::UnknownClient(req.client_id.clone()))?;
        if !client.redirect_uris.contains(&req.redirect_uri) {
            return Err(IdpError::InvalidRequest(
                "redirect_uri non enregistrée pour ce client".into(),
            ));
        }
        if client.public && req.code_challenge.is_none() {
            return Err(IdpError::InvalidRequest(
                "PKCE (code_challenge S256) obligatoire pour un client public".into(),
            ));
        }
        let scope = check_scope(&req.scope, None)?;
        let code = random_secret();
        let now = self.now();
        sqlx::query(
            "INSERT INTO idp_code (code_hash, client_id, redirect_uri, scope, nonce, code_challenge,
                idnat, auth_time, acr, amr, auth_mode, session_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(secret_hash(&code))
        .bind(&req.client_id)
        .bind(&req.redirect_uri)
        .bind(&scope)
        .bind(&req.nonce)
        .bind(&req.code_challenge)
        .bind(&auth.idnat)
        .bind(auth.auth_time)
        .bind(&auth.acr)
        .bind(serde_json::to_string(&auth.amr).unwrap_or_else(|_| "[]".into()))
        .bind(&auth.auth_mode)
        .bind(&auth.session_id)
        .bind(now)
        .bind(now + self.config().code_ttl_secs)
        .execute(self.store().pool())
        .await?;
        Ok(code)
    }

    /// The first refresh token of a fresh user authorization (code redemption or CIBA),
    /// when the client may refresh; inserted by the transaction that claims it.
    pub(crate) fn new_family(
        &self,
        client: &Client,
        g: &UserGrant,
        access: &PendingAccess,
        family_id: &str,
    ) -> Option<NewFamily> {
        if !client.has_grant("refresh_token") {
            return None;
        }
        let now = access.iat;
        let family_expires_at = now + self.config().session_max_secs;
        Some(NewFamily {
            token: random_secret(),
            family_id: family_id.to_string(),
            client_id: client.client_id.clone(),
            grant: g.clone(),
            now,
            expires_at: (now + self.config().refresh_token_ttl_secs).min(family_expires_at),
            family_expires_at,
            access_jti: access.jti.clone(),
            access_exp: access.exp,
        })
    }

    /// Signs the tokens of a user grant and shapes the answer. Called after the commit:
    /// signing takes most of a grant's time and must not hold the database's write lock.
    pub(crate) fn user_token_response(
        &self,
        client: &Client,
        g: &UserGrant,
        access: &PendingAccess,
        scope: &str,
        refresh: Option<(String, i64)>,
    ) -> Result<TokenResponse, IdpError> {
        let (access_token, id_token) = self.sign_user_tokens(client, g, access, scope)?;
        let (refresh_token, refresh_expires_in) = refresh.unzip();
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: access.exp - access.iat,
            refresh_token,
            refresh_expires_in,
            id_token,
            not_before_policy: 0,
            session_state: g.session_id.clone(),
            scope: scope.to_string(),
        })
    }

    /// `grant_type=authorization_code`.
    pub(crate) async fn grant_code(
        &self,
        rec: &ClientRecord,
        code: Option<&str>,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<TokenResponse, IdpError> {
        let client = &rec.client;
        if !client.has_grant("authorization_code") {
            return Err(IdpError::UnauthorizedClient(
                "ce client n'est pas autorisé à utiliser authorization_code".into(),
            ));
        }
        let code =
            code.ok_or_else(|| IdpError::InvalidRequest("paramètre code manquant".into()))?;
        let hash = secret_hash(code);
        let bad = || {
            IdpError::InvalidGrant("code d'autorisation invalide, expiré ou déjà utilisé".into())
        };
        let row = sqlx::query("SELECT * FROM idp_code WHERE code_hash = $1")
            .bind(&hash)
            .fetch_optional(self.store().pool())
            .await?
            .ok_or_else(bad)?;
        let now = self.now();
        if row.try_get::<String, _>("client_id")? != client.client_id {
            return Err(bad());
        }
        if row.try_get::<Option<i64>, _>("used_at")?.is_some() {
            let family: Option<String> = row.try_get("family_id")?;
            self.code_reused(&client.client_id, family.as_deref(), &row)
                .await?;
            return Err(bad());
        }
        if row.try_get::<i64, _>("expires_at")? <= now {
            return Err(bad());
        }
        if redirect_uri != Some(row.try_get::<String, _>("redirect_uri")?.as_str()) {
            return Err(IdpError::InvalidGrant(
                "redirect_uri différente de celle de la demande d'autorisation".into(),
            ));
        }
        let challenge: Option<String> = row.try_get("code_challenge")?;
        match (&challenge, verifier) {
            (Some(c), Some(v)) => {
                let well_formed = (43..=128).contains(&v.len())
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
                if !well_formed || !crate::same_hash(&s256(v), c) {
                    return Err(IdpError::InvalidGrant(
                        "code_verifier (PKCE) incorrect".into(),
                    ));
                }
            }
            (Some(_), None) => {
                return Err(IdpError::InvalidGrant(
                    "code_verifier (PKCE) manquant".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(IdpError::InvalidGrant(
                    "code_verifier sans code_challenge dans la demande d'autorisation".into(),
                ))
            }
            (None, None) => {}
        }
        let g = UserGrant::from_row(&row)?;
        let access = self.pending_access();
        let family_id = uuid::Uuid::new_v4().to_string();
        // Claiming the code and starting its refresh family: one transaction, in the
        // store's write lane.
        let claim = {
            let family = self.new_family(client, &g, &access, &family_id);
            let dialect = self.store().dialect();
            let (hash, family_id, jti, exp) = (
                hash.clone(),
                family_id.clone(),
                access.jti.clone(),
                access.exp,
            );
            self.store()
                .serialized(Box::new(move |conn| {
                    Box::pin(async move {
                        let mut tx = caducee_store::begin_on(conn, dialect).await?;
                        let claimed = sqlx::query(
                            "UPDATE idp_code SET used_at = $1, family_id = $2, access_jti = $3,
                                access_exp = $4
                             WHERE code_hash = $5 AND used_at IS NULL",
                        )
                        .bind(now)
                        .bind(&family_id)
                        .bind(&jti)
                        .bind(exp)
                        .bind(&hash)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if claimed == 0 {
                            return Ok::<_, IdpError>(None);
                        }
                        let refresh = match family {
                            Some(f) => Some(f.insert(&mut tx).await?),
                            None => None,
                        };
                        tx.commit().await?;
                        Ok(Some(refresh))
                    })
                }))
                .await??
        };
        let Some(refresh) = claim else {
            // Redeemed by a concurrent request in the meantime: that is a reuse too.
            let family: Option<String> =
                sqlx::query("SELECT family_id FROM idp_code WHERE code_hash = $1")
                    .bind(&hash)
                    .fetch_optional(self.store().pool())
                    .await?
                    .map(|r| r.try_get(0))
                    .transpose()?
                    .flatten();
            self.code_reused(&client.client_id, family.as_deref(), &row)
                .await?;
            return Err(bad());
        };
        self.user_token_response(client, &g, &access, &g.scope, refresh)
    }

    async fn code_reused(
        &self,
        client_id: &str,
        family: Option<&str>,
        row: &sqlx::any::AnyRow,
    ) -> Result<(), IdpError> {
        let idnat: String = row.try_get("idnat")?;
        let mut revoked = 0;
        if let Some(f) = family {
            revoked = self.revoke_family(f, "idp.code.reused", client_id).await?;
        }
        tracing::warn!(
            client_id,
            "code d'autorisation présenté deux fois : jetons révoqués"
        );
        audit::record(
            self.store().pool(),
            self.now(),
            &AuditEvent {
                actor: &format!("client:{client_id}"),
                action: "idp.code.reused",
                subject: Some(&idnat),
                details: serde_json::json!({ "client": client_id, "refreshRevoked": revoked }),
                request_id: None,
            },
        )
        .await?;
        Ok(())
    }

    /// `grant_type=refresh_token`: rotation; a rotated token presented again revokes the
    /// family.
    pub(crate) async fn grant_refresh(
        &self,
        rec: &ClientRecord,
        token: Option<&str>,
        scope: Option<&str>,
    ) -> Result<TokenResponse, IdpError> {
        let client = &rec.client;
        if !client.has_grant("refresh_token") {
            return Err(IdpError::UnauthorizedClient(
                "ce client n'est pas autorisé à utiliser refresh_token".into(),
            ));
        }
        let token = token
            .ok_or_else(|| IdpError::InvalidRequest("paramètre refresh_token manquant".into()))?;
        let hash = secret_hash(token);
        let bad = || {
            IdpError::InvalidGrant("jeton de rafraîchissement invalide, expiré ou révoqué".into())
        };
        // A narrower scope may be asked for the access token (RFC 6749 §6), never a wider
        // one: checked first, so that a refusal leaves the refresh token untouched.
        let requested_scope = match scope.filter(|s| !s.trim().is_empty()) {
            Some(s) => {
                let granted: String =
                    sqlx::query("SELECT scope FROM idp_refresh WHERE token_hash = $1")
                        .bind(&hash)
                        .fetch_optional(self.store().pool())
                        .await?
                        .ok_or_else(bad)?
                        .try_get(0)?;
                Some(check_scope(s, Some(&granted))?)
            }
            None => None,
        };
        let now = self.now();
        let access = self.pending_access();
        let new_token = random_secret();
        let new_hash = secret_hash(&new_token);
        let rotation = {
            let job = RefreshRotation {
                dialect: self.store().dialect(),
                old_hash: hash.clone(),
                new_hash,
                client_id: client.client_id.clone(),
                now,
                expires_at: now + self.config().refresh_token_ttl_secs,
                access_jti: access.jti.clone(),
                access_exp: access.exp,
            };
            self.store()
                .serialized(Box::new(move |conn| Box::pin(job.run(conn))))
                .await??
        };
        let row = match rotation {
            Rotation::Rotated(row) => row,
            Rotation::NotLive => {
                let row = sqlx::query("SELECT * FROM idp_refresh WHERE token_hash = $1")
                    .bind(&hash)
                    .fetch_optional(self.store().pool())
                    .await?
                    .ok_or_else(bad)?;
                // Presented again after its rotation (by this client): one of the two
                // holders is a thief, and which one cannot be told, so the whole family dies.
                if row.try_get::<String, _>("client_id")? == client.client_id
                    && row.try_get::<Option<i64>, _>("revoked_at")?.is_none()
                    && row.try_get::<Option<i64>, _>("rotated_at")?.is_some()
                {
                    let family: String = row.try_get("family_id")?;
                    self.refresh_reused(&client.client_id, &family, &row)
                        .await?;
                }
                return Err(bad());
            }
            Rotation::Raced(row) => {
                let family: String = row.try_get("family_id")?;
                self.refresh_reused(&client.client_id, &family, &row)
                    .await?;
                return Err(bad());
            }
        };
        let g = UserGrant::from_row(&row)?;
        let access_scope = requested_scope.unwrap_or_else(|| g.scope.clone());
        let expires_at: i64 = row.try_get("expires_at")?;
        self.user_token_response(
            client,
            &g,
            &access,
            &access_scope,
            Some((new_token, expires_at - now)),
        )
    }

    async fn refresh_reused(
        &self,
        client_id: &str,
        family: &str,
        row: &sqlx::any::AnyRow,
    ) -> Result<(), IdpError> {
        let idnat: String = row.try_get("idnat")?;
        let revoked = self
            .revoke_family(family, "idp.refresh.reused", client_id)
            .await?;
        tracing::warn!(
            client_id,
            "jeton de rafraîchissement déjà utilisé présenté à nouveau : famille révoquée"
        );
        audit::record(
            self.store().pool(),
            self.now(),
            &AuditEvent {
                actor: &format!("client:{client_id}"),
                action: "idp.refresh.reused",
                subject: Some(&idnat),
                details: serde_json::json!({ "client": client_id, "family": family, "revoked": revoked }),
                request_id: None,
            },
        )
        .await?;
        Ok(())
    }

    /// `grant_type=client_credentials`: a service account's access token, no user claims,
    /// no refresh token, no database write.
    pub(crate) async fn grant_client_credentials(
        &self,
        rec: &ClientRecord,
        by: AuthBy,
        scope: Option<&str>,
    ) -> Result<TokenResponse, IdpError> {
        let client = &rec.client;
        if by == AuthBy::None || !client.has_grant("client_credentials") {
            return Err(IdpError::UnauthorizedClient(
                "ce client n'est pas autorisé à utiliser client_credentials".into(),
            ));
        }
        let scope = check_scope(scope.unwrap_or(""), None)?;
        let access = self.pending_access();
        let keys = self.keys();
        let key = keys
            .signer(Alg::Rs256, access.iat)
            .ok_or_else(|| IdpError::Internal("aucune clé RS256 active".into()))?;
        let claims = AccessClaims {
            iss: self.issuer().to_string(),
            sub: format!("service-account-{}", client.client_id),
            typ: "Bearer".into(),
            azp: client.client_id.clone(),
            aud: client.client_id.clone(),
            nonce: None,
            session_state: None,
            sid: None,
            acr: None,
            scope: scope.clone(),
            auth_mode: None,
            other_ids: None,
            preferred_username: None,
            auth_time: None,
            exp: access.exp,
            iat: access.iat,
            jti: access.jti.clone(),
        };
        Ok(TokenResponse {
            access_token: key.sign("JWT", &claims)?,
            token_type: "Bearer",
            expires_in: access.exp - access.iat,
            refresh_token: None,
            refresh_expires_in: None,
            id_token: None,
            not_before_policy: 0,
            session_state: None,
            scope,
        })
    }

    // -------------------------------------------------------------------------------
    // Revocation
    // -------------------------------------------------------------------------------

    /// Remembers access tokens as revoked until they expire (database and this node).
    pub(crate) async fn revoke_access_jtis(&self, jtis: &[(String, i64)]) -> Result<(), IdpError> {
        let now = self.now();
        for (jti, exp) in jtis.iter().filter(|(_, exp)| *exp > now) {
            sqlx::query(
                "INSERT INTO idp_revoked_jti (jti, expires_at, revoked_at) VALUES ($1, $2, $3)
                 ON CONFLICT (jti) DO NOTHING",
            )
            .bind(jti)
            .bind(exp)
            .bind(now)
            .execute(self.store().pool())
            .await?;
            self.inner.revoked.insert(jti, *exp);
        }
        Ok(())
    }

    /// Revokes every refresh token of a family and the access tokens issued with them.
    /// Returns the number of refresh tokens revoked.
    pub(crate) async fn revoke_family(
        &self,
        family: &str,
        why: &str,
        actor_client: &str,
    ) -> Result<u64, IdpError> {
        let now = self.now();
        let revoked = sqlx::query(
            "UPDATE idp_refresh SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(family)
        .execute(self.store().pool())
        .await?
        .rows_affected();
        let mut jtis: Vec<(String, i64)> = Vec::new();
        for sql in [
            "SELECT access_jti, access_exp FROM idp_refresh WHERE family_id = $1 AND access_exp > $2",
            "SELECT access_jti, access_exp FROM idp_code WHERE family_id = $1 AND access_exp > $2",
        ] {
            for r in sqlx::query(sql)
                .bind(family)
                .bind(now)
                .fetch_all(self.store().pool())
                .await?
            {
                if let (Some(j), Some(e)) = (
                    r.try_get::<Option<String>, _>(0)?,
                    r.try_get::<Option<i64>, _>(1)?,
                ) {
                    jtis.push((j, e));
                }
            }
        }
        self.revoke_access_jtis(&jtis).await?;
        tracing::info!(
            why,
            client_id = actor_client,
            revoked,
            "famille de jetons révoquée"
        );
        Ok(revoked)
    }

    /// True when this access token id was revoked. Reads this node's memory, refreshed from
    /// the database at most every `revocation_reload_millis` (revocations made by other
    /// nodes).
    pub(crate) async fn is_revoked(&self, jti: &str) -> Result<bool, IdpError> {
        let r = &self.inner.revoked;
        let due = match r.loaded_at.lock() {
            Ok(t) => t.is_none_or(|t| {
                t.elapsed().as_millis() >= u128::from(self.config().revocation_reload_millis)
            }),
            Err(_) => true,
        };
        if due
            && r.reloading
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            let result = self.reload_revocations().await;
            r.reloading.store(false, Ordering::Release);
            result?;
        }
        Ok(r.contains(jti))
    }

    async fn reload_revocations(&self) -> Result<(), IdpError> {
        let now = self.now();
        let rows = sqlx::query("SELECT jti, expires_at FROM idp_revoked_jti WHERE expires_at > $1")
            .bind(now)
            .fetch_all(self.store().pool())
            .await?;
        let mut fresh = HashMap::with_capacity(rows.len());
        for r in rows {
            fresh.insert(r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?);
        }
        let r = &self.inner.revoked;
        if let Ok(mut m) = r.jtis.lock() {
            // Keep what this node revoked meanwhile (not yet visible to the query).
            m.retain(|_, exp| *exp > now);
            m.extend(fresh);
        }
        if let Ok(mut t) = r.loaded_at.lock() {
            *t = Some(Instant::now());
        }
        Ok(())
    }

    /// Verifies an access token of ours: signature, issuer, `typ`, expiry, revocation.
    pub(crate) async fn verify_access_token(&self, token: &str) -> Result<AccessClaims, IdpError> {
        let keys = self.keys();
        let (jws, _) = keys.verify(token)?;
        let claims: AccessClaims = jws.claims()?;
        if claims.iss != self.issuer() || claims.typ != "Bearer" {
            return Err(IdpError::InvalidToken(
                "ce jeton n'est pas un jeton d'accès".into(),
            ));
        }
        if claims.exp <= self.now() {
            return Err(IdpError::InvalidToken("jeton d'accès expiré".into()));
        }
        if self.is_revoked(&claims.jti).await? {
            return Err(IdpError::InvalidToken("jeton d'accès révoqué".into()));
        }
        Ok(claims)
    }

    /// RFC 7009: revokes a refresh token (its whole family) or an access token (its jti,
    /// until expiry). Unknown tokens are silently accepted, as the RFC asks.
    pub(crate) async fn revoke_token(
        &self,
        rec: &ClientRecord,
        token: &str,
        hint: Option<&str>,
    ) -> Result<(), IdpError> {
        let client_id = &rec.client.client_id;
        let as_refresh = async {
            let row = sqlx::query(
                "SELECT client_id, family_id, idnat FROM idp_refresh WHERE token_hash = $1",
            )
            .bind(secret_hash(token))
            .fetch_optional(self.store().pool())
            .await?;
            Ok::<_, IdpError>(row)
        };
        let looks_like_jwt = token.matches('.').count() == 2;
        if hint != Some("access_token") || !looks_like_jwt {
            if let Some(row) = as_refresh.await? {
                if row.try_get::<String, _>(0)? != *client_id {
                    return Err(IdpError::UnauthorizedClient(
                        "ce jeton n'a pas été délivré à ce client".into(),
                    ));
                }
                let family: String = row.try_get(1)?;
                let idnat: String = row.try_get(2)?;
                let n = self.revoke_family(&family, "revocation", client_id).await?;
                audit::record(
                    self.store().pool(),
                    self.now(),
                    &AuditEvent {
                        actor: &format!("client:{client_id}"),
                        action: "idp.token.revoked",
                        subject: Some(&idnat),
                        details: serde_json::json!({ "kind": "refresh_token", "family": family, "revoked": n }),
                        request_id: None,
                    },
                )
                .await?;
                return Ok(());
            }
        }
        if looks_like_jwt {
            let keys = self.keys();
            let Ok((jws, _)) = keys.verify(token) else {
                return Ok(());
            };
            let Ok(claims) = jws.claims::<AccessClaims>() else {
                return Ok(());
            };
            if claims.typ != "Bearer" || claims.iss != self.issuer() {
                return Ok(());
            }
            if claims.azp != *client_id {
                return Err(IdpError::UnauthorizedClient(
                    "ce jeton n'a pas été délivré à ce client".into(),
                ));
            }
            self.revoke_access_jtis(&[(claims.jti.clone(), claims.exp)])
                .await?;
        }
        Ok(())
    }

    /// RFC 7662. Access tokens: any authenticated client may ask (resource servers do);
    /// refresh tokens: only the client they were issued to.
    pub(crate) async fn introspect(
        &self,
        rec: &ClientRecord,
        token: &str,
    ) -> Result<serde_json::Value, IdpError> {
        let inactive = serde_json::json!({"active": false});
        if token.matches('.').count() == 2 {
            let Ok(claims) = self.verify_access_token(token).await else {
                return Ok(inactive);
            };
            let mut v =
                serde_json::to_value(&claims).map_err(|e| IdpError::Internal(e.to_string()))?;
            if let Some(m) = v.as_object_mut() {
                m.insert("active".into(), true.into());
                m.insert("client_id".into(), claims.azp.clone().into());
                m.insert("token_type".into(), "Bearer".into());
                if let Some(u) = &claims.preferred_username {
                    m.insert("username".into(), u.clone().into());
                    m.insert("SubjectNameID".into(), u.clone().into());
                }
            }
            return Ok(v);
        }
        let Some(row) = sqlx::query("SELECT * FROM idp_refresh WHERE token_hash = $1")
            .bind(secret_hash(token))
            .fetch_optional(self.store().pool())
            .await?
        else {
            return Ok(inactive);
        };
        let now = self.now();
        let live = row.try_get::<String, _>("client_id")? == rec.client.client_id
            && row.try_get::<Option<i64>, _>("rotated_at")?.is_none()
            && row.try_get::<Option<i64>, _>("revoked_at")?.is_none()
            && row.try_get::<i64, _>("expires_at")? > now
            && row.try_get::<i64, _>("family_expires_at")? > now;
        if !live {
            return Ok(inactive);
        }
        let g = UserGrant::from_row(&row)?;
        Ok(serde_json::json!({
            "active": true,
            "client_id": rec.client.client_id,
            "username": g.idnat,
            "SubjectNameID": g.idnat,
            "sub": subject(&g.idnat),
            "scope": g.scope,
            "acr": g.acr,
            "authMode": g.auth_mode,
            "otherIds": other_ids(&g.idnat),
            "sid": g.session_id,
            "exp": row.try_get::<i64, _>("expires_at")?,
            "iat": row.try_get::<i64, _>("created_at")?,
            "iss": self.issuer(),
            "token_type": "Refresh",
        }))
    }

    /// Seam: verifies an `id_token_hint` for the end-session endpoint: signed by one of our
    /// keys (even one no longer published), issued by us, an ID token. An expired token is
    /// accepted (OIDC RP-Initiated Logout §2).
    pub async fn verify_id_token_hint(&self, jwt: &str) -> Result<IdTokenHint, IdpError> {
        let keys = self.keys();
        let (jws, _) = keys.verify(jwt)?;
        #[derive(Deserialize)]
        struct Hint {
            iss: String,
            sub: String,
            aud: serde_json::Value,
            #[serde(default)]
            sid: Option<String>,
            #[serde(default)]
            typ: Option<String>,
        }
        let h: Hint = jws.claims()?;
        if h.iss != self.issuer() || h.typ.as_deref() != Some("ID") {
            return Err(IdpError::InvalidToken(
                "id_token_hint n'est pas un de nos jetons d'identité".into(),
            ));
        }
        let client_id = match &h.aud {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(a) => a
                .first()
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        };
        let idnat = idnat_of_subject(&h.sub)
            .ok_or_else(|| IdpError::InvalidToken("sujet inconnu dans id_token_hint".into()))?;
        Ok(IdTokenHint {
            client_id,
            idnat: idnat.to_string(),
            sid: h.sid,
        })
    }

    /// The refresh tokens of a browser session are revoked (with their access tokens);
    /// returns the clients that received tokens in that session, with the professional.
    pub(crate) async fn revoke_session_tokens(
        &self,
        session_id: &str,
    ) -> Result<Vec<(String, String)>, IdpError> {
        let mut clients: Vec<(String, String)> = Vec::new();
        let mut families: Vec<String> = Vec::new();
        for sql in [
            "SELECT DISTINCT client_id, idnat, family_id FROM idp_code WHERE session_id = $1 AND used_at IS NOT NULL",
            "SELECT DISTINCT client_id, idnat, family_id FROM idp_refresh WHERE session_id = $1",
        ] {
            for r in sqlx::query(sql)
                .bind(session_id)
                .fetch_all(self.store().pool())
                .await?
            {
                let c = (r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?);
                if !clients.contains(&c) {
                    clients.push(c);
                }
                if let Some(f) = r.try_get::<Option<String>, _>(2)? {
                    if !families.contains(&f) {
                        families.push(f);
                    }
                }
            }
        }
        for f in &families {
            self.revoke_family(f, "end_session", "").await?;
        }
        Ok(clients)
    }

    /// Deletes expired codes, refresh tokens, revoked ids, assertion ids and CIBA requests.
    pub(crate) async fn purge_tokens(&self) -> Result<u64, IdpError> {
        let now = self.now();
        let mut n = 0;
        // A used code is kept as long as the refresh family it started may live, so that
        // its reuse still revokes the family; everything else gets a day of grace, so that
        // a token presented shortly after its expiry is recognised rather than unknown.
        let code_cutoff = now - self.config().code_ttl_secs - self.config().session_max_secs;
        for (sql, cutoff) in [
            ("DELETE FROM idp_code WHERE expires_at < $1", code_cutoff),
            (
                "DELETE FROM idp_refresh WHERE family_expires_at < $1",
                now - 86_400,
            ),
            ("DELETE FROM idp_revoked_jti WHERE expires_at < $1", now),
            ("DELETE FROM idp_assertion_jti WHERE expires_at < $1", now),
            ("DELETE FROM idp_ciba WHERE expires_at < $1", now - 86_400),
        ] {
            n += sqlx::query(sql)
                .bind(cutoff)
                .execute(self.store().pool())
                .await?
                .rows_affected();
        }
        Ok(n)
    }
}

/// The keys' access for this module (a short alias).
impl Idp {
    pub(crate) fn keys(&self) -> Arc<crate::keys::KeySet> {
        self.maybe_reload_keys();
        self.inner.keys.current()
    }
}

/// The first refresh token of a family, to be inserted (see [`Idp::new_family`]).
pub(crate) struct NewFamily {
    token: String,
    family_id: String,
    client_id: String,
    grant: UserGrant,
    now: i64,
    expires_at: i64,
    family_expires_at: i64,
    access_jti: String,
    access_exp: i64,
}

impl NewFamily {
    /// Inserts the token (hashed) on `conn`, inside the caller's transaction; returns the
    /// token and its lifetime in seconds.
    pub(crate) async fn insert(
        self,
        conn: &mut sqlx::AnyConnection,
    ) -> Result<(String, i64), IdpError> {
        let g = &self.grant;
        sqlx::query(
            "INSERT INTO idp_refresh (token_hash, family_id, client_id, idnat, scope, nonce,
                auth_time, acr, amr, auth_mode, session_id, created_at, expires_at,
                family_expires_at, rotated_at, revoked_at, access_jti, access_exp)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, NULL, $15, $16)",
        )
        .bind(secret_hash(&self.token))
        .bind(&self.family_id)
        .bind(&self.client_id)
        .bind(&g.idnat)
        .bind(&g.scope)
        .bind(&g.nonce)
        .bind(g.auth_time)
        .bind(&g.acr)
        .bind(serde_json::to_string(&g.amr).unwrap_or_else(|_| "[]".into()))
        .bind(&g.auth_mode)
        .bind(&g.session_id)
        .bind(self.now)
        .bind(self.expires_at)
        .bind(self.family_expires_at)
        .bind(&self.access_jti)
        .bind(self.access_exp)
        .execute(conn)
        .await?;
        Ok((self.token, self.expires_at - self.now))
    }
}

/// The database half of a refresh grant, run in the store's write lane.
struct RefreshRotation {
    dialect: caducee_store::Dialect,
    old_hash: String,
    new_hash: String,
    client_id: String,
    now: i64,
    expires_at: i64,
    access_jti: String,
    access_exp: i64,
}

enum Rotation {
    /// The successor's row (it carries the grant).
    Rotated(sqlx::any::AnyRow),
    /// The presented token is not a live token of this client: unknown, expired, revoked,
    /// or already rotated.
    NotLive,
    /// Rotated by a concurrent request between the two statements: a reuse.
    Raced(sqlx::any::AnyRow),
}

/// The successor of a refresh token: the columns of `idp_refresh`, and what each takes
/// from the old row `old` ($1 new hash, $2 now, $3 wanted expiry, $4/$5 access token).
const SUCCESSOR_COLUMNS: &str = "token_hash, family_id, client_id, idnat, scope, nonce, \
    auth_time, acr, amr, auth_mode, session_id, created_at, expires_at, family_expires_at, \
    rotated_at, revoked_at, access_jti, access_exp";
const SUCCESSOR_VALUES: &str = "$1, old.family_id, old.client_id, old.idnat, old.scope, \
    old.nonce, old.auth_time, old.acr, old.amr, old.auth_mode, old.session_id, $2, \
    CASE WHEN $3 < old.family_expires_at THEN $3 ELSE old.family_expires_at END, \
    old.family_expires_at, NULL, NULL, $4, $5";
/// The old token, if live and this client's ($6 its hash, $7 the client).
const LIVE_OLD_TOKEN: &str = "token_hash = $6 AND client_id = $7 AND rotated_at IS NULL \
    AND revoked_at IS NULL AND expires_at > $2 AND family_expires_at > $2";

/// What the grant needs of the successor (the whole row would cost its conversion).
const SUCCESSOR_RETURNING: &str =
    "idnat, scope, nonce, auth_time, acr, amr, auth_mode, session_id, family_id, expires_at";

static ROTATE_SQLITE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO idp_refresh ({SUCCESSOR_COLUMNS}) SELECT {SUCCESSOR_VALUES} \
         FROM idp_refresh AS old WHERE {LIVE_OLD_TOKEN} RETURNING {SUCCESSOR_RETURNING}"
    )
});
static ROTATE_POSTGRES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH old AS (UPDATE idp_refresh SET rotated_at = $2 WHERE {LIVE_OLD_TOKEN} \
         RETURNING *) \
         INSERT INTO idp_refresh ({SUCCESSOR_COLUMNS}) SELECT {SUCCESSOR_VALUES} FROM old \
         RETURNING {SUCCESSOR_RETURNING}"
    )
});

impl RefreshRotation {
    /// On PostgreSQL one statement marks the old token rotated and creates its successor
    /// (a data-modifying WITH): one round trip and one commit, atomic, and a concurrent
    /// rotation of the same token on another node waits for the row lock, then finds it
    /// rotated (a reuse). SQLite has no UPDATE inside WITH: two statements, no transaction
    /// (each statement is a hop to the connection's thread, BEGIN and COMMIT two more):
    /// first the successor is created from the old token if that one is live, then the old
    /// one is marked rotated. A crash in between leaves the old token live and an orphan
    /// successor nobody received: the client retries and nothing is lost. If the second
    /// statement finds the old token already rotated, another writer used it in between:
    /// that is a reuse.
    async fn run(self, conn: &mut sqlx::AnyConnection) -> Result<Rotation, IdpError> {
        let sql = match self.dialect {
            caducee_store::Dialect::Sqlite => ROTATE_SQLITE.as_str(),
            caducee_store::Dialect::Postgres => ROTATE_POSTGRES.as_str(),
        };
        let created = sqlx::query(sql)
            .bind(&self.new_hash)
            .bind(self.now)
            .bind(self.expires_at)
            .bind(&self.access_jti)
            .bind(self.access_exp)
            .bind(&self.old_hash)
            .bind(&self.client_id)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(row) = created else {
            return Ok(Rotation::NotLive);
        };
        if self.dialect == caducee_store::Dialect::Postgres {
            return Ok(Rotation::Rotated(row));
        }
        let rotated = sqlx::query(
            "UPDATE idp_refresh SET rotated_at = $1
             WHERE token_hash = $2 AND rotated_at IS NULL AND revoked_at IS NULL",
        )
        .bind(self.now)
        .bind(&self.old_hash)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        Ok(if rotated == 0 {
            Rotation::Raced(row)
        } else {
            Rotation::Rotated(row)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psc_09_subject_has_the_federated_form() {
        let s = subject("819999900012");
        assert_eq!(s, "f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:819999900012");
        assert_eq!(idnat_of_subject(&s), Some("819999900012"));
        assert_eq!(idnat_of_subject("service-account-x"), None);
        assert_eq!(other_ids("012345678")[0].origine, "ADELI");
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_example() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn psc_01_unknown_scopes_are_dropped() {
        assert_eq!(
            known_scopes("openid  inconnu scope_all openid"),
            "openid scope_all"
        );
        assert_eq!(known_scopes("admin"), "");
    }

    #[test]
    fn scopes_are_checked_and_narrowed() {
        assert_eq!(
            check_scope("openid scope_all openid", None).ok().as_deref(),
            Some("openid scope_all")
        );
        assert!(check_scope("openid admin", None).is_err());
        assert!(check_scope("openid rpps", Some("openid scope_all")).is_err());
    }
}
