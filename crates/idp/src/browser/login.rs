//! The login page and the e-CPS waiting page of a login flow (PSC-02, PSC-03):
//! identifier → e-CPS request (2-digit code, 120 s) → the phone answers → the flow issues
//! one authorization code and opens the SSO session.

use super::authorize::{error_redirect, issue};
use super::flow::LoginFlow;
use super::{binding, cookies, flow, pages, session};
use crate::{Idp, IdpError, REALM_PATH};
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use axum_extra::extract::CookieJar;
use caducee_core::ids::{Adeli, IdNatPs, Rpps};
use caducee_core::source::ClientSource;
use caducee_ecps_server::{EcpsError, RequestBudget, RequestStatus};
use caducee_pages::{Arg, PageCtx};
use caducee_store::throttle::Verdict;
use serde::Deserialize;

/// What the e-CPS proves, in RFC 8176 terms: a password and a key held by the phone.
const ECPS_AMR: &[&str] = &["pwd", "swk", "mfa"];
/// `authMode` of an e-CPS login (the CIBA channel name PSC uses for the app).
const ECPS_AUTH_MODE: &str = "MOBILE";

fn url(idp: &Idp, flow: &str, suffix: &str) -> String {
    format!("{}{REALM_PATH}/login/{flow}{suffix}", idp.public_url())
}

/// Loads a flow for this browser, or the page that explains why it cannot be used.
async fn flow_for(
    idp: &Idp,
    ctx: &PageCtx,
    jar: &CookieJar,
    id: &str,
) -> Result<Result<LoginFlow, Response>, IdpError> {
    let found = flow::load(idp, id).await?;
    Ok(match found {
        // A finished flow says so to anyone: the login renewed the browser binding, and the
        // back button of the browser that logged in must still get the right page.
        Some(f) if f.status == "done" => Err(already_used(ctx)),
        Some(f) if f.belongs_to(cookies::existing_browser_secret(idp, jar).as_deref()) => Ok(f),
        _ => Err(super::html(
            StatusCode::NOT_FOUND,
            pages::message(
                ctx,
                &ctx.t("idp-flow-expired-title"),
                &ctx.t("idp-flow-expired-text"),
                None,
            ),
        )),
    })
}

async fn service_name(idp: &Idp, client_id: &str) -> Result<String, IdpError> {
    if client_id == super::SELF_CLIENT {
        return Ok("Pro Santé Connect".to_string());
    }
    Ok(idp
        .client(client_id)
        .await?
        .map(|c| c.name)
        .unwrap_or_else(|| client_id.to_string()))
}

macro_rules! or_page {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(page) => return Ok(page),
        }
    };
}

fn finish(ctx: &PageCtx, result: Result<Response, IdpError>) -> Response {
    result.unwrap_or_else(|e| super::internal_error(ctx, &e))
}

// ---------------------------------------------------------------------------------------
// The form.
// ---------------------------------------------------------------------------------------

/// `?tab=ecps|carte|delegation|cle`: the panel the page shows (without script, each tab
/// is a link to the page with its slug).
#[derive(Deserialize, Default)]
pub(super) struct TabQuery {
    #[serde(default)]
    tab: Option<String>,
}

pub(super) async fn page(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Path(id): Path<String>,
    Query(query): Query<TabQuery>,
) -> Response {
    let tab = pages::tab_slug(query.tab.as_deref());
    finish(&ctx, page_inner(&idp, &ctx, jar, &id, tab).await)
}

