//! Offline verification of one signed record: bytes in, a [`Report`] out.
//!
//! A record carries what it takes to check it: its signer's public key, its signature and
//! its canonical bytes. So verification needs no network and no ledger, and works years
//! later. What it cannot tell is whether the signer belongs to a network: that takes the
//! network's directory.
//!
//! ```
//! use kvitt_node::verify::{verify_reader, InputFormat, Report};
//!
//! let report = verify_reader(&b"a0"[..], InputFormat::Hex).unwrap();
//! let Report::Invalid(refused) = &report else { unreachable!() };
//! assert_eq!(refused.error.code().as_str(), "envelope.shape");
//! assert_eq!(serde_json::to_value(&report).unwrap()["valid"], false);
//! ```

use std::fmt;
use std::io::{self, Read};

use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::event::{Action, Role};
use kvitt_protocol::evidence::Slot;
use kvitt_protocol::limits::MAX_RECORD_BYTES;
use kvitt_protocol::{AnyRecord, Error, ErrorCode, PublicKey, RecordId, RecordType};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// How the input is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// The record's bytes as they are.
    Binary,
    /// The record's bytes as hex digits; ASCII whitespace (line breaks, say) is ignored.
    Hex,
}

/// Longest hex input read, in bytes of text: two digits per byte of the largest record,
/// and as much again for whitespace.
pub const MAX_HEX_INPUT_BYTES: usize = 4 * MAX_RECORD_BYTES;

/// Why the input could not be read as a record's bytes. A record that was read and then
/// refused is not an `InputError` but a [`Report::Invalid`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// Reading the input failed.
    #[error("cannot read the input")]
    Read(#[from] io::Error),
    /// Hex input that is not hex.
    #[error("not hex: {reason} (whitespace not counted)")]
    Hex {
        /// What the hex decoder found, e.g. "Invalid character 'x' at position 3".
        reason: String,
    },
}

/// The verdict on one input.
// One report per input, built once and printed: boxing the larger variant would save
// nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    /// The record is canonical, its signature verifies and its body obeys every rule.
    Valid(Verified),
    /// The input is not a valid record.
    Invalid(Refused),
}

/// What a valid record is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// The record's type.
    #[serde(rename = "type", serialize_with = "display")]
    pub kind: RecordType,
    /// The record's id: SHA-256 of its bytes.
    #[serde(serialize_with = "display")]
    pub id: RecordId,
    /// The key that signed it.
    #[serde(serialize_with = "display")]
    pub signer: PublicKey,
    /// Size of the signed envelope.
    pub size_bytes: usize,
    /// One line a person can read.
    pub summary: String,
    /// The main fields of the record, by type.
    #[serde(flatten)]
    pub details: Details,
}

/// The main fields of a valid record, by type. In JSON they sit beside `type` and `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Details {
    /// A receipt.
    Receipt {
        /// The seller's name.
        merchant: String,
        /// The seller's organisation number.
        merchant_org: String,
        /// The register's designation.
        register: String,
        /// The serial number on that register.
        serial: u64,
        /// When the sale happened.
        issued_at: String,
        /// The currency of every amount.
        currency: String,
        /// The total in minor units of `currency` (öre for SEK), VAT included.
        total_minor: i64,
        /// Number of lines.
        lines: usize,
        /// The buyer agency's organisation number.
        buyer: String,
        /// For a return or correction: the original receipt.
        #[serde(skip_serializing_if = "Option::is_none", serialize_with = "display_option")]
        original: Option<RecordId>,
    },
    /// An expense claim.
    Claim {
        /// The agency's number for the claim.
        number: String,
        /// The agency's organisation number.
        agency: String,
        /// The employee claiming.
        claimant: String,
        /// When the claim was put together.
        created_at: String,
        /// Number of items.
        items: usize,
        /// Number of items that attach a receipt.
        receipts: usize,
        /// The total claimed, in öre.
        total_ore: i64,
    },
    /// A claim event.
    ClaimEvent {
        /// The claim it changes.
        #[serde(serialize_with = "display")]
        claim: RecordId,
        /// The event it follows; absent for a claim's first event.
        #[serde(skip_serializing_if = "Option::is_none", serialize_with = "display_option")]
        previous: Option<RecordId>,
        /// The action's wire name (submitted, approved, …).
        action: &'static str,
        /// The person who acted.
        actor: String,
        /// The role they acted in.
        role: Role,
        /// When.
        at: String,
    },
    /// A directory.
    Directory {
        /// The network's name.
        network: String,
        /// The version number.
        version: u64,
        /// When this version was issued.
        issued_at: String,
        /// Number of members.
        members: usize,
    },
    /// A receipt's buyer, assigned after signing.
    Assignment {
        /// The receipt assigned.
        #[serde(serialize_with = "display")]
        receipt: RecordId,
        /// The buying agency.
        agency: String,
        /// The employee, if named.
        employee: Option<String>,
        /// When the merchant assigned it.
        assigned_at: String,
    },
    /// Equivocation evidence.
    Evidence {
        /// The id of the record with the smaller id.
        #[serde(serialize_with = "display")]
        first: RecordId,
        /// The id of the other record.
        #[serde(serialize_with = "display")]
        second: RecordId,
        /// When the reporting node found the conflict.
        detected_at: String,
    },
}

