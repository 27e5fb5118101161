//! Pure domain of caducee: national identifiers with their check digits, the ANS
//! nomenclatures (NOS tables), masking of contact coordinates, validation of contact
//! coordinates and an injectable clock.
//!
//! This crate must never do I/O (no files, network, database, environment or system clock
//! outside `clock::SystemClock`): every other crate depends on it, and keeping it pure keeps
//! it fast to test and safe to call from anywhere.

/// `FromStr`, `Display`, and the `String` conversions serde uses (`try_from`/`into`),
/// identical for every validated string type: serialised as the plain string, deserialised
/// through `parse`, so an invalid value can never be built from outside.
macro_rules! string_conversions {
    ($t:ty, $err:ty) => {
        impl std::str::FromStr for $t {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $t {
            type Error = $err;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.as_str().to_owned()
            }
        }
    };
}

pub mod clock;
pub mod contact;
pub mod date_fr;
pub mod html;
pub mod ids;
pub mod mask;
pub mod nomenclature;
pub mod public_url;
pub mod secret;
pub mod source;
