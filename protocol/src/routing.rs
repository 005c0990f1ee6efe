//! Card routing (spec/routing.md): the card references a till presents, and the keyed
//! hashes that stand for them wherever they leave the till's node.
//!
//! A reference (an EMVCo PAR or a network token reference) identifies a card account for
//! years across every merchant, so only `HMAC-SHA256(routing key, reference)` travels: the
//! SSC that keeps the routing index never holds the key and never sees a reference.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{Error, ErrorCode, Result};
use crate::id::fixed_bytes;

/// Fewest characters of a card reference.
pub const MIN_CARD_REFERENCE_CHARS: usize = 8;
/// Most characters of a card reference (a PAR has 29; token references are longer: the
/// SDRS samples' `Nets:CardToken` has 70).
pub const MAX_CARD_REFERENCE_CHARS: usize = 128;
/// Most cards in one agency's enrolment.
pub const MAX_ENROLLED_CARDS: usize = 10_000;

/// The domain prefix of the card hash, so the routing key hashes nothing else alike.
const CARD_HASH_DOMAIN: &[u8] = b"kvitt/1/card\0";

/// The network's routing key, held by merchants and agencies (not by SSCs).
#[derive(Clone)]
pub struct RoutingKey([u8; 32]);

impl RoutingKey {
    /// The key from its 32 bytes.
    pub const fn new(bytes: [u8; 32]) -> RoutingKey {
        RoutingKey(bytes)
    }

    /// The key from 64 hex digits (surrounding whitespace ignored), as `routing.key` holds it.
    pub fn from_hex(text: &str) -> Result<RoutingKey> {
        let bytes = hex::decode(text.trim())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| Error::new(ErrorCode::Schema, "routing_key", "not 64 hex digits"))?;
        Ok(RoutingKey(bytes))
    }

    /// The card hash of `reference`.
    pub fn card_hash(&self, reference: &CardReference) -> CardHash {
        // HMAC takes a key of any length; 32 bytes always fit.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            unreachable!("HMAC accepts keys of every length")
        };
        mac.update(CARD_HASH_DOMAIN);
        mac.update(reference.0.as_bytes());
        CardHash(mac.finalize().into_bytes().into())
    }
}

impl std::fmt::Debug for RoutingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoutingKey(..)")
    }
}

/// A card reference a till presented: checked, never stored or signed.
#[derive(Clone, PartialEq, Eq)]
pub struct CardReference(String);

impl CardReference {
    /// Checks `text`: 8 to 128 characters of `A-Z a-z 0-9 - _`, and not a probable card
    /// number (13 to 19 digits passing the Luhn check), which is refused as `payment.masked_pan` (it shows too much).
    pub fn parse(path: &str, text: &str) -> Result<CardReference> {
        let length = text.chars().count();
        if !(MIN_CARD_REFERENCE_CHARS..=MAX_CARD_REFERENCE_CHARS).contains(&length)
            || !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::new(
                ErrorCode::Schema,
                path,
                format!(
                    "a card reference is {MIN_CARD_REFERENCE_CHARS} to {MAX_CARD_REFERENCE_CHARS} \
                     characters of A-Z, a-z, 0-9, - and _"
                ),
            ));
        }
        if (13..=19).contains(&length)
            && text.bytes().all(|b| b.is_ascii_digit())
            && crate::fields::luhn_valid(&text.bytes().map(|b| b - b'0').collect::<Vec<u8>>())
        {
            return Err(Error::new(
                ErrorCode::MaskedPan,
                path,
                "looks like a card number (PAN): give the payment account reference or token reference",
            ));
        }
        Ok(CardReference(text.to_owned()))
    }

    /// The reference as the till gave it, to hand on to the merchant's node with the push
    /// it routes; never to be logged or stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for CardReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardReference(..)")
    }
}

/// The keyed hash of a card reference (a CBOR byte string of 32 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CardHash(#[serde(with = "fixed_bytes")] pub [u8; 32]);

#[cfg(test)]
mod tests {
    use super::*;

    const PAR: &str = "V0010013018209568912345678912";

    #[test]
    fn a_reference_hashes_to_the_hmac_of_the_domain_and_reference() {
        let key = RoutingKey::new([7; 32]);
        let reference = CardReference::parse("card", PAR).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&[7; 32]).unwrap();
        mac.update(b"kvitt/1/card\0");
        mac.update(PAR.as_bytes());
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(key.card_hash(&reference), CardHash(expected));
        assert_ne!(RoutingKey::new([8; 32]).card_hash(&reference), CardHash(expected));
    }

    /// spec/routing.md §Card references, worked example: computed independently (Python's
    /// `hmac`), so a change of the domain or the input order fails here.
    #[test]
    fn the_worked_example_of_the_spec_hashes_as_stated() {
        let key =
            RoutingKey::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap();
        let hash = key.card_hash(&CardReference::parse("card", PAR).unwrap());
        assert_eq!(hex::encode(hash.0), "0e8a1048c0b9a513459f42582f7b5b553a14aea6de3f16b6c7bfc9eb8bc4d142");
    }

    #[test]
    fn a_card_number_is_refused_and_a_luhn_failing_or_longer_number_is_not() {
        for pan in ["4111111111111111", "4222222222222", "6011000990139424", "3530111333300000"] {
            let error = CardReference::parse("card", pan).unwrap_err();
            assert_eq!((error.code(), error.path()), (ErrorCode::MaskedPan, "card"), "{pan}");
        }
        // 4111111111111112 fails Luhn; 20 digits is no PAN length; 12 digits neither.
        for reference in ["4111111111111112", "41111111111111111113", "411111111116"] {
            assert!(CardReference::parse("card", reference).is_ok(), "{reference}");
        }
    }

    #[test]
    fn a_reference_is_bounded_in_length_and_alphabet() {
        assert!(CardReference::parse("card", &"A".repeat(MIN_CARD_REFERENCE_CHARS)).is_ok());
        assert!(CardReference::parse("card", &"A".repeat(MAX_CARD_REFERENCE_CHARS)).is_ok());
        for bad in [
            "A".repeat(MIN_CARD_REFERENCE_CHARS - 1),
            "A".repeat(MAX_CARD_REFERENCE_CHARS + 1),
            "V001 0013".into(),
        ] {
            assert_eq!(CardReference::parse("card", &bad).unwrap_err().code(), ErrorCode::Schema, "{bad:?}");
        }
    }

    #[test]
    fn a_routing_key_is_64_hex_digits() {
        assert!(RoutingKey::from_hex(&format!("{}\n", "ab".repeat(32))).is_ok());
        assert!(RoutingKey::from_hex(&"ab".repeat(31)).is_err());
    }
}
