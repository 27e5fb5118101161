//! The change requests (REG-06, `caducee_registry::requests`) and the first registrations
//! (REG-07, `caducee_registry::registration`) of the agent's départements: their queues on
//! the home page, each item's page (the change field by field, or the form and its
//! documents), and the decision — approved, or rejected with a reason (required, e-mailed
//! to the professional by the registry). A registration's documents are the agent's to
//! see only, served as attachments under a CSP that forbids everything.

use super::pages::{Block, FormPart, Item, Section};
use super::queue::{agent_page, logged_in, valid_id};
use super::session::ArsSession;
use super::{age, when, ArsState, Visit, BASE};
use crate::local::Form;
use crate::PortalError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use caducee_pages::{Alert, AlertKind, Arg, Button, ButtonKind, Choice, Field, Link, RadioGroup};
use caducee_registry::registration::{self, RegistrationError, RegistrationState};
use caducee_registry::requests::{self, RequestError, RequestKind, RequestState};

fn kind_label(v: &Visit, k: RequestKind) -> String {
    v.t(match k {
        RequestKind::NewActivity => "ars-kind-new-activity",
        RequestKind::CeaseActivity => "ars-kind-cease-activity",
        RequestKind::NewProfession => "ars-kind-new-profession",
        RequestKind::Contact => "ars-kind-contact",
        RequestKind::ExerciseName => "ars-kind-exercise-name",
    })
}

fn request_state_label(v: &Visit, s: RequestState) -> String {
    v.t(match s {
        RequestState::Draft => "ars-state-draft",
        RequestState::Submitted => "ars-state-submitted",
        RequestState::Approved => "ars-state-approved",
        RequestState::Rejected => "ars-state-rejected",
        RequestState::Applied => "ars-state-applied",
    })
}

fn registration_state_label(v: &Visit, s: RegistrationState) -> String {
    v.t(match s {
        RegistrationState::Draft => "ars-state-draft",
        RegistrationState::Submitted => "ars-state-submitted",
        RegistrationState::Approved => "ars-state-approved",
        RegistrationState::Rejected => "ars-state-rejected",
        RegistrationState::Applied => "ars-state-applied",
    })
}

fn request_error(e: RequestError) -> PortalError {
    PortalError::Internal(e.to_string())
}

fn registration_error(e: RegistrationError) -> PortalError {
    PortalError::Internal(e.to_string())
}

fn received(v: &Visit, at: i64, now: i64, department: &str) -> String {
    v.ctx.tr.t_with(
        "ars-item-received",
        &[
            ("age", Arg::from(age(&v.ctx, at, now).as_str())),
            ("department", Arg::from(department)),
        ],
    )
}

/// The two queues of the home page, oldest first.
pub(crate) async fn sections(
    st: &ArsState,
    v: &Visit,
    s: &ArsSession,
) -> Result<[Section; 2], PortalError> {
    let store = st.portals.store();
    let now = st.now();
    let mut reqs = Section::titled(v.t("ars-queue-requests"));
    reqs.items = requests::queue(store, &s.agent.departments)
        .await
        .map_err(request_error)?
        .into_iter()
        .map(|r| Item {
            href: Some(format!("/ars/demandes/{}", r.id)),
            label: format!("{} — {}", kind_label(v, r.kind), r.person_name),
            meta: vec![received(v, r.submitted_at, now, &r.department)],
        })
        .collect();
    reqs.empty = Some(v.t("ars-queue-empty"));
    let mut regs = Section::titled(v.t("ars-queue-registrations"));
    regs.items = registration::queue(store, &s.agent.departments)
        .await
        .map_err(registration_error)?
        .into_iter()
        .map(|r| Item {
            href: Some(format!("/ars/enregistrements/{}", r.id)),
            label: format!("{} — {}", r.name, r.profession_label),
            meta: vec![received(v, r.submitted_at, now, &r.department)],
        })
        .collect();
    regs.empty = Some(v.t("ars-queue-empty"));
    Ok([reqs, regs])
}

