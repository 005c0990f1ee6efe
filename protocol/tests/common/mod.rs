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
