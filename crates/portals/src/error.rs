//! The errors of the portals. Each variant knows how to explain itself to a professional in
//! French and what HTTP status it is; the technical detail goes to the log (with the request
//! id of the span), never to the page.

use axum::http::StatusCode;
use caducee_pages::{Arg, Tr};

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// The callback came without the login cookie (another browser, cookies blocked).
    #[error("aucun cookie de connexion")]
    NoLoginCookie,
    /// No login attempt of this browser has that `state`: forged, replayed or finished.
    #[error("state inconnu ou déjà utilisé")]
    UnknownState,
    /// The login attempt outlived its 10 minutes.
    #[error("tentative de connexion expirée")]
    LoginExpired,
    /// The provider answered the authorization request with an error (`error=…`).
    #[error("le fournisseur d'identité a répondu {error} : {description}")]
    Provider { error: String, description: String },
    /// The callback is malformed (no code, an `iss` naming another provider…).
    #[error("réponse d'autorisation invalide : {0}")]
    BadCallback(String),
    /// Discovery or JWKS could not be fetched or are invalid.
    #[error("découverte du fournisseur d'identité : {0}")]
    Discovery(String),
    /// The token endpoint refused the code or could not be reached.
    #[error("échange du code : {0}")]
    Token(String),
    /// A token or the userinfo did not pass verification: the login is refused.
    #[error("vérification : {0}")]
    Verification(String),
    #[error("base de données : {0}")]
    Store(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
    /// A `[[portals]]` entry that cannot be served (French, names the portal and the key).
    #[error("configuration des portails : {0}")]
    Config(String),
}

impl PortalError {
    /// Title and explanation for the professional, in the page's language, and the HTTP
    /// status of the page.
    pub fn explain(&self, tr: &Tr) -> (StatusCode, String, String) {
        let (status, title, text) = match self {
            PortalError::NoLoginCookie | PortalError::UnknownState => (
                StatusCode::BAD_REQUEST,
                "portal-error-unknown-login-title",
                "portal-error-unknown-login-text",
            ),
            PortalError::LoginExpired => (
                StatusCode::BAD_REQUEST,
                "portal-error-login-expired-title",
                "portal-error-login-expired-text",
            ),
            // The description that came with the error is not shown: it arrives in a URL
            // anyone can forge, and a page must not repeat a stranger's text as ours.
            PortalError::Provider { error, .. } if error == "access_denied" => (
                StatusCode::FORBIDDEN,
                "portal-error-cancelled-title",
                "portal-error-cancelled-text",
            ),
            PortalError::Provider { error, .. } if error == "temporarily_unavailable" => (
                StatusCode::SERVICE_UNAVAILABLE,
                "portal-error-provider-busy-title",
                "portal-error-provider-busy-text",
            ),
            PortalError::Provider { error, .. } => {
                return (
                    StatusCode::BAD_GATEWAY,
                    tr.t("portal-error-provider-title"),
                    tr.t_with(
                        "portal-error-provider-text",
                        &[("code", Arg::from(oauth_error_code(error)))],
                    ),
                )
            }
            PortalError::BadCallback(_) | PortalError::Verification(_) => (
                StatusCode::BAD_GATEWAY,
                "portal-error-unverified-title",
                "portal-error-unverified-text",
            ),
            PortalError::Discovery(_) | PortalError::Token(_) => (
                StatusCode::BAD_GATEWAY,
                "portal-error-provider-busy-title",
                "portal-error-provider-down-text",
            ),
            PortalError::Store(_) | PortalError::Internal(_) | PortalError::Config(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "portal-error-internal-title",
                "portal-error-internal-text",
            ),
        };
        (status, tr.t(title), tr.t(text))
    }

    /// Failures of the visitor's own path (expired, cancelled) are ordinary; the rest may
    /// be an attack or a fault and deserve a louder log line.
    pub fn is_ordinary(&self) -> bool {
        matches!(
            self,
            PortalError::LoginExpired
                | PortalError::NoLoginCookie
                | PortalError::UnknownState
                | PortalError::Provider { .. }
        )
    }
}

/// An OAuth error code as it may be shown: the registered codes are short lowercase words
/// with underscores; anything else is replaced.
fn oauth_error_code(code: &str) -> &str {
    if !code.is_empty()
        && code.len() <= 40
        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        code
    } else {
        "inconnu"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_errors_never_echo_forged_text() {
        let e = PortalError::Provider {
            error: "server_error".into(),
            description: "Appelez le 0800".into(),
        };
        let (status, _, message) = e.explain(&Tr::default());
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert!(message.contains("server_error") && !message.contains("0800"));
        let e = PortalError::Provider {
            error: "<b>Appelez</b>".into(),
            description: String::new(),
        };
        assert!(e.explain(&Tr::default()).2.contains("« inconnu »"));
        let e = PortalError::Provider {
            error: "access_denied".into(),
            description: String::new(),
        };
        assert_eq!(e.explain(&Tr::default()).1, "Connexion annulée");
    }
}
