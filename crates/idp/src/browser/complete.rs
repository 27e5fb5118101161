//! The end of a login by any means other than the e-CPS page (CPS card, and the others as
//! they come): the same place as the e-CPS login's end — the flow of this browser issues
//! its one code, a new SSO session opens with `acr`, `amr` and `authMode`, the browser
//! binding is renewed — so every means gives the same tokens' shape.

use super::authorize::issue;
use super::{cookies, flow, pages, session};
use crate::{Idp, IdpError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use caducee_pages::PageCtx;

/// Finishes the login flow `flow_id` of this browser for `idnat`, authenticated at
/// `auth_time` with `amr` (`authMode` `auth_mode`): the redirect to the client with the
/// code, or the page that says why the flow cannot be used (expired, another browser's,
/// already used).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn complete_login(
    idp: &Idp,
    ctx: &PageCtx,
    jar: CookieJar,
    flow_id: &str,
    idnat: &str,
    auth_time: i64,
    amr: &[&str],
    auth_mode: &str,
) -> Result<Response, IdpError> {
    let found = flow::load(idp, flow_id).await?;
    let f = match found {
        Some(f) if f.status == "done" => return Ok(already_used(ctx)),
        Some(f) if f.belongs_to(cookies::existing_browser_secret(idp, &jar).as_deref()) => f,
        _ => return Ok(flow_expired(ctx)),
    };
    // An e-CPS request this flow sent is no longer wanted.
    if let Some(r) = f.ecps_request_id.as_deref() {
        let _ = idp.ecps().cancel_request(r).await;
    }
    if !(flow::transition(idp, &f.id, "login", "done").await?
        || flow::transition(idp, &f.id, "ecps", "done").await?)
    {
        return Ok(already_used(ctx));
    }
    // A first délégation login waiting in this flow is paired now (e-CPS or card only).
    crate::delegation::pair_pending(idp, &f.id, idnat, auth_mode).await?;
    let amr: Vec<String> = amr.iter().map(|s| s.to_string()).collect();
    if let Some(old) = session::find(idp, cookies::session(idp, &jar)).await? {
        session::end(idp, &old.id, &format!("ps:{}", old.idnat)).await?;
    }
    let (s, secret) = session::open(idp, idnat, auth_time, &amr, auth_mode).await?;
    let target = issue(
        idp,
        &f.code_request(),
        &s.authentication(),
        f.state.as_deref(),
    )
    .await?;
    let jar = cookies::set_session(idp, jar, &s.id, &secret);
    let jar = cookies::renew_browser_secret(idp, jar, idnat).await?;
    Ok((jar, super::redirect(&target)).into_response())
}

/// The message page of the login (kit layout), for other modules' refusals.
pub(crate) fn message_page(
    ctx: &PageCtx,
    status: StatusCode,
    title: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> Response {
    super::html(status, pages::message(ctx, title, text, link))
}

fn already_used(ctx: &PageCtx) -> Response {
    message_page(
        ctx,
        StatusCode::GONE,
        &ctx.t("idp-already-done-title"),
        &ctx.t("idp-already-done-text"),
        None,
    )
}

fn flow_expired(ctx: &PageCtx) -> Response {
    message_page(
        ctx,
        StatusCode::NOT_FOUND,
        &ctx.t("idp-flow-expired-title"),
        &ctx.t("idp-flow-expired-text"),
        None,
    )
}
