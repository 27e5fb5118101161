//! The rows of the security keys: user handles, credentials, ceremonies (single use,
//! expiring by the Clock), and the audit of what happens to a key.

use super::CEREMONY_TTL_SECS;
use crate::{Idp, IdpError};
use caducee_store::audit::{self, AuditEvent};
use sqlx::Row;

/// A registered key as the account page lists it.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// The professional's WebAuthn user handle, created on first use.
pub(crate) async fn user_handle(idp: &Idp, idnat: &str) -> Result<uuid::Uuid, IdpError> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT user_handle FROM idp_webauthn_user WHERE idnat = $1")
            .bind(idnat)
            .fetch_optional(idp.store().pool())
            .await?;
    if let Some(h) = found.and_then(|h| uuid::Uuid::parse_str(&h).ok()) {
        return Ok(h);
    }
    let handle = uuid::Uuid::new_v4();
    // Two tabs at once: the first insert wins, the other reads it back.
    let _ = sqlx::query(
        "INSERT INTO idp_webauthn_user (idnat, user_handle, created_at) VALUES ($1, $2, $3)",
    )
    .bind(idnat)
    .bind(handle.to_string())
    .bind(idp.now())
    .execute(idp.store().pool())
    .await;
    let stored: String =
        sqlx::query_scalar("SELECT user_handle FROM idp_webauthn_user WHERE idnat = $1")
            .bind(idnat)
            .fetch_one(idp.store().pool())
            .await?;
    uuid::Uuid::parse_str(&stored).map_err(|e| IdpError::Internal(e.to_string()))
}

/// The professional of a user handle.
pub(crate) async fn idnat_of_handle(
    idp: &Idp,
    handle: &uuid::Uuid,
) -> Result<Option<String>, IdpError> {
    Ok(
        sqlx::query_scalar("SELECT idnat FROM idp_webauthn_user WHERE user_handle = $1")
            .bind(handle.to_string())
            .fetch_optional(idp.store().pool())
            .await?,
    )
}

/// Stores a started ceremony; returns its id.
pub(crate) async fn start_ceremony(
    idp: &Idp,
    kind: &str,
    idnat: Option<&str>,
    flow_id: Option<&str>,
    state: &impl serde::Serialize,
) -> Result<String, IdpError> {
    let id = crate::random_secret();
    let state = serde_json::to_string(state).map_err(|e| IdpError::Internal(e.to_string()))?;
    let now = idp.now();
    sqlx::query(
        "INSERT INTO idp_webauthn_ceremony (id, kind, idnat, flow_id, state, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(crate::secret_hash(&id))
    .bind(kind)
    .bind(idnat)
    .bind(flow_id)
    .bind(state)
    .bind(now)
    .bind(now + CEREMONY_TTL_SECS)
    .execute(idp.store().pool())
    .await?;
    Ok(id)
}

/// How many ceremonies of `kind` are open (not used, not expired) for a flow or a
/// professional: each costs a row, so a page cannot start them without end.
pub(crate) async fn open_ceremonies(
    idp: &Idp,
    kind: &str,
    idnat: Option<&str>,
    flow_id: Option<&str>,
) -> Result<i64, IdpError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM idp_webauthn_ceremony
         WHERE kind = $1 AND used_at IS NULL AND expires_at > $2
           AND (idnat = $3 OR flow_id = $4)",
    )
    .bind(kind)
    .bind(idp.now())
    .bind(idnat)
    .bind(flow_id)
    .fetch_one(idp.store().pool())
    .await?)
}

