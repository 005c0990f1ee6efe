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
//! [`decode`], [`from_canonical`] and [`decode_typed`] (whole messages and frames) first
//! read the input in one pass that checks the whole profile as it goes ([`strict`]) and say nothing but "refused"; only then do the
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
    if !reader.is_done() || !write::encodes_to(&typed, bytes)? {
        return Err(Refused);
    }
    Ok(typed)
}

/// Decodes the typed value whose deterministic encoding `bytes` is (a whole message or
/// frame): in one pass ([`from_canonical`]) when the bytes are right, else by
/// [`decode_by_value`], whose ordered checks, schema and round trip name the first error.
/// The two accept the same bytes as the same `T`, so the errors are the value tree's.
pub fn decode_typed<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<T> {
    from_canonical(bytes, 1, 0).or_else(|Refused| decode_by_value(bytes))
}

/// [`decode_typed`] through the value tree: [`decode`], [`from_value`], then
/// [`check_round_trip`]. The reference that the one-pass read must agree with, and the
/// path that names the error of bytes it refuses.
pub fn decode_by_value<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<T> {
    let value = decode(bytes)?;
    let typed: T = from_value(&value)?;
    check_round_trip(&typed, &value)?;
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
mod tests;
#[cfg(test)]
mod typed_tests;
