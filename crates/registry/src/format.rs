//! The PS_LibreAcces extraction format: header recognition and line splitting.
//!
//! Columns are matched by normalised header name, never by position: releases differ in
//! accents, case and a few labels (`Code fonction` for `Code rôle`…), and the
//! Personne_activite file exists in a 52- and a 56-column layout. Every line is mapped onto
//! the canonical column order of the current layout, so the rest of the registry reads
//! fields by the constants of [`pa`], [`sf`] and [`dipl`]. Nothing here touches a database.

use std::fmt;
use unicode_normalization::UnicodeNormalization;

const PA_HEADER: &str = include_str!("../headers/PS_LibreAcces_Personne_activite.header-56col.txt");
const SF_HEADER: &str = include_str!("../headers/PS_LibreAcces_SavoirFaire.header.txt");
const DIPL_HEADER: &str = include_str!("../headers/PS_LibreAcces_Dipl_AutExerc.header.txt");

/// The three kinds of extraction file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    PersonneActivite,
    SavoirFaire,
    DiplAutExerc,
}

impl FileKind {
    pub const ALL: [FileKind; 3] = [
        FileKind::PersonneActivite,
        FileKind::SavoirFaire,
        FileKind::DiplAutExerc,
    ];

    /// The name used in file names: `PS_LibreAcces_<name>_<YYYYMMDDHHMM>.txt`.
    pub fn file_stem(self) -> &'static str {
        match self {
            FileKind::PersonneActivite => "Personne_activite",
            FileKind::SavoirFaire => "SavoirFaire",
            FileKind::DiplAutExerc => "Dipl_AutExerc",
        }
    }

    /// The header line of the current layout, with its trailing `|` and no line ending.
    pub fn header_line(self) -> &'static str {
        match self {
            FileKind::PersonneActivite => PA_HEADER,
            FileKind::SavoirFaire => SF_HEADER,
            FileKind::DiplAutExerc => DIPL_HEADER,
        }
        .trim_end_matches(['\r', '\n'])
    }

    /// Canonical column labels, in the order of the current layout.
    pub fn columns(self) -> Vec<&'static str> {
        split_fields(self.header_line())
    }

    /// Columns a file may lack: the four added by the 56-column Personne_activite layout.
    fn optional(self) -> &'static [usize] {
        match self {
            FileKind::PersonneActivite => &[
                pa::ROLE_CODE,
                pa::ROLE_LABEL,
                pa::GENRE_CODE,
                pa::GENRE_LABEL,
            ],
            _ => &[],
        }
    }

    /// A column only this kind has, which identifies it.
    fn marker(self) -> usize {
        match self {
            FileKind::PersonneActivite => pa::STRUCTURE_ID,
            FileKind::SavoirFaire => sf::SF_CODE,
            FileKind::DiplAutExerc => dipl::DIPLOMA_TYPE_CODE,
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PS_LibreAcces_{}", self.file_stem())
    }
}

/// Canonical column positions of PS_LibreAcces_Personne_activite (56-column layout).
pub mod pa {
    pub const ID_TYPE: usize = 0;
    pub const ID_PP: usize = 1;
    pub const IDNAT: usize = 2;
    /// Person columns: `ID_TYPE..=FIRST_NAME`.
    pub const FIRST_NAME: usize = 8;
    pub const PROFESSION_CODE: usize = 9;
    pub const MODE_LABEL: usize = 18;
    pub const SIRET: usize = 19;
    pub const SIREN: usize = 20;
    pub const FINESS: usize = 21;
    pub const FINESS_EJ: usize = 22;
    pub const STRUCTURE_ID: usize = 23;
    /// Structure columns: `SIRET..=SECTOR_LABEL`.
    pub const SECTOR_LABEL: usize = 49;
    pub const PHARMA_SECTION_CODE: usize = 50;
    pub const ROLE_CODE: usize = 52;
    pub const ROLE_LABEL: usize = 53;
    pub const GENRE_CODE: usize = 54;
    pub const GENRE_LABEL: usize = 55;
    pub const COUNT: usize = 56;
}

