//! The kit's own tests: the HTML of each component (escaping, the aria wiring), the
//! layout, and the catalogues (every French key in English, every key used).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::*;
use askama::Template;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"{% import "kit/components.html" as c %}{% call c::error_summary(summary) %}{% call c::field(field) %}{% call c::field(code) %}{% call c::select(select) %}{% call c::checkbox(checkbox) %}{% call c::radios(radios) %}{% call c::password(password) %}{% call c::alert(alert) %}{% call c::button(button) %}{% call c::link(link) %}{% call c::terms(terms) %}{% call c::steps(steps) %}"#
)]
struct Everything {
    summary: ErrorSummary,
    field: Field,
    code: Field,
    select: Select,
    checkbox: Checkbox,
    radios: RadioGroup,
    password: PasswordInput,
    alert: Alert,
    button: Button,
    link: Link,
    terms: TermsBox,
    steps: Steps,
}

fn everything(tr: &Tr) -> String {
    let field = Field::new("birth_date", "Date de naissance <b>")
        .hint("Format : 17/06/2021")
        .value("\"><script>alert(1)</script>")
        .error(Some("Saisissez votre date de naissance & réessayez".into()))
        .required();
    let code = Field::code("code", "Saisir le code");
    let mut radios = RadioGroup::new(
        "channel",
        "Veuillez cocher le moyen de transmission de ce code.",
        vec![
            Choice::new("sms", "+3378***22", false),
            Choice::new("email", "tu***01@cn.medecin.fr", false),
        ],
    );
    radios.error = Some("Choisissez où recevoir le code".into());
    let summary = ErrorSummary::new(tr)
        .field(&field)
        .field(&code)
        .radios(&radios);
    Everything {
        summary,
        field,
        code,
        select: Select::new(
            Field::new("kind", "Type"),
            vec![
                Choice::new("rpps", "N° RPPS", true),
                Choice::new("a\"", "<x>", false),
            ],
        ),
        checkbox: Checkbox::new("remember", "Mémoriser", true),
        radios,
        password: PasswordInput::new(tr, "password", "Mot de passe", true)
            .strength(tr, 0)
            .rule("12 caractères au moins", true)
            .rule("Pas votre nom", false),
        alert: Alert::new(
            AlertKind::Error,
            "Un compte est déjà associé à ce numéro RPPS",
        )
        .link(Link::new("/recup?a=1&b=2", "récupération de mot de passe")),
        button: Button::new("Valider", ButtonKind::Primary).id("valider"),
        link: Link::new("/retour", "Retour").button(ButtonKind::Tertiary),
        terms: TermsBox::new(
            "terms",
            vec![
                TermsPart::Text("J'ai lu et j'accepte les ".into()),
                TermsPart::Link(Link::new("/cgu", "Conditions générales d'utilisation")),
                TermsPart::Text(".".into()),
            ],
            false,
        )
        .with_text("Conditions", vec!["Article 1 <i>".into()]),
        steps: Steps::new(tr, 2, 4, "Sécuriser").next(tr, "Finaliser"),
    }
    .render()
    .unwrap()
}

/// The attributes of the first tag that contains `needle`.
fn tag_with<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in {html}"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

#[test]
fn components_escape_what_they_show() {
    let html = everything(&Tr::new(Locale::Fr));
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("value=\"&#34;&#62;&#60;script&#62;")
            || html.contains("value=\"&quot;&gt;&lt;script&gt;"),
        "{html}"
    );
    assert!(
        html.contains("Date de naissance &#60;b&#62;")
            || html.contains("Date de naissance &lt;b&gt;")
    );
    assert!(!html.contains("<i>") && !html.contains("<x>"));
    assert!(
        html.contains("href=\"/recup?a=1&#38;b=2\"")
            || html.contains("href=\"/recup?a=1&amp;b=2\"")
    );
}

