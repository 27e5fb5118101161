//! The HTML of the login pages, in the wording of the Pro Santé Connect pages the seeds
//! show ("Connectez-vous", "Application e-CPS", "Mémoriser mon identifiant sur ce poste",
//! "Il vous reste N secondes pour valider votre demande d'authentification", "Quitter
//! l'authentification"). Server-rendered, accessible (labels, landmarks, live regions),
//! readable on a phone; the only script is the countdown and status poll of the waiting
//! page, served as a file because the content security policy forbids inline scripts.
//! Everything interpolated is escaped here; callers pass plain text.

use caducee_core::html::{escape, page};

/// The identifier types of the form: (value, label).
pub(super) const IDENTIFIER_TYPES: &[(&str, &str)] = &[
    ("rpps", "N° RPPS"),
    ("adeli", "N° ADELI"),
    ("idnat", "Identifiant national (idNat)"),
];

pub(super) struct LoginForm<'a> {
    pub action: &'a str,
    pub csrf: &'a str,
    pub service: &'a str,
    pub identifier_type: &'a str,
    pub identifier: &'a str,
    pub remember: bool,
    /// A French message shown as an alert above the form.
    pub error: Option<&'a str>,
    /// Extra HTML under the alert (already safe), e.g. how to activate an e-CPS.
    pub help_html: Option<String>,
}

pub(super) fn login(form: &LoginForm<'_>) -> String {
    let options: String = IDENTIFIER_TYPES
        .iter()
        .map(|(value, label)| {
            let selected = if *value == form.identifier_type {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{value}\"{selected}>{}</option>",
                escape(label)
            )
        })
        .collect();
    let alert = match form.error {
        Some(msg) => format!(
            "<div class=\"alerte\" role=\"alert\" id=\"erreur\"><p>{}</p>{}</div>",
            escape(msg),
            form.help_html.as_deref().unwrap_or("")
        ),
        None => String::new(),
    };
    let described = if form.error.is_some() {
        " aria-describedby=\"erreur\" aria-invalid=\"true\""
    } else {
        ""
    };
    let checked = if form.remember { " checked" } else { "" };
    let body = format!(
        "{STYLE}<h1>Connectez-vous</h1>\
<p class=\"service\">pour accéder à <strong>{service}</strong></p>\
<nav aria-label=\"Moyens de connexion\"><ul class=\"onglets\" role=\"tablist\">\
<li role=\"tab\" aria-selected=\"true\" class=\"actif\">Application e-CPS</li></ul></nav>\
<section class=\"panneau\" role=\"tabpanel\" aria-label=\"Application e-CPS\">\
{alert}\
<p>Vous pouvez vous connecter à ce service en utilisant <strong>l'application mobile e-CPS</strong>.</p>\
<p>Pour ce faire, sélectionnez un type d'identifiant de connexion et saisissez votre identifiant \
puis cliquez sur <strong>Se connecter avec e-CPS</strong>.</p>\
<form method=\"post\" action=\"{action}\" novalidate>\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<p><label for=\"identifier_type\">Type d'identifiant</label><br>\
<select id=\"identifier_type\" name=\"identifier_type\">{options}</select></p>\
<p><label for=\"identifier\">Votre identifiant</label><br>\
<input id=\"identifier\" name=\"identifier\" value=\"{identifier}\" inputmode=\"numeric\" \
autocomplete=\"username\" required{described}><br>\
<small>RPPS : 11 chiffres, avec ou sans le « 8 » devant.</small></p>\
<p><input type=\"checkbox\" id=\"remember\" name=\"remember\" value=\"1\"{checked}> \
<label for=\"remember\">Mémoriser mon identifiant sur ce poste</label></p>\
<p><button type=\"submit\" id=\"se-connecter\">Se connecter avec e-CPS</button></p>\
</form>\
<p class=\"aide\">Si vous constatez un échec répété des connexions avec votre e-CPS, vérifiez \
l'heure de votre téléphone. Votre e-CPS a une durée de validité de 3 ans à partir de sa date \
d'activation ; elle doit ensuite être réactivée.</p>\
</section>",
        service = escape(form.service),
        action = escape(form.action),
        csrf = escape(form.csrf),
        identifier = escape(form.identifier),
    );
    page("Connexion — Pro Santé Connect", &body)
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

pub(super) fn waiting(w: &Waiting<'_>) -> String {
    let body = format!(
        "{STYLE}<h1>Authentification</h1>\
<p class=\"service\">pour accéder à <strong>{service}</strong></p>\
<h2>Vérification de votre identité en 2 étapes</h2>\
<p>Après avoir accepté la notification ou ouvert l'application e-CPS, validez la demande \
d'authentification sur votre téléphone portable, en réalisant les actions suivantes :</p>\
<ol><li>Saisie de votre mot de passe</li>\
<li>Sélection du code affiché ci-dessous parmi les trois codes proposés</li></ol>\
<div id=\"attente\" data-status=\"{status}\" data-continue=\"{cont}\">\
<p class=\"code\" aria-label=\"Code à sélectionner sur votre téléphone\"><strong id=\"code-ecps\">{code}</strong></p>\
<p>Il vous reste <span id=\"secondes\" role=\"timer\">{left}</span> secondes pour valider votre \
demande d'authentification</p>\
<p id=\"etat\" role=\"status\" aria-live=\"polite\"></p></div>\
<noscript><p><a href=\"{cont}\">J'ai validé la demande sur mon téléphone</a></p></noscript>\
<form method=\"post\" action=\"{cancel}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<button type=\"submit\" class=\"lien\">Quitter l'authentification</button></form>\
<script src=\"{script}\"></script>",
        service = escape(w.service),
        status = escape(w.status_url),
        cont = escape(w.continue_url),
        code = escape(w.code),
        left = w.seconds_left.max(0),
        cancel = escape(w.cancel_url),
        csrf = escape(w.csrf),
        script = escape(w.script_url),
    );
    page("Authentification — Pro Santé Connect", &body)
}

/// A page that explains what happened and offers a way forward.
pub(super) fn message(title: &str, text: &str, link: Option<(&str, &str)>) -> String {
    let link = link
        .map(|(href, label)| {
            format!(
                "<p><a class=\"bouton\" href=\"{}\">{}</a></p>",
                escape(href),
                escape(label)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "{STYLE}<h1>{}</h1><div role=\"alert\"><p>{}</p></div>{link}",
        escape(title),
        escape(text)
    );
    page(title, &body)
}

/// The logout confirmation (a request without `id_token_hint` could come from any page).
pub(super) fn confirm_logout(action: &str, csrf: &str, hidden: &[(&str, &str)]) -> String {
    let fields: String = hidden
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            )
        })
        .collect();
    let body = format!(
        "{STYLE}<h1>Déconnexion</h1><p>Voulez-vous vous déconnecter de Pro Santé Connect ? \
Vous serez déconnecté de toutes les applications ouvertes avec cette session.</p>\
<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">{fields}\
<input type=\"hidden\" name=\"confirm\" value=\"1\">\
<button type=\"submit\" id=\"se-deconnecter\">Me déconnecter</button></form>",
        escape(action),
        escape(csrf)
    );
    page("Déconnexion — Pro Santé Connect", &body)
}

