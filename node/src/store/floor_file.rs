//! Keeping the ledger's floor (crate::ledger::floor) beside the ledger: [`FlooredStore`]
//! wraps a node's store, takes note of every batch it applies, and after each sync writes
//! the floor to its [`FloorKeeper`], so the floor is durable before the acknowledgements
//! that sync covers are released (the group commit releases them only when `sync`
//! returns). Production keeps it in [`FloorFile`], `DIR/ledger.floor`, written to a
//! temporary file, fsynced, renamed over the old one, and the directory fsynced: a crash
//! leaves the old floor or the new one, never a mix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{Batch, Store, StoreError};
use crate::ledger::{Floor, FloorError};

/// The floor's file in a data directory.
pub const FLOOR_FILE: &str = "ledger.floor";

/// Where a ledger's floor is kept between starts.
pub trait FloorKeeper: Send + Sync {
    /// Replaces the kept floor with `floor`, durably, before returning.
    fn keep(&self, floor: &Floor) -> Result<(), StoreError>;
}

/// Why the floor file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FloorFileError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is there but is not an intact floor.
    #[error("{path}: {source}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: FloorError,
    },
}

/// The floor in its file.
#[derive(Clone, Debug)]
pub struct FloorFile {
    path: PathBuf,
}

impl FloorFile {
    /// The floor file of the data directory `data`.
    pub fn in_data_dir(data: &Path) -> FloorFile {
        FloorFile { path: data.join(FLOOR_FILE) }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The kept floor; `None` if there is no file.
    pub fn read(&self) -> Result<Option<Floor>, FloorFileError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(FloorFileError::Io { path: self.path.clone(), source }),
        };
        Floor::decode(&bytes)
            .map(Some)
            .map_err(|source| FloorFileError::Damaged { path: self.path.clone(), source })
    }
}

impl FloorKeeper for FloorFile {
    fn keep(&self, floor: &Floor) -> Result<(), StoreError> {
        crate::permissions::replace_private(&self.path, &floor.encode())
            .map_err(|failure| StoreError::Io { path: failure.path, error: failure.error })
    }
}

/// A floor kept in memory: for the simulator and tests, where the store is in memory too.
#[derive(Debug, Default)]
pub struct MemoryFloor {
    kept: Mutex<(Option<Floor>, u64)>,
}

impl MemoryFloor {
    /// The floor last kept, if any.
    pub fn kept(&self) -> Option<Floor> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner).0.clone()
    }

    /// How many times a floor was kept.
    pub fn writes(&self) -> u64 {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner).1
    }
}

impl FloorKeeper for MemoryFloor {
    fn keep(&self, floor: &Floor) -> Result<(), StoreError> {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        *kept = (Some(floor.clone()), kept.1 + 1);
        Ok(())
    }
}

/// A store whose floor is kept up to date: every batch applied is noted, and every sync
/// that follows a change writes the floor after the store's own sync.
pub struct FlooredStore {
    inner: Arc<dyn Store>,
    keeper: Arc<dyn FloorKeeper>,
    state: Mutex<Tracked>,
    /// The floor (and its version) taken before the last `write_out`, set once that
    /// write is done: what the next `sync_written` keeps.
    written: Mutex<Option<(Floor, u64)>>,
}

struct Tracked {
    floor: Floor,
    /// Bumped by every batch that changed the floor.
    version: u64,
    /// The version last kept.
    kept: u64,
}

impl FlooredStore {
    /// Wraps `inner`, whose contents `floor` describes (as [`Floor::survey`] found them);
    /// the next sync writes it to `keeper`.
    pub fn new(inner: Arc<dyn Store>, keeper: Arc<dyn FloorKeeper>, floor: Floor) -> FlooredStore {
        FlooredStore {
            inner,
            keeper,
            state: Mutex::new(Tracked { floor, version: 1, kept: 0 }),
            written: Mutex::new(None),
        }
    }

