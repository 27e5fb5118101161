//! The French texts of every message caducee sends: one [`Template`] variant per message the
//! seeds name, rendered as an e-mail (subject, plain text, HTML) or as one SMS.
//!
//! Rendering is pure: no I/O, no clock. The plain text and the HTML of an e-mail come from
//! the same blocks, so they always say the same thing. Variable data is HTML-escaped in the
//! HTML part and rewritten into the GSM 7-bit alphabet in SMS texts. A template must never
//! put a code or a link anywhere but in the body (never in a subject, which mail clients
//! show in notifications and servers log).

use crate::gsm7;

/// Longest portal name kept in an SMS, in septets (the rest of the text must fit too).
const SMS_PORTAL_MAX: usize = 30;

/// The outcome of a request examined by an agency (registration, contact coordinates…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Rejected { reason: String },
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
];

/// True when messages of this template carry a secret (a code or a link): their bodies are
/// scrubbed from the outbox once delivered. Unknown names count as secret.
pub fn template_carries_secret(name: &str) -> bool {
    !matches!(
        name,
        "account_created" | "account_email_changed" | "request_decided" | "ecps_expiry_reminder"
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
        }
    }

    /// True when the message carries a code or a link that must not stay in the database.
    pub fn carries_secret(&self) -> bool {
        template_carries_secret(self.name())
    }

    /// `(subject, text, html)` of the e-mail.
    pub fn render_email(&self) -> (String, String, String) {
        let r = self.email();
        (r.subject, r.text, r.html)
    }

    /// The e-mail as a struct (same content as [`Template::render_email`]).
    pub fn email(&self) -> RenderedEmail {
        let (subject, blocks) = self.email_blocks();
        let signature = format!(
            "Ce message vous a été envoyé automatiquement par {}. Merci de ne pas y répondre.",
            self.sender()
        );
        let mut text = String::from("Bonjour,\n\n");
        let mut html = format!(
            "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n</head>\n\
             <body style=\"font-family: Arial, Helvetica, sans-serif; font-size: 16px; line-height: 1.5; color: #1e1e1e; background: #ffffff;\">\n\
             <main style=\"max-width: 40em; margin: 0 auto; padding: 1em;\">\n<p>Bonjour,</p>\n",
            escape(&subject)
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

    /// The SMS text: GSM 7-bit, one SMS (160 septets) for every code template whatever the
    /// portal name; a long link, login or reason is cut or makes it longer than one SMS
    /// (then [`crate::enqueue`] refuses it).
    pub fn render_sms(&self) -> String {
        let portal = |p: &str| gsm7::truncate(&gsm7::to_gsm7(p), SMS_PORTAL_MAX);
        match self {
            Template::EcpsActivationCode {
                code,
                validity_minutes,
            } => format!(
                "e-CPS : votre code d'activation est {}. Valable {validity_minutes} min. Ne le communiquez à personne.",
                gsm7::to_gsm7(code)
            ),
            Template::EcpsExpiryReminder { expires_on, .. } => format!(
                "e-CPS : votre e-CPS expire le {}. Réactivez-la avant cette date avec caducee ecps activate.",
                gsm7::to_gsm7(expires_on)
            ),
            Template::AccountCreationCode {
                portal: p,
                code,
                validity_minutes,
            } => format!(
                "{} : votre code pour créer votre compte est {}. Valable {validity_minutes} min. Ne le communiquez à personne.",
                portal(p),
                gsm7::to_gsm7(code)
            ),
            Template::AccountRecoveryCode {
                portal: p,
                code,
                validity_minutes,
            } => format!(
                "{} : votre code pour récupérer votre compte est {}. Valable {validity_minutes} min. Ne le communiquez à personne.",
                portal(p),
                gsm7::to_gsm7(code)
            ),
            Template::EmailVerificationCode {
                portal: p,
                code,
                validity_minutes,
            }
            | Template::PhoneVerificationCode {
                portal: p,
                code,
                validity_minutes,
            } => format!(
                "{} : votre code de vérification est {}. Valable {validity_minutes} min. Ne le communiquez à personne.",
                portal(p),
                gsm7::to_gsm7(code)
            ),
            Template::AccountCreated { portal: p, login, .. } => fill(
                &format!("{} : votre espace personnel est créé et activé. Identifiant : ", portal(p)),
                login,
                ".",
            ),
            Template::AccountEmailChanged {
                portal: p,
                new_email_masked,
                ..
            } => fill(
                &format!("{} : l'adresse de connexion de votre espace est devenue ", portal(p)),
                new_email_masked,
                ".",
            ),
            // No portal name: the link names the site, and must fit whole.
            Template::PasswordReset {
                link,
                validity_hours,
                ..
            } => format!(
                "Nouveau mot de passe (lien unique, {validity_hours} h) : {}",
                gsm7::to_gsm7(link)
            ),
            Template::RequestDecided {
                portal: p,
                request,
                decision,
                ..
            } => {
                let head = format!("{} : votre demande \"", portal(p));
                let request = gsm7::truncate(&gsm7::to_gsm7(request), 40);
                match decision {
                    Decision::Approved => format!("{head}{request}\" a été acceptée."),
                    Decision::Rejected { reason } => fill(
                        &format!("{head}{request}\" a été refusée. Motif : "),
                        reason,
                        "",
                    ),
                }
            }
        }
    }

    /// Who signs the message.
    fn sender(&self) -> &str {
        match self {
            Template::EcpsActivationCode { .. } | Template::EcpsExpiryReminder { .. } => {
                "caducee (e-CPS)"
            }
            Template::AccountCreationCode { portal, .. }
            | Template::AccountRecoveryCode { portal, .. }
            | Template::AccountCreated { portal, .. }
            | Template::AccountEmailChanged { portal, .. }
            | Template::PasswordReset { portal, .. }
            | Template::EmailVerificationCode { portal, .. }
            | Template::PhoneVerificationCode { portal, .. }
            | Template::RequestDecided { portal, .. } => portal,
        }
    }

    fn email_blocks(&self) -> (String, Vec<Block>) {
        use Block::*;
        let not_you = "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : \
                       aucune modification ne sera faite.";
        let keep_secret = |minutes: &u32| {
            format!(
                "Ce code est valable {minutes} minutes. Ne le communiquez à personne : \
                 aucun service ne vous le demandera par téléphone ou par e-mail."
            )
        };
        match self {
            Template::EcpsActivationCode {
                code,
                validity_minutes,
            } => (
                "Votre code d'activation e-CPS".to_string(),
                vec![
                    Para("Voici votre code d'activation e-CPS, à saisir dans l'application :".into()),
                    Code(code.clone()),
                    Para(keep_secret(validity_minutes)),
                    Para("Un second code vous a été envoyé par SMS sur votre téléphone mobile : \
                          les deux codes sont nécessaires pour activer votre e-CPS.".into()),
                    Para("Si vous n'avez pas demandé l'activation d'une e-CPS, ignorez ce message \
                          et signalez-le à votre agence régionale de santé (ARS).".into()),
                ],
            ),
            Template::EcpsExpiryReminder {
                expires_on,
                days_left,
            } => {
                let when = match days_left {
                    0 | 1 => "dans moins de 24 heures".to_string(),
                    n => format!("dans {n} jours"),
                };
                (
                    format!("Votre e-CPS expire le {expires_on}"),
                    vec![
                        Para(format!("Votre e-CPS expire le {expires_on}, {when}.")),
                        Para("Après cette date, elle sera refusée et vous ne pourrez plus vous \
                              connecter avec elle aux services de santé en ligne. Pour continuer à \
                              l'utiliser, réactivez-la avant cette date avec la commande \
                              « caducee ecps activate » : un code vous sera envoyé par e-mail et un \
                              autre par SMS, aux coordonnées enregistrées au répertoire RPPS."
                            .into()),
                        Para("Si ces coordonnées ont changé, contactez votre agence régionale de \
                              santé (ARS) pour les faire corriger avant de réactiver votre e-CPS."
                            .into()),
                    ],
                )
            }
            Template::AccountCreationCode {
                portal,
                code,
                validity_minutes,
            } => (
                format!("{portal} : votre code de création de compte"),
                vec![
                    Para(format!(
                        "Voici le code qui permet de finaliser la création de votre compte {portal} :"
                    )),
                    Code(code.clone()),
                    Para(keep_secret(validity_minutes)),
                    Para(not_you.into()),
                ],
            ),
            Template::AccountRecoveryCode {
                portal,
                code,
                validity_minutes,
            } => (
                format!("{portal} : votre code de récupération de compte"),
                vec![
                    Para(format!(
                        "Voici le code qui permet de finaliser la récupération de votre compte {portal} :"
                    )),
                    Code(code.clone()),
                    Para(keep_secret(validity_minutes)),
                    Para(not_you.into()),
                ],
            ),
            Template::AccountCreated {
                portal,
                login,
                login_url,
            } => (
                format!("{portal} : votre espace personnel a été créé"),
                vec![
                    Para(format!("Votre espace personnel {portal} a été créé et activé.")),
                    Para(format!("Votre identifiant de connexion est votre adresse e-mail : {login}")),
                    Para("Pour vous connecter :".into()),
                    Link(login_url.clone()),
                    Para("Si vous n'êtes pas à l'origine de cette création, contactez le support \
                          du portail."
                        .into()),
                ],
            ),
            Template::AccountEmailChanged {
                portal,
                new_email_masked,
                changed_at,
            } => (
                format!("{portal} : l'adresse de connexion de votre espace a changé"),
                vec![
                    Para(format!(
                        "L'adresse e-mail de connexion de votre espace {portal} a été remplacée \
                         le {changed_at} par {new_email_masked}. Ce message est envoyé à \
                         l'ancienne adresse."
                    )),
                    Para("Si vous n'êtes pas à l'origine de ce changement, contactez sans \
                          attendre le support du portail."
                        .into()),
                ],
            ),
            Template::PasswordReset {
                portal,
                link,
                validity_hours,
            } => (
                format!("{portal} : réinitialisation de votre mot de passe"),
                vec![
                    Para(format!(
                        "Vous avez demandé à choisir un nouveau mot de passe pour votre compte {portal}. \
                         Ouvrez ce lien de connexion unique :"
                    )),
                    Link(link.clone()),
                    Para(format!(
                        "Ce lien est valable {validity_hours} heures et ne fonctionne qu'une seule fois. \
                         Ne le transmettez à personne."
                    )),
                    Para("Si vous n'avez pas demandé de nouveau mot de passe, ignorez ce message : \
                          votre mot de passe actuel reste valable."
                        .into()),
                ],
            ),
            Template::EmailVerificationCode {
                portal,
                code,
                validity_minutes,
            } => (
                format!("{portal} : code de vérification de votre adresse e-mail"),
                vec![
                    Para(format!(
                        "Voici le code de vérification de votre adresse e-mail, à saisir sur {portal} :"
                    )),
                    Code(code.clone()),
                    Para(keep_secret(validity_minutes)),
                    Para(not_you.into()),
                ],
            ),
            Template::PhoneVerificationCode {
                portal,
                code,
                validity_minutes,
            } => (
                format!("{portal} : code de vérification de votre téléphone"),
                vec![
                    Para(format!(
                        "Voici le code de vérification de votre numéro de téléphone, à saisir sur {portal} :"
                    )),
                    Code(code.clone()),
                    Para(keep_secret(validity_minutes)),
                    Para(not_you.into()),
                ],
            ),
            Template::RequestDecided {
                portal,
                request,
                decision,
                link,
            } => {
                let mut blocks = match decision {
                    Decision::Approved => vec![
                        Para(format!("Votre demande « {request} » a été acceptée.")),
                        Para("Un délai de 48 heures peut être nécessaire avant que les changements \
                              soient visibles partout."
                            .into()),
                    ],
                    Decision::Rejected { reason } => vec![
                        Para(format!("Votre demande « {request} » a été refusée pour le motif suivant :")),
                        Para(reason.clone()),
                        Para("Vous pouvez la corriger et la déposer à nouveau, ou contacter votre \
                              agence régionale de santé (ARS)."
                            .into()),
                    ],
                };
                if let Some(link) = link {
                    blocks.push(Para("Pour consulter votre demande :".into()));
                    blocks.push(Link(link.clone()));
                }
                let verdict = match decision {
                    Decision::Approved => "acceptée",
                    Decision::Rejected { .. } => "refusée",
                };
                (format!("{portal} : votre demande a été {verdict}"), blocks)
            }
        }
    }
}

/// `prefix + value + suffix`, `value` rewritten to GSM 7-bit and cut so that the whole
/// fits one SMS.
fn fill(prefix: &str, value: &str, suffix: &str) -> String {
    let used = gsm7::septets(prefix).unwrap_or(prefix.chars().count())
        + gsm7::septets(suffix).unwrap_or(suffix.chars().count());
    let budget = gsm7::ONE_SMS.saturating_sub(used);
    format!(
        "{prefix}{}{suffix}",
        gsm7::truncate(&gsm7::to_gsm7(value), budget)
    )
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
                decision: Decision::Approved,
                link: Some("https://caducee.example.fr/erpps/demandes/42".into()),
            },
            Template::RequestDecided {
                portal,
                request: "Déclaration d’une nouvelle activité".into(),
                decision: Decision::Rejected {
                    reason: "Le justificatif fourni (attestation d’inscription au tableau de l’Ordre) est illisible ; merci de joindre une copie complète, datée de moins de trois mois, et signée.".into(),
                },
                link: None,
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
        for t in &all {
            let sms = t.render_sms();
            let septets = gsm7::septets(&sms)
                .unwrap_or_else(|| panic!("{} has a non GSM-7 character: {sms}", t.name()));
            assert!(septets <= 160, "{} is {septets} septets: {sms}", t.name());
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
}
