//! The salted hashes of a session: every hash an item goes through is keyed with the
//! initiator's hello salt, so nobody who does not know it can make items that collide.
//!
//! Each key is 32 bytes of SHA-256 over a label and the salt; a keyed hash of a message is
//! SHA-256 over the key padded with zeros to one 64-byte block, then the message (as HMAC
//! pads its key). An implementation can absorb the key block once and clone that state per
//! item, so hashing an item costs one SHA-256 compression. The responder has no salt, so a
//! side that keeps a hello salt for a peer (spec/reconcile.md §Keys and hashes) can keep its
//! coded symbols under it too, as items arrive.

use sha2::{Digest, Sha256};

use super::siphash::SipKey;
use super::{Item, Salt, TAG_BYTES};
use crate::id::RecordId;

/// Label of the key for the hello digest: fingerprint, estimator, tags.
const HELLO_LABEL: &[u8] = b"kvitt reconcile v1 hello";
/// Label of the key for tags' checksums.
const CHECK_LABEL: &[u8] = b"kvitt reconcile v1 check";

/// The largest time a tag holds: later times are all tagged with this one.
const LAST_TAGGED_SECOND: u64 = u32::MAX as u64;

/// SHA-256(label ‖ 0x00 ‖ salts…).
fn derive(label: &[u8], salts: &[&Salt]) -> [u8; 32] {
    let mut key = Sha256::new();
    key.update(label);
    key.update([0u8]);
    for salt in salts {
        key.update(salt.0);
    }
    key.finalize().into()
}

/// The first 16 bytes of a derived key.
fn sip_key(key: &[u8; 32]) -> SipKey {
    let mut bytes = [0u8; 16];
    for (to, from) in bytes.iter_mut().zip(key) {
        *to = *from;
    }
    SipKey::new(&bytes)
}

/// The hello key: SHA-256 with a key block already absorbed (the initiator's salt only: it
/// goes out before the responder's).
#[derive(Clone)]
pub(crate) struct HelloKey(Sha256);

/// What the hello key makes of one id: its share of the fingerprint, and 16 bytes that are
/// both its 128 estimator signs and the input of its tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HelloDigest {
    /// Bytes 0–15 of the digest as a big-endian integer; the fingerprint is their sum
    /// modulo 2^128.
    pub(crate) summand: u128,
    /// Bytes 16–31: bit j mod 8 of byte j/8 set means +1 in estimator counter j, clear −1.
    pub(crate) tail: [u8; 16],
}

impl HelloKey {
    pub(crate) fn new(initiator: &Salt) -> HelloKey {
        let key = derive(HELLO_LABEL, &[initiator]);
        let mut block = [0u8; 64];
        for (to, from) in block.iter_mut().zip(key) {
            *to = from;
        }
        let mut state = Sha256::new();
        state.update(block);
        HelloKey(state)
    }

    /// SHA-256(key ‖ 32 zero bytes ‖ id): the key padded to one block, then the id.
    pub(crate) fn digest(&self, id: &RecordId) -> HelloDigest {
        let mut state = self.0.clone();
        state.update(id.0);
        let digest: [u8; 32] = state.finalize().into();
        let (summand, tail) = digest.split_at(16);
        HelloDigest {
            summand: u128::from_be_bytes(summand.try_into().unwrap_or_default()),
            tail: tail.try_into().unwrap_or_default(),
        }
    }
}

/// The keys of every session under one initiator hello salt: the hello key, which also
/// makes the tags, and the checksum key.
#[derive(Clone)]
pub(crate) struct SessionKeys {
    hello: HelloKey,
    check: SipKey,
}

impl SessionKeys {
    pub(crate) fn new(initiator: &Salt) -> SessionKeys {
        SessionKeys { hello: HelloKey::new(initiator), check: sip_key(&derive(CHECK_LABEL, &[initiator])) }
    }

    /// The hello key these keys were made with.
    pub(crate) fn hello(&self) -> &HelloKey {
        &self.hello
    }

