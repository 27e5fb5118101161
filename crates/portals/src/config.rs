//! A partner portal is configuration, not code (DESIGN.md "Portals"): a `[[portals]]` table
//! of the configuration file gives its slug, its name, its accent colour, the login means it
//! offers, how a local account comes to exist, the professions it lets in, the services of
//! its home page and the onboarding steps of its logins. The demo configurations (`demo`,
//! `ordre`) are values of the same type, loaded by `serve --demo`.
//!
//! Validation happens once, at start ([`validate_all`]): a portal that would be served
//! wrongly (an unknown login means, a colour the stylesheet cannot use, two portals on one
//! slug) stops the start with a French message naming the portal and the key.

use serde::{Deserialize, Serialize};

/// How a professional logs in to a portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoginMeans {
    /// Through the identity provider (Pro Santé Connect–compatible): e-CPS, card, key…
    Psc,
    /// A local account of the portal: e-mail and password.
    Local,
}

/// How a local account comes to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountPolicy {
    /// No local accounts (a Pro Santé Connect–only portal).
    #[default]
    None,
    /// Birth date + RPPS, then a code sent to a contact the registry knows (ACC-01..04).
    RegistryCode,
    /// A registration form (ACC-09, issue 12).
    RegistrationForm,
    /// Only after a first Pro Santé Connect login, by "Mot de passe oublié ?" (ONB-02,
    /// issue 12).
    AfterPsc,
}

/// A step required after a login (DESIGN.md "Portals", onboarding policy). Declared here so
/// configurations can name them; the steps themselves come with the portals that need them
/// (issue 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnboardingStep {
    ContactEmail,
    Terms,
    ConfirmRegistry,
    VerifyEmail,
    VerifyPhone,
    StructureDetails,
}

impl OnboardingStep {
    /// As written in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            OnboardingStep::ContactEmail => "contact-email",
            OnboardingStep::Terms => "terms",
            OnboardingStep::ConfirmRegistry => "confirm-registry",
            OnboardingStep::VerifyEmail => "verify-email",
            OnboardingStep::VerifyPhone => "verify-phone",
            OnboardingStep::StructureDetails => "structure-details",
        }
    }

    /// Whether the step may show "IGNORER CETTE ÉTAPE" when the portal lists it in
    /// `skippable_steps`: the verifications of a coordinate (ACC-09, ACC-10); the others
    /// protect the portal (who enters, what they accepted) and cannot be skipped.
    pub fn may_be_skipped(self) -> bool {
        matches!(
            self,
            OnboardingStep::VerifyEmail | OnboardingStep::VerifyPhone
        )
    }
}

/// One service on the portal's home page ("MES SERVICES").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// As shown, in the portal's language (a partner's service name is not translated).
    pub label: String,
    /// A path of this site or an `https://` address.
    pub href: String,
}

/// One configured portal (`[[portals]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalConfig {
    /// Path segment under `/espaces/`, also the key of its rows: `[a-z0-9-]`, 1–32.
    pub slug: String,
    /// Shown in the pages and the messages, registered as the client's name at the provider.
    pub name: String,
    /// Its client id at the identity provider; the slug when absent.
    #[serde(default)]
    pub client_id: Option<String>,
    /// `#rrggbb`, the colour of its banner and buttons.
    #[serde(default = "default_accent")]
    pub accent: String,
    /// `["psc"]`, `["local"]` or both.
    #[serde(default = "default_login")]
    pub login: Vec<LoginMeans>,
    #[serde(default)]
    pub accounts: AccountPolicy,
    /// Profession codes (TRE_G15) let in; empty: every profession.
    #[serde(default)]
    pub professions: Vec<String>,
    /// Modes of practice (TRE_R23: `L` libéral, `S` salarié, `B` bénévole) an admitted
    /// profession must be practised in (ONB-01: ROR lets in liberal practice only); empty:
    /// any.
    #[serde(default)]
    pub exercise_modes: Vec<String>,
    #[serde(default)]
    pub services: Vec<Service>,
    #[serde(default)]
    pub onboarding: Vec<OnboardingStep>,
    /// Domains a contact e-mail may not be in, a domain and its subdomains (ONB-03: ROR
    /// refuses MSSanté addresses, `mssante.fr`).
    #[serde(default)]
    pub forbidden_email_domains: Vec<String>,
    /// Steps of `onboarding` the professional may skip ("IGNORER CETTE ÉTAPE": RPLUS's
    /// e-mail and mobile verifications, ACC-09, ACC-10); a skipped step is not asked again.
    #[serde(default)]
    pub skippable_steps: Vec<OnboardingStep>,
    /// What a local password must contain beyond its length (RPLUS: an upper-case letter,
    /// a lower-case letter, a digit or a special character, ACC-09).
    #[serde(default)]
    pub password_rules: PasswordRules,
    /// The words of the Pro Santé Connect button of a portal offering both means, as the
    /// partner writes them (ROR: "PROSANTECONNECT"); the catalogue's when absent.
    #[serde(default)]
    pub psc_button: Option<String>,
    /// The terms of use and the privacy policy the creation form links to.
    #[serde(default)]
    pub terms_url: Option<String>,
    #[serde(default)]
    pub privacy_url: Option<String>,
}

