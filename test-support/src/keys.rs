//! Signing keys fixed by their derivation, so ids and signatures are the same on every run.

use ed25519_dalek::SigningKey;
use kvitt_protocol::PublicKey;
use sha2::{Digest, Sha256};

/// The key whose seed is SHA-256("kvitt test key " + `name`): the protocol's vectors.
pub fn named(name: &str) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(format!("kvitt test key {name}")).into())
}

/// The key whose seed is 32 bytes of `seed`.
pub fn seeded(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The node tests' key of a party: merchant 1, agency 2, ssc 3, anyone else 4 (see [`seeded`]).
pub fn party(party: &str) -> SigningKey {
    seeded(match party {
        "merchant" => 1,
        "agency" => 2,
        "ssc" => 3,
        _ => 4,
    })
}

/// The public half of `key`.
pub fn public(key: &SigningKey) -> PublicKey {
    PublicKey::from(key.verifying_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derivations are pinned: committed vectors and node tests depend on these bytes.
    #[test]
    fn derivations_are_pinned() {
        let expected: [u8; 32] = Sha256::digest(b"kvitt test key merchant").into();
        assert_eq!(named("merchant").to_bytes(), expected);
        assert_eq!(party("merchant").to_bytes(), [1; 32]);
        assert_eq!(party("agency").to_bytes(), [2; 32]);
        assert_eq!(party("ssc").to_bytes(), [3; 32]);
        assert_eq!(party("operator").to_bytes(), [4; 32]);
        assert_eq!(seeded(0x5a).to_bytes(), [0x5a; 32]);
    }
}
