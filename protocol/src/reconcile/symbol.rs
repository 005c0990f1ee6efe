//! Rateless IBLT coded symbols: the encoder of one's own set, and the decoder that
//! subtracts it from the peer's symbols and peels the difference out.
//!
//! A coded symbol sums (XOR) the tags and the checksums of the items whose index sequences
//! hit it. The peer's symbol XOR ours holds only the items in one set and not the other; a
//! symbol whose checksum sum is the checksum of its tag sum holds exactly one item (or is a
//! 2^-64 accident), which the decoder then removes from every symbol it hit. The Rateless
//! IBLT paper also keeps a count per symbol, to tell the peer's items from ours; here the
//! decoder tells them apart by looking the decoded tags up among its own items, which it
//! must do anyway to name them, and each symbol is 16 bytes instead of 17 or more.

use std::collections::HashMap;

use super::keys::{HelloDigest, SessionKeys};
use super::mapping::IndexSequence;
use super::{ReconcileError, SYMBOL_BYTES};

/// One coded symbol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CodedSymbol {
    /// XOR of the tags.
    pub(crate) tag: u64,
    /// XOR of the tags' checksums.
    pub(crate) check: u64,
}

impl CodedSymbol {
    /// Adds or removes one item (the same thing, with XOR).
    fn toggle(&mut self, tag: u64, check: u64) {
        self.tag ^= tag;
        self.check ^= check;
    }

    fn is_zero(&self) -> bool {
        *self == CodedSymbol::default()
    }

    /// The 16-byte wire form: tag sum and checksum sum, big-endian.
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
                    check: u64::from_be_bytes(check.try_into().unwrap_or_default()),
                }
            })
            .collect())
    }
}

/// One item as the coder sees it: its tag, checksum and place in its index sequence.
#[derive(Clone, Copy, Debug)]
struct Entry {
    tag: u64,
    check: u64,
    sequence: IndexSequence,
}

/// The encoder of one side's own set: produces its coded symbols in order, batch by batch,
/// advancing each item's index sequence only as far as the batch reaches.
pub(crate) struct Coder {
    entries: Vec<Entry>,
    /// Tag → position in the items, sorted by tag; built by the second lookup.
    index: Option<Vec<(u64, u32)>>,
    /// Whether a lookup has scanned the items already.
    scanned: bool,
    produced: u64,
}

impl Coder {
    /// Tags every item from its hello digest (two SipHash evaluations an item).
    pub(crate) fn new(digests: &[HelloDigest], keys: &SessionKeys) -> Coder {
        let entries = digests
            .iter()
            .map(|digest| {
                let tag = keys.tag(digest);
                Entry { tag, check: keys.check(tag), sequence: IndexSequence::new(tag) }
            })
            .collect();
        Coder { entries, index: None, scanned: false, produced: 0 }
    }

    /// How many symbols have been produced.
    pub(crate) fn produced(&self) -> u64 {
        self.produced
    }

    /// The next `count` coded symbols of the set.
    pub(crate) fn produce(&mut self, count: usize) -> Vec<CodedSymbol> {
        let start = self.produced;
        let end = start + count as u64;
        let mut symbols = vec![CodedSymbol::default(); count];
        for entry in &mut self.entries {
            while entry.sequence.current() < end {
                let at = entry.sequence.current().saturating_sub(start) as usize;
                if let Some(symbol) = symbols.get_mut(at) {
                    symbol.toggle(entry.tag, entry.check);
                }
                entry.sequence.advance();
            }
        }
        self.produced = end;
        symbols
    }