/// Why an input is not a valid record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The first rule the input broke, with its code and field path.
    pub error: Error,
    /// Advice when the mistake looks like the caller's (hex text read as binary).
    pub hint: Option<String>,
}

/// Reads one record from `reader` and verifies it. Reads at most a little more than the
/// largest record can be: a longer input is refused with `limit.record_size` unread.
pub fn verify_reader(reader: impl Read, format: InputFormat) -> Result<Report, InputError> {
    let limit = match format {
        InputFormat::Binary => MAX_RECORD_BYTES,
        InputFormat::Hex => MAX_HEX_INPUT_BYTES,
    };
    let mut input = Vec::new();
    reader.take(limit as u64 + 1).read_to_end(&mut input)?;
    if input.len() > limit {
        let unit = if format == InputFormat::Hex { " of hex text" } else { "" };
        return Ok(Report::Invalid(Refused {
            error: Error::new(
                ErrorCode::RecordSize,
                "",
                format!("more than {limit} bytes{unit}; no record is larger than {MAX_RECORD_BYTES} bytes"),
            ),
            hint: None,
        }));
    }
    match format {
        InputFormat::Hex => {
            let digits: Vec<u8> = input.into_iter().filter(|byte| !byte.is_ascii_whitespace()).collect();
            let bytes = hex::decode(digits).map_err(|error| InputError::Hex { reason: error.to_string() })?;
            Ok(verify_bytes(&bytes))
        }
        InputFormat::Binary => {
            let mut report = verify_bytes(&input);
            if let Report::Invalid(refused) = &mut report {
                if looks_like_hex(&input) {
                    refused.hint = Some("the input is hex text: pass --hex".to_owned());
                }
            }
            Ok(report)
        }
    }
}

/// Verifies one record's bytes.
pub fn verify_bytes(bytes: &[u8]) -> Report {
    match AnyRecord::decode(bytes) {
        Ok(record) => Report::Valid(Verified::of(&record)),
        Err(error) => Report::Invalid(Refused { error, hint: None }),
    }
}

fn looks_like_hex(bytes: &[u8]) -> bool {
    bytes.iter().any(u8::is_ascii_hexdigit)
        && bytes.iter().all(|byte| byte.is_ascii_hexdigit() || byte.is_ascii_whitespace())
}

impl Report {
    /// Whether the record is valid.
    pub fn is_valid(&self) -> bool {
        matches!(self, Report::Valid(_))
    }
}

