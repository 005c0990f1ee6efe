//! The one error type of the protocol: a stable code, the path of the offending field, and
//! a sentence naming the value and the rule.
//!
//! Codes are part of the protocol (spec/protocol.md §Error codes): two implementations give
//! the same code for the same input, because the spec fixes the order in which checks run.

use std::fmt;

macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])+ $variant:ident => $code:literal, )+) => {
        /// What rule an input broke. `as_str` is the code on the wire and in the vectors.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl ErrorCode {
            /// Every code, in the order spec/protocol.md lists them.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )+ ];

            /// The stable dotted code, e.g. `vat.breakdown`.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )+ }
            }

            /// The code for a dotted string, if it is one.
            pub fn parse(code: &str) -> Option<ErrorCode> {
                match code { $( $code => Some(ErrorCode::$variant), )+ _ => None }
            }
        }
    };
}

error_codes! {
    /// The bytes are not one well-formed CBOR data item.
    Malformed => "encoding.malformed",
    /// Bytes follow the single top-level CBOR data item.
    TrailingBytes => "encoding.trailing_bytes",
    /// Arrays and maps nest deeper than `MAX_CBOR_DEPTH`.
    TooDeep => "encoding.too_deep",
    /// The item holds more than `MAX_CBOR_ITEMS` data items.
    TooManyItems => "encoding.too_many_items",
    /// A float, tag, null, undefined or simple value other than true/false.
    ForbiddenType => "encoding.forbidden_type",
    /// A map holds the same key twice.
    DuplicateKey => "encoding.duplicate_key",
    /// Well-formed, but not the deterministic encoding (RFC 8949 §4.2.1).
    NonCanonical => "encoding.non_canonical",
    /// The record is larger than the limit for its type.
    RecordSize => "limit.record_size",
    /// The envelope is not a map with exactly the fields v, type, body, signer, sig.
    EnvelopeShape => "envelope.shape",
    /// The envelope's version is not one this implementation speaks.
    UnsupportedVersion => "envelope.version",
    /// The record type is unknown, or not the one the caller expected.
    RecordType => "envelope.type",
    /// The body does not match the record type's schema (missing, unknown or mistyped field).
    Schema => "schema.field",
    /// The signer is not a valid ed25519 public key (or is a weak, small-order key).
    SignerKey => "signature.key",
    /// The signature does not verify (strictly) over the signing input.
    BadSignature => "signature.invalid",
    /// A list has more entries than its limit allows.
    TooMany => "limit.count",
    /// A list that must have entries is empty.
    Empty => "limit.empty",
    /// A text is longer than its limit, empty where required, or holds control characters.
    Text => "text.invalid",
    /// A text holds a bidirectional formatting character (embedding, override, isolate).
    TextBidi => "text.bidi",
    /// An amount, quantity or number is out of its allowed range or sign.
    Range => "limit.range",
    /// An organisation number is not `NNNNNN-NNNN`, or a foreign id is not `CC:id`.
    OrgFormat => "org.format",
    /// A Swedish organisation number fails its Luhn check digit.
    OrgLuhn => "org.luhn",
    /// A VAT number does not belong to the organisation number.
    VatNumber => "org.vat_number",
    /// A currency is not three upper-case letters (ISO 4217).
    Currency => "currency.format",
    /// A time is not `YYYY-MM-DDTHH:MM:SS±HH:MM`, or not a real date and time.
    TimeFormat => "time.format",
    /// A date is not `YYYY-MM-DD`, or not a real date.
    DateFormat => "date.format",
    /// A GTIN fails its check digit or length.
    Gtin => "line.gtin",
    /// A masked card number shows too much or is not digits and `*`.
    MaskedPan => "payment.masked_pan",
    /// A line's amount is not quantity × unit price − discounts, rounded as the spec says.
    LineAmount => "line.amount",
    /// A text line carries amounts, or a priced line lacks them.
    LineKind => "line.kind",
    /// A VAT rate is not in the rate table for the date of sale.
    VatRate => "vat.rate",
    /// A line's VAT rate is not the table's rate for its goods category on the date of sale.
    CategoryRate => "vat.category_rate",
    /// The VAT breakdown does not match the lines (per rate: gross, VAT, taxable).
    VatBreakdown => "vat.breakdown",
    /// The total is not the sum of the lines plus rounding.
    Total => "receipt.total",
    /// The payments do not add up to the total.
    Payments => "receipt.payments",
    /// A receipt with return lines lacks the id of the original receipt.
    ReturnReference => "receipt.original",
    /// A claim item's arithmetic is wrong (mileage, per diem, currency conversion).
    ItemAmount => "claim.item_amount",
    /// A BAS account number is not four digits in 1000–8999.
    Account => "claim.account",
    /// One receipt appears twice in one claim.
    DuplicateReceipt => "claim.duplicate_receipt",
    /// A receipt item's currency is not its receipt's (a `foreign` amount on a SEK
    /// receipt, none or another currency on a foreign one), or a return of the receipt is
    /// in another currency than the receipt (spec/protocol.md §Claim amounts).
    ReceiptCurrency => "claim.receipt_currency",
    /// The items on a receipt, across every live claim, claim more than it supports: its
    /// total less what its returns refunded (spec/protocol.md §Claim amounts).
    OverClaim => "claim.over_claim",
    /// Dates that must be ordered are not (a per-diem trip ending before it starts).
    DateOrder => "date.order",
    /// A claim event's action is not allowed from the claim's current state.
    Transition => "event.transition",
    /// A claim event does not chain to the claim's latest event.
    Chain => "event.chain",
    /// A directory lists the same node key or organisation twice.
    DuplicateMember => "directory.duplicate_member",
    /// A directory's `serves` lists are wrong (not an SSC, unknown agency, served twice).
    Serves => "directory.serves",
    /// A network address is not `host:port`.
    Address => "directory.address",
    /// Evidence whose two records do not conflict (same id, other signer, other slot).
    NotConflicting => "evidence.not_conflicting",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected input: which rule, where, and what was wrong.
///
/// Displays as `lines[3].vat: 1250 öre, expected 1200 öre at 12 % [vat.breakdown]`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    code: ErrorCode,
    path: String,
    detail: String,
}

