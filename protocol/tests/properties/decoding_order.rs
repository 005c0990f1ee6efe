//! The decoding order, against a model of spec/protocol.md §Decoding steps 4-7 (4a included).

use kvitt_protocol::{cbor, Error, ErrorCode};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// How a string is written: definite, with its length head `extra` sizes wider than the
/// shortest, or indefinite, in chunks of this many characters (bytes for byte strings).
#[derive(Clone, Copy, Debug)]
enum Form {
    Definite(u8),
    Indefinite(usize),
}

/// A well-formed CBOR data item as written, non-canonical forms and forbidden types
/// included. `u8` fields are how many sizes wider than the shortest a head is written;
/// `None` for an array or map is an indefinite length.
#[derive(Clone, Debug)]
enum Raw {
    Unsigned(u64, u8),
    /// The integer −1 − n.
    Negative(u64, u8),
    Bytes(Vec<u8>, Form),
    Text(String, Form),
    Array(Vec<Raw>, Option<u8>),
    Map(Vec<(Raw, Raw)>, Option<u8>),
    Tag(u64, Box<Raw>),
    Bool(bool),
    /// A forbidden scalar, as its complete encoding: null, undefined, a simple value, a float.
    Forbidden(Vec<u8>),
}

/// Writes a head: major type, argument, and `extra` sizes wider than the shortest form.
fn head(out: &mut Vec<u8>, major: u8, argument: u64, extra: u8) -> bool {
    let shortest = match argument {
        0..=23 => 0,
        24..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xffff_ffff => 3,
        _ => 4,
    };
    let size = (shortest + extra).min(4);
    let major = major << 5;
    match size {
        0 => out.push(major | argument as u8),
        1 => out.extend([major | 24, argument as u8]),
        2 => out.extend([[major | 25].as_slice(), &(argument as u16).to_be_bytes()].concat()),
        3 => out.extend([[major | 26].as_slice(), &(argument as u32).to_be_bytes()].concat()),
        _ => out.extend([[major | 27].as_slice(), &argument.to_be_bytes()].concat()),
    }
    size == shortest
}

impl Raw {
    /// The bytes as written, or (`canonical`) the item's deterministic encoding.
    fn encode(&self, canonical: bool, out: &mut Vec<u8>) {
        let extra = |extra: u8| if canonical { 0 } else { extra };
        match self {
            Raw::Unsigned(value, wide) => _ = head(out, 0, *value, extra(*wide)),
            Raw::Negative(value, wide) => _ = head(out, 1, *value, extra(*wide)),
            Raw::Bytes(bytes, form) => match (form, canonical) {
                (Form::Indefinite(chunk), false) => {
                    out.push(0x5f);
                    for piece in bytes.chunks(*chunk) {
                        head(out, 2, piece.len() as u64, 0);
                        out.extend(piece);
                    }
                    out.push(0xff);
                }
                (Form::Definite(wide), _) => {
                    head(out, 2, bytes.len() as u64, extra(*wide));
                    out.extend(bytes);
                }
                (_, true) => Raw::Bytes(bytes.clone(), Form::Definite(0)).encode(true, out),
            },
            Raw::Text(text, form) => match (form, canonical) {
                (Form::Indefinite(chunk), false) => {
                    out.push(0x7f);
                    let chars: Vec<char> = text.chars().collect();
                    for piece in chars.chunks(*chunk) {
                        let piece: String = piece.iter().collect();
                        head(out, 3, piece.len() as u64, 0);
                        out.extend(piece.as_bytes());
                    }
                    out.push(0xff);
                }
                (Form::Definite(wide), _) => {
                    head(out, 3, text.len() as u64, extra(*wide));
                    out.extend(text.as_bytes());
                }
                (_, true) => Raw::Text(text.clone(), Form::Definite(0)).encode(true, out),
            },
            Raw::Array(items, form) => {
                match (form, canonical) {
                    (None, false) => out.push(0x9f),
                    _ => _ = head(out, 4, items.len() as u64, extra(form.unwrap_or(0))),
                }
                items.iter().for_each(|item| item.encode(canonical, out));
                if form.is_none() && !canonical {
                    out.push(0xff);
                }
            }
            Raw::Map(entries, form) => {
                match (form, canonical) {
                    (None, false) => out.push(0xbf),
                    _ => _ = head(out, 5, entries.len() as u64, extra(form.unwrap_or(0))),
                }
                let mut written: Vec<(Vec<u8>, Vec<u8>)> = entries
                    .iter()
                    .map(|(key, item)| {
                        let (mut key_bytes, mut item_bytes) = (Vec::new(), Vec::new());
                        key.encode(canonical, &mut key_bytes);
                        item.encode(canonical, &mut item_bytes);
                        (key_bytes, item_bytes)
                    })
                    .collect();
                if canonical {
                    written.sort();
                }
                written.into_iter().for_each(|(key, item)| out.extend(key.into_iter().chain(item)));
                if form.is_none() && !canonical {
                    out.push(0xff);
                }
            }
            Raw::Tag(tag, content) => {
                head(out, 6, *tag, 0);
                content.encode(canonical, out);
            }
            Raw::Bool(flag) => out.push(if *flag { 0xf5 } else { 0xf4 }),
            Raw::Forbidden(bytes) => out.extend(bytes),
        }
    }

