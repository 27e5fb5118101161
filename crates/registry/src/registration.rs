//! First registration (primo-enregistrement, REG-07) of someone without an RPPS number:
//! identity proven through FranceConnect (the portal's side, `portals::franceconnect`),
//! a form (profession, the activity's structure and address, e-mail and mobile each
//! confirmed by a code), three supporting documents, then the agency's decision and the
//! RPPS number.
//!
//! States: `draft` (saved at every step, resumable after a new FranceConnect login) →
//! `submitted` ("votre demande a été transmise à l'ARS") → `approved` (an RPPS number
//! assigned and e-mailed) | `rejected` (with a reason, e-mailed) → `applied` (the person is
//! in the registry and the directory, `decided_at + propagation delay`, [`apply_due`]).
//! One open registration (draft or submitted) per FranceConnect subject: a unique partial
//! index says so to every node.
//!
//! Documents are kept in the database (several nodes share it) as base64 text (the portable
//! schema has TEXT and BIGINT only), checked by content — PDF, JPEG or PNG, whatever the
//! file name says — and at most [`DOCUMENT_MAX_BYTES`] each; only the agents' back office
//! reads them back ([`document`]).
//!
//! RPPS numbers assigned here are taken in the range `2 000000000 x` … `2 999999999 x`
//! (first digit 2): the numbers the ANS issues, and so the extracts the registry imports,
//! start with 1 (`10…`; the demo personas `19999…`; the generator `10…`). Each assigned
//! number is a row of `reg_rpps_assigned` (primary key: never given twice, never reused even
//! after a rejection or a removal), and a number that is already an identifier of the
//! registry is skipped.

use caducee_core::clock::Clock;
use caducee_core::contact::{Email, Mobile};
use caducee_core::ids::{IdNatPs, Rpps};
use caducee_core::mask::{mask_email, mask_phone};
use caducee_core::nomenclature::Nomenclature;
use caducee_store::audit::{self, AuditEvent};
use caducee_store::{Migration, Store, StoreError};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::sync::Arc;

/// Registry migration 7: the registrations, their documents, the RPPS numbers assigned.
pub const MIGRATION: Migration = Migration {
    component: "registry",
    version: 7,
    name: "first_registration",
    sql: "
CREATE TABLE reg_registration (
    id TEXT PRIMARY KEY,
    fc_issuer TEXT NOT NULL,
    fc_sub TEXT NOT NULL,
    state TEXT NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    gender TEXT NOT NULL,
    birth_place TEXT NOT NULL,
    birth_country TEXT NOT NULL,
    fc_email TEXT NOT NULL DEFAULT '',
    profession_code TEXT NOT NULL DEFAULT '',
    mode_code TEXT NOT NULL DEFAULT '',
    structure_name TEXT NOT NULL DEFAULT '',
    street TEXT NOT NULL DEFAULT '',
    postcode TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    department TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    email_verified BIGINT NOT NULL DEFAULT 0,
    mobile TEXT NOT NULL DEFAULT '',
    mobile_verified BIGINT NOT NULL DEFAULT 0,
    rpps TEXT,
    decided_by TEXT,
    decided_at BIGINT,
    reason TEXT,
    applied_at BIGINT,
    submitted_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX reg_registration_open ON reg_registration (fc_issuer, fc_sub)
    WHERE state IN ('draft', 'submitted');
CREATE INDEX reg_registration_queue ON reg_registration (state, submitted_at);
CREATE TABLE reg_registration_document (
    id TEXT PRIMARY KEY,
    registration_id TEXT NOT NULL REFERENCES reg_registration (id),
    kind TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content_b64 TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    UNIQUE (registration_id, kind)
);
CREATE TABLE reg_rpps_assigned (
    rpps TEXT PRIMARY KEY,
    registration_id TEXT NOT NULL,
    assigned_at BIGINT NOT NULL
);
",
};

/// The largest document accepted, in bytes (10 MiB).
pub const DOCUMENT_MAX_BYTES: usize = 10 * 1024 * 1024;
/// The longest free text of the form (structure name, street, city), in characters.
pub const TEXT_MAX: usize = 200;
/// The longest rejection reason, in characters.
pub const REASON_MAX: usize = 2000;
/// First payload (10 digits, before the check digit) of the assigned range.
const RANGE_FIRST: u64 = 2_000_000_000;
const RANGE_LAST: u64 = 2_999_999_999;

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("{0}")]
    BadInput(String),
    #[error("aucune demande d'enregistrement {0}")]
    NotFound(String),
    #[error("la demande est « {0} » : elle ne peut plus être modifiée ainsi")]
    WrongState(RegistrationState),
    #[error("la demande est incomplète : {0}")]
    Incomplete(String),
    #[error("{0}")]
    Document(String),
    #[error("plus aucun numéro RPPS disponible dans la plage d'attribution")]
    RangeExhausted,
    #[error("import dans le répertoire : {0}")]
    Import(String),
    #[error("base de données : {0}")]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for RegistrationError {
    fn from(e: sqlx::Error) -> Self {
        RegistrationError::Store(StoreError::Sql(e))
    }
}

impl From<caducee_notify::NotifyError> for RegistrationError {
    fn from(e: caducee_notify::NotifyError) -> Self {
        RegistrationError::Import(format!("message : {e}"))
    }
}

/// Where a registration is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationState {
    Draft,
    Submitted,
    Approved,
    Rejected,
    Applied,
}

