//! The one error type of the authenticator, with French messages for the user.

/// What can go wrong on the device side.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticatorError {
    #[error("mot de passe e-CPS incorrect : la clé de l'appareil ne peut pas être ouverte (rien n'a été envoyé au serveur)")]
    WrongPassword,
    #[error("aucune e-CPS activée dans {0} : lancez `caducee ecps activate start` puis `caducee ecps activate finish`")]
    NotActivated(String),
    #[error("aucune activation en cours dans {0} : lancez d'abord `caducee ecps activate start --server URL --id ID`")]
    NoPendingActivation(String),
    #[error("état de l'appareil illisible ({0}) : réactivez votre e-CPS")]
    Corrupt(String),
    #[error("accès au répertoire de l'appareil impossible : {0}")]
    Io(#[from] std::io::Error),
    #[error("serveur e-CPS injoignable : {0}")]
    Http(#[from] reqwest::Error),
    /// An error answer of the device API: its stable code and its French message.
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("erreur cryptographique : {0}")]
    Crypto(String),
}
