//! The pre-scan: what spec/protocol.md §Decoding steps 2–4 need (well-formedness, where the
//! item ends, its depth and its count of data items), read from the heads alone, before
//! any value is built.
//!
//! Memory stays bounded however the input nests. [`scan`] keeps a stack of the open arrays,
//! maps and tags only as deep as `MAX_CBOR_DEPTH`; an item nested deeper is refused for
//! its depth, unless it is malformed or followed by bytes, which [`end_of_deep`] then
//! judges from the start without a stack entry per level: an input as deep as it is long
//! costs little more than its own length, never many times it.

use crate::error::{Error, ErrorCode, Result};
use crate::limits::MAX_CBOR_DEPTH;

/// What [`scan`] learned about the data item at the start of its input.
pub(super) struct Scan {
    /// Where the item ends.
    pub(super) end: usize,
    /// Whether it nests deeper than `MAX_CBOR_DEPTH`. The item itself is depth 1; the
    /// elements of an array, the keys and values of a map and the content of a tag are one
    /// deeper.
    pub(super) too_deep: bool,
    /// How many data items it holds, itself included (chunks of an indefinite-length
    /// string are not data items). Not counted when it is too deep.
    pub(super) items: usize,
    /// Whether it holds a tag, a float, or a simple value other than true and false.
    pub(super) forbidden: bool,
}

/// Checks that `bytes` starts with one well-formed data item (RFC 8949 §3, text strings
/// valid UTF-8) and measures it.
pub(super) fn scan(bytes: &[u8]) -> Result<Scan> {
    match scan_within(bytes, MAX_CBOR_DEPTH)? {
        Some(scan) => Ok(scan),
        None => Ok(Scan { end: end_of_deep(bytes)?, too_deep: true, items: 0, forbidden: false }),
    }
}

/// An array, map or tag whose content [`scan_within`] is reading.
enum Open {
    /// A definite-length array or map, or a tag: how many data items it still expects.
    Definite(u64),
    /// An indefinite-length array or map: whether it is a map, and the items read so far.
    Indefinite { map: bool, items: u64 },
}

/// [`scan`] of an item at most `depth_limit` deep; `None` as soon as an item lies deeper.
/// It recurses on nothing: a stack of the open containers, at most `depth_limit` of them,
/// holds what each still expects.
fn scan_within(bytes: &[u8], depth_limit: usize) -> Result<Option<Scan>> {
    let mut open: Vec<Open> = Vec::new();
    let mut at = 0;
    let (mut items, mut forbidden) = (0, false);
    loop {
        let (major, info, argument) = head(bytes, &mut at)?;
        let complete = if (major, info) == (7, 31) {
            // A break ends the innermost open container, which must be indefinite (and a
            // map must hold whole pairs); that container is then an item of its parent.
            match open.pop() {
                Some(Open::Indefinite { map, items }) if !map || items % 2 == 0 => true,
                _ => return Err(malformed("a break where none may stand")),
            }
        } else {
            // This item is at depth `open.len() + 1`.
            if open.len() >= depth_limit {
                return Ok(None);
            }
            items += 1;
            let (content, is_forbidden) = item(bytes, &mut at, major, info, argument)?;
            forbidden |= is_forbidden;
            match content {
                Content::Definite(0) => true,
                Content::Definite(expected) => {
                    open.push(Open::Definite(expected));
                    false
                }
                Content::Indefinite { map } => {
                    open.push(Open::Indefinite { map, items: 0 });
                    false
                }
            }
        };
        if complete {
            // The item just read may fill its container, and that one its own, and so on.
            loop {
                match open.last_mut() {
                    None => return Ok(Some(Scan { end: at, too_deep: false, items, forbidden })),
                    Some(Open::Definite(expected)) if *expected > 1 => {
                        *expected -= 1;
                        break;
                    }
                    Some(Open::Definite(_)) => {
                        open.pop();
                    }
                    Some(Open::Indefinite { items, .. }) => {
                        *items += 1;
                        break;
                    }
                }
            }
        }
    }
}

