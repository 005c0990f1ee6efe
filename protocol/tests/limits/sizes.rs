//! Sizes: the nesting depth of CBOR, its count of data items, and each record type's size
//! in bytes.

use std::ops::RangeInclusive;
use std::sync::LazyLock;

use ciborium::value::Value;
use kvitt_protocol::claim::Claim;
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::event::{Action, ClaimEvent};
use kvitt_protocol::evidence::Evidence;
use kvitt_protocol::limits::*;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::{cbor, AnyRecord, Error, ErrorCode, Record, RecordId, RecordType, Signed};

use crate::records::{claim, conflicting_receipts, event, member, receipt_item, receipt_with, text_line};
use crate::strategies::{counter_key, forge, forge_value};
use crate::{accepted, failed, named, signs_and_decodes};

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
            let mut body = cbor::to_value(&named::receipt()).unwrap();
            let Value::Map(fields) = &mut body else { panic!("the body is a map") };
            let inner = integer.then(|| Value::Integer(1.into()));
            fields.push((Value::Text("x".into()), nested(arrays + extra, inner)));
            forge_value(RecordType::Receipt, body, &named::key("merchant"))
        };
        // At the limit, decoding gets past the depth check to the schema, which knows no "x".
        failed(Signed::<Receipt>::decode(&depth(0)), ErrorCode::Schema, "body.x", "depth MAX_CBOR_DEPTH");
        failed(AnyRecord::decode(&depth(0)), ErrorCode::Schema, "body.x", "depth MAX_CBOR_DEPTH, any type");
        assert!(cbor::decode(&depth(0)).is_ok());
        failed(Signed::<Receipt>::decode(&depth(1)), ErrorCode::TooDeep, "", "depth MAX_CBOR_DEPTH + 1");
        failed(AnyRecord::decode(&depth(1)), ErrorCode::TooDeep, "", "depth MAX_CBOR_DEPTH + 1, any type");
    }
}

/// Data items in `value`, itself included (spec/protocol.md §Decoding, step 4a).
fn items(value: &Value) -> usize {
    1 + match value {
        Value::Array(elements) => elements.iter().map(items).sum(),
        Value::Map(entries) => entries.iter().map(|(key, item)| items(key) + items(item)).sum(),
        Value::Tag(_, content) => items(content),
        _ => 0,
    }
}

#[test]
fn cbor_items_up_to_max_cbor_items() {
    // A directory (the one type large enough) with a field "x" of zeros that makes the
    // envelope hold exactly MAX_CBOR_ITEMS data items, then one more.
    let with_zeros = |count: usize| {
        let mut body = cbor::to_value(&named::directory()).unwrap();
        let Value::Map(fields) = &mut body else { panic!("the body is a map") };
        fields.push((Value::Text("x".into()), Value::Array(vec![Value::Integer(0.into()); count])));
        forge_value(RecordType::Directory, body, &named::key("operator"))
    };
    let envelope: Value = ciborium::from_reader(with_zeros(0).as_slice()).unwrap();
    let at_limit = MAX_CBOR_ITEMS - items(&envelope);
    assert!(with_zeros(at_limit + 1).len() <= MAX_DIRECTORY_BYTES);
    // At the limit, decoding gets past the item count to the schema, which knows no "x".
    failed(Signed::<Directory>::decode(&with_zeros(at_limit)), ErrorCode::Schema, "body.x", "MAX_CBOR_ITEMS");
    failed(AnyRecord::decode(&with_zeros(at_limit)), ErrorCode::Schema, "body.x", "MAX_CBOR_ITEMS, any type");
    let over = with_zeros(at_limit + 1);
    failed(Signed::<Directory>::decode(&over), ErrorCode::TooManyItems, "", "MAX_CBOR_ITEMS + 1");
    failed(AnyRecord::decode(&over), ErrorCode::TooManyItems, "", "MAX_CBOR_ITEMS + 1, any type");
    // Depth is judged first: the same items one level too deep are too deep.
    let mut deep = cbor::to_value(&named::directory()).unwrap();
    let Value::Map(fields) = &mut deep else { panic!("the body is a map") };
    fields.push((
        Value::Text("x".into()),
        nested(MAX_CBOR_DEPTH, Some(Value::Array(vec![Value::Integer(0.into()); at_limit + 1]))),
    ));
    let deep = forge_value(RecordType::Directory, deep, &named::key("operator"));
    failed(AnyRecord::decode(&deep), ErrorCode::TooDeep, "", "too deep and too many items");
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
        ..named::directory()
    })
}

/// The largest valid directory, and its signed bytes.
static LARGEST_DIRECTORY: LazyLock<(Directory, Vec<u8>)> = LazyLock::new(|| {
    let directory = directory_of_size(MAX_DIRECTORY_BYTES);
    let bytes = Signed::sign(directory.clone(), &named::key("operator")).unwrap().bytes().to_vec();
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
    let second = Signed::sign(other, &named::key("operator")).unwrap();
    assert_eq!(second.bytes().len(), MAX_DIRECTORY_BYTES);
    let first = AnyRecord::decode(first).unwrap();
    let evidence =
        Evidence::new(&first, &AnyRecord::Directory(second), "2026-01-02T00:00:00+01:00".into()).unwrap();
    let signed = Signed::sign(evidence, &named::key("ssc")).unwrap();
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
            forge_value(RecordType::Evidence, body, &named::key("ssc"))
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

#[test]
fn assignments_up_to_max_assignment_bytes() {
    use kvitt_protocol::assignment::Assignment;
    use kvitt_protocol::receipt::Buyer;
    let assignment = |employee: String| Assignment {
        receipt: RecordId([3; 32]),
        buyer: Buyer { agency: "202100-5489".into(), employee: Some(employee) },
        assigned_at: "2026-05-05T09:30:00+02:00".into(),
    };
    // The largest valid assignment (the longest employee reference) is far below the limit.
    let largest = assignment("e".repeat(MAX_CODE_BYTES));
    accepted(&largest, "the largest assignment");
    assert!(envelope_length(&largest) < MAX_ASSIGNMENT_BYTES / 2, "{}", envelope_length(&largest));
    // So one of exactly the limit has an overlong employee, and is refused for that.
    let sized_assignment =
        |target: usize| sized(target, 1, 256..=65_535, |lengths| assignment("e".repeat(lengths[0])));
    let (at, over) = (sized_assignment(MAX_ASSIGNMENT_BYTES), sized_assignment(MAX_ASSIGNMENT_BYTES + 1));
    check_size_limit(MAX_ASSIGNMENT_BYTES, &at, &over, |decoded| {
        failed(decoded, ErrorCode::Text, "body.buyer.employee", "an assignment of MAX_ASSIGNMENT_BYTES")
    });
}
