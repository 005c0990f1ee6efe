//! The ledger: records by id, the indexes each flow needs, and a per-peer outbox, as keys
//! in one ordered [`Store`].
//!
//! A record is stored under its id, which is the SHA-256 of its bytes: that is the
//! record's checksum. Only records verified in full (signature, encoding, rules) are ever
//! written (`put_record` takes an [`AnyRecord`], which exists only verified), so every read
//! re-hashes what it got and decodes it with `AnyRecord::decode_trusted`: encoding, shape
//! and schema again, neither the signature nor the rules, since bytes that hash to the id
//! are the bytes that were verified. A damaged value is reported, never used.
//! A record, its index entries and its outbox entries are written in one atomic batch.
//!
//! Key layout (every key starts with a family tag; numbers are big-endian so that byte
//! order is numeric order):
//!
//! | family | key | value |
//! |---|---|---|
//! | record | `rec/` id | envelope bytes |
//! | slot | `slot/` slot key | id of the record holding the slot |
//! | receipts of a buyer | `buyer/` agency `\0` employee `\0` issued-at (i64) id | empty |
//! | register series | `serial/` register | last serial (u64) |
//! | receipt's claim | `held/` receipt id | claim id |
//! | returns of a receipt | `return/` original id, return id | empty |
//! | claims of a receipt | `claimed/` receipt id, claim id | empty |
//! | claim state | `claim/` claim id | status byte, head id |
//! | claim numbers | `claimno/` agency `\0` number | claim id |
//! | open drafts of a claimant | `drafter/` claimant `\0` number | empty ([`claimants`]) |
//! | claims of a claimant | `claimant/` agency `\0` claimant `\0` created-at (i64) id | empty ([`claimants`]) |
//! | outbox | `out/` peer key, sequence (u64) | record id |
//! | outbox index | `queued/` peer key, record id | sequence (u64) of the record's one entry for the peer |
//! | claims waiting for an SSC | `waiting/` claim id | empty |
//! | channels | `chan/` peer key, record time (u64), record id | empty |
//! | exceptions | `exception/` evidence or record id | why, UTF-8 |
//! | kept vouchers (SSC) | `voucher/` claim id, `b` (booking) or `r` (reversal) | the voucher, CBOR ([`vouchers`]) |
//! | SIE exports (SSC) | `sie/` claim id (booking) · `sie/` claim id `r` (reversal) | date of the last export holding it |
//! | node metadata | `meta/` name | value |

use std::sync::Arc;

use kvitt_protocol::event::{ClaimState, Status};
use kvitt_protocol::evidence::Slot;
use kvitt_protocol::routing::CardHash;
use kvitt_protocol::{AnyRecord, PublicKey, RecordId};

use crate::store::{Batch, Store, StoreError};

/// Most entries one scan of the ledger returns; callers page beyond it.
pub const MAX_SCAN_ENTRIES: usize = 10_000;

mod cache;
pub mod claimants;
pub mod floor;
pub mod keys;
mod outbox_index;
mod vouchers;

pub use cache::{RecordCache, RECORD_CACHE_ENTRIES};
pub use claimants::{index_claim, CLAIMANTS_INDEXED};
pub use floor::{Floor, FloorError, Series, Shortfall};
pub use outbox_index::{OutboxIndexReport, OUTBOX_INDEXED};
pub use vouchers::{encode_voucher, VoucherOf};

/// Why the ledger could not answer.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The store underneath failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored value failed its check on reading: the ledger is damaged at this key.
    #[error("ledger entry {key} is damaged: {why}")]
    Damaged {
        /// The key, printed readably.
        key: String,
        /// What was wrong.
        why: String,
    },
}

/// Typed access to a node's ledger.
#[derive(Clone)]
pub struct Ledger {
    store: Arc<dyn Store>,
    cache: Option<Arc<RecordCache>>,
}

impl Ledger {
    /// The ledger kept in `store`; every record read is decoded.
    pub fn new(store: Arc<dyn Store>) -> Ledger {
        Ledger { store, cache: None }
    }

    /// The ledger kept in `store`, reading records through `cache` (which a node keeps
    /// across its steps).
    pub fn with_cache(store: Arc<dyn Store>, cache: Arc<RecordCache>) -> Ledger {
        Ledger { store, cache: Some(cache) }
    }

