//! Change requests (REG-06): every change a professional asks of their registry data goes
//! through a request that the regional health agency (ARS) reviews. The registry owns the
//! requests (`reg_request`, `reg_request_event`, migration 6); the eRPPS portal saves
//! drafts and submits through [`save_draft`] and [`submit`], shows the professional's own
//! through [`history_for`]; the agencies' back office lists, reads and decides through
//! [`queue`], [`get`] and [`decide`]; another validated path (REG-12, coordinates proven
//! through FranceConnect) files an approved change directly with [`file_approved`].
//!
//! States: `draft` (saved as typed, resumable, one per kind and person) → `submitted`
//! (checked: identifiers' check digits, nomenclature codes, contact validation) →
//! `approved` | `rejected` (a reason is required) → `applied`. An approved change reaches
//! the registry at `decided_at + propagation delay`, by the clock: [`apply_due`], run
//! periodically by `serve` and called by tests, applies each due request in one
//! transaction that writes the registry rows *and* the directory's search index (so the
//! directory, the FHIR API and the userinfo claims show the change at once) and moves
//! `updated_at`. Every transition is one conditional `UPDATE … WHERE state = <expected>`
//! in the transaction that records its event (actor, time) and its audit line (ids and
//! kinds only, never the typed texts); the decision's e-mail to the professional is
//! enqueued in the notify outbox in that same transaction.
//!
//! A note on imports: an applied activity is a registry row like the others; a later
//! import of a *complete* Personne_activite extract that does not contain it ends it, as it
//! ends any activity the extract no longer lists (the extract is the national truth).

use caducee_core::clock::Clock;
use caducee_core::contact::{Email, Mobile};
use caducee_core::ids::{Finess, Siret};
use caducee_core::nomenclature::Nomenclature;
use caducee_notify::{OutgoingMessage, Template};
use caducee_store::audit::{self, AuditEvent};
use caducee_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::search;

/// How many requests of one professional may be open at once (drafts and submitted ones):
/// beyond, a new one is refused until the agency decided some, so that one account cannot
/// flood the agents' queue.
pub const OPEN_MAX_PER_PERSON: i64 = 10;
/// The longest free text (name, address, reason) a request holds, in characters.
pub const TEXT_MAX: usize = 300;
/// The default propagation delay: 48 hours (`[registry] propagation_delay_secs`).
pub const DEFAULT_PROPAGATION_DELAY_SECS: i64 = 172_800;
/// The sender's name in the decision e-mails.
pub const PORTAL_NAME: &str = "eRPPS";

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("{0}")]
    BadInput(String),
    /// The form's fields that are wrong, each with what to do.
    #[error("la demande est incomplète ou erronée : {}", .0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" ; "))]
    Invalid(Vec<FieldError>),
    #[error("aucun professionnel {0} dans le répertoire")]
    UnknownPerson(String),
    #[error("aucune demande {0}")]
    NotFound(String),
    #[error("{0} demandes sont déjà en cours pour ce professionnel : attendez la décision de l'ARS sur l'une d'elles")]
    TooManyOpen(i64),
    #[error("la demande est « {from} » : elle ne peut pas passer à « {to} »")]
    Transition {
        from: RequestState,
        to: RequestState,
    },
    #[error("un refus doit être motivé : indiquez le motif, il sera envoyé au professionnel")]
    ReasonRequired,
    #[error("base de données : {0}")]
    Store(#[from] StoreError),
    #[error("envoi du message : {0}")]
    Notify(#[from] caducee_notify::NotifyError),
}

impl From<sqlx::Error> for RequestError {
    fn from(e: sqlx::Error) -> Self {
        RequestError::Store(StoreError::Sql(e))
    }
}

/// One wrong field of a request: `field` is the form's field name, `message` says in
/// French what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn field_error(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Draft,
    Submitted,
    Approved,
    Rejected,
    Applied,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Draft => "draft",
            RequestState::Submitted => "submitted",
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
            RequestState::Applied => "applied",
        }
    }

    pub fn parse(s: &str) -> Option<RequestState> {
        Some(match s {
            "draft" => RequestState::Draft,
            "submitted" => RequestState::Submitted,
            "approved" => RequestState::Approved,
            "rejected" => RequestState::Rejected,
            "applied" => RequestState::Applied,
            _ => return None,
        })
    }

    /// The transitions a request may take, nothing else.
    pub fn can_move_to(self, to: RequestState) -> bool {
        use RequestState::*;
        matches!(
            (self, to),
            (Draft, Submitted)
                | (Submitted, Approved)
                | (Submitted, Rejected)
                | (Approved, Applied)
        )
    }

    /// Whether nothing more happens to the request.
    pub fn is_final(self) -> bool {
        matches!(self, RequestState::Rejected | RequestState::Applied)
    }
}

impl std::fmt::Display for RequestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    NewActivity,
    CeaseActivity,
    NewProfession,
    Contact,
    ExerciseName,
}

impl RequestKind {
    pub const ALL: [RequestKind; 5] = [
        RequestKind::NewActivity,
        RequestKind::CeaseActivity,
        RequestKind::NewProfession,
        RequestKind::Contact,
        RequestKind::ExerciseName,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::NewActivity => "new_activity",
            RequestKind::CeaseActivity => "cease_activity",
            RequestKind::NewProfession => "new_profession",
            RequestKind::Contact => "contact",
            RequestKind::ExerciseName => "exercise_name",
        }
    }

    pub fn parse(s: &str) -> Option<RequestKind> {
        RequestKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What the request is, as the decision e-mail names it (French).
    pub fn label_fr(self) -> &'static str {
        match self {
            RequestKind::NewActivity => "déclaration d'une nouvelle activité",
            RequestKind::CeaseActivity => "cessation d'une activité",
            RequestKind::NewProfession => "déclaration d'une nouvelle profession",
            RequestKind::Contact => "modification de vos coordonnées",
            RequestKind::ExerciseName => "modification de votre nom d'exercice",
        }
    }
}

impl std::fmt::Display for RequestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A new activity (a new place of practice: a changed practice address is a new place).
/// The structure is one of the registry (`structure_id`, or found by `siret` / `finess`) or
/// typed (name, address, postcode, city). Codes from the nomenclatures: profession TRE_G15,
/// mode TRE_R23, role TRE_R21. `start_date`: `AAAA-MM-JJ`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewActivity {
    pub structure_id: String,
    pub siret: String,
    pub finess: String,
    pub name: String,
    pub address: String,
    pub postcode: String,
    pub city: String,
    pub profession_code: String,
    pub mode_code: String,
    pub role_code: String,
    pub start_date: String,
}

/// The end of one of the professional's active activities (`end_date`: `AAAA-MM-JJ`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CeaseActivity {
    pub activity_id: String,
    pub end_date: String,
}

/// A new profession (Opticien → Audioprothésiste), practised at the place of one of the
/// professional's activities (`activity_id`) or without a place yet (empty); not a new
/// place of practice.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewProfession {
    pub profession_code: String,
    pub activity_id: String,
    pub start_date: String,
}

