//! An in-memory store for the simulator and tests, which models a crash: whatever was
//! applied but not synced is lost.

use std::collections::hash_map::Entry as MapEntry;
use std::collections::HashMap;
use std::ops::{Bound, ControlFlow};
use std::sync::{Arc, Mutex};

use super::packed::PackedMap;
use super::page::{Put, INLINE_VALUE_BYTES, MAX_KEY_BYTES};
use super::pool::{Value, ValuePool};
use super::{Batch, Entry, Store, StoreError};

/// One map that reads see, and an undo log that takes it back to what survived the last
/// `sync`: a crash costs what was written since, not a second copy of the whole ledger.
/// The map packs its entries by pages (`super::packed`); large values are shared with the
/// other stores made with the same [`ValuePool`] (`super::pool`).
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
    pool: Option<Arc<ValuePool>>,
}

#[derive(Debug, Default)]
struct MemoryState {
    visible: PackedMap,
    /// For each key written since the last `sync`, its value at that sync (`None`: absent).
    /// Only the first write to a key after a sync notes it; later ones leave it.
    undo: HashMap<Box<[u8]>, Option<Value>>,
    /// Batches applied since the last `sync`.
    unsynced_batches: usize,
}

impl MemoryState {
    /// Sets `key` to `bytes`: inline when small, else shared through `pool` (a value of
    /// its own without one).
    fn put(&mut self, key: &[u8], bytes: &[u8], pool: Option<&ValuePool>) {
        let value = match pool {
            _ if bytes.len() <= INLINE_VALUE_BYTES => Put::Inline(bytes),
            Some(pool) => Put::Shared(pool.share(bytes)),
            None => Put::Shared(bytes.into()),
        };
        self.visible.insert(key, value);
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// An empty store whose large values are shared, by content, with the other stores
    /// made with `pool` (the simulator's nodes: one copy of a record they all hold).
    pub fn with_pool(pool: Arc<ValuePool>) -> MemoryStore {
        MemoryStore { state: Mutex::default(), pool: Some(pool) }
    }

    /// Simulates `kill -9`: every batch applied since the last `sync` is gone.
    pub fn crash(&self) {
        let mut state = self.lock();
        let undo = std::mem::take(&mut state.undo);
        for (key, durable) in undo {
            match durable {
                Some(Value::Owned(bytes)) => state.visible.insert(&key, Put::Inline(&bytes)),
                Some(Value::Shared(bytes)) => state.visible.insert(&key, Put::Shared(bytes)),
                None => state.visible.remove(&key),
            }
        }
        state.unsynced_batches = 0;
    }

    /// How many batches a crash now would lose.
    pub fn unsynced_batches(&self) -> usize {
        self.lock().unsynced_batches
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // A panic while holding the lock cannot leave the maps half-written (each
        // operation completes before it returns), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().visible.get(key).map(<[u8]>::to_vec))
    }

    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let start = match after {
            Some(after) => Bound::Excluded(after),
            None => Bound::Included(prefix),
        };
        let mut entries = Vec::new();
        self.lock().visible.walk(start, &mut collect_under(prefix, limit, &mut entries));
        Ok(entries)
    }

    fn scan_back(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let prefix_end = super::prefix_end(prefix);
        let end = match (before, prefix_end.as_deref()) {
            (Some(before), _) => Bound::Excluded(before),
            (None, Some(end)) => Bound::Excluded(end),
            (None, None) => Bound::Unbounded,
        };
        let mut entries = Vec::new();
        self.lock().visible.walk_back(end, &mut collect_under(prefix, limit, &mut entries));
        Ok(entries)
    }

    fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        // Checked before anything is written: a batch applies whole or not at all.
        if let Some((key, _)) = batch.operations().iter().find(|(key, _)| key.len() > MAX_KEY_BYTES) {
            return Err(StoreError::KeyTooLong { bytes: key.len(), limit: MAX_KEY_BYTES });
        }
        let mut guard = self.lock();
        let state = &mut *guard;
        let pool = self.pool.as_deref();
        for (key, value) in batch.operations() {
            if let MapEntry::Vacant(entry) = state.undo.entry(key.as_slice().into()) {
                entry.insert(state.visible.owned(key));
            }
            match value {
                Some(value) => state.put(key, value, pool),
                None => state.visible.remove(key),
            }
        }
        state.unsynced_batches += 1;
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.undo.clear();
        state.unsynced_batches = 0;
        Ok(())
    }
}

