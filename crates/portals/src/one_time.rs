//! One-time secrets of the portals' account flows (issue 11, NFR-02): 6-digit **codes** sent
//! to a registry contact (ACC-03, ACC-05, ACC-07) and **links** sent by e-mail (ACC-06).
//!
//! - A code: 6 digits, valid 10 minutes, 5 tries then it is dead (and the flow must start
//!   again), one live code per flow (a resend kills the previous one), at most
//!   [`CodePolicy::max_sends_per_flow`] sends per flow and [`CodePolicy::max_sends_per_person`]
//!   per professional and hour, counted in the database so every node agrees.
//! - A link: 32 random bytes, valid 24 hours, used once. Opening it only *looks* ([`peek_link`]);
//!   the POST of the page's button *uses* it ([`consume_link`]), so a mail scanner that
//!   follows links does not burn it.
//!
//! Both are stored as HMAC-SHA256 under the instance secret, never in clear: a 6-digit code
//! under a plain hash would be reversed from a copy of the database in a millisecond.
//!
//! Must never log or audit a code or a link.

use crate::PortalError;
use aws_lc_rs::hmac;
use caducee_store::throttle::Limit;
use sqlx::{AnyConnection, Row};

/// The limits of codes and links. Defaults: issue 11 and the seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodePolicy {
    pub code_ttl_secs: i64,
    pub max_tries: i64,
    /// The first send and the resends of one flow.
    pub max_sends_per_flow: i64,
    /// Codes one professional may receive per hour on one portal, all flows together.
    pub max_sends_per_person: u32,
    pub link_ttl_secs: i64,
}

impl Default for CodePolicy {
    fn default() -> Self {
        CodePolicy {
            code_ttl_secs: 600,
            max_tries: 5,
            max_sends_per_flow: 4,
            max_sends_per_person: 6,
            link_ttl_secs: 86_400,
        }
    }
}

/// Why a code was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendRefused {
    /// This flow has had all its sends.
    FlowExhausted,
    /// The professional has had too many codes this hour.
    PersonExhausted { retry_after_secs: i64 },
}

/// The answer to a typed code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Valid,
    Wrong {
        tries_left: i64,
    },
    /// Its 10 minutes are over: ask for a new one.
    Expired,
    /// Five wrong tries (or no live code): the flow must start again.
    Dead,
}

/// A new code for `flow`, or why none is sent. Run it in the transaction that enqueues the
/// message carrying it.
pub struct CodeRequest<'a> {
    pub portal: &'a str,
    pub flow_id: &'a str,
    /// `email` or `sms`.
    pub channel: &'a str,
    /// The professional it is sent to (the per-person limit counts by it).
    pub idnat: &'a str,
}

/// Keyed hashing of the secrets.
#[derive(Clone)]
pub struct SecretHasher {
    key: hmac::Key,
}

impl std::fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHasher(***)")
    }
}

impl SecretHasher {
    pub fn new(instance_secret: &[u8]) -> SecretHasher {
        SecretHasher {
            key: hmac::Key::new(hmac::HMAC_SHA256, instance_secret),
        }
    }

    /// HMAC of `secret` for `purpose` (domain-separated from the portals' client secrets).
    fn tag(&self, purpose: &str, secret: &str) -> String {
        let msg = format!("caducee/portals/one-time/v1/{purpose}\n{secret}");
        hex::encode(hmac::sign(&self.key, msg.as_bytes()).as_ref())
    }

    fn same(&self, purpose: &str, secret: &str, stored: &str) -> bool {
        crate::sessions::same_hash(&self.tag(purpose, secret), stored)
    }
}