    /// An item's tag from its time and hello digest: the time (capped at 2^32 − 1) in the
    /// high 32 bits, so that a decoded tag leads to its item by a search of the time-ordered
    /// items, and bytes 16–19 of the digest in the low 32 bits. What coded symbols sum (XOR)
    /// and what seeds the item's index sequence.
    pub(crate) fn tag(time: u64, digest: &HelloDigest) -> u64 {
        let [a, b, c, d, ..] = digest.tail;
        (time.min(LAST_TAGGED_SECOND) << 32) | u64::from(u32::from_be_bytes([a, b, c, d]))
    }

    /// The tag of an item whose hello digest is not at hand.
    pub(crate) fn tag_of(&self, item: &Item) -> u64 {
        SessionKeys::tag(item.time, &self.hello.digest(&item.id))
    }

    /// Whether `id` has the hashed half of `tag` (its low 32 bits); the other half is the
    /// time of the item, which the caller found it by.
    pub(crate) fn id_has_tag(&self, id: &RecordId, tag: u64) -> bool {
        SessionKeys::tag(0, &self.hello.digest(id)) == tag & u64::from(u32::MAX)
    }

    /// The saturated time a tag holds: the items it may be are those of this time (or, for
    /// the last, of this time and later).
    pub(crate) fn second(tag: u64) -> u64 {
        tag >> 32
    }

    /// Whether a tag's second is the one later times share too.
    pub(crate) fn is_last_second(second: u64) -> bool {
        second == LAST_TAGGED_SECOND
    }

    /// A tag's checksum, the high 32 bits of a keyed SipHash of it: a coded symbol that
    /// holds exactly one item holds that item's tag and checksum, which is how a decoder
    /// recognises it.
    pub(crate) fn check(&self, tag: u64) -> u32 {
        (self.check.hash(&tag.to_be_bytes()) >> 32) as u32
    }
}

/// The wire form of a tag.
pub(crate) fn tag_bytes(tag: u64) -> [u8; TAG_BYTES] {
    tag.to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hello_digest_is_sha256_of_the_padded_key_then_the_id() {
        let salt = Salt([3; 16]);
        let id = RecordId([0xab; 32]);
        let key: [u8; 32] =
            Sha256::new().chain_update(HELLO_LABEL).chain_update([0]).chain_update([3; 16]).finalize().into();
        let mut message = key.to_vec();
        message.extend([0u8; 32]);
        message.extend(id.0);
        let digest: [u8; 32] = Sha256::digest(&message).into();
        let ours = HelloKey::new(&salt).digest(&id);
        assert_eq!(ours.summand.to_be_bytes(), digest[..16]);
        assert_eq!(ours.tail, digest[16..]);
    }

    #[test]
    fn every_key_depends_on_the_salt_and_tags_carry_the_time() {
        let item = Item { time: 1_767_225_600, id: RecordId([1; 32]) };
        let (a, b) = (Salt([1; 16]), Salt([2; 16]));
        assert_ne!(HelloKey::new(&a).digest(&item.id), HelloKey::new(&b).digest(&item.id));
        let (keys_a, keys_b) = (SessionKeys::new(&a), SessionKeys::new(&b));
        assert_ne!(keys_a.tag_of(&item), keys_b.tag_of(&item));
        assert_ne!(keys_a.check(1), keys_b.check(1));
        let tag = keys_a.tag_of(&item);
        assert_eq!(SessionKeys::second(tag), item.time);
        assert!(keys_a.id_has_tag(&item.id, tag));
        assert!(!keys_b.id_has_tag(&item.id, tag));
        let late = Item { time: u64::MAX, id: item.id };
        assert!(SessionKeys::is_last_second(SessionKeys::second(keys_a.tag_of(&late))));
        assert_eq!(keys_a.tag_of(&late) & 0xffff_ffff, tag & 0xffff_ffff);
    }
}
