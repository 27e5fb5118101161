//! The notify component's error types: [`NotifyError`] for the outbox and the worker,
//! [`DeliveryError`] for one failed hand-over to an SMTP server or an SMS gateway.
//!
//! Messages are in French. They must never carry a message body (a code, a link), nor a
//! password of an SMTP or gateway URL: URLs are redacted before they get here.

use caducee_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("URL du serveur SMTP invalide ({url}) : {reason}")]
    SmtpUrl { url: String, reason: String },
    #[error("URL de la passerelle SMS invalide ({url}) : {reason}")]
    SmsUrl { url: String, reason: String },
    #[error("adresse d'expéditeur invalide ({0}) : attendu par exemple « caducee <no-reply@exemple.fr> »")]
    From(String),
    #[error("le SMS du modèle « {template} » ne tient pas en un seul SMS ({septets} caractères GSM 7 bits, 160 au plus)")]
    SmsTooLong {
        template: &'static str,
        septets: usize,
    },
    #[error("valeur inattendue dans la table notify_outbox : {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for NotifyError {
    fn from(e: sqlx::Error) -> Self {
        NotifyError::Store(StoreError::Sql(e))
    }
}

/// Whether retrying a failed delivery can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Server down, timeout, 4xx SMTP reply, non-2xx HTTP answer: try again later.
    Transient,
    /// The server refused this message for good (5xx SMTP reply, unusable address): retrying
    /// would give the same answer, so the message is marked failed at once.
    Permanent,
}

/// One failed delivery attempt. `message` is stored in `last_error` and logged: it must
/// describe the failure (status, server answer) and never contain the message itself.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub retry: Retry,
    pub message: String,
}

impl DeliveryError {
    pub fn transient(message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            retry: Retry::Transient,
            message: message.into(),
        }
    }

    pub fn permanent(message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            retry: Retry::Permanent,
            message: message.into(),
        }
    }
}
