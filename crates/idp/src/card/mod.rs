//! The CPS card (PSC-06, PSC-04 with the card): a test certificate authority issuing
//! CPS-like card certificates (pki.rs, driven by `caducee pki …`), the TLS listener that
//! requires a client certificate (listener.rs), the card login on it (login.rs) that ends
//! the idp's login flow on the main origin, the e-CPS activation with the card on it
//! (ecps.rs, PSC-04), and "Ma CPS" on the account page (account.rs).
//!
//! State is in the database (component `idp_card`): the authority's certificate, every
//! card issued (serial, holder, validity, state), the declarations of loss or theft and the
//! replacements ordered. A revocation is a row: every node refuses the card at its next
//! login, without reloading anything.

pub mod account;
mod ecps;
pub mod listener;
pub mod login;
pub mod pki;

use caducee_store::Migration;

pub use listener::{CardListener, CardListenerConfig};
pub use pki::{Authority, CardInfo, CardState, IssuedCard};

/// `amr` of a card login (RFC 8176: smart card, proof of possession of a key, multi-factor).
pub const CARD_AMR: &[&str] = &["sc", "pki", "mfa"];
/// `authMode` of a card login (reference/psc.md).
pub const CARD_AUTH_MODE: &str = "CARD";

pub const MIGRATIONS: &[Migration] = &[Migration {
    component: "idp_card",
    version: 1,
    name: "idp_card_authority_cards_orders",
    // idp_card_authority: the one test authority (`pki init`): its certificate; its key
    //   stays in a file (`key_path`, 0600), never in the database.
    // idp_card: every card certificate issued; `serial` in lower-case hex; `state` active |
    //   revoked; `reason` of a revocation: lost | stolen | not_received | operator.
    // idp_card_order: a replacement ordered after a declaration, mailed to the registry's
    //   correspondence address (`address` as shown then); `new_serial` once issued.
    // idp_card_login: a card login proven on the card host, waiting for the browser to come
    //   back to the main origin and finish its flow (single use, short-lived).
    sql: "CREATE TABLE idp_card_authority (
        id TEXT PRIMARY KEY,
        cert_pem TEXT NOT NULL,
        key_path TEXT NOT NULL,
        crl_number BIGINT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE idp_card (
        serial TEXT PRIMARY KEY,
        idnat TEXT NOT NULL,
        not_before BIGINT NOT NULL,
        not_after BIGINT NOT NULL,
        issued_at BIGINT NOT NULL,
        state TEXT NOT NULL,
        revoked_at BIGINT,
        reason TEXT
      );
      CREATE INDEX idp_card_idnat ON idp_card (idnat);
      CREATE TABLE idp_card_order (
        id TEXT PRIMARY KEY,
        idnat TEXT NOT NULL,
        old_serial TEXT NOT NULL,
        reason TEXT NOT NULL,
        address TEXT NOT NULL,
        ordered_at BIGINT NOT NULL,
        new_serial TEXT
      );
      CREATE INDEX idp_card_order_idnat ON idp_card_order (idnat);
      CREATE TABLE idp_card_login (
        id_hash TEXT PRIMARY KEY,
        flow_id TEXT NOT NULL,
        idnat TEXT NOT NULL,
        serial TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );",
}];

/// What can go wrong with the authority or a card.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("base de données : {0}")]
    Store(#[from] sqlx::Error),
    #[error("base de données : {0}")]
    StoreError(#[from] caducee_store::StoreError),
    #[error("certificat : {0}")]
    Cert(String),
    #[error("{0}")]
    Io(String),
    /// No authority: `caducee pki init --out DIR` first.
    #[error("aucune autorité de certification : lancez d'abord « caducee pki init --out DIR »")]
    NoAuthority,
    #[error("professionnel inconnu du RPPS : {0}")]
    UnknownPerson(String),
    #[error("aucune carte ne correspond à {0}")]
    UnknownCard(String),
}

impl From<rcgen::Error> for CardError {
    fn from(e: rcgen::Error) -> Self {
        CardError::Cert(e.to_string())
    }
}

impl From<CardError> for crate::IdpError {
    fn from(e: CardError) -> Self {
        match e {
            CardError::Store(e) => crate::IdpError::Store(e),
            CardError::StoreError(e) => crate::IdpError::StoreError(e),
            other => crate::IdpError::Internal(other.to_string()),
        }
    }
}

/// Password of the replacement cards `serve --demo` issues at once from "Ma CPS".
pub const DEMO_CARD_PASSWORD: &str = "demo-cps";

/// The card routes of the main origin: the end of a card login and "Ma CPS".
pub fn routes() -> axum::Router<crate::Idp> {
    login::routes().merge(account::routes())
}
