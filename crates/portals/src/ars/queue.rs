//! The agent's home: the queues of their départements, oldest first, each item with its
//! age — anomaly reports from the portals (REG-09, `caducee_registry::anomaly`), change
//! requests (REG-06) and first registrations (REG-07) — and the search of a professional's
//! record. An anomaly report is claimed, then decided: corrected, or rejected with a
//! reason.

use super::pages::{Block, FormPart, Item, Nav, Page, Section};
use super::session::{ArsSession, Stage};
use super::{age, record, when, ArsState, Visit, BASE};
use crate::local::Form;
use crate::PortalError;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use caducee_pages::{
    Alert, AlertKind, Arg, Button, ButtonKind, Choice, Field, Link, PageCtx, RadioGroup,
};
use caducee_registry::anomaly::{self, AnomalyError, AnomalyState, Decision};
use std::collections::HashMap;

/// The most items a queue shows at once (oldest first).
const QUEUE_MAX: u32 = 200;
/// The most reports of the national queue read to find an agent's.
const SCAN_MAX: usize = 5_000;

/// The bar of a logged-in agent: who, and the logout button.
pub(crate) fn nav(v: &Visit, s: &ArsSession) -> Nav {
    Nav {
        who: v.ctx.tr.t_with(
            "ars-nav-who",
            &[
                ("name", Arg::from(s.agent.name.as_str())),
                (
                    "departments",
                    Arg::from(s.agent.departments.join(", ").as_str()),
                ),
            ],
        ),
        csrf: v.csrf(),
        logout: v.t("ars-logout"),
    }
}

/// A page of a logged-in agent.
pub(crate) fn agent_page(v: &Visit, s: &ArsSession, heading: String) -> Page {
    let mut page = Page::new(&v.ctx, heading);
    page.nav = Some(nav(v, s));
    page
}

/// The logged-in agent, or the answer that sends the browser to the login.
pub(crate) async fn logged_in(
    st: &ArsState,
    headers: &HeaderMap,
    v: &Visit,
) -> Result<Result<ArsSession, Response>, PortalError> {
    Ok(match st.session_at(headers, Stage::Full).await? {
        Some(s) => Ok(s),
        None => Err(v.redirect(st, BASE, Vec::new())),
    })
}

pub(crate) fn state_label(ctx: &PageCtx, s: AnomalyState) -> String {
    ctx.t(match s {
        AnomalyState::Received => "ars-anomaly-state-received",
        AnomalyState::InReview => "ars-anomaly-state-in-review",
        AnomalyState::Corrected => "ars-anomaly-state-corrected",
        AnomalyState::Rejected => "ars-anomaly-state-rejected",
    })
}

