//! The onboarding step `confirm-registry` (ONB-05; seed `ror-national-connexion-liberaux.txt`,
//! "3. Validation de vos informations personnelles"): the registry's data on the
//! professional (name, profession, activities and their structures) with "Valider mes
//! informations" and "Déclarer une anomalie". The anomaly form (which data, what is wrong,
//! what is right) files a report in the registry's queue through
//! `caducee_registry::anomaly` (REG-09); the professional's reports filed on this portal are
//! listed under the data with where they are ("Envoyée" while received).
//!
//! When it is asked: until the professional validated, and again whenever the data shown
//! changed since (a newer extract, an anomaly corrected by the agency), because what they
//! validated is no longer what the registry says. `portal_member` keeps the time and a
//! digest of the data shown (portals migration 9). Filing a report does not answer the
//! step: the page comes back with the report listed, and "Valider mes informations" is
//! still what lets the professional in. Never writes the registry's data itself.

use super::pages::{self, Block};
use super::{Form, Visit};
use crate::state::PortalState;
use crate::PortalError;
use axum::http::StatusCode;
use axum::response::Response;
use caducee_core::ids::IdNatPs;
use caducee_pages::{
    Alert, AlertKind, Arg, Button, ButtonKind, Choice, Field, Layout, Select, Template, Tr,
};
use caducee_registry::anomaly::{self, AnomalyError, AnomalyState, NewAnomaly};
use caducee_registry::queries::{self, Professional};
use serde::Serialize;
use sqlx::Row;

