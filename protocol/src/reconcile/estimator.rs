//! The hello's summary of a set: its count, a salted fingerprint, and a tug-of-war
//! estimator of how many items two sets differ in.
//!
//! Fingerprint: the sum modulo 2^128 of every item's keyed 16-byte digest. Sums of keyed
//! pseudo-random values collide only by chance (2^-128) for anyone who does not know the
//! key, and a sum can be updated by the items a session found: the outcome is checked by
//! turning one side's fingerprint into the other's.
//!
//! Estimator (Alon, Matias, Szegedy's tug of war): counter j is the sum over the set of ±1,
//! the sign being bit j of the item's digest. For two sets, counter j differs by a sum of
//! one random sign per item in the symmetric difference, whose square has expectation the
//! size d of the difference; the mean of 128 squares estimates d within about ±12.5 % (one
//! standard deviation), enough to size the first batch of coded symbols. Counters travel
//! modulo 2^16: their differences are sums of d signs, far below 2^15 in magnitude for any
//! d a session can hold, so they come out exact.

use super::keys::{HelloDigest, HelloKey};
use super::{Item, ESTIMATOR_COUNTERS};
use crate::id::RecordId;

/// A set as the hello describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Summary {
    /// How many items.
    pub(crate) count: u64,
    /// The salted fingerprint.
    pub(crate) fingerprint: u128,
    /// The estimator's counters.
    pub(crate) counters: [i64; ESTIMATOR_COUNTERS],
}

impl Summary {
    /// Hashes every item once with the hello key; returns the summary and each item's
    /// digest (the input of its session tag).
    pub(crate) fn of(items: &[Item], key: &HelloKey) -> (Summary, Vec<HelloDigest>) {
        let mut fingerprint = 0u128;
        let digests: Vec<HelloDigest> = items
            .iter()
            .map(|item| {
                let digest = key.digest(&item.id);
                fingerprint = fingerprint.wrapping_add(digest.summand);
                digest
            })
            .collect();
        let ones = count_ones(&digests);
        let count = items.len() as u64;
        let mut counters = [0i64; ESTIMATOR_COUNTERS];
        for (counter, ones) in counters.iter_mut().zip(ones) {
            *counter = 2 * ones as i64 - count as i64;
        }
        (Summary { count, fingerprint, counters }, digests)
    }

    /// Adds one item, by its digest, to a summary of a set that did not hold it.
    pub(crate) fn add(&mut self, digest: &HelloDigest) {
        self.count += 1;
        self.fingerprint = self.fingerprint.wrapping_add(digest.summand);
        for (j, counter) in self.counters.iter_mut().enumerate() {
            let bit = digest.tail.get(j / 8).is_some_and(|byte| byte >> (j % 8) & 1 == 1);
            *counter += if bit { 1 } else { -1 };
        }
    }

    /// The fingerprint of the set after removing items whose digests sum to `removed` and
    /// adding items whose digests sum to `added` (each a [`digest_sum`]).
    pub(crate) fn fingerprint_after(&self, removed: u128, added: u128) -> u128 {
        self.fingerprint.wrapping_sub(removed).wrapping_add(added)
    }

    /// The counters' wire form: each modulo 2^16, two bytes big-endian.
    pub(crate) fn estimator_bytes(&self) -> Vec<u8> {
        self.counters.iter().flat_map(|counter| (*counter as u16).to_be_bytes()).collect()
    }
}

/// The sum modulo 2^128 of the ids' hello digests, as the fingerprint sums them: what
/// `ids` add to or take from a set's fingerprint.
pub(crate) fn digest_sum(key: &HelloKey, ids: &[RecordId]) -> u128 {
    ids.iter().fold(0u128, |sum, id| sum.wrapping_add(key.digest(id).summand))
}

/// Counters from their wire form (length already checked).
pub(crate) fn read_counters(bytes: &[u8]) -> Vec<u16> {
    bytes.chunks_exact(2).map(|pair| u16::from_be_bytes(pair.try_into().unwrap_or_default())).collect()
}

/// Whether `counters` could be the estimator of a set of `count` items: each is a sum of
/// `count` signs, so of the same parity, and (when that is below 2^15) at most `count` in
/// magnitude.
pub(crate) fn plausible(counters: &[u16], count: u64) -> bool {
    counters.iter().all(|counter| {
        let counter = *counter as i16;
        u64::from(counter.unsigned_abs()) % 2 == count % 2
            && (count >= 1 << 15 || u64::from(counter.unsigned_abs()) <= count)
    })
}

/// The estimated size of the symmetric difference of two sets from their summaries: the
/// mean square of the counters' differences, and at least the difference of the counts.
pub(crate) fn estimate_difference(ours: &Summary, theirs_count: u64, theirs: &[u16]) -> u64 {
    let squares: u64 = ours
        .counters
        .iter()
        .zip(theirs)
        .map(|(a, b)| {
            let difference = i64::from((*a as u16).wrapping_sub(*b) as i16);
            (difference * difference) as u64
        })
        .sum();
    squares.div_ceil(ESTIMATOR_COUNTERS as u64).max(ours.count.abs_diff(theirs_count))
}

