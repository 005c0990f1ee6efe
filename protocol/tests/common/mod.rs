//! Fixtures shared by the protocol's integration tests: fixed keys and one valid record
//! of each type, realistic enough to read.
#![allow(dead_code, clippy::unwrap_used)]

use ed25519_dalek::SigningKey;
use kvitt_protocol::claim::{Booking, Claim, ClaimItem};
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::event::{Action, Actor, ClaimEvent, Role};
use kvitt_protocol::receipt::{Address, Buyer, Line, LineKind, Merchant, Payment, Receipt};
use kvitt_protocol::{PublicKey, RecordId};
use sha2::{Digest, Sha256};

/// A signing key derived from a name: SHA-256("kvitt test key " + name) as the seed.
pub fn key(name: &str) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(format!("kvitt test key {name}")).into())
}

/// The public key of [`key`].
pub fn public(name: &str) -> PublicKey {
    PublicKey::from(key(name).verifying_key())
}

pub const MERCHANT_ORG: &str = "556016-0680";
pub const AGENCY_ORG: &str = "202100-5489";
pub const SSC_ORG: &str = "202100-6255";

/// A priced line; the amount is filled in by `with_computed_totals`.
pub fn line(description: &str, category: &str, quantity_milli: i64, unit_price: i64, vat_rate: u32) -> Line {
    Line {
        kind: LineKind::Sale,
        description: description.into(),
        article: None,
        gtin: None,
        category: Some(category.into()),
        quantity: Some(quantity_milli),
        unit: Some("st".into()),
        unit_price: Some(unit_price),
        discounts: vec![],
        amount: None,
        vat_rate: Some(vat_rate),
    }
}

/// A hotel night and a take-away sandwich at a Stockholm hotel, paid by card: 12 % and
/// 6 % lines (take-away food is 6 % from 2026-04-01; a served breakfast would be 12 %).
pub fn receipt() -> Receipt {
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
        serial: 1042,
        control_unit: "CU-0001-2345".into(),
        issued_at: "2026-05-04T08:15:00+02:00".into(),
        currency: "SEK".into(),
        lines: vec![
            line("Enkelrum, 1 natt", "hotel", 1000, 149_500, 1200),
            line("Smörgås att ta med", "take_away", 1000, 6_900, 600),
        ],
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

/// A claim attaching `receipt_id` for `amount` öre.
pub fn claim(receipt_id: RecordId, amount: i64) -> Claim {
    Claim {
        number: "2026-000042".into(),
        agency: AGENCY_ORG.into(),
        claimant: "emp-17".into(),
        purpose: "Konferens i Stockholm".into(),
        created_at: "2026-05-06T10:00:00+02:00".into(),
        items: vec![ClaimItem::Receipt {
            receipt: receipt_id,
            business_purpose: "Logi under konferens".into(),
            amount,
            booking: Booking { account: 5831, cost_center: "CC-100".into(), project: None },
            foreign: None,
            participants: vec![],
        }],
    }
}

/// The first event of a claim: its claimant submits it.
pub fn submitted(claim_id: RecordId) -> ClaimEvent {
    ClaimEvent {
        claim: claim_id,
        previous: None,
        at: "2026-05-06T10:05:00+02:00".into(),
        actor: Actor { person: "emp-17".into(), role: Role::Employee },
        action: Action::Submitted,
    }
}

/// A directory with one merchant, one agency and the SSC serving it.
pub fn directory() -> Directory {
    Directory {
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
    }
}

pub fn member(role: MemberRole, org: &str, name: &str, key_name: &str, address: &str) -> Member {
    Member {
        role,
        org: org.into(),
        name: name.into(),
        key: public(key_name),
        addresses: vec![address.into()],
        serves: vec![],
    }
}
