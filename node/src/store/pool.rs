//! The pool that lets the [`MemoryStore`](super::MemoryStore)s of one simulated network
//! share one copy of each large value, and the values a store keeps apart from its map.
//!
//! The simulator keeps a whole network's ledgers in memory (100 nodes, a million
//! receipts), each record at its merchant, its agency and, once claimed, the SSC. A store
//! packs its keys and small values by pages (`super::page`); a value longer than
//! `super::page::INLINE_VALUE_BYTES` (a record) is one allocation that every store made
//! with the same [`ValuePool`] shares.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// A value as a store's undo log keeps it: its own bytes, or bytes shared with the map and
/// with other stores.
#[derive(Clone, Debug)]
pub(super) enum Value {
    /// A value held inline in the map, copied out.
    Owned(Box<[u8]>),
    /// A value held out of line, shared.
    Shared(Arc<[u8]>),
}

/// Large values shared by content among the [`MemoryStore`](super::MemoryStore)s made
/// with it ([`MemoryStore::with_pool`](super::MemoryStore::with_pool)): a record
/// delivered to three simulated nodes is one allocation, not three. Values no store holds
/// any more are let go as the pool grows.
#[derive(Debug, Default)]
pub struct ValuePool {
    state: Mutex<PoolState>,
}

#[derive(Debug, Default)]
struct PoolState {
    values: HashSet<Arc<[u8]>>,
    /// How many values the pool held after its last sweep.
    swept_len: usize,
}

impl ValuePool {
    /// An empty pool.
    pub fn new() -> ValuePool {
        ValuePool::default()
    }

    /// How many distinct values the pool holds.
    pub fn len(&self) -> usize {
        self.lock().values.len()
    }

    /// Whether the pool holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pool's copy of `bytes`, added if it has none.
    pub(super) fn share(&self, bytes: &[u8]) -> Arc<[u8]> {
        let mut state = self.lock();
        if let Some(shared) = state.values.get(bytes) {
            return shared.clone();
        }
        // Twice as many as after the last sweep: drop those only the pool holds, so the
        // sweeps cost O(1) a value and dropped values wait at most one doubling.
        if state.values.len() >= 2 * state.swept_len.max(1024) {
            state.values.retain(|value| Arc::strong_count(value) > 1);
            state.swept_len = state.values.len();
        }
        let shared: Arc<[u8]> = bytes.into();
        state.values.insert(shared.clone());
        shared
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        // Each operation completes before it returns: a poisoned lock is still whole.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_holds_equal_values_once_and_lets_unused_ones_go() {
        let pool = ValuePool::new();
        let record = vec![1u8; 600];
        let (first, second) = (pool.share(&record), pool.share(&record.clone()));
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(&*first, record.as_slice());
        assert_eq!(pool.len(), 1);
        // Values dropped everywhere go at a later sweep; those still held stay.
        for index in 0..5000u32 {
            let mut bytes = vec![0u8; 200];
            bytes[..4].copy_from_slice(&index.to_be_bytes());
            let _dropped = pool.share(&bytes);
        }
        assert!(pool.len() < 5000, "swept: {}", pool.len());
        assert!(Arc::ptr_eq(&first, &pool.share(&record)));
    }
}
