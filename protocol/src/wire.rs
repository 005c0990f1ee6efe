//! The messages nodes exchange, and the refusals a node gives.
//!
//! Each request travels on its own QUIC stream as one frame and gets one response frame.
//! Both are canonical CBOR maps tagged by `kind`, and both carry the sender's directory
//! version, so a node learns that a peer has a newer directory from any exchange and
//! fetches it. Records travel as their exact envelope bytes.

use serde::{Deserialize, Serialize};

use crate::cbor;
use crate::error::{Error, ErrorCode, Result};
use crate::id::{byte_string, RecordId};
use crate::routing::{CardHash, MAX_ENROLLED_CARDS};

pub use crate::limits::{MAX_DELIVERY_RECORD_BYTES, MAX_MESSAGE_BYTES, MAX_RECORDS_PER_DELIVERY};

/// One request from a node to a peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The sender's current directory version.
    pub directory_version: u64,
    /// What is asked.
    pub body: RequestBody,
}

/// What a request asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RequestBody {
    /// Store these records (in order: a claim's receipts come before the claim, a claim
    /// before its events). Each gets its own verdict.
    Deliver {
        /// Envelope bytes of each record.
        records: Vec<RecordBytes>,
    },
    /// Send me your directory if its version is higher than `have`.
    Directory {
        /// The version the asker holds.
        have: u64,
    },
    /// One frame of a reconciliation session the sender started (spec/reconcile.md) over
    /// the channel the two nodes share.
    Reconcile {
        /// The sender's number for the session, the same on each of its frames.
        session: u64,
        /// The frame ([`crate::reconcile::Message`] bytes).
        frame: RecordBytes,
        /// Only the channel's records whose time is in this window; the whole channel if
        /// absent. Read from the frame that opens a session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window: Option<Window>,
    },
    /// A merchant asks an SSC which agency enrolled the card of the receipt it is about to
    /// sign at `serial` of `register` (spec/routing.md §Lookup).
    Route {
        /// The register the receipt is issued on.
        register: String,
        /// The serial it will take.
        serial: u64,
        /// The keyed hash of the card reference the till presented.
        card: CardHash,
    },
    /// An agency replaces its enrolled cards at the SSC serving it (spec/routing.md
    /// §Enrolment).
    Enrol {
        /// Every card the agency enrols, at most [`MAX_ENROLLED_CARDS`].
        cards: Vec<EnrolledCard>,
    },
    /// An agency collects a receipt with its code from the merchant the code names
    /// (spec/codes.md §Collecting).
    Collect {
        /// The code's random part and check character (11 characters, no separators).
        code: String,
        /// The agency's reference for the employee who presented the code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        employee: Option<String>,
    },
}

/// One enrolled card: its keyed hash, and the employee whose card it is, if one is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolledCard {
    /// The keyed hash of the card reference.
    pub card: CardHash,
    /// The agency's reference for the employee; none for a card of the agency itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee: Option<String>,
}

/// A range of record times (seconds since the Unix epoch, as the reconciliation order has
/// them): `from` included, `until` excluded. A channel too large for one session
/// ([`crate::reconcile::MAX_RECONCILE_ITEMS`]) is reconciled window by window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// The first time in the window.
    pub from: u64,
    /// The first time after it.
    pub until: u64,
}

impl Window {
    /// Whether `time` is in the window.
    pub fn contains(&self, time: u64) -> bool {
        self.from <= time && time < self.until
    }
}

/// One record's envelope bytes (a CBOR byte string).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordBytes(#[serde(with = "byte_string")] pub Vec<u8>);

/// The answer to a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// The responder's current directory version.
    pub directory_version: u64,
    /// The answer.
    pub body: ResponseBody,
}

