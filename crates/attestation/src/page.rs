//! The public check of an attestation: `/verifier` (type a code), `/verifier/{code}` (the QR
//! code's target: genuine or not, current or not, and what the attestation states — nothing
//! more), `/verifier/cles` (the public keys, JWKS, for checks without this server).
//!
//! A code page is limited per source ([`VERIFY_LIMIT`], in the database, counted before the
//! lookup) so that nobody walks the space of codes.

use crate::{code, Attestations, Verdict};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use caducee_core::source::ClientSource;
use caducee_pages::{html, Alert, AlertKind, Arg, Button, ButtonKind, Field, Layout, PageCtx};
use caducee_store::throttle::{Limit, Verdict as Throttle};

/// Code pages one source may open: 30 per 10 minutes.
pub const VERIFY_LIMIT: Limit = Limit::new("attestation.verify.source", 30, 600);

/// Every route of the attestations' public side.
pub fn router(att: Attestations) -> Router {
    let mut r = Router::new();
    if att.portals().is_some() {
        r = r.route("/erpps/attestation", get(crate::download::download));
    }
    r.route("/verifier", get(form_page))
        .route("/verifier/cles", get(jwks))
        .route("/verifier/{code}", get(code_page))
        .with_state(att)
}

/// One attested line of the page.
pub struct Row {
    pub label: String,
    pub values: Vec<String>,
    pub id: &'static str,
}

#[derive(Template)]
#[template(path = "attestation/verify.html")]
struct VerifyPage {
    layout: Layout,
    alerts: Vec<Alert>,
    rows: Vec<Row>,
    code: Field,
    submit: Button,
}

fn code_field(ctx: &PageCtx, value: &str, error: Option<String>) -> Field {
    Field::new("code", ctx.t("att-code-label"))
        .id("code")
        .value(value)
        .hint(ctx.t("att-code-hint"))
        .autocomplete("off")
        .error(error)
}

fn page(ctx: &PageCtx, alerts: Vec<Alert>, rows: Vec<Row>, code: Field) -> VerifyPage {
    VerifyPage {
        layout: Layout::new(ctx, ctx.t("att-title")),
        alerts,
        rows,
        code,
        submit: Button::new(ctx.t("att-verify"), ButtonKind::Primary),
    }
}

#[derive(serde::Deserialize)]
struct FormQuery {
    code: Option<String>,
}

/// `/verifier`: the form; `?code=…` goes to the code's page.
async fn form_page(ctx: PageCtx, Query(q): Query<FormQuery>) -> Response {
    match q.code.as_deref().map(str::trim) {
        Some(typed) if !typed.is_empty() => match code::normalise(typed) {
            Some(c) => Redirect::to(&format!("/verifier/{c}")).into_response(),
            None => {
                let field = code_field(&ctx, typed, Some(ctx.t("att-code-invalid")));
                html(
                    StatusCode::BAD_REQUEST,
                    &page(&ctx, Vec::new(), Vec::new(), field),
                )
            }
        },
        _ => html(
            StatusCode::OK,
            &page(&ctx, Vec::new(), Vec::new(), code_field(&ctx, "", None)),
        ),
    }
}

/// `/verifier/cles`: the public keys as a JWKS.
async fn jwks(State(att): State<Attestations>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        Json(att.jwks()),
    )
        .into_response()
}

