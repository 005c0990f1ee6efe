//! Bytes built by hand: envelopes, signatures and CBOR edits that the public API would
//! refuse to make, so that invalid vectors can reach the rule they break.

use super::*;

pub(crate) fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

/// `"kvitt/1/" || type || 0x00 || body`, for any type name (the library's `signing_input`
/// takes only known types).
pub(crate) fn raw_signing_input(type_name: &str, body_bytes: &[u8]) -> Vec<u8> {
    let mut input = format!("kvitt/1/{type_name}\0").into_bytes();
    input.extend_from_slice(body_bytes);
    input
}

/// Every canonical envelope starts `{"v": 1, "sig": <64 bytes>`: map(5), "v", 1, "sig",
/// bytes(64). The signature's first byte follows.
pub(crate) const ENVELOPE_HEAD: [u8; 10] = [0xa5, 0x61, b'v', 0x01, 0x63, b's', b'i', b'g', 0x58, 0x40];
pub(crate) const SIG_OFFSET: usize = ENVELOPE_HEAD.len();

/// An envelope with its fields in canonical order (v, sig, body, type, signer: by the bytes
/// of the encoded keys), encoded exactly as given, so faults placed in `body` survive.
pub(crate) fn envelope(version: Value, type_name: &str, body: Value, signer: &[u8], sig: &[u8]) -> Vec<u8> {
    cbor::encode_value(&Value::Map(vec![
        (text("v"), version),
        (text("sig"), Value::Bytes(sig.to_vec())),
        (text("body"), body),
        (text("type"), text(type_name)),
        (text("signer"), Value::Bytes(signer.to_vec())),
    ]))
}

/// The body's value tree, sorted as the canonical encoding sorts it.
pub(crate) fn body_value<T: Serialize>(body: &T) -> Value {
    cbor::to_value(body).expect("a typed body is in the CBOR profile")
}

/// The signature of `key_name` over `body` (encoded as it stands) in the domain `sign_as`.
pub(crate) fn signature(sign_as: &str, body: &Value, key_name: &str) -> [u8; 64] {
    common::key(key_name).sign(&raw_signing_input(sign_as, &cbor::encode_value(body))).to_bytes()
}

/// An envelope of type `type_name` whose body is signed correctly by `key_name`.
pub(crate) fn forge(type_name: &str, body: Value, key_name: &str) -> Vec<u8> {
    let sig = signature(type_name, &body, key_name);
    envelope(Value::Integer(1.into()), type_name, body, &common::public(key_name).0, &sig)
}

/// A correctly signed envelope around a typed body, whatever its rules say.
pub(crate) fn forge_typed<T: Record>(body: &T, key_name: &str) -> Vec<u8> {
    forge(T::TYPE.as_str(), body_value(body), key_name)
}

/// The map entry at a dotted path (`merchant.vat_number`, `lines[0].description`).
pub(crate) fn at<'a>(value: &'a mut Value, path: &str) -> &'a mut Value {
    let mut current = value;
    for segment in path.split('.') {
        let (key, indices) = segment.split_at(segment.find('[').unwrap_or(segment.len()));
        if !key.is_empty() {
            let entries = current.as_map_mut().unwrap_or_else(|| panic!("{path}: {key} is not in a map"));
            current = &mut entries
                .iter_mut()
                .find(|(name, _)| name.as_text() == Some(key))
                .unwrap_or_else(|| panic!("{path}: no field {key}"))
                .1;
        }
        for index in indices.split(['[', ']']).filter(|index| !index.is_empty()) {
            let index: usize = index.parse().expect("an array index");
            current = current
                .as_array_mut()
                .and_then(|items| items.get_mut(index))
                .unwrap_or_else(|| panic!("{path}: no item {index}"));
        }
    }
    current
}

/// `bytes` with the one occurrence of `from` replaced by `to`.
pub(crate) fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let found: Vec<usize> =
        bytes.windows(from.len()).enumerate().filter(|(_, w)| *w == from).map(|(i, _)| i).collect();
    assert_eq!(found.len(), 1, "{} must occur exactly once", hex::encode(from));
    let start = found[0];
    [&bytes[..start], to, &bytes[start + from.len()..]].concat()
}

/// The encoding of a text string.
pub(crate) fn text_bytes(value: &str) -> Vec<u8> {
    cbor::encode_value(&text(value))
}

/// `sig` with its S half (little-endian) increased by the group order L.
pub(crate) fn add_group_order(sig: &[u8; 64]) -> [u8; 64] {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = *sig;
    let mut carry = 0u16;
    for (byte, add) in out[32..].iter_mut().zip(L) {
        let sum = u16::from(*byte) + u16::from(add) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "S + L fits in 32 bytes");
    out
}

/// A vector of the two-rates receipt's bytes, broken as `bytes` shows, refused with `code` at
/// `path`.
pub(crate) fn on_hotel(name: &str, description: &str, bytes: Vec<u8>, code: ErrorCode, path: &str) -> Vector {
    Vector::record(name, "receipt", description, bytes).signed_by(MERCHANT).fails(code, path)
}
