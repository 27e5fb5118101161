//! Attestations of RPPS registration (REG-08): a PDF stating that a professional is
//! registered, signed by the instance so that it can be checked offline, with a short code
//! and a QR code for the public check at `/verifier/{code}`.
//!
//! A crate of its own because rendering a document is not the registry's job (the registry
//! holds data and never renders a page) and the PDF and font machinery (krilla, lopdf, an
//! embedded font) should weigh only on what issues or reads attestations. It reads the
//! registry through `caducee_registry::queries` only.
//!
//! - [`issue`](Attestations::issue): the professional's current registry data → the signed
//!   content ([`content::Attested`], a JWS, [`keys`]) → the PDF ([`pdf::render`]); the row
//!   `att_attestation` and the audit event written in one transaction.
//! - [`check`]: one verification for the page and the CLI: the signature against the keys,
//!   then (when the database is there) whether the registration is still current.
//! - [`page`]: `/verifier` (a form), `/verifier/{code}`, `/verifier/cles` (JWKS).
//!
//! Owns one table, `att_attestation` ([`MIGRATIONS`], component `attestation`).

pub mod code;
pub mod content;
mod download;
pub mod keys;
pub mod page;
pub mod pdf;

pub use caducee_pages::Locale;
pub use content::Attested;
pub use keys::{Forgery, Jwks, Signer};
pub use page::router;

use caducee_core::clock::SharedClock;
use caducee_core::ids::IdNatPs;
use caducee_registry::queries::{self, RegistryError};
use caducee_store::audit::{self, AuditEvent};
use caducee_store::{Migration, Store, StoreError};
use sqlx::Row;
use std::sync::Arc;

/// `att_attestation`: one row per attestation issued. The code is the document's public
/// reference (see [`code`]), the primary key; the JWS is what the PDF carries, kept so that
/// the verification page shows the attested content and checks it with the same function
/// as the CLI. The idNat index serves a professional's history and the audit.
pub const MIGRATIONS: &[Migration] = &[Migration {
    component: "attestation",
    version: 1,
    name: "attestation",
    sql: "CREATE TABLE att_attestation (
            code TEXT PRIMARY KEY,
            idnat TEXT NOT NULL,
            issued_at BIGINT NOT NULL,
            kid TEXT NOT NULL,
            jws TEXT NOT NULL
          );
          CREATE INDEX att_attestation_idnat ON att_attestation (idnat, issued_at);",
}];

#[derive(Debug, thiserror::Error)]
pub enum AttestationError {
    #[error("aucun professionnel {0} dans le répertoire")]
    UnknownProfessional(String),
    #[error("{0}")]
    NotAnAttestation(String),
    #[error("configuration : {0}")]
    Config(String),
    #[error("cryptographie : {0}")]
    Crypto(String),
    #[error("PDF : {0}")]
    Pdf(String),
    #[error("registre : {0}")]
    Registry(#[from] RegistryError),
    #[error("base de données : {0}")]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AttestationError {
    fn from(e: sqlx::Error) -> Self {
        AttestationError::Store(StoreError::Sql(e))
    }
}

/// An attestation just issued.
pub struct Issued {
    pub pdf: Vec<u8>,
    pub code: String,
    pub attested: Attested,
}

impl Issued {
    /// `attestation-rpps-<number>.pdf`.
    pub fn file_name(&self) -> String {
        let kind = if self.attested.is_rpps() {
            "rpps"
        } else {
            "adeli"
        };
        format!("attestation-{kind}-{}.pdf", self.attested.identifier)
    }
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The content when the signature is genuine.
    pub attested: Option<Attested>,
    /// Why it is not, otherwise.
    pub forgery: Option<Forgery>,
    /// Whether the registration is current today: None when not genuine or without the
    /// database.
    pub current: Option<bool>,
}

impl Verdict {
    pub fn genuine(&self) -> bool {
        self.attested.is_some()
    }
}

/// The one check of an attestation, for the page and the CLI: `jws` signed by one of
/// `keys`, then, with a `store`, whether the professional is still registered with an
/// activity in progress.
pub async fn check(
    jws: &str,
    keys: &Jwks,
    store: Option<&Store>,
) -> Result<Verdict, AttestationError> {
    let payload = match keys::verify(jws, keys) {
        Ok(p) => p,
        Err(forgery) => {
            return Ok(Verdict {
                attested: None,
                forgery: Some(forgery),
                current: None,
            })
        }
    };
    let Ok(attested) = serde_json::from_slice::<Attested>(&payload) else {
        return Ok(Verdict {
            attested: None,
            forgery: Some(Forgery::Malformed),
            current: None,
        });
    };
    let current = match store {
        Some(store) => Some(is_current(store, &attested.id_nat).await?),
        None => None,
    };
    Ok(Verdict {
        attested: Some(attested),
        forgery: None,
        current,
    })
}

/// Whether `idnat` is in the registry today with at least one activity in progress.
pub async fn is_current(store: &Store, idnat: &str) -> Result<bool, AttestationError> {
    let Ok(id) = IdNatPs::parse(idnat) else {
        return Ok(false);
    };
    Ok(queries::get_professional(store, &id)
        .await?
        .is_some_and(|p| p.activities.iter().any(|a| a.active)))
}

/// Issuing and looking up the attestations of one instance. Cheap to clone.
#[derive(Clone)]
pub struct Attestations {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: SharedClock,
    public_url: String,
    signer: Signer,
    /// The portals, whose eRPPS session names the professional of `/erpps/attestation`.
    portals: Option<caducee_portals::Portals>,
}

impl Attestations {
    /// The attestations of the instance whose secret is `instance_secret`, verified at
    /// `{public_url}/verifier/{code}`.
    pub fn new(
        store: Store,
        clock: SharedClock,
        public_url: &str,
        instance_secret: &[u8],
    ) -> Result<Attestations, AttestationError> {
        Ok(Attestations {
            inner: Arc::new(Inner {
                store,
                clock,
                public_url: public_url.trim_end_matches('/').to_string(),
                signer: Signer::from_instance_secret(instance_secret)?,
                portals: None,
            }),
        })
    }