fn six_digits() -> String {
    use rand::Rng;
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

fn per_person(policy: &CodePolicy) -> Limit {
    Limit::new("portals.code.person", policy.max_sends_per_person, 3600)
}

/// Issues a code for `req.flow_id` (killing the flow's previous one) and returns it, to be
/// put in the message enqueued in the same transaction.
pub async fn issue_code(
    conn: &mut AnyConnection,
    hasher: &SecretHasher,
    policy: &CodePolicy,
    req: &CodeRequest<'_>,
    now: i64,
) -> Result<Result<String, SendRefused>, PortalError> {
    let sent: i64 = sqlx::query("SELECT COUNT(*) FROM portal_code WHERE flow_id = $1")
        .bind(req.flow_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if sent >= policy.max_sends_per_flow {
        return Ok(Err(SendRefused::FlowExhausted));
    }
    let person_key = format!("{}:{}", req.portal, req.idnat);
    let verdict = per_person(policy)
        .hit(conn, &person_key, now)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    if let caducee_store::throttle::Verdict::Refused { retry_after_secs } = verdict {
        return Ok(Err(SendRefused::PersonExhausted { retry_after_secs }));
    }
    sqlx::query("UPDATE portal_code SET dead = 1 WHERE flow_id = $1 AND used_at IS NULL")
        .bind(req.flow_id)
        .execute(&mut *conn)
        .await?;
    let code = six_digits();
    sqlx::query(
        "INSERT INTO portal_code (id, portal, flow_id, channel, idnat, code_hash, tries, dead,
            created_at, expires_at, used_at)
         VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7, $8, NULL)",
    )
    .bind(crate::sessions::random_token(16))
    .bind(req.portal)
    .bind(req.flow_id)
    .bind(req.channel)
    .bind(req.idnat)
    .bind(hasher.tag(req.flow_id, &code))
    .bind(now)
    .bind(now + policy.code_ttl_secs)
    .execute(&mut *conn)
    .await?;
    Ok(Ok(code))
}

/// Checks a typed code against the flow's live code. A valid code is used up.
pub async fn check_code(
    conn: &mut AnyConnection,
    hasher: &SecretHasher,
    policy: &CodePolicy,
    flow_id: &str,
    typed: &str,
    now: i64,
) -> Result<CodeCheck, PortalError> {
    let row = sqlx::query(
        "SELECT id, code_hash, tries, expires_at FROM portal_code
         WHERE flow_id = $1 AND used_at IS NULL AND dead = 0",
    )
    .bind(flow_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(CodeCheck::Dead);
    };
    let (id, stored, tries, expires_at): (String, String, i64, i64) = (
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
    );
    if now >= expires_at {
        return Ok(CodeCheck::Expired);
    }
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() == 6 && hasher.same(flow_id, &typed, &stored) {
        // Conditional: two nodes checking the same code at once use it once.
        let used = sqlx::query(
            "UPDATE portal_code SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND dead = 0",
        )
        .bind(now)
        .bind(&id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        return Ok(if used == 1 {
            CodeCheck::Valid
        } else {
            CodeCheck::Dead
        });
    }
    let tries = tries + 1;
    let dead = tries >= policy.max_tries;
    sqlx::query("UPDATE portal_code SET tries = $1, dead = $2 WHERE id = $3")
        .bind(tries)
        .bind(i64::from(dead))
        .bind(&id)
        .execute(&mut *conn)
        .await?;
    Ok(if dead {
        CodeCheck::Dead
    } else {
        CodeCheck::Wrong {
            tries_left: policy.max_tries - tries,
        }
    })
}

/// What a link is for and whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub portal: String,
    pub account_id: String,
    pub purpose: String,
}

/// A new single-use link token (32 random bytes) for `account_id`, valid 24 hours.
pub async fn issue_link(
    conn: &mut AnyConnection,
    hasher: &SecretHasher,
    policy: &CodePolicy,
    info: &LinkInfo,
    now: i64,
) -> Result<String, PortalError> {
    let token = crate::sessions::random_token(32);
    sqlx::query(
        "INSERT INTO portal_link (token_hash, portal, account_id, purpose, created_at, expires_at, used_at)
         VALUES ($1, $2, $3, $4, $5, $6, NULL)",
    )
    .bind(hasher.tag("link", &token))
    .bind(&info.portal)
    .bind(&info.account_id)
    .bind(&info.purpose)
    .bind(now)
    .bind(now + policy.link_ttl_secs)
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// What a link would do, without using it (the page a GET shows).
pub async fn peek_link(
    conn: &mut AnyConnection,
    hasher: &SecretHasher,
    token: &str,
    now: i64,
) -> Result<Option<LinkInfo>, PortalError> {
    let row = sqlx::query(
        "SELECT portal, account_id, purpose FROM portal_link
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(hasher.tag("link", token))
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(r) => Some(LinkInfo {
            portal: r.try_get(0)?,
            account_id: r.try_get(1)?,
            purpose: r.try_get(2)?,
        }),
        None => None,
    })
}