async fn code_page(
    State(att): State<Attestations>,
    ctx: PageCtx,
    source: Option<Extension<ClientSource>>,
    Path(typed): Path<String>,
) -> Response {
    let source = source
        .map(|Extension(s)| s)
        .unwrap_or_else(ClientSource::unknown);
    let unavailable = |ctx: &PageCtx| {
        let alert = Alert::new(AlertKind::Error, ctx.t("att-unavailable"));
        html(
            StatusCode::SERVICE_UNAVAILABLE,
            &page(ctx, vec![alert], Vec::new(), code_field(ctx, "", None)),
        )
    };
    match count_hit(&att, &source).await {
        Ok(Throttle::Allowed) => {}
        Ok(Throttle::Refused { retry_after_secs }) => {
            let minutes = (retry_after_secs + 59) / 60;
            let alert = Alert::new(
                AlertKind::Error,
                ctx.tr
                    .t_with("att-too-many", &[("minutes", Arg::from(minutes.max(1)))]),
            );
            let mut r = html(
                StatusCode::TOO_MANY_REQUESTS,
                &page(&ctx, vec![alert], Vec::new(), code_field(&ctx, "", None)),
            );
            if let Ok(v) = header::HeaderValue::from_str(&retry_after_secs.max(1).to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
        Err(e) => {
            tracing::error!(error = %e, "attestation : limite de vérifications");
            return unavailable(&ctx);
        }
    }
    match att.lookup(&typed).await {
        Ok(Some(verdict)) => verdict_page(&ctx, &verdict),
        Ok(None) => {
            let alert = Alert::new(AlertKind::Error, ctx.t("att-unknown"))
                .title(ctx.t("att-unknown-title"));
            let shown: String = typed.chars().take(32).collect();
            html(
                StatusCode::NOT_FOUND,
                &page(
                    &ctx,
                    vec![alert],
                    Vec::new(),
                    code_field(&ctx, &shown, None),
                ),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "attestation : vérification");
            unavailable(&ctx)
        }
    }
}

async fn count_hit(
    att: &Attestations,
    source: &ClientSource,
) -> Result<Throttle, caducee_store::StoreError> {
    let mut tx = att.store().begin().await?;
    let v = VERIFY_LIMIT
        .hit(&mut tx, &source.throttle_key(), att.clock().unix())
        .await?;
    tx.commit().await?;
    Ok(v)
}

fn verdict_page(ctx: &PageCtx, verdict: &Verdict) -> Response {
    let Some(a) = &verdict.attested else {
        // A row of ours whose signature fails: the key changed, or the row was altered.
        let alert =
            Alert::new(AlertKind::Error, ctx.t("att-forged")).title(ctx.t("att-forged-title"));
        return html(
            StatusCode::OK,
            &page(ctx, vec![alert], Vec::new(), code_field(ctx, "", None)),
        );
    };
    let issued = crate::content::when(&ctx.tr, a.issued_at);
    let mut alerts = vec![Alert::new(
        AlertKind::Success,
        ctx.tr
            .t_with("att-genuine", &[("date", Arg::from(issued.clone()))]),
    )
    .title(ctx.t("att-genuine-title"))
    .id("authenticite")];
    alerts.push(match verdict.current {
        Some(true) => Alert::new(AlertKind::Success, ctx.t("att-current")).id("actualite"),
        _ => Alert::new(AlertKind::Warning, ctx.t("att-not-current"))
            .title(ctx.t("att-not-current-title"))
            .id("actualite"),
    });
    let number_label = if a.is_rpps() {
        ctx.t("att-rpps")
    } else {
        ctx.t("att-adeli")
    };
    let mut rows = vec![
        Row {
            label: ctx.t("att-name"),
            values: vec![a.display_name()],
            id: "atteste-nom",
        },
        Row {
            label: number_label,
            values: vec![a.identifier.clone()],
            id: "atteste-numero",
        },
        Row {
            label: ctx.t("att-professions"),
            values: a.professions.clone(),
            id: "atteste-professions",
        },
    ];
    if !a.activities.is_empty() {
        rows.push(Row {
            label: ctx.t("att-activities"),
            values: a
                .activities
                .iter()
                .map(|x| {
                    [
                        x.profession.as_str(),
                        x.structure.as_str(),
                        x.place.as_str(),
                    ]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ")
                })
                .collect(),
            id: "atteste-activites",
        });
    }
    rows.push(Row {
        label: ctx.t("att-issued"),
        values: vec![issued],
        id: "atteste-date",
    });
    rows.push(Row {
        label: ctx.t("att-code"),
        values: vec![code::grouped(&a.code)],
        id: "atteste-code",
    });
    html(
        StatusCode::OK,
        &page(ctx, alerts, rows, code_field(ctx, "", None)),
    )
}
