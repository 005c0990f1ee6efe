//! Opening a node's ledger at start, and judging it against its floor
//! (crate::ledger::floor) before the node serves from it.
//!
//! A ledger is damaged if sled cannot open it, panics opening or reading it, or if it
//! holds less than its floor says (fewer records, other records, a lower serial or
//! number). A damaged ledger is moved aside to `ledger.damaged-<unix seconds>` at once
//! (kept, never deleted, never opened again); what could still be read of it is copied
//! into a new ledger, in which a recovery is noted (core::recovery): the node then signs
//! nothing until `kvitt recover` has fetched its records back from its peers. A start
//! that died while opening the ledger (killed, aborted) leaves a marker, and the next
//! start moves that ledger aside without opening it, so a ledger that crashes the process
//! is not written to by start after start. A floor that is missing (while the ledger says
//! it had one) or damaged leaves the ledger in place but starts a recovery without a
//! floor: only the peers can then say how far the node's series went.

use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fs2::FileExt;
use kvitt_protocol::{PublicKey, RecordId};
use time::OffsetDateTime;

use super::{Batch, FloorFile, FlooredStore, SledSettings, SledStore, Store, StoreError};
use crate::config::LEDGER_DIR;
use crate::core::Recovery;
use crate::ledger::{keys, ChecksumReport, Floor, Ledger, LedgerError, Shortfall, MAX_SCAN_ENTRIES};

/// The marker of a start opening the ledger; removed once it has judged it.
pub const OPENING_MARKER: &str = "ledger.opening";

/// The file a running node holds locked, so that no second process opens its ledger.
pub const LOCK_FILE: &str = "ledger.lock";

/// The metadata name noting that the ledger has had a floor file (so a missing one is lost,
/// not merely not written yet by an older node).
const FLOOR_KEPT_META: &str = "floor-kept";

/// Why the ledger could not be started at all.
#[derive(Debug, thiserror::Error)]
pub enum LedgerStartError {
    /// Another process holds the data directory.
    #[error("{path} is locked: another kvitt process runs on this data directory")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// A file operation failed (not damage: a healthy ledger is never moved aside for it).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The new ledger could not be read back.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// What was wrong with a ledger moved aside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Damage {
    /// sled refused to open it.
    WontOpen(String),
    /// sled panicked opening or reading it.
    Panicked(String),
    /// A previous start stopped (killed, aborted) while opening it.
    DiedOpening,
    /// It is gone, while its floor says it held records.
    Missing,
    /// It holds less than its floor says.
    Short(Vec<Shortfall>),
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::WontOpen(why) => write!(f, "sled cannot open it: {why}"),
            Damage::Panicked(why) => write!(f, "sled panicked reading it: {why}"),
            Damage::DiedOpening => f.write_str("a previous start stopped while opening it"),
            Damage::Missing => f.write_str("it is gone, while its floor says it held records"),
            Damage::Short(shortfalls) => {
                let list: Vec<String> = shortfalls.iter().map(ToString::to_string).collect();
                write!(f, "it holds less than its floor: {}", list.join("; "))
            }
        }
    }
}

/// What the start found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// No ledger yet: a new one.
    New,
    /// The ledger holds at least what its floor says.
    Sound,
    /// A ledger from before floors were kept: its floor is kept from now on.
    FloorStarted,
    /// A recovery was in progress already.
    Recovering,
    /// The ledger was damaged: moved aside, what could be read of it copied into a new one,
    /// and a recovery begun.
    Damaged {
        /// Where it is now (none if it was gone).
        aside: Option<PathBuf>,
        /// What was wrong.
        damage: Damage,
        /// Entries copied from it into the new ledger.
        salvaged: u64,
    },
    /// The floor is missing or damaged: the ledger is kept, and a recovery begun without a
    /// floor.
    FloorLost(String),
}

/// A ledger opened and judged.
pub struct LedgerStart {
    /// The ledger, its floor kept up to date.
    pub store: Arc<FlooredStore>,
    /// What the start found.
    pub finding: Finding,
    /// The records whose bytes do not match their id, as the survey found them.
    pub checksums: ChecksumReport,
    /// The data directory's lock, held while the node runs.
    pub lock: File,
}

/// Opens the ledger of the data directory `data` for the node with key `node`, judged
/// against its floor, with sled's cache and a new ledger's pages as `sled` says; `now`
/// dates a recovery and names a ledger moved aside.
pub fn open_ledger(
    data: &Path,
    sled: SledSettings,
    node: &PublicKey,
    now: OffsetDateTime,
) -> Result<LedgerStart, LedgerStartError> {
    open_ledger_with(data, sled, node, now, |_| ()).map(|(start, _)| start)
}

