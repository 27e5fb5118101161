//! The assurance level of a délégation login, derived from the `amr` the upstream provider
//! reports (RFC 8176 values; reference/psc.md names `mfa`, `hwk`, `sc`, `swk`).
//!
//! `eidas1` (substantial) needs two factors: `mfa` said by the provider, or values of two
//! different kinds among something known (`pwd`, `pin`, `kba`), something held (`hwk`,
//! `swk`, `sc`, `otp`, `sms`, `tel`, `pop`) and something one is (`fpt`, `face`, `iris`,
//! `retina`, `vbm`, `bio`, `user`…). A password alone, a key alone or nothing at all is
//! below it.

/// The kind of factor an RFC 8176 value proves, if any.
fn factor(amr: &str) -> Option<u8> {
    match amr {
        "pwd" | "pin" | "kba" => Some(0),
        "hwk" | "swk" | "sc" | "otp" | "sms" | "tel" | "pop" => Some(1),
        "fpt" | "face" | "iris" | "retina" | "vbm" | "bio" => Some(2),
        _ => None,
    }
}

/// Values of RFC 8176's registry (plus `pki`, used by PSC for the card): only these are
/// carried into the tokens.
const KNOWN: &[&str] = &[
    "face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pki", "pop", "pwd",
    "rba", "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia",
];

/// What a délégation login is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// `Some("eidas1")` when substantial, `None` below it.
    pub acr: Option<&'static str>,
    /// The `amr` the tokens carry: the provider's known values in its order, `mfa` added
    /// when two kinds of factor were seen without it.
    pub amr: Vec<String>,
}

/// The level of an upstream `amr`.
pub fn derive(upstream: &[String]) -> Level {
    let mut amr: Vec<String> = Vec::new();
    for v in upstream {
        if KNOWN.contains(&v.as_str()) && !amr.contains(v) {
            amr.push(v.clone());
        }
    }
    let mut kinds: Vec<u8> = amr.iter().filter_map(|v| factor(v)).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let said_mfa = amr.iter().any(|v| v == "mfa");
    let substantial = said_mfa || kinds.len() >= 2;
    if substantial && !said_mfa {
        amr.push("mfa".to_string());
    }
    Level {
        acr: substantial.then_some("eidas1"),
        amr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: &[&str]) -> Level {
        derive(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn psc_08_multi_factor_is_substantial_a_password_alone_is_not() {
        assert_eq!(d(&["mfa"]).acr, Some("eidas1"));
        assert_eq!(d(&["pwd", "otp"]).acr, Some("eidas1"));
        assert_eq!(d(&["pwd", "otp"]).amr, vec!["pwd", "otp", "mfa"]);
        assert_eq!(d(&["sc", "pin"]).acr, Some("eidas1"));
        assert_eq!(d(&["hwk", "fpt"]).acr, Some("eidas1"));
        assert_eq!(d(&["pwd"]).acr, None);
        assert_eq!(d(&["hwk"]).acr, None);
        assert_eq!(
            d(&["pwd", "kba"]).acr,
            None,
            "two things known are one factor"
        );
        assert_eq!(d(&[]).acr, None);
        // Unknown values are neither counted nor carried.
        assert_eq!(d(&["pwd", "magic"]).amr, vec!["pwd"]);
        assert_eq!(d(&["pwd", "magic"]).acr, None);
    }
}
