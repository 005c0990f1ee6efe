//! The protocol's fixtures: keys derived from a name ([`keys::named`]) and unsigned bodies,
//! as spec/vectors stores them (the tests sign them with the key they need).

use ed25519_dalek::SigningKey;
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::receipt::{Line, LineKind, Receipt};
use kvitt_protocol::{sample, PublicKey};

use crate::keys;

/// The claim (`claim(receipt_id, amount)`), its first event (`submitted(claim_id)`), a sale
/// line and the organisations are the samples'.
pub use kvitt_protocol::sample::{claim, line, submitted, AGENCY_ORG, MERCHANT_ORG, SSC_ORG};

/// The key named `name` ([`keys::named`]).
pub fn key(name: &str) -> SigningKey {
    keys::named(name)
}

/// The public key of [`key`].
pub fn public(name: &str) -> PublicKey {
    keys::public(&key(name))
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

/// A member of `org` at one `address`, keyed by the key named `key_name`, serving no one.
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

/// A line of text only (a greeting, an offer): no price, no amount, no rate.
pub fn text_line(description: impl Into<String>) -> Line {
    Line {
        kind: LineKind::Text,
        description: description.into(),
        article: None,
        gtin: None,
        category: None,
        quantity: None,
        unit: None,
        unit_price: None,
        discounts: vec![],
        amount: None,
        vat_rate: None,
    }
}
