//! Fixed-size byte values: record ids, public keys, signatures.
//!
//! Each travels as a CBOR byte string of exactly its length; each prints as lower-case hex
//! and has a `short()` form for logs (the first 8 hex digits), as iroh's keys do.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorCode, Result};

/// Serde for `[u8; N]` as one byte string (serde's default is an array of integers).
pub(crate) mod fixed_bytes {
    use serde::de::Error as _;
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        super::byte_string::serialize(bytes, serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        let bytes = super::byte_string::deserialize(deserializer)?;
        <[u8; N]>::try_from(bytes.as_slice())
            .map_err(|_| D::Error::custom(format!("{} bytes, expected {N}", bytes.len())))
    }
}

/// Serde for `Vec<u8>` as one CBOR byte string, and as lower-case hex in human-readable
/// formats such as JSON (the client API), where a list of numbers would be unreadable.
pub mod byte_string {
    use serde::de::Visitor;
    use serde::{Deserializer, Serializer};
    use std::fmt;

    /// Writes the bytes as one byte string, or as hex text for a human-readable format.
    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&hex::encode(bytes))
        } else {
            serializer.serialize_bytes(bytes)
        }
    }

    /// Reads one byte string, or hex text from a human-readable format.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        struct Bytes;
        impl Visitor<'_> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string (hex text in JSON)")
            }
            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
                Ok(bytes.to_vec())
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Vec<u8>, E> {
                hex::decode(text).map_err(|_| E::custom(format!("{text:?} is not hex")))
            }
        }
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(Bytes)
        } else {
            deserializer.deserialize_bytes(Bytes)
        }
    }
}

