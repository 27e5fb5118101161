//! Layers every request passes through: a request id (taken from `x-request-id` or made,
//! echoed in the response and carried by every log line of the request), tracing, HTTP
//! metrics, and security headers.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::time::Instant;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `https`: the public URL is https, so responses carry `Strict-Transport-Security`.
pub fn wrap(router: Router, https: bool) -> Router {
    router
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(axum::middleware::from_fn(move |req, next| security_headers(https, req, next)))
        .layer(axum::middleware::from_fn(record_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("http", request_id = %id, method = %req.method(), path = %req.uri().path())
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Runs the handler in its own task. When a client disconnects, hyper drops the request's
/// future; a handler dropped between two statements of a database transaction leaves the
/// pooled connection in a half-finished transaction (seen under load on PostgreSQL with
/// aborted token requests). In its own task the handler always finishes: a flow commits or
/// rolls back whole, whoever is still listening.
async fn run_to_completion(req: Request, next: Next) -> Response {
    match tokio::spawn(next.run(req)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "request handler panicked or was cancelled");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    // The route pattern, not the raw path: ids in paths must not explode the label set.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().to_string();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("caducee_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("caducee_http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    response
}

async fn security_headers(https: bool, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        h.entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    };
    if https {
        // Two years, the preload lists' minimum; subdomains too, since the cookies are
        // `__Host-` and no part of a health identity service should be reached in clear.
        set(
            h,
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        );
    }
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "same-origin");
    set(
        h,
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    );
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use axum::body::Body;
    use std::sync::{Arc, Mutex};
    use tokio::sync::oneshot;

    /// A client that goes away must not cut a handler in the middle of its work (a
    /// transaction half done on a pooled connection).
    #[tokio::test]
    async fn a_dropped_request_still_finishes_its_handler() {
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let slots = Arc::new(Mutex::new(Some((go_rx, done_tx))));
        let app = wrap(
            Router::new().route(
                "/",
                axum::routing::get(move || {
                    let slots = slots.clone();
                    async move {
                        let (go, done) = slots.lock().unwrap().take().unwrap();
                        let _ = go.await;
                        let _ = done.send(());
                        "fini"
                    }
                }),
            ),
            false,
        );
        let mut service = app.into_service::<Body>();
        let request = tower::Service::call(&mut service, Request::new(Body::empty()));
        tokio::select! {
            biased;
            _ = request => panic!("the handler cannot finish before it is told to"),
            _ = tokio::task::yield_now() => {}
        }
        // The request future is dropped here, as hyper drops it when the client leaves.
        go_tx.send(()).unwrap();
        let finished = tokio::time::timeout(std::time::Duration::from_secs(5), done_rx).await;
        assert!(
            matches!(finished, Ok(Ok(()))),
            "the handler was cancelled with its request"
        );
    }
}
