//! The HTTP face of the FHIR API at `/fhir/v2`: metadata, read, search, and the Bulk Data
//! `$export` (kick-off, status, files). Handlers only read the request and call
//! [`crate::searchset`] or [`crate::export`]; every error is a [`DirectoryError`], answered
//! once as an `OperationOutcome`.

use crate::error::DirectoryError;
use crate::params::{self, Kind};
use crate::{searchset, Directory};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";
const NDJSON: &str = "application/fhir+ndjson";

/// A FHIR JSON body (`application/fhir+json`).
pub struct Fhir<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Fhir<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => ([(header::CONTENT_TYPE, FHIR_JSON)], body).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "annuaire FHIR : sérialisation");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

/// A FHIR JSON body already serialised.
pub struct FhirBytes(pub Vec<u8>);

impl IntoResponse for FhirBytes {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, FHIR_JSON)], self.0).into_response()
    }
}

/// The routes under `/fhir/v2`.
pub fn router(dir: Directory) -> Router {
    Router::new()
        .route("/fhir/v2/metadata", get(metadata))
        .route("/fhir/v2/$export", get(export_kickoff))
        .route(
            "/fhir/v2/$export-status/{job}",
            get(export_status).delete(export_cancel),
        )
        .route("/fhir/v2/$export-file/{job}/{file}", get(export_file))
        .route("/fhir/v2/{kind}", get(search))
        .route("/fhir/v2/{kind}/{id}", get(read))
        // Deeper paths (`_history`, operations on an instance…) are not served; no
        // fallback of its own, which would answer for the whole server once merged.
        .route("/fhir/v2/{kind}/{id}/{*rest}", get(unknown))
        .with_state(dir)
}

fn kind_of(name: &str) -> Result<Kind, DirectoryError> {
    Kind::parse(name).ok_or_else(|| {
        DirectoryError::NotFound(format!(
            "Type de ressource « {name} » inconnu de cet annuaire (Practitioner, PractitionerRole, Organization)."
        ))
    })
}

/// The decoded pairs of a query string.
fn pairs(raw: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn metadata(State(dir): State<Directory>) -> Response {
    let now = crate::resources::instant(dir.clock().unix());
    Fhir(crate::capability::statement(dir.base(), now)).into_response()
}

async fn search(
    State(dir): State<Directory>,
    Path(kind): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, DirectoryError> {
    let req = params::parse(kind_of(&kind)?, pairs(query))?;
    Ok(FhirBytes(searchset::run(&dir, &req).await?).into_response())
}

async fn read(
    State(dir): State<Directory>,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Response, DirectoryError> {
    let kind = kind_of(&kind)?;
    Ok(Fhir(searchset::read(&dir, kind, &id).await?).into_response())
}

async fn unknown() -> DirectoryError {
    DirectoryError::NotFound(
        "Cette adresse n'existe pas dans l'API FHIR de l'annuaire ; voir /fhir/v2/metadata.".into(),
    )
}

/// `GET [base]/$export` (system level): needs `Prefer: respond-async`; `_type` may narrow
/// the types. Answers 202 with the status URL in `Content-Location`.
async fn export_kickoff(
    State(dir): State<Directory>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, DirectoryError> {
    let prefer = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !prefer.split(',').any(|p| p.trim() == "respond-async") {
        return Err(DirectoryError::Invalid(
            "L'export ($export) est asynchrone : envoyez l'en-tête « Prefer: respond-async »."
                .into(),
        ));
    }
    let mut types = Vec::new();
    for (k, v) in pairs(query) {
        match k.as_str() {
            "_type" => {
                for t in v.split(',') {
                    types.push(kind_of(t.trim()).map_err(|_| {
                        DirectoryError::Invalid(format!(
                            "« _type » : type « {t} » non exporté (Practitioner, PractitionerRole, Organization)."
                        ))
                    })?);
                }
            }
            "_outputFormat" => {
                if !matches!(
                    v.as_str(),
                    "application/fhir+ndjson" | "application/ndjson" | "ndjson"
                ) {
                    return Err(DirectoryError::NotSupported(format!(
                        "« _outputFormat » : seul application/fhir+ndjson est produit (demandé : « {v} »)."
                    )));
                }
            }
            other => {
                return Err(DirectoryError::NotSupported(format!(
                    "Le paramètre « {other} » de $export n'est pas pris en charge (_type, _outputFormat)."
                )))
            }
        }
    }
    let job = dir.start_export(types).await?;
    let status = format!("{}/$export-status/{job}", dir.base());
    let mut response = (
        StatusCode::ACCEPTED,
        Fhir(crate::fhir::Resource::OperationOutcome(
            crate::fhir::OperationOutcome {
                issue: vec![crate::fhir::OperationOutcomeIssue {
                    severity: "information".into(),
                    code: "informational".into(),
                    diagnostics: format!("Export lancé ; suivez-le à {status}"),
                }],
            },
        )),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&status) {
        response.headers_mut().insert(header::CONTENT_LOCATION, v);
    }
    Ok(response)
}

async fn export_status(
    State(dir): State<Directory>,
    Path(job): Path<String>,
) -> Result<Response, DirectoryError> {
    use crate::jobs::State as Job;
    match dir.export_state(&job).await? {
        Job::Running => {
            let mut r = StatusCode::ACCEPTED.into_response();
            r.headers_mut()
                .insert("x-progress", HeaderValue::from_static("en cours"));
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            Ok(r)
        }
        Job::Done(manifest) => Ok((
            [(header::CONTENT_TYPE, "application/json")],
            axum::Json(manifest),
        )
            .into_response()),
        Job::Failed(message) => Err(DirectoryError::Io(std::io::Error::other(message))),
    }
}

async fn export_cancel(
    State(dir): State<Directory>,
    Path(job): Path<String>,
) -> Result<Response, DirectoryError> {
    dir.cancel_export(&job).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn export_file(
    State(dir): State<Directory>,
    Path((job, file)): Path<(String, String)>,
) -> Result<Response, DirectoryError> {
    let path = dir.export_file(&job, &file).await?;
    let f = tokio::fs::File::open(&path).await?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(f));
    Ok(([(header::CONTENT_TYPE, NDJSON)], body).into_response())
}
