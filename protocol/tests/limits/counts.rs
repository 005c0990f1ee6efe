//! Counts: lines, discounts and payments per receipt, items and participants per claim,
//! members and addresses per directory, records per delivery, bytes per message.

use kvitt_protocol::claim::{Claim, ClaimItem};
use kvitt_protocol::limits::*;
use kvitt_protocol::receipt::Payment;
use kvitt_protocol::wire::{RecordBytes, Request, RequestBody};
use kvitt_protocol::{ErrorCode, Signed};

use crate::records::{claim, directory_of, discount, receipt_item, receipt_with, text_line};
use crate::strategies::counter_key;
use crate::{accepted, failed, named, refused, signs_and_decodes};

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
        let mut directory = named::directory();
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
