//! The onboarding steps `verify-email` and `verify-phone` (ACC-09 step 4, ACC-10):
//! "Validation des coordonnées" asks for a personal e-mail or a mobile, a 6-digit code is
//! sent there, and the coordinate is the member's once the code comes back. When the portal
//! lists the step in `skippable_steps`, "Ignorer cette étape" records the choice and the
//! step is not asked again.
//!
//! Both channels are one piece of code: they differ in their words, their field and the
//! message that carries the code. A registration (registration/password.rs) gives the
//! member the e-mail it verified and the mobile it typed; the mobile's code then leaves at
//! once with the account's creation, so the first page after it is the code's.

use super::code_sender::{self, refusal, CodeSend, Destination};
use super::pages::{Block, FormPage};
use super::{flow_param, Form, Visit};
use crate::config::OnboardingStep;
use crate::flows::{self, NewFlow};
use crate::one_time::{CodeCheck, SendRefused};
use crate::state::PortalState;
use crate::PortalError;
use axum::response::Response;
use caducee_core::mask::{mask_email, mask_phone};
use caducee_notify::templates::Template as Message;
use caducee_pages::{Alert, Arg, Button, ButtonKind, Field, Select};
use serde::{Deserialize, Serialize};

const FLOW_KIND: &str = "coordinates";
const FLOW_TTL_SECS: i64 = 1200;

/// Which coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Channel {
    Email,
    Phone,
}

impl Channel {
    fn step(self) -> OnboardingStep {
        match self {
            Channel::Email => OnboardingStep::VerifyEmail,
            Channel::Phone => OnboardingStep::VerifyPhone,
        }
    }

    fn etape(self) -> &'static str {
        match self {
            Channel::Email => "coordonnee-email",
            Channel::Phone => "coordonnee-portable",
        }
    }

    /// Catalogue keys of what differs.
    fn key(self, what: &str) -> &'static str {
        match (self, what) {
            (Channel::Email, "code-title") => "coordinates-email-code-title",
            (Channel::Phone, "code-title") => "coordinates-phone-code-title",
            (Channel::Email, "code-sent") => "coordinates-email-code-sent",
            (Channel::Phone, "code-sent") => "coordinates-phone-code-sent",
            (Channel::Email, "label") => "coordinates-email",
            (Channel::Phone, _) => "coordinates-phone",
            (Channel::Email, _) => "coordinates-email",
        }
    }
}

/// The coordinate waiting for its code.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    idnat: String,
    channel: Channel,
    /// An e-mail, or a mobile in E.164.
    value: String,
}

/// What the portal knows of a member's coordinates.
#[derive(Debug, Default)]
struct Known {
    email_verified: bool,
    email_skipped: bool,
    mobile: Option<String>,
    mobile_verified: bool,
    mobile_skipped: bool,
}

async fn known(
    conn: &mut sqlx::AnyConnection,
    portal: &str,
    idnat: &str,
) -> Result<Known, PortalError> {
    type Row = (
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<i64>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT contact_verified_at, email_skipped_at, mobile, mobile_verified_at,
            mobile_skipped_at
         FROM portal_member WHERE portal = $1 AND idnat = $2",
    )
    .bind(portal)
    .bind(idnat)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        None => Known::default(),
        Some((ev, es, m, mv, ms)) => Known {
            email_verified: ev.is_some(),
            email_skipped: es.is_some(),
            mobile: m,
            mobile_verified: mv.is_some(),
            mobile_skipped: ms.is_some(),
        },
    })
}

/// Whether the step of `channel` is due for `idnat`.
pub(crate) async fn due(
    st: &PortalState,
    idnat: &str,
    channel: Channel,
) -> Result<bool, PortalError> {
    let mut conn = st.portals.store().pool().acquire().await?;
    let k = known(&mut conn, &st.portal.slug, idnat).await?;
    let skippable = st.portal.skippable_steps.contains(&channel.step());
    Ok(match channel {
        Channel::Email => !(k.email_verified || skippable && k.email_skipped),
        Channel::Phone => !(k.mobile_verified || skippable && k.mobile_skipped),
    })
}

