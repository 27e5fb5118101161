//! e-CPS activation with the CPS card (PSC-04: "A CPS card holder may activate with the
//! card instead" of the two codes), the card host's half. `/ecps` sends the browser to
//! `{card_url}/ecps/activation-carte?defi=<S256 of a verifier the page keeps>`; here the
//! connection's certificate is verified as for the card login ([`super::login::verify_card`]:
//! authority, validity at the injected clock, revocation in the database, holder in the
//! registry and active), then the e-CPS server creates a card-proven activation
//! ([`caducee_ecps_server::EcpsServer::start_card_activation_from`]: counted against the
//! same limits as the codes, single-use token stored hashed, 5 minutes) and the browser is
//! sent back to the main origin's `/ecps` with the token in the address's fragment (never
//! sent to a server, nor in a Referer), where the page asks the new password only.
//!
//! Must never decide an e-CPS rule (the e-CPS server does), nor put the token in a log or
//! an audit event.

use super::listener::CardPeer;
use super::login::{verify_card, CardHost};
use crate::IdpError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use caducee_core::ids::IdNatPs;
use caducee_core::source::ClientSource;
use caducee_ecps_server::EcpsError;
use caducee_pages::PageCtx;
use caducee_store::audit::{self, AuditEvent};
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct ActivationQuery {
    #[serde(default)]
    defi: String,
}

/// `GET {card_url}/ecps/activation-carte?defi=…`.
pub(crate) async fn card_activation(
    State(host): State<CardHost>,
    ConnectInfo(peer): ConnectInfo<CardPeer>,
    ctx: PageCtx,
    query: Result<Query<ActivationQuery>, QueryRejection>,
) -> Response {
    let challenge = query.map(|Query(q)| q.defi).unwrap_or_default();
    match inner(&host, &peer, &ctx, &challenge).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "activation e-CPS par carte");
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

async fn inner(
    host: &CardHost,
    peer: &CardPeer,
    ctx: &PageCtx,
    challenge: &str,
) -> Result<Response, IdpError> {
    let idp = &host.idp;
    let back = format!(
        "{}{}",
        idp.public_url().trim_end_matches('/'),
        caducee_ecps_server::WEB_PAGE_PATH
    );
    let back_link = ctx.t("ecps-web-card-back");
    let card = match verify_card(idp, &host.trust, peer).await? {
        Ok(c) => c,
        Err(refusal) => {
            tracing::info!(reason = refusal.as_str(), peer = %peer.addr, "carte refusée (activation e-CPS)");
            audit::record(
                idp.store().pool(),
                idp.now(),
                &AuditEvent {
                    actor: "system:idp",
                    action: "ecps.activation.card_refused",
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
                Some((&back, &back_link)),
            ));
        }
    };
    let idnat = IdNatPs::parse(&card.idnat).map_err(|e| IdpError::Internal(e.to_string()))?;
    let source = ClientSource::new(peer.addr.ip());
    match idp
        .ecps()
        .start_card_activation_from(&idnat, &card.serial, challenge, &source)
        .await
    {
        Ok(a) => {
            let fragment: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("carte", &a.activation_id)
                .append_pair("jeton", &a.token)
                .append_pair("expires", &a.expires_at.to_string())
                .finish();
            Ok(crate::browser::see_other(&format!("{back}#{fragment}")))
        }
        Err(e) if e.is_client_error() => {
            let status = match e {
                EcpsError::TooManyActivations { .. } | EcpsError::TooManyFromSource { .. } => {
                    StatusCode::TOO_MANY_REQUESTS
                }
                EcpsError::BadCardChallenge => StatusCode::BAD_REQUEST,
                _ => StatusCode::FORBIDDEN,
            };
            Ok(crate::browser::message_page(
                ctx,
                status,
                &ctx.t("ecps-web-card-refused-title"),
                &e.to_string(),
                Some((&back, &back_link)),
            ))
        }
        Err(e) => Err(e.into()),
    }
}
