//! The end-session endpoint (`/protocol/openid-connect/logout`, OIDC RP-Initiated Logout):
//! ends the SSO session everywhere, then returns to the client's registered
//! `post_logout_redirect_uri` (with its `state`) or shows "Vous êtes déconnecté".
//!
//! The logout is immediate only when a valid `id_token_hint` names this browser's own
//! session (its `sid`, or its professional for a token without `sid`). Otherwise — no hint,
//! or the ID token of another session or another professional, which anyone can obtain and
//! put in a link — the request could come from any page (a forced logout), so the
//! professional confirms with a CSRF-protected form, as Keycloak does; and only this
//! browser's session ends, never the one a foreign hint names.

use super::authorize::with_query;
use super::{cookies, pages, session};
use crate::request::Form;
use crate::{Idp, IdpError, REALM_PATH};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use caducee_pages::PageCtx;

const CSRF_PURPOSE: &str = "logout";

pub(super) async fn get(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    logout(&idp, &ctx, jar, query.as_deref().unwrap_or(""), false).await
}

pub(super) async fn post(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    body: String,
) -> Response {
    logout(&idp, &ctx, jar, &body, true).await
}

async fn logout(idp: &Idp, ctx: &PageCtx, jar: CookieJar, raw: &str, posted: bool) -> Response {
    match logout_inner(idp, ctx, jar, raw, posted).await {
        Ok(r) => r,
        Err(e) => super::internal_error(ctx, &e),
    }
}

/// `text`: an error type's French message.
fn refused(ctx: &PageCtx, text: &str) -> Response {
    super::html(
        StatusCode::BAD_REQUEST,
        pages::message(ctx, &ctx.t("idp-logout-refused-title"), text, None),
    )
}

async fn logout_inner(
    idp: &Idp,
    ctx: &PageCtx,
    jar: CookieJar,
    raw: &str,
    posted: bool,
) -> Result<Response, IdpError> {
    let params = match Form::parse(raw.as_bytes()) {
        Ok(p) => p,
        Err(e) => return Ok(refused(ctx, &e.to_string())),
    };
    let param = |name: &str| params.get(name);

    let hint = match param("id_token_hint") {
        Some(jwt) => match idp.verify_id_token_hint(jwt).await {
            Ok(h) => Some(h),
            Err(_) => return Ok(refused(ctx, &ctx.t("idp-logout-bad-hint"))),
        },
        None => None,
    };
    // The client: the audience of the hint, else `client_id`; they must agree.
    let client_id = match (
        hint.as_ref().map(|h| h.client_id.as_str()),
        param("client_id"),
    ) {
        (Some(a), Some(b)) if a != b => {
            return Ok(refused(ctx, &ctx.t("idp-logout-hint-client-mismatch")))
        }
        (Some(a), _) => Some(a.to_string()),
        (None, b) => b.map(str::to_string),
    };
    let target = match param("post_logout_redirect_uri") {
        Some(uri) => {
            let client = match client_id.as_deref() {
                Some(id) => idp.client(id).await?,
                None => None,
            };
            let Some(client) = client else {
                return Ok(refused(ctx, &ctx.t("idp-logout-redirect-needs-client")));
            };
            if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
                return Ok(refused(ctx, &ctx.t("idp-logout-redirect-unregistered")));
            }
            Some(match param("state") {
                Some(state) => with_query(uri, &[("state", state)]),
                None => uri.to_string(),
            })
        }
        None => None,
    };

    // This browser's session, and whether the hint names it (issue 10 item 8). The cookie
    // of a session idle too long still proves it is this browser's: the relying party's
    // logout then ends it (its refresh tokens are revoked) without asking.
    let cookie = cookies::session(idp, &jar);
    let live = session::find(idp, cookie.clone()).await?;
    let hint_is_ours = match hint.as_ref() {
        None => false,
        Some(h) => match (&h.sid, &live) {
            (Some(sid), Some(s)) if *sid == s.id => true,
            (Some(sid), _) => cookie_holds(idp, cookie.as_ref(), sid).await?,
            (None, Some(s)) => h.idnat == s.idnat,
            (None, None) => false,
        },
    };
    let confirmed = hint_is_ours
        || (posted
            && param("confirm") == Some("1")
            && cookies::csrf_ok(idp, &jar, CSRF_PURPOSE, param("csrf").unwrap_or("")));
    if !confirmed {
        let (jar, browser) = cookies::browser_secret(idp, jar).await?;
        let csrf = cookies::csrf_token(&browser, CSRF_PURPOSE);
        // The hint itself is not carried over: the client it named is, so that the
        // confirmed request may still go back to it.
        let mut hidden: Vec<(&str, &str)> = ["post_logout_redirect_uri", "state"]
            .iter()
            .filter_map(|name| param(name).map(|v| (*name, v)))
            .collect();
        if let Some(c) = client_id.as_deref() {
            hidden.push(("client_id", c));
        }
        let action = format!(
            "{}{REALM_PATH}/protocol/openid-connect/logout",
            idp.public_url()
        );
        let mut response = super::html(
            StatusCode::OK,
            pages::confirm_logout(ctx, &action, &csrf, &hidden),
        );
        if let Some(t) = &target {
            if let Ok(v) = HeaderValue::from_str(&super::csp_allowing_form_target(t)) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, v);
            }
        }
        return Ok((jar, response).into_response());
    }

    // The browser's live session ends; so does the session the hint names when it is this
    // browser's (idle too long to be live).
    let mut ended = Vec::new();
    if let Some(s) = live {
        session::end(idp, &s.id, &format!("ps:{}", s.idnat)).await?;
        ended.push(s.id);
    }
    if let Some(sid) = hint.as_ref().and_then(|h| h.sid.as_deref()) {
        if hint_is_ours && !ended.iter().any(|e| e == sid) {
            let actor = format!("client:{}", client_id.as_deref().unwrap_or("inconnu"));
            session::end(idp, sid, &actor).await?;
        }
    }
    let jar = cookies::clear_session(idp, jar);
    Ok(match target {
        Some(url) => (jar, super::redirect(&url)).into_response(),
        None => (
            jar,
            super::html(
                StatusCode::OK,
                pages::message(
                    ctx,
                    &ctx.t("idp-logged-out-title"),
                    &ctx.t("idp-logged-out-text"),
                    None,
                ),
            ),
        )
            .into_response(),
    })
}

/// Whether this browser's session cookie is the one of session `sid`, its secret checked
/// against the stored hash, even when the session is too idle to be used: the browser then
/// is the one that session was opened in.
async fn cookie_holds(
    idp: &Idp,
    cookie: Option<&(String, String)>,
    sid: &str,
) -> Result<bool, IdpError> {
    let Some((id, secret)) = cookie.filter(|(id, _)| id == sid) else {
        return Ok(false);
    };
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT secret_hash FROM idp_session WHERE id = $1 AND ended_at IS NULL",
    )
    .bind(id)
    .fetch_optional(idp.store().pool())
    .await?;
    Ok(stored.is_some_and(|h| crate::same_hash(&crate::secret_hash(secret), &h)))
}