/// Contact coordinates (REG-05): the correspondence address is where the CPS card is
/// mailed; e-mail and mobile activate the e-CPS. An empty address keeps the registry's
/// (REG-12 proves an e-mail and a mobile, not an address).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactChange {
    pub email: String,
    pub mobile: String,
    pub address: String,
}

/// The exercise name (REG-02) the public directory shows; by default the birth name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExerciseName {
    pub last_name: String,
    pub first_name: String,
}

/// The change a request carries, as typed (a draft) or as checked (submitted and after).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    NewActivity(NewActivity),
    CeaseActivity(CeaseActivity),
    NewProfession(NewProfession),
    Contact(ContactChange),
    ExerciseName(ExerciseName),
}

impl Change {
    pub fn kind(&self) -> RequestKind {
        match self {
            Change::NewActivity(_) => RequestKind::NewActivity,
            Change::CeaseActivity(_) => RequestKind::CeaseActivity,
            Change::NewProfession(_) => RequestKind::NewProfession,
            Change::Contact(_) => RequestKind::Contact,
            Change::ExerciseName(_) => RequestKind::ExerciseName,
        }
    }

    /// An empty change of `kind` (a form not filled yet).
    pub fn empty(kind: RequestKind) -> Change {
        match kind {
            RequestKind::NewActivity => Change::NewActivity(NewActivity::default()),
            RequestKind::CeaseActivity => Change::CeaseActivity(CeaseActivity::default()),
            RequestKind::NewProfession => Change::NewProfession(NewProfession::default()),
            RequestKind::Contact => Change::Contact(ContactChange::default()),
            RequestKind::ExerciseName => Change::ExerciseName(ExerciseName::default()),
        }
    }
}

/// One line of a change as an agent reads it: what the field was (empty for something
/// new) and what it becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeField {
    /// The field's name in French ("Adresse e-mail").
    pub label: &'static str,
    pub before: String,
    pub after: String,
}

/// One transition of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestEvent {
    /// None for the creation.
    pub from: Option<RequestState>,
    pub to: RequestState,
    pub actor: String,
    pub note: String,
    pub at: i64,
}

/// A request with its change and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub id: String,
    pub idnat: String,
    pub kind: RequestKind,
    pub state: RequestState,
    pub change: Change,
    /// The department of the structure concerned (`75`, `2A`, `971`), empty when unknown:
    /// it decides which agents see the request.
    pub department: String,
    /// The rejection's reason, empty otherwise.
    pub reason: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub applied_at: Option<i64>,
    /// Oldest first; filled by [`get`] and [`history_for`].
    pub events: Vec<RequestEvent>,
    /// The change field by field (with the registry's current values), filled by [`get`].
    pub fields: Vec<ChangeField>,
}

impl Request {
    /// When an approved change reaches (or reached) the registry: `decided_at + delay`.
    pub fn effective_at(&self, delay_secs: i64) -> Option<i64> {
        match self.state {
            RequestState::Approved | RequestState::Applied => {
                self.decided_at.map(|d| d.saturating_add(delay_secs))
            }
            _ => None,
        }
    }
}

/// A line of the agencies' queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestSummary {
    pub id: String,
    pub idnat: String,
    /// The exercise name as the registry holds it: "NOM Prénom".
    pub person_name: String,
    pub kind: RequestKind,
    pub submitted_at: i64,
    pub department: String,
}

/// An agent's decision on a submitted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve,
    /// The reason is sent to the professional; it must not be empty.
    Reject {
        reason: String,
    },
}

/// The department of a French postcode: 2 characters (`2A`/`2B` for Corsica: 200xx–201xx
/// and 202xx–206xx), 3 for the overseas ones (`97x`, `98x`); empty when it is not a
/// postcode.
pub fn department_of_postcode(postcode: &str) -> String {
    let pc = postcode.trim();
    if pc.len() != 5 || !pc.bytes().all(|b| b.is_ascii_digit()) {
        return String::new();
    }
    if pc.starts_with("97") || pc.starts_with("98") {
        return pc[..3].to_string();
    }
    if let Some(rest) = pc.strip_prefix("20") {
        return if rest.as_bytes()[0] <= b'1' {
            "2A"
        } else {
            "2B"
        }
        .to_string();
    }
    pc[..2].to_string()
}

// ---------------------------------------------------------------------------------------
// Checking a change.

fn bounded(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    value: &str,
    label: &str,
    required: bool,
) -> String {
    let v = value.trim();
    if v.is_empty() {
        if required {
            errors.push(field_error(field, format!("Indiquez {label}.")));
        }
        return String::new();
    }
    if v.chars().count() > TEXT_MAX {
        errors.push(field_error(
            field,
            format!("Raccourcissez {label} : {TEXT_MAX} caractères au plus."),
        ));
    }
    if v.chars().any(|c| c.is_control()) {
        errors.push(field_error(
            field,
            format!("Retirez les caractères invisibles de {label}."),
        ));
    }
    v.to_string()
}

fn code_in(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    value: &str,
    table: Nomenclature,
    what: &str,
) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.push(field_error(
            field,
            format!("Choisissez {what} dans la liste."),
        ));
    } else if !table.is_active(v) {
        errors.push(field_error(
            field,
            format!("Choisissez {what} dans la liste : « {v} » n'en fait pas partie."),
        ));
    }
    v.to_string()
}

/// A typed date `AAAA-MM-JJ` (what a date field sends) as Unix seconds at 00:00 UTC.
pub fn parse_date(typed: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(typed.trim(), &format).ok()?;
    if date.year() < 1900 {
        return None;
    }
    Some(date.midnight().assume_utc().unix_timestamp())
}

const YEAR_SECS: i64 = 366 * 86_400;

fn date_field(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    value: &str,
    what: &str,
    now: i64,
) -> String {
    let v = value.trim();
    match parse_date(v) {
        None if v.is_empty() => {
            errors.push(field_error(field, format!("Indiquez {what}.")));
        }
        None => errors.push(field_error(
            field,
            format!("Indiquez {what} sous la forme JJ/MM/AAAA, un jour qui existe."),
        )),
        Some(t) if (t - now).abs() > YEAR_SECS => errors.push(field_error(
            field,
            format!("Indiquez {what} à moins d'un an d'aujourd'hui."),
        )),
        Some(_) => {}
    }
    v.to_string()
}

async fn active_activity_of(
    store: &Store,
    idnat: &str,
    activity_id: &str,
) -> Result<Option<AnyRow>, RequestError> {
    Ok(sqlx::query(
        "SELECT a.id, a.structure_id, a.profession_code, a.mode_code, a.role_code,
                COALESCE(s.postcode, '') AS postcode
         FROM reg_activity a LEFT JOIN reg_structure s ON s.id = a.structure_id
         WHERE a.idnat = $1 AND a.id = $2 AND a.ended_at IS NULL",
    )
    .bind(idnat)
    .bind(activity_id)
    .fetch_optional(store.pool())
    .await?)
}