/// A registration's end: the e-mail it verified is the member's, the mobile it typed is
/// kept (not verified) for its own step.
pub(crate) async fn registered(
    conn: &mut sqlx::AnyConnection,
    portal: &str,
    idnat: &str,
    email: &str,
    mobile: Option<&str>,
    now: i64,
) -> Result<(), PortalError> {
    sqlx::query(
        "INSERT INTO portal_member (portal, idnat, contact_email, contact_email_folded,
            contact_verified_at, mobile, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $5, $5)
         ON CONFLICT (portal, idnat) DO UPDATE SET contact_email = $3,
            contact_email_folded = $4, contact_verified_at = $5,
            mobile = COALESCE($6, portal_member.mobile), updated_at = $5",
    )
    .bind(portal)
    .bind(idnat)
    .bind(email.trim())
    .bind(email.trim().to_lowercase())
    .bind(now)
    .bind(mobile)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn path(st: &PortalState) -> String {
    format!("{}/accueil", st.base())
}

/// Whether the member of `idnat` came through the registration wizard (an account of a
/// registration-form portal): its steps then read "Étape 4 sur 5".
async fn in_wizard(st: &PortalState, idnat: &str) -> Result<bool, PortalError> {
    if st.portal.accounts != crate::AccountPolicy::RegistrationForm {
        return Ok(false);
    }
    let mut conn = st.portals.store().pool().acquire().await?;
    Ok(crate::accounts::by_idnat(&mut conn, &st.portal.slug, idnat)
        .await?
        .is_some())
}

fn base_page(st: &PortalState, visit: &Visit, heading: String, etape: &str) -> FormPage {
    visit
        .form_page(st, heading, path(st))
        .hidden("etape", etape)
}

fn skip_button(st: &PortalState, visit: &Visit, channel: Channel) -> Option<Button> {
    st.portal
        .skippable_steps
        .contains(&channel.step())
        .then(|| {
            Button::new(visit.tr().t("coordinates-skip"), ButtonKind::Tertiary)
                .id("ignorer")
                .action("action", "ignorer")
        })
}

/// The entry page of `channel`, prefilled with what the portal knows (the registration's
/// mobile).
pub(crate) async fn entry(
    st: &PortalState,
    visit: &Visit,
    idnat: &str,
    channel: Channel,
) -> Result<Response, PortalError> {
    let mut conn = st.portals.store().pool().acquire().await?;
    let k = known(&mut conn, &st.portal.slug, idnat).await?;
    drop(conn);
    // What the portal knows, else the registry's coordinate: one click when it is right.
    let registry = super::identity::lookup_idnat(st.portals.store(), &st.portal, idnat).await?;
    let value = match channel {
        Channel::Email => registry.and_then(|p| p.email),
        Channel::Phone => k.mobile.or_else(|| registry.and_then(|p| p.mobile)),
    };
    render_entry(st, visit, idnat, channel, value.as_deref(), None, None).await
}

/// "Validation des coordonnées": the field of `channel`, prefilled with `value`.
pub(crate) async fn render_entry(
    st: &PortalState,
    visit: &Visit,
    idnat: &str,
    channel: Channel,
    value: Option<&str>,
    error: Option<String>,
    alert: Option<Alert>,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let mut page = base_page(st, visit, tr.t("coordinates-title"), channel.etape());
    if channel == Channel::Phone && in_wizard(st, idnat).await? {
        page.steps = Some(super::registration::wizard_steps(tr, 4));
    }
    let failed = error.is_some() || alert.is_some();
    page.alerts.extend(alert);
    page.intro.push(tr.t("coordinates-intro"));
    let value = value.unwrap_or("");
    page.blocks = match channel {
        Channel::Email => vec![Block::Field(
            Field::new("valeur", tr.t(channel.key("label")))
                .kind("email")
                .autocomplete("email")
                .value(value)
                .required()
                .error(error),
        )],
        Channel::Phone => {
            let (dial, national) = split_e164(value);
            vec![
                Block::Select(Select::new(
                    Field::new("indicatif", tr.t("registration-dial"))
                        .autocomplete("tel-country-code"),
                    super::registration::dial_choices(&dial),
                )),
                Block::Field(
                    Field::new("valeur", tr.t(channel.key("label")))
                        .kind("tel")
                        .autocomplete("tel-national")
                        .hint(tr.t("registration-mobile-hint"))
                        .value(national)
                        .required()
                        .error(error),
                ),
            ]
        }
    };
    page.buttons = vec![Button::new(tr.t("account-validate"), ButtonKind::Primary)
        .id("valider")
        .action("action", "valider")];
    page.buttons.extend(skip_button(st, visit, channel));
    Ok(visit.form(st, page, failed))
}