async fn page_inner(
    idp: &Idp,
    ctx: &PageCtx,
    jar: CookieJar,
    id: &str,
    tab: &'static str,
) -> Result<Response, IdpError> {
    let f = or_page!(flow_for(idp, ctx, &jar, id).await?);
    if f.status == "done" {
        return Ok(already_used(ctx));
    }
    let (kind, identifier, remember) =
        match (f.login_hint.as_deref(), cookies::remembered(idp, &jar)) {
            (Some(hint), _) => ("rpps".to_string(), hint.to_string(), false),
            (None, Some((kind, id))) => (kind, id, true),
            (None, None) => ("rpps".to_string(), String::new(), false),
        };
    let form = Rendered {
        tab,
        kind: &kind,
        identifier: &identifier,
        remember,
        error: None,
        help: None,
    };
    render_form(idp, ctx, &jar, &f, form, StatusCode::OK).await
}

/// What the login page shows: the selected tab and the e-CPS form's data.
pub(super) struct Rendered<'a> {
    pub tab: &'static str,
    pub kind: &'a str,
    pub identifier: &'a str,
    pub remember: bool,
    pub error: Option<String>,
    pub help: Option<pages::ActivationHelp>,
}

/// The login page of a flow, on the tab `r.tab` (the other tabs' panels are built here
/// too: a script shows them in place).
pub(super) async fn render_form(
    idp: &Idp,
    ctx: &PageCtx,
    jar: &CookieJar,
    f: &LoginFlow,
    r: Rendered<'_>,
    status: StatusCode,
) -> Result<Response, IdpError> {
    let csrf = cookies::existing_browser_secret(idp, jar)
        .map(|s| cookies::csrf_token(&s, &f.id))
        .unwrap_or_default();
    let service = service_name(idp, &f.client_id).await?;
    let action = url(idp, &f.id, "");
    let script_base = format!("{}{REALM_PATH}", idp.public_url());
    let mut response = super::html(
        status,
        pages::login(
            ctx,
            &script_base,
            pages::LoginForm {
                tab: r.tab,
                page_url: &action,
                card: pages::CardTab {
                    url: crate::card::login::card_login_url(idp, &f.id),
                },
                delegation: crate::delegation::tab::for_flow(idp, ctx, &f.id, &action).await?,
                key: pages::KeyTab {
                    error: None,
                    action: crate::webauthn::login::action_url(idp, &f.id),
                    options_url: crate::webauthn::login::options_url(idp, &f.id),
                    csrf: cookies::existing_browser_secret(idp, jar)
                        .map(|s| {
                            cookies::csrf_token(&s, &crate::webauthn::login::csrf_purpose(&f.id))
                        })
                        .unwrap_or_default(),
                    script_url: crate::webauthn::script_url(idp),
                    identified_action: crate::webauthn::identified::action_url(idp, &f.id),
                    identified_options_url: crate::webauthn::identified::options_url(idp, &f.id),
                },
                action: &action,
                csrf: &csrf,
                service: &service,
                identifier_type: r.kind,
                identifier: r.identifier,
                remember: r.remember,
                error: r.error,
                help: r.help,
            },
        ),
    );
    // The key tab's form ends in a redirect to the client.
    if let Ok(v) = HeaderValue::from_str(&super::csp_allowing_form_target(&f.redirect_uri)) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub(super) struct LoginInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    identifier_type: String,
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    remember: Option<String>,
}

pub(super) async fn submit(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    source: Option<Extension<ClientSource>>,
    Path(id): Path<String>,
    Form(input): Form<LoginInput>,
) -> Response {
    let source = source.map_or_else(ClientSource::unknown, |Extension(s)| s);
    finish(
        &ctx,
        submit_inner(&idp, &ctx, jar, source, &id, input).await,
    )
}

