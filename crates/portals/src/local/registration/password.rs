//! Step 3, "Créer votre mot de passe" (ACC-09): the password twice, the portal's rules
//! ticked live. Its success makes the account (the login is the verified e-mail), ends the
//! legacy identifier, keeps the mobile for its own step, and opens a session: the
//! onboarding steps (mobile, structure) follow at the portal's home.

use super::{wizard_page, wizard_steps, Registration, Step};
use crate::accounts::{self, Conflict, NewAccount};
use crate::config::OnboardingStep;
use crate::local::coordinates;
use crate::local::{session, strength, Form, Visit};
use crate::state::{Cookie, PortalState};
use crate::PortalError;
use axum::response::Response;
use caducee_pages::{Alert, AlertKind, Button, ButtonKind};
use std::collections::BTreeMap;

pub(super) fn render(
    st: &PortalState,
    visit: &Visit,
    flow_id: &str,
    errors: &BTreeMap<String, String>,
    alert: Option<Alert>,
) -> Response {
    let tr = visit.tr();
    let mut page = wizard_page(
        st,
        visit,
        flow_id,
        tr.t("registration-password-title"),
        wizard_steps(tr, 3),
    );
    let failed = !errors.is_empty() || alert.is_some();
    page.alerts.extend(alert);
    page.intro = vec![
        tr.t("registration-password-intro"),
        tr.t("registration-password-rules"),
    ];
    page.blocks = strength::new_password_blocks(
        st,
        tr,
        [
            tr.t("registration-password"),
            tr.t("registration-password-confirm"),
        ],
        errors,
    )
    .into();
    page.buttons = vec![
        Button::new(tr.t("account-validate"), ButtonKind::Primary)
            .id("valider")
            .action("action", "valider"),
        Button::new(tr.t("registration-back"), ButtonKind::Secondary)
            .id("retour")
            .action("action", "retour"),
    ];
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
    let idnat = match (form.get("action"), reg.data.idnat.clone()) {
        ("retour", _) | (_, None) => return super::back_to_details(st, visit, flow_id, reg).await,
        (_, Some(idnat)) => idnat,
    };
    let email = reg.data.details.email.clone();
    let password = form.get("mot_de_passe");
    let person =
        crate::local::identity::lookup_idnat(st.portals.store(), &st.portal, &idnat).await?;
    let mut errors = BTreeMap::new();
    if let Err(key) = strength::acceptable_for(st, tr, password, person.as_ref(), &email) {
        errors.insert("mot_de_passe".to_string(), key);
    } else if form.get("mot_de_passe_confirmation") != password {
        errors.insert(
            "mot_de_passe_confirmation".to_string(),
            tr.t("account-error-password-confirm"),
        );
    }
    if !errors.is_empty() {
        return Ok(render(st, visit, flow_id, &errors, None));
    }
    let hash = st
        .portals
        .passwords()
        .hash(password)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    let mut tx = st.portals.store().begin().await?;
    let created = accounts::create(
        &mut tx,
        &NewAccount {
            portal: &portal,
            idnat: &idnat,
            email: &email,
            password_hash: &hash,
            how: "registration",
        },
        now,
    )
    .await?;
    let account = match created {
        Ok(a) => a,
        Err(conflict) => {
            // Another browser finished first, or the e-mail was taken meanwhile.
            tx.commit().await?;
            reg.step = Step::Details;
            let mut conn = st.portals.store().pool().acquire().await?;
            super::save(&mut conn, &portal, &reg, now).await?;
            let key = match conflict {
                Conflict::IdnatTaken => "registration-error-rpps-taken",
                Conflict::EmailTaken => "account-error-email-taken",
            };
            let alert = Alert::new(AlertKind::Error, tr.t(key)).id("erreur");
            return Ok(super::details::render(
                st,
                visit,
                flow_id,
                &reg.data.details,
                &BTreeMap::new(),
                Some(alert),
            ));
        }
    };
    crate::legacy::finish(&mut tx, &portal, &reg.identifier_folded, &account.id, now).await?;
    coordinates::registered(
        &mut tx,
        &portal,
        &idnat,
        &email,
        reg.data.mobile_e164.as_deref(),
        now,
    )
    .await?;
    super::forget(&mut tx, &portal, &reg.identifier_folded).await?;
    crate::flows::delete(&mut tx, flow_id).await?;
    let secret = session::open(&mut tx, &account, "registration", now).await?;
    // The mobile of step 1 gets its code now (a POST), so the next page is the code's.
    let mut next = st.base();
    if let (Some(mobile), true) = (
        reg.data.mobile_e164.as_deref(),
        st.portal.onboarding.contains(&OnboardingStep::VerifyPhone),
    ) {
        let begun = coordinates::begin(
            st,
            &mut tx,
            visit,
            &idnat,
            coordinates::Channel::Phone,
            mobile,
        )
        .await?;
        if let Ok(id) = begun {
            next = format!("{}/accueil?flow={id}", st.base());
        }
    }
    tx.commit().await?;
    Ok(visit.redirect(
        st,
        &next,
        vec![st.set_cookie(&Cookie::Local, &secret, None)],
    ))
}
