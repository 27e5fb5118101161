//! Sending a one-time code, the same way for every journey (creation, recovery, a new
//! e-mail in settings): the code issued for the flow (killing its previous one, counted
//! against the flow's and the person's limits), its message enqueued to the coordinate, the
//! send audited with the coordinate masked — one transaction, so a code exists exactly when
//! its message will leave.

use crate::one_time::{self, CodeRequest, SendRefused};
use crate::state::PortalState;
use crate::PortalError;
use caducee_core::mask::{mask_email, mask_phone};
use caducee_notify::templates::Template as Message;
use caducee_notify::{self as outbox, OutgoingMessage};
use caducee_pages::{Alert, AlertKind, Arg, Tr};
use caducee_store::audit::{self, AuditEvent};

/// Where a code goes, in clear (never stored in a flow: read from the registry, or typed).
pub(crate) enum Destination<'a> {
    Sms(&'a str),
    Email(&'a str),
}

impl Destination<'_> {
    fn channel(&self) -> &'static str {
        match self {
            Destination::Sms(_) => "sms",
            Destination::Email(_) => "email",
        }
    }

    fn masked(&self) -> String {
        match self {
            Destination::Sms(m) => mask_phone(m),
            Destination::Email(e) => mask_email(e),
        }
    }

    fn message(&self, template: Message) -> Result<OutgoingMessage, PortalError> {
        let bad = |e: caducee_core::contact::ContactError| PortalError::Internal(e.to_string());
        Ok(match self {
            Destination::Sms(m) => OutgoingMessage::sms(
                caducee_core::contact::Mobile::parse(m).map_err(bad)?,
                template,
            ),
            Destination::Email(e) => OutgoingMessage::email(
                caducee_core::contact::Email::parse(e).map_err(bad)?,
                template,
            ),
        })
    }
}

/// What a code is sent for.
pub(crate) struct CodeSend<'a> {
    pub flow_id: &'a str,
    /// `creation`, `recovery`, `settings` (audited).
    pub flow_kind: &'a str,
    /// The professional it concerns (the per-person limit counts by it).
    pub idnat: &'a str,
    pub to: Destination<'a>,
    /// The message, given the code and its validity in minutes.
    pub template: &'a (dyn Fn(String, u32) -> Message + Sync),
    /// The language of the page that asked for it.
    pub locale: caducee_pages::Locale,
}

/// Issues and sends a code, or says why not (the limits' refusal, nothing sent).
pub(crate) async fn send(
    st: &PortalState,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    send: &CodeSend<'_>,
) -> Result<Result<(), SendRefused>, PortalError> {
    let policy = st.portals.code_policy();
    let now = st.portals.now();
    let channel = send.to.channel();
    let code = match one_time::issue_code(
        tx,
        st.portals.one_time(),
        policy,
        &CodeRequest {
            portal: &st.portal.slug,
            flow_id: send.flow_id,
            channel,
            idnat: send.idnat,
        },
        now,
    )
    .await?
    {
        Ok(code) => code,
        Err(refused) => return Ok(Err(refused)),
    };
    let minutes = u32::try_from(policy.code_ttl_secs / 60).unwrap_or(10);
    let message = send
        .to
        .message((send.template)(code, minutes))?
        .not_after(now + policy.code_ttl_secs)
        .public_url(st.portals.public_url())
        .locale(send.locale);
    outbox::enqueue(tx, st.portals.clock().as_ref(), &message)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    audit::record(
        &mut **tx,
        now,
        &AuditEvent {
            actor: &format!("ps:{}", send.idnat),
            action: "portals.code.sent",
            subject: Some(send.idnat),
            details: serde_json::json!({
                "portal": st.portal.slug,
                "flow": send.flow_kind,
                "channel": channel,
                "to": send.to.masked(),
            }),
            request_id: None,
        },
    )
    .await
    .map_err(|e| PortalError::Internal(e.to_string()))?;
    Ok(Ok(()))
}

/// The code that proves an e-mail address is the professional's (a new login e-mail in
/// settings, a contact e-mail at onboarding).
pub(crate) async fn send_email_verification(
    st: &PortalState,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    flow_id: &str,
    flow_kind: &str,
    idnat: &str,
    email: &str,
    locale: caducee_pages::Locale,
) -> Result<Result<(), SendRefused>, PortalError> {
    let portal = st.portal.name.clone();
    let template = move |code: String, validity_minutes: u32| Message::EmailVerificationCode {
        portal: portal.clone(),
        code,
        validity_minutes,
    };
    send(
        st,
        tx,
        &CodeSend {
            flow_id,
            flow_kind,
            idnat,
            to: Destination::Email(email),
            template: &template,
            locale,
        },
    )
    .await
}

