//! Anomaly reports (REG-09): a professional says a piece of their registry data is wrong
//! and what is right; the report waits in the agencies' queue until an agent takes it and
//! decides. The registry owns the queue (`reg_anomaly`, `reg_anomaly_event`, migration 5);
//! a portal files reports and lists the professional's own through [`file`] and
//! [`for_person`]; the back office (issue 13) lists the queue, claims and decides through
//! [`queue`], [`get`], [`claim`] and [`decide`].
//!
//! States: `received` → `in_review` → `corrected` | `rejected`, nothing else. A transition
//! is one conditional `UPDATE … WHERE state = <expected>` in the transaction that records
//! its event and its audit line, so two agents (or two nodes) racing for one report cannot
//! both win. This module never changes the registry's data itself: a correction is the
//! agent's work elsewhere (an operator command, the next extract); `corrected` records that
//! it was done.

use caducee_core::clock::Clock;
use caducee_store::audit::{self, AuditEvent};
use caducee_store::{Store, StoreError};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// The longest "which data" a report may name, in characters.
pub const FIELD_MAX: usize = 100;
/// The longest "what is wrong" or "what is right", in characters.
pub const TEXT_MAX: usize = 2000;
/// The longest note an agent may leave with a decision, in characters.
pub const NOTE_MAX: usize = 2000;
/// How many reports of one professional may wait in the queue at once (received or in
/// review): beyond, a new one is refused until the agency processed some, so that one
/// account cannot flood the agents' queue.
pub const OPEN_MAX_PER_PERSON: i64 = 20;

#[derive(Debug, thiserror::Error)]
pub enum AnomalyError {
    #[error("{0}")]
    BadInput(String),
    #[error("aucun professionnel {0} dans le répertoire")]
    UnknownPerson(String),
    #[error("aucun signalement {0}")]
    NotFound(String),
    #[error("{0} signalements déjà en attente de traitement pour ce professionnel")]
    TooManyOpen(i64),
    #[error("le signalement est « {from} » : il ne peut pas passer à « {to} »")]
    Transition {
        from: AnomalyState,
        to: AnomalyState,
    },
    #[error("le signalement est pris en charge par {0} : seul cet agent peut décider")]
    NotAssignee(String),
    #[error("base de données : {0}")]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AnomalyError {
    fn from(e: sqlx::Error) -> Self {
        AnomalyError::Store(StoreError::Sql(e))
    }
}

/// Where a report is in the agencies' queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyState {
    Received,
    InReview,
    Corrected,
    Rejected,
}

impl AnomalyState {
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyState::Received => "received",
            AnomalyState::InReview => "in_review",
            AnomalyState::Corrected => "corrected",
            AnomalyState::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<AnomalyState> {
        Some(match s {
            "received" => AnomalyState::Received,
            "in_review" => AnomalyState::InReview,
            "corrected" => AnomalyState::Corrected,
            "rejected" => AnomalyState::Rejected,
            _ => return None,
        })
    }

    /// The one transition out of each state, or the two out of `in_review`.
    pub fn can_move_to(self, to: AnomalyState) -> bool {
        matches!(
            (self, to),
            (AnomalyState::Received, AnomalyState::InReview)
                | (AnomalyState::InReview, AnomalyState::Corrected)
                | (AnomalyState::InReview, AnomalyState::Rejected)
        )
    }

    /// Whether the report is closed (nothing more happens to it).
    pub fn is_final(self) -> bool {
        matches!(self, AnomalyState::Corrected | AnomalyState::Rejected)
    }
}

impl std::fmt::Display for AnomalyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a portal files.
#[derive(Debug, Clone)]
pub struct NewAnomaly<'a> {
    pub idnat: &'a str,
    /// The portal's slug, so the agency knows where the professional saw the data.
    pub portal: &'a str,
    /// Which data is wrong ("Nom d'exercice", "Adresse de la structure …").
    pub field: &'a str,
    /// What is wrong with it.
    pub wrong: &'a str,
    /// What is right.
    pub correct: &'a str,
}

