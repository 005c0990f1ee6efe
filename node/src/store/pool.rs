//! The values a [`MemoryStore`](super::MemoryStore) holds, and the pool that lets the
//! stores of one simulated network share one copy of each large value.
//!
//! The simulator keeps a whole network's ledgers in memory (100 nodes, a million
//! receipts), each record at its merchant, its agency and, once claimed, the SSC, with
//! about 17 index entries. Keys are boxed slices (16 bytes in the map's nodes, not a
//! `Vec`'s 24); a value is 24 bytes, its own bytes when small (most are empty or a 32-byte
//! id) and, when large (a record), one allocation that every store made with the same
//! [`ValuePool`] shares.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The smallest value a [`ValuePool`] shares: smaller ones (ids, counters, empty index
/// entries) are not worth a hash and a slot in the pool.
const POOLED_VALUE_BYTES: usize = 128;

/// A store's value: its own bytes, or bytes shared with other stores.
#[derive(Clone, Debug)]
pub(super) enum Value {
    /// A value no other store shares (an empty one allocates nothing).
    Owned(Box<[u8]>),
    /// A value of at least [`POOLED_VALUE_BYTES`], from the store's pool.
    Shared(Arc<[u8]>),
}

impl Value {
    /// The value of `bytes`, from `pool` when it is large enough to share.
    pub(super) fn new(bytes: &[u8], pool: Option<&ValuePool>) -> Value {
        match pool {
            Some(pool) if bytes.len() >= POOLED_VALUE_BYTES => Value::Shared(pool.share(bytes)),
            _ => Value::Owned(bytes.into()),
        }
    }

    /// The value's bytes.
    pub(super) fn as_slice(&self) -> &[u8] {
        match self {
            Value::Owned(bytes) => bytes,
            Value::Shared(bytes) => bytes,
        }
    }
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
    fn share(&self, bytes: &[u8]) -> Arc<[u8]> {
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
    fn values_keep_their_bytes_at_every_size() {
        for len in [0, 1, 32, POOLED_VALUE_BYTES - 1, POOLED_VALUE_BYTES, 1200] {
            let bytes: Vec<u8> = (0..len).map(|index| index as u8).collect();
            assert_eq!(Value::new(&bytes, None).as_slice(), bytes.as_slice());
            assert_eq!(Value::new(&bytes, Some(&ValuePool::new())).as_slice(), bytes.as_slice());
        }
    }

    #[test]
    fn a_pool_holds_equal_large_values_once_and_lets_unused_ones_go() {
        let pool = ValuePool::new();
        let record = vec![1u8; 600];
        let (Value::Shared(first), Value::Shared(second)) =
            (Value::new(&record, Some(&pool)), Value::new(&record.clone(), Some(&pool)))
        else {
            panic!("a 600-byte value is shared");
        };
        assert!(Arc::ptr_eq(&first, &second));
        // Small values and values without a pool are not pooled.
        let _ = Value::new(&[2u8; POOLED_VALUE_BYTES - 1], Some(&pool));
        assert_eq!(pool.len(), 1);
        // Values dropped everywhere go at a later sweep; those still held stay.
        for index in 0..5000u32 {
            let mut bytes = vec![0u8; POOLED_VALUE_BYTES];
            bytes[..4].copy_from_slice(&index.to_be_bytes());
            let _dropped = Value::new(&bytes, Some(&pool));
        }
        assert!(pool.len() < 5000, "swept: {}", pool.len());
        let Value::Shared(again) = Value::new(&record, Some(&pool)) else {
            panic!("a 600-byte value is shared");
        };
        assert!(Arc::ptr_eq(&first, &again));
    }
}
