//! Dates and times as French users read them: in Europe/Paris time (CET/CEST, with its
//! changes of hour), `JJ/MM/AAAA` and `JJ/MM/AAAA à HH:MM`. Everything is stored and
//! compared in Unix seconds (UTC); only what is shown to a person goes through here, so an
//! e-CPS that expires at 23:30 UTC on 14 March is announced for the 15th, as the
//! professional's own clock will say.
//!
//! The time-zone rules come from jiff's bundled copy of the IANA database, not from the
//! machine's /usr/share/zoneinfo (missing in minimal containers).

use jiff::tz::TimeZone;
use std::sync::LazyLock;

static PARIS: LazyLock<Option<TimeZone>> = LazyLock::new(|| TimeZone::get("Europe/Paris").ok());

fn format(unix: i64, pattern: &str) -> String {
    jiff::Timestamp::from_second(unix)
        .ok()
        .zip(PARIS.as_ref())
        .map(|(t, tz)| t.to_zoned(tz.clone()).strftime(pattern).to_string())
        // Out of range, or no zone data: the number rather than a wrong date.
        .unwrap_or_else(|| unix.to_string())
}

/// `JJ/MM/AAAA`, in Paris.
pub fn date(unix: i64) -> String {
    format(unix, "%d/%m/%Y")
}

/// `JJ/MM/AAAA à HH:MM`, in Paris.
pub fn date_time(unix: i64) -> String {
    format(unix, "%d/%m/%Y à %H:%M")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winter_summer_and_the_day_after_in_paris() {
        // 2026-01-15 12:00 UTC: CET, +1.
        assert_eq!(date_time(1_768_478_400), "15/01/2026 à 13:00");
        // 2026-07-01 12:00 UTC: CEST, +2.
        assert_eq!(date_time(1_782_907_200), "01/07/2026 à 14:00");
        // 2026-03-14 23:30 UTC is already the 15th in Paris.
        assert_eq!(date(1_773_531_000), "15/03/2026");
        // Around the change of hour (29 March 2026, 01:00 UTC).
        assert_eq!(date_time(1_774_745_940), "29/03/2026 à 01:59");
        assert_eq!(date_time(1_774_746_000), "29/03/2026 à 03:00");
    }

    #[test]
    fn out_of_range_shows_the_number() {
        assert_eq!(date(i64::MAX), i64::MAX.to_string());
    }
}