/// Uses a link: its info the first time, None ever after (or once expired).
pub async fn consume_link(
    conn: &mut AnyConnection,
    hasher: &SecretHasher,
    token: &str,
    now: i64,
) -> Result<Option<LinkInfo>, PortalError> {
    let info = peek_link(conn, hasher, token, now).await?;
    if info.is_none() {
        return Ok(None);
    }
    let used = sqlx::query(
        "UPDATE portal_link SET used_at = $1
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(hasher.tag("link", token))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(if used == 1 { info } else { None })
}

/// Deletes codes and links that can no longer be used (a day after their expiry, for the
/// audit of what was sent).
pub async fn housekeeping(pool: &sqlx::AnyPool, now: i64) -> Result<u64, PortalError> {
    let codes = sqlx::query("DELETE FROM portal_code WHERE expires_at < $1")
        .bind(now - 86_400)
        .execute(pool)
        .await?
        .rows_affected();
    let links = sqlx::query("DELETE FROM portal_link WHERE expires_at < $1")
        .bind(now - 86_400)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(codes + links)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use caducee_store::testkit::TestDb;
    use caducee_store::Dialect;

    const T0: i64 = 1_780_000_000;

    async fn db(dialect: Dialect) -> TestDb {
        let db = TestDb::new(dialect).await;
        db.store.migrate(&crate::migrations()).await.unwrap();
        db
    }

    fn req<'a>(flow: &'a str, idnat: &'a str) -> CodeRequest<'a> {
        CodeRequest {
            portal: "ordre",
            flow_id: flow,
            channel: "sms",
            idnat,
        }
    }

    async fn nfr_02_codes_are_hashed_single_use_expire_and_die(dialect: Dialect) {
        let db = db(dialect).await;
        let hasher = SecretHasher::new(b"secret d'instance de test, 32 octets au moins");
        let policy = CodePolicy::default();
        let mut conn = db.store.pool().acquire().await.unwrap();
        let code = issue_code(&mut conn, &hasher, &policy, &req("f1", "810001"), T0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        // Stored hashed: the code is nowhere in the table.
        let stored: String = sqlx::query_scalar("SELECT code_hash FROM portal_code")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert!(!stored.contains(&code));
        // A wrong code costs a try; the right one is valid once.
        let wrong = if code == "000000" { "111111" } else { "000000" };
        assert_eq!(
            check_code(&mut conn, &hasher, &policy, "f1", wrong, T0 + 1)
                .await
                .unwrap(),
            CodeCheck::Wrong { tries_left: 4 }
        );
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(
            check_code(&mut conn, &hasher, &policy, "f1", &spaced, T0 + 2)
                .await
                .unwrap(),
            CodeCheck::Valid
        );
        assert_eq!(
            check_code(&mut conn, &hasher, &policy, "f1", &code, T0 + 3)
                .await
                .unwrap(),
            CodeCheck::Dead,
            "a code is used once"
        );
        // Ten minutes by the clock, then it is expired.
        let code = issue_code(&mut conn, &hasher, &policy, &req("f2", "810001"), T0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            check_code(&mut conn, &hasher, &policy, "f2", &code, T0 + 600)
                .await
                .unwrap(),
            CodeCheck::Expired
        );
        // Five wrong tries kill it, the right code too after that.
        let code = issue_code(&mut conn, &hasher, &policy, &req("f3", "810002"), T0)
            .await
            .unwrap()
            .unwrap();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for left in (1..5).rev() {
            assert_eq!(
                check_code(&mut conn, &hasher, &policy, "f3", wrong, T0)
                    .await
                    .unwrap(),
                CodeCheck::Wrong { tries_left: left }
            );
        }
        assert_eq!(
            check_code(&mut conn, &hasher, &policy, "f3", wrong, T0)
                .await
                .unwrap(),
            CodeCheck::Dead
        );
        assert_eq!(
            check_code(&mut conn, &hasher, &policy, "f3", &code, T0)
                .await
                .unwrap(),
            CodeCheck::Dead
        );
        drop(conn);
        db.cleanup().await;
    }

    async fn nfr_02_code_sends_are_limited_per_flow_and_person(dialect: Dialect) {
        let db = db(dialect).await;
        let hasher = SecretHasher::new(b"secret d'instance de test, 32 octets au moins");
        let policy = CodePolicy::default();
        let mut conn = db.store.pool().acquire().await.unwrap();
        // One flow: the first send and three resends; a resend kills the previous code.
        let first = issue_code(&mut conn, &hasher, &policy, &req("a", "810003"), T0)
            .await
            .unwrap()
            .unwrap();
        for _ in 0..3 {
            issue_code(&mut conn, &hasher, &policy, &req("a", "810003"), T0)
                .await
                .unwrap()
                .unwrap();
        }
        assert_eq!(
            issue_code(&mut conn, &hasher, &policy, &req("a", "810003"), T0)
                .await
                .unwrap(),
            Err(SendRefused::FlowExhausted)
        );
        let check = check_code(&mut conn, &hasher, &policy, "a", &first, T0)
            .await
            .unwrap();
        assert!(
            matches!(check, CodeCheck::Wrong { .. }),
            "a resent code replaces the first: {check:?}"
        );
        // New flows for the same professional: six codes an hour in all, then refused.
        for flow in ["b", "c"] {
            issue_code(&mut conn, &hasher, &policy, &req(flow, "810003"), T0)
                .await
                .unwrap()
                .unwrap();
        }
        assert!(matches!(
            issue_code(&mut conn, &hasher, &policy, &req("d", "810003"), T0)
                .await
                .unwrap(),
            Err(SendRefused::PersonExhausted { .. })
        ));
        // Another professional is not affected; an hour later the first can again.
        issue_code(&mut conn, &hasher, &policy, &req("e", "810004"), T0)
            .await
            .unwrap()
            .unwrap();
        issue_code(&mut conn, &hasher, &policy, &req("d", "810003"), T0 + 7200)
            .await
            .unwrap()
            .unwrap();
        drop(conn);
        db.cleanup().await;
    }

    async fn acc_06_reset_link_is_single_use_and_lives_24_hours(dialect: Dialect) {
        let db = db(dialect).await;
        let hasher = SecretHasher::new(b"secret d'instance de test, 32 octets au moins");
        let policy = CodePolicy::default();
        let mut conn = db.store.pool().acquire().await.unwrap();
        let info = LinkInfo {
            portal: "ordre".into(),
            account_id: "acc-1".into(),
            purpose: "reset".into(),
        };
        let token = issue_link(&mut conn, &hasher, &policy, &info, T0)
            .await
            .unwrap();
        assert!(token.len() >= 43, "32 random bytes");
        // Looking does not use it (a mail scanner following the link).
        for _ in 0..3 {
            assert_eq!(
                peek_link(&mut conn, &hasher, &token, T0 + 10)
                    .await
                    .unwrap(),
                Some(info.clone())
            );
        }
        assert_eq!(
            consume_link(&mut conn, &hasher, &token, T0 + 20)
                .await
                .unwrap(),
            Some(info.clone())
        );
        assert_eq!(
            consume_link(&mut conn, &hasher, &token, T0 + 21)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            peek_link(&mut conn, &hasher, &token, T0 + 22)
                .await
                .unwrap(),
            None
        );
        // 24 hours by the clock.
        let token = issue_link(&mut conn, &hasher, &policy, &info, T0)
            .await
            .unwrap();
        assert!(peek_link(&mut conn, &hasher, &token, T0 + 86_399)
            .await
            .unwrap()
            .is_some());
        assert_eq!(
            consume_link(&mut conn, &hasher, &token, T0 + 86_400)
                .await
                .unwrap(),
            None
        );
        // Another instance secret knows no link of this one.
        let other = SecretHasher::new(b"une autre instance, un autre secret de 32 octets");
        let token = issue_link(&mut conn, &hasher, &policy, &info, T0)
            .await
            .unwrap();
        assert_eq!(
            peek_link(&mut conn, &other, &token, T0).await.unwrap(),
            None
        );
        drop(conn);
        db.cleanup().await;
    }

    caducee_store::on_both_engines! {
        nfr_02_codes_are_hashed_single_use_expire_and_die => nfr_02_codes_are_hashed_single_use_expire_and_die;
        nfr_02_code_sends_are_limited_per_flow_and_person => nfr_02_code_sends_are_limited_per_flow_and_person;
        acc_06_reset_link_is_single_use_and_lives_24_hours => acc_06_reset_link_is_single_use_and_lives_24_hours;
    }
}