/// Whole minutes, rounded up, for "réessayez dans N minute(s)".
pub(crate) fn minutes(secs: i64) -> i64 {
    (secs.max(1) + 59) / 60
}

/// The alert that says why no code was sent.
pub(crate) fn refusal(tr: &Tr, refused: SendRefused) -> Alert {
    let text = match refused {
        SendRefused::FlowExhausted => tr.t("account-code-flow-exhausted"),
        SendRefused::PersonExhausted { retry_after_secs } => tr.t_with(
            "account-code-person-exhausted",
            &[("minutes", Arg::Num(minutes(retry_after_secs)))],
        ),
    };
    Alert::new(AlertKind::Error, text).id("envoi-refuse")
}

/// The blocks and buttons every code step shares: where the code went (masked), the 6-digit
/// field with its error, "Valider" and "Renvoyer le code" (a step adds its own way back).
pub(crate) fn code_step(
    tr: &Tr,
    page: &mut super::pages::FormPage,
    masked_to: &str,
    error: Option<String>,
) {
    use caducee_pages::{Button, ButtonKind, Field};
    page.intro
        .push(tr.t_with("account-code-sent", &[("to", Arg::from(masked_to))]));
    page.blocks = vec![super::pages::Block::Field(
        Field::code("code", tr.t("account-code-label"))
            .hint(tr.t("account-code-hint"))
            .error(error),
    )];
    page.buttons = vec![
        Button::new(tr.t("account-validate"), ButtonKind::Primary)
            .id("valider")
            .action("action", "valider"),
        Button::new(tr.t("account-resend"), ButtonKind::Secondary)
            .id("renvoyer")
            .action("action", "renvoyer"),
    ];
}

/// The code step of the registration's pages (RPLUS's words): "Demander un nouveau code"
/// as a link-like button, and "Retour" (sending `action=back_action`) after "Valider".
pub(crate) fn rplus_code_buttons(tr: &Tr, page: &mut super::pages::FormPage, back_action: &str) {
    use caducee_pages::{Button, ButtonKind};
    if let Some(b) = page.buttons.get_mut(1) {
        b.label = tr.t("registration-new-code");
        b.kind = ButtonKind::Tertiary;
    }
    page.buttons.insert(
        1,
        Button::new(tr.t("registration-back"), ButtonKind::Secondary)
            .id("retour")
            .action("action", back_action),
    );
}

/// What a page says after "Renvoyer le code": sent, or why not.
pub(crate) fn resend_alert(tr: &Tr, sent: Result<(), SendRefused>) -> Alert {
    match sent {
        Ok(()) => Alert::new(AlertKind::Info, tr.t("account-code-resent")).id("code-renvoye"),
        Err(r) => refusal(tr, r),
    }
}

/// Checks the code typed for `flow_id` (a try counted), in the caller's transaction.
pub(crate) async fn check(
    st: &PortalState,
    conn: &mut sqlx::AnyConnection,
    flow_id: &str,
    typed: &str,
) -> Result<crate::one_time::CodeCheck, PortalError> {
    one_time::check_code(
        conn,
        st.portals.one_time(),
        st.portals.code_policy(),
        flow_id,
        typed,
        st.portals.now(),
    )
    .await
}

/// The six digits typed (blanks ignored), or the catalogue key that asks for them.
pub(crate) fn typed_code(form: &super::Form) -> Result<String, &'static str> {
    let typed: String = form
        .get("code")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if typed.len() == 6 && typed.bytes().all(|b| b.is_ascii_digit()) {
        Ok(typed)
    } else {
        Err("account-error-code-format")
    }
}

/// What the field says of a code that was not valid (`Dead` ends each journey its own way:
/// none here).
pub(crate) fn check_error(tr: &Tr, check: crate::one_time::CodeCheck) -> Option<String> {
    use crate::one_time::CodeCheck;
    match check {
        CodeCheck::Valid | CodeCheck::Dead => None,
        CodeCheck::Wrong { tries_left } => Some(tr.t_with(
            "account-error-code-wrong",
            &[("tries", Arg::Num(tries_left))],
        )),
        CodeCheck::Expired => Some(tr.t("account-error-code-expired")),
    }
}
