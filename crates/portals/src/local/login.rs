//! The home page of a portal with local accounts: "Connectez-vous à votre espace" (E-mail,
//! Mot de passe, Se connecter, Créer votre espace, Identifiants oubliés ?) for a visitor,
//! "MES SERVICES" for a logged-in professional; the login and the logout; the page
//! "Identifiants oubliés ?" that offers the seed's two paths.

use super::pages::{self, Block, MessagePage};
use super::session;
use super::{failure, Form, Visit};
use crate::accounts::{self, LoginOutcome};
use crate::state::{Cookie, PortalState};
use crate::AccountPolicy;
use crate::LoginMeans;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use caducee_core::source::ClientSource;
use caducee_pages::{
    Alert, AlertKind, Arg, Button, ButtonKind, Checkbox, Field, Layout, Link, PasswordInput,
    Template,
};

/// A service tile of the home page.
struct Tile {
    label: String,
    href: String,
    id: String,
}

#[derive(Template)]
#[template(path = "local/home.html")]
struct Home {
    layout: Layout,
    hello: String,
    /// "Vous êtes connecté(e) avec l'identifiant" and the login e-mail, or the Pro Santé
    /// Connect line.
    logged_in_as: String,
    email: String,
    notice: Option<Alert>,
    services: Vec<Tile>,
    logout_action: String,
    csrf: String,
}

pub(crate) async fn home(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let visit = Visit::new(&st, &headers, st.base());
    let now = st.portals.now();
    if let Some(secret) = st.cookie(&headers, &Cookie::Local) {
        let found = match st.portals.store().pool().acquire().await {
            Ok(mut conn) => session::find(&mut conn, &st.portal.slug, &secret, now).await,
            Err(e) => Err(e.into()),
        };
        match found {
            Ok(Some(s)) => {
                return onboarded(
                    &st,
                    &headers,
                    &visit,
                    &s.account.idnat,
                    logged_in(&st, &visit, &s),
                )
                .await
            }
            Ok(None) => {}
            Err(e) => return failure(&st, &headers, &e),
        }
    }
    // A portal offering both means: a Pro Santé Connect session gets the same home.
    if st.portal.offers(LoginMeans::Psc) {
        if let Some(secret) = st.cookie(&headers, &Cookie::Session) {
            match crate::sessions::find_session(&st.portals, &st.portal, &secret).await {
                Ok(Some(s)) => {
                    let idnat = s.idnat.clone().unwrap_or_default();
                    return onboarded(&st, &headers, &visit, &idnat, async {
                        psc_home(&st, &visit, &s)
                    })
                    .await;
                }
                Ok(None) => {}
                Err(e) => return failure(&st, &headers, &e),
            }
        }
    }
    let notice = match query.as_deref() {
        Some("deconnecte=1") => Some(Alert::new(
            AlertKind::Success,
            visit.tr().t("account-logged-out"),
        )),
        Some("mot-de-passe=1") => Some(Alert::new(
            AlertKind::Success,
            visit.tr().t("forgot-code-done"),
        )),
        Some("inscription=1") => Some(Alert::new(
            AlertKind::Info,
            visit.tr().t("registration-resume"),
        )),
        _ => None,
    };
    login_form(&st, &visit, "", None, notice, StatusCode::OK)
}

/// The home page, once every onboarding step of the portal is behind the professional
/// (else the first step due, at `{base}/accueil`).
async fn onboarded(
    st: &PortalState,
    headers: &HeaderMap,
    visit: &Visit,
    idnat: &str,
    home: impl std::future::Future<Output = Response>,
) -> Response {
    if st.portal.onboarding.is_empty() {
        return home.await;
    }
    match super::onboarding::due(st, idnat).await {
        Ok(None) => home.await,
        Ok(Some(_)) => visit.redirect(st, &format!("{}/accueil", st.base()), Vec::new()),
        Err(e) => failure(st, headers, &e),
    }
}

async fn logged_in(st: &PortalState, visit: &Visit, s: &session::LocalSession) -> Response {
    let tr = visit.tr();
    let name = super::identity::lookup_idnat(st.portals.store(), &st.portal, &s.account.idnat)
        .await
        .ok()
        .flatten()
        .map(|p| p.full_name());
    let hello = match name {
        Some(n) => tr.t_with("account-hello", &[("name", Arg::from(n.as_str()))]),
        None => tr.t("account-hello-anonymous"),
    };
    let page = Home {
        layout: pages::layout(&visit.ctx, &st.portal, &tr.t("account-home-title")),
        hello,
        logged_in_as: tr.t("account-logged-in-as"),
        email: s.account.email.clone(),
        notice: None,
        services: tiles(st, visit, true),
        logout_action: format!("{}/deconnexion", st.base()),
        csrf: visit.csrf(st),
    };
    visit.page(st, StatusCode::OK, pages::render(&page))
}