/// `[portals.password_rules]`: the composition rules a local password must meet, each shown
/// as met or not while it is typed. Whatever they say, a password is also refused when it
/// is common, built on the person's data, or weak for the estimator (strength.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordRules {
    /// 12 or more (ANSSI), at most 64.
    pub min_chars: usize,
    pub upper: bool,
    pub lower: bool,
    pub digit_or_special: bool,
}

impl Default for PasswordRules {
    fn default() -> Self {
        let r = caducee_passwords::strength::Rules::none();
        PasswordRules {
            min_chars: r.min_chars,
            upper: r.upper,
            lower: r.lower,
            digit_or_special: r.digit_or_special,
        }
    }
}

impl PasswordRules {
    /// RPLUS (ACC-09): 12 characters or more, an upper-case letter, a lower-case letter,
    /// a digit or a special character.
    pub fn rplus() -> PasswordRules {
        let r = caducee_passwords::strength::Rules::RPLUS;
        PasswordRules {
            min_chars: r.min_chars,
            upper: r.upper,
            lower: r.lower,
            digit_or_special: r.digit_or_special,
        }
    }

    pub fn rules(self) -> caducee_passwords::strength::Rules {
        caducee_passwords::strength::Rules {
            min_chars: self.min_chars,
            upper: self.upper,
            lower: self.lower,
            digit_or_special: self.digit_or_special,
        }
    }
}

fn default_accent() -> String {
    "#000091".to_string()
}

fn default_login() -> Vec<LoginMeans> {
    vec![LoginMeans::Psc]
}

/// Slugs the site uses for itself under `/espaces/`.
const RESERVED_SLUGS: &[&str] = &["assets", "api", "admin", crate::erpps::SLUG];

impl PortalConfig {
    pub fn client_id(&self) -> &str {
        self.client_id.as_deref().unwrap_or(&self.slug)
    }

    pub fn offers(&self, means: LoginMeans) -> bool {
        self.login.contains(&means)
    }

    /// Whether the registry profession `code` may enter (ONB-01).
    pub fn admits_profession(&self, code: &str) -> bool {
        self.professions.is_empty() || self.professions.iter().any(|p| p == code)
    }

    /// Whether an active activity of profession `profession` in mode `mode` (TRE_R23) lets
    /// its professional in (ONB-01).
    pub fn admits_activity(&self, profession: &str, mode: &str) -> bool {
        self.admits_profession(profession)
            && (self.exercise_modes.is_empty() || self.exercise_modes.iter().any(|m| m == mode))
    }

    /// Whether `email` is in a forbidden domain (or one of its subdomains), without case.
    pub fn forbids_email(&self, email: &str) -> bool {
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        let domain = domain.trim().trim_end_matches('.').to_lowercase();
        self.forbidden_email_domains.iter().any(|f| {
            let f = f.trim().trim_start_matches('.').to_lowercase();
            domain == f || domain.ends_with(&format!(".{f}"))
        })
    }

    /// `/espaces/{slug}`.
    pub fn base(&self) -> String {
        if self.slug == crate::erpps::SLUG {
            // The registry's own portal is not a partner space.
            return crate::erpps::BASE.to_string();
        }
        format!("/espaces/{}", self.slug)
    }

