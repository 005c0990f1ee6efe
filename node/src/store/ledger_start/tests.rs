//! Tests of opening a ledger: a fresh start, a clean reopen, and each kind of damage
//! (interrupted open, failed checksums, a ledger behind its floor) found and recovered,
//! with the salvage of what still verifies.

use super::*;
use crate::store::FloorFile;

const NODE: PublicKey = PublicKey([9; 32]);

fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-05-04 12:00 UTC)
}

fn open(data: &Path) -> LedgerStart {
    open_ledger(data, SledSettings::cached(8 << 20), &NODE, now()).unwrap()
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
        batch.insert(keys::claimant("202100-5489", "emp-1", 1_777_000_000 + serial as i64, &id), Vec::new());
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
    let error = open_ledger(data.path(), SledSettings::cached(8 << 20), &NODE, now()).err().unwrap();
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
    let Finding::Damaged { aside: Some(aside), damage: Damage::Short(shortfalls), salvaged } = &start.finding
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
    for prefix in [keys::claimant_prefix("202100-5489", "emp-1"), keys::buyer_prefix("202100-5489", None)] {
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
    let Finding::Damaged { aside: Some(aside), damage: Damage::WontOpen(_), salvaged: 0 } = &start.finding
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
    let Finding::Damaged { aside: Some(aside), damage: Damage::DiedOpening, salvaged: 0 } = &start.finding
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

#[test]
fn what_is_read_alongside_the_survey_comes_back_only_for_a_ledger_kept_as_found() {
    let data = tempfile::tempdir().unwrap();
    let channel_keys = |store: &dyn Store| store.scan(keys::CHANNEL_PREFIX, None, 1000).unwrap().len();
    let open_with = |alongside: &(dyn Fn(&dyn Store) -> usize + Sync)| {
        open_ledger_with(data.path(), SledSettings::cached(8 << 20), &NODE, now(), |store| alongside(store))
            .unwrap()
    };
    let empty = tempfile::tempdir().unwrap();
    let (new, read) =
        open_ledger_with(empty.path(), SledSettings::cached(8 << 20), &NODE, now(), channel_keys).unwrap();
    assert_eq!((&new.finding, read), (&Finding::New, None));
    build(data.path(), 20);
    let (sound, read) = open_with(&channel_keys);
    assert_eq!((&sound.finding, read), (&Finding::Sound, Some(20)));
    drop(sound);
    // A panic there is not the start's: the ledger is kept, the caller reads it again.
    let (sound, read) = open_with(&|_| panic!("reading alongside failed"));
    assert_eq!((&sound.finding, read), (&Finding::Sound, None));
    drop(sound);
    tamper(data.path(), |store| {
        let (first, _) = store.scan(keys::RECORD_PREFIX, None, 1).unwrap().remove(0);
        let mut lose = Batch::new();
        lose.remove(first);
        store.apply(&lose).unwrap();
    });
    // The ledger read alongside is moved aside: what was read of it is not the node's.
    let (damaged, read) = open_with(&channel_keys);
    assert!(
        matches!(damaged.finding, Finding::Damaged { damage: Damage::Short(_), .. }),
        "{:?}",
        damaged.finding
    );
    assert_eq!(read, None);
}
