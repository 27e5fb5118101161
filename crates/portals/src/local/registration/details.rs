//! Step 1, "Coordonnées personnelles" (ACC-09): civility, family name, first name, type of
//! health professional, RPPS number, login e-mail, mobile with its country code, terms.
//!
//! The RPPS number must be the registry's professional of that family name (accents, case,
//! hyphens ignored) practising that profession in an active activity the portal admits: a
//! registration cannot claim someone else's number. The checks count against the identity
//! limits of the creation journey (per source and per RPPS).

use super::{email_code, to_step, wizard_page, wizard_steps, Data, Details, Registration, Step};
use crate::local::identity::{self, parse_rpps};
use crate::local::pages::Block;
use crate::local::{check_email, Form, Visit};
use crate::state::PortalState;
use crate::PortalError;
use axum::response::Response;
use caducee_core::nomenclature::Nomenclature;
use caducee_core::source::ClientSource;
use caducee_pages::{
    Alert, AlertKind, Arg, Button, ButtonKind, Choice, Field, Link, Select, TermsBox, TermsPart,
};
use std::collections::BTreeMap;

/// The country codes of France's mobiles, metropolitan and overseas.
pub(crate) const DIALS: [(&str, &str); 9] = [
    ("+33", "France (+33)"),
    ("+262", "La Réunion, Mayotte (+262)"),
    ("+590", "Guadeloupe (+590)"),
    ("+594", "Guyane (+594)"),
    ("+596", "Martinique (+596)"),
    ("+508", "Saint-Pierre-et-Miquelon (+508)"),
    ("+681", "Wallis-et-Futuna (+681)"),
    ("+687", "Nouvelle-Calédonie (+687)"),
    ("+689", "Polynésie française (+689)"),
];

/// The country codes as options, `dial` (else `+33`) selected.
pub(crate) fn dial_choices(dial: &str) -> Vec<Choice> {
    let dial = if DIALS.iter().any(|(v, _)| *v == dial) {
        dial
    } else {
        "+33"
    };
    DIALS
        .iter()
        .map(|(v, label)| Choice::new(v, *label, *v == dial))
        .collect()
}

/// The professions a portal offers in its list: its own, or every active one of TRE_G15.
fn professions(st: &PortalState) -> Vec<(&'static str, &'static str)> {
    Nomenclature::G15Profession
        .entries()
        .iter()
        .filter(|e| e.status != "inactive" && st.portal.admits_profession(e.code))
        .map(|e| (e.code, e.display))
        .collect()
}

pub(super) fn render(
    st: &PortalState,
    visit: &Visit,
    flow_id: &str,
    d: &Details,
    errors: &BTreeMap<String, String>,
    alert: Option<Alert>,
) -> Response {
    let tr = visit.tr();
    let err = |name: &str| errors.get(name).cloned();
    let mut page = wizard_page(
        st,
        visit,
        flow_id,
        tr.t("registration-details-title"),
        wizard_steps(tr, 1),
    );
    let failed = !errors.is_empty() || alert.is_some();
    page.alerts.extend(alert);
    page.intro.push(tr.t("registration-required-fields"));
    let select = |name: &str, label: String, options: Vec<Choice>| {
        Block::Select(Select::new(
            Field::new(name, label).required().error(err(name)),
            options,
        ))
    };
    let mut civilities = vec![Choice::new(
        "",
        tr.t("registration-choose"),
        d.civility.is_empty(),
    )];
    for (code, key) in [
        ("MME", "registration-civility-mme"),
        ("M", "registration-civility-m"),
    ] {
        civilities.push(Choice::new(code, tr.t(key), d.civility == code));
    }
    let mut kinds = vec![Choice::new(
        "",
        tr.t("registration-choose"),
        d.profession.is_empty(),
    )];
    for (code, label) in professions(st) {
        kinds.push(Choice::new(code, label, d.profession == code));
    }
    let dials = dial_choices(&d.dial);
    let terms = st
        .portal
        .terms_url
        .clone()
        .unwrap_or_else(|| format!("{}/conditions", st.base()));
    let mut terms_box = TermsBox::new(
        "cgu",
        vec![
            TermsPart::Text(tr.t("registration-terms-1")),
            TermsPart::Link(Link::new(terms, tr.t("registration-terms-link"))),
            TermsPart::Text(tr.t("registration-terms-2")),
        ],
        d.terms,
    );
    terms_box.field = terms_box.field.id("cgu").error(err("cgu"));
    page.blocks = vec![
        select("civilite", tr.t("registration-civility"), civilities),
        Block::Field(
            Field::new("nom", tr.t("registration-last-name"))
                .autocomplete("family-name")
                .value(&d.last_name)
                .required()
                .error(err("nom")),
        ),
        Block::Field(
            Field::new("prenom", tr.t("registration-first-name"))
                .autocomplete("given-name")
                .value(&d.first_name)
                .required()
                .error(err("prenom")),
        ),
        select("profession", tr.t("registration-profession"), kinds),
        Block::Field(
            Field::new("rpps", tr.t("registration-rpps"))
                .inputmode("numeric")
                .hint(tr.t("account-rpps-hint"))
                .value(&d.rpps)
                .required()
                .error(err("rpps")),
        ),
        Block::Link(Link::new("/annuaire", tr.t("account-rpps-where")).id("ou-rpps")),
        Block::Field(
            Field::new("email", tr.t("registration-email"))
                .kind("email")
                .autocomplete("email")
                .hint(tr.t("registration-email-hint"))
                .value(&d.email)
                .required()
                .error(err("email")),
        ),
        Block::Select(Select::new(
            Field::new("indicatif", tr.t("registration-dial")).autocomplete("tel-country-code"),
            dials,
        )),
        Block::Field(
            Field::new("portable", tr.t("registration-mobile"))
                .kind("tel")
                .autocomplete("tel-national")
                .hint(tr.t("registration-mobile-hint"))
                .value(&d.mobile)
                .error(err("portable")),
        ),
        Block::Terms(terms_box),
    ];
    page.buttons = vec![Button::new(tr.t("account-validate"), ButtonKind::Primary)
        .id("valider")
        .action("action", "valider")];
    page.links = vec![Link::new(st.base(), tr.t("registration-back")).id("retour")];
    visit.form(st, page, failed)
}

