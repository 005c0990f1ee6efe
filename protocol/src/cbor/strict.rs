//! The one-pass reader: decodes an item that is already in the profile and in its
//! deterministic form, checking that as it goes, straight into a [`Value`] or, through
//! serde, into a typed value, with no tree in between.
//!
//! It refuses every input the ordered checks of [`super::decode`] would refuse (and no
//! valid one), but says nothing about why: a refusal carries no detail and costs nothing
//! to build. Callers then run the ordered checks, which name the first failing step as
//! spec/protocol.md §Decoding fixes. So the reader needs only to be strict, never to
//! rank errors, and the common case (valid bytes) pays for no error path at all.
//!
//! Checked as it goes: every head complete and in its shortest form, definite lengths
//! only, strings within the input and texts valid UTF-8, only the profile's types, the
//! depth and the count of data items within their limits, and every map's keys in
//! strictly increasing order of their encoded bytes (which also refuses a key twice).
//! Recursion is bounded by the depth limit; what a refused input cost is bounded by the
//! part of it read.

use ciborium::value::{Integer, Value};
use serde::de::{self, IntoDeserializer};

use crate::limits::{MAX_CBOR_DEPTH, MAX_CBOR_ITEMS};

/// The reader refused the input: it is not one item of the profile in deterministic
/// form, or not of the type asked for. The ordered checks tell which rule it breaks.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused by the one-pass reader")
    }
}

impl std::error::Error for Refused {}

impl de::Error for Refused {
    fn custom<M: std::fmt::Display>(_message: M) -> Self {
        Refused
    }
}

/// One head and what it carries, in the profile.
enum Head<'a> {
    Unsigned(u64),
    /// The argument `n` of major type 1: the integer `-1 - n`.
    Negative(u64),
    Bytes(&'a [u8]),
    Text(&'a str),
    Array(usize),
    Map(usize),
    Bool(bool),
}

/// A cursor over the input that reads items in the profile and counts them.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// The depth of the next item read: the top item is at 1.
    depth: usize,
    /// Data items read so far, those outside `bytes` that the caller counts included.
    items: usize,
}

impl<'a> Reader<'a> {
    /// A reader of the item at the start of `bytes`, which sits at `depth` inside a
    /// larger item that holds `items_before` other data items (1 and 0 for a whole input).
    pub(crate) fn new(bytes: &'a [u8], depth: usize, items_before: usize) -> Reader<'a> {
        Reader { bytes, at: 0, depth, items: items_before }
    }

    /// Whether every byte of the input was read.
    pub(crate) fn is_done(&self) -> bool {
        self.at == self.bytes.len()
    }

    fn take(&mut self, count: usize) -> Result<&'a [u8], Refused> {
        let end = self.at.checked_add(count).ok_or(Refused)?;
        let taken = self.bytes.get(self.at..end).ok_or(Refused)?;
        self.at = end;
        Ok(taken)
    }

    /// The argument of a head with additional information `info`, refusing any but the
    /// shortest form and indefinite lengths.
    fn argument(&mut self, info: u8) -> Result<u64, Refused> {
        let (size, least) = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => (1, 24),
            25 => (2, 1 << 8),
            26 => (4, 1 << 16),
            27 => (8, 1 << 32),
            _ => return Err(Refused),
        };
        let value = self.take(size)?.iter().fold(0, |value, byte| value << 8 | u64::from(*byte));
        if value < least {
            return Err(Refused);
        }
        Ok(value)
    }

    /// A count of items that cannot exceed the bytes left (each item takes one at least).
    fn count(&self, count: u64, bytes_each: usize) -> Result<usize, Refused> {
        let count = usize::try_from(count).map_err(|_| Refused)?;
        let left = self.bytes.len() - self.at;
        if count.checked_mul(bytes_each).is_none_or(|needed| needed > left) {
            return Err(Refused);
        }
        Ok(count)
    }

    /// Reads the next head, counting it as a data item at the current depth.
    fn head(&mut self) -> Result<Head<'a>, Refused> {
        self.items += 1;
        if self.depth > MAX_CBOR_DEPTH || self.items > MAX_CBOR_ITEMS {
            return Err(Refused);
        }
        let initial = *self.take(1)?.first().ok_or(Refused)?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        if major == 7 {
            return match info {
                20 => Ok(Head::Bool(false)),
                21 => Ok(Head::Bool(true)),
                _ => Err(Refused),
            };
        }
        let argument = self.argument(info)?;
        Ok(match major {
            0 => Head::Unsigned(argument),
            1 => Head::Negative(argument),
            2 => Head::Bytes(self.take(usize::try_from(argument).map_err(|_| Refused)?)?),
            3 => {
                let text = self.take(usize::try_from(argument).map_err(|_| Refused)?)?;
                Head::Text(std::str::from_utf8(text).map_err(|_| Refused)?)
            }
            4 => Head::Array(self.count(argument, 1)?),
            5 => Head::Map(self.count(argument, 2)?),
            _ => return Err(Refused),
        })
    }

    /// The encoded key just read, from `start`, if it sorts after `previous`.
    fn key_after(&self, start: usize, previous: Option<&'a [u8]>) -> Result<&'a [u8], Refused> {
        let key = self.bytes.get(start..self.at).ok_or(Refused)?;
        match previous {
            Some(previous) if previous >= key => Err(Refused),
            _ => Ok(key),
        }
    }

    /// Reads one item into a value tree.
    pub(crate) fn value(&mut self) -> Result<Value, Refused> {
        Ok(match self.head()? {
            Head::Unsigned(value) => Value::Integer(value.into()),
            Head::Negative(argument) => Value::Integer(negative(argument)?),
            Head::Bytes(bytes) => Value::Bytes(bytes.to_vec()),
            Head::Text(text) => Value::Text(text.to_owned()),
            Head::Bool(flag) => Value::Bool(flag),
            Head::Array(count) => {
                self.depth += 1;
                let items = (0..count).map(|_| self.value()).collect::<Result<Vec<_>, _>>()?;
                self.depth -= 1;
                Value::Array(items)
            }
            Head::Map(count) => {
                self.depth += 1;
                let mut entries = Vec::with_capacity(count);
                let mut previous = None;
                for _ in 0..count {
                    let start = self.at;
                    let key = self.value()?;
                    previous = Some(self.key_after(start, previous)?);
                    entries.push((key, self.value()?));
                }
                self.depth -= 1;
                Value::Map(entries)
            }
        })
    }
}

