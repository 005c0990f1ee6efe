//! Every limit at its edge: a value exactly at a limit is accepted, and one past it is
//! refused with the limit's error code at the field's path.
//!
//! Covers each constant of protocol/src/limits.rs and the bounds the validators state
//! (spec/protocol.md §Limits, "Further bounds"). Where the signature does not matter a test
//! calls `Record::validate`, whose paths are relative to the body; where size or encoding
//! matters it signs and decodes, and paths start at the envelope (`body.…`). Large edges
//! (1000 lines, 2000 members, records of exactly their byte limit) are built from cheap
//! counter-derived keys and plain text, and each test runs in a few seconds in debug.
mod common;
mod strategies;

use std::ops::RangeInclusive;
use std::sync::LazyLock;

use ciborium::value::Value;
use kvitt_protocol::claim::{Booking, Claim, ClaimItem, ExchangeRate, ForeignAmount, MealsProvided, Vehicle};
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::event::{Action, ClaimEvent};
use kvitt_protocol::evidence::Evidence;
use kvitt_protocol::limits::*;
use kvitt_protocol::receipt::{Discount, Line, LineKind, Merchant, Payment, Receipt};
use kvitt_protocol::wire::{RecordBytes, Request, RequestBody};
use kvitt_protocol::{cbor, AnyRecord, Error, ErrorCode, Record, RecordId, RecordType, Signed};
use strategies::{counter_key, forge, forge_value, org_number, KEY_POOL};

// ---------------------------------------------------------------------------------------
// Verdicts.
// ---------------------------------------------------------------------------------------

/// Asserts that `body` passes every rule of its type.
#[track_caller]
fn accepted<T: Record>(body: &T, what: &str) {
    if let Err(error) = body.validate() {
        panic!("{what}: refused: {error}");
    }
}

/// Asserts that `body` is refused with `code` at `path` (relative to the body).
#[track_caller]
fn refused<T: Record>(body: &T, code: ErrorCode, path: &str, what: &str) {
    match body.validate() {
        Ok(()) => panic!("{what}: accepted, expected {code} at {path:?}"),
        Err(error) => assert_eq!((error.code(), error.path()), (code, path), "{what}: {error}"),
    }
}

/// Asserts that `result` failed with `code` at `path`.
#[track_caller]
fn failed<T>(result: Result<T, Error>, code: ErrorCode, path: &str, what: &str) {
    match result {
        Ok(_) => panic!("{what}: succeeded, expected {code} at {path:?}"),
        Err(error) => assert_eq!((error.code(), error.path()), (code, path), "{what}: {error}"),
    }
}

// ---------------------------------------------------------------------------------------
// Records to start from.
// ---------------------------------------------------------------------------------------

fn payment_amount(payment: &mut Payment) -> &mut i64 {
    match payment {
        Payment::Cash { amount }
        | Payment::Card { amount, .. }
        | Payment::Swish { amount, .. }
        | Payment::GiftCard { amount, .. }
        | Payment::Other { amount, .. } => amount,
    }
}

/// The receipt with its line amounts, VAT and total computed from its lines, and its first
/// payment taking whatever of the total the other payments leave.
fn settle(receipt: Receipt) -> Receipt {
    let mut receipt = receipt.with_computed_totals();
    let others: i64 = receipt.payments.iter().skip(1).map(Payment::amount).sum();
    let total = receipt.total;
    if let Some(first) = receipt.payments.first_mut() {
        *payment_amount(first) = total - others;
    }
    receipt
}

/// The fixture receipt (Swedish hotel, two lines, one card payment), changed and settled.
fn receipt_with(change: impl FnOnce(&mut Receipt)) -> Receipt {
    let mut receipt = common::receipt();
    change(&mut receipt);
    settle(receipt)
}

/// A Swedish receipt of the one line `line`.
fn receipt_of(line: Line) -> Receipt {
    receipt_with(|receipt| receipt.lines = vec![line])
}

/// A 25 % sale of `quantity_milli` thousandths at `unit_price`.
fn sale(quantity_milli: i64, unit_price: i64) -> Line {
    common::line("Vara", "general", quantity_milli, unit_price, 2500)
}

/// A text line.
fn text_line(description: String) -> Line {
    Line {
        kind: LineKind::Text,
        description,
        article: None,
        gtin: None,
        category: None,
        quantity: None,
        unit: None,
        unit_price: None,
        discounts: vec![],
        amount: None,
        vat_rate: None,
    }
}

fn discount(amount: i64) -> Discount {
    Discount { description: "Kupong".into(), amount }
}

/// A receipt from a German seller, in euro, without a VAT number.
fn foreign_receipt() -> Receipt {
    receipt_with(|receipt| {
        receipt.merchant = Merchant {
            name: "Hotel Kvitt GmbH".into(),
            org: "DE:HRB12345".into(),
            vat_number: None,
            address: kvitt_protocol::receipt::Address {
                street: "Unter den Linden 1".into(),
                postal_code: "10117".into(),
                city: "Berlin".into(),
                country: "DE".into(),
            },
        };
        receipt.currency = "EUR".into();
    })
}

/// The fixture claim, attaching one receipt for its total.
fn claim() -> Claim {
    common::claim(RecordId([1; 32]), 156_400)
}

fn booking() -> Booking {
    Booking { account: 5800, cost_center: "CC-100".into(), project: None }
}

/// A claim of the one item `item`.
fn claim_of(item: ClaimItem) -> Claim {
    Claim { items: vec![item], ..claim() }
}

/// A claim for a receipt in a foreign currency, converted at `rate`.
fn foreign_claim(amount: i64, currency: &str, rate: ExchangeRate) -> Claim {
    claim_of(ClaimItem::Receipt {
        receipt: RecordId([2; 32]),
        business_purpose: "Hotell i Berlin".into(),
        amount: rate.convert(amount, currency).unwrap_or(0),
        booking: booking(),
        foreign: Some(ForeignAmount {
            amount,
            currency: currency.into(),
            rate,
            rate_date: "2026-05-04".into(),
            rate_source: "riksbanken".into(),
        }),
        participants: vec![],
    })
}

/// A claim for driving `km` at `rate_per_km`, its amount computed.
fn mileage(km: u32, rate_per_km: i64) -> Claim {
    claim_of(ClaimItem::Mileage {
        date: "2026-05-04".into(),
        route: "Stockholm–Uppsala t/r".into(),
        business_purpose: "Kundbesök".into(),
        km,
        vehicle: Vehicle::OwnCar,
        rate_per_km,
        amount: i64::from(km) * rate_per_km,
        booking: booking(),
    })
}

