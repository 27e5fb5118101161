//! Every message caducee sends: one [`Template`] variant per message the seeds name,
//! rendered as an e-mail (subject, plain text, HTML) or as one SMS, in French (the source
//! and the default) or in English. Every word comes from the catalogues of the page kit
//! (`crates/pages/locales/{fr,en}/messages.ftl`, keys `mail-…` and `sms-…`); this module
//! holds only the structure of the messages and their variable data.
//!
//! Rendering is pure: no I/O, no clock. The plain text and the HTML of an e-mail come from
//! the same blocks, so they always say the same thing. Variable data is HTML-escaped in the
//! HTML part and rewritten into the GSM 7-bit alphabet in SMS texts. A template must never
//! put a code or a link anywhere but in the body (never in a subject, which mail clients
//! show in notifications and servers log).

use crate::gsm7;
use caducee_pages::{Arg, Locale, Tr};

/// Longest portal name kept in an SMS, in septets (the rest of the text must fit too).
const SMS_PORTAL_MAX: usize = 30;

/// The outcome of a request examined by an agency (registration, contact coordinates…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The change becomes visible `delay_secs` after the decision (`[registry]
    /// propagation_delay_secs`, 48 hours by default): the message says how long.
    Approved {
        delay_secs: i64,
    },
    Rejected {
        reason: String,
    },
}

/// One message and its variable data. `portal` is the display name of the sender ("ROR
/// National", "Mon espace – Ordre des médecins"); codes are given as typed by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Template {
    /// PSC-04: one of the two e-CPS activation codes (one is sent by e-mail, the other by
    /// SMS; both are needed).
    EcpsActivationCode { code: String, validity_minutes: u32 },
    /// PSC-05: the e-CPS expires soon (sent 30 and 7 days before); it must be reactivated.
    EcpsExpiryReminder {
        /// The expiry date as the professional reads it: `JJ/MM/AAAA`.
        expires_on: String,
        /// Whole days left, rounded up (1 means "within 24 hours").
        days_left: u32,
    },
    /// ACC-03: the code that secures the creation of a portal account.
    AccountCreationCode {
        portal: String,
        code: String,
        validity_minutes: u32,
    },
    /// ACC-05: the code that secures the recovery of a portal account (forgotten e-mail).
    AccountRecoveryCode {
        portal: String,
        code: String,
        validity_minutes: u32,
    },
    /// ACC-04: the account was created and activated (confirmation e-mail).
    AccountCreated {
        portal: String,
        login: String,
        login_url: String,
    },
    /// ACC-05, ACC-07: sent to the *previous* login e-mail when it was changed, so that a
    /// change the professional did not make is noticed.
    AccountEmailChanged {
        portal: String,
        /// The new address, masked (the old mailbox may no longer be theirs alone).
        new_email_masked: String,
        /// The day and hour of the change, as the professional reads it.
        changed_at: String,
    },
    /// ACC-06: the single-use password-reset link (valid 24 h).
    PasswordReset {
        portal: String,
        link: String,
        validity_hours: u32,
    },
    /// ACC-08, ACC-09, ACC-10: the code that proves an e-mail address is the user's.
    EmailVerificationCode {
        portal: String,
        code: String,
        validity_minutes: u32,
    },
    /// ACC-09, ACC-10: the code that proves a mobile number is the user's.
    PhoneVerificationCode {
        portal: String,
        code: String,
        validity_minutes: u32,
    },
    /// REG-07..09: a request was approved or rejected (with the reason).
    RequestDecided {
        portal: String,
        /// What was asked, as the user named it: "mise à jour de vos coordonnées".
        request: String,
        decision: Decision,
        /// Where to follow up, when there is a page for it.
        link: Option<String>,
    },
    /// REG-07: a first registration validated by the agency, the RPPS number assigned.
    RppsNumberAssigned {
        portal: String,
        /// The 11 digits.
        rpps: String,
        /// Before the number can be used (`[registry] propagation_delay_secs`).
        delay_secs: i64,
    },
}

/// Stable names of the templates, as stored in `notify_outbox.template`.
pub const TEMPLATE_NAMES: &[&str] = &[
    "ecps_activation_code",
    "ecps_expiry_reminder",
    "account_creation_code",
    "account_recovery_code",
    "account_created",
    "account_email_changed",
    "password_reset",
    "email_verification_code",
    "phone_verification_code",
    "request_decided",
    "rpps_number_assigned",
];

