//! The node's fixtures: a fixed key per party ([`keys::party`]) and one valid record of each
//! type, signed by its party.

use ed25519_dalek::SigningKey;
use kvitt_protocol::claim::Claim;
use kvitt_protocol::directory::Directory;
use kvitt_protocol::event::ClaimEvent;
use kvitt_protocol::evidence::Evidence;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::{sample, AnyRecord, PublicKey, RecordId, Signed};

use crate::{bytes, keys};

pub use kvitt_protocol::sample::{AGENCY_ORG, MERCHANT_ORG, SSC_ORG};

/// The fixed key of `party` ([`keys::party`]).
pub fn key(party: &str) -> SigningKey {
    keys::party(party)
}

/// The public key of [`key`].
pub fn public(party: &str) -> PublicKey {
    keys::public(&key(party))
}

/// The sample hotel night with breakfast, 1624.00 SEK paid by card, with serial `serial`
/// on register `KASSA-1`.
pub fn receipt_body(serial: u64) -> Receipt {
    sample::receipt(MERCHANT_ORG, AGENCY_ORG, "KASSA-1", serial)
}

/// [`receipt_body`] with serial 1042, signed by the merchant.
pub fn receipt() -> Signed<Receipt> {
    Signed::sign(receipt_body(1042), &key("merchant")).unwrap()
}

/// The sample claim of `receipt`, for its total.
pub fn claim(receipt: &Signed<Receipt>) -> Signed<Claim> {
    Signed::sign(sample::claim(receipt.id(), receipt.body().total), &key("agency")).unwrap()
}

/// The agency's `submitted` event of `claim_id`.
pub fn submitted(claim_id: RecordId) -> Signed<ClaimEvent> {
    Signed::sign(sample::submitted(claim_id), &key("agency")).unwrap()
}

/// The sample directory of the three parties, signed by the SSC.
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

/// A receipt whose merchant name was changed after signing: its signature no longer holds.
pub fn tampered_receipt() -> Vec<u8> {
    bytes::replace_once(receipt().bytes(), b"Hotell Kvitt AB", b"Hotell Kvitt XB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tampered_receipt_differs_in_one_byte_and_no_longer_verifies() {
        let receipt = receipt();
        let tampered = tampered_receipt();
        assert_eq!(tampered.len(), receipt.bytes().len());
        let differing = tampered.iter().zip(receipt.bytes()).filter(|(a, b)| a != b).count();
        assert_eq!(differing, 1);
        assert!(Signed::<Receipt>::decode(&tampered).is_err());
    }
}
