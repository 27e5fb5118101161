//! The outbox: the `notify_outbox` table, writing a message in the caller's transaction
//! ([`enqueue`]) and reading it back for operators and the dev page ([`recent`],
//! [`counts`], [`get`]).
//!
//! A flow never sends anything itself: it enqueues in the same transaction as the change
//! that causes the message, so the message exists exactly when the change does, and the
//! worker delivers it. This module must never talk to a mail server or a gateway, and never
//! log a body (it may hold a code or a link).

use caducee_core::clock::Clock;
use caducee_core::contact::{Email, Mobile};
use caducee_pages::Locale;
use caducee_store::{Migration, Store};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::gsm7;
use crate::templates::Template;
use crate::NotifyError;

pub const MIGRATIONS: &[Migration] = &[Migration {
    component: "notify",
    version: 1,
    name: "notify_outbox",
    sql: "CREATE TABLE notify_outbox (
            id TEXT PRIMARY KEY,
            channel TEXT NOT NULL,
            recipient TEXT NOT NULL,
            subject TEXT NOT NULL,
            body_text TEXT NOT NULL,
            body_html TEXT NOT NULL,
            template TEXT NOT NULL,
            message_id TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            not_after BIGINT,
            status TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            next_attempt_at BIGINT NOT NULL,
            claimed_by TEXT,
            claimed_until BIGINT,
            last_error TEXT NOT NULL,
            sent_at BIGINT
          );
          CREATE INDEX notify_outbox_due ON notify_outbox (status, next_attempt_at);
          CREATE INDEX notify_outbox_created ON notify_outbox (created_at);",
}];

/// Domain of the Message-IDs when no public URL is known.
pub const DEFAULT_MESSAGE_ID_DOMAIN: &str = "caducee";

/// What replaces the bodies of a delivered message that carried a secret.
pub const SCRUBBED_BODY: &str = "[contenu effacé après envoi : il contenait un code ou un lien]";

/// Where a message goes. Only checked values: an [`Email`], a [`Mobile`] in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    Email { to: Email },
    Sms { to: Mobile },
}

/// The channel without its recipient, as stored in `notify_outbox.channel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    Email,
    Sms,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<ChannelKind> {
        match s {
            "email" => Some(ChannelKind::Email),
            "sms" => Some(ChannelKind::Sms),
            _ => None,
        }
    }
}

impl Channel {
    pub fn kind(&self) -> ChannelKind {
        match self {
            Channel::Email { .. } => ChannelKind::Email,
            Channel::Sms { .. } => ChannelKind::Sms,
        }
    }

    pub fn recipient(&self) -> &str {
        match self {
            Channel::Email { to } => to.as_str(),
            Channel::Sms { to } => to.as_str(),
        }
    }
}

/// A message a flow asks to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub channel: Channel,
    pub template: Template,
    /// Unix seconds after which the message is useless (the code's expiry): from then on it
    /// is marked `expired` and never sent late.
    pub not_after: Option<i64>,
    /// Right-hand side of the Message-ID (`<id@domain>`): the host of the public URL, see
    /// [`OutgoingMessage::public_url`]; [`DEFAULT_MESSAGE_ID_DOMAIN`] when `None`.
    pub message_id_domain: Option<String>,
    /// The language the message is rendered in by [`enqueue`]: French unless
    /// [`OutgoingMessage::locale`] says otherwise.
    pub locale: Locale,
}

impl OutgoingMessage {
    pub fn email(to: Email, template: Template) -> OutgoingMessage {
        OutgoingMessage {
            channel: Channel::Email { to },
            template,
            not_after: None,
            message_id_domain: None,
            locale: Locale::Fr,
        }
    }

    pub fn sms(to: Mobile, template: Template) -> OutgoingMessage {
        OutgoingMessage {
            channel: Channel::Sms { to },
            template,
            not_after: None,
            message_id_domain: None,
            locale: Locale::Fr,
        }
    }

    /// Not to be sent at or after `unix` (typically the expiry of the code it carries).
    pub fn not_after(mut self, unix: i64) -> OutgoingMessage {
        self.not_after = Some(unix);
        self
    }

    /// Renders the message in `locale` (the recipient's language, e.g. the one of the page
    /// that asked for it) instead of French.
    pub fn locale(mut self, locale: Locale) -> OutgoingMessage {
        self.locale = locale;
        self
    }

