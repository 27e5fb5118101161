//! The agents of the regional health agencies (REG-11): created by `caducee ars agent add`
//! with their départements, which prints a one-time enrolment link (32 random bytes,
//! stored as an HMAC, single use, 24 hours: [`crate::one_time`]); the agent then chooses a
//! password (argon2id through `caducee_passwords`) and sets up TOTP ([`super::totp`]).
//!
//! States: `invited` (link sent, nothing chosen yet) → `active` (password and TOTP set) →
//! `removed` (can no longer log in; the rows stay for the audit). A new enrolment link
//! ([`reenrol`]) forgets the password and the TOTP secret and ends the agent's sessions:
//! what an agency does when an agent lost their phone.
//!
//! Every change is audited (`ars.agent.*`) in its transaction, e-mails masked.

use super::departments;
use crate::one_time::{self, CodePolicy, LinkInfo, SecretHasher};
use crate::PortalError;
use caducee_core::mask::mask_email;
use caducee_store::audit::{self, AuditEvent};
use caducee_store::Store;
use sqlx::{AnyConnection, Row};

/// The `portal` of the back office's links in `portal_link`.
pub(crate) const LINK_PORTAL: &str = "ars";
/// The purpose of an enrolment link.
pub(crate) const LINK_PURPOSE: &str = "ars-enrolment";
/// The longest name an agent may have, in characters.
pub const NAME_MAX: usize = 120;

/// Where an agent is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    Invited,
    Active,
    Removed,
}

impl AgentState {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Invited => "invited",
            AgentState::Active => "active",
            AgentState::Removed => "removed",
        }
    }

    fn parse(s: &str) -> AgentState {
        match s {
            "active" => AgentState::Active,
            "invited" => AgentState::Invited,
            _ => AgentState::Removed,
        }
    }
}

/// An agent (never their password hash nor their TOTP secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: String,
    pub email: String,
    pub name: String,
    pub departments: Vec<String>,
    pub state: AgentState,
    pub created_at: i64,
}

impl Agent {
    /// Who acts, in the audit trail and the registry's histories: `ars:{email}`.
    pub fn actor(&self) -> String {
        format!("ars:{}", self.email)
    }

    /// Whether the agent handles `department`.
    pub fn handles(&self, department: Option<&str>) -> bool {
        department.is_some_and(|d| self.departments.iter().any(|x| x == d))
    }
}

/// What the login needs beside the agent.
#[derive(Debug, Clone)]
pub(crate) struct Secrets {
    pub password_hash: Option<String>,
    pub totp_sealed: Option<String>,
    pub totp_pending: Option<String>,
    pub totp_last_step: Option<i64>,
}

/// Why an agent was not created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddRefused {
    /// French, says what to type.
    Invalid(String),
    /// "un agent a déjà cette adresse".
    EmailTaken,
}

impl std::fmt::Display for AddRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddRefused::Invalid(m) => f.write_str(m),
            AddRefused::EmailTaken => f.write_str(
                "un agent a déjà cette adresse e-mail (caducee ars agent list) ; pour un nouveau lien d'enrôlement : caducee ars agent link EMAIL",
            ),
        }
    }
}

/// A new agent and their enrolment link's token.
#[derive(Debug, Clone)]
pub struct Added {
    pub agent: Agent,
    /// The link's secret: `{public_url}/ars/enrolement/{token}`. Shown once, stored nowhere.
    pub token: String,
    pub expires_at: i64,
}

pub(crate) fn folded(email: &str) -> String {
    email.trim().to_lowercase()
}

const COLUMNS: &str = "id, email, name, departments, state, created_at, password_hash,
    totp_sealed, totp_pending, totp_last_step";

fn from_row(r: &sqlx::any::AnyRow) -> Result<(Agent, Secrets), sqlx::Error> {
    let departments: String = r.try_get("departments")?;
    let state: String = r.try_get("state")?;
    Ok((
        Agent {
            id: r.try_get("id")?,
            email: r.try_get("email")?,
            name: r.try_get("name")?,
            departments: departments
                .split(',')
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect(),
            state: AgentState::parse(&state),
            created_at: r.try_get("created_at")?,
        },
        Secrets {
            password_hash: r.try_get("password_hash")?,
            totp_sealed: r.try_get("totp_sealed")?,
            totp_pending: r.try_get("totp_pending")?,
            totp_last_step: r.try_get("totp_last_step")?,
        },
    ))
}

pub(crate) async fn by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<(Agent, Secrets)>, PortalError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM ars_agent WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

pub(crate) async fn by_email(
    conn: &mut AnyConnection,
    email: &str,
) -> Result<Option<(Agent, Secrets)>, PortalError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM ars_agent WHERE email_folded = $1"
    ))
    .bind(folded(email))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

pub(crate) async fn audit_event(
    conn: &mut AnyConnection,
    now: i64,
    actor: &str,
    action: &str,
    subject: Option<&str>,
    details: serde_json::Value,
) -> Result<(), PortalError> {
    audit::record(
        &mut *conn,
        now,
        &AuditEvent {
            actor,
            action,
            subject,
            details,
            request_id: None,
        },
    )
    .await
    .map_err(|e| PortalError::Internal(e.to_string()))
}

