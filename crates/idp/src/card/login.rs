//! The card login (PSC-06). The login page's "Carte CPS" tab links to the card host,
//! `{card_url}/auth/realms/esante-wallet/login/{flow}/carte`; there the certificate of the
//! connection is verified (authority, validity at the injected clock, state in the
//! database, holder in the registry and active), and a proof of this login is recorded:
//! a random single-use value, 2 minutes, stored hashed, tied to the flow. The browser is
//! sent back to the main origin, `…/login/{flow}/carte/fin?preuve=…`, where the flow is
//! checked to be this browser's (the card host may be another host, whose cookies differ)
//! and finished like any login, with `amr` `["sc","pki","mfa"]` and `authMode` `CARD`.

use super::listener::{CardPeer, Trust, Untrusted};
use super::pki::{self, CardState};
use super::{CARD_AMR, CARD_AUTH_MODE};
use crate::{Idp, IdpError, REALM_PATH};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use axum_extra::extract::CookieJar;
use caducee_core::ids::IdNatPs;
use caducee_pages::PageCtx;
use caducee_store::audit::{self, AuditEvent};
use serde::Deserialize;
use sqlx::Row;

/// Lifetime of a card proof between the card host and the main origin.
const PROOF_TTL_SECS: i64 = 120;

/// The card host's state.
#[derive(Clone)]
pub(crate) struct CardHost {
    pub(crate) idp: Idp,
    pub(crate) trust: Trust,
}

/// The routes of the card host: the card login and the page kit's assets.
pub fn card_host_router(idp: Idp, trust: Trust) -> Router {
    Router::new()
        .route(
            &format!("{REALM_PATH}/login/{{flow}}/carte"),
            get(card_login),
        )
        // PSC-04: e-CPS activation with the card (card/ecps.rs).
        .route(
            caducee_ecps_server::WEB_CARD_ACTIVATION_PATH,
            get(super::ecps::card_activation),
        )
        .with_state(CardHost { idp, trust })
        .merge(caducee_pages::routes(true))
}

/// The route of the main origin where a card login ends.
pub fn routes() -> Router<Idp> {
    Router::new().route(
        &format!("{REALM_PATH}/login/{{flow}}/carte/fin"),
        get(card_finish),
    )
}

/// The card host's base URL the login page links to.
pub fn card_login_url(idp: &Idp, flow: &str) -> Option<String> {
    idp.config().card_url.as_deref().map(|base| {
        format!(
            "{}{REALM_PATH}/login/{flow}/carte",
            base.trim_end_matches('/')
        )
    })
}

/// A verified card: who holds it and its serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCard {
    pub idnat: String,
    pub serial: String,
}

/// Why a card is refused, each with its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoCertificate,
    Foreign,
    Expired,
    NotYetValid,
    Revoked,
    UnknownHolder,
    InactiveHolder,
}

impl Refusal {
    pub(crate) fn keys(self) -> (&'static str, &'static str) {
        match self {
            Refusal::NoCertificate => ("card-refused-none-title", "card-refused-none-text"),
            Refusal::Foreign => ("card-refused-foreign-title", "card-refused-foreign-text"),
            Refusal::Expired => ("card-refused-expired-title", "card-refused-expired-text"),
            Refusal::NotYetValid => ("card-refused-notyet-title", "card-refused-notyet-text"),
            Refusal::Revoked => ("card-refused-revoked-title", "card-refused-revoked-text"),
            Refusal::UnknownHolder => ("card-refused-unknown-title", "card-refused-unknown-text"),
            Refusal::InactiveHolder => {
                ("card-refused-inactive-title", "card-refused-inactive-text")
            }
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Refusal::NoCertificate => "no_certificate",
            Refusal::Foreign => "foreign",
            Refusal::Expired => "expired",
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::Revoked => "revoked",
            Refusal::UnknownHolder => "unknown_holder",
            Refusal::InactiveHolder => "inactive_holder",
        }
    }
}

/// The card of a connection, checked: authority and dates (rustls's verifier at the
/// clock's time), the card's row (issued here, not revoked), the holder in the registry
/// and active.
pub async fn verify_card(
    idp: &Idp,
    trust: &Trust,
    peer: &CardPeer,
) -> Result<Result<VerifiedCard, Refusal>, IdpError> {
    let Some(leaf) = peer.chain.first() else {
        return Ok(Err(Refusal::NoCertificate));
    };
    if let Err(u) = trust.verify(&peer.chain, idp.now()) {
        return Ok(Err(match u {
            Untrusted::Expired => Refusal::Expired,
            Untrusted::NotYetValid => Refusal::NotYetValid,
            Untrusted::Revoked => Refusal::Revoked,
            Untrusted::Foreign => Refusal::Foreign,
        }));
    }
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf.as_ref()) else {
        return Ok(Err(Refusal::Foreign));
    };
    let serial = hex::encode(cert.raw_serial());
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let Some(card) = pki::card(idp.store(), &serial).await? else {
        // Signed by a trusted authority but never issued here: not a card we know.
        return Ok(Err(Refusal::Foreign));
    };
    if card.state == CardState::Revoked {
        return Ok(Err(Refusal::Revoked));
    }
    if card.idnat != cn || card.not_after <= idp.now() {
        return Ok(Err(if card.not_after <= idp.now() {
            Refusal::Expired
        } else {
            Refusal::Foreign
        }));
    }
    let Ok(idnat) = IdNatPs::parse(&cn) else {
        return Ok(Err(Refusal::UnknownHolder));
    };
    let person = caducee_registry::queries::get_professional(idp.store(), &idnat)
        .await
        .map_err(|e| IdpError::Internal(e.to_string()))?;
    let Some(person) = person else {
        return Ok(Err(Refusal::UnknownHolder));
    };
    if !person.activities.is_empty() && !person.activities.iter().any(|a| a.active) {
        return Ok(Err(Refusal::InactiveHolder));
    }
    Ok(Ok(VerifiedCard {
        idnat: idnat.as_str().to_string(),
        serial,
    }))
}

