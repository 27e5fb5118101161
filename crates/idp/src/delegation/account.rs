//! The délégation section of the account page (`idp/account_delegation.html`): the
//! professional's pairings, each removable (CSRF, the SSO session's professional only,
//! audited). A removed pairing makes the next login through that provider a first one
//! again (a new e-CPS or card login pairs it).

use crate::{Idp, IdpError, REALM_PATH};
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use caducee_pages::PageCtx;
use serde::Deserialize;

const CSRF: &str = "account-delegation";

/// A pairing as the section shows it.
pub(crate) struct PairingView {
    pub id: String,
    pub provider: String,
    pub created: String,
    pub last_used: String,
}

/// The section's data (as `delegation`).
#[derive(Default)]
pub struct DelegationSection {
    pub(crate) list: Vec<PairingView>,
    pub(crate) remove_action: String,
    pub(crate) csrf: String,
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

/// The section for `idnat` on this browser.
pub(crate) async fn section(
    idp: &Idp,
    jar: &CookieJar,
    idnat: &str,
) -> Result<DelegationSection, IdpError> {
    let list = super::pairings_of(idp, idnat)
        .await?
        .into_iter()
        .map(|p| PairingView {
            provider: idp
                .delegations()
                .get(&p.provider_id)
                .map(|b| b.settings.name.clone())
                .unwrap_or_else(|| p.provider_id.clone()),
            created: date(p.created_at),
            last_used: p.last_used_at.map(date).unwrap_or_default(),
            id: p.id,
        })
        .collect();
    Ok(DelegationSection {
        list,
        remove_action: format!(
            "{}{REALM_PATH}/account/delegations/remove",
            idp.public_url()
        ),
        csrf: crate::browser::csrf_for(idp, jar, CSRF),
    })
}

#[derive(Deserialize)]
pub(super) struct RemoveInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pairing: String,
}

pub(super) async fn remove(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Form(input): Form<RemoveInput>,
) -> Response {
    let r = async {
        let page = format!("{}{REALM_PATH}/account", idp.public_url());
        let Some((idnat, _, _)) = crate::browser::current_session(&idp, &jar).await? else {
            return Ok(crate::browser::see_other(&page));
        };
        if !crate::browser::csrf_valid(&idp, &jar, CSRF, &input.csrf) {
            return Ok(crate::browser::message_page(
                &ctx,
                StatusCode::FORBIDDEN,
                &ctx.t("idp-form-expired-title"),
                &ctx.t("idp-form-expired-text"),
                Some((&page, &ctx.t("delegation-account-back"))),
            ));
        }
        super::store::remove(&idp, &idnat, &input.pairing).await?;
        Ok::<_, IdpError>(crate::browser::see_other(&format!("{page}#delegation")))
    };
    r.await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "délégation : retrait d'une association");
        crate::browser::message_page(
            &ctx,
            StatusCode::INTERNAL_SERVER_ERROR,
            &ctx.t("idp-unavailable-title"),
            &ctx.t("idp-unavailable-text"),
            None,
        )
    })
}
