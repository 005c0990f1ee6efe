//! The kvitt CBOR profile: one byte form per value.
//!
//! Encoding is RFC 8949 §4.2.1 deterministic CBOR, produced with ciborium: definite lengths,
//! shortest integer forms, map keys sorted by the bytes of their encodings. The profile
//! allows only unsigned and negative integers, byte strings, text strings, arrays, maps and
//! the simple values true and false; absent optional fields are left out, never `null`.
//!
//! Decoding is strict and runs the checks in the order spec/protocol.md §Decoding fixes, so
//! every implementation reports the same first error: well-formed, no trailing bytes, depth,
//! count of data items, allowed types, no duplicate keys, and finally byte-for-byte
//! equality with the re-encoding, which rejects every other non-deterministic form
//! (`0x18 0x01` for 1, unsorted keys, indefinite lengths). The first four are judged from
//! the bytes alone (module `scan`), so a value is built only for an input of bounded depth and
//! size.
//!
//! Those steps rank the errors; for bytes that pass them all they are wasted work. So
//! [`decode`] and [`from_canonical`] first read the input in one pass that checks the
//! whole profile as it goes ([`strict`]) and say nothing but "refused"; only then do the
//! ordered checks run, to name the error.

use ciborium::value::{Integer, Value};
use serde::de::{self, DeserializeOwned, IntoDeserializer};
use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};
use crate::limits::{MAX_CBOR_DEPTH, MAX_CBOR_ITEMS};

mod scan;
mod strict;
mod write;

pub(crate) use strict::Refused;

/// Deterministic encoding of any serde value in the profile.
///
/// Fails only if `value` serializes to something outside the profile (a float, say): a
/// programmer error in this crate's types, reported rather than panicking.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    // Straight to bytes; only what it refuses goes through the value tree, which names why.
    match write::to_vec(value, 256) {
        Ok(bytes) => Ok(bytes),
        Err(Refused) => Ok(encode_value(&to_value(value)?)),
    }
}

/// The value tree of any serde value, in the profile, with every map sorted.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value> {
    let value = Value::serialized(value)
        .map_err(|error| Error::new(ErrorCode::ForbiddenType, "", format!("cannot encode: {error}")))?;
    check_profile(&value, &Position::Root)?;
    Ok(sorted(value))
}

/// The encoding of a value tree that [`to_value`] or [`decode`] produced (sorted maps,
/// nothing outside the profile); anything else it encodes as it stands.
pub fn encode_value(value: &Value) -> Vec<u8> {
    let mut bytes = Vec::new();
    // Writing to a Vec cannot fail, and every Value variant is encodable.
    if ciborium::into_writer(value, &mut bytes).is_err() {
        bytes.clear();
    }
    bytes
}

/// The value with every map's entries sorted by the bytes of their encoded keys.
fn sorted(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        Value::Map(entries) => {
            let mut entries: Vec<(Value, Value)> =
                entries.into_iter().map(|(key, item)| (sorted(key), sorted(item))).collect();
            entries.sort_by(|(a, _), (b, _)| canonical_order(a, b));
            Value::Map(entries)
        }
        other => other,
    }
}

/// The order of two map keys in deterministic encoding: by the bytes of their encodings.
/// Two texts (the usual keys) compare without encoding them: a text's encoding is a head
/// that grows with its length, then its bytes, so shorter first, then bytewise.
fn canonical_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Text(a), Value::Text(b)) => {
            a.len().cmp(&b.len()).then_with(|| a.as_bytes().cmp(b.as_bytes()))
        }
        _ => encode_value(a).cmp(&encode_value(b)),
    }
}

/// Whether every map in `value` has its keys in strictly increasing deterministic order.
fn in_canonical_order(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().all(in_canonical_order),
        Value::Map(entries) => {
            entries.windows(2).all(|pair| match pair {
                [(a, _), (b, _)] => canonical_order(a, b).is_lt(),
                _ => true,
            }) && entries.iter().all(|(key, item)| in_canonical_order(key) && in_canonical_order(item))
        }
        _ => true,
    }
}

