//! The checks every decoder fuzz target runs on input that decodes.
//!
//! Random bytes almost never carry a valid signature, so the success path is reached from
//! seeds (`fuzz/seed_corpus.py` copies spec/vectors/ into the corpus); the decoders' error
//! paths, where a panic on peer input would hide, are reached from anything.

use ciborium::value::Value;
use kvitt_protocol::{cbor, AnyRecord, Record, Signed};

/// Decodes `data` as a `T`; if it is valid, checks that it keeps the input bytes and that
/// its typed body re-encodes to exactly the body bytes that were signed.
pub fn decode<T: Record>(data: &[u8]) {
    if let Ok(record) = Signed::<T>::decode(data) {
        check(&record, data);
    }
}

/// As [`decode`], for a record of whatever type its envelope names.
pub fn decode_any(data: &[u8]) {
    let Ok(record) = AnyRecord::decode(data) else { return };
    assert_eq!(record.bytes(), data);
    match &record {
        AnyRecord::Receipt(record) => check(record, data),
        AnyRecord::Claim(record) => check(record, data),
        AnyRecord::ClaimEvent(record) => check(record, data),
        AnyRecord::Directory(record) => check(record, data),
        AnyRecord::Evidence(record) => check(record, data),
        AnyRecord::Assignment(record) => check(record, data),
    }
}

/// Reads `data` as a typed receipt code (spec/codes.md): no panic, and a code read is
/// read back from its display, its QR payload and its random part.
pub fn parse_code(data: &[u8]) {
    use kvitt_protocol::code::ReceiptCode;
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(code) = ReceiptCode::parse(text) else { return };
    assert_eq!(ReceiptCode::parse(&code.to_string()).as_ref(), Ok(&code));
    assert_eq!(ReceiptCode::parse(&code.qr_payload()).as_ref(), Ok(&code));
    assert_eq!(ReceiptCode::parse_secret(&code.merchant(), &code.secret_text()).as_ref(), Ok(&code));
}

/// Decodes `data` as profile CBOR; if it is accepted, it is its own re-encoding.
pub fn cbor_decode(data: &[u8]) {
    if let Ok(value) = cbor::decode(data) {
        assert_eq!(cbor::encode_value(&value), data, "accepted CBOR re-encodes to other bytes");
    }
}

/// Decodes `data` as a node-to-node request and as a response (spec/node.md §Messages);
/// a message either accepts is its own re-encoding.
pub fn decode_message(data: &[u8]) {
    use kvitt_protocol::wire::{Request, Response};
    if let Ok(request) = Request::decode(data) {
        assert_eq!(
            request.encode().expect("a decoded request encodes"),
            data,
            "a request re-encodes to other bytes"
        );
    }
    if let Ok(response) = Response::decode(data) {
        assert_eq!(
            response.encode().expect("a decoded response encodes"),
            data,
            "a response re-encodes to other bytes"
        );
    }
}

fn check<T: Record>(record: &Signed<T>, data: &[u8]) {
    assert_eq!(record.bytes(), data, "a decoded record keeps other bytes than its input");
    let Ok(Value::Map(fields)) = cbor::decode(data) else { panic!("a valid record is not a CBOR map") };
    let signed_body = fields
        .iter()
        .find(|(key, _)| *key == Value::Text("body".into()))
        .map(|(_, body)| cbor::encode_value(body))
        .expect("a valid record has a body");
    let typed_body = cbor::encode(record.body()).expect("a valid body encodes");
    assert_eq!(typed_body, signed_body, "the typed body re-encodes to other bytes than were signed");
}

/// Imports `data` as a document of `format` (kvitt_formats): it must not panic, and a
/// document it accepts must map to a receipt that passes every receipt rule, the same
/// receipt every time.
pub fn import(format: kvitt_formats::Format, data: &[u8]) {
    use kvitt_protocol::Record;
    let supplement = kvitt_formats::Supplement {
        buyer: Some(kvitt_protocol::receipt::Buyer { agency: "202100-5489".into(), employee: None }),
        original: None,
    };
    if let Ok(imported) = kvitt_formats::import(format, data, &supplement) {
        let receipt = &imported.receipt;
        assert!(receipt.validate().is_ok(), "an imported receipt breaks a rule: {receipt:?}");
        assert_eq!(
            kvitt_formats::import(format, data, &supplement).ok(),
            Some(imported),
            "not deterministic"
        );
    }
}
