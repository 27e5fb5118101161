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
}

#[derive(Template)]
#[template(path = "idp/login.html")]
struct LoginPage<'a> {
    layout: Layout,
    service: &'a str,
    action: &'a str,
    csrf: &'a str,
    error: Option<String>,
    help: Option<ActivationHelp>,
    identifier_type: Select,
    identifier: Field,
    remember: Checkbox,
}

pub(super) fn login(ctx: &PageCtx, form: LoginForm<'_>) -> String {
    let options = IDENTIFIER_TYPES
        .iter()
        .map(|(value, key)| Choice::new(value, ctx.t(key), *value == form.identifier_type))
        .collect();
    let mut identifier = Field::new("identifier", ctx.t("idp-identifier"))
        .value(form.identifier)
        .hint(ctx.t("idp-identifier-hint"))
        .inputmode("numeric")
        .autocomplete("username")
        .required();
    if form.error.is_some() {
        identifier = identifier.invalid_by("erreur");
    }
    render(&LoginPage {
        layout: Layout::new(ctx, ctx.t("idp-login-title")),
        service: form.service,
        action: form.action,
        csrf: form.csrf,
        error: form.error,
        help: form.help,
        identifier_type: Select::new(
            Field::new("identifier_type", ctx.t("idp-identifier-type")),
            options,
        ),
        identifier,
        remember: Checkbox::new("remember", ctx.t("idp-remember"), form.remember),
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
