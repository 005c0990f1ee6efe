//! Tests of the CBOR profile: shortest forms and key order when encoding, and the
//! decoding checks refusing each non-canonical or out-of-profile input in the order
//! spec/protocol.md §Decoding fixes, with the depth and item limits tested at their edges.

use super::*;
use serde::Deserialize;

fn code(bytes: &[u8]) -> ErrorCode {
    decode(bytes).unwrap_err().code()
}

#[test]
fn integers_take_their_shortest_form() {
    assert_eq!(encode(&1u64).unwrap(), [0x01]);
    assert_eq!(encode(&24u64).unwrap(), [0x18, 24]);
    assert_eq!(encode(&-1i64).unwrap(), [0x20]);
    assert_eq!(encode(&65536u64).unwrap(), [0x1a, 0, 1, 0, 0]);
}

#[test]
fn what_the_profile_lacks_is_refused_when_encoding() {
    let refused = |error: Error| (error.code(), error.to_string().contains("not allowed"));
    assert_eq!(refused(encode(&1.5f64).unwrap_err()), (ErrorCode::ForbiddenType, true));
    assert_eq!(refused(encode(&None::<u8>).unwrap_err()), (ErrorCode::ForbiddenType, true));
    assert_eq!(refused(encode(&vec![(), ()]).unwrap_err()), (ErrorCode::ForbiddenType, true));
    assert_eq!(
        encode(&(u64::MAX, i64::MIN)).unwrap(),
        to_value(&(u64::MAX, i64::MIN)).map(|v| encode_value(&v)).unwrap()
    );
}

#[test]
fn map_keys_sort_by_encoded_bytes_shorter_first() {
    #[derive(Serialize)]
    struct Unsorted {
        zz: u8,
        b: u8,
        aa: u8,
    }
    // {"b": 2, "aa": 3, "zz": 1}: "b" is shorter, so it sorts before "aa".
    let bytes = encode(&Unsorted { zz: 1, b: 2, aa: 3 }).unwrap();
    assert_eq!(hex::encode(bytes), "a361620262616103627a7a01");
}

#[test]
fn rejects_non_shortest_integer() {
    assert_eq!(code(&[0x18, 0x01]), ErrorCode::NonCanonical);
    assert_eq!(code(&[0x19, 0x00, 0x01]), ErrorCode::NonCanonical);
}

#[test]
fn rejects_unsorted_keys_and_indefinite_lengths() {
    assert_eq!(code(&hex::decode("a2617a0161610 2".replace(' ', "")).unwrap()), ErrorCode::NonCanonical);
    assert_eq!(code(&[0x9f, 0x01, 0xff]), ErrorCode::NonCanonical);
    assert_eq!(code(&[0x7f, 0x61, 0x61, 0xff]), ErrorCode::NonCanonical);
}

#[test]
fn rejects_trailing_bytes_duplicates_and_forbidden_types() {
    assert_eq!(code(&[0x01, 0x00]), ErrorCode::TrailingBytes);
    assert_eq!(code(&[0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02]), ErrorCode::DuplicateKey);
    assert_eq!(code(&[0xf6]), ErrorCode::ForbiddenType);
    assert_eq!(code(&[0xf9, 0x3c, 0x00]), ErrorCode::ForbiddenType);
    assert_eq!(code(&[0xc1, 0x01]), ErrorCode::ForbiddenType);
    assert_eq!(code(&[0x18]), ErrorCode::Malformed);
    assert_eq!(code(&[]), ErrorCode::Malformed);
    assert_eq!(code(&[0x62, 0xff, 0xfe]), ErrorCode::Malformed);
}

#[test]
fn depth_limit_is_exact() {
    let nested = |depth: usize| {
        let mut bytes = vec![0x81; depth - 1];
        bytes.push(0x80);
        bytes
    };
    assert!(decode(&nested(MAX_CBOR_DEPTH)).is_ok());
    assert_eq!(code(&nested(MAX_CBOR_DEPTH + 1)), ErrorCode::TooDeep);
    assert_eq!(code(&nested(200)), ErrorCode::TooDeep);
}

#[test]
fn every_tag_and_unknown_simple_value_is_forbidden() {
    // Tag 2 (bignum) over a short byte string, which ciborium alone reads as the integer 1.
    assert_eq!(code(&[0xc2, 0x41, 0x01]), ErrorCode::ForbiddenType);
    assert_eq!(code(&[0xe0]), ErrorCode::ForbiddenType); // simple(0)
    assert_eq!(code(&[0xf8, 0x20]), ErrorCode::ForbiddenType); // simple(32)
    assert_eq!(code(&[0xf7]), ErrorCode::ForbiddenType); // undefined
    assert_eq!(code(&[0xf8, 0x18]), ErrorCode::Malformed); // two-byte simple value below 32
    assert_eq!(code(&[0x1c]), ErrorCode::Malformed); // reserved additional information
    assert_eq!(code(&[0xff]), ErrorCode::Malformed); // a break outside any container
}