impl Verified {
    /// The report on a record that decoded and verified.
    pub fn of(record: &AnyRecord) -> Verified {
        let (summary, details) = match record {
            AnyRecord::Receipt(receipt) => {
                let body = receipt.body();
                let mut summary = format!(
                    "{} ({}), register {} serial {}, {}, {} {}, total {}, buyer {}",
                    body.merchant.name,
                    body.merchant.org,
                    body.register,
                    body.serial,
                    body.issued_at,
                    body.lines.len(),
                    plural(body.lines.len(), "line", "lines"),
                    format_amount(body.total, &body.currency),
                    body.buyer_agency().unwrap_or("no buyer"),
                );
                if let Some(original) = body.original {
                    summary.push_str(&format!(", refers to receipt {}", original.short()));
                }
                let details = Details::Receipt {
                    merchant: body.merchant.name.clone(),
                    merchant_org: body.merchant.org.clone(),
                    register: body.register.clone(),
                    serial: body.serial,
                    issued_at: body.issued_at.clone(),
                    currency: body.currency.clone(),
                    total_minor: body.total,
                    lines: body.lines.len(),
                    buyer: body.buyer_agency().unwrap_or_default().to_owned(),
                    original: body.original,
                };
                (summary, details)
            }
            AnyRecord::Claim(claim) => {
                let body = claim.body();
                let receipts = body.receipts().count();
                let summary = format!(
                    "claim {} by {} at agency {}, {} {} ({} with a receipt), total {}",
                    body.number,
                    body.claimant,
                    body.agency,
                    body.items.len(),
                    plural(body.items.len(), "item", "items"),
                    receipts,
                    format_amount(body.total(), "SEK"),
                );
                let details = Details::Claim {
                    number: body.number.clone(),
                    agency: body.agency.clone(),
                    claimant: body.claimant.clone(),
                    created_at: body.created_at.clone(),
                    items: body.items.len(),
                    receipts,
                    total_ore: body.total(),
                };
                (summary, details)
            }
            AnyRecord::ClaimEvent(event) => {
                let body = event.body();
                let action = describe_action(&body.action);
                let previous = match body.previous {
                    Some(previous) => format!("after event {}", previous.short()),
                    None => "first event".to_owned(),
                };
                let summary = format!(
                    "{action}: claim {}, by {} as {}, {}, {previous}",
                    body.claim.short(),
                    body.actor.person,
                    role_name(body.actor.role),
                    body.at,
                );
                let details = Details::ClaimEvent {
                    claim: body.claim,
                    previous: body.previous,
                    action: body.action.name(),
                    actor: body.actor.person.clone(),
                    role: body.actor.role,
                    at: body.at.clone(),
                };
                (summary, details)
            }
            AnyRecord::Directory(directory) => {
                let body = directory.body();
                let count = |role| body.members.iter().filter(|member| member.role == role).count();
                let (merchants, agencies, sscs) =
                    (count(MemberRole::Merchant), count(MemberRole::Agency), count(MemberRole::Ssc));
                let summary = format!(
                    "network {} version {}, issued {}, {} {} ({} {}, {} {}, {} SSC)",
                    body.network,
                    body.version,
                    body.issued_at,
                    body.members.len(),
                    plural(body.members.len(), "member", "members"),
                    merchants,
                    plural(merchants, "merchant", "merchants"),
                    agencies,
                    plural(agencies, "agency", "agencies"),
                    sscs,
                );
                let details = Details::Directory {
                    network: body.network.clone(),
                    version: body.version,
                    issued_at: body.issued_at.clone(),
                    members: body.members.len(),
                };
                (summary, details)
            }
            AnyRecord::Evidence(evidence) => {
                let body = evidence.body();
                let (first, second) = (RecordId::of(&body.first), RecordId::of(&body.second));
                let conflict = match body.slot() {
                    Ok(slot) => describe_slot(&slot),
                    Err(_) => "two conflicting records".to_owned(),
                };
                let summary = format!(
                    "equivocation: {conflict} ({} and {}), detected {}",
                    first.short(),
                    second.short(),
                    body.detected_at
                );
                (summary, Details::Evidence { first, second, detected_at: body.detected_at.clone() })
            }
            AnyRecord::Assignment(assignment) => {
                let body = assignment.body();
                let summary = format!(
                    "assignment of receipt {} to {}{}, {}",
                    body.receipt.short(),
                    body.buyer.agency,
                    body.buyer
                        .employee
                        .as_deref()
                        .map(|employee| format!(" ({employee})"))
                        .unwrap_or_default(),
                    body.assigned_at
                );
                let details = Details::Assignment {
                    receipt: body.receipt,
                    agency: body.buyer.agency.clone(),
                    employee: body.buyer.employee.clone(),
                    assigned_at: body.assigned_at.clone(),
                };
                (summary, details)
            }
        };
        Verified {
            kind: record.kind(),
            id: record.id(),
            signer: record.signer(),
            size_bytes: record.bytes().len(),
            summary,
            details,
        }
    }
}

fn describe_slot(slot: &Slot) -> String {
    match slot {
        Slot::Receipt { signer, register, serial } => {
            format!("two receipts from {} for register {register} serial {serial}", signer.short())
        }
        Slot::Claim { signer, number } => format!("two claims from {} numbered {number}", signer.short()),
        Slot::ClaimEvent { signer, claim, previous } => format!(
            "two events from {} following {} of claim {}",
            signer.short(),
            previous.map_or_else(|| "the start".to_owned(), |id| format!("event {}", id.short())),
            claim.short()
        ),
        Slot::Assignment { signer, receipt } => {
            format!("two assignments from {} of receipt {}", signer.short(), receipt.short())
        }
        Slot::Directory { signer, version } => {
            format!("two directories from {} with version {version}", signer.short())
        }
    }
}

/// What a claim event's action did, in words: `rejected (reason)`, `booked as voucher K 7`,
/// `reversed as voucher K 9 (reason)`.
pub fn describe_action(action: &Action) -> String {
    match action {
        Action::Rejected { reason } => format!("rejected ({reason})"),
        Action::Reviewed { note: Some(note) } => format!("reviewed ({note})"),
        Action::Booked { series, number } => format!("booked as voucher {series} {number}"),
        Action::Paid { date, .. } => format!("paid on {date}"),
        Action::Reversed { reason, series, number } => {
            format!("reversed as voucher {series} {number} ({reason})")
        }
        other => other.name().to_owned(),
    }
}