impl RegistrationState {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationState::Draft => "draft",
            RegistrationState::Submitted => "submitted",
            RegistrationState::Approved => "approved",
            RegistrationState::Rejected => "rejected",
            RegistrationState::Applied => "applied",
        }
    }

    pub fn parse(s: &str) -> Option<RegistrationState> {
        Some(match s {
            "draft" => RegistrationState::Draft,
            "submitted" => RegistrationState::Submitted,
            "approved" => RegistrationState::Approved,
            "rejected" => RegistrationState::Rejected,
            "applied" => RegistrationState::Applied,
            _ => return None,
        })
    }
}

impl std::fmt::Display for RegistrationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identity FranceConnect vouched for (psc.md "FranceConnect"): shown on the form, not
/// editable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FcIdentity {
    /// The FranceConnect issuer, with `sub` the key of the person.
    pub issuer: String,
    pub sub: String,
    /// Space-separated first names.
    pub given_name: String,
    /// Birth name.
    pub family_name: String,
    /// `YYYY-MM-DD`.
    pub birthdate: String,
    /// `male` / `female`.
    pub gender: String,
    /// INSEE code of the commune of birth, empty when born abroad.
    pub birthplace: String,
    /// INSEE code of the country of birth (`99100`: France).
    pub birthcountry: String,
    pub email: String,
}

/// What the person types on the form (every field may still be empty in a draft).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationForm {
    /// TRE_G15 profession code.
    pub profession_code: String,
    /// TRE_R23 mode: `L` libéral, `S` salarié, `B` bénévole.
    pub mode_code: String,
    pub structure_name: String,
    pub street: String,
    pub postcode: String,
    pub city: String,
    pub email: String,
    pub mobile: String,
}

/// The three documents asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// Pièce d'identité.
    Identity,
    /// Diplôme ou attestation de diplôme.
    Diploma,
    /// Justificatif d'activité.
    Activity,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 3] = [
        DocumentKind::Identity,
        DocumentKind::Diploma,
        DocumentKind::Activity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Identity => "identity",
            DocumentKind::Diploma => "diploma",
            DocumentKind::Activity => "activity",
        }
    }

    pub fn parse(s: &str) -> Option<DocumentKind> {
        DocumentKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The French name of the document.
    pub fn label(self) -> &'static str {
        match self {
            DocumentKind::Identity => "pièce d'identité",
            DocumentKind::Diploma => "diplôme ou attestation de diplôme",
            DocumentKind::Activity => "justificatif d'activité",
        }
    }
}

/// One document as listed (never its content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentInfo {
    pub id: String,
    pub kind: DocumentKind,
    /// The file name as uploaded (only shown; the type comes from the content).
    pub filename: String,
    /// `application/pdf`, `image/jpeg` or `image/png`, from the content.
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_at: i64,
}

/// A registration as the portal and the back office read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    pub id: String,
    pub state: RegistrationState,
    pub identity: FcIdentity,
    pub form: RegistrationForm,
    pub email_verified: bool,
    pub mobile_verified: bool,
    /// From the activity's postcode (`75`, `2A`, `971`), empty while unknown.
    pub department: String,
    pub documents: Vec<DocumentInfo>,
    /// The 11 digits, once approved.
    pub rpps: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    /// The reason of a rejection.
    pub reason: Option<String>,
    pub applied_at: Option<i64>,
    pub submitted_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Registration {
    /// What is still missing before it can be submitted, in French (empty: complete).
    pub fn missing(&self) -> Vec<String> {
        let f = &self.form;
        let mut out = Vec::new();
        if f.profession_code.is_empty() {
            out.push("la profession".to_string());
        }
        if f.mode_code.is_empty() {
            out.push("le mode d'exercice".to_string());
        }
        if f.structure_name.is_empty() || f.postcode.is_empty() || f.city.is_empty() {
            out.push("la structure et l'adresse de l'activité".to_string());
        }
        if f.email.is_empty() || !self.email_verified {
            out.push("l'adresse e-mail confirmée par un code".to_string());
        }
        if f.mobile.is_empty() || !self.mobile_verified {
            out.push("le numéro de mobile confirmé par un code".to_string());
        }
        for kind in DocumentKind::ALL {
            if !self.documents.iter().any(|d| d.kind == kind) {
                out.push(format!("le document « {} »", kind.label()));
            }
        }
        out
    }

    /// The person's names as an agent reads them: `MARTIN Julie`.
    pub fn display_name(&self) -> String {
        format!(
            "{} {}",
            self.identity.family_name.to_uppercase(),
            self.identity.given_name
        )
    }
}

/// One line of the agents' queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationSummary {
    pub id: String,
    pub name: String,
    pub profession_code: String,
    pub profession_label: String,
    pub department: String,
    pub submitted_at: i64,
}

/// An agent's decision on a submitted registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve,
    /// The reason is required (trimmed, not empty) and e-mailed to the person.
    Reject {
        reason: String,
    },
}

/// What a decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub state: RegistrationState,
    /// The RPPS number assigned (approval).
    pub rpps: Option<String>,
    /// The outbox message telling the person.
    pub message_id: String,
}

/// The department of a French postcode: two characters, `2A`/`2B` for Corsica (20000-20199
/// Corse-du-Sud, 20200-20999 Haute-Corse), three for overseas (`971`…`976`, `984`…`988`).
pub fn department_of(postcode: &str) -> Option<String> {
    let p = postcode.trim();
    if p.len() != 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if p.starts_with("20") {
        let n: u32 = p.parse().ok()?;
        return Some(if n < 20200 { "2A" } else { "2B" }.to_string());
    }
    if p.starts_with("97") || p.starts_with("98") {
        return Some(p[..3].to_string());
    }
    Some(p[..2].to_string())
}

