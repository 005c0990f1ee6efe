//! The production store: sled 0.34, made truly durable.
//!
//! sled's `flush()` writes its log with pwrite + sync_file_range, which neither flushes
//! the device cache nor the file's metadata: acknowledged writes were lost on power loss
//! in our measurements. `sync` therefore follows `flush()` with an fdatasync of sled's
//! file, which covers both: the data, the device cache, and the metadata needed to read
//! the data back (the file's size and blocks); only its times may be left behind, which
//! no recovery reads (PostgreSQL's default `wal_sync_method` on Linux, for its log). An
//! fdatasync acts on the file (inode), whichever descriptor issues it.
//!
//! Applied batches are staged in memory and written into sled by `write_out`, the first
//! half of `sync` (super::staged): sled's batch write waits for its flush, and the node's
//! core must not.
//!
//! Whether a ledger is sound enough to open at all, and what is done with one that is not,
//! is decided at start by [`super::ledger_start`].

use std::fs::File;
use std::ops::Bound;
use std::path::{Path, PathBuf};

use super::staged::{scan_back_over, scan_over, Staged, MAX_STAGED_BYTES};
use super::{Batch, Entry, Store, StoreError};

/// sled's cache bound: enough for the hot part of a ledger, far below sled's 1 GiB default
/// (883 MiB RSS at 1M records in our measurements).
pub const DEFAULT_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// zstd's level for a compressed ledger's pages: 3, zstd's own default.
const COMPRESSION_LEVEL: i32 = 3;

/// How many times smaller zstd makes a ledger's pages, measured (7,511 bytes on disk a
/// receipt whole, 1,358 compressed, at 300,000 receipts). sled counts its cache in the
/// bytes its log holds, compressed, while it keeps pages in memory whole: a compressed
/// ledger's cache of `cache_bytes` is given to sled as this fraction of it, so that the
/// memory it takes stays near what the operator configured.
pub const COMPRESSION_RATIO: u64 = 5;

/// What the node asks of sled for a ledger: the memory its cache may take, and how a
/// ledger made now keeps its pages. sled fixes a database's compression when it makes
/// it, so a ledger made before opens as it was made, whatever `compress_new` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SledSettings {
    /// The memory sled's cache may take, in bytes.
    pub cache_bytes: u64,
    /// Whether a new ledger's pages are compressed by zstd: a fifth of the disk and a
    /// quarter of the bytes a cold start reads, for about half again the ingest's CPU
    /// (sled 0.34 makes a zstd context for every page it compresses or reads back).
    pub compress_new: bool,
}

impl SledSettings {
    /// A cache of `cache_bytes`; new ledgers keep their pages whole.
    pub fn cached(cache_bytes: u64) -> SledSettings {
        SledSettings { cache_bytes, compress_new: false }
    }

    /// Opens sled's database at `path` as these settings ask, or as it was made.
    fn open(&self, path: &Path) -> sled::Result<sled::Db> {
        let open = |compressed: bool| {
            let cache_bytes =
                if compressed { self.cache_bytes / COMPRESSION_RATIO } else { self.cache_bytes };
            sled::Config::new()
                .path(path)
                .cache_capacity(cache_bytes)
                .use_compression(compressed)
                .compression_factor(COMPRESSION_LEVEL)
                .open()
        };
        match open(self.compress_new) {
            Err(sled::Error::Unsupported(why)) if why.contains("use_compression loaded from disk") => {
                open(!self.compress_new)
            }
            other => other,
        }
    }
}

/// A sled database holding one ledger.
pub struct SledStore {
    db: sled::Db,
    path: PathBuf,
    /// sled's file ([`LOG_FILE`]), open for the syncs.
    log: File,
    /// Batches applied but not yet written into `db`.
    staged: Staged,
}

/// The file in a ledger's folder where sled keeps its log and pages, the one a sync must
/// make durable: `conf` never changes after creation, and `blobs/` and `snap.*` are rebuilt
/// from the log if lost.
const LOG_FILE: &str = "db";

