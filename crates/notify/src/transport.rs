//! How a stored message leaves caducee: the [`Transport`] trait, the SMTP transport (lettre,
//! plain / STARTTLS / implicit TLS per the URL), the HTTP SMS gateway (JSON `{to, text}`),
//! the demo transport, and [`Transports`], which routes each channel to one of them.
//!
//! A transport hands over one message and says whether it worked; it never touches the
//! database (the worker does) and never logs or returns a body: errors describe the server's
//! answer only, and URLs are shown with their password redacted.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use caducee_store::redact_url;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::error::DeliveryError;
use crate::outbox::{ChannelKind, StoredMessage};
use crate::NotifyError;

/// Longest wait for each step of an SMTP exchange (connection, each command); the whole
/// delivery is bounded by [`crate::worker::DELIVERY_TIMEOUT`], below the 60 s claim.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for the SMS gateway's answer.
pub const SMS_TIMEOUT: Duration = Duration::from_secs(10);
/// The sender when none is configured.
pub const DEFAULT_FROM: &str = "caducee <no-reply@localhost>";

/// Hands one message to the outside world. `Ok` means the server accepted it (SMTP `250`,
/// HTTP 2xx); the message is then marked sent.
#[async_trait]
pub trait Transport: Send + Sync {
    async fn send_email(&self, m: &StoredMessage) -> Result<(), DeliveryError>;
    async fn send_sms(&self, m: &StoredMessage) -> Result<(), DeliveryError>;

    /// True when messages of this channel are not really sent (demo transport): the worker
    /// then keeps their bodies for the dev page.
    fn simulated(&self, _channel: ChannelKind) -> bool {
        false
    }
}

/// E-mail through an SMTP server, from `CADUCEE_SMTP_URL`:
/// `smtp://host:port` (plain, port 25 by default), `smtp://host:port?tls=required`
/// (STARTTLS, 587), `smtp://…?tls=opportunistic`, `smtps://host:port` (implicit TLS, 465);
/// credentials as `smtp://user:password@host` (percent-encoded) or the password given apart
/// (`CADUCEE_SMTP_PASSWORD_FILE`). TLS is rustls with the Mozilla roots.
#[derive(Clone)]
pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    display_url: String,
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("url", &self.display_url)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpTransport {
    /// From the URL alone, sender [`DEFAULT_FROM`].
    pub fn from_url(url: &str) -> Result<SmtpTransport, NotifyError> {
        SmtpTransport::new(url, None, None)
    }

    /// `password` (read from a secret file) replaces the URL's password; the user name must
    /// then be in the URL. `from` is the sender (`Nom <adresse@domaine>`).
    pub fn new(
        url: &str,
        password: Option<&str>,
        from: Option<&str>,
    ) -> Result<SmtpTransport, NotifyError> {
        let display_url = redact_url(url);
        let bad = |reason: String| NotifyError::SmtpUrl {
            url: display_url.clone(),
            reason,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| {
            bad(format!(
                "{e} (attendu smtp://hôte:port, smtp://hôte:port?tls=required ou smtps://hôte:port)"
            ))
        })?;
        if let Some(password) = password {
            let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
            let user = percent_encoding::percent_decode_str(parsed.username())
                .decode_utf8()
                .map_err(|e| bad(e.to_string()))?;
            if user.is_empty() {
                return Err(bad(
                    "un mot de passe SMTP est fourni mais l'URL ne nomme pas d'utilisateur \
                     (smtp://utilisateur@hôte:port)"
                        .to_string(),
                ));
            }
            builder = builder.credentials(Credentials::new(
                user.into_owned(),
                password.trim_end_matches(['\r', '\n']).to_string(),
            ));
        }
        let inner = builder.timeout(Some(SMTP_TIMEOUT)).build();
        let from_text = from.unwrap_or(DEFAULT_FROM);
        let from = from_text
            .parse::<Mailbox>()
            .map_err(|_| NotifyError::From(from_text.to_string()))?;
        Ok(SmtpTransport {
            inner,
            from,
            display_url,
        })
    }

    /// The message as it goes on the wire: multipart/alternative (text, then HTML), the
    /// stored Message-ID, and the message's creation time as `Date` (never the system clock).
    pub fn build_message(&self, m: &StoredMessage) -> Result<Message, DeliveryError> {
        let to = m.recipient.parse::<Mailbox>().map_err(|e| {
            DeliveryError::permanent(format!("adresse de destination inutilisable : {e}"))
        })?;
        let date = UNIX_EPOCH + Duration::from_secs(u64::try_from(m.created_at).unwrap_or(0));
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .message_id(Some(m.message_id.clone()))
            .date(date)
            .multipart(MultiPart::alternative_plain_html(
                m.body_text.clone(),
                m.body_html.clone(),
            ))
            .map_err(|e| {
                DeliveryError::permanent(format!("message e-mail impossible à construire : {e}"))
            })
    }
}