/// The portal's services, and "Paramètres" for a local account.
fn tiles(st: &PortalState, visit: &Visit, local: bool) -> Vec<Tile> {
    let mut services: Vec<Tile> = st
        .portal
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| Tile {
            label: s.label.clone(),
            href: s.href.clone(),
            id: format!("service-{}", i + 1),
        })
        .collect();
    if local {
        services.push(Tile {
            label: visit.tr().t("account-settings"),
            href: format!("{}/parametres", st.base()),
            id: "service-parametres".into(),
        });
    }
    services
}

/// The home of a professional logged in with Pro Santé Connect on a portal that offers
/// both means: the same services; the logout is the provider's (RP-initiated, `demo.rs`).
fn psc_home(st: &PortalState, visit: &Visit, s: &crate::sessions::Session) -> Response {
    let tr = visit.tr();
    let claim = |k: &str| s.userinfo.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let name = format!("{} {}", claim("given_name"), claim("family_name"));
    let hello = if name.trim().is_empty() {
        tr.t("account-hello-anonymous")
    } else {
        tr.t_with("account-hello", &[("name", Arg::from(name.trim()))])
    };
    let page = Home {
        layout: pages::layout(&visit.ctx, &st.portal, &tr.t("account-home-title")),
        hello,
        logged_in_as: tr.t("portal-logged-in"),
        email: String::new(),
        notice: None,
        services: tiles(st, visit, false),
        logout_action: format!("{}/logout", st.base()),
        csrf: visit.csrf(st),
    };
    let mut r = visit.page(st, StatusCode::OK, pages::render(&page));
    // The logout redirects to the provider: the CSP must let the form go there.
    if let Ok(csp) = axum::http::HeaderValue::from_str(&format!(
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self' {}",
        crate::demo::origin(st.portals.provider().issuer().as_str())
    )) {
        r.headers_mut()
            .insert(axum::http::header::CONTENT_SECURITY_POLICY, csp);
    }
    r
}

fn login_form(
    st: &PortalState,
    visit: &Visit,
    email: &str,
    error: Option<Alert>,
    notice: Option<Alert>,
    status: StatusCode,
) -> Response {
    let tr = visit.tr();
    let title = tr.t("account-login-title");
    let mut page = visit.form_page(st, title, format!("{}/connexion", st.base()));
    let failed = error.is_some();
    page.alerts.extend(error);
    page.alerts.extend(notice);
    // A registration portal (RPLUS, ACC-08) logs in by an identifier: the old system's at the
    // first login, the e-mail after.
    let by_identifier = st.portal.accounts == AccountPolicy::RegistrationForm;
    let mut email_field = if by_identifier {
        page.intro.push(tr.t("registration-login-intro"));
        Field::new("email", tr.t("registration-login-identifier"))
            .autocomplete("username")
            .hint(tr.t("registration-login-identifier-hint"))
    } else {
        Field::new("email", tr.t("account-email"))
            .kind("email")
            .autocomplete("username")
    }
    .value(email)
    .required();
    let mut password = PasswordInput::new(tr, "mot_de_passe", tr.t("account-password"), false);
    if failed {
        email_field.invalid = true;
        password.field.invalid = true;
    }
    page.blocks = vec![Block::Field(email_field), Block::Password(password)];
    if by_identifier {
        page.blocks.push(Block::Checkbox(Checkbox::new(
            "se_souvenir",
            tr.t("registration-remember-me"),
            false,
        )));
    }
    page.buttons = vec![Button::new(
        tr.t(if by_identifier {
            "registration-login"
        } else {
            "account-login"
        }),
        ButtonKind::Primary,
    )
    .id("se-connecter")];
    page.links = match st.portal.accounts {
        // RPLUS, and the ROR (seed: "vous pouvez vous identifier via un courriel et un mot
        // de passe en cliquant sur le bouton « Mot de passe oublié ? »"): its accounts come
        // after a first Pro Santé Connect login, never from "Créer votre espace".
        AccountPolicy::RegistrationForm | AccountPolicy::AfterPsc => vec![Link::new(
            format!("{}/mot-de-passe-oublie", st.base()),
            tr.t("registration-forgot"),
        )
        .id("mot-de-passe-oublie")],
        _ => vec![
            Link::new(format!("{}/creer", st.base()), tr.t("account-create-space")).id("creer"),
            Link::new(
                format!("{}/identifiants-oublies", st.base()),
                tr.t("account-forgot"),
            )
            .id("identifiants-oublies"),
        ],
    };
    if st.portal.offers(LoginMeans::Psc) {
        let label = match &st.portal.psc_button {
            Some(words) => words.clone(),
            None if by_identifier => tr.t("registration-login-psc"),
            None => tr.t("portal-login-psc"),
        };
        page.links.push(
            Link::new(format!("{}/login", st.base()), label)
                .button(ButtonKind::Secondary)
                .id("psc"),
        );
    }
    visit.page(st, status, pages::render(&page))
}

