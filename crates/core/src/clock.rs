//! Injected time. Code that needs "now" receives a [`SharedClock`]; only [`SystemClock`]
//! reads the system clock, so tests can drive expiries and propagation delays with a
//! [`ManualClock`] instead of sleeping.
//!
//! Nothing outside this module may call `OffsetDateTime::now_utc()` or `SystemTime::now()`.

use std::sync::{Arc, Mutex, MutexGuard};

use time::{Duration, OffsetDateTime};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;

    /// Seconds since the Unix epoch.
    fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// The real clock (UTC).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

pub fn system_clock() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock that only moves when told to. Clones share the same time, so a test can keep one
/// handle and give another to the code under test.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    pub fn new(at: OffsetDateTime) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(at)))
    }

    pub fn set(&self, at: OffsetDateTime) {
        *self.lock() = at;
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.lock();
        *t += by;
    }

    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, OffsetDateTime> {
        // The guarded value is a plain timestamp, always consistent, so a panic in another
        // holder leaves nothing half-written: recover instead of propagating the poison.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn reg_06_manual_clock_moves_only_when_told_and_clones_share() {
        let c = ManualClock::new(datetime!(2026-01-15 10:00 UTC));
        let other = c.clone();
        let shared: SharedClock = c.shared();
        assert_eq!(shared.now(), datetime!(2026-01-15 10:00 UTC));
        c.advance(Duration::hours(48));
        assert_eq!(other.now(), datetime!(2026-01-17 10:00 UTC));
        assert_eq!(
            shared.unix(),
            datetime!(2026-01-17 10:00 UTC).unix_timestamp()
        );
        other.set(datetime!(2030-01-01 0:00 UTC));
        assert_eq!(c.now(), datetime!(2030-01-01 0:00 UTC));
    }

    #[test]
    fn system_clock_is_after_2025() {
        assert!(system_clock().unix() > datetime!(2025-01-01 0:00 UTC).unix_timestamp());
    }
}
