//! Pure domain of caducee: national identifiers with their check digits, the ANS
//! nomenclatures (NOS tables), masking of contact coordinates, validation of contact
//! coordinates and an injectable clock.
//!
//! This crate must never do I/O (no files, network, database, environment or system clock
//! outside `clock::SystemClock`): every other crate depends on it, and keeping it pure keeps
//! it fast to test and safe to call from anywhere.

pub mod clock;
pub mod contact;
pub mod ids;
pub mod mask;
pub mod nomenclature;
