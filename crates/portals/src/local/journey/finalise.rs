//! Step 4: the login e-mail and the password (ACC-04, ACC-05), then the account.

use super::*;
// ---------------------------------------------------------------------------------------
// Step 4: the login e-mail and the password.
// ---------------------------------------------------------------------------------------

/// Whether the login is the registry e-mail the code went to (creation by e-mail).
pub(super) fn login_is_registry_email(kind: Kind, data: &Data) -> bool {
    kind == Kind::Creation && data.channel.as_deref() == Some("email")
}

pub(super) fn render_finalise(
    st: &PortalState,
    visit: &Visit,
    kind: Kind,
    flow: &Flow<Data>,
    errors: &BTreeMap<String, String>,
    alert: Option<Alert>,
) -> Response {
    let tr = visit.tr();
    let by_email = login_is_registry_email(kind, &flow.data);
    let title = if by_email {
        tr.t("account-creation-email-title")
    } else {
        tr.t(kind.key("finalise-title"))
    };
    let mut page = flow_form(st, visit, kind, flow, title);
    page.steps = Some(steps(tr, kind, 4));
    let failed = alert.is_some();
    page.alerts.extend(alert);
    let err = |name: &str| errors.get(name).cloned();
    let password = |name: &str, label: String, with_meter: bool| {
        let mut p = if with_meter {
            crate::local::strength::new_password_input(st, tr, name, label)
        } else {
            PasswordInput::new(tr, name, label, false)
        };
        p.field = p.field.clone().error(err(name));
        p
    };
    if by_email {
        page.intro.push(tr.t("account-creation-email-intro"));
        page.blocks.push(Block::Shown {
            label: tr.t("account-login-email"),
            value: flow.data.email.clone(),
        });
    } else {
        page.intro.push(tr.t(kind.key("finalise-intro")));
        page.blocks.push(Block::Field(
            Field::new("email", tr.t("account-email"))
                .kind("email")
                .autocomplete("email")
                .value(flow.data.email.clone())
                .required()
                .error(err("email")),
        ));
        if kind == Kind::Recovery {
            page.blocks.push(Block::Field(
                Field::new("email_confirmation", tr.t("account-email-confirm"))
                    .value(flow.data.email_confirmation.clone())
                    .kind("email")
                    .autocomplete("email")
                    .required()
                    .error(err("email_confirmation")),
            ));
        }
    }
    page.blocks.push(Block::Password(password(
        "mot_de_passe",
        tr.t("account-password"),
        true,
    )));
    page.blocks.push(Block::Password(password(
        "mot_de_passe_confirmation",
        tr.t("account-password-confirm"),
        false,
    )));
    // The confirmation is a new password too, for password managers.
    if let Some(Block::Password(p)) = page.blocks.last_mut() {
        p.field.autocomplete = Some("new-password");
    }
    let label = if by_email {
        tr.t("account-create")
    } else {
        tr.t("account-activate")
    };
    page.buttons = vec![Button::new(label, ButtonKind::Primary).id("activer")];
    respond(st, visit, page, failed)
}