    /// The store underneath, for the group committer.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The record with `id`, checked: its bytes hash to `id` and decode as a record of its
    /// schema. Neither the signature nor the rules are checked again: they were when the
    /// record was accepted, and the hash shows these are the same bytes. Bytes equal to those of a record in the cache
    /// are that record, without hashing or decoding them again.
    pub fn record(&self, id: &RecordId) -> Result<Option<AnyRecord>, LedgerError> {
        let Some(bytes) = self.store.get(&keys::record(id))? else {
            return Ok(None);
        };
        if let Some(record) = self.cache.as_ref().and_then(|cache| cache.get(id, &bytes)) {
            return Ok(Some(record));
        }
        let damaged = |why: String| LedgerError::Damaged { key: format!("rec/{id}"), why };
        if RecordId::of(&bytes) != *id {
            return Err(damaged("its bytes do not hash to its id".into()));
        }
        let record = AnyRecord::decode_trusted(&bytes).map_err(|error| damaged(error.to_string()))?;
        if let Some(cache) = &self.cache {
            cache.insert(&record);
        }
        Ok(Some(record))
    }

    /// Whether a record with `id` is stored.
    pub fn contains(&self, id: &RecordId) -> Result<bool, LedgerError> {
        Ok(self.store.get(&keys::record(id))?.is_some())
    }

    /// The id of the record holding `slot`, if any.
    pub fn slot_holder(&self, slot: &Slot) -> Result<Option<RecordId>, LedgerError> {
        self.read_id(&keys::slot(slot))
    }

    /// The last serial stored for one of this node's registers.
    pub fn last_serial(&self, register: &str) -> Result<Option<u64>, LedgerError> {
        let key = keys::serial(register);
        match self.store.get(&key)? {
            None => Ok(None),
            Some(bytes) => {
                <[u8; 8]>::try_from(bytes.as_slice()).map(|bytes| Some(u64::from_be_bytes(bytes))).map_err(
                    |_| LedgerError::Damaged { key: format!("serial/{register}"), why: "not 8 bytes".into() },
                )
            }
        }
    }

    /// The claim holding a receipt, if any.
    pub fn claim_holding(&self, receipt: &RecordId) -> Result<Option<RecordId>, LedgerError> {
        self.read_id(&keys::held(receipt))
    }

    /// The receipts the ledger holds that name `receipt` as their `original` (returns
    /// and corrections), at most [`MAX_SCAN_ENTRIES`].
    pub fn returns_of(&self, receipt: &RecordId) -> Result<Vec<RecordId>, LedgerError> {
        self.ids_after_prefix(&keys::returns_prefix(receipt))
    }

    /// The claims the ledger holds that name `receipt` in an item, live or not, at most
    /// [`MAX_SCAN_ENTRIES`].
    pub fn claims_of_receipt(&self, receipt: &RecordId) -> Result<Vec<RecordId>, LedgerError> {
        self.ids_after_prefix(&keys::claims_of_receipt_prefix(receipt))
    }

    /// The ids that end the keys under `prefix` (a prefix and one id), in id order.
    fn ids_after_prefix(&self, prefix: &[u8]) -> Result<Vec<RecordId>, LedgerError> {
        self.store
            .scan(prefix, None, MAX_SCAN_ENTRIES)?
            .into_iter()
            .map(|(key, _)| {
                key.get(prefix.len()..)
                    .and_then(|tail| <[u8; 32]>::try_from(tail).ok())
                    .map(RecordId)
                    .ok_or_else(|| LedgerError::Damaged {
                        key: hex::encode(&key),
                        why: "not a prefix and an id".into(),
                    })
            })
            .collect()
    }

    /// The state of a claim the ledger holds.
    pub fn claim_state(&self, claim: &RecordId) -> Result<Option<ClaimState>, LedgerError> {
        let Some(bytes) = self.store.get(&keys::claim(claim))? else {
            return Ok(None);
        };
        decode_claim_state(*claim, &bytes).map(Some).ok_or_else(|| LedgerError::Damaged {
            key: format!("claim/{claim}"),
            why: "malformed state".into(),
        })
    }

    /// The claim an agency numbered `number`.
    pub fn claim_by_number(&self, agency: &str, number: &str) -> Result<Option<RecordId>, LedgerError> {
        self.read_id(&keys::claim_number(agency, number))
    }

