//! The protocol's test vectors, spec/vectors/*.json: exact inputs and the verdict every
//! implementation must give, for implementations written from spec/ alone.
//!
//! [`generate`] builds every vector from fixed keys (`common::key`) and fixed records, so
//! the files are reproducible byte for byte. Invalid vectors break one rule each; those that
//! must reach a deep rule carry a valid signature over the invalid body, made by hand with
//! the public API (`Signed::sign` validates first and would refuse).
//!
//! - `committed_vectors_match_the_generator` keeps the committed files equal to the
//!   generator; `KVITT_BLESS=1 cargo test -p kvitt-protocol --test vectors` rewrites them.
//! - `every_vector_gets_its_verdict` reads each committed file without the generator, as
//!   another implementation would, and checks the decoders give the stated verdict.
mod common;
mod golden;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ciborium::value::Value;
use ed25519_dalek::{Signer, SigningKey};
use kvitt_protocol::assignment::Assignment;
use kvitt_protocol::claim::{Booking, Claim, ClaimItem, ExchangeRate, ForeignAmount, MealsProvided, Vehicle};
use kvitt_protocol::claim_amounts::ReceiptClaims;
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::envelope::signing_input;
use kvitt_protocol::event::{Action, Actor, ClaimEvent, ClaimState, Role};
use kvitt_protocol::evidence::Evidence;
use kvitt_protocol::receipt::{Address, Buyer, Discount, Line, LineKind, Merchant, Payment, Receipt};
use kvitt_protocol::{cbor, AnyRecord, Error, ErrorCode, PublicKey, Record, RecordId, Signed};
use serde::Serialize;

/// Where the vectors live, relative to this crate.
fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors")
}

const REGENERATE: &str = "KVITT_BLESS=1 cargo test -p kvitt-protocol --test vectors";

/// Fewest vectors the committed set may hold.
const MIN_VECTORS: usize = 30;

// ---------------------------------------------------------------------------------------
// The vector model and its JSON form.
// ---------------------------------------------------------------------------------------

/// One generated vector.
struct Vector {
    name: String,
    description: String,
    decode_as: &'static str,
    input: Input,
    /// The envelope's signer field, when it has one.
    public_key: Option<[u8; 32]>,
    /// The seed that signed, when the signer field is its public key.
    secret_seed: Option<[u8; 32]>,
    /// For valid records: the exact bytes signed.
    signing_input: Option<Vec<u8>>,
    expected: Expected,
}

enum Input {
    Record(Vec<u8>),
    History { claim: Vec<u8>, events: Vec<Vec<u8>> },
    Amounts { claim: Vec<u8>, receipts: Vec<Vec<u8>>, other_claims: Vec<Vec<u8>> },
}

enum Expected {
    /// A valid record; its id is SHA-256 of the input.
    Valid,
    /// A valid claim history ending in this status.
    Status(&'static str),
    /// Refused with this code at this path.
    Invalid(ErrorCode, String),
    /// A claim history whose event at this index is the first refused.
    InvalidEvent(usize, ErrorCode, String),
}

#[derive(Serialize)]
struct VectorFile<'a> {
    name: &'a str,
    description: &'a str,
    decode_as: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cbor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claim: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    receipts: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    other_claims: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_seed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_input: Option<String>,
    expected: ExpectedFile,
}

#[derive(Serialize)]
struct ExpectedFile {
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<usize>,
}

impl Vector {
    /// A record vector, not yet given a verdict.
    fn record(name: &str, decode_as: &'static str, description: &str, bytes: Vec<u8>) -> Vector {
        Vector {
            name: name.to_owned(),
            description: description.to_owned(),
            decode_as,
            input: Input::Record(bytes),
            public_key: None,
            secret_seed: None,
            signing_input: None,
            expected: Expected::Valid,
        }
    }

    /// A claim-history vector, not yet given a verdict.
    fn history(name: &str, description: &str, claim: &[u8], events: &[&[u8]]) -> Vector {
        Vector {
            input: Input::History {
                claim: claim.to_vec(),
                events: events.iter().map(|event| event.to_vec()).collect(),
            },
            ..Vector::record(name, "claim_history", description, vec![])
        }
    }

    /// The signer is the named test key, which others can reproduce from its seed.
    /// A claim-amounts vector (spec/protocol.md §Claim amounts), not yet given a verdict:
    /// the claim, the receipts it names with their returns, and the other live claims.
    fn amounts(
        name: &str,
        description: &str,
        claim: &[u8],
        receipts: &[&[u8]],
        other_claims: &[&[u8]],
    ) -> Vector {
        let hex_list = |records: &[&[u8]]| records.iter().map(|record| record.to_vec()).collect();
        Vector {
            input: Input::Amounts {
                claim: claim.to_vec(),
                receipts: hex_list(receipts),
                other_claims: hex_list(other_claims),
            },
            ..Vector::record(name, "claim_amounts", description, vec![])
        }
    }

    fn signed_by(self, key_name: &str) -> Vector {
        let key = common::key(key_name);
        Vector { public_key: Some(key.verifying_key().to_bytes()), secret_seed: Some(key.to_bytes()), ..self }
    }

    fn fails(self, code: ErrorCode, path: &str) -> Vector {
        Vector { expected: Expected::Invalid(code, path.to_owned()), ..self }
    }

    fn fails_at_event(self, event: usize, code: ErrorCode, path: &str) -> Vector {
        Vector { expected: Expected::InvalidEvent(event, code, path.to_owned()), ..self }
    }

    fn ends_in(self, status: &'static str) -> Vector {
        Vector { expected: Expected::Status(status), ..self }
    }

    fn file_name(&self) -> String {
        format!("{}.json", self.name)
    }

    /// The vector's file: pretty JSON, two-space indent, keys in a fixed order, final newline.
    fn render(&self) -> String {
        let hex_list = |records: &[Vec<u8>]| Some(records.iter().map(hex::encode).collect::<Vec<_>>());
        let (cbor, claim, events, id) = match &self.input {
            Input::Record(bytes) => {
                (Some(hex::encode(bytes)), None, None, Some(RecordId::of(bytes).to_string()))
            }
            Input::History { claim, events } => (None, Some(hex::encode(claim)), hex_list(events), None),
            Input::Amounts { claim, .. } => (None, Some(hex::encode(claim)), None, None),
        };
        let (receipts, other_claims) = match &self.input {
            Input::Amounts { receipts, other_claims, .. } => (hex_list(receipts), hex_list(other_claims)),
            _ => (None, None),
        };
        let expected = match &self.expected {
            Expected::Valid => {
                ExpectedFile { valid: true, id, status: None, error: None, path: None, event: None }
            }
            Expected::Status(status) => ExpectedFile {
                valid: true,
                id: None,
                status: Some(status),
                error: None,
                path: None,
                event: None,
            },
            Expected::Invalid(code, path) => ExpectedFile {
                valid: false,
                id: None,
                status: None,
                error: Some(code.as_str()),
                path: Some(path.clone()),
                event: None,
            },
            Expected::InvalidEvent(index, code, path) => ExpectedFile {
                valid: false,
                id: None,
                status: None,
                error: Some(code.as_str()),
                path: Some(path.clone()),
                event: Some(*index),
            },
        };
        let file = VectorFile {
            name: &self.name,
            description: &self.description,
            decode_as: self.decode_as,
            cbor,
            claim,
            events,
            receipts,
            other_claims,
            public_key: self.public_key.map(hex::encode),
            secret_seed: self.secret_seed.map(hex::encode),
            signing_input: self.signing_input.as_ref().map(hex::encode),
            expected,
        };
        let mut text = serde_json::to_string_pretty(&file).expect("a vector renders as JSON");
        text.push('\n');
        text
    }
}

/// A valid vector of a record signed with `Signed::sign`.
fn valid<T: Record>(
    name: &str,
    decode_as: &'static str,
    description: &str,
    signed: &Signed<T>,
    key_name: &str,
) -> Vector {
    assert_eq!(signed.signer(), common::public(key_name), "{name}: signed by another key");
    let body = cbor::encode(signed.body()).expect("a valid body encodes");
    Vector {
        signing_input: Some(signing_input(T::TYPE, &body)),
        ..Vector::record(name, decode_as, description, signed.bytes().to_vec()).signed_by(key_name)
    }
}

// ---------------------------------------------------------------------------------------
// Building envelopes by hand: valid signatures over bodies `Signed::sign` would refuse.
// ---------------------------------------------------------------------------------------

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

/// `"kvitt/1/" || type || 0x00 || body`, for any type name (the library's `signing_input`
/// takes only known types).
fn raw_signing_input(type_name: &str, body_bytes: &[u8]) -> Vec<u8> {
    let mut input = format!("kvitt/1/{type_name}\0").into_bytes();
    input.extend_from_slice(body_bytes);
    input
}

/// Every canonical envelope starts `{"v": 1, "sig": <64 bytes>`: map(5), "v", 1, "sig",
/// bytes(64). The signature's first byte follows.
const ENVELOPE_HEAD: [u8; 10] = [0xa5, 0x61, b'v', 0x01, 0x63, b's', b'i', b'g', 0x58, 0x40];
const SIG_OFFSET: usize = ENVELOPE_HEAD.len();

/// An envelope with its fields in canonical order (v, sig, body, type, signer: by the bytes
/// of the encoded keys), encoded exactly as given, so faults placed in `body` survive.
fn envelope(version: Value, type_name: &str, body: Value, signer: &[u8], sig: &[u8]) -> Vec<u8> {
    cbor::encode_value(&Value::Map(vec![
        (text("v"), version),
        (text("sig"), Value::Bytes(sig.to_vec())),
        (text("body"), body),
        (text("type"), text(type_name)),
        (text("signer"), Value::Bytes(signer.to_vec())),
    ]))
}

/// The body's value tree, sorted as the canonical encoding sorts it.
fn body_value<T: Serialize>(body: &T) -> Value {
    cbor::to_value(body).expect("a typed body is in the CBOR profile")
}

/// The signature of `key_name` over `body` (encoded as it stands) in the domain `sign_as`.
fn signature(sign_as: &str, body: &Value, key_name: &str) -> [u8; 64] {
    common::key(key_name).sign(&raw_signing_input(sign_as, &cbor::encode_value(body))).to_bytes()
}

/// An envelope of type `type_name` whose body is signed correctly by `key_name`.
fn forge(type_name: &str, body: Value, key_name: &str) -> Vec<u8> {
    let sig = signature(type_name, &body, key_name);
    envelope(Value::Integer(1.into()), type_name, body, &common::public(key_name).0, &sig)
}

/// A correctly signed envelope around a typed body, whatever its rules say.
fn forge_typed<T: Record>(body: &T, key_name: &str) -> Vec<u8> {
    forge(T::TYPE.as_str(), body_value(body), key_name)
}

