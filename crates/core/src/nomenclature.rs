//! The ANS nomenclatures (NOS tables: TRE_G08, TRE_G15, TRE_R02, …) the registry and the
//! extraction files use, embedded in the binary and parsed once on first use.
//!
//! The tables come from `crates/core/nomenclatures/*.csv` (`#` comment line, header
//! `code|display|status`, rows). Code that shows or writes a label must take it from here,
//! never from a literal of its own, so that a code and its label always agree. This module
//! must never read files at run time or panic on a malformed row (such a row is skipped and
//! the tests catch it).

use std::collections::HashMap;
use std::sync::LazyLock;

/// One NOS table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Nomenclature {
    G08TypeIdentifiantPersonne,
    G15Profession,
    R02SecteurActivite,
    R04TypeSavoirFaire,
    R09CategorieProfessionnelle,
    R11CiviliteExercice,
    R21Fonction,
    R22GenreActivite,
    R23ModeExercice,
    R81Civilite,
}

/// One row of a table. `status` is empty or `active` for codes in use, otherwise a text such
/// as `deprecated 2016-09-01` or `ended 2020-06-26`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    pub code: &'static str,
    pub display: &'static str,
    pub status: &'static str,
}

const ALL: [Nomenclature; 10] = [
    Nomenclature::G08TypeIdentifiantPersonne,
    Nomenclature::G15Profession,
    Nomenclature::R02SecteurActivite,
    Nomenclature::R04TypeSavoirFaire,
    Nomenclature::R09CategorieProfessionnelle,
    Nomenclature::R11CiviliteExercice,
    Nomenclature::R21Fonction,
    Nomenclature::R22GenreActivite,
    Nomenclature::R23ModeExercice,
    Nomenclature::R81Civilite,
];

struct Table {
    entries: Vec<Entry>,
    by_code: HashMap<&'static str, usize>,
}

impl Table {
    fn parse(csv: &'static str) -> Table {
        let entries: Vec<Entry> = csv
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .filter(|l| *l != "code|display|status")
            .filter_map(|l| {
                let mut parts = l.splitn(3, '|');
                let code = parts.next()?.trim();
                let display = parts.next()?.trim();
                let status = parts.next().unwrap_or("").trim();
                (!code.is_empty()).then_some(Entry {
                    code,
                    display,
                    status,
                })
            })
            .collect();
        let by_code = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.code, i))
            .collect();
        Table { entries, by_code }
    }
}

/// Parsed once, indexed like `ALL`.
static TABLES: LazyLock<Vec<Table>> = LazyLock::new(|| {
    ALL.iter()
        .map(|n| Table::parse(n.csv()))
        .collect::<Vec<_>>()
});

