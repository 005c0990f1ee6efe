//! Fixtures for the node's tests: fixed keys and one valid record of each type.
#![allow(dead_code, clippy::unwrap_used)]

use ed25519_dalek::SigningKey;
use kvitt_protocol::claim::{Booking, Claim, ClaimItem};
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::event::{Action, Actor, ClaimEvent, Role};
use kvitt_protocol::evidence::Evidence;
use kvitt_protocol::receipt::{Address, Buyer, Line, LineKind, Merchant, Payment, Receipt};
use kvitt_protocol::{AnyRecord, PublicKey, RecordId, Signed};

pub const MERCHANT_ORG: &str = "556016-0680";
pub const AGENCY_ORG: &str = "202100-5489";
pub const SSC_ORG: &str = "202100-6255";

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

fn line(description: &str, category: &str, unit_price: i64, vat_rate: u32) -> Line {
    Line {
        kind: LineKind::Sale,
        description: description.into(),
        article: None,
        gtin: None,
        category: Some(category.into()),
        quantity: Some(1000),
        unit: Some("st".into()),
        unit_price: Some(unit_price),
        discounts: vec![],
        amount: None,
        vat_rate: Some(vat_rate),
    }
}

/// A hotel night with breakfast, 1624.00 SEK paid by card, with serial `serial`.
pub fn receipt_body(serial: u64) -> Receipt {
    let receipt = Receipt {
        merchant: Merchant {
            name: "Hotell Kvitt AB".into(),
            org: MERCHANT_ORG.into(),
            vat_number: Some("SE556016068001".into()),
            address: Address {
                street: "Drottninggatan 1".into(),
                postal_code: "111 51".into(),
                city: "Stockholm".into(),
                country: "SE".into(),
            },
        },
        register: "KASSA-1".into(),
        serial,
        control_unit: "CU-0001-2345".into(),
        issued_at: "2026-05-04T08:15:00+02:00".into(),
        currency: "SEK".into(),
        lines: vec![line("Enkelrum, 1 natt", "hotel", 149_500, 1200), line("Frukost", "food", 12_900, 600)],
        vat: vec![],
        rounding: 0,
        total: 0,
        payments: vec![],
        buyer: Buyer { agency: AGENCY_ORG.into(), employee: Some("emp-17".into()) },
        original: None,
    }
    .with_computed_totals();
    let total = receipt.total;
    Receipt {
        payments: vec![Payment::Card {
            amount: total,
            masked_pan: "************1234".into(),
            brand: "Visa".into(),
            rrn: "612345678901".into(),
            terminal: "T-88001".into(),
            approval_code: "A1B2C3".into(),
        }],
        ..receipt
    }
}

pub fn receipt() -> Signed<Receipt> {
    Signed::sign(receipt_body(1042), &key("merchant")).unwrap()
}

pub fn claim(receipt: &Signed<Receipt>) -> Signed<Claim> {
    let body = Claim {
        number: "2026-000042".into(),
        agency: AGENCY_ORG.into(),
        claimant: "emp-17".into(),
        purpose: "Konferens i Stockholm".into(),
        created_at: "2026-05-06T10:00:00+02:00".into(),
        items: vec![ClaimItem::Receipt {
            receipt: receipt.id(),
            business_purpose: "Logi under konferens".into(),
            amount: receipt.body().total,
            booking: Booking { account: 5831, cost_center: "CC-100".into(), project: None },
            foreign: None,
            participants: vec![],
        }],
    };
    Signed::sign(body, &key("agency")).unwrap()
}

pub fn submitted(claim_id: RecordId) -> Signed<ClaimEvent> {
    let body = ClaimEvent {
        claim: claim_id,
        previous: None,
        at: "2026-05-06T10:05:00+02:00".into(),
        actor: Actor { person: "emp-17".into(), role: Role::Employee },
        action: Action::Submitted,
    };
    Signed::sign(body, &key("agency")).unwrap()
}

fn member(role: MemberRole, org: &str, name: &str, party: &str, address: &str) -> Member {
    Member {
        role,
        org: org.into(),
        name: name.into(),
        key: public(party),
        addresses: vec![address.into()],
        serves: vec![],
    }
}

pub fn directory() -> Signed<Directory> {
    let body = Directory {
        network: "kvitt-test".into(),
        version: 1,
        issued_at: "2026-01-01T00:00:00+01:00".into(),
        members: vec![
            member(MemberRole::Merchant, MERCHANT_ORG, "Hotell Kvitt AB", "merchant", "127.0.0.1:7401"),
            member(MemberRole::Agency, AGENCY_ORG, "Skatteverket", "agency", "127.0.0.1:7402"),
            Member {
                serves: vec![AGENCY_ORG.into()],
                ..member(MemberRole::Ssc, SSC_ORG, "Statens servicecenter", "ssc", "127.0.0.1:7400")
            },
        ],
    };
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