/// Checks `change` for the professional `idnat` and returns it normalised (trimmed,
/// identifiers and mobile in their canonical form, the structure found in the registry by
/// its SIRET or FINESS), or every wrong field with what to do. A portal calls it at each
/// step of its forms; [`submit`] calls it again.
pub async fn check(
    store: &Store,
    clock: &dyn Clock,
    idnat: &str,
    change: &Change,
) -> Result<Change, RequestError> {
    let now = clock.unix();
    let mut errors = Vec::new();
    let checked = match change {
        Change::NewActivity(a) => {
            let mut out = NewActivity {
                profession_code: code_in(
                    &mut errors,
                    "profession_code",
                    &a.profession_code,
                    Nomenclature::G15Profession,
                    "la profession",
                ),
                mode_code: code_in(
                    &mut errors,
                    "mode_code",
                    &a.mode_code,
                    Nomenclature::R23ModeExercice,
                    "le mode d'exercice",
                ),
                role_code: code_in(
                    &mut errors,
                    "role_code",
                    &a.role_code,
                    Nomenclature::R21Fonction,
                    "la fonction",
                ),
                start_date: date_field(
                    &mut errors,
                    "start_date",
                    &a.start_date,
                    "la date de début",
                    now,
                ),
                ..NewActivity::default()
            };
            let siret: String = a.siret.chars().filter(|c| !c.is_whitespace()).collect();
            let finess: String = a.finess.chars().filter(|c| !c.is_whitespace()).collect();
            if !siret.is_empty() {
                match Siret::parse(&siret) {
                    Ok(s) => out.siret = s.as_str().to_string(),
                    Err(_) => errors.push(field_error(
                        "siret",
                        "Vérifiez le numéro SIRET : 14 chiffres dont la clé de contrôle (il figure sur l'avis de situation INSEE).",
                    )),
                }
            }
            if !finess.is_empty() {
                match Finess::parse(&finess) {
                    Ok(f) => out.finess = f.as_str().to_string(),
                    Err(_) => errors.push(field_error(
                        "finess",
                        "Vérifiez le numéro FINESS : 9 caractères dont la clé de contrôle.",
                    )),
                }
            }
            // The structure: one the registry knows (by id, FINESS or SIRET) or typed.
            let known = if !a.structure_id.trim().is_empty() {
                sqlx::query("SELECT id, postcode FROM reg_structure WHERE id = $1")
                    .bind(a.structure_id.trim())
                    .fetch_optional(store.pool())
                    .await?
            } else if !out.finess.is_empty() {
                sqlx::query(
                    "SELECT id, postcode FROM reg_structure WHERE finess = $1 ORDER BY id LIMIT 1",
                )
                .bind(&out.finess)
                .fetch_optional(store.pool())
                .await?
            } else if !out.siret.is_empty() {
                sqlx::query(
                    "SELECT id, postcode FROM reg_structure WHERE siret = $1 ORDER BY id LIMIT 1",
                )
                .bind(&out.siret)
                .fetch_optional(store.pool())
                .await?
            } else {
                None
            };
            match known {
                Some(row) => {
                    out.structure_id = row.try_get("id")?;
                    out.postcode = row.try_get("postcode")?;
                }
                None => {
                    if !a.structure_id.trim().is_empty() {
                        errors.push(field_error(
                            "structure_id",
                            "Cette structure n'est plus au répertoire : indiquez son SIRET ou FINESS, ou saisissez-la.",
                        ));
                    }
                    out.name =
                        bounded(&mut errors, "name", &a.name, "le nom de la structure", true);
                    out.address = bounded(
                        &mut errors,
                        "address",
                        &a.address,
                        "l'adresse de la structure",
                        true,
                    );
                    out.city = bounded(&mut errors, "city", &a.city, "la commune", true);
                    let pc = a.postcode.trim();
                    if department_of_postcode(pc).is_empty() {
                        errors.push(field_error(
                            "postcode",
                            "Indiquez le code postal de la structure : 5 chiffres (ex. 75011).",
                        ));
                    }
                    out.postcode = pc.to_string();
                }
            }
            Change::NewActivity(out)
        }
        Change::CeaseActivity(c) => {
            let end_date = date_field(
                &mut errors,
                "end_date",
                &c.end_date,
                "la date de fin d'activité",
                now,
            );
            if active_activity_of(store, idnat, c.activity_id.trim())
                .await?
                .is_none()
            {
                errors.push(field_error(
                    "activity_id",
                    "Choisissez l'activité à cesser parmi vos activités en cours.",
                ));
            }
            Change::CeaseActivity(CeaseActivity {
                activity_id: c.activity_id.trim().to_string(),
                end_date,
            })
        }
        Change::NewProfession(p) => {
            let profession_code = code_in(
                &mut errors,
                "profession_code",
                &p.profession_code,
                Nomenclature::G15Profession,
                "la nouvelle profession",
            );
            let start_date = date_field(
                &mut errors,
                "start_date",
                &p.start_date,
                "la date de début",
                now,
            );
            let activity_id = p.activity_id.trim().to_string();
            if !activity_id.is_empty() {
                match active_activity_of(store, idnat, &activity_id).await? {
                    None => errors.push(field_error(
                        "activity_id",
                        "Choisissez le lieu parmi vos activités en cours, ou « sans lieu d'exercice ».",
                    )),
                    Some(row) => {
                        let current: String = row.try_get("profession_code")?;
                        if current == profession_code {
                            errors.push(field_error(
                                "profession_code",
                                "Vous exercez déjà cette profession à ce lieu : choisissez la nouvelle profession.",
                            ));
                        }
                    }
                }
            }
            Change::NewProfession(NewProfession {
                profession_code,
                activity_id,
                start_date,
            })
        }
        Change::Contact(c) => {
            let email = match Email::parse(&c.email) {
                Ok(e) => e.as_str().to_string(),
                Err(e) => {
                    errors.push(field_error("email", e.to_string()));
                    c.email.trim().to_string()
                }
            };
            let mobile = match Mobile::parse(&c.mobile) {
                Ok(m) => m.as_str().to_string(),
                Err(e) => {
                    errors.push(field_error("mobile", e.to_string()));
                    c.mobile.trim().to_string()
                }
            };
            let address = bounded(
                &mut errors,
                "address",
                &c.address,
                "l'adresse de correspondance (où la carte CPS est envoyée)",
                false,
            );
            Change::Contact(ContactChange {
                email,
                mobile,
                address,
            })
        }
        Change::ExerciseName(n) => Change::ExerciseName(ExerciseName {
            last_name: bounded(
                &mut errors,
                "last_name",
                &n.last_name,
                "le nom d'exercice",
                true,
            ),
            first_name: bounded(
                &mut errors,
                "first_name",
                &n.first_name,
                "le prénom d'exercice",
                true,
            ),
        }),
    };
    if errors.is_empty() {
        Ok(checked)
    } else {
        Err(RequestError::Invalid(errors))
    }
}

