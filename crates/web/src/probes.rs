//! `/`, `/healthz`, `/readyz`, `/metrics`: what is running and whether it is well.

use crate::{escape, page, AppState, MetricsAccess};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// `/metrics` alone, for the separate metrics address.
pub fn metrics_only() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// The process-wide Prometheus recorder, installed on first use (a recorder is global:
/// several servers in one test process share it).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok().map(|_| handle)
        })
        .as_ref()
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.inner.store.ping().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let allowed = match &state.inner.metrics {
        MetricsAccess::Open => true,
        MetricsAccess::Hidden => false,
        MetricsAccess::Token(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| same_secret(given.trim(), token)),
    };
    if !allowed {
        return StatusCode::NOT_FOUND.into_response();
    }
    let ready = if state.inner.store.ping().await {
        1.0
    } else {
        0.0
    };
    metrics::gauge!("caducee_database_up").set(ready);
    if let Err(e) = caducee_notify::record_gauges(&state.inner.store).await {
        tracing::warn!(error = %e, "compteurs de la file d'envoi indisponibles");
    }
    let body = prometheus().map(|h| h.render()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Compares two secrets in a time that depends on their lengths only.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn home(State(state): State<AppState>) -> impl IntoResponse {
    let stats = caducee_registry::queries::stats(&state.inner.store)
        .await
        .ok();
    let registry = match stats {
        Some(s) => format!(
            "<p>{} professionnels, {} situations d'exercice, {} structures.</p>",
            s.persons, s.activities, s.structures
        ),
        None => "<p>Le répertoire est momentanément indisponible.</p>".to_string(),
    };
    let mode = if state.inner.demo {
        "<p><strong>Mode démonstration</strong> : données synthétiques et personas de démonstration (voir le README).</p>"
    } else {
        ""
    };
    let body = format!(
        "<h1>caducee</h1>\
<p>Plateforme d'identité des professionnels de santé : répertoire RPPS, fournisseur d'identité compatible Pro Santé Connect, e-CPS et portails.</p>\
{mode}\
<h2>Répertoire</h2>{registry}\
<h2>Services</h2><ul class=\"cartes\">\
<li><a href=\"/auth/realms/esante-wallet/.well-known/openid-configuration\">Fournisseur d'identité OpenID Connect</a> (émetteur <code>/auth/realms/esante-wallet</code>)</li>\
{portal}\
<li><a href=\"/healthz\">État du service</a> (<code>/healthz</code>, <code>/readyz</code>)</li>\
<li><a href=\"/metrics\">Métriques Prometheus</a></li>\
{dev}\
</ul><p>Adresse publique : <code>{}</code></p>",
        escape(&state.inner.public_url),
        portal = if state.inner.demo {
            "<li><a href=\"/espaces/demo\">Espace de démonstration</a> : se connecter avec Pro Santé Connect (e-CPS)</li>"
        } else {
            ""
        },
        dev = if state.inner.demo {
            "<li><a href=\"/dev/outbox\">Messages envoyés</a> (e-mails et SMS, mode démonstration)</li>"
        } else {
            ""
        }
    );
    Html(page("Accueil", &body))
}
