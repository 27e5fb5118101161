//! Long-poll of the pending requests ([`EcpsServer::wait_for_pending`]), cheap with many
//! devices waiting and correct across nodes.
//!
//! The database stays the only truth: a waiting device is answered with what
//! [`EcpsServer::pending_for_device`] reads. What lives in memory is only who waits on this
//! node: a request created through this node wakes its professional's waiters at once, and
//! one poller per node (not one per device) reads every 250 ms which professionals have a
//! pending request, so a request created on another node is seen within 250 ms. With 1,000
//! devices waiting that is 4 queries a second instead of 8,000.
//!
//! **One long-poll per device** (issue 10, item 14): a device that opens a new long-poll
//! ends the one it already holds on this node, which answers at once with an empty list
//! marked `superseded`; so one device cannot pile up connections. This holds per node, on
//! purpose: the bound wanted is on what one device can hold open, and per node it is one
//! long-poll, so at most one per node across a deployment, a small fixed number. Making the
//! newest win across nodes would need a generation counter written in the database at every
//! long-poll and read for every waiting device at every tick of every node's poller (with
//! 1,000 devices waiting, 4,000 rows a second per node), to close connections that cost a
//! few kilobytes each and end by themselves within 30 s.
//!
//! Must never decide anything from memory (a wake-up only triggers a fresh read), and never
//! lose a wake-up: a waiter registers before it reads, and `Notify::notify_one` keeps a
//! permit for a waiter that is between its read and its wait.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sqlx::Row;
use tokio::sync::Notify;

use crate::{EcpsError, EcpsServer, PendingRequest};

/// How often the poller of a node reads the pending requests while devices wait.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// Who waits on this node, by idNat. Shared by the clones of one [`EcpsServer`].
#[derive(Debug, Default)]
pub(crate) struct Watch {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    waiters: HashMap<String, Vec<(u64, Arc<Notify>)>>,
    /// The long-poll each device holds on this node: its waiter id, and how to end it.
    by_device: HashMap<String, (u64, Ended)>,
    next_id: u64,
    poller_running: bool,
}

/// How a newer long-poll of the same device ends an older one: the flag, then a wake-up.
#[derive(Debug, Clone)]
struct Ended {
    flag: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

/// A waiter's place in the [`Watch`], removed on drop (also when the HTTP client goes away
/// and the handler's future is dropped).
struct Registration {
    watch: Arc<Watch>,
    idnat: String,
    device_id: String,
    id: u64,
    notify: Arc<Notify>,
    superseded: Arc<AtomicBool>,
}

impl Registration {
    fn superseded(&self) -> bool {
        self.superseded.load(Ordering::Acquire)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut state = self.watch.lock();
        if let Some(list) = state.waiters.get_mut(&self.idnat) {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                state.waiters.remove(&self.idnat);
            }
        }
        // Only its own entry: a newer long-poll of the device may have taken the place.
        if state
            .by_device
            .get(&self.device_id)
            .is_some_and(|(id, _)| *id == self.id)
        {
            state.by_device.remove(&self.device_id);
        }
    }
}

/// What a long-poll returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongPoll {
    /// The pending requests of the device's professional (empty when none came in time).
    pub requests: Vec<PendingRequest>,
    /// A newer long-poll of the same device took over on this node: this one ended early,
    /// empty.
    pub superseded: bool,
}

impl Watch {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The map is only ever changed by whole insertions and removals, so a panic in
        // another holder cannot leave it half-written: recover instead of propagating.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wakes the waiters of these professionals.
    pub(crate) fn wake<'a>(&self, idnats: impl IntoIterator<Item = &'a str>) {
        let state = self.lock();
        for idnat in idnats {
            if let Some(list) = state.waiters.get(idnat) {
                for (_, n) in list {
                    n.notify_one();
                }
            }
        }
    }

    /// Waiters currently registered on this node (for tests and metrics).
    pub(crate) fn waiting(&self) -> usize {
        self.lock().waiters.values().map(Vec::len).sum()
    }
}