    /// Ids of an agency's receipts (optionally one employee's), oldest sale first.
    pub fn receipts_of_buyer(
        &self,
        agency: &str,
        employee: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RecordId>, LedgerError> {
        let entries = self.buyer_entries_after(agency, employee, None, limit)?;
        Ok(entries.into_iter().map(|(_, id)| id).collect())
    }

    /// A page of an agency's receipts (optionally one employee's), oldest sale first: each
    /// with its key in the buyer index, the position to continue after.
    pub fn buyer_entries_after(
        &self,
        agency: &str,
        employee: Option<&str>,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, RecordId)>, LedgerError> {
        let entries =
            self.store.scan(&keys::buyer_prefix(agency, employee), after, limit.min(MAX_SCAN_ENTRIES))?;
        entries.into_iter().map(|(key, _)| buyer_entry(key)).collect()
    }

    /// A page of an agency's receipts (optionally one employee's), newest sale first:
    /// each with its key in the buyer index, the position to continue before.
    pub fn buyer_entries_before(
        &self,
        agency: &str,
        employee: Option<&str>,
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, RecordId)>, LedgerError> {
        let entries = self.store.scan_back(
            &keys::buyer_prefix(agency, employee),
            before,
            limit.min(MAX_SCAN_ENTRIES),
        )?;
        entries.into_iter().map(|(key, _)| buyer_entry(key)).collect()
    }

    /// Up to `limit` entries of a peer's outbox: (sequence, record id), oldest first.
    pub fn outbox(&self, peer: &PublicKey, limit: usize) -> Result<Vec<(u64, RecordId)>, LedgerError> {
        self.outbox_after(peer, None, limit)
    }

    /// Up to `limit` entries of a peer's outbox after sequence `after` (from the oldest if
    /// none): a page, for walking a whole outbox.
    pub fn outbox_after(
        &self,
        peer: &PublicKey,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, RecordId)>, LedgerError> {
        let prefix = keys::outbox_prefix(peer);
        let after = after.map(|sequence| keys::outbox(peer, sequence));
        let entries = self.store.scan(&prefix, after.as_deref(), limit.min(MAX_SCAN_ENTRIES))?;
        entries
            .into_iter()
            .map(|(key, value)| {
                let sequence = key.get(prefix.len()..).and_then(|tail| <[u8; 8]>::try_from(tail).ok());
                let id = <[u8; 32]>::try_from(value.as_slice()).ok();
                match (sequence, id) {
                    (Some(sequence), Some(id)) => Ok((u64::from_be_bytes(sequence), RecordId(id))),
                    _ => Err(LedgerError::Damaged {
                        key: hex::encode(&key),
                        why: "malformed outbox entry".into(),
                    }),
                }
            })
            .collect()
    }

    /// The peers with at least one outbox entry.
    pub fn outbox_peers(&self) -> Result<Vec<PublicKey>, LedgerError> {
        let mut peers = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let entries = self.store.scan(b"out/", after.as_deref(), 1)?;
            let Some((key, _)) = entries.into_iter().next() else {
                return Ok(peers);
            };
            let Some(peer) = key.get(4..36).and_then(|bytes| <[u8; 32]>::try_from(bytes).ok()).map(PublicKey)
            else {
                return Err(LedgerError::Damaged { key: hex::encode(&key), why: "short outbox key".into() });
            };
            peers.push(peer);
            // Skip the rest of this peer's entries: the largest key with its prefix.
            after = Some([keys::outbox_prefix(&peer).as_slice(), &[0xff; 8]].concat());
        }
    }

