//! Synthetic PS_LibreAcces_Personne_activite files (56-column layout) for demos, load tests
//! and import tests (REG-10), plus the named demo personas that `serve --demo` seeds.
//!
//! The output looks like the real extraction: French names with accents, real towns with
//! their postcode, INSEE code and département, a realistic profession mix with labels taken
//! from [`caducee_core::nomenclature`] (so codes and labels always agree), valid RPPS, ADELI,
//! SIREN, SIRET and FINESS numbers, hospitals shared by many professionals, and the quirks of
//! the real file (house number `P`, foreign postcodes, towns only in `Bureau cedex`, empty
//! optional fields, ADELI rows beside RPPS rows).
//!
//! Output is a pure function of the options: the same seed gives the same bytes. Memory must
//! never grow with the number of rows: persons are generated and written one at a time, and
//! shared structures are recomputed from their index instead of being kept in a table. This
//! module never reads the clock, the environment or any file, and never touches a database.

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};

use caducee_core::ids::{Adeli, Finess, Rpps, Siren, Siret};
use caducee_core::nomenclature::Nomenclature;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Header line of the 56-column layout, kept with its trailing `|`.
const HEADER: &str = include_str!("../headers/PS_LibreAcces_Personne_activite.header-56col.txt");

/// Number of columns of the 56-column layout.
pub const COLUMNS: usize = 56;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Number of data lines (the header is not counted).
    pub rows: u64,
    pub seed: u64,
    /// End lines with CRLF instead of LF (both exist in real releases).
    pub crlf: bool,
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GenerateSummary {
    pub rows: u64,
    pub persons: u64,
}

/// Writes the header and exactly `opts.rows` data lines to `out`.
pub fn generate_personne_activite<W: Write>(
    opts: &GenerateOptions,
    out: W,
) -> io::Result<GenerateSummary> {
    let mut w = BufWriter::with_capacity(1 << 16, out);
    let eol = if opts.crlf { "\r\n" } else { "\n" };
    w.write_all(header_line().as_bytes())?;
    w.write_all(eol.as_bytes())?;

    let mut gen = Generator::new(opts.seed, opts.rows);
    let mut summary = GenerateSummary::default();
    let mut line = String::with_capacity(1024);
    while summary.rows < opts.rows {
        let person = gen.person();
        summary.persons += 1;
        let activities = gen.activity_count();
        if activities == 0 {
            line.clear();
            push_row(&mut line, &person, None, eol);
            w.write_all(line.as_bytes())?;
            summary.rows += 1;
            continue;
        }
        for _ in 0..activities {
            if summary.rows >= opts.rows {
                break;
            }
            let activity = gen.activity(&person);
            line.clear();
            push_row(&mut line, &person, Some(&activity), eol);
            w.write_all(line.as_bytes())?;
            summary.rows += 1;
        }
    }
    w.flush()?;
    Ok(summary)
}

/// The header line without its line ending (its trailing `|` kept).
fn header_line() -> &'static str {
    HEADER.trim_end_matches(['\r', '\n'])
}

/// One named demo persona the README lists (used by `serve --demo`): deterministic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persona {
    /// "8" + RPPS.
    pub idnat: String,
    pub rpps: String,
    /// TRE_R81 code (M, MME).
    pub civility: &'static str,
    pub last_name: &'static str,
    pub first_name: &'static str,
    /// YYYY-MM-DD.
    pub birth_date: &'static str,
    pub email: &'static str,
    /// E.164 (+33…).
    pub mobile: &'static str,
    /// TRE_G15 code.
    pub profession_code: &'static str,
}

/// The five demo personas: a liberal GP, a hospital nurse, a pharmacist, a
/// masseur-kinésithérapeute and a sage-femme.
pub fn demo_personas() -> Vec<Persona> {
    PERSONAS
        .iter()
        .filter_map(|p| {
            let rpps = Rpps::from_payload(p.rpps_payload)?;
            Some(Persona {
                idnat: rpps.idnat().to_owned(),
                rpps: rpps.as_str().to_owned(),
                civility: p.civility,
                last_name: p.last_name,
                first_name: p.first_name,
                birth_date: p.birth_date,
                email: p.email,
                mobile: p.mobile,
                profession_code: p.profession,
            })
        })
        .collect()
}

/// The demo persona registered with an RPPS number and a civil status but **no contact
/// coordinates** (REG-12's case, "Mes coordonnées ne sont pas renseignées"): Nathalie Girard,
/// nurse in Nantes, not among [`demo_personas`] (whose coordinates the demo sets). Its
/// `email` and `mobile` are empty.
pub fn persona_without_contact() -> Option<Persona> {
    let p = &PERSONA_WITHOUT_CONTACT;
    let rpps = Rpps::from_payload(p.rpps_payload)?;
    Some(Persona {
        idnat: rpps.idnat().to_owned(),
        rpps: rpps.as_str().to_owned(),
        civility: p.civility,
        last_name: p.last_name,
        first_name: p.first_name,
        birth_date: p.birth_date,
        email: p.email,
        mobile: p.mobile,
        profession_code: p.profession,
    })
}

/// The Personne_activite line (no header, LF ending) of [`persona_without_contact`].
pub fn persona_without_contact_row() -> String {
    let mut out = String::new();
    if let Some((person, activity)) = persona_records(&PERSONA_WITHOUT_CONTACT) {
        push_row(&mut out, &person, Some(&activity), "\n");
    }
    out
}

/// The Personne_activite lines (no header, LF endings) of the demo personas, one activity
/// each, in the same format as [`generate_personne_activite`].
pub fn personas_rows() -> String {
    let mut out = String::new();
    for spec in PERSONAS {
        let Some((person, activity)) = persona_records(spec) else {
            continue;
        };
        push_row(&mut out, &person, Some(&activity), "\n");
    }
    out
}

// ---------------------------------------------------------------------------------------
// Records and row layout
// ---------------------------------------------------------------------------------------

/// Person columns (0..=16), repeated on each of the person's rows.
#[derive(Debug, Clone)]
struct Person {
    id_type: &'static str,
    id: String,
    idnat: String,
    civility_ex: &'static str,
    civility: &'static str,
    last_name: &'static str,
    first_name: &'static str,
    profession: &'static str,
    category: &'static str,
    /// TRE_R38 specialty (code, label), with type `S`.
    specialty: Option<(&'static str, &'static str)>,
    /// Index in `TOWNS` where the person mostly practises.
    town: usize,
}

#[derive(Debug, Clone, Default)]
struct Address {
    number: String,
    repetition: &'static str,
    street_type: &'static str,
    street: &'static str,
    distribution: String,
    cedex: String,
    postcode: String,
    commune_code: &'static str,
    commune: String,
    country_code: &'static str,
    country: &'static str,
    dept_code: &'static str,
    dept_label: &'static str,
}

/// Activity and structure columns (17..=55).
#[derive(Debug, Clone, Default)]
struct Activity {
    mode: &'static str,
    siret: String,
    siren: String,
    finess: String,
    finess_ej: String,
    technical_id: String,
    company_name: String,
    trade_name: String,
    recipient_extra: &'static str,
    place_extra: &'static str,
    address: Address,
    phone: String,
    phone2: String,
    fax: String,
    email: String,
    old_id: String,
    authority: &'static str,
    sector: &'static str,
    pharmacist_section: &'static str,
    role: &'static str,
    genre: &'static str,
}

/// Label of a code that this module only ever takes from the nomenclature tables; an empty
/// code gives an empty label. (The tests check every emitted code has a label.)
fn label(table: Nomenclature, code: &str) -> &'static str {
    if code.is_empty() {
        return "";
    }
    table.display(code).unwrap_or_default()
}

