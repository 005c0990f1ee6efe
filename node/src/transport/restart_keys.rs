//! The QUIC endpoint keys that must be the same in every life of a node, derived from its
//! node key: the stateless-reset key (HKDF-SHA256) and the key of its keyed connection ids
//! (HMAC-SHA256 under the reset key). spec/node.md §Connections and streams.
//!
//! A peer still holding a connection to a previous life (the node was killed, not shut
//! down) sends its next packet to a connection id the new life recognises as its own, gets
//! a stateless reset it can verify, and reconnects at once instead of waiting out
//! [`super::MAX_IDLE_TIMEOUT`]. With quinn's defaults both keys are random per start: the
//! new life dropped such packets as carrying an invalid connection id, and a reset it did
//! send was not recognised.

use std::sync::Arc;

use ed25519_dalek::SigningKey;

/// The HKDF salt of the stateless-reset key.
const RESET_KEY_SALT: &[u8] = b"kvitt QUIC stateless reset key v1";

/// What the reset key signs to make the connection-id key.
const CID_KEY_LABEL: &[u8] = b"kvitt QUIC connection id key v1";

/// quinn's endpoint configuration with both keys derived from `node_key`.
pub(super) fn endpoint_config(node_key: &SigningKey) -> quinn::EndpointConfig {
    let cid_key = cid_key(node_key);
    let mut config = quinn::EndpointConfig::new(Arc::new(reset_key(node_key)));
    config.cid_generator(move || Box::new(quinn_proto::HashedConnectionIdGenerator::from_key(cid_key)));
    config
}

/// The key of the node's stateless resets: HKDF-SHA256 of the node key, no info, 32 bytes.
fn reset_key(node_key: &SigningKey) -> ring::hmac::Key {
    let pseudo_random =
        ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, RESET_KEY_SALT).extract(node_key.as_bytes());
    match pseudo_random.expand(&[], ring::hmac::HMAC_SHA256) {
        Ok(okm) => ring::hmac::Key::from(okm),
        // HKDF fails only for outputs over 255 hash lengths; this one is one. Should it
        // ever fail, a key from the node key itself still survives restarts.
        Err(_) => ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &node_key.to_bytes()),
    }
}

/// The key of the node's connection ids: the first 8 bytes (little-endian) of
/// HMAC-SHA256 of [`CID_KEY_LABEL`] under the reset key.
fn cid_key(node_key: &SigningKey) -> u64 {
    let tag = ring::hmac::sign(&reset_key(node_key), CID_KEY_LABEL);
    tag.as_ref().get(..8).and_then(|bytes| <[u8; 8]>::try_from(bytes).ok()).map_or(0, u64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signs(key: &ring::hmac::Key) -> Vec<u8> {
        ring::hmac::sign(key, b"a connection id").as_ref().to_vec()
    }

    #[test]
    fn both_keys_are_the_same_in_every_life_and_differ_between_nodes() {
        let node = SigningKey::from_bytes(&[7; 32]);
        let same_node_later = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        assert_eq!(signs(&reset_key(&node)), signs(&reset_key(&same_node_later)));
        assert_ne!(signs(&reset_key(&node)), signs(&reset_key(&other)));
        assert_eq!(cid_key(&node), cid_key(&same_node_later));
        assert_ne!(cid_key(&node), cid_key(&other));
        assert_ne!(cid_key(&node), 0);
    }
}
