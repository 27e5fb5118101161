//! The tables of the portals (component "portals"): the login attempts in flight (state,
//! nonce, PKCE verifier) and the portal sessions.
//!
//! Portable SQL only (TEXT and BIGINT, times in Unix seconds from the injected clock).
//! Browser-held secrets (the cookies of a login attempt and of a session) are stored as
//! SHA-256 hashes: a copy of the database does not let anyone ride a session. The portals'
//! client secrets are derived from the instance secret, never stored (version 2 drops the
//! table version 1 kept them in).

use caducee_store::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        component: "portals",
        version: 1,
        name: "portal_client_login_session",
        // portal_login: one row per authorization request sent, keyed by its `state`, bound to
        // the browser that sent it (hash of the login cookie) so that a stolen callback URL cannot
        // be finished from another browser. One browser may have several (tabs).
        // portal_session: `sid` is the provider's session (ID token `sid`), what a back-channel
        // logout names; the claims are kept to show them, the ID token for `id_token_hint`.
        sql: "CREATE TABLE portal_client (
            portal TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            client_secret TEXT NOT NULL,
            created_at BIGINT NOT NULL
          );
          CREATE TABLE portal_login (
            state TEXT PRIMARY KEY,
            portal TEXT NOT NULL,
            browser_hash TEXT NOT NULL,
            nonce TEXT NOT NULL,
            pkce_verifier TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
          );
          CREATE INDEX portal_login_expiry ON portal_login (expires_at);
          CREATE TABLE portal_session (
            id_hash TEXT PRIMARY KEY,
            portal TEXT NOT NULL,
            sid TEXT,
            sub TEXT NOT NULL,
            idnat TEXT,
            id_token TEXT NOT NULL,
            id_token_claims TEXT NOT NULL,
            access_token_claims TEXT NOT NULL,
            userinfo TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            ended_at BIGINT
          );
          CREATE INDEX portal_session_sid ON portal_session (portal, sid);
          CREATE INDEX portal_session_sub ON portal_session (portal, sub);
          CREATE INDEX portal_session_expiry ON portal_session (expires_at);",
    },
    Migration {
        component: "portals",
        version: 2,
        name: "portal_client_secret_derived",
        sql: "DROP TABLE portal_client;",
    },
    Migration {
        component: "portals",
        version: 3,
        name: "portal_flow_code_link",
        // portal_flow: the self-service flows as rows (flows.rs); `data` is the JSON typed
        // so far, never a password or a code. portal_code: one-time codes (one_time.rs),
        // HMAC under the instance secret; one live per flow. portal_link: single-use links,
        // HMAC of the token.
        sql: "CREATE TABLE portal_flow (
            id TEXT PRIMARY KEY,
            portal TEXT NOT NULL,
            kind TEXT NOT NULL,
            step TEXT NOT NULL,
            browser_hash TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
          );
          CREATE INDEX portal_flow_expiry ON portal_flow (expires_at);
          CREATE TABLE portal_code (
            id TEXT PRIMARY KEY,
            portal TEXT NOT NULL,
            flow_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            idnat TEXT NOT NULL,
            code_hash TEXT NOT NULL,
            tries BIGINT NOT NULL,
            dead BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT
          );
          CREATE INDEX portal_code_flow ON portal_code (flow_id);
          CREATE INDEX portal_code_expiry ON portal_code (expires_at);
          CREATE TABLE portal_link (
            token_hash TEXT PRIMARY KEY,
            portal TEXT NOT NULL,
            account_id TEXT NOT NULL,
            purpose TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT
          );
          CREATE INDEX portal_link_expiry ON portal_link (expires_at);",
    },
    Migration {
        component: "portals",
        version: 4,
        name: "portal_account",
        // A local account (accounts.rs): one per professional and portal, its login e-mail
        // unique on the portal without case (`email_folded`); the password as argon2id PHC.
        sql: "CREATE TABLE portal_account (
            id TEXT PRIMARY KEY,
            portal TEXT NOT NULL,
            idnat TEXT NOT NULL,
            email TEXT NOT NULL,
            email_folded TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
          );
          CREATE UNIQUE INDEX portal_account_idnat ON portal_account (portal, idnat);
          CREATE UNIQUE INDEX portal_account_email ON portal_account (portal, email_folded);",
    },
    Migration {
        component: "portals",
        version: 5,
        name: "portal_local_session",
        // A session opened by a local login or a reset link (local/session.rs), the cookie's
        // secret as SHA-256. `reset_until`: a session opened by a reset link may set a new
        // password without the current one until then (ACC-06).
        sql: "CREATE TABLE portal_local_session (
            id_hash TEXT PRIMARY KEY,
            portal TEXT NOT NULL,
            account_id TEXT NOT NULL,
            how TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            ended_at BIGINT,
            reset_until BIGINT
          );
          CREATE INDEX portal_local_session_account ON portal_local_session (account_id);
          CREATE INDEX portal_local_session_expiry ON portal_local_session (expires_at);",
    },
    Migration {
        component: "portals",
        version: 6,
        name: "portal_legacy_account",
        // Accounts imported from an older system (legacy.rs): the identifier they logged in
        // with, their e-mail, the old hash (a recognised format only: `hash_kind`) until the
        // first login replaces it by an argon2id account (`account_id`, `migrated_at`).
        sql: "CREATE TABLE portal_legacy_account (
            portal TEXT NOT NULL,
            identifier TEXT NOT NULL,
            identifier_folded TEXT NOT NULL,
            email TEXT NOT NULL,
            hash_kind TEXT NOT NULL,
            legacy_hash TEXT,
            imported_at BIGINT NOT NULL,
            migrated_at BIGINT,
            account_id TEXT,
            PRIMARY KEY (portal, identifier_folded)
          );",
    },
    Migration {
        component: "portals",
        version: 7,
        name: "portal_terms",
        // Versions of a portal's terms (terms.rs): immutable once published (text and its
        // SHA-256), the latest by `published_at` is in force. Acceptances: who (a local
        // account or a Pro Santé Connect subject), which version, when (ONB-04).
        sql: "CREATE TABLE portal_terms (
            portal TEXT NOT NULL,
            version TEXT NOT NULL,
            body TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            published_at BIGINT NOT NULL,
            published_by TEXT NOT NULL,
            PRIMARY KEY (portal, version)
          );
          CREATE TABLE portal_terms_acceptance (
            portal TEXT NOT NULL,
            version TEXT NOT NULL,
            who TEXT NOT NULL,
            accepted_at BIGINT NOT NULL,
            PRIMARY KEY (portal, version, who)
          );",
    },
    Migration {
        component: "portals",
        version: 8,
        name: "portal_member",
        // What a portal knows of a professional beyond their account (local/onboarding.rs):
        // the contact e-mail asked after a first Pro Santé Connect login (ONB-03), once a
        // code sent to it came back.
        sql: "CREATE TABLE portal_member (
            portal TEXT NOT NULL,
            idnat TEXT NOT NULL,
            contact_email TEXT,
            contact_email_folded TEXT,
            contact_verified_at BIGINT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (portal, idnat)
          );
          CREATE INDEX portal_member_contact ON portal_member (portal, contact_email_folded);",
    },
    Migration {
        component: "portals",
        version: 9,
        name: "portal_member_registry_validation",
        // ONB-05: when the professional validated the registry's data on this portal, and a
        // digest of the data they saw: the step is asked again once the registry's data no
        // longer matches it (a newer extract, a corrected anomaly).
        sql: "ALTER TABLE portal_member ADD COLUMN registry_validated_at BIGINT;
          ALTER TABLE portal_member ADD COLUMN registry_validated_digest TEXT;",
    },
    Migration {
        component: "portals",
        version: 10,
        name: "portal_registration",
        // RPLUS (ACC-08..10). A registration started by a legacy login (local/registration):
        // the step reached and what was typed, kept until the account exists, so leaving
        // halfway resumes there on any node and after a restart. The member's mobile and
        // the steps they skipped ("IGNORER CETTE ÉTAPE"), and their structure (ACC-09). The
        // RPPS number an imported account is bound to, when the old system knew it.
        sql: "CREATE TABLE portal_registration (
            portal TEXT NOT NULL,
            identifier_folded TEXT NOT NULL,
            step TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (portal, identifier_folded)
          );
          ALTER TABLE portal_legacy_account ADD COLUMN rpps TEXT;
          ALTER TABLE portal_member ADD COLUMN mobile TEXT;
          ALTER TABLE portal_member ADD COLUMN mobile_verified_at BIGINT;
          ALTER TABLE portal_member ADD COLUMN email_skipped_at BIGINT;
          ALTER TABLE portal_member ADD COLUMN mobile_skipped_at BIGINT;
          CREATE TABLE portal_structure (
            portal TEXT NOT NULL,
            idnat TEXT NOT NULL,
            data TEXT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (portal, idnat)
          );",
    },
    Migration {
        component: "portals",
        version: 11,
        name: "ars_agent_session_evidence",
        // The agencies' back office (ars/, REG-11). ars_agent: an agent, their e-mail unique
        // without case, their départements (comma-separated codes), the argon2id PHC of
        // their password, their TOTP secret sealed with the instance secret (`totp_sealed`
        // once confirmed by a first code, `totp_pending` while enrolling) and the last TOTP
        // time step used (a code is good once). ars_session: the cookie's secret as SHA-256;
        // `stage` is `enrol` (an enrolment link was used), `password` (the password was
        // right, the code is awaited) or `full`; idle timeout by `last_seen_at`.
        // ars_evidence: the document an agent saw before setting a professional's contact
        // coordinates on their behalf (type checked by content, size-limited), base64.
        sql: "CREATE TABLE ars_agent (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL,
            email_folded TEXT NOT NULL,
            name TEXT NOT NULL,
            departments TEXT NOT NULL,
            password_hash TEXT,
            totp_sealed TEXT,
            totp_pending TEXT,
            totp_last_step BIGINT,
            state TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
          );
          CREATE UNIQUE INDEX ars_agent_email ON ars_agent (email_folded);
          CREATE TABLE ars_session (
            id_hash TEXT PRIMARY KEY,
            agent_id TEXT NOT NULL,
            stage TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            last_seen_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            ended_at BIGINT
          );
          CREATE INDEX ars_session_agent ON ars_session (agent_id);
          CREATE INDEX ars_session_expiry ON ars_session (expires_at);
          CREATE TABLE ars_evidence (
            id TEXT PRIMARY KEY,
            idnat TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            content_type TEXT NOT NULL,
            file_name TEXT NOT NULL,
            size BIGINT NOT NULL,
            sha256 TEXT NOT NULL,
            content TEXT NOT NULL,
            created_at BIGINT NOT NULL
          );
          CREATE INDEX ars_evidence_idnat ON ars_evidence (idnat);",
    },
    ERPPS_CONTACT_CHECK,
];

/// eRPPS (ERPPS-02): at the first login the professional checks their contact
/// coordinates (the CPS card is mailed to the correspondence address); the row records that
/// they did (`how`: `confirmed`, or `change_requested` when they filed a contact request),
/// so the check is not asked again.
const ERPPS_CONTACT_CHECK: Migration = Migration {
    component: "portals",
    version: 12,
    name: "erpps_contact_check",
    sql: "CREATE TABLE erpps_contact_check (
        idnat TEXT PRIMARY KEY,
        how TEXT NOT NULL,
        checked_at BIGINT NOT NULL
      );",
};

/// Every migration the portals need, with the audit trail they write to, in order.
pub fn migrations() -> Vec<Migration> {
    caducee_store::MIGRATIONS
        .iter()
        .chain(MIGRATIONS)
        .copied()
        .collect()
}