/// One report as the queue holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Anomaly {
    pub id: String,
    pub idnat: String,
    pub portal: String,
    pub field: String,
    pub wrong: String,
    pub correct: String,
    pub state: AnomalyState,
    /// The agent who claimed it, once in review.
    pub assignee: Option<String>,
    /// The agent's note with the decision.
    pub decision_note: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One transition of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnomalyEvent {
    /// None for the filing.
    pub from: Option<AnomalyState>,
    pub to: AnomalyState,
    pub actor: String,
    pub note: String,
    pub at: i64,
}

/// An agent's decision on a report in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Corrected,
    Rejected,
}

impl Decision {
    fn state(self) -> AnomalyState {
        match self {
            Decision::Corrected => AnomalyState::Corrected,
            Decision::Rejected => AnomalyState::Rejected,
        }
    }
}

fn text(name: &str, value: &str, max: usize) -> Result<String, AnomalyError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AnomalyError::BadInput(format!(
            "{name} : champ obligatoire"
        )));
    }
    if v.chars().count() > max {
        return Err(AnomalyError::BadInput(format!(
            "{name} : {max} caractères au plus"
        )));
    }
    // Control characters would reach the agents' screens and exports; line breaks stay.
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(AnomalyError::BadInput(format!(
            "{name} : caractères de contrôle refusés"
        )));
    }
    Ok(v.to_string())
}