/// The department a request goes to: the structure concerned, else the professional's first
/// active activity's.
async fn department_for(
    store: &Store,
    idnat: &str,
    change: &Change,
) -> Result<String, RequestError> {
    let concerned = match change {
        Change::NewActivity(a) => department_of_postcode(&a.postcode),
        Change::CeaseActivity(CeaseActivity { activity_id, .. })
        | Change::NewProfession(NewProfession { activity_id, .. }) => {
            match active_activity_of(store, idnat, activity_id).await? {
                Some(row) => department_of_postcode(&row.try_get::<String, _>("postcode")?),
                None => String::new(),
            }
        }
        Change::Contact(_) | Change::ExerciseName(_) => String::new(),
    };
    if !concerned.is_empty() {
        return Ok(concerned);
    }
    let first: Option<String> = sqlx::query(
        "SELECT s.postcode FROM reg_activity a JOIN reg_structure s ON s.id = a.structure_id
         WHERE a.idnat = $1 AND a.ended_at IS NULL AND s.postcode <> ''
         ORDER BY a.started_at, a.id LIMIT 1",
    )
    .bind(idnat)
    .fetch_optional(store.pool())
    .await?
    .map(|r| r.try_get(0))
    .transpose()?;
    Ok(first
        .map(|pc| department_of_postcode(&pc))
        .unwrap_or_default())
}

// ---------------------------------------------------------------------------------------
// Rows.

const COLUMNS: &str = "id, idnat, kind, state, change_json, department, reason, created_at,
    updated_at, submitted_at, decided_at, decided_by, applied_at";

fn from_row(r: &AnyRow) -> Result<Request, RequestError> {
    let state: String = r.try_get("state")?;
    let kind: String = r.try_get("kind")?;
    let json: String = r.try_get("change_json")?;
    let change: Change = serde_json::from_str(&json)
        .map_err(|e| RequestError::BadInput(format!("demande illisible en base : {e}")))?;
    Ok(Request {
        id: r.try_get("id")?,
        idnat: r.try_get("idnat")?,
        kind: RequestKind::parse(&kind)
            .ok_or_else(|| RequestError::BadInput(format!("type inconnu en base : {kind}")))?,
        state: RequestState::parse(&state)
            .ok_or_else(|| RequestError::BadInput(format!("état inconnu en base : {state}")))?,
        change,
        department: r.try_get("department")?,
        reason: r.try_get("reason")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        submitted_at: r.try_get("submitted_at")?,
        decided_at: r.try_get("decided_at")?,
        decided_by: r.try_get("decided_by")?,
        applied_at: r.try_get("applied_at")?,
        events: Vec::new(),
        fields: Vec::new(),
    })
}

fn change_json(change: &Change) -> Result<String, RequestError> {
    serde_json::to_string(change).map_err(|e| RequestError::BadInput(e.to_string()))
}

async fn add_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    from: Option<RequestState>,
    to: RequestState,
    actor: &str,
    note: &str,
    at: i64,
) -> Result<(), RequestError> {
    let seq: i64 = sqlx::query(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM reg_request_event WHERE request_id = $1",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    sqlx::query(
        "INSERT INTO reg_request_event (request_id, seq, from_state, to_state, actor, note, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(seq)
    .bind(from.map(RequestState::as_str))
    .bind(to.as_str())
    .bind(actor)
    .bind(note)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn audit_state(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    now: i64,
    actor: &str,
    req: &Request,
    from: Option<RequestState>,
    to: RequestState,
) -> Result<(), RequestError> {
    // Ids, kind and states only: the change's texts are personal data the append-only trail
    // must not copy.
    audit::record(
        &mut **tx,
        now,
        &AuditEvent {
            actor,
            action: "registry.request.state",
            subject: Some(&req.idnat),
            details: serde_json::json!({
                "request": req.id,
                "kind": req.kind.as_str(),
                "from": from.map(RequestState::as_str),
                "to": to.as_str(),
            }),
            request_id: None,
        },
    )
    .await?;
    Ok(())
}

async fn events_of(store: &Store, id: &str) -> Result<Vec<RequestEvent>, RequestError> {
    sqlx::query(
        "SELECT from_state, to_state, actor, note, at FROM reg_request_event
         WHERE request_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| -> Result<RequestEvent, RequestError> {
        let from: Option<String> = r.try_get("from_state")?;
        let to: String = r.try_get("to_state")?;
        Ok(RequestEvent {
            from: from.as_deref().and_then(RequestState::parse),
            to: RequestState::parse(&to)
                .ok_or_else(|| RequestError::BadInput(format!("état inconnu en base : {to}")))?,
            actor: r.try_get("actor")?,
            note: r.try_get("note")?,
            at: r.try_get("at")?,
        })
    })
    .collect()
}

async fn person_known(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    idnat: &str,
) -> Result<bool, RequestError> {
    Ok(sqlx::query("SELECT 1 FROM reg_person WHERE idnat = $1")
        .bind(idnat)
        .fetch_optional(&mut **tx)
        .await?
        .is_some())
}

async fn open_count(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    idnat: &str,
) -> Result<i64, RequestError> {
    Ok(sqlx::query(
        "SELECT COUNT(*) FROM reg_request WHERE idnat = $1 AND state IN ('draft', 'submitted')",
    )
    .bind(idnat)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?)
}

// ---------------------------------------------------------------------------------------
// The professional's side.

/// Saves `change` as typed (no check) as the professional's draft of its kind: updates the
/// open draft of that kind, or creates one. A restart, another node, another day: the
/// draft is there until submitted.
pub async fn save_draft(
    store: &Store,
    clock: &dyn Clock,
    idnat: &str,
    change: &Change,
    actor: &str,
) -> Result<Request, RequestError> {
    let now = clock.unix();
    let json = change_json(change)?;
    if json.len() > 8 * TEXT_MAX * 4 {
        return Err(RequestError::BadInput(
            "la demande est trop longue : raccourcissez les champs".into(),
        ));
    }
    let kind = change.kind();
    let mut tx = store.begin().await?;
    if !person_known(&mut tx, idnat).await? {
        return Err(RequestError::UnknownPerson(idnat.to_string()));
    }
    let existing = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reg_request WHERE idnat = $1 AND kind = $2 AND state = 'draft'
         ORDER BY created_at, id LIMIT 1"
    ))
    .bind(idnat)
    .bind(kind.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let request = match existing {
        Some(row) => {
            let mut req = from_row(&row)?;
            sqlx::query(
                "UPDATE reg_request SET change_json = $1, updated_at = $2
                 WHERE id = $3 AND state = 'draft'",
            )
            .bind(&json)
            .bind(now)
            .bind(&req.id)
            .execute(&mut *tx)
            .await?;
            req.change = change.clone();
            req.updated_at = now;
            req
        }
        None => {
            let open = open_count(&mut tx, idnat).await?;
            if open >= OPEN_MAX_PER_PERSON {
                return Err(RequestError::TooManyOpen(open));
            }
            let id = uuid::Uuid::now_v7().to_string();
            sqlx::query(
                "INSERT INTO reg_request (id, idnat, kind, state, change_json, department, reason,
                    created_at, updated_at)
                 VALUES ($1, $2, $3, 'draft', $4, '', '', $5, $5)",
            )
            .bind(&id)
            .bind(idnat)
            .bind(kind.as_str())
            .bind(&json)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            add_event(&mut tx, &id, None, RequestState::Draft, actor, "", now).await?;
            let req = Request {
                id,
                idnat: idnat.to_string(),
                kind,
                state: RequestState::Draft,
                change: change.clone(),
                department: String::new(),
                reason: String::new(),
                created_at: now,
                updated_at: now,
                submitted_at: None,
                decided_at: None,
                decided_by: None,
                applied_at: None,
                events: Vec::new(),
                fields: Vec::new(),
            };
            audit_state(&mut tx, now, actor, &req, None, RequestState::Draft).await?;
            req
        }
    };
    tx.commit().await?;
    Ok(request)
}

