//! The professional's account page, `/auth/realms/esante-wallet/account` (DESIGN.md): a
//! page of the idp's SSO session (without one, a login through the idp itself that comes
//! back here). Sections by their owners: security keys (here), "Ma CPS"
//! (`idp/account_card.html`), délégation pairings (`idp/account_delegation.html`), the
//! e-CPS device (`idp/account_ecps.html`). A key is registered after a login by e-CPS or
//! card (a name per key); renamed; removed only after a login of less than
//! [`FRESH_LOGIN_SECS`] (else the page asks for a new login).

mod ecps;

use crate::webauthn::{self, store};
use crate::{Idp, IdpError, REALM_PATH};
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_extra::extract::CookieJar;
use caducee_pages::{Layout, PageCtx, Template};
use serde::Deserialize;
use webauthn_rs::prelude::{PasskeyRegistration, RegisterPublicKeyCredential};

/// How recent a login must be to remove a key.
pub const FRESH_LOGIN_SECS: i64 = 300;
/// The longest name of a key.
pub const MAX_NAME_CHARS: usize = 60;
const CSRF: &str = "account";

pub(crate) fn page_url(idp: &Idp) -> String {
    format!("{}{REALM_PATH}/account", idp.public_url())
}

pub fn routes() -> axum::Router<Idp> {
    use axum::routing::{get, post};
    let p = |suffix: &str| format!("{REALM_PATH}{suffix}");
    axum::Router::new()
        .route(&p("/account"), get(page))
        .route(&p("/account/login"), get(login))
        .route(&p("/account/keys/options"), post(register_options))
        .route(&p("/account/keys"), post(register_finish))
        .route(&p("/account/keys/{id}/rename"), post(rename))
        .route(&p("/account/keys/{id}/remove"), post(remove))
        .route(&p("/account/ecps/desactiver"), post(ecps::deactivate))
}

/// A key as the page shows it.
struct KeyView {
    id: String,
    name: String,
    created: String,
    last_used: String,
    rename_action: String,
    remove_action: String,
}

/// The security keys section (`idp/account_keys.html`, as `keys`).
struct KeysSection {
    list: Vec<KeyView>,
    options_url: String,
    register_url: String,
    csrf: String,
    error: Option<String>,
    notice: Option<String>,
}

/// The other owners' sections (their includes read them).
#[derive(Default)]
pub(crate) struct CardSection {}
pub(crate) use crate::delegation::account::DelegationSection;
pub(crate) use ecps::EcpsSection;

#[derive(Template)]
#[template(path = "idp/account.html")]
struct AccountPage {
    layout: Layout,
    idnat: String,
    logout_url: String,
    keys: KeysSection,
    #[allow(dead_code)]
    card: CardSection,
    delegation: DelegationSection,
    ecps: EcpsSection,
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

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::response::Html(body),
    )
        .into_response()
}

