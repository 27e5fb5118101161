//! The authorization endpoint (`/protocol/openid-connect/auth`, GET and POST): validates
//! the request of a relying party, answers at once from a live SSO session, or opens a
//! login flow and sends the browser to the login page.
//!
//! Order of the checks (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6): while the client or the
//! redirect URI is in doubt, the error is a page here, never a redirect (an open redirector
//! would be handed to phishers); after that, errors go back to the client's redirect URI
//! with `error`, `state` and `iss` (RFC 9207).

use super::{binding, cookies, flow, pages, session};
use crate::request::Form;
use crate::{Authentication, CodeRequest, Idp, IdpError, REALM_PATH};
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum_extra::extract::CookieJar;
use caducee_core::source::ClientSource;
use caducee_pages::{Arg, PageCtx};

pub(super) async fn get(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    source: Option<Extension<ClientSource>>,
    RawQuery(query): RawQuery,
) -> Response {
    authorize(&idp, &ctx, jar, source, query.as_deref().unwrap_or("")).await
}

pub(super) async fn post(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    source: Option<Extension<ClientSource>>,
    body: String,
) -> Response {
    authorize(&idp, &ctx, jar, source, &body).await
}

async fn authorize(
    idp: &Idp,
    ctx: &PageCtx,
    jar: CookieJar,
    source: Option<Extension<ClientSource>>,
    raw: &str,
) -> Response {
    let source = source.map_or_else(ClientSource::unknown, |Extension(s)| s);
    match authorize_inner(idp, ctx, jar, source, raw).await {
        Ok(response) => response,
        Err(e) => super::internal_error(ctx, &e),
    }
}

async fn authorize_inner(
    idp: &Idp,
    ctx: &PageCtx,
    jar: CookieJar,
    source: ClientSource,
    raw: &str,
) -> Result<Response, IdpError> {
    // A query string parses as a form body (a parameter given twice is refused).
    let params = match Form::parse(raw.as_bytes()) {
        Ok(p) => p,
        Err(e) => return Ok(bad_request(ctx, &super::capitalised(&e.to_string()))),
    };
    let param = |name: &str| params.get(name);

    // 1. The client and the redirect URI: errors are pages.
    let Some(client_id) = param("client_id") else {
        return Ok(bad_request(ctx, &ctx.t("idp-bad-request-no-client")));
    };
    let Some(client) = idp.client(client_id).await? else {
        return Ok(bad_request(ctx, &ctx.t("idp-bad-request-unknown-client")));
    };
    let Some(redirect_uri) = param("redirect_uri") else {
        return Ok(bad_request(ctx, &ctx.t("idp-bad-request-no-redirect")));
    };
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Ok(bad_request(
            ctx,
            &ctx.t("idp-bad-request-unregistered-redirect"),
        ));
    }

    // 2. Everything else: errors go back to the client.
    let state = param("state");
    let back = |error: &str, description: &str| {
        super::redirect(&error_redirect(
            idp,
            redirect_uri,
            error,
            description,
            state,
        ))
    };
    if param("request").is_some() || param("request_uri").is_some() {
        return Ok(back(
            "request_not_supported",
            "les objets de requête ne sont pas pris en charge",
        ));
    }
    if param("response_type") != Some("code") {
        return Ok(back(
            "unsupported_response_type",
            "seul response_type=code est pris en charge",
        ));
    }
    if let Some(mode) = param("response_mode") {
        if mode != "query" {
            return Ok(back(
                "invalid_request",
                "seul response_mode=query est pris en charge",
            ));
        }
    }
    if !client.grants.iter().any(|g| g == "authorization_code") {
        return Ok(back(
            "unauthorized_client",
            "cette application n'est pas autorisée à utiliser le flux authorization_code",
        ));
    }
    // Scopes are settled here, before anyone is asked to log in: unknown ones are dropped
    // (Keycloak, which PSC is, ignores them; relying parties written for PSC may send some),
    // rather than refused with invalid_scope (RFC 6749 §4.1.2.1 allows both); `openid`
    // missing is an error.
    let scope = crate::tokens::known_scopes(param("scope").unwrap_or(""));
    if !scope.split(' ').any(|s| s == "openid") {
        return Ok(back("invalid_scope", "le scope doit contenir openid"));
    }
    let code_challenge = param("code_challenge");
    match (code_challenge, param("code_challenge_method")) {
        (None, None) if client.public => {
            return Ok(back(
                "invalid_request",
                "PKCE (code_challenge, méthode S256) est obligatoire pour une application publique",
            ))
        }
        (None, None) => {}
        (Some(challenge), Some("S256")) if is_s256_challenge(challenge) => {}
        (Some(_), Some("S256")) => {
            return Ok(back("invalid_request", "code_challenge mal formé"));
        }
        _ => {
            return Ok(back(
                "invalid_request",
                "seule la méthode PKCE S256 est acceptée (code_challenge et code_challenge_method=S256)",
            ))
        }
    }
    let prompt: Vec<&str> = param("prompt").unwrap_or("").split(' ').collect();
    if prompt.contains(&"none") && prompt.len() > 1 {
        return Ok(back(
            "invalid_request",
            "prompt=none ne peut pas être combiné à une autre valeur",
        ));
    }
    let max_age = match param("max_age").map(str::parse::<i64>) {
        None => None,
        Some(Ok(v)) if v >= 0 => Some(v),
        Some(_) => {
            return Ok(back(
                "invalid_request",
                "max_age doit être un nombre de secondes",
            ))
        }
    };
    // acr_values: every means offered here gives eidas1; eidas2 (older clients) is taken as
    // "at least eidas1", as PSC does; the ID token says which level was reached.
    let request = CodeRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        scope,
        nonce: param("nonce").map(str::to_string),
        code_challenge: code_challenge.map(str::to_string),
    };
    let login_hint = param("login_hint");

    // 3. A live SSO session answers at once (unless a fresh login is asked for).
    let live = session::find(idp, cookies::session(idp, &jar)).await?;
    let usable = live.filter(|s| {
        !prompt.contains(&"login")
            // max_age=0 asks for a fresh login, as Keycloak reads it (an authentication of
            // this very second would otherwise pass).
            && max_age.is_none_or(|age| age > 0 && idp.now() - s.auth_time <= age)
            && login_hint
                .and_then(|h| caducee_registry::queries::parse_id(h).ok())
                .is_none_or(|hint| hint.as_str() == s.idnat)
    });
    if let Some(s) = usable {
        let url = issue(idp, &request, &s.authentication(), state).await?;
        return Ok(super::redirect(&url));
    }
    if prompt.contains(&"none") {
        return Ok(back("login_required", "aucune session active"));
    }

    // 4. Otherwise, a login flow bound to this browser: a row until it expires, so a source
    // may open only so many (issue 10, item 16).
    let verdict = {
        let mut conn = idp.store().pool().acquire().await?;
        binding::flows_per_source(idp)
            .hit(&mut conn, &source.throttle_key(), idp.now())
            .await?
    };
    if verdict.is_refused() {
        tracing::warn!(source = %source, "login flows over the limit");
        return Ok(too_many_flows(ctx));
    }
    let (jar, browser) = cookies::browser_secret(idp, jar).await?;
    let id = flow::create(
        idp,
        flow::NewFlow {
            browser_secret: &browser,
            request: &request,
            state,
            login_hint,
        },
    )
    .await?;
    // kc_idp_hint (Keycloak's parameter): straight to that délégation provider.
    if let Some(hint) = param("kc_idp_hint") {
        if let Some(upstream) = crate::delegation::start_for_hint(idp, &id, hint).await? {
            return Ok((jar, super::redirect(&upstream)).into_response());
        }
    }
    let login_page = format!("{}{REALM_PATH}/login/{id}", idp.public_url());
    Ok((jar, super::redirect(&login_page)).into_response())
}

