//! The first step of creation and recovery (ACC-01, ACC-05): birth date (JJ/MM/AAAA) +
//! RPPS number + acceptance of the terms, checked against the registry.
//!
//! The seed gives each outcome its blocking message, so the answer does tell whether a
//! (birth date, RPPS) pair belongs to someone: the checks are therefore limited per source
//! and per RPPS in the database (a birth date is one of ~36,500 values; without a limit it
//! would be found by trying them all).

use super::Form;
use crate::{PortalConfig, PortalError};
use caducee_core::ids::Rpps;
use caducee_registry::queries;
use caducee_store::throttle::{Limit, Verdict};
use caducee_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Checks from one source per hour, all RPPS numbers together.
const CHECKS_PER_SOURCE: Limit = Limit::new("portals.identity.source", 30, 3600);
/// Checks of one RPPS number per hour, all sources together.
const CHECKS_PER_RPPS: Limit = Limit::new("portals.identity.rpps", 10, 3600);

/// What the form holds, as typed (a flow keeps it, so nothing typed is lost on an error).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Typed {
    pub birth_date: String,
    pub rpps: String,
    pub terms: bool,
}

impl Typed {
    pub fn from_form(form: &Form) -> Typed {
        Typed {
            birth_date: form.trimmed("date_naissance").to_string(),
            rpps: form.trimmed("rpps").to_string(),
            terms: form.checked("cgu"),
        }
    }
}

/// A format error per field (catalogue keys), before any lookup.
pub(crate) fn field_errors(typed: &Typed, today: chrono::NaiveDate) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    match parse_birth_date(&typed.birth_date, today) {
        Ok(_) => {}
        Err(key) => {
            errors.insert("date_naissance".into(), key.into());
        }
    }
    if let Err(key) = parse_rpps(&typed.rpps) {
        errors.insert("rpps".into(), key.into());
    }
    if !typed.terms {
        errors.insert("cgu".into(), "account-error-terms".into());
    }
    errors
}

/// `JJ/MM/AAAA` → the day, or the catalogue key of what is wrong.
pub(crate) fn parse_birth_date(
    s: &str,
    today: chrono::NaiveDate,
) -> Result<chrono::NaiveDate, &'static str> {
    if s.is_empty() {
        return Err("account-error-birth-date-empty");
    }
    let parts: Vec<&str> = s.split('/').collect();
    let well_formed = parts.len() == 3
        && parts[0].len() == 2
        && parts[1].len() == 2
        && parts[2].len() == 4
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        return Err("account-error-birth-date-format");
    }
    let day = chrono::NaiveDate::from_ymd_opt(
        parts[2].parse().unwrap_or(0),
        parts[1].parse().unwrap_or(0),
        parts[0].parse().unwrap_or(0),
    )
    .ok_or("account-error-birth-date-real")?;
    let oldest = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(day);
    if day >= today || day < oldest {
        return Err("account-error-birth-date-real");
    }
    Ok(day)
}

/// 11 digits with a valid check digit → the RPPS, or the catalogue key of what is wrong.
pub(crate) fn parse_rpps(s: &str) -> Result<Rpps, &'static str> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.is_empty() {
        return Err("account-error-rpps-empty");
    }
    if digits.len() != 11 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("account-error-rpps-format");
    }
    Rpps::parse(&digits).map_err(|_| "account-error-rpps-key")
}

/// A professional the registry knows under this pair, admitted by the portal.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub idnat: String,
    pub rpps: String,
    pub first_name: String,
    pub last_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
}

/// The outcome of a check.
pub(crate) enum Check {
    Found(Person),
    /// ACC-01 "Les informations que vous avez saisies ne correspondent pas…".
    NoMatch,
    /// Too many checks: try again later.
    Throttled {
        retry_after_secs: i64,
    },
}

/// The professional whose RPPS and birth date these are, if the registry knows them and
/// the portal admits their profession. Counts the check against the limits.
pub(crate) async fn check(
    store: &Store,
    portal: &PortalConfig,
    source_key: &str,
    rpps: &Rpps,
    birth_date: chrono::NaiveDate,
    now: i64,
) -> Result<Check, PortalError> {
    if let Some(retry_after_secs) = count_check(store, portal, source_key, rpps, now).await? {
        return Ok(Check::Throttled { retry_after_secs });
    }
    Ok(match lookup(store, portal, rpps).await? {
        Some(p) if p.birth_date == birth_date.format("%Y-%m-%d").to_string() => Check::Found(p),
        _ => Check::NoMatch,
    })
}

