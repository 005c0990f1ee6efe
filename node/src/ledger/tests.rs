//! Tests of the ledger's reads: claim states and their encoding and paging, records
//! checked against their ids (damage reported, the cache never trusted past the store),
//! and the order of buyer keys.

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