/// Appends one line (56 fields, each followed by `|`) and `eol`.
fn push_row(out: &mut String, p: &Person, a: Option<&Activity>, eol: &str) {
    let (sf_type, sf_code, sf_label) = match p.specialty {
        Some((code, l)) => ("S", code, l),
        None => ("", "", ""),
    };
    let mut cols: [&str; COLUMNS] = [""; COLUMNS];
    cols[0] = p.id_type;
    cols[1] = &p.id;
    cols[2] = &p.idnat;
    cols[3] = p.civility_ex;
    cols[4] = label(Nomenclature::R11CiviliteExercice, p.civility_ex);
    cols[5] = p.civility;
    cols[6] = label(Nomenclature::R81Civilite, p.civility);
    cols[7] = p.last_name;
    cols[8] = p.first_name;
    cols[9] = p.profession;
    cols[10] = label(Nomenclature::G15Profession, p.profession);
    cols[11] = p.category;
    cols[12] = label(Nomenclature::R09CategorieProfessionnelle, p.category);
    cols[13] = sf_type;
    cols[14] = label(Nomenclature::R04TypeSavoirFaire, sf_type);
    cols[15] = sf_code;
    cols[16] = sf_label;
    if let Some(a) = a {
        let ad = &a.address;
        cols[17] = a.mode;
        cols[18] = label(Nomenclature::R23ModeExercice, a.mode);
        cols[19] = &a.siret;
        cols[20] = &a.siren;
        cols[21] = &a.finess;
        cols[22] = &a.finess_ej;
        cols[23] = &a.technical_id;
        cols[24] = &a.company_name;
        cols[25] = &a.trade_name;
        cols[26] = a.recipient_extra;
        cols[27] = a.place_extra;
        cols[28] = &ad.number;
        cols[29] = ad.repetition;
        cols[30] = ad.street_type;
        cols[31] = street_type_label(ad.street_type);
        cols[32] = ad.street;
        cols[33] = &ad.distribution;
        cols[34] = &ad.cedex;
        cols[35] = &ad.postcode;
        cols[36] = ad.commune_code;
        cols[37] = &ad.commune;
        cols[38] = ad.country_code;
        cols[39] = ad.country;
        cols[40] = &a.phone;
        cols[41] = &a.phone2;
        cols[42] = &a.fax;
        cols[43] = &a.email;
        cols[44] = ad.dept_code;
        cols[45] = ad.dept_label;
        cols[46] = &a.old_id;
        cols[47] = a.authority;
        cols[48] = a.sector;
        cols[49] = label(Nomenclature::R02SecteurActivite, a.sector);
        cols[50] = a.pharmacist_section;
        cols[51] = pharmacist_section_label(a.pharmacist_section);
        cols[52] = a.role;
        cols[53] = label(Nomenclature::R21Fonction, a.role);
        cols[54] = a.genre;
        cols[55] = label(Nomenclature::R22GenreActivite, a.genre);
    }
    for c in cols {
        out.push_str(c);
        out.push('|');
    }
    out.push_str(eol);
}

// ---------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------

/// SplitMix64 finaliser: turns a seed and an index into well-spread independent seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A bijection of `0..modulus` (affine map with a multiplier coprime to the modulus, a power
/// of ten): distinct counters give distinct numbers, and the seed shuffles which.
#[derive(Debug, Clone, Copy)]
struct Permutation {
    a: u64,
    b: u64,
    modulus: u64,
}

impl Permutation {
    fn new(seed: u64, salt: u64, modulus: u64) -> Permutation {
        let h = mix(seed ^ mix(salt));
        // Odd and not a multiple of 5, hence coprime to any power of ten (an odd multiple
        // of 5 ends in 5).
        let mut a = (h % modulus) | 1;
        if a % 10 == 5 {
            a = (a + 2) % modulus;
        }
        Permutation {
            a,
            b: mix(h) % modulus,
            modulus,
        }
    }

    fn apply(&self, x: u64) -> u64 {
        let m = u128::from(self.modulus);
        let y = (u128::from(self.a) * (u128::from(x) % m) + u128::from(self.b)) % m;
        // y < modulus ≤ u64::MAX.
        u64::try_from(y).unwrap_or_default()
    }
}

/// Share of persons identified by ADELI rather than RPPS (the brief asks for about 8% of
/// rows).
const ADELI_SHARE: f64 = 0.08;
/// Share of persons registered without any activity.
const NO_ACTIVITY_SHARE: f64 = 0.05;
/// One hospital per this many rows, so that hospitals are shared by many professionals.
const ROWS_PER_HOSPITAL: u64 = 200;
/// One officine per this many rows (≈ 3 pharmacists each with the profession mix below).
const ROWS_PER_PHARMACY: u64 = 30;
/// FINESS numbers hold five digits for the structure index.
const MAX_POOL: u64 = 100_000;

/// Kind digit placed after the département in generated FINESS numbers, so that the numbers
/// of different kinds of structure never collide.
#[derive(Debug, Clone, Copy)]
enum FinessKind {
    HospitalSite = 0,
    HospitalEntity = 1,
    PharmacySite = 2,
    PharmacyEntity = 3,
}

struct Generator {
    seed: u64,
    rng: StdRng,
    /// Last RPPS counter handed out (numbers ascend).
    next_rpps: u64,
    cabinet_siren: Permutation,
    /// Offsets that shuffle structure numbers between seeds.
    finess_offset: u64,
    adeli_offset: u64,
    hospitals: u64,
    pharmacies: u64,
    cabinets: u64,
    /// ADELI sequences used per (département, profession): at most a few hundred keys
    /// whatever the number of rows.
    adeli_seq: HashMap<([u8; 2], &'static str), u64>,
}

impl Generator {
    fn new(seed: u64, rows: u64) -> Generator {
        Generator {
            seed,
            rng: StdRng::seed_from_u64(seed),
            next_rpps: mix(seed ^ 1) % 1_000_000,
            cabinet_siren: Permutation::new(seed, 2, 10_000_000),
            finess_offset: mix(seed ^ 3) % MAX_POOL,
            adeli_offset: mix(seed ^ 4) % 10_000,
            hospitals: (rows / ROWS_PER_HOSPITAL).clamp(1, MAX_POOL),
            pharmacies: (rows / ROWS_PER_PHARMACY).clamp(1, MAX_POOL),
            cabinets: 0,
            adeli_seq: HashMap::new(),
        }
    }

    fn person(&mut self) -> Person {
        let town = self.rng.gen_range(0..TOWNS.len());
        let adeli = self.rng.gen_bool(ADELI_SHARE);
        let profession = if adeli {
            weighted(&mut self.rng, ADELI_PROFESSIONS)
        } else {
            weighted(&mut self.rng, PROFESSIONS)
        };
        let (id_type, id, idnat) = match adeli.then(|| self.adeli(town, profession)).flatten() {
            Some(a) => ("0", a.as_str().to_owned(), a.idnat().to_owned()),
            None => {
                // "10" + 8 digits, ascending with small gaps as the registry assigns them
                // and as the real extract lists them (sorted by identifier): distinct
                // persons get distinct numbers (up to ~6 million persons), and the demo
                // personas ("19…") can never collide with generated ones.
                self.next_rpps += 1 + self.rng.gen_range(0..30);
                let payload = format!("10{:08}", self.next_rpps);
                let r = Rpps::from_payload(&payload);
                let id = r.as_ref().map(|r| r.as_str().to_owned());
                let idnat = r.as_ref().map(|r| r.idnat().to_owned());
                ("8", id.unwrap_or_default(), idnat.unwrap_or_default())
            }
        };
        let female = self.rng.gen_bool(female_share(profession));
        let civility = if female { "MME" } else { "M" };
        let first_name = if female {
            pick(&mut self.rng, FEMALE_FIRST_NAMES)
        } else {
            pick(&mut self.rng, MALE_FIRST_NAMES)
        };
        let last_name = pick(&mut self.rng, LAST_NAMES);
        let category = if matches!(profession, "10" | "21" | "40" | "50") {
            weighted(&mut self.rng, &[("C", 92), ("E", 5), ("F", 2), ("M", 1)])
        } else {
            weighted(&mut self.rng, &[("C", 97), ("F", 3)])
        };
        let civility_ex = match profession {
            "10" => weighted(&mut self.rng, &[("DR", 75), ("PR", 2), ("", 23)]),
            "40" => weighted(&mut self.rng, &[("DR", 60), ("", 40)]),
            "21" => weighted(&mut self.rng, &[("DR", 25), ("", 75)]),
            _ => "",
        };
        let specialty =
            (profession == "10" && category != "E").then(|| weighted(&mut self.rng, SPECIALTIES));
        Person {
            id_type,
            id,
            idnat,
            civility_ex,
            civility,
            last_name,
            first_name,
            profession,
            category,
            specialty,
            town,
        }
    }

