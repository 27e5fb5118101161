//! The delivery worker: claims due messages of the outbox, hands them to the transport,
//! and records the outcome (sent, retry later with backoff, failed, expired).
//!
//! Safe with several nodes: a claim is a single `UPDATE … WHERE id IN (SELECT … FOR UPDATE
//! SKIP LOCKED)` on PostgreSQL (SQLite has a single writer, so the same statement without
//! the suffix), and lasts [`CLAIM_SECS`]: a node that dies mid-delivery releases its
//! messages by expiry. Time comes from the injected clock only; the only sleep is the idle
//! wait of [`Worker::run`]. Logs name messages by id, channel and masked recipient: this
//! module must never log or store a body anywhere but in the outbox row.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use caducee_core::clock::SharedClock;
use caducee_store::{Dialect, Store};
use tokio::sync::Notify;

use crate::error::{DeliveryError, Retry};
use crate::outbox::{from_row, ChannelKind, StoredMessage, COLUMNS, SCRUBBED_BODY};
use crate::templates::template_carries_secret;
use crate::transport::Transport;
use crate::NotifyError;

/// How long a claim protects a message from the other nodes, in seconds.
pub const CLAIM_SECS: i64 = 60;
/// Attempts before a message is marked failed.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 12;
/// Messages claimed at once.
pub const DEFAULT_BATCH_SIZE: u32 = 20;
/// Longest wait between two attempts, in seconds: a code still goes out within a minute of
/// the server coming back, while it is still useful.
pub const MAX_BACKOFF_SECS: i64 = 60;
/// Longest time one delivery may take (connection and every SMTP command included), well
/// below [`CLAIM_SECS`]: a hung server cannot make a message outlive its claim.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle wait of [`Worker::run`] between two rounds when nothing wakes it.
pub const IDLE_WAIT: Duration = Duration::from_secs(1);

/// Seconds to wait after the `failures`-th failed attempt: 1, 2, 4, 8, 16, 32, then 60.
pub fn backoff_secs(failures: i64) -> i64 {
    let exponent = failures.clamp(1, 7) - 1;
    (1i64 << exponent).min(MAX_BACKOFF_SECS)
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunReport {
    /// Accepted by the SMTP server or the gateway (or simulated in demo mode).
    pub sent: usize,
    /// Failed this time, to be tried again later.
    pub retried: usize,
    /// Given up: last attempt failed, or refused for good.
    pub failed: usize,
    /// Not sent because their `not_after` had passed.
    pub expired: usize,
}

impl RunReport {
    pub fn is_empty(&self) -> bool {
        *self == RunReport::default()
    }
}

/// Wakes a [`Worker::run`] loop at once, e.g. after a flow committed a message, instead of
/// waiting for the next round. Cheap to clone. A wake while the worker is busy is kept and
/// starts the next round as soon as the current one ends.
#[derive(Debug, Clone, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn new() -> Waker {
        Waker::default()
    }

    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Delivers the outbox. One per node.
pub struct Worker {
    store: Store,
    clock: SharedClock,
    transport: Arc<dyn Transport>,
    node_id: String,
    max_attempts: u32,
    batch_size: u32,
    keep_bodies: bool,
    waker: Waker,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("node_id", &self.node_id)
            .field("max_attempts", &self.max_attempts)
            .field("batch_size", &self.batch_size)
            .field("keep_bodies", &self.keep_bodies)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker with a random node id, [`DEFAULT_MAX_ATTEMPTS`], [`DEFAULT_BATCH_SIZE`],
    /// and bodies of secret-carrying messages scrubbed once delivered.
    pub fn new(store: Store, clock: SharedClock, transport: Arc<dyn Transport>) -> Worker {
        Worker {
            store,
            clock,
            transport,
            node_id: format!("node-{}", uuid::Uuid::new_v4().simple()),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            batch_size: DEFAULT_BATCH_SIZE,
            keep_bodies: false,
            waker: Waker::new(),
        }
    }

    /// Names this node in `claimed_by` (a host name, a pod name).
    pub fn with_node_id(mut self, node_id: impl Into<String>) -> Worker {
        self.node_id = node_id.into();
        self
    }

    pub fn with_max_attempts(mut self, max_attempts: u32) -> Worker {
        self.max_attempts = max_attempts.max(1);
        self
    }