/// What a response says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ResponseBody {
    /// One verdict per delivered record, in the request's order. `stored` and `duplicate`
    /// are acknowledgements: the record is on the responder's disk.
    Delivered {
        /// The verdicts.
        results: Vec<Verdict>,
    },
    /// The responder's directory, or none if it is not newer than the asker's.
    Directory {
        /// Envelope bytes of the directory.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record: Option<RecordBytes>,
    },
    /// The responder's next reconciliation frame, or none when the session is over for it.
    Reconcile {
        /// The frame ([`crate::reconcile::Message`] bytes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        frame: Option<RecordBytes>,
    },
    /// The agency that enrolled the card looked up, or none: unknown.
    Routed {
        /// The agency's organisation number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agency: Option<String>,
        /// The employee the enrolment names for the card.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        employee: Option<String>,
    },
    /// The agency's enrolment is in force, with this many cards.
    Enrolled {
        /// The number of cards enrolled.
        cards: u64,
    },
    /// The receipt a code was for, and the merchant's assignment of it to the asker.
    Collected {
        /// Envelope bytes of the receipt.
        receipt: RecordBytes,
        /// Envelope bytes of the assignment.
        assignment: RecordBytes,
    },
    /// The whole request was refused.
    Refused {
        /// Why.
        refusal: Refusal,
    },
}

/// What happened to one delivered record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub enum Verdict {
    /// Stored durably now.
    Stored {
        /// The record's id.
        id: RecordId,
    },
    /// Already held; nothing changed.
    Duplicate {
        /// The record's id.
        id: RecordId,
    },
    /// Not stored. Retrying the same bytes will not help unless `refusal.retry` says so.
    Refused {
        /// Why.
        refusal: Refusal,
    },
}

/// A refusal: a stable code, whether retrying later may succeed, and a sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// A record error code (`ErrorCode`) or a refusal code (`RefusalCode`).
    pub code: AnyCode,
    /// The field path, when the refusal concerns one field.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// What was wrong, naming the value.
    pub message: String,
    /// Whether the same request may succeed later (the node was busy, or lacks a
    /// directory version or a record it needs first).
    #[serde(default, skip_serializing_if = "is_false")]
    pub retry: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

macro_rules! refusal_codes {
    ($( $(#[doc = $doc:literal])+ $variant:ident => $code:literal, retry: $retry:literal, )+) => {
        /// Why a node refuses a valid record or a request: authorization and ledger rules
        /// that need more than the record itself (the directory, what the node holds).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum RefusalCode {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl RefusalCode {
            /// Every refusal code.
            pub const ALL: &'static [RefusalCode] = &[ $( RefusalCode::$variant, )+ ];

            /// The stable dotted code.
            pub fn as_str(self) -> &'static str {
                match self { $( RefusalCode::$variant => $code, )+ }
            }

            /// The code for a dotted string, if it is one.
            pub fn parse(code: &str) -> Option<RefusalCode> {
                match code { $( $code => Some(RefusalCode::$variant), )+ _ => None }
            }

            /// Whether the refused request may succeed if sent again later.
            pub fn retry(self) -> bool {
                match self { $( RefusalCode::$variant => $retry, )+ }
            }
        }
    };
}

