//! The pages of a portal (templates/portals), built with the page kit (caducee_pages):
//! the one layout and stylesheet, the catalogues' words, escaped templates. Every value
//! that came from the provider is data, never markup: the templates escape it.

use crate::sessions::Session;
use crate::PortalConfig;
use caducee_core::nomenclature::Nomenclature;
use caducee_pages::{Arg, Layout, PageCtx, Template, Tr};
use serde_json::Value;

fn base(portal: &PortalConfig) -> String {
    portal.base()
}

/// A page, or the plain French line that says the service failed (a template's data
/// bug, logged by the kit).
fn render(page: &impl Template) -> String {
    caducee_pages::render(page).unwrap_or_else(|_| {
        "Service momentanément indisponible. Réessayez dans quelques instants.".to_string()
    })
}

#[derive(Template)]
#[template(path = "portals/anonymous.html")]
struct Anonymous<'a> {
    layout: Layout,
    name: &'a str,
    base: String,
    notice: Option<String>,
}

/// The home page of a visitor who is not logged in; `logged_out`: back from a logout.
pub(crate) fn anonymous(ctx: &PageCtx, portal: &PortalConfig, logged_out: bool) -> String {
    render(&Anonymous {
        layout: Layout::new(ctx, portal.name.clone()),
        name: &portal.name,
        base: base(portal),
        notice: logged_out.then(|| ctx.t("portal-logged-out")),
    })
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
        (false, Some(label)) => format!("{label} ({code})"),
        (false, None) => code.to_string(),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "—"
    } else {
        s
    }
}

/// One activity, as its card shows it.
struct ActivityCard {
    structure: String,
    address: String,
    mode: String,
    sector: String,
    structure_id: String,
}

#[derive(Template)]
#[template(path = "portals/logged_in.html")]
struct LoggedIn<'a> {
    layout: Layout,
    name: &'a str,
    base: String,
    hello: String,
    full_name: String,
    idnat: &'a str,
    rpps: &'a str,
    professions: Vec<String>,
    auth: String,
    activities: Vec<ActivityCard>,
    id_claims: String,
    at_claims: String,
    userinfo: String,
}

fn activity_card(tr: &Tr, activity: &Value) -> ActivityCard {
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
    ActivityCard {
        structure: if structure.is_empty() {
            tr.t("portal-structure-unnamed")
        } else {
            structure.to_string()
        },
        address: or_dash(&address).to_string(),
        mode: coded(
            Nomenclature::R23ModeExercice,
            text(activity, "codeModeExercice"),
        ),
        sector: coded(
            Nomenclature::R02SecteurActivite,
            text(activity, "codeSecteurDactivite"),
        ),
        structure_id: or_dash(text(activity, "identifiantTechniqueDeLaStructure")).to_string(),
    }
}

/// The home page of a logged-in professional: who they are, their activities, and every
/// claim received.
pub(crate) fn logged_in(ctx: &PageCtx, portal: &PortalConfig, s: &Session) -> String {
    let ui = &s.userinfo;
    let given = text(ui, "given_name");
    let family = text(ui, "family_name");
    let full_name = format!("{given} {family}");
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
    let mut professions: Vec<String> = exercices
        .iter()
        .map(|e| {
            let savoir_faire = text(e, "codeSavoirFaire");
            let mut p = coded(Nomenclature::G15Profession, text(e, "codeProfession"));
            if !savoir_faire.is_empty() {
                p.push_str(" — ");
                p.push_str(
                    &ctx.tr
                        .t_with("portal-know-how", &[("code", Arg::from(savoir_faire))]),
                );
            }
            p
        })
        .collect();
    if professions.is_empty() {
        professions.push("—".to_string());
    }
    // One card per activity rather than a table: readable on a phone without scrolling
    // sideways.
    let activities = exercices
        .iter()
        .flat_map(|e| list(e, "activities"))
        .map(|a| activity_card(&ctx.tr, a))
        .collect();
    render(&LoggedIn {
        layout: Layout::new(ctx, portal.name.clone()),
        name: &portal.name,
        base: base(portal),
        hello: ctx
            .tr
            .t_with("portal-hello", &[("name", Arg::from(full_name.as_str()))]),
        full_name,
        idnat,
        rpps,
        professions,
        auth: ctx.tr.t_with(
            "portal-auth-level",
            &[
                ("mode", Arg::from(or_dash(auth_mode))),
                ("acr", Arg::from(or_dash(acr))),
            ],
        ),
        activities,
        id_claims: pretty(&s.id_token_claims),
        at_claims: pretty(&s.access_token_claims),
        userinfo: pretty(&s.userinfo),
    })
}

#[derive(Template)]
#[template(path = "portals/error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    heading: &'a str,
    message: &'a str,
    base: String,
    request_id: Option<&'a str>,
}

/// A failure explained, with the way forward: try again, or back to the portal. The
/// request id lets support find the log line.
pub(crate) fn error(
    ctx: &PageCtx,
    portal: &PortalConfig,
    title: &str,
    message: &str,
    request_id: Option<&str>,
) -> String {
    render(&ErrorPage {
        layout: Layout::new(ctx, format!("{title} — {}", portal.name)),
        heading: title,
        message,
        base: base(portal),
        request_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> PageCtx {
        PageCtx::new(caducee_pages::Locale::Fr, "/espaces/demo")
    }

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
            &ctx(),
            &crate::config::demo(),
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
        let html = logged_in(
            &ctx(),
            &crate::config::demo(),
            &session(json!({"SubjectRefPro": 3})),
        );
        assert!(html.contains("Aucune activité transmise"));
        let html = error(&ctx(), &crate::config::demo(), "Titre", "<x>", Some("r-1"));
        assert!(html.contains("role=\"alert\"><p>&lt;x&gt;</p>"), "{html}");
        assert!(html.contains("/espaces/demo/login\">Réessayer"));
        assert!(html.contains("r-1"));
    }
}
