//! Texts: bytes of UTF-8, not characters.

use kvitt_protocol::claim::{Claim, ClaimItem, ExchangeRate, MealsProvided};
use kvitt_protocol::directory::Directory;
use kvitt_protocol::event::{Action, ClaimEvent};
use kvitt_protocol::limits::*;
use kvitt_protocol::receipt::{Merchant, Payment, Receipt};
use kvitt_protocol::{ErrorCode, Record};

use crate::records::{
    claim, discount, event, foreign_claim, foreign_receipt, mileage, per_diem, receipt_with,
};
use crate::{accepted, named, refused};

/// A text field: where it is, its limit in bytes, whether it is a code (ASCII letters,
/// digits and `-_./:` only), the record it belongs to and how to set it.
struct TextField<T> {
    path: &'static str,
    limit: usize,
    code: bool,
    base: fn() -> T,
    set: fn(&mut T, String),
}

/// `unit` repeated to fill `bytes` bytes as far as it goes, then ASCII up to `bytes`.
fn fill(unit: char, bytes: usize) -> String {
    let mut text: String = std::iter::repeat_n(unit, bytes / unit.len_utf8()).collect();
    text.extend(std::iter::repeat_n('a', bytes % unit.len_utf8()));
    assert_eq!(text.len(), bytes);
    text
}

/// Exactly at its limit a field is accepted, in ASCII and (unless a code) in 2-, 3- and
/// 4-byte UTF-8; one byte past it, or empty, it is refused with `text.invalid` at its path,
/// even when, written in 'ö', it has far fewer characters than the limit.
#[track_caller]
fn check_text_field<T: Record>(field: &TextField<T>) {
    let with = |text: &str| {
        let mut body = (field.base)();
        (field.set)(&mut body, text.to_owned());
        body
    };
    let what = |text: &str| format!("{} = {} bytes, {} chars", field.path, text.len(), text.chars().count());
    accepted(&with("x"), &what("x"));
    let units: &[char] = if field.code { &['A'] } else { &['a', 'ö', '€', '🧾'] };
    for &unit in units {
        let at_limit = fill(unit, field.limit);
        accepted(&with(&at_limit), &what(&at_limit));
        let over = format!("{at_limit}a");
        refused(&with(&over), ErrorCode::Text, field.path, &what(&over));
    }
    if !field.code {
        let few_chars = "ö".repeat(field.limit / 2 + 1);
        assert!(few_chars.chars().count() <= field.limit);
        refused(&with(&few_chars), ErrorCode::Text, field.path, &what(&few_chars));
    }
    refused(&with(""), ErrorCode::Text, field.path, "empty");
}