/// What the page shows of the registry, and what the digest is taken over: a change of any
/// of it asks the professional again.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RegistryView {
    civility: String,
    last_name: String,
    first_name: String,
    rpps: String,
    professions: Vec<String>,
    activities: Vec<ActivityView>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ActivityView {
    profession: String,
    mode: String,
    role: String,
    structure: Option<StructureView>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct StructureView {
    name: String,
    address: Vec<String>,
    siret: String,
    finess: String,
}

impl RegistryView {
    fn of(p: &Professional) -> RegistryView {
        // The profession's label only: its category (civil, military…) tells the
        // professional nothing they would correct here.
        let mut professions: Vec<String> = Vec::new();
        for pr in &p.professions {
            if !professions.contains(&pr.profession.label) {
                professions.push(pr.profession.label.clone());
            }
        }
        let activities = p
            .activities
            .iter()
            .filter(|a| a.active)
            .map(|a| ActivityView {
                profession: a.profession.label.clone(),
                mode: a.mode.label.clone(),
                role: a.role.label.clone(),
                structure: a.structure.as_ref().map(|s| {
                    let mut address: Vec<String> = s
                        .address
                        .iter()
                        .filter(|l| !l.is_empty())
                        .cloned()
                        .collect();
                    let town = format!("{} {}", s.postcode, s.city).trim().to_string();
                    if !town.is_empty() {
                        address.push(town);
                    }
                    StructureView {
                        name: if s.trade_name.is_empty() {
                            s.name.clone()
                        } else {
                            s.trade_name.clone()
                        },
                        address,
                        siret: s.siret.clone(),
                        finess: s.finess.clone(),
                    }
                }),
            })
            .collect();
        RegistryView {
            civility: p.exercise_civility.label.clone(),
            last_name: p.last_name.clone(),
            first_name: p.first_name.clone(),
            rpps: p.identifier.clone(),
            professions,
            activities,
        }
    }

    /// A digest of what is shown (SHA-256 of its JSON, fields in declaration order).
    fn digest(&self) -> Result<String, PortalError> {
        let json = serde_json::to_string(self).map_err(|e| PortalError::Internal(e.to_string()))?;
        Ok(crate::sessions::hash(&json))
    }

    /// The data a report may be about: (value of the form, label), in the page's order.
    fn subjects(&self, tr: &Tr) -> Vec<(String, String)> {
        let mut out = vec![
            ("civilite".to_string(), tr.t("onboarding-registry-civility")),
            ("nom".to_string(), tr.t("onboarding-registry-last-name")),
            ("prenom".to_string(), tr.t("onboarding-registry-first-name")),
            ("rpps".to_string(), tr.t("onboarding-registry-rpps")),
            (
                "profession".to_string(),
                tr.t("onboarding-registry-profession"),
            ),
        ];
        for (i, a) in self.activities.iter().enumerate() {
            let name = a
                .structure
                .as_ref()
                .map(|s| s.name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| a.profession.clone());
            out.push((
                format!("activite-{}", i + 1),
                tr.t_with(
                    "onboarding-registry-anomaly-activity",
                    &[("name", Arg::from(name.as_str()))],
                ),
            ));
        }
        out.push((
            "autre".to_string(),
            tr.t("onboarding-registry-anomaly-other"),
        ));
        out
    }
}

/// The registry's data on `idnat` as the page shows it; None when the registry does not
/// know them (then there is nothing to validate).
async fn view(st: &PortalState, idnat: &str) -> Result<Option<RegistryView>, PortalError> {
    let Ok(id) = IdNatPs::parse(idnat) else {
        return Ok(None);
    };
    let p = queries::get_professional(st.portals.store(), &id)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    Ok(p.as_ref().map(RegistryView::of))
}

async fn validated_digest(st: &PortalState, idnat: &str) -> Result<Option<String>, PortalError> {
    let row = sqlx::query(
        "SELECT registry_validated_digest FROM portal_member WHERE portal = $1 AND idnat = $2",
    )
    .bind(&st.portal.slug)
    .bind(idnat)
    .fetch_optional(st.portals.store().pool())
    .await?;
    Ok(match row {
        Some(r) => r.try_get(0)?,
        None => None,
    })
}

/// Whether `idnat` must (again) validate the registry's data on this portal.
pub(crate) async fn due(st: &PortalState, idnat: &str) -> Result<bool, PortalError> {
    let Some(v) = view(st, idnat).await? else {
        return Ok(false);
    };
    Ok(validated_digest(st, idnat).await?.as_deref() != Some(v.digest()?.as_str()))
}

fn path(st: &PortalState) -> String {
    format!("{}/accueil", st.base())
}

/// One report as the list shows it.
struct ReportRow {
    field: String,
    wrong: String,
    correct: String,
    date: String,
    state: String,
}

#[derive(Template)]
#[template(path = "local/registry.html")]
struct RegistryPage {
    layout: Layout,
    heading: String,
    alerts: Vec<Alert>,
    intro: Vec<String>,
    v: RegistryView,
    labels: Labels,
    action: String,
    hidden: Vec<(String, String)>,
    buttons: Vec<Button>,
    reports: Vec<ReportRow>,
}

/// The words of the page (the template takes them ready).
struct Labels {
    identity: String,
    civility: String,
    last_name: String,
    first_name: String,
    rpps: String,
    professions: String,
    activities: String,
    no_activity: String,
    profession: String,
    mode: String,
    role: String,
    address: String,
    siret: String,
    finess: String,
    no_structure: String,
    reports: String,
    report_wrong: String,
    report_correct: String,
    report_date: String,
    report_state: String,
}

impl Labels {
    fn new(tr: &Tr) -> Labels {
        Labels {
            identity: tr.t("onboarding-registry-identity"),
            civility: tr.t("onboarding-registry-civility"),
            last_name: tr.t("onboarding-registry-last-name"),
            first_name: tr.t("onboarding-registry-first-name"),
            rpps: tr.t("onboarding-registry-rpps"),
            professions: tr.t("onboarding-registry-professions"),
            activities: tr.t("onboarding-registry-activities"),
            no_activity: tr.t("onboarding-registry-no-activity"),
            profession: tr.t("onboarding-registry-profession"),
            mode: tr.t("onboarding-registry-mode"),
            role: tr.t("onboarding-registry-role"),
            address: tr.t("onboarding-registry-address"),
            siret: tr.t("onboarding-registry-siret"),
            finess: tr.t("onboarding-registry-finess"),
            no_structure: tr.t("onboarding-registry-no-structure"),
            reports: tr.t("onboarding-registry-reports"),
            report_wrong: tr.t("onboarding-registry-report-wrong"),
            report_correct: tr.t("onboarding-registry-report-correct"),
            report_date: tr.t("onboarding-registry-report-date"),
            report_state: tr.t("onboarding-registry-report-state"),
        }
    }
}

fn state_label(tr: &Tr, s: AnomalyState) -> String {
    tr.t(match s {
        AnomalyState::Received => "onboarding-registry-state-received",
        AnomalyState::InReview => "onboarding-registry-state-in-review",
        AnomalyState::Corrected => "onboarding-registry-state-corrected",
        AnomalyState::Rejected => "onboarding-registry-state-rejected",
    })
}

/// The page of the step: the data, the two buttons, the reports sent. `sent`: the page
/// comes right after a report was filed (`?signalement=envoye`).
pub(crate) async fn render(
    st: &PortalState,
    visit: &Visit,
    idnat: &str,
    sent: bool,
) -> Result<Response, PortalError> {
    let Some(v) = view(st, idnat).await? else {
        return Ok(visit.redirect(st, &st.base(), Vec::new()));
    };
    let tr = visit.tr();
    let reports = anomaly::for_person(st.portals.store(), idnat, Some(&st.portal.slug))
        .await
        .map_err(anomaly_failure)?;
    let mut alerts = Vec::new();
    if sent && !reports.is_empty() {
        alerts.push(
            Alert::new(AlertKind::Success, tr.t("onboarding-registry-anomaly-sent"))
                .id("signalement-envoye"),
        );
    }
    let mut intro = vec![tr.t("onboarding-registry-intro")];
    if reports.iter().any(|r| !r.state.is_final()) {
        intro.push(tr.t("onboarding-registry-intro-pending"));
    }
    let title = tr.t("onboarding-registry-title");
    let page = RegistryPage {
        layout: pages::layout(&visit.ctx, &st.portal, &title),
        heading: title,
        alerts,
        intro,
        labels: Labels::new(tr),
        action: path(st),
        hidden: vec![
            ("csrf".into(), visit.csrf(st)),
            ("etape".into(), "registre".into()),
        ],
        buttons: vec![
            Button::new(tr.t("onboarding-registry-validate"), ButtonKind::Primary)
                .id("valider-informations")
                .action("action", "valider"),
            Button::new(tr.t("onboarding-registry-declare"), ButtonKind::Secondary)
                .id("declarer-anomalie")
                .action("action", "anomalie"),
        ],
        reports: reports
            .iter()
            .map(|r| ReportRow {
                field: r.field.clone(),
                wrong: r.wrong.clone(),
                correct: r.correct.clone(),
                date: caducee_core::date_fr::date_time(r.created_at),
                state: state_label(tr, r.state),
            })
            .collect(),
        v,
    };
    Ok(visit.page(st, StatusCode::OK, pages::render(&page)))
}

/// What the anomaly form was sent back with.
#[derive(Default)]
struct Typed<'a> {
    subject: &'a str,
    wrong: &'a str,
    correct: &'a str,
}