#[async_trait]
impl Transport for SmtpTransport {
    async fn send_email(&self, m: &StoredMessage) -> Result<(), DeliveryError> {
        let message = self.build_message(m)?;
        match self.inner.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(DeliveryError::permanent(format!(
                "refus définitif du serveur SMTP {} : {e}",
                self.display_url
            ))),
            Err(e) => Err(DeliveryError::transient(format!(
                "serveur SMTP {} : {e}",
                self.display_url
            ))),
        }
    }

    async fn send_sms(&self, _m: &StoredMessage) -> Result<(), DeliveryError> {
        Err(DeliveryError::permanent(
            "le transport SMTP n'envoie pas de SMS",
        ))
    }
}

/// SMS through the HTTP gateway of `CADUCEE_SMS_URL`: `POST {url}` with the JSON body
/// `{"to": "+33…", "text": "…"}`; any 2xx answer is a success, anything else (or no answer
/// within [`SMS_TIMEOUT`]) a failure to retry. Credentials in the URL
/// (`https://user:password@gateway/…`) are sent as HTTP Basic authentication.
#[derive(Clone)]
pub struct SmsGateway {
    client: reqwest::Client,
    url: reqwest::Url,
    display_url: String,
}

impl std::fmt::Debug for SmsGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsGateway")
            .field("url", &self.display_url)
            .finish_non_exhaustive()
    }
}

impl SmsGateway {
    pub fn new(url: &str) -> Result<SmsGateway, NotifyError> {
        let display_url = redact_url(url);
        let bad = |reason: String| NotifyError::SmsUrl {
            url: display_url.clone(),
            reason,
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("attendu http://… ou https://…".to_string()));
        }
        let client = reqwest::Client::builder()
            .timeout(SMS_TIMEOUT)
            .connect_timeout(SMS_TIMEOUT)
            .user_agent(concat!("caducee/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| bad(e.to_string()))?;
        Ok(SmsGateway {
            client,
            url: parsed,
            display_url,
        })
    }
}

#[derive(serde::Serialize)]
struct SmsBody<'a> {
    to: &'a str,
    text: &'a str,
}

#[async_trait]
impl Transport for SmsGateway {
    async fn send_email(&self, _m: &StoredMessage) -> Result<(), DeliveryError> {
        Err(DeliveryError::permanent(
            "la passerelle SMS n'envoie pas d'e-mail",
        ))
    }

    async fn send_sms(&self, m: &StoredMessage) -> Result<(), DeliveryError> {
        let body = SmsBody {
            to: &m.recipient,
            text: &m.body_text,
        };
        let response = self
            .client
            .post(self.url.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                DeliveryError::transient(format!(
                    "passerelle SMS {} injoignable : {}",
                    self.display_url,
                    e.without_url()
                ))
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(DeliveryError::transient(format!(
                "la passerelle SMS {} a répondu {status}",
                self.display_url
            )))
        }
    }
}

/// Demo mode without a server: every message counts as sent at once (its body stays in
/// the outbox, for `/dev/outbox`). Only for `--demo` when no URL is configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct DevTransport;

#[async_trait]
impl Transport for DevTransport {
    async fn send_email(&self, _m: &StoredMessage) -> Result<(), DeliveryError> {
        Ok(())
    }

    async fn send_sms(&self, _m: &StoredMessage) -> Result<(), DeliveryError> {
        Ok(())
    }

    fn simulated(&self, _channel: ChannelKind) -> bool {
        true
    }
}

/// No server configured outside demo mode: every attempt fails (and is retried, so messages
/// queued before a restart with the right configuration still go out), saying which
/// setting is missing.
#[derive(Debug, Clone, Copy)]
pub struct Unconfigured;

#[async_trait]
impl Transport for Unconfigured {
    async fn send_email(&self, _m: &StoredMessage) -> Result<(), DeliveryError> {
        Err(DeliveryError::transient(
            "aucun serveur SMTP configuré (CADUCEE_SMTP_URL)",
        ))
    }

    async fn send_sms(&self, _m: &StoredMessage) -> Result<(), DeliveryError> {
        Err(DeliveryError::transient(
            "aucune passerelle SMS configurée (CADUCEE_SMS_URL)",
        ))
    }
}

/// What [`Transports::from_config`] needs: the two URLs, the SMTP password read from its
/// secret file, the sender, and whether demo mode is on.
#[derive(Clone, Default)]
pub struct TransportConfig {
    pub smtp_url: Option<String>,
    pub smtp_password: Option<String>,
    pub mail_from: Option<String>,
    pub sms_url: Option<String>,
    pub demo: bool,
}

impl std::fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportConfig")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("smtp_password", &self.smtp_password.as_ref().map(|_| "***"))
            .field("mail_from", &self.mail_from)
            .field("sms_url", &self.sms_url.as_deref().map(redact_url))
            .field("demo", &self.demo)
            .finish()
    }
}

/// One transport per channel.
#[derive(Clone)]
pub struct Transports {
    email: Arc<dyn Transport>,
    sms: Arc<dyn Transport>,
    description: String,
}