    pub fn with_batch_size(mut self, batch_size: u32) -> Worker {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Demo mode: keep the bodies of delivered messages (codes included) for `/dev/outbox`.
    pub fn keep_bodies(mut self, keep: bool) -> Worker {
        self.keep_bodies = keep;
        self
    }

    /// Shares a waker created beforehand (e.g. stored in the web state before the worker).
    pub fn with_waker(mut self, waker: Waker) -> Worker {
        self.waker = waker;
        self
    }

    pub fn waker(&self) -> Waker {
        self.waker.clone()
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// One round: marks the messages whose `not_after` has passed as expired, claims the
    /// due ones (at most the batch size), delivers them one by one and records each outcome.
    pub async fn run_once(&self) -> Result<RunReport, NotifyError> {
        let mut report = RunReport {
            expired: self.expire().await?,
            ..RunReport::default()
        };
        let claimed = self.claim().await?;
        if !claimed.is_empty() {
            tracing::debug!(node = %self.node_id, count = claimed.len(), "messages réservés pour envoi");
        }
        let mut rest = claimed.into_iter();
        while let Some(m) = rest.next() {
            let now = self.clock.unix();
            // Too close to the end of the claim: another node may take the message over
            // while we are still talking to the server. Give the rest back instead.
            if m.claimed_until.unwrap_or(0) < now + DELIVERY_TIMEOUT.as_secs() as i64 + 5 {
                let ids: Vec<String> = std::iter::once(m.id).chain(rest.map(|m| m.id)).collect();
                self.release(&ids).await?;
                break;
            }
            if m.not_after.is_some_and(|t| t <= now) {
                if self.finish(&m, "expired", None, now).await? {
                    report.expired += 1;
                    count("caducee_notify_expired_total", m.channel);
                }
                continue;
            }
            if m.attempts > i64::from(self.max_attempts) {
                // Claimed again and again by nodes that died before recording an outcome.
                let error = format!(
                    "abandonné : {} tentatives interrompues sans résultat",
                    m.attempts - 1
                );
                if self.finish(&m, "failed", Some(&error), now).await? {
                    report.failed += 1;
                    count("caducee_notify_failed_total", m.channel);
                    log_failed(&m, &error);
                }
                continue;
            }
            let delivery = async {
                match m.channel {
                    ChannelKind::Email => self.transport.send_email(&m).await,
                    ChannelKind::Sms => self.transport.send_sms(&m).await,
                }
            };
            let outcome = tokio::time::timeout(DELIVERY_TIMEOUT, delivery)
                .await
                .unwrap_or_else(|_| {
                    Err(DeliveryError::transient(format!(
                        "pas de réponse du serveur en {} s",
                        DELIVERY_TIMEOUT.as_secs()
                    )))
                });
            let now = self.clock.unix();
            match outcome {
                Ok(()) => {
                    self.mark_sent(&m, now).await?;
                    report.sent += 1;
                    count("caducee_notify_sent_total", m.channel);
                    tracing::info!(
                        outbox_id = %m.id,
                        message_id = %m.message_id,
                        channel = m.channel.as_str(),
                        to = %m.masked_recipient(),
                        template = %m.template,
                        attempt = m.attempts,
                        "message remis"
                    );
                }
                Err(e) => self.record_failure(&m, e, now, &mut report).await?,
            }
        }
        Ok(report)
    }

    /// Loops over [`Worker::run_once`] until `shutdown` completes: after each round, waits
    /// up to [`IDLE_WAIT`] or until woken by the [`Waker`]. The round in progress is always
    /// finished (so no delivery is cut between the server's acceptance and its record).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        register_metrics();
        tracing::info!(node = %self.node_id, "envoi des notifications démarré");
        loop {
            match self.run_once().await {
                Ok(report) if !report.is_empty() => tracing::debug!(
                    sent = report.sent,
                    retried = report.retried,
                    failed = report.failed,
                    expired = report.expired,
                    "tour d'envoi des notifications"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "tour d'envoi des notifications en échec"),
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = self.waker.0.notified() => {}
                () = tokio::time::sleep(IDLE_WAIT) => {}
            }
        }
        tracing::info!(node = %self.node_id, "envoi des notifications arrêté");
    }

    /// Claims the due messages for this node for [`CLAIM_SECS`] and counts the attempt.
    /// Public so that tests can stop between the claim and the outcome (a crash).
    pub async fn claim(&self) -> Result<Vec<StoredMessage>, NotifyError> {
        let now = self.clock.unix();
        let lock = match self.store.dialect() {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE notify_outbox SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM notify_outbox
                          WHERE status = 'pending' AND next_attempt_at <= $3
                            AND (claimed_until IS NULL OR claimed_until < $3)
                            AND (not_after IS NULL OR not_after > $3)
                          ORDER BY next_attempt_at, created_at
                          LIMIT $4{lock})
             RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(&self.node_id)
            .bind(now + CLAIM_SECS)
            .bind(now)
            .bind(i64::from(self.batch_size))
            .fetch_all(self.store.pool())
            .await?;
        let mut messages = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        messages.sort_by(|a, b| {
            (a.next_attempt_at, a.created_at, &a.id).cmp(&(b.next_attempt_at, b.created_at, &b.id))
        });
        Ok(messages)
    }

    /// Marks the pending messages whose `not_after` has passed (and that no live claim
    /// protects) as expired; returns how many.
    async fn expire(&self) -> Result<usize, NotifyError> {
        let now = self.clock.unix();
        let (set_bodies, scrub) = self.scrub_sql(3);
        let sql = format!(
            "UPDATE notify_outbox SET status = 'expired', claimed_by = NULL, claimed_until = NULL{set_bodies}
             WHERE status = 'pending' AND not_after IS NOT NULL AND not_after <= $1
               AND (claimed_until IS NULL OR claimed_until < $2)
             RETURNING id, channel"
        );
        let mut q = sqlx::query(&sql).bind(now).bind(now);
        if scrub {
            q = q.bind(SCRUBBED_BODY);
        }
        let rows = q.fetch_all(self.store.pool()).await?;
        for r in &rows {
            use sqlx::Row;
            let id: String = r.try_get(0)?;
            let channel: String = r.try_get(1)?;
            let channel = ChannelKind::parse(&channel).unwrap_or(ChannelKind::Email);
            count("caducee_notify_expired_total", channel);
            tracing::info!(outbox_id = %id, channel = channel.as_str(), "message périmé avant l'envoi, non envoyé");
        }
        Ok(rows.len())
    }

    /// `, body_text = CASE …` that replaces the bodies of secret-carrying templates by the
    /// placeholder bound at `$n`, or nothing when bodies are kept. Returns whether `$n` is
    /// used.
    fn scrub_sql(&self, n: usize) -> (String, bool) {
        if self.keep_bodies {
            return (String::new(), false);
        }
        let keep = crate::templates::TEMPLATE_NAMES
            .iter()
            .filter(|t| !template_carries_secret(t))
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        (
            format!(
                ", body_text = CASE WHEN template IN ({keep}) THEN body_text ELSE ${n} END, \
                 body_html = CASE WHEN template IN ({keep}) OR body_html = '' THEN body_html ELSE ${n} END"
            ),
            true,
        )
    }

    async fn mark_sent(&self, m: &StoredMessage, now: i64) -> Result<(), NotifyError> {
        let done = self.finish(m, "sent", None, now).await?;
        if !done {
            // Our claim ran out and another node took the message: it may send it again
            // (at-least-once, same Message-ID).
            tracing::warn!(outbox_id = %m.id, node = %self.node_id, "réservation expirée pendant l'envoi : le message pourra être renvoyé");
        }
        Ok(())
    }

    /// Records a final state (`sent`, `failed`, `expired`) if this node still holds the
    /// claim; scrubs secret bodies. Returns false when the claim was lost.
    async fn finish(
        &self,
        m: &StoredMessage,
        status: &str,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool, NotifyError> {
        // A delivered secret leaves the database; an undelivered one is useless from now
        // on. Only the demo keeps them (dev page), and simulated sends keep theirs.
        let scrub = !self.keep_bodies
            && template_carries_secret(&m.template)
            && (status != "sent" || !self.transport.simulated(m.channel));
        let bodies = if scrub {
            ", body_text = $6, body_html = CASE WHEN body_html = '' THEN '' ELSE $6 END"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE notify_outbox SET status = $1, sent_at = $2, last_error = COALESCE($3, last_error),
                claimed_by = NULL, claimed_until = NULL{bodies}
             WHERE id = $4 AND claimed_by = $5 AND status = 'pending'"
        );
        let sent_at = (status == "sent").then_some(now);
        let mut q = sqlx::query(&sql)
            .bind(status)
            .bind(sent_at)
            .bind(error.map(truncate_error))
            .bind(&m.id)
            .bind(&self.node_id);
        if scrub {
            q = q.bind(SCRUBBED_BODY);
        }
        Ok(q.execute(self.store.pool()).await?.rows_affected() == 1)
    }

    async fn record_failure(
        &self,
        m: &StoredMessage,
        e: DeliveryError,
        now: i64,
        report: &mut RunReport,
    ) -> Result<(), NotifyError> {
        let last = e.retry == Retry::Permanent || m.attempts >= i64::from(self.max_attempts);
        if last {
            if self.finish(m, "failed", Some(&e.message), now).await? {
                report.failed += 1;
                count("caducee_notify_failed_total", m.channel);
                log_failed(m, &e.message);
            }
            return Ok(());
        }
        let next = now + backoff_secs(m.attempts);
        let done = sqlx::query(
            "UPDATE notify_outbox SET next_attempt_at = $1, last_error = $2,
                claimed_by = NULL, claimed_until = NULL
             WHERE id = $3 AND claimed_by = $4 AND status = 'pending'",
        )
        .bind(next)
        .bind(truncate_error(&e.message))
        .bind(&m.id)
        .bind(&self.node_id)
        .execute(self.store.pool())
        .await?
        .rows_affected();
        if done == 1 {
            report.retried += 1;
            count("caducee_notify_retries_total", m.channel);
            tracing::warn!(
                outbox_id = %m.id,
                channel = m.channel.as_str(),
                to = %m.masked_recipient(),
                attempt = m.attempts,
                retry_in_s = next - now,
                error = %e.message,
                "envoi en échec, nouvel essai prévu"
            );
        }
        Ok(())
    }

    /// Gives claimed messages back without counting the attempt.
    async fn release(&self, ids: &[String]) -> Result<(), NotifyError> {
        for id in ids {
            sqlx::query(
                "UPDATE notify_outbox SET claimed_by = NULL, claimed_until = NULL, attempts = attempts - 1
                 WHERE id = $1 AND claimed_by = $2 AND status = 'pending'",
            )
            .bind(id)
            .bind(&self.node_id)
            .execute(self.store.pool())
            .await?;
        }
        Ok(())
    }
}

/// The counters of this component, by channel.
pub const COUNTERS: &[(&str, &str)] = &[
    (
        "caducee_notify_sent_total",
        "Notifications acceptées par le serveur SMTP ou la passerelle SMS.",
    ),
    (
        "caducee_notify_retries_total",
        "Tentatives d'envoi en échec, à réessayer.",
    ),
    (
        "caducee_notify_failed_total",
        "Notifications abandonnées (dernière tentative en échec ou refus définitif).",
    ),
    (
        "caducee_notify_expired_total",
        "Notifications périmées avant l'envoi (code plus valable), non envoyées.",
    ),
];

/// Describes the metrics of this component and makes every counter appear at 0 for both
/// channels, so that an alert on `caducee_notify_failed_total` works from the start. Call
/// once the metrics recorder is installed; [`Worker::run`] does.
pub fn register_metrics() {
    for (name, help) in COUNTERS {
        metrics::describe_counter!(*name, *help);
        for channel in [ChannelKind::Email, ChannelKind::Sms] {
            metrics::counter!(*name, "channel" => channel.as_str()).increment(0);
        }
    }
    metrics::describe_gauge!(
        crate::outbox::OUTBOX_GAUGE,
        "Messages de la file d'envoi par statut (pending, sent, failed, expired)."
    );
}

fn count(name: &'static str, channel: ChannelKind) {
    metrics::counter!(name, "channel" => channel.as_str()).increment(1);
}

fn log_failed(m: &StoredMessage, error: &str) {
    tracing::error!(
        outbox_id = %m.id,
        channel = m.channel.as_str(),
        to = %m.masked_recipient(),
        template = %m.template,
        attempts = m.attempts,
        error = %error,
        "envoi abandonné : message marqué en échec"
    );
}

fn truncate_error(e: &str) -> String {
    e.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps_at_a_minute() {
        let waits: Vec<i64> = (1..=9).map(backoff_secs).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff_secs(1000), 60);
        assert_eq!(backoff_secs(0), 1);
    }
}