macro_rules! byte_newtype {
    ($(#[doc = $doc:literal])+ $name:ident, $len:literal) => {
        $(#[doc = $doc])+
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(#[serde(with = "fixed_bytes")] pub [u8; $len]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// The first 8 hex digits, for logs.
            pub fn short(&self) -> String {
                hex::encode(self.0.get(..4).unwrap_or_default())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(text: &str) -> Result<Self> {
                let bytes = hex::decode(text).map_err(|error| {
                    Error::new(ErrorCode::Schema, "", format!("{:?} is not hex: {error}", text))
                })?;
                <[u8; $len]>::try_from(bytes.as_slice()).map($name).map_err(|_| {
                    Error::new(ErrorCode::Schema, "", format!("{} bytes of hex, expected {}", bytes.len(), $len))
                })
            }
        }
    };
}

byte_newtype! {
    /// A record's id: SHA-256 of its canonical signed envelope bytes.
    RecordId, 32
}

byte_newtype! {
    /// An ed25519 public key as sent (32 bytes); [`PublicKey::verifying_key`] checks it.
    PublicKey, 32
}

byte_newtype! {
    /// An ed25519 signature (64 bytes).
    Signature, 64
}

impl RecordId {
    /// The id of a record: SHA-256 over its whole canonical signed envelope.
    pub fn of(envelope_bytes: &[u8]) -> RecordId {
        RecordId(Sha256::digest(envelope_bytes).into())
    }
}

impl PublicKey {
    /// The decoded key, refusing encodings that are not a curve point and weak
    /// (small-order) keys, which `verify_strict` could never accept anyway.
    pub fn verifying_key(&self) -> Result<VerifyingKey> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| {
            Error::new(ErrorCode::SignerKey, "", format!("{self} is not an ed25519 public key"))
        })?;
        // Decompression reduces y modulo p, so y ≥ p would pass; RFC 8032 §5.1.3 refuses it.
        if !is_canonical_point(&self.0) {
            return Err(Error::new(
                ErrorCode::SignerKey,
                "",
                format!("{self} is not the canonical encoding of its point"),
            ));
        }
        if key.is_weak() {
            return Err(Error::new(ErrorCode::SignerKey, "", format!("{self} is a weak (small-order) key")));
        }
        Ok(key)
    }
}

/// Whether `bytes`, which decompress to a point, are the encoding that point compresses to
/// (RFC 8032 §5.1.2): y below p = 2^255 − 19, and no sign bit on x = 0, which only y = 1
/// and y = p − 1 have. Read off the bytes: compressing the point again costs a field
/// inversion, a sixth of a signature check.
pub(crate) fn is_canonical_point(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    let sign = y[31] >> 7 == 1;
    y[31] &= 0x7f;
    // p − 1 = 2^255 − 20 in little-endian bytes: 0xec, then 0xff, and 0x7f at the top.
    let below_p_minus_1 =
        y.iter().rev().zip(P_MINUS_1.iter().rev()).find(|(a, b)| a != b).map(|(a, b)| a < b);
    let is_one = y == ONE;
    match below_p_minus_1 {
        // y = p − 1: canonical, with x = 0.
        None => !sign,
        Some(true) => !(sign && is_one),
        Some(false) => false,
    }
}

/// p − 1 for p = 2^255 − 19, little-endian.
const P_MINUS_1: [u8; 32] = {
    let mut bytes = [0xff; 32];
    bytes[0] = 0xec;
    bytes[31] = 0x7f;
    bytes
};

/// 1, little-endian.
const ONE: [u8; 32] = {
    let mut bytes = [0; 32];
    bytes[0] = 1;
    bytes
};

impl From<VerifyingKey> for PublicKey {
    fn from(key: VerifyingKey) -> PublicKey {
        PublicKey(key.to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_and_parse_as_hex() {
        let id = RecordId::of(b"abc");
        assert_eq!(id.to_string(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(id.short(), "ba7816bf");
        assert_eq!(id.to_string().parse::<RecordId>().unwrap(), id);
        assert_eq!("abcd".parse::<RecordId>().unwrap_err().code(), ErrorCode::Schema);
    }

    #[test]
    fn json_carries_ids_as_hex_and_cbor_as_bytes() {
        let id = RecordId::of(b"abc");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<RecordId>(&json).unwrap(), id);
        let cbor = crate::cbor::encode(&id).unwrap();
        assert_eq!(cbor.first(), Some(&0x58)); // a byte string with a one-byte length
        let value = crate::cbor::decode(&cbor).unwrap();
        assert_eq!(crate::cbor::from_value::<RecordId>(&value).unwrap(), id);
    }

    #[test]
    fn weak_and_invalid_keys_are_refused() {
        // The identity point (small order) decodes but is weak.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey(identity).verifying_key().unwrap_err().code(), ErrorCode::SignerKey);
        // y = 2 is not on the curve.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert_eq!(PublicKey(off_curve).verifying_key().unwrap_err().code(), ErrorCode::SignerKey);
        // y = p + 3 is on the curve once reduced, but its encoding is not canonical (y < p).
        let mut non_canonical = [0xff; 32];
        non_canonical[0] = 0xf0;
        non_canonical[31] = 0x7f;
        assert_eq!(PublicKey(non_canonical).verifying_key().unwrap_err().code(), ErrorCode::SignerKey);
    }

    /// Whether `bytes` decompress to a point that compresses back to them: what
    /// [`is_canonical_point`] reads off the bytes.
    fn compresses_back(bytes: &[u8; 32]) -> Option<bool> {
        let key = VerifyingKey::from_bytes(bytes).ok()?;
        Some(key.to_edwards().compress().to_bytes() == *bytes)
    }

    #[test]
    fn canonical_points_are_told_from_their_bytes() {
        let mut cases: Vec<[u8; 32]> = Vec::new();
        // Every y from p − 2 up to 2^255 − 1 (p + 18), and y = 0, 1, 2, 3, with either sign.
        for low in (0xeb..=0xff).chain(0..4) {
            let mut y = if low >= 0xeb { P_MINUS_1 } else { [0; 32] };
            y[0] = low;
            cases.push(y);
        }
        // Keys as signers have them.
        cases.extend(
            (0..64u8)
                .map(|seed| ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key().to_bytes()),
        );
        let mut checked = 0;
        for case in cases {
            for sign in [0, 0x80] {
                let mut bytes = case;
                bytes[31] |= sign;
                if let Some(expected) = compresses_back(&bytes) {
                    assert_eq!(is_canonical_point(&bytes), expected, "{}", hex::encode(bytes));
                    checked += 1;
                }
            }
        }
        // The 19 encodings of y ≥ p that are points, ±1, and the 64 keys with their
        // negations at least.
        assert!(checked > 100, "{checked}");
    }
}
