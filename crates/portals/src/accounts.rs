//! Local accounts of the partner portals (issue 11 item 5; ACC-01, ACC-04..08): one account
//! per professional and portal, its login e-mail unique on the portal, its password hashed
//! with argon2id by the shared [`caducee_passwords::PasswordHasher`] (OWASP cost, bounded
//! threads).
//!
//! Logins are throttled in the database (every node counts the same failures): failures
//! per account and per source address. A login for an e-mail without an account costs the
//! same argon2 work as one with an account, so the time of the answer does not tell whether
//! an e-mail has an account.
//!
//! Every security event (account created, login ok or failed, password or e-mail changed)
//! is an `audit_event`, in the transaction of the change, with the e-mail masked. Must never
//! log or audit a password or its hash.

use crate::PortalError;
use caducee_core::mask::mask_email;
use caducee_core::source::ClientSource;
use caducee_passwords::PasswordHasher;
use caducee_store::audit::{self, AuditEvent};
use caducee_store::throttle::{Limit, Verdict};
use caducee_store::Store;
use sqlx::{AnyConnection, Row};

/// Failed logins of one account per 15 minutes before it must wait.
const FAILURES_PER_ACCOUNT: Limit = Limit::new("portals.login.account", 10, 900);
/// Failed logins from one source (all accounts) per 15 minutes.
const FAILURES_PER_SOURCE: Limit = Limit::new("portals.login.source", 50, 900);

/// A local account (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub portal: String,
    pub idnat: String,
    /// The login e-mail, as the professional typed it (compared without case).
    pub email: String,
    pub created_at: i64,
}

/// Why an account could not be created or its e-mail changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// ACC-01: "Un compte est déjà associé à ce numéro RPPS…".
    IdnatTaken,
    /// ACC-05: "Un compte est déjà associé à cette adresse mail".
    EmailTaken,
}

/// The answer to a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    Ok(Account),
    /// Wrong e-mail or password (the answer does not say which).
    Refused,
    /// Too many failures: try again after this many seconds.
    Throttled {
        retry_after_secs: i64,
    },
}

fn folded(email: &str) -> String {
    email.trim().to_lowercase()
}

fn account_of(r: &sqlx::any::AnyRow) -> Result<Account, sqlx::Error> {
    Ok(Account {
        id: r.try_get("id")?,
        portal: r.try_get("portal")?,
        idnat: r.try_get("idnat")?,
        email: r.try_get("email")?,
        created_at: r.try_get("created_at")?,
    })
}

const COLUMNS: &str = "id, portal, idnat, email, created_at";

/// The account of `idnat` on `portal`.
pub async fn by_idnat(
    conn: &mut AnyConnection,
    portal: &str,
    idnat: &str,
) -> Result<Option<Account>, PortalError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM portal_account WHERE portal = $1 AND idnat = $2"
    ))
    .bind(portal)
    .bind(idnat)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(account_of).transpose()?)
}

/// The account whose login e-mail is `email` (without case) on `portal`.
pub async fn by_email(
    conn: &mut AnyConnection,
    portal: &str,
    email: &str,
) -> Result<Option<Account>, PortalError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM portal_account WHERE portal = $1 AND email_folded = $2"
    ))
    .bind(portal)
    .bind(folded(email))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(account_of).transpose()?)
}

/// What a new account needs; the password is already hashed.
pub struct NewAccount<'a> {
    pub portal: &'a str,
    pub idnat: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    /// How it came to exist, for the audit (`creation:sms`, `creation:email`, `import`…).
    pub how: &'a str,
}

