//! Where a node keeps its ledger: an ordered key-value store with atomic batches and an
//! explicit durability point.
//!
//! `apply` makes a batch visible at once; `sync` returns only when everything applied
//! before it survives `kill -9` and power loss. Acknowledgements wait for a `sync` (see
//! [`group_commit`]), so many records share one fsync. Production uses [`SledStore`];
//! the simulator uses [`MemoryStore`], which loses what was not synced when a node crashes.

pub mod dump;
pub mod floor_file;
pub mod group_commit;
pub mod ledger_start;
mod memory;
mod packed;
mod page;
mod pool;
mod sled_store;
mod space;
mod staged;

pub use floor_file::{FloorFile, FloorKeeper, FlooredStore, MemoryFloor};
pub use memory::MemoryStore;
pub use pool::ValuePool;
pub use sled_store::{SledSettings, SledStore, COMPRESSION_RATIO, DEFAULT_CACHE_BYTES, LOCK_RELEASE_WAIT};
pub use space::{DiskWatch, FreeSpace, SpaceGuard, DEFAULT_DISK_FLOOR_BYTES};
pub use staged::MAX_STAGED_BYTES;
pub(crate) use staged::{scan_back_over, scan_over};

use std::ops::ControlFlow;

/// A failure of the storage underneath the ledger.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an error (I/O, or a corrupt database).
    #[error("ledger storage: {0}")]
    Sled(sled::Error),
    /// A file operation around sled failed (fsync, moving a damaged ledger aside).
    #[error("ledger file {path}: {error}")]
    Io {
        /// The file or directory concerned.
        path: std::path::PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// A batch held a key longer than the in-memory store takes; nothing of it was
    /// written.
    #[error("a key of {bytes} bytes is longer than the in-memory store takes ({limit})")]
    KeyTooLong {
        /// The key's length.
        bytes: usize,
        /// The longest key the store takes.
        limit: usize,
    },
    /// The store was closed or crashed (simulation) and takes no more work.
    #[error("the ledger store is closed")]
    Closed,
    /// The file system holding the ledger has less free space than the write needs on
    /// top of the floor the node keeps free ([`SpaceGuard`]): refused before anything
    /// was written, so nothing is lost; writes go through again once space is freed.
    #[error(
        "the disk holding the ledger {path} is full: {free_bytes} bytes free, \
         {needed_bytes} needed (the write and the {floor_bytes} bytes kept free)"
    )]
    DiskFull {
        /// The ledger's folder.
        path: std::path::PathBuf,
        /// Bytes free for the node's user.
        free_bytes: u64,
        /// The floor the node keeps free.
        floor_bytes: u64,
        /// The floor plus the write's keys and values.
        needed_bytes: u64,
    },
}

impl From<sled::Error> for StoreError {
    /// sled's error, named in the message (not as a `source()`, so a chain says it once).
    fn from(error: sled::Error) -> StoreError {
        StoreError::Sled(error)
    }
}

/// One atomic group of writes: all of them become visible together, or none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    operations: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.operations.push((key.into(), Some(value.into())));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.operations.push((key.into(), None));
    }

    /// Whether the batch writes nothing.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// The writes, in order; a later write to the same key wins.
    pub fn operations(&self) -> &[(Vec<u8>, Option<Vec<u8>>)] {
        &self.operations
    }

    /// Appends `later`'s writes after these: the two become one atomic batch whose result
    /// is that of applying this one, then `later` (a group commit hands a whole group of
    /// batches to the store underneath at once: super::staged).
    pub fn append(&mut self, later: Batch) {
        self.operations.extend(later.operations);
    }
}

/// The least key after every key that starts with `prefix`, if there is one (none for an
/// empty prefix or one of only 0xff bytes).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A key and its value, as scans return them.
pub type Entry = (Vec<u8>, Vec<u8>);

/// An ordered key-value store with atomic batches and an explicit durability point.
pub trait Store: Send + Sync {
    /// The value of `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every entry whose key starts with `prefix`, in key order, at most `limit` of them,
    /// starting after `after` when given (for paging).
    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>, StoreError>;

    /// Every entry whose key starts with `prefix`, in reverse key order, at most `limit`
    /// of them, starting before `before` when given (for paging newest first).
    fn scan_back(&self, prefix: &[u8], before: Option<&[u8]>, limit: usize)
        -> Result<Vec<Entry>, StoreError>;

    /// Applies `batch` atomically; visible to reads at once, durable only after `sync`.
    fn apply(&self, batch: &Batch) -> Result<(), StoreError>;

    /// Returns when everything applied before the call is on stable storage.
    fn sync(&self) -> Result<(), StoreError>;

