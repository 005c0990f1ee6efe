//! One page of a [`PackedMap`](super::packed::PackedMap): up to [`PAGE_ENTRIES`] entries
//! of a key range packed in three allocations, the prefix all their keys share kept once.
//!
//! A `BTreeMap<Box<[u8]>, Value>` costs each entry a key allocation (its malloc header
//! and rounding included), 40 bytes in a B-tree node about two-thirds full, and a value
//! allocation when the value is not empty: about 150 bytes for a 50-byte key and a 32-byte
//! id. A page holds the same entry in its key's bytes after the shared prefix, its value's
//! bytes when they are small, and 8 bytes of offsets.

use std::cmp::Ordering;
use std::sync::Arc;

use super::pool::Value;

/// The most entries a page holds before it splits in two.
pub(super) const PAGE_ENTRIES: usize = 64;

/// The most packed bytes a page holds (keys after the prefix, small values) before it
/// splits in two, when it has more than one entry.
const PAGE_BYTES: usize = 8 * 1024;

/// The longest value held inline, in the page's bytes; longer ones are shared
/// allocations (from the store's pool when it has one).
pub(super) const INLINE_VALUE_BYTES: usize = 127;

/// The longest key a page takes. With it, a page of [`PAGE_ENTRIES`] + 1 entries whose
/// prefix is gone still has offsets below [`SHARED`]: 65 × (16 MiB + 127) < 2 GiB.
pub(super) const MAX_KEY_BYTES: usize = 16 * 1024 * 1024;

/// The bit of [`Slot::end`] that says the entry's value is in [`Page::shared`].
const SHARED: u32 = 1 << 31;

/// Where one entry ends in [`Page::bytes`] (it starts where the one before ends): its key
/// after the prefix up to `key_end`, then its inline value up to `end`.
#[derive(Clone, Copy, Debug)]
struct Slot {
    key_end: u32,
    /// The end of the entry, with [`SHARED`] set when its value is out of line.
    end: u32,
}

impl Slot {
    fn end(self) -> usize {
        (self.end & !SHARED) as usize
    }

    fn is_shared(self) -> bool {
        self.end & SHARED != 0
    }
}

/// A value to put in a page: small bytes to copy in, or a shared allocation to hold.
pub(super) enum Put<'a> {
    /// At most [`INLINE_VALUE_BYTES`] bytes, copied into the page.
    Inline(&'a [u8]),
    /// A value held out of line.
    Shared(Arc<[u8]>),
}

/// Entries of one key range, in key order.
#[derive(Debug, Default)]
pub(super) struct Page {
    /// Every key of the page starts with these bytes.
    prefix: Box<[u8]>,
    /// Each entry's key after the prefix, then its inline value, in key order.
    bytes: Vec<u8>,
    slots: Vec<Slot>,
    /// The out-of-line values, in the key order of their entries.
    shared: Vec<Arc<[u8]>>,
}

/// An offset in a page's bytes, which [`MAX_KEY_BYTES`] and the split keep below
/// [`SHARED`].
fn offset(at: usize) -> u32 {
    debug_assert!(at < SHARED as usize, "page offsets stay below 2 GiB");
    at as u32
}

impl Page {
    /// How many entries the page holds.
    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the page holds more than a page should: split it.
    pub(super) fn is_full(&self) -> bool {
        self.slots.len() > PAGE_ENTRIES || (self.slots.len() > 1 && self.bytes.len() > PAGE_BYTES)
    }

    /// Where entry `index` starts in the bytes (where the one before ends).
    fn start(&self, index: usize) -> usize {
        index.checked_sub(1).and_then(|before| self.slots.get(before)).map_or(0, |slot| slot.end())
    }

    /// Entry `index`'s key after the prefix (empty past the end).
    fn suffix(&self, index: usize) -> &[u8] {
        let end = self.slots.get(index).map_or(0, |slot| slot.key_end as usize);
        self.bytes.get(self.start(index)..end).unwrap_or_default()
    }

    /// Entry `index`'s whole key, written into `key` (cleared first).
    pub(super) fn key_into(&self, index: usize, key: &mut Vec<u8>) {
        key.clear();
        key.extend_from_slice(&self.prefix);
        key.extend_from_slice(self.suffix(index));
    }

    /// How many of the entries before `index` hold their value out of line: where entry
    /// `index`'s would be in [`Page::shared`].
    fn shared_index(&self, index: usize) -> usize {
        self.slots.iter().take(index).filter(|slot| slot.is_shared()).count()
    }

    /// Entry `index`'s value (empty past the end).
    pub(super) fn value(&self, index: usize) -> &[u8] {
        match self.slots.get(index) {
            Some(slot) if slot.is_shared() => {
                self.shared.get(self.shared_index(index)).map_or(&[], |value| value)
            }
            Some(slot) => self.bytes.get(slot.key_end as usize..slot.end()).unwrap_or_default(),
            None => &[],
        }
    }

    /// Entry `index`'s value as a store holds it apart from a page (the undo log).
    pub(super) fn owned_value(&self, index: usize) -> Value {
        match self.slots.get(index) {
            Some(slot) if slot.is_shared() => match self.shared.get(self.shared_index(index)) {
                Some(value) => Value::Shared(value.clone()),
                None => Value::Owned(Box::default()),
            },
            _ => Value::Owned(self.value(index).into()),
        }
    }