/// The map entry at a dotted path (`merchant.vat_number`, `lines[0].description`).
fn at<'a>(value: &'a mut Value, path: &str) -> &'a mut Value {
    let mut current = value;
    for segment in path.split('.') {
        let (key, indices) = segment.split_at(segment.find('[').unwrap_or(segment.len()));
        if !key.is_empty() {
            let entries = current.as_map_mut().unwrap_or_else(|| panic!("{path}: {key} is not in a map"));
            current = &mut entries
                .iter_mut()
                .find(|(name, _)| name.as_text() == Some(key))
                .unwrap_or_else(|| panic!("{path}: no field {key}"))
                .1;
        }
        for index in indices.split(['[', ']']).filter(|index| !index.is_empty()) {
            let index: usize = index.parse().expect("an array index");
            current = current
                .as_array_mut()
                .and_then(|items| items.get_mut(index))
                .unwrap_or_else(|| panic!("{path}: no item {index}"));
        }
    }
    current
}

/// `bytes` with the one occurrence of `from` replaced by `to`.
fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let found: Vec<usize> =
        bytes.windows(from.len()).enumerate().filter(|(_, w)| *w == from).map(|(i, _)| i).collect();
    assert_eq!(found.len(), 1, "{} must occur exactly once", hex::encode(from));
    let start = found[0];
    [&bytes[..start], to, &bytes[start + from.len()..]].concat()
}

/// The encoding of a text string.
fn text_bytes(value: &str) -> Vec<u8> {
    cbor::encode_value(&text(value))
}

// ---------------------------------------------------------------------------------------
// Records.
// ---------------------------------------------------------------------------------------

const MERCHANT: &str = "merchant";
const GROCER: &str = "grocer";
const MERCHANT_DE: &str = "merchant-de";
const AGENCY: &str = "agency";
const SSC: &str = "ssc";
const OPERATOR: &str = "operator";

const GROCER_ORG: &str = "559000-1235";
const FOREIGN_ORG: &str = "DE:HRB12345";
const OTHER_AGENCY_ORG: &str = "202100-5521";

fn sign<T: Record>(body: T, key_name: &str) -> Signed<T> {
    Signed::sign(body, &common::key(key_name)).unwrap_or_else(|error| panic!("fixture refused: {error}"))
}

/// The payment with another amount.
fn with_amount(payment: Payment, new_amount: i64) -> Payment {
    match payment {
        Payment::Cash { .. } => Payment::Cash { amount: new_amount },
        Payment::Card { masked_pan, brand, rrn, terminal, approval_code, .. } => {
            Payment::Card { amount: new_amount, masked_pan, brand, rrn, terminal, approval_code }
        }
        Payment::Swish { reference, .. } => Payment::Swish { amount: new_amount, reference },
        Payment::GiftCard { reference, .. } => Payment::GiftCard { amount: new_amount, reference },
        Payment::Other { description, .. } => Payment::Other { amount: new_amount, description },
    }
}

/// The receipt with VAT rows and total recomputed from the line amounts as they stand, and
/// a single payment set to the total: a vector then breaks exactly the rule it means to.
fn settle(mut receipt: Receipt) -> Receipt {
    receipt.vat = receipt.expected_vat();
    receipt.total = receipt.lines.iter().filter_map(|line| line.amount).sum::<i64>() + receipt.rounding;
    if receipt.payments.len() == 1 {
        let payment = receipt.payments.remove(0);
        receipt.payments.push(with_amount(payment, receipt.total));
    }
    receipt
}

/// Line amounts from quantity × price, then VAT rows, total and a single payment.
fn computed(receipt: Receipt) -> Receipt {
    settle(receipt.with_computed_totals())
}

fn card(amount: i64) -> Payment {
    Payment::Card {
        amount,
        masked_pan: "492500******1234".into(),
        brand: "Mastercard".into(),
        rrn: "612398765432".into(),
        terminal: "T-41002".into(),
        approval_code: "9Z8Y7X".into(),
    }
}

fn sale(
    description: &str,
    category: &str,
    unit: &str,
    quantity_milli: i64,
    unit_price: i64,
    rate: u32,
) -> Line {
    Line { unit: Some(unit.into()), ..common::line(description, category, quantity_milli, unit_price, rate) }
}