/// How long opening waits for sled's lock on a ledger this process closed a moment ago.
pub const LOCK_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl SledStore {
    /// Opens (or creates) the ledger at `path`, and makes a new database's directory
    /// entries durable. sled 0.34 releases a dropped database's file lock from its flusher
    /// thread, a moment after the drop, so opening a ledger this process has just closed
    /// (a restart in the same process, a test) waits up to [`LOCK_RELEASE_WAIT`] for it;
    /// another process's ledger is kept from by the data directory's lock
    /// (super::ledger_start) before sled is reached.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<SledStore, StoreError> {
        SledStore::open_with(path, SledSettings::cached(cache_bytes))
    }

    /// [`SledStore::open`] with `settings` (a new ledger's pages compressed or whole).
    pub fn open_with(path: &Path, settings: SledSettings) -> Result<SledStore, StoreError> {
        SledStore::open_staging(path, settings, MAX_STAGED_BYTES)
    }

    fn open_staging(
        path: &Path,
        settings: SledSettings,
        staged_bytes: usize,
    ) -> Result<SledStore, StoreError> {
        let deadline = std::time::Instant::now() + LOCK_RELEASE_WAIT;
        let db = loop {
            match settings.open(path) {
                Err(sled::Error::Io(error))
                    if error.to_string().contains("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        let log_path = path.join(LOG_FILE);
        let log = File::open(&log_path).map_err(|error| StoreError::Io { path: log_path, error })?;
        let store = SledStore { db, path: path.to_owned(), log, staged: Staged::new(staged_bytes) };
        store.fsync(path)?;
        if let Some(parent) = path.parent() {
            store.fsync(parent)?;
        }
        Ok(store)
    }

    fn fsync(&self, path: &Path) -> Result<(), StoreError> {
        File::open(path)
            .and_then(|file| file.sync_all())
            .map_err(|source| StoreError::Io { path: path.to_owned(), error: source })
    }

    /// Writes the staged batches into sled, in apply order (not yet flushed).
    fn write_staged(&self) -> Result<(), StoreError> {
        self.staged.write_through(|batch| self.write(&batch))
    }

    fn write(&self, batch: &Batch) -> Result<(), StoreError> {
        let mut sled_batch = sled::Batch::default();
        for (key, value) in batch.operations() {
            match value {
                Some(value) => sled_batch.insert(key.as_slice(), value.as_slice()),
                None => sled_batch.remove(key.as_slice()),
            }
        }
        Ok(self.db.apply_batch(sled_batch)?)
    }

    fn scan_sled(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let mut entries = Vec::new();
        let range = match after {
            Some(after) => {
                self.db.range::<&[u8], _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
            }
            None => self.db.range::<&[u8], _>(prefix..),
        };
        for entry in range {
            let (key, value) = entry?;
            if !key.starts_with(prefix) || entries.len() >= limit {
                break;
            }
            entries.push((key.to_vec(), value.to_vec()));
        }
        Ok(entries)
    }

    fn scan_back_sled(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let end = match before {
            Some(before) => std::ops::Bound::Excluded(before.to_vec()),
            None => super::prefix_end(prefix).map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
        };
        let mut entries = Vec::new();
        for entry in self.db.range::<Vec<u8>, _>((std::ops::Bound::Included(prefix.to_vec()), end)).rev() {
            let (key, value) = entry?;
            if !key.starts_with(prefix) || entries.len() >= limit {
                break;
            }
            entries.push((key.to_vec(), value.to_vec()));
        }
        Ok(entries)
    }

    /// Bytes sled occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.staged.get(key) {
            Some(staged) => Ok(staged),
            None => Ok(self.db.get(key)?.map(|value| value.to_vec())),
        }
    }

    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let staged = self.staged.under(prefix);
        if staged.is_empty() {
            return self.scan_sled(prefix, after, limit);
        }
        scan_over(|limit| self.scan_sled(prefix, after, limit), &staged, prefix, after, limit)
    }

    fn scan_back(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let staged = self.staged.under(prefix);
        if staged.is_empty() {
            return self.scan_back_sled(prefix, before, limit);
        }
        scan_back_over(|limit| self.scan_back_sled(prefix, before, limit), &staged, prefix, before, limit)
    }

    /// Stages `batch` (super::staged): visible at once, written into sled by `write_out`.
    fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        self.staged.apply(batch, |batch| self.write(&batch))
    }

    /// Lends sled's own bytes (no copy) when nothing under `prefix` is staged, which is
    /// how the start finds its ledger; pages through [`Store::scan`] otherwise. A batch
    /// applied while it runs may or may not be seen.
    fn visit(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        through: Option<&[u8]>,
        each: &mut super::Visitor<'_>,
    ) -> Result<(), StoreError> {
        if !self.staged.under(prefix).is_empty() {
            return super::visit_by_scan(self, prefix, after, through, each);
        }
        let low = after.map_or(Bound::Included(prefix.to_vec()), |after| Bound::Excluded(after.to_vec()));
        let high = match through {
            Some(through) => Bound::Included(through.to_vec()),
            None => super::prefix_end(prefix).map_or(Bound::Unbounded, Bound::Excluded),
        };
        for entry in self.db.range::<Vec<u8>, _>((low, high)) {
            let (key, value) = entry?;
            if !key.starts_with(prefix) || each(&key, &value).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.write_out()?;
        self.sync_written()
    }

    /// Writes the staged batches into sled and has sled write its log to the file
    /// (`flush`: pwrite and sync_file_range, neither durable against power loss).
    fn write_out(&self) -> Result<(), StoreError> {
        self.write_staged()?;
        // An I/O error of the flush names the file and what the system said (a full disk).
        self.db.flush().map_err(|error| match error {
            sled::Error::Io(error) => StoreError::Io { path: self.path.join(LOG_FILE), error },
            other => StoreError::Sled(other),
        })?;
        Ok(())
    }

    /// fdatasyncs sled's file: it covers every write to the file that returned before it
    /// began, whichever descriptor made it.
    fn sync_written(&self) -> Result<(), StoreError> {
        self.log.sync_data().map_err(|error| StoreError::Io { path: self.path.join(LOG_FILE), error })
    }
}