    /// What is wrong with this portal, in French, or nothing.
    pub fn validate(&self) -> Result<(), String> {
        let p = &self.slug;
        let slug_ok = !p.is_empty()
            && p.len() <= 32
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !p.starts_with('-');
        if !slug_ok || RESERVED_SLUGS.contains(&p.as_str()) {
            return Err(format!(
                "portail « {p} » : slug invalide (1 à 32 caractères parmi a-z, 0-9 et -, hors {})",
                RESERVED_SLUGS.join(", ")
            ));
        }
        if self.name.trim().is_empty() {
            return Err(format!("portail « {p} » : name est vide"));
        }
        let hex = self.accent.strip_prefix('#').unwrap_or("");
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "portail « {p} » : accent « {} » n'est pas une couleur #rrggbb",
                self.accent
            ));
        }
        if self.login.is_empty() {
            return Err(format!(
                "portail « {p} » : login doit offrir \"psc\", \"local\" ou les deux"
            ));
        }
        match (self.offers(LoginMeans::Local), self.accounts) {
            (true, AccountPolicy::None) => {
                return Err(format!(
                "portail « {p} » : login \"local\" demande accounts = \"registry-code\", \"registration-form\" ou \"after-psc\""
            ))
            }
            (false, a) if a != AccountPolicy::None => {
                return Err(format!(
                    "portail « {p} » : accounts sans login \"local\" n'aurait aucun effet"
                ))
            }
            _ => {}
        }
        if self
            .psc_button
            .as_deref()
            .is_some_and(|w| w.trim().is_empty() || w.chars().count() > 60)
        {
            return Err(format!(
                "portail « {p} » : psc_button doit compter de 1 à 60 caractères"
            ));
        }
        if !(12..=64).contains(&self.password_rules.min_chars) {
            return Err(format!(
                "portail « {p} » : password_rules.min_chars doit être entre 12 et 64"
            ));
        }
        if let Some(step) = self
            .skippable_steps
            .iter()
            .find(|s| !s.may_be_skipped() || !self.onboarding.contains(s))
        {
            return Err(format!(
                "portail « {p} » : skippable_steps « {} » : seules les étapes verify-email et verify-phone de onboarding peuvent être ignorées",
                step.name()
            ));
        }
        if self.onboarding.contains(&OnboardingStep::StructureDetails)
            && self.accounts != AccountPolicy::RegistrationForm
        {
            return Err(format!(
                "portail « {p} » : l'étape structure-details complète l'inscription : elle demande accounts = \"registration-form\""
            ));
        }
        if self.accounts == AccountPolicy::AfterPsc && !self.offers(LoginMeans::Psc) {
            return Err(format!(
                "portail « {p} » : accounts = \"after-psc\" demande login = [\"psc\", \"local\"] (la première connexion se fait par Pro Santé Connect)"
            ));
        }
        if self.onboarding.contains(&OnboardingStep::ContactEmail) && !self.offers(LoginMeans::Psc)
        {
            return Err(format!(
                "portail « {p} » : l'étape contact-email suit une connexion Pro Santé Connect : login doit contenir \"psc\""
            ));
        }
        if let Some(d) = self
            .forbidden_email_domains
            .iter()
            .find(|d| d.is_empty() || d.contains('@') || d.contains(char::is_whitespace))
        {
            return Err(format!(
                "portail « {p} » : forbidden_email_domains « {d} » n'est pas un domaine (ex. \"mssante.fr\")"
            ));
        }
        for link in self
            .services
            .iter()
            .map(|s| s.href.as_str())
            .chain(self.terms_url.as_deref())
            .chain(self.privacy_url.as_deref())
        {
            let local = link.starts_with('/') && !link.starts_with("//");
            if !local && !link.starts_with("https://") {
                return Err(format!(
                    "portail « {p} » : le lien « {link} » doit être un chemin du site (/…) ou une adresse https://"
                ));
            }
        }
        if let Some(m) = self
            .exercise_modes
            .iter()
            .find(|m| !matches!(m.as_str(), "L" | "S" | "B"))
        {
            return Err(format!(
                "portail « {p} » : exercise_modes « {m} » inconnu (TRE_R23 : L, S ou B)"
            ));
        }
        if let Some(s) = self.services.iter().find(|s| s.label.trim().is_empty()) {
            return Err(format!(
                "portail « {p} » : un service sans label ({})",
                s.href
            ));
        }
        Ok(())
    }
}

/// Checks every portal, and that no two share a slug or a client id.
pub fn validate_all(portals: &[PortalConfig]) -> Result<(), String> {
    for (i, portal) in portals.iter().enumerate() {
        portal.validate()?;
        if let Some(other) = portals[..i].iter().find(|o| o.slug == portal.slug) {
            return Err(format!("deux portails ont le slug « {} »", other.slug));
        }
        if let Some(other) = portals[..i]
            .iter()
            .find(|o| o.client_id() == portal.client_id())
        {
            return Err(format!(
                "les portails « {} » et « {} » ont le même client_id « {} »",
                other.slug,
                portal.slug,
                portal.client_id()
            ));
        }
    }
    Ok(())
}