async fn submit_inner(
    idp: &Idp,
    ctx: &PageCtx,
    jar: CookieJar,
    source: ClientSource,
    id: &str,
    input: LoginInput,
) -> Result<Response, IdpError> {
    let f = or_page!(flow_for(idp, ctx, &jar, id).await?);
    if !cookies::csrf_ok(idp, &jar, &f.id, &input.csrf) {
        return Ok(super::html(
            StatusCode::FORBIDDEN,
            pages::message(
                ctx,
                &ctx.t("idp-form-expired-title"),
                &ctx.t("idp-form-expired-text"),
                Some((&url(idp, &f.id, ""), &ctx.t("idp-form-expired-link"))),
            ),
        ));
    }
    if f.status == "done" {
        return Ok(already_used(ctx));
    }
    let kind = match input.identifier_type.as_str() {
        k @ ("rpps" | "adeli" | "idnat") => k,
        _ => "rpps",
    };
    let typed = input.identifier.trim();
    let remember = input.remember.is_some();
    let form_error = |error: String, help: Option<pages::ActivationHelp>, status| {
        let f = f.clone();
        let jar = jar.clone();
        async move {
            render_form(
                idp,
                ctx,
                &jar,
                &f,
                Rendered {
                    tab: "ecps",
                    kind,
                    identifier: typed,
                    remember,
                    error: Some(error),
                    help,
                },
                status,
            )
            .await
        }
    };

    let idnat = match parse_identifier(kind, typed) {
        Ok(idnat) => idnat,
        Err(key) => return form_error(ctx.t(key), None, StatusCode::BAD_REQUEST).await,
    };
    // Every answer below tells something of this identifier, so the limits are counted
    // first. A browser that logged this professional in recently spends its own budget:
    // strangers typing the identifier cannot lock the professional out (issue 10, item 5).
    let browser = cookies::existing_browser_secret(idp, &jar).unwrap_or_default();
    let known_browser = binding::is_known_for(idp, &browser, idnat.as_str()).await?;
    let now = idp.now();
    let verdict = {
        let mut conn = idp.store().pool().acquire().await?;
        if known_browser {
            let key = format!("{}:{}", crate::secret_hash(&browser), idnat.as_str());
            binding::LOGINS_PER_KNOWN_BROWSER
                .hit(&mut conn, &key, now)
                .await?
        } else {
            binding::logins_per_source(idp)
                .hit(&mut conn, &source.throttle_key(), now)
                .await?
        }
    };
    if let Verdict::Refused { retry_after_secs } = verdict {
        tracing::warn!(source = %source, known_browser, "login attempts over the limit");
        let minutes = (retry_after_secs + 59) / 60;
        return form_error(
            ctx.tr
                .t_with("idp-too-many-attempts", &[("minutes", Arg::Num(minutes))]),
            None,
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    }
    let known = caducee_registry::queries::get_professional(idp.store(), &idnat)
        .await
        .map_err(|e| IdpError::Internal(e.to_string()))?;
    if known.is_none() {
        return form_error(ctx.t("idp-identifier-unknown"), None, StatusCode::NOT_FOUND).await;
    }

    // A form submitted again (back button, another identifier) gives up the previous
    // request, so the phone never shows two of this browser's requests.
    if let Some(previous) = f.ecps_request_id.as_deref() {
        let _ = idp.ecps().cancel_request(previous).await;
    }
    let service = service_name(idp, &f.client_id).await?;
    let budget = if known_browser {
        RequestBudget::KnownBrowser
    } else {
        RequestBudget::Professional
    };
    let request = match idp
        .ecps()
        .create_request_with(idnat.as_str(), &service, None, budget)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            let (msg, mut help, status) = ecps_refusal(idp, ctx, &e, kind, typed);
            if let (Some(h), EcpsError::NoDevice | EcpsError::DeviceExpired) = (help.as_mut(), &e) {
                h.request = Some(activation_request(idp, ctx, &idnat, &source).await);
            }
            return form_error(msg, help, status).await;
        }
    };
    flow::set_ecps_request(idp, &f.id, idnat.as_str(), &request.id).await?;
    let jar = if remember {
        cookies::remember(idp, jar, kind, typed)
    } else {
        cookies::forget(idp, jar)
    };
    Ok((jar, super::redirect(&url(idp, &f.id, "/ecps"))).into_response())
}

