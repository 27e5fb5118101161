//! The RPPS registry: persons, professions and know-how, activities at structures, contact
//! coordinates, diplomas (REG-01 to REG-05), and the PS_LibreAcces extraction files
//! (REG-10): import, export and synthetic generation; the anomaly reports' queue (REG-09,
//! [`anomaly`]); the change requests reviewed by the agencies and applied after the
//! propagation delay (REG-06, [`requests`]).
//!
//! Owns the `reg_*` tables. Never renders a page; the one message it sends is a request's
//! decision, enqueued in the notify outbox in the decision's transaction. Portals and the
//! identity provider read it through [`queries`], the identity provider's userinfo through
//! [`claims_view`].

pub mod anomaly;
pub mod claims_view;
pub mod columns;
pub mod demo;
pub mod export;
pub mod format;
pub mod generate;
pub mod import;
pub mod queries;
pub mod registration;
pub mod requests;
pub mod schema;
pub mod search;

pub use schema::MIGRATIONS;

/// Every migration the registry needs, after the store's own.
pub fn migrations() -> Vec<caducee_store::Migration> {
    caducee_store::MIGRATIONS
        .iter()
        .chain(MIGRATIONS)
        .copied()
        .collect()
}