/// Where the well-formed item at the start of `bytes` ends, however deep it nests.
///
/// Definite-length containers need no stack: one count, `pending`, holds the data items
/// that every array, map and tag open inside the innermost indefinite-length container (or
/// at the top) still expects, since a head takes one of them and adds its own content.
/// Only an indefinite-length container, which ends at a break rather than after a count,
/// needs the state of its parent kept until then, in [`Saved`].
fn end_of_deep(bytes: &[u8]) -> Result<usize> {
    let mut saved = Saved::default();
    let mut pending: u64 = 1;
    // The innermost open indefinite-length container: whether it is a map, and whether it
    // holds an odd number of items so far. `None` at the top.
    let mut innermost: Option<(bool, bool)> = None;
    let mut at = 0;
    loop {
        let (major, info, argument) = head(bytes, &mut at)?;
        if (major, info) == (7, 31) {
            match innermost {
                Some((map, odd)) if pending == 0 && !(map && odd) => {}
                _ => return Err(malformed("a break where none may stand")),
            }
            (pending, innermost) = saved.pop().ok_or_else(|| malformed("a break where none may stand"))?;
        } else {
            // Either an item that an open definite container expects, or the next item of
            // the innermost indefinite one.
            if pending > 0 {
                pending -= 1;
            } else if let Some((_, odd)) = innermost.as_mut() {
                *odd = !*odd;
            }
            match item(bytes, &mut at, major, info, argument)?.0 {
                Content::Definite(expected) => pending = pending.saturating_add(expected),
                Content::Indefinite { map } => {
                    saved.push(pending, innermost)?;
                    (pending, innermost) = (0, Some((map, false)));
                }
            }
        }
        if pending == 0 && innermost.is_none() {
            return Ok(at);
        }
        if pending > (bytes.len() - at) as u64 {
            return Err(malformed("more items announced than bytes remain"));
        }
    }
}

/// The state [`end_of_deep`] keeps for each open indefinite-length container: its parent's
/// `pending` count and whether the parent is a map with an odd number of items, as one
/// number in as few bytes as it needs (7 bits a byte). The outermost entry's parent is the
/// top, the others' an indefinite container: a level costs one byte of this stack for each
/// input byte or more that opened it, never eight.
#[derive(Default)]
struct Saved(Vec<u8>);

impl Saved {
    fn push(&mut self, pending: u64, parent: Option<(bool, bool)>) -> Result<()> {
        let (map, odd) = parent.unwrap_or_default();
        let value =
            pending.checked_mul(4).ok_or_else(|| malformed("more items announced than bytes remain"))?
                | u64::from(map) << 1
                | u64::from(odd);
        // Highest group first, with its top bit clear; then the lower groups, top bit set,
        // so that `pop` reads the lowest group first and stops at the clear bit.
        let groups = (u64::BITS - value.leading_zeros()).div_ceil(7).max(1);
        for group in (0..groups).rev() {
            let bits = (value >> (7 * group)) as u8 & 0x7f;
            self.0.push(if group + 1 == groups { bits } else { bits | 0x80 });
        }
        Ok(())
    }

    /// The parent's `pending` and state, `None` for the parent at the top.
    fn pop(&mut self) -> Option<(u64, Option<(bool, bool)>)> {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let byte = self.0.pop()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let parent = (!self.0.is_empty()).then_some((value & 2 != 0, value & 1 != 0));
        Some((value >> 2, parent))
    }
}

/// What a data item holds beside its head.
enum Content {
    /// This many data items follow as its content: none for a scalar or a string, the
    /// elements of an array, twice the entries of a map, one for a tag.
    Definite(u64),
    /// Items up to a break: an indefinite-length array or map.
    Indefinite { map: bool },
}

/// Reads the data item whose head (not a break) was just read, up to its content: the
/// string's bytes or chunks are skipped and checked. Also says whether it is of a type the
/// profile forbids (a tag, a float, a simple value other than true and false).
fn item(bytes: &[u8], at: &mut usize, major: u8, info: u8, argument: Option<u64>) -> Result<(Content, bool)> {
    let remaining = (bytes.len() - *at) as u64;
    Ok(match (major, argument) {
        (0 | 1, Some(_)) => (Content::Definite(0), false),
        (2 | 3, Some(length)) => {
            string(bytes, at, major, length)?;
            (Content::Definite(0), false)
        }
        (2 | 3, None) => {
            // Chunks: definite-length strings of the same major type, then a break.
            loop {
                match head(bytes, at)? {
                    (7, 31, _) => break,
                    (chunk_major, _, Some(length)) if chunk_major == major => {
                        string(bytes, at, major, length)?
                    }
                    _ => return Err(malformed("an indefinite-length string holds a foreign chunk")),
                }
            }
            (Content::Definite(0), false)
        }
        (4 | 5, Some(count)) if count > remaining => {
            return Err(malformed("more items announced than bytes remain"))
        }
        (4, Some(count)) => (Content::Definite(count), false),
        (5, Some(count)) => (Content::Definite(count.saturating_mul(2)), false),
        (4 | 5, None) => (Content::Indefinite { map: major == 5 }, false),
        (6, Some(_)) => (Content::Definite(1), true),
        (7, Some(value)) => {
            if info == 24 && value < 32 {
                return Err(malformed("a two-byte simple value below 32"));
            }
            (Content::Definite(0), !matches!(info, 20 | 21))
        }
        _ => return Err(malformed("an indefinite length where none may stand")),
    })
}

fn malformed(why: &str) -> Error {
    Error::new(ErrorCode::Malformed, "", format!("not well-formed CBOR: {why}"))
}