    fn bytes(&self, canonical: bool) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(canonical, &mut out);
        out
    }

    /// Every item of the tree: this one, and those in arrays, map keys and values, tags.
    fn items(&self) -> Vec<&Raw> {
        let mut all = vec![self];
        match self {
            Raw::Array(items, _) => items.iter().for_each(|item| all.extend(item.items())),
            Raw::Map(entries, _) => entries.iter().for_each(|(key, item)| {
                all.extend(key.items());
                all.extend(item.items());
            }),
            Raw::Tag(_, content) => all.extend(content.items()),
            _ => {}
        }
        all
    }

    /// §Decoding, depth: this item is 1; elements, keys, values and tag content one deeper.
    fn depth(&self) -> usize {
        1 + match self {
            Raw::Array(items, _) => items.iter().map(Raw::depth).max().unwrap_or(0),
            Raw::Map(entries, _) => {
                entries.iter().map(|(key, item)| key.depth().max(item.depth())).max().unwrap_or(0)
            }
            Raw::Tag(_, content) => content.depth(),
            _ => 0,
        }
    }

    /// The verdict of §Decoding steps 4-7 on this well-formed item: depth, count of data
    /// items, forbidden types, duplicate keys (two keys of one deterministic encoding, in any
    /// map of the item, those inside keys included), and finally whether these bytes are the
    /// deterministic encoding.
    fn verdict(&self) -> Result<(), ErrorCode> {
        if self.depth() > kvitt_protocol::limits::MAX_CBOR_DEPTH {
            return Err(ErrorCode::TooDeep);
        }
        let items = self.items();
        if items.len() > kvitt_protocol::limits::MAX_CBOR_ITEMS {
            return Err(ErrorCode::TooManyItems);
        }
        if items.iter().any(|item| matches!(item, Raw::Tag(..) | Raw::Forbidden(_))) {
            return Err(ErrorCode::ForbiddenType);
        }
        let duplicate = items.iter().any(|item| match item {
            Raw::Map(entries, _) => {
                let mut keys: Vec<Vec<u8>> = entries.iter().map(|(key, _)| key.bytes(true)).collect();
                keys.sort();
                keys.windows(2).any(|pair| pair[0] == pair[1])
            }
            _ => false,
        });
        if duplicate {
            return Err(ErrorCode::DuplicateKey);
        }
        if self.bytes(false) != self.bytes(true) {
            return Err(ErrorCode::NonCanonical);
        }
        Ok(())
    }
}

/// How much wider than the shortest a head is written: mostly not at all.
fn wide() -> impl Strategy<Value = u8> {
    prop_oneof![12 => Just(0u8), 1 => 1u8..=4]
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![12 => wide().prop_map(Form::Definite), 1 => (1usize..4).prop_map(Form::Indefinite)]
}

fn container_form() -> impl Strategy<Value = Option<u8>> {
    prop_oneof![12 => wide().prop_map(Some), 1 => Just(None)]
}