    /// A fresh ADELI number: département (2) + profession (2) + sequence (4) + key. `None`
    /// when the 10 000 sequences of that pair are used up (the person then gets an RPPS).
    fn adeli(&mut self, town: usize, profession: &'static str) -> Option<Adeli> {
        let dept = TOWNS.get(town).map(|t| t.dept_code).unwrap_or("75");
        // Corsica's 2A/2B are numbered 20 in ADELI and overseas départements keep "97", so
        // sequences are counted per numbered département, not per département code.
        let mut dept2 = [b'0'; 2];
        for (d, c) in dept2.iter_mut().zip(dept.bytes()) {
            if c.is_ascii_digit() {
                *d = c;
            }
        }
        let used = self.adeli_seq.entry((dept2, profession)).or_insert(0);
        if *used >= 10_000 {
            return None;
        }
        // 7919 is prime, hence coprime to 10 000: distinct counters, distinct sequences.
        let seq = (*used * 7919 + self.adeli_offset) % 10_000;
        *used += 1;
        let [d0, d1] = dept2;
        Adeli::from_payload(&format!(
            "{}{}{profession}{seq:04}",
            char::from(d0),
            char::from(d1)
        ))
    }

    fn activity_count(&mut self) -> u32 {
        if self.rng.gen_bool(NO_ACTIVITY_SHARE) {
            return 0;
        }
        weighted(&mut self.rng, &[(1, 75), (2, 20), (3, 5)])
    }

    fn activity(&mut self, p: &Person) -> Activity {
        // Students work at hospitals as interns.
        if p.category == "E" {
            let mut a = self.hospital_activity(p);
            a.role = "FON-48";
            return a;
        }
        let liberal_share = match p.profession {
            "10" => 0.55,
            "60" => 0.35,
            "70" => 0.8,
            "40" => 0.9,
            "50" => 0.3,
            "98" => 0.05,
            "21" => 0.0,
            _ => 0.6,
        };
        if p.profession == "21" {
            // Pharmacists: officines mostly, hospital pharmacies (PUI) otherwise.
            return if self.rng.gen_bool(0.8) {
                self.pharmacy_activity(p)
            } else {
                let mut a = self.hospital_activity(p);
                a.pharmacist_section = "H";
                a
            };
        }
        if self.rng.gen_bool(liberal_share) {
            self.cabinet_activity(p)
        } else {
            self.hospital_activity(p)
        }
    }

    /// A liberal practice with its own SIREN/SIRET.
    fn cabinet_activity(&mut self, p: &Person) -> Activity {
        let index = self.cabinets;
        self.cabinets += 1;
        // "4" + 7 digits: cabinets never share a SIREN with each other or with officines.
        let siren = Siren::from_payload(&format!("4{:07}", self.cabinet_siren.apply(index)));
        let siren = siren.map(|s| s.as_str().to_owned()).unwrap_or_default();
        let siret = Siret::from_payload(&format!("{siren}0001"))
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        let sector = weighted(&mut self.rng, &[("SA07", 60), ("SA08", 30), ("SA09", 10)]);
        let town = self.activity_town(p);
        let mut address = self.address(town);
        // A few French professionals practise just over the border.
        if self.rng.gen_bool(0.004) {
            address = self.foreign_address();
        }
        let upper_town = address.commune.to_uppercase();
        let company_name = match sector {
            "SA07" if matches!(p.profession, "10" | "40") => format!(
                "CABINET DU DR {} {}",
                p.last_name.to_uppercase(),
                p.first_name.to_uppercase()
            ),
            "SA07" => format!(
                "CABINET {} {}",
                p.last_name.to_uppercase(),
                p.first_name.to_uppercase()
            ),
            "SA09" => format!(
                "{} {}",
                pick(&mut self.rng, &["SELARL", "SCP", "SELAS"]),
                p.last_name.to_uppercase()
            ),
            _ => format!("CABINET {} {upper_town}", cabinet_word(p.profession))
                .trim_end()
                .to_owned(),
        };
        let (role, genre) = if self.rng.gen_bool(0.05) {
            ("FON-22", "GENR02")
        } else {
            let role = match sector {
                "SA09" => "FON-02",
                "SA08" => weighted(&mut self.rng, &[("FON-01", 80), ("FON-17", 20)]),
                _ => "FON-01",
            };
            (role, "GENR01")
        };
        let phone = self.phone(address.dept_code, 0.9);
        let email = if self.rng.gen_bool(0.1) {
            format!("cabinet.{index}@example.test")
        } else {
            String::new()
        };
        let old_id = if self.rng.gen_bool(0.3) {
            format!("3{siret}")
        } else {
            String::new()
        };
        let fax = self.phone(address.dept_code, 0.1);
        Activity {
            mode: "L",
            technical_id: format!("C{siret}"),
            siret,
            siren,
            company_name,
            place_extra: if self.rng.gen_bool(0.05) {
                pick(&mut self.rng, PLACE_EXTRAS)
            } else {
                ""
            },
            address,
            phone,
            fax,
            email,
            old_id,
            authority: authority(p.profession),
            sector,
            role,
            genre,
            ..Activity::default()
        }
    }

    /// A salaried (rarely voluntary) activity at a hospital of the shared pool.
    fn hospital_activity(&mut self, p: &Person) -> Activity {
        let index = self.structure_near(self.hospitals, p.town);
        let mut a = self.hospital(index);
        a.mode = if self.rng.gen_bool(0.01) { "B" } else { "S" };
        a.authority = authority(p.profession);
        a.recipient_extra = if self.rng.gen_bool(0.3) {
            pick(&mut self.rng, HOSPITAL_SERVICES)
        } else {
            ""
        };
        a.role = if a.mode == "B" {
            "FON-AU"
        } else {
            match p.profession {
                "10" => weighted(
                    &mut self.rng,
                    &[("FON-33", 85), ("FON-35", 8), ("FON-53", 7)],
                ),
                "60" => weighted(&mut self.rng, &[("FON-33", 93), ("FON-43", 7)]),
                "21" => weighted(&mut self.rng, &[("FON-33", 80), ("FON-37", 20)]),
                _ => "FON-33",
            }
        };
        a.genre = if self.rng.gen_bool(0.01) {
            "GENR04"
        } else {
            "GENR01"
        };
        a
    }

    /// Hospital number `index`, rebuilt from the index alone so that every row naming it
    /// agrees without keeping a table in memory.
    fn hospital(&self, index: u64) -> Activity {
        let mut rng = StdRng::seed_from_u64(mix(self.seed ^ mix(0x4057_0000 + index)));
        let town = town_of_structure(index);
        let t = &TOWNS[town];
        let sector = weighted(&mut rng, &[("SA01", 75), ("SA03", 25)]);
        let upper_town = t.name.to_uppercase();
        let company_name = if sector == "SA01" {
            match rng.gen_range(0..4) {
                0 => format!("CENTRE HOSPITALIER UNIVERSITAIRE {}", of_town(&upper_town)),
                1 => format!("HÔPITAL LOCAL {}", of_town(&upper_town)),
                _ => format!("CENTRE HOSPITALIER {}", of_town(&upper_town)),
            }
        } else {
            format!(
                "{} {}",
                pick(&mut rng, PRIVATE_HOSPITALS),
                of_town(&upper_town)
            )
        };
        let finess = self.finess(t.dept_code, FinessKind::HospitalSite, index);
        let finess_ej = self.finess(t.dept_code, FinessKind::HospitalEntity, index);
        let mut address = address_with(&mut rng, town);
        if address.cedex.is_empty() && rng.gen_bool(0.3) {
            address.distribution = format!("CS {}", rng.gen_range(10_000..99_999));
            address.cedex = format!("{} {} CEDEX", t.postcode, upper_town);
        }
        Activity {
            technical_id: format!("F{finess}"),
            old_id: if rng.gen_bool(0.5) {
                format!("1{finess}")
            } else {
                String::new()
            },
            finess,
            finess_ej,
            company_name,
            place_extra: if rng.gen_bool(0.2) {
                pick(&mut rng, PLACE_EXTRAS)
            } else {
                ""
            },
            phone: phone_with(&mut rng, t.dept_code, 1.0),
            phone2: phone_with(&mut rng, t.dept_code, 0.2),
            fax: phone_with(&mut rng, t.dept_code, 0.5),
            address,
            sector,
            ..Activity::default()
        }
    }

    /// An officine of the shared pool: the titulaire is liberal, adjoints are salaried.
    fn pharmacy_activity(&mut self, p: &Person) -> Activity {
        let index = self.structure_near(self.pharmacies, p.town);
        let mut a = self.pharmacy(index);
        a.authority = authority(p.profession);
        if self.rng.gen_bool(0.4) {
            a.mode = "L";
            a.role = "FON-03";
            a.pharmacist_section = "A";
        } else {
            a.mode = "S";
            a.role = "FON-05";
            a.pharmacist_section = "D";
        }
        a.genre = "GENR01";
        a
    }

