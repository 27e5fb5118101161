//! Which database column holds which canonical column of the extraction files. Import and
//! export are both driven by these tables, so a column added here flows both ways.

use crate::format::{dipl, pa, sf};

/// Person columns of Personne_activite → `reg_person`.
pub const PERSON: &[(&str, usize)] = &[
    ("id_type", pa::ID_TYPE),
    ("id_pp", pa::ID_PP),
    ("idnat", pa::IDNAT),
    ("ex_civility_code", 3),
    ("ex_civility_label", 4),
    ("civility_code", 5),
    ("civility_label", 6),
    ("last_name", 7),
    ("first_name", pa::FIRST_NAME),
];

/// Structure columns of Personne_activite → `reg_structure` (the id is derived, see import).
pub const STRUCTURE: &[(&str, usize)] = &[
    ("siret", pa::SIRET),
    ("siren", pa::SIREN),
    ("finess", pa::FINESS),
    ("finess_ej", pa::FINESS_EJ),
    ("name", 24),
    ("trade_name", 25),
    ("addr_recipient", 26),
    ("addr_point", 27),
    ("street_number", 28),
    ("street_repeat", 29),
    ("street_type_code", 30),
    ("street_type_label", 31),
    ("street_name", 32),
    ("distribution", 33),
    ("cedex", 34),
    ("postcode", 35),
    ("commune_code", 36),
    ("commune", 37),
    ("country_code", 38),
    ("country", 39),
    ("phone", 40),
    ("phone2", 41),
    ("fax", 42),
    ("email", 43),
    ("dept_code", 44),
    ("dept_label", 45),
    ("old_id", 46),
    ("registration_authority", 47),
    ("sector_code", 48),
    ("sector_label", pa::SECTOR_LABEL),
];

/// Activity columns of Personne_activite → `reg_activity`.
pub const ACTIVITY: &[(&str, usize)] = &[
    ("profession_code", pa::PROFESSION_CODE),
    ("profession_label", 10),
    ("category_code", 11),
    ("category_label", 12),
    ("sf_type_code", 13),
    ("sf_type_label", 14),
    ("sf_code", 15),
    ("sf_label", 16),
    ("mode_code", 17),
    ("mode_label", pa::MODE_LABEL),
    ("pharma_section_code", pa::PHARMA_SECTION_CODE),
    ("pharma_section_label", 51),
    ("role_code", pa::ROLE_CODE),
    ("role_label", pa::ROLE_LABEL),
    ("genre_code", pa::GENRE_CODE),
    ("genre_label", pa::GENRE_LABEL),
];

/// SavoirFaire columns → `reg_know_how` (identity columns go to `reg_person`).
pub const KNOW_HOW: &[(&str, usize)] = &[
    ("profession_code", sf::PROFESSION_CODE),
    ("profession_label", 6),
    ("category_code", 7),
    ("category_label", 8),
    ("type_code", 9),
    ("type_label", 10),
    ("code", sf::SF_CODE),
    ("label", 12),
];

/// Dipl_AutExerc columns → `reg_diploma`.
pub const DIPLOMA: &[(&str, usize)] = &[
    ("diploma_type_code", dipl::DIPLOMA_TYPE_CODE),
    ("diploma_type_label", 6),
    ("diploma_code", 7),
    ("diploma_label", 8),
    ("auth_type_code", 9),
    ("auth_type_label", 10),
    ("auth_discipline_code", 11),
    ("auth_discipline_label", 12),
];

/// The identity columns shared by SavoirFaire and Dipl_AutExerc (same positions in both).
pub const IDENTITY: &[(&str, usize)] = &[
    ("id_type", sf::ID_TYPE),
    ("id_pp", sf::ID_PP),
    ("idnat", sf::IDNAT),
    ("last_name", sf::LAST_NAME),
    ("first_name", sf::FIRST_NAME),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::FileKind;

    #[test]
    fn reg_10_every_canonical_column_has_a_home() {
        // Personne_activite: person + structure + activity + the structure id itself.
        let mut seen: Vec<usize> = PERSON
            .iter()
            .chain(STRUCTURE)
            .chain(ACTIVITY)
            .map(|(_, i)| *i)
            .collect();
        seen.push(pa::STRUCTURE_ID);
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..FileKind::PersonneActivite.columns().len()).collect::<Vec<_>>()
        );
        let mut seen: Vec<usize> = IDENTITY.iter().chain(KNOW_HOW).map(|(_, i)| *i).collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..FileKind::SavoirFaire.columns().len()).collect::<Vec<_>>()
        );
        let mut seen: Vec<usize> = IDENTITY.iter().chain(DIPLOMA).map(|(_, i)| *i).collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..FileKind::DiplAutExerc.columns().len()).collect::<Vec<_>>()
        );
    }
}