    /// The first half of [`Store::sync`]: hands everything applied before the call to the
    /// file system, without waiting for it to reach stable storage; [`Store::sync_written`]
    /// does that. Split so that a group commit writes one group while the fsync of the
    /// group before it runs ([`group_commit`]). By default nothing: `sync_written` then
    /// does all of `sync`.
    fn write_out(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The second half of [`Store::sync`]: returns when everything [`Store::write_out`]
    /// had handed on when this call began is on stable storage (more may be). By default
    /// [`Store::sync`], which covers it.
    fn sync_written(&self) -> Result<(), StoreError> {
        self.sync()
    }

    /// Calls `each` with every entry whose key starts with `prefix`, in key order, after
    /// `after` and up to `through` (both ends when given), until it returns
    /// `ControlFlow::Break`: one pass for a caller that reads a whole range once (the
    /// start's survey, the channel index). A store may lend its own bytes rather than copy
    /// them; by default it pages through [`Store::scan`] ([`visit_by_scan`]).
    fn visit(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        through: Option<&[u8]>,
        each: &mut Visitor<'_>,
    ) -> Result<(), StoreError> {
        visit_by_scan(self, prefix, after, through, each)
    }
}

/// The reads of a [`Store`] that wraps another and reads it as it is (it changes only how
/// writes are applied or synced: the floor's keeper, the disk-space guard): `get`, `scan`,
/// `scan_back` and `visit` forwarded to the store in its field `$inner`, so that a wrapped
/// sled ledger still lends its bytes to a visit.
macro_rules! forward_reads {
    ($inner:ident) => {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, $crate::store::StoreError> {
            self.$inner.get(key)
        }

        fn scan(
            &self,
            prefix: &[u8],
            after: Option<&[u8]>,
            limit: usize,
        ) -> Result<Vec<$crate::store::Entry>, $crate::store::StoreError> {
            self.$inner.scan(prefix, after, limit)
        }

        fn scan_back(
            &self,
            prefix: &[u8],
            before: Option<&[u8]>,
            limit: usize,
        ) -> Result<Vec<$crate::store::Entry>, $crate::store::StoreError> {
            self.$inner.scan_back(prefix, before, limit)
        }

        fn visit(
            &self,
            prefix: &[u8],
            after: Option<&[u8]>,
            through: Option<&[u8]>,
            each: &mut $crate::store::Visitor<'_>,
        ) -> Result<(), $crate::store::StoreError> {
            self.$inner.visit(prefix, after, through, each)
        }
    };
}
pub(crate) use forward_reads;

/// A batch of `writes` in order (`None`: a removal), for the stores' tests.
#[cfg(test)]
pub(crate) fn batch_of(writes: &[(&[u8], Option<&[u8]>)]) -> Batch {
    let mut batch = Batch::new();
    for (key, value) in writes {
        match value {
            Some(value) => batch.insert(key.to_vec(), value.to_vec()),
            None => batch.remove(key.to_vec()),
        }
    }
    batch
}

/// What [`Store::visit`] calls with each key and value: `Break` stops the visit.
pub type Visitor<'a> = dyn FnMut(&[u8], &[u8]) -> ControlFlow<()> + 'a;

/// Entries a page of [`visit_by_scan`] takes.
pub(crate) const VISIT_PAGE: usize = 10_000;

/// [`Store::visit`] by pages of [`Store::scan`], each entry copied out of the store.
pub fn visit_by_scan<S: Store + ?Sized>(
    store: &S,
    prefix: &[u8],
    after: Option<&[u8]>,
    through: Option<&[u8]>,
    each: &mut Visitor<'_>,
) -> Result<(), StoreError> {
    let mut after = after.map(<[u8]>::to_vec);
    loop {
        let page = store.scan(prefix, after.as_deref(), VISIT_PAGE)?;
        let Some((last, _)) = page.last() else {
            return Ok(());
        };
        after = Some(last.clone());
        for (key, value) in &page {
            if through.is_some_and(|through| key.as_slice() > through) || each(key, value).is_break() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
#[test]
fn the_end_of_a_prefix_is_the_least_key_after_it() {
    assert_eq!(prefix_end(b"a/"), Some(b"a0".to_vec()));
    assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
    assert_eq!(prefix_end(b"\xff\xff"), None);
    assert_eq!(prefix_end(b""), None);
}

#[cfg(test)]
pub(crate) mod contract {
    //! The behaviour every Store must show; each implementation runs these.
    use super::*;

    pub(crate) fn batches_are_atomic_and_ordered(store: &dyn Store) {
        let mut batch = Batch::new();
        batch.insert(b"a/2".to_vec(), b"two".to_vec());
        batch.insert(b"a/1".to_vec(), b"one".to_vec());
        batch.insert(b"b/1".to_vec(), b"other".to_vec());
        batch.insert(b"a/3".to_vec(), b"three".to_vec());
        batch.remove(b"a/3".to_vec());
        store.apply(&batch).unwrap();
        let entries = store.scan(b"a/", None, 10).unwrap();
        assert_eq!(entries, vec![(b"a/1".to_vec(), b"one".to_vec()), (b"a/2".to_vec(), b"two".to_vec())]);
        assert_eq!(store.scan(b"a/", Some(b"a/1"), 10).unwrap().len(), 1);
        assert_eq!(store.scan(b"a/", None, 1).unwrap().len(), 1);
        // Backwards: newest key first, within the prefix, before a key when given.
        let keys = |entries: Vec<Entry>| entries.into_iter().map(|(key, _)| key).collect::<Vec<_>>();
        assert_eq!(keys(store.scan_back(b"a/", None, 10).unwrap()), vec![b"a/2".to_vec(), b"a/1".to_vec()]);
        assert_eq!(keys(store.scan_back(b"a/", Some(b"a/2"), 10).unwrap()), vec![b"a/1".to_vec()]);
        assert_eq!(keys(store.scan_back(b"a/", None, 1).unwrap()), vec![b"a/2".to_vec()]);
        assert_eq!(keys(store.scan_back(b"b/", None, 10).unwrap()), vec![b"b/1".to_vec()]);
        assert!(store.scan_back(b"a/", Some(b"a/1"), 10).unwrap().is_empty());
        assert_eq!(store.get(b"b/1").unwrap(), Some(b"other".to_vec()));
        assert_eq!(store.get(b"a/3").unwrap(), None);
        store.sync().unwrap();
    }
}