/// The type of a document by its content (magic bytes), among those accepted.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let kind = infer::get(bytes)?;
    match kind.mime_type() {
        m @ ("application/pdf" | "image/jpeg" | "image/png") => Some(m),
        _ => None,
    }
}

fn text(name: &str, value: &str, max: usize) -> Result<String, RegistrationError> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(RegistrationError::BadInput(format!(
            "{name} : {max} caractères au plus"
        )));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(RegistrationError::BadInput(format!(
            "{name} : caractères de contrôle refusés"
        )));
    }
    Ok(v.to_string())
}

const COLUMNS: &str = "id, fc_issuer, fc_sub, state, given_name, family_name, birth_date, gender,
    birth_place, birth_country, fc_email, profession_code, mode_code, structure_name, street,
    postcode, city, department, email, email_verified, mobile, mobile_verified, rpps,
    decided_by, decided_at, reason, applied_at, submitted_at, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<Registration, RegistrationError> {
    let state: String = r.try_get("state")?;
    Ok(Registration {
        id: r.try_get("id")?,
        state: RegistrationState::parse(&state).ok_or_else(|| {
            RegistrationError::BadInput(format!("état inconnu en base : {state}"))
        })?,
        identity: FcIdentity {
            issuer: r.try_get("fc_issuer")?,
            sub: r.try_get("fc_sub")?,
            given_name: r.try_get("given_name")?,
            family_name: r.try_get("family_name")?,
            birthdate: r.try_get("birth_date")?,
            gender: r.try_get("gender")?,
            birthplace: r.try_get("birth_place")?,
            birthcountry: r.try_get("birth_country")?,
            email: r.try_get("fc_email")?,
        },
        form: RegistrationForm {
            profession_code: r.try_get("profession_code")?,
            mode_code: r.try_get("mode_code")?,
            structure_name: r.try_get("structure_name")?,
            street: r.try_get("street")?,
            postcode: r.try_get("postcode")?,
            city: r.try_get("city")?,
            email: r.try_get("email")?,
            mobile: r.try_get("mobile")?,
        },
        email_verified: r.try_get::<i64, _>("email_verified")? != 0,
        mobile_verified: r.try_get::<i64, _>("mobile_verified")? != 0,
        department: r.try_get("department")?,
        documents: Vec::new(),
        rpps: r.try_get("rpps")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        reason: r.try_get("reason")?,
        applied_at: r.try_get("applied_at")?,
        submitted_at: r.try_get("submitted_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

async fn documents_of<'e, E>(executor: E, id: &str) -> Result<Vec<DocumentInfo>, RegistrationError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(
        "SELECT id, kind, filename, content_type, size, sha256, uploaded_at
         FROM reg_registration_document WHERE registration_id = $1 ORDER BY uploaded_at, kind",
    )
    .bind(id)
    .fetch_all(executor)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let kind: String = r.try_get("kind")?;
        out.push(DocumentInfo {
            id: r.try_get("id")?,
            kind: DocumentKind::parse(&kind).ok_or_else(|| {
                RegistrationError::BadInput(format!("type de document inconnu : {kind}"))
            })?,
            filename: r.try_get("filename")?,
            content_type: r.try_get("content_type")?,
            size: r.try_get("size")?,
            sha256: r.try_get("sha256")?,
            uploaded_at: r.try_get("uploaded_at")?,
        });
    }
    Ok(out)
}

/// One registration with its documents' list.
pub async fn get(store: &Store, id: &str) -> Result<Option<Registration>, RegistrationError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reg_registration WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut reg = from_row(&row)?;
    reg.documents = documents_of(store.pool(), id).await?;
    Ok(Some(reg))
}

