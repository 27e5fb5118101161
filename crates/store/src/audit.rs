//! The append-only audit trail of security events (logins, failures, code sends, changes,
//! agents' actions). Only [`record`] writes to it; nothing in caducee updates or deletes an
//! event. Details must never contain a secret (code, password, token): callers pass masked
//! values.

use crate::{Migration, StoreError};
use sqlx::{Any, Executor};

pub const MIGRATION: Migration = Migration {
    component: "store",
    version: 1,
    name: "audit_event",
    sql: "CREATE TABLE audit_event (
            id TEXT PRIMARY KEY,
            at BIGINT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT,
            details TEXT NOT NULL,
            request_id TEXT
          );
          CREATE INDEX audit_event_subject ON audit_event (subject, at);
          CREATE INDEX audit_event_at ON audit_event (at);",
};

/// One security event.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    /// Who acted: `operator:alice`, `ps:810001234567`, `system`…
    pub actor: &'a str,
    /// What happened, a stable dotted name: `registry.contact.updated`.
    pub action: &'a str,
    /// Whom it concerns (an idNat, a client id), when there is one.
    pub subject: Option<&'a str>,
    /// Free JSON details, secrets masked.
    pub details: serde_json::Value,
    pub request_id: Option<&'a str>,
}

/// Appends an event, inside the caller's transaction when it passes one, so that the event
/// exists exactly when the change it records does.
pub async fn record<'e, E>(
    executor: E,
    at_unix: i64,
    event: &AuditEvent<'_>,
) -> Result<(), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO audit_event (id, at, actor, action, subject, details, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(at_unix)
    .bind(event.actor)
    .bind(event.action)
    .bind(event.subject)
    .bind(event.details.to_string())
    .bind(event.request_id)
    .execute(executor)
    .await?;
    Ok(())
}

/// A stored event, as read back by operators and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: Option<String>,
    pub details: String,
}

/// The events about one subject, oldest first.
pub async fn events_for(
    store: &crate::Store,
    subject: &str,
) -> Result<Vec<StoredEvent>, StoreError> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT at, actor, action, subject, details FROM audit_event WHERE subject = $1 ORDER BY at, id",
    )
    .bind(subject)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredEvent {
                at: r.try_get(0)?,
                actor: r.try_get(1)?,
                action: r.try_get(2)?,
                subject: r.try_get(3)?,
                details: r.try_get(4)?,
            })
        })
        .collect()
}
