//! The protocol's test vectors, spec/vectors/*.json: exact inputs and the verdict every
//! implementation must give, for implementations written from spec/ alone.
//!
//! [`generate`] builds every vector from fixed keys (`named::key`) and fixed records, so
//! the files are reproducible byte for byte. Invalid vectors break one rule each; those that
//! must reach a deep rule carry a valid signature over the invalid body, made by hand with
//! the public API (`Signed::sign` validates first and would refuse).
//!
//! - `committed_vectors_match_the_generator` keeps the committed files equal to the
//!   generator; `KVITT_BLESS=1 cargo test -p kvitt-protocol --test vectors` rewrites them.
//! - `every_vector_gets_its_verdict` reads each committed file without the generator, as
//!   another implementation would, and checks the decoders give the stated verdict
//!   ([`check`]).
//!
//! One module per vector family ([`valid`], [`histories`], [`encoding`], [`envelope`],
//! [`receipt_rules`], [`claim_rules`], [`amounts`], [`buyers`], [`directory_rules`],
//! [`evidence_rules`]), each a function of the [`base`] records; [`model`] is the vector
//! and its JSON form, [`forge`] the bytes built by hand, [`fixtures`] the keys and records.

use kvitt_test_support::golden::{self, Golden};
use kvitt_test_support::named;

mod amounts;
mod base;
mod buyers;
mod check;
mod claim_rules;
mod directory_rules;
mod encoding;
mod envelope;
mod evidence_rules;
mod fixtures;
mod forge;
mod histories;
mod model;
mod receipt_rules;
mod valid;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ciborium::value::Value;
use ed25519_dalek::{Signer, SigningKey};
use kvitt_protocol::assignment::Assignment;
use kvitt_protocol::claim::{Booking, Claim, ClaimItem, ExchangeRate, ForeignAmount, MealsProvided, Vehicle};
use kvitt_protocol::claim_amounts::ReceiptClaims;
use kvitt_protocol::claim_buyer::check_claim_buyer;
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::envelope::signing_input;
use kvitt_protocol::event::{Action, Actor, ClaimEvent, ClaimState, Role};
use kvitt_protocol::evidence::Evidence;
use kvitt_protocol::receipt::{Address, Buyer, Discount, Line, LineKind, Merchant, Payment, Receipt};
use kvitt_protocol::wire::RefusalCode;
use kvitt_protocol::{cbor, AnyRecord, Error, ErrorCode, PublicKey, Record, RecordId, Signed};
use serde::Serialize;

use base::Base;
use fixtures::*;
use forge::*;
use model::*;

/// The committed vectors, spec/vectors/*.json, and how to regenerate them.
fn golden() -> Golden {
    Golden::new(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors"),
        "protocol/tests/vectors/",
        "KVITT_BLESS=1 cargo test -p kvitt-protocol --test vectors",
    )
}

/// Fewest vectors the committed set may hold.
const MIN_VECTORS: usize = 30;

/// Every vector, deterministically: each family in turn, over the same base records.
fn generate() -> Vec<Vector> {
    let base = Base::new();
    [
        valid::vectors(&base),
        histories::vectors(&base),
        encoding::vectors(&base),
        envelope::vectors(&base),
        receipt_rules::vectors(),
        claim_rules::vectors(&base),
        amounts::vectors(&base),
        buyers::vectors(&base),
        directory_rules::vectors(),
        evidence_rules::vectors(&base),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The generated files, by file name.
fn rendered() -> BTreeMap<String, String> {
    golden::by_name(generate().iter().map(|vector| (vector.file_name(), vector.render())))
}

#[test]
fn committed_vectors_match_the_generator() {
    golden().check(rendered);
}
