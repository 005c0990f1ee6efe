//! Property tests of the protocol crate: records of every type round-trip through their
//! one canonical byte form, no changed, truncated or extended byte string passes, the VAT
//! arithmetic keeps its invariants, and no input makes a decoder panic.
//!
//! Each `proptest!` block sets its case count, and each test's doc comment states it. The
//! counts keep the binary at about 25 s on 2 cores in a debug build, where ed25519 (some
//! 11 ms per verification unoptimised) dominates. The strategies are in tests/strategies/.
//! A failure prints the shrunk input, and proptest saves its seed in a
//! `.proptest-regressions` file beside the test's module (tests/properties/*.rs) so the
//! next run tries it first; a bug it finds stays as a named `regression_*` test.
//!
//! One test binary, by theme: [`round_trips`] (records and wire messages), [`changed_bytes`]
//! (changed, truncated and extended bytes), [`arithmetic`] (VAT and rounding, and the
//! strategies' own), [`decoding_order`] (`cbor::decode` against a model of §Decoding) and
//! [`no_panics`] (no input makes a decoder panic).
#[path = "../strategies/mod.rs"]
mod strategies;

mod arithmetic;
mod changed_bytes;
mod decoding_order;
mod no_panics;
mod round_trips;

use kvitt_protocol::{Error, Record, RecordType, Signed};
use proptest::prelude::*;
use strategies::{claim, claim_event, counter_key, directory, evidence, receipt};

fn fail(what: &str, error: Error) -> TestCaseError {
    TestCaseError::fail(format!("{what}: {error}"))
}

/// The signed bytes of a valid record of any type.
fn signed_record() -> impl Strategy<Value = (RecordType, Vec<u8>)> {
    fn signed<T: Record>(body: T, seed: u64) -> (RecordType, Vec<u8>) {
        (T::TYPE, Signed::sign(body, &counter_key(seed)).unwrap().bytes().to_vec())
    }
    prop_oneof![
        3 => (receipt(), any::<u64>()).prop_map(|(body, seed)| signed(body, seed)),
        3 => (claim(), any::<u64>()).prop_map(|(body, seed)| signed(body, seed)),
        3 => (claim_event(), any::<u64>()).prop_map(|(body, seed)| signed(body, seed)),
        2 => (directory(), any::<u64>()).prop_map(|(body, seed)| signed(body, seed)),
        1 => (evidence(), any::<u64>()).prop_map(|(body, seed)| signed(body, seed)),
    ]
}
