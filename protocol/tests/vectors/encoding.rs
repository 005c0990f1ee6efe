//! Encoding faults on the two-rates receipt (its signature stays valid): non-canonical
//! integers and lengths, unsorted and duplicate keys, forbidden types, depth and size.

use super::*;

/// The vectors of this family.
pub(crate) fn vectors(base: &Base) -> Vec<Vector> {
    use ErrorCode as E;
    let Base { hotel, .. } = base;
    let mut vectors = Vec::new();
    let good = hotel.bytes().to_vec();
    let body = body_value(hotel.body());
    assert_eq!(good[..SIG_OFFSET], ENVELOPE_HEAD, "the envelope starts {{\"v\": 1, \"sig\": h'…'");
    vectors.push(on_hotel(
        "encoding-non-shortest-integer",
        "The envelope's v is 1 written as 0x18 0x01 instead of 0x01.",
        [&good[..3], &[0x18, 0x01], &good[4..]].concat(),
        E::NonCanonical,
        "",
    ));
    vectors.push(on_hotel(
        "encoding-non-shortest-length",
        "The text \"SEK\" has its length 3 written as 0x78 0x03 instead of in the initial byte.",
        replace_once(&good, &text_bytes("SEK"), &[&[0x78, 0x03], "SEK".as_bytes()].concat()),
        E::NonCanonical,
        "",
    ));
    let sig = signature("receipt", &body, MERCHANT);
    let signer = common::public(MERCHANT).0;
    let unsorted = cbor::encode_value(&Value::Map(vec![
        (text("sig"), Value::Bytes(sig.to_vec())),
        (text("v"), Value::Integer(1.into())),
        (text("body"), body.clone()),
        (text("type"), text("receipt")),
        (text("signer"), Value::Bytes(signer.to_vec())),
    ]));
    vectors.push(on_hotel(
        "encoding-unsorted-keys",
        "The envelope puts \"sig\" before \"v\": keys sort by their encoded bytes, shorter first, so \"v\" (0x61 0x76) comes first.",
        unsorted,
        E::NonCanonical,
        "",
    ));
    let lines = cbor::encode_value(at(&mut body.clone(), "lines"));
    assert_eq!(lines[0], 0x82, "two lines");
    vectors.push(on_hotel(
        "encoding-indefinite-array",
        "The lines array is written with indefinite length (0x9f … 0xff).",
        replace_once(&good, &lines, &[&[0x9f], &lines[1..], &[0xff]].concat()),
        E::NonCanonical,
        "",
    ));
    let mut duplicated = body.clone();
    {
        let entries = duplicated.as_map_mut().expect("a body is a map");
        let position =
            entries.iter().position(|(key, _)| key.as_text() == Some("currency")).expect("currency");
        entries.insert(position + 1, (text("currency"), text("SEK")));
    }
    vectors.push(on_hotel(
        "encoding-duplicate-key",
        "The body holds the key \"currency\" twice (same value both times).",
        envelope(Value::Integer(1.into()), "receipt", duplicated, &signer, &sig),
        E::DuplicateKey,
        "body",
    ));
    vectors.push(on_hotel(
        "encoding-trailing-byte",
        "A valid receipt followed by one 0x00 byte.",
        [&good[..], &[0x00]].concat(),
        E::TrailingBytes,
        "",
    ));
    let mut with_float = body.clone();
    *at(&mut with_float, "serial") = Value::Float(1042.0);
    vectors.push(on_hotel(
        "encoding-float",
        "The serial number is the float 1042.0 instead of the integer 1042.",
        envelope(Value::Integer(1.into()), "receipt", with_float, &signer, &sig),
        E::ForbiddenType,
        "body.serial",
    ));
    let mut with_null = body.clone();
    *at(&mut with_null, "merchant.vat_number") = Value::Null;
    vectors.push(on_hotel(
        "encoding-null",
        "The merchant's VAT number is null: absent values are left out, never null.",
        envelope(Value::Integer(1.into()), "receipt", with_null, &signer, &sig),
        E::ForbiddenType,
        "body.merchant.vat_number",
    ));
    let mut with_tag = body.clone();
    let issued_at = at(&mut with_tag, "issued_at");
    *issued_at = Value::Tag(0, Box::new(issued_at.clone()));
    vectors.push(on_hotel(
        "encoding-tag",
        "issued_at is wrapped in tag 0 (standard date/time string): tags are not allowed.",
        envelope(Value::Integer(1.into()), "receipt", with_tag, &signer, &sig),
        E::ForbiddenType,
        "body.issued_at",
    ));
    let mut too_deep = body.clone();
    // envelope 1, body 2, lines 3, line 4: 13 nested arrays put the innermost at depth 17.
    *at(&mut too_deep, "lines[0].description") =
        (0..12).fold(Value::Array(vec![]), |inner, _| Value::Array(vec![inner]));
    vectors.push(on_hotel(
        "encoding-too-deep",
        "A line's description is 13 nested arrays, the innermost at depth 17 (the envelope map is depth 1; the limit is 16). Depth is checked before types and schema.",
        envelope(Value::Integer(1.into()), "receipt", too_deep, &signer, &sig),
        E::TooDeep,
        "",
    ));
    vectors.push(on_hotel(
        "encoding-truncated",
        "A valid receipt with its last byte cut off.",
        good[..good.len() - 1].to_vec(),
        E::Malformed,
        "",
    ));
    vectors.push(on_hotel(
        "encoding-invalid-utf8",
        "The city \"Stockholm\" has its first byte replaced by 0xff: a text string must be valid UTF-8.",
        replace_once(&good, &text_bytes("Stockholm"), &[&[0x69, 0xff], "tockholm".as_bytes()].concat()),
        E::Malformed,
        "",
    ));

    vectors
}
