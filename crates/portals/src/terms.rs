//! Versions of a portal's terms of use (ONB-04; `caducee portal terms publish SLUG
//! --version V --file F`): a version, once published, never changes — publishing the same
//! text again is a no-op, another text under the same version is refused — and the latest
//! published is the one in force. An acceptance records the version, the time and who
//! accepted (`account:<id>` or `psc:<sub>`); a login whose last acceptance is not of the
//! version in force must accept again before the home page (the onboarding step of
//! issue 12).

use crate::PortalError;
use caducee_store::audit::{self, AuditEvent};
use caducee_store::Store;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// A published version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub version: String,
    pub body: String,
    pub sha256: String,
    pub published_at: i64,
}

/// What a publication did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    New(Terms),
    /// The same version with the same text was already there.
    Unchanged(Terms),
}

/// Why a publication was refused (French, for the command line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    #[error("la version « {0} » est déjà publiée avec un autre texte : une version publiée ne change plus, publiez-en une nouvelle")]
    VersionTaken(String),
    #[error("version invalide : 1 à 32 caractères parmi lettres, chiffres, « . », « - » et « _ »")]
    BadVersion,
    #[error("le texte des conditions est vide")]
    Empty,
    #[error("le texte des conditions dépasse 200 000 caractères")]
    TooLong,
}

fn digest(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

/// Publishes `version` of `portal`'s terms.
pub async fn publish(
    store: &Store,
    portal: &str,
    version: &str,
    body: &str,
    actor: &str,
    now: i64,
) -> Result<Result<Published, TermsError>, PortalError> {
    let ok_version = !version.is_empty()
        && version.len() <= 32
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !ok_version {
        return Ok(Err(TermsError::BadVersion));
    }
    let body = body.trim_start_matches('\u{feff}');
    if body.trim().is_empty() {
        return Ok(Err(TermsError::Empty));
    }
    if body.chars().count() > 200_000 {
        return Ok(Err(TermsError::TooLong));
    }
    let sha = digest(body);
    let mut tx = store.begin().await?;
    let existing = sqlx::query(
        "SELECT body, sha256, published_at FROM portal_terms WHERE portal = $1 AND version = $2",
    )
    .bind(portal)
    .bind(version)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(r) = existing {
        let terms = Terms {
            version: version.to_string(),
            body: r.try_get(0)?,
            sha256: r.try_get(1)?,
            published_at: r.try_get(2)?,
        };
        return Ok(if terms.sha256 == sha {
            Ok(Published::Unchanged(terms))
        } else {
            Err(TermsError::VersionTaken(version.to_string()))
        });
    }
    sqlx::query(
        "INSERT INTO portal_terms (portal, version, body, sha256, published_at, published_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(portal)
    .bind(version)
    .bind(body)
    .bind(&sha)
    .bind(now)
    .bind(actor)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor,
            action: "portals.terms.published",
            subject: Some(portal),
            details: serde_json::json!({ "portal": portal, "version": version, "sha256": sha }),
            request_id: None,
        },
    )
    .await
    .map_err(|e| PortalError::Internal(e.to_string()))?;
    tx.commit().await?;
    Ok(Ok(Published::New(Terms {
        version: version.to_string(),
        body: body.to_string(),
        sha256: sha,
        published_at: now,
    })))
}

/// The version in force (the latest published), if any.
pub async fn current(store: &Store, portal: &str) -> Result<Option<Terms>, PortalError> {
    let row = sqlx::query(
        "SELECT version, body, sha256, published_at FROM portal_terms WHERE portal = $1
         ORDER BY published_at DESC, version DESC LIMIT 1",
    )
    .bind(portal)
    .fetch_optional(store.pool())
    .await?;
    Ok(match row {
        Some(r) => Some(Terms {
            version: r.try_get(0)?,
            body: r.try_get(1)?,
            sha256: r.try_get(2)?,
            published_at: r.try_get(3)?,
        }),
        None => None,
    })
}

/// Records that `who` accepted `version` (idempotent), audited.
pub async fn accept(
    store: &Store,
    portal: &str,
    version: &str,
    who: &str,
    now: i64,
) -> Result<(), PortalError> {
    let mut tx = store.begin().await?;
    let done = sqlx::query(
        "INSERT INTO portal_terms_acceptance (portal, version, who, accepted_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (portal, version, who) DO NOTHING",
    )
    .bind(portal)
    .bind(version)
    .bind(who)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 1 {
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor: who,
                action: "portals.terms.accepted",
                subject: Some(portal),
                details: serde_json::json!({ "portal": portal, "version": version }),
                request_id: None,
            },
        )
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    }
    tx.commit().await?;
    Ok(())
}

/// Whether `who` must accept the version in force before going on (there is one, and
/// they have not accepted it).
pub async fn must_accept(
    store: &Store,
    portal: &str,
    who: &str,
) -> Result<Option<Terms>, PortalError> {
    let Some(terms) = current(store, portal).await? else {
        return Ok(None);
    };
    let accepted = sqlx::query(
        "SELECT 1 FROM portal_terms_acceptance WHERE portal = $1 AND version = $2 AND who = $3",
    )
    .bind(portal)
    .bind(&terms.version)
    .bind(who)
    .fetch_optional(store.pool())
    .await?
    .is_some();
    Ok((!accepted).then_some(terms))
}