impl EcpsServer {
    /// Long-poll: the pending requests of the device's professional, as soon as there is
    /// one, waiting at most `wait` (measured on the runtime's monotonic timer, not the
    /// injected clock: it bounds a connection, it decides nothing). An empty list when none
    /// came in time; the device errors (expired, locked, replaced) as
    /// [`EcpsServer::pending_for_device`].
    pub async fn wait_for_pending(
        &self,
        device_id: &str,
        wait: Duration,
    ) -> Result<Vec<PendingRequest>, EcpsError> {
        Ok(self.long_poll(device_id, wait).await?.requests)
    }

    /// [`Self::wait_for_pending`], telling also whether the long-poll was ended early by a
    /// newer one of the same device on this node (see the module's documentation): the
    /// newest long-poll of a device wins, the older answers at once, empty and `superseded`.
    pub async fn long_poll(&self, device_id: &str, wait: Duration) -> Result<LongPoll, EcpsError> {
        let deadline = tokio::time::Instant::now() + wait;
        let answer = |requests, superseded| LongPoll {
            requests,
            superseded,
        };
        if wait.is_zero() {
            return Ok(answer(self.pending_for_device(device_id).await?, false));
        }
        let idnat = self.device_row(device_id).await?.idnat;
        let registration = self.register(idnat, device_id);
        loop {
            if registration.superseded() {
                return Ok(answer(Vec::new(), true));
            }
            // Read after registering: a request committed in between has woken us already.
            let pending = self.pending_for_device(device_id).await?;
            if !pending.is_empty() {
                return Ok(answer(pending, false));
            }
            tokio::select! {
                _ = registration.notify.notified() => {}
                _ = tokio::time::sleep_until(deadline) => return Ok(answer(Vec::new(), false)),
            }
        }
    }

    /// Devices long-polling on this node right now.
    pub fn waiting_devices(&self) -> usize {
        self.watch.waiting()
    }

    /// Registers a long-poll of `device_id` (of `idnat`), ending the one the device already
    /// holds on this node.
    fn register(&self, idnat: String, device_id: &str) -> Registration {
        let notify = Arc::new(Notify::new());
        let superseded = Arc::new(AtomicBool::new(false));
        let (id, start_poller) = {
            let mut state = self.watch.lock();
            state.next_id += 1;
            let id = state.next_id;
            state
                .waiters
                .entry(idnat.clone())
                .or_default()
                .push((id, notify.clone()));
            let ended = Ended {
                flag: superseded.clone(),
                notify: notify.clone(),
            };
            if let Some((_, older)) = state.by_device.insert(device_id.to_string(), (id, ended)) {
                older.flag.store(true, Ordering::Release);
                older.notify.notify_one();
            }
            let start = !state.poller_running;
            state.poller_running = true;
            (id, start)
        };
        if start_poller {
            tokio::spawn(self.clone().poll_while_waited());
        }
        Registration {
            watch: self.watch.clone(),
            idnat,
            device_id: device_id.to_string(),
            id,
            notify,
            superseded,
        }
    }

    /// The poller of this node: runs while someone waits, then stops (the next waiter
    /// starts another), so an idle node reads nothing.
    async fn poll_while_waited(self) {
        let mut every = tokio::time::interval(POLL_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            every.tick().await;
            {
                let mut state = self.watch.lock();
                if state.waiters.is_empty() {
                    state.poller_running = false;
                    return;
                }
            }
            match self.professionals_with_pending().await {
                Ok(idnats) => self.watch.wake(idnats.iter().map(String::as_str)),
                // Transient (database restarting…): the waiters time out at worst, and the
                // next tick tries again.
                Err(e) => tracing::warn!(error = %e, "e-CPS : lecture des demandes en attente"),
            }
        }
    }

    /// Professionals with a pending, unexpired request (on any node). Few at any time: a
    /// request lives 120 s and a professional has at most 3.
    async fn professionals_with_pending(&self) -> Result<Vec<String>, EcpsError> {
        let rows = sqlx::query(
            "SELECT DISTINCT idnat FROM ecps_request WHERE status = 'pending' AND expires_at > $1",
        )
        .bind(self.now())
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(EcpsError::from))
            .collect()
    }
}
