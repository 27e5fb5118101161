//! Accounts imported from an older system (`caducee portal import-accounts SLUG FILE`;
//! RPLUS's Résoflux accounts, issue 12): one line `identifier;email;password_hash[;rpps]`
//! each, the hash in a format `caducee_passwords::legacy` recognises (bcrypt, Django
//! PBKDF2, PHC PBKDF2, `{SSHA}`). The RPPS number, when the old system knew it, binds the
//! account to that professional: its registration cannot claim another number (the
//! numbers, names and professions are public in the directory, so without it the old
//! password alone proves who registers). A line the importer cannot take is refused with its number and the
//! reason, never stored; the others are upserted by identifier (a re-import updates, an
//! account already migrated to argon2id is left alone). Lines starting with `#` and blank
//! lines are skipped.

use crate::PortalError;
use caducee_passwords::legacy::LegacyHash;
use caducee_store::audit::{self, AuditEvent};
use caducee_store::Store;
use std::io::BufRead;

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: u64,
    pub updated: u64,
    /// Already migrated to argon2id: left as they are.
    pub kept: u64,
    /// `(line number, reason)`, in French.
    pub refused: Vec<(u64, String)>,
}

/// One line, checked.
struct Line {
    identifier: String,
    email: String,
    hash: LegacyHash,
    raw_hash: String,
    rpps: Option<String>,
}

fn parse_line(line: &str) -> Result<Line, String> {
    let fields: Vec<&str> = line.split(';').collect();
    let (identifier, email, hash, rpps) = match fields[..] {
        [i, e, h] => (i, e, h, None),
        [i, e, h, r] => (i, e, h, Some(r.trim()).filter(|r| !r.is_empty())),
        _ => {
            return Err(format!(
                "{} champ(s) au lieu de 3 ou 4 (identifiant;email;empreinte[;rpps])",
                fields.len()
            ))
        }
    };
    let rpps = rpps
        .map(|r| {
            caducee_core::ids::Rpps::parse(r)
                .map(|r| r.as_str().to_string())
                .map_err(|_| format!("RPPS « {r} » invalide (11 chiffres et leur clé)"))
        })
        .transpose()?;
    let identifier = identifier.trim();
    if identifier.is_empty() || identifier.chars().count() > 64 {
        return Err("identifiant vide ou de plus de 64 caractères".into());
    }
    if identifier.chars().any(char::is_control) {
        return Err("identifiant avec un caractère de contrôle".into());
    }
    let email = caducee_core::contact::Email::parse(email)
        .map_err(|e| format!("e-mail : {e}"))?
        .as_str()
        .to_string();
    let hash_text = hash.trim();
    let parsed = LegacyHash::parse(hash_text)?;
    Ok(Line {
        identifier: identifier.to_string(),
        email,
        hash: parsed,
        raw_hash: hash_text.to_string(),
        rpps,
    })
}

/// Imports the accounts of `reader` into `portal`, audited as `actor`.
pub async fn import(
    store: &Store,
    portal: &str,
    reader: impl BufRead,
    actor: &str,
    now: i64,
) -> Result<ImportReport, PortalError> {
    let mut report = ImportReport::default();
    let mut tx = store.begin().await?;
    for (i, line) in reader.lines().enumerate() {
        let number = i as u64 + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                report
                    .refused
                    .push((number, format!("ligne illisible ({e})")));
                continue;
            }
        };
        let line = line.trim_start_matches('\u{feff}');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let parsed = match parse_line(line) {
            Ok(p) => p,
            Err(reason) => {
                report.refused.push((number, reason));
                continue;
            }
        };
        let folded = parsed.identifier.to_lowercase();
        let existing: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT migrated_at FROM portal_legacy_account WHERE portal = $1 AND identifier_folded = $2",
        )
        .bind(portal)
        .bind(&folded)
        .fetch_optional(&mut *tx)
        .await?;
        match existing {
            Some(Some(_)) => report.kept += 1,
            Some(None) => {
                sqlx::query(
                    "UPDATE portal_legacy_account SET identifier = $1, email = $2, hash_kind = $3,
                        legacy_hash = $4, imported_at = $5, rpps = $6
                     WHERE portal = $7 AND identifier_folded = $8",
                )
                .bind(&parsed.identifier)
                .bind(&parsed.email)
                .bind(parsed.hash.kind())
                .bind(&parsed.raw_hash)
                .bind(now)
                .bind(&parsed.rpps)
                .bind(portal)
                .bind(&folded)
                .execute(&mut *tx)
                .await?;
                report.updated += 1;
            }
            None => {
                sqlx::query(
                    "INSERT INTO portal_legacy_account (portal, identifier, identifier_folded,
                        email, hash_kind, legacy_hash, imported_at, migrated_at, account_id, rpps)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8)",
                )
                .bind(portal)
                .bind(&parsed.identifier)
                .bind(&folded)
                .bind(&parsed.email)
                .bind(parsed.hash.kind())
                .bind(&parsed.raw_hash)
                .bind(now)
                .bind(&parsed.rpps)
                .execute(&mut *tx)
                .await?;
                report.imported += 1;
            }
        }
    }
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor,
            action: "portals.legacy.imported",
            subject: Some(portal),
            details: serde_json::json!({
                "portal": portal,
                "imported": report.imported,
                "updated": report.updated,
                "kept": report.kept,
                "refused": report.refused.len(),
            }),
            request_id: None,
        },
    )
    .await
    .map_err(|e| PortalError::Internal(e.to_string()))?;
    tx.commit().await?;
    Ok(report)
}

