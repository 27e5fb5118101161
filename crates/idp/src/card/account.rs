//! "Ma CPS" (PSC-06), `{realm}/account/carte`, linked from the account page's section
//! (`idp/account_card.html`): the logged-in professional sees their cards (serial,
//! validity, state), declares one lost, stolen or never received — revoked at once, every
//! node refuses it at its next login — and follows the replacement ordered, mailed to the
//! registry's correspondence address (shown masked). The replacement is issued by an
//! operator (`caducee pki issue-card`), or at once in demo mode.

use super::pki::{self, Authority, CardInfo, CardState};
use crate::{Idp, IdpError, REALM_PATH};
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use caducee_pages::{
    Alert, AlertKind, Button, ButtonKind, Choice, ErrorSummary, Layout, PageCtx, RadioGroup,
    Template,
};
use caducee_store::audit::{self, AuditEvent};
use serde::Deserialize;
use sqlx::Row;

const CSRF: &str = "account-card";
/// The reasons a professional may declare, with their catalogue keys.
const REASONS: &[(&str, &str)] = &[
    ("lost", "card-reason-lost"),
    ("stolen", "card-reason-stolen"),
    ("not_received", "card-reason-not-received"),
];

pub fn routes() -> axum::Router<Idp> {
    axum::Router::new().route(
        &format!("{REALM_PATH}/account/carte"),
        axum::routing::get(page).post(declare),
    )
}

fn page_url(idp: &Idp) -> String {
    format!("{}{REALM_PATH}/account/carte", idp.public_url())
}

struct CardView {
    serial: String,
    valid_from: String,
    valid_to: String,
    state: String,
    active: bool,
}

struct OrderView {
    ordered: String,
    reason: String,
    address: String,
    status: String,
}

#[derive(Template)]
#[template(path = "idp/card_account.html")]
struct CardAccountPage {
    layout: Layout,
    action: String,
    csrf: String,
    account_url: String,
    cards: Vec<CardView>,
    has_active: bool,
    orders: Vec<OrderView>,
    reason: RadioGroup,
    /// The active card the declaration is about: a choice when there are several.
    serial: String,
    serial_choice: Option<RadioGroup>,
    summary: ErrorSummary,
    notice: Option<Alert>,
    submit: Button,
}

fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!("[day]/[month]/[year]"))
                .ok()
        })
        .unwrap_or_default()
}