pub(crate) async fn login(
    State(st): State<PortalState>,
    headers: HeaderMap,
    source: Option<Extension<ClientSource>>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let visit = Visit::new(&st, &headers, st.base());
    let tr = visit.tr();
    let email = form.trimmed("email");
    if !visit.csrf_ok(&st, &form) {
        let alert = Alert::new(AlertKind::Warning, tr.t("account-form-stale"));
        return login_form(&st, &visit, email, Some(alert), None, StatusCode::FORBIDDEN);
    }
    let password = form.get("mot_de_passe");
    if email.is_empty() || password.is_empty() {
        let alert = Alert::new(AlertKind::Error, tr.t("account-login-missing")).id("erreur");
        return login_form(
            &st,
            &visit,
            email,
            Some(alert),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let source = source.map_or_else(ClientSource::unknown, |Extension(s)| s);
    let now = st.portals.now();
    let remember = form.checked("se_souvenir");
    if st.portal.accounts == AccountPolicy::RegistrationForm && !email.contains('@') {
        return legacy_login(&st, &headers, &visit, email, password, &source).await;
    }
    let outcome = accounts::login(
        st.portals.store(),
        st.portals.passwords(),
        &st.portal.slug,
        email,
        password,
        &source,
        now,
    )
    .await;
    match outcome {
        Ok(LoginOutcome::Ok(account)) => {
            // "Se souvenir de moi": a month, and a cookie that outlives the browser.
            let (ttl, max_age) = if remember {
                let t = session::REMEMBERED_SESSION_TTL_SECS;
                (t, Some(t))
            } else {
                (session::LOCAL_SESSION_TTL_SECS, None)
            };
            let how = if remember {
                "password-remembered"
            } else {
                "password"
            };
            let opened = match st.portals.store().pool().acquire().await {
                Ok(mut conn) => session::open_for(&mut conn, &account, how, ttl, now).await,
                Err(e) => Err(e.into()),
            };
            match opened {
                Ok(secret) => visit.redirect(
                    &st,
                    &st.base(),
                    vec![st.set_cookie(&Cookie::Local, &secret, max_age)],
                ),
                Err(e) => failure(&st, &headers, &e),
            }
        }
        Ok(LoginOutcome::Refused) => {
            // ONB-02: on a portal whose accounts follow a first PSC login, say so (the
            // same words whether the e-mail has an account or not).
            let key = match st.portal.accounts {
                AccountPolicy::AfterPsc => "account-login-refused-psc-first",
                AccountPolicy::RegistrationForm => "registration-login-refused",
                _ => "account-login-refused",
            };
            let alert = Alert::new(AlertKind::Error, tr.t(key)).id("erreur");
            login_form(
                &st,
                &visit,
                email,
                Some(alert),
                None,
                StatusCode::UNAUTHORIZED,
            )
        }
        Ok(LoginOutcome::Throttled { retry_after_secs }) => {
            let alert = Alert::new(
                AlertKind::Error,
                tr.t_with(
                    "account-login-throttled",
                    &[(
                        "minutes",
                        Arg::Num(super::code_sender::minutes(retry_after_secs)),
                    )],
                ),
            )
            .id("erreur")
            .link(Link::new(
                format!("{}/mot-de-passe-oublie", st.base()),
                tr.t("account-reset-title"),
            ));
            login_form(
                &st,
                &visit,
                email,
                Some(alert),
                None,
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        Err(e) => failure(&st, &headers, &e),
    }
}

/// A login by an identifier without '@' on a registration portal: the legacy account's
/// first logins (ACC-08), which lead into the registration wizard, or resume it.
async fn legacy_login(
    st: &PortalState,
    headers: &HeaderMap,
    visit: &Visit,
    identifier: &str,
    password: &str,
    source: &ClientSource,
) -> Response {
    let tr = visit.tr();
    let now = st.portals.now();
    let result: Result<Result<Option<crate::legacy::LegacyLogin>, i64>, crate::PortalError> =
        async {
            let store = st.portals.store();
            let portal = &st.portal.slug;
            if let Some(wait) = accounts::login_wait(store, portal, identifier, source, now).await?
            {
                return Ok(Err(wait));
            }
            let found = crate::legacy::login(
                store,
                st.portals.passwords(),
                portal,
                identifier,
                password,
                now,
            )
            .await?;
            let mut conn = store.pool().acquire().await?;
            match found {
                Some(legacy) => {
                    accounts::login_succeeded(&mut conn, portal, identifier, source).await?;
                    drop(conn);
                    Ok(Ok(Some(legacy)))
                }
                None => {
                    accounts::login_failed(&mut conn, portal, identifier, None, source, now)
                        .await?;
                    Ok(Ok(None))
                }
            }
        }
        .await;
    match result {
        Ok(Ok(Some(legacy))) => super::registration::start(st, visit, &legacy)
            .await
            .unwrap_or_else(|e| failure(st, headers, &e)),
        Ok(Ok(None)) => {
            let alert =
                Alert::new(AlertKind::Error, tr.t("registration-login-refused")).id("erreur");
            login_form(
                st,
                visit,
                identifier,
                Some(alert),
                None,
                StatusCode::UNAUTHORIZED,
            )
        }
        Ok(Err(retry_after_secs)) => {
            let alert = Alert::new(
                AlertKind::Error,
                tr.t_with(
                    "account-login-throttled",
                    &[(
                        "minutes",
                        Arg::Num(super::code_sender::minutes(retry_after_secs)),
                    )],
                ),
            )
            .id("erreur");
            login_form(
                st,
                visit,
                identifier,
                Some(alert),
                None,
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        Err(e) => failure(st, headers, &e),
    }
}

pub(crate) async fn logout(
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let visit = Visit::new(&st, &headers, st.base());
    if !visit.csrf_ok(&st, &form) {
        return visit.redirect(&st, &st.base(), Vec::new());
    }
    if let Some(secret) = st.cookie(&headers, &Cookie::Local) {
        let now = st.portals.now();
        let ended = async {
            let mut conn = st.portals.store().pool().acquire().await?;
            if let Some(s) = session::find(&mut conn, &st.portal.slug, &secret, now).await? {
                session::end(&mut conn, &s.id_hash, now).await?;
                caducee_store::audit::record(
                    &mut *conn,
                    now,
                    &caducee_store::audit::AuditEvent {
                        actor: &format!("ps:{}", s.account.idnat),
                        action: "portals.logout",
                        subject: Some(&s.account.idnat),
                        details: serde_json::json!({
                            "portal": st.portal.slug,
                            "account": s.account.id,
                        }),
                        request_id: None,
                    },
                )
                .await
                .map_err(|e| crate::PortalError::Internal(e.to_string()))?;
            }
            Ok::<(), crate::PortalError>(())
        }
        .await;
        if let Err(e) = ended {
            return failure(&st, &headers, &e);
        }
    }
    visit.redirect(
        &st,
        &format!("{}?deconnecte=1", st.base()),
        vec![st.clear_cookie(&Cookie::Local)],
    )
}

/// "Identifiants oubliés ?": the forgotten login e-mail, or the forgotten password.
pub(crate) async fn forgot(State(st): State<PortalState>, headers: HeaderMap) -> Response {
    let visit = Visit::new(&st, &headers, format!("{}/identifiants-oublies", st.base()));
    let tr = visit.tr();
    let page = MessagePage {
        layout: pages::layout(&visit.ctx, &st.portal, &tr.t("account-forgot-title")),
        heading: tr.t("account-forgot-title"),
        alert: Alert::new(AlertKind::Info, tr.t("account-forgot-intro")),
        links: vec![
            Link::new(
                format!("{}/recuperer", st.base()),
                tr.t("account-forgot-email"),
            )
            .button(ButtonKind::Secondary)
            .id("email-oublie"),
            Link::new(
                format!("{}/mot-de-passe-oublie", st.base()),
                tr.t("account-forgot-password"),
            )
            .button(ButtonKind::Secondary)
            .id("mot-de-passe-oublie"),
            Link::new(st.base(), tr.t("account-back-to-login")).id("retour-connexion"),
        ],
    };
    visit.page(&st, StatusCode::OK, pages::render(&page))
}