/// The newest registration of a FranceConnect subject (open or not).
pub async fn latest_for(
    store: &Store,
    issuer: &str,
    sub: &str,
) -> Result<Option<Registration>, RegistrationError> {
    let id: Option<String> = sqlx::query_scalar(
        "SELECT id FROM reg_registration WHERE fc_issuer = $1 AND fc_sub = $2
         ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(issuer)
    .bind(sub)
    .fetch_optional(store.pool())
    .await?;
    match id {
        Some(id) => get(store, &id).await,
        None => Ok(None),
    }
}

/// The open registration (draft or submitted) of the FranceConnect subject, created as a
/// draft when there is none (a rejected or applied one stays as it was: the person may start
/// again). A draft's identity is refreshed from FranceConnect at each login.
pub async fn open(
    store: &Store,
    clock: &dyn Clock,
    identity: &FcIdentity,
) -> Result<Registration, RegistrationError> {
    if identity.issuer.is_empty() || identity.sub.is_empty() {
        return Err(RegistrationError::BadInput(
            "identité FranceConnect sans émetteur ni sujet".into(),
        ));
    }
    let now = clock.unix();
    let existing: Option<(String, String)> = sqlx::query_as(
        "SELECT id, state FROM reg_registration WHERE fc_issuer = $1 AND fc_sub = $2
           AND state IN ('draft', 'submitted')",
    )
    .bind(&identity.issuer)
    .bind(&identity.sub)
    .fetch_optional(store.pool())
    .await?;
    let id = match existing {
        Some((id, state)) => {
            if state == "draft" {
                sqlx::query(
                    "UPDATE reg_registration SET given_name = $2, family_name = $3,
                        birth_date = $4, gender = $5, birth_place = $6, birth_country = $7,
                        fc_email = $8, updated_at = $9
                     WHERE id = $1 AND state = 'draft'",
                )
                .bind(&id)
                .bind(&identity.given_name)
                .bind(&identity.family_name)
                .bind(&identity.birthdate)
                .bind(&identity.gender)
                .bind(&identity.birthplace)
                .bind(&identity.birthcountry)
                .bind(&identity.email)
                .bind(now)
                .execute(store.pool())
                .await?;
            }
            id
        }
        None => {
            let id = uuid::Uuid::now_v7().to_string();
            let mut tx = store.begin().await?;
            // Another node may have created it a moment ago: the unique index refuses a
            // second one, and the caller's next call resumes the first.
            sqlx::query(
                "INSERT INTO reg_registration (id, fc_issuer, fc_sub, state, given_name,
                    family_name, birth_date, gender, birth_place, birth_country, fc_email,
                    email, created_at, updated_at)
                 VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, $8, $9, $10, '', $11, $11)",
            )
            .bind(&id)
            .bind(&identity.issuer)
            .bind(&identity.sub)
            .bind(&identity.given_name)
            .bind(&identity.family_name)
            .bind(&identity.birthdate)
            .bind(&identity.gender)
            .bind(&identity.birthplace)
            .bind(&identity.birthcountry)
            .bind(&identity.email)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            audit::record(
                &mut *tx,
                now,
                &AuditEvent {
                    actor: &format!("franceconnect:{}", identity.sub),
                    action: "registry.registration.started",
                    subject: None,
                    details: serde_json::json!({ "registration": id }),
                    request_id: None,
                },
            )
            .await?;
            tx.commit().await?;
            id
        }
    };
    get(store, &id)
        .await?
        .ok_or(RegistrationError::NotFound(id))
}

/// Saves what was typed on the form of a draft (trimmed, bounded; checked when given: the
/// profession in TRE_G15, the mode in L/S/B, the postcode, the e-mail and the mobile). A
/// changed e-mail or mobile must be confirmed again.
pub async fn save_form(
    store: &Store,
    clock: &dyn Clock,
    id: &str,
    form: &RegistrationForm,
) -> Result<Registration, RegistrationError> {
    let profession = text("profession", &form.profession_code, 10)?;
    if !profession.is_empty() && Nomenclature::G15Profession.display(&profession).is_none() {
        return Err(RegistrationError::BadInput(
            "profession : choisissez une profession de la liste".into(),
        ));
    }
    let mode = text("mode d'exercice", &form.mode_code, 1)?;
    if !mode.is_empty() && !matches!(mode.as_str(), "L" | "S" | "B") {
        return Err(RegistrationError::BadInput(
            "mode d'exercice : libéral, salarié ou bénévole".into(),
        ));
    }
    let structure_name = text("nom de la structure", &form.structure_name, TEXT_MAX)?;
    let street = text("adresse", &form.street, TEXT_MAX)?;
    let city = text("commune", &form.city, TEXT_MAX)?;
    let postcode = text("code postal", &form.postcode, 5)?;
    let department = if postcode.is_empty() {
        String::new()
    } else {
        department_of(&postcode).ok_or_else(|| {
            RegistrationError::BadInput("code postal : 5 chiffres, par exemple 75014".into())
        })?
    };
    let email = match form.email.trim() {
        "" => String::new(),
        e => Email::parse(e)
            .map_err(|e| RegistrationError::BadInput(e.to_string()))?
            .as_str()
            .to_string(),
    };
    let mobile = match form.mobile.trim() {
        "" => String::new(),
        m => Mobile::parse(m)
            .map_err(|e| RegistrationError::BadInput(e.to_string()))?
            .as_str()
            .to_string(),
    };
    let now = clock.unix();
    let done = sqlx::query(
        "UPDATE reg_registration SET profession_code = $2, mode_code = $3, structure_name = $4,
            street = $5, postcode = $6, city = $7, department = $8,
            email_verified = CASE WHEN email = $9 THEN email_verified ELSE 0 END,
            mobile_verified = CASE WHEN mobile = $10 THEN mobile_verified ELSE 0 END,
            email = $9, mobile = $10, updated_at = $11
         WHERE id = $1 AND state = 'draft'",
    )
    .bind(id)
    .bind(&profession)
    .bind(&mode)
    .bind(&structure_name)
    .bind(&street)
    .bind(&postcode)
    .bind(&city)
    .bind(&department)
    .bind(&email)
    .bind(&mobile)
    .bind(now)
    .execute(store.pool())
    .await?
    .rows_affected();
    if done == 0 {
        return Err(not_draft(store, id).await);
    }
    get(store, id)
        .await?
        .ok_or_else(|| RegistrationError::NotFound(id.to_string()))
}

async fn not_draft(store: &Store, id: &str) -> RegistrationError {
    match get(store, id).await {
        Ok(Some(r)) => RegistrationError::WrongState(r.state),
        Ok(None) => RegistrationError::NotFound(id.to_string()),
        Err(e) => e,
    }
}

/// Which coordinate a code confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coordinate {
    Email,
    Mobile,
}

