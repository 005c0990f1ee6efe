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

use super::{Batch, FloorFile, FlooredStore, SledStore, Store, StoreError};
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
/// against its floor; `now` dates a recovery and names a ledger moved aside.
pub fn open_ledger(
    data: &Path,
    cache_bytes: u64,
    node: &PublicKey,
    now: OffsetDateTime,
) -> Result<LedgerStart, LedgerStartError> {
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
        judge(&path, cache_bytes, node, &kept)?
    };
    let (store, finding, recovery, (floor, checksums)) = match judged {
        Judged::New => {
            let store = SledStore::open(&path, cache_bytes)?;
            (store, Finding::New, None, (Floor::default(), ChecksumReport::default()))
        }
        Judged::Opened(store, finding, survey) => {
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
            let fresh = SledStore::open(&path, cache_bytes)?;
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
    Ok(LedgerStart { store, finding, checksums, lock })
}

/// What opening and surveying the ledger found, before anything is moved.
enum Judged {
    New,
    /// Opened and surveyed: the floor of what it holds, and its damaged records.
    Opened(SledStore, Finding, (Floor, ChecksumReport)),
    /// Damaged; the ledger still open if it opened, with what its survey found.
    Damaged(Damage, Option<(SledStore, ChecksumReport)>),
}

fn judge(
    path: &Path,
    cache_bytes: u64,
    node: &PublicKey,
    kept: &Result<Option<Floor>, super::floor_file::FloorFileError>,
) -> Result<Judged, LedgerStartError> {
    let store = match catch_unwind(AssertUnwindSafe(|| SledStore::open(path, cache_bytes))) {
        Err(panic) => return Ok(Judged::Damaged(Damage::Panicked(panic_message(&panic)), None)),
        Ok(Err(StoreError::Sled(
            error @ (sled::Error::Corruption { .. }
            | sled::Error::ReportableBug(_)
            | sled::Error::Unsupported(_)),
        ))) => return Ok(Judged::Damaged(Damage::WontOpen(error.to_string()), None)),
        Ok(Err(other)) => return Err(other.into()),
        Ok(Ok(store)) => store,
    };
    let (held, report) = match catch_unwind(AssertUnwindSafe(|| Floor::survey(&store, node))) {
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
    Ok(Judged::Opened(store, finding, (held, report)))
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
mod tests {
    use super::*;
    use crate::store::FloorFile;

    const NODE: PublicKey = PublicKey([9; 32]);

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-05-04 12:00 UTC)
    }

    fn open(data: &Path) -> LedgerStart {
        open_ledger(data, 8 << 20, &NODE, now()).unwrap()
    }

    /// A ledger of `receipts` receipt-like records on register `KASSA-1`, written as a node
    /// writes them (one batch each, a sync every few), with its floor kept.
    fn build(data: &Path, receipts: u64) -> Floor {
        let start = open(data);
        assert_eq!(start.finding, Finding::New);
        for serial in 1..=receipts {
            // 1,200 bytes that do not repeat, beginning with the serial.
            let mut bytes = serial.to_be_bytes().to_vec();
            while bytes.len() < 1200 {
                let block = RecordId::of(&bytes[bytes.len().saturating_sub(32)..]);
                bytes.extend_from_slice(block.as_bytes());
            }
            let id = RecordId::of(&bytes);
            let mut batch = Batch::new();
            batch.insert(keys::record(&id), bytes);
            let slot =
                kvitt_protocol::evidence::Slot::Receipt { signer: NODE, register: "KASSA-1".into(), serial };
            batch.insert(keys::slot(&slot), id.as_bytes().to_vec());
            batch.insert(keys::serial("KASSA-1"), serial.to_be_bytes().to_vec());
            let agency = PublicKey([3; 32]);
            batch.insert(keys::outbox(&agency, serial), id.as_bytes().to_vec());
            batch.insert(keys::channel(&agency, 1_777_000_000 + serial, &id), Vec::new());
            batch.insert(
                keys::buyer("202100-5489", Some("emp-1"), 1_777_000_000 + serial as i64, &id),
                Vec::new(),
            );
            batch.insert(
                keys::claimant("202100-5489", "emp-1", 1_777_000_000 + serial as i64, &id),
                Vec::new(),
            );
            batch.insert(keys::meta("outbox-sequence"), serial.to_be_bytes().to_vec());
            start.store.apply(&batch).unwrap();
            if serial % 8 == 0 {
                start.store.sync().unwrap();
            }
        }
        start.store.sync().unwrap();
        start.store.floor()
    }

    fn recovery_of(start: &LedgerStart) -> Option<Recovery> {
        Recovery::stored(&Ledger::new(start.store.clone())).unwrap()
    }

    fn file_hash(path: &Path) -> String {
        hex::encode(ring::digest::digest(&ring::digest::SHA256, &std::fs::read(path).unwrap()))
    }

    #[test]
    fn a_new_ledger_and_then_a_sound_one_start_without_a_recovery() {
        let data = tempfile::tempdir().unwrap();
        let floor = build(data.path(), 20);
        assert_eq!(FloorFile::in_data_dir(data.path()).read().unwrap(), Some(floor.clone()));
        let start = open(data.path());
        assert_eq!(start.finding, Finding::Sound);
        assert_eq!(start.store.floor(), floor);
        assert!(recovery_of(&start).is_none());
        assert!(!data.path().join(OPENING_MARKER).exists());
    }

    #[test]
    fn a_second_process_on_the_same_data_directory_is_refused() {
        let data = tempfile::tempdir().unwrap();
        let _running = open(data.path());
        let error = open_ledger(data.path(), 8 << 20, &NODE, now()).err().unwrap();
        assert!(matches!(error, LedgerStartError::Locked { .. }), "{error}");
    }

    /// Changes the ledger behind its floor's back, as damage would.
    fn tamper(data: &Path, change: impl FnOnce(&SledStore)) {
        let store = SledStore::open(&data.join(LEDGER_DIR), 8 << 20).unwrap();
        change(&store);
        store.sync().unwrap();
    }

    #[test]
    fn a_ledger_short_of_its_floor_is_moved_aside_and_what_it_holds_copied_into_a_recovering_one() {
        let data = tempfile::tempdir().unwrap();
        let floor = build(data.path(), 30);
        tamper(data.path(), |store| {
            // The tail lost: the last eight receipts and the register's position.
            let mut cut = Batch::new();
            for (key, _) in store.scan(keys::RECORD_PREFIX, None, 100).unwrap() {
                let serial = u64::from_be_bytes(store.get(&key).unwrap().unwrap()[..8].try_into().unwrap());
                if serial > 22 {
                    cut.remove(key);
                }
            }
            cut.insert(keys::serial("KASSA-1"), 22u64.to_be_bytes().to_vec());
            store.apply(&cut).unwrap();
        });
        let start = open(data.path());
        let Finding::Damaged { aside: Some(aside), damage: Damage::Short(shortfalls), salvaged } =
            &start.finding
        else {
            panic!("{:?}", start.finding);
        };
        assert_eq!(
            shortfalls,
            &vec![
                Shortfall::Records { held: 22, kept: 30 },
                Shortfall::Serial { register: "KASSA-1".into(), held: Some(22), kept: 30 }
            ]
        );
        assert_eq!(aside, &data.path().join("ledger.damaged-1777896000"));
        assert!(aside.join("db").exists(), "kept, not deleted");
        assert!(*salvaged > 22);
        let recovery = recovery_of(&start).expect("a recovery is noted");
        assert_eq!(recovery.floor.as_ref(), Some(&floor));
        assert_eq!(recovery.records_at_start, 22);
        assert!(recovery.reason.contains("22 records, the floor says at least 30"), "{}", recovery.reason);
        let ledger = Ledger::new(start.store.clone());
        assert_eq!(ledger.last_serial("KASSA-1").unwrap(), Some(30), "raised to the floor at once");
        assert_eq!(start.store.floor().records, 22);
        drop((ledger, start));
        // Started again before `kvitt recover`: still recovering, nothing moved again.
        let again = open(data.path());
        assert_eq!(again.finding, Finding::Recovering);
        assert!(!data.path().join("ledger.damaged-1777896000-2").exists());
    }

    #[test]
    fn as_many_records_as_the_floor_but_other_ones_is_damage() {
        let data = tempfile::tempdir().unwrap();
        build(data.path(), 10);
        tamper(data.path(), |store| {
            let (key, _) = store.scan(keys::RECORD_PREFIX, None, 1).unwrap().remove(0);
            let mut swap = Batch::new();
            swap.remove(key);
            swap.insert(keys::record(&RecordId::of(b"another")), b"another".to_vec());
            store.apply(&swap).unwrap();
        });
        let start = open(data.path());
        assert!(
            matches!(&start.finding, Finding::Damaged { damage: Damage::Short(found), .. } if found == &[Shortfall::Digest]),
            "{:?}",
            start.finding
        );
    }

    #[test]
    fn a_salvage_drops_every_index_entry_of_a_damaged_record_and_keeps_the_others() {
        let data = tempfile::tempdir().unwrap();
        build(data.path(), 10);
        let mut damaged = None;
        tamper(data.path(), |store| {
            let (key, value) = store.scan(keys::RECORD_PREFIX, None, 1).unwrap().remove(0);
            let mut flip = Batch::new();
            flip.insert(key.clone(), [value.as_slice(), b"!"].concat());
            store.apply(&flip).unwrap();
            damaged = Some(RecordId(key[keys::RECORD_PREFIX.len()..].try_into().unwrap()));
        });
        let damaged = damaged.unwrap();
        let start = open(data.path());
        assert!(matches!(start.finding, Finding::Damaged { .. }), "{:?}", start.finding);
        // Each index family that ends in a record id: the damaged record's entries are gone,
        // the nine sound records' are all copied.
        for prefix in [keys::claimant_prefix("202100-5489", "emp-1"), keys::buyer_prefix("202100-5489", None)]
        {
            let entries = start.store.scan(&prefix, None, 100).unwrap();
            assert_eq!(entries.len(), 9, "{}", String::from_utf8_lossy(&prefix));
            assert!(entries.iter().all(|(key, _)| !key.ends_with(damaged.as_bytes())));
        }
    }

    #[test]
    fn a_ledger_sled_cannot_open_is_moved_aside_and_a_new_one_recovers() {
        let data = tempfile::tempdir().unwrap();
        build(data.path(), 10);
        std::fs::write(data.path().join(LEDGER_DIR).join("conf"), b"\xff\xff not a sled config").unwrap();
        let start = open(data.path());
        let Finding::Damaged { aside: Some(aside), damage: Damage::WontOpen(_), salvaged: 0 } =
            &start.finding
        else {
            panic!("{:?}", start.finding);
        };
        assert!(aside.join("db").exists());
        assert_eq!(recovery_of(&start).unwrap().floor.map(|floor| floor.records), Some(10));
    }

    #[test]
    fn a_start_that_died_opening_the_ledger_is_not_followed_by_another_open() {
        let data = tempfile::tempdir().unwrap();
        build(data.path(), 10);
        let db = data.path().join(LEDGER_DIR).join("db");
        let before = file_hash(&db);
        std::fs::write(data.path().join(OPENING_MARKER), b"").unwrap();
        let start = open(data.path());
        let Finding::Damaged { aside: Some(aside), damage: Damage::DiedOpening, salvaged: 0 } =
            &start.finding
        else {
            panic!("{:?}", start.finding);
        };
        assert_eq!(file_hash(&aside.join("db")), before, "moved aside without being opened");
        assert!(!data.path().join(OPENING_MARKER).exists());
    }

    #[test]
    fn a_ledger_gone_while_its_floor_says_it_held_records_is_recovered() {
        let data = tempfile::tempdir().unwrap();
        build(data.path(), 5);
        std::fs::remove_dir_all(data.path().join(LEDGER_DIR)).unwrap();
        let start = open(data.path());
        assert_eq!(start.finding, Finding::Damaged { aside: None, damage: Damage::Missing, salvaged: 0 });
        assert_eq!(recovery_of(&start).unwrap().floor.map(|floor| floor.records), Some(5));
    }

    #[test]
    fn a_lost_or_damaged_floor_keeps_the_ledger_and_recovers_without_a_floor() {
        let data = tempfile::tempdir().unwrap();
        build(data.path(), 10);
        let floor_file = data.path().join(crate::store::floor_file::FLOOR_FILE);
        let text = std::fs::read_to_string(&floor_file).unwrap();
        std::fs::write(&floor_file, text.replace("\"records\":10", "\"records\":11")).unwrap();
        let start = open(data.path());
        let Finding::FloorLost(why) = &start.finding else { panic!("{:?}", start.finding) };
        assert!(why.contains("checksum"), "{why}");
        assert_eq!(start.store.floor().records, 10, "the ledger is kept in place");
        assert_eq!(recovery_of(&start).unwrap().floor, None);
        drop(start);
        std::fs::remove_file(&floor_file).unwrap();
        let start = open(data.path());
        assert_eq!(start.finding, Finding::FloorLost("there is no floor file".into()));
    }

    #[test]
    fn a_ledger_from_before_floors_gets_one_without_a_recovery() {
        let data = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(&data.path().join(LEDGER_DIR), 8 << 20).unwrap();
            let mut batch = Batch::new();
            batch.insert(keys::record(&RecordId::of(b"old")), b"old".to_vec());
            store.apply(&batch).unwrap();
            store.sync().unwrap();
        }
        let start = open(data.path());
        assert_eq!(start.finding, Finding::FloorStarted);
        assert!(recovery_of(&start).is_none());
        assert_eq!(FloorFile::in_data_dir(data.path()).read().unwrap().map(|floor| floor.records), Some(1));
    }

    /// Flipping bytes inside a real sled ledger: sled panics opening some variants (in
    /// `advance_snapshot`, "tried to serialize Uninitialized"), refuses others, recovers a
    /// shorter ledger, or repairs the flip. Every damaged one is moved aside and recovered,
    /// and a ledger moved aside is never written again.
    #[test]
    fn a_ledger_with_flipped_bytes_is_moved_aside_whether_sled_panics_errs_or_cuts_it_short() {
        let base = tempfile::tempdir().unwrap();
        build(base.path(), 600);
        let db = base.path().join(LEDGER_DIR).join("db");
        let length = std::fs::metadata(&db).unwrap().len() as usize;
        let mut panicked = 0;
        for (numerator, denominator) in (1..16).map(|n| (n, 16)) {
            let data = tempfile::tempdir().unwrap();
            for file in [crate::store::floor_file::FLOOR_FILE, LEDGER_DIR] {
                copy(&base.path().join(file), &data.path().join(file));
            }
            let path = data.path().join(LEDGER_DIR).join("db");
            let mut bytes = std::fs::read(&path).unwrap();
            let at = length * numerator / denominator;
            for byte in &mut bytes[at..at + 512] {
                *byte ^= 0x5a;
            }
            std::fs::write(&path, bytes).unwrap();
            let start = open(data.path());
            let Finding::Damaged { aside: Some(aside), damage, .. } = start.finding.clone() else {
                // sled read past the flip: everything the floor says is there.
                assert_eq!(start.finding, Finding::Sound, "flip at {numerator}/{denominator}");
                continue;
            };
            eprintln!("flip at {numerator}/{denominator}: {damage}");
            panicked += usize::from(matches!(damage, Damage::Panicked(_)));
            assert!(recovery_of(&start).is_some());
            let kept = file_hash(&aside.join("db"));
            drop(start);
            let again = open(data.path());
            assert_eq!(again.finding, Finding::Recovering);
            assert_eq!(file_hash(&aside.join("db")), kept, "a ledger moved aside is not opened again");
        }
        assert!(panicked > 0, "no variant made sled panic");
    }

    fn copy(from: &Path, to: &Path) {
        if from.is_dir() {
            std::fs::create_dir_all(to).unwrap();
            for entry in std::fs::read_dir(from).unwrap() {
                let entry = entry.unwrap();
                copy(&entry.path(), &to.join(entry.file_name()));
            }
        } else {
            std::fs::copy(from, to).unwrap();
        }
    }
}