#[test]
fn fields_are_labelled_and_described() {
    let html = everything(&Tr::new(Locale::Fr));
    assert!(html.contains("<label for=\"birth_date\">"));
    let input = tag_with(&html, "id=\"birth_date\"");
    assert!(
        input.contains("aria-describedby=\"birth_date-erreur birth_date-aide\""),
        "{input}"
    );
    assert!(input.contains("aria-invalid=\"true\""));
    assert!(input.contains("required"));
    assert!(html.contains("id=\"birth_date-aide\">Format : 17/06/2021</p>"));
    assert!(html.contains("id=\"birth_date-erreur\">Saisissez"));
    // A field without error or hint has neither attribute.
    let code = tag_with(&html, "id=\"code\"");
    assert!(
        !code.contains("aria-describedby") && !code.contains("aria-invalid"),
        "{code}"
    );
    assert!(code.contains("inputmode=\"numeric\""));
    assert!(code.contains("autocomplete=\"one-time-code\""));
    assert!(code.contains("maxlength=\"6\"") && code.contains("pattern=\"[0-9]{6}\""));
    let remember = tag_with(&html, "id=\"remember\"");
    assert!(remember.contains("checked") && remember.contains("type=\"checkbox\""));
    assert!(html.contains("<label for=\"remember\">Mémoriser</label>"));
}

#[test]
fn the_error_summary_links_to_each_field_in_error_and_takes_the_focus() {
    let html = everything(&Tr::new(Locale::Fr));
    let summary = tag_with(&html, "class=\"resume-erreurs\"");
    assert!(
        summary.contains("role=\"alert\"")
            && summary.contains("tabindex=\"-1\"")
            && summary.contains("autofocus")
    );
    assert!(html.contains("Le formulaire contient des erreurs"));
    assert!(html.contains("<a href=\"#birth_date\">Saisissez"));
    assert!(html.contains("<a href=\"#channel-1\">Choisissez"));
    assert!(
        !html.contains("href=\"#code\""),
        "a field without error is not listed"
    );
    // No error, no summary.
    let empty = ErrorSummary::new(&Tr::default());
    assert!(empty.is_empty());
}

#[test]
fn masked_coordinates_are_radios_in_a_fieldset() {
    let html = everything(&Tr::new(Locale::Fr));
    assert!(html.contains("<legend>Veuillez cocher le moyen de transmission de ce code.</legend>"));
    let first = tag_with(&html, "id=\"channel-1\"");
    assert!(
        first.contains("type=\"radio\"")
            && first.contains("name=\"channel\"")
            && first.contains("value=\"sms\"")
    );
    assert!(html.contains("<label for=\"channel-1\">+3378***22</label>"));
    assert!(html.contains("<label for=\"channel-2\">tu***01@cn.medecin.fr</label>"));
    assert!(tag_with(&html, "<fieldset").contains("aria-describedby=\"channel-erreur\""));
}

#[test]
fn the_password_input_shows_its_strength_and_rules() {
    let html = everything(&Tr::new(Locale::Fr));
    let input = tag_with(&html, "id=\"password\"");
    assert!(input.contains("type=\"password\"") && input.contains("autocomplete=\"new-password\""));
    assert!(
        input.contains("aria-describedby=\"password-force password-regles\""),
        "{input}"
    );
    assert!(html.contains("id=\"password-force\" aria-live=\"polite\">Sécurité du mot de passe : <strong>Faible</strong>"));
    assert!(html.contains("class=\"jauge jauge-faible\""));
    assert!(html.contains("<li class=\"regle-ok\">12 caractères au moins <span class=\"sr-only\">(respectée)</span></li>"));
    assert!(html.contains(
        "<li class=\"regle-ko\">Pas votre nom <span class=\"sr-only\">(non respectée)</span></li>"
    ));
    let current = PasswordInput::new(&Tr::default(), "current", "Mot de passe actuel", false);
    assert!(!current.shows_meter());
    assert_eq!(current.field.autocomplete, Some("current-password"));
}