    /// The floor of what has been applied so far.
    pub fn floor(&self) -> Floor {
        self.lock().floor.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Tracked> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for FlooredStore {
    super::forward_reads!(inner);

    fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        // Held across the apply, so that "held before" is true of the state it changes.
        let mut state = self.lock();
        let mut held = BTreeMap::new();
        for key in Floor::record_keys(batch) {
            if !held.contains_key(key) {
                held.insert(key.to_vec(), self.inner.get(key)?.is_some());
            }
        }
        self.inner.apply(batch)?;
        if state.floor.note(batch, held) {
            state.version += 1;
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        // Taken before the store's sync, so the floor kept covers no more than it made
        // durable; batches applied meanwhile are kept by the next sync.
        let pending = self.pending();
        self.inner.sync()?;
        self.keep(pending)
    }

    /// Takes the floor before the store's write, as `sync` does, and holds it for the
    /// `sync_written` that makes this write durable.
    fn write_out(&self) -> Result<(), StoreError> {
        let pending = self.pending();
        self.inner.write_out()?;
        if let Some(pending) = pending {
            let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
            // Writes finish in order: this floor is the newest one written.
            *written = Some(pending);
        }
        Ok(())
    }

    /// Keeps the floor of the last write that had finished when this call began: the
    /// store's `sync_written` covers that write.
    fn sync_written(&self) -> Result<(), StoreError> {
        let pending = self.written.lock().unwrap_or_else(PoisonError::into_inner).take();
        self.inner.sync_written()?;
        self.keep(pending)
    }
}

impl FlooredStore {
    /// The floor and its version, if it changed since it was last kept.
    fn pending(&self) -> Option<(Floor, u64)> {
        let state = self.lock();
        (state.version != state.kept).then(|| (state.floor.clone(), state.version))
    }

    /// Writes `pending` (made durable by a sync that just returned) to the keeper.
    fn keep(&self, pending: Option<(Floor, u64)>) -> Result<(), StoreError> {
        if let Some((floor, version)) = pending {
            self.keeper.keep(&floor)?;
            let mut state = self.lock();
            state.kept = state.kept.max(version);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::keys;
    use crate::store::MemoryStore;
    use kvitt_protocol::RecordId;

    fn record_batch(bytes: &[u8], serial: u64) -> Batch {
        let mut batch = Batch::new();
        batch.insert(keys::record(&RecordId::of(bytes)), bytes.to_vec());
        batch.insert(keys::serial("KASSA-1"), serial.to_be_bytes().to_vec());
        batch
    }

    #[test]
    fn the_floor_file_is_written_whole_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = FloorFile::in_data_dir(dir.path());
        assert!(file.read().unwrap().is_none(), "no file: none kept yet");
        let floor = Floor { records: 3, ..Floor::default() };
        file.keep(&floor).unwrap();
        assert_eq!(file.read().unwrap(), Some(floor.clone()));
        assert!(!dir.path().join("ledger.floor.tmp").exists(), "renamed into place");
        let again = Floor { records: 4, ..floor };
        file.keep(&again).unwrap();
        assert_eq!(file.read().unwrap(), Some(again));
    }

    #[test]
    fn a_damaged_floor_file_is_named_with_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let file = FloorFile::in_data_dir(dir.path());
        file.keep(&Floor { records: 300, ..Floor::default() }).unwrap();
        let text = std::fs::read_to_string(file.path()).unwrap();
        std::fs::write(file.path(), text.replace("300", "278")).unwrap();
        let error = file.read().unwrap_err();
        assert!(
            matches!(&error, FloorFileError::Damaged { source: FloorError::Checksum { .. }, .. }),
            "{error}"
        );
        assert!(error.to_string().starts_with(&file.path().display().to_string()), "{error}");
        std::fs::write(file.path(), &text.as_bytes()[..10]).unwrap();
        assert!(matches!(file.read(), Err(FloorFileError::Damaged { source: FloorError::NotAFloor, .. })));
    }

    #[test]
    fn a_sync_keeps_the_floor_of_what_it_made_durable_and_only_when_it_changed() {
        let store = Arc::new(MemoryStore::new());
        let keeper = Arc::new(MemoryFloor::default());
        let floored = FlooredStore::new(store.clone(), keeper.clone(), Floor::default());
        floored.sync().unwrap();
        assert_eq!(keeper.kept(), Some(Floor::default()), "the first sync writes the floor");
        floored.sync().unwrap();
        assert_eq!(keeper.writes(), 1, "nothing changed since: nothing written");
        floored.apply(&record_batch(b"one", 1)).unwrap();
        assert_eq!(keeper.kept(), Some(Floor::default()), "applied, not yet synced");
        floored.sync().unwrap();
        assert_eq!(keeper.kept().map(|floor| floor.records), Some(1));
        // Applied but not synced when the node crashes: the floor still says one record,
        // and the ledger, back to what it synced, is not short of it.
        floored.apply(&record_batch(b"two", 2)).unwrap();
        store.crash();
        let kept = keeper.kept().unwrap();
        let signer = kvitt_protocol::PublicKey([1; 32]);
        assert!(kept.shortfalls(&Floor::survey(store.as_ref(), &signer).unwrap().0).is_empty());
    }

    #[test]
    fn a_split_sync_keeps_the_floor_taken_before_the_write_it_made_durable() {
        let store = Arc::new(MemoryStore::new());
        let keeper = Arc::new(MemoryFloor::default());
        let floored = FlooredStore::new(store.clone(), keeper.clone(), Floor::default());
        floored.apply(&record_batch(b"one", 1)).unwrap();
        floored.write_out().unwrap();
        // Applied after the write: the next write carries it, not this sync.
        floored.apply(&record_batch(b"two", 2)).unwrap();
        assert_eq!(keeper.writes(), 0, "written out, not yet durable: nothing kept");
        floored.sync_written().unwrap();
        assert_eq!(keeper.kept().map(|floor| floor.records), Some(1), "the floor of the write");
        floored.sync_written().unwrap();
        assert_eq!(keeper.writes(), 1, "no write since: nothing more kept");
        floored.write_out().unwrap();
        floored.sync_written().unwrap();
        assert_eq!(keeper.kept().map(|floor| floor.records), Some(2));
    }
}