    /// The same attestations with the eRPPS download (`GET /erpps/attestation`) for the
    /// professionals logged in to `portals`' eRPPS.
    pub fn with_portals(self, portals: caducee_portals::Portals) -> Attestations {
        let i = &self.inner;
        Attestations {
            inner: Arc::new(Inner {
                store: i.store.clone(),
                clock: i.clock.clone(),
                public_url: i.public_url.clone(),
                signer: i.signer.clone(),
                portals: Some(portals),
            }),
        }
    }

    pub(crate) fn portals(&self) -> Option<&caducee_portals::Portals> {
        self.inner.portals.as_ref()
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// The public keys (`/verifier/cles`).
    pub fn jwks(&self) -> Jwks {
        self.inner.signer.jwks()
    }

    /// `{public_url}/verifier/{code}`.
    pub fn verify_url(&self, code: &str) -> String {
        format!("{}/verifier/{code}", self.inner.public_url)
    }

    /// Issues an attestation of `idnat`'s registration as the registry has it now, the PDF
    /// in `locale`. `actor` is who asked (`ps:<idnat>` for the professional themself), for
    /// the audit trail.
    pub async fn issue(
        &self,
        idnat: &str,
        actor: &str,
        locale: Locale,
    ) -> Result<Issued, AttestationError> {
        let id = IdNatPs::parse(idnat)
            .map_err(|_| AttestationError::UnknownProfessional(idnat.to_string()))?;
        let professional = queries::get_professional(&self.inner.store, &id)
            .await?
            .ok_or_else(|| AttestationError::UnknownProfessional(idnat.to_string()))?;
        let now = self.inner.clock.unix();
        let code = code::generate();
        let attested = Attested::of(&professional, &self.inner.public_url, &code, now);
        let payload = serde_json::to_vec(&attested)
            .map_err(|e| AttestationError::Crypto(format!("contenu : {e}")))?;
        let jws = self.inner.signer.sign(&payload)?;
        let pdf = pdf::render(&attested, &jws, &self.verify_url(&code), locale)?;
        let mut tx = self.inner.store.begin().await?;
        sqlx::query(
            "INSERT INTO att_attestation (code, idnat, issued_at, kid, jws) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&code)
        .bind(id.as_str())
        .bind(now)
        .bind(self.inner.signer.kid())
        .bind(&jws)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor,
                action: "attestation.issued",
                subject: Some(id.as_str()),
                details: serde_json::json!({ "code": code, "kid": self.inner.signer.kid() }),
                request_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Issued {
            pdf,
            code,
            attested,
        })
    }

    /// The verdict on the attestation of code `code` (as typed: normalised here), None when
    /// this instance never issued it.
    pub async fn lookup(&self, code: &str) -> Result<Option<Verdict>, AttestationError> {
        let Some(code) = code::normalise(code) else {
            return Ok(None);
        };
        let Some(row) = sqlx::query("SELECT jws FROM att_attestation WHERE code = $1")
            .bind(&code)
            .fetch_optional(self.inner.store.pool())
            .await?
        else {
            return Ok(None);
        };
        let jws: String = row.try_get(0)?;
        check(&jws, &self.jwks(), Some(&self.inner.store))
            .await
            .map(Some)
    }
}
