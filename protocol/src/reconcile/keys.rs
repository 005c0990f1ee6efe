//! The salted hashes of a session: every hash an item goes through is keyed, so nobody who
//! does not know both salts can make items that collide.
//!
//! Each key is 32 bytes of SHA-256 over a label and the salts; a keyed hash of a message is
//! SHA-256 over the key padded with zeros to one 64-byte block, then the message (as HMAC
//! pads its key). An implementation can absorb the key block once and clone that state per
//! item, so hashing an item costs one SHA-256 compression.

use sha2::{Digest, Sha256};

use super::siphash::SipKey;
use super::{Salt, TAG_BYTES};
use crate::id::RecordId;

/// Label of the key for the hello digest: fingerprint, estimator, tags' input.
const HELLO_LABEL: &[u8] = b"kvitt reconcile v1 hello";
/// Label of the key for items' tags (both salts).
const TAG_LABEL: &[u8] = b"kvitt reconcile v1 tag";
/// Label of the key for tags' checksums (both salts).
const CHECK_LABEL: &[u8] = b"kvitt reconcile v1 check";

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

    /// The digest of every one of `items`, in their order.
    pub(crate) fn digests(&self, items: &[super::Item]) -> Vec<HelloDigest> {
        items.iter().map(|item| self.digest(&item.id)).collect()
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

/// The session's keys, from both salts: an item's tag and a tag's checksum.
#[derive(Clone)]
pub(crate) struct SessionKeys {
    hello: HelloKey,
    tag: SipKey,
    check: SipKey,
}

impl SessionKeys {
    pub(crate) fn new(initiator: &Salt, responder: &Salt) -> SessionKeys {
        SessionKeys {
            hello: HelloKey::new(initiator),
            tag: sip_key(&derive(TAG_LABEL, &[initiator, responder])),
            check: sip_key(&derive(CHECK_LABEL, &[initiator, responder])),
        }
    }

    /// An item's tag from its hello digest: what coded symbols sum (XOR) and what seeds the
    /// item's index sequence.
    pub(crate) fn tag(&self, digest: &HelloDigest) -> u64 {
        self.tag.hash(&digest.tail)
    }

    /// The tag of an id whose hello digest is not at hand.
    pub(crate) fn tag_of(&self, id: &RecordId) -> u64 {
        self.tag(&self.hello.digest(id))
    }

    /// A tag's checksum: a coded symbol that holds exactly one item holds that item's tag
    /// and checksum, which is how a decoder recognises it.
    pub(crate) fn check(&self, tag: u64) -> u64 {
        self.check.hash(&tag.to_be_bytes())
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
    fn every_key_depends_on_its_salts() {
        let id = RecordId([1; 32]);
        let (a, b) = (Salt([1; 16]), Salt([2; 16]));
        assert_ne!(HelloKey::new(&a).digest(&id), HelloKey::new(&b).digest(&id));
        assert_ne!(SessionKeys::new(&a, &b).tag_of(&id), SessionKeys::new(&b, &a).tag_of(&id));
        assert_ne!(SessionKeys::new(&a, &b).tag_of(&id), SessionKeys::new(&a, &a).tag_of(&id));
        let keys = SessionKeys::new(&a, &b);
        assert_ne!(keys.check(keys.tag_of(&id)), keys.tag_of(&id));
    }
}