async fn render(
    idp: &Idp,
    ctx: &PageCtx,
    jar: &CookieJar,
    idnat: &str,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, IdpError> {
    let base = page_url(idp);
    let list = store::keys_of(idp, idnat)
        .await?
        .into_iter()
        .map(|k| KeyView {
            rename_action: format!("{base}/keys/{}/rename", k.id),
            remove_action: format!("{base}/keys/{}/remove", k.id),
            created: date(k.created_at),
            last_used: k
                .last_used_at
                .map(date)
                .unwrap_or_else(|| ctx.t("account-key-never")),
            id: k.id,
            name: k.name,
        })
        .collect();
    let page = AccountPage {
        layout: Layout::new(ctx, ctx.t("account-title")).with_script(webauthn::script_url(idp)),
        idnat: idnat.to_string(),
        logout_url: format!(
            "{}{REALM_PATH}/protocol/openid-connect/logout",
            idp.public_url()
        ),
        keys: KeysSection {
            list,
            options_url: format!("{base}/keys/options"),
            register_url: format!("{base}/keys"),
            csrf: crate::browser::csrf_for(idp, jar, CSRF),
            error,
            notice,
        },
        card: CardSection::default(),
        delegation: crate::delegation::account::section(idp, jar, idnat).await?,
        ecps: ecps::section(idp, jar, idnat).await?,
    };
    let body = caducee_pages::render(&page).unwrap_or_else(|_| {
        "Service momentanément indisponible. Réessayez dans quelques instants.".to_string()
    });
    Ok(html(status, body))
}

/// The page with an error (a catalogue key).
async fn render_error(
    idp: &Idp,
    ctx: &PageCtx,
    jar: &CookieJar,
    idnat: &str,
    key: &str,
    status: StatusCode,
) -> Result<Response, IdpError> {
    render(idp, ctx, jar, idnat, Some(ctx.t(key)), None, status).await
}

/// The page after a change to a key: its notice if the key was found, else 404.
async fn render_outcome(
    idp: &Idp,
    ctx: &PageCtx,
    jar: &CookieJar,
    idnat: &str,
    found: bool,
    notice: &str,
) -> Result<Response, IdpError> {
    if found {
        render(
            idp,
            ctx,
            jar,
            idnat,
            None,
            Some(ctx.t(notice)),
            StatusCode::OK,
        )
        .await
    } else {
        render_error(
            idp,
            ctx,
            jar,
            idnat,
            "account-key-unknown",
            StatusCode::NOT_FOUND,
        )
        .await
    }
}

fn unavailable(ctx: &PageCtx, e: &IdpError) -> Response {
    tracing::error!(error = %e, "account page failed");
    crate::browser::message_page(
        ctx,
        StatusCode::INTERNAL_SERVER_ERROR,
        &ctx.t("idp-unavailable-title"),
        &ctx.t("idp-unavailable-text"),
        None,
    )
}

async fn page(State(idp): State<Idp>, ctx: PageCtx, jar: CookieJar) -> Response {
    let r = async {
        match crate::browser::current_session(&idp, &jar).await? {
            Some((idnat, _, _)) => {
                render(&idp, &ctx, &jar, &idnat, None, None, StatusCode::OK).await
            }
            None => to_login(&idp, jar).await,
        }
    };
    r.await.unwrap_or_else(|e| unavailable(&ctx, &e))
}

/// A login through the idp itself, back to the account page.
async fn to_login(idp: &Idp, jar: CookieJar) -> Result<Response, IdpError> {
    let (jar, url) = crate::browser::start_self_login(idp, jar, &page_url(idp)).await?;
    Ok((
        jar,
        (
            StatusCode::SEE_OTHER,
            [
                (axum::http::header::LOCATION, url),
                (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
            ],
        ),
    )
        .into_response())
}

async fn login(State(idp): State<Idp>, ctx: PageCtx, jar: CookieJar) -> Response {
    to_login(&idp, jar)
        .await
        .unwrap_or_else(|e| unavailable(&ctx, &e))
}

#[derive(Deserialize)]
struct OptionsInput {
    #[serde(default)]
    csrf: String,
}

fn json_error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// Only a session opened by e-CPS or card may add a key (a key does not beget a key).
fn may_register(auth_mode: &str) -> bool {
    auth_mode != webauthn::AUTH_MODE
}

/// The professional who may add a key now, or the JSON answer that says why not.
async fn registering(
    idp: &Idp,
    ctx: &PageCtx,
    jar: &CookieJar,
    csrf: &str,
) -> Result<Result<String, Response>, IdpError> {
    let Some((idnat, _, mode)) = crate::browser::current_session(idp, jar).await? else {
        return Ok(Err(json_error(
            StatusCode::UNAUTHORIZED,
            ctx.t("account-session-ended"),
        )));
    };
    if !crate::browser::csrf_valid(idp, jar, CSRF, csrf) {
        return Ok(Err(json_error(
            StatusCode::FORBIDDEN,
            ctx.t("account-form-expired"),
        )));
    }
    if !may_register(&mode) {
        return Ok(Err(json_error(
            StatusCode::FORBIDDEN,
            ctx.t("account-key-needs-ecps"),
        )));
    }
    Ok(Ok(idnat))
}

async fn register_options(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Json(input): Json<OptionsInput>,
) -> Response {
    let r = async {
        let idnat = match registering(&idp, &ctx, &jar, &input.csrf).await? {
            Ok(idnat) => idnat,
            Err(refused) => return Ok(refused),
        };
        if store::open_ceremonies(&idp, "register", Some(&idnat), None).await?
            >= webauthn::MAX_OPEN_CEREMONIES
        {
            return Ok(json_error(
                StatusCode::TOO_MANY_REQUESTS,
                ctx.t("webauthn-too-many"),
            ));
        }
        let rp = webauthn::relying_party(&idp)?;
        let handle = store::user_handle(&idp, &idnat).await?;
        let exclude: Vec<_> = store::passkeys_of(&idp, &idnat)
            .await?
            .iter()
            .map(|p| p.cred_id().clone())
            .collect();
        let (ccr, state) = rp
            .start_passkey_registration(handle, &idnat, &idnat, Some(exclude))
            .map_err(|e| IdpError::Internal(format!("WebAuthn : {e}")))?;
        // A discoverable credential (resident key) when the key can keep one, so that the key
        // alone logs in; a key that cannot (many FIDO2 keys have few or no slots) still
        // registers and logs in after typing the identifier. User verification always
        // (webauthn-rs's passkey registration asks for UV, not residency).
        let mut public_key =
            serde_json::to_value(&ccr.public_key).map_err(|e| IdpError::Internal(e.to_string()))?;
        public_key["authenticatorSelection"] = serde_json::json!({
            "residentKey": "preferred",
            "requireResidentKey": false,
            "userVerification": "required",
        });
        let ceremony = store::start_ceremony(&idp, "register", Some(&idnat), None, &state).await?;
        Ok::<_, IdpError>(
            (
                [(axum::http::header::CACHE_CONTROL, "no-store")],
                Json(serde_json::json!({ "ceremony": ceremony, "publicKey": public_key })),
            )
                .into_response(),
        )
    };
    r.await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "key registration options failed");
        json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            ctx.t("webauthn-unavailable"),
        )
    })
}