pub(super) async fn finalise(
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
    let (Some(rpps), Some(idnat)) = (flow.data.rpps.clone(), flow.data.idnat.clone()) else {
        return Err(PortalError::Internal("parcours sans identité".into()));
    };
    let rpps = identity::parse_rpps(&rpps).map_err(|k| PortalError::Internal(k.into()))?;
    let person = identity::lookup(st.portals.store(), &st.portal, &rpps)
        .await?
        .ok_or_else(|| PortalError::Internal("professionnel disparu du répertoire".into()))?;
    let by_email = login_is_registry_email(kind, &flow.data);
    let email = if by_email {
        person.email.clone().unwrap_or_default()
    } else {
        form.trimmed("email").to_string()
    };
    let mut errors = BTreeMap::new();
    if !by_email {
        if let Err(key) = crate::local::check_email(&email) {
            errors.insert("email".to_string(), tr.t(key));
        } else if kind == Kind::Recovery
            && !email.eq_ignore_ascii_case(form.trimmed("email_confirmation"))
        {
            errors.insert(
                "email_confirmation".to_string(),
                tr.t("account-error-email-confirm"),
            );
        }
    }
    let password = form.get("mot_de_passe");
    if let Err(key) =
        crate::local::strength::acceptable_for(st, tr, password, Some(&person), &email)
    {
        errors.insert("mot_de_passe".to_string(), key);
    } else if password != form.get("mot_de_passe_confirmation") {
        errors.insert(
            "mot_de_passe_confirmation".to_string(),
            tr.t("account-error-password-confirm"),
        );
    }
    let mut data = flow.data.clone();
    if !by_email {
        data.email = email.clone();
        data.email_confirmation = form.trimmed("email_confirmation").to_string();
    }
    if !errors.is_empty() {
        let flow = save(st, visit, kind, Some(flow), FINALISE, data, None)
            .await?
            .ok_or_else(|| PortalError::Internal("parcours expiré".into()))?;
        return Ok(render_finalise(st, visit, kind, &flow, &errors, None));
    }
    let hash = st
        .portals
        .passwords()
        .hash(password)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    let now = st.portals.now();
    let mut tx = st.portals.store().begin().await?;
    let outcome = match kind {
        Kind::Creation => {
            let how = if by_email {
                "creation:email"
            } else {
                "creation:sms"
            };
            match accounts::create(
                &mut tx,
                &NewAccount {
                    portal: &st.portal.slug,
                    idnat: &idnat,
                    email: &email,
                    password_hash: &hash,
                    how,
                },
                now,
            )
            .await?
            {
                Ok(_) => {
                    let to = caducee_core::contact::Email::parse(&email)
                        .map_err(|e| PortalError::Internal(e.to_string()))?;
                    let msg = OutgoingMessage::email(
                        to,
                        Message::AccountCreated {
                            portal: st.portal.name.clone(),
                            login: email.clone(),
                            login_url: format!("{}{}", st.portals.public_url(), st.base()),
                        },
                    )
                    .public_url(st.portals.public_url())
                    .locale(visit.ctx.locale());
                    outbox::enqueue(&mut tx, st.portals.clock().as_ref(), &msg)
                        .await
                        .map_err(|e| PortalError::Internal(e.to_string()))?;
                    Ok(())
                }
                Err(c) => Err(c),
            }
        }
        Kind::Recovery => {
            let account = accounts::by_idnat(&mut tx, &st.portal.slug, &idnat)
                .await?
                .ok_or_else(|| PortalError::Internal("compte disparu".into()))?;
            // ACC-05: any account's address, the forgotten one included, is refused.
            if accounts::by_email(&mut tx, &st.portal.slug, &email)
                .await?
                .is_some()
            {
                Err(Conflict::EmailTaken)
            } else {
                let changed = accounts::set_email(&mut tx, &account, &email, now).await?;
                if changed.is_ok() {
                    crate::local::notify_email_changed(
                        st,
                        &mut tx,
                        &account.email,
                        &email,
                        now,
                        visit.ctx.locale(),
                    )
                    .await?;
                }
                changed
            }
        }
    };
    match outcome {
        Ok(()) => {}
        Err(Conflict::EmailTaken) => {
            drop(tx);
            errors.insert("email".to_string(), tr.t("account-error-email-taken"));
            let flow = save(st, visit, kind, Some(flow), FINALISE, data, None)
                .await?
                .ok_or_else(|| PortalError::Internal("parcours expiré".into()))?;
            return Ok(render_finalise(st, visit, kind, &flow, &errors, None));
        }
        Err(Conflict::IdnatTaken) => {
            drop(tx);
            let link = Link::new(
                format!("{}/mot-de-passe-oublie", st.base()),
                tr.t("account-exists-link"),
            );
            let alert = Alert::new(AlertKind::Error, tr.t("account-exists")).link(link);
            return Ok(render_finalise(
                st,
                visit,
                kind,
                &flow,
                &errors,
                Some(alert),
            ));
        }
    }
    if kind == Kind::Recovery {
        if let Some(account) = accounts::by_idnat(&mut tx, &st.portal.slug, &idnat).await? {
            accounts::set_password(&mut tx, &account, &hash, "recovery", now).await?;
            crate::local::session::end_others(&mut tx, &account.id, None, now).await?;
        }
    }
    flows::delete(&mut tx, &flow.id).await?;
    tx.commit().await?;
    Ok(match kind {
        Kind::Creation => visit.redirect(st, &format!("{}/creer/termine", st.base()), Vec::new()),
        Kind::Recovery => recovery_done(st, visit).await,
    })
}