async fn card_login(
    State(host): State<CardHost>,
    ConnectInfo(peer): ConnectInfo<CardPeer>,
    ctx: PageCtx,
    Path(flow): Path<String>,
) -> Response {
    match card_login_inner(&host, &peer, &ctx, &flow).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "connexion par carte");
            crate::browser::message_page(
                &ctx,
                StatusCode::INTERNAL_SERVER_ERROR,
                &ctx.t("idp-unavailable-title"),
                &ctx.t("idp-unavailable-text"),
                None,
            )
        }
    }
}

async fn card_login_inner(
    host: &CardHost,
    peer: &CardPeer,
    ctx: &PageCtx,
    flow: &str,
) -> Result<Response, IdpError> {
    let idp = &host.idp;
    let back = format!("{}{REALM_PATH}/login/{flow}", idp.public_url());
    let now = idp.now();
    let card = match verify_card(idp, &host.trust, peer).await? {
        Ok(c) => c,
        Err(refusal) => {
            tracing::info!(reason = refusal.as_str(), peer = %peer.addr, "carte refusée");
            audit::record(
                idp.store().pool(),
                now,
                &AuditEvent {
                    actor: "system:idp",
                    action: "idp.card.login.refused",
                    subject: None,
                    details: serde_json::json!({ "reason": refusal.as_str() }),
                    request_id: None,
                },
            )
            .await?;
            let (title, text) = refusal.keys();
            return Ok(crate::browser::message_page(
                ctx,
                StatusCode::FORBIDDEN,
                &ctx.t(title),
                &ctx.t(text),
                Some((&back, &ctx.t("card-back-to-login"))),
            ));
        }
    };
    let proof = crate::random_secret();
    sqlx::query(
        "INSERT INTO idp_card_login (id_hash, flow_id, idnat, serial, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(crate::secret_hash(&proof))
    .bind(flow)
    .bind(&card.idnat)
    .bind(&card.serial)
    .bind(now)
    .bind(now + PROOF_TTL_SECS)
    .execute(idp.store().pool())
    .await?;
    let target = format!(
        "{}{REALM_PATH}/login/{flow}/carte/fin?preuve={proof}",
        idp.public_url()
    );
    Ok(crate::browser::see_other(&target))
}

#[derive(Deserialize)]
struct FinishQuery {
    #[serde(default)]
    preuve: String,
}

async fn card_finish(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Path(flow): Path<String>,
    Query(q): Query<FinishQuery>,
) -> Response {
    match card_finish_inner(&idp, &ctx, jar, &flow, &q.preuve).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "fin de la connexion par carte");
            crate::browser::message_page(
                &ctx,
                StatusCode::INTERNAL_SERVER_ERROR,
                &ctx.t("idp-unavailable-title"),
                &ctx.t("idp-unavailable-text"),
                None,
            )
        }
    }
}

async fn card_finish_inner(
    idp: &Idp,
    ctx: &PageCtx,
    jar: CookieJar,
    flow: &str,
    proof: &str,
) -> Result<Response, IdpError> {
    let now = idp.now();
    // Single use: the row is taken by the DELETE that finds it.
    let row = sqlx::query(
        "DELETE FROM idp_card_login WHERE id_hash = $1 AND flow_id = $2
         RETURNING idnat, serial, created_at, expires_at",
    )
    .bind(crate::secret_hash(proof))
    .bind(flow)
    .fetch_optional(idp.store().pool())
    .await?;
    let back = format!("{}{REALM_PATH}/login/{flow}", idp.public_url());
    let refused = |title: &str, text: &str| {
        crate::browser::message_page(
            ctx,
            StatusCode::FORBIDDEN,
            &ctx.t(title),
            &ctx.t(text),
            Some((&back, &ctx.t("card-back-to-login"))),
        )
    };
    let Some(r) = row else {
        return Ok(refused(
            "card-proof-invalid-title",
            "card-proof-invalid-text",
        ));
    };
    let expires_at: i64 = r.try_get("expires_at")?;
    let idnat: String = r.try_get("idnat")?;
    let serial: String = r.try_get("serial")?;
    let auth_time: i64 = r.try_get("created_at")?;
    if expires_at <= now {
        return Ok(refused(
            "card-proof-invalid-title",
            "card-proof-invalid-text",
        ));
    }
    // Revoked in between: refused still.
    match pki::card(idp.store(), &serial).await? {
        Some(c) if c.state == CardState::Active => {}
        _ => {
            return Ok(refused(
                "card-refused-revoked-title",
                "card-refused-revoked-text",
            ))
        }
    }
    let response = crate::browser::complete_login(
        idp,
        ctx,
        jar,
        flow,
        &idnat,
        auth_time,
        CARD_AMR,
        CARD_AUTH_MODE,
    )
    .await?;
    if response.status() == StatusCode::SEE_OTHER {
        audit::record(
            idp.store().pool(),
            now,
            &AuditEvent {
                actor: &format!("ps:{idnat}"),
                action: "idp.card.login",
                subject: Some(&idnat),
                details: serde_json::json!({ "serial": serial }),
                request_id: None,
            },
        )
        .await?;
    }
    Ok(response)
}