    /// Where `key` is (`Ok`) or would go (`Err`), as `binary_search` says it.
    pub(super) fn find(&self, key: &[u8]) -> Result<usize, usize> {
        match key.strip_prefix(&*self.prefix) {
            Some(suffix) => {
                let (mut low, mut high) = (0, self.slots.len());
                while low < high {
                    let middle = low + (high - low) / 2;
                    match self.suffix(middle).cmp(suffix) {
                        Ordering::Less => low = middle + 1,
                        Ordering::Greater => high = middle,
                        Ordering::Equal => return Ok(middle),
                    }
                }
                Err(low)
            }
            // A key without the prefix sorts before every key with it, or after them all.
            None if key < &*self.prefix => Err(0),
            None => Err(self.slots.len()),
        }
    }

    /// Puts `value` at `key`, which [`Page::find`] placed at `at`, replacing what was there.
    pub(super) fn put(&mut self, key: &[u8], at: Result<usize, usize>, value: Put<'_>) {
        let index = match at {
            Ok(index) => {
                self.remove(index);
                index
            }
            Err(index) => index,
        };
        if !key.starts_with(&self.prefix) {
            self.reencode(common_prefix(&self.prefix, key));
        }
        let suffix = key.get(self.prefix.len()..).unwrap_or_default();
        let start = self.start(index);
        let inline: &[u8] = match &value {
            Put::Inline(bytes) => bytes,
            Put::Shared(_) => &[],
        };
        let added = suffix.len() + inline.len();
        reserve(&mut self.bytes, added);
        self.bytes.splice(start..start, suffix.iter().chain(inline).copied());
        for slot in self.slots.iter_mut().skip(index) {
            slot.key_end += offset(added);
            slot.end += offset(added);
        }
        let mut slot = Slot { key_end: offset(start + suffix.len()), end: offset(start + added) };
        if let Put::Shared(shared) = value {
            let at = self.shared_index(index);
            self.shared.insert(at, shared);
            slot.end |= SHARED;
        }
        reserve(&mut self.slots, 1);
        self.slots.insert(index, slot);
    }

    /// Removes entry `index`, if there is one.
    pub(super) fn remove(&mut self, index: usize) {
        if index >= self.slots.len() {
            return;
        }
        let start = self.start(index);
        let slot = self.slots.remove(index);
        if slot.is_shared() {
            let at = self.shared_index(index);
            if at < self.shared.len() {
                self.shared.remove(at);
            }
        }
        let removed = slot.end() - start;
        self.bytes.drain(start..slot.end());
        for slot in self.slots.iter_mut().skip(index) {
            slot.key_end -= offset(removed);
            slot.end -= offset(removed);
        }
    }

    /// Splits off the upper half: its first key (its bound) and the page that holds it.
    pub(super) fn split(&mut self) -> (Box<[u8]>, Page) {
        let middle = self.slots.len() / 2;
        let mut first = Vec::new();
        self.key_into(middle, &mut first);
        let upper = self.copy(middle..self.slots.len());
        *self = self.copy(0..middle);
        (first.into(), upper)
    }

    /// The entries `range` (not empty) in a new page of exactly their size, under the
    /// longest prefix they share.
    fn copy(&self, range: std::ops::Range<usize>) -> Page {
        let (mut first, mut last) = (Vec::new(), Vec::new());
        self.key_into(range.start, &mut first);
        self.key_into(range.end.saturating_sub(1), &mut last);
        // Keys are in order: what the first and the last share, they all share.
        first.truncate(common_prefix(&first, &last));
        let dropped = first.len() - self.prefix.len();
        let bytes_len = self.start(range.end) - self.start(range.start) - dropped * range.len();
        let mut page = Page {
            prefix: first.into(),
            bytes: Vec::with_capacity(bytes_len),
            slots: Vec::with_capacity(range.len()),
            shared: Vec::new(),
        };
        let mut shared = self.shared.iter().skip(self.shared_index(range.start));
        for index in range {
            page.bytes.extend_from_slice(self.suffix(index).get(dropped..).unwrap_or_default());
            let key_end = offset(page.bytes.len());
            let mut end = key_end;
            match self.slots.get(index) {
                Some(slot) if slot.is_shared() => {
                    page.shared.extend(shared.next().cloned());
                    end |= SHARED;
                }
                _ => {
                    page.bytes.extend_from_slice(self.value(index));
                    end = offset(page.bytes.len());
                }
            }
            page.slots.push(Slot { key_end, end });
        }
        page.shared.shrink_to_fit();
        page
    }

    /// Shortens the prefix to its first `keep` bytes, the rest going back into each key.
    fn reencode(&mut self, keep: usize) {
        let back = self.prefix.get(keep..).unwrap_or_default();
        let mut bytes = Vec::with_capacity(self.bytes.len() + back.len() * self.slots.len());
        let mut start = 0;
        for slot in &mut self.slots {
            bytes.extend_from_slice(back);
            bytes.extend_from_slice(self.bytes.get(start..slot.end()).unwrap_or_default());
            start = slot.end();
            // Each entry moves by the bytes given back to it and to every entry before it.
            let moved = offset(bytes.len()) - offset(start);
            slot.key_end += moved;
            slot.end += moved;
        }
        self.bytes = bytes;
        self.prefix = self.prefix.get(..keep).unwrap_or_default().into();
    }
}

/// How many leading bytes `a` and `b` share.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(a, b)| a == b).count()
}

/// Room for `more` items, growing by an eighth rather than doubling: a page's slack is
/// part of every entry's cost.
fn reserve<T>(vec: &mut Vec<T>, more: usize) {
    if vec.capacity() - vec.len() < more {
        vec.reserve_exact(more + vec.len() / 8);
    }
}
