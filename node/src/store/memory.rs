//! An in-memory store for the simulator and tests, which models a crash: whatever was
//! applied but not synced is lost.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Mutex;

use super::{Batch, Entry, Store, StoreError};

/// Two maps: what reads see, and what survived the last `sync`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    visible: BTreeMap<Vec<u8>, Vec<u8>>,
    unsynced: Vec<Batch>,
    durable: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Simulates `kill -9`: every batch applied since the last `sync` is gone.
    pub fn crash(&self) {
        let mut state = self.lock();
        state.unsynced.clear();
        state.visible = state.durable.clone();
    }

    /// How many batches a crash now would lose.
    pub fn unsynced_batches(&self) -> usize {
        self.lock().unsynced.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // A panic while holding the lock cannot leave the maps half-written (each
        // operation completes before it returns), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn apply_to(map: &mut BTreeMap<Vec<u8>, Vec<u8>>, batch: &Batch) {
    for (key, value) in batch.operations() {
        match value {
            Some(value) => map.insert(key.clone(), value.clone()),
            None => map.remove(key),
        };
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().visible.get(key).cloned())
    }

    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let state = self.lock();
        let start = match after {
            Some(after) => Bound::Excluded(after.to_vec()),
            None => Bound::Included(prefix.to_vec()),
        };
        Ok(state
            .visible
            .range((start, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .take(limit)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect())
    }

    fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        let mut state = self.lock();
        apply_to(&mut state.visible, batch);
        state.unsynced.push(batch.clone());
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        let mut state = self.lock();
        let unsynced = std::mem::take(&mut state.unsynced);
        for batch in &unsynced {
            apply_to(&mut state.durable, batch);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_store_contract() {
        super::super::contract::batches_are_atomic_and_ordered(&MemoryStore::new());
    }

    #[test]
    fn a_crash_loses_exactly_the_unsynced_batches() {
        let store = MemoryStore::new();
        let mut first = Batch::new();
        first.insert(b"k1".to_vec(), b"v1".to_vec());
        store.apply(&first).unwrap();
        store.sync().unwrap();
        let mut second = Batch::new();
        second.insert(b"k2".to_vec(), b"v2".to_vec());
        second.remove(b"k1".to_vec());
        store.apply(&second).unwrap();
        assert_eq!(store.unsynced_batches(), 1);
        assert_eq!(store.get(b"k1").unwrap(), None);
        store.crash();
        assert_eq!(store.get(b"k1").unwrap(), Some(b"v1".to_vec()));
        assert_eq!(store.get(b"k2").unwrap(), None);
    }
}