/// Decodes one value and checks that `bytes` is its one deterministic encoding.
pub fn decode(bytes: &[u8]) -> Result<Value> {
    let mut reader = strict::Reader::new(bytes, 1, 0);
    match reader.value() {
        Ok(value) if reader.is_done() => Ok(value),
        _ => decode_ordered(bytes),
    }
}

/// The typed value whose deterministic encoding `bytes` is, read in one pass, or
/// `Refused` if `bytes` is anything else: outside the profile, not deterministic, not of
/// `T`'s schema, or not what `T` encodes back to ([`check_round_trip`]). The item sits at
/// `depth` inside an input that holds `items_before` other data items, for the limits.
///
/// Accepts exactly what [`decode`], [`from_value`] and [`check_round_trip`] accept
/// together, and gives the same `T`; on `Refused`, those name the error.
pub(crate) fn from_canonical<T: DeserializeOwned + Serialize>(
    bytes: &[u8],
    depth: usize,
    items_before: usize,
) -> std::result::Result<T, Refused> {
    let mut reader = strict::Reader::new(bytes, depth, items_before);
    let typed: T = strict::from_slice(&mut reader)?;
    if !reader.is_done() || write::to_vec(&typed, bytes.len())? != bytes {
        return Err(Refused);
    }
    Ok(typed)
}

/// [`decode`] by the ordered steps of spec/protocol.md §Decoding: the first that fails
/// names the error.
fn decode_ordered(bytes: &[u8]) -> Result<Value> {
    let scan = scan::scan(bytes)?;
    if scan.end != bytes.len() {
        return Err(Error::new(
            ErrorCode::TrailingBytes,
            "",
            format!("{} bytes follow the CBOR item", bytes.len() - scan.end),
        ));
    }
    if scan.too_deep {
        return Err(Error::new(
            ErrorCode::TooDeep,
            "",
            format!("nested deeper than the limit of {MAX_CBOR_DEPTH}"),
        ));
    }
    if scan.items > MAX_CBOR_ITEMS {
        return Err(Error::new(
            ErrorCode::TooManyItems,
            "",
            format!("{} data items, limit {MAX_CBOR_ITEMS}", scan.items),
        ));
    }
    let forbidden = || {
        Error::new(
            ErrorCode::ForbiddenType,
            "",
            "a tag, float, null, undefined or simple value other than true/false is not allowed in kvitt CBOR",
        )
    };
    // The item is well-formed, shallow and of bounded size, so ciborium cannot fail on its
    // structure or depth, and the value it builds costs a bounded multiple of the input.
    // It does read tags 2 and 3 over short byte strings as integers and refuses simple values
    // it does not know; `scan` saw those as forbidden already.
    let mut rest = bytes;
    let value: Value = ciborium::de::from_reader(&mut rest).map_err(|error| {
        if scan.forbidden {
            forbidden()
        } else {
            Error::new(ErrorCode::Malformed, "", format!("not well-formed CBOR: {error}"))
        }
    })?;
    check_profile(&value, &Position::Root)?;
    if scan.forbidden {
        return Err(forbidden());
    }
    check_no_duplicate_keys(&value, &Position::Root)?;
    // Sorted keys and an encoding equal to the input: shortest heads and definite lengths
    // are all the encoder writes, so that is the deterministic encoding.
    if !in_canonical_order(&value) || encode_value(&value) != bytes {
        return Err(Error::new(
            ErrorCode::NonCanonical,
            "",
            "not the deterministic encoding (RFC 8949 §4.2.1): shortest integers, definite \
             lengths, sorted map keys",
        ));
    }
    Ok(value)
}

