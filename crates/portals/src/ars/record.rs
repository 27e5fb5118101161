//! A professional's record (`/ars/professionnels/{id}`): the registry's data, the anomaly
//! reports, the evidence agents recorded, and the history (the audit trail about them);
//! and the contact coordinates set on the professional's behalf (REG-11, CPS seed: "l'ARS
//! peut intervenir pour me permettre l'accès au portail"): e-mail, mobile and
//! correspondence address, with the identity document the agent saw, uploaded (PDF, JPEG
//! or PNG recognised by content, 5 MiB at most, kept in the database). The coordinates go
//! through the registry's operator update (`caducee registry contact` uses it), effective
//! at once: the agency itself vouches for them, and the e-CPS activation finds them.
//!
//! Only the agents of the professional's département see the record (404 otherwise).

use super::pages::{Block, FormPart, Item, Page, Section};
use super::queue::{agent_page, logged_in};
use super::session::ArsSession;
use super::{age, agents, departments, when, ArsState, Visit, BASE};
use crate::PortalError;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use caducee_core::contact::{Email, Mobile};
use caducee_core::ids::IdNatPs;
use caducee_core::mask::{mask_email, mask_phone};
use caducee_pages::{Alert, AlertKind, Arg, Button, ButtonKind, Field, Link};
use caducee_registry::queries::{self, ContactUpdate, Professional, RegistryError};
use caducee_store::Store;
use sha2::Digest as _;
use sqlx::Row;

/// The largest evidence file, in bytes.
pub const EVIDENCE_MAX_BYTES: usize = 5 * 1024 * 1024;

/// The content type of an evidence file, from its first bytes: PDF, JPEG or PNG only.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

fn registry_error(e: RegistryError) -> PortalError {
    PortalError::Internal(e.to_string())
}

/// The département of a professional (the postcode of their first active activity's
/// structure, else of any activity's) and their name; `None` when the registry does not
/// know them or no activity has a French postcode.
pub(crate) async fn department_and_name(
    store: &Store,
    idnat: &str,
) -> Result<(Option<String>, String), PortalError> {
    let Ok(id) = IdNatPs::parse(idnat) else {
        return Ok((None, String::new()));
    };
    let Some(p) = queries::get_professional(store, &id)
        .await
        .map_err(registry_error)?
    else {
        return Ok((None, String::new()));
    };
    Ok((department_of(&p), full_name(&p)))
}

fn full_name(p: &Professional) -> String {
    format!("{} {}", p.first_name, p.last_name)
        .trim()
        .to_string()
}

/// The département of a professional's record (see [`department_and_name`]).
pub(crate) fn department_of(p: &Professional) -> Option<String> {
    let of = |a: &queries::Activity| {
        a.structure.as_ref().and_then(|s| {
            departments::of_postcode(&s.postcode).or_else(|| {
                let code = s.department.code.trim().to_uppercase();
                departments::is_valid(&code).then_some(code)
            })
        })
    };
    p.activities
        .iter()
        .filter(|a| a.active)
        .find_map(of)
        .or_else(|| p.activities.iter().find_map(of))
}

/// The professional of `id` if this agent may see them.
async fn visible(
    st: &ArsState,
    s: &ArsSession,
    id: &str,
) -> Result<Option<Professional>, PortalError> {
    let Ok(id) = queries::parse_id(id) else {
        return Ok(None);
    };
    let Some(p) = queries::get_professional(st.portals.store(), &id)
        .await
        .map_err(registry_error)?
    else {
        return Ok(None);
    };
    Ok(s.agent.handles(department_of(&p).as_deref()).then_some(p))
}

/// What an event of the history was, in the page's words (its stable name otherwise).
fn event_label(v: &Visit, action: &str) -> String {
    let key = match action {
        "registry.anomaly.filed" => "ars-event-anomaly-filed",
        "registry.anomaly.state" => "ars-event-anomaly-state",
        "registry.contact.updated" => "ars-event-contact-updated",
        "registry.identity.updated" => "ars-event-identity-updated",
        "registry.request.state" => "ars-event-request-state",
        "ars.contact.set_on_behalf" => "ars-event-contact-on-behalf",
        other => return other.to_string(),
    };
    v.t(key)
}