/// A per-diem claim; its amount is `days × daily_amount − meal_reduction`.
fn per_diem(
    start: &str,
    end: &str,
    days: u32,
    daily_amount: i64,
    meals: MealsProvided,
    reduction: i64,
) -> Claim {
    claim_of(ClaimItem::PerDiem {
        start: start.into(),
        end: end.into(),
        destination: "Göteborg".into(),
        business_purpose: "Konferens".into(),
        days,
        daily_amount,
        meals,
        meal_reduction: reduction,
        amount: i64::from(days) * daily_amount - reduction,
        booking: booking(),
    })
}

fn event(action: Action) -> ClaimEvent {
    ClaimEvent { action, ..common::submitted(RecordId([3; 32])) }
}

/// A member with a counter-derived key and organisation number, and one address.
fn member(index: usize, role: MemberRole) -> Member {
    let number = u32::try_from(index).unwrap();
    Member {
        role,
        org: org_number(100_000_000 + number),
        name: format!("Medlem {index}"),
        key: KEY_POOL[index],
        addresses: vec![format!("10.0.{}.{}:7400", index / 256, index % 256)],
        serves: vec![],
    }
}

/// A directory of `count` members: an SSC serving a third of the members, which are
/// agencies, and merchants.
fn directory_of(count: usize) -> Directory {
    let mut members: Vec<Member> = (0..count)
        .map(|index| {
            let role = match index {
                0 => MemberRole::Ssc,
                _ if index % 3 == 1 => MemberRole::Agency,
                _ => MemberRole::Merchant,
            };
            member(index, role)
        })
        .collect();
    let agencies: Vec<String> = members
        .iter()
        .filter(|member| member.role == MemberRole::Agency)
        .map(|member| member.org.clone())
        .collect();
    if let Some(ssc) = members.first_mut() {
        ssc.serves = agencies;
    }
    Directory { members, ..common::directory() }
}

/// Signs with a counter key, and decodes the bytes back.
#[track_caller]
fn signs_and_decodes<T: Record + PartialEq>(body: &T, what: &str) -> usize {
    let signed =
        Signed::sign(body.clone(), &counter_key(7)).unwrap_or_else(|error| panic!("{what}: {error}"));
    let decoded = Signed::<T>::decode(signed.bytes()).unwrap_or_else(|error| panic!("{what}: {error}"));
    assert_eq!(decoded.body(), body, "{what}");
    signed.bytes().len()
}

/// Every constant of protocol/src/limits.rs is named by a test of this file, so a new
/// limit cannot arrive without its edge.
#[test]
fn every_limit_has_an_edge_test() {
    let limits = include_str!("../src/limits.rs");
    let tests = include_str!("limits.rs");
    let names: Vec<&str> = limits
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub const "))
        .filter_map(|rest| rest.split(':').next())
        .collect();
    assert!(names.len() >= 20, "{names:?}");
    for name in names {
        assert!(tests.contains(name), "tests/limits.rs has no test at the edge of {name}");
    }
}

// ---------------------------------------------------------------------------------------
// Counts.
// ---------------------------------------------------------------------------------------

#[test]
fn lines_per_receipt_at_the_limit_and_one_past() {
    let receipt = |count: usize| {
        receipt_with(|receipt| {
            let text = (receipt.lines.len()..count).map(|index| text_line(format!("Rad {index}")));
            receipt.lines = receipt.lines.iter().cloned().chain(text).take(count).collect();
        })
    };
    let largest = receipt(MAX_LINES_PER_RECEIPT);
    assert_eq!(largest.lines.len(), MAX_LINES_PER_RECEIPT);
    accepted(&largest, "MAX_LINES_PER_RECEIPT lines");
    signs_and_decodes(&largest, "MAX_LINES_PER_RECEIPT lines");
    refused(&receipt(MAX_LINES_PER_RECEIPT + 1), ErrorCode::TooMany, "lines", "one line more");
    refused(&receipt(0), ErrorCode::Empty, "lines", "no lines");
}

#[test]
fn discounts_per_line_at_the_limit_and_one_past() {
    let receipt = |count: usize| {
        receipt_with(|receipt| receipt.lines[0].discounts = (0..count).map(|_| discount(100)).collect())
    };
    accepted(&receipt(MAX_DISCOUNTS_PER_LINE), "MAX_DISCOUNTS_PER_LINE discounts");
    refused(&receipt(MAX_DISCOUNTS_PER_LINE + 1), ErrorCode::TooMany, "lines[0].discounts", "one more");
    accepted(&receipt(0), "no discounts");
}

#[test]
fn payments_per_receipt_at_the_limit_and_one_past() {
    let receipt = |count: usize| {
        receipt_with(|receipt| {
            let card = receipt.payments[0].clone();
            receipt.payments = (0..count)
                .map(|index| if index == 0 { card.clone() } else { Payment::Cash { amount: 100 } })
                .collect();
        })
    };
    accepted(&receipt(MAX_PAYMENTS_PER_RECEIPT), "MAX_PAYMENTS_PER_RECEIPT payments");
    refused(&receipt(MAX_PAYMENTS_PER_RECEIPT + 1), ErrorCode::TooMany, "payments", "one payment more");
    refused(&receipt(0), ErrorCode::Empty, "payments", "no payments");
}

/// A receipt item for receipt number `index`.
fn receipt_item(index: usize, business_purpose: String) -> ClaimItem {
    let mut id = [9; 32];
    id[..8].copy_from_slice(&(index as u64).to_le_bytes());
    ClaimItem::Receipt {
        receipt: RecordId(id),
        business_purpose,
        amount: 10_000,
        booking: booking(),
        foreign: None,
        participants: vec![],
    }
}

#[test]
fn items_per_claim_at_the_limit_and_one_past() {
    let claim = |count: usize| Claim {
        items: (0..count).map(|index| receipt_item(index, format!("Kvitto {index}"))).collect(),
        ..claim()
    };
    accepted(&claim(MAX_ITEMS_PER_CLAIM), "MAX_ITEMS_PER_CLAIM items");
    signs_and_decodes(&claim(MAX_ITEMS_PER_CLAIM), "MAX_ITEMS_PER_CLAIM items");
    refused(&claim(MAX_ITEMS_PER_CLAIM + 1), ErrorCode::TooMany, "items", "one item more");
    refused(&claim(0), ErrorCode::Empty, "items", "no items");
}

