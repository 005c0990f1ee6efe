//! A store view that collects the writes of one core step instead of applying them.
//!
//! The core must not touch the disk; it returns its writes as one `Effect::Write`. Yet a
//! step that stores several records (a claim after its receipts) must read what it wrote
//! a moment before. The overlay answers reads from its pending writes first, then from
//! the real store, and hands the pending writes over as one batch at the end of the step.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::store::{scan_back_over, scan_over, Batch, Entry, Store, StoreError};

/// The real store plus one step's pending writes.
pub struct Overlay {
    base: Arc<dyn Store>,
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    values: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    batch: Batch,
}

impl Overlay {
    /// A view of `base` with no pending writes.
    pub fn new(base: Arc<dyn Store>) -> Overlay {
        Overlay { base, pending: Mutex::new(Pending::default()) }
    }

    /// The pending writes as one batch, leaving the overlay empty.
    pub fn take_batch(&self) -> Batch {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.values.clear();
        std::mem::take(&mut pending.batch)
    }
}

impl Store for Overlay {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        match pending.values.get(key) {
            Some(value) => Ok(value.clone()),
            None => self.base.get(key),
        }
    }

    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        scan_over(|limit| self.base.scan(prefix, after, limit), &pending.values, prefix, after, limit)
    }

    fn scan_back(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        scan_back_over(
            |limit| self.base.scan_back(prefix, before, limit),
            &pending.values,
            prefix,
            before,
            limit,
        )
    }

    fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, value) in batch.operations() {
            pending.values.insert(key.clone(), value.clone());
            match value {
                Some(value) => pending.batch.insert(key.clone(), value.clone()),
                None => pending.batch.remove(key.clone()),
            }
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        // Durability is the driver's business, after it applies the batch.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn reads_see_pending_writes_and_the_base_stays_untouched() {
        let base = Arc::new(MemoryStore::new());
        let mut seed = Batch::new();
        seed.insert(b"p/1".to_vec(), b"base".to_vec());
        seed.insert(b"p/2".to_vec(), b"gone".to_vec());
        base.apply(&seed).unwrap();
        let overlay = Overlay::new(base.clone());
        let mut step = Batch::new();
        step.insert(b"p/3".to_vec(), b"new".to_vec());
        step.remove(b"p/2".to_vec());
        overlay.apply(&step).unwrap();
        assert_eq!(overlay.get(b"p/3").unwrap(), Some(b"new".to_vec()));
        assert_eq!(overlay.get(b"p/2").unwrap(), None);
        let keys: Vec<Vec<u8>> =
            overlay.scan(b"p/", None, 10).unwrap().into_iter().map(|(key, _)| key).collect();
        assert_eq!(keys, vec![b"p/1".to_vec(), b"p/3".to_vec()]);
        let back: Vec<Vec<u8>> =
            overlay.scan_back(b"p/", None, 10).unwrap().into_iter().map(|(key, _)| key).collect();
        assert_eq!(back, vec![b"p/3".to_vec(), b"p/1".to_vec()]);
        let before: Vec<Vec<u8>> =
            overlay.scan_back(b"p/", Some(b"p/3"), 10).unwrap().into_iter().map(|(key, _)| key).collect();
        assert_eq!(before, vec![b"p/1".to_vec()]);
        assert_eq!(base.get(b"p/3").unwrap(), None, "nothing reaches the base before the driver applies");
        let batch = overlay.take_batch();
        assert_eq!(batch, step);
        base.apply(&batch).unwrap();
        assert_eq!(base.get(b"p/2").unwrap(), None);
    }
}