/// Reads the identifier the way the professional typed it; the error is the catalogue key
/// of what to tell them.
pub(super) fn parse_identifier(kind: &str, typed: &str) -> Result<IdNatPs, &'static str> {
    if typed.is_empty() {
        return Err("idp-identifier-empty");
    }
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    match kind {
        "adeli" => Adeli::parse(match digits.len() {
            10 if digits.starts_with('0') => &digits[1..],
            _ => digits.as_str(),
        })
        .map(IdNatPs::from)
        .map_err(|_| "idp-identifier-adeli-invalid"),
        "idnat" => IdNatPs::parse(&digits).map_err(|_| "idp-identifier-idnat-invalid"),
        _ => {
            let rpps = match digits.len() {
                12 if digits.starts_with('8') => &digits[1..],
                _ => digits.as_str(),
            };
            Rpps::parse(rpps)
                .map(IdNatPs::from)
                .map_err(|_| "idp-identifier-rpps-invalid")
        }
    }
}

/// The login page's "Demande d'activation e-CPS" (PSC-04) for `idnat`, which has no e-CPS
/// (or an expired one): the masked coordinates, counted against the source's activation
/// budget before they are read (issue 10, item 17), or why they cannot be shown.
async fn activation_request(
    idp: &Idp,
    ctx: &PageCtx,
    idnat: &IdNatPs,
    source: &ClientSource,
) -> pages::ActivationRequest {
    let (email_hint, sms_hint, refusal) =
        match idp.ecps().activation_hints_from(idnat, source).await {
            Ok((email, sms)) => (email, sms, None),
            Err(e) if e.is_client_error() => (String::new(), String::new(), Some(e.to_string())),
            Err(e) => {
                tracing::error!(error = %e, "e-CPS activation hints failed");
                (
                    String::new(),
                    String::new(),
                    Some(ctx.t("idp-ecps-unavailable")),
                )
            }
        };
    pages::ActivationRequest {
        action: format!(
            "{}{}",
            idp.public_url().trim_end_matches('/'),
            caducee_ecps_server::WEB_REQUEST_PATH
        ),
        identifier: idnat.as_str().to_string(),
        email_hint,
        sms_hint,
        refusal,
        coordinates_href: "/erpps/coordonnees-franceconnect".to_string(),
    }
}

