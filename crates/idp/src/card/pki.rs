//! A test certificate authority issuing CPS-like card certificates (rcgen): the subject CN
//! is the holder's idNat, as on the IGC-Santé "AC … PERSONNES" cards; the card is handed
//! over as a PKCS#12 file (p12-keystore: PBES2, AES-256-CBC, HMAC-SHA-256) that browsers
//! import. The authority's certificate is `DIR/ca.pem`, its key `DIR/ca-key.pem` (0600);
//! the database holds the certificate, where the key is, and every card issued with its
//! state, so that a revocation is seen by every node at once.

use super::CardError;
use caducee_core::ids::IdNatPs;
use caducee_store::audit::{self, AuditEvent};
use caducee_store::Store;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevocationReason, RevokedCertParams, SerialNumber,
};
use sqlx::Row;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Validity of a card: 3 years, like the CPS.
pub const CARD_VALIDITY_SECS: i64 = 3 * 365 * 86_400;
/// Name of the authority (its subject CN), after the IGC-Santé's.
pub const AUTHORITY_NAME: &str = "AC TEST CADUCEE PERSONNES";

/// A card's state as the login reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardState {
    Active,
    Revoked,
}

impl CardState {
    fn parse(s: &str) -> CardState {
        if s == "active" {
            CardState::Active
        } else {
            CardState::Revoked
        }
    }
}

/// One card issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardInfo {
    pub serial: String,
    pub idnat: String,
    pub not_before: i64,
    pub not_after: i64,
    pub issued_at: i64,
    pub state: CardState,
    pub revoked_at: Option<i64>,
    /// lost | stolen | not_received | operator
    pub reason: Option<String>,
}

/// What `issue_card` produced.
pub struct IssuedCard {
    pub serial: String,
    pub idnat: String,
    pub not_after: i64,
    /// The PKCS#12 file (key, card certificate, authority certificate).
    pub p12: Vec<u8>,
    /// The card certificate, PEM (tests, `--pem`).
    pub cert_pem: String,
    /// Its private key, PKCS#8 PEM.
    pub key_pem: String,
}

/// The authority, able to sign (its key was readable).
pub struct Authority {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn io(path: &Path, e: std::io::Error) -> CardError {
    CardError::Io(format!("{} : {e}", path.display()))
}

/// `caducee pki init --out DIR`: a new authority, `DIR/ca.pem` and `DIR/ca-key.pem` (0600),
/// recorded in the database (it replaces the previous one there). Refuses to overwrite an
/// existing `DIR/ca-key.pem`.
pub async fn init(store: &Store, now: i64, dir: &Path, actor: &str) -> Result<PathBuf, CardError> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let key_path = dir.join("ca-key.pem");
    let cert_path = dir.join("ca.pem");
    if key_path.exists() {
        return Err(CardError::Io(format!(
            "{} existe déjà : choisissez un autre dossier ou supprimez-le",
            key_path.display()
        )));
    }
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "FR");
    dn.push(DnType::OrganizationName, "CADUCEE TEST");
    dn.push(DnType::CommonName, AUTHORITY_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = unix(now - 3600)?;
    params.not_after = unix(now + 20 * 365 * 86_400)?;
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    let cert = params.self_signed(&key)?;
    let cert_pem = cert.pem();
    write_private(&key_path, key.serialize_pem().as_bytes())?;
    std::fs::write(&cert_path, cert_pem.as_bytes()).map_err(|e| io(&cert_path, e))?;
    let key_path_abs = std::fs::canonicalize(&key_path).unwrap_or(key_path.clone());
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO idp_card_authority (id, cert_pem, key_path, crl_number, created_at)
         VALUES ('main', $1, $2, 1, $3)
         ON CONFLICT (id) DO UPDATE SET cert_pem = $1, key_path = $2, created_at = $3",
    )
    .bind(&cert_pem)
    .bind(key_path_abs.to_string_lossy().to_string())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor,
            action: "idp.card.authority.created",
            subject: None,
            details: serde_json::json!({ "certificate": cert_path.display().to_string() }),
            request_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(cert_path)
}

