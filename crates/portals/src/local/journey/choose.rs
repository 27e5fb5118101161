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
    match send_code(st, kind, &flow, &data, visit.ctx.locale()).await? {
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

/// Issues a code for the flow and enqueues the message carrying it to the chosen
/// coordinate, re-read from the registry (the flow holds it masked only).
pub(super) async fn send_code(
    st: &PortalState,
    kind: Kind,
    flow: &Flow<Data>,
    data: &Data,
    locale: caducee_pages::Locale,
) -> Result<Result<(), SendRefused>, PortalError> {
    let (Some(rpps), Some(idnat), Some(channel)) = (&data.rpps, &data.idnat, &data.channel) else {
        return Err(PortalError::Internal("parcours sans identité".into()));
    };
    let rpps = identity::parse_rpps(rpps).map_err(|k| PortalError::Internal(k.into()))?;
    let person = identity::lookup(st.portals.store(), &st.portal, &rpps)
        .await?
        .ok_or_else(|| PortalError::Internal("professionnel disparu du répertoire".into()))?;
    let gone = || PortalError::Internal("coordonnée disparue du répertoire".into());
    let to = match channel.as_str() {
        "sms" => Destination::Sms(person.mobile.as_deref().ok_or_else(gone)?),
        _ => Destination::Email(person.email.as_deref().ok_or_else(gone)?),
    };
    let portal = st.portal.name.clone();
    let template = move |code: String, validity_minutes: u32| match kind {
        Kind::Creation => Message::AccountCreationCode {
            portal: portal.clone(),
            code,
            validity_minutes,
        },
        Kind::Recovery => Message::AccountRecoveryCode {
            portal: portal.clone(),
            code,
            validity_minutes,
        },
    };
    let mut tx = st.portals.store().begin().await?;
    let sent = code_sender::send(
        st,
        &mut tx,
        &CodeSend {
            flow_id: &flow.id,
            flow_kind: kind.flow_kind(),
            idnat,
            to,
            template: &template,
            locale,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(sent)
}