/// `+33612345601` → (`+33`, `0612345601`): the national form the field shows.
fn split_e164(value: &str) -> (String, String) {
    for (dial, _) in super::registration::DIALS {
        if let Some(rest) = value.strip_prefix(dial) {
            return (dial.to_string(), format!("0{rest}"));
        }
    }
    ("+33".to_string(), value.to_string())
}

async fn render_code(
    st: &PortalState,
    visit: &Visit,
    flow_id: &str,
    pending: &Pending,
    error: Option<String>,
    alert: Option<Alert>,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let channel = pending.channel;
    let mut page = base_page(
        st,
        visit,
        tr.t(channel.key("code-title")),
        "coordonnee-code",
    )
    .hidden("flow", flow_id);
    if channel == Channel::Phone && in_wizard(st, &pending.idnat).await? {
        page.steps = Some(super::registration::wizard_steps(tr, 4));
    }
    let failed = error.is_some();
    page.alerts.extend(alert);
    let masked = match channel {
        Channel::Email => mask_email(&pending.value),
        Channel::Phone => mask_phone(&pending.value),
    };
    code_sender::code_step(tr, &mut page, &masked, error);
    page.intro = vec![tr.t_with(
        channel.key("code-sent"),
        &[("to", Arg::from(masked.as_str()))],
    )];
    code_sender::rplus_code_buttons(tr, &mut page, "modifier");
    if channel == Channel::Phone {
        // The seed's word for the mobile's code: "ENVOYER".
        if let Some(b) = page.buttons.get_mut(0) {
            b.label = tr.t("coordinates-send");
        }
    }
    let change = match channel {
        Channel::Email => "coordinates-email-change",
        Channel::Phone => "coordinates-phone-change",
    };
    page.buttons.push(
        Button::new(tr.t(change), ButtonKind::Tertiary)
            .id("modifier")
            .action("action", "modifier"),
    );
    page.buttons.extend(skip_button(st, visit, channel));
    Ok(visit.form(st, page, failed))
}

/// The code page of this browser's coordinates flow `?flow=`, if it is one.
pub(crate) async fn page_for_flow(
    st: &PortalState,
    visit: &Visit,
    flow_id: &str,
    idnat: &str,
) -> Result<Option<Response>, PortalError> {
    match load(st, visit, flow_id, idnat).await? {
        Some(flow) => Ok(Some(
            render_code(st, visit, &flow.id, &flow.data, None, None).await?,
        )),
        None => Ok(None),
    }
}

async fn load(
    st: &PortalState,
    visit: &Visit,
    id: &str,
    idnat: &str,
) -> Result<Option<flows::Flow<Pending>>, PortalError> {
    let flow = visit.flow::<Pending>(st, FLOW_KIND, id).await?;
    Ok(flow.filter(|f| f.data.idnat == idnat))
}

async fn send(
    st: &PortalState,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    flow_id: &str,
    pending: &Pending,
    locale: caducee_pages::Locale,
) -> Result<Result<(), SendRefused>, PortalError> {
    match pending.channel {
        Channel::Email => {
            code_sender::send_email_verification(
                st,
                tx,
                flow_id,
                FLOW_KIND,
                &pending.idnat,
                &pending.value,
                locale,
            )
            .await
        }
        Channel::Phone => {
            let portal = st.portal.name.clone();
            let template =
                move |code: String, validity_minutes: u32| Message::PhoneVerificationCode {
                    portal: portal.clone(),
                    code,
                    validity_minutes,
                };
            code_sender::send(
                st,
                tx,
                &CodeSend {
                    flow_id,
                    flow_kind: FLOW_KIND,
                    idnat: &pending.idnat,
                    to: Destination::Sms(&pending.value),
                    template: &template,
                    locale,
                },
            )
            .await
        }
    }
}

