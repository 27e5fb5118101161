//! Notifications of caducee: every e-mail and SMS a flow sends (e-CPS activation codes,
//! account codes, password-reset links, confirmations, decisions) leaves through here.
//!
//! # How a message travels
//!
//! 1. The flow calls [`enqueue`] **inside its own transaction**: the message is rendered
//!    from a [`Template`] in its [`Locale`] (French unless [`OutgoingMessage::locale`] says
//!    otherwise; the words are the catalogues' `mail-…` and `sms-…` keys of
//!    `caducee-pages`) and written to the `notify_outbox` table, so it exists
//!    exactly when the change that causes it commits (transactional outbox). Nothing is sent
//!    from the request; the flow answers once the message is in the database.
//! 2. A [`Worker`] on each node claims due messages (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
//!    so two nodes never claim the same one; a claim lasts 60 s), hands them to the
//!    [`Transport`] — [`SmtpTransport`] (lettre: plain, STARTTLS or implicit TLS) for
//!    e-mail, [`SmsGateway`] (`POST {"to", "text"}`) for SMS — and records the outcome.
//! 3. A failed attempt is retried after 1, 2, 4, 8, 16, 32 s, then every 60 s, up to
//!    12 attempts; then the message is `failed` (visible in [`counts`], [`recent`] and the
//!    metric `caducee_notify_failed_total{channel}`). A message whose `not_after` (the
//!    validity of the code it carries) has passed is marked `expired` and never sent late.
//!
//! # Guarantee: at-least-once, with a stable Message-ID
//!
//! - **Never lost**: the message is in the database before the flow answers; a process
//!   killed before, during or after delivery leaves it `pending` (or claimed, until the
//!   claim expires), and any node delivers it once the SMTP server or gateway answers.
//! - **Normally once**: a message is marked `sent` right after the server accepted it
//!   (SMTP `250`, HTTP 2xx), and the claim keeps other nodes away meanwhile.
//! - **Possibly twice, recognisably**: if a node dies between the server's acceptance and
//!   the `sent` record, the message is sent again after the claim expires. An e-mail then
//!   carries the **same `Message-ID`** (`<outbox-id@public-host>`, fixed at enqueue), so
//!   mail systems and readers can tell it is the same message; an SMS carries the same text.
//!   Exactly-once is impossible over SMTP (no idempotent submission), so this is the
//!   promise, and the tests check it.
//!
//! # Secrets
//!
//! Codes and links appear only in the bodies. Logs name messages by outbox id, Message-ID,
//! channel and masked recipient; `Debug` of the message types leaves bodies out. Once a
//! message carrying a code or a link is delivered (or expired, or failed), its bodies are
//! replaced by a placeholder, except in demo mode ([`Worker::keep_bodies`]) where
//! `/dev/outbox` shows them.
//!
//! This crate must never send from a request handler, never read the system clock (the
//! worker takes a [`caducee_core::clock::SharedClock`]), and never log a body.

pub use async_trait::async_trait;

mod error;
pub mod gsm7;
mod outbox;
pub mod templates;
pub mod transport;
pub mod worker;

/// The languages of the messages (the page kit's, so a page passes its own).
pub use caducee_pages::Locale;
pub use error::{DeliveryError, NotifyError, Retry};
pub use outbox::{
    counts, enqueue, enqueue_now, get, message_id_domain, purge, recent, record_gauges, Channel,
    ChannelKind, OutboxCounts, OutgoingMessage, Status, StoredMessage, DEFAULT_MESSAGE_ID_DOMAIN,
    MIGRATIONS, OUTBOX_GAUGE, SCRUBBED_BODY,
};
pub use templates::{Decision, Template};
pub use transport::{
    DevTransport, SmsGateway, SmtpTransport, Transport, TransportConfig, Transports, Unconfigured,
};
pub use worker::{backoff_secs, register_metrics, RunReport, Waker, Worker};