fn text_line(description: &str) -> Line {
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

fn discount(description: &str, amount: i64) -> Discount {
    Discount { description: description.into(), amount }
}

fn grocer() -> Merchant {
    Merchant {
        name: "Kvitt Livs AB".into(),
        org: GROCER_ORG.into(),
        vat_number: Some("SE559000123501".into()),
        address: Address {
            street: "Kungsgatan 12".into(),
            postal_code: "411 19".into(),
            city: "Göteborg".into(),
            country: "SE".into(),
        },
    }
}

/// A grocery purchase: a 3-for-2 discount, a member price, a text line, a weighed item at
/// 1.234 kg, cash rounding of −47 öre, part cash and part card.
fn grocery() -> Receipt {
    let receipt = Receipt {
        merchant: grocer(),
        register: "KASSA-3".into(),
        serial: 88_412,
        control_unit: "CU-7734-0091".into(),
        issued_at: "2026-05-12T17:42:10+02:00".into(),
        currency: "SEK".into(),
        lines: vec![
            Line {
                gtin: Some("7310865004703".into()),
                discounts: vec![discount("3 för 2", 4_500)],
                ..sale("Smörgås ost & skinka", "food", "st", 3_000, 4_500, 600)
            },
            text_line("Medlemserbjudande: 3 för 2"),
            Line {
                discounts: vec![discount("Medlemspris", 500)],
                ..sale("Vatten 50 cl", "food", "st", 2_000, 1_995, 600)
            },
            Line {
                article: Some("EL-1045".into()),
                ..sale("Laddkabel USB-C", "general", "st", 1_000, 14_950, 2500)
            },
            sale("Äpplen Royal Gala", "food", "kg", 1_234, 3_490, 600),
        ],
        vat: vec![],
        rounding: -47,
        total: 0,
        payments: vec![],
        buyer: Some(Buyer { agency: common::AGENCY_ORG.into(), employee: Some("emp-17".into()) }),
        original: None,
    }
    .with_computed_totals();
    assert_eq!(receipt.total, 31_700);
    Receipt { payments: vec![Payment::Cash { amount: 10_000 }, card(21_700)], ..receipt }
}

/// The charging cable of [`grocery`] returned the next day, refunded to the card.
fn grocery_return(original: Option<RecordId>) -> Receipt {
    computed(Receipt {
        merchant: grocer(),
        register: "KASSA-3".into(),
        serial: 88_530,
        control_unit: "CU-7734-0091".into(),
        issued_at: "2026-05-13T09:05:00+02:00".into(),
        currency: "SEK".into(),
        lines: vec![
            text_line("Retur av köp 2026-05-12, kvitto 88412"),
            Line {
                kind: LineKind::Return,
                article: Some("EL-1045".into()),
                ..sale("Laddkabel USB-C", "general", "st", 1_000, 14_950, 2500)
            },
        ],
        vat: vec![],
        rounding: 0,
        total: 0,
        payments: vec![card(0)],
        buyer: Some(Buyer { agency: common::AGENCY_ORG.into(), employee: Some("emp-17".into()) }),
        original,
    })
}

/// Two nights and a breakfast in Berlin, in EUR, at German rates (7 % and 19 %).
fn foreign() -> Receipt {
    let foreign_line = |description: &str, quantity_milli: i64, unit_price: i64, rate: u32| Line {
        category: None,
        ..sale(description, "-", "Stk", quantity_milli, unit_price, rate)
    };
    computed(Receipt {
        merchant: Merchant {
            name: "Hotel Beispiel GmbH".into(),
            org: FOREIGN_ORG.into(),
            vat_number: Some("DE123456789".into()),
            address: Address {
                street: "Friedrichstraße 100".into(),
                postal_code: "10117".into(),
                city: "Berlin".into(),
                country: "DE".into(),
            },
        },
        register: "REG-01".into(),
        serial: 5_531,
        control_unit: "TSE-0042".into(),
        issued_at: "2026-05-21T07:45:00+02:00".into(),
        currency: "EUR".into(),
        lines: vec![
            foreign_line("Übernachtung Einzelzimmer", 2_000, 6_450, 700),
            foreign_line("Frühstück", 1_000, 1_950, 1900),
        ],
        vat: vec![],
        rounding: 0,
        total: 0,
        payments: vec![card(0)],
        buyer: Some(Buyer { agency: common::AGENCY_ORG.into(), employee: Some("emp-17".into()) }),
        original: None,
    })
}

fn booking(account: u16, project: Option<&str>) -> Booking {
    Booking { account, cost_center: "CC-100".into(), project: project.map(str::to_owned) }
}

/// A claim with one item of each kind: a Swedish receipt, a receipt in EUR converted at
/// 11.4700 SEK/EUR (14 850 cents → 170 329.5 öre, rounded half away from zero to 170 330),
/// a mileage and a per diem.
fn travel_claim(stockholm: &Signed<Receipt>, berlin: &Signed<Receipt>) -> Claim {
    Claim {
        number: "2026-000057".into(),
        agency: common::AGENCY_ORG.into(),
        claimant: "emp-17".into(),
        purpose: "Konferens i Stockholm och studiebesök i Berlin, maj 2026".into(),
        created_at: "2026-05-22T09:00:00+02:00".into(),
        items: vec![
            ClaimItem::Receipt {
                receipt: stockholm.id(),
                business_purpose: "Logi under konferensen i Stockholm".into(),
                amount: stockholm.body().total,
                booking: booking(5831, None),
                foreign: None,
                participants: vec![],
            },
            ClaimItem::Receipt {
                receipt: berlin.id(),
                business_purpose: "Logi under studiebesöket i Berlin".into(),
                amount: 170_330,
                booking: booking(5832, Some("P-BERLIN-26")),
                foreign: Some(ForeignAmount {
                    amount: berlin.body().total,
                    currency: "EUR".into(),
                    rate: ExchangeRate { value: 114_700, scale: 4 },
                    rate_date: "2026-05-21".into(),
                    rate_source: "riksbanken".into(),
                }),
                participants: vec![],
            },
            ClaimItem::Mileage {
                date: "2026-05-19".into(),
                route: "Uppsala – Arlanda flygplats".into(),
                business_purpose: "Resa till flygplatsen".into(),
                km: 42,
                vehicle: Vehicle::OwnCar,
                rate_per_km: 250,
                amount: 10_500,
                booking: booking(7331, None),
            },
            ClaimItem::PerDiem {
                start: "2026-05-19".into(),
                end: "2026-05-21".into(),
                destination: "Berlin, Tyskland".into(),
                business_purpose: "Studiebesök".into(),
                days: 3,
                daily_amount: 80_000,
                meals: MealsProvided { breakfasts: 0, lunches: 1, dinners: 0 },
                meal_reduction: 28_000,
                amount: 212_000,
                booking: booking(7323, Some("P-BERLIN-26")),
            },
        ],
    }
}

fn event(
    claim: RecordId,
    previous: Option<RecordId>,
    at: &str,
    person: &str,
    role: Role,
    action: Action,
) -> ClaimEvent {
    ClaimEvent { claim, previous, at: at.into(), actor: Actor { person: person.into(), role }, action }
}

fn member(role: MemberRole, org: &str, name: &str, key_name: &str, addresses: &[&str]) -> Member {
    Member {
        addresses: addresses.iter().map(|address| address.to_string()).collect(),
        ..common::member(role, org, name, key_name, "-")
    }
}

/// Two merchants (one foreign), an agency and the SSC serving it.
fn network_directory() -> Directory {
    Directory {
        network: "kvitt-test".into(),
        version: 7,
        issued_at: "2026-05-01T00:00:00+02:00".into(),
        members: vec![
            member(
                MemberRole::Merchant,
                common::MERCHANT_ORG,
                "Hotell Kvitt AB",
                MERCHANT,
                &["127.0.0.1:7401"],
            ),
            member(MemberRole::Merchant, GROCER_ORG, "Kvitt Livs AB", GROCER, &["kvitt.livs.example:7400"]),
            member(
                MemberRole::Merchant,
                FOREIGN_ORG,
                "Hotel Beispiel GmbH",
                MERCHANT_DE,
                &["kvitt.hotel-beispiel.example:7400"],
            ),
            member(MemberRole::Agency, common::AGENCY_ORG, "Skatteverket", AGENCY, &["127.0.0.1:7402"]),
            Member {
                serves: vec![common::AGENCY_ORG.into()],
                ..member(
                    MemberRole::Ssc,
                    common::SSC_ORG,
                    "Statens servicecenter",
                    SSC,
                    &["127.0.0.1:7400", "[2001:db8::7]:7400"],
                )
            },
        ],
    }
}

/// A receipt with exactly `MAX_LINES_PER_RECEIPT` lines whose envelope is exactly
/// `target_bytes` long: a priced line with 8 discounts and rounding +50 öre, a 256-byte
/// description, and text lines padded to size.
fn receipt_of_size(target_bytes: usize) -> (Receipt, Vec<u8>) {
    use kvitt_protocol::limits::{MAX_DISCOUNTS_PER_LINE, MAX_LINES_PER_RECEIPT, MAX_ROUNDING_MINOR};
    let priced = Line {
        discounts: (1..=MAX_DISCOUNTS_PER_LINE).map(|n| discount(&format!("Kupong {n}"), 100)).collect(),
        ..sale("Kaffe och kanelbulle", "restaurant", "st", 1_000, 10_750, 1200)
    };
    let mut lines = vec![priced, text_line(&"ö".repeat(128))];
    let mut lengths = vec![40usize; MAX_LINES_PER_RECEIPT - lines.len()];
    let filler = |index: usize, length: usize| {
        let mut description = format!("Tack för besöket, rad {:04} ", index + 3);
        while description.len() < length {
            description.push('.');
        }
        description
    };
    lines.extend(lengths.iter().enumerate().map(|(index, &length)| text_line(&filler(index, length))));
    let mut receipt = computed(Receipt {
        lines,
        rounding: MAX_ROUNDING_MINOR,
        payments: vec![Payment::Cash { amount: 0 }],
        serial: 1_044,
        issued_at: "2026-05-04T09:30:00+02:00".into(),
        ..common::receipt()
    });
    assert_eq!(receipt.total, 10_000);
    // Lengthen or shorten the filler descriptions until the envelope is exactly the target
    // size. Lengths stay in 32..=255 bytes: longer than the numbered prefix, and short enough
    // that the text header is always 2 bytes, so each byte added adds one byte.
    for _ in 0..8 {
        let bytes = forge_typed(&receipt, MERCHANT);
        let mut delta = target_bytes as i64 - bytes.len() as i64;
        if delta == 0 {
            return (receipt, bytes);
        }
        for (index, length) in lengths.iter_mut().enumerate() {
            let step = delta.clamp(32 - *length as i64, 255 - *length as i64);
            *length = (*length as i64 + step) as usize;
            delta -= step;
            receipt.lines[index + 2].description = filler(index, *length);
        }
    }
    panic!("could not size a receipt to {target_bytes} bytes");
}

// ---------------------------------------------------------------------------------------
// The generator.
// ---------------------------------------------------------------------------------------

/// Every vector, deterministically.
fn generate() -> Vec<Vector> {
    use ErrorCode as E;
    let mut vectors = Vec::new();

    // Records every vector builds on.
    let hotel = sign(common::receipt(), MERCHANT);
    let grocery = sign(grocery(), GROCER);
    let refund = sign(grocery_return(Some(grocery.id())), GROCER);
    let berlin = sign(foreign(), MERCHANT_DE);
    let claim = sign(travel_claim(&hotel, &berlin), AGENCY);
    let claim_id = claim.id();
    let submitted = sign(
        event(claim_id, None, "2026-05-22T09:05:00+02:00", "emp-17", Role::Employee, Action::Submitted),
        AGENCY,
    );
    let reviewed = sign(
        event(
            claim_id,
            Some(submitted.id()),
            "2026-05-23T08:30:00+02:00",
            "chef-4",
            Role::Approver,
            Action::Reviewed { note: Some("Traktamentet stämmer mot resplanen.".into()) },
        ),
        AGENCY,
    );
    let approved = sign(
        event(
            claim_id,
            Some(submitted.id()),
            "2026-05-23T09:10:00+02:00",
            "chef-4",
            Role::Approver,
            Action::Approved,
        ),
        AGENCY,
    );
    let rejected = sign(
        event(
            claim_id,
            Some(reviewed.id()),
            "2026-05-23T09:12:00+02:00",
            "chef-4",
            Role::Approver,
            Action::Rejected {
                reason: "Kvittot från Stockholm hör till en annan resa; lägg det i en egen räkning.".into(),
            },
        ),
        AGENCY,
    );
    let withdrawn = sign(
        event(
            claim_id,
            Some(submitted.id()),
            "2026-05-22T11:00:00+02:00",
            "emp-17",
            Role::Employee,
            Action::Withdrawn,
        ),
        AGENCY,
    );
    let booked = sign(
        event(
            claim_id,
            Some(approved.id()),
            "2026-05-26T14:00:00+02:00",
            "ssc-handl-3",
            Role::Ssc,
            Action::Booked { series: "R".into(), number: 4_711 },
        ),
        SSC,
    );
    let paid = sign(
        event(
            claim_id,
            Some(booked.id()),
            "2026-05-29T06:00:00+02:00",
            "ssc-handl-3",
            Role::Ssc,
            Action::Paid { date: "2026-05-29".into(), reference: Some("UTB-2026-05-0417".into()) },
        ),
        SSC,
    );
    let reversed = sign(
        event(
            claim_id,
            Some(paid.id()),
            "2026-06-03T10:15:00+02:00",
            "ssc-handl-3",
            Role::Ssc,
            Action::Reversed {
                reason: "Utbetalt två gånger: samma hotellnatt finns i räkning 2026-000031.".into(),
                series: "R".into(),
                number: 4_790,
            },
        ),
        SSC,
    );
    let directory = sign(network_directory(), OPERATOR);
    let hotel_without_breakfast = sign(
        computed(Receipt { lines: vec![common::receipt().lines[0].clone()], ..common::receipt() }),
        MERCHANT,
    );
    let detected_at = "2026-05-06T10:06:00+02:00".to_owned();
    let evidence = |a: &Signed<Receipt>, b: &Signed<Receipt>| {
        let (a, b) = (AnyRecord::Receipt(a.clone()), AnyRecord::Receipt(b.clone()));
        Evidence::new(&a, &b, detected_at.clone()).expect("conflicting receipts make evidence")
    };
    let conflict = sign(evidence(&hotel, &hotel_without_breakfast), SSC);
    // A second version 7 without the foreign merchant: the operator signed two directories
    // with one number.
    let directory_without_foreign = sign(
        Directory {
            members: network_directory()
                .members
                .into_iter()
                .filter(|member| member.org != FOREIGN_ORG)
                .collect(),
            ..network_directory()
        },
        OPERATOR,
    );
    let directory_conflict = sign(
        Evidence::new(
            &AnyRecord::Directory(directory.clone()),
            &AnyRecord::Directory(directory_without_foreign),
            "2026-05-06T11:30:00+02:00".to_owned(),
        )
        .expect("two directories with one version make evidence"),
        SSC,
    );

    // The hand-built envelope matches the library's, so forged vectors differ from real
    // ones only where they mean to.
    assert_eq!(forge_typed(hotel.body(), MERCHANT), hotel.bytes());

    // ---- Valid records ----
    vectors.push(valid(
        "receipt-valid-two-rates",
        "receipt",
        "A hotel night (category hotel, 12 %) and breakfast (category food, 6 % on 2026-05-04, after the 2026-04-01 cut) paid by card: one VAT row per rate, ascending.",
        &hotel,
        MERCHANT,
    ));
    vectors.push(valid(
        "receipt-valid-discounts-text-rounding",
        "receipt",
        "Groceries with a 3-for-2 and a member discount, a text line, a weighed item (1234/1000 kg × 3490 = 4306.66, rounded to 4307), rounding −47 öre and a cash + card split.",
        &grocery,
        GROCER,
    ));
    vectors.push(valid(
        "receipt-valid-return",
        "receipt",
        "A return: the return line's amount is negative, so are the VAT row, total and card refund, and the receipt names the original by id.",
        &refund,
        GROCER,
    ));
    vectors.push(valid(
        "receipt-valid-foreign-eur",
        "receipt",
        "A German hotel (org DE:HRB12345, foreign VAT number) in EUR at 7 % and 19 %: foreign sellers' rates are only range-checked (0..=5000 bp), not taken from the Swedish table.",
        &berlin,
        MERCHANT_DE,
    ));
    let unrouted = sign(computed(Receipt { buyer: None, serial: 1_002, ..common::receipt() }), MERCHANT);
    vectors.push(valid(
        "receipt-valid-no-buyer",
        "receipt",
        "A receipt signed without a buyer (spec/routing.md: the till knew no agency and no enrolled card named one): the buyer field is absent, never null; the receipt stays with the merchant.",
        &unrouted,
        MERCHANT,
    ));
    // spec/codes.md §Assignment: the buyer of a receipt signed without one.
    let assigned = Assignment {
        receipt: unrouted.id(),
        buyer: Buyer {
            agency: common::receipt().buyer.expect("the sample names a buyer").agency,
            employee: Some("emp-17".into()),
        },
        assigned_at: "2026-03-02T09:15:00+01:00".into(),
    };
    vectors.push(valid(
        "assignment-valid",
        "assignment",
        "The merchant assigns receipt-valid-no-buyer, collected by its code, to the agency and employee who presented the code (spec/codes.md §Assignment). Its slot is the receipt: a second, different assignment of it is equivocation.",
        &sign(assigned.clone(), MERCHANT),
        MERCHANT,
    ));
    vectors.push(
        Vector::record(
            "assignment-invalid-agency-luhn",
            "assignment",
            "The assigned agency's organisation number 202100-5488 fails its Luhn check digit.",
            forge_typed(
                &Assignment {
                    buyer: Buyer { agency: "202100-5488".into(), employee: None },
                    ..assigned.clone()
                },
                MERCHANT,
            ),
        )
        .signed_by(MERCHANT)
        .fails(ErrorCode::OrgLuhn, "body.buyer.agency"),
    );
    vectors.push(
        Vector::record(
            "assignment-invalid-time",
            "assignment",
            "assigned_at is in UTC with Z, not with a numeric offset.",
            forge_typed(&Assignment { assigned_at: "2026-03-02T08:15:00Z".into(), ..assigned }, MERCHANT),
        )
        .signed_by(MERCHANT)
        .fails(ErrorCode::TimeFormat, "body.assigned_at"),
    );
    let first_local_day = sign(
        computed(Receipt {
            issued_at: "2026-04-01T01:30:00+02:00".into(),
            serial: 1_001,
            ..common::receipt()
        }),
        MERCHANT,
    );
    vectors.push(valid(
        "receipt-valid-food-6-on-local-date",
        "receipt",
        "Food at 6 % at 01:30 on 2026-04-01 local time (still 2026-03-31 in UTC): the rate table is read at the local date of issued_at.",
        &first_local_day,
        MERCHANT,
    ));
    let (at_limits, at_limits_bytes) = receipt_of_size(kvitt_protocol::limits::MAX_RECEIPT_BYTES);
    let at_limits = sign(at_limits, MERCHANT);
    assert_eq!(at_limits.bytes(), at_limits_bytes);
    vectors.push(valid(
        "receipt-valid-at-limits",
        "receipt",
        "Exactly at the limits: 65536 bytes, 1000 lines, 8 discounts on a line, rounding +50 öre, and a description of 128 × 'ö' = 256 bytes (limits count UTF-8 bytes).",
        &at_limits,
        MERCHANT,
    ));
    vectors.push(valid(
        "any-valid-receipt",
        "any",
        "The two-rates receipt through the decoder that learns the type from the envelope.",
        &hotel,
        MERCHANT,
    ));
    vectors.push(valid(
        "claim-valid-four-kinds",
        "claim",
        "A claim with a receipt item, a EUR receipt item (14850 cents × 11.4700 SEK/EUR = 170329.5 öre, rounded half away from zero to 170330), a mileage item and a per diem with a meal reduction.",
        &claim,
        AGENCY,
    ));
    for (name, record, key_name, description) in [
        (
            "claim-event-valid-submitted",
            &submitted,
            AGENCY,
            "The claimant submits the claim: the first event, so it has no previous.",
        ),
        ("claim-event-valid-reviewed", &reviewed, AGENCY, "The approver leaves a note without deciding."),
        ("claim-event-valid-approved", &approved, AGENCY, "The approver (not the claimant) approves."),
        ("claim-event-valid-rejected", &rejected, AGENCY, "The approver rejects with a reason."),
        ("claim-event-valid-withdrawn", &withdrawn, AGENCY, "The claimant withdraws the submitted claim."),
        ("claim-event-valid-booked", &booked, SSC, "The SSC books the claim as voucher R 4711."),
        ("claim-event-valid-paid", &paid, SSC, "The SSC pays the claim, with a payment reference."),
        (
            "claim-event-valid-reversed",
            &reversed,
            SSC,
            "The SSC reverses the paid claim with a reason, as reversing voucher R 4790.",
        ),
    ] {
        vectors.push(valid(name, "claim_event", description, record, key_name));
    }
    vectors.push(valid(
        "directory-valid",
        "directory",
        "Two Swedish merchants, a foreign merchant (CC:id), an agency and the SSC serving it (one IPv6 address in brackets).",
        &directory,
        OPERATOR,
    ));
    let mut addressed = network_directory();
    addressed.members[4].addresses =
        vec!["[::ffff:192.0.2.7]:7400".into(), "[2001:db8:0:1:1:1:1:1]:7400".into()];
    vectors.push(valid(
        "directory-valid-address-forms",
        "directory",
        "The SSC's addresses in RFC 5952's canonical text: an IPv4-mapped address in dotted form, and eight groups with no run of zeros to compress.",
        &sign(addressed, OPERATOR),
        OPERATOR,
    ));
    vectors.push(valid(
        "evidence-valid-receipt-serial",
        "evidence",
        "Two different receipts the merchant signed for register KASSA-1, serial 1042: equivocation, the record with the smaller id first.",
        &conflict,
        SSC,
    ));
    vectors.push(valid(
        "evidence-valid-directory-version",
        "evidence",
        "Two different directories the operator signed as version 7 of kvitt-test (the second without the foreign merchant): equivocation, the record with the smaller id first.",
        &directory_conflict,
        SSC,
    ));

    // ---- Claim histories ----
    vectors.push(
        Vector::history(
            "claim-history-valid-paid",
            "submitted → approved → booked → paid, each event naming the previous one.",
            claim.bytes(),
            &[submitted.bytes(), approved.bytes(), booked.bytes(), paid.bytes()],
        )
        .ends_in("paid"),
    );
    vectors.push(
        Vector::history(
            "claim-history-valid-rejected",
            "submitted → reviewed (a note keeps the status) → rejected.",
            claim.bytes(),
            &[submitted.bytes(), reviewed.bytes(), rejected.bytes()],
        )
        .ends_in("rejected"),
    );
    let self_approved = sign(
        event(
            claim_id,
            Some(submitted.id()),
            "2026-05-22T09:06:00+02:00",
            "emp-17",
            Role::Approver,
            Action::Approved,
        ),
        AGENCY,
    );
    vectors.push(
        Vector::history(
            "claim-history-invalid-self-approval",
            "The claimant approves their own claim in the approver role: no self-approval.",
            claim.bytes(),
            &[submitted.bytes(), self_approved.bytes()],
        )
        .fails_at_event(1, E::Transition, "action"),
    );
    let booked_off_chain = sign(
        event(
            claim_id,
            Some(submitted.id()),
            "2026-05-26T14:00:00+02:00",
            "ssc-handl-3",
            Role::Ssc,
            Action::Booked { series: "R".into(), number: 4_711 },
        ),
        SSC,
    );
    vectors.push(
        Vector::history(
            "claim-history-invalid-broken-chain",
            "The booking names the submission as previous, but the latest event is the approval.",
            claim.bytes(),
            &[submitted.bytes(), approved.bytes(), booked_off_chain.bytes()],
        )
        .fails_at_event(2, E::Chain, "previous"),
    );
    let other_claim = sign(common::claim(hotel.id(), hotel.body().total), AGENCY);
    let submitted_elsewhere = sign(
        event(
            other_claim.id(),
            None,
            "2026-05-22T09:05:00+02:00",
            "emp-17",
            Role::Employee,
            Action::Submitted,
        ),
        AGENCY,
    );
    vectors.push(
        Vector::history(
            "claim-history-invalid-other-claim",
            "The first event submits another claim.",
            claim.bytes(),
            &[submitted_elsewhere.bytes()],
        )
        .fails_at_event(0, E::Chain, "claim"),
    );
    let reviewed_after_paid = sign(
        event(
            claim_id,
            Some(paid.id()),
            "2026-06-01T10:00:00+02:00",
            "chef-4",
            Role::Approver,
            Action::Reviewed { note: None },
        ),
        AGENCY,
    );
    vectors.push(
        Vector::history(
            "claim-history-invalid-after-paid",
            "A note after the claim was paid: paid is final, nothing may follow.",
            claim.bytes(),
            &[submitted.bytes(), approved.bytes(), booked.bytes(), paid.bytes(), reviewed_after_paid.bytes()],
        )
        .fails_at_event(4, E::Transition, "action"),
    );

    vectors.push(
        Vector::history(
            "claim-history-valid-reversed",
            "submitted → approved → booked → paid → reversed: a wrong payment taken back by the SSC; reversed is final.",
            claim.bytes(),
            &[submitted.bytes(), approved.bytes(), booked.bytes(), paid.bytes(), reversed.bytes()],
        )
        .ends_in("reversed"),
    );
    // An SSC event (or, to break the rules, an approver's) of the claim after `previous`.
    let later = |previous: &Signed<ClaimEvent>, at: &str, person: &str, role: Role, action: Action| {
        let key_name = if role == Role::Ssc { SSC } else { AGENCY };
        sign(event(claim_id, Some(previous.id()), at, person, role, action), key_name)
    };
    let reversal =
        |reason: &str, number: u64| Action::Reversed { reason: reason.into(), series: "R".into(), number };
    let reversed_unpaid = later(
        &booked,
        "2026-05-27T08:00:00+02:00",
        "ssc-handl-3",
        Role::Ssc,
        reversal("Bokförd på fel konto; den anställda skickar en rättad räkning.", 4_712),
    );
    let paid_history = [submitted.bytes(), approved.bytes(), booked.bytes(), paid.bytes()];
    let reversed_by_approver =
        later(&paid, "2026-06-03T10:15:00+02:00", "chef-4", Role::Approver, reversal("Fel belopp.", 4_790));
    let reversed_when_submitted = later(
        &submitted,
        "2026-05-22T10:00:00+02:00",
        "ssc-handl-3",
        Role::Ssc,
        reversal("Fel belopp.", 4_790),
    );
    let reviewed_after_reversed = later(
        &reversed,
        "2026-06-04T10:00:00+02:00",
        "chef-4",
        Role::Approver,
        Action::Reviewed { note: None },
    );
    // Each ends reversed, or its event at the index given is refused (event.transition).
    for (name, description, events, refused_at) in [
        (
            "claim-history-valid-reversed-before-payment",
            "submitted → approved → booked → reversed: a booking found wrong before payment is reversed too.",
            vec![submitted.bytes(), approved.bytes(), booked.bytes(), reversed_unpaid.bytes()],
            None,
        ),
        (
            "claim-history-invalid-reversed-by-approver",
            "The approver reverses the paid claim: only the SSC reverses.",
            [&paid_history[..], &[reversed_by_approver.bytes()]].concat(),
            Some(4),
        ),
        (
            "claim-history-invalid-reversed-when-submitted",
            "The SSC reverses a claim that is only submitted: nothing was booked to reverse.",
            vec![submitted.bytes(), reversed_when_submitted.bytes()],
            Some(1),
        ),
        (
            "claim-history-invalid-after-reversed",
            "A note after the claim was reversed: reversed is final, nothing may follow.",
            [&paid_history[..], &[reversed.bytes(), reviewed_after_reversed.bytes()]].concat(),
            Some(5),
        ),
    ] {
        let history = Vector::history(name, description, claim.bytes(), &events);
        vectors.push(match refused_at {
            Some(event) => history.fails_at_event(event, E::Transition, "action"),
            None => history.ends_in("reversed"),
        });
    }

    // ---- Encoding faults (on the two-rates receipt; the signature stays valid) ----
    let good = hotel.bytes().to_vec();
    let body = body_value(hotel.body());
    let on_hotel = |name: &str, description: &str, bytes: Vec<u8>, code: ErrorCode, path: &str| {
        Vector::record(name, "receipt", description, bytes).signed_by(MERCHANT).fails(code, path)
    };
    assert_eq!(good[..SIG_OFFSET], ENVELOPE_HEAD, "the envelope starts {{\"v\": 1, \"sig\": h'…'");
    vectors.push(on_hotel(
        "encoding-non-shortest-integer",
        "The envelope's v is 1 written as 0x18 0x01 instead of 0x01.",
        [&good[..3], &[0x18, 0x01], &good[4..]].concat(),
        E::NonCanonical,
        "",
    ));
    vectors.push(on_hotel(
        "encoding-non-shortest-length",
        "The text \"SEK\" has its length 3 written as 0x78 0x03 instead of in the initial byte.",
        replace_once(&good, &text_bytes("SEK"), &[&[0x78, 0x03], "SEK".as_bytes()].concat()),
        E::NonCanonical,
        "",
    ));
    let sig = signature("receipt", &body, MERCHANT);
    let signer = common::public(MERCHANT).0;
    let unsorted = cbor::encode_value(&Value::Map(vec![
        (text("sig"), Value::Bytes(sig.to_vec())),
        (text("v"), Value::Integer(1.into())),
        (text("body"), body.clone()),
        (text("type"), text("receipt")),
        (text("signer"), Value::Bytes(signer.to_vec())),
    ]));
    vectors.push(on_hotel(
        "encoding-unsorted-keys",
        "The envelope puts \"sig\" before \"v\": keys sort by their encoded bytes, shorter first, so \"v\" (0x61 0x76) comes first.",
        unsorted,
        E::NonCanonical,
        "",
    ));
    let lines = cbor::encode_value(at(&mut body.clone(), "lines"));
    assert_eq!(lines[0], 0x82, "two lines");
    vectors.push(on_hotel(
        "encoding-indefinite-array",
        "The lines array is written with indefinite length (0x9f … 0xff).",
        replace_once(&good, &lines, &[&[0x9f], &lines[1..], &[0xff]].concat()),
        E::NonCanonical,
        "",
    ));
    let mut duplicated = body.clone();
    {
        let entries = duplicated.as_map_mut().expect("a body is a map");
        let position =
            entries.iter().position(|(key, _)| key.as_text() == Some("currency")).expect("currency");
        entries.insert(position + 1, (text("currency"), text("SEK")));
    }
    vectors.push(on_hotel(
        "encoding-duplicate-key",
        "The body holds the key \"currency\" twice (same value both times).",
        envelope(Value::Integer(1.into()), "receipt", duplicated, &signer, &sig),
        E::DuplicateKey,
        "body",
    ));
    vectors.push(on_hotel(
        "encoding-trailing-byte",
        "A valid receipt followed by one 0x00 byte.",
        [&good[..], &[0x00]].concat(),
        E::TrailingBytes,
        "",
    ));
    let mut with_float = body.clone();
    *at(&mut with_float, "serial") = Value::Float(1042.0);
    vectors.push(on_hotel(
        "encoding-float",
        "The serial number is the float 1042.0 instead of the integer 1042.",
        envelope(Value::Integer(1.into()), "receipt", with_float, &signer, &sig),
        E::ForbiddenType,
        "body.serial",
    ));
    let mut with_null = body.clone();
    *at(&mut with_null, "merchant.vat_number") = Value::Null;
    vectors.push(on_hotel(
        "encoding-null",
        "The merchant's VAT number is null: absent values are left out, never null.",
        envelope(Value::Integer(1.into()), "receipt", with_null, &signer, &sig),
        E::ForbiddenType,
        "body.merchant.vat_number",
    ));
    let mut with_tag = body.clone();
    let issued_at = at(&mut with_tag, "issued_at");
    *issued_at = Value::Tag(0, Box::new(issued_at.clone()));
    vectors.push(on_hotel(
        "encoding-tag",
        "issued_at is wrapped in tag 0 (standard date/time string): tags are not allowed.",
        envelope(Value::Integer(1.into()), "receipt", with_tag, &signer, &sig),
        E::ForbiddenType,
        "body.issued_at",
    ));
    let mut too_deep = body.clone();
    // envelope 1, body 2, lines 3, line 4: 13 nested arrays put the innermost at depth 17.
    *at(&mut too_deep, "lines[0].description") =
        (0..12).fold(Value::Array(vec![]), |inner, _| Value::Array(vec![inner]));
    vectors.push(on_hotel(
        "encoding-too-deep",
        "A line's description is 13 nested arrays, the innermost at depth 17 (the envelope map is depth 1; the limit is 16). Depth is checked before types and schema.",
        envelope(Value::Integer(1.into()), "receipt", too_deep, &signer, &sig),
        E::TooDeep,
        "",
    ));
    vectors.push(on_hotel(
        "encoding-truncated",
        "A valid receipt with its last byte cut off.",
        good[..good.len() - 1].to_vec(),
        E::Malformed,
        "",
    ));
    vectors.push(on_hotel(
        "encoding-invalid-utf8",
        "The city \"Stockholm\" has its first byte replaced by 0xff: a text string must be valid UTF-8.",
        replace_once(&good, &text_bytes("Stockholm"), &[&[0x69, 0xff], "tockholm".as_bytes()].concat()),
        E::Malformed,
        "",
    ));

    // ---- Envelope ----
    vectors.push(
        Vector::record(
            "envelope-claim-as-receipt",
            "receipt",
            "A valid claim given to the receipt decoder.",
            claim.bytes().to_vec(),
        )
        .signed_by(AGENCY)
        .fails(E::RecordType, "type"),
    );
    vectors.push(
        Vector::record(
            "envelope-unknown-type",
            "any",
            "An envelope of type \"invoice\", correctly signed in that domain.",
            forge("invoice", body.clone(), MERCHANT),
        )
        .signed_by(MERCHANT)
        .fails(E::RecordType, "type"),
    );
    vectors.push(on_hotel(
        "envelope-version-2",
        "The envelope says v = 2.",
        envelope(Value::Integer(2.into()), "receipt", body.clone(), &signer, &sig),
        E::UnsupportedVersion,
        "v",
    ));
    vectors.push(on_hotel(
        "envelope-missing-sig",
        "The envelope has v, type, body and signer but no sig.",
        cbor::encode_value(&Value::Map(vec![
            (text("v"), Value::Integer(1.into())),
            (text("body"), body.clone()),
            (text("type"), text("receipt")),
            (text("signer"), Value::Bytes(signer.to_vec())),
        ])),
        E::EnvelopeShape,
        "",
    ));
    vectors.push(on_hotel(
        "envelope-short-sig",
        "The sig is 63 bytes (its last byte dropped) instead of 64.",
        envelope(Value::Integer(1.into()), "receipt", body.clone(), &signer, &sig[..63]),
        E::EnvelopeShape,
        "sig",
    ));
    let (_, over_limit) = receipt_of_size(kvitt_protocol::limits::MAX_RECEIPT_BYTES + 1);
    vectors.push(on_hotel(
        "limit-record-size",
        "A receipt of 65537 bytes, one over the receipt limit, otherwise valid: size is checked before anything else.",
        over_limit,
        E::RecordSize,
        "",
    ));
    let mut long_note = "Anteckning. ".repeat(700);
    let mut oversized_event = Vec::new();
    for _ in 0..4 {
        let note = event(
            claim_id,
            Some(submitted.id()),
            "2026-05-23T08:30:00+02:00",
            "chef-4",
            Role::Approver,
            Action::Reviewed { note: Some(long_note.clone()) },
        );
        oversized_event = forge_typed(&note, AGENCY);
        let want = kvitt_protocol::limits::MAX_CLAIM_EVENT_BYTES + 1;
        match oversized_event.len().cmp(&want) {
            std::cmp::Ordering::Equal => break,
            std::cmp::Ordering::Less => long_note.push_str(&".".repeat(want - oversized_event.len())),
            std::cmp::Ordering::Greater => {
                long_note.truncate(long_note.len() - (oversized_event.len() - want))
            }
        }
    }
    assert_eq!(oversized_event.len(), kvitt_protocol::limits::MAX_CLAIM_EVENT_BYTES + 1);
    vectors.push(
        Vector::record(
            "limit-record-size-any",
            "any",
            "A claim event of 8193 bytes, one over the claim-event limit, through the any decoder, which applies the type's limit once it reads the type (the over-long note is never reached).",
            oversized_event,
        )
        .signed_by(AGENCY)
        .fails(E::RecordSize, ""),
    );

    // ---- Signatures ----
    let mut flipped = good.clone();
    flipped[SIG_OFFSET] ^= 0x01;
    vectors.push(on_hotel(
        "signature-bit-flipped",
        "The lowest bit of the signature's first byte is flipped.",
        flipped,
        E::BadSignature,
        "sig",
    ));
    let cross_domain = signature("claim", &body, MERCHANT);
    vectors.push(on_hotel(
        "signature-wrong-domain",
        "The receipt body signed with the prefix \"kvitt/1/claim\\0\" instead of \"kvitt/1/receipt\\0\".",
        envelope(Value::Integer(1.into()), "receipt", body.clone(), &signer, &cross_domain),
        E::BadSignature,
        "sig",
    ));
    vectors.push(on_hotel(
        "signature-non-canonical-s",
        "The signature's S has the group order L added (S + L, still 32 bytes): the same signature in a malleated form, refused by strict verification.",
        envelope(Value::Integer(1.into()), "receipt", body.clone(), &signer, &add_group_order(&sig)),
        E::BadSignature,
        "sig",
    ));
    let mut weak = [0u8; 32];
    weak[0] = 1; // the identity point: small order
    vectors.push(Vector {
        public_key: Some(weak),
        ..Vector::record(
            "signature-weak-key",
            "receipt",
            "The signer is the identity point (0x01 followed by 31 zero bytes), a small-order key.",
            envelope(Value::Integer(1.into()), "receipt", body.clone(), &weak, &sig),
        )
        .fails(E::SignerKey, "signer")
    });

    // ---- Schema ----
    let mut unknown_field = body.clone();
    unknown_field.as_map_mut().expect("a map").push((text("tip"), Value::Integer(500.into())));
    vectors.push(on_hotel(
        "schema-unknown-field",
        "The body has a field \"tip\" the receipt schema does not define.",
        forge("receipt", cbor::to_value(&unknown_field).expect("in profile"), MERCHANT),
        E::Schema,
        "body.tip",
    ));
    let mut missing_field = body.clone();
    missing_field.as_map_mut().expect("a map").retain(|(key, _)| key.as_text() != Some("control_unit"));
    vectors.push(on_hotel(
        "schema-missing-field",
        "The body lacks control_unit, which every receipt must show.",
        forge("receipt", missing_field, MERCHANT),
        E::Schema,
        "body.control_unit",
    ));
    let mut wrong_type = body.clone();
    *at(&mut wrong_type, "serial") = text("1042");
    vectors.push(on_hotel(
        "schema-wrong-type",
        "The serial number is the text \"1042\" instead of an unsigned integer.",
        forge("receipt", wrong_type, MERCHANT),
        E::Schema,
        "body.serial",
    ));

    // ---- Receipt rules (correctly signed, one rule broken each) ----
    let receipt_fault =
        |name: &str, description: &str, receipt: Receipt, key_name: &str, code: ErrorCode, path: &str| {
            Vector::record(name, "receipt", description, forge_typed(&receipt, key_name))
                .signed_by(key_name)
                .fails(code, path)
        };
    let hotel_with = |edit: &dyn Fn(&mut Receipt)| {
        let mut receipt = common::receipt();
        edit(&mut receipt);
        receipt
    };
    vectors.push(receipt_fault(
        "receipt-invalid-org-luhn",
        "The merchant's organisation number 556016-0681 fails its Luhn check digit (556016-0680 is right).",
        hotel_with(&|r| {
            r.merchant.org = "556016-0681".into();
            r.merchant.vat_number = Some("SE556016068101".into());
        }),
        MERCHANT,
        E::OrgLuhn,
        "body.merchant.org",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-org-format",
        "The merchant's organisation number is written without its hyphen.",
        hotel_with(&|r| r.merchant.org = "5560160680".into()),
        MERCHANT,
        E::OrgFormat,
        "body.merchant.org",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-vat-number",
        "The VAT number SE202100548901 belongs to another organisation, not 556016-0680.",
        hotel_with(&|r| r.merchant.vat_number = Some("SE202100548901".into())),
        MERCHANT,
        E::VatNumber,
        "body.merchant.vat_number",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-vat-amount",
        "The 12 % row says vat 16019 (taxable 143481, so the row still adds up), but 149500 × 12/112 = 16017.86 rounds to 16018.",
        hotel_with(&|r| {
            r.vat[1].vat += 1;
            r.vat[1].taxable -= 1;
        }),
        MERCHANT,
        E::VatBreakdown,
        "body.vat[1].vat",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-vat-row-missing",
        "The 12 % row is left out of the breakdown: the 6 % row matches, then there is one row too few.",
        hotel_with(&|r| {
            r.vat.pop();
        }),
        MERCHANT,
        E::VatBreakdown,
        "body.vat",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-vat-rows-descending",
        "The breakdown lists 12 % before 6 %: rows are ascending by rate.",
        hotel_with(&|r| r.vat.reverse()),
        MERCHANT,
        E::VatBreakdown,
        "body.vat[0].rate",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-food-12-after-cut",
        "Food at 12 % on 2026-05-04, when the table says 6 % (from 2026-04-01); the rows and total follow the 12 %.",
        computed(hotel_with(&|r| r.lines[1].vat_rate = Some(1200))),
        MERCHANT,
        E::CategoryRate,
        "body.lines[1].vat_rate",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-food-6-before-cut",
        "Food at 6 % at 23:59:59 on 2026-03-31 local time, the last day food is still 12 %.",
        computed(hotel_with(&|r| r.issued_at = "2026-03-31T23:59:59+02:00".into())),
        MERCHANT,
        E::CategoryRate,
        "body.lines[1].vat_rate",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-rate-10-swedish",
        "A Swedish merchant's line (no category) at 10 % = 1000 bp, which is not a Swedish rate.",
        computed(hotel_with(&|r| {
            r.lines[0].category = None;
            r.lines[0].vat_rate = Some(1000);
        })),
        MERCHANT,
        E::VatRate,
        "body.lines[0].vat_rate",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-line-amount",
        "The hotel line's amount is 149600, but 1000/1000 × 149500 = 149500; rows and total follow the wrong amount.",
        settle(hotel_with(&|r| r.lines[0].amount = Some(149_600))),
        MERCHANT,
        E::LineAmount,
        "body.lines[0].amount",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-text-line-with-amount",
        "A text line carries an amount (0, so the sums are unchanged): text lines have no amounts.",
        hotel_with(&|r| r.lines.push(Line { amount: Some(0), ..text_line("Välkommen åter!") })),
        MERCHANT,
        E::LineKind,
        "body.lines[2].kind",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-total",
        "The total (and the card payment) is 162500, but the lines add up to 162400 with no rounding.",
        hotel_with(&|r| {
            r.total += 100;
            r.payments = vec![with_amount(r.payments[0].clone(), r.total)];
        }),
        MERCHANT,
        E::Total,
        "body.total",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-payments",
        "The card payment is 162300, 100 öre short of the total 162400.",
        hotel_with(&|r| r.payments = vec![with_amount(r.payments[0].clone(), r.total - 100)]),
        MERCHANT,
        E::Payments,
        "body.payments",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-masked-pan",
        "The masked card number 4925001*****1234 shows 7 leading digits; at most 6 may show.",
        hotel_with(&|r| {
            if let Payment::Card { masked_pan, .. } = &mut r.payments[0] {
                *masked_pan = "4925001*****1234".into();
            }
        }),
        MERCHANT,
        E::MaskedPan,
        "body.payments[0].masked_pan",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-time-utc-z",
        "issued_at ends in Z; times carry a numeric offset (+00:00), so each has one spelling.",
        hotel_with(&|r| r.issued_at = "2026-05-04T06:15:00Z".into()),
        MERCHANT,
        E::TimeFormat,
        "body.issued_at",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-time-feb-30",
        "issued_at is on 2026-02-30, which does not exist.",
        hotel_with(&|r| r.issued_at = "2026-02-30T08:15:00+01:00".into()),
        MERCHANT,
        E::TimeFormat,
        "body.issued_at",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-return-without-original",
        "A receipt with a return line that does not name the original receipt.",
        grocery_return(None),
        GROCER,
        E::ReturnReference,
        "body.original",
    ));
    let mut many_lines = common::receipt();
    many_lines.lines.truncate(1);
    many_lines.lines.extend((1..=1000).map(|n| text_line(&format!("Rad {n}"))));
    vectors.push(receipt_fault(
        "receipt-invalid-1001-lines",
        "1001 lines (one priced, 1000 text), one over the limit of 1000.",
        computed(many_lines),
        MERCHANT,
        E::TooMany,
        "body.lines",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-text-too-long",
        "A line description of 86 × '€': 86 characters but 258 bytes of UTF-8, over the 256-byte limit.",
        hotel_with(&|r| r.lines[0].description = "€".repeat(86)),
        MERCHANT,
        E::Text,
        "body.lines[0].description",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-merchant-name-bidi",
        "The merchant's name holds U+202E RIGHT-TO-LEFT OVERRIDE, which would display \"Hotell Kvitt \" followed by the rest reversed: bidirectional formatting characters are refused in every text.",
        hotel_with(&|r| r.merchant.name = "Hotell Kvitt \u{202E}BA nilreB".into()),
        MERCHANT,
        E::TextBidi,
        "body.merchant.name",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-amount-over-max",
        "2 units at 5000000000001 öre make a line of 10000000000002 öre, over MAX_AMOUNT_MINOR = 10^13 though each factor is in range (the total is over too, but lines are checked first).",
        computed(hotel_with(&|r| {
            r.lines = vec![sale("Konferensanläggning", "general", "st", 2_000, 5_000_000_000_001, 2500)]
        })),
        MERCHANT,
        E::Range,
        "body.lines[0].amount",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-rounding-51",
        "Rounding of +51 öre, one over the limit of ±50; the total includes it.",
        computed(hotel_with(&|r| r.rounding = 51)),
        MERCHANT,
        E::Range,
        "body.rounding",
    ));
    vectors.push(receipt_fault(
        "receipt-invalid-gtin",
        "The GTIN 7310865004704 fails its GS1 check digit (7310865004703 is right).",
        hotel_with(&|r| r.lines[1].gtin = Some("7310865004704".into())),
        MERCHANT,
        E::Gtin,
        "body.lines[1].gtin",
    ));

    // ---- Claim rules ----
    let claim_fault =
        |name: &str, description: &str, edit: &dyn Fn(&mut Claim), code: ErrorCode, path: &str| {
            let mut body = travel_claim(&hotel, &berlin);
            edit(&mut body);
            Vector::record(name, "claim", description, forge_typed(&body, AGENCY))
                .signed_by(AGENCY)
                .fails(code, path)
        };
    vectors.push(claim_fault(
        "claim-invalid-duplicate-receipt",
        "The Stockholm receipt is listed twice (the second time for 10000 öre).",
        &|c| {
            let mut again = c.items[0].clone();
            if let ClaimItem::Receipt { amount, .. } = &mut again {
                *amount = 10_000;
            }
            c.items.insert(1, again);
        },
        E::DuplicateReceipt,
        "body.items[1].receipt",
    ));
    // Two faults on purpose: spec/protocol.md §Claim rules, rule 7, runs an item's own rules
    // (per kind, then those of every kind) before the duplicate-receipt check.
    vectors.push(claim_fault(
        "claim-invalid-order-item-rules-before-duplicate",
        "Two faults on purpose, to pin their order: the Stockholm receipt is listed twice, and the second listing books on account 9999. An item's own rules, booking included, run before the duplicate check, so the verdict is claim.account.",
        &|c| {
            let mut again = c.items[0].clone();
            if let ClaimItem::Receipt { amount, booking, .. } = &mut again {
                *amount = 10_000;
                booking.account = 9999;
            }
            c.items.insert(1, again);
        },
        E::Account,
        "body.items[1].booking.account",
    ));
    vectors.push(claim_fault(
        "claim-invalid-mileage-amount",
        "42 km at 250 öre/km is 10500 öre, but the item claims 10600.",
        &|c| {
            if let ClaimItem::Mileage { amount, .. } = &mut c.items[2] {
                *amount = 10_600;
            }
        },
        E::ItemAmount,
        "body.items[2].amount",
    ));
    vectors.push(claim_fault(
        "claim-invalid-foreign-conversion",
        "14850 EUR cents at 11.4700 is 170329.5 öre, which rounds half away from zero to 170330; the item claims the truncated 170329.",
        &|c| {
            if let ClaimItem::Receipt { amount, .. } = &mut c.items[1] {
                *amount = 170_329;
            }
        },
        E::ItemAmount,
        "body.items[1].amount",
    ));
    vectors.push(claim_fault(
        "claim-invalid-foreign-in-sek",
        "The EUR item's foreign amount is marked SEK: a foreign amount is never in SEK (checked before the conversion).",
        &|c| {
            if let ClaimItem::Receipt { foreign: Some(foreign), .. } = &mut c.items[1] {
                foreign.currency = "SEK".into();
            }
        },
        E::Currency,
        "body.items[1].foreign.currency",
    ));
    vectors.push(claim_fault(
        "claim-invalid-per-diem-end-before-start",
        "The per diem ends on 2026-05-18, the day before it starts.",
        &|c| {
            if let ClaimItem::PerDiem { end, .. } = &mut c.items[3] {
                *end = "2026-05-18".into();
            }
        },
        E::DateOrder,
        "body.items[3].end",
    ));
    vectors.push(claim_fault(
        "claim-invalid-account-9999",
        "The first item is booked on 9999, outside the BAS range 1000-8999.",
        &|c| {
            if let ClaimItem::Receipt { booking, .. } = &mut c.items[0] {
                booking.account = 9999;
            }
        },
        E::Account,
        "body.items[0].booking.account",
    ));
    vectors.push(claim_fault(
        "claim-invalid-mileage-date",
        "The mileage is dated 2026-02-29; 2026 is not a leap year.",
        &|c| {
            if let ClaimItem::Mileage { date, .. } = &mut c.items[2] {
                *date = "2026-02-29".into();
            }
        },
        E::DateFormat,
        "body.items[2].date",
    ));
    vectors.push(claim_fault(
        "claim-invalid-no-items",
        "A claim with no items.",
        &|c| c.items.clear(),
        E::Empty,
        "body.items",
    ));

    // ---- Claim amounts ----
    // Each claim its own number, so that two of them can be live together.
    let amounts_claim = |number: u32, edit: &dyn Fn(&mut Claim)| {
        let mut body = travel_claim(&hotel, &berlin);
        body.number = format!("2026-{number:06}");
        edit(&mut body);
        sign(body, AGENCY)
    };
    let grocery_item = |amount: i64| ClaimItem::Receipt {
        receipt: grocery.id(),
        business_purpose: "Fika till workshoppen".into(),
        amount,
        booking: booking(6990, None),
        foreign: None,
        participants: vec![],
    };
    let trip = [hotel.bytes(), berlin.bytes()];
    vectors.push(Vector::amounts(
        "claim-amounts-valid-whole-receipts",
        "The travel claim claims the Stockholm receipt whole (162400 öre) and the Berlin one whole in euro (14850 cents; its SEK amount is never compared). No other live claim names them.",
        amounts_claim(101, &|_| {}).bytes(),
        &trip,
        &[],
    ));
    vectors.push(Vector::amounts(
        "claim-amounts-invalid-over-claim",
        "The Stockholm receipt (1624.00 SEK) is claimed at 9999999.99 SEK: each item claims at most what its receipt supports.",
        amounts_claim(102, &|c| {
            if let ClaimItem::Receipt { amount, .. } = &mut c.items[0] {
                *amount = 999_999_999;
            }
        })
        .bytes(),
        &trip,
        &[],
    )
    .fails(E::OverClaim, "items[0].amount"));
    let over_in_euro = |c: &mut Claim| {
        if let ClaimItem::Receipt { amount, foreign: Some(foreign), .. } = &mut c.items[1] {
            foreign.amount += 1;
            *amount = foreign.rate.convert(foreign.amount, &foreign.currency).expect("fits");
        }
    };
    vectors.push(Vector::amounts(
        "claim-amounts-invalid-foreign-over-claim",
        "The Berlin receipt totals 148.50 EUR; the item claims 148.51 EUR (converted correctly to SEK): a foreign receipt is compared in its own currency.",
        amounts_claim(103, &over_in_euro).bytes(),
        &trip,
        &[],
    )
    .fails(E::OverClaim, "items[1].foreign.amount"));
    vectors.push(Vector::amounts(
        "claim-amounts-invalid-receipt-currency",
        "The Berlin receipt is in EUR, but its item's foreign amount is in USD (the claim's own rules accept any currency but SEK there).",
        amounts_claim(104, &|c| {
            if let ClaimItem::Receipt { amount, foreign: Some(foreign), .. } = &mut c.items[1] {
                foreign.currency = "USD".into();
                *amount = foreign.rate.convert(foreign.amount, &foreign.currency).expect("fits");
            }
        })
        .bytes(),
        &trip,
        &[],
    )
    .fails(E::ReceiptCurrency, "items[1].foreign.currency"));
    let groceries = [grocery.bytes(), refund.bytes()];
    vectors.push(Vector::amounts(
        "claim-amounts-valid-return-netted",
        "The groceries total 317.00 SEK; the cable (149.50 SEK) was returned on a receipt naming them as original, so they support 167.50 SEK, and the claim claims exactly that.",
        amounts_claim(105, &|c| c.items = vec![grocery_item(16_750)]).bytes(),
        &groceries,
        &[],
    ));
    vectors.push(Vector::amounts(
        "claim-amounts-invalid-return-netted",
        "The groceries support 317.00 SEK less the 149.50 SEK returned; the claim claims one öre more than the 167.50 SEK left.",
        amounts_claim(106, &|c| c.items = vec![grocery_item(16_751)]).bytes(),
        &groceries,
        &[],
    )
    .fails(E::OverClaim, "items[0].amount"));
    let other_live = amounts_claim(107, &|c| c.items = vec![grocery_item(10_000)]);
    vectors.push(Vector::amounts(
        "claim-amounts-invalid-other-live-claim",
        "Another live claim claims 100.00 SEK of the groceries (which support 167.50 SEK after the return); this one claims 70.00 SEK more, 2.50 SEK over.",
        amounts_claim(108, &|c| c.items = vec![grocery_item(7_000)]).bytes(),
        &groceries,
        &[other_live.bytes()],
    )
    .fails(E::OverClaim, "items[0].amount"));

    // ---- Directory rules ----
    let directory_fault =
        |name: &str, description: &str, edit: &dyn Fn(&mut Directory), code: ErrorCode, path: &str| {
            let mut body = network_directory();
            edit(&mut body);
            Vector::record(name, "directory", description, forge_typed(&body, OPERATOR))
                .signed_by(OPERATOR)
                .fails(code, path)
        };
    vectors.push(directory_fault(
        "directory-invalid-duplicate-key",
        "The grocer is listed with the hotel's node key.",
        &|d| d.members[1].key = d.members[0].key,
        E::DuplicateMember,
        "body.members[1].key",
    ));
    vectors.push(directory_fault(
        "directory-invalid-serves-unknown-agency",
        "The SSC serves 202100-5521, which is not an agency of this directory.",
        &|d| d.members[4].serves.push(OTHER_AGENCY_ORG.into()),
        E::Serves,
        "body.members[4].serves[1]",
    ));
    vectors.push(directory_fault(
        "directory-invalid-address",
        "A member's address has no port.",
        &|d| d.members[0].addresses[0] = "kvitt.hotell.example".into(),
        E::Address,
        "body.members[0].addresses[0]",
    ));
    // spec/protocol.md §Field formats, Network address: one spelling per address.
    for (name, address, why) in [
        ("upper-case", "[2001:DB8::7]:7400", "upper-case hex digits"),
        ("leading-zeros", "[2001:0db8::7]:7400", "a group with a leading zero"),
        ("uncompressed", "[2001:db8:0:0:0:0:0:7]:7400", "five zero groups not compressed to ::"),
        (
            "ipv4-mapped-hex",
            "[::ffff:c000:207]:7400",
            "an IPv4-mapped address in hex, where RFC 5952 writes ::ffff:192.0.2.7",
        ),
        (
            "ipv4-compatible",
            "[::192.0.2.7]:7400",
            "dotted IPv4 outside the IPv4-mapped prefix, where RFC 5952 writes ::c000:207",
        ),
        (
            "ipv4-leading-zero",
            "127.000.0.1:7400",
            "an IPv4 address with leading zeros, which some resolvers read as octal",
        ),
    ] {
        vectors.push(directory_fault(
            &format!("directory-invalid-address-{name}"),
            &format!("The SSC's address {address} has {why}: not the canonical text (RFC 5952 for IPv6)."),
            &|d| d.members[4].addresses[0] = address.into(),
            E::Address,
            "body.members[4].addresses[0]",
        ));
    }
    let mut too_many_items = body_value(&network_directory());
    *at(&mut too_many_items, "members[0].addresses") =
        Value::Array(vec![Value::Integer(0.into()); kvitt_protocol::limits::MAX_CBOR_ITEMS]);
    vectors.push(
        Vector::record(
            "encoding-too-many-items",
            "directory",
            "A member's addresses are 65,536 zeros, so the directory holds more than MAX_CBOR_ITEMS (65,536) data items in 66 KB, within its size limit. The item count is checked after depth and before types and schema.",
            forge("directory", too_many_items, OPERATOR),
        )
        .signed_by(OPERATOR)
        .fails(E::TooManyItems, ""),
    );

    // ---- Evidence rules ----
    let evidence_fault =
        |name: &str, description: &str, first: &[u8], second: &[u8], code: ErrorCode, path: &str| {
            let body =
                Evidence { first: first.to_vec(), second: second.to_vec(), detected_at: detected_at.clone() };
            Vector::record(name, "evidence", description, forge_typed(&body, SSC))
                .signed_by(SSC)
                .fails(code, path)
        };
    vectors.push(evidence_fault(
        "evidence-invalid-identical",
        "The same receipt twice: one record does not conflict with itself.",
        hotel.bytes(),
        hotel.bytes(),
        E::NotConflicting,
        "body",
    ));
    let next_serial = sign(Receipt { serial: 1_043, ..common::receipt() }, MERCHANT);
    let (low, high) =
        if hotel.id() < next_serial.id() { (&hotel, &next_serial) } else { (&next_serial, &hotel) };
    vectors.push(evidence_fault(
        "evidence-invalid-different-slots",
        "Two receipts from one register with serials 1042 and 1043: different slots, no conflict.",
        low.bytes(),
        high.bytes(),
        E::NotConflicting,
        "body",
    ));
    vectors.push(evidence_fault(
        "evidence-invalid-order",
        "The conflicting pair of evidence-valid-receipt-serial with the larger id first.",
        &conflict.body().second,
        &conflict.body().first,
        E::NotConflicting,
        "body",
    ));
    let mut tampered = conflict.body().first.clone();
    tampered[SIG_OFFSET] ^= 0x01;
    vectors.push(evidence_fault(
        "evidence-invalid-record-signature",
        "The first record's signature has one bit flipped; the error names the path inside the evidence.",
        &tampered,
        &conflict.body().second,
        E::BadSignature,
        "body.first.sig",
    ));

    vectors
}

/// `sig` with its S half (little-endian) increased by the group order L.
fn add_group_order(sig: &[u8; 64]) -> [u8; 64] {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = *sig;
    let mut carry = 0u16;
    for (byte, add) in out[32..].iter_mut().zip(L) {
        let sum = u16::from(*byte) + u16::from(add) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "S + L fits in 32 bytes");
    out
}

/// The generated files, by file name.
fn rendered() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for vector in generate() {
        let previous = files.insert(vector.file_name(), vector.render());
        assert!(previous.is_none(), "two vectors are named {}", vector.name);
    }
    files
}