/// True when messages of this template carry a secret (a code or a link): their bodies are
/// scrubbed from the outbox once delivered. Unknown names count as secret.
pub fn template_carries_secret(name: &str) -> bool {
    !matches!(
        name,
        "account_created"
            | "account_email_changed"
            | "request_decided"
            | "rpps_number_assigned"
            | "ecps_expiry_reminder"
    )
}

/// A rendered e-mail.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for RenderedEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bodies may hold a code: never printed by a `{:?}` that could reach a log.
        f.debug_struct("RenderedEmail")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// The pieces of an e-mail body, rendered once as text and once as HTML.
enum Block {
    Para(String),
    Code(String),
    Link(String),
}

impl Template {
    /// The stable name stored with the message (never changes once released).
    pub fn name(&self) -> &'static str {
        match self {
            Template::EcpsActivationCode { .. } => "ecps_activation_code",
            Template::EcpsExpiryReminder { .. } => "ecps_expiry_reminder",
            Template::AccountCreationCode { .. } => "account_creation_code",
            Template::AccountRecoveryCode { .. } => "account_recovery_code",
            Template::AccountCreated { .. } => "account_created",
            Template::AccountEmailChanged { .. } => "account_email_changed",
            Template::PasswordReset { .. } => "password_reset",
            Template::EmailVerificationCode { .. } => "email_verification_code",
            Template::PhoneVerificationCode { .. } => "phone_verification_code",
            Template::RequestDecided { .. } => "request_decided",
            Template::RppsNumberAssigned { .. } => "rpps_number_assigned",
        }
    }

    /// True when the message carries a code or a link that must not stay in the database.
    pub fn carries_secret(&self) -> bool {
        template_carries_secret(self.name())
    }

    /// `(subject, text, html)` of the e-mail, in French.
    pub fn render_email(&self) -> (String, String, String) {
        self.render_email_in(Locale::Fr)
    }

    /// `(subject, text, html)` of the e-mail, in `locale`.
    pub fn render_email_in(&self, locale: Locale) -> (String, String, String) {
        let r = self.email_in(locale);
        (r.subject, r.text, r.html)
    }

    /// The e-mail as a struct, in French (same content as [`Template::render_email`]).
    pub fn email(&self) -> RenderedEmail {
        self.email_in(Locale::Fr)
    }

    /// The e-mail as a struct, in `locale`; the HTML's `<html lang>` is the language's.
    pub fn email_in(&self, locale: Locale) -> RenderedEmail {
        let tr = Tr::new(locale);
        let (subject, blocks) = self.email_blocks(&tr);
        let signature = tr.t_with("mail-signature", &[("sender", self.sender(&tr).into())]);
        let greeting = tr.t("mail-greeting");
        let mut text = format!("{greeting}\n\n");
        let mut html = format!(
            "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n</head>\n\
             <body style=\"font-family: Arial, Helvetica, sans-serif; font-size: 16px; line-height: 1.5; color: #1e1e1e; background: #ffffff;\">\n\
             <main style=\"max-width: 40em; margin: 0 auto; padding: 1em;\">\n<p>{}</p>\n",
            locale.tag(),
            escape(&subject),
            escape(&greeting)
        );
        for block in &blocks {
            match block {
                Block::Para(p) => {
                    text.push_str(p);
                    html.push_str(&format!("<p>{}</p>\n", escape(p)));
                }
                Block::Code(c) => {
                    text.push_str("    ");
                    text.push_str(c);
                    html.push_str(&format!(
                        "<p style=\"font-size: 28px; font-weight: bold; letter-spacing: 0.2em; font-family: 'Courier New', monospace;\">{}</p>\n",
                        escape(c)
                    ));
                }
                Block::Link(l) => {
                    text.push_str(l);
                    html.push_str(&format!(
                        "<p><a href=\"{0}\" style=\"color: #000091;\">{0}</a></p>\n",
                        escape(l)
                    ));
                }
            }
            text.push_str("\n\n");
        }
        text.push_str("-- \n");
        text.push_str(&signature);
        text.push('\n');
        html.push_str(&format!(
            "<hr>\n<p style=\"font-size: 14px; color: #3a3a3a;\">{}</p>\n</main>\n</body>\n</html>\n",
            escape(&signature)
        ));
        RenderedEmail {
            subject,
            text,
            html,
        }
    }

    /// The SMS text, in French (see [`Template::render_sms_in`]).
    pub fn render_sms(&self) -> String {
        self.render_sms_in(Locale::Fr)
    }

    /// The SMS text in `locale`: GSM 7-bit, one SMS (160 septets) for every code template
    /// whatever the portal name; a long login or reason is cut to fit, a long link makes it
    /// longer than one SMS (then [`crate::enqueue`] refuses it).
    pub fn render_sms_in(&self, locale: Locale) -> String {
        let tr = Tr::new(locale);
        let portal = |p: &str| Arg::from(gsm7::truncate(&gsm7::to_gsm7(p), SMS_PORTAL_MAX));
        let code = |c: &str| Arg::from(gsm7::to_gsm7(c));
        let number = |n: &u32| Arg::from(i64::from(*n));
        match self {
            Template::EcpsActivationCode {
                code: c,
                validity_minutes,
            } => tr.t_with(
                "sms-ecps-activation",
                &[("code", code(c)), ("minutes", number(validity_minutes))],
            ),
            Template::EcpsExpiryReminder { expires_on, .. } => tr.t_with(
                "sms-ecps-expiry",
                &[("date", gsm7::to_gsm7(expires_on).into())],
            ),
            Template::AccountCreationCode {
                portal: p,
                code: c,
                validity_minutes,
            } => tr.t_with(
                "sms-account-creation",
                &[
                    ("portal", portal(p)),
                    ("code", code(c)),
                    ("minutes", number(validity_minutes)),
                ],
            ),
            Template::AccountRecoveryCode {
                portal: p,
                code: c,
                validity_minutes,
            } => tr.t_with(
                "sms-account-recovery",
                &[
                    ("portal", portal(p)),
                    ("code", code(c)),
                    ("minutes", number(validity_minutes)),
                ],
            ),
            Template::EmailVerificationCode {
                portal: p,
                code: c,
                validity_minutes,
            }
            | Template::PhoneVerificationCode {
                portal: p,
                code: c,
                validity_minutes,
            } => tr.t_with(
                "sms-verification",
                &[
                    ("portal", portal(p)),
                    ("code", code(c)),
                    ("minutes", number(validity_minutes)),
                ],
            ),
            Template::AccountCreated {
                portal: p, login, ..
            } => fill(
                &tr,
                "sms-account-created",
                &[("portal", portal(p))],
                ("login", login),
            ),
            Template::AccountEmailChanged {
                portal: p,
                new_email_masked,
                ..
            } => fill(
                &tr,
                "sms-email-changed",
                &[("portal", portal(p))],
                ("new-email", new_email_masked),
            ),
            // No portal name: the link names the site, and must fit whole.
            Template::PasswordReset {
                link,
                validity_hours,
                ..
            } => tr.t_with(
                "sms-password-reset",
                &[
                    ("hours", number(validity_hours)),
                    ("link", gsm7::to_gsm7(link).into()),
                ],
            ),
            Template::RequestDecided {
                portal: p,
                request,
                decision,
                ..
            } => {
                let request = Arg::from(gsm7::truncate(&gsm7::to_gsm7(request), 40));
                let args = [("portal", portal(p)), ("request", request)];
                match decision {
                    Decision::Approved { .. } => tr.t_with("sms-request-approved", &args),
                    Decision::Rejected { reason } => {
                        fill(&tr, "sms-request-rejected", &args, ("reason", reason))
                    }
                }
            }
            Template::RppsNumberAssigned {
                portal: p,
                rpps,
                delay_secs,
            } => tr.t_with(
                "sms-rpps-assigned",
                &[
                    ("portal", portal(p)),
                    ("rpps", Arg::from(rpps.as_str())),
                    ("delay", Arg::Text(tr.delay(*delay_secs))),
                ],
            ),
        }
    }

    /// Who signs the message.
    fn sender(&self, tr: &Tr) -> String {
        match self {
            Template::EcpsActivationCode { .. } | Template::EcpsExpiryReminder { .. } => {
                tr.t("mail-sender-ecps")
            }
            Template::AccountCreationCode { portal, .. }
            | Template::AccountRecoveryCode { portal, .. }
            | Template::AccountCreated { portal, .. }
            | Template::AccountEmailChanged { portal, .. }
            | Template::PasswordReset { portal, .. }
            | Template::EmailVerificationCode { portal, .. }
            | Template::PhoneVerificationCode { portal, .. }
            | Template::RequestDecided { portal, .. }
            | Template::RppsNumberAssigned { portal, .. } => portal.clone(),
        }
    }

    fn email_blocks(&self, tr: &Tr) -> (String, Vec<Block>) {
        use Block::*;
        let para = |key: &str| Para(tr.t(key));
        let with_portal = |key: &str, portal: &str| tr.t_with(key, &[("portal", portal.into())]);
        // The e-mails that carry a code: the same four blocks, their own words.
        let code_mail = |subject: &str, intro: &str, portal: &str, code: &str, minutes: &u32| {
            (
                with_portal(subject, portal),
                vec![
                    Para(with_portal(intro, portal)),
                    Code(code.to_string()),
                    keep_secret(tr, minutes),
                    para("mail-not-you"),
                ],
            )
        };
        match self {
            Template::EcpsActivationCode {
                code,
                validity_minutes,
            } => (
                tr.t("mail-ecps-activation-subject"),
                vec![
                    para("mail-ecps-activation-intro"),
                    Code(code.clone()),
                    keep_secret(tr, validity_minutes),
                    para("mail-ecps-activation-second-code"),
                    para("mail-ecps-activation-not-you"),
                ],
            ),
            Template::EcpsExpiryReminder {
                expires_on,
                days_left,
            } => (
                tr.t_with(
                    "mail-ecps-expiry-subject",
                    &[("date", expires_on.as_str().into())],
                ),
                vec![
                    Para(tr.t_with(
                        "mail-ecps-expiry-when",
                        &[
                            ("date", expires_on.as_str().into()),
                            ("days", i64::from(*days_left).into()),
                        ],
                    )),
                    para("mail-ecps-expiry-how"),
                    para("mail-ecps-expiry-changed"),
                ],
            ),
            Template::AccountCreationCode {
                portal,
                code,
                validity_minutes,
            } => code_mail(
                "mail-account-creation-subject",
                "mail-account-creation-intro",
                portal,
                code,
                validity_minutes,
            ),
            Template::AccountRecoveryCode {
                portal,
                code,
                validity_minutes,
            } => code_mail(
                "mail-account-recovery-subject",
                "mail-account-recovery-intro",
                portal,
                code,
                validity_minutes,
            ),
            Template::AccountCreated {
                portal,
                login,
                login_url,
            } => (
                with_portal("mail-account-created-subject", portal),
                vec![
                    Para(with_portal("mail-account-created-done", portal)),
                    Para(tr.t_with(
                        "mail-account-created-login",
                        &[("login", login.as_str().into())],
                    )),
                    para("mail-account-created-sign-in"),
                    Link(login_url.clone()),
                    para("mail-account-created-not-you"),
                ],
            ),
            Template::AccountEmailChanged {
                portal,
                new_email_masked,
                changed_at,
            } => (
                with_portal("mail-email-changed-subject", portal),
                vec![
                    Para(tr.t_with(
                        "mail-email-changed-body",
                        &[
                            ("portal", portal.as_str().into()),
                            ("changed-at", changed_at.as_str().into()),
                            ("new-email", new_email_masked.as_str().into()),
                        ],
                    )),
                    para("mail-email-changed-not-you"),
                ],
            ),
            Template::PasswordReset {
                portal,
                link,
                validity_hours,
            } => (
                with_portal("mail-password-reset-subject", portal),
                vec![
                    Para(with_portal("mail-password-reset-intro", portal)),
                    Link(link.clone()),
                    Para(tr.t_with(
                        "mail-password-reset-validity",
                        &[("hours", i64::from(*validity_hours).into())],
                    )),
                    para("mail-password-reset-not-you"),
                ],
            ),
            Template::EmailVerificationCode {
                portal,
                code,
                validity_minutes,
            } => code_mail(
                "mail-email-verification-subject",
                "mail-email-verification-intro",
                portal,
                code,
                validity_minutes,
            ),
            Template::PhoneVerificationCode {
                portal,
                code,
                validity_minutes,
            } => code_mail(
                "mail-phone-verification-subject",
                "mail-phone-verification-intro",
                portal,
                code,
                validity_minutes,
            ),
            Template::RequestDecided {
                portal,
                request,
                decision,
                link,
            } => {
                let request = [("request", Arg::from(request.as_str()))];
                let (subject, mut blocks) = match decision {
                    Decision::Approved { delay_secs } => (
                        with_portal("mail-request-approved-subject", portal),
                        vec![
                            Para(tr.t_with("mail-request-approved", &request)),
                            Para(tr.t_delay("mail-request-approved-delay", *delay_secs)),
                        ],
                    ),
                    Decision::Rejected { reason } => (
                        with_portal("mail-request-rejected-subject", portal),
                        vec![
                            Para(tr.t_with("mail-request-rejected", &request)),
                            Para(reason.clone()),
                            para("mail-request-rejected-next"),
                        ],
                    ),
                };
                if let Some(link) = link {
                    blocks.push(para("mail-request-link"));
                    blocks.push(Link(link.clone()));
                }
                (subject, blocks)
            }
            Template::RppsNumberAssigned {
                portal,
                rpps,
                delay_secs,
            } => (
                with_portal("mail-rpps-assigned-subject", portal),
                vec![
                    para("mail-rpps-assigned"),
                    para("mail-rpps-assigned-number"),
                    Code(rpps.clone()),
                    Para(tr.t_delay("mail-rpps-assigned-delay", *delay_secs)),
                    para("mail-rpps-assigned-next"),
                ],
            ),
        }
    }
}