#[test]
fn steps_alerts_buttons_and_terms() {
    let html = everything(&Tr::new(Locale::Fr));
    assert!(html.contains("<span class=\"etapes-position\">Étape 2 sur 4</span> Sécuriser"));
    assert!(html.contains("Étape suivante : Finaliser"));
    assert_eq!(html.matches("class=\"fait\"").count(), 2);
    assert!(html.contains("class=\"alerte alerte-erreur\" role=\"alert\""));
    assert!(
        html.contains("<button type=\"submit\" class=\"bouton\" id=\"valider\">Valider</button>")
    );
    assert!(html.contains("<a href=\"/retour\" class=\"bouton-lien\">Retour</a>"));
    let terms = tag_with(&html, "id=\"terms\"");
    assert!(terms.contains("required") && !terms.contains("checked"));
    assert!(html.contains("<label for=\"terms\">J'ai lu et j'accepte les <a href=\"/cgu\">Conditions générales d'utilisation</a>.</label>"), "{html}");
    assert!(html
        .contains("class=\"conditions\" role=\"region\" aria-label=\"Conditions\" tabindex=\"0\""));
    let en = everything(&Tr::new(Locale::En));
    assert!(
        en.contains("Step 2 of 4")
            && en.contains("Password strength:")
            && en.contains("There is a problem with the form")
    );
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"{% extends "kit/layout.html" %}{% block main %}<h1>{{ layout.title }}</h1>{% endblock %}"#
)]
struct Plain {
    layout: Layout,
}

#[test]
fn the_layout_has_its_language_landmarks_skip_link_switch_and_stylesheet() {
    let ctx = PageCtx::new(Locale::Fr, "/espaces/demo?state=a&b");
    let html = Plain {
        layout: Layout::new(&ctx, "Accueil <x>").with_script("/s.js"),
    }
    .render()
    .unwrap();
    assert!(
        html.starts_with("<!doctype html>\n<html lang=\"fr\">"),
        "{html}"
    );
    assert!(
        html.contains("<title>Accueil &#60;x&#62; — caducee</title>")
            || html.contains("<title>Accueil &lt;x&gt; — caducee</title>"),
        "{html}"
    );
    assert!(html.contains(&format!(
        "<link rel=\"stylesheet\" href=\"{}\">",
        stylesheet_href()
    )));
    assert!(html.contains("<a class=\"evitement\" href=\"#contenu\">Aller au contenu</a>"));
    assert!(html.contains("<main id=\"contenu\" role=\"main\" tabindex=\"-1\">"));
    assert!(html.contains("role=\"banner\"") && html.contains("role=\"contentinfo\""));
    assert!(html.contains("href=\"/langue/en?retour=%2Fespaces%2Fdemo%3Fstate%3Da%26b\" hreflang=\"en\" lang=\"en\">English</a>"), "{html}");
    assert!(html.contains("<script src=\"/s.js\"></script>"));
    assert!(
        !html.contains("<style") && !html.contains("style=\""),
        "no inline style"
    );
    let en = Plain {
        layout: Layout::new(&PageCtx::new(Locale::En, "//evil"), "Home"),
    }
    .render()
    .unwrap();
    assert!(en.contains("<html lang=\"en\">") && en.contains("Skip to content"));
    assert!(
        en.contains("href=\"/langue/fr?retour=%2F\" hreflang=\"fr\" lang=\"fr\">Français</a>"),
        "{en}"
    );
}

