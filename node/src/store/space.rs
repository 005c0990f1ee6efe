//! Ledger writes are refused before the disk is full, so that sled never meets ENOSPC.
//!
//! sled 0.34 buffers a batch in memory and writes its log later, at a flush or from its
//! flusher thread. An I/O error there, a full disk included, is stored as the database's
//! global error (pagecache/iobuf.rs `set_global_error`), which every later write and flush
//! returns until the database is opened again (only `PageCache::start` resets it), while
//! reads still see the batches that were never written. A sled that met ENOSPC is of no
//! further use to a running node, however much space is freed later.
//!
//! So the node checks the free space of the ledger's file system before each batch and
//! refuses the batch, before sled sees it, if fewer than `floor` bytes would stay free.
//! Nothing is written, nothing is acknowledged, nothing has to be undone: the till or peer
//! is told `node.disk_full` (retry true) and sends again later, and the first batch after
//! space was freed goes through, without a restart. The floor covers what sled writes
//! beyond the batches (log segment headers, snapshots, compaction).
//!
//! Should the disk fill up anyway (another process filling it between the check and
//! sled's write, or a floor of 0, which turns the check off), sled's flush fails and the
//! node stops with the cause (crate::fatal), for its supervisor to restart it once space
//! is free: no acknowledged record is lost either way.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{Batch, Store, StoreError};

/// The free space a node keeps on the file system of its ledger unless its
/// configuration says otherwise (`disk_floor_mib`): 64 MiB, far more than sled writes
/// beyond the batches between two checks.
pub const DEFAULT_DISK_FLOOR_BYTES: u64 = 64 * 1024 * 1024;

/// How the free space of the file system holding a path is measured (bytes available to
/// the node's user). Tests substitute their own.
pub type FreeSpace = Box<dyn Fn(&Path) -> std::io::Result<u64> + Send + Sync>;

/// A store that refuses batches that would leave less than a floor of free space.
pub struct SpaceGuard {
    inner: Arc<dyn Store>,
    path: PathBuf,
    floor_bytes: u64,
    free_space: Arc<FreeSpace>,
    /// Whether the last batch was refused, so that the change is logged once each way.
    full: AtomicBool,
}

impl SpaceGuard {
    /// Guards `inner`, whose files are in `path`, keeping `floor_bytes` free (0: no check).
    pub fn new(inner: Arc<dyn Store>, path: &Path, floor_bytes: u64) -> SpaceGuard {
        SpaceGuard::with_free_space(inner, path, floor_bytes, Box::new(|path| fs2::available_space(path)))
    }

    /// [`SpaceGuard::new`], measuring free space with `free_space`.
    pub fn with_free_space(
        inner: Arc<dyn Store>,
        path: &Path,
        floor_bytes: u64,
        free_space: FreeSpace,
    ) -> SpaceGuard {
        let free_space = Arc::new(free_space);
        SpaceGuard { inner, path: path.to_owned(), floor_bytes, free_space, full: AtomicBool::new(false) }
    }

    /// A cloneable view of the same measurement and floor, for the node's readiness
    /// (crate::api::health): whether the ledger's file system is above its floor now.
    pub fn watch(&self) -> DiskWatch {
        DiskWatch {
            path: self.path.clone(),
            floor_bytes: self.floor_bytes,
            free_space: Arc::clone(&self.free_space),
        }
    }

    fn check(&self, batch: &Batch) -> Result<(), StoreError> {
        if self.floor_bytes == 0 {
            return Ok(());
        }
        let free_bytes = (self.free_space)(&self.path)
            .map_err(|error| StoreError::Io { path: self.path.clone(), error })?;
        let written = batch.operations().iter().fold(0u64, |total, (key, value)| {
            let bytes = key.len().saturating_add(value.as_ref().map_or(0, Vec::len));
            total.saturating_add(u64::try_from(bytes).unwrap_or(u64::MAX))
        });
        let needed_bytes = self.floor_bytes.saturating_add(written);
        if free_bytes < needed_bytes {
            let error = StoreError::DiskFull {
                path: self.path.clone(),
                free_bytes,
                floor_bytes: self.floor_bytes,
                needed_bytes,
            };
            if !self.full.swap(true, Ordering::Relaxed) {
                tracing::error!(%error, "ledger writes are refused until space is freed; reads go on");
            }
            return Err(error);
        }
        if self.full.swap(false, Ordering::Relaxed) {
            tracing::info!(path = %self.path.display(), free_bytes, "free space is back above the floor: ledger writes resume");
        }
        Ok(())
    }
}

