//! The tables of the e-CPS server (component "ecps"): activations, devices, device-proof
//! identifiers (replay refusal) and authentication requests.
//!
//! Portable SQL only (TEXT and BIGINT, times in Unix seconds from the injected clock). Codes
//! and passwords are never stored in clear: activation codes as salted SHA-256, passwords as
//! argon2id PHC strings. The 2-digit login code is not a secret (the login page shows it).

use caducee_store::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        component: "ecps",
        version: 1,
        name: "ecps_activation_device_jti_request",
        sql: "CREATE TABLE ecps_activation (
            id TEXT PRIMARY KEY,
            idnat TEXT NOT NULL,
            email_code_hash TEXT NOT NULL,
            sms_code_hash TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            tries BIGINT NOT NULL,
            resends BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            status TEXT NOT NULL
          );
          CREATE INDEX ecps_activation_idnat ON ecps_activation (idnat, created_at);
          CREATE TABLE ecps_device (
            id TEXT PRIMARY KEY,
            idnat TEXT NOT NULL,
            public_jwk TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            failed_attempts BIGINT NOT NULL,
            locked BIGINT NOT NULL,
            activated_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            status TEXT NOT NULL
          );
          CREATE UNIQUE INDEX ecps_device_one_active ON ecps_device (idnat) WHERE status = 'active';
          CREATE INDEX ecps_device_expiry ON ecps_device (status, expires_at);
          CREATE TABLE ecps_jti (
            jti TEXT PRIMARY KEY,
            device_id TEXT NOT NULL,
            expires_at BIGINT NOT NULL
          );
          CREATE INDEX ecps_jti_expiry ON ecps_jti (expires_at);
          CREATE TABLE ecps_request (
            id TEXT PRIMARY KEY,
            idnat TEXT NOT NULL,
            service TEXT NOT NULL,
            binding TEXT,
            code TEXT NOT NULL,
            choices TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            decided_at BIGINT
          );
          CREATE INDEX ecps_request_pending ON ecps_request (idnat, status, expires_at);
          CREATE INDEX ecps_request_created ON ecps_request (idnat, created_at);",
    },
    // PSC-05: when each expiry reminder was sent (NULL: not yet), so that it is sent once.
    Migration {
        component: "ecps",
        version: 2,
        name: "ecps_device_expiry_reminders",
        sql: "ALTER TABLE ecps_device ADD COLUMN reminded_30d_at BIGINT;
              ALTER TABLE ecps_device ADD COLUMN reminded_7d_at BIGINT;",
    },
    // The long-poll's poller reads the pending requests of every professional at once:
    // without this index that is a scan of every request ever made, four times a second.
    Migration {
        component: "ecps",
        version: 3,
        name: "ecps_request_open_index",
        sql: "CREATE INDEX ecps_request_open ON ecps_request (status, expires_at);",
    },
    // PSC-04 with the CPS card: an activation proven by the card host instead of the two
    // codes. `method` codes | card; for a card row the code hashes are empty, and
    // `card_token_hash` is the salted SHA-256 of the single-use token handed to the browser,
    // `card_binding` the S256 challenge of the verifier the browser that started it keeps
    // (a token seen without that verifier is refused), `card_serial` the card that proved it.
    Migration {
        component: "ecps",
        version: 4,
        name: "ecps_activation_by_card",
        sql: "ALTER TABLE ecps_activation ADD COLUMN method TEXT NOT NULL DEFAULT 'codes';
              ALTER TABLE ecps_activation ADD COLUMN card_token_hash TEXT;
              ALTER TABLE ecps_activation ADD COLUMN card_binding TEXT;
              ALTER TABLE ecps_activation ADD COLUMN card_serial TEXT;",
    },
];

/// Every migration the e-CPS server needs, with the tables it reads or writes through other
/// components (audit trail, registry, outbox), in order.
pub fn migrations() -> Vec<Migration> {
    caducee_registry::migrations()
        .into_iter()
        .chain(caducee_notify::MIGRATIONS.iter().copied())
        .chain(MIGRATIONS.iter().copied())
        .collect()
}