/// Canonical column positions of PS_LibreAcces_SavoirFaire.
pub mod sf {
    pub const ID_TYPE: usize = 0;
    pub const ID_PP: usize = 1;
    pub const IDNAT: usize = 2;
    pub const LAST_NAME: usize = 3;
    pub const FIRST_NAME: usize = 4;
    pub const PROFESSION_CODE: usize = 5;
    pub const SF_CODE: usize = 11;
    pub const COUNT: usize = 13;
}

/// Canonical column positions of PS_LibreAcces_Dipl_AutExerc.
pub mod dipl {
    pub const ID_TYPE: usize = 0;
    pub const ID_PP: usize = 1;
    pub const IDNAT: usize = 2;
    pub const LAST_NAME: usize = 3;
    pub const FIRST_NAME: usize = 4;
    pub const DIPLOMA_TYPE_CODE: usize = 5;
    pub const COUNT: usize = 13;
}

/// Known spelling variants between releases, after normalisation: variant → canonical.
const ALIASES: &[(&str, &str)] = &[
    ("code fonction", "code role"),
    ("libelle fonction", "libelle role"),
    ("code genre d activite", "code genre activite"),
    ("libelle genre d activite", "libelle genre activite"),
    ("code departement", "code departement structure"),
    ("libelle departement", "libelle departement structure"),
    (
        "adresse email coord structure",
        "adresse e mail coord structure",
    ),
];

/// Lower case, accents removed, every run of non-alphanumerics turned into one space:
/// `Code Département (structure)` → `code departement structure`.
pub fn normalize_label(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut pending_space = false;
    for c in label.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    match ALIASES.iter().find(|(variant, _)| *variant == out) {
        Some((_, canonical)) => canonical.to_string(),
        None => out,
    }
}

/// Splits a line on `|`, dropping the one trailing empty field that the format's final `|`
/// produces.
pub fn split_fields(line: &str) -> Vec<&str> {
    let line = line.strip_suffix('|').unwrap_or(line);
    line.split('|').collect()
}

/// Why a header was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("en-tête non reconnu : ce n'est ni un fichier PS_LibreAcces_Personne_activite, ni SavoirFaire, ni Dipl_AutExerc (le plus proche, {closest}, n'a pas les colonnes : {missing})")]
    UnknownKind { closest: FileKind, missing: String },
    #[error("en-tête de {kind} incomplet : colonnes manquantes : {missing}")]
    MissingColumns { kind: FileKind, missing: String },
    #[error("en-tête de {kind} : la colonne « {column} » apparaît deux fois")]
    DuplicateColumn { kind: FileKind, column: String },
}

/// How the columns of one file map onto the canonical order of its kind.
#[derive(Debug, Clone)]
pub struct Layout {
    pub kind: FileKind,
    /// For each canonical column, its position in the file (None: optional and absent).
    positions: Vec<Option<usize>>,
    /// Number of fields of every line of this file.
    pub file_columns: usize,
}

impl Layout {
    /// Recognises the kind of a file from its header line (line ending and BOM allowed).
    pub fn detect(header: &str) -> Result<Layout, HeaderError> {
        let header = header
            .trim_start_matches('\u{feff}')
            .trim_end_matches(['\r', '\n']);
        let file_labels: Vec<String> = split_fields(header)
            .into_iter()
            .map(normalize_label)
            .collect();
        let mut best: Option<(FileKind, Vec<&'static str>)> = None;
        for kind in FileKind::ALL {
            let canonical = kind.columns();
            let mut positions = Vec::with_capacity(canonical.len());
            let mut missing = Vec::new();
            for (i, label) in canonical.iter().enumerate() {
                let norm = normalize_label(label);
                let found: Vec<usize> = file_labels
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| **l == norm)
                    .map(|(p, _)| p)
                    .collect();
                if found.len() > 1 {
                    return Err(HeaderError::DuplicateColumn {
                        kind,
                        column: label.to_string(),
                    });
                }
                match found.first() {
                    Some(p) => positions.push(Some(*p)),
                    None => {
                        positions.push(None);
                        if !kind.optional().contains(&i) {
                            missing.push(*label);
                        }
                    }
                }
            }
            let has_marker = positions[kind.marker()].is_some();
            if has_marker && missing.is_empty() {
                return Ok(Layout {
                    kind,
                    positions,
                    file_columns: file_labels.len(),
                });
            }
            if has_marker {
                return Err(HeaderError::MissingColumns {
                    kind,
                    missing: missing.join(", "),
                });
            }
            if best.as_ref().is_none_or(|(_, m)| missing.len() < m.len()) {
                best = Some((kind, missing));
            }
        }
        let (closest, missing) = best.unwrap_or((FileKind::PersonneActivite, Vec::new()));
        Err(HeaderError::UnknownKind {
            closest,
            missing: missing.join(", "),
        })
    }

