//! Fixtures for the node's tests: fixed keys and one valid record of each type, signed,
//! built from `kvitt_protocol::sample`.
#![allow(dead_code, clippy::unwrap_used)]

use ed25519_dalek::SigningKey;
use kvitt_protocol::claim::Claim;
use kvitt_protocol::directory::Directory;
use kvitt_protocol::event::ClaimEvent;
use kvitt_protocol::evidence::Evidence;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::{sample, AnyRecord, PublicKey, RecordId, Signed};

pub use kvitt_protocol::sample::{AGENCY_ORG, MERCHANT_ORG, SSC_ORG};

/// A fixed signing key per party, so ids and signatures are the same on every run.
pub fn key(party: &str) -> SigningKey {
    let seed = match party {
        "merchant" => 1,
        "agency" => 2,
        "ssc" => 3,
        _ => 4,
    };
    SigningKey::from_bytes(&[seed; 32])
}

pub fn public(party: &str) -> PublicKey {
    PublicKey::from(key(party).verifying_key())
}

/// The sample hotel night with breakfast, 1624.00 SEK paid by card, with serial `serial`
/// on register `KASSA-1`.
pub fn receipt_body(serial: u64) -> Receipt {
    sample::receipt(MERCHANT_ORG, AGENCY_ORG, "KASSA-1", serial)
}

pub fn receipt() -> Signed<Receipt> {
    Signed::sign(receipt_body(1042), &key("merchant")).unwrap()
}

/// The sample claim of `receipt`, for its total.
pub fn claim(receipt: &Signed<Receipt>) -> Signed<Claim> {
    Signed::sign(sample::claim(receipt.id(), receipt.body().total), &key("agency")).unwrap()
}

pub fn submitted(claim_id: RecordId) -> Signed<ClaimEvent> {
    Signed::sign(sample::submitted(claim_id), &key("agency")).unwrap()
}

pub fn directory() -> Signed<Directory> {
    let body = sample::directory(public("merchant"), public("agency"), public("ssc"));
    Signed::sign(body, &key("ssc")).unwrap()
}

/// The merchant signed two different receipts with serial 1042; the SSC reports it.
pub fn evidence() -> Signed<Evidence> {
    let first = AnyRecord::Receipt(receipt());
    let mut other = receipt_body(1042);
    other.issued_at = "2026-05-04T08:16:00+02:00".into();
    let second = AnyRecord::Receipt(Signed::sign(other, &key("merchant")).unwrap());
    let body = Evidence::new(&first, &second, "2026-05-05T12:00:00+02:00".into()).unwrap();
    Signed::sign(body, &key("ssc")).unwrap()
}

/// `bytes` with the first occurrence of `from` replaced by `to` (same length).
pub fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes.windows(from.len()).position(|window| window == from).unwrap();
    let mut changed = bytes.to_vec();
    changed[at..at + to.len()].copy_from_slice(to);
    changed
}

/// A receipt whose merchant name was changed after signing: its signature no longer holds.
pub fn tampered_receipt() -> Vec<u8> {
    replace(receipt().bytes(), b"Hotell Kvitt AB", b"Hotell Kvitt XB")
}
pub mod api_nodes;
pub mod network;
pub mod process;
pub mod web;
