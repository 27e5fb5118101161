//! The directory's one error type, mapped once to HTTP: an `OperationOutcome` with a French
//! diagnostic, as `application/fhir+json`.

use crate::fhir::{OperationOutcome, OperationOutcomeIssue, Resource};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// A parameter, a modifier or a value the API does not take (400, `invalid`).
    #[error("{0}")]
    Invalid(String),
    /// Something the API does not do (400, `not-supported`).
    #[error("{0}")]
    NotSupported(String),
    /// More than the API gives at once (400, `too-costly`).
    #[error("{0}")]
    TooCostly(String),
    /// No such resource or export (404, `not-found`).
    #[error("{0}")]
    NotFound(String),
    #[error("base de données : {0}")]
    Store(#[from] caducee_store::StoreError),
    #[error("registre : {0}")]
    Registry(#[from] caducee_registry::queries::RegistryError),
    #[error("export : {0}")]
    Io(#[from] std::io::Error),
}

impl DirectoryError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            DirectoryError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid"),
            DirectoryError::NotSupported(_) => (StatusCode::BAD_REQUEST, "not-supported"),
            DirectoryError::TooCostly(_) => (StatusCode::BAD_REQUEST, "too-costly"),
            DirectoryError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found"),
            DirectoryError::Store(_) | DirectoryError::Registry(_) | DirectoryError::Io(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "exception")
            }
        }
    }

    /// The `OperationOutcome` of this error. Internal errors are logged, not shown.
    pub fn outcome(&self) -> OperationOutcome {
        let (status, code) = self.status_and_code();
        let diagnostics = if status.is_server_error() {
            tracing::error!(error = %self, "annuaire FHIR");
            "Erreur interne du serveur ; réessayez plus tard.".to_string()
        } else {
            self.to_string()
        };
        OperationOutcome {
            issue: vec![OperationOutcomeIssue {
                severity: "error".into(),
                code: code.into(),
                diagnostics,
            }],
        }
    }
}

impl IntoResponse for DirectoryError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        let body = Resource::OperationOutcome(self.outcome());
        (status, crate::api::Fhir(body)).into_response()
    }
}
