//! The ledger's cache of decoded records.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use kvitt_protocol::{AnyRecord, RecordId};

/// Most records a [`RecordCache`] holds: a few megabytes, enough for the claims a busy
/// agency has in flight and their receipts.
pub const RECORD_CACHE_ENTRIES: usize = 1024;

/// The records a node decoded most recently, by id, so that reading one again (a claim's
/// receipts as its draft grows, a claim as each of its events arrives) costs a comparison
/// of its stored bytes instead of a decode. A cached record is returned only if the bytes
/// the store holds now are exactly the ones it was decoded from, so a record the store
/// lost (a simulated crash) or a damaged one is never served from here. At most
/// [`RECORD_CACHE_ENTRIES`]; the oldest entry goes first.
#[derive(Debug, Default)]
pub struct RecordCache {
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    records: HashMap<RecordId, AnyRecord>,
    /// Ids in the order they were cached, oldest first.
    order: VecDeque<RecordId>,
}

impl RecordCache {
    /// An empty cache.
    pub fn new() -> RecordCache {
        RecordCache::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // Every operation leaves the map and the order consistent before it can panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached record with `id`, if it was decoded from exactly `bytes`.
    pub(super) fn get(&self, id: &RecordId, bytes: &[u8]) -> Option<AnyRecord> {
        self.lock().records.get(id).filter(|record| record.bytes() == bytes).cloned()
    }

    pub(super) fn insert(&self, record: &AnyRecord) {
        let mut guard = self.lock();
        let state = &mut *guard;
        if state.records.contains_key(&record.id()) {
            return;
        }
        if state.records.len() >= RECORD_CACHE_ENTRIES {
            if let Some(oldest) = state.order.pop_front() {
                state.records.remove(&oldest);
            }
        }
        state.records.insert(record.id(), record.clone());
        state.order.push_back(record.id());
    }
}