/// A file only its owner reads (the authority's and the demo cards' keys).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CardError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(|e| io(path, e))?;
    f.write_all(bytes).map_err(|e| io(path, e))
}

fn unix(secs: i64) -> Result<OffsetDateTime, CardError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| CardError::Cert(e.to_string()))
}

/// 16 random bytes, a positive DER integer without a leading zero (so the serial read back
/// from the certificate is these very bytes).
fn random_serial() -> [u8; 16] {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[0] = (b[0] & 0x7f) | 0x40;
    b
}

/// The authority's certificate of the database, if `pki init` ran.
pub async fn authority_cert(store: &Store) -> Result<Option<(String, String)>, CardError> {
    let row = sqlx::query("SELECT cert_pem, key_path FROM idp_card_authority WHERE id = 'main'")
        .fetch_optional(store.pool())
        .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("cert_pem")?, r.try_get("key_path")?)),
        None => None,
    })
}

impl Authority {
    /// The authority that signs: its certificate from `ca_file` (`card_ca_file`) or the
    /// database, its key beside `ca_file` (`ca-key.pem`) or where `pki init` recorded it.
    pub async fn load(store: &Store, ca_file: Option<&Path>) -> Result<Authority, CardError> {
        let recorded = authority_cert(store).await?;
        let (cert_pem, key_path) = match (ca_file, recorded) {
            (Some(f), _) => (
                std::fs::read_to_string(f).map_err(|e| io(f, e))?,
                f.with_file_name("ca-key.pem"),
            ),
            (None, Some((pem, key))) => (pem, PathBuf::from(key)),
            (None, None) => return Err(CardError::NoAuthority),
        };
        let key_pem = std::fs::read_to_string(&key_path).map_err(|e| io(&key_path, e))?;
        let key = KeyPair::from_pem(&key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key)?;
        Ok(Authority { cert_pem, issuer })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A card for the registry person `idnat`, valid from `not_before` to `not_after`
    /// (`pki issue-card`: now → now + 3 years; the tests issue expired ones). The
    /// PKCS#12 is protected by `password`.
    pub async fn issue_card(
        &self,
        store: &Store,
        now: i64,
        idnat: &IdNatPs,
        validity: (i64, i64),
        password: &str,
        actor: &str,
    ) -> Result<IssuedCard, CardError> {
        let person = caducee_registry::queries::get_professional(store, idnat)
            .await
            .map_err(|e| CardError::Cert(e.to_string()))?
            .ok_or_else(|| CardError::UnknownPerson(idnat.as_str().to_string()))?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let serial_bytes = random_serial();
        let serial = hex::encode(serial_bytes);
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "FR");
        dn.push(DnType::OrganizationName, "CADUCEE TEST");
        dn.push(DnType::CommonName, idnat.as_str());
        dn.push(
            DnType::CustomDnType(vec![2, 5, 4, 42]),
            person.first_name.as_str(),
        );
        dn.push(
            DnType::CustomDnType(vec![2, 5, 4, 4]),
            person.last_name.as_str(),
        );
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = unix(validity.0)?;
        params.not_after = unix(validity.1)?;
        params.serial_number = Some(SerialNumber::from_slice(&serial_bytes));
        let cert = params.signed_by(&key, &self.issuer)?;
        let p12 = pkcs12(
            key.serialize_der().as_slice(),
            cert.der(),
            &self.cert_pem,
            idnat.as_str(),
            password,
        )?;
        let mut tx = store.begin().await?;
        sqlx::query(
            "INSERT INTO idp_card (serial, idnat, not_before, not_after, issued_at, state)
             VALUES ($1, $2, $3, $4, $5, 'active')",
        )
        .bind(&serial)
        .bind(idnat.as_str())
        .bind(validity.0)
        .bind(validity.1)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // The replacement a declaration ordered is this card.
        sqlx::query(
            "UPDATE idp_card_order SET new_serial = $1 WHERE idnat = $2 AND new_serial IS NULL",
        )
        .bind(&serial)
        .bind(idnat.as_str())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor,
                action: "idp.card.issued",
                subject: Some(idnat.as_str()),
                details: serde_json::json!({ "serial": serial, "notAfter": validity.1 }),
                request_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedCard {
            serial,
            idnat: idnat.as_str().to_string(),
            not_after: validity.1,
            p12,
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A server certificate for the card listener, signed by this authority (browsers
    /// that trust `ca.pem` trust the listener too).
    pub fn server_cert(&self, now: i64, hosts: &[String]) -> Result<(String, String), CardError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(hosts.to_vec())?;
        params
            .distinguished_name
            .push(DnType::CommonName, hosts.first().map_or("localhost", |h| h));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = unix(now - 3600)?;
        params.not_after = unix(now + 365 * 86_400)?;
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// The certificate revocation list of every card revoked, PEM, valid 7 days.
    pub async fn crl(&self, store: &Store, now: i64) -> Result<String, CardError> {
        let number: i64 = sqlx::query_scalar(
            "UPDATE idp_card_authority SET crl_number = crl_number + 1 WHERE id = 'main'
             RETURNING crl_number",
        )
        .fetch_optional(store.pool())
        .await?
        .unwrap_or(1);
        let rows = sqlx::query(
            "SELECT serial, revoked_at, reason FROM idp_card WHERE state = 'revoked' ORDER BY serial",
        )
        .fetch_all(store.pool())
        .await?;
        let mut revoked = Vec::new();
        for r in rows {
            let serial: String = r.try_get("serial")?;
            let at: Option<i64> = r.try_get("revoked_at")?;
            let reason: Option<String> = r.try_get("reason")?;
            let bytes = hex::decode(&serial).map_err(|e| CardError::Cert(e.to_string()))?;
            revoked.push(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&bytes),
                revocation_time: unix(at.unwrap_or(now))?,
                reason_code: Some(match reason.as_deref() {
                    Some("lost" | "stolen" | "not_received") => RevocationReason::KeyCompromise,
                    _ => RevocationReason::Unspecified,
                }),
                invalidity_date: None,
            });
        }
        let params = CertificateRevocationListParams {
            this_update: unix(now)?,
            next_update: unix(now + 7 * 86_400)?,
            crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs: revoked,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        Ok(params.signed_by(&self.issuer)?.pem()?)
    }
}

/// The PKCS#12 of a card: its key, its certificate and the authority's.
fn pkcs12(
    key_der: &[u8],
    cert_der: &[u8],
    ca_pem: &str,
    alias: &str,
    password: &str,
) -> Result<Vec<u8>, CardError> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
    let p12 = |e: p12_keystore::error::Error| CardError::Cert(format!("PKCS#12 : {e}"));
    let ca_der = pem_der(ca_pem)?;
    let key = PrivateKey::from_der(key_der).map_err(p12)?;
    let leaf = Certificate::from_der(cert_der).map_err(p12)?;
    let ca = Certificate::from_der(&ca_der).map_err(p12)?;
    let local_key_id = {
        use sha2::Digest;
        sha2::Sha256::digest(cert_der)[..20].to_vec()
    };
    let chain = PrivateKeyChain::new(local_key_id, key, [leaf, ca]);
    let mut store = KeyStore::new();
    store.add_entry(alias, KeyStoreEntry::PrivateKeyChain(chain));
    store.writer(password).write().map_err(p12)
}

/// The DER of the first certificate of a PEM text.
pub fn pem_der(pem: &str) -> Result<Vec<u8>, CardError> {
    let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| CardError::Cert(format!("PEM : {e}")))?;
    Ok(parsed.contents)
}