fn committed() -> BTreeMap<String, String> {
    golden::committed(&vectors_dir())
}

fn bless_if_asked() {
    golden::bless_if_asked(&vectors_dir(), rendered);
}

#[test]
fn committed_vectors_match_the_generator() {
    bless_if_asked();
    golden::assert_matches(&vectors_dir(), &rendered(), "protocol/tests/vectors.rs", REGENERATE);
}

// ---------------------------------------------------------------------------------------
// The verdict check: reads the committed files only, as another implementation would.
// ---------------------------------------------------------------------------------------

/// What a valid record decoded to.
struct Decoded {
    id: RecordId,
    signer: PublicKey,
    signing_input: Vec<u8>,
}

fn decoded<T: Record>(signed: &Signed<T>) -> Decoded {
    Decoded {
        id: signed.id(),
        signer: signed.signer(),
        signing_input: signing_input(T::TYPE, &cbor::encode(signed.body()).expect("a decoded body encodes")),
    }
}

fn decode_as(decoder: &str, bytes: &[u8]) -> Result<Result<Decoded, Error>, String> {
    Ok(match decoder {
        "receipt" => Signed::<kvitt_protocol::receipt::Receipt>::decode(bytes).map(|r| decoded(&r)),
        "claim" => Signed::<Claim>::decode(bytes).map(|r| decoded(&r)),
        "claim_event" => Signed::<ClaimEvent>::decode(bytes).map(|r| decoded(&r)),
        "directory" => Signed::<Directory>::decode(bytes).map(|r| decoded(&r)),
        "evidence" => Signed::<Evidence>::decode(bytes).map(|r| decoded(&r)),
        "assignment" => Signed::<Assignment>::decode(bytes).map(|r| decoded(&r)),
        "any" => AnyRecord::decode(bytes).map(|record| match &record {
            AnyRecord::Receipt(r) => decoded(r),
            AnyRecord::Claim(r) => decoded(r),
            AnyRecord::ClaimEvent(r) => decoded(r),
            AnyRecord::Directory(r) => decoded(r),
            AnyRecord::Evidence(r) => decoded(r),
            AnyRecord::Assignment(r) => decoded(r),
        }),
        other => return Err(format!("unknown decode_as {other:?}")),
    })
}