    fn pharmacy(&self, index: u64) -> Activity {
        let mut rng = StdRng::seed_from_u64(mix(self.seed ^ mix(0x0FF1_0000 + index)));
        let town = town_of_structure(index);
        let t = &TOWNS[town];
        let finess = self.finess(t.dept_code, FinessKind::PharmacySite, index);
        let finess_ej = self.finess(t.dept_code, FinessKind::PharmacyEntity, index);
        // "8" + 2 zeros + 5 digits: never a cabinet's SIREN ("4…").
        let siren = Siren::from_payload(&format!(
            "800{:05}",
            (index + self.finess_offset) % MAX_POOL
        ))
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
        let siret = Siret::from_payload(&format!("{siren}0001"))
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        let name = pick(&mut rng, PHARMACY_NAMES);
        let company_name = if name.is_empty() {
            format!("GRANDE PHARMACIE {}", of_town(&t.name.to_uppercase()))
        } else {
            name.to_owned()
        };
        let trade_name = if rng.gen_bool(0.3) {
            pick(
                &mut rng,
                &[
                    "Pharmacie du Centre",
                    "Pharmacie Plus",
                    "Pharmacie de garde",
                ],
            )
            .to_owned()
        } else {
            String::new()
        };
        Activity {
            technical_id: format!("F{finess}"),
            finess,
            finess_ej,
            siret,
            siren,
            company_name,
            trade_name,
            address: address_with(&mut rng, town),
            phone: phone_with(&mut rng, t.dept_code, 1.0),
            fax: phone_with(&mut rng, t.dept_code, 0.3),
            sector: "SA33",
            ..Activity::default()
        }
    }

    /// FINESS = département (2) + kind (1) + structure index (5) + Luhn key; Corsican
    /// numbers keep their letters and, having no known key, end with a plain digit.
    fn finess(&self, dept: &str, kind: FinessKind, index: u64) -> String {
        let dept2: String = dept.chars().take(2).collect();
        let n = (index + self.finess_offset) % MAX_POOL;
        let payload = format!("{dept2}{}{n:05}", kind as u8);
        if dept2.bytes().all(|b| b.is_ascii_digit()) {
            Finess::from_payload(&payload)
                .map(|f| f.as_str().to_owned())
                .unwrap_or_default()
        } else {
            format!("{payload}{}", n % 10)
        }
    }

    /// Index of a shared structure (hospital, officine) in a pool of `pool`: mostly one in
    /// the person's town, so that a person's activities stay in one area.
    fn structure_near(&mut self, pool: u64, town: usize) -> u64 {
        let towns = TOWNS.len() as u64;
        let town = town as u64;
        if town >= pool || self.rng.gen_bool(0.2) {
            return self.rng.gen_range(0..pool);
        }
        // Indices `town`, `town + towns`, `town + 2 × towns`… below `pool` (see
        // `town_of_structure`).
        let in_town = (pool - town).div_ceil(towns);
        town + self.rng.gen_range(0..in_town) * towns
    }

    /// Most activities are in the person's town, some elsewhere.
    fn activity_town(&mut self, p: &Person) -> usize {
        if self.rng.gen_bool(0.8) {
            p.town
        } else {
            self.rng.gen_range(0..TOWNS.len())
        }
    }

    fn address(&mut self, town: usize) -> Address {
        address_with(&mut self.rng, town)
    }

    fn foreign_address(&mut self) -> Address {
        let (postcode, commune, country_code, country) = pick(&mut self.rng, FOREIGN_PLACES);
        Address {
            number: self.rng.gen_range(1..200).to_string(),
            street: pick(
                &mut self.rng,
                &["High Street", "Avenue Louise", "Church Road"],
            ),
            postcode: postcode.to_owned(),
            commune: commune.to_owned(),
            country_code,
            country,
            ..Address::default()
        }
    }

    fn phone(&mut self, dept: &str, share: f64) -> String {
        phone_with(&mut self.rng, dept, share)
    }
}

/// Town of shared structure `index`: structures go round the towns so that every town has
/// some once the pool is large enough.
fn town_of_structure(index: u64) -> usize {
    usize::try_from(index % TOWNS.len() as u64).unwrap_or_default()
}

/// "DE NANTES", "D'ORLÉANS", "DU HAVRE", "DES ABYMES" for an upper-case town name.
fn of_town(upper: &str) -> String {
    if let Some(rest) = upper.strip_prefix("LE ") {
        format!("DU {rest}")
    } else if let Some(rest) = upper.strip_prefix("LES ") {
        format!("DES {rest}")
    } else if upper.starts_with(['A', 'E', 'I', 'O', 'U', 'Y', 'É', 'Î']) {
        format!("D'{upper}")
    } else {
        format!("DE {upper}")
    }
}

/// A French street address in `TOWNS[town]`, with the real file's quirks.
fn address_with(rng: &mut StdRng, town: usize) -> Address {
    let t = &TOWNS[town];
    let number = if rng.gen_bool(0.005) {
        // The real file has house number "P" in a few rows.
        "P".to_owned()
    } else if rng.gen_bool(0.08) {
        String::new()
    } else {
        rng.gen_range(1..180).to_string()
    };
    let repetition = if !number.is_empty() && rng.gen_bool(0.04) {
        pick(rng, &["B", "T"])
    } else {
        ""
    };
    let (street_type, _) = pick(rng, STREET_TYPES);
    let mut a = Address {
        number,
        repetition,
        street_type,
        street: pick(rng, STREETS),
        postcode: t.postcode.to_owned(),
        commune_code: t.insee,
        commune: t.name.to_owned(),
        dept_code: t.dept_code,
        dept_label: t.dept_label,
        ..Address::default()
    };
    if rng.gen_bool(0.02) {
        // Quirk: no commune code, the town only appears in "Bureau cedex".
        let upper = t.name.to_uppercase();
        a.cedex = if t.insee == "75056" {
            format!("{} {upper} CEDEX {}", t.postcode, &t.postcode[3..])
        } else {
            format!("{} {upper} CEDEX", t.postcode)
        };
        a.postcode = String::new();
        a.commune_code = "";
        a.commune = String::new();
    } else if rng.gen_bool(0.03) {
        a.distribution = format!("BP {}", rng.gen_range(1..999));
    }
    a
}

/// A 10-digit French landline in the département's zone, present with probability `share`.
fn phone_with(rng: &mut StdRng, dept: &str, share: f64) -> String {
    if !rng.gen_bool(share) {
        return String::new();
    }
    match dept {
        "971" => format!("0590{:06}", rng.gen_range(0..1_000_000)),
        "972" => format!("0596{:06}", rng.gen_range(0..1_000_000)),
        "974" => format!("0262{:06}", rng.gen_range(0..1_000_000)),
        _ => format!(
            "0{}{:08}",
            phone_zone(dept),
            rng.gen_range(10_000_000..100_000_000)
        ),
    }
}

/// First digit after 0 of landlines by région (01 Île-de-France, 02 north-west, 03
/// north-east, 04 south-east, 05 south-west).
fn phone_zone(dept: &str) -> char {
    match dept {
        "75" | "77" | "78" | "91" | "92" | "93" | "94" | "95" => '1',
        "14" | "29" | "35" | "37" | "44" | "45" | "49" | "72" | "76" => '2',
        "21" | "25" | "51" | "54" | "57" | "59" | "67" | "80" => '3',
        "12" | "17" | "31" | "33" | "64" | "65" | "86" | "87" => '5',
        _ => '4',
    }
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.gen_range(0..items.len())]
}