/// Whether `password` is the legacy password of `identifier` on `portal` (constant time on
/// the digests, on a blocking thread; an unknown or migrated identifier is false).
pub async fn verify(
    store: &Store,
    portal: &str,
    identifier: &str,
    password: &str,
) -> Result<bool, PortalError> {
    let stored: Option<Option<String>> = sqlx::query_scalar(
        "SELECT legacy_hash FROM portal_legacy_account
         WHERE portal = $1 AND identifier_folded = $2 AND migrated_at IS NULL",
    )
    .bind(portal)
    .bind(identifier.trim().to_lowercase())
    .fetch_optional(store.pool())
    .await?;
    let Some(Some(stored)) = stored else {
        return Ok(false);
    };
    let Ok(hash) = LegacyHash::parse(&stored) else {
        return Ok(false);
    };
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash.verify(&password))
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))
}

/// A legacy account whose identifier and password were just given (ACC-08).
#[derive(Debug, Clone)]
pub(crate) struct LegacyLogin {
    /// As imported ("CPAM0001"); compared without case.
    pub identifier: String,
    pub identifier_folded: String,
    /// The e-mail the old system knew (a suggestion for the registration, not verified).
    pub email: String,
}

/// The first logins of an imported account on `portal`, before its registration is
/// finished: `identifier` + `password` checked against the stored hash (the old system's,
/// or the argon2id that replaced it at the first success), in constant time and with the
/// same argon2 work when the identifier is unknown. The first success replaces the old
/// hash by an argon2id one (audited `portals.legacy.migrated`), so the weak hash is gone
/// from the database from then on. Once the registration has made an account, the
/// identifier no longer logs in: later logins use the e-mail.
pub(crate) async fn login(
    store: &Store,
    hasher: &caducee_passwords::PasswordHasher,
    portal: &str,
    identifier: &str,
    password: &str,
    now: i64,
) -> Result<Option<LegacyLogin>, PortalError> {
    let folded = identifier.trim().to_lowercase();
    let row: Option<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT identifier, email, hash_kind, legacy_hash FROM portal_legacy_account
         WHERE portal = $1 AND identifier_folded = $2 AND account_id IS NULL",
    )
    .bind(portal)
    .bind(&folded)
    .fetch_optional(store.pool())
    .await?;
    let internal = |e: caducee_passwords::PasswordError| PortalError::Internal(e.to_string());
    let Some((shown, email, kind, Some(stored))) = row else {
        // The same argon2 work as a known identifier: the time tells nothing.
        let dummy = crate::accounts::dummy_hash(hasher).await?;
        hasher.verify(password, &dummy).await.map_err(internal)?;
        return Ok(None);
    };
    let found = LegacyLogin {
        identifier: shown,
        identifier_folded: folded,
        email,
    };
    if kind == ARGON2ID {
        let ok = hasher.verify(password, &stored).await.map_err(internal)?;
        return Ok(ok.then_some(found));
    }
    let Ok(legacy) = LegacyHash::parse(&stored) else {
        return Ok(None);
    };
    let typed = password.to_string();
    let ok = tokio::task::spawn_blocking(move || legacy.verify(&typed))
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    if !ok {
        return Ok(None);
    }
    let argon = hasher.hash(password).await.map_err(internal)?;
    let mut tx = store.begin().await?;
    sqlx::query(
        "UPDATE portal_legacy_account SET hash_kind = $1, legacy_hash = $2, migrated_at = $3
         WHERE portal = $4 AND identifier_folded = $5",
    )
    .bind(ARGON2ID)
    .bind(&argon)
    .bind(now)
    .bind(portal)
    .bind(&found.identifier_folded)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor: "anonymous",
            action: "portals.legacy.migrated",
            subject: None,
            details: serde_json::json!({
                "portal": portal,
                "identifier": caducee_core::mask::mask_email(&found.identifier),
                "from": kind,
            }),
            request_id: None,
        },
    )
    .await
    .map_err(|e| PortalError::Internal(e.to_string()))?;
    tx.commit().await?;
    Ok(Some(found))
}

/// The RPPS number the old system knew for `identifier_folded`, if it did: the only one its
/// registration may give.
pub(crate) async fn bound_rpps(
    conn: &mut sqlx::AnyConnection,
    portal: &str,
    identifier_folded: &str,
) -> Result<Option<String>, PortalError> {
    let rpps: Option<Option<String>> = sqlx::query_scalar(
        "SELECT rpps FROM portal_legacy_account WHERE portal = $1 AND identifier_folded = $2",
    )
    .bind(portal)
    .bind(identifier_folded)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(rpps.flatten())
}

/// The kind of a legacy hash once replaced at the first login.
const ARGON2ID: &str = "argon2id";

/// Ends a legacy account once its registration made `account_id`: the identifier no
/// longer logs in, and its hash is gone.
pub(crate) async fn finish(
    conn: &mut sqlx::AnyConnection,
    portal: &str,
    identifier_folded: &str,
    account_id: &str,
    now: i64,
) -> Result<(), PortalError> {
    sqlx::query(
        "UPDATE portal_legacy_account SET account_id = $1, legacy_hash = NULL,
            migrated_at = COALESCE(migrated_at, $2)
         WHERE portal = $3 AND identifier_folded = $4",
    )
    .bind(account_id)
    .bind(now)
    .bind(portal)
    .bind(identifier_folded)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