/// Issues the code and builds the redirect back to the client (RFC 9207 `iss` included).
pub(super) async fn issue(
    idp: &Idp,
    request: &CodeRequest,
    auth: &Authentication,
    state: Option<&str>,
) -> Result<String, IdpError> {
    // A login for the idp's own pages opens the session only (start_self_login).
    if request.client_id == super::SELF_CLIENT {
        return Ok(request.redirect_uri.clone());
    }
    let code = idp.issue_code(request, auth).await?;
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = state {
        params.push(("state", s));
    }
    params.push(("iss", idp.issuer()));
    Ok(with_query(&request.redirect_uri, &params))
}

/// The redirect that reports an error to the client.
pub(super) fn error_redirect(
    idp: &Idp,
    redirect_uri: &str,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> String {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(s) = state {
        params.push(("state", s));
    }
    params.push(("iss", idp.issuer()));
    with_query(redirect_uri, &params)
}

/// `uri` with `params` appended to its query (a registered redirect URI may have one).
pub(super) fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let encoded: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{encoded}")
}

/// An S256 challenge is the base64url of a SHA-256: 43 characters of that alphabet.
fn is_s256_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn too_many_flows(ctx: &PageCtx) -> Response {
    super::html(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        pages::message(
            ctx,
            &ctx.t("idp-too-many-flows-title"),
            &ctx.t("idp-too-many-flows-text"),
            None,
        ),
    )
}

/// A request the provider cannot even send back to its client; `detail` says why
/// (translated, or an error type's French message).
fn bad_request(ctx: &PageCtx, detail: &str) -> Response {
    super::html(
        axum::http::StatusCode::BAD_REQUEST,
        pages::message(
            ctx,
            &ctx.t("idp-bad-request-title"),
            &ctx.tr
                .t_with("idp-bad-request-text", &[("detail", Arg::from(detail))]),
            None,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psc_01_redirects_keep_the_registered_query() {
        assert_eq!(
            with_query(
                "https://rp.example/cb?x=1",
                &[("code", "a b"), ("state", "s")]
            ),
            "https://rp.example/cb?x=1&code=a+b&state=s"
        );
        assert_eq!(
            with_query("https://rp.example/cb", &[("code", "c")]),
            "https://rp.example/cb?code=c"
        );
    }

    #[test]
    fn psc_01_only_s256_shaped_challenges() {
        assert!(is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!is_s256_challenge("short"));
        assert!(!is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"
        ));
    }
}
