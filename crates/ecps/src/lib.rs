//! The e-CPS authenticator (PSC-03, PSC-04): the device side of the e-CPS protocol
//! (DESIGN.md "e-CPS protocol"). [`store`] keeps the device state under a directory, its
//! P-256 private key encrypted with a key derived from the e-CPS password; [`client`] talks
//! to the device API, signing every device call with a DPoP-like ES256 proof.
//!
//! Must never write the private key or the password in clear, never log them, and never
//! send anything when the password does not open the key.

pub mod client;
mod error;
pub mod store;

pub use client::{
    ActivationStarted, AnswerOutcome, DeviceClient, DeviceCreated, DeviceStatus, EcpsClient,
    RequestItem,
};
pub use error::AuthenticatorError;
pub use store::{DeviceState, DeviceStore, EncryptedKey, PendingActivation};