/// A walk's visitor that copies the entries under `prefix` into `entries`, stopping at the
/// first key outside it or once it holds `limit` (a scan in either direction).
fn collect_under<'a>(
    prefix: &'a [u8],
    limit: usize,
    entries: &'a mut Vec<Entry>,
) -> impl FnMut(&[u8], &[u8]) -> ControlFlow<()> + 'a {
    move |key, value| {
        if entries.len() >= limit || !key.starts_with(prefix) {
            return ControlFlow::Break(());
        }
        entries.push((key.to_vec(), value.to_vec()));
        ControlFlow::Continue(())
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

    /// Every entry, in key order.
    fn everything(store: &MemoryStore) -> Vec<Entry> {
        store.scan(b"", None, usize::MAX).unwrap()
    }

    #[test]
    fn a_crash_after_a_partial_sync_restores_exactly_the_synced_state() {
        let store = MemoryStore::new();
        let batch = crate::store::batch_of;
        // Synced: a=1, b=1 (c written and deleted within the synced batches).
        store.apply(&batch(&[(b"a", Some(b"1")), (b"c", Some(b"1"))])).unwrap();
        store.apply(&batch(&[(b"b", Some(b"1")), (b"c", None)])).unwrap();
        store.sync().unwrap();
        let synced = everything(&store);
        assert_eq!(synced, vec![(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), b"1".to_vec())]);
        // Unsynced: a overwritten twice, then deleted and written again; b deleted and
        // re-created; c created, overwritten, deleted; d created; within and across batches.
        store
            .apply(&batch(&[(b"a", Some(b"2")), (b"a", Some(b"3")), (b"b", None), (b"c", Some(b"2"))]))
            .unwrap();
        store.apply(&batch(&[(b"a", None), (b"b", Some(b"2")), (b"c", Some(b"3"))])).unwrap();
        store.apply(&batch(&[(b"a", Some(b"4")), (b"c", None), (b"d", Some(b"1"))])).unwrap();
        assert_eq!(store.unsynced_batches(), 3);
        assert_eq!(
            everything(&store),
            vec![
                (b"a".to_vec(), b"4".to_vec()),
                (b"b".to_vec(), b"2".to_vec()),
                (b"d".to_vec(), b"1".to_vec())
            ]
        );
        store.crash();
        assert_eq!(store.unsynced_batches(), 0);
        assert_eq!(everything(&store), synced);
        // A second crash with nothing new changes nothing; what is synced next survives.
        store.crash();
        assert_eq!(everything(&store), synced);
        store.apply(&batch(&[(b"a", None), (b"e", Some(b"1"))])).unwrap();
        store.sync().unwrap();
        store.apply(&batch(&[(b"e", Some(b"2"))])).unwrap();
        store.crash();
        assert_eq!(everything(&store), vec![(b"b".to_vec(), b"1".to_vec()), (b"e".to_vec(), b"1".to_vec())]);
    }

    #[test]
    fn a_crash_restores_shared_and_inline_values_and_a_too_long_key_is_refused_whole() {
        let pool = Arc::new(ValuePool::new());
        let store = MemoryStore::with_pool(pool.clone());
        let record = vec![9u8; 600];
        store
            .apply(&crate::store::batch_of(&[(b"rec/1", Some(&record)), (b"id/1", Some(&[1; 32]))]))
            .unwrap();
        store.sync().unwrap();
        // The same record at a second store is the pool's one copy.
        let other = MemoryStore::with_pool(pool.clone());
        other.apply(&crate::store::batch_of(&[(b"rec/1", Some(&record))])).unwrap();
        assert_eq!(pool.len(), 1);
        store.apply(&crate::store::batch_of(&[(b"rec/1", None), (b"id/1", Some(&[2; 32]))])).unwrap();
        store.crash();
        assert_eq!(store.get(b"rec/1").unwrap(), Some(record));
        assert_eq!(store.get(b"id/1").unwrap(), Some(vec![1; 32]));

        let mut batch = Batch::new();
        batch.insert(b"id/2".to_vec(), b"x".to_vec());
        batch.insert(vec![b'k'; MAX_KEY_BYTES + 1], b"x".to_vec());
        let Err(StoreError::KeyTooLong { bytes, limit }) = store.apply(&batch) else {
            panic!("a key over the limit is refused");
        };
        assert_eq!((bytes, limit), (MAX_KEY_BYTES + 1, MAX_KEY_BYTES));
        assert_eq!(store.get(b"id/2").unwrap(), None, "nothing of the batch was written");
        assert_eq!(store.unsynced_batches(), 0);
    }
}