fn weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut r = rng.gen_range(0..total);
    for (item, w) in items {
        if r < *w {
            return *item;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

fn female_share(profession: &str) -> f64 {
    match profession {
        "50" => 0.97,
        "60" | "91" | "94" | "95" | "96" => 0.87,
        "21" => 0.68,
        "10" => 0.5,
        "40" => 0.48,
        "70" => 0.5,
        _ => 0.6,
    }
}

/// Registration authority as the extraction writes it (ordre / ordre / ordre, or ARS).
fn authority(profession: &str) -> &'static str {
    match profession {
        "10" => "CNOM/CNOM/CNOM",
        "21" => "CNOP/CNOP/CNOP",
        "40" => "CNOCD/CNOCD/CNOCD",
        "50" => "CNOSF/CNOSF/CNOSF",
        "60" => "CNOI/CNOI/CNOI",
        "70" => "CNOMK/CNOMK/CNOMK",
        "80" => "CNOPP/CNOPP/CNOPP",
        _ => "ARS/ARS/ARS",
    }
}

fn cabinet_word(profession: &str) -> &'static str {
    match profession {
        "10" => "MÉDICAL",
        "40" => "DENTAIRE",
        "50" => "DE SAGES-FEMMES",
        "60" => "INFIRMIER",
        "70" => "DE KINÉSITHÉRAPIE",
        "91" => "D'ORTHOPHONIE",
        _ => "PARAMÉDICAL",
    }
}

/// Sections of the pharmacists' roll (Ordre des pharmaciens); not among the embedded NOS
/// tables, so the few this generator uses are listed here.
fn pharmacist_section_label(code: &str) -> &'static str {
    match code {
        "A" => "Pharmaciens titulaires d'officine",
        "D" => "Pharmaciens adjoints d'officine et autres exercices",
        "H" => "Pharmaciens des établissements de santé",
        _ => "",
    }
}

fn street_type_label(code: &str) -> &'static str {
    STREET_TYPES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("")
}

// ---------------------------------------------------------------------------------------
// Demo personas
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum PersonaPlace {
    /// Liberal practice; sector SA07/SA08.
    Cabinet {
        sector: &'static str,
        siren_payload: &'static str,
    },
    /// Salaried at a hospital (FINESS site payload, FINESS EJ payload).
    Hospital {
        name: &'static str,
        finess_payload: &'static str,
        finess_ej_payload: &'static str,
    },
    /// Titulaire of an officine.
    Officine {
        name: &'static str,
        finess_payload: &'static str,
        siren_payload: &'static str,
    },
}

#[derive(Debug, Clone, Copy)]
struct PersonaSpec {
    rpps_payload: &'static str,
    civility: &'static str,
    civility_ex: &'static str,
    last_name: &'static str,
    first_name: &'static str,
    birth_date: &'static str,
    email: &'static str,
    mobile: &'static str,
    profession: &'static str,
    specialty: Option<(&'static str, &'static str)>,
    /// Index in `TOWNS`.
    town: usize,
    number: &'static str,
    street_type: &'static str,
    street: &'static str,
    phone: &'static str,
    place: PersonaPlace,
}

/// RPPS payloads start with "19", outside the "10…" range of generated persons; SIREN
/// payloads start with "7" and FINESS kind digits are 8/9, never used by the generator.
const PERSONAS: &[PersonaSpec] = &[
    PersonaSpec {
        rpps_payload: "1999990001",
        civility: "MME",
        civility_ex: "DR",
        last_name: "Martin",
        first_name: "Julie",
        birth_date: "1980-04-12",
        email: "julie.martin@example.test",
        mobile: "+33612345601",
        profession: "10",
        specialty: Some(("SM54", "Médecine générale")),
        town: 2, // Lyon
        number: "12",
        street_type: "R",
        street: "Victor Hugo",
        phone: "0478123456",
        place: PersonaPlace::Cabinet {
            sector: "SA07",
            siren_payload: "79999001",
        },
    },
    PersonaSpec {
        rpps_payload: "1999990002",
        civility: "M",
        civility_ex: "",
        last_name: "Bernard",
        first_name: "Thomas",
        birth_date: "1988-09-03",
        email: "thomas.bernard@example.test",
        mobile: "+33612345602",
        profession: "60",
        specialty: None,
        town: 5, // Nantes
        number: "5",
        street_type: "ALL",
        street: "de l'Île Gloriette",
        phone: "0240083333",
        place: PersonaPlace::Hospital {
            name: "CENTRE HOSPITALIER UNIVERSITAIRE DE NANTES",
            finess_payload: "44900001",
            finess_ej_payload: "44800001",
        },
    },
    PersonaSpec {
        rpps_payload: "1999990003",
        civility: "MME",
        civility_ex: "DR",
        last_name: "Dubois",
        first_name: "Hélène",
        birth_date: "1975-01-27",
        email: "helene.dubois@example.test",
        mobile: "+33612345603",
        profession: "21",
        specialty: None,
        town: 8, // Bordeaux
        number: "44",
        street_type: "CRS",
        street: "de l'Intendance",
        phone: "0556441122",
        place: PersonaPlace::Officine {
            name: "PHARMACIE DE L'INTENDANCE",
            finess_payload: "33900003",
            siren_payload: "79999003",
        },
    },
    PersonaSpec {
        rpps_payload: "1999990004",
        civility: "M",
        civility_ex: "",
        last_name: "Petit",
        first_name: "Jérôme",
        birth_date: "1992-06-15",
        email: "jerome.petit@example.test",
        mobile: "+33612345604",
        profession: "70",
        specialty: None,
        town: 3, // Toulouse
        number: "27",
        street_type: "BD",
        street: "de Strasbourg",
        phone: "0561234567",
        place: PersonaPlace::Cabinet {
            sector: "SA08",
            siren_payload: "79999004",
        },
    },
    PersonaSpec {
        rpps_payload: "1999990005",
        civility: "MME",
        civility_ex: "",
        last_name: "Leroy",
        first_name: "Camille",
        birth_date: "1990-11-30",
        email: "camille.leroy@example.test",
        mobile: "+33612345605",
        profession: "50",
        specialty: None,
        town: 9, // Lille
        number: "2",
        street_type: "AV",
        street: "Oscar Lambret",
        phone: "0320444444",
        place: PersonaPlace::Hospital {
            name: "CENTRE HOSPITALIER UNIVERSITAIRE DE LILLE",
            finess_payload: "59900005",
            finess_ej_payload: "59800005",
        },
    },
    // Two more physicians, so that the Ordre's space (physicians only) can be tried by more
    // than one person at a time (demo, journeys, benchmarks).
    PersonaSpec {
        rpps_payload: "1999990006",
        civility: "M",
        civility_ex: "DR",
        last_name: "Benali",
        first_name: "Karim",
        birth_date: "1983-02-08",
        email: "karim.benali@example.test",
        mobile: "+33612345606",
        profession: "10",
        specialty: Some(("SM04", "Cardiologie et maladies vasculaires")),
        town: 8, // Bordeaux
        number: "5",
        street_type: "CRS",
        street: "de l'Intendance",
        phone: "0556123456",
        place: PersonaPlace::Cabinet {
            sector: "SA07",
            siren_payload: "79999006",
        },
    },
    PersonaSpec {
        rpps_payload: "1999990007",
        civility: "MME",
        civility_ex: "DR",
        last_name: "Durand",
        first_name: "Sophie",
        birth_date: "1979-07-21",
        email: "sophie.durand@example.test",
        mobile: "+33612345607",
        profession: "10",
        specialty: Some(("SM54", "Médecine générale")),
        town: 10, // Rennes
        number: "18",
        street_type: "R",
        street: "de Saint-Malo",
        phone: "0299123456",
        place: PersonaPlace::Cabinet {
            sector: "SA07",
            siren_payload: "79999007",
        },
    },
];

/// See [`persona_without_contact`].
const PERSONA_WITHOUT_CONTACT: PersonaSpec = PersonaSpec {
    rpps_payload: "1999990008",
    civility: "MME",
    civility_ex: "",
    last_name: "Girard",
    first_name: "Nathalie",
    birth_date: "1968-09-03",
    email: "",
    mobile: "",
    profession: "60",
    specialty: None,
    town: 5, // Nantes
    number: "9",
    street_type: "R",
    street: "de la Paix",
    phone: "0240123456",
    place: PersonaPlace::Cabinet {
        sector: "SA08",
        siren_payload: "79999008",
    },
};