/// `GET /ars`: the login form, or the queues.
pub(crate) async fn home(
    State(st): State<ArsState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let v = Visit::new(&st, &headers, BASE);
    let query = query.unwrap_or_default();
    let result = async {
        let Some(s) = st.session_at(&headers, Stage::Full).await? else {
            let notice = query
                .contains("deconnecte=1")
                .then(|| Alert::new(AlertKind::Success, v.t("ars-logged-out")));
            return Ok(super::login::login_form(
                &st,
                &v,
                "",
                None,
                notice,
                StatusCode::OK,
            ));
        };
        dashboard(&st, &v, &s, query.contains("bienvenue=1")).await
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}

async fn dashboard(
    st: &ArsState,
    v: &Visit,
    s: &ArsSession,
    welcome: bool,
) -> Result<Response, PortalError> {
    let now = st.now();
    let store = st.portals.store();
    let mut page = agent_page(v, s, v.t("ars-home-title"));
    if welcome {
        page = page.alert(Alert::new(AlertKind::Success, v.t("ars-enrolled")));
    }
    // Anomaly reports waiting (received or in review), of the agent's départements.
    // The registry's queue is national: read it page by page, oldest first, keeping the
    // agent's départements, until QUEUE_MAX of theirs or SCAN_MAX read.
    let mut reports = Vec::new();
    let mut after: Option<String> = None;
    let mut scanned = 0usize;
    loop {
        let page = anomaly::queue(
            store,
            &[AnomalyState::Received, AnomalyState::InReview],
            after.as_deref(),
            QUEUE_MAX,
        )
        .await
        .map_err(anomaly_error)?;
        let last = page.len() < QUEUE_MAX as usize;
        scanned += page.len();
        after = page.last().map(|r| r.id.clone());
        reports.extend(page);
        if last || scanned >= SCAN_MAX {
            break;
        }
    }
    let mut departments: HashMap<String, Option<String>> = HashMap::new();
    let mut names: HashMap<String, String> = HashMap::new();
    let mut items = Vec::new();
    for r in reports {
        if !departments.contains_key(&r.idnat) {
            let (dept, name) = record::department_and_name(store, &r.idnat).await?;
            departments.insert(r.idnat.clone(), dept);
            names.insert(r.idnat.clone(), name);
        }
        let dept = departments.get(&r.idnat).cloned().flatten();
        if !s.agent.handles(dept.as_deref()) {
            continue;
        }
        if items.len() >= QUEUE_MAX as usize {
            break;
        }
        let mut meta = vec![v.ctx.tr.t_with(
            "ars-item-received",
            &[
                ("age", Arg::from(age(&v.ctx, r.created_at, now).as_str())),
                ("department", Arg::from(dept.as_deref().unwrap_or("—"))),
            ],
        )];
        meta.push(state_label(&v.ctx, r.state));
        if let Some(a) = &r.assignee {
            meta.push(
                v.ctx
                    .tr
                    .t_with("ars-anomaly-assignee", &[("agent", Arg::from(a.as_str()))]),
            );
        }
        items.push(Item {
            href: Some(format!("/ars/signalements/{}", r.id)),
            label: v.ctx.tr.t_with(
                "ars-anomaly-item",
                &[
                    ("field", Arg::from(r.field.as_str())),
                    (
                        "name",
                        Arg::from(names.get(&r.idnat).map(String::as_str).unwrap_or("")),
                    ),
                ],
            ),
            meta,
        });
    }
    let mut anomalies = Section::titled(v.t("ars-queue-anomalies"));
    anomalies.items = items;
    anomalies.empty = Some(v.t("ars-queue-empty"));
    let [requests, registrations] = super::requests::sections(st, v, s).await?;
    page = page
        .section(requests)
        .section(registrations)
        .section(anomalies);
    let search = FormPart::new("/ars/recherche", v.csrf())
        .block(Block::Field(
            Field::new("numero", v.t("ars-search-label"))
                .hint(v.t("ars-search-hint"))
                .inputmode("numeric"),
        ))
        .button(Button::new(v.t("ars-search-submit"), ButtonKind::Secondary));
    page = page.section(Section::titled(v.t("ars-search-title")).form(search));
    Ok(v.page(st, StatusCode::OK, page.render()))
}

pub(crate) fn anomaly_error(e: AnomalyError) -> PortalError {
    match e {
        AnomalyError::Store(s) => PortalError::Internal(s.to_string()),
        other => PortalError::Internal(other.to_string()),
    }
}

/// `POST /ars/recherche`: to the record of the number typed.
pub(crate) async fn search(
    State(st): State<ArsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v = Visit::new(&st, &headers, BASE);
    let form = Form::parse(&body);
    if !v.csrf_ok(&form) {
        return v.forged(&st);
    }
    match caducee_registry::queries::parse_id(form.trimmed("numero")) {
        Ok(id) => v.redirect(
            &st,
            &format!("/ars/professionnels/{}", id.as_str()),
            Vec::new(),
        ),
        Err(_) => v.not_found(&st),
    }
}

/// What the decision form had, to show it again.
#[derive(Default)]
struct Typed {
    decision: String,
    note: String,
    errors: [Option<String>; 2],
}

async fn anomaly_view(
    st: &ArsState,
    v: &Visit,
    s: &ArsSession,
    id: &str,
    typed: Typed,
    notice: Option<Alert>,
) -> Result<Response, PortalError> {
    let Some(Visible {
        report,
        events,
        dept,
        name,
    }) = visible_anomaly(st, s, id).await?
    else {
        return Ok(v.not_found(st));
    };
    let now = st.now();
    let failed = typed.errors.iter().any(Option::is_some);
    let mut page = agent_page(v, s, v.t("ars-anomaly-title"));
    page.back = Some(Link::new(BASE, v.t("ars-back-home")));
    if let Some(n) = notice {
        page = page.alert(n);
    }
    let rpps = report.idnat.strip_prefix('8').unwrap_or(&report.idnat);
    let details = Section::titled(v.t("ars-anomaly-details"))
        .row(v.t("ars-field-professional"), format!("{name} ({rpps})"))
        .row(v.t("ars-field-department"), dept.unwrap_or_default())
        .row(v.t("ars-anomaly-field"), report.field.clone())
        .row(v.t("ars-anomaly-wrong"), report.wrong.clone())
        .row(v.t("ars-anomaly-correct"), report.correct.clone())
        .row(v.t("ars-anomaly-portal"), report.portal.clone())
        .row(v.t("ars-field-state"), state_label(&v.ctx, report.state))
        .row(
            v.t("ars-field-received"),
            format!(
                "{} ({})",
                when(&v.ctx, report.created_at),
                age(&v.ctx, report.created_at, now)
            ),
        );
    page = page.section(details);
    page.links.push(Link::new(
        format!("/ars/professionnels/{}", report.idnat),
        v.t("ars-open-record"),
    ));
    let mut history = Section::titled(v.t("ars-history"));
    history.items = events
        .iter()
        .map(|e| Item {
            href: None,
            label: state_label(&v.ctx, e.to),
            meta: [
                format!("{} — {}", when(&v.ctx, e.at), e.actor),
                e.note.clone(),
            ]
            .into_iter()
            .filter(|m| !m.is_empty())
            .collect(),
        })
        .collect();
    let me = s.agent.actor();
    let action = format!("/ars/signalements/{}", report.id);
    let mut work = Section::titled(v.t("ars-anomaly-work"));
    match report.state {
        AnomalyState::Received => {
            work.paragraphs.push(v.t("ars-anomaly-claim-intro"));
            work = work.form(
                FormPart::new(action, v.csrf())
                    .hidden("action", "claim")
                    .button(Button::new(v.t("ars-anomaly-claim"), ButtonKind::Primary)),
            );
        }
        AnomalyState::InReview if report.assignee.as_deref() == Some(me.as_str()) => {
            let [e_decision, e_note] = typed.errors;
            let choices = vec![
                Choice::new(
                    "corrected",
                    v.t("ars-anomaly-decide-corrected"),
                    typed.decision == "corrected",
                ),
                Choice::new(
                    "rejected",
                    v.t("ars-anomaly-decide-rejected"),
                    typed.decision == "rejected",
                ),
            ];
            let mut radios = RadioGroup::new("decision", v.t("ars-decision-legend"), choices);
            radios.error = e_decision;
            let note = Field::new("motif", v.t("ars-decision-reason"))
                .hint(v.t("ars-decision-reason-hint"))
                .value(typed.note)
                .error(e_note);
            work = work.form(
                FormPart::new(action, v.csrf())
                    .hidden("action", "decide")
                    .block(Block::Radios(radios))
                    .block(Block::Field(note))
                    .button(Button::new(v.t("ars-decision-submit"), ButtonKind::Primary)),
            );
        }
        AnomalyState::InReview => {
            work.paragraphs.push(v.ctx.tr.t_with(
                "ars-anomaly-assignee",
                &[("agent", Arg::from(report.assignee.as_deref().unwrap_or("")))],
            ));
        }
        AnomalyState::Corrected | AnomalyState::Rejected => {
            work.paragraphs.push(v.t("ars-anomaly-closed"));
        }
    }
    page = page.section(work).section(history).summarize();
    let status = if failed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(v.page(st, status, page.render()))
}

pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An anomaly report the agent may see: the report, its history, the professional's
/// département and name.
struct Visible {
    report: anomaly::Anomaly,
    events: Vec<anomaly::AnomalyEvent>,
    dept: Option<String>,
    name: String,
}

/// The anomaly report `id` if this agent may see it (another département's report is not
/// found).
async fn visible_anomaly(
    st: &ArsState,
    s: &ArsSession,
    id: &str,
) -> Result<Option<Visible>, PortalError> {
    if !valid_id(id) {
        return Ok(None);
    }
    let store = st.portals.store();
    let Some((report, events)) = anomaly::get(store, id).await.map_err(anomaly_error)? else {
        return Ok(None);
    };
    let (dept, name) = record::department_and_name(store, &report.idnat).await?;
    if !s.agent.handles(dept.as_deref()) {
        return Ok(None);
    }
    Ok(Some(Visible {
        report,
        events,
        dept,
        name,
    }))
}

/// `GET /ars/signalements/{id}`.
pub(crate) async fn anomaly_page(
    State(st): State<ArsState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let v = Visit::new(&st, &headers, format!("/ars/signalements/{id}"));
    let result = async {
        let s = match logged_in(&st, &headers, &v).await? {
            Ok(s) => s,
            Err(r) => return Ok(r),
        };
        // An invalid id is not found there too.
        anomaly_view(&st, &v, &s, &id, Typed::default(), None).await
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}

/// `POST /ars/signalements/{id}`: `action=claim`, or `action=decide` with `decision`
/// (`corrected` | `rejected`) and `motif` (required when rejecting).
pub(crate) async fn anomaly_submit(
    State(st): State<ArsState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let v = Visit::new(&st, &headers, format!("/ars/signalements/{id}"));
    let form = Form::parse(&body);
    if !v.csrf_ok(&form) {
        return v.forged(&st);
    }
    let result = async {
        let s = match logged_in(&st, &headers, &v).await? {
            Ok(s) => s,
            Err(r) => return Ok(r),
        };
        // The same check as the page: another département's report is not found.
        if visible_anomaly(&st, &s, &id).await?.is_none() {
            return Ok(v.not_found(&st));
        }
        let store = st.portals.store();
        let clock = st.portals.clock().as_ref();
        let me = s.agent.actor();
        let outcome = match form.get("action") {
            "claim" => anomaly::claim(store, clock, &id, &me)
                .await
                .map(|_| "ars-anomaly-claimed"),
            "decide" => {
                let decision = match form.get("decision") {
                    "corrected" => Some(Decision::Corrected),
                    "rejected" => Some(Decision::Rejected),
                    _ => None,
                };
                let note = form.trimmed("motif");
                let mut typed = Typed {
                    decision: form.get("decision").to_string(),
                    note: note.to_string(),
                    errors: [None, None],
                };
                if decision.is_none() {
                    typed.errors[0] = Some(v.t("ars-decision-missing"));
                }
                if decision == Some(Decision::Rejected) && note.is_empty() {
                    typed.errors[1] = Some(v.t("ars-decision-reason-missing"));
                }
                if note.chars().count() > anomaly::NOTE_MAX {
                    typed.errors[1] = Some(v.t("ars-decision-reason-long"));
                }
                match decision {
                    Some(d) if typed.errors.iter().all(Option::is_none) => {
                        anomaly::decide(store, clock, &id, &me, d, note)
                            .await
                            .map(|_| "ars-decision-saved")
                    }
                    _ => return anomaly_view(&st, &v, &s, &id, typed, None).await,
                }
            }
            _ => return Ok(v.not_found(&st)),
        };
        let notice = match outcome {
            Ok(key) => Alert::new(AlertKind::Success, v.t(key)),
            Err(AnomalyError::Transition { .. } | AnomalyError::NotAssignee(_)) => {
                Alert::new(AlertKind::Warning, v.t("ars-anomaly-moved"))
            }
            Err(e) => return Err(anomaly_error(e)),
        };
        anomaly_view(&st, &v, &s, &id, Typed::default(), Some(notice)).await
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}
