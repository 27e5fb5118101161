//! Step 2, "Vérification de votre email" (ACC-09): the code sent to the login e-mail of
//! step 1, "Valider", "Retour" (to the details, kept), "Demander un nouveau code".

use super::{to_step, wizard_page, wizard_steps, Registration, Step};
use crate::local::code_sender::{self};
use crate::local::{Form, Visit};
use crate::one_time::{CodeCheck, SendRefused};
use crate::state::PortalState;
use crate::PortalError;
use axum::response::Response;
use caducee_core::mask::mask_email;
use caducee_pages::{Alert, Arg};

/// Sends a code to the registration's e-mail for the flow `flow_id`.
pub(super) async fn send(
    st: &PortalState,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    flow_id: &str,
    reg: &Registration,
    visit: &Visit,
) -> Result<Result<(), SendRefused>, PortalError> {
    let idnat = reg.data.idnat.clone().unwrap_or_default();
    code_sender::send_email_verification(
        st,
        tx,
        flow_id,
        super::FLOW_KIND,
        &idnat,
        &reg.data.details.email,
        visit.ctx.locale(),
    )
    .await
}

pub(super) fn render(
    st: &PortalState,
    visit: &Visit,
    flow_id: &str,
    reg: &Registration,
    error: Option<String>,
    alert: Option<Alert>,
) -> Response {
    let tr = visit.tr();
    let mut page = wizard_page(
        st,
        visit,
        flow_id,
        tr.t("registration-email-title"),
        wizard_steps(tr, 2),
    );
    let failed = error.is_some();
    page.alerts.extend(alert);
    let masked = mask_email(&reg.data.details.email);
    code_sender::code_step(tr, &mut page, &masked, error);
    page.intro = vec![tr.t_with(
        "registration-email-code-sent",
        &[("to", Arg::from(masked.as_str()))],
    )];
    code_sender::rplus_code_buttons(tr, &mut page, "retour");
    visit.form(st, page, failed)
}

pub(super) async fn submit(
    st: &PortalState,
    visit: &Visit,
    flow_id: &str,
    mut reg: Registration,
    form: &Form,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let now = st.portals.now();
    let portal = st.portal.slug.clone();
    match form.get("action") {
        "retour" => return super::back_to_details(st, visit, flow_id, reg).await,
        "renvoyer" => {
            let mut tx = st.portals.store().begin().await?;
            let sent = send(st, &mut tx, flow_id, &reg, visit).await?;
            tx.commit().await?;
            let alert = code_sender::resend_alert(tr, sent);
            return Ok(render(st, visit, flow_id, &reg, None, Some(alert)));
        }
        _ => {}
    }
    let typed = match code_sender::typed_code(form) {
        Ok(t) => t,
        Err(key) => return Ok(render(st, visit, flow_id, &reg, Some(tr.t(key)), None)),
    };
    let mut tx = st.portals.store().begin().await?;
    let check = code_sender::check(st, &mut tx, flow_id, &typed).await?;
    let error = match check {
        CodeCheck::Dead => Some(tr.t("registration-code-dead")),
        other => code_sender::check_error(tr, other),
    };
    if let Some(e) = error {
        tx.commit().await?;
        return Ok(render(st, visit, flow_id, &reg, Some(e), None));
    }
    reg.step = Step::Password;
    super::save(&mut tx, &portal, &reg, now).await?;
    tx.commit().await?;
    Ok(to_step(st, visit, flow_id))
}
