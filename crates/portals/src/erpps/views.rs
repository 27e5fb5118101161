//! What the professional reads on eRPPS: their professional activities as the registry
//! holds them (`/erpps/activites`) and their requests (`/erpps/demandes`: the one in
//! progress and the earlier ones, each with its state, its history, a rejection's reason,
//! the day an approved change becomes visible; a draft not yet sent is resumed from here).

use super::forms::{path_of, title_key};
use super::{layout, registry_failure, session, BASE};
use crate::state::{html, request_id, PortalState};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use caducee_pages::{Alert, AlertKind, Layout, Link, PageCtx, Template};
use caducee_registry::queries::Activity;
use caducee_registry::requests::{self, RequestState};
use sqlx::Row;

pub(crate) fn routes() -> Router<PortalState> {
    Router::new()
        .route(&format!("{BASE}/activites"), get(activities))
        .route(&format!("{BASE}/demandes"), get(requests_page))
}

/// "Profession — structure, postcode city" of an activity.
pub(crate) fn activity_label(a: &Activity) -> String {
    match &a.structure {
        Some(s) => format!(
            "{} — {}, {} {}",
            a.profession.label,
            if s.name.is_empty() {
                &s.trade_name
            } else {
                &s.name
            },
            s.postcode,
            s.city
        ),
        None => a.profession.label.clone(),
    }
}

pub(crate) struct ActivityRow {
    pub profession: String,
    pub structure: String,
    pub address: String,
    pub mode: String,
    pub role: String,
    pub started: String,
    pub ended: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "erpps/activities.html")]
struct ActivitiesPage {
    layout: Layout,
    rows: Vec<ActivityRow>,
}

fn day(unix: Option<i64>) -> String {
    unix.filter(|t| *t > 0)
        .map(caducee_core::date_fr::date)
        .unwrap_or_default()
}

async fn activities(State(st): State<PortalState>, headers: HeaderMap) -> Response {
    let ctx = PageCtx::from_headers(&headers, format!("{BASE}/activites"));
    let fail = |e: crate::PortalError| st.fail(&headers, &e, request_id(&headers).as_deref());
    let user = match session::require(&st, &headers).await {
        Ok(Ok(u)) => u,
        Ok(Err(r)) => return r,
        Err(e) => return fail(e),
    };
    let id = match caducee_registry::queries::parse_id(&user.idnat) {
        Ok(id) => id,
        Err(e) => return fail(crate::PortalError::Internal(e.to_string())),
    };
    let professional =
        match caducee_registry::queries::get_professional(st.portals.store(), &id).await {
            Ok(p) => p,
            Err(e) => return fail(crate::PortalError::Internal(e.to_string())),
        };
    let dates =
        match sqlx::query("SELECT id, started_at, ended_at FROM reg_activity WHERE idnat = $1")
            .bind(&user.idnat)
            .fetch_all(st.portals.store().pool())
            .await
        {
            Ok(rows) => rows,
            Err(e) => return fail(e.into()),
        };
    let dates_of = |aid: &str| -> (Option<i64>, Option<i64>) {
        dates
            .iter()
            .find(|r| r.try_get::<String, _>("id").ok().as_deref() == Some(aid))
            .map(|r| {
                (
                    r.try_get::<i64, _>("started_at").ok(),
                    r.try_get::<Option<i64>, _>("ended_at").ok().flatten(),
                )
            })
            .unwrap_or((None, None))
    };
    let rows = professional
        .map(|p| p.activities)
        .unwrap_or_default()
        .iter()
        .map(|a| {
            let (started, ended) = dates_of(&a.id);
            let (structure, address) = match &a.structure {
                Some(s) => (
                    if s.name.is_empty() {
                        s.trade_name.clone()
                    } else {
                        s.name.clone()
                    },
                    [s.address.join(", "), format!("{} {}", s.postcode, s.city)]
                        .into_iter()
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                None => (ctx.t("erpps-no-place"), String::new()),
            };
            ActivityRow {
                profession: a.profession.label.clone(),
                structure,
                address,
                mode: a.mode.label.clone(),
                role: a.role.label.clone(),
                started: day(started),
                ended: day(ended),
                active: a.active,
            }
        })
        .collect();
    let page = ActivitiesPage {
        layout: layout(&ctx, &st, &ctx.t("erpps-action-activities")),
        rows,
    };
    html(
        StatusCode::OK,
        crate::local::pages::render(&page),
        Vec::new(),
    )
}

pub(crate) struct FieldLine {
    pub label: String,
    pub before: String,
    pub after: String,
}

pub(crate) struct EventLine {
    pub at: String,
    pub state: String,
}

pub(crate) struct RequestView {
    pub id: String,
    pub title: String,
    pub state: String,
    /// `draft`, `submitted`…: the CSS class of its badge.
    pub state_class: &'static str,
    pub reason: String,
    pub visible_from: String,
    pub resume: Option<Link>,
    pub fields: Vec<FieldLine>,
    pub events: Vec<EventLine>,
}

#[derive(Template)]
#[template(path = "erpps/requests.html")]
struct RequestsPage {
    layout: Layout,
    notice: Option<Alert>,
    groups: Vec<Group>,
}

pub(crate) struct Group {
    pub title: String,
    pub items: Vec<RequestView>,
}

fn state_key(s: RequestState) -> &'static str {
    match s {
        RequestState::Draft => "erpps-state-draft",
        RequestState::Submitted => "erpps-state-submitted",
        RequestState::Approved => "erpps-state-approved",
        RequestState::Rejected => "erpps-state-rejected",
        RequestState::Applied => "erpps-state-applied",
    }
}