/// What a decision form had, to show it again.
#[derive(Default)]
struct Typed {
    decision: String,
    reason: String,
    errors: [Option<String>; 2],
}

/// The decision form: approve, or reject with a reason.
fn decision_form(v: &Visit, action: String, typed: Typed) -> FormPart {
    let [e_decision, e_reason] = typed.errors;
    let mut radios = RadioGroup::new(
        "decision",
        v.t("ars-decision-legend"),
        vec![
            Choice::new(
                "approve",
                v.t("ars-decision-approve"),
                typed.decision == "approve",
            ),
            Choice::new(
                "reject",
                v.t("ars-decision-reject"),
                typed.decision == "reject",
            ),
        ],
    );
    radios.error = e_decision;
    FormPart::new(action, v.csrf())
        .block(Block::Radios(radios))
        .block(Block::Field(
            Field::new("motif", v.t("ars-decision-reason"))
                .hint(v.t("ars-decision-reason-hint-sent"))
                .value(typed.reason)
                .error(e_reason),
        ))
        .button(Button::new(v.t("ars-decision-submit"), ButtonKind::Primary))
}

/// The decision typed, checked: `Ok(approve?, reason)` or the form to show again.
fn read_decision(v: &Visit, form: &Form) -> Result<(bool, String), Typed> {
    let decision = form.get("decision");
    let reason = form.trimmed("motif").to_string();
    let mut typed = Typed {
        decision: decision.to_string(),
        reason: reason.clone(),
        errors: [None, None],
    };
    match decision {
        "approve" => {}
        "reject" if reason.is_empty() => {
            typed.errors[1] = Some(v.t("ars-decision-reason-missing"));
        }
        "reject" => {}
        _ => typed.errors[0] = Some(v.t("ars-decision-missing")),
    }
    if reason.chars().count() > 2000 {
        typed.errors[1] = Some(v.t("ars-decision-reason-long"));
    }
    if typed.errors.iter().any(Option::is_some) {
        return Err(typed);
    }
    Ok((decision == "approve", reason))
}