fn card_of(r: &sqlx::any::AnyRow) -> Result<CardInfo, sqlx::Error> {
    Ok(CardInfo {
        serial: r.try_get("serial")?,
        idnat: r.try_get("idnat")?,
        not_before: r.try_get("not_before")?,
        not_after: r.try_get("not_after")?,
        issued_at: r.try_get("issued_at")?,
        state: CardState::parse(&r.try_get::<String, _>("state")?),
        revoked_at: r.try_get("revoked_at")?,
        reason: r.try_get("reason")?,
    })
}

const CARD_COLUMNS: &str =
    "serial, idnat, not_before, not_after, issued_at, state, revoked_at, reason";

/// One card by serial (lower-case hex).
pub async fn card(store: &Store, serial: &str) -> Result<Option<CardInfo>, CardError> {
    let row = sqlx::query(&format!(
        "SELECT {CARD_COLUMNS} FROM idp_card WHERE serial = $1"
    ))
    .bind(serial.to_ascii_lowercase())
    .fetch_optional(store.pool())
    .await?;
    Ok(row.as_ref().map(card_of).transpose()?)
}

/// The cards of a professional, newest first.
pub async fn cards_of(store: &Store, idnat: &str) -> Result<Vec<CardInfo>, CardError> {
    let rows = sqlx::query(&format!(
        "SELECT {CARD_COLUMNS} FROM idp_card WHERE idnat = $1 ORDER BY issued_at DESC, serial"
    ))
    .bind(idnat)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.iter().map(card_of).collect::<Result<_, _>>()?)
}