/// An address as a page shows it: the street's words reduced to their first letter, the
/// postal code and the town kept (what the professional needs to recognise it).
pub fn mask_address(address: &str) -> String {
    let words: Vec<&str> = address.split_whitespace().collect();
    let keep_from = words
        .iter()
        .position(|w| w.len() == 5 && w.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or(words.len().saturating_sub(1));
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i >= keep_from || w.chars().all(|c| c.is_ascii_digit() || c == ',') {
                (*w).to_string()
            } else {
                let mut chars = w.chars();
                let first: String = chars.next().map(String::from).unwrap_or_default();
                format!("{first}{}", "*".repeat(chars.count().min(6)))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn state_label(ctx: &PageCtx, c: &CardInfo, now: i64) -> String {
    match (c.state, c.reason.as_deref()) {
        (CardState::Active, _) if c.not_after <= now => ctx.t("card-state-expired"),
        (CardState::Active, _) => ctx.t("card-state-active"),
        (CardState::Revoked, Some("lost")) => ctx.t("card-state-lost"),
        (CardState::Revoked, Some("stolen")) => ctx.t("card-state-stolen"),
        (CardState::Revoked, Some("not_received")) => ctx.t("card-state-not-received"),
        (CardState::Revoked, _) => ctx.t("card-state-revoked"),
    }
}

fn reason_label(ctx: &PageCtx, reason: &str) -> String {
    REASONS
        .iter()
        .find(|(v, _)| *v == reason)
        .map(|(_, k)| ctx.t(k))
        .unwrap_or_else(|| reason.to_string())
}

/// The replacements ordered by a professional, newest first: (ordered_at, reason,
/// address, new serial).
async fn orders_of(
    idp: &Idp,
    idnat: &str,
) -> Result<Vec<(i64, String, String, Option<String>)>, IdpError> {
    let rows = sqlx::query(
        "SELECT ordered_at, reason, address, new_serial FROM idp_card_order
         WHERE idnat = $1 ORDER BY ordered_at DESC, id",
    )
    .bind(idnat)
    .fetch_all(idp.store().pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("ordered_at")?,
                r.try_get("reason")?,
                r.try_get("address")?,
                r.try_get("new_serial")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(IdpError::from)
}

struct Typed<'a> {
    serial: &'a str,
    reason: &'a str,
    error: Option<String>,
    notice: Option<Alert>,
}

async fn render(
    idp: &Idp,
    ctx: &PageCtx,
    jar: &CookieJar,
    idnat: &str,
    typed: Typed<'_>,
    status: StatusCode,
) -> Result<Response, IdpError> {
    let now = idp.now();
    let cards: Vec<CardView> = pki::cards_of(idp.store(), idnat)
        .await?
        .iter()
        .map(|c| CardView {
            serial: c.serial.clone(),
            valid_from: date(c.not_before),
            valid_to: date(c.not_after),
            state: state_label(ctx, c, now),
            active: c.state == CardState::Active && c.not_after > now,
        })
        .collect();
    let orders = orders_of(idp, idnat)
        .await?
        .into_iter()
        .map(|(at, reason, address, new_serial)| OrderView {
            ordered: date(at),
            reason: reason_label(ctx, &reason),
            address,
            status: match new_serial {
                Some(s) => ctx.tr.t_with(
                    "card-order-issued",
                    &[("serial", caducee_pages::Arg::Text(s.clone()))],
                ),
                None => ctx.t("card-order-pending"),
            },
        })
        .collect();
    let mut reason = RadioGroup::new(
        "motif",
        ctx.t("card-declare-legend"),
        REASONS
            .iter()
            .map(|(v, k)| Choice::new(v, ctx.t(k), *v == typed.reason))
            .collect(),
    );
    reason.error = typed.error;
    let mut summary = ErrorSummary::new(&ctx.tr);
    summary = summary.radios(&reason);
    let serial = if typed.serial.is_empty() {
        cards
            .iter()
            .find(|c| c.active)
            .map(|c| c.serial.clone())
            .unwrap_or_default()
    } else {
        typed.serial.to_string()
    };
    let active: Vec<&CardView> = cards.iter().filter(|c| c.active).collect();
    let serial_choice = (active.len() > 1).then(|| {
        RadioGroup::new(
            "serial",
            ctx.t("card-declare-which"),
            active
                .iter()
                .map(|c| {
                    let label = ctx.tr.t_with(
                        "card-declare-which-card",
                        &[
                            ("serial", caducee_pages::Arg::Text(c.serial.clone())),
                            ("until", caducee_pages::Arg::Text(c.valid_to.clone())),
                        ],
                    );
                    Choice::new(&c.serial, label, c.serial == serial)
                })
                .collect(),
        )
    });
    let page = CardAccountPage {
        layout: Layout::new(ctx, ctx.t("account-card-heading")),
        action: page_url(idp),
        csrf: crate::browser::csrf_for(idp, jar, CSRF),
        account_url: format!("{}{REALM_PATH}/account", idp.public_url()),
        has_active: cards.iter().any(|c| c.active),
        cards,
        orders,
        reason,
        serial,
        serial_choice,
        summary,
        notice: typed.notice,
        submit: Button::new(ctx.t("card-declare-submit"), ButtonKind::Primary).id("declarer"),
    };
    let body = caducee_pages::render(&page).unwrap_or_else(|_| {
        "Service momentanément indisponible. Réessayez dans quelques instants.".to_string()
    });
    Ok((
        status,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::response::Html(body),
    )
        .into_response())
}

fn unavailable(ctx: &PageCtx, e: &IdpError) -> Response {
    tracing::error!(error = %e, "Ma CPS");
    crate::browser::message_page(
        ctx,
        StatusCode::INTERNAL_SERVER_ERROR,
        &ctx.t("idp-unavailable-title"),
        &ctx.t("idp-unavailable-text"),
        None,
    )
}

async fn to_login(idp: &Idp, jar: CookieJar) -> Result<Response, IdpError> {
    let (jar, url) = crate::browser::start_self_login(idp, jar, &page_url(idp)).await?;
    Ok((jar, crate::browser::see_other(&url)).into_response())
}

#[derive(Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    declaree: Option<String>,
}

async fn page(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Query(q): Query<PageQuery>,
) -> Response {
    let r = async {
        let Some((idnat, _, _)) = crate::browser::current_session(&idp, &jar).await? else {
            return to_login(&idp, jar).await;
        };
        let notice = q
            .declaree
            .is_some()
            .then(|| Alert::new(AlertKind::Success, ctx.t("card-declared-notice")));
        render(
            &idp,
            &ctx,
            &jar,
            &idnat,
            Typed {
                serial: "",
                reason: "",
                error: None,
                notice,
            },
            StatusCode::OK,
        )
        .await
    };
    r.await.unwrap_or_else(|e| unavailable(&ctx, &e))
}

#[derive(Deserialize)]
struct DeclareInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    motif: String,
}

async fn declare(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Form(input): Form<DeclareInput>,
) -> Response {
    declare_inner(&idp, &ctx, jar, input)
        .await
        .unwrap_or_else(|e| unavailable(&ctx, &e))
}

async fn declare_inner(
    idp: &Idp,
    ctx: &PageCtx,
    jar: CookieJar,
    input: DeclareInput,
) -> Result<Response, IdpError> {
    let Some((idnat, _, _)) = crate::browser::current_session(idp, &jar).await? else {
        return to_login(idp, jar).await;
    };
    if !crate::browser::csrf_valid(idp, &jar, CSRF, &input.csrf) {
        return Ok(crate::browser::message_page(
            ctx,
            StatusCode::FORBIDDEN,
            &ctx.t("idp-form-expired-title"),
            &ctx.t("idp-form-expired-text"),
            Some((&page_url(idp), &ctx.t("card-back-to-my-cps"))),
        ));
    }
    let retry = |error: String| Typed {
        serial: &input.serial,
        reason: &input.motif,
        error: Some(error),
        notice: None,
    };
    if !REASONS.iter().any(|(v, _)| *v == input.motif) {
        let typed = retry(ctx.t("card-declare-reason-missing"));
        return render(idp, ctx, &jar, &idnat, typed, StatusCode::BAD_REQUEST).await;
    }
    let card = pki::card(idp.store(), input.serial.trim()).await?;
    let Some(card) = card.filter(|c| c.idnat == idnat && c.state == CardState::Active) else {
        let typed = retry(ctx.t("card-declare-card-unknown"));
        return render(idp, ctx, &jar, &idnat, typed, StatusCode::BAD_REQUEST).await;
    };
    let actor = format!("ps:{idnat}");
    let now = idp.now();
    pki::revoke(idp.store(), now, &card.serial, &input.motif, &actor).await?;
    let address = registry_address(idp, &idnat).await?;
    let mut tx = idp.store().begin().await?;
    sqlx::query(
        "INSERT INTO idp_card_order (id, idnat, old_serial, reason, address, ordered_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(&idnat)
    .bind(&card.serial)
    .bind(&input.motif)
    .bind(&address)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor: &actor,
            action: "idp.card.replacement.ordered",
            subject: Some(&idnat),
            details: serde_json::json!({ "serial": card.serial, "reason": input.motif }),
            request_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    // Demo: the authority issues the new card at once, beside the demo's files.
    if let Some(ca) = idp.config().card_demo_authority.as_deref() {
        issue_demo_replacement(idp, ca, &idnat).await?;
    }
    Ok(crate::browser::see_other(&format!(
        "{}?declaree=1",
        page_url(idp)
    )))
}

/// The correspondence address of the registry, masked; a French line when there is none.
async fn registry_address(idp: &Idp, idnat: &str) -> Result<String, IdpError> {
    let Ok(id) = caducee_core::ids::IdNatPs::parse(idnat) else {
        return Ok(String::new());
    };
    let person = caducee_registry::queries::get_professional(idp.store(), &id)
        .await
        .map_err(|e| IdpError::Internal(e.to_string()))?;
    Ok(person
        .and_then(|p| p.contact)
        .map(|c| c.address)
        .filter(|a| !a.trim().is_empty())
        .map(|a| mask_address(&a))
        .unwrap_or_default())
}

async fn issue_demo_replacement(
    idp: &Idp,
    ca: &std::path::Path,
    idnat: &str,
) -> Result<(), IdpError> {
    let authority = Authority::load(idp.store(), Some(ca)).await?;
    let id =
        caducee_core::ids::IdNatPs::parse(idnat).map_err(|e| IdpError::Internal(e.to_string()))?;
    let now = idp.now();
    let issued = authority
        .issue_card(
            idp.store(),
            now,
            &id,
            (now, now + pki::CARD_VALIDITY_SECS),
            super::DEMO_CARD_PASSWORD,
            "system:demo",
        )
        .await?;
    let path = ca.with_file_name(format!("card-{}.p12", issued.serial));
    pki::write_private(&path, &issued.p12)?;
    tracing::info!(path = %path.display(), "carte de remplacement de démonstration émise");
    Ok(())
}
