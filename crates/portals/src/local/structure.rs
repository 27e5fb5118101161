//! The onboarding step `structure-details` (ACC-09, step 5 of the registration): "Coordonnées
//! de votre structure", prefilled from the registry's structure of the professional's
//! first active activity when there is one, the SIRET and FINESS numbers checked with their
//! keys; then "Finalisation de l'activation de compte". Asked of the members who hold an
//! account of the portal (the registration's last step), on every login until given.

use super::pages::{self, Block, MessagePage};
use super::{Form, Visit};
use crate::state::PortalState;
use crate::PortalError;
use axum::http::StatusCode;
use axum::response::Response;
use caducee_pages::{Alert, AlertKind, Button, ButtonKind, Checkbox, Field, Link, Select};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The structure as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Structure {
    name: String,
    trade_name: String,
    siret: String,
    cpam: String,
    finess: String,
    address: String,
    complement: String,
    postcode: String,
    city: String,
    country: String,
    email: String,
    phone_dial: String,
    phone: String,
    fax_dial: String,
    fax: String,
    billing_same: bool,
    billing_name: String,
    billing_address: String,
    billing_postcode: String,
    billing_city: String,
}

/// `(form field, required)`, in the page's order, with their catalogue labels.
const FIELDS: [(&str, &str, bool); 10] = [
    ("raison_sociale", "structure-name", true),
    ("denomination", "structure-trade-name", false),
    ("siret", "structure-siret", true),
    ("cpam", "structure-cpam", true),
    ("finess", "structure-finess", true),
    ("adresse", "structure-address", true),
    ("complement", "structure-complement", false),
    ("code_postal", "structure-postcode", true),
    ("ville", "structure-city", true),
    ("pays", "structure-country", true),
];

impl Structure {
    fn get(&self, field: &str) -> &str {
        match field {
            "raison_sociale" => &self.name,
            "denomination" => &self.trade_name,
            "siret" => &self.siret,
            "cpam" => &self.cpam,
            "finess" => &self.finess,
            "adresse" => &self.address,
            "complement" => &self.complement,
            "code_postal" => &self.postcode,
            "ville" => &self.city,
            "pays" => &self.country,
            "email_structure" => &self.email,
            "telephone" => &self.phone,
            "fax" => &self.fax,
            "facturation_nom" => &self.billing_name,
            "facturation_adresse" => &self.billing_address,
            "facturation_code_postal" => &self.billing_postcode,
            "facturation_ville" => &self.billing_city,
            _ => "",
        }
    }

    fn read(form: &Form) -> Structure {
        let t = |name: &str| form.trimmed(name).chars().take(200).collect::<String>();
        Structure {
            name: t("raison_sociale"),
            trade_name: t("denomination"),
            siret: t("siret"),
            cpam: t("cpam"),
            finess: t("finess"),
            address: t("adresse"),
            complement: t("complement"),
            postcode: t("code_postal"),
            city: t("ville"),
            country: t("pays"),
            email: t("email_structure"),
            phone_dial: t("indicatif_telephone"),
            phone: t("telephone"),
            fax_dial: t("indicatif_fax"),
            fax: t("fax"),
            billing_same: form.checked("facturation_identique"),
            billing_name: t("facturation_nom"),
            billing_address: t("facturation_adresse"),
            billing_postcode: t("facturation_code_postal"),
            billing_city: t("facturation_ville"),
        }
    }

    fn errors(&self) -> BTreeMap<String, &'static str> {
        let mut e = BTreeMap::new();
        for (name, _, required) in FIELDS {
            if required && self.get(name).is_empty() {
                e.insert(name.to_string(), "structure-error-required");
            }
        }
        let digits = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        if !self.siret.is_empty() && caducee_core::ids::Siret::parse(&digits(&self.siret)).is_err()
        {
            e.insert("siret".into(), "structure-error-siret");
        }
        if !self.finess.is_empty()
            && caducee_core::ids::Finess::parse(&digits(&self.finess)).is_err()
        {
            e.insert("finess".into(), "structure-error-finess");
        }
        let cpam = digits(&self.cpam);
        if !cpam.is_empty() && (cpam.len() != 9 || !cpam.bytes().all(|b| b.is_ascii_digit())) {
            e.insert("cpam".into(), "structure-error-cpam");
        }
        let postcode_ok = |p: &str| p.len() == 5 && p.bytes().all(|b| b.is_ascii_digit());
        if !self.postcode.is_empty() && self.country_is_france() && !postcode_ok(&self.postcode) {
            e.insert("code_postal".into(), "structure-error-postcode");
        }
        if !self.email.is_empty() && super::check_email(&self.email).is_err() {
            e.insert("email_structure".into(), "account-error-email-format");
        }
        for (name, dial, value) in [
            ("telephone", &self.phone_dial, &self.phone),
            ("fax", &self.fax_dial, &self.fax),
        ] {
            if !value.is_empty() && phone_e164(dial, value).is_none() {
                e.insert(name.into(), "structure-error-phone");
            }
        }
        if !self.billing_same {
            for name in [
                "facturation_nom",
                "facturation_adresse",
                "facturation_code_postal",
                "facturation_ville",
            ] {
                if self.get(name).is_empty() {
                    e.insert(name.into(), "structure-error-billing");
                }
            }
        }
        e
    }

    fn country_is_france(&self) -> bool {
        caducee_registry::search::words(&self.country) == ["france"]
    }
}