/// Why the e-CPS cannot be asked, said to the professional with what to do.
fn ecps_refusal(
    idp: &Idp,
    ctx: &PageCtx,
    e: &EcpsError,
    kind: &str,
    typed: &str,
) -> (String, Option<pages::ActivationHelp>, StatusCode) {
    let how_to_activate = || pages::ActivationHelp {
        server: idp.public_url().to_string(),
        identifier: if kind == "rpps" {
            typed.to_string()
        } else {
            ctx.t("idp-activate-placeholder")
        },
        request: None,
    };
    let (key, help, status) = match e {
        EcpsError::NoDevice | EcpsError::UnknownDevice => (
            "idp-ecps-not-activated",
            Some(how_to_activate()),
            StatusCode::CONFLICT,
        ),
        EcpsError::DeviceExpired => (
            "idp-ecps-expired",
            Some(how_to_activate()),
            StatusCode::FORBIDDEN,
        ),
        EcpsError::DeviceLocked => (
            "idp-ecps-locked",
            Some(how_to_activate()),
            StatusCode::FORBIDDEN,
        ),
        EcpsError::TooManyPending => (
            "idp-ecps-too-many-pending",
            None,
            StatusCode::TOO_MANY_REQUESTS,
        ),
        EcpsError::TooManyRequests => (
            "idp-ecps-too-many-requests",
            None,
            StatusCode::TOO_MANY_REQUESTS,
        ),
        other => {
            tracing::error!(error = %other, "e-CPS request failed");
            (
                "idp-ecps-unavailable",
                None,
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
    };
    (ctx.t(key), help, status)
}

fn already_used(ctx: &PageCtx) -> Response {
    super::html(
        StatusCode::GONE,
        pages::message(
            ctx,
            &ctx.t("idp-already-done-title"),
            &ctx.t("idp-already-done-text"),
            None,
        ),
    )
}

// ---------------------------------------------------------------------------------------
// The waiting page, its status, cancel and resume.
// ---------------------------------------------------------------------------------------

pub(super) async fn waiting(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Response {
    finish(&ctx, waiting_inner(&idp, &ctx, jar, &id).await)
}

async fn waiting_inner(
    idp: &Idp,
    ctx: &PageCtx,
    jar: CookieJar,
    id: &str,
) -> Result<Response, IdpError> {
    let f = or_page!(flow_for(idp, ctx, &jar, id).await?);
    let Some(request_id) = f.ecps_request_id.as_deref().filter(|_| f.status == "ecps") else {
        return Ok(super::redirect(&url(idp, &f.id, "")));
    };
    let state = idp.ecps().request_state(request_id).await?;
    if state.status != RequestStatus::Pending {
        return Ok(super::redirect(&url(idp, &f.id, "/continue")));
    }
    let csrf = cookies::existing_browser_secret(idp, &jar)
        .map(|s| cookies::csrf_token(&s, &format!("cancel:{}", f.id)))
        .unwrap_or_default();
    let service = service_name(idp, &f.client_id).await?;
    let body = pages::waiting(
        ctx,
        &pages::Waiting {
            service: &service,
            code: &state.code,
            seconds_left: state.expires_at - idp.now(),
            status_url: &url(idp, &f.id, "/status"),
            continue_url: &url(idp, &f.id, "/continue"),
            cancel_url: &url(idp, &f.id, "/cancel"),
            csrf: &csrf,
            script_url: &format!("{}{REALM_PATH}/login/ecps.js", idp.public_url()),
        },
    );
    let mut response = super::html(StatusCode::OK, body);
    // "Quitter l'authentification" ends in a redirect to the client.
    if let Ok(v) = HeaderValue::from_str(&super::csp_allowing_form_target(&f.redirect_uri)) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(response)
}

pub(super) async fn status(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Response {
    finish(&ctx, status_inner(&idp, jar, &id).await)
}

async fn status_inner(idp: &Idp, jar: CookieJar, id: &str) -> Result<Response, IdpError> {
    let found = flow::load(idp, id).await?;
    let Some(f) =
        found.filter(|f| f.belongs_to(cookies::existing_browser_secret(idp, &jar).as_deref()))
    else {
        return Ok((
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "status": "unknown", "seconds_left": 0 })),
        )
            .into_response());
    };
    let (status, left) = match f.ecps_request_id.as_deref() {
        Some(r) => {
            let s = idp.ecps().request_state(r).await?;
            (s.status.as_str(), (s.expires_at - idp.now()).max(0))
        }
        None => ("unknown", 0),
    };
    let status = if f.status == "cancelled" {
        "cancelled"
    } else {
        status
    };
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "status": status, "seconds_left": left })),
    )
        .into_response())
}

#[derive(Deserialize)]
pub(super) struct CancelInput {
    #[serde(default)]
    csrf: String,
}

/// "Quitter l'authentification": the request is withdrawn from the phone and the client
/// is told the professional gave up (`access_denied`).
pub(super) async fn cancel(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(input): Form<CancelInput>,
) -> Response {
    finish(&ctx, cancel_inner(&idp, &ctx, jar, &id, input).await)
}