/// Creates an account, audited, in the caller's transaction (`&mut *tx`), unless the
/// professional or the e-mail already has one on this portal.
pub async fn create(
    conn: &mut AnyConnection,
    new: &NewAccount<'_>,
    now: i64,
) -> Result<Result<Account, Conflict>, PortalError> {
    if by_idnat(conn, new.portal, new.idnat).await?.is_some() {
        return Ok(Err(Conflict::IdnatTaken));
    }
    if by_email(conn, new.portal, new.email).await?.is_some() {
        return Ok(Err(Conflict::EmailTaken));
    }
    let account = Account {
        id: crate::sessions::random_token(16),
        portal: new.portal.to_string(),
        idnat: new.idnat.to_string(),
        email: new.email.trim().to_string(),
        created_at: now,
    };
    // The unique indexes stop a second node creating the same account at the same moment.
    sqlx::query(
        "INSERT INTO portal_account (id, portal, idnat, email, email_folded, password_hash,
            created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&account.id)
    .bind(&account.portal)
    .bind(&account.idnat)
    .bind(&account.email)
    .bind(folded(&account.email))
    .bind(new.password_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    record(
        conn,
        now,
        &account,
        "portals.account.created",
        serde_json::json!({ "email": mask_email(&account.email), "how": new.how }),
    )
    .await?;
    Ok(Ok(account))
}

async fn record(
    conn: &mut AnyConnection,
    now: i64,
    account: &Account,
    action: &str,
    mut details: serde_json::Value,
) -> Result<(), PortalError> {
    if let Some(map) = details.as_object_mut() {
        map.insert("portal".into(), account.portal.clone().into());
        map.insert("account".into(), account.id.clone().into());
    }
    audit::record(
        &mut *conn,
        now,
        &AuditEvent {
            actor: &format!("ps:{}", account.idnat),
            action,
            subject: Some(&account.idnat),
            details,
            request_id: None,
        },
    )
    .await
    .map_err(|e| PortalError::Internal(e.to_string()))
}

/// Sets a new password hash (reset, settings), audited with `how`.
pub async fn set_password(
    conn: &mut AnyConnection,
    account: &Account,
    password_hash: &str,
    how: &str,
    now: i64,
) -> Result<(), PortalError> {
    sqlx::query("UPDATE portal_account SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(password_hash)
        .bind(now)
        .bind(&account.id)
        .execute(&mut *conn)
        .await?;
    record(
        conn,
        now,
        account,
        "portals.account.password_changed",
        serde_json::json!({ "how": how }),
    )
    .await
}

/// Changes the login e-mail, audited (old and new masked), unless another account of the
/// portal uses it.
pub async fn set_email(
    conn: &mut AnyConnection,
    account: &Account,
    email: &str,
    now: i64,
) -> Result<Result<(), Conflict>, PortalError> {
    if let Some(other) = by_email(conn, &account.portal, email).await? {
        if other.id != account.id {
            return Ok(Err(Conflict::EmailTaken));
        }
    }
    sqlx::query(
        "UPDATE portal_account SET email = $1, email_folded = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(email.trim())
    .bind(folded(email))
    .bind(now)
    .bind(&account.id)
    .execute(&mut *conn)
    .await?;
    record(
        conn,
        now,
        account,
        "portals.account.email_changed",
        serde_json::json!({ "from": mask_email(&account.email), "to": mask_email(email) }),
    )
    .await?;
    Ok(Ok(()))
}

/// The stored hash of an account, to check its current password (settings, ACC-07).
pub async fn password_ok(
    store: &Store,
    hasher: &PasswordHasher,
    account: &Account,
    password: &str,
) -> Result<bool, PortalError> {
    let hash: Option<String> =
        sqlx::query_scalar("SELECT password_hash FROM portal_account WHERE id = $1")
            .bind(&account.id)
            .fetch_optional(store.pool())
            .await?;
    match hash {
        Some(h) => hasher
            .verify(password, &h)
            .await
            .map_err(|e| PortalError::Internal(e.to_string())),
        None => Ok(false),
    }
}

/// How long `login` must wait on `portal` from `source` before trying again, if it must:
/// the failures of this login and of this source (every node counts the same).
pub(crate) async fn login_wait(
    store: &Store,
    portal: &str,
    login: &str,
    source: &ClientSource,
    now: i64,
) -> Result<Option<i64>, PortalError> {
    let mut conn = store.pool().acquire().await?;
    for (limit, key) in login_limits(portal, login, source) {
        let verdict = limit
            .peek(&mut conn, &key, now)
            .await
            .map_err(|e| PortalError::Internal(e.to_string()))?;
        if let Verdict::Refused { retry_after_secs } = verdict {
            return Ok(Some(retry_after_secs));
        }
    }
    Ok(None)
}

fn login_limits(portal: &str, login: &str, source: &ClientSource) -> [(Limit, String); 2] {
    [
        (FAILURES_PER_ACCOUNT, format!("{portal}:{}", folded(login))),
        (
            FAILURES_PER_SOURCE,
            format!("{portal}:{}", source.throttle_key()),
        ),
    ]
}

/// Counts a failed login of `login` (an e-mail, or a legacy identifier) against its
/// limits, audited with the login masked and `idnat` when it names a professional.
pub(crate) async fn login_failed(
    conn: &mut AnyConnection,
    portal: &str,
    login: &str,
    idnat: Option<&str>,
    source: &ClientSource,
    now: i64,
) -> Result<(), PortalError> {
    for (limit, key) in login_limits(portal, login, source) {
        limit
            .hit(&mut *conn, &key, now)
            .await
            .map_err(|e| PortalError::Internal(e.to_string()))?;
    }
    // An identifier without '@' is masked as a local part: "CP***01".
    let shown = mask_email(login.trim());
    audit::record(
        &mut *conn,
        now,
        &AuditEvent {
            actor: "anonymous",
            action: "portals.login.failed",
            subject: idnat,
            details: serde_json::json!({
                "portal": portal,
                "email": shown,
                "source": source.throttle_key(),
            }),
            request_id: None,
        },
    )
    .await
    .map_err(|e| PortalError::Internal(e.to_string()))
}

/// Forgets the failures of `login` after a success.
pub(crate) async fn login_succeeded(
    conn: &mut AnyConnection,
    portal: &str,
    login: &str,
    source: &ClientSource,
) -> Result<(), PortalError> {
    let [(limit, key), _] = login_limits(portal, login, source);
    limit
        .reset(&mut *conn, &key)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))
}

/// A login with e-mail and password from `source`.
pub async fn login(
    store: &Store,
    hasher: &PasswordHasher,
    portal: &str,
    email: &str,
    password: &str,
    source: &ClientSource,
    now: i64,
) -> Result<LoginOutcome, PortalError> {
    if let Some(retry_after_secs) = login_wait(store, portal, email, source, now).await? {
        return Ok(LoginOutcome::Throttled { retry_after_secs });
    }
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, password_hash FROM portal_account WHERE portal = $1 AND email_folded = $2"
    ))
    .bind(portal)
    .bind(folded(email))
    .fetch_optional(store.pool())
    .await?;
    let (account, hash) = match &row {
        Some(r) => (
            Some(account_of(r)?),
            r.try_get::<String, _>("password_hash")?,
        ),
        // The same argon2 work without an account: the time tells nothing.
        None => (None, dummy_hash(hasher).await?),
    };
    let verified = hasher
        .verify(password, &hash)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    let mut tx = store.begin().await?;
    let outcome = match account {
        Some(account) if verified => {
            login_succeeded(&mut tx, portal, email, source).await?;
            record(
                &mut tx,
                now,
                &account,
                "portals.login.ok",
                serde_json::json!({}),
            )
            .await?;
            LoginOutcome::Ok(account)
        }
        found => {
            let idnat = found.as_ref().map(|a| a.idnat.as_str());
            login_failed(&mut tx, portal, email, idnat, source, now).await?;
            LoginOutcome::Refused
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// A hash of a random password with the hasher's cost, made once per process: what a
/// login without an account verifies against.
pub(crate) async fn dummy_hash(hasher: &PasswordHasher) -> Result<String, PortalError> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_try_init(|| async {
            hasher
                .hash(&crate::sessions::random_token(24))
                .await
                .map_err(|e| PortalError::Internal(e.to_string()))
        })
        .await
        .cloned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use caducee_passwords::Argon2Policy;
    use caducee_store::testkit::TestDb;
    use caducee_store::Dialect;

    const T0: i64 = 1_780_000_000;

    async fn setup(dialect: Dialect) -> (TestDb, PasswordHasher) {
        let db = TestDb::new(dialect).await;
        db.store.migrate(&crate::migrations()).await.unwrap();
        (db, PasswordHasher::new(Argon2Policy::for_tests()))
    }

    async fn acc_01_acc_05_one_account_per_professional_and_per_email(dialect: Dialect) {
        let (db, hasher) = setup(dialect).await;
        let hash = hasher.hash("Grenouille-Tarte-Violon").await.unwrap();
        let mut tx = db.store.begin().await.unwrap();
        let new = |idnat: &'static str, email: &'static str| NewAccount {
            portal: "ordre",
            idnat,
            email,
            password_hash: "",
            how: "creation:email",
        };
        let a = create(
            &mut tx,
            &NewAccount {
                password_hash: &hash,
                ..new("810001", "Julie.Martin@example.test")
            },
            T0,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(
            create(&mut tx, &new("810001", "autre@example.test"), T0)
                .await
                .unwrap(),
            Err(Conflict::IdnatTaken)
        );
        assert_eq!(
            create(&mut tx, &new("810002", "julie.martin@EXAMPLE.test"), T0)
                .await
                .unwrap(),
            Err(Conflict::EmailTaken),
            "e-mails compare without case"
        );
        // Another portal is another space.
        let other_portal = NewAccount {
            portal: "rplus",
            ..new("810001", "julie.martin@example.test")
        };
        assert!(create(&mut tx, &other_portal, T0).await.unwrap().is_ok());
        tx.commit().await.unwrap();
        let mut conn = db.store.pool().acquire().await.unwrap();
        assert_eq!(
            by_idnat(&mut conn, "ordre", "810001").await.unwrap(),
            Some(a.clone())
        );
        let events: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_event WHERE action = 'portals.account.created'",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(events, 2);
        let details: String = sqlx::query_scalar(
            "SELECT details FROM audit_event WHERE action = 'portals.account.created' LIMIT 1",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert!(
            !details.contains("julie.martin@"),
            "e-mail masked: {details}"
        );
        drop(conn);
        db.cleanup().await;
    }

    async fn acc_08_login_is_throttled_per_account_and_source(dialect: Dialect) {
        let (db, hasher) = setup(dialect).await;
        let hash = hasher.hash("Grenouille-Tarte-Violon").await.unwrap();
        let mut tx = db.store.begin().await.unwrap();
        let account = create(
            &mut tx,
            &NewAccount {
                portal: "ordre",
                idnat: "810001",
                email: "julie.martin@example.test",
                password_hash: &hash,
                how: "creation:email",
            },
            T0,
        )
        .await
        .unwrap()
        .unwrap();
        tx.commit().await.unwrap();
        let here = ClientSource::new("192.0.2.1".parse().unwrap());
        let login = |email: &'static str, pw: &'static str, at: i64, from: ClientSource| {
            let (store, hasher) = (db.store.clone(), hasher.clone());
            async move {
                super::login(&store, &hasher, "ordre", email, pw, &from, at)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            login(
                "JULIE.MARTIN@example.test",
                "Grenouille-Tarte-Violon",
                T0,
                here
            )
            .await,
            LoginOutcome::Ok(account.clone())
        );
        // An unknown e-mail and a wrong password get the same answer.
        assert_eq!(
            login("personne@example.test", "x", T0, here).await,
            LoginOutcome::Refused
        );
        for _ in 0..10 {
            assert_eq!(
                login("julie.martin@example.test", "faux", T0, here).await,
                LoginOutcome::Refused
            );
        }
        // Ten failures: the account waits, even with the right password, from anywhere.
        let elsewhere = ClientSource::new("198.51.100.9".parse().unwrap());
        assert!(matches!(
            login(
                "julie.martin@example.test",
                "Grenouille-Tarte-Violon",
                T0 + 1,
                elsewhere
            )
            .await,
            LoginOutcome::Throttled { .. }
        ));
        // Half an hour later (by the clock) the right password works and clears the count.
        assert_eq!(
            login(
                "julie.martin@example.test",
                "Grenouille-Tarte-Violon",
                T0 + 1800,
                here
            )
            .await,
            LoginOutcome::Ok(account.clone())
        );
        // One source trying many accounts is stopped too.
        let scanner = ClientSource::new("203.0.113.3".parse().unwrap());
        for i in 0..50 {
            let email: &'static str =
                Box::leak(format!("inconnu{i}@example.test").into_boxed_str());
            assert_eq!(
                login(email, "x", T0 + 1800, scanner).await,
                LoginOutcome::Refused
            );
        }
        assert!(matches!(
            login(
                "julie.martin@example.test",
                "Grenouille-Tarte-Violon",
                T0 + 1800,
                scanner
            )
            .await,
            LoginOutcome::Throttled { .. }
        ));
        let failed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_event WHERE action = 'portals.login.failed'",
        )
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert_eq!(failed, 61);
        db.cleanup().await;
    }

    async fn acc_07_password_and_email_changes_are_audited(dialect: Dialect) {
        let (db, hasher) = setup(dialect).await;
        let hash = hasher.hash("Grenouille-Tarte-Violon").await.unwrap();
        let mut tx = db.store.begin().await.unwrap();
        let mk = |idnat: &'static str, email: &'static str, h: &'static str| NewAccount {
            portal: "ordre",
            idnat,
            email,
            password_hash: h,
            how: "creation:sms",
        };
        let hash: &'static str = Box::leak(hash.into_boxed_str());
        let a = create(&mut tx, &mk("810001", "a@example.test", hash), T0)
            .await
            .unwrap()
            .unwrap();
        create(&mut tx, &mk("810002", "b@example.test", hash), T0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            set_email(&mut tx, &a, "B@example.test", T0).await.unwrap(),
            Err(Conflict::EmailTaken)
        );
        set_email(&mut tx, &a, "nouvelle@example.test", T0)
            .await
            .unwrap()
            .unwrap();
        let new_hash = hasher.hash("Phare-Violon-Grenouille").await.unwrap();
        set_password(&mut tx, &a, &new_hash, "settings", T0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(
            password_ok(&db.store, &hasher, &a, "Phare-Violon-Grenouille")
                .await
                .unwrap()
        );
        assert!(
            !password_ok(&db.store, &hasher, &a, "Grenouille-Tarte-Violon")
                .await
                .unwrap()
        );
        let actions: Vec<String> = sqlx::query_scalar(
            "SELECT action FROM audit_event WHERE subject = '810001' ORDER BY action",
        )
        .fetch_all(db.store.pool())
        .await
        .unwrap();
        assert_eq!(
            actions,
            [
                "portals.account.created",
                "portals.account.email_changed",
                "portals.account.password_changed"
            ]
        );
        db.cleanup().await;
    }

    caducee_store::on_both_engines! {
        acc_01_acc_05_one_account_per_professional_and_per_email => acc_01_acc_05_one_account_per_professional_and_per_email;
        acc_08_login_is_throttled_per_account_and_source => acc_08_login_is_throttled_per_account_and_source;
        acc_07_password_and_email_changes_are_audited => acc_07_password_and_email_changes_are_audited;
    }
}
