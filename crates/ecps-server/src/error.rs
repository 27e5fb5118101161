//! The e-CPS server's one error type. Every message is French and tells the professional
//! what to do next (contact the ARS, reactivate, wait, retry).
//!
//! A message must never carry a code, a password, a password hash or a full e-mail address
//! or phone number.

use caducee_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EcpsError {
    #[error("identifiant invalide : {0}")]
    BadId(String),
    #[error("aucun professionnel {0} dans le répertoire")]
    UnknownProfessional(String),
    /// PSC-04: the registry lacks a usable e-mail or mobile.
    #[error("{0}")]
    MissingContact(String),
    #[error(
        "trop de demandes d'activation pour cet identifiant : réessayez {}",
        later(*.retry_after_secs)
    )]
    TooManyActivations { retry_after_secs: i64 },
    /// Issue 10, items 6 and 17: too many activation requests from one network source.
    #[error(
        "trop de demandes d'activation depuis votre adresse réseau : réessayez {}",
        later(*.retry_after_secs)
    )]
    TooManyFromSource { retry_after_secs: i64 },
    #[error("demande d'activation introuvable")]
    ActivationNotFound,
    #[error(
        "cette demande d'activation n'est plus valable : faites une nouvelle demande d'activation"
    )]
    ActivationClosed,
    #[error("les codes d'activation ont expiré : faites une nouvelle demande d'activation")]
    ActivationExpired,
    #[error("codes d'activation incorrects : il vous reste {remaining} essai(s)")]
    WrongCodes { remaining: u32 },
    #[error(
        "codes d'activation incorrects trop de fois : faites une nouvelle demande d'activation"
    )]
    ActivationExhausted,
    #[error(
        "nombre maximal de renvois de codes atteint : faites une nouvelle demande d'activation"
    )]
    TooManyResends,
    /// PSC-04 with the card: the token is wrong, or came without the verifier of the
    /// browser that went to the card host (another browser, a leaked link).
    #[error("cette activation par carte CPS n'est pas valable dans ce navigateur : recommencez l'activation avec votre carte depuis cette page")]
    CardTokenRefused,
    /// PSC-04 with the card: the card's proof was not used in time.
    #[error("la preuve de votre carte CPS a expiré : recommencez l'activation avec votre carte")]
    CardActivationExpired,
    /// PSC-04 with the card: the browser's challenge is not a S256 value (43 base64url).
    #[error("lien d'activation par carte invalide : recommencez depuis la page e-CPS")]
    BadCardChallenge,
    #[error("{0}")]
    BadPassword(String),
    #[error("clé publique de l'appareil invalide : une clé P-256 au format JWK est attendue")]
    BadPublicKey,
    #[error("aucune e-CPS active pour cet identifiant : activez votre e-CPS")]
    NoDevice,
    #[error("appareil e-CPS inconnu ou remplacé : réactivez votre e-CPS")]
    UnknownDevice,
    /// PSC-05: validity over.
    #[error("votre e-CPS a expiré : réactivez-la (nouvelle demande d'activation)")]
    DeviceExpired,
    #[error("votre e-CPS est verrouillée après trop de mots de passe erronés : réactivez-la (nouvelle demande d'activation)")]
    DeviceLocked,
    #[error("trop de demandes d'authentification en attente pour ce professionnel : validez ou laissez expirer les demandes en cours")]
    TooManyPending,
    #[error("trop de demandes d'authentification en peu de temps pour ce professionnel : réessayez dans quelques minutes")]
    TooManyRequests,
    #[error("code de liaison invalide : deux chiffres attendus")]
    BadBinding,
    #[error("demande d'authentification introuvable")]
    RequestNotFound,
    #[error("la demande d'authentification a expiré : recommencez la connexion")]
    RequestExpired,
    #[error("la demande d'authentification a déjà été traitée")]
    RequestClosed,
    /// A device-signed request was refused (bad signature, stale, replayed…).
    #[error("requête de l'appareil refusée : {0}")]
    BadDeviceProof(String),
    #[error("le calcul du mot de passe a échoué : {0}")]
    Hashing(String),
    #[error("valeur inattendue dans les tables e-CPS : {0}")]
    Corrupt(String),
    #[error("base de données : {0}")]
    Store(#[from] StoreError),
    #[error("notification : {0}")]
    Notify(#[from] caducee_notify::NotifyError),
}

impl From<sqlx::Error> for EcpsError {
    fn from(e: sqlx::Error) -> Self {
        EcpsError::Store(StoreError::Sql(e))
    }
}

/// "dans 45 minutes", "dans 18 heures": when to try again, rounded up.
fn later(secs: i64) -> String {
    let minutes = (secs.max(1) + 59) / 60;
    let (n, unit) = if minutes <= 90 {
        (minutes, "minute")
    } else {
        ((minutes + 59) / 60, "heure")
    };
    format!("dans {n} {unit}{}", if n > 1 { "s" } else { "" })
}

impl From<caducee_passwords::PasswordError> for EcpsError {
    fn from(e: caducee_passwords::PasswordError) -> Self {
        match e {
            caducee_passwords::PasswordError::Hashing(m) => EcpsError::Hashing(m),
            caducee_passwords::PasswordError::Corrupt(m) => EcpsError::Corrupt(m),
        }
    }
}

impl EcpsError {
    /// Seconds after which a refused caller may try again, for a rate limit's refusal.
    pub fn retry_after_secs(&self) -> Option<i64> {
        match self {
            EcpsError::TooManyActivations { retry_after_secs }
            | EcpsError::TooManyFromSource { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// True when the caller sent something wrong (HTTP 4xx), false for a server fault.
    pub fn is_client_error(&self) -> bool {
        !matches!(
            self,
            EcpsError::Hashing(_)
                | EcpsError::Corrupt(_)
                | EcpsError::Store(_)
                | EcpsError::Notify(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psc_04_retry_delays_read_in_french() {
        assert_eq!(later(0), "dans 1 minute");
        assert_eq!(later(61), "dans 2 minutes");
        assert_eq!(later(3_590), "dans 60 minutes");
        assert_eq!(later(5_500), "dans 2 heures");
        assert_eq!(later(64_000), "dans 18 heures");
        let e = EcpsError::TooManyFromSource {
            retry_after_secs: 600,
        };
        assert_eq!(
            e.to_string(),
            "trop de demandes d'activation depuis votre adresse réseau : réessayez dans 10 minutes"
        );
        assert_eq!(e.retry_after_secs(), Some(600));
    }
}
