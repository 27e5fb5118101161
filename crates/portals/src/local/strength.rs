//! The password rules of local accounts and the live meter's answer.
//!
//! A password is accepted when it meets the portal's composition rules (12 characters or
//! more, ANSSI's advice for a password checked by a meter and a deny list; RPLUS adds an
//! upper-case letter, a lower-case letter and a digit or special character, ACC-09), is not
//! on the list of common passwords, is not built on the person's names, RPPS number, birth
//! date or e-mail, and the estimator (zxcvbn) rates it at least "Moyen".
//!
//! The meter's script (`assets/password.js` of the kit) posts what is typed here and shows
//! the answer; the estimate is the server's, the same that decides at submission, so the
//! page never says "Fort" of a password the form then refuses.

use super::identity::Person;
use super::{flow_param, Form, Visit};
use crate::state::PortalState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use caducee_pages::{PasswordInput, Tr};
use caducee_passwords::strength::{estimate, Level, Personal, Rules};

/// Longest password considered (argon2 takes any length; the estimator's cost grows with it).
const MAX_CHARS: usize = 256;

/// Whether `password` may be chosen by the person `personal` describes, else the
/// catalogue key that says why not.
pub(crate) fn acceptable(
    rules: &Rules,
    password: &str,
    personal: &Personal<'_>,
) -> Result<(), &'static str> {
    if password.is_empty() {
        return Err("account-error-password-empty");
    }
    if password.chars().count() > MAX_CHARS {
        return Err("account-error-password-long");
    }
    if password.chars().count() < rules.min_chars {
        return Err("account-error-password-short");
    }
    if !rules.met(password) {
        return Err("account-error-password-rules");
    }
    let s = estimate(password, personal);
    if s.common {
        Err("account-error-password-common")
    } else if s.personal {
        Err("account-error-password-personal")
    } else if s.level == Level::Weak {
        Err("account-error-password-weak")
    } else {
        Ok(())
    }
}

/// What an attacker knows of `person` (and of the login `email`), for the estimator.
fn personal_of<'a>(
    names: &'a [&'a str],
    person: Option<&'a Person>,
    email: Option<&'a str>,
) -> Personal<'a> {
    Personal {
        names,
        rpps: person.map(|p| p.rpps.as_str()),
        birth_date: person.map(|p| p.birth_date.as_str()),
        email,
    }
}

/// [`acceptable`] on this portal for `person` choosing `password` with the login `email`;
/// the refusal in the page's words.
pub(crate) fn acceptable_for(
    st: &PortalState,
    tr: &Tr,
    password: &str,
    person: Option<&Person>,
    email: &str,
) -> Result<(), String> {
    let names = person.map(|p| p.names()).unwrap_or_default();
    let rules = st.portal.password_rules.rules();
    acceptable(&rules, password, &personal_of(&names, person, Some(email)))
        .map_err(|key| rule_text(tr, &rules, key))
}

/// A rule as the page lists it ("12 caractères ou plus").
fn rule_text(tr: &Tr, rules: &Rules, key: &str) -> String {
    tr.t_with(
        key,
        &[("n", caducee_pages::Arg::Num(rules.min_chars as i64))],
    )
}

/// The field of a new password on this portal: the live meter (its answer from
/// `{base}/force-mot-de-passe`) and the portal's rules, each shown unmet until typed.
pub(crate) fn new_password_input(
    st: &PortalState,
    tr: &Tr,
    name: &str,
    label: String,
) -> PasswordInput {
    let rules = st.portal.password_rules.rules();
    let mut p =
        PasswordInput::new(tr, name, label, true).live(format!("{}/force-mot-de-passe", st.base()));
    for (key, _) in rules.check("") {
        p = p.rule(rule_text(tr, &rules, key), false);
    }
    p
}

/// The new password (`mot_de_passe`, with the meter and the rules) and its confirmation
/// (`mot_de_passe_confirmation`), labelled `labels`, with their errors from `errors`.
pub(crate) fn new_password_blocks(
    st: &PortalState,
    tr: &Tr,
    [label, confirm_label]: [String; 2],
    errors: &std::collections::BTreeMap<String, String>,
) -> [super::pages::Block; 2] {
    let err = |name: &str| errors.get(name).cloned();
    let mut password = new_password_input(st, tr, "mot_de_passe", label);
    password.field = password.field.clone().error(err("mot_de_passe"));
    let mut confirm = PasswordInput::new(tr, "mot_de_passe_confirmation", confirm_label, false);
    confirm.field.autocomplete = Some("new-password");
    confirm.field = confirm
        .field
        .clone()
        .error(err("mot_de_passe_confirmation"));
    [
        super::pages::Block::Password(password),
        super::pages::Block::Password(confirm),
    ]
}