fn persona_records(spec: &PersonaSpec) -> Option<(Person, Activity)> {
    let rpps = Rpps::from_payload(spec.rpps_payload)?;
    let t = TOWNS.get(spec.town)?;
    let person = Person {
        id_type: "8",
        id: rpps.as_str().to_owned(),
        idnat: rpps.idnat().to_owned(),
        civility_ex: spec.civility_ex,
        civility: spec.civility,
        last_name: spec.last_name,
        first_name: spec.first_name,
        profession: spec.profession,
        category: "C",
        specialty: spec.specialty,
        town: spec.town,
    };
    let address = Address {
        number: spec.number.to_owned(),
        street_type: spec.street_type,
        street: spec.street,
        postcode: t.postcode.to_owned(),
        commune_code: t.insee,
        commune: t.name.to_owned(),
        dept_code: t.dept_code,
        dept_label: t.dept_label,
        ..Address::default()
    };
    let base = Activity {
        address,
        phone: spec.phone.to_owned(),
        authority: authority(spec.profession),
        genre: "GENR01",
        ..Activity::default()
    };
    let activity = match spec.place {
        PersonaPlace::Cabinet {
            sector,
            siren_payload,
        } => {
            let siren = Siren::from_payload(siren_payload)?;
            let siret = Siret::from_payload(&format!("{siren}0001"))?;
            Activity {
                mode: "L",
                company_name: if sector == "SA07" {
                    format!(
                        "CABINET DU DR {} {}",
                        spec.last_name.to_uppercase(),
                        spec.first_name.to_uppercase()
                    )
                } else {
                    format!(
                        "CABINET {} {}",
                        cabinet_word(spec.profession),
                        t.name.to_uppercase()
                    )
                },
                technical_id: format!("C{siret}"),
                siret: siret.as_str().to_owned(),
                siren: siren.as_str().to_owned(),
                sector,
                role: "FON-01",
                ..base
            }
        }
        PersonaPlace::Hospital {
            name,
            finess_payload,
            finess_ej_payload,
        } => {
            let finess = Finess::from_payload(finess_payload)?;
            let ej = Finess::from_payload(finess_ej_payload)?;
            Activity {
                mode: "S",
                company_name: name.to_owned(),
                technical_id: format!("F{finess}"),
                finess: finess.as_str().to_owned(),
                finess_ej: ej.as_str().to_owned(),
                sector: "SA01",
                role: "FON-33",
                ..base
            }
        }
        PersonaPlace::Officine {
            name,
            finess_payload,
            siren_payload,
        } => {
            let finess = Finess::from_payload(finess_payload)?;
            let siren = Siren::from_payload(siren_payload)?;
            let siret = Siret::from_payload(&format!("{siren}0001"))?;
            Activity {
                mode: "L",
                company_name: name.to_owned(),
                technical_id: format!("F{finess}"),
                finess: finess.as_str().to_owned(),
                siret: siret.as_str().to_owned(),
                siren: siren.as_str().to_owned(),
                sector: "SA33",
                pharmacist_section: "A",
                role: "FON-03",
                ..base
            }
        }
    };
    Some((person, activity))
}

// ---------------------------------------------------------------------------------------
// Reference data
// ---------------------------------------------------------------------------------------

/// TRE_G15 codes of RPPS persons with relative weights (doctors most common).
const PROFESSIONS: &[(&str, u32)] = &[
    ("10", 340),
    ("60", 220),
    ("21", 110),
    ("70", 100),
    ("40", 60),
    ("50", 40),
    ("80", 20),
    ("91", 20),
    ("94", 15),
    ("96", 10),
    ("95", 10),
    ("98", 15),
    ("26", 5),
    ("28", 10),
    ("92", 10),
];

/// Professions still commonly identified by ADELI.
const ADELI_PROFESSIONS: &[(&str, u32)] =
    &[("60", 50), ("70", 25), ("91", 15), ("92", 5), ("80", 5)];

/// TRE_R38 specialties (code, label) for doctors. TRE_R38 is not among the embedded tables;
/// codes and labels follow the ANS value set JDV_J239.
const SPECIALTIES: &[((&str, &str), u32)] = &[
    (("SM54", "Médecine générale"), 55),
    (("SM04", "Cardiologie et maladies vasculaires"), 6),
    (("SM40", "Pédiatrie"), 6),
    (("SM42", "Psychiatrie"), 8),
    (("SM38", "Ophtalmologie"), 5),
    (("SM15", "Dermatologie et vénéréologie"), 4),
    (("SM20", "Gynécologie-obstétrique"), 5),
    (("SM44", "Radio-diagnostic"), 6),
    (("SM32", "Neurologie"), 3),
    (("SM03", "Biologie médicale"), 2),
];

#[derive(Debug, Clone, Copy)]
struct Town {
    insee: &'static str,
    postcode: &'static str,
    name: &'static str,
    dept_code: &'static str,
    dept_label: &'static str,
}

const fn town(
    insee: &'static str,
    postcode: &'static str,
    name: &'static str,
    dept_code: &'static str,
    dept_label: &'static str,
) -> Town {
    Town {
        insee,
        postcode,
        name,
        dept_code,
        dept_label,
    }
}

/// Real communes (INSEE code, postcode, name, département). The personas refer to some by
/// index: keep the first ten in place.
const TOWNS: &[Town] = &[
    town("75056", "75014", "Paris", "75", "Paris"),
    town("13055", "13005", "Marseille", "13", "Bouches-du-Rhône"),
    town("69123", "69003", "Lyon", "69", "Rhône"),
    town("31555", "31000", "Toulouse", "31", "Haute-Garonne"),
    town("06088", "06000", "Nice", "06", "Alpes-Maritimes"),
    town("44109", "44000", "Nantes", "44", "Loire-Atlantique"),
    town("34172", "34000", "Montpellier", "34", "Hérault"),
    town("67482", "67000", "Strasbourg", "67", "Bas-Rhin"),
    town("33063", "33000", "Bordeaux", "33", "Gironde"),
    town("59350", "59000", "Lille", "59", "Nord"),
    town("35238", "35000", "Rennes", "35", "Ille-et-Vilaine"),
    town("51454", "51100", "Reims", "51", "Marne"),
    town("42218", "42000", "Saint-Étienne", "42", "Loire"),
    town("83137", "83000", "Toulon", "83", "Var"),
    town("76351", "76600", "Le Havre", "76", "Seine-Maritime"),
    town("38185", "38000", "Grenoble", "38", "Isère"),
    town("21231", "21000", "Dijon", "21", "Côte-d'Or"),
    town("49007", "49000", "Angers", "49", "Maine-et-Loire"),
    town("30189", "30000", "Nîmes", "30", "Gard"),
    town("63113", "63000", "Clermont-Ferrand", "63", "Puy-de-Dôme"),
    town("72181", "72000", "Le Mans", "72", "Sarthe"),
    town(
        "13001",
        "13100",
        "Aix-en-Provence",
        "13",
        "Bouches-du-Rhône",
    ),
    town("29019", "29200", "Brest", "29", "Finistère"),
    town("37261", "37000", "Tours", "37", "Indre-et-Loire"),
    town("80021", "80000", "Amiens", "80", "Somme"),
    town("87085", "87000", "Limoges", "87", "Haute-Vienne"),
    town("74010", "74000", "Annecy", "74", "Haute-Savoie"),
    town("66136", "66000", "Perpignan", "66", "Pyrénées-Orientales"),
    town("57463", "57000", "Metz", "57", "Moselle"),
    town("25056", "25000", "Besançon", "25", "Doubs"),
    town("45234", "45000", "Orléans", "45", "Loiret"),
    town("76540", "76000", "Rouen", "76", "Seine-Maritime"),
    town("14118", "14000", "Caen", "14", "Calvados"),
    town("54395", "54000", "Nancy", "54", "Meurthe-et-Moselle"),
    town("86194", "86000", "Poitiers", "86", "Vienne"),
    town("64445", "64000", "Pau", "64", "Pyrénées-Atlantiques"),
    town("17300", "17000", "La Rochelle", "17", "Charente-Maritime"),
    town("2A004", "20000", "Ajaccio", "2A", "Corse-du-Sud"),
    town("2B033", "20200", "Bastia", "2B", "Haute-Corse"),
    town("97411", "97400", "Saint-Denis", "974", "La Réunion"),
    town("97209", "97200", "Fort-de-France", "972", "Martinique"),
    town("97101", "97139", "Les Abymes", "971", "Guadeloupe"),
    town("92050", "92000", "Nanterre", "92", "Hauts-de-Seine"),
    town("93066", "93200", "Saint-Denis", "93", "Seine-Saint-Denis"),
    town("94028", "94000", "Créteil", "94", "Val-de-Marne"),
    town("78646", "78000", "Versailles", "78", "Yvelines"),
    town("65440", "65000", "Tarbes", "65", "Hautes-Pyrénées"),
    town("12202", "12000", "Rodez", "12", "Aveyron"),
    town("48095", "48000", "Mende", "48", "Lozère"),
    town("05061", "05000", "Gap", "05", "Hautes-Alpes"),
    town("59183", "59140", "Dunkerque", "59", "Nord"),
];