impl Drop for SledStore {
    /// Staged batches go into sled, which writes them out as it closes.
    fn drop(&mut self) {
        if let Err(error) = self.write_staged() {
            tracing::error!(%error, "the ledger's last writes could not be handed to sled");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use super::*;

    #[test]
    fn follows_the_store_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(&dir.path().join("ledger"), 8 << 20).unwrap();
        super::super::contract::batches_are_atomic_and_ordered(&store);
    }

    #[test]
    fn a_compressed_ledger_follows_the_store_contract() {
        let dir = tempfile::tempdir().unwrap();
        let settings = SledSettings { cache_bytes: 8 << 20, compress_new: true };
        let store = SledStore::open_with(&dir.path().join("ledger"), settings).unwrap();
        super::super::contract::batches_are_atomic_and_ordered(&store);
    }

    /// sled's description of a database's storage (`DIR/conf`): one `name: value` a line,
    /// then a binary checksum.
    fn storage_parameters(path: &Path) -> String {
        String::from_utf8_lossy(&std::fs::read(path.join("conf")).unwrap()).into_owned()
    }

    /// A ledger made with `made` pages compressed or not, then opened asking for the
    /// opposite, opens as it was made, keeps what it held and takes new writes.
    fn opens_as_it_was_made(made: bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger");
        let write = |store: &SledStore, key: &[u8]| {
            let mut batch = Batch::new();
            batch.insert(key.to_vec(), b"bytes".to_vec());
            store.apply(&batch).unwrap();
            store.sync().unwrap();
        };
        let made_as = SledSettings { cache_bytes: 8 << 20, compress_new: made };
        write(&SledStore::open_with(&path, made_as).unwrap(), b"record");
        let asked = SledSettings { compress_new: !made, ..made_as };
        let store = SledStore::open_with(&path, asked).unwrap();
        assert_eq!(store.get(b"record").unwrap(), Some(b"bytes".to_vec()));
        write(&store, b"later");
        drop(store);
        assert!(storage_parameters(&path).contains(&format!("use_compression: {made}")));
        let store = SledStore::open_with(&path, asked).unwrap();
        assert_eq!(store.get(b"later").unwrap(), Some(b"bytes".to_vec()));
    }

    #[test]
    fn a_ledger_made_whole_opens_whole_when_compression_is_asked() {
        opens_as_it_was_made(false);
    }

    #[test]
    fn a_compressed_ledger_opens_compressed_when_whole_pages_are_asked() {
        opens_as_it_was_made(true);
    }

    #[test]
    fn synced_writes_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger");
        {
            let store = SledStore::open(&path, 8 << 20).unwrap();
            let mut batch = Batch::new();
            batch.insert(b"record".to_vec(), b"bytes".to_vec());
            store.apply(&batch).unwrap();
            store.sync().unwrap();
        }
        let store = SledStore::open(&path, 8 << 20).unwrap();
        assert_eq!(store.get(b"record").unwrap(), Some(b"bytes".to_vec()));
    }

