//! Step 3: the code (Valider / Renvoyer le code / Retour; 5 tries, 10 minutes).

use super::choose::send_code;
use super::*;
// ---------------------------------------------------------------------------------------
// Step 3: the code.
// ---------------------------------------------------------------------------------------

pub(super) fn render_code(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: &Flow<Data>,
    errors: &BTreeMap<String, String>,
    alert: Option<Alert>,
) -> Response {
    let tr = visit.tr();
    let mut page = flow_form(st, visit, kind, flow, tr.t("account-code-title"));
    page.steps = Some(steps(tr, kind, 3));
    let failed = alert.as_ref().is_some_and(|a| a.role() == "alert");
    page.alerts.extend(alert);
    let masked = flow
        .data
        .chosen()
        .map(|c| c.masked.clone())
        .unwrap_or_default();
    code_sender::code_step(tr, &mut page, &masked, errors.get("code").cloned());
    page.buttons.push(
        Button::new(tr.t("account-back"), ButtonKind::Tertiary)
            .id("retour")
            .action("action", "retour"),
    );
    respond(st, visit, page, failed)
}

pub(super) async fn code(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: Option<Flow<Data>>,
    form: &Form,
) -> Result<Response, PortalError> {
    let Some(flow) = flow else {
        return Ok(to_flow(st, visit, kind, None));
    };
    let tr = visit.tr();
    match form.get("action") {
        "retour" => {
            let data = flow.data.clone();
            let flow = save(st, visit, kind, Some(flow), CHOOSE, data, None).await?;
            return Ok(to_flow(st, visit, kind, flow));
        }
        "renvoyer" => {
            let alert = match send_code(st, kind, &flow, &flow.data, visit.ctx.locale()).await? {
                Ok(()) => {
                    Alert::new(AlertKind::Info, tr.t("account-code-resent")).id("code-renvoye")
                }
                Err(refused) => refusal(tr, refused),
            };
            return Ok(render_code(
                st,
                visit,
                kind,
                &flow,
                &BTreeMap::new(),
                Some(alert),
            ));
        }
        _ => {}
    }
    let typed = match code_sender::typed_code(form) {
        Ok(t) => t,
        Err(key) => {
            let mut errors = BTreeMap::new();
            errors.insert("code".to_string(), tr.t(key));
            return Ok(render_code(st, visit, kind, &flow, &errors, None));
        }
    };
    let now = st.portals.now();
    let check = {
        let mut tx = st.portals.store().begin().await?;
        let check = one_time::check_code(
            &mut tx,
            st.portals.one_time(),
            st.portals.code_policy(),
            &flow.id,
            &typed,
            now,
        )
        .await?;
        if !matches!(check, CodeCheck::Valid) {
            let idnat = flow.data.idnat.clone().unwrap_or_default();
            audit::record(
                &mut *tx,
                now,
                &AuditEvent {
                    actor: &format!("ps:{idnat}"),
                    action: "portals.code.failed",
                    subject: Some(&idnat),
                    details: serde_json::json!({
                        "portal": st.portal.slug,
                        "flow": kind.flow_kind(),
                        "outcome": format!("{check:?}"),
                    }),
                    request_id: None,
                },
            )
            .await
            .map_err(|e| PortalError::Internal(e.to_string()))?;
        }
        tx.commit().await?;
        check
    };
    let mut errors = BTreeMap::new();
    match check {
        CodeCheck::Valid => {
            let mut data = flow.data.clone();
            if super::finalise::login_is_registry_email(kind, &data) {
                // The code proved the mailbox: its address is the login, shown in full.
                let person = match data.rpps.as_deref().map(identity::parse_rpps) {
                    Some(Ok(rpps)) => {
                        identity::lookup(st.portals.store(), &st.portal, &rpps).await?
                    }
                    _ => None,
                };
                data.email = person.and_then(|p| p.email).unwrap_or_default();
            }
            let flow = save(
                st,
                visit,
                kind,
                Some(flow),
                FINALISE,
                data,
                Some(JOURNEY_TTL_SECS),
            )
            .await?;
            Ok(to_flow(st, visit, kind, flow))
        }
        CodeCheck::Wrong { .. } | CodeCheck::Expired => {
            if let Some(e) = code_sender::check_error(tr, check) {
                errors.insert("code".to_string(), e);
            }
            Ok(render_code(st, visit, kind, &flow, &errors, None))
        }
        CodeCheck::Dead => {
            // Five wrong tries: the journey ends; what was typed goes with it.
            let mut conn = st.portals.store().pool().acquire().await?;
            flows::delete(&mut conn, &flow.id).await?;
            let page = MessagePage {
                layout: pages::layout(&visit.ctx, &st.portal, &tr.t("account-code-dead-title")),
                heading: tr.t("account-code-dead-title"),
                alert: Alert::new(AlertKind::Error, tr.t("account-code-dead")).id("code-mort"),
                links: vec![Link::new(
                    format!("{}/{}", st.base(), kind.path()),
                    tr.t("account-start-again"),
                )
                .id("recommencer")],
            };
            Ok(visit.page(st, StatusCode::UNPROCESSABLE_ENTITY, pages::render(&page)))
        }
    }
}