/// (postcode, town, INSEE country code, country) of foreign practices; the real file holds
/// truncated foreign postcodes such as `GL`.
const FOREIGN_PLACES: &[(&str, &str, &str, &str)] = &[
    ("GL", "GLOUCESTER", "99132", "Royaume-Uni"),
    ("SW", "LONDRES", "99132", "Royaume-Uni"),
    ("1000", "BRUXELLES", "99131", "Belgique"),
];

const STREET_TYPES: &[(&str, &str)] = &[
    ("R", "Rue"),
    ("R", "Rue"),
    ("R", "Rue"),
    ("AV", "Avenue"),
    ("BD", "Boulevard"),
    ("PL", "Place"),
    ("CHE", "Chemin"),
    ("ALL", "Allée"),
    ("IMP", "Impasse"),
    ("QUAI", "Quai"),
    ("RTE", "Route"),
    ("CRS", "Cours"),
];

const STREETS: &[&str] = &[
    "Victor Hugo",
    "de la République",
    "Jean Jaurès",
    "du Général de Gaulle",
    "Pasteur",
    "des Lilas",
    "de la Gare",
    "Gambetta",
    "du Maréchal Foch",
    "Saint-Michel",
    "des Écoles",
    "de l'Église",
    "du Moulin",
    "Émile Zola",
    "de Verdun",
    "Nationale",
    "de la Liberté",
    "des Tilleuls",
    "Carnot",
    "de Paris",
    "Voltaire",
    "du Château",
    "de la Paix",
    "Aristide Briand",
    "Jules Ferry",
    "de Strasbourg",
    "Ambroise Paré",
    "du Docteur Schweitzer",
    "des Peupliers",
    "Georges Clemenceau",
];

const PLACE_EXTRAS: &[&str] = &[
    "BÂTIMENT A",
    "BÂTIMENT B",
    "RÉSIDENCE LES TILLEULS",
    "2ÈME ÉTAGE",
    "ZAC DU MOULIN",
    "HÔPITAL NORD",
];

const HOSPITAL_SERVICES: &[&str] = &[
    "SERVICE DE CARDIOLOGIE",
    "SERVICE DES URGENCES",
    "PÔLE MÈRE-ENFANT",
    "SERVICE DE PÉDIATRIE",
    "PÔLE PSYCHIATRIE",
    "SERVICE DE MÉDECINE INTERNE",
    "BLOC OPÉRATOIRE",
    "PHARMACIE À USAGE INTÉRIEUR",
];

const PRIVATE_HOSPITALS: &[&str] = &[
    "HÔPITAL PRIVÉ SAINT-JOSEPH",
    "GROUPE HOSPITALIER MUTUALISTE",
    "FONDATION HOSPITALIÈRE SAINTE-MARIE",
    "CENTRE DE RÉADAPTATION",
];

/// Officine names; the empty entry stands for "GRANDE PHARMACIE DE <town>".
const PHARMACY_NAMES: &[&str] = &[
    "PHARMACIE DE LA GARE",
    "PHARMACIE CENTRALE",
    "PHARMACIE DU MARCHÉ",
    "PHARMACIE DES ÉCOLES",
    "PHARMACIE DE L'ÉGLISE",
    "PHARMACIE DU CENTRE",
    "PHARMACIE DE LA MAIRIE",
    "PHARMACIE DU PORT",
    "",
];

const FEMALE_FIRST_NAMES: &[&str] = &[
    "Marie",
    "Nathalie",
    "Isabelle",
    "Sylvie",
    "Catherine",
    "Françoise",
    "Christine",
    "Sandrine",
    "Véronique",
    "Valérie",
    "Stéphanie",
    "Céline",
    "Julie",
    "Aurélie",
    "Émilie",
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Sophie",
    "Hélène",
    "Anne",
    "Laurence",
    "Élodie",
    "Mélanie",
    "Caroline",
    "Agnès",
    "Béatrice",
    "Cécile",
    "Clémence",
    "Margaux",
    "Inès",
    "Noémie",
    "Laëtitia",
    "Maëlle",
    "Zoé",
    "Anaïs",
    "Océane",
    "Pauline",
    "Mathilde",
];

const MALE_FIRST_NAMES: &[&str] = &[
    "Jean",
    "Pierre",
    "Michel",
    "Philippe",
    "Alain",
    "Nicolas",
    "Christophe",
    "Stéphane",
    "Laurent",
    "Frédéric",
    "Sébastien",
    "Julien",
    "Thomas",
    "Antoine",
    "Jérôme",
    "François",
    "Olivier",
    "Éric",
    "Benoît",
    "Guillaume",
    "Hugo",
    "Lucas",
    "Maxime",
    "Romain",
    "Mathieu",
    "Théo",
    "Clément",
    "Adrien",
    "Loïc",
    "Gaël",
    "Hervé",
    "Rémi",
    "Cédric",
    "Grégoire",
    "Raphaël",
    "Bastien",
    "Yannick",
    "Karim",
    "Mehdi",
    "Joël",
];