refusal_codes! {
    /// The peer or the record's signer is not a member of the directory.
    NotMember => "auth.not_member", retry: true,
    /// The record is signed by a key other than the one the directory lists for the
    /// organisation it names.
    WrongSigner => "auth.signer", retry: false,
    /// The record is not for this node (its buyer, agency or SSC is another).
    Misrouted => "auth.misrouted", retry: false,
    /// The sender may not send this (a merchant sending a claim, a caller without the role).
    Forbidden => "auth.forbidden", retry: false,
    /// A receipt's serial is not the next in its register's unbroken series.
    SerialOrder => "receipt.serial", retry: false,
    /// The receipt is already held by another live claim.
    ReceiptClaimed => "claim.receipt_taken", retry: false,
    /// A record refers to a record this node does not hold (yet).
    UnknownRecord => "ledger.unknown_record", retry: true,
    /// A claim item does not match its receipt (other buyer, amount above the receipt's).
    ReceiptMismatch => "claim.receipt_mismatch", retry: false,
    /// A receipt signed without a buyer, in a claim or delivered, and no assignment of it
    /// by its merchant is held to give it one (spec/codes.md §Claims): send the
    /// assignment first.
    ReceiptUnassigned => "claim.receipt_unassigned", retry: true,
    /// The record conflicts with another from the same signer for the same slot; both are
    /// kept as evidence.
    Equivocation => "ledger.equivocation", retry: false,
    /// The node's storage is failing; nothing was stored.
    Unavailable => "node.unavailable", retry: true,
    /// The disk holding the node's ledger is full: nothing was stored, and the node takes
    /// writes again by itself once space is freed.
    DiskFull => "node.disk_full", retry: true,
    /// A directory that is not newer, of another network, or not signed by the operator.
    DirectoryVersion => "directory.not_accepted", retry: false,
    /// The message is not a valid request (malformed, over a limit).
    BadRequest => "request.invalid", retry: false,
    /// No such claim, receipt or draft for this caller.
    NotFound => "request.not_found", retry: false,
    /// The sender made more requests of this kind than the limit allows in its period.
    RateLimited => "request.rate_limited", retry: true,
    /// A card in an enrolment is enrolled by another agency.
    CardTaken => "routing.card_taken", retry: false,
    /// A receipt code has the wrong length or a character that cannot stand where it is.
    CodeFormat => "code.format", retry: false,
    /// A receipt code's check character, or its merchant's check digit, does not match.
    CodeCheck => "code.check", retry: false,
    /// No receipt waits for this code at the merchant.
    CodeUnknown => "code.unknown", retry: false,
    /// The code was used: its receipt went to another agency.
    CodeCollected => "code.collected", retry: false,
    /// The node lost acknowledged records and signs nothing until its operator has run
    /// `kvitt recover`.
    Recovering => "node.recovering", retry: true,
    /// A claim cannot be booked, or a booking cannot be reversed (spec/books.md §Errors).
    Booking => "books.booking", retry: false,
    /// The SIE file's header cannot be written (spec/books.md §SIE 4 subset).
    Sie => "books.sie", retry: false,
    /// A receipt item is booked on an account for the other side of the border.
    Place => "books.place", retry: false,
    /// A claim's exchange rate is off the reference rates: the claim is held for staff.
    RateHeld => "books.rate", retry: false,
    /// The agency's policy finds an error in a submission or an approval.
    Policy => "claim.policy", retry: false,
    /// Booking a claim held for an open exception: staff resolve it instead.
    ExceptionOpen => "claim.exception_open", retry: false,
}

/// The code of a refusal: a record error code or a refusal code, which never share a
/// spelling. On the wire it is its dotted text; a code that is neither is refused at
/// decode with `schema.field` (a new code is a new protocol version, spec/node.md
/// §Refusals, spec/protocol.md §Versioning).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnyCode {
    /// The record itself is invalid, or the request did not decode.
    Record(ErrorCode),
    /// A rule that needs more than the record (the directory, what the node holds).
    Refusal(RefusalCode),
}

impl AnyCode {
    /// The stable dotted code.
    pub fn as_str(self) -> &'static str {
        match self {
            AnyCode::Record(code) => code.as_str(),
            AnyCode::Refusal(code) => code.as_str(),
        }
    }

    /// The code for a dotted string, if it is one.
    pub fn parse(code: &str) -> Option<AnyCode> {
        ErrorCode::parse(code).map(AnyCode::Record).or_else(|| RefusalCode::parse(code).map(AnyCode::Refusal))
    }
}

impl From<ErrorCode> for AnyCode {
    fn from(code: ErrorCode) -> AnyCode {
        AnyCode::Record(code)
    }
}

impl From<RefusalCode> for AnyCode {
    fn from(code: RefusalCode) -> AnyCode {
        AnyCode::Refusal(code)
    }
}

