//! The web authenticator (`/ecps`): the e-CPS in a phone's browser, for a professional
//! without the CLI (PSC-03, PSC-04, PSC-05). One page on the page kit whose script
//! (`assets/ecps.js`, served as a file: the CSP forbids inline scripts) speaks exactly the
//! device API of [`crate::http`], as `caducee ecps` does: activation by the two codes, a
//! non-extractable P-256 key made by WebCrypto and kept by IndexedDB (the private key never
//! leaves the browser, not even to this page's script), its public JWK sent with the
//! confirmation; then the long-poll of the pending requests and the answer, each call
//! signed by the key (the same ES256 proof as the CLI's, bound to [`AppState::public_url`]).
//! An installable web app: `manifest.webmanifest` and an icon.
//!
//! Must never hold an e-CPS rule nor see a code, a password or a key: everything goes
//! through the device API, which decides.

use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::http::{header, StatusCode};
use axum::response::Redirect;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum::{Extension, Form};
use caducee_core::ids::IdNatPs;
use caducee_core::source::ClientSource;
use caducee_pages::{
    AlertKind, Arg, Button, ButtonKind, Field, Layout, PageCtx, PasswordInput, Template,
};
use caducee_passwords::strength::{estimate, Level, Personal};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::password::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use crate::EcpsServer;

/// The page.
pub const PAGE_PATH: &str = "/ecps";
const SCRIPT_PATH: &str = "/ecps/ecps.js";
const MANIFEST_PATH: &str = "/ecps/manifest.webmanifest";
const ICON_PATH: &str = "/ecps/icon.svg";
const STRENGTH_PATH: &str = "/ecps/force-mot-de-passe";
/// Where the login page's activation request ("ENVOYER MA DEMANDE D'ACTIVATION") posts.
pub const REQUEST_PATH: &str = "/ecps/demande";
/// Where `/ecps` sends a card holder on the card host (`card_url`), with `?defi=` the S256
/// of the verifier the page keeps (PSC-04 with the CPS card; the idp's card/ecps.rs).
pub const CARD_ACTIVATION_PATH: &str = "/ecps/activation-carte";

const SCRIPT: &str = include_str!("../assets/ecps.js");
const MANIFEST: &str = include_str!("../assets/manifest.webmanifest");
const ICON: &str = include_str!("../assets/icon.svg");

/// The routes of the web authenticator; `public_url` is the base the device proofs are
/// bound to (the same as the device API's).
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(
    ecps: Arc<EcpsServer>,
    public_url: &str,
) -> Router<S> {
    let server: Arc<str> = public_url.into();
    let for_request = server.clone();
    let card_url: Option<Arc<str>> = ecps.config().card_url.as_deref().map(Arc::from);
    let card_for_request = card_url.clone();
    Router::new()
        .route(
            PAGE_PATH,
            get(move |ctx| page(ctx, server.clone(), card_url.clone(), None)),
        )
        .route(
            REQUEST_PATH,
            post(move |ctx, source, form| {
                activation_request(
                    ctx,
                    ecps.clone(),
                    for_request.clone(),
                    card_for_request.clone(),
                    source,
                    form,
                )
            }),
        )
        .route(SCRIPT_PATH, get(script))
        .route(MANIFEST_PATH, get(manifest))
        .route(ICON_PATH, get(icon))
        .route(STRENGTH_PATH, post(strength))
}

#[derive(Template)]
#[template(path = "ecps/app.html")]
struct AppPage {
    layout: Layout,
    server: String,
    manifest_href: &'static str,
    icon_href: &'static str,
    self_href: &'static str,
    noscript: caducee_pages::Alert,
    /// A refusal of the activation request posted from the login page.
    error: Option<String>,
    identifier: Field,
    send_codes: Button,
    email_code: Field,
    sms_code: Field,
    password: PasswordInput,
    password_confirmation: PasswordInput,
    activate: Button,
    resend: Button,
    forget: Button,
    request_password: PasswordInput,
    /// The card host's activation (PSC-04 with the CPS card), when there is a card host.
    card_href: Option<String>,
    card_password: PasswordInput,
    card_password_confirmation: PasswordInput,
    card_activate: Button,
}

fn rule_text(ctx: &PageCtx) -> String {
    ctx.tr.t_with(
        "ecps-web-password-rule",
        &[("n", Arg::Num(MIN_PASSWORD_CHARS as i64))],
    )
}