const LAST_NAMES: &[&str] = &[
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefèvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Lefebvre",
    "Faure",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Garcia",
    "Perrin",
    "Robin",
    "Clément",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Gautier",
    "Masson",
    "Marchand",
    "Duval",
    "Denis",
    "Dumont",
    "Lemaire",
    "Noël",
    "Meyer",
    "Dufour",
    "Meunier",
    "Brun",
    "Blanchard",
    "Giraud",
    "Joly",
    "Rivière",
    "Lucas",
    "Brunet",
    "Gaillard",
    "Barbier",
    "Arnaud",
    "Gérard",
    "Roche",
    "Renard",
    "Schmitt",
    "Leroux",
    "Colin",
    "Vidal",
    "Caron",
    "Picard",
    "Ménard",
    "Lévêque",
    "Prévost",
    "Barthélemy",
    "Le Goff",
    "Le Gall",
    "Maréchal",
    "Bénard",
    "Lemaître",
    "Étienne",
    "Hoarau",
    "Payet",
    "Grondin",
    "Da Silva",
    "N'Diaye",
    "Nguyen",
    "Benali",
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use caducee_core::ids::{IdNatPs, Siren, Siret};
    use std::collections::HashSet;

    fn generate(rows: u64, seed: u64, crlf: bool) -> (Vec<u8>, GenerateSummary) {
        let mut out = Vec::new();
        let summary =
            generate_personne_activite(&GenerateOptions { rows, seed, crlf }, &mut out).unwrap();
        (out, summary)
    }

    /// The checks every generated or persona line must pass.
    fn check_line(line: &str) {
        let parts: Vec<&str> = line.split('|').collect();
        assert_eq!(parts.len(), COLUMNS + 1, "{line}");
        assert_eq!(parts[COLUMNS], "", "{line}");
        assert!(parts[0] == "8" || parts[0] == "0", "{line}");
        if parts[0] == "8" {
            let r = Rpps::parse(parts[1]).unwrap();
            assert_eq!(parts[2], r.idnat());
        } else {
            let a = Adeli::parse(parts[1]).unwrap();
            assert_eq!(parts[2], a.idnat());
        }
        assert!(IdNatPs::parse(parts[2]).is_ok());
        // Every code has the label of its nomenclature.
        for (code, label, table) in [
            (3, 4, Nomenclature::R11CiviliteExercice),
            (5, 6, Nomenclature::R81Civilite),
            (9, 10, Nomenclature::G15Profession),
            (11, 12, Nomenclature::R09CategorieProfessionnelle),
            (13, 14, Nomenclature::R04TypeSavoirFaire),
            (17, 18, Nomenclature::R23ModeExercice),
            (48, 49, Nomenclature::R02SecteurActivite),
            (52, 53, Nomenclature::R21Fonction),
            (54, 55, Nomenclature::R22GenreActivite),
        ] {
            if parts[code].is_empty() {
                assert!(parts[label].is_empty(), "{line}");
            } else {
                assert!(table.is_active(parts[code]), "{} {line}", parts[code]);
                assert_eq!(Some(parts[label]), table.display(parts[code]), "{line}");
            }
        }
        if !parts[19].is_empty() {
            let siret = Siret::parse(parts[19]).unwrap();
            assert_eq!(siret.siren_part(), parts[20]);
            Siren::parse(parts[20]).unwrap();
        }
        for finess in [parts[21], parts[22]] {
            if !finess.is_empty() {
                Finess::parse(finess).unwrap();
            }
        }
        let tech = parts[23];
        if !tech.is_empty() {
            assert!(
                tech == format!("C{}", parts[19]) || tech == format!("F{}", parts[21]),
                "{line}"
            );
        }
        if parts[17].is_empty() {
            // No activity: every structure column is empty.
            assert!(parts[17..COLUMNS].iter().all(|f| f.is_empty()), "{line}");
        }
        for phone in [parts[40], parts[41], parts[42]] {
            assert!(
                phone.is_empty() || (phone.len() == 10 && phone.starts_with('0')),
                "{line}"
            );
        }
    }

    #[test]
    fn reg_10_generated_file_has_exact_rows_and_columns() {
        let (out, summary) = generate(1000, 42, false);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1001);
        assert_eq!(summary.rows, 1000);
        assert!(
            summary.persons > 500 && summary.persons < 1000,
            "{summary:?}"
        );
        assert_eq!(lines[0], header_line());
        assert_eq!(lines[0].split('|').count(), COLUMNS + 1);
        assert!(!text.contains('\r'));
        for line in &lines[1..] {
            check_line(line);
        }
    }

    #[test]
    fn reg_10_generated_content_is_realistic_mix() {
        let (out, _) = generate(5000, 7, false);
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split('|').collect())
            .collect();
        let count = |f: &dyn Fn(&Vec<&str>) -> bool| rows.iter().filter(|r| f(r)).count();
        let adeli = count(&|r| r[0] == "0");
        assert!((200..=650).contains(&adeli), "ADELI rows {adeli}");
        let doctors = count(&|r| r[9] == "10");
        let nurses = count(&|r| r[9] == "60");
        assert!(doctors > nurses, "{doctors} {nurses}");
        assert!(count(&|r| r[17].is_empty()) > 50);
        assert!(count(&|r| r[48] == "SA33") > 50);
        assert!(count(&|r| r[13] == "S" && r[15] == "SM54") > 100);
        assert!(count(&|r| r[28] == "P") >= 1);
        assert!(count(&|r| r[38] == "99132") >= 1);
        assert!(count(&|r| !r[34].is_empty() && r[36].is_empty() && !r[17].is_empty()) >= 5);
        assert!(count(&|r| r[17] == "L") > 1000);
        assert!(count(&|r| r[17] == "S") > 1000);
        assert!(text.contains("Hélène") || text.contains("Jérôme") || text.contains("Lefèvre"));
        // Hospitals are shared by many persons.
        let mut by_finess: HashMap<&str, HashSet<&str>> = HashMap::new();
        for r in rows.iter().filter(|r| r[48] == "SA01" || r[48] == "SA03") {
            by_finess.entry(r[21]).or_default().insert(r[2]);
        }
        assert!(!by_finess.is_empty());
        assert!(by_finess.len() <= 25);
        assert!(by_finess.values().any(|persons| persons.len() > 10));
        // A structure number always comes with the same name.
        let mut names: HashMap<&str, &str> = HashMap::new();
        for r in rows.iter().filter(|r| !r[21].is_empty()) {
            assert_eq!(*names.entry(r[21]).or_insert(r[24]), r[24]);
        }
    }

    #[test]
    fn reg_10_person_identifiers_are_unique() {
        let (out, summary) = generate(20_000, 99, false);
        let text = String::from_utf8(out).unwrap();
        let mut seen: HashMap<&str, (&str, &str)> = HashMap::new();
        let mut cabinets: HashSet<&str> = HashSet::new();
        let mut persons = 0;
        let mut previous = "";
        for line in text.lines().skip(1) {
            let parts: Vec<&str> = line.split('|').collect();
            if parts[23].starts_with('C') {
                // Each liberal practice is a structure of its own.
                assert!(cabinets.insert(parts[19]), "duplicate SIRET {}", parts[19]);
            }
            let idnat = parts[2];
            if idnat != previous {
                persons += 1;
                // A person's rows are consecutive: meeting an idNat again later means two
                // persons share it.
                assert!(
                    seen.insert(idnat, (parts[7], parts[8])).is_none(),
                    "duplicate {idnat}"
                );
                previous = idnat;
            }
        }
        assert_eq!(persons, summary.persons);
    }

    #[test]
    fn reg_10_same_seed_same_bytes_different_seed_differs() {
        let (a, _) = generate(800, 1, false);
        let (b, _) = generate(800, 1, false);
        let (c, _) = generate(800, 2, false);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn reg_10_crlf_and_small_counts() {
        let (out, summary) = generate(3, 5, true);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("\r\n").count(), 4);
        assert_eq!(summary.rows, 3);
        let (out, summary) = generate(0, 5, false);
        assert_eq!(
            summary,
            GenerateSummary {
                rows: 0,
                persons: 0
            }
        );
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 1);
        for rows in [1, 2, 17] {
            let (out, summary) = generate(rows, 11, false);
            assert_eq!(summary.rows, rows);
            assert_eq!(
                String::from_utf8(out).unwrap().lines().count() as u64,
                rows + 1
            );
        }
    }

    #[test]
    fn reg_10_personas_are_valid_and_their_rows_parse() {
        let personas = demo_personas();
        assert_eq!(personas.len(), 7);
        let professions: Vec<&str> = personas.iter().map(|p| p.profession_code).collect();
        assert_eq!(professions, ["10", "60", "21", "70", "50", "10", "10"]);
        for p in &personas {
            let r = Rpps::parse(&p.rpps).unwrap();
            assert_eq!(p.idnat, r.idnat());
            assert!(caducee_core::contact::Email::parse(p.email).is_ok());
            assert!(p.email.ends_with("@example.test"));
            assert_eq!(
                caducee_core::contact::Mobile::parse(p.mobile)
                    .unwrap()
                    .as_str(),
                p.mobile
            );
            assert!(Nomenclature::R81Civilite.is_active(p.civility));
            assert_eq!(p.birth_date.len(), 10);
        }
        let rows = personas_rows();
        let lines: Vec<&str> = rows.lines().collect();
        assert_eq!(lines.len(), 7);
        for (line, p) in lines.iter().zip(&personas) {
            check_line(line);
            let parts: Vec<&str> = line.split('|').collect();
            assert_eq!(parts[2], p.idnat);
            assert_eq!(parts[7], p.last_name);
            assert_eq!(parts[8], p.first_name);
        }
        let sectors: Vec<&str> = lines
            .iter()
            .map(|l| l.split('|').nth(48).unwrap())
            .collect();
        assert_eq!(
            sectors,
            ["SA07", "SA01", "SA33", "SA08", "SA01", "SA07", "SA07"]
        );
        assert_eq!(demo_personas(), personas);
        assert_eq!(personas_rows(), rows);
    }

    #[test]
    fn reg_10_reference_tables_are_sound() {
        assert!(FEMALE_FIRST_NAMES.len() + MALE_FIRST_NAMES.len() >= 60);
        assert!(LAST_NAMES.len() >= 60);
        assert!(TOWNS.len() >= 40);
        for t in TOWNS {
            assert_eq!(t.insee.len(), 5);
            assert_eq!(t.postcode.len(), 5);
            assert!(t.insee.starts_with(t.dept_code) || t.dept_code.len() == 3);
        }
        for (code, _) in PROFESSIONS.iter().chain(ADELI_PROFESSIONS) {
            assert!(Nomenclature::G15Profession.is_active(code), "{code}");
        }
        for all in [FEMALE_FIRST_NAMES, MALE_FIRST_NAMES, LAST_NAMES, STREETS] {
            assert!(all.iter().all(|s| !s.contains('|')));
        }
    }
}

#[cfg(test)]
mod scale {
    use super::*;

    /// Streams a file the size of the real extraction to nowhere: run with `--ignored` and
    /// watch memory stay flat.
    #[test]
    #[ignore = "slow: 2.3 million rows"]
    fn reg_10_full_size_generation_streams() {
        let opts = GenerateOptions {
            rows: 2_300_000,
            seed: 2026,
            crlf: false,
        };
        let summary = generate_personne_activite(&opts, io::sink());
        assert_eq!(summary.ok().map(|s| s.rows), Some(opts.rows));
    }
}