/// Takes a ceremony once: its state when it exists, is of `kind`, belongs to `idnat` /
/// `flow_id`, is not used and not expired; it is marked used whatever follows.
pub(crate) async fn take_ceremony<T: serde::de::DeserializeOwned>(
    idp: &Idp,
    id: &str,
    kind: &str,
    idnat: Option<&str>,
    flow_id: Option<&str>,
) -> Result<Option<T>, IdpError> {
    let now = idp.now();
    let hash = crate::secret_hash(id);
    let taken = sqlx::query(
        "UPDATE idp_webauthn_ceremony SET used_at = $1
         WHERE id = $2 AND kind = $3 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(&hash)
    .bind(kind)
    .execute(idp.store().pool())
    .await?
    .rows_affected();
    if taken != 1 {
        return Ok(None);
    }
    let row = sqlx::query("SELECT idnat, flow_id, state FROM idp_webauthn_ceremony WHERE id = $1")
        .bind(&hash)
        .fetch_one(idp.store().pool())
        .await?;
    let (r_idnat, r_flow): (Option<String>, Option<String>) = (row.try_get(0)?, row.try_get(1)?);
    if r_idnat.as_deref() != idnat || r_flow.as_deref() != flow_id {
        return Ok(None);
    }
    let state: String = row.try_get(2)?;
    Ok(serde_json::from_str(&state).ok())
}

pub(crate) async fn keys_of(idp: &Idp, idnat: &str) -> Result<Vec<KeyRow>, IdpError> {
    let rows = sqlx::query(
        "SELECT id, name, created_at, last_used_at FROM idp_webauthn_key
         WHERE idnat = $1 ORDER BY created_at, id",
    )
    .bind(idnat)
    .fetch_all(idp.store().pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(KeyRow {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                created_at: r.try_get(2)?,
                last_used_at: r.try_get(3)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(IdpError::from)
}

/// The credential ids of a professional's keys (excluded from a new registration).
pub(crate) async fn passkeys_of(
    idp: &Idp,
    idnat: &str,
) -> Result<Vec<webauthn_rs::prelude::Passkey>, IdpError> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT passkey FROM idp_webauthn_key WHERE idnat = $1")
            .bind(idnat)
            .fetch_all(idp.store().pool())
            .await?;
    Ok(rows
        .iter()
        .filter_map(|p| serde_json::from_str(p).ok())
        .collect())
}

pub(crate) fn cred_id_text(id: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// Stores a new key; false when the credential is already registered (to anyone).
pub(crate) async fn add_key(
    idp: &Idp,
    idnat: &str,
    name: &str,
    passkey: &webauthn_rs::prelude::Passkey,
) -> Result<bool, IdpError> {
    let cred_id = cred_id_text(passkey.cred_id().as_ref());
    let json = serde_json::to_string(passkey).map_err(|e| IdpError::Internal(e.to_string()))?;
    let now = idp.now();
    let mut tx = idp.store().pool().begin().await?;
    let exists: Option<String> =
        sqlx::query_scalar("SELECT id FROM idp_webauthn_key WHERE cred_id = $1")
            .bind(&cred_id)
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_some() {
        return Ok(false);
    }
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO idp_webauthn_key (id, idnat, cred_id, name, passkey, counter, created_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6)",
    )
    .bind(&id)
    .bind(idnat)
    .bind(&cred_id)
    .bind(name)
    .bind(json)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit_in(
        &mut tx,
        now,
        idnat,
        "idp.webauthn.registered",
        serde_json::json!({ "key": id, "name": name }),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A key by its credential id: (id, idnat, passkey, counter).
pub(crate) async fn key_by_cred(
    idp: &Idp,
    cred_id: &[u8],
) -> Result<Option<(String, String, webauthn_rs::prelude::Passkey, i64)>, IdpError> {
    let row =
        sqlx::query("SELECT id, idnat, passkey, counter FROM idp_webauthn_key WHERE cred_id = $1")
            .bind(cred_id_text(cred_id))
            .fetch_optional(idp.store().pool())
            .await?;
    let Some(r) = row else { return Ok(None) };
    let json: String = r.try_get(2)?;
    let passkey = serde_json::from_str(&json).map_err(|e| IdpError::Internal(e.to_string()))?;
    Ok(Some((r.try_get(0)?, r.try_get(1)?, passkey, r.try_get(3)?)))
}

/// After a login: the new counter and credential state, if the counter still grows
/// (compare-and-set on the old counter, so two nodes cannot both accept one assertion).
pub(crate) async fn used(
    idp: &Idp,
    id: &str,
    old_counter: i64,
    new_counter: i64,
    passkey: &webauthn_rs::prelude::Passkey,
) -> Result<bool, IdpError> {
    let json = serde_json::to_string(passkey).map_err(|e| IdpError::Internal(e.to_string()))?;
    let n = sqlx::query(
        "UPDATE idp_webauthn_key SET counter = $1, passkey = $2, last_used_at = $3
         WHERE id = $4 AND counter = $5",
    )
    .bind(new_counter)
    .bind(json)
    .bind(idp.now())
    .bind(id)
    .bind(old_counter)
    .execute(idp.store().pool())
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub(crate) async fn rename(idp: &Idp, idnat: &str, id: &str, name: &str) -> Result<bool, IdpError> {
    let mut tx = idp.store().pool().begin().await?;
    let n = sqlx::query("UPDATE idp_webauthn_key SET name = $1 WHERE id = $2 AND idnat = $3")
        .bind(name)
        .bind(id)
        .bind(idnat)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 1 {
        audit_in(
            &mut tx,
            idp.now(),
            idnat,
            "idp.webauthn.renamed",
            serde_json::json!({ "key": id, "name": name }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n == 1)
}

pub(crate) async fn remove(idp: &Idp, idnat: &str, id: &str) -> Result<bool, IdpError> {
    let mut tx = idp.store().pool().begin().await?;
    let n = sqlx::query("DELETE FROM idp_webauthn_key WHERE id = $1 AND idnat = $2")
        .bind(id)
        .bind(idnat)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 1 {
        audit_in(
            &mut tx,
            idp.now(),
            idnat,
            "idp.webauthn.removed",
            serde_json::json!({ "key": id }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n == 1)
}

async fn audit_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    now: i64,
    idnat: &str,
    action: &str,
    details: serde_json::Value,
) -> Result<(), IdpError> {
    let actor = format!("ps:{idnat}");
    audit::record(
        &mut **tx,
        now,
        &AuditEvent {
            actor: &actor,
            action,
            subject: Some(idnat),
            details,
            request_id: None,
        },
    )
    .await
    .map_err(|e| IdpError::Internal(e.to_string()))
}

/// An audit event outside a transaction (logins and refusals).
pub(crate) async fn audit(
    idp: &Idp,
    idnat: Option<&str>,
    action: &str,
    details: serde_json::Value,
) -> Result<(), IdpError> {
    let actor = idnat.map_or_else(|| "anonymous".to_string(), |i| format!("ps:{i}"));
    audit::record(
        idp.store().pool(),
        idp.now(),
        &AuditEvent {
            actor: &actor,
            action,
            subject: idnat,
            details,
            request_id: None,
        },
    )
    .await
    .map_err(|e| IdpError::Internal(e.to_string()))
}