/// Where a checked value sits, rendered into a field path (`lines[2].vat_rate`) only when
/// there is an error to report: building the path of every value eagerly cost a third of
/// a record's decoding time.
#[derive(Clone, Copy)]
enum Position<'a> {
    /// The top of the value.
    Root,
    /// The value under `key` of the map at the parent position.
    Key(&'a Position<'a>, &'a Value),
    /// The item at `index` of the array at the parent position.
    Index(&'a Position<'a>, usize),
}

impl Position<'_> {
    fn path(&self) -> String {
        match self {
            Position::Root => String::new(),
            Position::Key(parent, key) => crate::error::join_path(&parent.path(), &key_name(key)),
            Position::Index(parent, index) => format!("{}[{index}]", parent.path()),
        }
    }
}

fn check_profile(value: &Value, at: &Position<'_>) -> Result<()> {
    let forbidden = |what: &str| {
        Err(Error::new(ErrorCode::ForbiddenType, at.path(), format!("{what} is not allowed in kvitt CBOR")))
    };
    match value {
        Value::Integer(_) | Value::Bytes(_) | Value::Text(_) | Value::Bool(_) => Ok(()),
        Value::Float(_) => forbidden("a float"),
        Value::Tag(tag, _) => forbidden(&format!("tag {tag}")),
        Value::Null => forbidden("null"),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(index, item)| check_profile(item, &Position::Index(at, index))),
        Value::Map(entries) => entries.iter().try_for_each(|(key, item)| {
            let item_at = Position::Key(at, key);
            check_profile(key, &item_at)?;
            check_profile(item, &item_at)
        }),
        _ => forbidden("this simple value"),
    }
}

fn check_no_duplicate_keys(value: &Value, at: &Position<'_>) -> Result<()> {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(index, item)| check_no_duplicate_keys(item, &Position::Index(at, index))),
        Value::Map(entries) => {
            if let Some(key) = duplicate_key(entries) {
                return Err(Error::new(
                    ErrorCode::DuplicateKey,
                    at.path(),
                    format!("map key (encoded {}) appears more than once", hex::encode(key)),
                ));
            }
            // Keys too: a map inside a key must not hold a key twice either.
            entries.iter().try_for_each(|(key, item)| {
                let item_at = Position::Key(at, key);
                check_no_duplicate_keys(key, &item_at)?;
                check_no_duplicate_keys(item, &item_at)
            })
        }
        _ => Ok(()),
    }
}

/// The deterministic encoding of a key that appears twice among `entries`, if one does.
/// Keys are the same when their deterministic encodings are (§Encoding rule 3). Text keys
/// (the usual case) are the same exactly when their texts are, so they are compared
/// directly; other keys are compared by encoding, sorted first since a key may itself be a
/// map.
fn duplicate_key(entries: &[(Value, Value)]) -> Option<Vec<u8>> {
    let texts: Option<Vec<&str>> = entries.iter().map(|(key, _)| key.as_text()).collect();
    if let Some(mut texts) = texts {
        texts.sort_unstable();
        let twice = texts.windows(2).find_map(|pair| match pair {
            [first, second] if first == second => Some(*first),
            _ => None,
        })?;
        return Some(encode_value(&Value::Text(twice.to_owned())));
    }
    let mut keys: Vec<Vec<u8>> = entries.iter().map(|(key, _)| encode_value(&sorted(key.clone()))).collect();
    keys.sort();
    keys.windows(2).find_map(|pair| match pair {
        [first, second] if first == second => Some(first.clone()),
        _ => None,
    })
}

/// How a map key reads in a field path: text as itself, anything else in brackets.
fn key_name(key: &Value) -> String {
    match key {
        Value::Text(text) => text.clone(),
        Value::Integer(integer) => format!("[{}]", i128::from(*integer)),
        _ => "[key]".to_owned(),
    }
}

/// Converts a decoded value into a typed one; a mismatch names the field path.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T> {
    serde_path_to_error::deserialize(ValueDeserializer(value)).map_err(|error| {
        let path = error.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let message = error.into_inner().0;
        // serde reports a missing field at the enclosing map; name the field itself.
        let path = match message.strip_prefix("missing field `").and_then(|rest| rest.strip_suffix('`')) {
            Some(field) => crate::error::join_path(&path, field),
            None => path,
        };
        Error::new(ErrorCode::Schema, path, message)
    })
}