    /// A metadata value.
    pub fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.store.get(&keys::meta(name))?)
    }

    /// A claim's events, in chain order.
    pub fn chain(&self, claim: &RecordId) -> Result<Vec<RecordId>, LedgerError> {
        let entries = self.store.scan(&keys::chain_prefix(claim), None, MAX_SCAN_ENTRIES)?;
        entries
            .into_iter()
            .map(|(key, value)| {
                <[u8; 32]>::try_from(value.as_slice()).map(RecordId).map_err(|_| LedgerError::Damaged {
                    key: hex::encode(key),
                    why: "not an event id".into(),
                })
            })
            .collect()
    }

    /// Every claim state the ledger holds, in claim id order, at most `limit`.
    pub fn claim_states(&self, limit: usize) -> Result<Vec<ClaimState>, LedgerError> {
        self.claim_states_after(None, limit)
    }

    /// The claim states after claim `after` (from the first if none), in claim id order,
    /// at most `limit`: a page, for walking every claim.
    pub fn claim_states_after(
        &self,
        after: Option<&RecordId>,
        limit: usize,
    ) -> Result<Vec<ClaimState>, LedgerError> {
        let prefix = b"claim/";
        let after_key = after.map(keys::claim);
        let entries = self.store.scan(prefix, after_key.as_deref(), limit.min(MAX_SCAN_ENTRIES))?;
        entries
            .into_iter()
            .map(|(key, value)| {
                let claim =
                    key.get(prefix.len()..).and_then(|tail| <[u8; 32]>::try_from(tail).ok()).map(RecordId);
                claim.and_then(|claim| decode_claim_state(claim, &value)).ok_or_else(|| {
                    LedgerError::Damaged { key: hex::encode(&key), why: "malformed claim state".into() }
                })
            })
            .collect()
    }

    /// The value noted with an exception (why it is one), if `id` is one.
    pub fn exception(&self, id: &RecordId) -> Result<Option<String>, LedgerError> {
        Ok(self.store.get(&keys::exception(id))?.map(|why| String::from_utf8_lossy(&why).into_owned()))
    }

    /// Reads a big-endian counter from the metadata; absent counts as zero.
    pub fn counter(&self, name: &str) -> Result<u64, LedgerError> {
        match self.meta(name)? {
            None => Ok(0),
            Some(bytes) => <[u8; 8]>::try_from(bytes.as_slice()).map(u64::from_be_bytes).map_err(|_| {
                LedgerError::Damaged { key: format!("meta/{name}"), why: "not an 8-byte counter".into() }
            }),
        }
    }

    /// The value after counter `name` (1 if it is absent); an error naming the counter if
    /// it is at `u64::MAX` already, which only a damaged ledger can hold: no count of
    /// anything a node does reaches it.
    pub fn next_counter(&self, name: &str) -> Result<u64, LedgerError> {
        let current = self.counter(name)?;
        current.checked_add(1).ok_or_else(|| LedgerError::Damaged {
            key: format!("meta/{name}"),
            why: format!("the counter is at its largest value ({current}); no number follows"),
        })
    }

    /// Ids noted as exceptions (evidence, duplicate claims), in id order.
    pub fn exceptions(&self, limit: usize) -> Result<Vec<RecordId>, LedgerError> {
        self.exceptions_after(None, limit)
    }

    /// Ids noted as exceptions after `after` (from the first if none), in id order: a page.
    pub fn exceptions_after(
        &self,
        after: Option<&RecordId>,
        limit: usize,
    ) -> Result<Vec<RecordId>, LedgerError> {
        let prefix = b"exception/";
        let after_key = after.map(keys::exception);
        let entries = self.store.scan(prefix, after_key.as_deref(), limit.min(MAX_SCAN_ENTRIES))?;
        Ok(entries
            .into_iter()
            .filter_map(|(key, _)| key.get(prefix.len()..).and_then(|tail| <[u8; 32]>::try_from(tail).ok()))
            .map(RecordId)
            .collect())
    }

    /// Every record id stored, in id order, after `after`, at most `limit`.
    pub fn record_ids(&self, after: Option<&RecordId>, limit: usize) -> Result<Vec<RecordId>, LedgerError> {
        let after_key = after.map(keys::record);
        let entries = self.store.scan(b"rec/", after_key.as_deref(), limit.min(MAX_SCAN_ENTRIES))?;
        Ok(entries
            .into_iter()
            .filter_map(|(key, _)| key.get(4..).and_then(|tail| <[u8; 32]>::try_from(tail).ok()))
            .map(RecordId)
            .collect())
    }

    /// Approved claims waiting for an SSC to serve their agency (at most `limit`).
    pub fn waiting_claims(&self, limit: usize) -> Result<Vec<RecordId>, LedgerError> {
        let entries = self.store.scan(b"waiting/", None, limit.min(MAX_SCAN_ENTRIES))?;
        Ok(entries
            .into_iter()
            .filter_map(|(key, _)| key.get(8..).and_then(|tail| <[u8; 32]>::try_from(tail).ok()))
            .map(RecordId)
            .collect())
    }

    fn read_id(&self, key: &[u8]) -> Result<Option<RecordId>, LedgerError> {
        match self.store.get(key)? {
            None => Ok(None),
            Some(bytes) => {
                <[u8; 32]>::try_from(bytes.as_slice()).map(|id| Some(RecordId(id))).map_err(|_| {
                    LedgerError::Damaged {
                        key: String::from_utf8_lossy(key).into_owned(),
                        why: "not a record id".into(),
                    }
                })
            }
        }
    }
}