/// `POST {base}/force-mot-de-passe` (`mot_de_passe`, `csrf`, optionally `flow`): the
/// strength as JSON, in the page's language: `{"level":0..2,"label":"Faible","warning":…,
/// "rules":[{"text":…,"met":true}]}`. The person's data come from the session or the
/// journey of this browser, never from the request.
pub(crate) async fn answer(
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let visit = Visit::new(&st, &headers, st.base());
    if !visit.csrf_ok(&st, &form) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let password: String = form.get("mot_de_passe").chars().take(MAX_CHARS).collect();
    let person = match person_of(&st, &headers, &visit, &form).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "mesure du mot de passe : personne introuvable");
            None
        }
    };
    let names = person.as_ref().map(|p| p.names()).unwrap_or_default();
    let email = person.as_ref().and_then(|p| p.email.as_deref());
    let personal = personal_of(&names, person.as_ref(), email);
    let tr = visit.tr();
    let s = estimate(&password, &personal);
    let rules_of_portal = st.portal.password_rules.rules();
    let accepted = acceptable(&rules_of_portal, &password, &personal);
    let level = match (accepted, s.level) {
        (Err(_), _) | (_, Level::Weak) => 0,
        (Ok(()), Level::Medium) => 1,
        (Ok(()), Level::Strong) => 2,
    };
    let label = tr.t(match level {
        0 => "kit-password-weak",
        1 => "kit-password-medium",
        _ => "kit-password-strong",
    });
    let warning = accepted
        .err()
        .or(s.warning)
        .map(|k| rule_text(tr, &rules_of_portal, k));
    let rules: Vec<serde_json::Value> = rules_of_portal
        .check(&password)
        .into_iter()
        .map(|(key, met)| {
            serde_json::json!({"text": rule_text(tr, &rules_of_portal, key), "met": met})
        })
        .collect();
    let body = serde_json::json!({
        "level": if password.is_empty() { serde_json::Value::Null } else { level.into() },
        "label": label,
        "warning": warning,
        "rules": rules,
    });
    (
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The person whose password it is: the session's account, or the journey's professional.
async fn person_of(
    st: &PortalState,
    headers: &HeaderMap,
    visit: &Visit,
    form: &Form,
) -> Result<Option<super::identity::Person>, crate::PortalError> {
    let now = st.portals.now();
    let mut conn = st.portals.store().pool().acquire().await?;
    let idnat = if let Some(secret) = st.cookie(headers, &crate::state::Cookie::Local) {
        super::session::find(&mut conn, &st.portal.slug, &secret, now)
            .await?
            .map(|s| s.account.idnat)
    } else {
        None
    };
    let idnat = match (
        idnat,
        flow_param(Some(&format!("flow={}", form.get("flow")))),
    ) {
        (Some(i), _) => Some(i),
        (None, Some(id)) => {
            let mut found = None;
            for kind in ["creation", "recovery"] {
                if let Some(f) = crate::flows::load::<serde_json::Value>(
                    &mut conn,
                    &st.portal.slug,
                    kind,
                    &id,
                    &visit.browser,
                    now,
                )
                .await?
                {
                    found = f
                        .data
                        .get("idnat")
                        .and_then(|v| v.as_str())
                        .map(str::to_string);
                }
            }
            found
        }
        (None, None) => None,
    };
    drop(conn);
    // A registration's flow holds its identifier; the registration knows the idNat.
    let idnat = match (
        idnat,
        flow_param(Some(&format!("flow={}", form.get("flow")))),
    ) {
        (Some(i), _) => Some(i),
        (None, Some(id)) => super::registration::idnat_of_flow(st, visit, &id).await?,
        (None, None) => None,
    };
    let Some(idnat) = idnat else { return Ok(None) };
    super::identity::lookup_idnat(st.portals.store(), &st.portal, &idnat).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn acc_04_weak_common_and_personal_passwords_are_refused() {
        let julie = Personal {
            names: &["Julie", "Martin"],
            rpps: Some("19999900012"),
            birth_date: Some("1980-04-12"),
            email: Some("julie.martin@example.test"),
        };
        let rules = Rules::none();
        let acceptable = |p: &str, who: &Personal<'_>| acceptable(&rules, p, who);
        assert_eq!(acceptable("", &julie), Err("account-error-password-empty"));
        assert_eq!(
            acceptable("court", &julie),
            Err("account-error-password-short")
        );
        assert_eq!(
            acceptable("motdepasse123", &julie),
            Err("account-error-password-common")
        );
        assert_eq!(
            acceptable("JulieMartin1980!", &julie),
            Err("account-error-password-personal")
        );
        assert_eq!(
            acceptable("aaaaaaaaaaaaaaaa", &julie),
            Err("account-error-password-weak")
        );
        assert_eq!(acceptable("péniche-vélo-grenadine-42", &julie), Ok(()));
    }

    #[test]
    fn acc_09_rplus_rules_upper_lower_and_digit_or_special() {
        let nobody = Personal {
            names: &[],
            rpps: None,
            birth_date: None,
            email: None,
        };
        let rplus = Rules::RPLUS;
        for short in ["Court1!", "Abcdefghij1"] {
            assert_eq!(
                acceptable(&rplus, short, &nobody),
                Err("account-error-password-short")
            );
        }
        for missing in [
            "tramway-grenadine-42",
            "TRAMWAY-GRENADINE-42",
            "TramwayGrenadinePoivre",
        ] {
            assert_eq!(
                acceptable(&rplus, missing, &nobody),
                Err("account-error-password-rules"),
                "{missing}"
            );
        }
        assert_eq!(acceptable(&rplus, "Tramway-grenadine-42", &nobody), Ok(()));
        let checks = rplus.check("Tramway");
        assert_eq!(
            checks,
            vec![
                ("password-rule-length", false),
                ("password-rule-upper", true),
                ("password-rule-lower", true),
                ("password-rule-digit-or-special", false),
            ]
        );
    }
}