/// Checks that `typed`, read by [`from_value`] from `value` as [`decode`] returned it (maps
/// sorted), encodes back to `value`. This refuses a field that holds its default value (an
/// empty list, a zero count) or that its type ignores (any field beside `kind` of a variant
/// without fields), so that one record has one byte form: such a field must be omitted.
pub fn check_round_trip<T: Serialize>(typed: &T, value: &Value) -> Result<()> {
    let expected = to_value(typed)?;
    if *value == expected {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::Schema,
        first_extra(value, &expected, ""),
        "does not encode back to itself: a field at its default value (omit it), unknown to its type, or of another CBOR type than the schema's",
    ))
}

/// The path of the first field of `given` that `expected` lacks or holds otherwise.
fn first_extra(given: &Value, expected: &Value, path: &str) -> String {
    match (given, expected) {
        (Value::Map(given), Value::Map(expected)) => {
            for (key, item) in given {
                let item_path = crate::error::join_path(path, &key_name(key));
                match expected.iter().find(|(other, _)| other == key) {
                    Some((_, other)) if other == item => {}
                    Some((_, other)) => return first_extra(item, other, &item_path),
                    None => return item_path,
                }
            }
            path.to_owned()
        }
        (Value::Array(given), Value::Array(expected)) => {
            given.iter().zip(expected).enumerate().find(|(_, (item, other))| item != other).map_or_else(
                || path.to_owned(),
                |(index, (item, other))| first_extra(item, other, &format!("{path}[{index}]")),
            )
        }
        _ => path.to_owned(),
    }
}

/// A serde error carrying only its message; the path is tracked by serde_path_to_error.
#[derive(Debug)]
pub struct SchemaError(String);

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SchemaError {}

impl de::Error for SchemaError {
    fn custom<M: std::fmt::Display>(message: M) -> Self {
        SchemaError(message.to_string())
    }
}

/// Lets serde read typed values straight from a decoded [`Value`] tree (ciborium keeps its
/// own value deserializer private).
#[derive(Clone, Copy)]
struct ValueDeserializer<'a>(&'a Value);

impl<'de> IntoDeserializer<'de, SchemaError> for ValueDeserializer<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'_> {
    type Error = SchemaError;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        match self.0 {
            Value::Integer(integer) => visit_integer(*integer, visitor),
            Value::Bytes(bytes) => visitor.visit_bytes(bytes),
            Value::Text(text) => visitor.visit_str(text),
            Value::Bool(flag) => visitor.visit_bool(*flag),
            Value::Array(items) => {
                visitor.visit_seq(de::value::SeqDeserializer::new(items.iter().map(ValueDeserializer)))
            }
            Value::Map(entries) => visitor.visit_map(de::value::MapDeserializer::new(
                entries.iter().map(|(key, item)| (ValueDeserializer(key), ValueDeserializer(item))),
            )),
            _ => Err(de::Error::custom("value outside the kvitt CBOR profile")),
        }
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        visitor.visit_some(self)
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SchemaError> {
        match self.0 {
            Value::Text(text) => visitor.visit_enum(text.as_str().into_deserializer()),
            _ => Err(de::Error::custom("expected a text naming one of the allowed values")),
        }
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, SchemaError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

fn visit_integer<'de, V: de::Visitor<'de>>(integer: Integer, visitor: V) -> Result<V::Value, SchemaError> {
    let wide = i128::from(integer);
    if let Ok(small) = u64::try_from(wide) {
        visitor.visit_u64(small)
    } else if let Ok(small) = i64::try_from(wide) {
        visitor.visit_i64(small)
    } else {
        visitor.visit_i128(wide)
    }
}

#[cfg(test)]
mod tests {
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
}