fn field<'a>(json: &'a serde_json::Value, key: &str) -> Result<&'a str, String> {
    json.get(key).and_then(serde_json::Value::as_str).ok_or_else(|| format!("no text field {key:?}"))
}

fn hex_field(json: &serde_json::Value, key: &str) -> Result<Vec<u8>, String> {
    hex::decode(field(json, key)?).map_err(|error| format!("{key}: not hex: {error}"))
}

/// The error expected by an invalid vector, compared with the one produced.
fn check_error(expected: &serde_json::Value, error: &Error) -> Result<(), String> {
    let (code, path) = (field(expected, "error")?, field(expected, "path")?);
    if error.code().as_str() != code || error.path() != path {
        return Err(format!(
            "expected {code} at {path:?}, got {} at {:?} ({error})",
            error.code(),
            error.path()
        ));
    }
    Ok(())
}

/// Checks one committed vector; returns the error code it expects, if invalid.
fn check_vector(file_name: &str, json: &serde_json::Value) -> Result<Option<String>, String> {
    let name = field(json, "name")?;
    if format!("{name}.json") != file_name {
        return Err(format!("name {name:?} is not the file's stem"));
    }
    field(json, "description")?;
    let decoder = field(json, "decode_as")?;
    let expected = json.get("expected").ok_or("no expected")?;
    let valid = expected.get("valid").and_then(serde_json::Value::as_bool).ok_or("no expected.valid")?;
    let code = if valid {
        None
    } else {
        let code = field(expected, "error")?;
        ErrorCode::parse(code).ok_or_else(|| format!("{code:?} is not an error code"))?;
        Some(code.to_owned())
    };
    if decoder == "claim_history" {
        check_history(json, expected, valid)?;
        return Ok(code);
    }
    if decoder == "claim_amounts" {
        check_amounts(json, expected, valid)?;
        return Ok(code);
    }
    let bytes = hex_field(json, "cbor")?;
    match (decode_as(decoder, &bytes)?, valid) {
        (Ok(record), true) => {
            if record.id.to_string() != field(expected, "id")? {
                return Err(format!("id {} differs from expected.id", record.id));
            }
            if json.get("signing_input").is_some()
                && record.signing_input != hex_field(json, "signing_input")?
            {
                return Err("signing_input differs from the one recomputed from the decoded body".into());
            }
            if record.signer.to_string() != field(json, "public_key")? {
                return Err(format!("signed by {}, not public_key", record.signer));
            }
        }
        (Ok(record), false) => return Err(format!("accepted (id {}), expected {code:?}", record.id)),
        (Err(error), true) => return Err(format!("refused: {error}")),
        (Err(error), false) => check_error(expected, &error)?,
    }
    if let Some(seed) = json.get("secret_seed") {
        let seed: [u8; 32] = hex::decode(seed.as_str().ok_or("secret_seed is not text")?)
            .ok()
            .and_then(|seed| seed.try_into().ok())
            .ok_or("secret_seed is not 32 bytes of hex")?;
        let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        if hex::encode(public) != field(json, "public_key")? {
            return Err("secret_seed does not derive public_key".into());
        }
    }
    Ok(code)
}