/// Revokes the card `serial`, or every active card of a professional (`id`: RPPS, ADELI,
/// idNat or a serial). Returns the serials revoked (none when all already were).
pub async fn revoke(
    store: &Store,
    now: i64,
    id: &str,
    reason: &str,
    actor: &str,
) -> Result<Vec<String>, CardError> {
    let id = id.trim();
    let serials: Vec<String> = match caducee_registry::queries::parse_id(id) {
        Ok(idnat) if !is_serial(id) => cards_of(store, idnat.as_str())
            .await?
            .into_iter()
            .filter(|c| c.state == CardState::Active)
            .map(|c| c.serial)
            .collect(),
        _ => match card(store, id).await? {
            Some(c) if c.state == CardState::Active => vec![c.serial],
            Some(_) => Vec::new(),
            None => return Err(CardError::UnknownCard(id.to_string())),
        },
    };
    let mut tx = store.begin().await?;
    let mut done = Vec::new();
    for serial in serials {
        let changed = sqlx::query(
            "UPDATE idp_card SET state = 'revoked', revoked_at = $1, reason = $2
             WHERE serial = $3 AND state = 'active'",
        )
        .bind(now)
        .bind(reason)
        .bind(&serial)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            let idnat: String = sqlx::query_scalar("SELECT idnat FROM idp_card WHERE serial = $1")
                .bind(&serial)
                .fetch_one(&mut *tx)
                .await?;
            audit::record(
                &mut *tx,
                now,
                &AuditEvent {
                    actor,
                    action: "idp.card.revoked",
                    subject: Some(&idnat),
                    details: serde_json::json!({ "serial": serial, "reason": reason }),
                    request_id: None,
                },
            )
            .await?;
            done.push(serial);
        }
    }
    tx.commit().await?;
    Ok(done)
}

/// Whether `id` reads as a card serial (32 hex digits) rather than an identifier.
fn is_serial(id: &str) -> bool {
    id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())
}

/// The DER of a PEM private key (PKCS#8, as rcgen writes it).
pub fn pem_key_der(pem: &str) -> Result<Vec<u8>, CardError> {
    for item in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
        let item = item.map_err(|e| CardError::Cert(format!("PEM : {e}")))?;
        if item.label.contains("PRIVATE KEY") {
            return Ok(item.contents);
        }
    }
    Err(CardError::Cert("aucune clé privée dans le PEM".into()))
}
