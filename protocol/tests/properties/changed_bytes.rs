//! Changed, truncated and extended bytes: no such byte string passes either decoder.

use kvitt_protocol::assignment::Assignment;
use kvitt_protocol::claim::Claim;
use kvitt_protocol::directory::Directory;
use kvitt_protocol::event::ClaimEvent;
use kvitt_protocol::evidence::Evidence;
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::{AnyRecord, Error, ErrorCode, RecordType, Signed};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::signed_record;

/// Decodes `bytes` with the typed decoder of `kind`, and with `AnyRecord::decode`.
fn decode_both(kind: RecordType, bytes: &[u8]) -> [Result<(), Error>; 2] {
    let typed = match kind {
        RecordType::Receipt => Signed::<Receipt>::decode(bytes).map(drop),
        RecordType::Claim => Signed::<Claim>::decode(bytes).map(drop),
        RecordType::ClaimEvent => Signed::<ClaimEvent>::decode(bytes).map(drop),
        RecordType::Directory => Signed::<Directory>::decode(bytes).map(drop),
        RecordType::Evidence => Signed::<Evidence>::decode(bytes).map(drop),
        RecordType::Assignment => Signed::<Assignment>::decode(bytes).map(drop),
    };
    [typed, AnyRecord::decode(bytes).map(drop)]
}

/// Asserts that both decoders refuse `bytes` with the same error (code and path), and with
/// `code` if given. The typed decoder and `AnyRecord::decode` differ only in the size limit
/// they apply first (§Decoding step 1 and 9), which these small records never reach.
fn refused(kind: RecordType, bytes: &[u8], code: Option<ErrorCode>, what: &str) -> Result<(), TestCaseError> {
    let [typed, any] = decode_both(kind, bytes);
    let (Err(typed), Err(any)) = (typed, any) else {
        return Err(TestCaseError::fail(format!("{what}: a {kind} still decodes")));
    };
    prop_assert_eq!((typed.code(), typed.path()), (any.code(), any.path()), "{}: {} / {}", what, typed, any);
    if let Some(code) = code {
        prop_assert_eq!(typed.code(), code, "{}: {}", what, typed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any one byte changed, anywhere in a valid record's signed bytes, and the record is
    /// refused by its typed decoder and by `AnyRecord::decode`, both with the same error
    /// (whichever it is). 128 cases.
    ///
    /// Why this must hold: the bytes are the one canonical encoding of the envelope, so a
    /// changed byte either breaks well-formedness or canonical form (refused by the
    /// decoder), or spells a different envelope value. A different value differs in `v`
    /// (unknown version), `type` (unknown, unexpected, or, since the type is part of the
    /// signing input, a signature that no longer verifies), `body` (other signing input),
    /// `signer` (another or invalid key) or `sig`; in every case the signature must verify
    /// strictly for a message or key it was not made for, or a second signature must
    /// verify for the same message. ed25519 with `verify_strict` (canonical S, no
    /// small-order keys) is strongly unforgeable, so neither happens except with negligible
    /// probability. The id, SHA-256 of these bytes, could not stay the same either: a
    /// record and its id are bound together.
    #[test]
    fn any_changed_byte_is_refused(
        (kind, bytes) in signed_record(),
        at in any::<Index>(),
        delta in 1u8..=255,
    ) {
        let mut changed = bytes.clone();
        let at = at.index(bytes.len());
        changed[at] = changed[at].wrapping_add(delta);
        refused(kind, &changed, None, &format!("byte {at} changed by {delta}"))?;
    }

    /// Any single bit flipped in a valid record's signed bytes is refused, for the
    /// reasons of `any_changed_byte_is_refused`. 128 cases.
    #[test]
    fn any_flipped_bit_is_refused((kind, bytes) in signed_record(), at in any::<Index>(), bit in 0u8..8) {
        let mut changed = bytes.clone();
        let at = at.index(bytes.len());
        changed[at] ^= 1 << bit;
        refused(kind, &changed, None, &format!("bit {bit} of byte {at} flipped"))?;
    }

    /// Every strict prefix of a valid record is `encoding.malformed`: a CBOR data item
    /// delimits itself, so a prefix of one item ends inside it. 128 cases.
    #[test]
    fn any_truncation_is_malformed((kind, bytes) in signed_record(), at in any::<Index>()) {
        let length = at.index(bytes.len());
        refused(kind, &bytes[..length], Some(ErrorCode::Malformed), &format!("cut to {length} bytes"))?;
    }

    /// Any byte appended to a valid record is `encoding.trailing_bytes`. 128 cases.
    #[test]
    fn any_appended_byte_is_trailing((kind, bytes) in signed_record(), extra in any::<u8>()) {
        let mut longer = bytes.clone();
        longer.push(extra);
        refused(kind, &longer, Some(ErrorCode::TrailingBytes), &format!("{extra:#04x} appended"))?;
    }
}