/// One evidence file recorded for a professional (its content not read).
struct EvidenceRow {
    id: String,
    /// The agent's e-mail (their id if they are gone).
    agent: String,
    content_type: String,
    file_name: String,
    size: i64,
    created_at: i64,
}

async fn evidence_of(store: &Store, idnat: &str) -> Result<Vec<EvidenceRow>, PortalError> {
    let rows = sqlx::query(
        "SELECT e.id, COALESCE(a.email, e.agent_id), e.content_type, e.file_name, e.size,
                e.created_at
         FROM ars_evidence e LEFT JOIN ars_agent a ON a.id = e.agent_id
         WHERE e.idnat = $1 ORDER BY e.created_at DESC, e.id",
    )
    .bind(idnat)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EvidenceRow {
                id: r.try_get(0)?,
                agent: r.try_get(1)?,
                content_type: r.try_get(2)?,
                file_name: r.try_get(3)?,
                size: r.try_get(4)?,
                created_at: r.try_get(5)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(PortalError::from)
}

/// `GET /ars/professionnels/{id}`.
pub(crate) async fn page(
    State(st): State<ArsState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let v = Visit::new(&st, &headers, format!("/ars/professionnels/{id}"));
    let result = async {
        let s = match logged_in(&st, &headers, &v).await? {
            Ok(s) => s,
            Err(r) => return Ok(r),
        };
        let Some(p) = visible(&st, &s, &id).await? else {
            return Ok(v.not_found(&st));
        };
        record_view(&st, &v, &s, &p, None).await
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}

async fn record_view(
    st: &ArsState,
    v: &Visit,
    s: &ArsSession,
    p: &Professional,
    notice: Option<Alert>,
) -> Result<Response, PortalError> {
    let store = st.portals.store();
    let now = st.now();
    let mut page = agent_page(v, s, full_name(p));
    page.back = Some(Link::new(BASE, v.t("ars-back-home")));
    if let Some(n) = notice {
        page = page.alert(n);
    }
    let mut identity = Section::titled(v.t("ars-record-identity"))
        .row(v.t("ars-record-rpps"), p.identifier.clone())
        .row(v.t("ars-record-idnat"), p.id_nat.clone())
        .row(
            v.t("ars-field-department"),
            department_of(p).unwrap_or_default(),
        );
    if let Some(c) = &p.civil_identity {
        identity = identity
            .row(v.t("ars-record-birth-name"), c.birth_name.clone())
            .row(v.t("ars-record-birth-date"), day_month_year(&c.birth_date));
    }
    let professions = p
        .professions
        .iter()
        .map(|x| x.profession.label.clone())
        .collect::<Vec<_>>()
        .join(", ");
    identity = identity.row(v.t("ars-record-professions"), professions);
    page = page.section(identity);
    let mut activities = Section::titled(v.t("ars-record-activities"));
    activities.items = p
        .activities
        .iter()
        .map(|a| {
            let (name, place) = match &a.structure {
                Some(x) => (
                    x.name.clone(),
                    format!("{} {} {}", x.address.join(" "), x.postcode, x.city)
                        .trim()
                        .to_string(),
                ),
                None => (String::new(), String::new()),
            };
            Item {
                href: None,
                label: if name.is_empty() {
                    a.profession.label.clone()
                } else {
                    format!("{} — {name}", a.profession.label)
                },
                meta: [
                    place,
                    a.mode.label.clone(),
                    v.t(if a.active {
                        "ars-record-active"
                    } else {
                        "ars-record-ended"
                    }),
                ]
                .into_iter()
                .filter(|m| !m.is_empty())
                .collect(),
            }
        })
        .collect();
    activities.empty = Some(v.t("ars-record-no-activity"));
    page = page.section(activities);
    let contact = p.contact.as_ref();
    let coordinates = Section::titled(v.t("ars-record-contact"))
        .row(
            v.t("ars-contact-email"),
            contact.map(|c| c.email.clone()).unwrap_or_default(),
        )
        .row(
            v.t("ars-contact-mobile"),
            contact.map(|c| c.mobile.clone()).unwrap_or_default(),
        )
        .row(
            v.t("ars-contact-address"),
            contact.map(|c| c.address.clone()).unwrap_or_default(),
        );
    let mut coordinates = coordinates;
    coordinates.link = Some(
        Link::new(
            format!("/ars/professionnels/{}/coordonnees", p.id_nat),
            v.t("ars-contact-open"),
        )
        .button(ButtonKind::Primary),
    );
    page = page.section(coordinates);
    // Anomaly reports of the professional.
    let reports = caducee_registry::anomaly::for_person(store, &p.id_nat, None)
        .await
        .map_err(super::queue::anomaly_error)?;
    let mut anomalies = Section::titled(v.t("ars-record-anomalies"));
    anomalies.items = reports
        .iter()
        .map(|r| Item {
            href: Some(format!("/ars/signalements/{}", r.id)),
            label: r.field.clone(),
            meta: vec![v.ctx.tr.t_with(
                "ars-record-anomaly-meta",
                &[
                    ("age", Arg::from(age(&v.ctx, r.created_at, now).as_str())),
                    ("portal", Arg::from(r.portal.as_str())),
                    (
                        "state",
                        Arg::from(super::queue::state_label(&v.ctx, r.state).as_str()),
                    ),
                ],
            )],
        })
        .collect();
    anomalies.empty = Some(v.t("ars-record-none"));
    page = page.section(anomalies);
    // Change requests of the professional (drafts are theirs alone).
    let mut reqs = Section::titled(v.t("ars-record-requests"));
    reqs.items = caducee_registry::requests::history_for(store, &p.id_nat)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?
        .into_iter()
        .filter(|r| r.state != caducee_registry::requests::RequestState::Draft)
        .map(|r| Item {
            href: Some(format!("/ars/demandes/{}", r.id)),
            label: r.kind.label_fr().to_string(),
            meta: vec![format!(
                "{} — {}",
                when(&v.ctx, r.submitted_at.unwrap_or(r.created_at)),
                r.state.as_str()
            )],
        })
        .collect();
    reqs.empty = Some(v.t("ars-record-none"));
    page = page.section(reqs);
    // Evidence recorded by agents.
    let mut evidence = Section::titled(v.t("ars-record-evidence"));
    evidence.items = evidence_of(store, &p.id_nat)
        .await?
        .into_iter()
        .map(|e| Item {
            href: Some(format!("/ars/professionnels/{}/pieces/{}", p.id_nat, e.id)),
            label: e.file_name.clone(),
            meta: vec![format!(
                "{} — {} — {} Kio — {}",
                when(&v.ctx, e.created_at),
                e.content_type,
                (e.size + 1023) / 1024,
                e.agent
            )],
        })
        .collect();
    evidence.empty = Some(v.t("ars-record-none"));
    page = page.section(evidence);
    // History: the audit trail about the professional, newest first.
    let mut events = caducee_store::audit::events_for(store, &p.id_nat)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    events.reverse();
    let mut history = Section::titled(v.t("ars-history"));
    history.items = events
        .iter()
        .take(100)
        .map(|e| Item {
            href: None,
            label: event_label(v, &e.action),
            meta: vec![format!("{} — {}", when(&v.ctx, e.at), e.actor)],
        })
        .collect();
    history.empty = Some(v.t("ars-record-none"));
    page = page.section(history);
    Ok(v.page(st, StatusCode::OK, page.render()))
}

/// What the coordinates form had, to show it again.
#[derive(Default)]
struct Typed {
    email: String,
    mobile: String,
    address: String,
    /// email, mobile, address, evidence.
    errors: [Option<String>; 4],
}

fn coordinates_form(
    st: &ArsState,
    v: &Visit,
    s: &ArsSession,
    p: &Professional,
    typed: Typed,
    status: StatusCode,
) -> Response {
    let [e_email, e_mobile, e_address, e_evidence] = typed.errors;
    let mut page = agent_page(
        v,
        s,
        v.ctx.tr.t_with(
            "ars-contact-title",
            &[("name", Arg::from(full_name(p).as_str()))],
        ),
    );
    page.back = Some(Link::new(
        format!("/ars/professionnels/{}", p.id_nat),
        v.t("ars-back-record"),
    ));
    page.intro.push(v.t("ars-contact-intro"));
    let mut form = FormPart::new(
        format!("/ars/professionnels/{}/coordonnees", p.id_nat),
        v.csrf(),
    )
    .block(Block::Field(
        Field::new("email", v.t("ars-contact-email"))
            .kind("email")
            .value(typed.email)
            .error(e_email)
            .required(),
    ))
    .block(Block::Field(
        Field::new("mobile", v.t("ars-contact-mobile"))
            .kind("tel")
            .hint(v.t("ars-contact-mobile-hint"))
            .value(typed.mobile)
            .error(e_mobile)
            .required(),
    ))
    .block(Block::Field(
        Field::new("adresse", v.t("ars-contact-address"))
            .hint(v.t("ars-contact-address-hint"))
            .value(typed.address)
            .error(e_address),
    ))
    .block(Block::Field(
        Field::new("piece", v.t("ars-contact-evidence"))
            .kind("file")
            .hint(v.t("ars-contact-evidence-hint"))
            .error(e_evidence)
            .required(),
    ))
    .button(Button::new(v.t("ars-contact-submit"), ButtonKind::Primary));
    form.multipart = true;
    let page: Page = page.section(Section::untitled().form(form)).summarize();
    v.page(st, status, page.render())
}

/// `GET /ars/professionnels/{id}/coordonnees`.
pub(crate) async fn coordinates_page(
    State(st): State<ArsState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let v = Visit::new(
        &st,
        &headers,
        format!("/ars/professionnels/{id}/coordonnees"),
    );
    let result = async {
        let s = match logged_in(&st, &headers, &v).await? {
            Ok(s) => s,
            Err(r) => return Ok(r),
        };
        let Some(p) = visible(&st, &s, &id).await? else {
            return Ok(v.not_found(&st));
        };
        let c = p.contact.clone();
        let typed = Typed {
            email: c.as_ref().map(|c| c.email.clone()).unwrap_or_default(),
            mobile: c.as_ref().map(|c| c.mobile.clone()).unwrap_or_default(),
            address: c.map(|c| c.address).unwrap_or_default(),
            errors: Default::default(),
        };
        Ok::<_, PortalError>(coordinates_form(&st, &v, &s, &p, typed, StatusCode::OK))
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}

/// The parts of the multipart form.
#[derive(Default)]
struct Upload {
    csrf: String,
    email: String,
    mobile: String,
    address: String,
    file_name: String,
    file: Vec<u8>,
    too_large: bool,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, String> {
    let mut u = Upload::default();
    while let Some(mut field) = multipart.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or("").to_string();
        if name == "piece" {
            u.file_name = field
                .file_name()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
                .take(120)
                .collect();
            while let Some(chunk) = field.chunk().await.map_err(|e| e.to_string())? {
                if u.file.len() + chunk.len() > EVIDENCE_MAX_BYTES {
                    u.too_large = true;
                    u.file.clear();
                    // Read the rest away without keeping it.
                    while field.chunk().await.map_err(|e| e.to_string())?.is_some() {}
                    break;
                }
                u.file.extend_from_slice(&chunk);
            }
            continue;
        }
        let text = field.text().await.map_err(|e| e.to_string())?;
        let text: String = text.chars().take(500).collect();
        match name.as_str() {
            "csrf" => u.csrf = text,
            "email" => u.email = text.trim().to_string(),
            "mobile" => u.mobile = text.trim().to_string(),
            "adresse" => u.address = text.trim().to_string(),
            _ => {}
        }
    }
    Ok(u)
}

/// `POST /ars/professionnels/{id}/coordonnees` (multipart): the coordinates and the
/// evidence; checked, stored, audited with the agent and the evidence's id.
pub(crate) async fn coordinates_submit(
    State(st): State<ArsState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let v = Visit::new(
        &st,
        &headers,
        format!("/ars/professionnels/{id}/coordonnees"),
    );
    let Ok(multipart) = multipart else {
        return v.forged(&st);
    };
    let upload = match read_upload(multipart).await {
        Ok(u) => u,
        Err(e) => {
            tracing::info!(error = %e, "ARS : envoi de pièce interrompu");
            return v.forged(&st);
        }
    };
    if !v.csrf_matches(&upload.csrf) {
        return v.forged(&st);
    }
    let result = async {
        let s = match logged_in(&st, &headers, &v).await? {
            Ok(s) => s,
            Err(r) => return Ok(r),
        };
        let Some(p) = visible(&st, &s, &id).await? else {
            return Ok(v.not_found(&st));
        };
        let mut typed = Typed {
            email: upload.email.clone(),
            mobile: upload.mobile.clone(),
            address: upload.address.clone(),
            errors: Default::default(),
        };
        let email = match Email::parse(&upload.email) {
            Ok(e) => Some(e),
            Err(caducee_core::contact::ContactError::EmailEmpty) => {
                typed.errors[0] = Some(v.t("ars-error-email-empty"));
                None
            }
            Err(_) => {
                typed.errors[0] = Some(v.t("ars-error-email"));
                None
            }
        };
        let mobile = match Mobile::parse(&upload.mobile) {
            Ok(m) => Some(m),
            Err(_) => {
                typed.errors[1] = Some(v.t("ars-error-mobile"));
                None
            }
        };
        if upload.address.chars().any(char::is_control) {
            typed.errors[2] = Some(v.t("ars-error-address"));
        }
        let content_type = sniff(&upload.file);
        if upload.too_large {
            typed.errors[3] = Some(v.t("ars-error-evidence-large"));
        } else if upload.file.is_empty() {
            typed.errors[3] = Some(v.t("ars-error-evidence-missing"));
        } else if content_type.is_none() {
            typed.errors[3] = Some(v.t("ars-error-evidence-type"));
        }
        let (Some(email), Some(mobile), Some(content_type), None) =
            (email, mobile, content_type, &typed.errors[2])
        else {
            return Ok(coordinates_form(
                &st,
                &v,
                &s,
                &p,
                typed,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        };
        let now = st.now();
        let evidence_id = agents::uuid_like();
        let sha256 = hex::encode(sha2::Sha256::digest(&upload.file));
        let file_name = if upload.file_name.is_empty() {
            "piece".to_string()
        } else {
            upload.file_name.clone()
        };
        let store = st.portals.store();
        let mut tx = store.begin().await?;
        sqlx::query(
            "INSERT INTO ars_evidence (id, idnat, agent_id, content_type, file_name, size,
                sha256, content, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&evidence_id)
        .bind(&p.id_nat)
        .bind(&s.agent.id)
        .bind(content_type)
        .bind(&file_name)
        .bind(upload.file.len() as i64)
        .bind(&sha256)
        .bind(base64::engine::general_purpose::STANDARD.encode(&upload.file))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let update = ContactUpdate {
            email: email.as_str().to_string(),
            mobile: mobile.as_str().to_string(),
            address: (!upload.address.is_empty()).then(|| upload.address.clone()),
            actor: s.agent.actor(),
            evidence: Some(format!(
                "pièce {evidence_id} ({content_type}, sha256 {sha256}) vue par l'agent {}",
                s.agent.id
            )),
        };
        let Ok(idnat) = IdNatPs::parse(&p.id_nat) else {
            return Ok(v.not_found(&st));
        };
        if let Err(e) =
            queries::set_contact(store, st.portals.clock().as_ref(), &idnat, &update).await
        {
            // Nothing stored without its coordinates.
            sqlx::query("DELETE FROM ars_evidence WHERE id = $1")
                .bind(&evidence_id)
                .execute(store.pool())
                .await?;
            return Err(registry_error(e));
        }
        let mut conn = store.pool().acquire().await?;
        agents::audit_event(
            &mut conn,
            now,
            &s.agent.actor(),
            "ars.contact.set_on_behalf",
            Some(&p.id_nat),
            serde_json::json!({
                "agent": s.agent.id,
                "evidence": evidence_id,
                "evidence_type": content_type,
                "evidence_sha256": sha256,
                "email": mask_email(email.as_str()),
                "mobile": mask_phone(mobile.as_str()),
            }),
        )
        .await?;
        drop(conn);
        let Some(p) = visible(&st, &s, &id).await? else {
            return Ok(v.not_found(&st));
        };
        record_view(
            &st,
            &v,
            &s,
            &p,
            Some(Alert::new(AlertKind::Success, v.t("ars-contact-saved"))),
        )
        .await
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}

/// `GET /ars/professionnels/{id}/pieces/{evidence}`: the file, as an attachment, with a
/// CSP that forbids everything (a PDF opened from it runs no script of ours).
pub(crate) async fn evidence(
    State(st): State<ArsState>,
    headers: HeaderMap,
    Path((id, evidence)): Path<(String, String)>,
) -> Response {
    let v = Visit::new(&st, &headers, format!("/ars/professionnels/{id}"));
    let result = async {
        let s = match logged_in(&st, &headers, &v).await? {
            Ok(s) => s,
            Err(r) => return Ok(r),
        };
        let Some(p) = visible(&st, &s, &id).await? else {
            return Ok(v.not_found(&st));
        };
        let row = sqlx::query(
            "SELECT content_type, content FROM ars_evidence WHERE id = $1 AND idnat = $2",
        )
        .bind(&evidence)
        .bind(&p.id_nat)
        .fetch_optional(st.portals.store().pool())
        .await?;
        let Some(row) = row else {
            return Ok(v.not_found(&st));
        };
        let content_type: String = row.try_get(0)?;
        let content: String = row.try_get(1)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|e| PortalError::Internal(e.to_string()))?;
        Ok::<_, PortalError>(attachment(
            &content_type,
            bytes,
            &format!("piece-{evidence}"),
        ))
    }
    .await;
    result.unwrap_or_else(|e| st.fail(&headers, &e))
}

/// A file for the agent's eyes only: an attachment (`{stem}.pdf|jpg|png`), never cached,
/// never sniffed, under a CSP that forbids everything (a PDF opened from it runs nothing of
/// ours).
pub(crate) fn attachment(content_type: &str, bytes: Vec<u8>, stem: &str) -> Response {
    let ext = match content_type {
        "application/pdf" => "pdf",
        "image/jpeg" => "jpg",
        "image/png" => "png",
        _ => "bin",
    };
    let stem: String = stem
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let disposition = format!("attachment; filename=\"{stem}.{ext}\"");
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(d) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    r
}

/// A civil-status date as the seeds write dates (JJ/MM/AAAA); the registry keeps
/// ISO 8601 (`YYYY-MM-DD`). Anything else is shown as kept.
fn day_month_year(iso: &str) -> String {
    match iso.split('-').collect::<Vec<_>>()[..] {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => format!("{d}/{m}/{y}"),
        _ => iso.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reg_11_evidence_type_is_read_from_the_content() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        assert_eq!(
            sniff(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]),
            Some("image/png")
        );
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b""), None);
    }
}