#[derive(Default)]
struct Errors {
    subject: Option<String>,
    wrong: Option<String>,
    correct: Option<String>,
}

fn render_anomaly(
    st: &PortalState,
    visit: &Visit,
    v: &RegistryView,
    typed: &Typed<'_>,
    errors: Errors,
    alert: Option<Alert>,
    status: StatusCode,
) -> Response {
    let tr = visit.tr();
    let title = tr.t("onboarding-registry-anomaly-title");
    let mut page = visit
        .form_page(st, title, path(st))
        .hidden("etape", "anomalie");
    page.alerts.extend(alert);
    page.intro.push(tr.t("onboarding-registry-anomaly-intro"));
    let mut options = vec![Choice::new(
        "",
        tr.t("onboarding-registry-anomaly-choose"),
        typed.subject.is_empty(),
    )];
    options.extend(
        v.subjects(tr)
            .into_iter()
            .map(|(value, label)| Choice::new(&value, label, value == typed.subject)),
    );
    let mut wrong = Field::new("erreur", tr.t("onboarding-registry-anomaly-wrong"))
        .hint(tr.t("onboarding-registry-anomaly-wrong-hint"))
        .value(typed.wrong)
        .required()
        .error(errors.wrong);
    wrong.maxlength = u32::try_from(anomaly::TEXT_MAX).ok();
    let mut correct = Field::new("correction", tr.t("onboarding-registry-anomaly-correct"))
        .hint(tr.t("onboarding-registry-anomaly-correct-hint"))
        .value(typed.correct)
        .required()
        .error(errors.correct);
    correct.maxlength = u32::try_from(anomaly::TEXT_MAX).ok();
    page.blocks = vec![
        Block::Select(Select::new(
            Field::new("donnee", tr.t("onboarding-registry-anomaly-subject"))
                .required()
                .error(errors.subject),
            options,
        )),
        Block::Field(wrong),
        Block::Field(correct),
    ];
    page.buttons = vec![
        Button::new(
            tr.t("onboarding-registry-anomaly-send"),
            ButtonKind::Primary,
        )
        .id("envoyer-anomalie")
        .action("action", "envoyer"),
        Button::new(
            tr.t("onboarding-registry-anomaly-cancel"),
            ButtonKind::Tertiary,
        )
        .id("annuler-anomalie")
        .action("action", "annuler"),
    ];
    let page = page.summarize();
    visit.page(st, status, pages::render(&page))
}

/// `POST {base}/accueil` with `etape=registre` (the two buttons) or `etape=anomalie` (the
/// anomaly form).
pub(crate) async fn submit(
    st: &PortalState,
    visit: &Visit,
    idnat: &str,
    form: &Form,
) -> Result<Response, PortalError> {
    let Some(v) = view(st, idnat).await? else {
        return Ok(visit.redirect(st, &path(st), Vec::new()));
    };
    match (form.get("etape"), form.get("action")) {
        ("registre", "valider") => validate(st, idnat, &v).await.map(|()| {
            // The next step due, or the home page.
            visit.redirect(st, &path(st), Vec::new())
        }),
        ("registre", "anomalie") => Ok(render_anomaly(
            st,
            visit,
            &v,
            &Typed::default(),
            Errors::default(),
            None,
            StatusCode::OK,
        )),
        ("anomalie", "envoyer") => declare(st, visit, idnat, &v, form).await,
        _ => Ok(visit.redirect(st, &path(st), Vec::new())),
    }
}