#[test]
fn participants_per_item_at_the_limit_and_one_past() {
    let claim = |count: usize| {
        let mut claim = claim();
        if let ClaimItem::Receipt { participants, .. } = &mut claim.items[0] {
            *participants = (0..count).map(|index| format!("Gäst {index}")).collect();
        }
        claim
    };
    accepted(&claim(MAX_PARTICIPANTS_PER_ITEM), "MAX_PARTICIPANTS_PER_ITEM participants");
    refused(&claim(MAX_PARTICIPANTS_PER_ITEM + 1), ErrorCode::TooMany, "items[0].participants", "one more");
}

#[test]
fn members_per_directory_at_the_limit_and_one_past() {
    let largest = directory_of(MAX_MEMBERS_PER_DIRECTORY);
    accepted(&largest, "MAX_MEMBERS_PER_DIRECTORY members");
    let size = signs_and_decodes(&largest, "MAX_MEMBERS_PER_DIRECTORY members");
    assert!(size <= MAX_DIRECTORY_BYTES, "{size} bytes");
    let over = directory_of(MAX_MEMBERS_PER_DIRECTORY + 1);
    refused(&over, ErrorCode::TooMany, "members", "one member more");
    failed(Signed::sign(over, &counter_key(7)), ErrorCode::TooMany, "body.members", "signing one more");
    refused(&directory_of(0), ErrorCode::Empty, "members", "no members");
}

#[test]
fn addresses_per_member_at_the_limit_and_one_past() {
    let directory = |count: usize| {
        let mut directory = common::directory();
        directory.members[0].addresses = (0..count).map(|index| format!("10.0.0.{index}:7400")).collect();
        directory
    };
    accepted(&directory(MAX_ADDRESSES_PER_MEMBER), "MAX_ADDRESSES_PER_MEMBER addresses");
    refused(&directory(MAX_ADDRESSES_PER_MEMBER + 1), ErrorCode::TooMany, "members[0].addresses", "one more");
    refused(&directory(0), ErrorCode::Empty, "members[0].addresses", "no addresses");
}

#[test]
fn records_per_delivery_at_the_limit_and_one_past() {
    let request = |count: usize| Request {
        directory_version: 1,
        body: RequestBody::Deliver { records: vec![RecordBytes(vec![0xa0; 8]); count] },
    };
    let bytes = request(MAX_RECORDS_PER_DELIVERY).encode().unwrap();
    assert!(Request::decode(&bytes).is_ok());
    let bytes = request(MAX_RECORDS_PER_DELIVERY + 1).encode().unwrap();
    failed(Request::decode(&bytes), ErrorCode::TooMany, "body.records", "one record more");
}

/// A delivery of `count` records of `total` bytes together (as equal as they divide).
fn delivery(count: usize, total: usize) -> Vec<u8> {
    let records = (0..count)
        .map(|index| RecordBytes(vec![0xa0; total / count + usize::from(index < total % count)]))
        .collect();
    Request { directory_version: u64::MAX, body: RequestBody::Deliver { records } }.encode().unwrap()
}

#[test]
fn a_message_is_refused_by_its_size_beyond_max_message_bytes() {
    // The largest delivery a sender builds, MAX_DELIVERY_RECORD_BYTES of records in the
    // most records allowed, still fits in a message: the sender's budget keeps the margin.
    let fullest = delivery(MAX_RECORDS_PER_DELIVERY, MAX_DELIVERY_RECORD_BYTES);
    assert!(fullest.len() <= MAX_MESSAGE_BYTES, "{} bytes", fullest.len());
    assert!(Request::decode(&fullest).is_ok());
    // One record of the rest of the room: exactly at the limit, then one byte over.
    let room = MAX_MESSAGE_BYTES - delivery(1, 0).len();
    let mut record = room;
    let exact = loop {
        let bytes = delivery(1, record);
        match bytes.len().cmp(&MAX_MESSAGE_BYTES) {
            std::cmp::Ordering::Equal => break bytes,
            std::cmp::Ordering::Greater => record -= 1,
            std::cmp::Ordering::Less => record += 1,
        }
    };
    assert!(Request::decode(&exact).is_ok(), "a message of exactly MAX_MESSAGE_BYTES is accepted");
    let over = delivery(1, record + 1);
    assert_eq!(over.len(), MAX_MESSAGE_BYTES + 1);
    failed(Request::decode(&over), ErrorCode::RecordSize, "", "one byte over MAX_MESSAGE_BYTES");
}