impl Error {
    /// An error at the field `path` (empty for the whole input).
    pub fn new(code: ErrorCode, path: impl Into<String>, detail: impl Into<String>) -> Error {
        Error { code, path: path.into(), detail: detail.into() }
    }

    /// The rule that was broken.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The field path, e.g. `lines[3].vat`; empty when the error concerns the whole input.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The sentence naming the value and the rule.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The same error, with `prefix` put in front of its path (`body` + `lines[3]`).
    pub fn within(mut self, prefix: &str) -> Error {
        self.path = join_path(prefix, &self.path);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{} [{}]", self.detail, self.code)
        } else {
            write!(f, "{}: {} [{}]", self.path, self.detail, self.code)
        }
    }
}

/// Joins two field paths: `a` + `b` → `a.b`, `a` + `[2]` → `a[2]`.
pub(crate) fn join_path(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if rest.starts_with('[') => format!("{prefix}{rest}"),
        (false, false) => format!("{prefix}.{rest}"),
    }
}

/// Result of every fallible protocol operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_parse_back() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate code {code}");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
        assert_eq!(ErrorCode::parse("no.such"), None);
    }

    #[test]
    fn display_names_path_detail_and_code() {
        let error =
            Error::new(ErrorCode::VatBreakdown, "vat[0].vat", "1250 öre, expected 1200 öre").within("body");
        assert_eq!(error.to_string(), "body.vat[0].vat: 1250 öre, expected 1200 öre [vat.breakdown]");
        let error = Error::new(ErrorCode::Total, "", "x").within("body").within("");
        assert_eq!(error.path(), "body");
        assert_eq!(join_path("lines", "[3].vat"), "lines[3].vat");
    }
}