/// Counts a check of `rpps` from `source_key` against the limits (per source, per RPPS):
/// how long to wait when one is spent, else nothing.
pub(crate) async fn count_check(
    store: &Store,
    portal: &PortalConfig,
    source_key: &str,
    rpps: &Rpps,
    now: i64,
) -> Result<Option<i64>, PortalError> {
    let mut tx = store.begin().await?;
    for (limit, key) in [
        (CHECKS_PER_SOURCE, format!("{}:{source_key}", portal.slug)),
        (
            CHECKS_PER_RPPS,
            format!("{}:{}", portal.slug, rpps.as_str()),
        ),
    ] {
        let verdict = limit
            .hit(&mut tx, &key, now)
            .await
            .map_err(|e| PortalError::Internal(e.to_string()))?;
        if let Verdict::Refused { retry_after_secs } = verdict {
            tx.commit().await?;
            return Ok(Some(retry_after_secs));
        }
    }
    tx.commit().await?;
    Ok(None)
}

/// The professional of an account (`8` + RPPS), as [`lookup`] sees them.
pub(crate) async fn lookup_idnat(
    store: &Store,
    portal: &PortalConfig,
    idnat: &str,
) -> Result<Option<Person>, PortalError> {
    match idnat.strip_prefix('8').map(parse_rpps) {
        Some(Ok(rpps)) => lookup(store, portal, &rpps).await,
        _ => Ok(None),
    }
}

impl Person {
    /// "Julie Martin".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// The names, to count against a password.
    pub fn names(&self) -> [&str; 2] {
        [&self.first_name, &self.last_name]
    }
}

/// The professional of `rpps` as the portal sees them (no birth date check): for the
/// steps after the first, which re-read the registry rather than trust the flow.
pub(crate) async fn lookup(
    store: &Store,
    portal: &PortalConfig,
    rpps: &Rpps,
) -> Result<Option<Person>, PortalError> {
    let id = caducee_core::ids::IdNatPs::parse(&format!("8{}", rpps.as_str()))
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    let Some(p) = queries::get_professional(store, &id)
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?
    else {
        return Ok(None);
    };
    // ONB-01: an active activity of an admitted profession, in an admitted mode.
    let admitted = p
        .activities
        .iter()
        .filter(|a| a.active)
        .any(|a| portal.admits_activity(&a.profession.code, &a.mode.code));
    let Some(civil) = p.civil_identity.as_ref().filter(|_| admitted) else {
        return Ok(None);
    };
    let contact = p.contact.as_ref();
    let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    Ok(Some(Person {
        idnat: p.id_nat.clone(),
        rpps: rpps.as_str().to_string(),
        first_name: p.first_name.clone(),
        last_name: p.last_name.clone(),
        birth_date: civil.birth_date.clone(),
        email: contact.and_then(|c| some(&c.email)),
        mobile: contact.and_then(|c| some(&c.mobile)),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    #[test]
    fn acc_01_birth_dates_are_typed_dd_mm_yyyy_and_real() {
        assert_eq!(
            parse_birth_date("12/04/1980", today()),
            Ok(chrono::NaiveDate::from_ymd_opt(1980, 4, 12).unwrap())
        );
        assert_eq!(
            parse_birth_date("", today()),
            Err("account-error-birth-date-empty")
        );
        for bad in ["1980-04-12", "12/4/1980", "12/04/80", "aa/bb/cccc"] {
            assert_eq!(
                parse_birth_date(bad, today()),
                Err("account-error-birth-date-format"),
                "{bad}"
            );
        }
        for unreal in ["31/02/1980", "01/01/2030", "01/01/1850"] {
            assert_eq!(
                parse_birth_date(unreal, today()),
                Err("account-error-birth-date-real"),
                "{unreal}"
            );
        }
    }

    #[test]
    fn acc_01_rpps_numbers_have_eleven_digits_and_their_key() {
        assert!(parse_rpps("19999900012").is_ok());
        assert!(parse_rpps("199 999 000 12").is_ok());
        assert_eq!(parse_rpps("").err(), Some("account-error-rpps-empty"));
        assert_eq!(parse_rpps("1234").err(), Some("account-error-rpps-format"));
        assert_eq!(
            parse_rpps("19999900013").err(),
            Some("account-error-rpps-key")
        );
    }
}