#[derive(Deserialize)]
struct RegisterInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    name: String,
    credential: Option<RegisterPublicKeyCredential>,
}

/// The name of a key as typed, or the catalogue key of what to fix.
fn clean_name(typed: &str) -> Result<String, &'static str> {
    let name = typed.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        Err("account-key-name-empty")
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err("account-key-name-long")
    } else {
        Ok(name)
    }
}

async fn register_finish(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Json(input): Json<RegisterInput>,
) -> Response {
    let r = async {
        let idnat = match registering(&idp, &ctx, &jar, &input.csrf).await? {
            Ok(idnat) => idnat,
            Err(refused) => return Ok(refused),
        };
        let name = match clean_name(&input.name) {
            Ok(n) => n,
            Err(k) => return Ok(json_error(StatusCode::BAD_REQUEST, ctx.t(k))),
        };
        let Some(credential) = input.credential else {
            return Ok(json_error(
                StatusCode::BAD_REQUEST,
                ctx.t("webauthn-no-answer"),
            ));
        };
        let Some(state) = store::take_ceremony::<PasskeyRegistration>(
            &idp,
            &input.ceremony,
            "register",
            Some(&idnat),
            None,
        )
        .await?
        else {
            return Ok(json_error(
                StatusCode::GONE,
                ctx.t("webauthn-ceremony-expired"),
            ));
        };
        let rp = webauthn::relying_party(&idp)?;
        let passkey = match rp.finish_passkey_registration(&credential, &state) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "key registration refused");
                store::audit(
                    &idp,
                    Some(&idnat),
                    "idp.webauthn.registration_refused",
                    serde_json::json!({ "reason": e.to_string() }),
                )
                .await?;
                return Ok(json_error(
                    StatusCode::BAD_REQUEST,
                    ctx.t("webauthn-registration-refused"),
                ));
            }
        };
        if !store::add_key(&idp, &idnat, &name, &passkey).await? {
            return Ok(json_error(
                StatusCode::CONFLICT,
                ctx.t("account-key-already"),
            ));
        }
        Ok::<_, IdpError>(Json(serde_json::json!({ "ok": true })).into_response())
    };
    r.await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "key registration failed");
        json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            ctx.t("webauthn-unavailable"),
        )
    })
}

#[derive(Deserialize)]
struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

/// The professional and the time of their login for a key form, or the answer without
/// a session (a login) or with an expired form.
async fn key_form_session(
    idp: &Idp,
    ctx: &PageCtx,
    jar: &CookieJar,
    csrf: &str,
) -> Result<Result<(String, i64), Response>, IdpError> {
    let Some((idnat, auth_time, _)) = crate::browser::current_session(idp, jar).await? else {
        return to_login(idp, jar.clone()).await.map(Err);
    };
    if !crate::browser::csrf_valid(idp, jar, CSRF, csrf) {
        return render_error(
            idp,
            ctx,
            jar,
            &idnat,
            "account-form-expired",
            StatusCode::FORBIDDEN,
        )
        .await
        .map(Err);
    }
    Ok(Ok((idnat, auth_time)))
}

async fn rename(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(input): Form<KeyForm>,
) -> Response {
    let r = async {
        let (idnat, _) = match key_form_session(&idp, &ctx, &jar, &input.csrf).await? {
            Ok(s) => s,
            Err(r) => return Ok(r),
        };
        match clean_name(&input.name) {
            Err(k) => render_error(&idp, &ctx, &jar, &idnat, k, StatusCode::BAD_REQUEST).await,
            Ok(name) => {
                let found = store::rename(&idp, &idnat, &id, &name).await?;
                render_outcome(&idp, &ctx, &jar, &idnat, found, "account-key-renamed").await
            }
        }
    };
    r.await.unwrap_or_else(|e| unavailable(&ctx, &e))
}

async fn remove(
    State(idp): State<Idp>,
    ctx: PageCtx,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(input): Form<KeyForm>,
) -> Response {
    let r = async {
        let (idnat, auth_time) = match key_form_session(&idp, &ctx, &jar, &input.csrf).await? {
            Ok(s) => s,
            Err(r) => return Ok(r),
        };
        // Removing a means of login asks for a recent login (a browser left open must not
        // let someone take the professional's keys away).
        if idp.now() - auth_time > FRESH_LOGIN_SECS {
            store::audit(
                &idp,
                Some(&idnat),
                "idp.webauthn.remove_needs_login",
                serde_json::json!({ "key": id }),
            )
            .await?;
            return to_login(&idp, jar).await;
        }
        let found = store::remove(&idp, &idnat, &id).await?;
        render_outcome(&idp, &ctx, &jar, &idnat, found, "account-key-removed").await
    };
    r.await.unwrap_or_else(|e| unavailable(&ctx, &e))
}
