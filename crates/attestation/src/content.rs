//! What an attestation states (the signed payload): the professional as the registry knows
//! them on the day of issue. Only what the public directory shows already (names, number,
//! professions, active activities' places), so that the verification page reveals nothing
//! more than the document itself.

use caducee_core::nomenclature::Nomenclature;
use caducee_registry::queries::Professional;
use serde::{Deserialize, Serialize};

/// A time as the page's reader says it, in Paris time: "01/12/2026 à 10:30",
/// "01/12/2026 at 10:30".
pub fn when(tr: &caducee_pages::Tr, unix: i64) -> String {
    let dt = caducee_core::date_fr::date_time(unix);
    let (date, time) = dt.split_once(" à ").unwrap_or((dt.as_str(), ""));
    tr.t_with(
        "att-date-time",
        &[
            ("date", caducee_pages::Arg::from(date.to_string())),
            ("time", caducee_pages::Arg::from(time.to_string())),
        ],
    )
}

/// Version of the payload's shape.
pub const PAYLOAD_VERSION: u32 = 1;

/// The signed content of an attestation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Attested {
    pub v: u32,
    /// The public URL of the issuing instance.
    pub iss: String,
    /// The verification code (`/verifier/{code}`).
    pub code: String,
    /// idNat_PS: `8` + RPPS, or `0` + ADELI.
    pub id_nat: String,
    /// `8` (RPPS) or `0` (ADELI).
    pub id_type: String,
    /// The RPPS (or ADELI) number.
    pub identifier: String,
    /// Civility of exercise ("Docteur"), else civility ("Madame"), as the registry labels it.
    pub civility: String,
    /// Exercise first name and name (nom d'exercice, REG-02).
    pub first_name: String,
    pub last_name: String,
    /// Profession labels (TRE_G15).
    pub professions: Vec<String>,
    pub activities: Vec<AttestedActivity>,
    /// Unix seconds.
    pub issued_at: i64,
}

/// One activity in progress on the day of issue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AttestedActivity {
    pub profession: String,
    /// Libéral, salarié…
    pub mode: String,
    /// The structure's name (or trade name).
    pub structure: String,
    /// Postcode and town.
    pub place: String,
}

impl Attested {
    /// The person's name as printed: civility, first name, name.
    pub fn display_name(&self) -> String {
        [
            self.civility.as_str(),
            self.first_name.as_str(),
            self.last_name.as_str(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// Whether the number is an RPPS number (else ADELI).
    pub fn is_rpps(&self) -> bool {
        self.id_type == "8"
    }

    /// The content of `p`'s attestation of code `code`, issued at `now` by `iss`.
    pub fn of(p: &Professional, iss: &str, code: &str, now: i64) -> Attested {
        let label = |code: &str, fallback: &str| {
            Nomenclature::G15Profession
                .display(code)
                .map(str::to_string)
                .unwrap_or_else(|| fallback.to_string())
        };
        let professions = p
            .professions
            .iter()
            .filter(|x| !x.profession.code.is_empty())
            .map(|x| label(&x.profession.code, &x.profession.label))
            .collect();
        let activities = p
            .activities
            .iter()
            .filter(|a| a.active)
            .map(|a| {
                let (structure, place) = match &a.structure {
                    Some(s) => (
                        if s.name.is_empty() {
                            s.trade_name.clone()
                        } else {
                            s.name.clone()
                        },
                        [s.postcode.as_str(), s.city.as_str()]
                            .into_iter()
                            .filter(|x| !x.is_empty())
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                    None => (String::new(), String::new()),
                };
                AttestedActivity {
                    profession: label(&a.profession.code, &a.profession.label),
                    mode: a.mode.label.clone(),
                    structure,
                    place,
                }
            })
            .collect();
        let civility = if p.exercise_civility.label.is_empty() {
            p.civility.label.clone()
        } else {
            p.exercise_civility.label.clone()
        };
        Attested {
            v: PAYLOAD_VERSION,
            iss: iss.to_string(),
            code: code.to_string(),
            id_nat: p.id_nat.clone(),
            id_type: p.id_type.clone(),
            identifier: p.identifier.clone(),
            civility,
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            professions,
            activities,
            issued_at: now,
        }
    }
}