// ---------------------------------------------------------------------------------------
// Texts: bytes of UTF-8, not characters.
// ---------------------------------------------------------------------------------------

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
            base: common::receipt,
            set: |receipt, text| receipt.merchant.name = text,
        },
        TextField {
            path: "merchant.address.street",
            limit: MAX_NAME_BYTES,
            code: false,
            base: common::receipt,
            set: |receipt, text| receipt.merchant.address.street = text,
        },
        TextField {
            path: "merchant.address.postal_code",
            limit: MAX_CODE_BYTES,
            code: false,
            base: common::receipt,
            set: |receipt, text| receipt.merchant.address.postal_code = text,
        },
        TextField {
            path: "merchant.address.city",
            limit: MAX_NAME_BYTES,
            code: false,
            base: common::receipt,
            set: |receipt, text| receipt.merchant.address.city = text,
        },
        TextField {
            path: "register",
            limit: MAX_CODE_BYTES,
            code: true,
            base: common::receipt,
            set: |receipt, text| receipt.register = text,
        },
        TextField {
            path: "control_unit",
            limit: MAX_CODE_BYTES,
            code: true,
            base: common::receipt,
            set: |receipt, text| receipt.control_unit = text,
        },
        TextField {
            path: "lines[0].description",
            limit: MAX_NAME_BYTES,
            code: false,
            base: common::receipt,
            set: |receipt, text| receipt.lines[0].description = text,
        },
        TextField {
            path: "lines[0].article",
            limit: MAX_CODE_BYTES,
            code: false,
            base: common::receipt,
            set: |receipt, text| receipt.lines[0].article = Some(text),
        },
        TextField {
            path: "lines[0].unit",
            limit: MAX_CODE_BYTES,
            code: false,
            base: common::receipt,
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
            base: common::receipt,
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
            base: common::receipt,
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
            base: common::receipt,
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
            base: common::receipt,
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
            base: common::receipt,
            set: |receipt, text| receipt.buyer.employee = Some(text),
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
            base: common::directory,
            set: |directory, text| directory.network = text,
        },
        TextField {
            path: "members[0].name",
            limit: MAX_NAME_BYTES,
            code: false,
            base: common::directory,
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

// ---------------------------------------------------------------------------------------
// Amounts and numbers.
// ---------------------------------------------------------------------------------------

#[test]
fn unit_price_up_to_max_amount() {
    accepted(&receipt_of(sale(1000, MAX_AMOUNT_MINOR)), "unit price MAX_AMOUNT_MINOR");
    accepted(&receipt_of(sale(1000, 0)), "unit price 0");
    refused(
        &receipt_of(sale(1000, MAX_AMOUNT_MINOR + 1)),
        ErrorCode::Range,
        "lines[0].unit_price",
        "one past",
    );
    // with_computed_totals leaves no amount for a line it cannot price; give it one.
    let mut negative = receipt_of(sale(1000, -1));
    negative.lines[0].amount = Some(-1);
    refused(&negative, ErrorCode::Range, "lines[0].unit_price", "negative");
}

#[test]
fn line_amount_up_to_max_amount() {
    // 2 × (MAX/2 + 1) = MAX + 2, less a discount of 2 (MAX) or 1 (MAX + 1).
    let line = |discount_amount: i64| Line {
        discounts: vec![discount(discount_amount)],
        ..sale(2000, MAX_AMOUNT_MINOR / 2 + 1)
    };
    let at_limit = receipt_of(line(2));
    assert_eq!(at_limit.lines[0].amount, Some(MAX_AMOUNT_MINOR));
    accepted(&at_limit, "line amount MAX_AMOUNT_MINOR");
    let over = receipt_of(line(1));
    assert_eq!(over.lines[0].amount, Some(MAX_AMOUNT_MINOR + 1));
    refused(&over, ErrorCode::Range, "lines[0].amount", "line amount one past");
    let returned = receipt_with(|receipt| {
        receipt.lines = vec![Line { kind: LineKind::Return, ..line(2) }];
        receipt.original = Some(RecordId([4; 32]));
    });
    assert_eq!(returned.total, -MAX_AMOUNT_MINOR);
    accepted(&returned, "a return of −MAX_AMOUNT_MINOR");
    let returned = receipt_with(|receipt| {
        receipt.lines = vec![Line { kind: LineKind::Return, ..line(1) }];
        receipt.original = Some(RecordId([4; 32]));
    });
    refused(&returned, ErrorCode::Range, "lines[0].amount", "a return one past");
}

#[test]
fn discounts_up_to_the_price_and_max_amount() {
    let line = |quantity: i64, price: i64, amount: i64| Line {
        discounts: vec![discount(amount)],
        ..sale(quantity, price)
    };
    accepted(&receipt_of(line(2000, MAX_AMOUNT_MINOR, MAX_AMOUNT_MINOR)), "a discount of MAX_AMOUNT_MINOR");
    refused(
        &receipt_of(line(2000, MAX_AMOUNT_MINOR, MAX_AMOUNT_MINOR + 1)),
        ErrorCode::Range,
        "lines[0].discounts[0].amount",
        "a discount one past",
    );
    refused(
        &receipt_of(line(1000, 100, 0)),
        ErrorCode::Range,
        "lines[0].discounts[0].amount",
        "a zero discount",
    );
    // Discounts may take the whole price (amount 0), not one öre more.
    let free = receipt_of(line(1000, 100, 100));
    assert_eq!(free.lines[0].amount, Some(0));
    accepted(&free, "discounts equal to the price");
    // with_computed_totals leaves no amount for a line it cannot price; give it one.
    let mut over = receipt_of(line(1000, 100, 101));
    over.lines[0].amount = Some(-1);
    refused(&over, ErrorCode::Range, "lines[0].discounts", "discounts one past the price");
}

#[test]
fn total_and_payments_up_to_max_amount() {
    let two_lines = |second: i64, rounding: i64| {
        receipt_with(|receipt| {
            receipt.lines = vec![sale(1000, MAX_AMOUNT_MINOR - 1000), sale(1000, second)];
            receipt.rounding = rounding;
        })
    };
    let at_limit = two_lines(1000, 0);
    assert_eq!(at_limit.total, MAX_AMOUNT_MINOR);
    accepted(&at_limit, "total MAX_AMOUNT_MINOR");
    refused(&two_lines(1001, 0), ErrorCode::Range, "total", "total one past, by a line");
    accepted(&two_lines(950, 50), "total MAX_AMOUNT_MINOR with rounding");
    refused(&two_lines(1000, 1), ErrorCode::Range, "total", "total one past, by rounding");

    let returns = |rounding: i64| {
        receipt_with(|receipt| {
            receipt.lines = vec![Line { kind: LineKind::Return, ..sale(1000, MAX_AMOUNT_MINOR) }];
            receipt.rounding = rounding;
            receipt.original = Some(RecordId([4; 32]));
        })
    };
    accepted(&returns(0), "total −MAX_AMOUNT_MINOR");
    refused(&returns(-1), ErrorCode::Range, "total", "total one past −MAX_AMOUNT_MINOR");

    // One payment beyond the limit, another bringing the sum back to the total.
    let mut payments = common::receipt();
    let total = payments.total;
    payments.payments = vec![
        Payment::Cash { amount: MAX_AMOUNT_MINOR + 1 },
        Payment::Cash { amount: total - MAX_AMOUNT_MINOR - 1 },
    ];
    refused(&payments, ErrorCode::Range, "payments[0].amount", "a payment one past");
    payments.payments =
        vec![Payment::Cash { amount: MAX_AMOUNT_MINOR }, Payment::Cash { amount: total - MAX_AMOUNT_MINOR }];
    accepted(&payments, "a payment of MAX_AMOUNT_MINOR");
}

#[test]
fn quantity_up_to_max_quantity() {
    accepted(&receipt_of(sale(MAX_QUANTITY_MILLI, 100)), "MAX_QUANTITY_MILLI");
    accepted(&receipt_of(sale(1, 100)), "one thousandth");
    refused(
        &receipt_of(sale(MAX_QUANTITY_MILLI + 1, 100)),
        ErrorCode::Range,
        "lines[0].quantity",
        "one past",
    );
    refused(&receipt_of(sale(0, 100)), ErrorCode::Range, "lines[0].quantity", "zero");
}

#[test]
fn rounding_within_plus_minus_max_rounding() {
    let rounding = |rounding: i64| receipt_with(|receipt| receipt.rounding = rounding);
    accepted(&rounding(MAX_ROUNDING_MINOR), "+MAX_ROUNDING_MINOR");
    accepted(&rounding(-MAX_ROUNDING_MINOR), "−MAX_ROUNDING_MINOR");
    refused(&rounding(MAX_ROUNDING_MINOR + 1), ErrorCode::Range, "rounding", "one past +");
    refused(&rounding(-MAX_ROUNDING_MINOR - 1), ErrorCode::Range, "rounding", "one past −");
}

#[test]
fn foreign_vat_rate_up_to_5000() {
    let rate = |rate: u32| {
        let mut receipt = foreign_receipt();
        receipt.lines[0].vat_rate = Some(rate);
        settle(receipt)
    };
    accepted(&rate(5000), "50 %");
    accepted(&rate(0), "0 %");
    refused(&rate(5001), ErrorCode::Range, "lines[0].vat_rate", "50.01 %");
}

#[test]
fn receipt_item_amounts_up_to_max_amount() {
    let claim = |value: i64| {
        let mut claim = claim();
        if let ClaimItem::Receipt { amount, .. } = &mut claim.items[0] {
            *amount = value;
        }
        claim
    };
    accepted(&claim(MAX_AMOUNT_MINOR), "MAX_AMOUNT_MINOR");
    accepted(&claim(0), "zero");
    refused(&claim(MAX_AMOUNT_MINOR + 1), ErrorCode::Range, "items[0].amount", "one past");
    refused(&claim(-1), ErrorCode::Range, "items[0].amount", "negative");

    // 10^13 cents at 10^-9 SEK per euro is 10 000 öre.
    let rate = ExchangeRate { value: 1, scale: 9 };
    accepted(&foreign_claim(MAX_AMOUNT_MINOR, "EUR", rate), "a foreign amount of MAX_AMOUNT_MINOR");
    accepted(&foreign_claim(0, "EUR", rate), "a foreign amount of zero");
    let path = "items[0].foreign.amount";
    refused(&foreign_claim(MAX_AMOUNT_MINOR + 1, "EUR", rate), ErrorCode::Range, path, "one past");
    refused(&foreign_claim(-1, "EUR", rate), ErrorCode::Range, path, "negative");
}

#[test]
fn exchange_rates_value_up_to_10_to_12_and_scale_up_to_9() {
    let rate = |value: u64, scale: u32| foreign_claim(1, "EUR", ExchangeRate { value, scale });
    accepted(&rate(1_000_000_000_000, 0), "value 10^12");
    accepted(&rate(1, 0), "value 1");
    accepted(&rate(114_523, 9), "scale 9");
    refused(&rate(1_000_000_000_001, 0), ErrorCode::Range, "items[0].foreign.rate.value", "value 10^12 + 1");
    refused(&rate(u64::MAX, 0), ErrorCode::Range, "items[0].foreign.rate.value", "value u64::MAX");
    refused(&rate(0, 0), ErrorCode::Range, "items[0].foreign.rate.value", "value 0");
    refused(&rate(114_523, 10), ErrorCode::Range, "items[0].foreign.rate.scale", "scale 10");
}

#[test]
fn mileage_km_up_to_max_mileage_and_rate_up_to_100000() {
    accepted(&mileage(MAX_MILEAGE_KM, 250), "MAX_MILEAGE_KM");
    accepted(&mileage(1, 250), "1 km");
    refused(&mileage(MAX_MILEAGE_KM + 1, 250), ErrorCode::Range, "items[0].km", "one km past");
    refused(&mileage(0, 250), ErrorCode::Range, "items[0].km", "0 km");
    accepted(&mileage(MAX_MILEAGE_KM, 100_000), "the largest mileage amount");
    accepted(&mileage(42, 0), "rate 0");
    refused(&mileage(42, 100_001), ErrorCode::Range, "items[0].rate_per_km", "rate one past");
    refused(&mileage(42, -1), ErrorCode::Range, "items[0].rate_per_km", "negative rate");
}

#[test]
fn per_diem_days_within_the_trip_and_max_per_diem_days() {
    let none = MealsProvided::default();
    let days = |start: &str, end: &str, days: u32| per_diem(start, end, days, 29_000, none, 0);
    accepted(&days("2026-05-04", "2026-05-06", 3), "three days of a three-day trip");
    refused(&days("2026-05-04", "2026-05-06", 4), ErrorCode::Range, "items[0].days", "four days of three");
    refused(&days("2026-05-04", "2026-05-06", 0), ErrorCode::Range, "items[0].days", "zero days");
    accepted(&days("2026-05-04", "2026-05-04", 1), "a one-day trip");
    refused(
        &days("2026-05-04", "2026-05-03", 1),
        ErrorCode::DateOrder,
        "items[0].end",
        "ending before it starts",
    );
    // 2028 is a leap year: 366 days from 1 January to 31 December.
    accepted(&days("2028-01-01", "2028-12-31", 366), "all of 2028");
    // A trip of 367 days: MAX_PER_DIEM_DAYS, not the trip, bounds the days.
    accepted(&days("2027-01-01", "2028-01-02", MAX_PER_DIEM_DAYS as u32), "MAX_PER_DIEM_DAYS of 367");
    refused(
        &days("2027-01-01", "2028-01-02", MAX_PER_DIEM_DAYS as u32 + 1),
        ErrorCode::Range,
        "items[0].days",
        "one day past MAX_PER_DIEM_DAYS",
    );
}

#[test]
fn per_diem_amounts_meals_and_reductions_at_their_bounds() {
    let none = MealsProvided::default();
    let daily = |amount: i64| per_diem("2026-05-04", "2026-05-06", 3, amount, none, 0);
    accepted(&daily(1_000_000), "1 000 000 öre a day");
    accepted(&daily(0), "nothing a day");
    refused(&daily(1_000_001), ErrorCode::Range, "items[0].daily_amount", "one öre past");
    refused(&daily(-1), ErrorCode::Range, "items[0].daily_amount", "negative");

    let meals = |meals: MealsProvided| per_diem("2026-05-04", "2026-05-06", 3, 29_000, meals, 0);
    accepted(&meals(MealsProvided { breakfasts: 3, lunches: 3, dinners: 3 }), "every meal of three days");
    for (field, over) in [
        ("breakfasts", MealsProvided { breakfasts: 4, ..none }),
        ("lunches", MealsProvided { lunches: 4, ..none }),
        ("dinners", MealsProvided { dinners: 4, ..none }),
    ] {
        refused(&meals(over), ErrorCode::Range, &format!("items[0].meals.{field}"), "four of three days");
    }

    let reduction = |amount: i64| per_diem("2026-05-04", "2026-05-06", 3, 29_000, none, amount);
    accepted(&reduction(87_000), "the whole allowance deducted");
    refused(&reduction(87_001), ErrorCode::Range, "items[0].meal_reduction", "one öre past");
    refused(&reduction(-1), ErrorCode::Range, "items[0].meal_reduction", "negative");
}

#[test]
fn bas_accounts_1000_to_8999() {
    let account = |account: u16| {
        let mut claim = claim();
        if let ClaimItem::Receipt { booking, .. } = &mut claim.items[0] {
            booking.account = account;
        }
        claim
    };
    refused(&account(999), ErrorCode::Account, "items[0].booking.account", "999");
    accepted(&account(1000), "1000");
    accepted(&account(8999), "8999");
    refused(&account(9000), ErrorCode::Account, "items[0].booking.account", "9000");
}

#[test]
fn booked_numbers_from_1() {
    let booked = |number: u64| event(Action::Booked { series: "A".into(), number });
    refused(&booked(0), ErrorCode::Range, "action.number", "voucher 0");
    accepted(&booked(1), "voucher 1");
    accepted(&booked(u64::MAX), "voucher u64::MAX");
}

#[test]
fn masked_card_numbers_12_to_19_characters() {
    let pan = |masked: &str| {
        receipt_with(|receipt| {
            if let Payment::Card { masked_pan, .. } = &mut receipt.payments[0] {
                *masked_pan = masked.into();
            }
        })
    };
    let path = "payments[0].masked_pan";
    for ok in
        ["********1234", "***************1234", "492500******1234", "492500*********1234", "************"]
    {
        accepted(&pan(ok), ok);
    }
    for bad in ["*******1234", "****************1234", "4925001*****1234", "*******12345", "4925001234561234"]
    {
        refused(&pan(bad), ErrorCode::MaskedPan, path, bad);
    }
}

#[test]
fn addresses_host_up_to_253_bytes_and_port_1_to_65535() {
    let address = |address: String| {
        let mut directory = common::directory();
        directory.members[0].addresses = vec![address];
        directory
    };
    let path = "members[0].addresses[0]";
    accepted(&address(format!("{}:7400", "a".repeat(253))), "a 253-byte host");
    refused(&address(format!("{}:7400", "a".repeat(254))), ErrorCode::Address, path, "a 254-byte host");
    accepted(&address("node.example:65535".into()), "port 65535");
    accepted(&address("node.example:1".into()), "port 1");
    refused(&address("node.example:65536".into()), ErrorCode::Address, path, "port 65536");
    refused(&address("node.example:0".into()), ErrorCode::Address, path, "port 0");
}

#[test]
fn gtins_of_8_12_13_or_14_digits() {
    let gtin = |digits: &str| receipt_with(|receipt| receipt.lines[0].gtin = Some(strategies::gtin(digits)));
    for length in [8, 12, 13, 14] {
        accepted(&gtin(&"7".repeat(length - 1)), &format!("{length} digits"));
    }
    for length in [7, 9, 11, 15] {
        refused(
            &gtin(&"7".repeat(length - 1)),
            ErrorCode::Gtin,
            "lines[0].gtin",
            &format!("{length} digits"),
        );
    }
}

#[test]
fn time_offsets_within_plus_minus_14_hours() {
    let issued =
        |offset: &str| receipt_with(|receipt| receipt.issued_at = format!("2026-05-04T08:15:00{offset}"));
    for ok in ["+14:00", "-14:00", "+13:59", "-13:59", "+00:00"] {
        accepted(&issued(ok), ok);
    }
    for bad in ["+14:01", "-14:01", "+15:00", "-15:00", "+13:60", "-00:00"] {
        refused(&issued(bad), ErrorCode::TimeFormat, "issued_at", bad);
    }
    // The other records' times use the same rule.
    let time = |offset: &str| format!("2026-05-04T08:15:00{offset}");
    accepted(&Claim { created_at: time("+14:00"), ..claim() }, "claim +14:00");
    refused(&Claim { created_at: time("+14:01"), ..claim() }, ErrorCode::TimeFormat, "created_at", "claim");
    accepted(&ClaimEvent { at: time("-14:00"), ..event(Action::Submitted) }, "event −14:00");
    refused(
        &ClaimEvent { at: time("-14:01"), ..event(Action::Submitted) },
        ErrorCode::TimeFormat,
        "at",
        "event",
    );
    accepted(&Directory { issued_at: time("+14:00"), ..common::directory() }, "directory +14:00");
    refused(
        &Directory { issued_at: time("+14:01"), ..common::directory() },
        ErrorCode::TimeFormat,
        "issued_at",
        "directory",
    );
    let (first, second) = conflicting_receipts();
    let evidence = |offset: &str| Evidence {
        detected_at: time(offset),
        ..Evidence::new(&first, &second, time("+02:00")).unwrap()
    };
    accepted(&evidence("+14:00"), "evidence +14:00");
    refused(&evidence("+14:01"), ErrorCode::TimeFormat, "detected_at", "evidence");
}

#[test]
fn times_and_dates_from_year_0000_to_9999() {
    for time in ["0000-01-01T00:00:00+14:00", "0000-01-01T00:00:00-14:00", "9999-12-31T23:59:59-14:00"] {
        // A foreign receipt: the Swedish rate table starts in 2020.
        accepted(&Receipt { issued_at: time.into(), ..foreign_receipt() }, time);
        let claim = Claim { created_at: time.into(), ..claim() };
        accepted(&claim, time);
        signs_and_decodes(&claim, time);
    }
    accepted(&per_diem("0000-01-01", "9999-12-31", 366, 1, MealsProvided::default(), 0), "a long trip");
    let mileage_on = |date: &str| {
        let mut claim = mileage(42, 250);
        if let ClaimItem::Mileage { date: day, .. } = &mut claim.items[0] {
            *day = date.into();
        }
        claim
    };
    accepted(&mileage_on("0000-01-01"), "0000-01-01");
    accepted(&mileage_on("9999-12-31"), "9999-12-31");
    accepted(&mileage_on("2028-02-29"), "a leap day");
    for bad in ["10000-01-01", "-001-01-01", "2026-13-01", "2026-00-10", "2026-02-29", "2026-1-01"] {
        refused(&mileage_on(bad), ErrorCode::DateFormat, "items[0].date", bad);
    }
}

/// Two receipts on one register with one serial, by the fixture merchant.
fn conflicting_receipts() -> (AnyRecord, AnyRecord) {
    let key = common::key("merchant");
    let first = Signed::sign(common::receipt(), &key).unwrap();
    let second =
        Signed::sign(receipt_with(|receipt| receipt.issued_at = "2026-05-04T08:16:00+02:00".into()), &key)
            .unwrap();
    (AnyRecord::Receipt(first), AnyRecord::Receipt(second))
}

// ---------------------------------------------------------------------------------------
// Depth.
// ---------------------------------------------------------------------------------------

/// `count` arrays nested in one another, around `inner` (or empty).
fn nested(count: usize, inner: Option<Value>) -> Value {
    let mut value = Value::Array(inner.into_iter().collect());
    for _ in 1..count {
        value = Value::Array(vec![value]);
    }
    value
}

#[test]
fn cbor_depth_up_to_max_cbor_depth() {
    // The envelope is at depth 1, the body at 2, a field of the body at 3: 14 nested arrays
    // reach depth 16, and so do 13 around an integer.
    for (arrays, integer) in [(MAX_CBOR_DEPTH - 2, false), (MAX_CBOR_DEPTH - 3, true)] {
        let depth = |extra: usize| {
            let mut body = cbor::to_value(&common::receipt()).unwrap();
            let Value::Map(fields) = &mut body else { panic!("the body is a map") };
            let inner = integer.then(|| Value::Integer(1.into()));
            fields.push((Value::Text("x".into()), nested(arrays + extra, inner)));
            forge_value(RecordType::Receipt, body, &common::key("merchant"))
        };
        // At the limit, decoding gets past the depth check to the schema, which knows no "x".
        failed(Signed::<Receipt>::decode(&depth(0)), ErrorCode::Schema, "body.x", "depth MAX_CBOR_DEPTH");
        failed(AnyRecord::decode(&depth(0)), ErrorCode::Schema, "body.x", "depth MAX_CBOR_DEPTH, any type");
        assert!(cbor::decode(&depth(0)).is_ok());
        failed(Signed::<Receipt>::decode(&depth(1)), ErrorCode::TooDeep, "", "depth MAX_CBOR_DEPTH + 1");
        failed(AnyRecord::decode(&depth(1)), ErrorCode::TooDeep, "", "depth MAX_CBOR_DEPTH + 1, any type");
    }
}

// ---------------------------------------------------------------------------------------
// Record sizes.
// ---------------------------------------------------------------------------------------

/// `text` padded with `.` to exactly `length` bytes.
fn padded(text: String, length: usize) -> String {
    assert!(text.len() <= length, "{text:?} is longer than {length}");
    let padding = length - text.len();
    text + &".".repeat(padding)
}

/// The envelope length of `body` when signed (any key: keys and signatures have one size).
fn envelope_length<T: Record>(body: &T) -> usize {
    forge(T::TYPE, body, &counter_key(0)).len()
}

/// `build(lengths)` with `slots` text lengths, each within `range` (all of one CBOR header
/// size, so a byte more of text is a byte more of envelope), grown until the envelope is
/// exactly `target` bytes long.
fn sized<T: Record>(
    target: usize,
    slots: usize,
    range: RangeInclusive<usize>,
    build: impl Fn(&[usize]) -> T,
) -> T {
    let mut lengths = vec![*range.start(); slots];
    let smallest = envelope_length(&build(&lengths));
    let mut missing =
        target.checked_sub(smallest).unwrap_or_else(|| panic!("{smallest} bytes exceed {target}"));
    for length in &mut lengths {
        let step = missing.min(range.end() - *length);
        *length += step;
        missing -= step;
    }
    assert_eq!(missing, 0, "the largest body is {missing} bytes short of {target}");
    let body = build(&lengths);
    assert_eq!(envelope_length(&body), target);
    body
}

/// Checks a record type's size limit with bodies whose envelopes are `limit` and `limit + 1`
/// bytes long: at the limit, signing and decoding do not refuse the size (`at_limit` says
/// how the decoding ends); one past it, signing and both decoders refuse it with
/// `limit.record_size` and no path.
fn check_size_limit<T: Record + PartialEq>(
    limit: usize,
    at: &T,
    over: &T,
    at_limit: impl FnOnce(Result<Signed<T>, Error>),
) {
    assert_eq!(limit, T::TYPE.max_bytes());
    let key = counter_key(7);
    let bytes = forge(T::TYPE, at, &key);
    assert_eq!(bytes.len(), limit);
    at_limit(Signed::<T>::decode(&bytes));
    if let Err(error) = AnyRecord::decode(&bytes) {
        assert_ne!(error.code(), ErrorCode::RecordSize, "{error}");
    }
    let bytes = forge(T::TYPE, over, &key);
    assert_eq!(bytes.len(), limit + 1);
    failed(Signed::<T>::decode(&bytes), ErrorCode::RecordSize, "", "typed decoder, one byte past");
    failed(AnyRecord::decode(&bytes), ErrorCode::RecordSize, "", "any decoder, one byte past");
    if over.validate().is_ok() {
        failed(Signed::sign(over.clone(), &key), ErrorCode::RecordSize, "", "signing one byte past");
    }
}

/// A valid receipt whose envelope is `target` bytes: the fixture's two lines and 300 text
/// lines of 24-255 bytes.
fn receipt_of_size(target: usize) -> Receipt {
    sized(target, 300, 24..=255, |lengths| {
        receipt_with(|receipt| {
            let text = lengths
                .iter()
                .enumerate()
                .map(|(index, &length)| text_line(padded(format!("Rad {index:03} "), length)));
            receipt.lines.extend(text);
        })
    })
}

#[test]
fn receipts_up_to_max_receipt_bytes() {
    let at = receipt_of_size(MAX_RECEIPT_BYTES);
    let over = receipt_of_size(MAX_RECEIPT_BYTES + 1);
    check_size_limit(MAX_RECEIPT_BYTES, &at, &over, |decoded| assert_eq!(decoded.unwrap().body(), &at));
    assert_eq!(signs_and_decodes(&at, "a receipt of MAX_RECEIPT_BYTES"), MAX_RECEIPT_BYTES);
}

#[test]
fn claims_up_to_max_claim_bytes() {
    // 40 receipt items whose business purposes are 256-2000 bytes.
    let claim = |target: usize| {
        sized(target, 40, 256..=MAX_FREE_TEXT_BYTES, |lengths| Claim {
            items: lengths
                .iter()
                .enumerate()
                .map(|(index, &length)| receipt_item(index, padded(format!("Kvitto {index} "), length)))
                .collect(),
            ..claim()
        })
    };
    let (at, over) = (claim(MAX_CLAIM_BYTES), claim(MAX_CLAIM_BYTES + 1));
    check_size_limit(MAX_CLAIM_BYTES, &at, &over, |decoded| assert_eq!(decoded.unwrap().body(), &at));
    assert_eq!(signs_and_decodes(&at, "a claim of MAX_CLAIM_BYTES"), MAX_CLAIM_BYTES);
}

#[test]
fn claim_events_up_to_max_claim_event_bytes() {
    // No valid event comes near the limit: the longest text of an event is 2000 bytes.
    let largest = ClaimEvent {
        previous: Some(RecordId([5; 32])),
        actor: kvitt_protocol::event::Actor {
            person: "p".repeat(MAX_CODE_BYTES),
            ..event(Action::Submitted).actor
        },
        ..event(Action::Rejected { reason: "r".repeat(MAX_FREE_TEXT_BYTES) })
    };
    accepted(&largest, "the largest event");
    assert!(envelope_length(&largest) < MAX_CLAIM_EVENT_BYTES / 3, "{}", envelope_length(&largest));
    // So an event of exactly the limit has an overlong reason, and is refused for that.
    let event = |target: usize| {
        sized(target, 1, 256..=65_535, |lengths| event(Action::Rejected { reason: "r".repeat(lengths[0]) }))
    };
    let (at, over) = (event(MAX_CLAIM_EVENT_BYTES), event(MAX_CLAIM_EVENT_BYTES + 1));
    check_size_limit(MAX_CLAIM_EVENT_BYTES, &at, &over, |decoded| {
        failed(decoded, ErrorCode::Text, "body.action.reason", "an event of MAX_CLAIM_EVENT_BYTES")
    });
}

/// A valid directory whose envelope is `target` bytes: 240 members with eight 245-byte
/// addresses each and names of 24-255 bytes.
fn directory_of_size(target: usize) -> Directory {
    let base: Vec<Member> = (0..240)
        .map(|index| Member {
            addresses: (0..MAX_ADDRESSES_PER_MEMBER)
                .map(|address| {
                    format!("{}:7400", padded(format!("node-{index}-{address}."), 240).replace('.', "a"))
                })
                .collect(),
            ..member(index, MemberRole::Merchant)
        })
        .collect();
    sized(target, base.len(), 24..=255, |lengths| Directory {
        members: base
            .iter()
            .zip(lengths)
            .enumerate()
            .map(|(index, (member, &length))| Member {
                name: padded(format!("Medlem {index} "), length),
                ..member.clone()
            })
            .collect(),
        ..common::directory()
    })
}

/// The largest valid directory, and its signed bytes.
static LARGEST_DIRECTORY: LazyLock<(Directory, Vec<u8>)> = LazyLock::new(|| {
    let directory = directory_of_size(MAX_DIRECTORY_BYTES);
    let bytes = Signed::sign(directory.clone(), &common::key("operator")).unwrap().bytes().to_vec();
    (directory, bytes)
});

#[test]
fn directories_up_to_max_directory_bytes() {
    let (at, bytes) = &*LARGEST_DIRECTORY;
    assert_eq!(bytes.len(), MAX_DIRECTORY_BYTES);
    assert_eq!(Signed::<Directory>::decode(bytes).unwrap().body(), at);
    let over = directory_of_size(MAX_DIRECTORY_BYTES + 1);
    check_size_limit(MAX_DIRECTORY_BYTES, at, &over, |decoded| assert_eq!(decoded.unwrap().body(), at));
}

#[test]
fn evidence_up_to_max_evidence_bytes() {
    // Two directories of the largest size, one version, differing in their time of issue:
    // the largest valid evidence, within MAX_EVIDENCE_BYTES.
    let (directory, first) = &*LARGEST_DIRECTORY;
    let other = Directory { issued_at: "2026-01-01T00:00:01+01:00".into(), ..directory.clone() };
    let second = Signed::sign(other, &common::key("operator")).unwrap();
    assert_eq!(second.bytes().len(), MAX_DIRECTORY_BYTES);
    let first = AnyRecord::decode(first).unwrap();
    let evidence =
        Evidence::new(&first, &AnyRecord::Directory(second), "2026-01-02T00:00:00+01:00".into()).unwrap();
    let signed = Signed::sign(evidence, &common::key("ssc")).unwrap();
    assert!(signed.bytes().len() <= MAX_EVIDENCE_BYTES, "{}", signed.bytes().len());
    Signed::<Evidence>::decode(signed.bytes()).unwrap();

    // Valid evidence cannot fill the limit, so pad an evidence body with a field it does
    // not have: at the limit it is refused for that field, one byte more for its size.
    let (first, second) = conflicting_receipts();
    let small = Evidence::new(&first, &second, "2026-05-07T09:00:00+02:00".into()).unwrap();
    let padded_to = |target: usize| {
        let envelope = |padding: usize| {
            let mut body = cbor::to_value(&small).unwrap();
            let Value::Map(fields) = &mut body else { panic!("the body is a map") };
            fields.push((Value::Text("padding".into()), Value::Bytes(vec![0; padding])));
            forge_value(RecordType::Evidence, body, &common::key("ssc"))
        };
        let bytes = envelope(target - envelope(70_000).len() + 70_000);
        assert_eq!(bytes.len(), target);
        bytes
    };
    let at = padded_to(MAX_EVIDENCE_BYTES);
    failed(
        Signed::<Evidence>::decode(&at),
        ErrorCode::Schema,
        "body.padding",
        "evidence of MAX_EVIDENCE_BYTES",
    );
    failed(AnyRecord::decode(&at), ErrorCode::Schema, "body.padding", "a record of MAX_RECORD_BYTES");
    let over = padded_to(MAX_EVIDENCE_BYTES + 1);
    failed(Signed::<Evidence>::decode(&over), ErrorCode::RecordSize, "", "evidence one byte past");
    assert_eq!(MAX_RECORD_BYTES, MAX_EVIDENCE_BYTES);
    failed(AnyRecord::decode(&over), ErrorCode::RecordSize, "", "a record one byte past MAX_RECORD_BYTES");
    // Any input past MAX_RECORD_BYTES is refused for its size before it is read.
    failed(AnyRecord::decode(&vec![0xff; MAX_RECORD_BYTES + 1]), ErrorCode::RecordSize, "", "garbage");
    failed(
        Signed::<Receipt>::decode(&vec![0xff; MAX_RECEIPT_BYTES + 1]),
        ErrorCode::RecordSize,
        "",
        "garbage",
    );
}