/// The demo relying party of Pro Santé Connect (`/espaces/demo`).
pub fn demo() -> PortalConfig {
    PortalConfig {
        slug: "demo".into(),
        name: "Espace de démonstration".into(),
        client_id: None,
        accent: default_accent(),
        login: vec![LoginMeans::Psc],
        accounts: AccountPolicy::None,
        professions: Vec::new(),
        exercise_modes: Vec::new(),
        services: Vec::new(),
        onboarding: Vec::new(),
        forbidden_email_domains: Vec::new(),
        terms_url: None,
        privacy_url: None,
        skippable_steps: Vec::new(),
        password_rules: PasswordRules::default(),
        psc_button: None,
    }
}

/// "Mon espace" of the Ordre des médecins (seed `ordre-medecins-mon-espace.txt`): local
/// accounts created by birth date + RPPS and a code to a registry contact, for physicians
/// (profession 10: médecins, internes and docteurs juniors).
pub fn ordre() -> PortalConfig {
    let service = |label: &str, href: &str| Service {
        label: label.into(),
        href: href.into(),
    };
    PortalConfig {
        slug: "ordre".into(),
        name: "Ordre des médecins".into(),
        client_id: None,
        accent: "#0b5394".into(),
        login: vec![LoginMeans::Local],
        accounts: AccountPolicy::RegistryCode,
        professions: vec!["10".into()],
        exercise_modes: Vec::new(),
        services: vec![
            service(
                "Abonnements",
                "https://www.conseil-national.medecin.fr/publications",
            ),
            service(
                "Cotisations",
                "https://www.conseil-national.medecin.fr/medecin/cotisation-ordinale",
            ),
            service(
                "Mes Gardes",
                "https://www.conseil-national.medecin.fr/medecin/exercice/permanence-soins",
            ),
        ],
        onboarding: Vec::new(),
        forbidden_email_domains: Vec::new(),
        terms_url: Some("/espaces/ordre/conditions".into()),
        privacy_url: Some("/espaces/ordre/confidentialite".into()),
        skippable_steps: Vec::new(),
        password_rules: PasswordRules::default(),
        psc_button: None,
    }
}

/// The ROR National (seed `ror-national-connexion-liberaux.txt`): liberal professionals of
/// eleven professions (ONB-01), a first login by Pro Santé Connect (ONB-02), then a
/// contact e-mail that is not MSSanté (ONB-03), the terms (ONB-04) and the validation of the
/// registry's data or an anomaly report (ONB-05); later logins by
/// Pro Santé Connect or by e-mail + a password created through "Mot de passe oublié ?".
pub fn ror() -> PortalConfig {
    PortalConfig {
        slug: "ror".into(),
        name: "ROR National".into(),
        client_id: None,
        accent: "#005a70".into(),
        login: vec![LoginMeans::Psc, LoginMeans::Local],
        accounts: AccountPolicy::AfterPsc,
        // Médecin, Masseur-kinésithérapeute, Chirurgien-dentiste, Sage-femme, Infirmier,
        // Pédicure-podologue, Orthophoniste, Psychomotricien, Diététicien, Ergothérapeute,
        // Orthoptiste (TRE_G15).
        professions: [
            "10", "70", "40", "50", "60", "80", "91", "96", "95", "94", "92",
        ]
        .iter()
        .map(|c| c.to_string())
        .collect(),
        exercise_modes: vec!["L".into()],
        services: vec![Service {
            label: "Mon offre de santé".into(),
            href: "https://www.sante.fr/".into(),
        }],
        onboarding: vec![
            OnboardingStep::ContactEmail,
            OnboardingStep::Terms,
            OnboardingStep::ConfirmRegistry,
        ],
        forbidden_email_domains: vec!["mssante.fr".into()],
        terms_url: Some("/espaces/ror/conditions".into()),
        privacy_url: Some("/espaces/ror/confidentialite".into()),
        skippable_steps: Vec::new(),
        password_rules: PasswordRules::default(),
        psc_button: Some("PROSANTECONNECT".into()),
    }
}