    fn sled_holds(store: &SledStore, key: &[u8]) -> Option<Vec<u8>> {
        store.db.get(key).unwrap().map(|value| value.to_vec())
    }

    #[test]
    fn an_applied_batch_is_read_at_once_and_reaches_sled_only_with_the_sync() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(&dir.path().join("ledger"), 8 << 20).unwrap();
        let mut first = Batch::new();
        first.insert(b"p/1".to_vec(), b"old".to_vec());
        first.insert(b"p/2".to_vec(), b"gone soon".to_vec());
        store.apply(&first).unwrap();
        store.sync().unwrap();
        let mut second = Batch::new();
        second.insert(b"p/1".to_vec(), b"new".to_vec());
        second.remove(b"p/2".to_vec());
        second.insert(b"p/3".to_vec(), b"three".to_vec());
        store.apply(&second).unwrap();
        // The core's apply never reached sled (whose batch write waits for a flush)...
        assert_eq!(sled_holds(&store, b"p/1"), Some(b"old".to_vec()));
        assert_eq!(sled_holds(&store, b"p/3"), None);
        // ...yet every read sees it, laid over what sled holds.
        assert_eq!(store.get(b"p/1").unwrap(), Some(b"new".to_vec()));
        assert_eq!(store.get(b"p/2").unwrap(), None);
        let keys = |entries: Vec<Entry>| entries.into_iter().map(|(key, _)| key).collect::<Vec<_>>();
        assert_eq!(keys(store.scan(b"p/", None, 10).unwrap()), [b"p/1".to_vec(), b"p/3".to_vec()]);
        assert_eq!(keys(store.scan(b"p/", None, 1).unwrap()), [b"p/1".to_vec()]);
        assert_eq!(keys(store.scan(b"p/", Some(b"p/1"), 10).unwrap()), [b"p/3".to_vec()]);
        assert_eq!(keys(store.scan_back(b"p/", None, 10).unwrap()), [b"p/3".to_vec(), b"p/1".to_vec()]);
        assert_eq!(keys(store.scan_back(b"p/", Some(b"p/3"), 10).unwrap()), [b"p/1".to_vec()]);
        store.sync().unwrap();
        assert_eq!(store.staged.bytes(), 0);
        assert_eq!(sled_holds(&store, b"p/1"), Some(b"new".to_vec()));
        assert_eq!(sled_holds(&store, b"p/2"), None);
        assert_eq!(sled_holds(&store, b"p/3"), Some(b"three".to_vec()));
    }

    /// The keys `visit` gives, stopping after `stop_after` of them if given.
    fn visited(
        store: &dyn Store,
        after: Option<&[u8]>,
        through: Option<&[u8]>,
        stop_after: Option<usize>,
    ) -> Vec<Vec<u8>> {
        let mut keys = Vec::new();
        store
            .visit(b"p/", after, through, &mut |key, value| {
                assert_eq!(store.get(key).unwrap().as_deref(), Some(value), "its own value");
                keys.push(key.to_vec());
                if stop_after == Some(keys.len()) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
        keys
    }

    #[test]
    fn a_visit_lends_sled_what_a_scan_would_copy_and_sees_staged_batches_too() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(&dir.path().join("ledger"), 8 << 20).unwrap();
        let memory = super::super::MemoryStore::new();
        let mut batch = Batch::new();
        for key in [&b"o/1"[..], b"p/", b"p/1", b"p/2", b"p/3", b"p/3\xff", b"q/0"] {
            batch.insert(key.to_vec(), [key, b"=value"].concat());
        }
        store.apply(&batch).unwrap();
        memory.apply(&batch).unwrap();
        // (after, through, how many to take before stopping)
        type Range<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, Option<usize>);
        let ranges: [Range; 6] = [
            (None, None, None),
            (Some(b"p/1"), None, None),
            (None, Some(b"p/2"), None),
            (Some(b"p/1"), Some(b"p/3"), None),
            (Some(b"p/3"), Some(b"p/1"), None),
            (None, None, Some(2)),
        ];
        let check = |staged: bool| {
            assert_eq!(store.staged.under(b"p/").is_empty(), !staged);
            for (after, through, stop) in ranges {
                let expected = visited(&memory, after, through, stop);
                assert_eq!(visited(&store, after, through, stop), expected, "{after:?}..={through:?}");
            }
        };
        check(true);
        store.sync().unwrap();
        check(false);
        assert_eq!(visited(&store, None, None, None).len(), 5, "only the prefix's keys");
    }

    #[test]
    fn a_batch_past_the_staging_limit_first_hands_the_staged_ones_to_sled() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SledStore::open_staging(&dir.path().join("ledger"), SledSettings::cached(8 << 20), 100).unwrap();
        let batch = |key: &[u8]| {
            let mut batch = Batch::new();
            batch.insert(key.to_vec(), vec![0; 48]);
            batch
        };
        // 50 bytes each: the second reaches the limit exactly and is staged with the first.
        store.apply(&batch(b"k1")).unwrap();
        store.apply(&batch(b"k2")).unwrap();
        assert_eq!(store.staged.bytes(), 100);
        assert_eq!(sled_holds(&store, b"k1"), None);
        // One byte past it: the staged two go to sled first, the third is staged.
        store.apply(&batch(b"k3+")).unwrap();
        assert_eq!(store.staged.bytes(), 51);
        assert!(sled_holds(&store, b"k1").is_some() && sled_holds(&store, b"k2").is_some());
        assert_eq!(sled_holds(&store, b"k3+"), None);
        assert!(store.get(b"k3+").unwrap().is_some());
    }

    #[test]
    fn syncs_racing_applies_lose_no_write_and_keep_the_newest_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger");
        {
            let store = std::sync::Arc::new(SledStore::open(&path, 8 << 20).unwrap());
            let syncing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
            let syncer = {
                let (store, syncing) = (store.clone(), syncing.clone());
                std::thread::spawn(move || {
                    while syncing.load(std::sync::atomic::Ordering::Relaxed) {
                        store.sync().unwrap();
                    }
                })
            };
            for round in 0..500u32 {
                let mut batch = Batch::new();
                batch.insert(b"counter".to_vec(), round.to_be_bytes().to_vec());
                batch.insert(round.to_be_bytes().to_vec(), b"v".to_vec());
                store.apply(&batch).unwrap();
                assert_eq!(store.get(b"counter").unwrap(), Some(round.to_be_bytes().to_vec()));
                assert_eq!(store.scan(&round.to_be_bytes(), None, 2).unwrap().len(), 1);
            }
            syncing.store(false, std::sync::atomic::Ordering::Relaxed);
            syncer.join().unwrap();
            store.sync().unwrap();
        }
        let store = SledStore::open(&path, 8 << 20).unwrap();
        assert_eq!(store.get(b"counter").unwrap(), Some(499u32.to_be_bytes().to_vec()));
        assert_eq!(store.scan(&[0, 0], None, 1000).unwrap().len(), 500, "every round's own key");
    }
}
