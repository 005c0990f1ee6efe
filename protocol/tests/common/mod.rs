//! Fixtures shared by the protocol's integration tests: fixed keys and one valid record
//! of each type, realistic enough to read, built from `kvitt_protocol::sample`.
#![allow(dead_code, clippy::unwrap_used)]

use ed25519_dalek::SigningKey;
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::{sample, PublicKey};
use sha2::{Digest, Sha256};

/// The claim (`claim(receipt_id, amount)`) and its first event (`submitted(claim_id)`) are
/// the samples'. (Not every test binary uses each.)
#[allow(unused_imports)]
pub use kvitt_protocol::sample::{claim, line, submitted, AGENCY_ORG, MERCHANT_ORG, SSC_ORG};

/// A signing key derived from a name: SHA-256("kvitt test key " + name) as the seed.
pub fn key(name: &str) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(format!("kvitt test key {name}")).into())
}

/// The public key of [`key`].
pub fn public(name: &str) -> PublicKey {
    PublicKey::from(key(name).verifying_key())
}

/// A hotel night and a take-away sandwich at a Stockholm hotel, paid by card: 12 % and
/// 6 % lines (take-away food is 6 % from 2026-04-01; a served breakfast would be 12 %).
/// spec/vectors store it byte for byte, so the sandwich (where the sample has a breakfast)
/// and the card payment's terminal and reference are its own.
pub fn receipt() -> Receipt {
    let mut receipt = sample::receipt(MERCHANT_ORG, AGENCY_ORG, "KASSA-1", 1042);
    receipt.lines[1] = line("Smörgås att ta med", "take_away", 1000, 6_900, 600);
    sample::paid_by_card(receipt, "T-88001", "612345678901")
}

/// A directory with one merchant, one agency and the SSC serving it.
pub fn directory() -> Directory {
    sample::directory(public("merchant"), public("agency"), public("ssc"))
}

pub fn member(role: MemberRole, org: &str, name: &str, key_name: &str, address: &str) -> Member {
    Member {
        role,
        org: org.into(),
        name: name.into(),
        key: public(key_name),
        addresses: vec![address.into()],
        serves: vec![],
    }
}

/// spec/kvitt.cddl as the `cddl` crate should read it. RFC 8610 §3.8.3 makes `.regexp` an
/// XSD regular expression, which matches the whole text; the crate (0.10.7) calls
/// `Regex::is_match`, which matches any substring, so `"[A-Z]{3}"` would pass `"SEKX"`.
/// Each pattern is therefore anchored here, `^(?:…)$`, to validate by the RFC's meaning.
pub fn kvitt_cddl() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/kvitt.cddl");
    let document = std::fs::read_to_string(path).unwrap();
    let mut anchored = String::with_capacity(document.len() + 256);
    let mut rest = document.as_str();
    while let Some(at) = rest.find(".regexp \"") {
        let (before, pattern) = rest.split_at(at + ".regexp \"".len());
        anchored.push_str(before);
        // The pattern ends at the first quote not escaped by a backslash.
        let mut end = 0;
        let mut escaped = false;
        for (index, character) in pattern.char_indices() {
            match character {
                '"' if !escaped => {
                    end = index;
                    break;
                }
                '\\' => escaped = !escaped,
                _ => escaped = false,
            }
        }
        anchored.push_str(&format!("^(?:{})$", &pattern[..end]));
        rest = &pattern[end..];
    }
    anchored.push_str(rest);
    anchored
}

/// Validates `bytes` against the root rule (the first) of a parsed CDDL document.
pub fn validate_cddl(schema: &cddl::ast::CDDL<'_>, bytes: &[u8]) -> Result<(), String> {
    let value: ciborium::value::Value = ciborium::from_reader(bytes).map_err(|error| error.to_string())?;
    let mut validator = cddl::validator::cbor::CBORValidator::new(schema, value.into(), None);
    cddl::validator::Validator::validate(&mut validator).map_err(|error| error.to_string())
}
