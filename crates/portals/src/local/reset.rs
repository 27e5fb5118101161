//! Password reset by a single-use link (ACC-06): "Réinitialiser votre mot de passe" asks for
//! the login e-mail; when it is an account's, an e-mail carries a link valid 24 hours.
//! Opening the link shows a page with a button: only the POST of that button uses the link
//! (a mail scanner that follows links does not burn it). Using it signs the professional in
//! and lets them set a new password without the current one for 15 minutes ("Vous venez
//! d'utiliser votre lien de connexion unique…").
//!
//! The answer to the request is the same whether the e-mail has an account or not, and the
//! requests are limited per e-mail and per source in the database.

use super::pages::{self, Block, MessagePage};
use super::{failure, session, Form, Visit};
use crate::accounts;
use crate::one_time::{self, LinkInfo};
use crate::state::{Cookie, PortalState};
use crate::PortalError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use caducee_core::source::ClientSource;
use caducee_notify::templates::Template as Message;
use caducee_notify::{self as outbox, OutgoingMessage};
use caducee_pages::{Alert, AlertKind, Button, ButtonKind, Field, Link};
use caducee_store::audit::{self, AuditEvent};
use caducee_store::throttle::Limit;

/// Reset links sent to one e-mail per hour.
const LINKS_PER_EMAIL: Limit = Limit::new("portals.reset.email", 3, 3600);
/// Reset requests from one source per hour.
const REQUESTS_PER_SOURCE: Limit = Limit::new("portals.reset.source", 20, 3600);
/// What a reset link is for, in `portal_link.purpose`.
const PURPOSE: &str = "reset";

fn request_page(
    st: &PortalState,
    visit: &Visit,
    email: &str,
    error: Option<String>,
    alert: Option<Alert>,
) -> Response {
    let tr = visit.tr();
    let title = tr.t("account-reset-title");
    let mut page = visit.form_page(st, title, format!("{}/mot-de-passe-oublie", st.base()));
    let failed = error.is_some() || alert.is_some();
    page.alerts.extend(alert);
    page.intro.push(tr.t("account-reset-intro"));
    page.blocks = vec![Block::Field(
        Field::new("email", tr.t("account-email"))
            .kind("email")
            .autocomplete("username")
            .value(email)
            .required()
            .error(error),
    )];
    page.buttons = vec![Button::new(tr.t("account-validate"), ButtonKind::Primary).id("valider")];
    page.links = vec![
        Link::new(
            format!("{}/recuperer", st.base()),
            tr.t("account-reset-no-email"),
        )
        .id("email-oublie"),
        Link::new(st.base(), tr.t("account-back-to-login")).id("retour-connexion"),
    ];
    let page = page.summarize();
    let status = if failed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    visit.page(st, status, pages::render(&page))
}

pub(crate) async fn page(State(st): State<PortalState>, headers: HeaderMap) -> Response {
    let visit = Visit::new(&st, &headers, format!("{}/mot-de-passe-oublie", st.base()));
    request_page(&st, &visit, "", None, None)
}

pub(crate) async fn submit(
    State(st): State<PortalState>,
    headers: HeaderMap,
    source: Option<Extension<ClientSource>>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let visit = Visit::new(&st, &headers, format!("{}/mot-de-passe-oublie", st.base()));
    let tr = visit.tr();
    let email = form.trimmed("email");
    if !visit.csrf_ok(&st, &form) {
        let alert = Alert::new(AlertKind::Warning, tr.t("account-form-stale"));
        return request_page(&st, &visit, email, None, Some(alert));
    }
    if let Err(key) = super::check_email(email) {
        return request_page(&st, &visit, email, Some(tr.t(key)), None);
    }
    let source = source.map_or_else(ClientSource::unknown, |Extension(s)| s);
    if let Err(e) = send_link(&st, email, &source, visit.ctx.locale()).await {
        return failure(&st, &headers, &e);
    }
    let page = MessagePage {
        layout: pages::layout(&visit.ctx, &st.portal, &tr.t("account-reset-title")),
        heading: tr.t("account-reset-title"),
        alert: Alert::new(AlertKind::Success, tr.t("account-reset-sent")).id("lien-envoye"),
        links: vec![Link::new(st.base(), tr.t("account-back-to-login")).id("retour-connexion")],
    };
    visit.page(&st, StatusCode::OK, pages::render(&page))
}

