//! Every limit at its edge: a value exactly at a limit is accepted, and one past it is
//! refused with the limit's error code at the field's path.
//!
//! Covers each constant of protocol/src/limits.rs and the bounds the validators state
//! (spec/protocol.md §Limits, "Further bounds"). Where the signature does not matter a test
//! calls `Record::validate`, whose paths are relative to the body; where size or encoding
//! matters it signs and decodes, and paths start at the envelope (`body.…`). Large edges
//! (1000 lines, 2000 members, records of exactly their byte limit) are built from cheap
//! counter-derived keys and plain text, and each test runs in a few seconds in debug.
//!
//! One test binary, by theme: [`counts`] (lines, items, members, records per message),
//! [`texts`] (bytes of UTF-8), [`amounts`] (amounts and other numbers, times and dates),
//! [`sizes`] (CBOR depth and items, record sizes); [`records`] holds the records they start from.
use kvitt_test_support::named;
#[path = "../strategies/mod.rs"]
mod strategies;

mod amounts;
mod counts;
mod records;
mod sizes;
mod texts;

use kvitt_protocol::{Error, ErrorCode, Record, Signed};
use strategies::counter_key;

/// The source of every module of this test binary, where [`every_limit_has_an_edge_test`]
/// looks for each limit's name: a new module of edge tests belongs here too.
const SOURCES: &str = concat!(
    include_str!("main.rs"),
    include_str!("amounts.rs"),
    include_str!("counts.rs"),
    include_str!("records.rs"),
    include_str!("sizes.rs"),
    include_str!("texts.rs"),
);

// ---------------------------------------------------------------------------------------
// Verdicts.
// ---------------------------------------------------------------------------------------

/// Asserts that `body` passes every rule of its type.
#[track_caller]
fn accepted<T: Record>(body: &T, what: &str) {
    if let Err(error) = body.validate() {
        panic!("{what}: refused: {error}");
    }
}

/// Asserts that `body` is refused with `code` at `path` (relative to the body).
#[track_caller]
fn refused<T: Record>(body: &T, code: ErrorCode, path: &str, what: &str) {
    match body.validate() {
        Ok(()) => panic!("{what}: accepted, expected {code} at {path:?}"),
        Err(error) => assert_eq!((error.code(), error.path()), (code, path), "{what}: {error}"),
    }
}

/// Asserts that `result` failed with `code` at `path`.
#[track_caller]
fn failed<T>(result: Result<T, Error>, code: ErrorCode, path: &str, what: &str) {
    match result {
        Ok(_) => panic!("{what}: succeeded, expected {code} at {path:?}"),
        Err(error) => assert_eq!((error.code(), error.path()), (code, path), "{what}: {error}"),
    }
}

/// Signs with a counter key, and decodes the bytes back.
#[track_caller]
fn signs_and_decodes<T: Record + PartialEq>(body: &T, what: &str) -> usize {
    let signed =
        Signed::sign(body.clone(), &counter_key(7)).unwrap_or_else(|error| panic!("{what}: {error}"));
    let decoded = Signed::<T>::decode(signed.bytes()).unwrap_or_else(|error| panic!("{what}: {error}"));
    assert_eq!(decoded.body(), body, "{what}");
    signed.bytes().len()
}

/// Every constant of protocol/src/limits.rs is named by a test of this binary, so a new
/// limit cannot arrive without its edge.
#[test]
fn every_limit_has_an_edge_test() {
    let limits = include_str!("../../src/limits.rs");
    let names: Vec<&str> = limits
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub const "))
        .filter_map(|rest| rest.split(':').next())
        .collect();
    assert!(names.len() >= 20, "{names:?}");
    for name in names {
        assert!(SOURCES.contains(name), "tests/limits/ has no test at the edge of {name}");
    }
}