/// The integer `-1 - argument` of a major type 1 head.
fn negative(argument: u64) -> Result<Integer, Refused> {
    Integer::try_from(-1 - i128::from(argument)).map_err(|_| Refused)
}

/// Reads the item at the start of `bytes` as a `T`, the way [`super::from_value`] reads the
/// [`Value`] of the same bytes: the same visitor calls, so the same `T` or a refusal.
pub(crate) fn from_slice<'de, T: de::Deserialize<'de>>(reader: &mut Reader<'_>) -> Result<T, Refused> {
    T::deserialize(reader)
}

impl<'de> de::Deserializer<'de> for &mut Reader<'_> {
    type Error = Refused;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        match self.head()? {
            Head::Unsigned(value) => visitor.visit_u64(value),
            Head::Negative(argument) => {
                let wide = -1 - i128::from(argument);
                match i64::try_from(wide) {
                    Ok(small) => visitor.visit_i64(small),
                    Err(_) => visitor.visit_i128(wide),
                }
            }
            Head::Bytes(bytes) => visitor.visit_bytes(bytes),
            Head::Text(text) => visitor.visit_str(text),
            Head::Bool(flag) => visitor.visit_bool(flag),
            Head::Array(count) => {
                self.depth += 1;
                let mut access = Elements { reader: self, left: count };
                let value = visitor.visit_seq(&mut access)?;
                if access.left > 0 {
                    return Err(Refused);
                }
                self.depth -= 1;
                Ok(value)
            }
            Head::Map(count) => {
                self.depth += 1;
                let mut access = Entries { reader: self, left: count, previous: None };
                let value = visitor.visit_map(&mut access)?;
                if access.left > 0 {
                    return Err(Refused);
                }
                self.depth -= 1;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        visitor.visit_some(self)
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refused> {
        match self.head()? {
            Head::Text(text) => visitor.visit_enum(IntoDeserializer::<Refused>::into_deserializer(text)),
            _ => Err(Refused),
        }
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// The elements of an array, for a serde visitor.
struct Elements<'r, 'a> {
    reader: &'r mut Reader<'a>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Elements<'_, '_> {
    type Error = Refused;

    fn next_element_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Refused> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.reader).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The entries of a map, for a serde visitor; each key must sort after the one before.
struct Entries<'r, 'a> {
    reader: &'r mut Reader<'a>,
    left: usize,
    previous: Option<&'a [u8]>,
}

impl<'de> de::MapAccess<'de> for Entries<'_, '_> {
    type Error = Refused;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Refused> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let start = self.reader.at;
        let key = seed.deserialize(&mut *self.reader)?;
        self.previous = Some(self.reader.key_after(start, self.previous)?);
        Ok(Some(key))
    }

    fn next_value_seed<S: de::DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Refused> {
        seed.deserialize(&mut *self.reader)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

#[cfg(test)]
mod tests {
    use ciborium::value::Value;
    use proptest::prelude::*;
    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Serialize};

    use super::super::{
        check_round_trip, decode_ordered, encode_value, from_canonical, from_value, to_value,
    };
    use super::*;

    /// Values of the profile and beyond it: maps with keys in any order and twice, of
    /// several types, a few levels deep.
    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<u64>().prop_map(|n| Value::Integer(n.into())),
            any::<i64>().prop_map(|n| Value::Integer(n.into())),
            (0u64..300).prop_map(|n| Value::Integer(n.into())),
            "[a-c]{0,2}|[äö]".prop_map(Value::Text),
            proptest::collection::vec(any::<u8>(), 0..3).prop_map(Value::Bytes),
            any::<bool>().prop_map(Value::Bool),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec((inner.clone(), inner), 0..4).prop_map(Value::Map),
            ]
        })
    }

    /// The encoding of a value, then damaged at one place: a byte changed, or cut short.
    fn damaged(value: Value, at: usize, xor: u8, cut: bool) -> Vec<u8> {
        let mut bytes = encode_value(&value);
        if let Some(byte) = bytes.len().checked_sub(1).map(|last| at % (last + 1)).and_then(|at| {
            if cut {
                bytes.truncate(at);
                None
            } else {
                bytes.get_mut(at)
            }
        }) {
            *byte ^= xor;
        }
        bytes
    }

    /// A record-like type: defaults left out, a tagged enum, an option, bytes.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Shaped {
        a: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        b: Vec<Item>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        c: Option<u64>,
        #[serde(default, skip_serializing_if = "is_zero")]
        aa: i64,
    }

    fn is_zero(value: &i64) -> bool {
        *value == 0
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(tag = "a", rename_all = "snake_case", deny_unknown_fields)]
    enum Item {
        Plain,
        Priced { c: i64 },
    }

    /// Maps shaped like [`Shaped`] and [`Item`], right and wrong.
    fn shaped_value() -> impl Strategy<Value = Value> {
        let text = |text: &str| Value::Text(text.into());
        let leaf = prop_oneof![
            proptest::sample::select(vec![text("plain"), text("priced"), text("x"), text("")]),
            (-2i64..3).prop_map(|n| Value::Integer(n.into())),
            Just(Value::Bool(true)),
            Just(Value::Bytes(vec![1])),
        ];
        leaf.prop_recursive(3, 24, 4, move |inner| {
            let key = proptest::sample::select(vec![text("a"), text("b"), text("c"), text("aa"), text("d")]);
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::vec((key, inner), 0..4).prop_map(Value::Map),
            ]
        })
    }

    /// What [`from_canonical`] stands for: the ordered checks, the schema, the round trip.
    fn by_the_value<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Option<T> {
        let value = decode_ordered(bytes).ok()?;
        let typed: T = from_value(&value).ok()?;
        check_round_trip(&typed, &value).ok()?;
        Some(typed)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// The one-pass reader accepts exactly what the ordered checks accept, as the same
        /// value: encodings of values in and out of the profile, whole and damaged.
        #[test]
        fn the_one_pass_reader_agrees_with_the_ordered_checks(
            value in any_value(), at in any::<usize>(), xor in any::<u8>(), cut in any::<bool>()
        ) {
            for bytes in [encode_value(&value), damaged(value, at, xor, cut)] {
                let mut reader = Reader::new(&bytes, 1, 0);
                let fast = reader.value().ok().filter(|_| reader.is_done());
                prop_assert_eq!(fast, decode_ordered(&bytes).ok(), "{}", hex::encode(&bytes));
            }
        }

        /// The typed one-pass decode accepts exactly what the ordered checks, the schema
        /// and the round trip accept together, as the same value.
        #[test]
        fn the_typed_one_pass_decode_agrees_with_the_value_path(
            value in shaped_value(), at in any::<usize>(), xor in any::<u8>(), cut in any::<bool>()
        ) {
            for bytes in [encode_value(&value), damaged(value, at, xor, cut)] {
                let fast = from_canonical::<Shaped>(&bytes, 1, 0).ok();
                prop_assert_eq!(fast, by_the_value::<Shaped>(&bytes), "{}", hex::encode(&bytes));
            }
        }

        /// Writing straight to bytes gives the encoding of the value tree, and refuses
        /// what the tree refuses.
        #[test]
        fn writing_agrees_with_the_value_tree(value in any_value()) {
            let tree = to_value(&value).ok().map(|tree| encode_value(&tree));
            prop_assert_eq!(super::super::write::to_vec(&value, 0).ok(), tree);
        }
    }

    #[test]
    fn the_typed_one_pass_decode_reads_a_record_body_and_keeps_the_limits() {
        let value = Value::Map(vec![
            (Value::Text("a".into()), Value::Text("x".into())),
            (
                Value::Text("b".into()),
                Value::Array(vec![Value::Map(vec![(Value::Text("a".into()), Value::Text("plain".into()))])]),
            ),
        ]);
        let bytes = encode_value(&value);
        let expected = Shaped { a: "x".into(), b: vec![Item::Plain], c: None, aa: 0 };
        assert_eq!(from_canonical::<Shaped>(&bytes, 1, 0), Ok(expected));
        // The fields of the map in `b` are 3 below the top, so at the limit when the top is
        // 13 deep; the value holds 8 data items, at the limit after MAX_CBOR_ITEMS - 8.
        assert!(from_canonical::<Shaped>(&bytes, MAX_CBOR_DEPTH - 3, 0).is_ok());
        assert!(from_canonical::<Shaped>(&bytes, MAX_CBOR_DEPTH - 2, 0).is_err());
        assert!(from_canonical::<Shaped>(&bytes, 1, MAX_CBOR_ITEMS - 8).is_ok());
        assert!(from_canonical::<Shaped>(&bytes, 1, MAX_CBOR_ITEMS - 7).is_err());
    }
}
