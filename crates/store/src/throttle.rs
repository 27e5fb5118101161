//! Rate limits kept in the database, so that every node counts the same hits and a restart
//! forgets nothing (a limit held in one process's memory is a limit an attacker halves by
//! adding a node, and resets by crashing it).
//!
//! A [`Limit`] allows `max` hits per `window_secs` for one key (a source address, an idNat,
//! an account). Counting is a sliding window approximated from two fixed windows (the
//! current one, and the previous one weighted by how much of it still overlaps), the scheme
//! of Cloudflare's and nginx's limiters: one row per key and window, one upsert per hit,
//! exact enough for abuse limits. Rows are pruned two windows after they start.
//!
//! Written by hand because the rate-limit crates (governor, tower_governor) keep their
//! counters in process memory. This module must never hold a policy: components choose their
//! limits and keys; keys must not be secrets (they are stored as given).

use crate::{Migration, StoreError};
use sqlx::{AnyConnection, Row};

pub const MIGRATION: Migration = Migration {
    component: "store",
    version: 2,
    name: "throttle_window",
    sql: "CREATE TABLE throttle_window (
            name TEXT NOT NULL,
            key TEXT NOT NULL,
            window_start BIGINT NOT NULL,
            hits BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            PRIMARY KEY (name, key, window_start)
          );
          CREATE INDEX throttle_window_expires ON throttle_window (expires_at);",
};

/// `max` hits per `window_secs` for one key of the limit `name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// A stable dotted name: `idp.login.source`.
    pub name: &'static str,
    pub max: u32,
    pub window_secs: i64,
}

/// The answer of a limit to one hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit; the hit was counted all the same (whoever keeps knocking stays out).
    Refused {
        retry_after_secs: i64,
    },
}

impl Verdict {
    pub fn is_refused(self) -> bool {
        matches!(self, Verdict::Refused { .. })
    }
}

impl Limit {
    pub const fn new(name: &'static str, max: u32, window_secs: i64) -> Limit {
        Limit {
            name,
            max,
            window_secs,
        }
    }

    fn window_start(&self, now: i64) -> i64 {
        let w = self.window_secs.max(1);
        now.div_euclid(w) * w
    }

    /// Counts one hit for `key` at `now` and says whether it is within the limit. Run it in
    /// the transaction of the action it guards (`&mut *tx`), so that the hit and the action
    /// commit together.
    pub async fn hit(
        &self,
        conn: &mut AnyConnection,
        key: &str,
        now: i64,
    ) -> Result<Verdict, StoreError> {
        let start = self.window_start(now);
        let current: i64 = sqlx::query(
            "INSERT INTO throttle_window (name, key, window_start, hits, expires_at)
             VALUES ($1, $2, $3, 1, $4)
             ON CONFLICT (name, key, window_start) DO UPDATE SET hits = throttle_window.hits + 1
             RETURNING hits",
        )
        .bind(self.name)
        .bind(key)
        .bind(start)
        .bind(start + 2 * self.window_secs.max(1))
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
        let previous = self
            .hits_in(conn, key, start - self.window_secs.max(1))
            .await?;
        Ok(self.judge(now, previous, current))
    }

    /// Whether one more hit would be refused, without counting it.
    pub async fn peek(
        &self,
        conn: &mut AnyConnection,
        key: &str,
        now: i64,
    ) -> Result<Verdict, StoreError> {
        let start = self.window_start(now);
        let current = self.hits_in(conn, key, start).await? + 1;
        let previous = self
            .hits_in(conn, key, start - self.window_secs.max(1))
            .await?;
        Ok(self.judge(now, previous, current))
    }

    /// Takes back one hit of the current window (a hit that turned out harmless, such as a
    /// login its own browser cancelled at once).
    pub async fn forgive(
        &self,
        conn: &mut AnyConnection,
        key: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE throttle_window SET hits = hits - 1
             WHERE name = $1 AND key = $2 AND window_start = $3 AND hits > 0",
        )
        .bind(self.name)
        .bind(key)
        .bind(self.window_start(now))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Forgets every hit of `key` (a failure counter after a success).
    pub async fn reset(&self, conn: &mut AnyConnection, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM throttle_window WHERE name = $1 AND key = $2")
            .bind(self.name)
            .bind(key)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    async fn hits_in(
        &self,
        conn: &mut AnyConnection,
        key: &str,
        window_start: i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT hits FROM throttle_window WHERE name = $1 AND key = $2 AND window_start = $3",
        )
        .bind(self.name)
        .bind(key)
        .bind(window_start)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(match row {
            Some(r) => r.try_get(0)?,
            None => 0,
        })
    }