/// Sends the link when `email` is an account's and the limits allow; silent otherwise (the
/// page says the same in every case).
async fn send_link(
    st: &PortalState,
    email: &str,
    source: &ClientSource,
    locale: caducee_pages::Locale,
) -> Result<(), PortalError> {
    let now = st.portals.now();
    let slug = &st.portal.slug;
    let mut tx = st.portals.store().begin().await?;
    let internal = |e: caducee_store::StoreError| PortalError::Internal(e.to_string());
    let by_source = REQUESTS_PER_SOURCE
        .hit(&mut tx, &format!("{slug}:{}", source.throttle_key()), now)
        .await
        .map_err(internal)?;
    let by_email = LINKS_PER_EMAIL
        .hit(&mut tx, &format!("{slug}:{}", email.to_lowercase()), now)
        .await
        .map_err(internal)?;
    let mut account = accounts::by_email(&mut tx, slug, email).await?;
    if account.is_none() && st.portal.accounts == crate::AccountPolicy::AfterPsc {
        account = first_account(st, &mut tx, email, now).await?;
    }
    let (Some(account), false, false) = (account, by_source.is_refused(), by_email.is_refused())
    else {
        tx.commit().await?;
        return Ok(());
    };
    let policy = st.portals.code_policy();
    let token = one_time::issue_link(
        &mut tx,
        st.portals.one_time(),
        policy,
        &LinkInfo {
            portal: slug.clone(),
            account_id: account.id.clone(),
            purpose: PURPOSE.into(),
        },
        now,
    )
    .await?;
    let to = caducee_core::contact::Email::parse(&account.email)
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    let msg = OutgoingMessage::email(
        to,
        Message::PasswordReset {
            portal: st.portal.name.clone(),
            link: format!("{}{}/lien/{token}", st.portals.public_url(), st.base()),
            validity_hours: u32::try_from(policy.link_ttl_secs / 3600).unwrap_or(24),
        },
    )
    .not_after(now + policy.link_ttl_secs)
    .public_url(st.portals.public_url())
    .locale(locale);
    outbox::enqueue(&mut tx, st.portals.clock().as_ref(), &msg)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor: &format!("ps:{}", account.idnat),
            action: "portals.reset.link_sent",
            subject: Some(&account.idnat),
            details: serde_json::json!({
                "portal": slug,
                "to": caducee_core::mask::mask_email(&account.email),
            }),
            request_id: None,
        },
    )
    .await
    .map_err(|e| PortalError::Internal(e.to_string()))?;
    tx.commit().await?;
    Ok(())
}

/// ONB-02: on a portal whose accounts follow a first Pro Santé Connect login, "Mot de passe
/// oublié ?" with the verified contact e-mail creates the local account (its password not
/// set yet: the hash of a random secret nobody keeps), which the link then lets them set.
async fn first_account(
    st: &PortalState,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    email: &str,
    now: i64,
) -> Result<Option<accounts::Account>, PortalError> {
    let Some((idnat, contact)) =
        super::onboarding::member_by_contact(tx, &st.portal.slug, email).await?
    else {
        return Ok(None);
    };
    let unusable = st
        .portals
        .passwords()
        .hash(&crate::sessions::random_token(32))
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    let created = accounts::create(
        tx,
        &accounts::NewAccount {
            portal: &st.portal.slug,
            idnat: &idnat,
            email: &contact,
            password_hash: &unusable,
            how: "after-psc",
        },
        now,
    )
    .await?;
    Ok(created.ok())
}