/// What the start-up survey of the records found ([`Floor::survey`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChecksumReport {
    /// Records checked.
    pub records: u64,
    /// Their bytes in total.
    pub bytes: u64,
    /// Keys of records whose bytes do not hash to their id (or whose key is malformed).
    pub damaged: Vec<String>,
}

/// Encodes a claim state as stored: one status byte, then the head id if any.
pub fn encode_claim_state(state: &ClaimState) -> Vec<u8> {
    let mut bytes = vec![status_byte(state.status)];
    if let Some(head) = state.head {
        bytes.extend_from_slice(head.as_bytes());
    }
    bytes
}

fn decode_claim_state(claim: RecordId, bytes: &[u8]) -> Option<ClaimState> {
    let (&status, head) = bytes.split_first()?;
    let status = STATUSES.iter().find(|candidate| status_byte(**candidate) == status).copied()?;
    let head = match head.len() {
        0 => None,
        32 => Some(RecordId(<[u8; 32]>::try_from(head).ok()?)),
        _ => return None,
    };
    Some(ClaimState { claim, status, head })
}

const STATUSES: [Status; 8] = [
    Status::Draft,
    Status::Submitted,
    Status::Approved,
    Status::Rejected,
    Status::Withdrawn,
    Status::Booked,
    Status::Paid,
    Status::Reversed,
];

fn status_byte(status: Status) -> u8 {
    match status {
        Status::Draft => 0,
        Status::Submitted => 1,
        Status::Approved => 2,
        Status::Rejected => 3,
        Status::Withdrawn => 4,
        Status::Booked => 5,
        Status::Paid => 6,
        Status::Reversed => 7,
    }
}

/// Adds a record's bytes to `batch`, asserting (cheaply: the id is the hash) that the
/// bytes written are the record's.
pub fn put_record(batch: &mut Batch, record: &AnyRecord) {
    debug_assert_eq!(RecordId::of(record.bytes()), record.id());
    batch.insert(keys::record(&record.id()), record.bytes().to_vec());
}