/// "This code is valid for … minutes. Do not share it…"
fn keep_secret(tr: &Tr, minutes: &u32) -> Block {
    Block::Para(tr.t_with(
        "mail-keep-secret",
        &[("minutes", i64::from(*minutes).into())],
    ))
}

/// The SMS `key` with `args` and `value`, `value` rewritten to GSM 7-bit and cut so that
/// the whole fits one SMS (the rest of the text is measured with `value` empty).
fn fill(tr: &Tr, key: &str, args: &[(&str, Arg)], (name, value): (&str, &str)) -> String {
    let with = |value: String| {
        let mut all = args.to_vec();
        all.push((name, Arg::from(value)));
        tr.t_with(key, &all)
    };
    let frame = with(String::new());
    let used = gsm7::septets(&frame).unwrap_or(frame.chars().count());
    let budget = gsm7::ONE_SMS.saturating_sub(used);
    with(gsm7::truncate(&gsm7::to_gsm7(value), budget))
}

pub use caducee_core::html::escape;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// Every template, with long-ish values (the longest realistic portal name, a long
    /// reason, a real-looking reset link).
    pub(crate) fn every_template_long() -> Vec<Template> {
        let portal =
            "Mon espace – Conseil national de l’Ordre des médecins (Île-de-France)".to_string();
        vec![
            Template::EcpsActivationCode {
                code: "98765432".into(),
                validity_minutes: 15,
            },
            Template::EcpsExpiryReminder {
                expires_on: "28/02/2029".into(),
                days_left: 30,
            },
            Template::AccountCreationCode {
                portal: portal.clone(),
                code: "123456".into(),
                validity_minutes: 10,
            },
            Template::AccountRecoveryCode {
                portal: portal.clone(),
                code: "123456".into(),
                validity_minutes: 10,
            },
            Template::AccountCreated {
                portal: portal.clone(),
                login: "jean-christophe.de-la-fontaine-saint-hilaire@cabinet-medical-des-trois-rivieres.example.fr".into(),
                login_url: "https://caducee.example.fr/espaces/ordre/connexion".into(),
            },
            Template::AccountEmailChanged {
                portal: portal.clone(),
                new_email_masked: "je***re@cabinet-medical-des-trois-rivieres.example.fr".into(),
                changed_at: "01/12/2026 à 14:05".into(),
            },
            Template::PasswordReset {
                portal: portal.clone(),
                link: "https://sante.example.fr/espaces/ordre/mdp/6QmU3pY0c1x9Wd8nZr2aK5tB4vHs7eLg0oJiFp".into(),
                validity_hours: 24,
            },
            Template::EmailVerificationCode {
                portal: portal.clone(),
                code: "654321".into(),
                validity_minutes: 10,
            },
            Template::PhoneVerificationCode {
                portal: portal.clone(),
                code: "654321".into(),
                validity_minutes: 10,
            },
            Template::RequestDecided {
                portal: portal.clone(),
                request: "Mise à jour de mes coordonnées de correspondance et de mon adresse d’exercice".into(),
                decision: Decision::Approved {
                    delay_secs: 172_800,
                },
                link: Some("https://caducee.example.fr/erpps/demandes/42".into()),
            },
            Template::RequestDecided {
                portal: portal.clone(),
                request: "Déclaration d’une nouvelle activité".into(),
                decision: Decision::Rejected {
                    reason: "Le justificatif fourni (attestation d’inscription au tableau de l’Ordre) est illisible ; merci de joindre une copie complète, datée de moins de trois mois, et signée.".into(),
                },
                link: None,
            },
            Template::RppsNumberAssigned {
                portal,
                rpps: "20000000008".into(),
                delay_secs: 172_800,
            },
        ]
    }

    #[test]
    fn nfr_sms_templates_fit_one_gsm7_sms() {
        let all = every_template_long();
        let names: std::collections::BTreeSet<_> = all.iter().map(|t| t.name()).collect();
        assert_eq!(
            names.len(),
            TEMPLATE_NAMES.len(),
            "every template is checked"
        );
        for locale in Locale::ALL {
            for t in &all {
                let sms = t.render_sms_in(locale);
                let septets = gsm7::septets(&sms).unwrap_or_else(|| {
                    panic!("{} ({locale:?}) has a non GSM-7 character: {sms}", t.name())
                });
                assert!(
                    septets <= 160,
                    "{} ({locale:?}) is {septets} septets: {sms}",
                    t.name()
                );
            }
        }
    }

    #[test]
    fn codes_and_links_appear_in_both_parts_never_in_subject() {
        for t in every_template_long() {
            let (subject, text, html) = t.render_email();
            let secret = match &t {
                Template::EcpsActivationCode { code, .. }
                | Template::AccountCreationCode { code, .. }
                | Template::AccountRecoveryCode { code, .. }
                | Template::EmailVerificationCode { code, .. }
                | Template::PhoneVerificationCode { code, .. } => Some(code.clone()),
                Template::PasswordReset { link, .. } => Some(link.clone()),
                _ => None,
            };
            assert_eq!(secret.is_some(), t.carries_secret(), "{}", t.name());
            if let Some(secret) = secret {
                assert!(text.contains(&secret), "{}", t.name());
                assert!(html.contains(&secret), "{}", t.name());
                assert!(!subject.contains(&secret), "{}", t.name());
                assert!(t.render_sms().contains(&secret), "{}", t.name());
            }
            assert!(text.starts_with("Bonjour,"));
            assert!(html.starts_with("<!DOCTYPE html>"));
            assert!(html.contains("<html lang=\"fr\">"));
            assert!(!format!("{:?}", t.email()).contains("Bonjour"));
        }
    }

    #[test]
    fn reg_07_the_rpps_number_assigned_has_a_message_of_its_own() {
        let t = Template::RppsNumberAssigned {
            portal: "Portail eRPPS".into(),
            rpps: "20000000008".into(),
            delay_secs: 172_800,
        };
        assert!(!t.carries_secret(), "an RPPS number is public");
        let fr = t.email();
        assert_eq!(
            fr.subject,
            "Portail eRPPS : votre numéro RPPS vous a été attribué"
        );
        assert!(
            fr.text
                .contains("Votre numéro RPPS est :\n\n    20000000008"),
            "{}",
            fr.text
        );
        assert!(fr
            .text
            .contains("validée par votre agence régionale de santé (ARS)"));
        assert!(fr.text.contains("Un délai de 48 heures est nécessaire"));
        // The delay is the configured one, not a fixed "48 heures" (REG-06).
        let soon = Template::RppsNumberAssigned {
            portal: "Portail eRPPS".into(),
            rpps: "20000000008".into(),
            delay_secs: 3_600,
        };
        assert!(soon
            .email()
            .text
            .contains("Un délai de 1 heure est nécessaire"));
        assert!(soon
            .email_in(Locale::En)
            .text
            .contains("It takes 1 hour before you can log in"));
        assert!(fr.html.contains("20000000008"));
        let en = t.email_in(Locale::En);
        assert_eq!(
            en.subject,
            "Portail eRPPS: your RPPS number has been assigned"
        );
        assert!(en.text.contains("Your RPPS number is:"));
        assert!(en.text.contains("20000000008"));
        assert!(t.render_sms().contains("20000000008"));
    }

    #[test]
    fn html_is_escaped() {
        let t = Template::RequestDecided {
            portal: "A & B".into(),
            request: "<script>alert(1)</script>".into(),
            decision: Decision::Rejected {
                reason: "\"x\" <b>".into(),
            },
            link: Some("https://x.test/?a=1&b=\"2\"".into()),
        };
        let (subject, text, html) = t.render_email();
        assert_eq!(subject, "A & B : votre demande a été refusée");
        assert!(text.contains("<script>alert(1)</script>"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&quot;x&quot; &lt;b&gt;"));
        assert!(html.contains("href=\"https://x.test/?a=1&amp;b=&quot;2&quot;\""));
        assert!(html.contains("<title>A &amp; B : votre demande a été refusée</title>"));
    }

    #[test]
    fn sms_examples() {
        let t = Template::PhoneVerificationCode {
            portal: "RPLUS Santé".into(),
            code: "482913".into(),
            validity_minutes: 10,
        };
        assert_eq!(
            t.render_sms(),
            "RPLUS Santé : votre code de vérification est 482913. Valable 10 min. Ne le communiquez à personne."
        );
        let t = Template::EcpsActivationCode {
            code: "123456".into(),
            validity_minutes: 10,
        };
        assert_eq!(
            t.render_sms(),
            "e-CPS : votre code d'activation est 123456. Valable 10 min. Ne le communiquez à personne."
        );
    }

    #[test]
    fn psc_05_expiry_reminder_says_when_and_how_to_reactivate() {
        let t = Template::EcpsExpiryReminder {
            expires_on: "02/03/2029".into(),
            days_left: 7,
        };
        let (subject, text, html) = t.render_email();
        assert_eq!(subject, "Votre e-CPS expire le 02/03/2029");
        assert!(
            text.contains("Votre e-CPS expire le 02/03/2029, dans 7 jours."),
            "{text}"
        );
        assert!(text.contains("réactivez-la") && text.contains("caducee ecps activate"));
        assert!(html.contains("caducee ecps activate"));
        assert!(!t.carries_secret(), "nothing to scrub: no code, no link");
        let last_day = Template::EcpsExpiryReminder {
            expires_on: "02/03/2029".into(),
            days_left: 1,
        };
        assert!(last_day
            .render_email()
            .1
            .contains("dans moins de 24 heures"));
        assert_eq!(
            t.render_sms(),
            "e-CPS : votre e-CPS expire le 02/03/2029. Réactivez-la avant cette date avec caducee ecps activate."
        );
    }

    #[test]
    fn the_french_functions_are_the_french_rendering() {
        for t in every_template_long() {
            assert_eq!(t.render_email(), t.render_email_in(Locale::Fr));
            assert_eq!(t.email(), t.email_in(Locale::Fr));
            assert_eq!(t.render_sms(), t.render_sms_in(Locale::Fr));
        }
    }

    #[test]
    fn every_template_renders_in_english_with_every_variable_filled() {
        for t in every_template_long() {
            let (subject, text, html) = t.render_email_in(Locale::En);
            let sms = t.render_sms_in(Locale::En);
            for part in [&subject, &text, &html, &sms] {
                // A variable missing from a message shows as `{$name}`; our data has no brace.
                assert!(!part.contains('{'), "{}: {part}", t.name());
                // No French word of ours left (the test data's own words are French).
                for french in ["Bonjour", "votre", "Valable", "Ce code", "Merci de"] {
                    assert!(!part.contains(french), "{}: {french} in {part}", t.name());
                }
            }
            assert!(text.starts_with("Hello,\n\n"), "{text}");
            assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n"));
            assert!(html.contains("<p>Hello,</p>"));
            assert!(
                text.contains("This message was sent to you automatically by ")
                    && text.contains(". Please do not reply to it.\n"),
                "{text}"
            );
            assert_eq!(
                t.render_email_in(Locale::En).0,
                t.email_in(Locale::En).subject
            );
            // The same secrets, in the same places, as in French.
            let fr = t.render_email();
            for secret in ["98765432", "123456", "654321", "/mdp/6QmU3pY0c1x9"] {
                assert_eq!(fr.1.contains(secret), text.contains(secret), "{}", t.name());
                assert_eq!(fr.2.contains(secret), html.contains(secret), "{}", t.name());
                assert!(!subject.contains(secret), "{}", t.name());
                assert_eq!(t.render_sms().contains(secret), sms.contains(secret));
            }
        }
    }

    #[test]
    fn english_phrases() {
        let t = Template::PhoneVerificationCode {
            portal: "RPLUS Santé".into(),
            code: "482913".into(),
            validity_minutes: 10,
        };
        assert_eq!(
            t.render_sms_in(Locale::En),
            "RPLUS Santé: your verification code is 482913. Valid for 10 min. Do not share it with anyone."
        );
        let e = t.email_in(Locale::En);
        assert_eq!(e.subject, "RPLUS Santé: verification code for your phone");
        assert!(e.text.contains(
            "Here is the verification code for your phone number, to be entered on RPLUS Santé:\n\n    482913\n\n"
        ), "{}", e.text);
        assert!(e.text.contains(
            "This code is valid for 10 minutes. Do not share it with anyone: no service will ever ask you for it by phone or by e-mail."
        ));
        assert!(e
            .text
            .contains("If you did not make this request, ignore this message"));

        let t = Template::EcpsActivationCode {
            code: "123456".into(),
            validity_minutes: 10,
        };
        assert_eq!(
            t.render_sms_in(Locale::En),
            "e-CPS: your activation code is 123456. Valid for 10 min. Do not share it with anyone."
        );
        let e = t.email_in(Locale::En);
        assert_eq!(e.subject, "Your e-CPS activation code");
        assert!(e
            .text
            .contains("A second code has been sent to your mobile phone by SMS"));
        assert!(e.text.ends_with(
            "-- \nThis message was sent to you automatically by caducee (e-CPS). Please do not reply to it.\n"
        ));

        for (days_left, when) in [
            (0, "within 24 hours"),
            (1, "within 24 hours"),
            (2, "in 2 days"),
            (30, "in 30 days"),
        ] {
            let t = Template::EcpsExpiryReminder {
                expires_on: "02/03/2029".into(),
                days_left,
            };
            let (subject, text, html) = t.render_email_in(Locale::En);
            assert_eq!(subject, "Your e-CPS expires on 02/03/2029");
            assert!(
                text.contains(&format!("Your e-CPS expires on 02/03/2029, {when}.")),
                "{text}"
            );
            assert!(html.contains("“caducee ecps activate”"));
            assert_eq!(
                t.render_sms_in(Locale::En),
                "e-CPS: your e-CPS expires on 02/03/2029. Reactivate it before then with caducee ecps activate."
            );
        }
        // The French select too: 0 and 1 are "less than 24 hours", never "1 jours".
        for (days_left, when) in [
            (0, "dans moins de 24 heures"),
            (1, "dans moins de 24 heures"),
            (2, "dans 2 jours"),
        ] {
            let t = Template::EcpsExpiryReminder {
                expires_on: "02/03/2029".into(),
                days_left,
            };
            assert!(t.render_email().1.contains(&format!("02/03/2029, {when}.")));
        }

        let t = Template::PasswordReset {
            portal: "Mon espace".into(),
            link: "https://x.test/mdp/abc".into(),
            validity_hours: 24,
        };
        let (subject, text, _) = t.render_email_in(Locale::En);
        assert_eq!(subject, "Mon espace: resetting your password");
        assert!(text.contains("Open this single-use sign-in link:\n\nhttps://x.test/mdp/abc\n\n"));
        assert!(text.contains("This link is valid for 24 hours and works only once."));
        assert_eq!(
            t.render_sms_in(Locale::En),
            "New password (single-use link, 24 h): https://x.test/mdp/abc"
        );

        let t = Template::AccountCreated {
            portal: "Mon espace".into(),
            login: "a@b.fr".into(),
            login_url: "https://x.test/".into(),
        };
        let (subject, text, _) = t.render_email_in(Locale::En);
        assert_eq!(subject, "Mon espace: your personal space has been created");
        assert!(text.contains("Your sign-in identifier is your e-mail address: a@b.fr"));
        assert_eq!(
            t.render_sms_in(Locale::En),
            "Mon espace: your personal space has been created and activated. Login: a@b.fr."
        );

        let t = Template::AccountEmailChanged {
            portal: "Mon espace".into(),
            new_email_masked: "j***e@x.fr".into(),
            changed_at: "01/12/2026 14:05".into(),
        };
        assert!(t.render_email_in(Locale::En).1.contains(
            "The sign-in e-mail address of your Mon espace space was replaced on 01/12/2026 14:05 with j***e@x.fr."
        ));

        let approved = Template::RequestDecided {
            portal: "ROR".into(),
            request: "contact details".into(),
            decision: Decision::Approved {
                delay_secs: 172_800,
            },
            link: Some("https://x.test/r/1".into()),
        };
        let (subject, text, _) = approved.render_email_in(Locale::En);
        assert_eq!(subject, "ROR: your request has been approved");
        assert!(text.contains("Your request “contact details” has been approved."));
        assert!(text.contains("To view your request:\n\nhttps://x.test/r/1\n\n"));
        assert_eq!(
            approved.render_sms_in(Locale::En),
            "ROR: your request \"contact details\" has been approved."
        );
        let rejected = Template::RequestDecided {
            portal: "ROR".into(),
            request: "contact details".into(),
            decision: Decision::Rejected {
                reason: "Illegible proof".into(),
            },
            link: None,
        };
        let (subject, text, _) = rejected.render_email_in(Locale::En);
        assert_eq!(subject, "ROR: your request has been rejected");
        assert!(text.contains("has been rejected for the following reason:\n\nIllegible proof\n\n"));
        assert_eq!(
            rejected.render_sms_in(Locale::En),
            "ROR: your request \"contact details\" has been rejected. Reason: Illegible proof"
        );
    }

    #[test]
    fn a_long_value_is_cut_to_one_sms_in_both_languages() {
        let t = Template::RequestDecided {
            portal: "ROR".into(),
            request: "x".into(),
            decision: Decision::Rejected {
                reason: "é".repeat(300),
            },
            link: None,
        };
        for locale in Locale::ALL {
            let sms = t.render_sms_in(locale);
            assert_eq!(gsm7::septets(&sms), Some(160), "{sms}");
            assert!(sms.ends_with("éé..."), "{sms}");
        }
    }
}
