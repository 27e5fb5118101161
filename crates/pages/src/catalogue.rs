//! The message catalogues: Fluent files under `locales/{fr,en}/`, French the source.
//! Parsed once per process; a key missing in a language falls back to French, a key
//! missing in French gives the key itself (and a log line) — the catalogue test of this
//! crate makes both impossible in a build that passed its tests.

use crate::locale::Locale;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::LazyLock;

/// The catalogue files, per language, in the order they are loaded: (file name, text).
/// One file per component, so that each component's words sit together.
pub const KEYS_FILES: &[(Locale, &str, &str)] = &[
    (Locale::Fr, "kit.ftl", include_str!("../locales/fr/kit.ftl")),
    (
        Locale::Fr,
        "erpps.ftl",
        include_str!("../locales/fr/erpps.ftl"),
    ),
    (Locale::Fr, "web.ftl", include_str!("../locales/fr/web.ftl")),
    (Locale::Fr, "idp.ftl", include_str!("../locales/fr/idp.ftl")),
    (
        Locale::Fr,
        "portals.ftl",
        include_str!("../locales/fr/portals.ftl"),
    ),
    (
        Locale::Fr,
        "accounts.ftl",
        include_str!("../locales/fr/accounts.ftl"),
    ),
    (
        Locale::Fr,
        "messages.ftl",
        include_str!("../locales/fr/messages.ftl"),
    ),
    (
        Locale::Fr,
        "directory.ftl",
        include_str!("../locales/fr/directory.ftl"),
    ),
    (
        Locale::Fr,
        "registration.ftl",
        include_str!("../locales/fr/registration.ftl"),
    ),
    (Locale::Fr, "ars.ftl", include_str!("../locales/fr/ars.ftl")),
    (
        Locale::Fr,
        "franceconnect.ftl",
        include_str!("../locales/fr/franceconnect.ftl"),
    ),
    (
        Locale::Fr,
        "attestation.ftl",
        include_str!("../locales/fr/attestation.ftl"),
    ),
    (
        Locale::Fr,
        "card.ftl",
        include_str!("../locales/fr/card.ftl"),
    ),
    (
        Locale::Fr,
        "delegation.ftl",
        include_str!("../locales/fr/delegation.ftl"),
    ),
    (
        Locale::Fr,
        "ecps.ftl",
        include_str!("../locales/fr/ecps.ftl"),
    ),
    (Locale::En, "kit.ftl", include_str!("../locales/en/kit.ftl")),
    (
        Locale::En,
        "erpps.ftl",
        include_str!("../locales/en/erpps.ftl"),
    ),
    (Locale::En, "web.ftl", include_str!("../locales/en/web.ftl")),
    (Locale::En, "idp.ftl", include_str!("../locales/en/idp.ftl")),
    (
        Locale::En,
        "portals.ftl",
        include_str!("../locales/en/portals.ftl"),
    ),
    (
        Locale::En,
        "accounts.ftl",
        include_str!("../locales/en/accounts.ftl"),
    ),
    (
        Locale::En,
        "messages.ftl",
        include_str!("../locales/en/messages.ftl"),
    ),
    (
        Locale::En,
        "directory.ftl",
        include_str!("../locales/en/directory.ftl"),
    ),
    (
        Locale::En,
        "registration.ftl",
        include_str!("../locales/en/registration.ftl"),
    ),
    (Locale::En, "ars.ftl", include_str!("../locales/en/ars.ftl")),
    (
        Locale::En,
        "franceconnect.ftl",
        include_str!("../locales/en/franceconnect.ftl"),
    ),
    (
        Locale::En,
        "attestation.ftl",
        include_str!("../locales/en/attestation.ftl"),
    ),
    (
        Locale::En,
        "card.ftl",
        include_str!("../locales/en/card.ftl"),
    ),
    (
        Locale::En,
        "delegation.ftl",
        include_str!("../locales/en/delegation.ftl"),
    ),
    (
        Locale::En,
        "ecps.ftl",
        include_str!("../locales/en/ecps.ftl"),
    ),
];