#[test]
fn receipt_texts_at_their_byte_limits() {
    fn card(receipt: &mut Receipt) -> &mut Payment {
        &mut receipt.payments[0]
    }
    let fields: Vec<TextField<Receipt>> = vec![
        TextField {
            path: "merchant.name",
            limit: MAX_NAME_BYTES,
            code: false,
            base: named::receipt,
            set: |receipt, text| receipt.merchant.name = text,
        },
        TextField {
            path: "merchant.address.street",
            limit: MAX_NAME_BYTES,
            code: false,
            base: named::receipt,
            set: |receipt, text| receipt.merchant.address.street = text,
        },
        TextField {
            path: "merchant.address.postal_code",
            limit: MAX_CODE_BYTES,
            code: false,
            base: named::receipt,
            set: |receipt, text| receipt.merchant.address.postal_code = text,
        },
        TextField {
            path: "merchant.address.city",
            limit: MAX_NAME_BYTES,
            code: false,
            base: named::receipt,
            set: |receipt, text| receipt.merchant.address.city = text,
        },
        TextField {
            path: "register",
            limit: MAX_CODE_BYTES,
            code: true,
            base: named::receipt,
            set: |receipt, text| receipt.register = text,
        },
        TextField {
            path: "control_unit",
            limit: MAX_CODE_BYTES,
            code: true,
            base: named::receipt,
            set: |receipt, text| receipt.control_unit = text,
        },
        TextField {
            path: "lines[0].description",
            limit: MAX_NAME_BYTES,
            code: false,
            base: named::receipt,
            set: |receipt, text| receipt.lines[0].description = text,
        },
        TextField {
            path: "lines[0].article",
            limit: MAX_CODE_BYTES,
            code: false,
            base: named::receipt,
            set: |receipt, text| receipt.lines[0].article = Some(text),
        },
        TextField {
            path: "lines[0].unit",
            limit: MAX_CODE_BYTES,
            code: false,
            base: named::receipt,
            set: |receipt, text| receipt.lines[0].unit = Some(text),
        },
        TextField {
            path: "lines[0].discounts[0].description",
            limit: MAX_NAME_BYTES,
            code: false,
            base: || receipt_with(|receipt| receipt.lines[0].discounts = vec![discount(100)]),
            set: |receipt, text| receipt.lines[0].discounts[0].description = text,
        },
        TextField {
            path: "payments[0].brand",
            limit: MAX_CODE_BYTES,
            code: false,
            base: named::receipt,
            set: |receipt, text| {
                if let Payment::Card { brand, .. } = card(receipt) {
                    *brand = text;
                }
            },
        },
        TextField {
            path: "payments[0].rrn",
            limit: 12,
            code: true,
            base: named::receipt,
            set: |receipt, text| {
                if let Payment::Card { rrn, .. } = card(receipt) {
                    *rrn = text;
                }
            },
        },
        TextField {
            path: "payments[0].terminal",
            limit: MAX_CODE_BYTES,
            code: true,
            base: named::receipt,
            set: |receipt, text| {
                if let Payment::Card { terminal, .. } = card(receipt) {
                    *terminal = text;
                }
            },
        },
        TextField {
            path: "payments[0].approval_code",
            limit: 6,
            code: true,
            base: named::receipt,
            set: |receipt, text| {
                if let Payment::Card { approval_code, .. } = card(receipt) {
                    *approval_code = text;
                }
            },
        },
        TextField {
            path: "payments[0].reference",
            limit: MAX_CODE_BYTES,
            code: true,
            base: || {
                receipt_with(|receipt| {
                    receipt.payments = vec![Payment::Swish { amount: 0, reference: "x".into() }]
                })
            },
            set: |receipt, text| {
                if let Payment::Swish { reference, .. } = card(receipt) {
                    *reference = text;
                }
            },
        },
        TextField {
            path: "payments[0].reference",
            limit: MAX_CODE_BYTES,
            code: true,
            base: || {
                receipt_with(|receipt| {
                    receipt.payments = vec![Payment::GiftCard { amount: 0, reference: "x".into() }]
                })
            },
            set: |receipt, text| {
                if let Payment::GiftCard { reference, .. } = card(receipt) {
                    *reference = text;
                }
            },
        },
        TextField {
            path: "payments[0].description",
            limit: MAX_NAME_BYTES,
            code: false,
            base: || {
                receipt_with(|receipt| {
                    receipt.payments = vec![Payment::Other { amount: 0, description: "x".into() }]
                })
            },
            set: |receipt, text| {
                if let Payment::Other { description, .. } = card(receipt) {
                    *description = text;
                }
            },
        },
        TextField {
            path: "buyer.employee",
            limit: MAX_CODE_BYTES,
            code: false,
            base: named::receipt,
            set: |receipt, text| receipt.buyer.as_mut().unwrap().employee = Some(text),
        },
        TextField {
            path: "merchant.vat_number",
            limit: 32,
            code: true,
            base: foreign_receipt,
            set: |receipt, text| receipt.merchant.vat_number = Some(text),
        },
        TextField {
            path: "lines[0].category",
            limit: MAX_CODE_BYTES,
            code: false,
            base: foreign_receipt,
            set: |receipt, text| receipt.lines[0].category = Some(text),
        },
    ];
    for field in &fields {
        check_text_field(field);
    }
}

