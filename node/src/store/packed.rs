//! The ordered map a [`MemoryStore`](super::MemoryStore) keeps its entries in: pages of
//! up to [`PAGE_ENTRIES`](super::page::PAGE_ENTRIES) entries packed together
//! ([`super::page`]), found by their lower bounds in a `BTreeMap`.
//!
//! The simulator holds a whole network's ledgers in memory, about 17 entries a receipt
//! at 50–77-byte keys, most of whose bytes repeat among neighbours (`chan/` and a peer's
//! key, `slot/r`, a signer and a register): a page keeps what its keys share once, and
//! costs one allocation of a few kilobytes for dozens of entries instead of one or two
//! small ones each.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::page::{Page, Put};
use super::pool::Value;
use super::Visitor;

/// Keys to values, in key order, packed by pages.
#[derive(Debug)]
pub(super) struct PackedMap {
    /// Each page by its lower bound: it holds the keys from its bound up to the next
    /// page's. The first page's bound is empty, so every key has a page; a page that
    /// empties goes, its range joining the one before.
    pages: BTreeMap<Box<[u8]>, Page>,
}

impl Default for PackedMap {
    fn default() -> PackedMap {
        PackedMap { pages: BTreeMap::from([(Box::default(), Page::default())]) }
    }
}

impl PackedMap {
    /// The page whose range holds `key`, and its bound.
    fn page(&self, key: &[u8]) -> Option<(&[u8], &Page)> {
        self.pages
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(key)))
            .next_back()
            .map(|(bound, page)| (&**bound, page))
    }

    /// The value of `key`, if any.
    pub(super) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        let (_, page) = self.page(key)?;
        page.find(key).ok().map(|index| page.value(index))
    }

    /// The value of `key` as a store keeps it apart from the map, if any.
    pub(super) fn owned(&self, key: &[u8]) -> Option<Value> {
        let (_, page) = self.page(key)?;
        page.find(key).ok().map(|index| page.owned_value(index))
    }

    /// Sets `key` to `value`.
    pub(super) fn insert(&mut self, key: &[u8], value: Put<'_>) {
        let Some((bound, page)) =
            self.pages.range_mut::<[u8], _>((Bound::Unbounded, Bound::Included(key))).next_back()
        else {
            return;
        };
        let at = page.find(key);
        page.put(key, at, value);
        if page.is_full() {
            let bound = bound.clone();
            let (upper_bound, upper) = page.split();
            debug_assert!(upper_bound > bound, "a split page's upper half starts past its bound");
            self.pages.insert(upper_bound, upper);
        }
    }

    /// Removes `key`, if it is there.
    pub(super) fn remove(&mut self, key: &[u8]) {
        let Some((bound, page)) =
            self.pages.range_mut::<[u8], _>((Bound::Unbounded, Bound::Included(key))).next_back()
        else {
            return;
        };
        if let Ok(index) = page.find(key) {
            page.remove(index);
            if page.len() == 0 && !bound.is_empty() {
                let bound = bound.clone();
                self.pages.remove(&bound);
            }
        }
    }

    /// Calls `each` with every entry from `start` on, in key order, until it breaks.
    pub(super) fn walk(&self, start: Bound<&[u8]>, each: &mut Visitor<'_>) {
        let from: &[u8] = match start {
            Bound::Included(key) | Bound::Excluded(key) => key,
            Bound::Unbounded => &[],
        };
        let Some((first_bound, _)) = self.page(from) else {
            return;
        };
        let mut key = Vec::new();
        for (bound, page) in self.pages.range::<[u8], _>((Bound::Included(first_bound), Bound::Unbounded)) {
            let first = match (start, **bound == *first_bound) {
                (Bound::Included(from), true) => page.find(from).unwrap_or_else(|index| index),
                (Bound::Excluded(from), true) => {
                    page.find(from).map_or_else(|index| index, |index| index + 1)
                }
                _ => 0,
            };
            for index in first..page.len() {
                page.key_into(index, &mut key);
                if each(&key, page.value(index)).is_break() {
                    return;
                }
            }
        }
    }

    /// Calls `each` with every entry before `end`, in reverse key order, until it breaks.
    pub(super) fn walk_back(&self, end: Bound<&[u8]>, each: &mut Visitor<'_>) {
        let to = match end {
            Bound::Included(key) | Bound::Excluded(key) => Bound::Included(key),
            Bound::Unbounded => Bound::Unbounded,
        };
        let mut key = Vec::new();
        let mut last = true;
        for (_, page) in self.pages.range::<[u8], _>((Bound::Unbounded, to)).rev() {
            let stop = match (end, last) {
                (Bound::Included(to), true) => page.find(to).map_or_else(|index| index, |index| index + 1),
                (Bound::Excluded(to), true) => page.find(to).unwrap_or_else(|index| index),
                _ => page.len(),
            };
            last = false;
            for index in (0..stop).rev() {
                page.key_into(index, &mut key);
                if each(&key, page.value(index)).is_break() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::ops::ControlFlow;
    use std::sync::Arc;

    /// One write: a key from a few shapes that share prefixes (as the ledger's do), and a
    /// value (`None`: a removal) small enough to be inline or large enough to be shared.
    fn write() -> impl Strategy<Value = (Vec<u8>, Option<Vec<u8>>)> {
        let key = (0u8..4, prop::collection::vec(0u8..3, 0..6), prop::collection::vec(any::<u8>(), 0..3))
            .prop_map(|(family, middle, tail)| {
                let mut key = [b"fam", &[b'a' + family][..], b"/"].concat();
                key.extend(middle.iter().map(|byte| b'x' + byte));
                key.extend(tail);
                key
            });
        let value = prop_oneof![
            Just(None),
            (0usize..40, any::<u8>()).prop_map(|(len, byte)| Some(vec![byte; len])),
            (128usize..300, any::<u8>()).prop_map(|(len, byte)| Some(vec![byte; len])),
        ];
        (key, value)
    }

    fn put(map: &mut PackedMap, key: &[u8], value: &[u8]) {
        if value.len() > super::super::page::INLINE_VALUE_BYTES {
            map.insert(key, Put::Shared(Arc::from(value)));
        } else {
            map.insert(key, Put::Inline(value));
        }
    }

    fn forward(map: &PackedMap, start: Bound<&[u8]>) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut entries = Vec::new();
        map.walk(start, &mut |key, value| {
            entries.push((key.to_vec(), value.to_vec()));
            ControlFlow::Continue(())
        });
        entries
    }

    fn backward(map: &PackedMap, end: Bound<&[u8]>) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut entries = Vec::new();
        map.walk_back(end, &mut |key, value| {
            entries.push((key.to_vec(), value.to_vec()));
            ControlFlow::Continue(())
        });
        entries
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the writes, the map answers as a `BTreeMap` given the same writes:
        /// gets, walks from and before any key, and the values it lends the undo log.
        #[test]
        fn answers_as_a_btree_map_does(
            writes in prop::collection::vec(write(), 0..600),
            probes in prop::collection::vec(write(), 8),
        ) {
            let mut map = PackedMap::default();
            let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            for (key, value) in &writes {
                match value {
                    Some(value) => {
                        put(&mut map, key, value);
                        model.insert(key.clone(), value.clone());
                    }
                    None => {
                        map.remove(key);
                        model.remove(key);
                    }
                }
            }
            let everything: Vec<_> = model.clone().into_iter().collect();
            prop_assert_eq!(forward(&map, Bound::Unbounded), everything.clone());
            let mut reversed = everything;
            reversed.reverse();
            prop_assert_eq!(backward(&map, Bound::Unbounded), reversed);
            for (probe, _) in writes.iter().take(20).chain(&probes) {
                prop_assert_eq!(map.get(probe), model.get(probe).map(Vec::as_slice));
                let owned = map.owned(probe).map(|value| match value {
                    Value::Owned(bytes) => bytes.to_vec(),
                    Value::Shared(bytes) => bytes.to_vec(),
                });
                prop_assert_eq!(owned.as_ref(), model.get(probe));
                let from = |bound: Bound<&[u8]>| -> Vec<_> {
                    model.range::<[u8], _>((bound, Bound::Unbounded)).map(|(k, v)| (k.clone(), v.clone())).collect()
                };
                let before = |bound: Bound<&[u8]>| -> Vec<_> {
                    model.range::<[u8], _>((Bound::Unbounded, bound)).rev().map(|(k, v)| (k.clone(), v.clone())).collect()
                };
                for bound in [Bound::Included(probe.as_slice()), Bound::Excluded(probe.as_slice())] {
                    prop_assert_eq!(forward(&map, bound), from(bound));
                    prop_assert_eq!(backward(&map, bound), before(bound));
                }
            }
        }
    }

    #[test]
    fn pages_split_and_empty_pages_go() {
        let mut map = PackedMap::default();
        let keys: Vec<Vec<u8>> =
            (0u32..1000).map(|n| [b"chan/peer".as_slice(), &n.to_be_bytes()].concat()).collect();
        for key in &keys {
            put(&mut map, key, &[7; 32]);
        }
        assert!(map.pages.len() >= 1000 / super::super::page::PAGE_ENTRIES, "{} pages", map.pages.len());
        assert_eq!(forward(&map, Bound::Unbounded).len(), 1000);
        for key in &keys {
            map.remove(key);
        }
        assert_eq!(map.pages.len(), 1, "only the first page stays");
        assert!(forward(&map, Bound::Unbounded).is_empty());
        // A key below every prefix the first page had still finds its place.
        put(&mut map, b"a", b"1");
        put(&mut map, b"", b"0");
        assert_eq!(map.get(b""), Some(&b"0"[..]));
        assert_eq!(
            forward(&map, Bound::Unbounded),
            vec![(b"".to_vec(), b"0".to_vec()), (b"a".to_vec(), b"1".to_vec())]
        );
    }
}
