//! Self-service flows as rows (issue 11 item 4, Kratos-style): creation, recovery, reset,
//! login and settings are each a row with an id, a kind, a step, an expiry and the data typed
//! so far. A page renders a flow, a form advances it. So a flow started on one node goes on
//! on another, survives a restart, and "the data typed but not validated is deleted after
//! 10 minutes" (ACC-02) is the expiry of its row, read from the injected clock.
//!
//! A flow is bound to the browser that started it (hash of a cookie secret), so a stolen
//! flow URL cannot be continued elsewhere. Must never hold a password or a code in clear in
//! `data`.

use crate::PortalError;
use serde::{de::DeserializeOwned, Serialize};
use sqlx::{AnyConnection, Row};

/// A flow as stored: `data` is the typed state of its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow<T> {
    pub id: String,
    pub portal: String,
    pub kind: String,
    pub step: String,
    pub data: T,
    pub expires_at: i64,
}

/// A flow about to start.
pub struct NewFlow<'a, T> {
    pub portal: &'a str,
    pub kind: &'a str,
    pub step: &'a str,
    /// The cookie secret of the browser that starts it.
    pub browser_secret: &'a str,
    pub data: &'a T,
    pub ttl_secs: i64,
}

/// Starts a flow for the browser holding `new.browser_secret`, living `new.ttl_secs`.
pub async fn create<T: Serialize + Clone>(
    conn: &mut AnyConnection,
    new: &NewFlow<'_, T>,
    now: i64,
) -> Result<Flow<T>, PortalError> {
    let NewFlow {
        portal,
        kind,
        step,
        browser_secret,
        data,
        ttl_secs,
    } = *new;
    let id = crate::sessions::random_token(16);
    let json = serde_json::to_string(data).map_err(|e| PortalError::Internal(e.to_string()))?;
    sqlx::query(
        "INSERT INTO portal_flow (id, portal, kind, step, browser_hash, data, created_at,
            updated_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
    )
    .bind(&id)
    .bind(portal)
    .bind(kind)
    .bind(step)
    .bind(crate::sessions::hash(browser_secret))
    .bind(&json)
    .bind(now)
    .bind(now + ttl_secs)
    .execute(&mut *conn)
    .await?;
    Ok(Flow {
        id,
        portal: portal.to_string(),
        kind: kind.to_string(),
        step: step.to_string(),
        data: data.clone(),
        expires_at: now + ttl_secs,
    })
}

/// The flow `id` of `portal` and `kind`, if it exists, has not expired and belongs to the
/// browser holding `browser_secret`.
pub async fn load<T: DeserializeOwned>(
    conn: &mut AnyConnection,
    portal: &str,
    kind: &str,
    id: &str,
    browser_secret: &str,
    now: i64,
) -> Result<Option<Flow<T>>, PortalError> {
    let row = sqlx::query(
        "SELECT step, browser_hash, data, expires_at FROM portal_flow
         WHERE id = $1 AND portal = $2 AND kind = $3 AND expires_at > $4",
    )
    .bind(id)
    .bind(portal)
    .bind(kind)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let browser_hash: String = r.try_get(1)?;
    if !crate::sessions::same_hash(&crate::sessions::hash(browser_secret), &browser_hash) {
        return Ok(None);
    }
    let data: String = r.try_get(2)?;
    Ok(Some(Flow {
        id: id.to_string(),
        portal: portal.to_string(),
        kind: kind.to_string(),
        step: r.try_get(0)?,
        data: serde_json::from_str(&data).map_err(|e| PortalError::Internal(e.to_string()))?,
        expires_at: r.try_get(3)?,
    }))
}

/// Moves a flow to `step` with `data`; `extend_to` gives it a new expiry (a step that asks
/// for more time). False when the flow expired or is gone meanwhile.
pub async fn advance<T: Serialize>(
    conn: &mut AnyConnection,
    flow: &Flow<T>,
    step: &str,
    data: &T,
    now: i64,
    extend_to: Option<i64>,
) -> Result<bool, PortalError> {
    let json = serde_json::to_string(data).map_err(|e| PortalError::Internal(e.to_string()))?;
    let done = sqlx::query(
        "UPDATE portal_flow SET step = $1, data = $2, updated_at = $3, expires_at = $4
         WHERE id = $5 AND expires_at > $3",
    )
    .bind(step)
    .bind(&json)
    .bind(now)
    .bind(extend_to.unwrap_or(flow.expires_at))
    .bind(&flow.id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Ends a flow (finished or abandoned): its data is gone at once.
pub async fn delete(conn: &mut AnyConnection, id: &str) -> Result<(), PortalError> {
    sqlx::query("DELETE FROM portal_flow WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes the expired flows and what they typed (ACC-02). `serve` runs it every minute;
/// [`load`] never returns an expired flow in between.
pub async fn housekeeping(pool: &sqlx::AnyPool, now: i64) -> Result<u64, PortalError> {
    Ok(
        sqlx::query("DELETE FROM portal_flow WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use caducee_store::testkit::TestDb;
    use caducee_store::Dialect;

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Creation {
        birth_date: String,
        rpps: String,
    }

    async fn acc_02_typed_data_is_gone_after_ten_minutes(dialect: Dialect) {
        let db = TestDb::new(dialect).await;
        db.store.migrate(&crate::migrations()).await.unwrap();
        let mut conn = db.store.pool().acquire().await.unwrap();
        let t0 = 1_780_000_000;
        let typed = Creation {
            birth_date: "1980-04-12".into(),
            rpps: "19999900012".into(),
        };
        let new = NewFlow {
            portal: "ordre",
            kind: "creation",
            step: "identity",
            browser_secret: "nav-1",
            data: &typed,
            ttl_secs: 600,
        };
        let flow = create(&mut conn, &new, t0).await.unwrap();
        // Another node (another connection) continues it; another browser cannot.
        let mut other = db.store.pool().acquire().await.unwrap();
        let seen: Flow<Creation> =
            load(&mut other, "ordre", "creation", &flow.id, "nav-1", t0 + 60)
                .await
                .unwrap()
                .unwrap();
        assert_eq!(seen.data, typed);
        assert!(
            load::<Creation>(&mut other, "ordre", "creation", &flow.id, "nav-2", t0 + 60)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            load::<Creation>(&mut other, "rplus", "creation", &flow.id, "nav-1", t0 + 60)
                .await
                .unwrap()
                .is_none()
        );
        assert!(advance(&mut other, &seen, "secure", &typed, t0 + 61, None)
            .await
            .unwrap());
        // Ten minutes after it started: not shown, then deleted with what was typed.
        assert!(
            load::<Creation>(&mut conn, "ordre", "creation", &flow.id, "nav-1", t0 + 600)
                .await
                .unwrap()
                .is_none()
        );
        assert!(!advance(&mut conn, &seen, "done", &typed, t0 + 600, None)
            .await
            .unwrap());
        drop(conn);
        drop(other);
        assert_eq!(housekeeping(db.store.pool(), t0 + 600).await.unwrap(), 1);
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM portal_flow")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        assert_eq!(left, 0);
        db.cleanup().await;
    }

    caducee_store::on_both_engines! {
        acc_02_typed_data_is_gone_after_ten_minutes => acc_02_typed_data_is_gone_after_ten_minutes;
    }
}
