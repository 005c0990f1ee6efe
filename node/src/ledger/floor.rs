//! The ledger's floor: a small summary of what the ledger must at least hold, kept apart
//! from it (store::floor_file) so that a ledger that lost its tail, or that sled can no
//! longer open, is caught at the next start instead of serving as if nothing happened.
//!
//! It holds what would let a node sign something twice if it were forgotten (each of its
//! registers' last serial, the counters that number its claims and vouchers) and what
//! tells whether records went missing (how many records the ledger holds and the XOR of
//! their ids, a digest that does not depend on the order they came in). It is updated from
//! every batch the ledger applies ([`Floor::note`]) and written after each group commit's
//! sync, before the acknowledgements that sync covers are released, so it never claims
//! more than the ledger held durably, and covers everything the node acknowledged or sent.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use kvitt_protocol::{PublicKey, RecordId};
use serde::{Deserialize, Serialize};

use super::{keys, ChecksumReport, LedgerError};
use crate::store::{Batch, Store};

/// The version of the floor's encoding this node writes and reads.
pub const FLOOR_FORMAT: u32 = 1;

/// The first line of an encoded floor, before its version.
const MAGIC: &str = "kvitt-ledger-floor";

/// What a ledger must at least hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Floor {
    /// Records the ledger holds whose bytes match their id.
    pub records: u64,
    /// The XOR of those records' ids (hex).
    #[serde(with = "hex_digest")]
    pub digest: [u8; 32],
    /// This node's registers and their series.
    pub registers: BTreeMap<String, Series>,
    /// The counters that number what this node signs ([`keys::numbers_signed_records`]):
    /// `claim-number` at an agency, `voucher/<agency>` at an SSC.
    pub counters: BTreeMap<String, u64>,
}

/// The serials of one register of this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Series {
    /// The lowest serial the ledger held when the register was first seen (informative:
    /// where a report of lost serials starts).
    pub first: u64,
    /// The last serial issued.
    pub last: u64,
}

/// Where a ledger falls short of its floor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shortfall {
    /// Fewer records than the floor says.
    Records {
        /// What the ledger holds.
        held: u64,
        /// What the floor says.
        kept: u64,
    },
    /// As many records as the floor says, but not the same ones.
    Digest,
    /// A register's last serial below the floor's (or the register gone).
    Serial {
        /// The register.
        register: String,
        /// The ledger's last serial, if it has the register.
        held: Option<u64>,
        /// The floor's.
        kept: u64,
    },
    /// A numbering counter below the floor's.
    Counter {
        /// The counter.
        name: String,
        /// The ledger's value (0 if absent).
        held: u64,
        /// The floor's.
        kept: u64,
    },
}

impl std::fmt::Display for Shortfall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shortfall::Records { held, kept } => {
                write!(f, "{held} records, the floor says at least {kept}")
            }
            Shortfall::Digest => f.write_str("as many records as the floor says, but not the same ones"),
            Shortfall::Serial { register, held: Some(held), kept } => {
                write!(f, "register {register} at serial {held}, the floor says {kept}")
            }
            Shortfall::Serial { register, held: None, kept } => {
                write!(f, "register {register} missing, the floor says serial {kept}")
            }
            Shortfall::Counter { name, held, kept } => {
                write!(f, "counter {name} at {held}, the floor says {kept}")
            }
        }
    }
}

/// Why bytes are not a floor.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FloorError {
    /// The first line is not `kvitt-ledger-floor <version>`.
    #[error("not a ledger floor (the first line is not \"{MAGIC} <version>\")")]
    NotAFloor,
    /// A version this node does not read.
    #[error("ledger floor format {0}, this node reads format {FLOOR_FORMAT}")]
    Format(u32),
    /// Fewer lines than a floor has: the file was cut short.
    #[error("the ledger floor is cut short (no checksum line)")]
    Truncated,
    /// The checksum line does not match the body.
    #[error("the ledger floor's checksum does not match its content (expected {expected}, found {found})")]
    Checksum {
        /// The checksum line.
        expected: String,
        /// The body's SHA-256.
        found: String,
    },
    /// The body is not a floor.
    #[error("the ledger floor's content is malformed: {0}")]
    Malformed(String),
}