/// The mobile typed with its country code, in E.164, or the catalogue key of the problem
/// (`None` when left empty: the mobile is optional here, asked again at its own step).
pub(crate) fn mobile_e164(dial: &str, typed: &str) -> Result<Option<String>, &'static str> {
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-'))
        .collect();
    if digits.is_empty() {
        return Ok(None);
    }
    let dial = DIALS
        .iter()
        .map(|(v, _)| *v)
        .find(|v| *v == dial)
        .unwrap_or("+33");
    let full = if let Some(intl) = digits.strip_prefix('+') {
        format!("+{intl}")
    } else {
        format!("{dial}{}", digits.trim_start_matches('0'))
    };
    caducee_core::contact::Mobile::parse(&full)
        .map(|m| Some(m.as_str().to_string()))
        .map_err(|_| "registration-error-mobile")
}

fn read(form: &Form) -> Details {
    Details {
        civility: form.trimmed("civilite").to_string(),
        last_name: form.trimmed("nom").chars().take(100).collect(),
        first_name: form.trimmed("prenom").chars().take(100).collect(),
        profession: form.trimmed("profession").to_string(),
        rpps: form.trimmed("rpps").chars().take(20).collect(),
        email: form.trimmed("email").chars().take(254).collect(),
        dial: form.trimmed("indicatif").to_string(),
        mobile: form.trimmed("portable").chars().take(20).collect(),
        terms: form.checked("cgu"),
    }
}

fn field_errors(st: &PortalState, d: &Details) -> BTreeMap<String, &'static str> {
    let mut errors = BTreeMap::new();
    if !matches!(d.civility.as_str(), "MME" | "M") {
        errors.insert("civilite".into(), "registration-error-civility");
    }
    if d.last_name.is_empty() {
        errors.insert("nom".into(), "registration-error-last-name");
    }
    if d.first_name.is_empty() {
        errors.insert("prenom".into(), "registration-error-first-name");
    }
    if !professions(st).iter().any(|(c, _)| *c == d.profession) {
        errors.insert("profession".into(), "registration-error-profession");
    }
    if let Err(key) = parse_rpps(&d.rpps) {
        errors.insert("rpps".into(), key);
    }
    if let Err(key) = check_email(&d.email) {
        errors.insert("email".into(), key);
    }
    if let Err(key) = mobile_e164(&d.dial, &d.mobile) {
        errors.insert("portable".into(), key);
    }
    if !d.terms {
        errors.insert("cgu".into(), "registration-error-terms");
    }
    errors
}

/// The idNat of the registry's professional these details describe, if they do.
async fn matching(
    st: &PortalState,
    rpps: &caducee_core::ids::Rpps,
    d: &Details,
) -> Result<Option<String>, PortalError> {
    let Some(person) = identity::lookup(st.portals.store(), &st.portal, rpps).await? else {
        return Ok(None);
    };
    let id = caducee_core::ids::IdNatPs::parse(&person.idnat)
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    let Some(p) = caducee_registry::queries::get_professional(st.portals.store(), &id)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?
    else {
        return Ok(None);
    };
    let words = caducee_registry::search::words;
    let typed = words(&d.last_name);
    let birth_name = p.civil_identity.as_ref().map(|c| words(&c.birth_name));
    let name_ok = typed == words(&p.last_name) || Some(&typed) == birth_name.as_ref();
    let profession_ok = p.activities.iter().any(|a| {
        a.active
            && a.profession.code == d.profession
            && st.portal.admits_activity(&a.profession.code, &a.mode.code)
    });
    Ok((name_ok && profession_ok).then_some(person.idnat))
}