const COLUMNS: &str = "id, idnat, portal, field, wrong, correct, state, assignee, decision_note,
    created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<Anomaly, AnomalyError> {
    let state: String = r.try_get("state")?;
    Ok(Anomaly {
        id: r.try_get("id")?,
        idnat: r.try_get("idnat")?,
        portal: r.try_get("portal")?,
        field: r.try_get("field")?,
        wrong: r.try_get("wrong")?,
        correct: r.try_get("correct")?,
        state: AnomalyState::parse(&state)
            .ok_or_else(|| AnomalyError::BadInput(format!("état inconnu en base : {state}")))?,
        assignee: r.try_get("assignee")?,
        decision_note: r.try_get("decision_note")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

async fn add_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    from: Option<AnomalyState>,
    to: AnomalyState,
    actor: &str,
    note: &str,
    at: i64,
) -> Result<(), AnomalyError> {
    // The conditional UPDATE before it holds the report's row, so the next number is ours.
    let seq: i64 = sqlx::query(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM reg_anomaly_event WHERE anomaly_id = $1",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    sqlx::query(
        "INSERT INTO reg_anomaly_event (anomaly_id, seq, from_state, to_state, actor, note, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(seq)
    .bind(from.map(AnomalyState::as_str))
    .bind(to.as_str())
    .bind(actor)
    .bind(note)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Files a report for `new.idnat` (state `received`), with its first event and an audit
/// line, by `actor` (the professional: `ps:{idnat}`). The professional must be known to the
/// registry; the texts are trimmed and bounded ([`FIELD_MAX`], [`TEXT_MAX`]).
pub async fn file(
    store: &Store,
    clock: &dyn Clock,
    new: &NewAnomaly<'_>,
    actor: &str,
) -> Result<Anomaly, AnomalyError> {
    let field = text("donnée concernée", new.field, FIELD_MAX)?;
    let wrong = text("ce qui est erroné", new.wrong, TEXT_MAX)?;
    let correct = text("la bonne information", new.correct, TEXT_MAX)?;
    let portal = text("portail", new.portal, FIELD_MAX)?;
    let now = clock.unix();
    let mut tx = store.begin().await?;
    let known = sqlx::query("SELECT 1 FROM reg_person WHERE idnat = $1")
        .bind(new.idnat)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !known {
        return Err(AnomalyError::UnknownPerson(new.idnat.to_string()));
    }
    let open: i64 = sqlx::query(
        "SELECT COUNT(*) FROM reg_anomaly WHERE idnat = $1 AND state IN ('received', 'in_review')",
    )
    .bind(new.idnat)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    if open >= OPEN_MAX_PER_PERSON {
        return Err(AnomalyError::TooManyOpen(open));
    }
    // UUIDv7: ordered by time, so two reports of one second still list in filing order.
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO reg_anomaly (id, idnat, portal, field, wrong, correct, state, created_at,
            updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(&id)
    .bind(new.idnat)
    .bind(&portal)
    .bind(&field)
    .bind(&wrong)
    .bind(&correct)
    .bind(AnomalyState::Received.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    add_event(&mut tx, &id, None, AnomalyState::Received, actor, "", now).await?;
    // The audit keeps which data, not the texts: they may hold personal data the
    // append-only trail must not copy.
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor,
            action: "registry.anomaly.filed",
            subject: Some(new.idnat),
            details: serde_json::json!({ "anomaly": id, "portal": portal, "field": field }),
            request_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Anomaly {
        id,
        idnat: new.idnat.to_string(),
        portal,
        field,
        wrong,
        correct,
        state: AnomalyState::Received,
        assignee: None,
        decision_note: None,
        created_at: now,
        updated_at: now,
    })
}

/// The reports of `idnat`, newest first; only those filed on `portal` when given (what a
/// portal shows the professional).
pub async fn for_person(
    store: &Store,
    idnat: &str,
    portal: Option<&str>,
) -> Result<Vec<Anomaly>, AnomalyError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reg_anomaly
         WHERE idnat = $1 AND ($2 = '' OR portal = $2)
         ORDER BY created_at DESC, id DESC"
    ))
    .bind(idnat)
    .bind(portal.unwrap_or(""))
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// A page of the agencies' queue: reports in one of `states`, oldest first (first come,
/// first served), after the report `after` of the previous page, at most `limit`.
pub async fn queue(
    store: &Store,
    states: &[AnomalyState],
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Anomaly>, AnomalyError> {
    if states.is_empty() {
        return Ok(Vec::new());
    }
    // The states are our own constants, never user text: listing them inline keeps one
    // statement for any number of them.
    let wanted = states
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    // Keyset paging on (created_at, id): ids are UUIDv7, so the order is the filing order.
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reg_anomaly
         WHERE state IN ({wanted})
           AND ($1 = '' OR created_at > (SELECT created_at FROM reg_anomaly WHERE id = $1)
                OR (created_at = (SELECT created_at FROM reg_anomaly WHERE id = $1) AND id > $1))
         ORDER BY created_at, id
         LIMIT $2"
    ))
    .bind(after.unwrap_or(""))
    .bind(i64::from(limit))
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// One report and its history, oldest event first.
pub async fn get(
    store: &Store,
    id: &str,
) -> Result<Option<(Anomaly, Vec<AnomalyEvent>)>, AnomalyError> {
    let Some(row) = sqlx::query(&format!("SELECT {COLUMNS} FROM reg_anomaly WHERE id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?
    else {
        return Ok(None);
    };
    let anomaly = from_row(&row)?;
    let events = sqlx::query(
        "SELECT from_state, to_state, actor, note, at FROM reg_anomaly_event
         WHERE anomaly_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| -> Result<AnomalyEvent, AnomalyError> {
        let from: Option<String> = r.try_get("from_state")?;
        let to: String = r.try_get("to_state")?;
        Ok(AnomalyEvent {
            from: from.as_deref().and_then(AnomalyState::parse),
            to: AnomalyState::parse(&to)
                .ok_or_else(|| AnomalyError::BadInput(format!("état inconnu en base : {to}")))?,
            actor: r.try_get("actor")?,
            note: r.try_get("note")?,
            at: r.try_get("at")?,
        })
    })
    .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((anomaly, events)))
}

/// Moves `id` from its current state to `to`, checked, by `actor`. `assignee_must_be`: the
/// decision belongs to the agent who claimed the report.
async fn transition(
    store: &Store,
    clock: &dyn Clock,
    id: &str,
    to: AnomalyState,
    actor: &str,
    note: &str,
    assignee_must_be: Option<&str>,
) -> Result<Anomaly, AnomalyError> {
    let now = clock.unix();
    let mut tx = store.begin().await?;
    let Some(row) = sqlx::query(&format!("SELECT {COLUMNS} FROM reg_anomaly WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Err(AnomalyError::NotFound(id.to_string()));
    };
    let current = from_row(&row)?;
    if !current.state.can_move_to(to) {
        return Err(AnomalyError::Transition {
            from: current.state,
            to,
        });
    }
    if let Some(agent) = assignee_must_be {
        if current.assignee.as_deref() != Some(agent) {
            return Err(AnomalyError::NotAssignee(
                current.assignee.unwrap_or_default(),
            ));
        }
    }
    let claiming = to == AnomalyState::InReview;
    let done = sqlx::query(
        "UPDATE reg_anomaly SET state = $1, updated_at = $2,
            assignee = CASE WHEN $3 = 1 THEN $4 ELSE assignee END,
            decision_note = CASE WHEN $3 = 1 THEN decision_note ELSE $5 END
         WHERE id = $6 AND state = $7",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(i64::from(claiming))
    .bind(actor)
    .bind(note)
    .bind(id)
    .bind(current.state.as_str())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        // Another agent moved it between our read and our write: report where it is now.
        drop(tx);
        let now_state = get(store, id)
            .await?
            .map(|(a, _)| a.state)
            .unwrap_or(current.state);
        return Err(AnomalyError::Transition {
            from: now_state,
            to,
        });
    }
    add_event(&mut tx, id, Some(current.state), to, actor, note, now).await?;
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor,
            action: "registry.anomaly.state",
            subject: Some(&current.idnat),
            details: serde_json::json!({
                "anomaly": id,
                "from": current.state.as_str(),
                "to": to.as_str(),
            }),
            request_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Anomaly {
        state: to,
        assignee: if claiming {
            Some(actor.to_string())
        } else {
            current.assignee
        },
        decision_note: if claiming {
            current.decision_note
        } else {
            Some(note.to_string())
        },
        updated_at: now,
        ..current
    })
}

/// An agent takes a received report: it goes `in_review`, assigned to `agent`.
pub async fn claim(
    store: &Store,
    clock: &dyn Clock,
    id: &str,
    agent: &str,
) -> Result<Anomaly, AnomalyError> {
    transition(store, clock, id, AnomalyState::InReview, agent, "", None).await
}

/// The agent who claimed a report decides: `corrected` (the data was put right) or
/// `rejected` (the registry was right), with a note for the history.
pub async fn decide(
    store: &Store,
    clock: &dyn Clock,
    id: &str,
    agent: &str,
    decision: Decision,
    note: &str,
) -> Result<Anomaly, AnomalyError> {
    let note = note.trim();
    if note.chars().count() > NOTE_MAX {
        return Err(AnomalyError::BadInput(format!(
            "note : {NOTE_MAX} caractères au plus"
        )));
    }
    transition(store, clock, id, decision.state(), agent, note, Some(agent)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reg_09_only_the_queue_transitions_are_allowed() {
        use AnomalyState::*;
        let all = [Received, InReview, Corrected, Rejected];
        let allowed = [
            (Received, InReview),
            (InReview, Corrected),
            (InReview, Rejected),
        ];
        for from in all {
            for to in all {
                assert_eq!(from.can_move_to(to), allowed.contains(&(from, to)));
            }
            assert_eq!(AnomalyState::parse(from.as_str()), Some(from));
        }
        assert!(Corrected.is_final() && Rejected.is_final());
        assert!(!Received.is_final() && !InReview.is_final());
    }
}
