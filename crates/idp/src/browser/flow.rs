//! Login flows: a validated authorization request waiting for the professional to log in,
//! stored as a row (Kratos-style), so the pages can be served by any node, after a
//! restart, and only to the browser that started the flow.
//!
//! Status: `login` (the form), `ecps` (an e-CPS request is out), `done` (a code was
//! issued: a flow gives at most one), `cancelled`.

use crate::{CodeRequest, Idp, IdpError};
use sqlx::Row;

#[derive(Debug, Clone)]
pub(super) struct LoginFlow {
    pub id: String,
    pub browser_hash: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub login_hint: Option<String>,
    pub idnat: Option<String>,
    pub ecps_request_id: Option<String>,
    pub status: String,
}

impl LoginFlow {
    /// What the protocol side needs to issue the code.
    pub fn code_request(&self) -> CodeRequest {
        CodeRequest {
            client_id: self.client_id.clone(),
            redirect_uri: self.redirect_uri.clone(),
            scope: self.scope.clone(),
            nonce: self.nonce.clone(),
            code_challenge: self.code_challenge.clone(),
        }
    }

    /// Whether `browser_secret` is the one of the browser that started this flow.
    pub fn belongs_to(&self, browser_secret: Option<&str>) -> bool {
        browser_secret.is_some_and(|s| crate::same_hash(&crate::secret_hash(s), &self.browser_hash))
    }
}

/// What the authorization endpoint validated.
pub(super) struct NewFlow<'a> {
    pub browser_secret: &'a str,
    pub request: &'a CodeRequest,
    pub state: Option<&'a str>,
    pub login_hint: Option<&'a str>,
}

pub(super) async fn create(idp: &Idp, new: NewFlow<'_>) -> Result<String, IdpError> {
    let id = crate::random_secret();
    let now = idp.now();
    sqlx::query(
        "INSERT INTO idp_login_flow (id, browser_hash, client_id, redirect_uri, scope, state,
            nonce, code_challenge, login_hint, status, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'login', $10, $11)",
    )
    .bind(&id)
    .bind(crate::secret_hash(new.browser_secret))
    .bind(&new.request.client_id)
    .bind(&new.request.redirect_uri)
    .bind(&new.request.scope)
    .bind(new.state)
    .bind(new.request.nonce.as_deref())
    .bind(new.request.code_challenge.as_deref())
    .bind(new.login_hint)
    .bind(now)
    .bind(now + idp.config().login_flow_ttl_secs)
    .execute(idp.store().pool())
    .await?;
    Ok(id)
}

/// The flow, if it exists and has not expired.
pub(super) async fn load(idp: &Idp, id: &str) -> Result<Option<LoginFlow>, IdpError> {
    let row = sqlx::query(
        "SELECT id, browser_hash, client_id, redirect_uri, scope, state, nonce, code_challenge,
                login_hint, idnat, ecps_request_id, status
         FROM idp_login_flow WHERE id = $1 AND expires_at > $2",
    )
    .bind(id)
    .bind(idp.now())
    .fetch_optional(idp.store().pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(LoginFlow {
        id: r.try_get("id")?,
        browser_hash: r.try_get("browser_hash")?,
        client_id: r.try_get("client_id")?,
        redirect_uri: r.try_get("redirect_uri")?,
        scope: r.try_get("scope")?,
        state: r.try_get("state")?,
        nonce: r.try_get("nonce")?,
        code_challenge: r.try_get("code_challenge")?,
        login_hint: r.try_get("login_hint")?,
        idnat: r.try_get("idnat")?,
        ecps_request_id: r.try_get("ecps_request_id")?,
        status: r.try_get("status")?,
    }))
}

/// Records the e-CPS request sent for `idnat` (the form may be submitted again: the last
/// request wins).
pub(super) async fn set_ecps_request(
    idp: &Idp,
    id: &str,
    idnat: &str,
    request_id: &str,
) -> Result<(), IdpError> {
    sqlx::query(
        "UPDATE idp_login_flow SET idnat = $1, ecps_request_id = $2, status = 'ecps'
         WHERE id = $3 AND status IN ('login', 'ecps')",
    )
    .bind(idnat)
    .bind(request_id)
    .bind(id)
    .execute(idp.store().pool())
    .await?;
    Ok(())
}

/// Moves the flow from `from` to `to`; false when another request moved it first (a flow
/// issues at most one code, even if two tabs or two nodes race).
pub(super) async fn transition(
    idp: &Idp,
    id: &str,
    from: &str,
    to: &str,
) -> Result<bool, IdpError> {
    let done = sqlx::query("UPDATE idp_login_flow SET status = $1 WHERE id = $2 AND status = $3")
        .bind(to)
        .bind(id)
        .bind(from)
        .execute(idp.store().pool())
        .await?
        .rows_affected();
    Ok(done == 1)
}
