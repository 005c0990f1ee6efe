//! Sample records for tests, benchmarks and examples: a night at a Stockholm hotel paid by
//! card, the claim that attaches it, its first event and a directory of the three parties.
//!
//! Behind the cargo feature `sample`, off by default: a node has no use for it. The crates
//! of this workspace enable it from their `[dev-dependencies]`, and kvitt-node for the
//! receipt `kvitt conformance` delivers. Every value is fixed, so a
//! builder gives the same body on every run, and signed with the same key, the same bytes
//! and id. Each record is valid as built; change a field and recompute what depends on it
//! (for a receipt, [`paid_by_card`] recomputes the totals and the payment).
//!
//! ```
//! use kvitt_protocol::{sample, Record};
//!
//! let receipt = sample::receipt(sample::MERCHANT_ORG, sample::AGENCY_ORG, "KASSA-1", 1042);
//! assert_eq!(receipt.total, 162_400);
//! assert!(receipt.validate().is_ok());
//!
//! // Another basket, totals and card payment recomputed.
//! let mut basket = receipt.clone();
//! basket.lines.push(sample::line("Laddkabel", "general", 1000, 24_900, 2500));
//! let basket = sample::paid_by_card(basket, "T-88001", "612345678901");
//! assert_eq!(basket.total, 187_300);
//! assert!(basket.validate().is_ok());
//! ```
#![cfg(feature = "sample")]

use crate::claim::{Booking, Claim, ClaimItem};
use crate::directory::{Directory, Member, MemberRole};
use crate::event::{Action, Actor, ClaimEvent, Role};
use crate::id::{PublicKey, RecordId};
use crate::receipt::{Address, Buyer, Line, LineKind, Merchant, Payment, Receipt};

/// The hotel's organisation number (Hotell Kvitt AB).
pub const MERCHANT_ORG: &str = "556016-0680";
/// The buying agency's organisation number.
pub const AGENCY_ORG: &str = "202100-5489";
/// The shared service center's organisation number; it serves [`AGENCY_ORG`].
pub const SSC_ORG: &str = "202100-6255";
/// The agency's reference for the employee who buys and claims.
pub const EMPLOYEE: &str = "emp-17";

/// Hotell Kvitt AB on Drottninggatan in Stockholm, under the Swedish organisation number
/// `org`, with the VAT number that follows from it (`SE` + its ten digits + `01`).
pub fn merchant(org: &str) -> Merchant {
    Merchant {
        name: "Hotell Kvitt AB".into(),
        org: org.into(),
        vat_number: Some(format!("SE{}01", org.replace('-', ""))),
        address: Address {
            street: "Drottninggatan 1".into(),
            postal_code: "111 51".into(),
            city: "Stockholm".into(),
            country: "SE".into(),
        },
    }
}

/// A sale of `quantity_milli` thousandths of a piece (`st`) at `unit_price` minor units
/// each, VAT included, in the goods category `category` at `vat_rate` basis points. Its
/// amount is left for [`Receipt::with_computed_totals`] (or [`paid_by_card`]).
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

/// `receipt` with its line amounts, VAT and total computed from its lines, paid in full by
/// one Visa card payment (`************1234`, approval code `A1B2C3`) on `terminal` with
/// the retrieval reference number `rrn` (up to 12 characters). Whatever payments it had
/// are replaced.
pub fn paid_by_card(receipt: Receipt, terminal: &str, rrn: &str) -> Receipt {
    let receipt = receipt.with_computed_totals();
    let card = Payment::Card {
        amount: receipt.total,
        masked_pan: "************1234".into(),
        brand: "Visa".into(),
        rrn: rrn.into(),
        terminal: terminal.into(),
        approval_code: "A1B2C3".into(),
    };
    Receipt { payments: vec![card], ..receipt }
}

