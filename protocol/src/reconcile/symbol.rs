//! Rateless IBLT coded symbols: the encoder of one's own set, and the decoder that
//! subtracts it from the peer's symbols and peels the difference out.
//!
//! A coded symbol sums (XOR) the tags and the checksums of the items whose index sequences
//! hit it. The peer's symbol XOR ours holds only the items in one set and not the other; a
//! symbol whose checksum sum is the checksum of its tag sum holds exactly one item (or is a
//! 2^-32 accident, which the outcome's fingerprint check catches), which the decoder then
//! removes from every symbol it hit. The Rateless IBLT paper also keeps a count per symbol,
//! to tell the peer's items from ours; here the decoder tells them apart by looking the
//! decoded tags up among its own items, which it must do anyway to name them, and each
//! symbol is 12 bytes instead of 13 or more.

use super::keys::{HelloDigest, SessionKeys};
use super::mapping::IndexSequence;
use super::{Item, ReconcileError, SYMBOL_BYTES};

/// One coded symbol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CodedSymbol {
    /// XOR of the tags.
    pub(crate) tag: u64,
    /// XOR of the tags' checksums.
    pub(crate) check: u32,
}

impl CodedSymbol {
    /// Adds or removes one item (the same thing, with XOR).
    fn toggle(&mut self, tag: u64, check: u32) {
        self.tag ^= tag;
        self.check ^= check;
    }

    fn is_zero(&self) -> bool {
        *self == CodedSymbol::default()
    }

    /// The 12-byte wire form: tag sum (8 bytes) and checksum sum (4 bytes), big-endian.
    pub(crate) fn write(&self, to: &mut Vec<u8>) {
        to.extend(self.tag.to_be_bytes());
        to.extend(self.check.to_be_bytes());
    }

    /// Reads symbols from their packed wire form.
    pub(crate) fn read_all(bytes: &[u8]) -> Result<Vec<CodedSymbol>, ReconcileError> {
        if bytes.len() % SYMBOL_BYTES != 0 {
            return Err(ReconcileError::malformed(format!(
                "symbols: {} bytes is not a multiple of {SYMBOL_BYTES}",
                bytes.len()
            )));
        }
        Ok(bytes
            .chunks_exact(SYMBOL_BYTES)
            .map(|chunk| {
                let (tag, check) = chunk.split_at(8);
                CodedSymbol {
                    tag: u64::from_be_bytes(tag.try_into().unwrap_or_default()),
                    check: u32::from_be_bytes(check.try_into().unwrap_or_default()),
                }
            })
            .collect())
    }
}

/// One item as the coder sees it: its tag, checksum and place in its index sequence.
#[derive(Clone, Copy, Debug)]
struct Entry {
    tag: u64,
    check: u32,
    sequence: IndexSequence,
}

impl Entry {
    fn new(time: u64, digest: &HelloDigest, keys: &SessionKeys) -> Entry {
        let tag = SessionKeys::tag(time, digest);
        Entry { tag, check: keys.check(tag), sequence: IndexSequence::new(tag) }
    }

    /// Toggles the item into every symbol of `symbols` (which start at index `start`) its
    /// index sequence reaches, leaving the sequence at its first index past them.
    fn apply(&mut self, symbols: &mut [CodedSymbol], start: u64) {
        let end = start + symbols.len() as u64;
        while self.sequence.current() < end {
            if let Some(at) = self.sequence.current().checked_sub(start) {
                if let Some(symbol) = symbols.get_mut(at as usize) {
                    symbol.toggle(self.tag, self.check);
                }
            }
            self.sequence.advance();
        }
    }
}

/// The first `count` coded symbols of a set whose items have these digests.
pub(crate) fn first_symbols(
    items: &[Item],
    digests: &[HelloDigest],
    keys: &SessionKeys,
    count: usize,
) -> Vec<CodedSymbol> {
    let mut symbols = vec![CodedSymbol::default(); count];
    for (item, digest) in items.iter().zip(digests) {
        Entry::new(item.time, digest, keys).apply(&mut symbols, 0);
    }
    symbols
}

