//! The tables of the identity provider. Two components, one per half of the crate, so each
//! half evolves its own migrations: "idp" (protocol side, here) and "idp_browser" (browser
//! side, [`crate::browser::MIGRATIONS`]).
//!
//! Portable SQL only (TEXT and BIGINT, times in Unix seconds from the injected clock). No
//! secret is stored in clear: client secrets, codes, refresh tokens and CIBA request ids as
//! SHA-256 (they are random and high-entropy, see `crate::secret_hash`), private keys
//! sealed with AES-256-GCM under a key derived from the instance secret.

use caducee_store::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        component: "idp",
        version: 1,
        name: "idp_clients_keys_codes_tokens_ciba",
        // idp_client: list-valued columns hold JSON arrays of strings.
        // idp_key: `generation` numbers the keys of one algorithm; the unique index makes two
        //   nodes that rotate at once create one successor, not two.
        // idp_code / idp_refresh: `family_id` ties every refresh token descending from one
        //   authorization (code redemption, CIBA) so that a reuse revokes them all; the access
        //   token issued with each is remembered (`access_jti`) so it can be revoked too.
        // idp_revoked_jti: access tokens revoked before their expiry (kept until then).
        // idp_assertion_jti: private_key_jwt assertions already used (replay refusal).
        // idp_ciba: CIBA requests (poll mode) and the e-CPS request behind each.
        sql: "CREATE TABLE idp_client (
            client_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            secret_hash TEXT,
            jwks TEXT,
            jwks_uri TEXT,
            redirect_uris TEXT NOT NULL,
            post_logout_redirect_uris TEXT NOT NULL,
            grants TEXT NOT NULL,
            backchannel_logout_uri TEXT,
            userinfo_signed BIGINT NOT NULL,
            id_token_alg TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
          );
          CREATE TABLE idp_key (
            kid TEXT PRIMARY KEY,
            alg TEXT NOT NULL,
            generation BIGINT NOT NULL,
            sealed_private TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            active_from BIGINT NOT NULL
          );
          CREATE UNIQUE INDEX idp_key_alg_generation ON idp_key (alg, generation);
          CREATE TABLE idp_code (
            code_hash TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            redirect_uri TEXT NOT NULL,
            scope TEXT NOT NULL,
            nonce TEXT,
            code_challenge TEXT,
            idnat TEXT NOT NULL,
            auth_time BIGINT NOT NULL,
            acr TEXT NOT NULL,
            amr TEXT NOT NULL,
            auth_mode TEXT NOT NULL,
            session_id TEXT,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT,
            family_id TEXT,
            access_jti TEXT,
            access_exp BIGINT
          );
          CREATE INDEX idp_code_expiry ON idp_code (expires_at);
          CREATE INDEX idp_code_session ON idp_code (session_id);
          CREATE TABLE idp_refresh (
            token_hash TEXT PRIMARY KEY,
            family_id TEXT NOT NULL,
            client_id TEXT NOT NULL,
            idnat TEXT NOT NULL,
            scope TEXT NOT NULL,
            nonce TEXT,
            auth_time BIGINT NOT NULL,
            acr TEXT NOT NULL,
            amr TEXT NOT NULL,
            auth_mode TEXT NOT NULL,
            session_id TEXT,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            family_expires_at BIGINT NOT NULL,
            rotated_at BIGINT,
            revoked_at BIGINT,
            access_jti TEXT,
            access_exp BIGINT
          );
          CREATE INDEX idp_refresh_family ON idp_refresh (family_id);
          CREATE INDEX idp_refresh_session ON idp_refresh (session_id);
          CREATE INDEX idp_refresh_expiry ON idp_refresh (family_expires_at);
          CREATE TABLE idp_revoked_jti (
            jti TEXT PRIMARY KEY,
            expires_at BIGINT NOT NULL,
            revoked_at BIGINT NOT NULL
          );
          CREATE INDEX idp_revoked_jti_expiry ON idp_revoked_jti (expires_at);
          CREATE TABLE idp_assertion_jti (
            client_id TEXT NOT NULL,
            jti TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            PRIMARY KEY (client_id, jti)
          );
          CREATE INDEX idp_assertion_jti_expiry ON idp_assertion_jti (expires_at);
          CREATE TABLE idp_ciba (
            id_hash TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            ecps_request_id TEXT NOT NULL,
            idnat TEXT NOT NULL,
            scope TEXT NOT NULL,
            acr TEXT NOT NULL,
            status TEXT NOT NULL,
            poll_interval BIGINT NOT NULL,
            last_polled_at BIGINT,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
          );
          CREATE INDEX idp_ciba_expiry ON idp_ciba (expires_at);",
    },
    Migration {
        component: "idp",
        version: 2,
        name: "idp_logout_delivery",
        // One row per back-channel logout to deliver, kept across restarts. No token is
        // stored: each attempt signs a fresh one (iat, exp, jti) from these columns.
        // `claimed_until` lets one node at a time attempt a row.
        sql: "CREATE TABLE idp_logout_delivery (
            id TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            idnat TEXT NOT NULL,
            session_id TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            attempts BIGINT NOT NULL,
            next_attempt_at BIGINT NOT NULL,
            claimed_until BIGINT,
            delivered_at BIGINT,
            failed_at BIGINT,
            last_error TEXT
          );
          CREATE INDEX idp_logout_delivery_due ON idp_logout_delivery (next_attempt_at);
          CREATE INDEX idp_logout_delivery_created ON idp_logout_delivery (created_at);",
    },
];

/// Every migration the identity provider needs, with those of the components it reads
/// (registry, outbox, e-CPS), in order.
pub fn migrations() -> Vec<caducee_store::Migration> {
    caducee_ecps_server::migrations()
        .into_iter()
        .chain(MIGRATIONS.iter().copied())
        .chain(crate::browser::MIGRATIONS.iter().copied())
        .chain(crate::webauthn::MIGRATIONS.iter().copied())
        .chain(crate::card::MIGRATIONS.iter().copied())
        .chain(crate::delegation::MIGRATIONS.iter().copied())
        .collect()
}