impl Floor {
    /// The floor of what `store` holds now, and the records whose bytes do not hash to
    /// their id (which it does not count): one pass over every record, the store lending
    /// their bytes ([`Store::visit`]: sled's own, not a copy), as a node does on start.
    /// `signer` is this node's key, whose receipts tell where each register's series starts.
    /// The records are read and hashed in two halves by id, one on this thread and one on
    /// another, so that a start uses both cores of a small machine.
    pub fn survey(store: &dyn Store, signer: &PublicKey) -> Result<(Floor, ChecksumReport), LedgerError> {
        // The first half ends with the greatest id below 0x80…: ids are hashes, so each half
        // holds about half the records (and a malformed longer key goes to the second).
        let first_half_end =
            keys::record(&RecordId(std::array::from_fn(|at| if at == 0 { 0x7f } else { 0xff })));
        let (first, second) = std::thread::scope(|scope| {
            let second = scope.spawn(|| survey_records(store, Some(first_half_end.clone()), None));
            let first = survey_records(store, None, Some(&first_half_end));
            (first, second.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        let (mut floor, mut report) = first?;
        let (second_floor, second_report) = second?;
        floor.records += second_floor.records;
        floor.xor(&RecordId(second_floor.digest));
        report.records += second_report.records;
        report.bytes += second_report.bytes;
        report.damaged.extend(second_report.damaged);
        walk(store, keys::SERIAL_PREFIX, |key, value| {
            let register = register_of(key);
            let last = counter_value(key, value)?;
            let first = store
                .scan(&keys::register_slots(signer, &register), None, 1)?
                .first()
                .and_then(|(slot, _)| slot.last_chunk::<8>().map(|serial| u64::from_be_bytes(*serial)))
                .map_or(last, |first| first.min(last));
            floor.registers.insert(register, Series { first, last });
            Ok(())
        })?;
        walk(store, keys::META_PREFIX, |key, value| {
            if let Some(name) = numbering_counter(key) {
                floor.counters.insert(name, counter_value(key, value)?);
            }
            Ok(())
        })?;
        Ok((floor, report))
    }

    /// Takes in a batch the store has just applied; `held` says for each record key of
    /// the batch whether the store held it before (a record rewritten is not counted
    /// twice). Returns whether the floor changed. A malformed counter value is left out
    /// (the start-up survey reports it).
    pub fn note(&mut self, batch: &Batch, mut held: BTreeMap<Vec<u8>, bool>) -> bool {
        let mut changed = false;
        for (key, value) in batch.operations() {
            if let Some(id) = record_id(key) {
                let was = held.insert(key.clone(), value.is_some()).unwrap_or(false);
                match (was, value.is_some()) {
                    (false, true) => self.add_record(&id),
                    (true, false) => self.remove_record(&id),
                    _ => continue,
                }
                changed = true;
            } else if key.starts_with(keys::SERIAL_PREFIX) {
                let register = register_of(key);
                changed |= match value.as_deref().map(|value| counter_value(key, value)) {
                    Some(Ok(last)) => {
                        let series =
                            self.registers.entry(register).or_insert(Series { first: last, last: 0 });
                        std::mem::replace(&mut series.last, last) != last
                    }
                    Some(Err(_)) => false,
                    None => self.registers.remove(&register).is_some(),
                };
            } else if let Some(name) = numbering_counter(key) {
                changed |= match value.as_deref().map(|value| counter_value(key, value)) {
                    Some(Ok(number)) => self.counters.insert(name, number) != Some(number),
                    Some(Err(_)) => false,
                    None => self.counters.remove(&name).is_some(),
                };
            }
        }
        changed
    }

    /// The record keys of `batch`, for [`Floor::note`]'s `held_before`.
    pub fn record_keys(batch: &Batch) -> impl Iterator<Item = &[u8]> {
        batch.operations().iter().map(|(key, _)| key.as_slice()).filter(|key| record_id(key).is_some())
    }

    /// Where `held` (what a ledger holds) falls short of this floor. A ledger with more
    /// records than the floor is not short: the node may have stopped between the
    /// ledger's sync and the floor's write. Its digest is compared only when the counts
    /// are equal.
    pub fn shortfalls(&self, held: &Floor) -> Vec<Shortfall> {
        let mut found = Vec::new();
        if held.records < self.records {
            found.push(Shortfall::Records { held: held.records, kept: self.records });
        } else if held.records == self.records && held.digest != self.digest {
            found.push(Shortfall::Digest);
        }
        for (register, series) in &self.registers {
            let last = held.registers.get(register).map(|series| series.last);
            if last.is_none_or(|last| last < series.last) {
                found.push(Shortfall::Serial { register: register.clone(), held: last, kept: series.last });
            }
        }
        for (name, kept) in &self.counters {
            let value = held.counters.get(name).copied().unwrap_or(0);
            if value < *kept {
                found.push(Shortfall::Counter { name: name.clone(), held: value, kept: *kept });
            }
        }
        found
    }

    /// The floor as written to its file: a header line, one line of JSON, and a line with
    /// the SHA-256 of that JSON line.
    pub fn encode(&self) -> Vec<u8> {
        // A map of strings and integers always serializes.
        let body = serde_json::to_string(self).unwrap_or_default();
        format!("{MAGIC} {FLOOR_FORMAT}\n{body}\nsha256 {}\n", sha256_hex(body.as_bytes())).into_bytes()
    }

    /// Reads an encoded floor, checking its header, version and checksum.
    pub fn decode(bytes: &[u8]) -> Result<Floor, FloorError> {
        let text = std::str::from_utf8(bytes).map_err(|_| FloorError::NotAFloor)?;
        let mut lines = text.split('\n');
        let header = lines.next().unwrap_or_default();
        let version = header
            .strip_prefix(MAGIC)
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or(FloorError::NotAFloor)?;
        let version: u32 = version.parse().map_err(|_| FloorError::NotAFloor)?;
        if version != FLOOR_FORMAT {
            return Err(FloorError::Format(version));
        }
        let (Some(body), Some(checksum)) = (lines.next(), lines.next()) else {
            return Err(FloorError::Truncated);
        };
        let expected = checksum.strip_prefix("sha256 ").ok_or(FloorError::Truncated)?;
        let found = sha256_hex(body.as_bytes());
        if expected != found {
            return Err(FloorError::Checksum { expected: expected.to_owned(), found });
        }
        serde_json::from_str(body).map_err(|error| FloorError::Malformed(error.to_string()))
    }

    fn add_record(&mut self, id: &RecordId) {
        self.records += 1;
        self.xor(id);
    }

    fn remove_record(&mut self, id: &RecordId) {
        self.records = self.records.saturating_sub(1);
        self.xor(id);
    }

    fn xor(&mut self, id: &RecordId) {
        for (digest, byte) in self.digest.iter_mut().zip(id.as_bytes()) {
            *digest ^= byte;
        }
    }
}

/// The records (and their count and digest) with keys after `after` up to `through`
/// (both ends when given), and the damaged ones among them; read in one pass, the store
/// lending its bytes ([`Store::visit`]).
fn survey_records(
    store: &dyn Store,
    after: Option<Vec<u8>>,
    through: Option<&[u8]>,
) -> Result<(Floor, ChecksumReport), LedgerError> {
    let mut floor = Floor::default();
    let mut report = ChecksumReport::default();
    store.visit(keys::RECORD_PREFIX, after.as_deref(), through, &mut |key, bytes| {
        report.records += 1;
        report.bytes += bytes.len() as u64;
        match record_id(key) {
            Some(id) if RecordId::of(bytes) == id => floor.add_record(&id),
            Some(id) => report.damaged.push(format!("rec/{id}")),
            None => report.damaged.push(format!("{:?}", String::from_utf8_lossy(key))),
        }
        ControlFlow::Continue(())
    })?;
    Ok((floor, report))
}

/// Calls `each` for every entry whose key starts with `prefix`, in one visit of the
/// store; the first error `each` returns ends it and is returned.
fn walk(
    store: &dyn Store,
    prefix: &[u8],
    mut each: impl FnMut(&[u8], &[u8]) -> Result<(), LedgerError>,
) -> Result<(), LedgerError> {
    let mut failed = None;
    store.visit(prefix, None, None, &mut |key, value| match each(key, value) {
        Ok(()) => ControlFlow::Continue(()),
        Err(error) => {
            failed = Some(error);
            ControlFlow::Break(())
        }
    })?;
    failed.map_or(Ok(()), Err)
}

/// The id in a record's key, if `key` is one.
fn record_id(key: &[u8]) -> Option<RecordId> {
    key.strip_prefix(keys::RECORD_PREFIX).and_then(|tail| <[u8; 32]>::try_from(tail).ok()).map(RecordId)
}

fn register_of(key: &[u8]) -> String {
    String::from_utf8_lossy(key.get(keys::SERIAL_PREFIX.len()..).unwrap_or_default()).into_owned()
}

/// The name of the numbering counter `key` holds, if it holds one.
fn numbering_counter(key: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(key.strip_prefix(keys::META_PREFIX)?).ok()?;
    keys::numbers_signed_records(name).then(|| name.to_owned())
}

fn counter_value(key: &[u8], value: &[u8]) -> Result<u64, LedgerError> {
    <[u8; 8]>::try_from(value).map(u64::from_be_bytes).map_err(|_| LedgerError::Damaged {
        key: String::from_utf8_lossy(key).into_owned(),
        why: "not an 8-byte counter".into(),
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

mod hex_digest {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(digest: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(digest))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| serde::de::Error::custom(format!("{} bytes of digest, expected 32", bytes.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn signer() -> PublicKey {
        PublicKey([7; 32])
    }

    /// A batch storing a fake record (its id is its bytes' hash) with a register position.
    fn push(store: &MemoryStore, floor: &mut Floor, bytes: &[u8], register: &str, serial: u64) -> RecordId {
        let id = RecordId::of(bytes);
        let mut batch = Batch::new();
        batch.insert(keys::record(&id), bytes.to_vec());
        let slot =
            kvitt_protocol::evidence::Slot::Receipt { signer: signer(), register: register.into(), serial };
        batch.insert(keys::slot(&slot), id.as_bytes().to_vec());
        batch.insert(keys::serial(register), serial.to_be_bytes().to_vec());
        apply(store, floor, &batch);
        id
    }

    fn apply(store: &MemoryStore, floor: &mut Floor, batch: &Batch) -> bool {
        let held: BTreeMap<Vec<u8>, bool> =
            Floor::record_keys(batch).map(|key| (key.to_vec(), store.get(key).unwrap().is_some())).collect();
        store.apply(batch).unwrap();
        floor.note(batch, held)
    }

    #[test]
    fn the_floor_kept_from_batches_equals_a_survey_of_the_ledger() {
        let store = MemoryStore::new();
        let mut floor = Floor::default();
        for serial in 5..=9 {
            push(&store, &mut floor, format!("receipt {serial}").as_bytes(), "KASSA-1", serial);
        }
        push(&store, &mut floor, b"other register", "KASSA-2", 1);
        // A record written again, and counters.
        let mut batch = Batch::new();
        batch.insert(keys::record(&RecordId::of(b"receipt 5")), b"receipt 5".to_vec());
        batch.insert(keys::meta(keys::CLAIM_NUMBER_COUNTER), 12u64.to_be_bytes().to_vec());
        batch.insert(keys::meta(&keys::voucher_counter("202100-5489")), 3u64.to_be_bytes().to_vec());
        batch.insert(keys::meta("outbox-sequence"), 99u64.to_be_bytes().to_vec());
        assert!(apply(&store, &mut floor, &batch));
        let mut unchanged = Batch::new();
        unchanged.insert(keys::meta("outbox-sequence"), 100u64.to_be_bytes().to_vec());
        assert!(!apply(&store, &mut floor, &unchanged), "the outbox sequence numbers nothing signed");
        assert_eq!(floor.records, 6);
        assert_eq!(floor.registers["KASSA-1"], Series { first: 5, last: 9 });
        assert_eq!(floor.counters.len(), 2);
        let (surveyed, report) = Floor::survey(&store, &signer()).unwrap();
        assert_eq!(surveyed, floor);
        assert_eq!(report.records, 6);
        assert!(floor.shortfalls(&surveyed).is_empty());
    }

    #[test]
    fn a_ledger_short_of_its_floor_is_told_apart_from_one_ahead_of_it() {
        let store = MemoryStore::new();
        let mut floor = Floor::default();
        let ids: Vec<RecordId> =
            (1..=4).map(|serial| push(&store, &mut floor, &[serial as u8], "K", serial)).collect();
        let kept = floor.clone();
        // Ahead (stopped between the ledger's sync and the floor's write): not short.
        push(&store, &mut floor, b"more", "K", 5);
        assert!(kept.shortfalls(&Floor::survey(&store, &signer()).unwrap().0).is_empty());
        // The tail lost: fewer records, a lower serial.
        let mut cut = Batch::new();
        for id in &ids[2..] {
            cut.remove(keys::record(id));
        }
        cut.remove(keys::record(&RecordId::of(b"more")));
        cut.insert(keys::serial("K"), 2u64.to_be_bytes().to_vec());
        store.apply(&cut).unwrap();
        let held = Floor::survey(&store, &signer()).unwrap().0;
        assert_eq!(
            kept.shortfalls(&held),
            vec![
                Shortfall::Records { held: 2, kept: 4 },
                Shortfall::Serial { register: "K".into(), held: Some(2), kept: 4 }
            ]
        );
        // As many records, other ones: the digest says so.
        let mut swap = Batch::new();
        swap.insert(keys::record(&RecordId::of(b"x")), b"x".to_vec());
        swap.insert(keys::record(&RecordId::of(b"y")), b"y".to_vec());
        swap.insert(keys::serial("K"), 4u64.to_be_bytes().to_vec());
        store.apply(&swap).unwrap();
        assert_eq!(kept.shortfalls(&Floor::survey(&store, &signer()).unwrap().0), vec![Shortfall::Digest]);
    }

    #[test]
    fn a_damaged_record_is_not_counted_and_is_reported() {
        let store = MemoryStore::new();
        let mut floor = Floor::default();
        let id = push(&store, &mut floor, b"intact", "K", 1);
        let mut damage = Batch::new();
        damage.insert(keys::record(&id), b"flipped".to_vec());
        store.apply(&damage).unwrap();
        let (held, report) = Floor::survey(&store, &signer()).unwrap();
        assert_eq!(report.damaged, vec![format!("rec/{id}")]);
        assert_eq!(floor.shortfalls(&held), vec![Shortfall::Records { held: 0, kept: 1 }]);
    }

    #[test]
    fn the_start_up_survey_finds_every_damaged_record_across_pages() {
        let store = MemoryStore::new();
        let mut batch = Batch::new();
        let total = crate::store::VISIT_PAGE + 10;
        let mut damaged = Vec::new();
        for index in 0..total {
            let bytes = format!("record {index}").into_bytes();
            let id = RecordId::of(&bytes);
            let stored = if index % 500 == 7 { b"flipped".to_vec() } else { bytes };
            if index % 500 == 7 {
                damaged.push(format!("rec/{id}"));
            }
            batch.insert(keys::record(&id), stored);
        }
        // Keys that are no record's, on each side of where the survey splits its halves:
        // each is reported once.
        for tail in [[&[0x7f][..], &[0xff; 40]].concat(), vec![0x7f], vec![0x80], Vec::new()] {
            let key = [keys::RECORD_PREFIX, &tail].concat();
            damaged.push(format!("{:?}", String::from_utf8_lossy(&key)));
            batch.insert(key, b"not a record".to_vec());
        }
        store.apply(&batch).unwrap();
        let (floor, mut report) = Floor::survey(&store, &signer()).unwrap();
        report.damaged.sort();
        damaged.sort();
        assert_eq!(report.records, total as u64 + 4);
        assert_eq!(report.damaged, damaged);
        assert_eq!(floor.records, (total + 4 - damaged.len()) as u64);
        let mut kept = Floor::default();
        for (key, bytes) in store.scan(keys::RECORD_PREFIX, None, usize::MAX).unwrap() {
            if record_id(&key) == Some(RecordId::of(&bytes)) {
                kept.add_record(&RecordId::of(&bytes));
            }
        }
        assert_eq!(floor, kept, "both halves counted once, their digests combined");
    }

    #[test]
    fn an_encoded_floor_reads_back_and_damage_to_it_is_named() {
        let mut floor = Floor { records: 300, ..Floor::default() };
        floor.xor(&RecordId::of(b"one"));
        floor.registers.insert("KASSA-1".into(), Series { first: 1, last: 300 });
        floor.counters.insert(keys::CLAIM_NUMBER_COUNTER.into(), 7);
        let bytes = floor.encode();
        assert_eq!(Floor::decode(&bytes), Ok(floor.clone()));
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("kvitt-ledger-floor 1\n{\"records\":300,"), "{text}");

        let flipped = text.replace("300,", "301,");
        assert!(matches!(Floor::decode(flipped.as_bytes()), Err(FloorError::Checksum { .. })));
        assert_eq!(Floor::decode(&bytes[..bytes.len() / 2]), Err(FloorError::Truncated));
        assert_eq!(Floor::decode(b""), Err(FloorError::NotAFloor));
        assert_eq!(Floor::decode(b"\xff\xfe"), Err(FloorError::NotAFloor));
        assert_eq!(Floor::decode(text.replacen(" 1\n", " 2\n", 1).as_bytes()), Err(FloorError::Format(2)));
        let body = "{\"records\":1}";
        let wrong_shape = format!("kvitt-ledger-floor 1\n{body}\nsha256 {}\n", sha256_hex(body.as_bytes()));
        assert!(matches!(Floor::decode(wrong_shape.as_bytes()), Err(FloorError::Malformed(_))));
    }
}