/// The professional's open draft of `kind`, if any.
pub async fn draft_for(
    store: &Store,
    idnat: &str,
    kind: RequestKind,
) -> Result<Option<Request>, RequestError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reg_request WHERE idnat = $1 AND kind = $2 AND state = 'draft'
         ORDER BY created_at, id LIMIT 1"
    ))
    .bind(idnat)
    .bind(kind.as_str())
    .fetch_optional(store.pool())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Deletes the professional's draft `id` (they gave up); a submitted request cannot be.
pub async fn discard_draft(
    store: &Store,
    clock: &dyn Clock,
    idnat: &str,
    id: &str,
    actor: &str,
) -> Result<(), RequestError> {
    let now = clock.unix();
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM reg_request_event WHERE request_id = $1 AND request_id IN (SELECT id FROM reg_request WHERE id = $1 AND idnat = $2 AND state = 'draft')")
        .bind(id)
        .bind(idnat)
        .execute(&mut *tx)
        .await?;
    let done =
        sqlx::query("DELETE FROM reg_request WHERE id = $1 AND idnat = $2 AND state = 'draft'")
            .bind(id)
            .bind(idnat)
            .execute(&mut *tx)
            .await?;
    if done.rows_affected() != 1 {
        return Err(RequestError::NotFound(id.to_string()));
    }
    audit::record(
        &mut *tx,
        now,
        &AuditEvent {
            actor,
            action: "registry.request.draft_discarded",
            subject: Some(idnat),
            details: serde_json::json!({ "request": id }),
            request_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Checks and submits the professional's draft `id` (with `change`, the last typed state,
/// when given): it goes to the agencies' queue of its department.
pub async fn submit(
    store: &Store,
    clock: &dyn Clock,
    idnat: &str,
    id: &str,
    actor: &str,
) -> Result<Request, RequestError> {
    let Some(mut req) = get_row(store, id).await?.filter(|r| r.idnat == idnat) else {
        return Err(RequestError::NotFound(id.to_string()));
    };
    if req.state != RequestState::Draft {
        return Err(RequestError::Transition {
            from: req.state,
            to: RequestState::Submitted,
        });
    }
    let checked = check(store, clock, idnat, &req.change).await?;
    let department = department_for(store, idnat, &checked).await?;
    let now = clock.unix();
    let mut tx = store.begin().await?;
    let done = sqlx::query(
        "UPDATE reg_request SET state = 'submitted', change_json = $1, department = $2,
            submitted_at = $3, updated_at = $3
         WHERE id = $4 AND state = 'draft'",
    )
    .bind(change_json(&checked)?)
    .bind(&department)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(RequestError::Transition {
            from: RequestState::Submitted,
            to: RequestState::Submitted,
        });
    }
    add_event(
        &mut tx,
        id,
        Some(RequestState::Draft),
        RequestState::Submitted,
        actor,
        "",
        now,
    )
    .await?;
    audit_state(
        &mut tx,
        now,
        actor,
        &req,
        Some(RequestState::Draft),
        RequestState::Submitted,
    )
    .await?;
    tx.commit().await?;
    req.state = RequestState::Submitted;
    req.change = checked;
    req.department = department;
    req.submitted_at = Some(now);
    req.updated_at = now;
    Ok(req)
}

/// Every request of `idnat` with its events, newest first (drafts included): what the
/// professional follows.
pub async fn history_for(store: &Store, idnat: &str) -> Result<Vec<Request>, RequestError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reg_request WHERE idnat = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(idnat)
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut req = from_row(r)?;
        req.events = events_of(store, &req.id).await?;
        out.push(req);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// The agencies' side.

/// The submitted requests of `departments` (all of them when the list holds `*`), oldest
/// first: first come, first served.
pub async fn queue(
    store: &Store,
    departments: &[String],
) -> Result<Vec<RequestSummary>, RequestError> {
    if departments.is_empty() {
        return Ok(Vec::new());
    }
    let all = departments.iter().any(|d| d == "*");
    let mut sql = String::from(
        "SELECT r.id, r.idnat, r.kind, r.submitted_at, r.department,
                COALESCE(p.last_name, '') AS last_name, COALESCE(p.first_name, '') AS first_name
         FROM reg_request r LEFT JOIN reg_person p ON p.idnat = r.idnat
         WHERE r.state = 'submitted'",
    );
    if !all {
        let list: Vec<String> = (1..=departments.len()).map(|i| format!("${i}")).collect();
        sql.push_str(&format!(" AND r.department IN ({})", list.join(", ")));
    }
    sql.push_str(" ORDER BY r.submitted_at, r.id");
    let mut q = sqlx::query(&sql);
    if !all {
        for d in departments {
            q = q.bind(d.as_str());
        }
    }
    q.fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| -> Result<RequestSummary, RequestError> {
            let kind: String = r.try_get("kind")?;
            let last: String = r.try_get("last_name")?;
            let first: String = r.try_get("first_name")?;
            Ok(RequestSummary {
                id: r.try_get("id")?,
                idnat: r.try_get("idnat")?,
                person_name: format!("{last} {first}").trim().to_string(),
                kind: RequestKind::parse(&kind).ok_or_else(|| {
                    RequestError::BadInput(format!("type inconnu en base : {kind}"))
                })?,
                submitted_at: r.try_get::<Option<i64>, _>("submitted_at")?.unwrap_or(0),
                department: r.try_get("department")?,
            })
        })
        .collect()
}

async fn get_row(store: &Store, id: &str) -> Result<Option<Request>, RequestError> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM reg_request WHERE id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// One request with its events and its change field by field (the registry's current
/// values beside the asked ones).
pub async fn get(store: &Store, id: &str) -> Result<Option<Request>, RequestError> {
    let Some(mut req) = get_row(store, id).await? else {
        return Ok(None);
    };
    req.events = events_of(store, id).await?;
    req.fields = describe(store, &req.idnat, &req.change).await?;
    Ok(Some(req))
}

fn label_of(table: Nomenclature, code: &str) -> String {
    match table.display(code) {
        Some(d) => format!("{d} ({code})"),
        None => code.to_string(),
    }
}

/// "Profession, structure, postcode city" of an activity, for an agent's eyes.
async fn activity_text(store: &Store, idnat: &str, id: &str) -> Result<String, RequestError> {
    let row = sqlx::query(
        "SELECT a.profession_label, COALESCE(s.name, '') AS name, COALESCE(s.postcode, '') AS postcode,
                COALESCE(s.commune, '') AS commune
         FROM reg_activity a LEFT JOIN reg_structure s ON s.id = a.structure_id
         WHERE a.idnat = $1 AND a.id = $2",
    )
    .bind(idnat)
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    Ok(match row {
        Some(r) => {
            let parts: Vec<String> = ["profession_label", "name", "postcode", "commune"]
                .iter()
                .map(|c| r.try_get::<String, _>(*c))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect();
            parts.join(", ")
        }
        None => id.to_string(),
    })
}

fn line(label: &'static str, before: impl Into<String>, after: impl Into<String>) -> ChangeField {
    ChangeField {
        label,
        before: before.into(),
        after: after.into(),
    }
}

/// `AAAA-MM-JJ` as `JJ/MM/AAAA`; anything else as it is.
fn fr_date(iso: &str) -> String {
    match iso.split('-').collect::<Vec<_>>().as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => format!("{d}/{m}/{y}"),
        _ => iso.to_string(),
    }
}

