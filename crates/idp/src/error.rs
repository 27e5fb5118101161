//! The errors of the identity provider. Every variant has a stable short code (logged, and
//! shown on the browser side's error pages, so a screenshot leads to the place in the code)
//! and the OAuth 2.0 / OpenID Connect error it maps to on the wire (RFC 6749 §5.2, RFC 6750
//! §3.1, CIBA §11/§13). Messages are French; the browser side maps them once to pages.
//!
//! A message must never carry a secret: no client secret, code, token, key or password.

use axum::http::StatusCode;

/// The registry's reads (userinfo, CIBA's login hint): a database failure stays one;
/// anything else is a bug on this side (the identifier was parsed before).
impl From<caducee_registry::queries::RegistryError> for IdpError {
    fn from(e: caducee_registry::queries::RegistryError) -> Self {
        match e {
            caducee_registry::queries::RegistryError::Store(e) => IdpError::StoreError(e),
            other => IdpError::Internal(other.to_string()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    #[error("base de données : {0}")]
    Store(#[from] sqlx::Error),
    #[error("base de données : {0}")]
    StoreError(#[from] caducee_store::StoreError),
    #[error("e-CPS : {0}")]
    Ecps(#[from] caducee_ecps_server::EcpsError),
    #[error("{0}")]
    Internal(String),
    /// A cryptographic operation failed (key generation, decryption of a stored key…).
    #[error("cryptographie : {0}")]
    Crypto(String),
    /// The instance secret is missing or unusable, or a stored key cannot be opened with it.
    #[error("{0}")]
    Config(String),
    /// A client registration is invalid (CLI, configuration file, upsert API).
    #[error("client invalide : {0}")]
    BadClient(String),
    #[error("client inconnu : {0}")]
    UnknownClient(String),
    #[error("{0}")]
    InvalidRequest(String),
    /// Client authentication failed (RFC 6749 §5.2: 401 with `WWW-Authenticate`).
    #[error("{0}")]
    InvalidClient(String),
    #[error("{0}")]
    InvalidGrant(String),
    #[error("{0}")]
    UnauthorizedClient(String),
    #[error("type d'autorisation non pris en charge : {0}")]
    UnsupportedGrantType(String),
    #[error("{0}")]
    InvalidScope(String),
    /// A bearer token that is malformed, expired, revoked or not ours (RFC 6750).
    #[error("{0}")]
    InvalidToken(String),
    /// CIBA poll: the professional has not answered yet.
    #[error("la demande d'authentification attend la validation du professionnel")]
    AuthorizationPending,
    /// CIBA poll faster than the interval.
    #[error("interrogations trop rapprochées : respectez l'intervalle indiqué")]
    SlowDown,
    /// CIBA: the request's validity has passed.
    #[error("la demande d'authentification a expiré")]
    ExpiredToken,
    #[error("{0}")]
    AccessDenied(String),
    /// CIBA `login_hint` names nobody in the registry.
    #[error("{0}")]
    UnknownUser(String),
    /// CIBA `binding_message` is not 2 digits.
    #[error("binding_message invalide : deux chiffres attendus")]
    InvalidBindingMessage,
    /// Too many authentication requests for this professional (push-bombing limits).
    #[error("{0}")]
    TooManyRequests(String),
}

impl IdpError {
    /// A short stable code, the same in logs and on pages.
    pub fn code(&self) -> &'static str {
        match self {
            IdpError::Store(_) | IdpError::StoreError(_) => "IDP-001",
            IdpError::Ecps(_) => "IDP-002",
            IdpError::Internal(_) => "IDP-003",
            IdpError::Crypto(_) => "IDP-004",
            IdpError::Config(_) => "IDP-005",
            IdpError::BadClient(_) => "IDP-010",
            IdpError::UnknownClient(_) => "IDP-011",
            IdpError::InvalidRequest(_) => "IDP-020",
            IdpError::InvalidClient(_) => "IDP-021",
            IdpError::InvalidGrant(_) => "IDP-022",
            IdpError::UnauthorizedClient(_) => "IDP-023",
            IdpError::UnsupportedGrantType(_) => "IDP-024",
            IdpError::InvalidScope(_) => "IDP-025",
            IdpError::InvalidToken(_) => "IDP-026",
            IdpError::AuthorizationPending => "IDP-030",
            IdpError::SlowDown => "IDP-031",
            IdpError::ExpiredToken => "IDP-032",
            IdpError::AccessDenied(_) => "IDP-033",
            IdpError::UnknownUser(_) => "IDP-034",
            IdpError::InvalidBindingMessage => "IDP-035",
            IdpError::TooManyRequests(_) => "IDP-036",
        }
    }

    /// The OAuth `error` value this maps to on the wire.
    pub fn oauth_error(&self) -> &'static str {
        match self {
            IdpError::Store(_)
            | IdpError::StoreError(_)
            | IdpError::Internal(_)
            | IdpError::Crypto(_)
            | IdpError::Config(_) => "server_error",
            IdpError::Ecps(e) if !e.is_client_error() => "server_error",
            IdpError::Ecps(_) => "access_denied",
            IdpError::BadClient(_) => "invalid_client_metadata",
            IdpError::UnknownClient(_) | IdpError::InvalidClient(_) => "invalid_client",
            IdpError::InvalidRequest(_) => "invalid_request",
            IdpError::InvalidGrant(_) => "invalid_grant",
            IdpError::UnauthorizedClient(_) => "unauthorized_client",
            IdpError::UnsupportedGrantType(_) => "unsupported_grant_type",
            IdpError::InvalidScope(_) => "invalid_scope",
            IdpError::InvalidToken(_) => "invalid_token",
            IdpError::AuthorizationPending => "authorization_pending",
            IdpError::SlowDown => "slow_down",
            IdpError::ExpiredToken => "expired_token",
            IdpError::AccessDenied(_) | IdpError::TooManyRequests(_) => "access_denied",
            IdpError::UnknownUser(_) => "unknown_user_id",
            IdpError::InvalidBindingMessage => "invalid_binding_message",
        }
    }

    /// The HTTP status of the JSON error response.
    pub fn status(&self) -> StatusCode {
        match self.oauth_error() {
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            "invalid_client" | "invalid_token" => StatusCode::UNAUTHORIZED,
            _ => match self {
                IdpError::Ecps(_) => StatusCode::FORBIDDEN,
                IdpError::AccessDenied(_) => StatusCode::FORBIDDEN,
                IdpError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::BAD_REQUEST,
            },
        }
    }

    /// True for a fault of the server (logged as an error), false for a caller's mistake.
    pub fn is_server_error(&self) -> bool {
        self.oauth_error() == "server_error"
    }
}

/// Maps the e-CPS refusals a CIBA request can meet onto the protocol's errors, keeping the
/// French message that tells the professional what to do.
impl IdpError {
    pub(crate) fn from_ecps_for_ciba(e: caducee_ecps_server::EcpsError) -> IdpError {
        use caducee_ecps_server::EcpsError as E;
        match e {
            E::BadBinding => IdpError::InvalidBindingMessage,
            E::NoDevice | E::DeviceExpired | E::DeviceLocked | E::UnknownDevice => {
                IdpError::AccessDenied(e.to_string())
            }
            E::TooManyPending | E::TooManyRequests => IdpError::TooManyRequests(e.to_string()),
            E::BadId(_) | E::UnknownProfessional(_) => IdpError::UnknownUser(e.to_string()),
            other => IdpError::Ecps(other),
        }
    }
}