/// Toggles one item into the first symbols of a set (adding it, or removing it).
pub(crate) fn toggle_item(symbols: &mut [CodedSymbol], time: u64, digest: &HelloDigest, keys: &SessionKeys) {
    Entry::new(time, digest, keys).apply(symbols, 0);
}

/// The encoder of one side's own set: produces its coded symbols in order, batch by batch.
/// The first ones come from a prefix kept with the hello summary, if there is one; past
/// it, every item is tagged (once) and its index sequence advanced only as far as each
/// batch reaches.
pub(crate) struct Coder {
    /// The set's first symbols, as kept (possibly none).
    prefix: Vec<CodedSymbol>,
    /// The items' hello digests, if the hello computed them: the entries' input.
    digests: Option<Vec<HelloDigest>>,
    /// Every item, once a batch goes past the prefix.
    entries: Option<Vec<Entry>>,
    produced: u64,
}

impl Coder {
    /// A coder whose first symbols are `prefix`, and whose items, if it needs them, have
    /// these `digests` (or are hashed then).
    pub(crate) fn new(prefix: Vec<CodedSymbol>, digests: Option<Vec<HelloDigest>>) -> Coder {
        Coder { prefix, digests, entries: None, produced: 0 }
    }

    /// How many symbols have been produced.
    pub(crate) fn produced(&self) -> u64 {
        self.produced
    }

    /// The next `count` coded symbols of `items`.
    pub(crate) fn produce(&mut self, count: usize, items: &[Item], keys: &SessionKeys) -> Vec<CodedSymbol> {
        let start = self.produced;
        self.produced = start + count as u64;
        if let Some(kept) = self.prefix.get(start as usize..self.produced as usize) {
            return kept.to_vec();
        }
        let digests = self.digests.take();
        let entries = self.entries.get_or_insert_with(|| match digests {
            Some(digests) => {
                items.iter().zip(&digests).map(|(item, digest)| Entry::new(item.time, digest, keys)).collect()
            }
            None => {
                items.iter().map(|item| Entry::new(item.time, &keys.hello().digest(&item.id), keys)).collect()
            }
        });
        let mut symbols = vec![CodedSymbol::default(); count];
        for entry in entries.iter_mut() {
            entry.apply(&mut symbols, start);
        }
        symbols
    }
}

/// A decoded item: its tag and the rest of its index sequence, to apply to later symbols.
#[derive(Clone, Copy, Debug)]
struct Peeled {
    tag: u64,
    check: u32,
    sequence: IndexSequence,
}

/// The decoder: the peer's symbols XOR ours, with every item peeled so far removed.
#[derive(Default)]
pub(crate) struct Decoder {
    residual: Vec<CodedSymbol>,
    peeled: Vec<Peeled>,
    queue: Vec<usize>,
}

impl Decoder {
    /// How many symbols have been received.
    pub(crate) fn received(&self) -> usize {
        self.residual.len()
    }

    /// The tags of the items decoded so far: in one set and not the other.
    pub(crate) fn tags(&self) -> Vec<u64> {
        self.peeled.iter().map(|peeled| peeled.tag).collect()
    }

    /// Adds the peer's next symbols and ours at the same indices, then peels what it can.
    pub(crate) fn add(
        &mut self,
        theirs: &[CodedSymbol],
        ours: &[CodedSymbol],
        keys: &SessionKeys,
    ) -> Result<(), ReconcileError> {
        let start = self.residual.len();
        self.residual.extend(
            theirs
                .iter()
                .zip(ours)
                .map(|(their, our)| CodedSymbol { tag: their.tag ^ our.tag, check: their.check ^ our.check }),
        );
        let end = self.residual.len() as u64;
        for peeled in &mut self.peeled {
            while peeled.sequence.current() < end {
                if let Some(symbol) = self.residual.get_mut(peeled.sequence.current() as usize) {
                    symbol.toggle(peeled.tag, peeled.check);
                }
                peeled.sequence.advance();
            }
        }
        for (at, symbol) in self.residual.iter().enumerate().skip(start) {
            if !symbol.is_zero() {
                self.queue.push(at);
            }
        }
        self.peel(keys)
    }