/// Records that the person proved `value` is theirs (a code sent to it was typed back).
/// Only when the draft still holds that very value.
pub async fn confirm(
    store: &Store,
    clock: &dyn Clock,
    id: &str,
    which: Coordinate,
    value: &str,
) -> Result<(), RegistrationError> {
    let sql = match which {
        Coordinate::Email => {
            "UPDATE reg_registration SET email_verified = 1, updated_at = $3
             WHERE id = $1 AND state = 'draft' AND email = $2 AND email <> ''"
        }
        Coordinate::Mobile => {
            "UPDATE reg_registration SET mobile_verified = 1, updated_at = $3
             WHERE id = $1 AND state = 'draft' AND mobile = $2 AND mobile <> ''"
        }
    };
    let done = sqlx::query(sql)
        .bind(id)
        .bind(value)
        .bind(clock.unix())
        .execute(store.pool())
        .await?
        .rows_affected();
    if done == 0 {
        return Err(RegistrationError::BadInput(
            "cette coordonnée n'est plus celle de la demande : saisissez-la à nouveau".into(),
        ));
    }
    Ok(())
}

/// Stores (or replaces) the document of `kind` of a draft, checked by content: PDF, JPEG or
/// PNG ([`sniff`]) of at most [`DOCUMENT_MAX_BYTES`]. The file name is kept for display
/// only (trimmed to its last component, 120 characters).
pub async fn add_document(
    store: &Store,
    clock: &dyn Clock,
    id: &str,
    kind: DocumentKind,
    filename: &str,
    bytes: &[u8],
) -> Result<DocumentInfo, RegistrationError> {
    use base64::Engine as _;
    use sha2::Digest as _;
    if bytes.is_empty() {
        return Err(RegistrationError::Document(format!(
            "{} : le fichier est vide, choisissez un autre fichier",
            kind.label()
        )));
    }
    if bytes.len() > DOCUMENT_MAX_BYTES {
        return Err(RegistrationError::Document(format!(
            "{} : le fichier dépasse {} Mo, réduisez-le ou numérisez-le en moins bonne qualité",
            kind.label(),
            DOCUMENT_MAX_BYTES / (1024 * 1024)
        )));
    }
    let Some(content_type) = sniff(bytes) else {
        return Err(RegistrationError::Document(format!(
            "{} : seuls les fichiers PDF, JPEG ou PNG sont acceptés ; choisissez un autre fichier",
            kind.label()
        )));
    };
    let name: String = filename
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect();
    let name = if name.trim().is_empty() {
        kind.as_str().to_string()
    } else {
        name.trim().to_string()
    };
    let sha = hex::encode(sha2::Sha256::digest(bytes));
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let doc_id = uuid::Uuid::now_v7().to_string();
    let now = clock.unix();
    let mut tx = store.begin().await?;
    let draft = sqlx::query(
        "UPDATE reg_registration SET updated_at = $2 WHERE id = $1 AND state = 'draft'",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if draft == 0 {
        drop(tx);
        return Err(not_draft(store, id).await);
    }
    sqlx::query("DELETE FROM reg_registration_document WHERE registration_id = $1 AND kind = $2")
        .bind(id)
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO reg_registration_document (id, registration_id, kind, filename,
            content_type, size, sha256, content_b64, uploaded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&doc_id)
    .bind(id)
    .bind(kind.as_str())
    .bind(&name)
    .bind(content_type)
    .bind(bytes.len() as i64)
    .bind(&sha)
    .bind(&b64)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(DocumentInfo {
        id: doc_id,
        kind,
        filename: name,
        content_type: content_type.to_string(),
        size: bytes.len() as i64,
        sha256: sha,
        uploaded_at: now,
    })
}

/// A document's type and content, for the agents' back office only (never the public).
pub async fn document(
    store: &Store,
    id: &str,
    doc_id: &str,
) -> Result<Option<(String, Vec<u8>)>, RegistrationError> {
    use base64::Engine as _;
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT content_type, content_b64 FROM reg_registration_document
         WHERE registration_id = $1 AND id = $2",
    )
    .bind(id)
    .bind(doc_id)
    .fetch_optional(store.pool())
    .await?;
    let Some((content_type, b64)) = row else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| RegistrationError::Document(format!("document illisible en base : {e}")))?;
    Ok(Some((content_type, bytes)))
}

/// Sends a complete draft to the agency (`submitted`), audited.
pub async fn submit(
    store: &Store,
    clock: &dyn Clock,
    id: &str,
) -> Result<Registration, RegistrationError> {
    let reg = get(store, id)
        .await?
        .ok_or_else(|| RegistrationError::NotFound(id.to_string()))?;
    if reg.state != RegistrationState::Draft {
        return Err(RegistrationError::WrongState(reg.state));
    }
    let missing = reg.missing();
    if !missing.is_empty() {
        return Err(RegistrationError::Incomplete(missing.join(", ")));
    }
    let now = clock.unix();
    let mut tx = store.begin().await?;
    let done = sqlx::query(
        "UPDATE reg_registration SET state = 'submitted', submitted_at = $2, updated_at = $2
         WHERE id = $1 AND state = 'draft'",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        drop(tx);
        return Err(not_draft(store, id).await);
    }
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor: &format!("franceconnect:{}", reg.identity.sub),
            action: "registry.registration.submitted",
            subject: None,
            details: serde_json::json!({
                "registration": id,
                "department": reg.department,
                "profession": reg.form.profession_code,
                "email": mask_email(&reg.form.email),
                "mobile": mask_phone(&reg.form.mobile),
            }),
            request_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    get(store, id)
        .await?
        .ok_or_else(|| RegistrationError::NotFound(id.to_string()))
}