/// A claim history: the claim and each event must decode; then events apply in order.
fn check_history(json: &serde_json::Value, expected: &serde_json::Value, valid: bool) -> Result<(), String> {
    let claim =
        Signed::<Claim>::decode(&hex_field(json, "claim")?).map_err(|error| format!("claim: {error}"))?;
    let events = json.get("events").and_then(serde_json::Value::as_array).ok_or("no events array")?;
    let mut state = ClaimState::new(&claim);
    for (index, event) in events.iter().enumerate() {
        let bytes = hex::decode(event.as_str().ok_or("an event is not text")?).map_err(|e| e.to_string())?;
        let event =
            Signed::<ClaimEvent>::decode(&bytes).map_err(|error| format!("events[{index}]: {error}"))?;
        match state.apply(claim.body(), &event) {
            Ok(next) => state = next,
            Err(error) if !valid => {
                let at =
                    expected.get("event").and_then(serde_json::Value::as_u64).ok_or("no expected.event")?;
                if at != index as u64 {
                    return Err(format!("refused at event {index}, expected at {at}: {error}"));
                }
                return check_error(expected, &error);
            }
            Err(error) => return Err(format!("events[{index}] refused: {error}")),
        }
    }
    if !valid {
        return Err(format!("every event applied (status {:?}), expected a refusal", state.status));
    }
    let status = serde_json::to_value(state.status).map_err(|error| error.to_string())?;
    if status.as_str() != Some(field(expected, "status")?) {
        return Err(format!("final status {status}, expected {}", field(expected, "status")?));
    }
    Ok(())
}