/// The change field by field, with what the registry holds now where it has a value.
pub async fn describe(
    store: &Store,
    idnat: &str,
    change: &Change,
) -> Result<Vec<ChangeField>, RequestError> {
    Ok(match change {
        Change::NewActivity(a) => {
            let mut out = Vec::new();
            if !a.structure_id.is_empty() {
                let s =
                    sqlx::query("SELECT name, postcode, commune FROM reg_structure WHERE id = $1")
                        .bind(&a.structure_id)
                        .fetch_optional(store.pool())
                        .await?;
                let text = match s {
                    Some(r) => format!(
                        "{}, {} {}",
                        r.try_get::<String, _>("name")?,
                        r.try_get::<String, _>("postcode")?,
                        r.try_get::<String, _>("commune")?
                    ),
                    None => a.structure_id.clone(),
                };
                out.push(line("Structure (au répertoire)", "", text));
            } else {
                out.push(line("Nom de la structure", "", a.name.clone()));
                out.push(line("Adresse", "", a.address.clone()));
                out.push(line("Code postal", "", a.postcode.clone()));
                out.push(line("Commune", "", a.city.clone()));
            }
            if !a.siret.is_empty() {
                out.push(line("SIRET", "", a.siret.clone()));
            }
            if !a.finess.is_empty() {
                out.push(line("FINESS", "", a.finess.clone()));
            }
            out.push(line(
                "Profession",
                "",
                label_of(Nomenclature::G15Profession, &a.profession_code),
            ));
            out.push(line(
                "Mode d'exercice",
                "",
                label_of(Nomenclature::R23ModeExercice, &a.mode_code),
            ));
            out.push(line(
                "Fonction",
                "",
                label_of(Nomenclature::R21Fonction, &a.role_code),
            ));
            out.push(line("Date de début", "", fr_date(&a.start_date)));
            out
        }
        Change::CeaseActivity(c) => vec![
            line(
                "Activité",
                activity_text(store, idnat, &c.activity_id).await?,
                "",
            ),
            line("Date de fin", "", fr_date(&c.end_date)),
        ],
        Change::NewProfession(p) => {
            let place = if p.activity_id.is_empty() {
                "sans lieu d'exercice".to_string()
            } else {
                activity_text(store, idnat, &p.activity_id).await?
            };
            vec![
                line(
                    "Nouvelle profession",
                    "",
                    label_of(Nomenclature::G15Profession, &p.profession_code),
                ),
                line("Lieu", "", place),
                line("Date de début", "", fr_date(&p.start_date)),
            ]
        }
        Change::Contact(c) => {
            let now =
                sqlx::query("SELECT email, mobile, address FROM reg_contact WHERE idnat = $1")
                    .bind(idnat)
                    .fetch_optional(store.pool())
                    .await?;
            let (e, m, a) = match now {
                Some(r) => (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?),
                None => (String::new(), String::new(), String::new()),
            };
            vec![
                line("Adresse e-mail", e, c.email.clone()),
                line("Téléphone mobile", m, c.mobile.clone()),
                line(
                    "Adresse de correspondance",
                    a.clone(),
                    if c.address.is_empty() {
                        a
                    } else {
                        c.address.clone()
                    },
                ),
            ]
        }
        Change::ExerciseName(n) => {
            let now = sqlx::query("SELECT last_name, first_name FROM reg_person WHERE idnat = $1")
                .bind(idnat)
                .fetch_optional(store.pool())
                .await?;
            let (l, f) = match now {
                Some(r) => (r.try_get(0)?, r.try_get(1)?),
                None => (String::new(), String::new()),
            };
            vec![
                line("Nom d'exercice", l, n.last_name.clone()),
                line("Prénom d'exercice", f, n.first_name.clone()),
            ]
        }
    })
}