/// Measures the free space of a ledger's file system against its floor, as the
/// [`SpaceGuard`] it came from does before each batch.
#[derive(Clone)]
pub struct DiskWatch {
    path: PathBuf,
    floor_bytes: u64,
    free_space: Arc<FreeSpace>,
}

impl DiskWatch {
    /// The free bytes if they are at or above the floor (or the floor is 0, which turns the
    /// check off); otherwise, or if the measurement failed, why not.
    pub fn check(&self) -> Result<u64, String> {
        let free_bytes = (self.free_space)(&self.path)
            .map_err(|error| format!("measuring the free space of {}: {error}", self.path.display()))?;
        if self.floor_bytes > 0 && free_bytes < self.floor_bytes {
            return Err(format!(
                "{} has {free_bytes} bytes free, below the floor of {} (disk_floor_mib)",
                self.path.display(),
                self.floor_bytes
            ));
        }
        Ok(free_bytes)
    }
}

impl Store for SpaceGuard {
    super::forward_reads!(inner);

    fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        self.check(batch)?;
        self.inner.apply(batch)
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.inner.sync()
    }

    fn write_out(&self) -> Result<(), StoreError> {
        self.inner.write_out()
    }

    fn sync_written(&self) -> Result<(), StoreError> {
        self.inner.sync_written()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use super::*;
    use crate::store::MemoryStore;

    fn guarded(floor: u64) -> (SpaceGuard, Arc<MemoryStore>, Arc<AtomicU64>) {
        let store = Arc::new(MemoryStore::new());
        let free = Arc::new(AtomicU64::new(u64::MAX));
        let probe = Arc::clone(&free);
        let guard = SpaceGuard::with_free_space(
            store.clone(),
            Path::new("/ledger"),
            floor,
            Box::new(move |_| Ok(probe.load(Ordering::Relaxed))),
        );
        (guard, store, free)
    }

    fn batch(key: &[u8], value_bytes: usize) -> Batch {
        let mut batch = Batch::new();
        batch.insert(key.to_vec(), vec![0; value_bytes]);
        batch
    }

    #[test]
    fn a_batch_that_would_go_below_the_floor_is_refused_untouched_and_accepted_once_space_is_back() {
        let (guard, store, free) = guarded(1000);
        // Exactly the floor plus the batch's 3 + 97 bytes: accepted.
        free.store(1100, Ordering::Relaxed);
        guard.apply(&batch(b"one", 97)).unwrap();
        free.store(1099, Ordering::Relaxed);
        let error = guard.apply(&batch(b"two", 97)).unwrap_err();
        let StoreError::DiskFull { free_bytes: 1099, floor_bytes: 1000, needed_bytes: 1100, .. } = error
        else {
            panic!("{error}")
        };
        assert!(error.to_string().contains("/ledger is full: 1099 bytes free, 1100 needed"), "{error}");
        assert_eq!(store.get(b"two").unwrap(), None, "nothing of a refused batch is written");
        assert!(guard.get(b"one").unwrap().is_some(), "reads go on");
        free.store(1_000_000, Ordering::Relaxed);
        guard.apply(&batch(b"two", 97)).unwrap();
        assert!(store.get(b"two").unwrap().is_some());
    }

    #[test]
    fn a_floor_of_zero_checks_nothing_and_a_failed_measurement_is_an_error() {
        let (guard, _, free) = guarded(0);
        free.store(0, Ordering::Relaxed);
        guard.apply(&batch(b"k", 10)).unwrap();
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let broken = SpaceGuard::with_free_space(
            store,
            Path::new("/gone"),
            1,
            Box::new(|_| Err(std::io::Error::from(std::io::ErrorKind::NotFound))),
        );
        assert!(matches!(broken.apply(&batch(b"k", 1)), Err(StoreError::Io { .. })));
        assert!(broken.watch().check().unwrap_err().contains("measuring the free space of /gone"));
    }

    #[test]
    fn the_watch_says_whether_the_disk_is_above_the_floor_at_its_edge() {
        let (guard, _, free) = guarded(1000);
        let watch = guard.watch();
        free.store(1000, Ordering::Relaxed);
        assert_eq!(watch.check(), Ok(1000));
        free.store(999, Ordering::Relaxed);
        let why = watch.check().unwrap_err();
        assert!(why.contains("/ledger has 999 bytes free, below the floor of 1000"), "{why}");
        let (off, _, free) = guarded(0);
        free.store(0, Ordering::Relaxed);
        assert_eq!(off.watch().check(), Ok(0));
    }
}