/// The signed records of type `T` in the hex array `key`.
fn records<T: Record>(json: &serde_json::Value, key: &str) -> Result<Vec<Signed<T>>, String> {
    let list = json.get(key).and_then(serde_json::Value::as_array).ok_or(format!("no {key} array"))?;
    list.iter()
        .enumerate()
        .map(|(index, hex_text)| {
            let bytes = hex::decode(hex_text.as_str().ok_or(format!("{key}[{index}] is not text"))?)
                .map_err(|error| format!("{key}[{index}]: {error}"))?;
            Signed::<T>::decode(&bytes).map_err(|error| format!("{key}[{index}]: {error}"))
        })
        .collect()
}

/// Claim amounts: the claim and every record decode; then, for each receipt the claim
/// names in the order of its first item, the rule of spec/protocol.md §Claim amounts with
/// that receipt, the given receipts naming it as `original` and the other claims.
fn check_amounts(json: &serde_json::Value, expected: &serde_json::Value, valid: bool) -> Result<(), String> {
    let claim =
        Signed::<Claim>::decode(&hex_field(json, "claim")?).map_err(|error| format!("claim: {error}"))?;
    let receipts = records::<kvitt_protocol::receipt::Receipt>(json, "receipts")?;
    let other_claims = records::<Claim>(json, "other_claims")?;
    let mut named: Vec<RecordId> = Vec::new();
    for id in claim.body().receipts() {
        if !named.contains(&id) {
            named.push(id);
        }
    }
    let verdict = named.iter().try_for_each(|id| {
        let receipt = receipts
            .iter()
            .find(|receipt| receipt.id() == *id)
            .ok_or(Err(format!("receipt {id} is not given")))?;
        let claims = ReceiptClaims { receipt, returns: &receipts, other_claims: &other_claims };
        claims.check(claim.body()).map_err(Ok)
    });
    match (verdict, valid) {
        (Ok(()), true) => Ok(()),
        (Ok(()), false) => Err("every amount holds, expected a refusal".into()),
        (Err(Err(malformed)), _) => Err(malformed),
        (Err(Ok(error)), true) => Err(format!("refused: {error}")),
        (Err(Ok(error)), false) => check_error(expected, &error),
    }
}

#[test]
fn every_vector_gets_its_verdict() {
    bless_if_asked();
    let files = committed();
    assert!(
        files.len() >= MIN_VECTORS,
        "{} vectors in spec/vectors/, expected at least {MIN_VECTORS}",
        files.len()
    );
    let mut failures = Vec::new();
    let mut codes = BTreeSet::new();
    for (file_name, text) in &files {
        let outcome = serde_json::from_str(text)
            .map_err(|error| format!("not JSON: {error}"))
            .and_then(|json| check_vector(file_name, &json));
        match outcome {
            Ok(code) => codes.extend(code),
            Err(why) => failures.push(format!("{file_name}: {why}")),
        }
    }
    assert!(failures.is_empty(), "{} vectors fail:\n  {}", failures.len(), failures.join("\n  "));
    // Every error code has a vector, so none can be dropped unnoticed (and a new code
    // needs one).
    let missing: Vec<&str> =
        ErrorCode::ALL.iter().map(|code| code.as_str()).filter(|code| !codes.contains(*code)).collect();
    assert!(missing.is_empty(), "no invalid vector expects {missing:?}; add one to the generator");
}