async fn validate(st: &PortalState, idnat: &str, v: &RegistryView) -> Result<(), PortalError> {
    let now = st.portals.now();
    let digest = v.digest()?;
    let mut tx = st.portals.store().begin().await?;
    // The member's row may not exist yet: a portal may ask this step without a contact
    // e-mail before it.
    sqlx::query(
        "INSERT INTO portal_member (portal, idnat, registry_validated_at,
            registry_validated_digest, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $3, $3)
         ON CONFLICT (portal, idnat) DO UPDATE SET registry_validated_at = $3,
            registry_validated_digest = $4, updated_at = $3",
    )
    .bind(&st.portal.slug)
    .bind(idnat)
    .bind(now)
    .bind(&digest)
    .execute(&mut *tx)
    .await?;
    caducee_store::audit::record(
        &mut *tx,
        now,
        &caducee_store::audit::AuditEvent {
            actor: &format!("ps:{idnat}"),
            action: "portals.registry.validated",
            subject: Some(idnat),
            details: serde_json::json!({ "portal": st.portal.slug, "digest": digest }),
            request_id: None,
        },
    )
    .await
    .map_err(|e| PortalError::Internal(e.to_string()))?;
    tx.commit().await?;
    Ok(())
}

async fn declare(
    st: &PortalState,
    visit: &Visit,
    idnat: &str,
    v: &RegistryView,
    form: &Form,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let typed = Typed {
        subject: form.trimmed("donnee"),
        wrong: form.trimmed("erreur"),
        correct: form.trimmed("correction"),
    };
    // The report names the data in French whatever the page's language: the agencies
    // read the queue in French.
    let fr = Tr::new(caducee_pages::Locale::Fr);
    let subject = v
        .subjects(&fr)
        .into_iter()
        .find(|(value, _)| value == typed.subject)
        .map(|(_, label)| label);
    let text_error = |value: &str, empty: &str| {
        if value.is_empty() {
            Some(tr.t(empty))
        } else if value.chars().count() > anomaly::TEXT_MAX {
            Some(tr.t_with(
                "onboarding-registry-anomaly-too-long",
                &[(
                    "max",
                    Arg::from(i64::try_from(anomaly::TEXT_MAX).unwrap_or(i64::MAX)),
                )],
            ))
        } else if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            Some(tr.t("onboarding-registry-anomaly-control"))
        } else {
            None
        }
    };
    let errors = Errors {
        subject: subject
            .is_none()
            .then(|| tr.t("onboarding-registry-anomaly-subject-empty")),
        wrong: text_error(typed.wrong, "onboarding-registry-anomaly-wrong-empty"),
        correct: text_error(typed.correct, "onboarding-registry-anomaly-correct-empty"),
    };
    let Some(field) = subject.filter(|_| errors.wrong.is_none() && errors.correct.is_none()) else {
        return Ok(render_anomaly(
            st,
            visit,
            v,
            &typed,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    let filed = anomaly::file(
        st.portals.store(),
        st.portals.clock().as_ref(),
        &NewAnomaly {
            idnat,
            portal: &st.portal.slug,
            field: &field,
            wrong: typed.wrong,
            correct: typed.correct,
        },
        &format!("ps:{idnat}"),
    )
    .await;
    match filed {
        Ok(_) => Ok(visit.redirect(st, &format!("{}?signalement=envoye", path(st)), Vec::new())),
        // Checked above; the registry's own checks are the last word.
        Err(e @ (AnomalyError::BadInput(_) | AnomalyError::TooManyOpen(_))) => {
            let key = if matches!(e, AnomalyError::TooManyOpen(_)) {
                "onboarding-registry-anomaly-too-many"
            } else {
                "onboarding-registry-anomaly-refused"
            };
            let alert = Alert::new(AlertKind::Error, tr.t(key)).id("anomalie-refusee");
            Ok(render_anomaly(
                st,
                visit,
                v,
                &typed,
                Errors::default(),
                Some(alert),
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
        Err(e) => Err(anomaly_failure(e)),
    }
}

fn anomaly_failure(e: AnomalyError) -> PortalError {
    match e {
        AnomalyError::Store(caducee_store::StoreError::Sql(e)) => PortalError::Store(e),
        other => PortalError::Internal(other.to_string()),
    }
}

/// Whether the page's query says a report was just filed.
pub(crate) fn just_sent(query: Option<&str>) -> bool {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .any(|(k, v)| k == "signalement" && v == "envoye")
}