/// The submitted registrations of the given departments, oldest first (an agent sees only
/// their departments; an empty list sees nothing).
pub async fn queue(
    store: &Store,
    departments: &[String],
) -> Result<Vec<RegistrationSummary>, RegistrationError> {
    if departments.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..departments.len())
        .map(|i| format!("${}", i + 1))
        .collect();
    let sql = format!(
        "SELECT id, family_name, given_name, profession_code, department, submitted_at
         FROM reg_registration WHERE state = 'submitted' AND department IN ({})
         ORDER BY submitted_at, id LIMIT 500",
        placeholders.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for d in departments {
        q = q.bind(d);
    }
    let rows = q.fetch_all(store.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let family: String = r.try_get("family_name")?;
        let given: String = r.try_get("given_name")?;
        let code: String = r.try_get("profession_code")?;
        out.push(RegistrationSummary {
            id: r.try_get("id")?,
            name: format!("{} {given}", family.to_uppercase()),
            profession_label: Nomenclature::G15Profession
                .display(&code)
                .unwrap_or_default()
                .to_string(),
            profession_code: code,
            department: r.try_get("department")?,
            submitted_at: r.try_get::<Option<i64>, _>("submitted_at")?.unwrap_or(0),
        });
    }
    Ok(out)
}

/// The portal's name in the messages to the person.
const PORTAL_NAME: &str = "Portail eRPPS";

/// An agent decides on a submitted registration. Approval assigns the next RPPS number of
/// the range (see the module) and e-mails it; rejection needs a reason, e-mailed. One
/// conditional update in the transaction of the audit line and of the message, so two
/// agents deciding at once cannot both win. The number's e-mail says when it can be used
/// (`delay_secs`, the `[registry] propagation_delay_secs` that [`apply_due`] is run with).
pub async fn decide(
    store: &Store,
    clock: &dyn Clock,
    id: &str,
    actor: &str,
    decision: Decision,
    delay_secs: i64,
) -> Result<Decided, RegistrationError> {
    let reason = match &decision {
        Decision::Approve => None,
        Decision::Reject { reason } => {
            let r = text("motif", reason, REASON_MAX)?;
            if r.is_empty() {
                return Err(RegistrationError::BadInput(
                    "motif : indiquez pourquoi la demande est refusée".into(),
                ));
            }
            Some(r)
        }
    };
    // A race on the next number (two approvals at once) fails on the primary key: retry.
    let mut last = None;
    for _ in 0..5 {
        match decide_once(store, clock, id, actor, reason.as_deref(), delay_secs).await {
            Err(RegistrationError::Store(StoreError::Sql(e))) if is_conflict(&e) => {
                last = Some(e);
            }
            other => return other,
        }
    }
    Err(RegistrationError::Store(StoreError::Sql(last.unwrap_or(
        sqlx::Error::Protocol("attribution du numéro RPPS".into()),
    ))))
}

fn is_conflict(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            let msg = d.message().to_lowercase();
            d.is_unique_violation()
                || msg.contains("unique")
                || msg.contains("locked")
                || msg.contains("busy")
                || msg.contains("could not serialize")
        }
        _ => false,
    }
}

async fn decide_once(
    store: &Store,
    clock: &dyn Clock,
    id: &str,
    actor: &str,
    reason: Option<&str>,
    delay_secs: i64,
) -> Result<Decided, RegistrationError> {
    let reg = get(store, id)
        .await?
        .ok_or_else(|| RegistrationError::NotFound(id.to_string()))?;
    if reg.state != RegistrationState::Submitted {
        return Err(RegistrationError::WrongState(reg.state));
    }
    let email = Email::parse(&reg.form.email)
        .map_err(|e| RegistrationError::BadInput(format!("e-mail de la demande : {e}")))?;
    let now = clock.unix();
    let mut tx = store.begin().await?;
    let (state, rpps) = match reason {
        None => {
            let rpps = next_rpps(&mut tx).await?;
            sqlx::query(
                "INSERT INTO reg_rpps_assigned (rpps, registration_id, assigned_at)
                 VALUES ($1, $2, $3)",
            )
            .bind(rpps.as_str())
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            (RegistrationState::Approved, Some(rpps.as_str().to_string()))
        }
        Some(_) => (RegistrationState::Rejected, None),
    };
    let done = sqlx::query(
        "UPDATE reg_registration SET state = $2, rpps = $3, decided_by = $4, decided_at = $5,
            reason = $6, updated_at = $5
         WHERE id = $1 AND state = 'submitted'",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(rpps.as_deref())
    .bind(actor)
    .bind(now)
    .bind(reason)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        drop(tx);
        return Err(match get(store, id).await? {
            Some(r) => RegistrationError::WrongState(r.state),
            None => RegistrationError::NotFound(id.to_string()),
        });
    }
    // Approved: the number assigned, in a message of its own; rejected: the reason.
    let template = match (&rpps, reason) {
        (Some(n), _) => caducee_notify::Template::RppsNumberAssigned {
            portal: PORTAL_NAME.to_string(),
            rpps: n.clone(),
            delay_secs,
        },
        (None, r) => caducee_notify::Template::RequestDecided {
            portal: PORTAL_NAME.to_string(),
            request: "première inscription au RPPS".to_string(),
            decision: match r {
                None => caducee_notify::Decision::Approved { delay_secs },
                Some(r) => caducee_notify::Decision::Rejected {
                    reason: r.to_string(),
                },
            },
            link: None,
        },
    };
    let message_id = caducee_notify::enqueue(
        &mut tx,
        clock,
        &caducee_notify::OutgoingMessage::email(email, template),
    )
    .await?;
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor,
            action: match state {
                RegistrationState::Approved => "registry.registration.approved",
                _ => "registry.registration.rejected",
            },
            subject: rpps.as_ref().map(|n| format!("8{n}")).as_deref(),
            details: serde_json::json!({ "registration": id, "rpps": rpps }),
            request_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Decided {
        state,
        rpps,
        message_id,
    })
}