    /// The positions of the items with these tags (`None` for a tag none has), or an error
    /// if two of our items share one of them (a 2^-64 accident per pair). The first call
    /// scans the items once; later calls use a tag index that the second call builds, so a
    /// session that asks once costs O(n) and one that asks often O(n log n) in all.
    pub(crate) fn find_all(&mut self, tags: &[u64]) -> Result<Vec<Option<usize>>, ReconcileError> {
        let shared = || ReconcileError::InconsistentSymbols { reason: "two of our items share a tag" };
        if self.index.is_none() && !self.scanned {
            self.scanned = true;
            let mut wanted: HashMap<u64, Option<usize>> = tags.iter().map(|tag| (*tag, None)).collect();
            for (position, entry) in self.entries.iter().enumerate() {
                if let Some(slot) = wanted.get_mut(&entry.tag) {
                    if slot.replace(position).is_some() {
                        return Err(shared());
                    }
                }
            }
            return Ok(tags.iter().map(|tag| wanted.get(tag).copied().flatten()).collect());
        }
        let entries = &self.entries;
        let index = self.index.get_or_insert_with(|| {
            let mut index: Vec<(u64, u32)> =
                entries.iter().enumerate().map(|(position, entry)| (entry.tag, position as u32)).collect();
            index.sort_unstable();
            index
        });
        tags.iter()
            .map(|tag| {
                let start = index.partition_point(|(other, _)| other < tag);
                match (index.get(start), index.get(start + 1)) {
                    (Some((_, _)), Some((next, _))) if next == tag => Err(shared()),
                    (Some((first, position)), _) if first == tag => Ok(Some(*position as usize)),
                    _ => Ok(None),
                }
            })
            .collect()
    }
}

/// A decoded item: its tag and the rest of its index sequence, to apply to later symbols.
#[derive(Clone, Copy, Debug)]
struct Peeled {
    tag: u64,
    check: u64,
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
    use crate::reconcile::keys::HelloKey;
    use crate::reconcile::Salt;

    fn digests(range: std::ops::Range<u32>, key: &HelloKey) -> Vec<HelloDigest> {
        range
            .map(|n| {
                let mut id = [0u8; 32];
                id[..4].copy_from_slice(&n.to_be_bytes());
                key.digest(&RecordId(id))
            })
            .collect()
    }

    /// Symbols needed to decode two sets that differ in `ours` and `theirs` items.
    fn symbols_needed(common: u32, ours: u32, theirs: u32, seed: u8) -> usize {
        let (initiator, responder) = (Salt([seed; 16]), Salt([1; 16]));
        let keys = SessionKeys::new(&initiator, &responder);
        let hello = HelloKey::new(&initiator);
        let a = digests(0..common + ours, &hello);
        let mut b = digests(0..common, &hello);
        b.extend(digests(common + ours..common + ours + theirs, &hello));
        let (mut coder_a, mut coder_b) = (Coder::new(&a, &keys), Coder::new(&b, &keys));
        let mut decoder = Decoder::default();
        loop {
            let their_symbols = coder_b.produce(1);
            let our_symbols = coder_a.produce(1);
            decoder.add(&their_symbols, &our_symbols, &keys).unwrap();
            if decoder.is_complete().unwrap() {
                let tags = decoder.tags();
                let found = coder_a.find_all(&tags).unwrap();
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
    fn symbols_round_trip_their_bytes() {
        let symbol = CodedSymbol { tag: 0x0102030405060708, check: u64::MAX };
        let mut bytes = Vec::new();
        symbol.write(&mut bytes);
        assert_eq!(bytes.len(), SYMBOL_BYTES);
        assert_eq!(bytes[0], 1);
        assert_eq!(CodedSymbol::read_all(&bytes).unwrap(), vec![symbol]);
        assert!(CodedSymbol::read_all(&bytes[1..]).is_err());
    }

    #[test]
    fn lying_symbols_give_errors_not_panics() {
        let keys = SessionKeys::new(&Salt([1; 16]), &Salt([2; 16]));
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
    use crate::reconcile::keys::HelloKey;
    use crate::reconcile::Salt;

    #[test]
    #[ignore = "a measurement, not a check; run it in release"]
    fn symbols_needed_per_difference() {
        for (differences, trials) in [(10u32, 250u8), (100, 200), (1000, 60), (10_000, 12)] {
            let mut needed = Vec::new();
            for seed in 0..trials {
                let keys = SessionKeys::new(&Salt([seed; 16]), &Salt([7; 16]));
                let hello = HelloKey::new(&Salt([seed; 16]));
                let digests: Vec<HelloDigest> = (0..differences)
                    .map(|n| {
                        let mut id = [1u8; 32];
                        id[..4].copy_from_slice(&n.to_be_bytes());
                        hello.digest(&RecordId(id))
                    })
                    .collect();
                let mut coder = Coder::new(&digests, &keys);
                let mut decoder = Decoder::default();
                while !decoder.is_complete().unwrap() {
                    decoder.add(&coder.produce(1), &[CodedSymbol::default()], &keys).unwrap();
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
