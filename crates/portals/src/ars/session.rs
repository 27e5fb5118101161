//! The agents' sessions, in the database (any node serves any page; a restart loses
//! nothing): the cookie's secret is known only as SHA-256. A session is at one stage:
//! `enrol` (an enrolment link was used: choose the password, set up TOTP), `password` (the
//! password was right; the TOTP code is awaited, 5 minutes), `full` (logged in). A full
//! session ends after 30 minutes without a request, and after 10 hours in any case; each
//! promotion replaces the session by a new one (a new cookie: no fixation).

use super::agents::{self, Agent, AgentState};
use crate::sessions::{hash, random_token};
use crate::PortalError;
use sqlx::{AnyConnection, Row};

/// Idle timeout of a logged-in agent.
pub const IDLE_SECS: i64 = 30 * 60;
/// Longest session, idle or not.
pub const MAX_SECS: i64 = 10 * 3600;
/// Time to type the TOTP code after the password.
pub const PASSWORD_STAGE_SECS: i64 = 5 * 60;
/// Time to finish an enrolment once the link was used.
pub const ENROL_STAGE_SECS: i64 = 30 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Enrol,
    Password,
    Full,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Enrol => "enrol",
            Stage::Password => "password",
            Stage::Full => "full",
        }
    }

    fn parse(s: &str) -> Option<Stage> {
        match s {
            "enrol" => Some(Stage::Enrol),
            "password" => Some(Stage::Password),
            "full" => Some(Stage::Full),
            _ => None,
        }
    }

    fn ttl(self) -> i64 {
        match self {
            Stage::Enrol => ENROL_STAGE_SECS,
            Stage::Password => PASSWORD_STAGE_SECS,
            Stage::Full => MAX_SECS,
        }
    }
}

/// A live session and its agent.
#[derive(Debug, Clone)]
pub struct ArsSession {
    pub id_hash: String,
    pub agent: Agent,
    pub stage: Stage,
}

/// Opens a session of `agent_id` at `stage`; returns the cookie's secret.
pub(crate) async fn open(
    conn: &mut AnyConnection,
    agent_id: &str,
    stage: Stage,
    now: i64,
) -> Result<String, PortalError> {
    let secret = random_token(32);
    sqlx::query(
        "INSERT INTO ars_session (id_hash, agent_id, stage, created_at, last_seen_at, expires_at, ended_at)
         VALUES ($1, $2, $3, $4, $4, $5, NULL)",
    )
    .bind(hash(&secret))
    .bind(agent_id)
    .bind(stage.as_str())
    .bind(now)
    .bind(now + stage.ttl())
    .execute(&mut *conn)
    .await?;
    Ok(secret)
}

/// The live session a cookie names (a full one idle for less than [`IDLE_SECS`]), its
/// last request moved to `now`. A removed agent has no session.
pub(crate) async fn find(
    conn: &mut AnyConnection,
    secret: &str,
    now: i64,
) -> Result<Option<ArsSession>, PortalError> {
    let row = sqlx::query(
        "SELECT id_hash, agent_id, stage, last_seen_at FROM ars_session
         WHERE id_hash = $1 AND ended_at IS NULL AND expires_at > $2",
    )
    .bind(hash(secret))
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let id_hash: String = r.try_get(0)?;
    let agent_id: String = r.try_get(1)?;
    let stage: String = r.try_get(2)?;
    let last_seen: i64 = r.try_get(3)?;
    let Some(stage) = Stage::parse(&stage) else {
        return Ok(None);
    };
    if stage == Stage::Full && now - last_seen >= IDLE_SECS {
        end(conn, &id_hash, now).await?;
        return Ok(None);
    }
    let Some((agent, _)) = agents::by_id(conn, &agent_id).await? else {
        return Ok(None);
    };
    if agent.state == AgentState::Removed {
        return Ok(None);
    }
    sqlx::query("UPDATE ars_session SET last_seen_at = $1 WHERE id_hash = $2")
        .bind(now)
        .bind(&id_hash)
        .execute(&mut *conn)
        .await?;
    Ok(Some(ArsSession {
        id_hash,
        agent,
        stage,
    }))
}

/// Ends one session (logout, or its promotion).
pub(crate) async fn end(
    conn: &mut AnyConnection,
    id_hash: &str,
    now: i64,
) -> Result<(), PortalError> {
    sqlx::query("UPDATE ars_session SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL")
        .bind(now)
        .bind(id_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends every session of an agent (removed, re-enrolled).
pub(crate) async fn end_all(
    conn: &mut AnyConnection,
    agent_id: &str,
    now: i64,
) -> Result<(), PortalError> {
    sqlx::query("UPDATE ars_session SET ended_at = $1 WHERE agent_id = $2 AND ended_at IS NULL")
        .bind(now)
        .bind(agent_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends `old` and opens a session of the same agent at `stage`: the new cookie's secret.
pub(crate) async fn promote(
    conn: &mut AnyConnection,
    old: &ArsSession,
    stage: Stage,
    now: i64,
) -> Result<String, PortalError> {
    end(conn, &old.id_hash, now).await?;
    open(conn, &old.agent.id, stage, now).await
}

/// Forgets sessions a day after they ended or expired.
pub(crate) async fn housekeeping(pool: &sqlx::AnyPool, now: i64) -> Result<u64, PortalError> {
    Ok(
        sqlx::query("DELETE FROM ars_session WHERE expires_at < $1 OR ended_at < $1")
            .bind(now - 86_400)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
