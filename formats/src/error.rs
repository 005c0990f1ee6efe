//! Why a document was refused: a stable code, the path of the element or property in the
//! document, and a sentence naming the value.

use std::fmt;

use kvitt_protocol::ErrorCode;

/// What was wrong with a document. A receipt rule that the mapped receipt breaks keeps the
/// protocol's own code (`line.amount`, `org.luhn`, …); the rest are the format's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatCode {
    /// The input is larger than [`crate::MAX_INPUT_BYTES`].
    TooLarge,
    /// Not well-formed XML or JSON, not UTF-8, a DTD, more XML nodes than
    /// [`crate::MAX_XML_NODES`], or not a document of the format at all.
    Syntax,
    /// An element or property kvitt needs is absent: one the Swedish law requires of a
    /// cash-register receipt (SKVFS 2014:9 ch. 7 §1), or one a kvitt receipt carries.
    Missing,
    /// A value that does not read as what its element holds: a decimal with more places
    /// than its unit has, a number out of range, a date, an enumeration.
    Value,
    /// Present, but with no place in a kvitt receipt: a copy, a second transaction, a
    /// receipt-level discount, a refunded deposit, prices in loyalty points, …
    Unsupported,
    /// The mapped receipt breaks a receipt rule of the protocol (spec/protocol.md §Receipt
    /// rules): the till's figures and kvitt's disagree.
    Rule(ErrorCode),
}

impl FormatCode {
    /// The stable dotted code, e.g. `format.missing`, or the protocol's code for a rule.
    pub fn as_str(self) -> &'static str {
        match self {
            FormatCode::TooLarge => "format.too_large",
            FormatCode::Syntax => "format.syntax",
            FormatCode::Missing => "format.missing",
            FormatCode::Value => "format.value",
            FormatCode::Unsupported => "format.unsupported",
            FormatCode::Rule(code) => code.as_str(),
        }
    }
}

impl fmt::Display for FormatCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused document: which code, where in the document, and what was wrong.
///
/// The path is XPath-like for SDRS (`/DigitalReceipt/Transaction/RetailTransaction/
/// LineItem[3]/Sale/ExtendedAmount`, Swedish extension elements with `se:`, attributes
/// with `@`), a JSON pointer for Kivra (`/items/1/extended_amount`), or the name of a value
/// given beside the document (`buyer`, `employee`, `original`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {detail} [{code}]")]
pub struct FormatError {
    code: FormatCode,
    path: String,
    detail: String,
}

impl FormatError {
    /// An error at `path`.
    pub fn new(code: FormatCode, path: impl Into<String>, detail: impl Into<String>) -> FormatError {
        FormatError { code, path: path.into(), detail: detail.into() }
    }

    /// What was wrong.
    pub fn code(&self) -> FormatCode {
        self.code
    }

    /// Where in the document (or which value beside it).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The sentence naming the value.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// `format.missing` at `path`, naming what is missing.
pub(crate) fn missing(path: impl Into<String>, what: &str) -> FormatError {
    FormatError::new(FormatCode::Missing, path, format!("missing: {what}"))
}

/// `format.missing` for what SKVFS 2014:9 ch. 7 §1 requires a kassakvitto to show.
pub(crate) fn required_by_law(path: impl Into<String>, what: &str) -> FormatError {
    FormatError::new(
        FormatCode::Missing,
        path,
        format!("missing: {what}, which a Swedish cash-register receipt must show (SKVFS 2014:9 ch. 7 §1)"),
    )
}

/// `format.unsupported` at `path`.
pub(crate) fn unsupported(path: impl Into<String>, detail: impl Into<String>) -> FormatError {
    FormatError::new(FormatCode::Unsupported, path, detail)
}

/// `format.value` at `path`.
pub(crate) fn bad_value(path: impl Into<String>, detail: impl Into<String>) -> FormatError {
    FormatError::new(FormatCode::Value, path, detail)
}
