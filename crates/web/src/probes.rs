//! `/`, `/healthz`, `/readyz`, `/metrics`: what is running and whether it is well.

use crate::{AppState, MetricsAccess};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use caducee_pages::{Arg, Layout, PageCtx, Template};
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
            .is_some_and(|given| caducee_core::secret::same_secret(given.trim(), token)),
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

#[derive(Template)]
#[template(path = "web/home.html")]
struct Home {
    layout: Layout,
    demo: bool,
    registry: String,
    public_url: String,
}

async fn home(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let stats = caducee_registry::queries::stats(&state.inner.store)
        .await
        .ok();
    let registry = match stats {
        Some(s) => ctx.tr.t_with(
            "web-home-registry-counts",
            &[
                ("persons", Arg::Num(s.persons)),
                ("activities", Arg::Num(s.activities)),
                ("structures", Arg::Num(s.structures)),
            ],
        ),
        None => ctx.t("web-home-registry-unavailable"),
    };
    caducee_pages::html(
        StatusCode::OK,
        &Home {
            layout: Layout::new(&ctx, ctx.t("web-home-title")),
            demo: state.inner.demo,
            registry,
            public_url: state.inner.public_url.clone(),
        },
    )
}

#[derive(Template)]
#[template(path = "web/not_found.html")]
struct NotFound {
    layout: Layout,
}

/// Any address no component answers: a page that says so, in the page's language.
pub(crate) async fn not_found(ctx: PageCtx) -> Response {
    caducee_pages::html(
        StatusCode::NOT_FOUND,
        &NotFound {
            layout: Layout::new(&ctx, ctx.t("web-not-found-title")),
        },
    )
}