/// A token as it can appear in a link (base64url of 32 bytes).
fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn dead_link(st: &PortalState, visit: &Visit) -> Response {
    let tr = visit.tr();
    let page = MessagePage {
        layout: pages::layout(&visit.ctx, &st.portal, &tr.t("account-link-title")),
        heading: tr.t("account-link-title"),
        alert: Alert::new(AlertKind::Error, tr.t("account-link-dead")).id("lien-mort"),
        links: vec![Link::new(
            format!("{}/mot-de-passe-oublie", st.base()),
            tr.t("account-link-new"),
        )
        .id("nouveau-lien")],
    };
    visit.page(st, StatusCode::GONE, pages::render(&page))
}

/// `GET …/lien/{token}`: looks, never uses.
pub(crate) async fn link_page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let visit = Visit::new(&st, &headers, format!("{}/lien/{token}", st.base()));
    if !well_formed(&token) {
        return dead_link(&st, &visit);
    }
    let info = match st.portals.store().pool().acquire().await {
        Ok(mut conn) => {
            one_time::peek_link(&mut conn, st.portals.one_time(), &token, st.portals.now()).await
        }
        Err(e) => Err(e.into()),
    };
    match info {
        Ok(Some(info)) if info.portal == st.portal.slug && info.purpose == PURPOSE => {}
        Ok(_) => return dead_link(&st, &visit),
        Err(e) => return failure(&st, &headers, &e),
    }
    let tr = visit.tr();
    let title = tr.t("account-link-title");
    let mut page = visit.form_page(&st, title, format!("{}/lien/{token}", st.base()));
    page.intro.push(tr.t("account-link-intro"));
    page.buttons =
        vec![Button::new(tr.t("account-link-use"), ButtonKind::Primary).id("utiliser-lien")];
    // The token is in the address: no referrer may carry it elsewhere.
    let mut r = visit.page(&st, StatusCode::OK, pages::render(&page));
    r.headers_mut().insert(
        axum::http::header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    r
}

/// `POST …/lien/{token}`: uses the link, opens a session allowed to set a new password.
pub(crate) async fn use_link(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let visit = Visit::new(&st, &headers, format!("{}/lien/{token}", st.base()));
    if !visit.csrf_ok(&st, &form) {
        // The link is untouched: its page again, with a token of this browser.
        return visit.redirect(&st, &format!("{}/lien/{token}", st.base()), Vec::new());
    }
    if !well_formed(&token) {
        return dead_link(&st, &visit);
    }
    let now = st.portals.now();
    let opened = async {
        let mut tx = st.portals.store().begin().await?;
        let Some(info) =
            one_time::consume_link(&mut tx, st.portals.one_time(), &token, now).await?
        else {
            return Ok(None);
        };
        if info.portal != st.portal.slug || info.purpose != PURPOSE {
            return Ok(None);
        }
        let account = sqlx::query("SELECT idnat FROM portal_account WHERE id = $1")
            .bind(&info.account_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = account else { return Ok(None) };
        let idnat: String = sqlx::Row::try_get(&row, 0)?;
        let Some(account) = accounts::by_idnat(&mut tx, &st.portal.slug, &idnat).await? else {
            return Ok(None);
        };
        let secret = session::open(&mut tx, &account, "link", now).await?;
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor: &format!("ps:{idnat}"),
                action: "portals.reset.link_used",
                subject: Some(&idnat),
                details: serde_json::json!({ "portal": st.portal.slug, "account": account.id }),
                request_id: None,
            },
        )
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
        tx.commit().await?;
        Ok::<Option<String>, PortalError>(Some(secret))
    }
    .await;
    match opened {
        Ok(Some(secret)) => visit.redirect(
            &st,
            &format!("{}/parametres?lien=1", st.base()),
            vec![st.set_cookie(&Cookie::Local, &secret, None)],
        ),
        Ok(None) => dead_link(&st, &visit),
        Err(e) => failure(&st, &headers, &e),
    }
}