impl PartialEq<RefusalCode> for AnyCode {
    fn eq(&self, other: &RefusalCode) -> bool {
        *self == AnyCode::Refusal(*other)
    }
}

impl PartialEq<ErrorCode> for AnyCode {
    fn eq(&self, other: &ErrorCode) -> bool {
        *self == AnyCode::Record(*other)
    }
}

impl std::fmt::Display for AnyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AnyCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AnyCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<AnyCode, D::Error> {
        let text = String::deserialize(deserializer)?;
        AnyCode::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown code {text:?}: neither a record error code nor a refusal code"
            ))
        })
    }
}

impl Refusal {
    /// A refusal with a node-level code.
    pub fn new(code: RefusalCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code: AnyCode::Refusal(code),
            path: String::new(),
            message: message.into(),
            retry: code.retry(),
        }
    }

    /// The refusal of a record that failed its own rules.
    pub fn invalid(error: &Error) -> Refusal {
        Refusal {
            code: AnyCode::Record(error.code()),
            path: error.path().into(),
            message: error.detail().into(),
            retry: false,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{} [{}]", self.message, self.code)
        } else {
            write!(f, "{}: {} [{}]", self.path, self.message, self.code)
        }
    }
}

impl Request {
    /// Canonical bytes of the request.
    pub fn encode(&self) -> Result<Vec<u8>> {
        cbor::encode(self)
    }

    /// Decodes a request, refusing non-canonical bytes and oversized messages and
    /// deliveries.
    pub fn decode(bytes: &[u8]) -> Result<Request> {
        check_message_size(bytes)?;
        let request: Request = cbor::decode_typed(bytes)?;
        let (path, count, limit) = match &request.body {
            RequestBody::Deliver { records } => ("body.records", records.len(), MAX_RECORDS_PER_DELIVERY),
            RequestBody::Enrol { cards } => ("body.cards", cards.len(), MAX_ENROLLED_CARDS),
            _ => return Ok(request),
        };
        if count > limit {
            return Err(Error::new(ErrorCode::TooMany, path, format!("{count}, limit {limit}")));
        }
        Ok(request)
    }
}

impl Response {
    /// Canonical bytes of the response.
    pub fn encode(&self) -> Result<Vec<u8>> {
        cbor::encode(self)
    }

    /// Decodes a response, refusing non-canonical bytes and oversized messages.
    pub fn decode(bytes: &[u8]) -> Result<Response> {
        check_message_size(bytes)?;
        cbor::decode_typed(bytes)
    }
}