/// Scalars, with small values common so that map keys collide.
fn raw_scalar() -> impl Strategy<Value = Raw> {
    prop_oneof![
        6 => (prop_oneof![0u64..4, any::<u64>()], wide()).prop_map(|(value, wide)| Raw::Unsigned(value, wide)),
        2 => (prop_oneof![0u64..4, any::<u64>()], wide()).prop_map(|(value, wide)| Raw::Negative(value, wide)),
        2 => (vec(any::<u8>(), 0..6), form()).prop_map(|(bytes, form)| Raw::Bytes(bytes, form)),
        6 => (prop_oneof![select(vec!["a", "b", "aa", "ö", ""]).prop_map(str::to_owned), ".{0,6}"], form())
            .prop_map(|(text, form)| Raw::Text(text, form)),
        2 => any::<bool>().prop_map(Raw::Bool),
        1 => prop_oneof![
            Just(vec![0xf6]),
            Just(vec![0xf7]),
            (0u8..20).prop_map(|value| vec![0xe0 | value]),
            (32u8..=255).prop_map(|value| vec![0xf8, value]),
            any::<[u8; 2]>().prop_map(|bits| [[0xf9].as_slice(), &bits].concat()),
            any::<[u8; 4]>().prop_map(|bits| [[0xfa].as_slice(), &bits].concat()),
            any::<[u8; 8]>().prop_map(|bits| [[0xfb].as_slice(), &bits].concat()),
        ]
        .prop_map(Raw::Forbidden),
    ]
}

/// Items nested up to five levels, then sometimes wrapped in up to 18 one-element arrays,
/// so that depths on both sides of `MAX_CBOR_DEPTH` occur.
fn raw_item() -> impl Strategy<Value = Raw> {
    let tree = raw_scalar().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            4 => (vec(inner.clone(), 0..6), container_form()).prop_map(|(items, form)| Raw::Array(items, form)),
            4 => (vec((inner.clone(), inner.clone()), 0..6), container_form())
                .prop_map(|(entries, form)| Raw::Map(entries, form)),
            1 => (prop_oneof![Just(2u64), Just(3u64), any::<u64>()], inner)
                .prop_map(|(tag, content)| Raw::Tag(tag, Box::new(content))),
        ]
    });
    (tree, prop_oneof![3 => Just(0usize), 1 => 0usize..18]).prop_map(|(mut item, wrap)| {
        for _ in 0..wrap {
            item = Raw::Array(vec![item], Some(0));
        }
        item
    })
}

/// Regression (found by `cbor_decode_follows_the_decoding_order`): a map key that is itself
/// a map holding one key twice, `{{"b": 0, "b": 0}: 0}`. The duplicate check looked into map
/// values only, never keys, and the re-encoding keeps both entries, so `cbor::decode`
/// accepted an item that breaks §Encoding rule 3.
#[test]
fn regression_a_duplicate_key_inside_a_map_key_is_refused() {
    let bytes = hex::decode("a1a261620061620000").unwrap();
    assert_eq!(cbor::decode(&bytes).map(drop).map_err(|error| error.code()), Err(ErrorCode::DuplicateKey));
}

/// Regression: two map keys that are maps with the same entries in another order,
/// `{{"a": 0, "b": 0}: 0, {"b": 0, "a": 0}: 1}`, have one deterministic encoding, so they are
/// the same key (§Encoding rule 3): `encoding.duplicate_key` (step 6), not
/// `encoding.non_canonical` (step 7), which the keys' encodings as written gave.
#[test]
fn regression_keys_with_one_deterministic_encoding_are_duplicates() {
    let bytes = hex::decode("a2a2616100616200 00 a2616200616100 01".replace(' ', "")).unwrap();
    assert_eq!(cbor::decode(&bytes).map(drop).map_err(|error| error.code()), Err(ErrorCode::DuplicateKey));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// `cbor::decode` of any well-formed item gives the verdict of an independent model of
    /// §Decoding steps 4-7, in their order: too deep, then a forbidden type, then a duplicate
    /// key (same deterministic encoding, in any map), then not the deterministic encoding;
    /// otherwise the value, which re-encodes to the same bytes. Well-formed input is never
    /// `encoding.malformed`. 2048 cases.
    #[test]
    fn cbor_decode_follows_the_decoding_order(item in raw_item()) {
        let bytes = item.bytes(false);
        let decoded = cbor::decode(&bytes);
        prop_assert_eq!(decoded.as_ref().map(drop).map_err(Error::code), item.verdict(), "{}", hex::encode(&bytes));
        if let Ok(value) = decoded {
            prop_assert_eq!(cbor::encode_value(&value), bytes);
        }
    }
}