/// The escaper leaves the apostrophe as typed: safe only while every attribute of every
/// template is quoted with `"`.
#[test]
fn every_template_attribute_is_double_quoted() {
    for (path, text) in sources() {
        if path.extension().is_some_and(|x| x == "html") {
            assert!(
                !text.contains("='"),
                "{}: an attribute quoted with '",
                path.display()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// The catalogues.
// ---------------------------------------------------------------------------------------

fn keys(locale: Locale) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (l, name, text) in KEYS_FILES {
        if *l != locale {
            continue;
        }
        let resource = fluent_bundle::FluentResource::try_new((*text).to_string())
            .unwrap_or_else(|(_, e)| panic!("{}/{name}: syntax errors {e:?}", locale.tag()));
        for entry in resource.entries() {
            if let fluent_syntax::ast::Entry::Message(m) = entry {
                assert!(
                    out.insert(m.id.name.to_string()),
                    "{}/{name}: key {} defined twice",
                    locale.tag(),
                    m.id.name
                );
            }
        }
    }
    out
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` under `crates/*/src` and `.html` under `crates/*/templates`.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs" || x == "html") {
                if p.ends_with("pages/src/tests.rs") {
                    continue;
                }
                out.push((p.clone(), std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    for c in std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .flatten()
    {
        walk(&c.path().join("src"), &mut out);
        walk(&c.path().join("templates"), &mut out);
    }
    out
}

#[test]
fn every_french_key_is_in_english_and_nothing_more() {
    let fr = keys(Locale::Fr);
    let en = keys(Locale::En);
    let missing: Vec<_> = fr.difference(&en).collect();
    assert!(missing.is_empty(), "keys missing in English: {missing:?}");
    let extra: Vec<_> = en.difference(&fr).collect();
    assert!(
        extra.is_empty(),
        "English keys without a French source: {extra:?}"
    );
}

#[test]
fn every_key_is_used_and_every_key_used_exists() {
    let fr = keys(Locale::Fr);
    let sources = sources();
    let unused: Vec<_> = fr
        .iter()
        .filter(|k| {
            let quoted = format!("\"{k}\"");
            !sources.iter().any(|(_, text)| text.contains(&quoted))
        })
        .collect();
    assert!(
        unused.is_empty(),
        "keys defined but used by no template nor code: {unused:?}"
    );
    let mut unknown = Vec::new();
    for (path, text) in &sources {
        for call in [".t(\"", ".t_with(\""] {
            for (at, _) in text.match_indices(call) {
                let rest = &text[at + call.len()..];
                let key = &rest[..rest.find('"').unwrap_or(0)];
                if !fr.contains(key) {
                    unknown.push(format!("{}: {key}", path.display()));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "keys used but not in the French catalogue: {unknown:?}"
    );
}

#[test]
fn a_missing_translation_falls_back_to_french_then_to_the_key() {
    assert_eq!(Tr::new(Locale::En).t("kit-skip-link"), "Skip to content");
    assert_eq!(Tr::new(Locale::Fr).t("no-such-key"), "no-such-key");
    assert_eq!(
        Tr::new(Locale::Fr).t_with(
            "kit-steps-position",
            &[("current", 1.into()), ("total", 3.into())]
        ),
        "Étape 1 sur 3"
    );
}

#[test]
fn reg_06_a_configured_delay_reads_in_words_in_both_languages() {
    let fr = Tr::new(Locale::Fr);
    let en = Tr::new(Locale::En);
    for (secs, french, english) in [
        (172_800, "48 heures", "48 hours"),
        (86_400, "24 heures", "24 hours"),
        (3_600, "1 heure", "1 hour"),
        (3_601, "2 heures", "2 hours"),
        (90, "2 minutes", "2 minutes"),
        (60, "1 minute", "1 minute"),
        (5, "5 secondes", "5 seconds"),
        (1, "1 seconde", "1 second"),
        (0, "0 seconde", "0 seconds"),
        (-3, "0 seconde", "0 seconds"),
        (259_200, "3 jours", "3 days"),
        (604_800, "7 jours", "7 days"),
    ] {
        assert_eq!(fr.delay(secs), french, "{secs} s");
        assert_eq!(en.delay(secs), english, "{secs} s");
    }
    // The seeds' wording with the default delay, word for word.
    assert!(fr
        .t_delay("att-download-not-yet", 172_800)
        .contains("un délai de 48 heures est nécessaire"));
    assert!(en
        .t_delay("att-download-not-yet", 3_600)
        .contains("it takes 1 hour before"));
}