/// The next free number of the range: one more than the largest assigned, skipping any
/// that is already an identifier of the registry.
async fn next_rpps(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<Rpps, RegistrationError> {
    let max: Option<String> = sqlx::query_scalar("SELECT MAX(rpps) FROM reg_rpps_assigned")
        .fetch_one(&mut **tx)
        .await?;
    let mut payload = match max.as_deref().and_then(|m| m.get(..10)) {
        Some(p) => p.parse::<u64>().unwrap_or(RANGE_FIRST) + 1,
        None => RANGE_FIRST,
    };
    while payload <= RANGE_LAST {
        let rpps = Rpps::from_payload(&payload.to_string()).ok_or_else(|| {
            RegistrationError::BadInput(format!("numéro RPPS impossible : {payload}"))
        })?;
        let taken = sqlx::query("SELECT 1 FROM reg_person WHERE idnat = $1")
            .bind(rpps.idnat())
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
        if !taken {
            return Ok(rpps);
        }
        payload += 1;
    }
    Err(RegistrationError::RangeExhausted)
}

/// A draft untouched this long is forgotten, with its documents (what was typed and
/// uploaded is personal data; a new FranceConnect login starts a new registration), as the
/// portals forget their own registration wizards after 30 days.
pub const ABANDONED_AFTER_SECS: i64 = 30 * 24 * 3600;

/// Forgets the drafts last saved more than [`ABANDONED_AFTER_SECS`] ago (by `clock`), their
/// documents first; submitted and decided registrations are kept. Returns how many were
/// forgotten, each audited. Any node may run it; `serve` does every minute.
pub async fn purge_abandoned(store: &Store, clock: &dyn Clock) -> Result<u64, RegistrationError> {
    let now = clock.unix();
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM reg_registration WHERE state = 'draft' AND updated_at < $1
         ORDER BY updated_at, id LIMIT 500",
    )
    .bind(now - ABANDONED_AFTER_SECS)
    .fetch_all(store.pool())
    .await?;
    let mut purged = 0;
    for id in ids {
        let mut tx = store.begin().await?;
        // Still an abandoned draft (another node, or a save in between, may have been first).
        sqlx::query(
            "DELETE FROM reg_registration_document WHERE registration_id IN
               (SELECT id FROM reg_registration WHERE id = $1 AND state = 'draft' AND updated_at < $2)",
        )
        .bind(&id)
        .bind(now - ABANDONED_AFTER_SECS)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query(
            "DELETE FROM reg_registration WHERE id = $1 AND state = 'draft' AND updated_at < $2",
        )
        .bind(&id)
        .bind(now - ABANDONED_AFTER_SECS)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if deleted == 1 {
            audit::record(
                &mut *tx,
                now,
                &AuditEvent {
                    actor: "system:housekeeping",
                    action: "registry.registration.abandoned",
                    subject: None,
                    details: serde_json::json!({ "registration": id }),
                    request_id: None,
                },
            )
            .await?;
            purged += 1;
        }
        tx.commit().await?;
    }
    Ok(purged)
}

/// Inserts into the registry (and so the directory, its search index and the identity
/// provider's claims) every approved registration whose `decided_at + delay_secs` has come,
/// by the clock: the person (civil status from FranceConnect), the profession and the
/// activity at the declared structure through the import's own path (one
/// PS_LibreAcces line), then the contact coordinates (what the e-CPS activation reads) and
/// the civil identity. Returns how many were applied. Any node may run it (idempotent: the
/// import upserts, the state moves once).
pub async fn apply_due(
    store: &Store,
    clock: &dyn Clock,
    delay_secs: i64,
) -> Result<u64, RegistrationError> {
    let now = clock.unix();
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM reg_registration WHERE state = 'approved' AND decided_at <= $1
         ORDER BY decided_at, id LIMIT 100",
    )
    .bind(now - delay_secs)
    .fetch_all(store.pool())
    .await?;
    let mut applied = 0;
    for id in ids {
        let Some(reg) = get(store, &id).await? else {
            continue;
        };
        if apply_one(store, clock, &reg).await? {
            applied += 1;
        }
    }
    Ok(applied)
}

