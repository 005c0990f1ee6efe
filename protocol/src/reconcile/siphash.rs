//! SipHash-2-4 (Aumasson and Bernstein, 2012), the keyed 64-bit pseudo-random function
//! that derives an item's tag and a tag's checksum from the session key.
//!
//! Why SipHash and not SHA-256 again: a session hashes every item once with SHA-256 (the
//! hello digest) and then needs two more keyed values per item; SipHash gives them for a
//! fraction of a SHA-256 compression, and it is made for exactly this (short inputs, a
//! secret 128-bit key, outputs an adversary cannot predict or collide on purpose). The
//! `siphasher` crate computes it (no hand-written cryptography); the tests pin it to the
//! paper's test vector and the standard library's SipHash-2-4.

use std::hash::Hasher as _;

/// A SipHash-2-4 key: two 64-bit words, read little-endian from 16 key bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SipKey {
    k0: u64,
    k1: u64,
}

impl SipKey {
    /// The key of 16 bytes, as the SipHash paper reads them.
    pub(crate) fn new(bytes: &[u8; 16]) -> SipKey {
        let (k0, k1) = bytes.split_at(8);
        SipKey {
            k0: u64::from_le_bytes(k0.try_into().unwrap_or_default()),
            k1: u64::from_le_bytes(k1.try_into().unwrap_or_default()),
        }
    }

    /// SipHash-2-4 of `message` under this key.
    pub(crate) fn hash(&self, message: &[u8]) -> u64 {
        let mut hasher = siphasher::sip::SipHasher24::new_with_keys(self.k0, self.k1);
        hasher.write(message);
        hasher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper_key() -> SipKey {
        let bytes: Vec<u8> = (0..16).collect();
        SipKey::new(&bytes.try_into().unwrap())
    }

    #[test]
    fn the_papers_test_vector() {
        // SipHash paper, Appendix A: key 00..0f, message 00..0e.
        let message: Vec<u8> = (0..15).collect();
        assert_eq!(paper_key().hash(&message), 0xa129_ca61_49be_45e5);
    }

    #[test]
    #[allow(deprecated)]
    fn agrees_with_the_standard_library() {
        use std::hash::Hasher;
        let key = SipKey { k0: 0x0706_0504_0302_0100, k1: 0x0f0e_0d0c_0b0a_0908 };
        assert_eq!(key, paper_key());
        for length in 0..64 {
            let message: Vec<u8> = (0..length).map(|n| (n * 7 + 3) as u8).collect();
            let mut reference = std::hash::SipHasher::new_with_keys(key.k0, key.k1);
            reference.write(&message);
            assert_eq!(key.hash(&message), reference.finish(), "length {length}");
        }
    }
}
