//! Which coded symbols an item goes into: an increasing sequence of indices, generated
//! lazily from the item's tag, in which index i appears with probability about 1/(1 + i/2)
//! (Rateless IBLT, Yang et al. 2024, §4.2).
//!
//! The sequence starts at 0, so symbol 0 holds every item. From index i, the generator
//! steps its state r ← r · 0xda942042e4dd58b5 (mod 2^64) and jumps by
//! ⌈(i + 1.5)(2^32/s − 1)⌉ where s = max(1, ⌊√r⌋): r/2^64 is uniform, so s/2^32 is the square
//! root of a uniform number, which is what gives the 1/(1 + i/2) density. The reference
//! implementation (github.com/yangl1996/riblt) does the same with floating point; here it
//! is exact integer arithmetic, ⌈(2i + 3)(2^32 − s) / 2s⌉, so every implementation agrees
//! bit for bit.

/// The multiplier of the generator (the riblt reference's).
const MULTIPLIER: u64 = 0xda94_2042_e4dd_58b5;

/// The index sequence of one item, positioned at its next index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IndexSequence {
    state: u64,
    next: u64,
}

impl IndexSequence {
    /// The sequence of the item with this tag, at its first index, 0.
    pub(crate) fn new(tag: u64) -> IndexSequence {
        IndexSequence { state: tag, next: 0 }
    }

    /// The next index the item maps to.
    pub(crate) fn current(&self) -> u64 {
        self.next
    }

    /// Moves to the following index (always larger; `u64::MAX` once beyond any reach).
    pub(crate) fn advance(&mut self) {
        let r = self.state.wrapping_mul(MULTIPLIER);
        self.state = r;
        let s = floor_sqrt(r).max(1);
        let i = self.next;
        let gap = if i < 1 << 30 {
            // (2i + 3) < 2^31 and 2^32 − s ≤ 2^32: the product fits in 63 bits.
            ((2 * i + 3) * ((1 << 32) - s)).div_ceil(2 * s)
        } else {
            let exact = ((u128::from(i) * 2 + 3) * u128::from((1u64 << 32) - s)).div_ceil(2 * u128::from(s));
            u64::try_from(exact).unwrap_or(u64::MAX)
        };
        self.next = i.saturating_add(gap);
    }
}

/// ⌊√r⌋, exactly: the floating-point square root (within one of it), corrected. Twice as
/// fast as `u64::isqrt` here, and this runs for every index of every item.
fn floor_sqrt(r: u64) -> u64 {
    let mut s = (r as f64).sqrt() as u64;
    while u128::from(s) * u128::from(s) > u128::from(r) {
        s -= 1;
    }
    while u128::from(s + 1) * u128::from(s + 1) <= u128::from(r) {
        s += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_square_root_is_exact() {
        for r in [0u64, 1, 2, 3, 4, 15, 16, 17, u64::MAX, u64::MAX - 1, (1 << 32) * ((1 << 32) - 2)] {
            assert_eq!(floor_sqrt(r), r.isqrt(), "{r}");
        }
        let mut r = 1u64;
        for _ in 0..100_000 {
            r = r.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(7);
            assert_eq!(floor_sqrt(r), r.isqrt(), "{r}");
            let s = r.isqrt();
            assert_eq!(floor_sqrt(s * s), s);
            assert_eq!(floor_sqrt((s * s).wrapping_sub(1)), (s * s).wrapping_sub(1).isqrt());
        }
    }

    #[test]
    fn indices_start_at_zero_and_increase() {
        for tag in [0u64, 1, 2, 0xdead_beef, u64::MAX] {
            let mut sequence = IndexSequence::new(tag);
            assert_eq!(sequence.current(), 0);
            let mut last = 0;
            for _ in 0..40 {
                sequence.advance();
                assert!(sequence.current() > last || sequence.current() == u64::MAX);
                last = sequence.current();
            }
        }
    }

    #[test]
    fn index_i_is_hit_with_probability_about_one_over_one_plus_half_i() {
        use sha2::{Digest, Sha256};
        let items = 20_000u32;
        let mut hits = [0u64; 64];
        for n in 0..items {
            let digest = Sha256::digest(n.to_be_bytes());
            let mut sequence = IndexSequence::new(u64::from_be_bytes(digest[..8].try_into().unwrap()));
            while sequence.current() < 64 {
                hits[sequence.current() as usize] += 1;
                sequence.advance();
            }
        }
        for (low, high) in [(0, 1), (1, 2), (2, 4), (4, 8), (8, 16), (16, 32), (32, 64)] {
            let hit: u64 = hits[low..high].iter().sum();
            let expected: f64 = (low..high).map(|i| f64::from(items) / (1.0 + i as f64 / 2.0)).sum();
            let ratio = hit as f64 / expected;
            assert!((0.92..1.08).contains(&ratio), "indices {low}..{high}: {hit} hits, expected {expected}");
        }
    }

    #[test]
    fn the_sequence_is_fixed() {
        // Vector for other implementations (spec/reconcile.md §Index sequence).
        let mut sequence = IndexSequence::new(0x0123_4567_89ab_cdef);
        let mut indices = vec![sequence.current()];
        for _ in 0..9 {
            sequence.advance();
            indices.push(sequence.current());
        }
        assert_eq!(indices, FIRST_TEN);
    }

    /// The first ten indices of the sequence of tag 0x0123456789abcdef.
    const FIRST_TEN: [u64; 10] = [0, 1, 2, 4, 6, 8, 20, 24, 34, 36];
}
