//! The secrets the node hands out (API tokens, one-time sign-in links, web sessions) and
//! the only form in which it keeps them: their SHA-256.
//!
//! Every secret is [`SECRET_BYTES`] bytes from the operating system's random source, in
//! hex. A plain (unsalted, fast) hash suffices for such secrets: with 256 bits of entropy
//! there is nothing to guess or to look up in a table, so what a slow password hash buys
//! for human-chosen passwords buys nothing here, and a stolen access.json reveals no
//! credential.

use sha2::{Digest, Sha256};

/// Random bytes in a token, sign-in link or session id.
pub const SECRET_BYTES: usize = 32;

/// A new random secret: [`SECRET_BYTES`] bytes from the OS, in hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    hex::encode(bytes)
}

/// The SHA-256 of a secret as the node keeps it (hex).
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_fresh_and_their_hash_does_not_contain_them() {
        let (one, two) = (new_secret(), new_secret());
        assert_ne!(one, two);
        assert_eq!(one.len(), SECRET_BYTES * 2);
        assert_eq!(hash(&one), hash(&one));
        assert_ne!(hash(&one), one);
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "SHA-256 (FIPS 180-2 test vector)"
        );
    }
}