    fn peel(&mut self, keys: &SessionKeys) -> Result<(), ReconcileError> {
        let end = self.residual.len() as u64;
        while let Some(at) = self.queue.pop() {
            let Some(symbol) = self.residual.get(at).copied() else { continue };
            if symbol.is_zero() || keys.check(symbol.tag) != symbol.check {
                continue;
            }
            // Each decoded item empties the symbol it came from, so there are never more
            // than symbols; a peer that makes it otherwise is lying.
            if self.peeled.len() >= self.residual.len() {
                return Err(ReconcileError::InconsistentSymbols { reason: "more items than symbols" });
            }
            let mut peeled =
                Peeled { tag: symbol.tag, check: symbol.check, sequence: IndexSequence::new(symbol.tag) };
            while peeled.sequence.current() < end {
                let index = peeled.sequence.current() as usize;
                if let Some(hit) = self.residual.get_mut(index) {
                    hit.toggle(peeled.tag, peeled.check);
                    if !hit.is_zero() {
                        self.queue.push(index);
                    }
                }
                peeled.sequence.advance();
            }
            if self.residual.get(at).is_some_and(|left| !left.is_zero()) {
                return Err(ReconcileError::InconsistentSymbols {
                    reason: "an item decoded from a symbol its index sequence does not reach",
                });
            }
            self.peeled.push(peeled);
        }
        Ok(())
    }