#[test]
fn claim_texts_at_their_byte_limits() {
    fn item(claim: &mut Claim) -> &mut ClaimItem {
        &mut claim.items[0]
    }
    let fields: Vec<TextField<Claim>> = vec![
        TextField {
            path: "number",
            limit: MAX_CODE_BYTES,
            code: true,
            base: claim,
            set: |claim, text| claim.number = text,
        },
        TextField {
            path: "claimant",
            limit: MAX_CODE_BYTES,
            code: false,
            base: claim,
            set: |claim, text| claim.claimant = text,
        },
        TextField {
            path: "purpose",
            limit: MAX_FREE_TEXT_BYTES,
            code: false,
            base: claim,
            set: |claim, text| claim.purpose = text,
        },
        TextField {
            path: "items[0].business_purpose",
            limit: MAX_FREE_TEXT_BYTES,
            code: false,
            base: claim,
            set: |claim, text| {
                if let ClaimItem::Receipt { business_purpose, .. } = item(claim) {
                    *business_purpose = text;
                }
            },
        },
        TextField {
            path: "items[0].participants[0]",
            limit: MAX_NAME_BYTES,
            code: false,
            base: claim,
            set: |claim, text| {
                if let ClaimItem::Receipt { participants, .. } = item(claim) {
                    *participants = vec![text];
                }
            },
        },
        TextField {
            path: "items[0].booking.cost_center",
            limit: MAX_CODE_BYTES,
            code: true,
            base: claim,
            set: |claim, text| {
                if let ClaimItem::Receipt { booking, .. } = item(claim) {
                    booking.cost_center = text;
                }
            },
        },
        TextField {
            path: "items[0].booking.project",
            limit: MAX_CODE_BYTES,
            code: false,
            base: claim,
            set: |claim, text| {
                if let ClaimItem::Receipt { booking, .. } = item(claim) {
                    booking.project = Some(text);
                }
            },
        },
        TextField {
            path: "items[0].foreign.rate_source",
            limit: MAX_CODE_BYTES,
            code: true,
            base: || foreign_claim(1234, "EUR", ExchangeRate { value: 114_523, scale: 4 }),
            set: |claim, text| {
                if let ClaimItem::Receipt { foreign: Some(foreign), .. } = item(claim) {
                    foreign.rate_source = text;
                }
            },
        },
        TextField {
            path: "items[0].route",
            limit: MAX_NAME_BYTES,
            code: false,
            base: || mileage(42, 250),
            set: |claim, text| {
                if let ClaimItem::Mileage { route, .. } = item(claim) {
                    *route = text;
                }
            },
        },
        TextField {
            path: "items[0].business_purpose",
            limit: MAX_FREE_TEXT_BYTES,
            code: false,
            base: || mileage(42, 250),
            set: |claim, text| {
                if let ClaimItem::Mileage { business_purpose, .. } = item(claim) {
                    *business_purpose = text;
                }
            },
        },
        TextField {
            path: "items[0].destination",
            limit: MAX_NAME_BYTES,
            code: false,
            base: || per_diem("2026-05-04", "2026-05-06", 3, 29_000, MealsProvided::default(), 0),
            set: |claim, text| {
                if let ClaimItem::PerDiem { destination, .. } = item(claim) {
                    *destination = text;
                }
            },
        },
        TextField {
            path: "items[0].business_purpose",
            limit: MAX_FREE_TEXT_BYTES,
            code: false,
            base: || per_diem("2026-05-04", "2026-05-06", 3, 29_000, MealsProvided::default(), 0),
            set: |claim, text| {
                if let ClaimItem::PerDiem { business_purpose, .. } = item(claim) {
                    *business_purpose = text;
                }
            },
        },
    ];
    for field in &fields {
        check_text_field(field);
    }
}

#[test]
fn event_and_directory_texts_at_their_byte_limits() {
    let events: Vec<TextField<ClaimEvent>> = vec![
        TextField {
            path: "actor.person",
            limit: MAX_CODE_BYTES,
            code: false,
            base: || event(Action::Submitted),
            set: |event, text| event.actor.person = text,
        },
        TextField {
            path: "action.note",
            limit: MAX_FREE_TEXT_BYTES,
            code: false,
            base: || event(Action::Reviewed { note: None }),
            set: |event, text| event.action = Action::Reviewed { note: Some(text) },
        },
        TextField {
            path: "action.reason",
            limit: MAX_FREE_TEXT_BYTES,
            code: false,
            base: || event(Action::Rejected { reason: "x".into() }),
            set: |event, text| event.action = Action::Rejected { reason: text },
        },
        TextField {
            path: "action.series",
            limit: MAX_CODE_BYTES,
            code: true,
            base: || event(Action::Booked { series: "A".into(), number: 1 }),
            set: |event, text| event.action = Action::Booked { series: text, number: 1 },
        },
        TextField {
            path: "action.reference",
            limit: MAX_NAME_BYTES,
            code: false,
            base: || event(Action::Paid { date: "2026-05-20".into(), reference: None }),
            set: |event, text| {
                event.action = Action::Paid { date: "2026-05-20".into(), reference: Some(text) }
            },
        },
    ];
    for field in &events {
        check_text_field(field);
    }
    let directories: Vec<TextField<Directory>> = vec![
        TextField {
            path: "network",
            limit: MAX_CODE_BYTES,
            code: true,
            base: named::directory,
            set: |directory, text| directory.network = text,
        },
        TextField {
            path: "members[0].name",
            limit: MAX_NAME_BYTES,
            code: false,
            base: named::directory,
            set: |directory, text| directory.members[0].name = text,
        },
    ];
    for field in &directories {
        check_text_field(field);
    }
}

#[test]
fn foreign_organisation_ids_at_32_bytes() {
    let with_org = |id: &str| {
        receipt_with(|receipt| {
            receipt.merchant = Merchant { org: format!("DE:{id}"), ..foreign_receipt().merchant }
        })
    };
    accepted(&with_org(&"A".repeat(32)), "a 32-byte foreign id");
    refused(&with_org(&"A".repeat(33)), ErrorCode::OrgFormat, "merchant.org", "a 33-byte foreign id");
    refused(&with_org(""), ErrorCode::OrgFormat, "merchant.org", "an empty foreign id");
}