    /// Takes the Message-ID domain from caducee's public URL (`https://sante.example.fr/`
    /// → `<…@sante.example.fr>`); an URL without a host leaves the default.
    pub fn public_url(mut self, public_url: &str) -> OutgoingMessage {
        self.message_id_domain = message_id_domain(public_url);
        self
    }
}

/// The host of a public URL, as a Message-ID domain.
pub fn message_id_domain(public_url: &str) -> Option<String> {
    let url = url::Url::parse(public_url).ok()?;
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    ok.then(|| host.to_ascii_lowercase())
}

/// Life of a message: `pending` until delivered (`sent`), given up (`failed`) or useless
/// (`expired`). Only `pending` messages are ever claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Pending,
    Sent,
    Failed,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "pending" => Some(Status::Pending),
            "sent" => Some(Status::Sent),
            "failed" => Some(Status::Failed),
            "expired" => Some(Status::Expired),
            _ => None,
        }
    }
}

/// A row of `notify_outbox`. Its `Debug` output leaves the bodies out.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub id: String,
    pub channel: ChannelKind,
    /// An e-mail address or an E.164 number.
    pub recipient: String,
    /// Empty for an SMS.
    pub subject: String,
    /// The e-mail's plain text, or the SMS text.
    pub body_text: String,
    /// Empty for an SMS.
    pub body_html: String,
    /// Stable name of the [`Template`].
    pub template: String,
    /// The RFC 5322 Message-ID, angle brackets included; the same at every attempt.
    pub message_id: String,
    pub created_at: i64,
    pub not_after: Option<i64>,
    pub status: Status,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: String,
    pub sent_at: Option<i64>,
    pub claimed_by: Option<String>,
    pub claimed_until: Option<i64>,
}

impl std::fmt::Debug for StoredMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredMessage")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("recipient", &self.masked_recipient())
            .field("template", &self.template)
            .field("message_id", &self.message_id)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl StoredMessage {
    /// The recipient as logs may show it (`tu***01@example.fr`, `+3361***01`).
    pub fn masked_recipient(&self) -> String {
        match self.channel {
            ChannelKind::Email => caducee_core::mask::mask_email(&self.recipient),
            ChannelKind::Sms => caducee_core::mask::mask_phone(&self.recipient),
        }
    }
}

pub(crate) const COLUMNS: &str =
    "id, channel, recipient, subject, body_text, body_html, template, \
     message_id, created_at, not_after, status, attempts, next_attempt_at, last_error, sent_at, \
     claimed_by, claimed_until";

pub(crate) fn from_row(r: &AnyRow) -> Result<StoredMessage, NotifyError> {
    let channel: String = r.try_get(1)?;
    let status: String = r.try_get(10)?;
    Ok(StoredMessage {
        id: r.try_get(0)?,
        channel: ChannelKind::parse(&channel)
            .ok_or_else(|| NotifyError::Corrupt(format!("canal « {channel} »")))?,
        recipient: r.try_get(2)?,
        subject: r.try_get(3)?,
        body_text: r.try_get(4)?,
        body_html: r.try_get(5)?,
        template: r.try_get(6)?,
        message_id: r.try_get(7)?,
        created_at: r.try_get(8)?,
        not_after: r.try_get(9)?,
        status: Status::parse(&status)
            .ok_or_else(|| NotifyError::Corrupt(format!("statut « {status} »")))?,
        attempts: r.try_get(11)?,
        next_attempt_at: r.try_get(12)?,
        last_error: r.try_get(13)?,
        sent_at: r.try_get(14)?,
        claimed_by: r.try_get(15)?,
        claimed_until: r.try_get(16)?,
    })
}

