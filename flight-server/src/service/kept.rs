//! Plans kept for a short while under an id, for the one later call that takes them: a
//! FlightInfo's plan for the DoGet of its ticket, a prepared statement's for its first
//! execution. Bounded in time and number (the oldest goes first); a lock poisoned by a panic
//! still gives the map (nothing done under it can leave it half-changed).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub(super) struct Kept<T> {
    ttl: Duration,
    max: usize,
    entries: Mutex<HashMap<String, (Instant, T)>>,
}

impl<T> Kept<T> {
    pub(super) fn new(ttl: Duration, max: usize) -> Self {
        Kept {
            ttl,
            max,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Keep `value` under `id`, making room by dropping the oldest entry.
    pub(super) fn keep(&self, id: &str, value: T) {
        let mut entries = self.live();
        if entries.len() >= self.max
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(id, _)| id.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(id.to_string(), (Instant::now(), value));
    }

    /// The value kept under `id`, if it has not expired; taken once.
    pub(super) fn take(&self, id: &str) -> Option<T> {
        self.live().remove(id).map(|(_, value)| value)
    }

    /// The entries, expired ones dropped.
    fn live(&self) -> MutexGuard<'_, HashMap<String, (Instant, T)>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
        entries
    }
}