async fn requests_page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let ctx = PageCtx::from_headers(&headers, format!("{BASE}/demandes"));
    let fail = |e: crate::PortalError| st.fail(&headers, &e, request_id(&headers).as_deref());
    let user = match session::require(&st, &headers).await {
        Ok(Ok(u)) => u,
        Ok(Err(r)) => return r,
        Err(e) => return fail(e),
    };
    let store = st.portals.store();
    let history = match requests::history_for(store, &user.idnat).await {
        Ok(h) => h,
        Err(e) => return fail(registry_failure(e)),
    };
    let delay = st.portals.propagation_delay_secs();
    let mut open = Vec::new();
    let mut done = Vec::new();
    for r in history {
        let fields = match requests::describe(store, &user.idnat, &r.change).await {
            Ok(f) => f,
            Err(e) => return fail(registry_failure(e)),
        };
        let visible_from = match (r.state, r.effective_at(delay)) {
            (RequestState::Approved, Some(at)) => ctx.tr.t_with(
                "erpps-visible-from",
                &[("date", caducee_core::date_fr::date_time(at).into())],
            ),
            _ => String::new(),
        };
        let view = RequestView {
            id: r.id.clone(),
            title: ctx.t(title_key(r.kind)),
            state: ctx.t(state_key(r.state)),
            state_class: r.state.as_str(),
            reason: r.reason.clone(),
            visible_from,
            resume: (r.state == RequestState::Draft).then(|| {
                Link::new(
                    format!("{BASE}{}", path_of(r.kind)),
                    ctx.t("erpps-resume-draft"),
                )
                .id(&format!("reprendre-{}", r.kind.as_str()))
            }),
            fields: fields
                .into_iter()
                .filter(|f| !f.after.is_empty() || !f.before.is_empty())
                .map(|f| FieldLine {
                    label: f.label.to_string(),
                    before: f.before,
                    after: f.after,
                })
                .collect(),
            events: r
                .events
                .iter()
                .map(|e| EventLine {
                    at: caducee_core::date_fr::date_time(e.at),
                    state: ctx.t(state_key(e.to)),
                })
                .collect(),
        };
        if r.state.is_final() {
            done.push(view);
        } else {
            open.push(view);
        }
    }
    let sent = url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .any(|(k, _)| k == "envoyee");
    let page = RequestsPage {
        layout: layout(&ctx, &st, &ctx.t("erpps-action-requests")),
        notice: sent.then(|| {
            Alert::new(AlertKind::Success, ctx.t("erpps-submitted-notice")).id("demande-envoyee")
        }),
        groups: vec![
            Group {
                title: ctx.t("erpps-requests-open"),
                items: open,
            },
            Group {
                title: ctx.t("erpps-requests-done"),
                items: done,
            },
        ],
    };
    html(
        StatusCode::OK,
        crate::local::pages::render(&page),
        Vec::new(),
    )
}