async fn apply_one(
    store: &Store,
    clock: &dyn Clock,
    reg: &Registration,
) -> Result<bool, RegistrationError> {
    use crate::format::FileKind;
    use crate::import::{import_reader, ImportOptions, NoProgress};
    let Some(number) = reg.rpps.as_deref() else {
        return Ok(false);
    };
    let rpps = Rpps::parse(number).map_err(|e| RegistrationError::BadInput(e.to_string()))?;
    let mut data = FileKind::PersonneActivite.header_line().to_string();
    data.push('\n');
    data.push_str(&pa_line(reg, &rpps));
    data.push('\n');
    let total = data.len() as u64;
    let report = std::env::temp_dir().join(format!("caducee-registration-{}.tsv", reg.id));
    let summary = import_reader(
        store,
        clock,
        &format!("registration {}", reg.id),
        Box::new(std::io::Cursor::new(data.into_bytes())),
        total,
        report.clone(),
        &ImportOptions {
            keep_unseen: true,
            ..ImportOptions::default()
        },
        Arc::new(NoProgress),
    )
    .await
    .map_err(|e| RegistrationError::Import(e.to_string()))?;
    let _ = std::fs::remove_file(&report);
    if summary.rejected > 0 {
        return Err(RegistrationError::Import(format!(
            "la ligne de la demande {} a été refusée par l'import",
            reg.id
        )));
    }
    let idnat =
        IdNatPs::parse(rpps.idnat()).map_err(|e| RegistrationError::BadInput(e.to_string()))?;
    let actor = format!("registration:{}", reg.id);
    crate::queries::set_civil_identity(
        store,
        clock,
        &idnat,
        &crate::queries::CivilIdentity {
            birth_name: reg.identity.family_name.clone(),
            first_names: reg.identity.given_name.clone(),
            birth_date: reg.identity.birthdate.clone(),
            birth_place: reg.identity.birthplace.clone(),
            birth_country: reg.identity.birthcountry.clone(),
            sex: sex_of(&reg.identity.gender).to_string(),
        },
    )
    .await
    .map_err(|e| RegistrationError::Import(e.to_string()))?;
    crate::queries::set_contact(
        store,
        clock,
        &idnat,
        &crate::queries::ContactUpdate {
            email: reg.form.email.clone(),
            mobile: reg.form.mobile.clone(),
            address: Some(address_line(reg)),
            actor: actor.clone(),
            evidence: Some("première inscription validée par l'ARS (FranceConnect)".into()),
        },
    )
    .await
    .map_err(|e| RegistrationError::Import(e.to_string()))?;
    let now = clock.unix();
    let mut tx = store.begin().await?;
    let done = sqlx::query(
        "UPDATE reg_registration SET state = 'applied', applied_at = $2, updated_at = $2
         WHERE id = $1 AND state = 'approved'",
    )
    .bind(&reg.id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 1 {
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor: &actor,
                action: "registry.registration.applied",
                subject: Some(rpps.idnat()),
                details: serde_json::json!({ "registration": reg.id }),
                request_id: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done == 1)
}

fn sex_of(gender: &str) -> &'static str {
    match gender {
        "female" => "F",
        "male" => "M",
        _ => "",
    }
}

/// The correspondence address: the activity's (the person may change it later).
fn address_line(reg: &Registration) -> String {
    let f = &reg.form;
    [
        f.structure_name.as_str(),
        f.street.as_str(),
        &format!("{} {}", f.postcode, f.city),
    ]
    .iter()
    .map(|s| s.trim())
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(", ")
}

/// The registration as one Personne_activite line (56 fields, each followed by `|`).
fn pa_line(reg: &Registration, rpps: &Rpps) -> String {
    use crate::format::pa;
    let clean = |s: &str| s.replace(['|', '\n', '\r'], " ");
    let label = |n: Nomenclature, code: &str| n.display(code).unwrap_or_default().to_string();
    let civility = match reg.identity.gender.as_str() {
        "female" => "MME",
        "male" => "M",
        _ => "",
    };
    let mut cols = vec![String::new(); pa::COUNT];
    cols[pa::ID_TYPE] = "8".into();
    cols[pa::ID_PP] = rpps.as_str().into();
    cols[pa::IDNAT] = rpps.idnat().into();
    cols[5] = civility.into();
    cols[6] = label(Nomenclature::R81Civilite, civility);
    cols[7] = clean(&reg.identity.family_name.to_uppercase());
    // The first of the first names, as the extract gives the usual one.
    cols[pa::FIRST_NAME] = clean(
        reg.identity
            .given_name
            .split_whitespace()
            .next()
            .unwrap_or_default(),
    );
    cols[pa::PROFESSION_CODE] = reg.form.profession_code.clone();
    cols[10] = label(Nomenclature::G15Profession, &reg.form.profession_code);
    cols[11] = "C".into();
    cols[12] = label(Nomenclature::R09CategorieProfessionnelle, "C");
    cols[17] = reg.form.mode_code.clone();
    cols[pa::MODE_LABEL] = label(Nomenclature::R23ModeExercice, &reg.form.mode_code);
    // A structure of its own, named by the registration (technical identifier).
    cols[pa::STRUCTURE_ID] = format!("R{}", rpps.as_str());
    cols[24] = clean(&reg.form.structure_name);
    cols[32] = clean(&reg.form.street);
    cols[35] = clean(&reg.form.postcode);
    cols[37] = clean(&reg.form.city.to_uppercase());
    cols[44] = reg.department.clone();
    let mut line = String::new();
    for c in cols {
        line.push_str(&c);
        line.push('|');
    }
    line
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn departments_of_postcodes() {
        assert_eq!(department_of("75014").as_deref(), Some("75"));
        assert_eq!(department_of("01000").as_deref(), Some("01"));
        assert_eq!(department_of("20000").as_deref(), Some("2A"));
        assert_eq!(department_of("20167").as_deref(), Some("2A"));
        assert_eq!(department_of("20200").as_deref(), Some("2B"));
        assert_eq!(department_of("97110").as_deref(), Some("971"));
        assert_eq!(department_of("97600").as_deref(), Some("976"));
        assert_eq!(department_of("7501"), None);
        assert_eq!(department_of("75O14"), None);
    }

    #[test]
    fn documents_are_typed_by_content() {
        let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        assert_eq!(sniff(&png), Some("image/png"));
        assert_eq!(sniff(b"%PDF-1.7\n%..."), Some("application/pdf"));
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some("image/jpeg")
        );
        assert_eq!(sniff(b"MZ\x90\x00\x03\x00\x00\x00"), None);
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01"), None);
        assert_eq!(sniff(b"hello"), None);
    }
}