pub(super) async fn submit(
    st: &PortalState,
    visit: &Visit,
    flow_id: &str,
    mut reg: Registration,
    form: &Form,
    source: &ClientSource,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let typed = read(form);
    let errors: BTreeMap<String, String> = field_errors(st, &typed)
        .into_iter()
        .map(|(k, key)| (k, tr.t(key)))
        .collect();
    let now = st.portals.now();
    let portal = st.portal.slug.clone();
    if !errors.is_empty() {
        // What was typed is kept, errors and all: leaving now resumes with it.
        reg.data.details = typed.clone();
        let mut conn = st.portals.store().pool().acquire().await?;
        super::save(&mut conn, &portal, &reg, now).await?;
        return Ok(render(st, visit, flow_id, &typed, &errors, None));
    }
    // A refusal of the whole form: what was typed shown again, the alert on top.
    let refused = |alert: Alert| render(st, visit, flow_id, &typed, &BTreeMap::new(), Some(alert));
    let rpps = parse_rpps(&typed.rpps).map_err(|k| PortalError::Internal(k.into()))?;
    if let Some(wait) = identity::count_check(
        st.portals.store(),
        &st.portal,
        &source.throttle_key(),
        &rpps,
        now,
    )
    .await?
    {
        let alert = Alert::new(
            AlertKind::Error,
            tr.t_with(
                "account-identity-throttled",
                &[(
                    "minutes",
                    Arg::Num(crate::local::code_sender::minutes(wait)),
                )],
            ),
        )
        .id("erreur");
        return Ok(refused(alert));
    }
    let bound = {
        let mut conn = st.portals.store().pool().acquire().await?;
        crate::legacy::bound_rpps(&mut conn, &portal, &reg.identifier_folded).await?
    };
    if bound.as_deref().is_some_and(|b| b != rpps.as_str()) {
        let errors = BTreeMap::from([("rpps".to_string(), tr.t("registration-error-rpps-bound"))]);
        return Ok(render(st, visit, flow_id, &typed, &errors, None));
    }
    let Some(idnat) = matching(st, &rpps, &typed).await? else {
        let alert = Alert::new(AlertKind::Error, tr.t("registration-error-no-match"))
            .id("erreur")
            .link(Link::new("/annuaire", tr.t("account-rpps-where")));
        return Ok(refused(alert));
    };
    let mut tx = st.portals.store().begin().await?;
    if crate::accounts::by_idnat(&mut tx, &portal, &idnat)
        .await?
        .is_some()
    {
        tx.commit().await?;
        let alert = Alert::new(AlertKind::Error, tr.t("registration-error-rpps-taken"))
            .id("erreur")
            .link(Link::new(
                format!("{}/mot-de-passe-oublie", st.base()),
                tr.t("registration-forgot"),
            ));
        return Ok(refused(alert));
    }
    if crate::accounts::by_email(&mut tx, &portal, &typed.email)
        .await?
        .is_some()
    {
        tx.commit().await?;
        let errors = BTreeMap::from([("email".to_string(), tr.t("account-error-email-taken"))]);
        return Ok(render(st, visit, flow_id, &typed, &errors, None));
    }
    reg.data = Data {
        mobile_e164: mobile_e164(&typed.dial, &typed.mobile).unwrap_or(None),
        details: typed,
        idnat: Some(idnat),
    };
    reg.step = Step::EmailCode;
    super::save(&mut tx, &portal, &reg, now).await?;
    let sent = email_code::send(st, &mut tx, flow_id, &reg, visit).await?;
    tx.commit().await?;
    if let Err(refused) = sent {
        return Ok(email_code::render(
            st,
            visit,
            flow_id,
            &reg,
            None,
            Some(crate::local::code_sender::refusal(tr, refused)),
        ));
    }
    Ok(to_step(st, visit, flow_id))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn acc_09_mobiles_take_their_country_code() {
        assert_eq!(
            mobile_e164("+33", "06 12 34 56 01"),
            Ok(Some("+33612345601".into()))
        );
        assert_eq!(mobile_e164("+33", ""), Ok(None));
        assert_eq!(mobile_e164("+33", "12"), Err("registration-error-mobile"));
        assert_eq!(
            mobile_e164("+33", "+33 7 81 23 45 22"),
            Ok(Some("+33781234522".into()))
        );
    }
}
