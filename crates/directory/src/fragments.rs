//! Pre-serialised Practitioners: the JSON of a Practitioner kept in memory under its idNat
//! and the search index's `last_updated`, so that a page of matches needs the index query
//! and no row of the persons' tables for the Practitioners met before.
//!
//! Never serves a stale resource: every use compares the `last_updated` the index gives
//! now (the search's own statement returns it) with the fragment's; any change of a person,
//! their activities or know-how stamps a new `last_updated` (registry `search::touch_*`).
//! Only resources whose `last_updated` is older than [`SETTLED`] seconds are kept, so that
//! a second change within the same second — or stamped by a node whose clock lags by less
//! than that — can never carry the stamp of a kept fragment. Bounded: at [`CAPACITY`]
//! fragments the oldest half goes. A cache of this node only, never a source of truth.

use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Fragments kept at most (a Practitioner is about 1 KB of JSON).
pub const CAPACITY: usize = 50_000;
/// Seconds after its last change before a resource is kept.
pub const SETTLED: i64 = 60;

#[derive(Default)]
pub struct Fragments {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// idNat → (last_updated, JSON, insertion number)
    map: HashMap<String, (i64, Arc<RawValue>, u64)>,
    next: u64,
}

impl Fragments {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data: still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fragment of `idnat` if it is the one of `last_updated`.
    pub fn get(&self, idnat: &str, last_updated: i64) -> Option<Arc<RawValue>> {
        self.lock()
            .map
            .get(idnat)
            .filter(|(t, _, _)| *t == last_updated)
            .map(|(_, json, _)| json.clone())
    }

    /// Keeps `json` as the fragment of `idnat` at `last_updated`, if settled at `now`.
    pub fn put(&self, idnat: &str, last_updated: i64, now: i64, json: Arc<RawValue>) {
        if last_updated > now - SETTLED {
            return;
        }
        let mut inner = self.lock();
        if inner.map.len() >= CAPACITY {
            // The older half goes (insertion order): one sort per CAPACITY / 2 insertions.
            let mut order: Vec<u64> = inner.map.values().map(|(_, _, n)| *n).collect();
            order.sort_unstable();
            let cut = order.get(order.len() / 2).copied().unwrap_or(0);
            inner.map.retain(|_, (_, _, n)| *n >= cut);
        }
        let n = inner.next;
        inner.next += 1;
        inner.map.insert(idnat.to_string(), (last_updated, json, n));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn raw(s: &str) -> Arc<RawValue> {
        Arc::from(RawValue::from_string(s.to_string()).unwrap())
    }

    #[test]
    fn reg_10_fragments_answer_only_their_own_last_updated() {
        let f = Fragments::default();
        f.put("8a", 100, 1000, raw("{\"a\":1}"));
        assert_eq!(f.get("8a", 100).unwrap().get(), "{\"a\":1}");
        assert!(
            f.get("8a", 101).is_none(),
            "a newer change is never answered"
        );
        // Changed less than SETTLED seconds ago: not kept.
        f.put("8b", 990, 1000, raw("{}"));
        assert!(f.get("8b", 990).is_none());
        for i in 0..CAPACITY + 10 {
            f.put(&format!("x{i}"), 1, 1000, raw("{}"));
        }
        assert!(f.lock().map.len() <= CAPACITY);
        assert!(f.get(&format!("x{}", CAPACITY + 9), 1).is_some());
    }
}
