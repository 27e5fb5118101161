//! The pages of the login (templates/idp), in the wording of the Pro Santé Connect pages
//! the seeds show ("Connectez-vous", "Application e-CPS", "Mémoriser mon identifiant sur
//! ce poste", "Il vous reste N secondes pour valider votre demande d'authentification",
//! "Quitter l'authentification"), built with the page kit (caducee_pages): escaped
//! templates, the one layout and stylesheet, the catalogues' words. The only script is the
//! countdown and status poll of the waiting page, served as a file because the content
//! security policy forbids inline scripts; its words come from the page.

use caducee_pages::{
    Alert, AlertKind, ButtonKind, Checkbox, Choice, Field, Layout, Link, PageCtx, Select, Template,
};

/// The identifier types of the form: (value, catalogue key of the label).
pub(super) const IDENTIFIER_TYPES: &[(&str, &str)] = &[
    ("rpps", "idp-identifier-type-rpps"),
    ("adeli", "idp-identifier-type-adeli"),
    ("idnat", "idp-identifier-type-idnat"),
];

/// A page, or the plain French line that says the service failed (a template's data
/// bug, logged by the kit).
fn render(page: &impl Template) -> String {
    caducee_pages::render(page).unwrap_or_else(|_| {
        "Service momentanément indisponible. Réessayez dans quelques instants.".to_string()
    })
}

/// How to activate an e-CPS, shown under the refusal of a login without one.
pub(super) struct ActivationHelp {
    pub server: String,
    pub identifier: String,
    /// The activation request offered on the page itself (PSC-04), when the identifier
    /// has no e-CPS.
    pub request: Option<ActivationRequest>,
}

/// "Demande d'activation e-CPS" (`idp/login_tab_ecps.html`): the masked coordinates the
/// codes would go to and the form that sends them (to the web authenticator's
/// `/ecps/demande`), or why not (missing coordinates, limits).
pub(super) struct ActivationRequest {
    pub action: String,
    pub identifier: String,
    pub email_hint: String,
    pub sms_hint: String,
    pub refusal: Option<String>,
    /// "Vos coordonnées sont incorrectes ?": eRPPS's coordinates through FranceConnect.
    pub coordinates_href: String,
}

/// The login page's tabs, in the seed's order: (slug of `?tab=`, catalogue key).
pub(super) const TABS: &[(&str, &str)] = &[
    ("ecps", "idp-login-tab-ecps"),
    ("carte", "idp-login-tab-card"),
    ("delegation", "idp-login-tab-delegation"),
    ("cle", "idp-login-tab-key"),
];

/// The tab a `?tab=` value selects (the e-CPS one for anything else).
pub(super) fn tab_slug(asked: Option<&str>) -> &'static str {
    TABS.iter()
        .map(|(slug, _)| *slug)
        .find(|slug| Some(*slug) == asked)
        .unwrap_or("ecps")
}

pub(super) struct LoginForm<'a> {
    pub action: &'a str,
    pub csrf: &'a str,
    pub service: &'a str,
    pub identifier_type: &'a str,
    pub identifier: &'a str,
    pub remember: bool,
    /// A message shown as an alert above the form (translated).
    pub error: Option<String>,
    /// How to activate an e-CPS, under the alert.
    pub help: Option<ActivationHelp>,
    /// The selected tab (a slug of [`TABS`]).
    pub tab: &'static str,
    /// The login page's own URL, to which each tab link adds `?tab=`.
    pub page_url: &'a str,
    /// The data of the other tabs' panels.
    pub card: CardTab,
    pub delegation: DelegationTab,
    pub key: KeyTab,
}

/// One tab of the tab list.
struct TabLink {
    slug: &'static str,
    label: String,
    href: String,
    selected: bool,
}

/// The "Application e-CPS" panel (`idp/login_tab_ecps.html`, as `ecps`).
pub(super) struct EcpsTab {
    pub action: String,
    pub csrf: String,
    pub error: Option<String>,
    pub help: Option<ActivationHelp>,
    pub identifier_type: Select,
    pub identifier: Field,
    pub remember: Checkbox,
}