fn status_of(typed: &Typed) -> StatusCode {
    if typed.errors.iter().any(Option::is_some) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

// ---------------------------------------------------------------------------------------
// Change requests.

async fn request_view(
    st: &ArsState,
    v: &Visit,
    s: &ArsSession,
    id: &str,
    typed: Typed,
    notice: Option<Alert>,
) -> Result<Response, PortalError> {
    let store = st.portals.store();
    let Some(r) = visible_request(st, s, id).await? else {
        return Ok(v.not_found(st));
    };
    let now = st.now();
    let status = status_of(&typed);
    let mut page = agent_page(v, s, kind_label(v, r.kind));
    page.back = Some(Link::new(BASE, v.t("ars-back-home")));
    if let Some(n) = notice {
        page = page.alert(n);
    }
    let (_, name) = super::record::department_and_name(store, &r.idnat).await?;
    let rpps = r.idnat.strip_prefix('8').unwrap_or(&r.idnat);
    let submitted = r.submitted_at.unwrap_or(r.created_at);
    page = page.section(
        Section::titled(v.t("ars-request-details"))
            .row(v.t("ars-field-professional"), format!("{name} ({rpps})"))
            .row(v.t("ars-field-department"), r.department.clone())
            .row(v.t("ars-field-state"), request_state_label(v, r.state))
            .row(
                v.t("ars-field-received"),
                format!(
                    "{} ({})",
                    when(&v.ctx, submitted),
                    age(&v.ctx, submitted, now)
                ),
            ),
    );
    page.links.push(Link::new(
        format!("/ars/professionnels/{}", r.idnat),
        v.t("ars-open-record"),
    ));
    let mut change = Section::titled(v.t("ars-request-change"));
    for f in &r.fields {
        let text = if f.before.is_empty() {
            f.after.clone()
        } else {
            v.ctx.tr.t_with(
                "ars-request-before-after",
                &[
                    ("before", Arg::from(f.before.as_str())),
                    ("after", Arg::from(f.after.as_str())),
                ],
            )
        };
        change = change.row(f.label.to_string(), text);
    }
    page = page.section(change);
    let mut work = Section::titled(v.t("ars-anomaly-work"));
    if r.state == RequestState::Submitted {
        work.paragraphs.push(v.t("ars-request-decide-intro"));
        work = work.form(decision_form(v, format!("/ars/demandes/{}", r.id), typed));
    } else {
        if !r.reason.is_empty() {
            work = work.row(v.t("ars-decision-reason"), r.reason.clone());
        }
        if let Some(by) = &r.decided_by {
            work = work.row(v.t("ars-decided-by"), by.clone());
        }
        if let Some(at) = r.decided_at {
            work = work.row(v.t("ars-decided-at"), when(&v.ctx, at));
        }
    }
    let mut history = Section::titled(v.t("ars-history"));
    history.items = r
        .events
        .iter()
        .map(|e| Item {
            href: None,
            label: request_state_label(v, e.to),
            meta: [
                format!("{} — {}", when(&v.ctx, e.at), e.actor),
                e.note.clone(),
            ]
            .into_iter()
            .filter(|m| !m.is_empty())
            .collect(),
        })
        .collect();
    page = page.section(work).section(history).summarize();
    Ok(v.page(st, status, page.render()))
}

/// The change request `id` if this agent may see it.
async fn visible_request(
    st: &ArsState,
    s: &ArsSession,
    id: &str,
) -> Result<Option<requests::Request>, PortalError> {
    if !valid_id(id) {
        return Ok(None);
    }
    let r = requests::get(st.portals.store(), id)
        .await
        .map_err(request_error)?;
    Ok(r.filter(|r| s.agent.handles(Some(&r.department)) && r.state != RequestState::Draft))
}

/// `GET /ars/demandes/{id}`.
pub(crate) async fn request_page(
    State(st): State<ArsState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let v = Visit::new(&st, &headers, format!("/ars/demandes/{id}"));
    let result = async {
        let s = match logged_in(&st, &headers, &v).await? {
            Ok(s) => s,
            Err(r) => return Ok(r),
        };
        // An invalid id is not found there too.
        request_view(&st, &v, &s, &id, Typed::default(), None).await
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}

/// `POST /ars/demandes/{id}`: `decision` (`approve` | `reject`), `motif`.
pub(crate) async fn request_submit(
    State(st): State<ArsState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let v = Visit::new(&st, &headers, format!("/ars/demandes/{id}"));
    let form = Form::parse(&body);
    if !v.csrf_ok(&form) {
        return v.forged(&st);
    }
    let result = async {
        let s = match logged_in(&st, &headers, &v).await? {
            Ok(s) => s,
            Err(r) => return Ok(r),
        };
        if visible_request(&st, &s, &id).await?.is_none() {
            return Ok(v.not_found(&st));
        }
        let store = st.portals.store();
        let (approve, reason) = match read_decision(&v, &form) {
            Ok(d) => d,
            Err(typed) => return request_view(&st, &v, &s, &id, typed, None).await,
        };
        let decision = if approve {
            requests::Decision::Approve
        } else {
            requests::Decision::Reject { reason }
        };
        let clock = st.portals.clock().as_ref();
        let notice = match requests::decide(
            store,
            clock,
            &id,
            &s.agent.actor(),
            decision,
            st.portals.propagation_delay_secs(),
        )
        .await
        {
            Ok(_) => Alert::new(AlertKind::Success, v.t("ars-decision-saved-sent")),
            Err(RequestError::Transition { .. }) => {
                Alert::new(AlertKind::Warning, v.t("ars-request-moved"))
            }
            Err(RequestError::ReasonRequired) => {
                let typed = Typed {
                    decision: "reject".into(),
                    errors: [None, Some(v.t("ars-decision-reason-missing"))],
                    ..Typed::default()
                };
                return request_view(&st, &v, &s, &id, typed, None).await;
            }
            Err(e) => return Err(request_error(e)),
        };
        request_view(&st, &v, &s, &id, Typed::default(), Some(notice)).await
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}

// ---------------------------------------------------------------------------------------
// First registrations.

async fn registration_view(
    st: &ArsState,
    v: &Visit,
    s: &ArsSession,
    id: &str,
    typed: Typed,
    notice: Option<Alert>,
) -> Result<Response, PortalError> {
    let Some(r) = visible_registration(st, s, id).await? else {
        return Ok(v.not_found(st));
    };
    let now = st.now();
    let status = status_of(&typed);
    let mut page = agent_page(v, s, v.t("ars-registration-title"));
    page.back = Some(Link::new(BASE, v.t("ars-back-home")));
    if let Some(n) = notice {
        page = page.alert(n);
    }
    let i = &r.identity;
    let submitted = r.submitted_at.unwrap_or(r.created_at);
    page = page.section(
        Section::titled(v.t("ars-registration-identity"))
            .row(v.t("ars-record-birth-name"), i.family_name.clone())
            .row(v.t("ars-registration-given-names"), i.given_name.clone())
            .row(v.t("ars-record-birth-date"), i.birthdate.clone())
            .row(v.t("ars-registration-birthplace"), i.birthplace.clone())
            .row(v.t("ars-field-state"), registration_state_label(v, r.state))
            .row(
                v.t("ars-field-received"),
                format!(
                    "{} ({})",
                    when(&v.ctx, submitted),
                    age(&v.ctx, submitted, now)
                ),
            ),
    );
    let f = &r.form;
    let yes_no = |b: bool| {
        v.t(if b {
            "ars-registration-confirmed"
        } else {
            "ars-registration-unconfirmed"
        })
    };
    page = page.section(
        Section::titled(v.t("ars-registration-activity"))
            .row(v.t("ars-record-professions"), f.profession_code.clone())
            .row(v.t("ars-registration-mode"), f.mode_code.clone())
            .row(v.t("ars-registration-structure"), f.structure_name.clone())
            .row(
                v.t("ars-registration-address"),
                format!("{}, {} {}", f.street, f.postcode, f.city),
            )
            .row(v.t("ars-field-department"), r.department.clone())
            .row(
                v.t("ars-contact-email"),
                format!("{} ({})", f.email, yes_no(r.email_verified)),
            )
            .row(
                v.t("ars-contact-mobile"),
                format!("{} ({})", f.mobile, yes_no(r.mobile_verified)),
            ),
    );
    let mut docs = Section::titled(v.t("ars-registration-documents"));
    docs.items = r
        .documents
        .iter()
        .map(|d| Item {
            href: Some(format!("/ars/enregistrements/{}/documents/{}", r.id, d.id)),
            label: format!("{} — {}", d.kind.label(), d.filename),
            meta: vec![format!(
                "{} — {} Kio — {}",
                d.content_type,
                (d.size + 1023) / 1024,
                when(&v.ctx, d.uploaded_at)
            )],
        })
        .collect();
    docs.empty = Some(v.t("ars-record-none"));
    page = page.section(docs);
    let mut work = Section::titled(v.t("ars-anomaly-work"));
    if r.state == RegistrationState::Submitted {
        work.paragraphs.push(v.t("ars-registration-decide-intro"));
        work = work.form(decision_form(
            v,
            format!("/ars/enregistrements/{}", r.id),
            typed,
        ));
    } else {
        if let Some(rpps) = &r.rpps {
            work = work.row(v.t("ars-record-rpps"), rpps.clone());
        }
        if let Some(reason) = &r.reason {
            work = work.row(v.t("ars-decision-reason"), reason.clone());
        }
        if let Some(by) = &r.decided_by {
            work = work.row(v.t("ars-decided-by"), by.clone());
        }
    }
    page = page.section(work).summarize();
    Ok(v.page(st, status, page.render()))
}

/// The registration `id` if this agent may see it.
async fn visible_registration(
    st: &ArsState,
    s: &ArsSession,
    id: &str,
) -> Result<Option<registration::Registration>, PortalError> {
    if !valid_id(id) {
        return Ok(None);
    }
    let r = registration::get(st.portals.store(), id)
        .await
        .map_err(registration_error)?;
    Ok(r.filter(|r| s.agent.handles(Some(&r.department)) && r.state != RegistrationState::Draft))
}

/// `GET /ars/enregistrements/{id}`.
pub(crate) async fn registration_page(
    State(st): State<ArsState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let v = Visit::new(&st, &headers, format!("/ars/enregistrements/{id}"));
    let result = async {
        let s = match logged_in(&st, &headers, &v).await? {
            Ok(s) => s,
            Err(r) => return Ok(r),
        };
        // An invalid id is not found there too.
        registration_view(&st, &v, &s, &id, Typed::default(), None).await
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}

/// `POST /ars/enregistrements/{id}`: approve (an RPPS number is assigned and e-mailed) or
/// reject with a reason.
pub(crate) async fn registration_submit(
    State(st): State<ArsState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let v = Visit::new(&st, &headers, format!("/ars/enregistrements/{id}"));
    let form = Form::parse(&body);
    if !v.csrf_ok(&form) {
        return v.forged(&st);
    }
    let result = async {
        let s = match logged_in(&st, &headers, &v).await? {
            Ok(s) => s,
            Err(r) => return Ok(r),
        };
        if visible_registration(&st, &s, &id).await?.is_none() {
            return Ok(v.not_found(&st));
        }
        let (approve, reason) = match read_decision(&v, &form) {
            Ok(d) => d,
            Err(typed) => return registration_view(&st, &v, &s, &id, typed, None).await,
        };
        let decision = if approve {
            registration::Decision::Approve
        } else {
            registration::Decision::Reject { reason }
        };
        let clock = st.portals.clock().as_ref();
        let store = st.portals.store();
        let notice = match registration::decide(
            store,
            clock,
            &id,
            &s.agent.actor(),
            decision,
            st.portals.propagation_delay_secs(),
        )
        .await
        {
            Ok(d) => {
                let text = match &d.rpps {
                    Some(rpps) => v.ctx.tr.t_with(
                        "ars-registration-approved",
                        &[("rpps", Arg::from(rpps.as_str()))],
                    ),
                    None => v.t("ars-decision-saved-sent"),
                };
                Alert::new(AlertKind::Success, text)
            }
            Err(RegistrationError::WrongState(_)) => {
                Alert::new(AlertKind::Warning, v.t("ars-request-moved"))
            }
            Err(e) => return Err(registration_error(e)),
        };
        registration_view(&st, &v, &s, &id, Typed::default(), Some(notice)).await
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}

/// `GET /ars/enregistrements/{id}/documents/{doc}`: the agent's to see only, as an
/// attachment.
pub(crate) async fn registration_document(
    State(st): State<ArsState>,
    headers: HeaderMap,
    Path((id, doc)): Path<(String, String)>,
) -> Response {
    let v = Visit::new(&st, &headers, format!("/ars/enregistrements/{id}"));
    let result = async {
        let s = match logged_in(&st, &headers, &v).await? {
            Ok(s) => s,
            Err(r) => return Ok(r),
        };
        if visible_registration(&st, &s, &id).await?.is_none() || !valid_id(&doc) {
            return Ok(v.not_found(&st));
        }
        let Some((content_type, bytes)) = registration::document(st.portals.store(), &id, &doc)
            .await
            .map_err(registration_error)?
        else {
            return Ok(v.not_found(&st));
        };
        Ok::<_, PortalError>(super::record::attachment(
            &content_type,
            bytes,
            &format!("document-{doc}"),
        ))
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}