/// The Portail RPLUS SANTÉ (seed `rplus-sante-activation-portail.txt`): a first login with
/// the CPAM identifier and Résoflux password imported from the old system (ACC-08), then
/// the registration wizard (ACC-09: personal details checked against the registry, an
/// e-mail code, a password of the seed's four rules, the mobile verified or skipped, the
/// structure); or Pro Santé Connect, then the e-mail and the mobile, each verified or
/// skipped (ACC-10). Every profession.
pub fn rplus() -> PortalConfig {
    PortalConfig {
        slug: "rplus".into(),
        name: "Portail RPLUS SANTÉ".into(),
        client_id: None,
        accent: "#b4005a".into(),
        login: vec![LoginMeans::Psc, LoginMeans::Local],
        accounts: AccountPolicy::RegistrationForm,
        professions: Vec::new(),
        exercise_modes: Vec::new(),
        services: vec![
            Service {
                label: "Mes données d'activité".into(),
                href: "https://www.ameli.fr/".into(),
            },
            Service {
                label: "Mon espace client".into(),
                href: "https://www.ameli.fr/".into(),
            },
        ],
        onboarding: vec![
            OnboardingStep::VerifyEmail,
            OnboardingStep::VerifyPhone,
            OnboardingStep::StructureDetails,
        ],
        forbidden_email_domains: Vec::new(),
        terms_url: Some("/espaces/rplus/conditions".into()),
        privacy_url: Some("/espaces/rplus/confidentialite".into()),
        skippable_steps: vec![OnboardingStep::VerifyEmail, OnboardingStep::VerifyPhone],
        password_rules: PasswordRules::rplus(),
        psc_button: None,
    }
}

/// The demo configurations `serve --demo` loads, beside (never over) the file's: a portal of
/// the file with the same slug wins.
pub fn demo_portals() -> Vec<PortalConfig> {
    vec![demo(), ordre(), ror(), rplus()]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn onb_01_professions_and_modes_of_practice_let_in() {
        let mut p = ordre();
        assert!(p.admits_activity("10", "S") && p.admits_activity("10", "L"));
        assert!(!p.admits_activity("21", "L"));
        p.exercise_modes = vec!["L".into()];
        assert!(p.admits_activity("10", "L") && !p.admits_activity("10", "S"));
        p.professions.clear();
        assert!(p.admits_activity("21", "L"));
    }

    #[test]
    fn onb_03_forbidden_domains_and_their_subdomains() {
        let p = ror();
        assert!(p.forbids_email("dr.x@mssante.fr"));
        assert!(p.forbids_email("dr.x@medecin.MSSANTE.fr"));
        assert!(p.forbids_email("dr.x@ch-lille.mssante.fr."));
        assert!(!p.forbids_email("dr.x@notmssante.fr"));
        assert!(!p.forbids_email("dr.x@example.fr"));
    }

    #[test]
    fn the_demo_configurations_are_valid() {
        assert_eq!(validate_all(&demo_portals()), Ok(()));
    }

    #[test]
    fn a_portals_table_parses_with_defaults_and_unknown_keys_are_refused() {
        let p: PortalConfig = toml_like(
            r##"{"slug":"ror","name":"ROR","login":["psc","local"],"accounts":"registry-code"}"##,
        );
        assert_eq!(p.client_id(), "ror");
        assert_eq!(p.accent, "#000091");
        assert!(p.offers(LoginMeans::Local) && p.offers(LoginMeans::Psc));
        assert!(
            serde_json::from_str::<PortalConfig>(r#"{"slug":"x","name":"X","colour":"red"}"#)
                .is_err()
        );
    }

    fn toml_like(json: &str) -> PortalConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn bad_portals_are_refused_with_the_key_named() {
        let mut p = ordre();
        p.accent = "blue".into();
        assert!(p.validate().unwrap_err().contains("accent"));
        let mut p = ordre();
        p.slug = "Ordre".into();
        assert!(p.validate().unwrap_err().contains("slug"));
        let mut p = ordre();
        p.accounts = AccountPolicy::None;
        assert!(p.validate().unwrap_err().contains("local"));
        let mut p = ordre();
        p.services[0].href = "javascript:alert(1)".into();
        assert!(p.validate().unwrap_err().contains("https://"));
        let mut p = ordre();
        p.exercise_modes = vec!["X".into()];
        assert!(p.validate().unwrap_err().contains("TRE_R23"));
        let two = vec![ordre(), ordre()];
        assert!(validate_all(&two).unwrap_err().contains("slug"));
    }
}