    /// Splits one data line (no line ending) into the canonical columns of its kind.
    /// Returns the number of fields found when it is not the header's.
    pub fn fields<'a>(&self, line: &'a str) -> Result<Vec<&'a str>, usize> {
        let raw = split_fields(line);
        if raw.len() != self.file_columns {
            return Err(raw.len());
        }
        Ok(self
            .positions
            .iter()
            .map(|p| p.map_or("", |p| raw[p]))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn reg_10_labels_are_normalised() {
        assert_eq!(
            normalize_label("Code Département (structure)"),
            "code departement structure"
        );
        assert_eq!(
            normalize_label("code département (structure)"),
            "code departement structure"
        );
        assert_eq!(
            normalize_label("Type d'identifiant PP"),
            "type d identifiant pp"
        );
        assert_eq!(normalize_label("Code fonction"), "code role");
        assert_eq!(
            normalize_label("Code genre d'activité"),
            "code genre activite"
        );
    }

    #[test]
    fn reg_10_detects_the_three_kinds_and_both_layouts() {
        for kind in FileKind::ALL {
            let layout = Layout::detect(kind.header_line()).unwrap();
            assert_eq!(layout.kind, kind);
        }
        let h52 = include_str!("../headers/PS_LibreAcces_Personne_activite.header-52col.txt");
        let layout = Layout::detect(h52).unwrap();
        assert_eq!(layout.kind, FileKind::PersonneActivite);
        assert_eq!(layout.file_columns, 52);
        assert_eq!(FileKind::PersonneActivite.columns().len(), pa::COUNT);
        assert_eq!(FileKind::SavoirFaire.columns().len(), sf::COUNT);
        assert_eq!(FileKind::DiplAutExerc.columns().len(), dipl::COUNT);
    }

    #[test]
    fn reg_10_columns_match_by_name_not_position() {
        // Reverse the columns, change accents and case, use the old role label.
        let mut cols: Vec<String> = FileKind::PersonneActivite
            .columns()
            .iter()
            .map(|c| {
                c.to_uppercase()
                    .replace('É', "E")
                    .replace("RÔLE", "FONCTION")
            })
            .collect();
        cols.reverse();
        let header = format!("{}|\r\n", cols.join("|"));
        let layout = Layout::detect(&header).unwrap();
        let mut values: Vec<String> = (0..pa::COUNT).map(|i| format!("v{i}")).collect();
        values.reverse();
        let line = format!("{}|", values.join("|"));
        let fields = layout.fields(&line).unwrap();
        assert_eq!(fields[pa::IDNAT], "v2");
        assert_eq!(fields[pa::ROLE_CODE], format!("v{}", pa::ROLE_CODE));
    }

    #[test]
    fn reg_10_missing_columns_are_named() {
        let header = FileKind::PersonneActivite
            .header_line()
            .replace("Code profession|", "");
        match Layout::detect(&header) {
            Err(HeaderError::MissingColumns { kind, missing }) => {
                assert_eq!(kind, FileKind::PersonneActivite);
                assert_eq!(missing, "Code profession");
            }
            other => panic!("unexpected {other:?}"),
        }
        match Layout::detect("a|b|c|") {
            Err(e @ HeaderError::UnknownKind { .. }) => {
                assert!(e.to_string().contains("Identifiant PP"))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn reg_10_wrong_field_count_is_reported() {
        let layout = Layout::detect(FileKind::SavoirFaire.header_line()).unwrap();
        assert_eq!(layout.fields("a|b|c|"), Err(3));
        let ok = format!("{}|", vec!["x"; sf::COUNT].join("|"));
        assert!(layout.fields(&ok).is_ok());
        // A line without the trailing bar is accepted too.
        assert!(layout.fields(ok.trim_end_matches('|')).is_ok());
    }
}