/// [`open_ledger`], running `alongside` over the ledger on a second thread while the
/// survey reads it, so that a start's two full reads (the survey's and, in the daemon,
/// the channel index's) take the time of the longer one on two cores rather than the sum.
/// Its result is returned only for a ledger kept as it was found (sound, from before
/// floors, or with its floor lost); a new or damaged ledger gives `None`, and the caller
/// reads what it needs from the store returned. `alongside` does not see the start's own
/// writes after the survey (its metadata, a recovery begun).
pub fn open_ledger_with<T: Send>(
    data: &Path,
    sled: SledSettings,
    node: &PublicKey,
    now: OffsetDateTime,
    alongside: impl FnOnce(&dyn Store) -> T + Send,
) -> Result<(LedgerStart, Option<T>), LedgerStartError> {
    let lock = lock(data)?;
    let path = data.join(LEDGER_DIR);
    let floor_file = FloorFile::in_data_dir(data);
    let kept = floor_file.read();
    let marker = data.join(OPENING_MARKER);
    let judged = if marker.exists() {
        Judged::Damaged(Damage::DiedOpening, None)
    } else if !path.exists() {
        match &kept {
            Ok(None) => Judged::New,
            Ok(Some(floor)) if *floor == Floor::default() => Judged::New,
            _ => Judged::Damaged(Damage::Missing, None),
        }
    } else {
        let _opening = Marker::set(&marker)?;
        judge(&path, sled, node, &kept, alongside)?
    };
    let mut read_alongside = None;
    let (store, finding, recovery, (floor, checksums)) = match judged {
        Judged::New => {
            let store = SledStore::open_with(&path, sled)?;
            (store, Finding::New, None, (Floor::default(), ChecksumReport::default()))
        }
        Judged::Opened(store, finding, survey, alongside) => {
            read_alongside = alongside;
            let recovery = match &finding {
                Finding::FloorLost(why) => {
                    Some(recovery(format!("the ledger's floor is lost: {why}"), None, None, now))
                }
                _ => None,
            };
            (store, finding, recovery, survey)
        }
        Judged::Damaged(damage, damaged) => {
            let aside = if path.exists() { Some(move_aside(&path, now)?) } else { None };
            let fresh = SledStore::open_with(&path, sled)?;
            let salvaged = damaged.map_or(0, |(damaged, report)| salvage(&damaged, &fresh, &report));
            let floor = kept.as_ref().ok().cloned().flatten();
            let reason = format!("the ledger was damaged ({damage})");
            let recovery = recovery(reason, aside.as_deref(), floor, now);
            let survey = Floor::survey(&fresh, node)?;
            (fresh, Finding::Damaged { aside, damage, salvaged }, Some(recovery), survey)
        }
    };
    let store: Arc<dyn Store> = Arc::new(store);
    let store = Arc::new(FlooredStore::new(store, Arc::new(floor_file), floor.clone()));
    let ledger = Ledger::new(store.clone());
    let mut batch = Batch::new();
    if let Some(recovery) = recovery {
        if Recovery::stored(&ledger)?.is_none() {
            batch = Recovery { records_at_start: floor.records, ..recovery }.begin(&ledger)?;
        }
    }
    if ledger.meta(FLOOR_KEPT_META)?.is_none() {
        batch.insert(keys::meta(FLOOR_KEPT_META), Vec::new());
    }
    store.apply(&batch)?;
    // Writes the floor of what the ledger holds now, and the recovery if one began.
    store.sync()?;
    let finding = match finding {
        Finding::Sound | Finding::FloorStarted if Recovery::stored(&ledger)?.is_some() => Finding::Recovering,
        other => other,
    };
    Ok((LedgerStart { store, finding, checksums, lock }, read_alongside))
}

/// What opening and surveying the ledger found, before anything is moved.
enum Judged<T> {
    New,
    /// Opened and surveyed: the floor of what it holds, and its damaged records; what was
    /// read alongside the survey (`None` if that panicked).
    Opened(SledStore, Finding, (Floor, ChecksumReport), Option<T>),
    /// Damaged; the ledger still open if it opened, with what its survey found.
    Damaged(Damage, Option<(SledStore, ChecksumReport)>),
}

fn judge<T: Send>(
    path: &Path,
    sled: SledSettings,
    node: &PublicKey,
    kept: &Result<Option<Floor>, super::floor_file::FloorFileError>,
    alongside: impl FnOnce(&dyn Store) -> T + Send,
) -> Result<Judged<T>, LedgerStartError> {
    let store = match catch_unwind(AssertUnwindSafe(|| SledStore::open_with(path, sled))) {
        Err(panic) => return Ok(Judged::Damaged(Damage::Panicked(panic_message(&panic)), None)),
        Ok(Err(StoreError::Sled(
            error @ (sled::Error::Corruption { .. }
            | sled::Error::ReportableBug(_)
            | sled::Error::Unsupported(_)),
        ))) => return Ok(Judged::Damaged(Damage::WontOpen(error.to_string()), None)),
        Ok(Err(other)) => return Err(other.into()),
        Ok(Ok(store)) => store,
    };
    let (surveyed, alongside) = std::thread::scope(|scope| {
        let side = scope.spawn(|| catch_unwind(AssertUnwindSafe(|| alongside(&store))).ok());
        let surveyed = catch_unwind(AssertUnwindSafe(|| Floor::survey(&store, node)));
        (surveyed, side.join().ok().flatten())
    });
    let (held, report) = match surveyed {
        Err(panic) => return Ok(Judged::Damaged(Damage::Panicked(panic_message(&panic)), None)),
        // Whatever reading it failed on (sled, a malformed entry), it is not a ledger to serve.
        Ok(Err(error)) => return Ok(Judged::Damaged(Damage::WontOpen(error.to_string()), None)),
        Ok(Ok(survey)) => survey,
    };
    let had_floor = store.get(&keys::meta(FLOOR_KEPT_META))?.is_some();
    let finding = match kept {
        Ok(Some(kept)) => {
            let shortfalls = kept.shortfalls(&held);
            if !shortfalls.is_empty() {
                return Ok(Judged::Damaged(Damage::Short(shortfalls), Some((store, report))));
            }
            Finding::Sound
        }
        Ok(None) if had_floor => Finding::FloorLost("there is no floor file".into()),
        Ok(None) => Finding::FloorStarted,
        Err(error) => Finding::FloorLost(error.to_string()),
    };
    Ok(Judged::Opened(store, finding, (held, report), alongside))
}