/// The "Carte CPS" panel (`idp/login_tab_card.html`, as `card`).
#[derive(Default)]
pub(super) struct CardTab {
    /// The card host's login of this flow (`card_url` + `…/login/{flow}/carte`); None when
    /// this server has no card host.
    pub url: Option<String>,
}

/// The "Délégation" panel (`idp/login_tab_delegation.html`, as `delegation`).
pub(super) use crate::delegation::DelegationTab;

/// The "Clé de sécurité" panel (`idp/login_tab_key.html`, as `key`).
#[derive(Default)]
pub(super) struct KeyTab {
    /// A message shown as an alert in the panel (translated).
    pub error: Option<String>,
    /// Where the assertion is posted, where the script asks for a challenge.
    pub action: String,
    pub options_url: String,
    pub csrf: String,
    /// The script of the key ceremonies (webauthn.js).
    pub script_url: String,
    /// The same after typing the identifier: where the assertion is posted, where the
    /// script asks for a challenge limited to that professional's keys.
    pub identified_action: String,
    pub identified_options_url: String,
}

/// The identifier form of the "Clé de sécurité" panel (as `key_id`): the e-CPS tab's
/// fields (PSC-02), with ids of their own (both panels are on the page).
pub(super) struct KeyIdentifier {
    pub identifier_type: Select,
    pub identifier: Field,
    pub remember: Checkbox,
}

#[derive(Template)]
#[template(path = "idp/login.html")]
struct LoginPage<'a> {
    layout: Layout,
    service: &'a str,
    tab: &'static str,
    tabs: Vec<TabLink>,
    ecps: EcpsTab,
    // Read by the owners' includes once they show data.
    #[allow(dead_code)]
    card: CardTab,
    delegation: DelegationTab,
    key: KeyTab,
    key_id: KeyIdentifier,
}

/// Where the login page loads the tabs' script.
pub(super) const TABS_SCRIPT_PATH: &str = "/login/tabs.js";

pub(super) fn login(ctx: &PageCtx, script_base: &str, form: LoginForm<'_>) -> String {
    let options: Vec<Choice> = IDENTIFIER_TYPES
        .iter()
        .map(|(value, key)| Choice::new(value, ctx.t(key), *value == form.identifier_type))
        .collect();
    let mut key_remember = Checkbox::new("remember", ctx.t("idp-remember"), form.remember);
    key_remember.field = key_remember.field.id("cle-remember");
    let key_id = KeyIdentifier {
        identifier_type: Select::new(
            Field::new("identifier_type", ctx.t("idp-identifier-type")).id("cle-identifier_type"),
            options.clone(),
        ),
        identifier: Field::new("identifier", ctx.t("idp-identifier"))
            .id("cle-identifier")
            .value(form.identifier)
            .hint(ctx.t("idp-identifier-hint"))
            .inputmode("numeric")
            .autocomplete("username")
            .required(),
        remember: key_remember,
    };
    let mut identifier = Field::new("identifier", ctx.t("idp-identifier"))
        .value(form.identifier)
        .hint(ctx.t("idp-identifier-hint"))
        .inputmode("numeric")
        .autocomplete("username")
        .required();
    if form.error.is_some() {
        identifier = identifier.invalid_by("erreur");
    }
    let tabs = TABS
        .iter()
        .map(|(slug, key)| TabLink {
            slug,
            label: ctx.t(key),
            href: format!("{}?tab={slug}", form.page_url),
            selected: *slug == form.tab,
        })
        .collect();
    render(&LoginPage {
        layout: Layout::new(ctx, ctx.t("idp-login-title"))
            .with_script(format!("{script_base}{TABS_SCRIPT_PATH}"))
            .with_script(form.key.script_url.clone()),
        service: form.service,
        tab: form.tab,
        tabs,
        ecps: EcpsTab {
            action: form.action.to_string(),
            csrf: form.csrf.to_string(),
            error: form.error,
            help: form.help,
            identifier_type: Select::new(
                Field::new("identifier_type", ctx.t("idp-identifier-type")),
                options,
            ),
            identifier,
            remember: Checkbox::new("remember", ctx.t("idp-remember"), form.remember),
        },
        card: form.card,
        delegation: form.delegation,
        key: form.key,
        key_id,
    })
}