/// A landline or fax with its country code: 9 digits after it (a French number).
fn phone_e164(dial: &str, typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| c.is_ascii_digit()).collect();
    let national = digits.strip_prefix('0').unwrap_or(&digits);
    (national.len() == 9)
        .then(|| format!("{}{national}", if dial.is_empty() { "+33" } else { dial }))
}

/// Whether `idnat` must give the structure: a member with an account and no structure yet.
pub(crate) async fn due(st: &PortalState, idnat: &str) -> Result<bool, PortalError> {
    let mut conn = st.portals.store().pool().acquire().await?;
    if crate::accounts::by_idnat(&mut conn, &st.portal.slug, idnat)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    let given: Option<i64> = sqlx::query_scalar(
        "SELECT updated_at FROM portal_structure WHERE portal = $1 AND idnat = $2",
    )
    .bind(&st.portal.slug)
    .bind(idnat)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(given.is_none())
}

/// The registry's structure of the professional's first active activity, as a form's
/// starting values.
async fn from_registry(st: &PortalState, idnat: &str) -> Result<Structure, PortalError> {
    let mut s = Structure {
        country: "France".into(),
        billing_same: true,
        phone_dial: "+33".into(),
        fax_dial: "+33".into(),
        ..Structure::default()
    };
    let Ok(id) = caducee_core::ids::IdNatPs::parse(idnat) else {
        return Ok(s);
    };
    let p = caducee_registry::queries::get_professional(st.portals.store(), &id)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    let found = p.as_ref().and_then(|p| {
        p.activities
            .iter()
            .filter(|a| a.active)
            .find_map(|a| a.structure.as_ref())
    });
    if let Some(r) = found {
        s.name = r.name.clone();
        s.trade_name = r.trade_name.clone();
        s.siret = r.siret.clone();
        s.finess = r.finess.clone();
        let mut lines = r.address.iter().filter(|l| !l.trim().is_empty());
        s.address = lines.next().cloned().unwrap_or_default();
        s.complement = lines.cloned().collect::<Vec<_>>().join(", ");
        s.postcode = r.postcode.clone();
        s.city = r.city.clone();
        if !r.country.trim().is_empty() {
            s.country = r.country.clone();
        }
        s.email = r.email.clone();
        s.phone = r.phone.clone();
    }
    Ok(s)
}

fn path(st: &PortalState) -> String {
    format!("{}/accueil", st.base())
}