/// Opens the code step for `value` in the caller's transaction: a flow of this browser and
/// its code sent. Returns the flow's id, or why no code left.
pub(crate) async fn begin(
    st: &PortalState,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    visit: &Visit,
    idnat: &str,
    channel: Channel,
    value: &str,
) -> Result<Result<String, SendRefused>, PortalError> {
    let now = st.portals.now();
    let pending = Pending {
        idnat: idnat.to_string(),
        channel,
        value: value.to_string(),
    };
    let flow = flows::create(
        &mut *tx,
        &NewFlow {
            portal: &st.portal.slug,
            kind: FLOW_KIND,
            step: "code",
            browser_secret: &visit.browser,
            data: &pending,
            ttl_secs: FLOW_TTL_SECS,
        },
        now,
    )
    .await?;
    Ok(send(st, tx, &flow.id, &pending, visit.ctx.locale())
        .await?
        .map(|()| flow.id))
}

async fn skip(st: &PortalState, idnat: &str, channel: Channel) -> Result<(), PortalError> {
    let now = st.portals.now();
    let column = match channel {
        Channel::Email => "email_skipped_at",
        Channel::Phone => "mobile_skipped_at",
    };
    let mut tx = st.portals.store().begin().await?;
    sqlx::query(&format!(
        "INSERT INTO portal_member (portal, idnat, {column}, created_at, updated_at)
         VALUES ($1, $2, $3, $3, $3)
         ON CONFLICT (portal, idnat) DO UPDATE SET {column} = $3, updated_at = $3"
    ))
    .bind(&st.portal.slug)
    .bind(idnat)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        st,
        idnat,
        "portals.coordinate.skipped",
        channel,
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    st: &PortalState,
    idnat: &str,
    action: &str,
    channel: Channel,
    value: Option<&str>,
    now: i64,
) -> Result<(), PortalError> {
    let masked = value.map(|v| match channel {
        Channel::Email => mask_email(v),
        Channel::Phone => mask_phone(v),
    });
    caducee_store::audit::record(
        &mut **tx,
        now,
        &caducee_store::audit::AuditEvent {
            actor: &format!("ps:{idnat}"),
            action,
            subject: Some(idnat),
            details: serde_json::json!({
                "portal": st.portal.slug,
                "channel": channel,
                "to": masked,
            }),
            request_id: None,
        },
    )
    .await
    .map_err(|e| PortalError::Internal(e.to_string()))
}

/// The coordinate typed on the entry page, checked, or the catalogue key of the problem.
fn typed(channel: Channel, form: &Form) -> Result<String, &'static str> {
    let value = form.trimmed("valeur");
    match channel {
        Channel::Email => super::check_email(value).map(|()| value.to_string()),
        Channel::Phone => {
            match super::registration::mobile_e164(form.trimmed("indicatif"), value) {
                Ok(Some(m)) => Ok(m),
                Ok(None) => Err("coordinates-error-phone-empty"),
                Err(key) => Err(key),
            }
        }
    }
}

/// `POST {base}/accueil` with `etape=coordonnee-*`.
pub(crate) async fn submit(
    st: &PortalState,
    visit: &Visit,
    idnat: &str,
    form: &Form,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let channel = match form.get("etape") {
        "coordonnee-email" => Channel::Email,
        "coordonnee-portable" => Channel::Phone,
        _ => return code_submit(st, visit, idnat, form).await,
    };
    if form.get("action") == "ignorer" && st.portal.skippable_steps.contains(&channel.step()) {
        skip(st, idnat, channel).await?;
        return Ok(visit.redirect(st, &st.base(), Vec::new()));
    }
    let value = match typed(channel, form) {
        Ok(v) => v,
        Err(key) => {
            let shown = form.trimmed("valeur").to_string();
            return render_entry(
                st,
                visit,
                idnat,
                channel,
                Some(&shown),
                Some(tr.t(key)),
                None,
            )
            .await;
        }
    };
    let mut tx = st.portals.store().begin().await?;
    let begun = begin(st, &mut tx, visit, idnat, channel, &value).await?;
    tx.commit().await?;
    match begun {
        Ok(flow_id) => Ok(visit.redirect(st, &format!("{}?flow={flow_id}", path(st)), Vec::new())),
        Err(refused) => {
            render_entry(
                st,
                visit,
                idnat,
                channel,
                Some(&value),
                None,
                Some(refusal(tr, refused)),
            )
            .await
        }
    }
}