pub(super) struct Waiting<'a> {
    pub service: &'a str,
    pub code: &'a str,
    pub seconds_left: i64,
    pub status_url: &'a str,
    pub continue_url: &'a str,
    pub cancel_url: &'a str,
    pub csrf: &'a str,
    pub script_url: &'a str,
}

#[derive(Template)]
#[template(path = "idp/waiting.html")]
struct WaitingPage<'a> {
    layout: Layout,
    service: &'a str,
    code: &'a str,
    seconds_left: i64,
    status_url: &'a str,
    continue_url: &'a str,
    cancel_url: &'a str,
    csrf: &'a str,
}

pub(super) fn waiting(ctx: &PageCtx, w: &Waiting<'_>) -> String {
    render(&WaitingPage {
        layout: Layout::new(ctx, ctx.t("idp-waiting-title")).with_script(w.script_url),
        service: w.service,
        code: w.code,
        seconds_left: w.seconds_left.max(0),
        status_url: w.status_url,
        continue_url: w.continue_url,
        cancel_url: w.cancel_url,
        csrf: w.csrf,
    })
}

#[derive(Template)]
#[template(path = "idp/message.html")]
struct MessagePage {
    layout: Layout,
    alert: Alert,
    link: Option<Link>,
}

/// A page that explains what happened and offers a way forward: title and text already
/// translated; the link as (href, label).
pub(super) fn message(
    ctx: &PageCtx,
    title: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> String {
    render(&MessagePage {
        layout: Layout::new(ctx, title),
        alert: Alert::new(AlertKind::Error, text),
        link: link.map(|(href, label)| Link::new(href, label).button(ButtonKind::Primary)),
    })
}

#[derive(Template)]
#[template(path = "idp/confirm_logout.html")]
struct ConfirmLogout<'a> {
    layout: Layout,
    action: &'a str,
    csrf: &'a str,
    hidden: &'a [(&'a str, &'a str)],
}

/// The logout confirmation (a request without `id_token_hint` could come from any page).
pub(super) fn confirm_logout(
    ctx: &PageCtx,
    action: &str,
    csrf: &str,
    hidden: &[(&str, &str)],
) -> String {
    render(&ConfirmLogout {
        layout: Layout::new(ctx, ctx.t("idp-logout-title")),
        action,
        csrf,
        hidden,
    })
}

/// The waiting page's script: a live countdown, and a poll of the request's status that
/// moves on as soon as the phone answered (or the time is up).
const SCRIPT: &str = r#"(function () {
  var box = document.getElementById('attente');
  var left = document.getElementById('secondes');
  var etat = document.getElementById('etat');
  if (!box || !left) return;
  var deadline = Date.now() + parseInt(left.textContent, 10) * 1000;
  var done = false;
  function go() { if (!done) { done = true; window.location.href = box.dataset.continue; } }
  function tick() {
    var s = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    left.textContent = String(s);
    if (s === 30 && etat) etat.textContent = box.dataset.thirty;
    if (s <= 0) { go(); return; }
    setTimeout(tick, 1000);
  }
  function poll() {
    fetch(box.dataset.status, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        if (j.status === 'pending') {
          deadline = Date.now() + j.seconds_left * 1000;
          setTimeout(poll, 1000);
        } else {
          if (etat) etat.textContent = j.status === 'approved' ? box.dataset.approved : box.dataset.ended;
          go();
        }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  tick();
  setTimeout(poll, 1000);
})();
"#;

/// The login page's tabs (WAI-ARIA tabs pattern), served as a file.
const TABS_SCRIPT: &str = include_str!("../../assets/login-tabs.js");

pub(super) async fn tabs_script() -> impl axum::response::IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        TABS_SCRIPT,
    )
}

pub(super) async fn script() -> impl axum::response::IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        SCRIPT,
    )
}