fn render_form(
    st: &PortalState,
    visit: &Visit,
    s: &Structure,
    errors: &BTreeMap<String, String>,
) -> Response {
    let tr = visit.tr();
    let heading = tr.t("structure-title");
    let mut page = visit
        .form_page(st, heading, path(st))
        .hidden("etape", "structure");
    page.steps = Some(super::registration::wizard_steps(tr, 5));
    page.intro.push(tr.t("registration-required-fields"));
    let err = |name: &str| errors.get(name).cloned();
    let field = |name: &str, key: &str, required: bool| {
        let mut f = Field::new(name, tr.t(key))
            .value(s.get(name))
            .error(err(name));
        if required {
            f = f.required();
        }
        match name {
            "siret" => f = f.inputmode("numeric").hint(tr.t("structure-siret-hint")),
            "finess" => f = f.inputmode("numeric").hint(tr.t("structure-finess-hint")),
            "cpam" => f = f.inputmode("numeric").hint(tr.t("structure-cpam-hint")),
            "code_postal" => f = f.inputmode("numeric").autocomplete("postal-code"),
            "adresse" => f = f.autocomplete("address-line1"),
            "complement" => f = f.autocomplete("address-line2"),
            "ville" => f = f.autocomplete("address-level2"),
            "pays" => f = f.autocomplete("country-name"),
            "raison_sociale" => f = f.autocomplete("organization"),
            _ => {}
        }
        Block::Field(f)
    };
    let mut blocks: Vec<Block> = FIELDS
        .iter()
        .map(|(name, key, required)| field(name, key, *required))
        .collect();
    blocks.push(Block::Field(
        Field::new("email_structure", tr.t("structure-email"))
            .kind("email")
            .value(&s.email)
            .error(err("email_structure")),
    ));
    for (dial_name, dial_key, dial, name, key) in [
        (
            "indicatif_telephone",
            "structure-phone-dial",
            &s.phone_dial,
            "telephone",
            "structure-phone",
        ),
        (
            "indicatif_fax",
            "structure-fax-dial",
            &s.fax_dial,
            "fax",
            "structure-fax",
        ),
    ] {
        let dial_field = Field::new(dial_name, tr.t(dial_key));
        blocks.push(Block::Select(Select::new(
            dial_field,
            super::registration::dial_choices(dial),
        )));
        blocks.push(Block::Field(
            Field::new(name, tr.t(key))
                .kind("tel")
                .value(s.get(name))
                .error(err(name)),
        ));
    }
    blocks.push(Block::Heading(tr.t("structure-billing")));
    blocks.push(Block::Checkbox(Checkbox::new(
        "facturation_identique",
        tr.t("structure-billing-same"),
        s.billing_same,
    )));
    for (name, key) in [
        ("facturation_nom", "structure-billing-name"),
        ("facturation_adresse", "structure-billing-address"),
        ("facturation_code_postal", "structure-billing-postcode"),
        ("facturation_ville", "structure-billing-city"),
    ] {
        blocks.push(Block::Field(
            Field::new(name, tr.t(key))
                .value(s.get(name))
                .hint(tr.t("structure-billing-hint"))
                .error(err(name)),
        ));
    }
    page.blocks = blocks;
    page.buttons = vec![Button::new(tr.t("account-validate"), ButtonKind::Primary)
        .id("valider")
        .action("action", "valider")];
    visit.form(st, page, !errors.is_empty())
}

/// The step's page, prefilled from the registry.
pub(crate) async fn render(
    st: &PortalState,
    visit: &Visit,
    idnat: &str,
) -> Result<Response, PortalError> {
    let s = from_registry(st, idnat).await?;
    Ok(render_form(st, visit, &s, &BTreeMap::new()))
}

/// `POST {base}/accueil` with `etape=structure`: saved, then the finalisation page.
pub(crate) async fn submit(
    st: &PortalState,
    visit: &Visit,
    idnat: &str,
    form: &Form,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let s = Structure::read(form);
    let errors: BTreeMap<String, String> = s
        .errors()
        .into_iter()
        .map(|(k, key)| (k, tr.t(key)))
        .collect();
    if !errors.is_empty() {
        return Ok(render_form(st, visit, &s, &errors));
    }
    let now = st.portals.now();
    let data = serde_json::to_string(&s).map_err(|e| PortalError::Internal(e.to_string()))?;
    let mut tx = st.portals.store().begin().await?;
    sqlx::query(
        "INSERT INTO portal_structure (portal, idnat, data, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (portal, idnat) DO UPDATE SET data = $3, updated_at = $4",
    )
    .bind(&st.portal.slug)
    .bind(idnat)
    .bind(data)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    caducee_store::audit::record(
        &mut *tx,
        now,
        &caducee_store::audit::AuditEvent {
            actor: &format!("ps:{idnat}"),
            action: "portals.structure.saved",
            subject: Some(idnat),
            details: serde_json::json!({ "portal": st.portal.slug, "siret": s.siret }),
            request_id: None,
        },
    )
    .await
    .map_err(|e| PortalError::Internal(e.to_string()))?;
    tx.commit().await?;
    let page = MessagePage {
        layout: pages::layout(&visit.ctx, &st.portal, &tr.t("structure-done-title")),
        heading: tr.t("structure-done-title"),
        alert: Alert::new(AlertKind::Success, tr.t("structure-done-text")).id("finalise"),
        links: vec![Link::new(st.base(), tr.t("structure-done-link"))
            .button(ButtonKind::Primary)
            .id("espace-client")],
    };
    Ok(visit.page(st, StatusCode::OK, pages::render(&page)))
}
