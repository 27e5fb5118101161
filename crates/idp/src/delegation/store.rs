//! The délégation rows: upstream logins under way (their `state`), upstream logins waiting
//! for their pairing, the pairings.

use crate::{Idp, IdpError};
use caducee_store::audit::{self, AuditEvent};
use sqlx::Row;

/// An upstream login under way, found by its `state` (taken: a `state` is used once).
pub(super) struct Attempt {
    pub flow_id: String,
    pub provider_id: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

pub(super) async fn create_attempt(
    idp: &Idp,
    state: &str,
    flow_id: &str,
    provider_id: &str,
    nonce: &str,
    pkce_verifier: &str,
) -> Result<(), IdpError> {
    let now = idp.now();
    sqlx::query(
        "INSERT INTO idp_delegation_attempt (state_hash, flow_id, provider_id, nonce,
            pkce_verifier, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(crate::secret_hash(state))
    .bind(flow_id)
    .bind(provider_id)
    .bind(nonce)
    .bind(pkce_verifier)
    .bind(now)
    .bind(now + super::ATTEMPT_TTL_SECS)
    .execute(idp.store().pool())
    .await?;
    Ok(())
}

/// Takes the attempt of `state` (deleted whatever follows), if it exists and has not expired.
pub(super) async fn take_attempt(idp: &Idp, state: &str) -> Result<Option<Attempt>, IdpError> {
    let hash = crate::secret_hash(state);
    let row = sqlx::query(
        "DELETE FROM idp_delegation_attempt WHERE state_hash = $1
         RETURNING flow_id, provider_id, nonce, pkce_verifier, expires_at",
    )
    .bind(&hash)
    .fetch_optional(idp.store().pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let expires_at: i64 = r.try_get("expires_at")?;
    if expires_at <= idp.now() {
        return Ok(None);
    }
    Ok(Some(Attempt {
        flow_id: r.try_get("flow_id")?,
        provider_id: r.try_get("provider_id")?,
        nonce: r.try_get("nonce")?,
        pkce_verifier: r.try_get("pkce_verifier")?,
    }))
}

/// A pairing as the account page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    pub id: String,
    pub provider_id: String,
    pub upstream_sub: String,
    pub paired_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// The professional paired with `sub` at `provider_id`; marks the pairing used.
pub(super) async fn paired_idnat(
    idp: &Idp,
    provider_id: &str,
    sub: &str,
) -> Result<Option<String>, IdpError> {
    let row = sqlx::query(
        "UPDATE idp_delegation_pairing SET last_used_at = $1
         WHERE provider_id = $2 AND upstream_sub = $3 RETURNING idnat",
    )
    .bind(idp.now())
    .bind(provider_id)
    .bind(sub)
    .fetch_optional(idp.store().pool())
    .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("idnat")?),
        None => None,
    })
}

/// Records that the flow's login waits for its pairing (the last upstream login wins).
pub(super) async fn set_pending(
    idp: &Idp,
    flow_id: &str,
    provider_id: &str,
    sub: &str,
    amr: &[String],
) -> Result<(), IdpError> {
    let now = idp.now();
    let amr = serde_json::to_string(amr).map_err(|e| IdpError::Internal(e.to_string()))?;
    let mut tx = idp.store().begin().await?;
    sqlx::query("DELETE FROM idp_delegation_pending WHERE flow_id = $1")
        .bind(flow_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO idp_delegation_pending (flow_id, provider_id, upstream_sub, amr,
            created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(flow_id)
    .bind(provider_id)
    .bind(sub)
    .bind(&amr)
    .bind(now)
    .bind(now + super::PENDING_TTL_SECS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The provider whose upstream login waits in the flow for its pairing.
pub(super) async fn pending_provider(idp: &Idp, flow_id: &str) -> Result<Option<String>, IdpError> {
    let row = sqlx::query(
        "SELECT provider_id FROM idp_delegation_pending WHERE flow_id = $1 AND expires_at > $2",
    )
    .bind(flow_id)
    .bind(idp.now())
    .fetch_optional(idp.store().pool())
    .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("provider_id")?),
        None => None,
    })
}

/// The flow ended by e-CPS or card for `idnat`: its pending upstream login, if any, is
/// paired with them (a pairing that already exists is kept as it is).
pub(super) async fn pair_pending(
    idp: &Idp,
    flow_id: &str,
    idnat: &str,
    paired_by: &str,
) -> Result<(), IdpError> {
    let now = idp.now();
    let mut tx = idp.store().begin().await?;
    let row = sqlx::query(
        "DELETE FROM idp_delegation_pending WHERE flow_id = $1 AND expires_at > $2
         RETURNING provider_id, upstream_sub",
    )
    .bind(flow_id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = row else {
        return Ok(());
    };
    let provider_id: String = r.try_get("provider_id")?;
    let sub: String = r.try_get("upstream_sub")?;
    let id = crate::random_secret();
    let inserted = sqlx::query(
        "INSERT INTO idp_delegation_pairing (id, provider_id, upstream_sub, idnat, paired_by,
            created_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (provider_id, upstream_sub) DO NOTHING",
    )
    .bind(&id)
    .bind(&provider_id)
    .bind(&sub)
    .bind(idnat)
    .bind(paired_by)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor: &format!("ps:{idnat}"),
                action: "idp.delegation.paired",
                subject: Some(idnat),
                details: serde_json::json!({
                    "provider": provider_id,
                    "sub_hash": crate::secret_hash(&sub),
                    "paired_by": paired_by,
                }),
                request_id: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The pairings of `idnat`, oldest first.
pub async fn pairings_of(idp: &Idp, idnat: &str) -> Result<Vec<Pairing>, IdpError> {
    let rows = sqlx::query(
        "SELECT id, provider_id, upstream_sub, paired_by, created_at, last_used_at
         FROM idp_delegation_pairing WHERE idnat = $1 ORDER BY created_at, id",
    )
    .bind(idnat)
    .fetch_all(idp.store().pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Pairing {
                id: r.try_get("id")?,
                provider_id: r.try_get("provider_id")?,
                upstream_sub: r.try_get("upstream_sub")?,
                paired_by: r.try_get("paired_by")?,
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
            })
        })
        .collect()
}

/// Removes a pairing of `idnat` (audited); false when it is not theirs or gone.
pub(super) async fn remove(idp: &Idp, idnat: &str, id: &str) -> Result<bool, IdpError> {
    let now = idp.now();
    let mut tx = idp.store().begin().await?;
    let row = sqlx::query(
        "DELETE FROM idp_delegation_pairing WHERE id = $1 AND idnat = $2 RETURNING provider_id",
    )
    .bind(id)
    .bind(idnat)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = row else {
        return Ok(false);
    };
    let provider_id: String = r.try_get("provider_id")?;
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor: &format!("ps:{idnat}"),
            action: "idp.delegation.unpaired",
            subject: Some(idnat),
            details: serde_json::json!({ "provider": provider_id }),
            request_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn purge(idp: &Idp) -> Result<u64, IdpError> {
    let now = idp.now();
    let a = sqlx::query("DELETE FROM idp_delegation_attempt WHERE expires_at < $1")
        .bind(now)
        .execute(idp.store().pool())
        .await?
        .rows_affected();
    let p = sqlx::query("DELETE FROM idp_delegation_pending WHERE expires_at < $1")
        .bind(now)
        .execute(idp.store().pool())
        .await?
        .rows_affected();
    Ok(a + p)
}