    /// Sliding estimate: the previous window's hits weighted by its share still inside the
    /// last `window_secs`, plus the current window's.
    fn judge(&self, now: i64, previous: i64, current: i64) -> Verdict {
        let w = self.window_secs.max(1);
        let elapsed = now - self.window_start(now);
        let max = i64::from(self.max);
        // previous × (w − elapsed) / w + current > max, in integers.
        if previous * (w - elapsed) + current * w <= max * w {
            return Verdict::Allowed;
        }
        let retry_after_secs = if current > max || previous == 0 {
            w - elapsed
        } else {
            // First t with previous × (w − elapsed − t) ≤ (max − current) × w.
            let t = w - elapsed - (max - current) * w / previous;
            t.clamp(1, w - elapsed)
        };
        Verdict::Refused {
            retry_after_secs: retry_after_secs.max(1),
        }
    }
}

/// Deletes the windows that no longer count. `serve` calls it from its housekeeping.
pub async fn prune(pool: &sqlx::AnyPool, now: i64) -> Result<u64, StoreError> {
    Ok(
        sqlx::query("DELETE FROM throttle_window WHERE expires_at < $1")
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testkit::TestDb;
    use crate::Dialect;

    const LIMIT: Limit = Limit::new("test.limit", 3, 60);

    async fn limits_count_share_and_slide(dialect: Dialect) {
        let db = TestDb::new(dialect).await;
        db.store.migrate(crate::MIGRATIONS).await.unwrap();
        let mut conn = db.store.pool().acquire().await.unwrap();
        let t0 = 6_000; // start of a window
        for _ in 0..3 {
            assert_eq!(
                LIMIT.hit(&mut conn, "a", t0).await.unwrap(),
                Verdict::Allowed
            );
        }
        assert!(LIMIT.peek(&mut conn, "a", t0).await.unwrap().is_refused());
        let refused = LIMIT.hit(&mut conn, "a", t0 + 10).await.unwrap();
        assert_eq!(
            refused,
            Verdict::Refused {
                retry_after_secs: 50
            }
        );
        // Another key has its own budget.
        assert_eq!(
            LIMIT.hit(&mut conn, "b", t0).await.unwrap(),
            Verdict::Allowed
        );
        // A second connection (another node) sees the same counts.
        let mut other = db.store.pool().acquire().await.unwrap();
        assert!(LIMIT
            .peek(&mut other, "a", t0 + 20)
            .await
            .unwrap()
            .is_refused());
        // Half-way through the next window, the 4 hits of the last one weigh 2: one more
        // hit is allowed, a second is not.
        let mid = t0 + 60 + 30;
        assert_eq!(
            LIMIT.hit(&mut conn, "a", mid).await.unwrap(),
            Verdict::Allowed
        );
        assert!(LIMIT.hit(&mut conn, "a", mid).await.unwrap().is_refused());
        // Forgiving takes a hit back; reset forgets the key.
        LIMIT.forgive(&mut conn, "a", mid).await.unwrap();
        LIMIT.forgive(&mut conn, "a", mid).await.unwrap();
        assert_eq!(
            LIMIT.peek(&mut conn, "a", mid).await.unwrap(),
            Verdict::Allowed
        );
        LIMIT.reset(&mut conn, "a").await.unwrap();
        for _ in 0..3 {
            assert_eq!(
                LIMIT.hit(&mut conn, "a", mid).await.unwrap(),
                Verdict::Allowed
            );
        }
        drop(conn);
        drop(other);
        // Two windows later every row is gone.
        let pruned = prune(db.store.pool(), t0 + 60 * 4).await.unwrap();
        assert!(pruned >= 2, "pruned {pruned}");
        db.cleanup().await;
    }

    #[tokio::test]
    async fn nfr_02_limits_count_share_and_slide_sqlite() {
        limits_count_share_and_slide(Dialect::Sqlite).await;
    }

    #[tokio::test]
    async fn nfr_02_limits_count_share_and_slide_postgres() {
        limits_count_share_and_slide(Dialect::Postgres).await;
    }
}
