//! What the format tests share: fixtures, edits of them, and the expected refusal.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kvitt_formats::{import, Format, FormatError, Receipt, Supplement};
use kvitt_protocol::receipt::Buyer;

/// The agency that buys in every test (kvitt_protocol::sample's).
pub const AGENCY: &str = "202100-5489";

/// A fixture under formats/fixtures, as text.
pub fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The buyer named beside every document.
pub fn supplement() -> Supplement {
    Supplement { buyer: Some(Buyer { agency: AGENCY.into(), employee: None }), original: None }
}

/// `text` with its one occurrence of `from` replaced by `to`.
pub fn patched(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} is not in the document once");
    text.replacen(from, to, 1)
}

/// The receipt `text` maps to.
pub fn accepted(format: Format, text: &str) -> Receipt {
    import(format, text.as_bytes(), &supplement()).unwrap_or_else(|error| panic!("refused: {error}")).receipt
}

/// Asserts that `text` is refused with `code` at `path`; the error.
pub fn assert_refused(format: Format, text: &str, code: &str, path: &str) -> FormatError {
    let error = import(format, text.as_bytes(), &supplement()).expect_err("refused");
    assert_eq!((error.code().as_str(), error.path()), (code, path), "{error}");
    error
}