impl Nomenclature {
    /// Table identifier, e.g. `TRE_G15`.
    pub fn id(self) -> &'static str {
        match self {
            Nomenclature::G08TypeIdentifiantPersonne => "TRE_G08",
            Nomenclature::G15Profession => "TRE_G15",
            Nomenclature::R02SecteurActivite => "TRE_R02",
            Nomenclature::R04TypeSavoirFaire => "TRE_R04",
            Nomenclature::R09CategorieProfessionnelle => "TRE_R09",
            Nomenclature::R11CiviliteExercice => "TRE_R11",
            Nomenclature::R21Fonction => "TRE_R21",
            Nomenclature::R22GenreActivite => "TRE_R22",
            Nomenclature::R23ModeExercice => "TRE_R23",
            Nomenclature::R81Civilite => "TRE_R81",
        }
    }

    /// Table name as the ANS spells it, e.g. `ProfessionSante`.
    pub fn name(self) -> &'static str {
        match self {
            Nomenclature::G08TypeIdentifiantPersonne => "TypeIdentifiantPersonne",
            Nomenclature::G15Profession => "ProfessionSante",
            Nomenclature::R02SecteurActivite => "SecteurActivite",
            Nomenclature::R04TypeSavoirFaire => "TypeSavoirFaire",
            Nomenclature::R09CategorieProfessionnelle => "CategorieProfessionnelle",
            Nomenclature::R11CiviliteExercice => "CiviliteExercice",
            Nomenclature::R21Fonction => "Fonction",
            Nomenclature::R22GenreActivite => "GenreActivite",
            Nomenclature::R23ModeExercice => "ModeExercice",
            Nomenclature::R81Civilite => "Civilite",
        }
    }

    /// FHIR CodeSystem URL, e.g.
    /// `https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante`.
    pub fn fhir_system(self) -> String {
        let id = self.id();
        let name = self.name();
        format!(
            "https://mos.esante.gouv.fr/NOS/{id}-{name}/FHIR/{}-{name}",
            id.replace('_', "-")
        )
    }

    /// The table given its identifier (`TRE_G15`).
    pub fn from_id(id: &str) -> Option<Nomenclature> {
        ALL.iter().copied().find(|n| n.id() == id)
    }

    fn csv(self) -> &'static str {
        match self {
            Nomenclature::G08TypeIdentifiantPersonne => {
                include_str!("../nomenclatures/TRE_G08-TypeIdentifiantPersonne.csv")
            }
            Nomenclature::G15Profession => {
                include_str!("../nomenclatures/TRE_G15-ProfessionSante.csv")
            }
            Nomenclature::R02SecteurActivite => {
                include_str!("../nomenclatures/TRE_R02-SecteurActivite.csv")
            }
            Nomenclature::R04TypeSavoirFaire => {
                include_str!("../nomenclatures/TRE_R04-TypeSavoirFaire.csv")
            }
            Nomenclature::R09CategorieProfessionnelle => {
                include_str!("../nomenclatures/TRE_R09-CategorieProfessionnelle.csv")
            }
            Nomenclature::R11CiviliteExercice => {
                include_str!("../nomenclatures/TRE_R11-CiviliteExercice.csv")
            }
            Nomenclature::R21Fonction => include_str!("../nomenclatures/TRE_R21-Fonction.csv"),
            Nomenclature::R22GenreActivite => {
                include_str!("../nomenclatures/TRE_R22-GenreActivite.csv")
            }
            Nomenclature::R23ModeExercice => {
                include_str!("../nomenclatures/TRE_R23-ModeExercice.csv")
            }
            Nomenclature::R81Civilite => include_str!("../nomenclatures/TRE_R81-Civilite.csv"),
        }
    }

    fn table(self) -> Option<&'static Table> {
        let index = ALL.iter().position(|n| *n == self)?;
        TABLES.get(index)
    }

    /// All rows, in file order.
    pub fn entries(self) -> &'static [Entry] {
        self.table().map(|t| t.entries.as_slice()).unwrap_or(&[])
    }

    pub fn lookup(self, code: &str) -> Option<&'static Entry> {
        let table = self.table()?;
        table.by_code.get(code).and_then(|&i| table.entries.get(i))
    }

    /// The label of `code`, e.g. `display("10") == Some("Médecin")` for TRE_G15.
    pub fn display(self, code: &str) -> Option<&'static str> {
        self.lookup(code).map(|e| e.display)
    }

    /// True when `code` exists and is in use (status empty or `active`).
    pub fn is_active(self, code: &str) -> bool {
        self.lookup(code)
            .is_some_and(|e| e.status.is_empty() || e.status == "active")
    }

    pub fn all() -> &'static [Nomenclature] {
        &ALL
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reg_03_every_table_loads_non_empty() {
        for n in Nomenclature::all() {
            assert!(!n.entries().is_empty(), "{} is empty", n.id());
            for e in n.entries() {
                assert!(!e.display.is_empty(), "{} {} has no label", n.id(), e.code);
                assert_eq!(n.lookup(e.code), Some(e));
            }
            assert_eq!(Nomenclature::from_id(n.id()), Some(*n));
        }
    }

    #[test]
    fn reg_03_known_codes() {
        use Nomenclature::*;
        assert_eq!(G15Profession.display("10"), Some("Médecin"));
        assert_eq!(G15Profession.display("95"), Some("Diététicien"));
        assert_eq!(G15Profession.display("96"), Some("Psychomotricien"));
        assert_eq!(
            R02SecteurActivite.display("SA33"),
            Some("Pharmacie d'officine")
        );
        assert_eq!(
            R02SecteurActivite.display("SA07"),
            Some("Cabinet individuel")
        );
        assert_eq!(G08TypeIdentifiantPersonne.display("8"), Some("N° RPPS"));
        assert!(R81Civilite.is_active("M"));
        assert!(R81Civilite.is_active("MME"));
        assert!(!R81Civilite.is_active("MLLE"));
        assert!(R81Civilite.lookup("MLLE").is_some());
        assert!(R02SecteurActivite.is_active("SA01"));
        assert!(!R02SecteurActivite.is_active("SA11"));
        assert!(!G15Profession.is_active("nope"));
        assert_eq!(G15Profession.display("nope"), None);
        assert_eq!(R23ModeExercice.entries().len(), 3);
    }

    #[test]
    fn reg_10_fhir_system_urls() {
        assert_eq!(
            Nomenclature::G15Profession.fhir_system(),
            "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
        );
        assert_eq!(
            Nomenclature::R02SecteurActivite.fhir_system(),
            "https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite"
        );
    }
}