/// A key of the buyer index and the receipt id at its end.
fn buyer_entry(key: Vec<u8>) -> Result<(Vec<u8>, RecordId), LedgerError> {
    let id = key.get(key.len().saturating_sub(32)..).and_then(|tail| <[u8; 32]>::try_from(tail).ok());
    match id {
        Some(id) => Ok((key, RecordId(id))),
        None => Err(LedgerError::Damaged { key: hex::encode(&key), why: "short buyer key".into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn claim_state_round_trips_through_its_encoding() {
        let claim = RecordId::of(b"claim");
        for status in STATUSES {
            for head in [None, Some(RecordId::of(b"head"))] {
                let state = ClaimState { claim, status, head };
                assert_eq!(decode_claim_state(claim, &encode_claim_state(&state)), Some(state));
            }
        }
        assert_eq!(decode_claim_state(claim, &[9]), None);
        assert_eq!(decode_claim_state(claim, &[1, 2, 3]), None);
    }

    #[test]
    fn claim_states_are_walked_page_by_page_in_id_order() {
        let store = Arc::new(MemoryStore::new());
        let mut batch = Batch::new();
        let mut claims: Vec<RecordId> = (0..5u8).map(|n| RecordId::of(&[n])).collect();
        for claim in &claims {
            let state = ClaimState { claim: *claim, status: Status::Booked, head: None };
            batch.insert(keys::claim(claim), encode_claim_state(&state));
        }
        store.apply(&batch).unwrap();
        claims.sort();
        let ledger = Ledger::new(store);
        let ids = |states: Vec<ClaimState>| states.into_iter().map(|state| state.claim).collect::<Vec<_>>();
        let first = ids(ledger.claim_states_after(None, 2).unwrap());
        assert_eq!(first, claims[..2]);
        let second = ids(ledger.claim_states_after(first.last(), 2).unwrap());
        assert_eq!(second, claims[2..4]);
        let last = ids(ledger.claim_states_after(second.last(), 2).unwrap());
        assert_eq!(last, claims[4..]);
    }

    #[test]
    fn a_value_that_does_not_hash_to_its_key_is_reported_damaged() {
        let store = Arc::new(MemoryStore::new());
        let id = RecordId::of(b"the real bytes");
        let mut batch = Batch::new();
        batch.insert(keys::record(&id), b"other bytes".to_vec());
        store.apply(&batch).unwrap();
        let ledger = Ledger::new(store);
        assert!(matches!(ledger.record(&id), Err(LedgerError::Damaged { .. })));
        assert!(ledger.record(&RecordId::of(b"absent")).unwrap().is_none());
    }

    #[test]
    fn a_stored_record_is_read_without_its_signature_verified_but_never_under_another_id() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let receipt = kvitt_protocol::Signed::sign(
            kvitt_protocol::sample::receipt("556016-0680", "202100-5489", "KASSA-1", 1),
            &key,
        )
        .unwrap();
        // The same bytes with the first byte of the signature flipped: they fail a full
        // decode, so only a read that skips the signature returns them.
        let mut forged = receipt.bytes().to_vec();
        let header = b"\x63sig\x58\x40";
        let at = forged.windows(header.len()).position(|window| window == header).unwrap() + header.len();
        forged[at] ^= 1;
        assert!(AnyRecord::decode(&forged).is_err());
        let forged_id = RecordId::of(&forged);
        let store = Arc::new(MemoryStore::new());
        let mut batch = Batch::new();
        batch.insert(keys::record(&forged_id), forged.clone());
        batch.insert(keys::record(&receipt.id()), forged);
        store.apply(&batch).unwrap();
        let ledger = Ledger::new(store);
        assert_eq!(ledger.record(&forged_id).unwrap().map(|record| record.id()), Some(forged_id));
        assert!(matches!(ledger.record(&receipt.id()), Err(LedgerError::Damaged { .. })));
    }

    #[test]
    fn a_cached_record_is_served_only_while_the_store_holds_its_bytes() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let receipt = |serial| {
            let body = kvitt_protocol::sample::receipt("556016-0680", "202100-5489", "KASSA-1", serial);
            AnyRecord::Receipt(kvitt_protocol::Signed::sign(body, &key).unwrap())
        };
        let receipts: Vec<AnyRecord> = (1..=RECORD_CACHE_ENTRIES as u64 + 1).map(receipt).collect();
        let store = Arc::new(MemoryStore::new());
        let ledger = Ledger::with_cache(store.clone(), Arc::new(RecordCache::new()));
        let mut batch = Batch::new();
        for receipt in &receipts {
            put_record(&mut batch, receipt);
        }
        store.apply(&batch).unwrap();
        store.sync().unwrap();
        for receipt in &receipts {
            assert_eq!(ledger.record(&receipt.id()).unwrap().as_ref(), Some(receipt));
            assert_eq!(ledger.record(&receipt.id()).unwrap().as_ref(), Some(receipt));
        }
        // Cached, then lost by the store (applied, never synced, crashed): not served.
        let lost = receipt(0);
        let mut batch = Batch::new();
        put_record(&mut batch, &lost);
        store.apply(&batch).unwrap();
        assert_eq!(ledger.record(&lost.id()).unwrap().as_ref(), Some(&lost));
        store.crash();
        assert_eq!(ledger.record(&lost.id()).unwrap(), None);
        // Cached, then damaged in the store: reported, not served.
        let last = receipts.last().unwrap();
        let mut damage = Batch::new();
        damage.insert(keys::record(&last.id()), receipts[1].bytes().to_vec());
        store.apply(&damage).unwrap();
        assert!(matches!(ledger.record(&last.id()), Err(LedgerError::Damaged { .. })));
        // The first receipts were evicted since; they are decoded again.
        assert_eq!(ledger.record(&receipts[0].id()).unwrap().as_ref(), receipts.first());
    }

    #[test]
    fn buyer_keys_sort_by_time_of_sale() {
        let id = RecordId::of(b"x");
        let early = keys::buyer("202100-5489", Some("emp"), -5, &id);
        let later = keys::buyer("202100-5489", Some("emp"), 1_700_000_000, &id);
        assert!(early < later);
        assert!(later.starts_with(&keys::buyer_prefix("202100-5489", Some("emp"))));
        assert!(later.starts_with(&keys::buyer_prefix("202100-5489", None)));
    }
}