/// A message is refused from its size alone, before any decoding.
fn check_message_size(bytes: &[u8]) -> Result<()> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(Error::new(
            ErrorCode::RecordSize,
            "",
            format!("message of {} bytes, limit {MAX_MESSAGE_BYTES}", bytes.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_canonically() {
        let request = Request {
            directory_version: 3,
            body: RequestBody::Deliver { records: vec![RecordBytes(vec![1, 2, 3])] },
        };
        let bytes = request.encode().unwrap();
        assert_eq!(Request::decode(&bytes).unwrap(), request);
        let response = Response {
            directory_version: 3,
            body: ResponseBody::Delivered {
                results: vec![
                    Verdict::Stored { id: RecordId::of(b"a") },
                    Verdict::Refused { refusal: Refusal::new(RefusalCode::Misrouted, "not for me") },
                ],
            },
        };
        assert_eq!(Response::decode(&response.encode().unwrap()).unwrap(), response);
    }

    #[test]
    fn a_delivery_over_the_limit_is_refused_and_one_at_it_is_not() {
        let request = |count: usize| Request {
            directory_version: 1,
            body: RequestBody::Deliver { records: vec![RecordBytes(vec![0]); count] },
        };
        assert!(Request::decode(&request(MAX_RECORDS_PER_DELIVERY).encode().unwrap()).is_ok());
        let error = Request::decode(&request(MAX_RECORDS_PER_DELIVERY + 1).encode().unwrap()).unwrap_err();
        assert_eq!(error.code(), ErrorCode::TooMany);
    }

    #[test]
    fn an_enrolment_over_the_limit_is_refused_and_one_at_it_is_not() {
        let card = EnrolledCard { card: CardHash([1; 32]), employee: None };
        let request = |count: usize| Request {
            directory_version: 1,
            body: RequestBody::Enrol { cards: vec![card.clone(); count] },
        };
        assert!(Request::decode(&request(MAX_ENROLLED_CARDS).encode().unwrap()).is_ok());
        let error = Request::decode(&request(MAX_ENROLLED_CARDS + 1).encode().unwrap()).unwrap_err();
        assert_eq!((error.code(), error.path()), (ErrorCode::TooMany, "body.cards"));
    }

    #[test]
    fn a_field_at_its_default_value_is_refused() {
        let response = Response {
            directory_version: 1,
            body: ResponseBody::Refused { refusal: Refusal::new(RefusalCode::Misrouted, "not for me") },
        };
        let mut value = cbor::to_value(&response).unwrap();
        // Add "retry": false, the default, which the canonical form leaves out.
        if let ciborium::value::Value::Map(entries) = &mut value {
            for (key, item) in entries.iter_mut() {
                if key.as_text() == Some("body") {
                    if let ciborium::value::Value::Map(body) = item {
                        for (key, refusal) in body.iter_mut() {
                            if key.as_text() == Some("refusal") {
                                if let ciborium::value::Value::Map(fields) = refusal {
                                    fields.push((
                                        ciborium::value::Value::Text("retry".into()),
                                        ciborium::value::Value::Bool(false),
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
        let bytes = cbor::encode(&value).unwrap();
        let error = Response::decode(&bytes).unwrap_err();
        assert_eq!((error.code(), error.path()), (ErrorCode::Schema, "body.refusal.retry"));
    }

    #[test]
    fn every_code_parses_back_from_its_spelling() {
        for code in RefusalCode::ALL {
            assert_eq!(RefusalCode::parse(code.as_str()), Some(*code));
            assert_eq!(AnyCode::parse(code.as_str()), Some(AnyCode::Refusal(*code)));
        }
        for code in ErrorCode::ALL {
            assert_eq!(AnyCode::parse(code.as_str()), Some(AnyCode::Record(*code)));
        }
        assert_eq!(AnyCode::parse("auth.unauthenticated"), None, "an API code, never on the wire");
    }

    #[test]
    fn a_refusal_travels_as_its_dotted_code() {
        let refusal = Refusal::new(RefusalCode::NotMember, "who?");
        let text = cbor::to_value(&refusal).unwrap();
        let code = text.as_map().unwrap().iter().find(|(key, _)| key.as_text() == Some("code")).unwrap();
        assert_eq!(code.1.as_text(), Some("auth.not_member"));
    }

    #[test]
    fn an_unknown_code_is_refused_at_decode() {
        let response = Response {
            directory_version: 1,
            body: ResponseBody::Refused { refusal: Refusal::new(RefusalCode::Misrouted, "not for me") },
        };
        let bytes = response.encode().unwrap();
        let known = b"auth.misrouted";
        let at = bytes.windows(known.len()).position(|window| window == known).unwrap();
        let mut unknown = bytes.clone();
        unknown[at..at + known.len()].copy_from_slice(b"auth.misrouteX");
        let error = Response::decode(&unknown).unwrap_err();
        // The body is a tagged enum, which serde reads whole: the path ends at it.
        assert_eq!((error.code(), error.path()), (ErrorCode::Schema, "body"));
        assert!(error.detail().contains("auth.misrouteX"), "{error}");
    }

    #[test]
    fn refusal_codes_are_unique_and_distinct_from_record_codes() {
        let mut seen = std::collections::BTreeSet::new();
        for code in RefusalCode::ALL {
            assert!(seen.insert(code.as_str()));
            assert!(ErrorCode::parse(code.as_str()).is_none(), "{} is also a record code", code.as_str());
        }
    }
}
