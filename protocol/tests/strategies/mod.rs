//! Helpers shared by tests/properties/ and tests/limits/: proptest strategies for valid
//! records of every type, and what building them needs.
//!
//! The arithmetic here (Luhn and GS1 check digits, the Swedish rate table, rounding, line
//! amounts) is written out again from the brief and spec/protocol.md, not taken from the
//! crate, so that a property compares the crate with an independent reading of the rules.
//!
//! By theme: [`reference`] (that arithmetic), [`envelopes`] (keys and hand-made
//! envelopes), [`fields`] (strategies for single fields), [`receipts`], [`claims`] and
//! [`records`] (claim events, directories and evidence); all of it is re-exported here.
#![allow(dead_code, clippy::unwrap_used)]

pub mod claims;
pub mod envelopes;
pub mod fields;
pub mod receipts;
pub mod records;
pub mod reference;

// Not every test binary uses something of each.
#[allow(unused_imports)]
pub use {claims::*, envelopes::*, fields::*, receipts::*, records::*, reference::*};