/// For each estimator counter j, how many digests have bit j (bit j mod 8 of tail byte
/// j/8) set. Each tail byte's 8 bits are spread into the 8 byte lanes of a u64 and added
/// lane-wise, 16 additions a digest, and the lanes are emptied into the counts every 255
/// digests, before one could overflow. (A histogram of each byte costs as much a digest
/// but 32,768 additions to fold at the end, which dominated hellos over the small channels
/// the simulator has thousands of.)
fn count_ones(digests: &[HelloDigest]) -> [u64; ESTIMATOR_COUNTERS] {
    let mut ones = [0u64; ESTIMATOR_COUNTERS];
    for chunk in digests.chunks(usize::from(u8::MAX)) {
        let mut lanes = [0u64; ESTIMATOR_COUNTERS / 8];
        for digest in chunk {
            for (lane, byte) in lanes.iter_mut().zip(digest.tail) {
                *lane += spread(byte);
            }
        }
        for (byte_ones, lane) in ones.chunks_mut(8).zip(lanes) {
            for (bit, one) in byte_ones.iter_mut().enumerate() {
                *one += (lane >> (8 * bit)) & 0xff;
            }
        }
    }
    ones
}

/// Bit k of `byte` as the lowest bit of byte lane k. Multiplying a nibble by
/// 1 + 2^7 + 2^14 + 2^21 puts copies of it 7 bits apart, which cannot overlap, so copy k
/// has its bit k at bit 8k.
fn spread(byte: u8) -> u64 {
    let nibble = |nibble: u8| (u64::from(nibble) * 0x0020_4081) & 0x0101_0101;
    nibble(byte & 0x0f) | (nibble(byte >> 4) << 32)
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
                Item { time: u64::from(n), id: RecordId(id) }
            })
            .collect()
    }

    #[test]
    fn counters_are_sums_of_signs() {
        let key = HelloKey::new(&Salt([1; 16]));
        let set = items(0..101);
        let (summary, digests) = Summary::of(&set, &key);
        assert_eq!(digests.len(), 101);
        let wire = read_counters(&summary.estimator_bytes());
        assert!(plausible(&wire, 101));
        let mut expected = [0i64; ESTIMATOR_COUNTERS];
        for item in &set {
            let tail = key.digest(&item.id).tail;
            for (j, counter) in expected.iter_mut().enumerate() {
                *counter += if tail[j / 8] >> (j % 8) & 1 == 1 { 1 } else { -1 };
            }
        }
        assert_eq!(summary.counters, expected);
        assert!(!plausible(&wire, 100));
        assert!(!plausible(&[103], 101));
        assert!(plausible(&[(-101i16) as u16], 101));
    }

    #[test]
    fn bits_are_counted_exactly_across_the_lanes_flushes() {
        let key = HelloKey::new(&Salt([3; 16]));
        for byte in 0..=u8::MAX {
            let lanes = spread(byte).to_le_bytes();
            assert!((0..8).all(|bit| u8::from(byte >> bit & 1 == 1) == lanes[bit]), "{byte}");
        }
        for size in [0u32, 1, 254, 255, 256, 510, 511, 1000] {
            let digests: Vec<HelloDigest> = items(0..size).iter().map(|item| key.digest(&item.id)).collect();
            let mut expected = [0u64; ESTIMATOR_COUNTERS];
            for digest in &digests {
                for (j, one) in expected.iter_mut().enumerate() {
                    *one += u64::from(digest.tail[j / 8] >> (j % 8) & 1);
                }
            }
            assert_eq!(count_ones(&digests), expected, "{size} items");
        }
        // All bits set in every digest: each lane reaches exactly 255 before it is emptied.
        let full = HelloDigest { summand: 0, tail: [0xff; 16] };
        assert_eq!(count_ones(&vec![full; 600]), [600; ESTIMATOR_COUNTERS]);
    }

    #[test]
    fn the_estimate_is_near_the_difference() {
        let key = HelloKey::new(&Salt([2; 16]));
        let a = Summary::of(&items(0..10_000), &key).0;
        let b = Summary::of(&items(1_000..11_000), &key).0;
        let estimate = estimate_difference(&a, b.count, &read_counters(&b.estimator_bytes()));
        assert!((1_400..=2_600).contains(&estimate), "{estimate} for 2000");
        assert_eq!(estimate_difference(&a, a.count, &read_counters(&a.estimator_bytes())), 0);
    }

    #[test]
    fn a_summary_built_item_by_item_equals_one_of_the_whole_set() {
        let key = HelloKey::new(&Salt([4; 16]));
        let set = items(0..300);
        let mut built = Summary::of(&[], &key).0;
        for item in &set {
            built.add(&key.digest(&item.id));
        }
        assert_eq!(built, Summary::of(&set, &key).0);
    }

    #[test]
    fn the_fingerprint_follows_the_outcome() {
        let key = HelloKey::new(&Salt([3; 16]));
        let a = Summary::of(&items(0..50), &key).0;
        let b = Summary::of(&items(10..60), &key).0;
        assert_ne!(a.fingerprint, b.fingerprint);
        let ids = |range| items(range).into_iter().map(|item| item.id).collect::<Vec<_>>();
        assert_eq!(
            a.fingerprint_after(digest_sum(&key, &ids(0..10)), digest_sum(&key, &ids(50..60))),
            b.fingerprint
        );
    }
}