async fn cancel_inner(
    idp: &Idp,
    ctx: &PageCtx,
    jar: CookieJar,
    id: &str,
    input: CancelInput,
) -> Result<Response, IdpError> {
    let f = or_page!(flow_for(idp, ctx, &jar, id).await?);
    if !cookies::csrf_ok(idp, &jar, &format!("cancel:{}", f.id), &input.csrf) {
        return Ok(super::redirect(&url(idp, &f.id, "/ecps")));
    }
    if let Some(r) = f.ecps_request_id.as_deref() {
        idp.ecps().cancel_request(r).await?;
    }
    if !(flow::transition(idp, &f.id, "ecps", "cancelled").await?
        || flow::transition(idp, &f.id, "login", "cancelled").await?)
    {
        return Ok(already_used(ctx));
    }
    Ok(super::redirect(&error_redirect(
        idp,
        &f.redirect_uri,
        "access_denied",
        "authentification abandonnée par l'utilisateur",
        f.state.as_deref(),
    )))
}

/// Where the waiting page goes once the phone answered (or the time is up).
pub(super) async fn resume(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Response {
    finish(&ctx, resume_inner(&idp, &ctx, jar, &id).await)
}

async fn resume_inner(
    idp: &Idp,
    ctx: &PageCtx,
    jar: CookieJar,
    id: &str,
) -> Result<Response, IdpError> {
    let f = or_page!(flow_for(idp, ctx, &jar, id).await?);
    if f.status == "done" {
        return Ok(already_used(ctx));
    }
    let (Some(request_id), Some(idnat)) = (f.ecps_request_id.as_deref(), f.idnat.as_deref()) else {
        return Ok(super::redirect(&url(idp, &f.id, "")));
    };
    let state = idp.ecps().request_state(request_id).await?;
    let retry = url(idp, &f.id, "");
    let (title, text) = match state.status {
        RequestStatus::Pending => return Ok(super::redirect(&url(idp, &f.id, "/ecps"))),
        RequestStatus::Approved => {
            if state.idnat != idnat || !flow::transition(idp, &f.id, "ecps", "done").await? {
                return Ok(already_used(ctx));
            }
            // A first délégation login waiting in this flow is paired now.
            crate::delegation::pair_pending(idp, &f.id, idnat, ECPS_AUTH_MODE).await?;
            let amr: Vec<String> = ECPS_AMR.iter().map(|s| s.to_string()).collect();
            let auth_time = state.decided_at.unwrap_or_else(|| idp.now());
            // A new login opens a new session (never reuse an id a page may have seen);
            // the session this browser held before ends.
            if let Some(old) = session::find(idp, cookies::session(idp, &jar)).await? {
                session::end(idp, &old.id, &format!("ps:{}", old.idnat)).await?;
            }
            let (s, secret) = session::open(idp, idnat, auth_time, &amr, ECPS_AUTH_MODE).await?;
            let target = issue(
                idp,
                &f.code_request(),
                &s.authentication(),
                f.state.as_deref(),
            )
            .await?;
            let jar = cookies::set_session(idp, jar, &s.id, &secret);
            let jar = cookies::renew_browser_secret(idp, jar, idnat).await?;
            return Ok((jar, super::redirect(&target)).into_response());
        }
        RequestStatus::Denied => ("idp-denied-title", "idp-denied-text"),
        RequestStatus::Expired => ("idp-expired-title", "idp-expired-text"),
        RequestStatus::Cancelled => ("idp-cancelled-title", "idp-cancelled-text"),
    };
    Ok(super::html(
        StatusCode::OK,
        pages::message(
            ctx,
            &ctx.t(title),
            &ctx.t(text),
            Some((&retry, &ctx.t("idp-retry-login"))),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psc_02_identifier_with_or_without_the_8() {
        let with = parse_identifier("rpps", "819999900012").map(|i| i.as_str().to_string());
        let without = parse_identifier("rpps", "19999900012").map(|i| i.as_str().to_string());
        assert_eq!(with, Ok("819999900012".to_string()));
        assert_eq!(without, with);
        assert!(parse_identifier("rpps", "19999900013").is_err());
        assert!(parse_identifier("rpps", "").is_err());
        assert!(parse_identifier("rpps", "abc").is_err());
    }
}