#[test]
fn well_formedness_and_trailing_bytes_come_before_depth_at_any_depth() {
    let nested = |depth: usize| {
        let mut bytes = vec![0x81; depth - 1];
        bytes.push(0x80);
        bytes
    };
    let mut trailing = nested(100);
    trailing.push(0x00);
    assert_eq!(code(&trailing), ErrorCode::TrailingBytes);
    let truncated = vec![0x81; 100];
    assert_eq!(code(&truncated), ErrorCode::Malformed);
    // A tag's content is one deeper than the tag; a scalar in the 16th array is at 17.
    let tagged = |depth: usize| [vec![0xc1], nested(depth)].concat();
    assert_eq!(code(&tagged(15)), ErrorCode::ForbiddenType);
    assert_eq!(code(&tagged(16)), ErrorCode::TooDeep);
    assert_eq!(code(&[vec![0x81; 16], vec![0x01]].concat()), ErrorCode::TooDeep);
    // An indefinite map with half a pair, an indefinite text with a byte-string chunk, an
    // array announcing more items than bytes remain.
    assert_eq!(code(&[0xbf, 0x61, 0x61, 0xff]), ErrorCode::Malformed);
    assert_eq!(code(&[0x7f, 0x41, 0x61, 0xff]), ErrorCode::Malformed);
    assert_eq!(code(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), ErrorCode::Malformed);
    assert_eq!(code(&[0xbf, 0x61, 0x61, 0x01, 0xff]), ErrorCode::NonCanonical);
    // The same beyond the depth limit, where a count replaces the stack: indefinite
    // arrays closed, one break short, followed by a byte; half a pair in an indefinite
    // map, and a break inside a definite array, 20 levels down.
    let indefinite = |breaks: usize| [vec![0x9f; 100], vec![0xff; breaks]].concat();
    assert_eq!(code(&indefinite(100)), ErrorCode::TooDeep);
    assert_eq!(code(&indefinite(99)), ErrorCode::Malformed);
    assert_eq!(code(&[indefinite(100), vec![0x00]].concat()), ErrorCode::TrailingBytes);
    let under = |inner: &[u8]| [&[0x81; 20][..], inner].concat();
    assert_eq!(code(&under(&[0xbf, 0x00, 0x00, 0xff])), ErrorCode::TooDeep);
    assert_eq!(code(&under(&[0xbf, 0x00, 0xff])), ErrorCode::Malformed);
    assert_eq!(code(&under(&[0x82, 0x00, 0xff])), ErrorCode::Malformed);
    assert_eq!(code(&under(&[0x9f, 0x82, 0x00, 0x9f, 0xff, 0xff])), ErrorCode::TooDeep);
    assert_eq!(code(&under(&[0x9f, 0x82, 0x00, 0x9f, 0xff])), ErrorCode::Malformed);
}

#[test]
fn item_count_limit_is_exact_and_comes_after_depth() {
    let zeros = |count: usize| encode_value(&Value::Array(vec![Value::Integer(0.into()); count]));
    // The array and its elements.
    assert!(decode(&zeros(MAX_CBOR_ITEMS - 1)).is_ok());
    assert_eq!(code(&zeros(MAX_CBOR_ITEMS)), ErrorCode::TooManyItems);
    // Not canonical either (the length written in 8 bytes): the count is judged first.
    let count = (MAX_CBOR_ITEMS as u64).to_be_bytes();
    let wide = [&[0x9b][..], &count, &vec![0x00; MAX_CBOR_ITEMS]].concat();
    assert_eq!(code(&wide), ErrorCode::TooManyItems);
    // Too deep as well: depth first.
    assert_eq!(code(&[vec![0x81; MAX_CBOR_DEPTH], zeros(MAX_CBOR_ITEMS)].concat()), ErrorCode::TooDeep);
    // A forbidden type as well: the count first.
    assert_eq!(code(&[vec![0x82, 0xf6], zeros(MAX_CBOR_ITEMS)].concat()), ErrorCode::TooManyItems);
}

#[test]
fn a_field_at_its_default_value_does_not_round_trip() {
    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Counted {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        items: Vec<u8>,
        name: String,
    }
    let text = |text: &str| Value::Text(text.into());
    let with_empty = Value::Map(vec![(text("name"), text("a")), (text("items"), Value::Array(vec![]))]);
    let value = decode(&encode_value(&with_empty)).unwrap();
    let typed: Counted = from_value(&value).unwrap();
    let error = check_round_trip(&typed, &value).unwrap_err();
    assert_eq!((error.code(), error.path()), (ErrorCode::Schema, "items"));
    let plain = decode(&encode_value(&Value::Map(vec![(text("name"), text("a"))]))).unwrap();
    check_round_trip(&from_value::<Counted>(&plain).unwrap(), &plain).unwrap();
}

#[test]
fn typed_decode_names_the_field_path() {
    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        amount: i64,
    }
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Outer {
        lines: Vec<Inner>,
    }
    let value =
        decode(&hex::decode("a1656c696e657382a166616d6f756e7401a166616d6f756e746161").unwrap()).unwrap();
    let error = from_value::<Outer>(&value).unwrap_err();
    assert_eq!(error.code(), ErrorCode::Schema);
    assert_eq!(error.path(), "lines[1].amount");
}

#[test]
fn comparing_in_kept_buffers_starts_afresh_each_time() {
    // 1.5 MB, past what a thread keeps: its buffers are dropped, and the next call is right.
    let big = vec![0x1_0000u64; 300_000];
    assert_eq!(write::encodes_to(&big, &encode(&big).unwrap()), Ok(true));
    assert_eq!(write::encodes_to(&1u64, &[0x01]), Ok(true));
    assert_eq!(write::encodes_to(&1u64, &[0x01, 0x01]), Ok(false));
    assert_eq!(write::encodes_to(&(2u64, 3u64), &[0x82, 0x02, 0x03]), Ok(true));
    assert_eq!(write::encodes_to(&1.5f64, &[]), Err(Refused));
}