async fn code_submit(
    st: &PortalState,
    visit: &Visit,
    idnat: &str,
    form: &Form,
) -> Result<Response, PortalError> {
    let tr = visit.tr();
    let id = flow_param(Some(&format!("flow={}", form.get("flow")))).unwrap_or_default();
    let Some(flow) = load(st, visit, &id, idnat).await? else {
        return Ok(visit.redirect(st, &path(st), Vec::new()));
    };
    let channel = flow.data.channel;
    let now = st.portals.now();
    match form.get("action") {
        "ignorer" if st.portal.skippable_steps.contains(&channel.step()) => {
            let mut conn = st.portals.store().pool().acquire().await?;
            flows::delete(&mut conn, &flow.id).await?;
            drop(conn);
            skip(st, idnat, channel).await?;
            return Ok(visit.redirect(st, &st.base(), Vec::new()));
        }
        "modifier" => {
            let mut conn = st.portals.store().pool().acquire().await?;
            flows::delete(&mut conn, &flow.id).await?;
            drop(conn);
            return render_entry(
                st,
                visit,
                idnat,
                channel,
                Some(&flow.data.value),
                None,
                None,
            )
            .await;
        }
        "renvoyer" => {
            let mut tx = st.portals.store().begin().await?;
            let sent = send(st, &mut tx, &flow.id, &flow.data, visit.ctx.locale()).await?;
            tx.commit().await?;
            let alert = code_sender::resend_alert(tr, sent);
            return render_code(st, visit, &flow.id, &flow.data, None, Some(alert)).await;
        }
        _ => {}
    }
    let typed = match code_sender::typed_code(form) {
        Ok(t) => t,
        Err(key) => {
            return render_code(st, visit, &flow.id, &flow.data, Some(tr.t(key)), None).await
        }
    };
    let mut tx = st.portals.store().begin().await?;
    let check = code_sender::check(st, &mut tx, &flow.id, &typed).await?;
    let error = match check {
        CodeCheck::Dead => {
            flows::delete(&mut tx, &flow.id).await?;
            tx.commit().await?;
            return render_entry(
                st,
                visit,
                idnat,
                channel,
                Some(&flow.data.value),
                Some(tr.t("registration-code-dead")),
                None,
            )
            .await;
        }
        other => code_sender::check_error(tr, other),
    };
    if let Some(e) = error {
        tx.commit().await?;
        return render_code(st, visit, &flow.id, &flow.data, Some(e), None).await;
    }
    match channel {
        Channel::Email => {
            sqlx::query(
                "INSERT INTO portal_member (portal, idnat, contact_email, contact_email_folded,
                    contact_verified_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $5, $5)
                 ON CONFLICT (portal, idnat) DO UPDATE SET contact_email = $3,
                    contact_email_folded = $4, contact_verified_at = $5, updated_at = $5",
            )
            .bind(&st.portal.slug)
            .bind(idnat)
            .bind(&flow.data.value)
            .bind(flow.data.value.to_lowercase())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        Channel::Phone => {
            sqlx::query(
                "INSERT INTO portal_member (portal, idnat, mobile, mobile_verified_at,
                    created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $4, $4)
                 ON CONFLICT (portal, idnat) DO UPDATE SET mobile = $3,
                    mobile_verified_at = $4, updated_at = $4",
            )
            .bind(&st.portal.slug)
            .bind(idnat)
            .bind(&flow.data.value)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    }
    audit(
        &mut tx,
        st,
        idnat,
        "portals.coordinate.verified",
        channel,
        Some(&flow.data.value),
        now,
    )
    .await?;
    flows::delete(&mut tx, &flow.id).await?;
    tx.commit().await?;
    Ok(visit.redirect(st, &st.base(), Vec::new()))
}