async fn issue_enrolment(
    conn: &mut AnyConnection,
    hasher: &SecretHasher,
    agent_id: &str,
    now: i64,
) -> Result<(String, i64), PortalError> {
    let policy = CodePolicy::default();
    let token = one_time::issue_link(
        conn,
        hasher,
        &policy,
        &LinkInfo {
            portal: LINK_PORTAL.into(),
            account_id: agent_id.into(),
            purpose: LINK_PURPOSE.into(),
        },
        now,
    )
    .await?;
    Ok((token, now + policy.link_ttl_secs))
}

/// Creates an agent (`invited`) and their enrolment link, audited with `actor`.
/// `departments`: a comma-separated list (checked by [`departments::parse_list`]).
pub async fn add(
    store: &Store,
    hasher: &SecretHasher,
    email: &str,
    name: &str,
    departments_list: &str,
    actor: &str,
    now: i64,
) -> Result<Result<Added, AddRefused>, PortalError> {
    let email = match caducee_core::contact::Email::parse(email) {
        Ok(e) => e.as_str().to_string(),
        Err(e) => {
            return Ok(Err(AddRefused::Invalid(format!(
                "adresse e-mail « {} » refusée : {e}",
                email.trim()
            ))))
        }
    };
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Ok(Err(AddRefused::Invalid(format!(
            "nom de l'agent : de 1 à {NAME_MAX} caractères, sans caractère de contrôle"
        ))));
    }
    let departments = match departments::parse_list(departments_list) {
        Ok(d) => d,
        Err(m) => return Ok(Err(AddRefused::Invalid(m))),
    };
    let mut tx = store.begin().await?;
    if by_email(&mut tx, &email).await?.is_some() {
        return Ok(Err(AddRefused::EmailTaken));
    }
    let id = uuid_like();
    sqlx::query(
        "INSERT INTO ars_agent (id, email, email_folded, name, departments, password_hash,
            totp_sealed, totp_pending, totp_last_step, state, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, NULL, NULL, NULL, NULL, 'invited', $6, $7, $7)",
    )
    .bind(&id)
    .bind(&email)
    .bind(folded(&email))
    .bind(name)
    .bind(departments.join(","))
    .bind(actor)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let (token, expires_at) = issue_enrolment(&mut tx, hasher, &id, now).await?;
    audit_event(
        &mut tx,
        now,
        actor,
        "ars.agent.added",
        None,
        serde_json::json!({
            "agent": id,
            "email": mask_email(&email),
            "departments": departments,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(Added {
        agent: Agent {
            id,
            email,
            name: name.to_string(),
            departments,
            state: AgentState::Invited,
            created_at: now,
        },
        token,
        expires_at,
    }))
}

/// A new enrolment link for the agent of `email`: their password and TOTP secret are
/// forgotten and their sessions ended (a lost phone). None when no such agent.
pub async fn reenrol(
    store: &Store,
    hasher: &SecretHasher,
    email: &str,
    actor: &str,
    now: i64,
) -> Result<Option<Added>, PortalError> {
    let mut tx = store.begin().await?;
    let Some((agent, _)) = by_email(&mut tx, email).await? else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE ars_agent SET password_hash = NULL, totp_sealed = NULL, totp_pending = NULL,
            state = 'invited', updated_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(&agent.id)
    .execute(&mut *tx)
    .await?;
    super::session::end_all(&mut tx, &agent.id, now).await?;
    let (token, expires_at) = issue_enrolment(&mut tx, hasher, &agent.id, now).await?;
    audit_event(
        &mut tx,
        now,
        actor,
        "ars.agent.reenrolment",
        None,
        serde_json::json!({ "agent": agent.id, "email": mask_email(&agent.email) }),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(Added {
        agent: Agent {
            state: AgentState::Invited,
            ..agent
        },
        token,
        expires_at,
    }))
}

/// Every agent, by e-mail.
pub async fn list(store: &Store) -> Result<Vec<Agent>, PortalError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM ars_agent ORDER BY email_folded"
    ))
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| from_row(r).map(|(a, _)| a))
        .collect::<Result<_, _>>()?)
}

/// Removes the agent of `email` (no more logins, sessions ended), audited. False when no
/// such agent, or already removed.
pub async fn remove(
    store: &Store,
    email: &str,
    actor: &str,
    now: i64,
) -> Result<bool, PortalError> {
    let mut tx = store.begin().await?;
    let Some((agent, _)) = by_email(&mut tx, email).await? else {
        return Ok(false);
    };
    if agent.state == AgentState::Removed {
        return Ok(false);
    }
    sqlx::query("UPDATE ars_agent SET state = 'removed', updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(&agent.id)
        .execute(&mut *tx)
        .await?;
    super::session::end_all(&mut tx, &agent.id, now).await?;
    audit_event(
        &mut tx,
        now,
        actor,
        "ars.agent.removed",
        None,
        serde_json::json!({ "agent": agent.id, "email": mask_email(&agent.email) }),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A new random id (128 bits, base64url).
pub(crate) fn uuid_like() -> String {
    crate::sessions::random_token(16)
}

/// The enrolment URL of a token.
pub fn enrolment_url(public_url: &str, token: &str) -> String {
    format!(
        "{}/ars/enrolement/{token}",
        public_url.trim_end_matches('/')
    )
}
