//! The account page's e-CPS section (`idp/account_ecps.html`, PSC-05): the professional's
//! active e-CPS device, when it was activated and until when it is valid (3 years), and
//! "Désactiver mon e-CPS" (a lost or changed phone): CSRF, a login of less than
//! [`super::FRESH_LOGIN_SECS`] (else a new login first), audited by the e-CPS server; the
//! device's proofs are refused at once on every node. Activation itself is the web
//! authenticator's (`/ecps`) or the CLI's.

use super::{date, page_url, to_login, unavailable, CSRF, FRESH_LOGIN_SECS};
use crate::{Idp, IdpError};
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use caducee_pages::PageCtx;
use serde::Deserialize;

/// The section's data (as `ecps`).
pub(crate) struct EcpsSection {
    /// (activated on, valid until, expired) of the active device.
    pub device: Option<(String, String, bool)>,
    pub deactivate_action: String,
    pub csrf: String,
    /// Where to activate one in a browser.
    pub web_href: String,
}

pub(crate) async fn section(
    idp: &Idp,
    jar: &CookieJar,
    idnat: &str,
) -> Result<EcpsSection, IdpError> {
    let device = idp
        .ecps()
        .active_device(idnat)
        .await
        .map_err(|e| IdpError::Internal(e.to_string()))?
        .map(|d| {
            (
                date(d.activated_at),
                date(d.expires_at),
                d.expires_at <= idp.now(),
            )
        });
    Ok(EcpsSection {
        device,
        deactivate_action: format!("{}/ecps/desactiver", page_url(idp)),
        csrf: crate::browser::csrf_for(idp, jar, CSRF),
        web_href: caducee_ecps_server::WEB_PAGE_PATH.to_string(),
    })
}

#[derive(Deserialize)]
pub(super) struct DeactivateInput {
    #[serde(default)]
    csrf: String,
}

/// `POST {realm}/account/ecps/desactiver`.
pub(super) async fn deactivate(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Form(input): Form<DeactivateInput>,
) -> Response {
    let r = async {
        let Some((idnat, auth_time, _)) = crate::browser::current_session(&idp, &jar).await? else {
            return to_login(&idp, jar).await;
        };
        if !crate::browser::csrf_valid(&idp, &jar, CSRF, &input.csrf) {
            return Ok(Redirect::to(&format!("{}#ecps", page_url(&idp))).into_response());
        }
        if idp.now() - auth_time > FRESH_LOGIN_SECS {
            return to_login(&idp, jar).await;
        }
        idp.ecps()
            .deactivate_device(&idnat, &format!("ps:{idnat}"))
            .await
            .map_err(|e| IdpError::Internal(e.to_string()))?;
        Ok::<_, IdpError>(Redirect::to(&format!("{}#ecps", page_url(&idp))).into_response())
    };
    r.await.unwrap_or_else(|e| unavailable(&ctx, &e))
}