async fn page(
    ctx: PageCtx,
    server: Arc<str>,
    card_url: Option<Arc<str>>,
    error: Option<String>,
) -> Response {
    let tr = &ctx.tr;
    let layout = Layout::new(&ctx, ctx.t("ecps-web-title"))
        .with_script(caducee_pages::password_script_href())
        .with_script(SCRIPT_PATH);
    let mut password = PasswordInput::new(tr, "password", ctx.t("ecps-web-password"), true)
        .live(STRENGTH_PATH)
        .rule(rule_text(&ctx), false);
    password.field = password.field.clone().hint(ctx.t("ecps-web-password-hint"));
    let mut password_confirmation = PasswordInput::new(
        tr,
        "password_confirmation",
        ctx.t("ecps-web-password-confirm"),
        false,
    );
    password_confirmation.field.autocomplete = Some("new-password");
    // The same password fields for the card path, under names of their own (one page).
    let mut card_password =
        PasswordInput::new(tr, "card_password", ctx.t("ecps-web-password"), true)
            .live(STRENGTH_PATH)
            .rule(rule_text(&ctx), false);
    card_password.field = card_password
        .field
        .clone()
        .hint(ctx.t("ecps-web-password-hint"));
    let mut card_password_confirmation = PasswordInput::new(
        tr,
        "card_password_confirmation",
        ctx.t("ecps-web-password-confirm"),
        false,
    );
    card_password_confirmation.field.autocomplete = Some("new-password");
    let page = AppPage {
        card_href: card_url
            .as_deref()
            .map(|u| format!("{}{CARD_ACTIVATION_PATH}", u.trim_end_matches('/'))),
        card_password,
        card_password_confirmation,
        card_activate: Button::new(ctx.t("ecps-web-activate"), ButtonKind::Primary)
            .id("activer-avec-carte"),
        server: server.trim_end_matches('/').to_string(),
        manifest_href: MANIFEST_PATH,
        icon_href: ICON_PATH,
        self_href: PAGE_PATH,
        noscript: caducee_pages::Alert::new(AlertKind::Warning, ctx.t("ecps-web-noscript")),
        error,
        identifier: Field::new("identifier", ctx.t("ecps-web-identifier"))
            .hint(ctx.t("ecps-web-identifier-hint"))
            .inputmode("numeric")
            .autocomplete("username")
            .required(),
        send_codes: Button::new(ctx.t("ecps-web-send-codes"), ButtonKind::Primary)
            .id("recevoir-codes"),
        email_code: Field::code("email_code", ctx.t("ecps-web-email-code"))
            .hint(ctx.t("ecps-web-code-hint")),
        sms_code: Field::code("sms_code", ctx.t("ecps-web-sms-code"))
            .hint(ctx.t("ecps-web-code-hint")),
        password,
        password_confirmation,
        activate: Button::new(ctx.t("ecps-web-activate"), ButtonKind::Primary).id("activer"),
        resend: Button::new(ctx.t("ecps-web-resend"), ButtonKind::Tertiary).id("renvoyer"),
        forget: Button::new(ctx.t("ecps-web-forget"), ButtonKind::Secondary).id("oublier"),
        request_password: PasswordInput::new(
            tr,
            "request_password",
            ctx.t("ecps-web-request-password"),
            false,
        ),
        layout,
    };
    let status = if page.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    caducee_pages::html(status, &page)
}

#[derive(Deserialize)]
struct RequestForm {
    #[serde(default)]
    identifier: String,
}

/// `POST /ecps/demande` (`identifier`), the login page's "ENVOYER MA DEMANDE D'ACTIVATION"
/// (PSC-04): starts the activation as the device API does (counted against the source's
/// limits first), then sends the browser to `/ecps` with the activation in the address's
/// fragment (never sent to a server), where the codes, the password and the key finish it.
/// No cookie is involved: the form has no more power than the public device API.
async fn activation_request(
    ctx: PageCtx,
    ecps: Arc<EcpsServer>,
    server: Arc<str>,
    card_url: Option<Arc<str>>,
    source: Option<Extension<ClientSource>>,
    form: Result<Form<RequestForm>, FormRejection>,
) -> Response {
    let typed = form.map(|Form(f)| f.identifier).unwrap_or_default();
    let typed = typed.trim();
    let Some(idnat) = IdNatPs::from_login(typed)
        .ok()
        .or_else(|| IdNatPs::parse(typed).ok())
    else {
        return page(
            ctx.clone(),
            server,
            card_url,
            Some(ctx.t("ecps-web-error-identifier")),
        )
        .await;
    };
    let source = source.map_or_else(ClientSource::unknown, |Extension(s)| s);
    match ecps.start_activation_from(&idnat, &source).await {
        Ok(a) => {
            let fragment: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("activation", &a.activation_id)
                .append_pair("email", &a.email_hint)
                .append_pair("sms", &a.sms_hint)
                .append_pair("expires", &a.expires_at.to_string())
                .finish();
            Redirect::to(&format!("{PAGE_PATH}#{fragment}")).into_response()
        }
        Err(e) if e.is_client_error() => page(ctx, server, card_url, Some(e.to_string())).await,
        Err(e) => {
            tracing::error!(error = %e, "e-CPS : demande d'activation impossible");
            page(
                ctx.clone(),
                server,
                card_url,
                Some(ctx.t("ecps-web-error-network")),
            )
            .await
        }
    }
}

fn file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

async fn script() -> Response {
    file("text/javascript; charset=utf-8", SCRIPT)
}

async fn manifest() -> Response {
    file("application/manifest+json", MANIFEST)
}

async fn icon() -> Response {
    file("image/svg+xml", ICON)
}

#[derive(Serialize)]
struct StrengthAnswer {
    level: Option<u8>,
    label: String,
    rules: Vec<RuleAnswer>,
}

#[derive(Serialize)]
struct RuleAnswer {
    text: String,
    met: bool,
}

/// `POST /ecps/force-mot-de-passe` (`mot_de_passe`, what the kit's meter posts): the
/// strength of the e-CPS password being chosen, in the page's language. Nothing is stored.
async fn strength(ctx: PageCtx, body: Bytes) -> Response {
    let password = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "mot_de_passe")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let answer = if password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        StrengthAnswer {
            level: None,
            label: String::new(),
            rules: vec![RuleAnswer {
                text: rule_text(&ctx),
                met: false,
            }],
        }
    } else {
        let s = estimate(&password, &Personal::default());
        let (level, key) = match s.level {
            Level::Weak => (0, "kit-password-weak"),
            Level::Medium => (1, "kit-password-medium"),
            Level::Strong => (2, "kit-password-strong"),
        };
        StrengthAnswer {
            level: Some(level),
            label: ctx.t(key),
            rules: vec![RuleAnswer {
                text: rule_text(&ctx),
                met: password.chars().count() >= MIN_PASSWORD_CHARS,
            }],
        }
    };
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(answer)).into_response()
}
