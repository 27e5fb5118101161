//! The pages of a portal, in French, inside the shared layout of `caducee_core::html`
//! (language, landmarks, contrast, focus visible, readable on a phone). Every value that
//! came from the provider is escaped: a claim is data, never markup.

use crate::sessions::Session;
use crate::PortalConfig;
use caducee_core::html::{escape, page};
use caducee_core::nomenclature::Nomenclature;
use serde_json::Value;

/// What the shared layout lacks for a portal: buttons, notices, claim blocks. Inline, as
/// the layout's own style (no asset pipeline); the CSP allows inline styles only.
const STYLE: &str = "<style>
.bouton,.bouton-psc{display:inline-block;padding:.75rem 1.25rem;border-radius:4px;font-size:1rem;font-weight:bold;text-decoration:none;border:2px solid var(--bleu);cursor:pointer;min-height:44px}
.bouton-psc{background:var(--bleu);color:#fff}
.bouton{background:#fff;color:var(--bleu)}
.bouton-psc:hover,.bouton:hover{text-decoration:underline}
.info{border-left:4px solid #18753c;background:#b8fec9;padding:.75rem 1rem}
.erreur{border-left:4px solid #ce0500;background:#ffe9e9;padding:.75rem 1rem}
dl.identite{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
dl.identite dt{font-weight:bold}dl.identite dd{margin:0;overflow-wrap:anywhere}
.cartes h3{margin:0 0 .5rem;font-size:1.0625rem}
form.actions{margin:1.5rem 0}
@media (max-width:40rem){dl.identite{grid-template-columns:1fr;gap:0}dl.identite dd{margin-bottom:.5rem}}
pre{background:var(--fond);padding:.75rem;overflow:auto;max-height:30rem;font-size:.8125rem;white-space:pre-wrap;word-break:break-word}
details{margin:.5rem 0}summary{cursor:pointer;font-weight:bold;padding:.25rem 0}
.actions{display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
.reference{color:var(--gris);font-size:.875rem}
</style>";

fn base(portal: &PortalConfig) -> String {
    format!("/espaces/{}", portal.slug)
}

/// The home page of a visitor who is not logged in; `notice` is a status line (after a
/// logout).
pub(crate) fn anonymous(portal: &PortalConfig, notice: Option<&str>) -> String {
    let base = base(portal);
    let notice = notice
        .map(|n| format!("<p class=\"info\" role=\"status\">{}</p>", escape(n)))
        .unwrap_or_default();
    let body = format!(
        "{STYLE}<h1>{name}</h1>{notice}\
<p>Cet espace montre ce qu'une application partenaire reçoit quand un professionnel de santé \
se connecte avec Pro Santé Connect : son identité, ses activités et les jetons émis.</p>\
<p><a class=\"bouton-psc\" href=\"{base}/login\">Se connecter avec Pro Santé Connect</a></p>\
<h2>Pour essayer</h2>\
<ol><li>Activez l'e-CPS d'un professionnel de démonstration, par exemple Julie Martin \
(RPPS 19999900012) : <code>caducee ecps activate</code> ; les codes d'activation s'affichent \
sur <a href=\"/dev/outbox\">la page des messages envoyés</a>.</li>\
<li>Cliquez sur « Se connecter avec Pro Santé Connect », choisissez l'application e-CPS et \
saisissez le numéro RPPS.</li>\
<li>Validez sur l'e-CPS le code affiché (<code>caducee ecps watch</code>).</li></ol>",
        name = escape(portal.name),
    );
    page(portal.name, &body)
}

/// A string claim, empty when absent or not a string.
fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The array at `key`, empty when absent.
fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// "Label (code)" from a nomenclature, the bare code when unknown, "—" when empty.
fn coded(table: Nomenclature, code: &str) -> String {
    match (code.is_empty(), table.display(code)) {
        (true, _) => "—".to_string(),
        (false, Some(label)) => format!("{} ({})", escape(label), escape(code)),
        (false, None) => escape(code),
    }
}

fn pretty(v: &Value) -> String {
    escape(&serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()))
}

/// The home page of a logged-in professional: who they are, their activities, and every
/// claim received.
pub(crate) fn logged_in(portal: &PortalConfig, s: &Session) -> String {
    let base = base(portal);
    let ui = &s.userinfo;
    let given = text(ui, "given_name");
    let family = text(ui, "family_name");
    let idnat = s
        .idnat
        .as_deref()
        .or_else(|| ui.get("SubjectNameID").and_then(Value::as_str))
        .unwrap_or("");
    // The RPPS number is the idNat without its leading type digit 8.
    let rpps = idnat
        .strip_prefix('8')
        .filter(|r| r.len() == 11)
        .unwrap_or("—");
    let auth_mode = s
        .access_token_claims
        .get("authMode")
        .or_else(|| ui.get("authMode"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let acr = text(&s.id_token_claims, "acr");

    let exercices = ui
        .get("SubjectRefPro")
        .map(|r| list(r, "exercices"))
        .unwrap_or(&[]);
    let professions: Vec<String> = exercices
        .iter()
        .map(|e| {
            let savoir_faire = text(e, "codeSavoirFaire");
            let mut p = coded(Nomenclature::G15Profession, text(e, "codeProfession"));
            if !savoir_faire.is_empty() {
                p.push_str(&format!(" — savoir-faire {}", escape(savoir_faire)));
            }
            p
        })
        .collect();
    let professions = if professions.is_empty() {
        "—".to_string()
    } else {
        professions.join("<br>")
    };

    // One card per activity rather than a table: readable on a phone without scrolling
    // sideways.
    let mut cards = String::new();
    for activity in exercices.iter().flat_map(|e| list(e, "activities")) {
        let street = [
            "numeroVoie",
            "indiceRepetitionVoie",
            "codeTypeDeVoie",
            "libelleVoie",
        ]
        .iter()
        .map(|k| text(activity, k))
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
        let town = [text(activity, "codePostal"), text(activity, "bureauCedex")]
            .iter()
            .filter(|t| !t.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let address = [street, town]
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        let structure = text(activity, "raisonSocialeSite");
        cards.push_str(&format!(
            "<li><h3>{}</h3><dl class=\"identite\"><dt>Adresse</dt><dd>{}</dd>\
<dt>Mode d'exercice</dt><dd>{}</dd><dt>Secteur</dt><dd>{}</dd>\
<dt>Structure (identifiant)</dt><dd>{}</dd></dl></li>",
            escape(if structure.is_empty() {
                "Structure sans nom"
            } else {
                structure
            }),
            escape(if address.is_empty() { "—" } else { &address }),
            coded(
                Nomenclature::R23ModeExercice,
                text(activity, "codeModeExercice")
            ),
            coded(
                Nomenclature::R02SecteurActivite,
                text(activity, "codeSecteurDactivite")
            ),
            escape(match text(activity, "identifiantTechniqueDeLaStructure") {
                "" => "—",
                id => id,
            }),
        ));
    }
    let activities = if cards.is_empty() {
        "<p>Aucune activité transmise.</p>".to_string()
    } else {
        format!("<ul class=\"cartes\" aria-label=\"Activités transmises par Pro Santé Connect\">{cards}</ul>")
    };

    let body = format!(
        "{STYLE}<h1>{name}</h1>\
<p class=\"info\" role=\"status\">Vous êtes connecté(e) avec Pro Santé Connect.</p>\
<h2 id=\"identite\">Bonjour {given} {family}</h2>\
<dl class=\"identite\" aria-labelledby=\"identite\">\
<dt>Nom</dt><dd id=\"nom\">{given} {family}</dd>\
<dt>Identifiant national (idNat)</dt><dd id=\"idnat\">{idnat}</dd>\
<dt>RPPS</dt><dd id=\"rpps\">{rpps}</dd>\
<dt>Profession</dt><dd id=\"profession\">{professions}</dd>\
<dt>Authentification</dt><dd>{auth_mode} (niveau {acr})</dd>\
</dl>\
<form method=\"post\" action=\"{base}/logout\" class=\"actions\">\
<button type=\"submit\" class=\"bouton\" id=\"se-deconnecter\">Se déconnecter</button></form>\
<h2>Activités</h2>{activities}\
<h2>Données reçues</h2>\
<p>Ce que l'espace a reçu de Pro Santé Connect, après vérification des signatures.</p>\
<details><summary>Jeton d'identité (ID token)</summary><pre id=\"id-token\" tabindex=\"0\">{id_claims}</pre></details>\
<details><summary>Jeton d'accès (access token)</summary><pre id=\"access-token\" tabindex=\"0\">{at_claims}</pre></details>\
<details><summary>UserInfo</summary><pre id=\"userinfo\" tabindex=\"0\">{userinfo}</pre></details>",
        name = escape(portal.name),
        given = escape(given),
        family = escape(family),
        idnat = escape(idnat),
        rpps = escape(rpps),
        auth_mode = escape(if auth_mode.is_empty() { "—" } else { auth_mode }),
        acr = escape(if acr.is_empty() { "—" } else { acr }),
        id_claims = pretty(&s.id_token_claims),
        at_claims = pretty(&s.access_token_claims),
        userinfo = pretty(&s.userinfo),
    );
    page(portal.name, &body)
}

/// A failure explained in French, with the way forward: try again, or back to the portal.
/// The request id lets support find the log line.
pub(crate) fn error(
    portal: &PortalConfig,
    title: &str,
    message: &str,
    request_id: Option<&str>,
) -> String {
    let base = base(portal);
    let reference = request_id
        .map(|id| {
            format!(
                "<p class=\"reference\">Référence à donner au support : <code>{}</code></p>",
                escape(id)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "{STYLE}<h1>{title}</h1>\
<p class=\"erreur\" role=\"alert\">{message}</p>\
<p class=\"actions\"><a class=\"bouton-psc\" href=\"{base}/login\">Réessayer</a> \
<a href=\"{base}\">Retour à l'accueil de l'espace</a></p>{reference}",
        title = escape(title),
        message = escape(message),
    );
    page(&format!("{title} — {}", portal.name), &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn session(userinfo: Value) -> Session {
        Session {
            sid: Some("s".into()),
            sub: "f:x:819999900012".into(),
            idnat: Some("819999900012".into()),
            id_token: String::new(),
            id_token_claims: json!({"acr": "eidas1", "note": "<script>"}),
            access_token_claims: json!({"authMode": "MOBILE"}),
            userinfo,
        }
    }

    #[test]
    fn psc_01_claims_are_shown_escaped_with_labels() {
        let html = logged_in(
            &crate::DEMO,
            &session(json!({
                "given_name": "Julie", "family_name": "MARTIN <b>",
                "SubjectRefPro": {"exercices": [{"codeProfession": "10", "activities": [
                    {"raisonSocialeSite": "CABINET", "numeroVoie": "1", "libelleVoie": "RUE X",
                     "codePostal": "75009", "bureauCedex": "PARIS", "codeModeExercice": "L",
                     "codeSecteurDactivite": "SA07"}]}]}
            })),
        );
        assert!(html.contains("Julie MARTIN &lt;b&gt;"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("19999900012"));
        assert!(html.contains("Médecin (10)"), "{html}");
        assert!(html.contains("1 RUE X, 75009 PARIS"));
        assert!(html.contains("MOBILE (niveau eidas1)"));
    }

    #[test]
    fn missing_claims_never_break_the_page() {
        let html = logged_in(&crate::DEMO, &session(json!({"SubjectRefPro": 3})));
        assert!(html.contains("Aucune activité transmise"));
        let html = error(&crate::DEMO, "Titre", "<x>", Some("r-1"));
        assert!(html.contains("role=\"alert\">&lt;x&gt;"));
        assert!(html.contains("/espaces/demo/login\">Réessayer"));
        assert!(html.contains("r-1"));
    }
}