/// The role a person acted in, as text.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Employee => "employee",
        Role::Approver => "approver",
        Role::Ssc => "SSC",
    }
}

fn plural(count: usize, one: &'static str, many: &'static str) -> &'static str {
    if count == 1 {
        one
    } else {
        many
    }
}

/// An amount in minor units written in major units with its currency (the protocol's
/// message form): `162400, "SEK"` → `1624.00 SEK`.
pub use kvitt_protocol::fields::format_money as format_amount;

fn display<T: fmt::Display, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

fn display_option<T: fmt::Display, S: Serializer>(
    value: &Option<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.collect_str(value),
        None => serializer.serialize_none(),
    }
}

/// JSON: `{"valid": true, "type": …, "id": …, "signer": …, "summary": …, <details>}` or
/// `{"valid": false, "error": {"code": …, "path": …, "message": …}}` (and `"hint"` when
/// there is one).
impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Tagged<'a, T> {
            valid: bool,
            #[serde(flatten)]
            report: &'a T,
        }
        match self {
            Report::Valid(verified) => Tagged { valid: true, report: verified }.serialize(serializer),
            Report::Invalid(refused) => Tagged { valid: false, report: refused }.serialize(serializer),
        }
    }
}

impl Serialize for Refused {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct ErrorJson<'a> {
            code: &'static str,
            path: &'a str,
            message: &'a str,
        }
        let error = ErrorJson {
            code: self.error.code().as_str(),
            path: self.error.path(),
            message: self.error.detail(),
        };
        let mut state = serializer.serialize_struct("Refused", 2)?;
        state.serialize_field("error", &error)?;
        if let Some(hint) = &self.hint {
            state.serialize_field("hint", hint)?;
        } else {
            state.skip_field("hint")?;
        }
        state.end()
    }
}

/// The human form: one `label  value` pair a line, the verdict first.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Report::Valid(verified) => {
                writeln!(f, "valid    {}", verified.kind)?;
                writeln!(f, "id       {}", verified.id)?;
                writeln!(f, "signer   {}", verified.signer)?;
                writeln!(f, "summary  {}", verified.summary)
            }
            Report::Invalid(refused) => {
                let path = refused.error.path();
                writeln!(f, "invalid  {}", refused.error.code())?;
                writeln!(f, "path     {}", if path.is_empty() { "(the whole input)" } else { path })?;
                writeln!(f, "message  {}", refused.error.detail())?;
                if let Some(hint) = &refused.hint {
                    writeln!(f, "hint     {hint}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_print_in_major_units() {
        assert_eq!(format_amount(162_400, "SEK"), "1624.00 SEK");
        assert_eq!(format_amount(-5, "SEK"), "-0.05 SEK");
        assert_eq!(format_amount(0, "EUR"), "0.00 EUR");
        assert_eq!(format_amount(-500, "JPY"), "-500 JPY");
        assert_eq!(format_amount(1_234_567, "KWD"), "1234.567 KWD");
        assert_eq!(format_amount(i64::MIN, "SEK"), "-92233720368547758.08 SEK");
    }

    #[test]
    fn hex_detection_needs_digits_and_nothing_else() {
        assert!(looks_like_hex(b"a5 61\n76"));
        assert!(!looks_like_hex(b" \n"));
        assert!(!looks_like_hex(b"a5xx"));
        assert!(!looks_like_hex(&[0xa5, 0x61]));
    }

    #[test]
    fn oversized_input_is_refused_without_reading_it_all() {
        let endless = io::repeat(0xa5);
        let Report::Invalid(refused) = verify_reader(endless, InputFormat::Binary).unwrap() else {
            panic!("an endless input is not a record");
        };
        assert_eq!(refused.error.code(), ErrorCode::RecordSize);
        let Report::Invalid(refused) = verify_reader(io::repeat(b'a'), InputFormat::Hex).unwrap() else {
            panic!("an endless input is not a record");
        };
        assert_eq!(refused.error.code(), ErrorCode::RecordSize);
    }

    #[test]
    fn bad_hex_is_an_input_error() {
        let error = verify_reader(&b"a5 6x"[..], InputFormat::Hex).unwrap_err();
        assert!(matches!(error, InputError::Hex { .. }), "{error:?}");
        assert!(error.to_string().contains("'x'"), "{error}");
    }
}