/// Styles of the login pages (inline `<style>` is allowed by the policy; scripts are not).
const STYLE: &str = "<style>\
.onglets{display:flex;flex-wrap:wrap;gap:.25rem;padding:0;margin:1rem 0 0;list-style:none;border-bottom:2px solid var(--bleu)}\
.onglets li{padding:.5rem 1rem;background:var(--fond)}.onglets .actif{background:var(--bleu);color:#fff;font-weight:bold}\
.panneau{border:1px solid #ddd;border-top:0;padding:1rem;max-width:36rem}\
label{font-weight:bold}input,select{font-size:1rem;padding:.5rem;max-width:100%;width:20rem}\
input[type=checkbox]{width:auto}\
button,.bouton{font-size:1rem;padding:.75rem 1.5rem;background:var(--bleu);color:#fff;border:0;border-radius:4px;cursor:pointer;text-decoration:none;display:inline-block}\
button.lien{background:none;color:var(--bleu);text-decoration:underline;padding:0}\
.alerte{border-left:4px solid #ce0500;background:#fee;padding:.5rem 1rem;margin:1rem 0}\
.code{font-size:3rem;letter-spacing:.5rem;margin:1rem 0}.service{color:var(--gris)}\
.aide{font-size:.875rem;color:var(--gris)}\
</style>";

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
    if (s === 30 && etat) etat.textContent = 'Il vous reste 30 secondes.';
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
          if (etat) etat.textContent = j.status === 'approved' ? 'Demande validée.' : 'Demande terminée.';
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