/// Reads one head at `at`: major type, additional information, and the argument (`None`
/// for an indefinite length, additional information 31).
fn head(bytes: &[u8], at: &mut usize) -> Result<(u8, u8, Option<u64>)> {
    let truncated = || malformed("the input ends inside an item");
    let initial = *bytes.get(*at).ok_or_else(truncated)?;
    *at += 1;
    let (major, info) = (initial >> 5, initial & 0x1f);
    let size = match info {
        0..=23 => return Ok((major, info, Some(u64::from(info)))),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        31 if matches!(major, 2..=5 | 7) => return Ok((major, info, None)),
        _ => return Err(malformed(&format!("additional information {info} for major type {major}"))),
    };
    let argument = bytes.get(*at..*at + size).ok_or_else(truncated)?;
    *at += size;
    Ok((major, info, Some(argument.iter().fold(0, |value, byte| value << 8 | u64::from(*byte)))))
}

/// Skips the content of a definite-length byte (major 2) or text (major 3) string.
fn string(bytes: &[u8], at: &mut usize, major: u8, length: u64) -> Result<()> {
    let content = usize::try_from(length)
        .ok()
        .and_then(|length| bytes.get(*at..at.checked_add(length)?))
        .ok_or_else(|| malformed("a string runs past the input"))?;
    if major == 3 && std::str::from_utf8(content).is_err() {
        return Err(malformed("a text string is not UTF-8"));
    }
    *at += content.len();
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;

    /// Where the item ends by the full stack, at any depth, or that it is malformed.
    fn end_by_stack(bytes: &[u8]) -> std::result::Result<usize, ErrorCode> {
        match scan_within(bytes, usize::MAX) {
            Ok(Some(scan)) => Ok(scan.end),
            Ok(None) => panic!("no depth exceeds usize::MAX"),
            Err(error) => Err(error.code()),
        }
    }

    #[test]
    fn saved_states_come_back_in_reverse_order_whatever_their_size() {
        // The outermost entry's parent is the top; the others' an indefinite container.
        let states = [
            (0, Some((false, false))),
            (1, Some((true, true))),
            (31, Some((true, false))),
            (32, Some((false, true))),
            (u64::MAX / 4, Some((true, true))),
            (12_345_678, Some((false, false))),
        ];
        let mut saved = Saved::default();
        saved.push(7, None).unwrap();
        // A small count costs one byte: the stack grows with the input, never 8 times it.
        saved.push(31, Some((true, true))).unwrap();
        assert_eq!(saved.0.len(), 2);
        for (pending, parent) in states {
            saved.push(pending, parent).unwrap();
        }
        for expected in states.iter().rev() {
            assert_eq!(saved.pop().as_ref(), Some(expected));
        }
        assert_eq!(saved.pop(), Some((31, Some((true, true)))));
        assert_eq!(saved.pop(), Some((7, None)));
        assert_eq!(saved.pop(), None);
        assert!(saved.push(u64::MAX / 2, Some((true, true))).is_err());
    }

    #[test]
    fn a_deep_item_is_judged_without_a_stack_entry_per_definite_level() {
        let deep = [vec![0x81; 100_000], vec![0x80]].concat();
        assert_eq!(end_of_deep(&deep).unwrap(), deep.len());
        assert!(scan_within(&deep, MAX_CBOR_DEPTH).unwrap().is_none());
        let scan = scan(&deep).unwrap();
        assert!(scan.too_deep);
        assert_eq!(scan.end, deep.len());
    }

    /// Pieces of CBOR that make up mostly malformed and sometimes well-formed inputs, with
    /// every kind of container, definite and indefinite, and misplaced breaks.
    fn piece() -> impl Strategy<Value = &'static [u8]> {
        select(vec![
            &[0x00][..],
            &[0x18, 0x20],
            &[0x20],
            &[0x41, 0x61],
            &[0x62, 0xc3, 0xa5],
            &[0x62, 0xff, 0xfe],
            &[0x5f, 0x41, 0x61, 0xff],
            &[0x7f, 0x61, 0x61, 0xff],
            &[0x7f, 0x41, 0x61, 0xff],
            &[0x5f],
            &[0x80],
            &[0x81],
            &[0x82],
            &[0x83],
            &[0x98, 0x03],
            &[0x9f],
            &[0xa0],
            &[0xa1],
            &[0xa2],
            &[0xbf],
            &[0xc1],
            &[0xf5],
            &[0xf8, 0x10],
            &[0xf9, 0x3c, 0x00],
            &[0x1c],
            &[0xff],
            &[0xff],
            &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// The stack-free walk for deep items finds the same end as the full stack, and
        /// refuses exactly the malformed inputs. 4096 cases.
        #[test]
        fn the_deep_walk_agrees_with_the_stack(pieces in proptest::collection::vec(piece(), 0..40)) {
            let bytes = pieces.concat();
            let by_stack = end_by_stack(&bytes);
            prop_assert_eq!(end_of_deep(&bytes).map_err(|error| error.code()), by_stack, "{}", hex::encode(&bytes));
        }
    }
}