    /// Whether every symbol is empty: the difference is fully decoded. Symbol 0 holds every
    /// item, so it alone is empty only if nothing is left (or by a 2^-128 accident); all
    /// must be, or the peer's symbols were inconsistent.
    pub(crate) fn is_complete(&self) -> Result<bool, ReconcileError> {
        match self.residual.first() {
            Some(first) if first.is_zero() => {
                if self.residual.iter().all(CodedSymbol::is_zero) {
                    Ok(true)
                } else {
                    Err(ReconcileError::InconsistentSymbols {
                        reason: "symbol 0 is empty but others are not",
                    })
                }
            }
            _ => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::RecordId;
    use crate::reconcile::Salt;

    fn items(range: std::ops::Range<u32>) -> Vec<Item> {
        range
            .map(|n| {
                let mut id = [0u8; 32];
                id[..4].copy_from_slice(&n.to_be_bytes());
                Item { time: u64::from(n / 3), id: RecordId(id) }
            })
            .collect()
    }

    /// Symbols needed to decode two sets that differ in `ours` and `theirs` items.
    fn symbols_needed(common: u32, ours: u32, theirs: u32, seed: u8) -> usize {
        let keys = SessionKeys::new(&Salt([seed; 16]));
        let a = items(0..common + ours);
        let mut b = items(0..common);
        b.extend(items(common + ours..common + ours + theirs));
        let (mut coder_a, mut coder_b) = (Coder::new(Vec::new(), None), Coder::new(Vec::new(), None));
        let mut decoder = Decoder::default();
        loop {
            let their_symbols = coder_b.produce(1, &b, &keys);
            let our_symbols = coder_a.produce(1, &a, &keys);
            decoder.add(&their_symbols, &our_symbols, &keys).unwrap();
            if decoder.is_complete().unwrap() {
                let tags = decoder.tags();
                let found = super::super::lookup::find_tags(&a, &tags, &keys).unwrap();
                assert_eq!(found.iter().filter(|position| position.is_some()).count() as u32, ours);
                assert_eq!(tags.len() as u32, ours + theirs);
                return decoder.received();
            }
        }
    }

    #[test]
    fn differences_decode_with_few_symbols_per_item() {
        assert_eq!(symbols_needed(100, 0, 0, 1), 1);
        assert_eq!(symbols_needed(100, 1, 0, 1), 1);
        assert_eq!(symbols_needed(100, 0, 1, 1), 1);
        let total: usize = (0..5).map(|seed| symbols_needed(300, 100, 100, seed)).sum();
        let per_item = total as f64 / 1000.0;
        assert!((1.1..2.2).contains(&per_item), "{per_item} symbols per difference");
    }

    #[test]
    fn kept_first_symbols_equal_those_of_the_whole_set_and_the_coder_goes_past_them() {
        let keys = SessionKeys::new(&Salt([5; 16]));
        let set = items(0..500);
        let digests: Vec<HelloDigest> = set.iter().map(|item| keys.hello().digest(&item.id)).collect();
        let mut built = vec![CodedSymbol::default(); 40];
        for (item, digest) in set.iter().zip(&digests) {
            toggle_item(&mut built, item.time, digest, &keys);
        }
        assert_eq!(built, first_symbols(&set, &digests, &keys, 40));
        let mut whole = Coder::new(Vec::new(), Some(digests));
        let expected = [whole.produce(30, &set, &keys), whole.produce(30, &set, &keys)].concat();
        let mut kept = Coder::new(built, None);
        // Within the prefix, then one batch across its end (every item hashed then).
        let mut produced = kept.produce(30, &set, &keys);
        produced.extend(kept.produce(30, &set, &keys));
        assert_eq!(produced, expected);
        assert_eq!(kept.produced(), 60);
    }

    #[test]
    fn symbols_round_trip_their_bytes() {
        let symbol = CodedSymbol { tag: 0x0102030405060708, check: u32::MAX };
        let mut bytes = Vec::new();
        symbol.write(&mut bytes);
        assert_eq!(bytes.len(), SYMBOL_BYTES);
        assert_eq!(bytes[0], 1);
        assert_eq!(CodedSymbol::read_all(&bytes).unwrap(), vec![symbol]);
        assert!(CodedSymbol::read_all(&bytes[1..]).is_err());
    }

    #[test]
    fn lying_symbols_give_errors_not_panics() {
        let keys = SessionKeys::new(&Salt([1; 16]));
        // A "pure" symbol 1 whose tag's sequence does not reach index 1.
        let mut tag = 1u64;
        loop {
            let mut sequence = IndexSequence::new(tag);
            sequence.advance();
            if sequence.current() != 1 {
                break;
            }
            tag += 1;
        }
        let fake = CodedSymbol { tag, check: keys.check(tag) };
        let zero = CodedSymbol::default();
        let junk = CodedSymbol { tag: 5, check: 6 };
        let mut decoder = Decoder::default();
        let error = decoder.add(&[junk, fake], &[zero, zero], &keys).unwrap_err();
        assert!(matches!(error, ReconcileError::InconsistentSymbols { .. }));
        // Symbol 0 empty, symbol 1 not.
        let mut decoder = Decoder::default();
        decoder.add(&[zero, junk], &[zero, zero], &keys).unwrap();
        assert!(decoder.is_complete().is_err());
    }
}

/// Measures how many symbols decoding needs per difference (spec/reconcile.md quotes it):
/// `cargo test --release -p kvitt-protocol --lib symbols_needed -- --ignored --nocapture`.
#[cfg(test)]
mod measure {
    use super::*;
    use crate::id::RecordId;
    use crate::reconcile::Salt;

    #[test]
    #[ignore = "a measurement, not a check; run it in release"]
    fn symbols_needed_per_difference() {
        for (differences, trials) in [(10u32, 250u8), (100, 200), (1000, 60), (10_000, 12)] {
            let mut needed = Vec::new();
            for seed in 0..trials {
                let keys = SessionKeys::new(&Salt([seed; 16]));
                let set: Vec<Item> = (0..differences)
                    .map(|n| {
                        let mut id = [1u8; 32];
                        id[..4].copy_from_slice(&n.to_be_bytes());
                        Item { time: u64::from(n), id: RecordId(id) }
                    })
                    .collect();
                let mut coder = Coder::new(Vec::new(), None);
                let mut decoder = Decoder::default();
                while !decoder.is_complete().unwrap() {
                    decoder.add(&coder.produce(1, &set, &keys), &[CodedSymbol::default()], &keys).unwrap();
                }
                needed.push(decoder.received() as f64 / f64::from(differences));
            }
            needed.sort_by(f64::total_cmp);
            let quantile = |q: f64| needed[((needed.len() - 1) as f64 * q) as usize];
            println!(
                "{differences} differences: mean {:.3}, median {:.3}, 90th percentile {:.3}, max {:.3} symbols each",
                needed.iter().sum::<f64>() / needed.len() as f64,
                quantile(0.5),
                quantile(0.9),
                quantile(1.0)
            );
        }
    }
}
