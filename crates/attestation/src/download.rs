//! `GET /erpps/attestation` ("Télécharger mes attestations" on the eRPPS home): the
//! attestation of the professional logged in to eRPPS (Pro Santé Connect; the session is
//! read through `caducee_portals::erpps::current`), issued now from the registry's data, as
//! `attestation-rpps-<RPPS>.pdf`. Each download is a new attestation with its own code,
//! audited; a professional may issue [`ISSUE_LIMIT`] per hour.

use crate::{AttestationError, Attestations};
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use caducee_pages::{html, Alert, AlertKind, Layout, Link, PageCtx};
use caducee_store::throttle::Limit;

/// Attestations one professional may issue: 20 per hour.
pub const ISSUE_LIMIT: Limit = Limit::new("attestation.issue.person", 20, 3600);

/// Where eRPPS lives (its home links here).
const ERPPS: &str = "/erpps";

#[derive(Template)]
#[template(path = "attestation/message.html")]
struct MessagePage {
    layout: Layout,
    alert: Alert,
    back: Link,
}

fn message(
    ctx: &PageCtx,
    status: StatusCode,
    kind: AlertKind,
    title: &str,
    text: String,
) -> Response {
    let page = MessagePage {
        layout: Layout::new(ctx, ctx.t("att-download-title")),
        alert: Alert::new(kind, text).title(ctx.t(title)),
        back: Link::new(ERPPS, ctx.t("att-download-back")),
    };
    html(status, &page)
}

pub(crate) async fn download(
    State(att): State<Attestations>,
    ctx: PageCtx,
    headers: HeaderMap,
) -> Response {
    let Some(portals) = att.portals() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let user = match caducee_portals::erpps::current(portals, &headers).await {
        Ok(Some(user)) => user,
        Ok(None) => return Redirect::to(ERPPS).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "attestation : session eRPPS");
            return unavailable(&ctx);
        }
    };
    match allowed(&att, &user.idnat).await {
        Ok(true) => {}
        Ok(false) => {
            return message(
                &ctx,
                StatusCode::TOO_MANY_REQUESTS,
                AlertKind::Error,
                "att-download-limited-title",
                ctx.t("att-download-limited"),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "attestation : limite");
            return unavailable(&ctx);
        }
    }
    match att
        .issue(&user.idnat, &format!("ps:{}", user.idnat), ctx.locale())
        .await
    {
        Ok(issued) => {
            let disposition = format!("attachment; filename=\"{}\"", issued.file_name());
            let mut r = issued.pdf.into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(v) = HeaderValue::from_str(&disposition) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        // Logged in by Pro Santé Connect but not (yet) in the registry: a registration
        // approved less than the propagation delay ago (CPS: "un délai de 48 heures…").
        Err(AttestationError::UnknownProfessional(_)) => message(
            &ctx,
            StatusCode::NOT_FOUND,
            AlertKind::Warning,
            "att-download-not-yet-title",
            ctx.t_delay("att-download-not-yet", portals.propagation_delay_secs()),
        ),
        Err(e) => {
            tracing::error!(error = %e, "attestation : délivrance");
            unavailable(&ctx)
        }
    }
}

fn unavailable(ctx: &PageCtx) -> Response {
    message(
        ctx,
        StatusCode::SERVICE_UNAVAILABLE,
        AlertKind::Error,
        "att-download-title",
        ctx.t("att-unavailable"),
    )
}

async fn allowed(att: &Attestations, idnat: &str) -> Result<bool, caducee_store::StoreError> {
    let mut tx = att.store().begin().await?;
    let v = ISSUE_LIMIT.hit(&mut tx, idnat, att.clock().unix()).await?;
    tx.commit().await?;
    Ok(!v.is_refused())
}