/// An agent decides a submitted request: approved (the change reaches the registry after
/// the propagation delay, [`apply_due`]) or rejected with a reason (required). The
/// professional is e-mailed the decision (registry e-mail, when there is one) through the
/// outbox, in the same transaction; an approval says when the change becomes visible
/// (`delay_secs`, the `[registry] propagation_delay_secs` that [`apply_due`] is run with).
pub async fn decide(
    store: &Store,
    clock: &dyn Clock,
    id: &str,
    actor: &str,
    decision: Decision,
    delay_secs: i64,
) -> Result<Request, RequestError> {
    let (to, reason) = match &decision {
        Decision::Approve => (RequestState::Approved, String::new()),
        Decision::Reject { reason } => {
            let r = reason.trim();
            if r.is_empty() {
                return Err(RequestError::ReasonRequired);
            }
            if r.chars().count() > 2000 {
                return Err(RequestError::BadInput(
                    "le motif : 2000 caractères au plus".into(),
                ));
            }
            (RequestState::Rejected, r.to_string())
        }
    };
    let Some(mut req) = get_row(store, id).await? else {
        return Err(RequestError::NotFound(id.to_string()));
    };
    if !req.state.can_move_to(to) {
        return Err(RequestError::Transition {
            from: req.state,
            to,
        });
    }
    let now = clock.unix();
    let mut tx = store.begin().await?;
    let done = sqlx::query(
        "UPDATE reg_request SET state = $1, reason = $2, decided_at = $3, decided_by = $4,
            updated_at = $3
         WHERE id = $5 AND state = 'submitted'",
    )
    .bind(to.as_str())
    .bind(&reason)
    .bind(now)
    .bind(actor)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        drop(tx);
        let now_state = get_row(store, id).await?.map(|r| r.state).unwrap_or(to);
        return Err(RequestError::Transition {
            from: now_state,
            to,
        });
    }
    add_event(
        &mut tx,
        id,
        Some(RequestState::Submitted),
        to,
        actor,
        &reason,
        now,
    )
    .await?;
    audit_state(&mut tx, now, actor, &req, Some(RequestState::Submitted), to).await?;
    let email: Option<String> = sqlx::query("SELECT email FROM reg_contact WHERE idnat = $1")
        .bind(&req.idnat)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    match email.as_deref().map(Email::parse) {
        Some(Ok(to_addr)) => {
            let message = OutgoingMessage::email(
                to_addr,
                Template::RequestDecided {
                    portal: PORTAL_NAME.to_string(),
                    request: req.kind.label_fr().to_string(),
                    decision: match &decision {
                        Decision::Approve => caducee_notify::Decision::Approved { delay_secs },
                        Decision::Reject { .. } => caducee_notify::Decision::Rejected {
                            reason: reason.clone(),
                        },
                    },
                    link: None,
                },
            );
            caducee_notify::enqueue(&mut tx, clock, &message).await?;
        }
        _ => tracing::info!(
            request = %id,
            "décision non envoyée par e-mail : pas d'adresse e-mail au répertoire"
        ),
    }
    tx.commit().await?;
    req.state = to;
    req.reason = reason;
    req.decided_at = Some(now);
    req.decided_by = Some(actor.to_string());
    req.updated_at = now;
    Ok(req)
}

/// Files a change already validated elsewhere (REG-12: coordinates proven through
/// FranceConnect) as an approved request by `actor`: it reaches the registry after the
/// propagation delay like any approved change. The change is checked first.
pub async fn file_approved(
    store: &Store,
    clock: &dyn Clock,
    idnat: &str,
    change: &Change,
    actor: &str,
) -> Result<Request, RequestError> {
    let checked = check(store, clock, idnat, change).await?;
    let department = department_for(store, idnat, &checked).await?;
    let now = clock.unix();
    let id = uuid::Uuid::now_v7().to_string();
    let mut tx = store.begin().await?;
    if !person_known(&mut tx, idnat).await? {
        return Err(RequestError::UnknownPerson(idnat.to_string()));
    }
    sqlx::query(
        "INSERT INTO reg_request (id, idnat, kind, state, change_json, department, reason,
            created_at, updated_at, submitted_at, decided_at, decided_by)
         VALUES ($1, $2, $3, 'approved', $4, $5, '', $6, $6, $6, $6, $7)",
    )
    .bind(&id)
    .bind(idnat)
    .bind(checked.kind().as_str())
    .bind(change_json(&checked)?)
    .bind(&department)
    .bind(now)
    .bind(actor)
    .execute(&mut *tx)
    .await?;
    add_event(&mut tx, &id, None, RequestState::Submitted, actor, "", now).await?;
    add_event(
        &mut tx,
        &id,
        Some(RequestState::Submitted),
        RequestState::Approved,
        actor,
        "",
        now,
    )
    .await?;
    let req = Request {
        id,
        idnat: idnat.to_string(),
        kind: checked.kind(),
        state: RequestState::Approved,
        change: checked,
        department,
        reason: String::new(),
        created_at: now,
        updated_at: now,
        submitted_at: Some(now),
        decided_at: Some(now),
        decided_by: Some(actor.to_string()),
        applied_at: None,
        events: Vec::new(),
        fields: Vec::new(),
    };
    audit_state(&mut tx, now, actor, &req, None, RequestState::Approved).await?;
    tx.commit().await?;
    Ok(req)
}

// ---------------------------------------------------------------------------------------
// Applying approved changes.

/// Applies every approved request whose delay passed (`decided_at + delay_secs <= now`),
/// oldest decision first, each in one transaction (registry rows, search index, state
/// `applied`, event, audit). Returns how many were applied. Safe on several nodes at once:
/// the conditional `UPDATE … WHERE state = 'approved'` lets one of them apply a request.
pub async fn apply_due(
    store: &Store,
    clock: &dyn Clock,
    delay_secs: i64,
) -> Result<usize, RequestError> {
    let now = clock.unix();
    let due = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reg_request
         WHERE state = 'approved' AND decided_at <= $1 ORDER BY decided_at, id LIMIT 200"
    ))
    .bind(now.saturating_sub(delay_secs))
    .fetch_all(store.pool())
    .await?;
    let mut applied = 0;
    for row in &due {
        let req = from_row(row)?;
        if apply_one(store, now, &req).await? {
            applied += 1;
        }
    }
    Ok(applied)
}