impl std::fmt::Debug for Transports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl Transports {
    pub fn new(email: Arc<dyn Transport>, sms: Arc<dyn Transport>) -> Transports {
        Transports {
            email,
            sms,
            description: "transports choisis par le code".to_string(),
        }
    }

    /// The real transport for each configured URL; for a missing one, [`DevTransport`] in
    /// demo mode, else [`Unconfigured`] (attempts fail and are retried).
    pub fn from_config(config: &TransportConfig) -> Result<Transports, NotifyError> {
        let fallback = |what: &str| -> (Arc<dyn Transport>, String) {
            if config.demo {
                (
                    Arc::new(DevTransport),
                    format!("{what} : démo (non envoyés, visibles sur /dev/outbox)"),
                )
            } else {
                (Arc::new(Unconfigured), format!("{what} : non configuré"))
            }
        };
        let (email, email_desc): (Arc<dyn Transport>, String) = match config.smtp_url.as_deref() {
            Some(url) if !url.trim().is_empty() => (
                Arc::new(SmtpTransport::new(
                    url.trim(),
                    config.smtp_password.as_deref(),
                    config.mail_from.as_deref(),
                )?),
                format!("e-mails : {}", redact_url(url.trim())),
            ),
            _ => fallback("e-mails"),
        };
        let (sms, sms_desc): (Arc<dyn Transport>, String) = match config.sms_url.as_deref() {
            Some(url) if !url.trim().is_empty() => (
                Arc::new(SmsGateway::new(url.trim())?),
                format!("SMS : {}", redact_url(url.trim())),
            ),
            _ => fallback("SMS"),
        };
        Ok(Transports {
            email,
            sms,
            description: format!("{email_desc} ; {sms_desc}"),
        })
    }

    /// One line for the startup log: where each channel goes (passwords redacted).
    pub fn describe(&self) -> &str {
        &self.description
    }
}

#[async_trait]
impl Transport for Transports {
    async fn send_email(&self, m: &StoredMessage) -> Result<(), DeliveryError> {
        self.email.send_email(m).await
    }

    async fn send_sms(&self, m: &StoredMessage) -> Result<(), DeliveryError> {
        self.sms.send_sms(m).await
    }

    fn simulated(&self, channel: ChannelKind) -> bool {
        match channel {
            ChannelKind::Email => self.email.simulated(channel),
            ChannelKind::Sms => self.sms.simulated(channel),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn smtp_urls_of_the_three_tls_modes_are_accepted() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://relay.example.fr:587?tls=required",
            "smtp://relay.example.fr?tls=opportunistic",
            "smtps://user:p%40ss@relay.example.fr:465",
        ] {
            SmtpTransport::from_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        let e = SmtpTransport::from_url("imap://x").unwrap_err().to_string();
        assert!(e.contains("URL du serveur SMTP invalide"), "{e}");
    }

    #[test]
    fn smtp_password_from_a_file_needs_a_user_and_never_shows() {
        let e = SmtpTransport::new("smtp://relay:25", Some("s3cr3t"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("utilisateur"), "{e}");
        assert!(!e.contains("s3cr3t"));
        let t = SmtpTransport::new(
            "smtp://bob@relay:25",
            Some("s3cr3t\n"),
            Some("ARS <ars@x.fr>"),
        )
        .unwrap();
        assert!(!format!("{t:?}").contains("s3cr3t"));
        let t = SmtpTransport::from_url("smtp://bob:hunter2@relay:25").unwrap();
        assert!(!format!("{t:?}").contains("hunter2"));
        let e = SmtpTransport::from_url("smtp://bob:hunter2@relay:25?tls=nope")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn bad_sender_is_refused_in_french() {
        let e = SmtpTransport::new("smtp://relay:25", None, Some("pas une adresse"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("expéditeur"), "{e}");
    }

    #[test]
    fn sms_url_must_be_http() {
        assert!(SmsGateway::new("https://u:p@sms.example.fr/send").is_ok());
        let e = SmsGateway::new("ftp://u:pw@x/").unwrap_err().to_string();
        assert!(e.contains("passerelle SMS"), "{e}");
        assert!(!e.contains(":pw@"), "{e}");
    }

    #[test]
    fn config_picks_demo_or_unconfigured_for_missing_urls() {
        let demo = Transports::from_config(&TransportConfig {
            demo: true,
            ..TransportConfig::default()
        })
        .unwrap();
        assert!(demo.simulated(ChannelKind::Email) && demo.simulated(ChannelKind::Sms));
        let prod = Transports::from_config(&TransportConfig {
            smtp_url: Some("smtp://u:secret@relay:25".into()),
            ..TransportConfig::default()
        })
        .unwrap();
        assert!(!prod.simulated(ChannelKind::Email) && !prod.simulated(ChannelKind::Sms));
        assert!(!prod.describe().contains("secret"));
        assert!(prod.describe().contains("non configuré"));
    }
}
