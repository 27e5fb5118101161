//! Step 2: the coordinate the code goes to, masked (ACC-03), and the sending of a code.

use super::*;
// ---------------------------------------------------------------------------------------
// Step 2: the coordinate the code goes to.
// ---------------------------------------------------------------------------------------

pub(super) fn render_choose(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: &Flow<Data>,
    errors: &BTreeMap<String, String>,
    alert: Option<Alert>,
) -> Response {
    let tr = visit.tr();
    let mut page = flow_form(st, visit, kind, flow, tr.t(kind.key("secure-title")));
    page.steps = Some(steps(tr, kind, 2));
    let failed = alert.is_some();
    page.alerts.extend(alert);
    page.intro.push(tr.t(kind.key("secure-intro")));
    let choices = flow
        .data
        .coordinates
        .iter()
        .map(|c| {
            let selected = flow.data.channel.as_deref() == Some(c.channel.as_str())
                || flow.data.coordinates.len() == 1;
            Choice::new(&c.channel, c.masked.clone(), selected)
        })
        .collect();
    let mut radios = RadioGroup::new("moyen", tr.t("account-secure-legend"), choices);
    radios.error = errors.get("moyen").map(|k| tr.t(k));
    page.blocks = vec![Block::Radios(radios)];
    page.buttons = vec![
        Button::new(tr.t("account-send-code"), ButtonKind::Primary)
            .id("recevoir-code")
            .action("action", "envoyer"),
        Button::new(tr.t("account-back"), ButtonKind::Tertiary)
            .id("retour")
            .action("action", "retour"),
    ];
    page.links = vec![Link::new(
        format!("{}/identifiants-oublies", st.base()),
        tr.t("account-assistance"),
    )
    .id("assistance")];
    respond(st, visit, page, failed)
}

pub(super) async fn choose(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: Option<Flow<Data>>,
    form: &Form,
) -> Result<Response, PortalError> {
    let Some(flow) = flow else {
        return Ok(to_flow(st, visit, kind, None));
    };
    let mut data = flow.data.clone();
    if form.get("action") == "retour" {
        let flow = save(
            st,
            visit,
            kind,
            Some(flow),
            IDENTITY,
            Data {
                typed: data.typed,
                ..Data::default()
            },
            None,
        )
        .await?;
        return Ok(to_flow(st, visit, kind, flow));
    }
    let chosen = form.get("moyen");
    if !data.coordinates.iter().any(|c| c.channel == chosen) {
        let mut errors = BTreeMap::new();
        errors.insert("moyen".to_string(), "account-error-choose".to_string());
        return Ok(render_choose(st, visit, kind, &flow, &errors, None));
    }
    data.channel = Some(chosen.to_string());
    match send_code(st, kind, &flow, &data).await? {
        Ok(()) => {
            let flow = save(
                st,
                visit,
                kind,
                Some(flow),
                CODE,
                data,
                Some(CODE_STEP_TTL_SECS),
            )
            .await?;
            Ok(to_flow(st, visit, kind, flow))
        }
        Err(refused) => Ok(render_choose(
            st,
            visit,
            kind,
            &flow,
            &BTreeMap::new(),
            Some(refusal(visit.tr(), refused)),
        )),
    }
}

pub(super) fn refusal(tr: &Tr, refused: SendRefused) -> Alert {
    let text = match refused {
        SendRefused::FlowExhausted => tr.t("account-code-flow-exhausted"),
        SendRefused::PersonExhausted { retry_after_secs } => tr.t_with(
            "account-code-person-exhausted",
            &[("minutes", Arg::Num(minutes(retry_after_secs)))],
        ),
    };
    Alert::new(AlertKind::Error, text).id("envoi-refuse")
}

/// Issues a code for the flow and enqueues the message carrying it to the chosen
/// coordinate, re-read from the registry, in one transaction with the audit event.
pub(super) async fn send_code(
    st: &PortalState,
    kind: Kind,
    flow: &Flow<Data>,
    data: &Data,
) -> Result<Result<(), SendRefused>, PortalError> {
    let (Some(rpps), Some(idnat), Some(channel)) = (&data.rpps, &data.idnat, &data.channel) else {
        return Err(PortalError::Internal("parcours sans identité".into()));
    };
    let rpps = identity::parse_rpps(rpps).map_err(|k| PortalError::Internal(k.into()))?;
    let person = identity::lookup(st.portals.store(), &st.portal, &rpps)
        .await?
        .ok_or_else(|| PortalError::Internal("professionnel disparu du répertoire".into()))?;
    let policy = st.portals.code_policy();
    let now = st.portals.now();
    let mut tx = st.portals.store().begin().await?;
    let code = match one_time::issue_code(
        &mut tx,
        st.portals.one_time(),
        policy,
        &CodeRequest {
            portal: &st.portal.slug,
            flow_id: &flow.id,
            channel,
            idnat,
        },
        now,
    )
    .await?
    {
        Ok(code) => code,
        Err(refused) => {
            tx.commit().await?;
            return Ok(Err(refused));
        }
    };
    let validity_minutes = u32::try_from(policy.code_ttl_secs / 60).unwrap_or(10);
    let message = match kind {
        Kind::Creation => Message::AccountCreationCode {
            portal: st.portal.name.clone(),
            code,
            validity_minutes,
        },
        Kind::Recovery => Message::AccountRecoveryCode {
            portal: st.portal.name.clone(),
            code,
            validity_minutes,
        },
    };
    let (outgoing, masked) = outgoing_to(channel, &person, message)?;
    let outgoing = outgoing
        .not_after(now + policy.code_ttl_secs)
        .public_url(st.portals.public_url());
    outbox::enqueue(&mut tx, st.portals.clock().as_ref(), &outgoing)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor: &format!("ps:{idnat}"),
            action: "portals.code.sent",
            subject: Some(idnat),
            details: serde_json::json!({
                "portal": st.portal.slug,
                "flow": kind.flow_kind(),
                "channel": channel,
                "to": masked,
            }),
            request_id: None,
        },
    )
    .await
    .map_err(|e| PortalError::Internal(e.to_string()))?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The message to the registry's coordinate of `channel`, and that coordinate masked.
pub(super) fn outgoing_to(
    channel: &str,
    person: &Person,
    message: Message,
) -> Result<(OutgoingMessage, String), PortalError> {
    let gone = || PortalError::Internal("coordonnée disparue du répertoire".into());
    match channel {
        "sms" => {
            let m = person.mobile.as_deref().ok_or_else(gone)?;
            let mobile = caducee_core::contact::Mobile::parse(m)
                .map_err(|e| PortalError::Internal(e.to_string()))?;
            Ok((OutgoingMessage::sms(mobile, message), mask_phone(m)))
        }
        _ => {
            let e = person.email.as_deref().ok_or_else(gone)?;
            let email = caducee_core::contact::Email::parse(e)
                .map_err(|e| PortalError::Internal(e.to_string()))?;
            Ok((OutgoingMessage::email(email, message), mask_email(e)))
        }
    }
}