async fn apply_one(store: &Store, now: i64, req: &Request) -> Result<bool, RequestError> {
    let mut tx = store.begin().await?;
    let done = sqlx::query(
        "UPDATE reg_request SET state = 'applied', applied_at = $1, updated_at = $1
         WHERE id = $2 AND state = 'approved'",
    )
    .bind(now)
    .bind(&req.id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        // Another node applied it first.
        return Ok(false);
    }
    write_change(&mut tx, store, now, req).await?;
    add_event(
        &mut tx,
        &req.id,
        Some(RequestState::Approved),
        RequestState::Applied,
        "system:propagation",
        "",
        now,
    )
    .await?;
    audit_state(
        &mut tx,
        now,
        "system:propagation",
        req,
        Some(RequestState::Approved),
        RequestState::Applied,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

fn short_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(&h.finalize()[..8])
}

fn label(table: Nomenclature, code: &str) -> String {
    table.display(code).unwrap_or_default().to_string()
}

/// Inserts the activity of an applied request (a new activity or a new profession).
#[allow(clippy::too_many_arguments)]
async fn insert_activity(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    req: &Request,
    structure_id: &str,
    profession: &str,
    mode: &str,
    role: &str,
    started_at: i64,
    now: i64,
) -> Result<(), RequestError> {
    // The person's category for that profession when known, else civil.
    let category: String = sqlx::query(
        "SELECT category_code FROM reg_activity WHERE idnat = $1 AND profession_code = $2
         AND category_code <> '' ORDER BY started_at LIMIT 1",
    )
    .bind(&req.idnat)
    .bind(profession)
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| r.try_get(0))
    .transpose()?
    .unwrap_or_else(|| "C".to_string());
    let id = format!("{}:r{}", req.idnat, short_hash(&[&req.id]));
    sqlx::query(
        "INSERT INTO reg_activity (id, idnat, structure_id, profession_code, profession_label,
            category_code, category_label, mode_code, mode_label, role_code, role_label,
            genre_code, genre_label, row_hash, seen_run, started_at, ended_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'GENR01', $12, '', $13, $14, NULL, $15)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&id)
    .bind(&req.idnat)
    .bind(structure_id)
    .bind(profession)
    .bind(label(Nomenclature::G15Profession, profession))
    .bind(&category)
    .bind(label(Nomenclature::R09CategorieProfessionnelle, &category))
    .bind(mode)
    .bind(label(Nomenclature::R23ModeExercice, mode))
    .bind(role)
    .bind(label(Nomenclature::R21Fonction, role))
    .bind(label(Nomenclature::R22GenreActivite, "GENR01"))
    .bind(format!("request:{}", req.id))
    .bind(started_at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_change(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    store: &Store,
    now: i64,
    req: &Request,
) -> Result<(), RequestError> {
    let idnat = req.idnat.as_str();
    match &req.change {
        Change::NewActivity(a) => {
            let structure_id = if !a.structure_id.is_empty() {
                a.structure_id.clone()
            } else {
                let id = if !a.finess.is_empty() {
                    format!("F{}", a.finess)
                } else if !a.siret.is_empty() {
                    format!("C{}", a.siret)
                } else {
                    format!(
                        "X{}",
                        short_hash(&[&a.name, &a.address, &a.postcode, &a.city])
                    )
                };
                let dept = department_of_postcode(&a.postcode);
                let row_hash = short_hash(&[
                    &a.name,
                    &a.address,
                    &a.postcode,
                    &a.city,
                    &a.siret,
                    &a.finess,
                ]);
                let siren = a.siret.get(..9).unwrap_or_default();
                let inserted = sqlx::query(
                    "INSERT INTO reg_structure (id, siret, siren, finess, name, street_name,
                        postcode, commune, dept_code, row_hash, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(&id)
                .bind(&a.siret)
                .bind(siren)
                .bind(&a.finess)
                .bind(&a.name)
                .bind(&a.address)
                .bind(&a.postcode)
                .bind(&a.city)
                .bind(&dept)
                .bind(&row_hash)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                if inserted.rows_affected() == 1 {
                    search::index_structures(
                        &mut **tx,
                        store.dialect(),
                        now,
                        &[search::StructureEntry {
                            id: &id,
                            name: &a.name,
                            trade_name: "",
                            commune: &a.city,
                            cedex: "",
                            postcode: &a.postcode,
                            dept: &dept,
                            sector: "",
                            finess: &a.finess,
                            siret: &a.siret,
                            row_hash: &row_hash,
                        }],
                    )
                    .await?;
                }
                id
            };
            let started = parse_date(&a.start_date).unwrap_or(now);
            insert_activity(
                tx,
                req,
                &structure_id,
                &a.profession_code,
                &a.mode_code,
                &a.role_code,
                started,
                now,
            )
            .await?;
        }
        Change::CeaseActivity(c) => {
            let ended = parse_date(&c.end_date).unwrap_or(now);
            sqlx::query(
                "UPDATE reg_activity SET ended_at = $1, updated_at = $2
                 WHERE idnat = $3 AND id = $4 AND ended_at IS NULL",
            )
            .bind(ended)
            .bind(now)
            .bind(idnat)
            .bind(&c.activity_id)
            .execute(&mut **tx)
            .await?;
        }
        Change::NewProfession(p) => {
            let place = if p.activity_id.is_empty() {
                None
            } else {
                sqlx::query(
                    "SELECT structure_id, mode_code, role_code FROM reg_activity
                     WHERE idnat = $1 AND id = $2",
                )
                .bind(idnat)
                .bind(&p.activity_id)
                .fetch_optional(&mut **tx)
                .await?
            };
            let (structure_id, mode, role) = match place {
                Some(r) => (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?),
                None => (String::new(), String::new(), String::new()),
            };
            let started = parse_date(&p.start_date).unwrap_or(now);
            insert_activity(
                tx,
                req,
                &structure_id,
                &p.profession_code,
                &mode,
                &role,
                started,
                now,
            )
            .await?;
        }
        Change::Contact(c) => {
            sqlx::query(
                "INSERT INTO reg_contact (idnat, email, mobile, address, updated_at, updated_by)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (idnat) DO UPDATE SET email = excluded.email, mobile = excluded.mobile,
                   address = CASE WHEN excluded.address = '' THEN reg_contact.address
                                  ELSE excluded.address END,
                   updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(idnat)
            .bind(&c.email)
            .bind(&c.mobile)
            .bind(&c.address)
            .bind(now)
            .bind(format!("request:{}", req.id))
            .execute(&mut **tx)
            .await?;
        }
        Change::ExerciseName(n) => {
            sqlx::query(
                "UPDATE reg_person SET last_name = $1, first_name = $2, updated_at = $3
                 WHERE idnat = $4",
            )
            .bind(&n.last_name)
            .bind(&n.first_name)
            .bind(now)
            .bind(idnat)
            .execute(&mut **tx)
            .await?;
            search::index_persons(
                &mut **tx,
                store.dialect(),
                now,
                &[search::PersonEntry {
                    idnat,
                    last_name: &n.last_name,
                    first_name: &n.first_name,
                }],
                true,
            )
            .await?;
        }
    }
    sqlx::query("UPDATE reg_person SET updated_at = $1 WHERE idnat = $2")
        .bind(now)
        .bind(idnat)
        .execute(&mut **tx)
        .await?;
    // The directory's Practitioner shows the index's last_updated: the person changed now.
    if !matches!(req.change, Change::Contact(_)) {
        search::touch_persons(&mut **tx, now, &[idnat]).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reg_06_only_the_request_transitions_are_allowed() {
        use RequestState::*;
        let all = [Draft, Submitted, Approved, Rejected, Applied];
        let allowed = [
            (Draft, Submitted),
            (Submitted, Approved),
            (Submitted, Rejected),
            (Approved, Applied),
        ];
        for from in all {
            for to in all {
                assert_eq!(from.can_move_to(to), allowed.contains(&(from, to)));
            }
            assert_eq!(RequestState::parse(from.as_str()), Some(from));
        }
        for k in RequestKind::ALL {
            assert_eq!(RequestKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn reg_06_the_department_comes_from_the_postcode() {
        assert_eq!(department_of_postcode("75011"), "75");
        assert_eq!(department_of_postcode("01000"), "01");
        assert_eq!(department_of_postcode("20000"), "2A");
        assert_eq!(department_of_postcode("20167"), "2A");
        assert_eq!(department_of_postcode("20200"), "2B");
        assert_eq!(department_of_postcode("97110"), "971");
        assert_eq!(department_of_postcode("97400"), "974");
        assert_eq!(department_of_postcode("7501"), "");
        assert_eq!(department_of_postcode("ABCDE"), "");
    }

    #[test]
    fn reg_06_dates_read_the_french_way() {
        assert_eq!(fr_date("2026-12-01"), "01/12/2026");
        assert_eq!(fr_date("demain"), "demain");
    }
}