struct Catalogues {
    fr: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

fn bundle(locale: Locale) -> FluentBundle<FluentResource> {
    let tag = locale.tag().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![tag]);
    // No Unicode isolation marks around placeables: the pages are HTML with `lang` set,
    // and the marks would be invisible characters in copied codes and numbers.
    bundle.set_use_isolating(false);
    for (l, name, text) in KEYS_FILES {
        if *l != locale {
            continue;
        }
        let resource =
            FluentResource::try_new((*text).to_string()).unwrap_or_else(|(r, errors)| {
                tracing::error!(file = name, ?errors, "catalogue: syntax errors");
                r
            });
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(file = name, ?errors, "catalogue: duplicate keys");
        }
    }
    bundle
}

static CATALOGUES: LazyLock<Catalogues> = LazyLock::new(|| Catalogues {
    fr: bundle(Locale::Fr),
    en: bundle(Locale::En),
});

/// A value given to a message (`{ $minutes }`).
#[derive(Debug, Clone)]
pub enum Arg {
    Num(i64),
    Text(String),
}

impl From<i64> for Arg {
    fn from(n: i64) -> Arg {
        Arg::Num(n)
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg::Text(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Text(s)
    }
}

/// The translator of one page: its language, and the messages of the catalogues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tr {
    locale: Locale,
}

impl Tr {
    pub fn new(locale: Locale) -> Tr {
        Tr { locale }
    }

    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// The message `key` (plain text: templates escape it).
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with its arguments.
    pub fn t_with(&self, key: &str, args: &[(&str, Arg)]) -> String {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            match value {
                Arg::Num(n) => fluent.set(*name, FluentValue::from(*n)),
                Arg::Text(s) => fluent.set(*name, FluentValue::from(s.as_str())),
            }
        }
        self.format(key, Some(&fluent))
    }

    /// A delay of `secs` seconds in words ("48 heures", "1 hour", "2 minutes"): the one
    /// rendering of configured delays (`[registry] propagation_delay_secs`) in the texts,
    /// given to them as their `$delay` argument. Seconds under a minute, minutes under an
    /// hour, hours under three days, days beyond, each rounded up; plural forms by the
    /// catalogue (`kit-delay`).
    pub fn delay(&self, secs: i64) -> String {
        const MINUTE: i64 = 60;
        const HOUR: i64 = 3_600;
        const DAY: i64 = 86_400;
        let secs = secs.max(0);
        let up = |unit: i64| secs / unit + i64::from(secs % unit != 0);
        let (unit, n) = if secs < MINUTE {
            ("seconds", secs)
        } else if secs < HOUR {
            ("minutes", up(MINUTE))
        } else if secs < 3 * DAY {
            ("hours", up(HOUR))
        } else {
            ("days", up(DAY))
        };
        self.t_with(
            "kit-delay",
            &[("unit", Arg::from(unit)), ("n", Arg::Num(n))],
        )
    }

    /// The message `key` with its `$delay` argument: `secs` seconds in words ([`Tr::delay`]).
    pub fn t_delay(&self, key: &str, secs: i64) -> String {
        self.t_with(key, &[("delay", Arg::Text(self.delay(secs)))])
    }

    /// Whether `key` exists in this translator's language.
    pub fn has(&self, key: &str) -> bool {
        self.bundle().has_message(key)
    }

    fn bundle(&self) -> &'static FluentBundle<FluentResource> {
        match self.locale {
            Locale::Fr => &CATALOGUES.fr,
            Locale::En => &CATALOGUES.en,
        }
    }

    fn format(&self, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        let found = [self.bundle(), &CATALOGUES.fr].into_iter().find_map(|b| {
            let pattern = b.get_message(key)?.value()?;
            let mut errors = Vec::new();
            let text = b.format_pattern(pattern, args, &mut errors).into_owned();
            if !errors.is_empty() {
                tracing::warn!(key, ?errors, "catalogue: message formatted with errors");
            }
            Some(text)
        });
        found.unwrap_or_else(|| {
            tracing::error!(key, "catalogue: unknown message");
            key.to_string()
        })
    }
}