fn recovery(reason: String, aside: Option<&Path>, floor: Option<Floor>, now: OffsetDateTime) -> Recovery {
    Recovery {
        reason,
        since: kvitt_protocol::fields::format_time(now),
        aside: aside.map(|aside| aside.display().to_string()),
        floor,
        records_at_start: 0,
        raised: Vec::new(),
    }
}

/// Locks the data directory for this process.
fn lock(data: &Path) -> Result<File, LedgerStartError> {
    let path = data.join(LOCK_FILE);
    let file = File::create(&path).map_err(|source| StoreError::Io { path: path.clone(), error: source })?;
    file.try_lock_exclusive().map_err(|_| LedgerStartError::Locked { path })?;
    Ok(file)
}

/// The opening marker: there while a start opens and judges the ledger.
struct Marker(PathBuf);

impl Marker {
    fn set(path: &Path) -> Result<Marker, StoreError> {
        File::create(path).map_err(|source| StoreError::Io { path: path.to_owned(), error: source })?;
        Ok(Marker(path.to_owned()))
    }
}

impl Drop for Marker {
    fn drop(&mut self) {
        // An error return takes it away too; only a start that dies leaves it.
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Renames the ledger to `ledger.damaged-<unix seconds>` (`-2`, `-3` … if taken) and
/// makes the rename durable; the marker of a start that died in it goes with it.
fn move_aside(path: &Path, now: OffsetDateTime) -> Result<PathBuf, StoreError> {
    let base = path.with_extension(format!("damaged-{}", now.unix_timestamp()));
    let mut aside = base.clone();
    let mut next = 2;
    while aside.exists() {
        aside = PathBuf::from(format!("{}-{next}", base.display()));
        next += 1;
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| StoreError::Io { path, error: source }
    };
    std::fs::rename(path, &aside).map_err(io(&aside))?;
    let parent = path.parent().unwrap_or_else(|| Path::new("."));
    File::open(parent).and_then(|directory| directory.sync_all()).map_err(io(parent))?;
    if let Some(marker) = path.parent().map(|data| data.join(OPENING_MARKER)) {
        let _ = std::fs::remove_file(marker);
    }
    Ok(aside)
}

/// Copies every entry of the damaged ledger into the fresh one, except the records whose
/// bytes do not match their id and the entries that name them (their slot, channel and
/// outbox entries, …: those would make the node believe it holds them, and a peer's copy
/// could then never come back). Stops at the first entry sled cannot read or panics on.
/// Returns how many entries it copied.
fn salvage(damaged: &SledStore, fresh: &SledStore, report: &ChecksumReport) -> u64 {
    let lost: std::collections::BTreeSet<RecordId> = report
        .damaged
        .iter()
        .filter_map(|key| key.strip_prefix("rec/").and_then(|id| id.parse().ok()))
        .collect();
    let names_lost = |key: &[u8], value: &[u8]| {
        let id = |bytes: &[u8]| <[u8; 32]>::try_from(bytes).ok().map(RecordId);
        [key.last_chunk::<32>().map(|tail| RecordId(*tail)), id(value)]
            .iter()
            .flatten()
            .any(|id| lost.contains(id))
    };
    let mut copied = 0u64;
    let mut after: Option<Vec<u8>> = None;
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), StoreError> {
        loop {
            let page = damaged.scan(b"", after.as_deref(), MAX_SCAN_ENTRIES)?;
            let Some((last, _)) = page.last() else { return Ok(()) };
            after = Some(last.clone());
            let mut batch = Batch::new();
            let mut entries = 0u64;
            for (key, value) in page {
                if !names_lost(&key, &value) {
                    batch.insert(key, value);
                    entries += 1;
                }
            }
            fresh.apply(&batch)?;
            copied += entries;
        }
    }));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(%error, copied, "salvaging the damaged ledger stopped"),
        Err(panic) => {
            tracing::error!(panic = %panic_message(&panic), copied, "salvaging the damaged ledger stopped")
        }
    }
    copied
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests;