/// A single room for one night (1495.00 SEK at 12 %) and a breakfast (129.00 SEK at 6 %)
/// at [`merchant`]`(merchant_org)`, 1624.00 SEK in all, issued on 2026-05-04 at 08:15
/// Stockholm time as `serial` of register `register`, bought by [`EMPLOYEE`] of the agency
/// `buyer_agency`. It is paid by card on terminal `T-<register>` with the retrieval
/// reference number `6123456` and the serial's last five digits, so that each of serials
/// 0 to 99,999 of a register records a card payment of its own.
pub fn receipt(merchant_org: &str, buyer_agency: &str, register: &str, serial: u64) -> Receipt {
    let receipt = Receipt {
        merchant: merchant(merchant_org),
        register: register.into(),
        serial,
        control_unit: "CU-0001-2345".into(),
        issued_at: "2026-05-04T08:15:00+02:00".into(),
        currency: "SEK".into(),
        lines: vec![
            line("Enkelrum, 1 natt", "hotel", 1000, 149_500, 1200),
            line("Frukost", "food", 1000, 12_900, 600),
        ],
        vat: vec![],
        rounding: 0,
        total: 0,
        payments: vec![],
        buyer: Some(Buyer { agency: buyer_agency.into(), employee: Some(EMPLOYEE.into()) }),
        original: None,
    };
    paid_by_card(receipt, &format!("T-{register}"), &format!("6123456{:05}", serial % 100_000))
}

/// Claim `2026-000042` of [`EMPLOYEE`] at [`AGENCY_ORG`], for a conference in Stockholm:
/// the one receipt `receipt`, claimed for `amount` öre and booked as lodging (account 5831,
/// cost center `CC-100`).
pub fn claim(receipt: RecordId, amount: i64) -> Claim {
    Claim {
        number: "2026-000042".into(),
        agency: AGENCY_ORG.into(),
        claimant: EMPLOYEE.into(),
        purpose: "Konferens i Stockholm".into(),
        created_at: "2026-05-06T10:00:00+02:00".into(),
        items: vec![ClaimItem::Receipt {
            receipt,
            business_purpose: "Logi under konferens".into(),
            amount,
            booking: Booking { account: 5831, cost_center: "CC-100".into(), project: None },
            foreign: None,
            participants: vec![],
        }],
    }
}

/// The first event of the claim `claim`: [`EMPLOYEE`] submits it.
pub fn submitted(claim: RecordId) -> ClaimEvent {
    ClaimEvent {
        claim,
        previous: None,
        at: "2026-05-06T10:05:00+02:00".into(),
        actor: Actor { person: EMPLOYEE.into(), role: Role::Employee },
        action: Action::Submitted,
    }
}

/// Version 1 of network `kvitt-test`: the hotel ([`MERCHANT_ORG`]) on 127.0.0.1:7401, the
/// agency ([`AGENCY_ORG`]) on 127.0.0.1:7402 and the SSC ([`SSC_ORG`]) serving it on
/// 127.0.0.1:7400, with the node keys given.
pub fn directory(merchant: PublicKey, agency: PublicKey, ssc: PublicKey) -> Directory {
    let member = |role, org: &str, name: &str, key, address: &str| Member {
        role,
        org: org.into(),
        name: name.into(),
        key,
        addresses: vec![address.into()],
        serves: vec![],
    };
    Directory {
        network: "kvitt-test".into(),
        version: 1,
        issued_at: "2026-01-01T00:00:00+01:00".into(),
        members: vec![
            member(MemberRole::Merchant, MERCHANT_ORG, "Hotell Kvitt AB", merchant, "127.0.0.1:7401"),
            member(MemberRole::Agency, AGENCY_ORG, "Skatteverket", agency, "127.0.0.1:7402"),
            Member {
                serves: vec![AGENCY_ORG.into()],
                ..member(MemberRole::Ssc, SSC_ORG, "Statens servicecenter", ssc, "127.0.0.1:7400")
            },
        ],
    }
}