/// Writes `msg` into the outbox inside the caller's transaction and returns its id: the
/// message exists exactly when the caller's change commits, and the worker delivers it
/// from then on. Refuses an SMS that would not fit one SMS.
pub async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    clock: &dyn Clock,
    msg: &OutgoingMessage,
) -> Result<String, NotifyError> {
    // A time-ordered id (UUIDv7, monotonic within the process): messages queued within the
    // same second (`created_at` has second precision) still leave in the order they were
    // queued, so a person who asks for a second code receives it after the first.
    let id = uuid::Uuid::now_v7().to_string();
    let domain = msg
        .message_id_domain
        .as_deref()
        .unwrap_or(DEFAULT_MESSAGE_ID_DOMAIN);
    let message_id = format!("<{id}@{domain}>");
    let (subject, text, html) = match msg.channel {
        Channel::Email { .. } => msg.template.render_email_in(msg.locale),
        Channel::Sms { .. } => {
            let text = msg.template.render_sms_in(msg.locale);
            let septets = gsm7::septets(&text).unwrap_or(usize::MAX);
            if septets > gsm7::ONE_SMS {
                return Err(NotifyError::SmsTooLong {
                    template: msg.template.name(),
                    septets,
                });
            }
            (String::new(), text, String::new())
        }
    };
    let now = clock.unix();
    sqlx::query(
        "INSERT INTO notify_outbox (id, channel, recipient, subject, body_text, body_html,
            template, message_id, created_at, not_after, status, attempts, next_attempt_at,
            claimed_by, claimed_until, last_error, sent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $9, NULL, NULL, '', NULL)",
    )
    .bind(&id)
    .bind(msg.channel.kind().as_str())
    .bind(msg.channel.recipient())
    .bind(subject)
    .bind(text)
    .bind(html)
    .bind(msg.template.name())
    .bind(&message_id)
    .bind(now)
    .bind(msg.not_after)
    .execute(&mut **tx)
    .await?;
    tracing::debug!(
        outbox_id = %id,
        channel = msg.channel.kind().as_str(),
        template = msg.template.name(),
        "message mis en file d'envoi"
    );
    Ok(id)
}

/// [`enqueue`] in a transaction of its own, for a message that is the only change.
pub async fn enqueue_now(
    store: &Store,
    clock: &dyn Clock,
    msg: &OutgoingMessage,
) -> Result<String, NotifyError> {
    let mut tx = store.begin().await?;
    let id = enqueue(&mut tx, clock, msg).await?;
    tx.commit().await?;
    Ok(id)
}

/// One message by id.
pub async fn get(store: &Store, id: &str) -> Result<Option<StoredMessage>, NotifyError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM notify_outbox WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The most recent messages, newest first (the dev page `/dev/outbox`, operators).
pub async fn recent(store: &Store, limit: i64) -> Result<Vec<StoredMessage>, NotifyError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM notify_outbox ORDER BY created_at DESC, id DESC LIMIT $1"
    ))
    .bind(limit.max(0))
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// How many messages are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    pub expired: i64,
}

pub async fn counts(store: &Store) -> Result<OutboxCounts, NotifyError> {
    let rows = sqlx::query("SELECT status, COUNT(*) FROM notify_outbox GROUP BY status")
        .fetch_all(store.pool())
        .await?;
    let mut c = OutboxCounts::default();
    for r in &rows {
        let status: String = r.try_get(0)?;
        let n: i64 = r.try_get(1)?;
        match Status::parse(&status) {
            Some(Status::Pending) => c.pending = n,
            Some(Status::Sent) => c.sent = n,
            Some(Status::Failed) => c.failed = n,
            Some(Status::Expired) => c.expired = n,
            None => return Err(NotifyError::Corrupt(format!("statut « {status} »"))),
        }
    }
    Ok(c)
}

/// Name of the gauge set by [`record_gauges`].
pub const OUTBOX_GAUGE: &str = "caducee_notify_outbox_messages";

/// Sets the gauge `caducee_notify_outbox_messages{status}` from [`counts`] (call it when
/// `/metrics` is scraped) and returns the counts.
pub async fn record_gauges(store: &Store) -> Result<OutboxCounts, NotifyError> {
    let c = counts(store).await?;
    for (status, n) in [
        (Status::Pending, c.pending),
        (Status::Sent, c.sent),
        (Status::Failed, c.failed),
        (Status::Expired, c.expired),
    ] {
        metrics::gauge!(OUTBOX_GAUGE, "status" => status.as_str()).set(n as f64);
    }
    Ok(c)
}

/// Deletes the finished messages (sent, failed, expired) created before `before_unix`, and
/// returns how many. Pending messages are never deleted.
pub async fn purge(store: &Store, before_unix: i64) -> Result<u64, NotifyError> {
    let done =
        sqlx::query("DELETE FROM notify_outbox WHERE status <> 'pending' AND created_at < $1")
            .bind(before_unix)
            .execute(store.pool())
            .await?;
    Ok(done.rows_affected())
}
