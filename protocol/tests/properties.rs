//! Property tests of the protocol crate: records of every type round-trip through their
//! one canonical byte form, no changed, truncated or extended byte string passes, the VAT
//! arithmetic keeps its invariants, and no input makes a decoder panic.
//!
//! Each `proptest!` block sets its case count, and each test's doc comment states it. The
//! counts keep the file at about 25 s on 2 cores in a debug build, where ed25519 (some 11 ms
//! per verification unoptimised) dominates. The strategies are in tests/strategies/mod.rs.
//! A failure prints the shrunk input, and proptest saves its seed in
//! tests/properties.proptest-regressions so the next run tries it first; a bug it finds
//! stays as a named `regression_*` test.
mod strategies;

use ciborium::value::Value;
use ed25519_dalek::{Signature as DalekSignature, SigningKey};
use kvitt_protocol::claim::{Claim, ClaimItem};
use kvitt_protocol::directory::Directory;
use kvitt_protocol::envelope::signing_input;
use kvitt_protocol::event::ClaimEvent;
use kvitt_protocol::evidence::{Evidence, Slot};
use kvitt_protocol::fields::divide_rounded;
use kvitt_protocol::limits::MAX_AMOUNT_MINOR;
use kvitt_protocol::receipt::{LineKind, Receipt};
use kvitt_protocol::vat::{breakdown, vat_included};
use kvitt_protocol::wire::{
    RecordBytes, Refusal, RefusalCode, Request, RequestBody, Response, ResponseBody, Verdict,
};
use kvitt_protocol::{cbor, AnyRecord, Error, ErrorCode, PublicKey, Record, RecordType, Signed};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use sha2::{Digest, Sha256};
use strategies::*;

// ---------------------------------------------------------------------------------------
// Round trips.
// ---------------------------------------------------------------------------------------

/// A record type's place in [`AnyRecord`].
trait Typed: Record + PartialEq {
    fn from_any(record: &AnyRecord) -> Option<&Signed<Self>>;
}

macro_rules! typed {
    ($($type:ty => $variant:ident,)+) => {$(
        impl Typed for $type {
            fn from_any(record: &AnyRecord) -> Option<&Signed<Self>> {
                match record {
                    AnyRecord::$variant(signed) => Some(signed),
                    _ => None,
                }
            }
        }
    )+};
}

typed! {
    Receipt => Receipt,
    Claim => Claim,
    ClaimEvent => ClaimEvent,
    Directory => Directory,
    Evidence => Evidence,
}

fn fail(what: &str, error: Error) -> TestCaseError {
    TestCaseError::fail(format!("{what}: {error}"))
}

/// Signs `body` with `key` and checks everything a round trip promises:
///
/// - the decoded record has the same body, id, signer and bytes;
/// - the id is SHA-256 of the bytes, and the signature verifies strictly over
///   `"kvitt/1/" || type || 0x00 || body bytes` (checked with ed25519-dalek and ciborium
///   directly, not through the crate's envelope code);
/// - the encoding is stable: `cbor::encode` of the decoded body is the body's bytes inside
///   the envelope, and signing the decoded body again gives the same envelope bytes
///   (ed25519 signatures are deterministic);
/// - `AnyRecord::decode` agrees with the typed decoder;
/// - the JSON form of the body (ids, keys and byte strings as hex) reads back to it.
fn round_trip<T: Typed>(body: T, key: &SigningKey) -> Result<(), TestCaseError> {
    let signed = Signed::sign(body.clone(), key).map_err(|error| fail("sign", error))?;
    let bytes = signed.bytes();
    let decoded = Signed::<T>::decode(bytes).map_err(|error| fail("decode", error))?;
    prop_assert_eq!(decoded.body(), &body);
    prop_assert_eq!(decoded.id(), signed.id());
    prop_assert_eq!(decoded.id().0, <[u8; 32]>::from(Sha256::digest(bytes)));
    prop_assert_eq!(decoded.signer(), PublicKey::from(key.verifying_key()));
    prop_assert_eq!(decoded.bytes(), bytes);

    let inner = body_bytes(bytes);
    let Value::Bytes(sig) = envelope_field(bytes, "sig") else { panic!("sig is not bytes") };
    let sig = DalekSignature::from_slice(&sig).unwrap();
    prop_assert!(key.verifying_key().verify_strict(&signing_input(T::TYPE, &inner), &sig).is_ok());
    prop_assert_eq!(cbor::encode(decoded.body()).unwrap(), inner);
    let again = Signed::sign(decoded.body().clone(), key).map_err(|error| fail("sign again", error))?;
    prop_assert_eq!(again.bytes(), bytes);

    let any = AnyRecord::decode(bytes).map_err(|error| fail("AnyRecord::decode", error))?;
    prop_assert_eq!(any.kind(), T::TYPE);
    prop_assert_eq!(any.id(), signed.id());
    prop_assert_eq!(any.signer(), signed.signer());
    prop_assert_eq!(any.bytes(), bytes);
    prop_assert_eq!(T::from_any(&any).map(Signed::body), Some(&body));

    let json = serde_json::to_string(&body).unwrap();
    prop_assert_eq!(
        serde_json::from_str::<T>(&json).map_err(|error| TestCaseError::fail(error.to_string()))?,
        body
    );
    Ok(())
}

fn key() -> impl Strategy<Value = SigningKey> {
    any::<[u8; 32]>().prop_map(|seed| SigningKey::from_bytes(&seed))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Receipts round-trip (`round_trip`). 64 cases.
    #[test]
    fn receipts_round_trip(receipt in receipt(), key in key()) {
        round_trip(receipt, &key)?;
    }

    /// Claims round-trip. 64 cases.
    #[test]
    fn claims_round_trip(claim in claim(), key in key()) {
        round_trip(claim, &key)?;
    }

    /// Claim events with every action round-trip. 64 cases.
    #[test]
    fn claim_events_round_trip(event in claim_event(), key in key()) {
        round_trip(event, &key)?;
    }

    /// Directories of 1-30 members round-trip. 64 cases.
    #[test]
    fn directories_round_trip(directory in directory(), key in key()) {
        round_trip(directory, &key)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Evidence of two receipts for one register and serial round-trips; its records come
    /// back in ascending order of id, and occupy that receipt slot. 32 cases (each
    /// verifies some fifteen signatures).
    #[test]
    fn evidence_round_trips(evidence in evidence(), key in key()) {
        let (first, second) = evidence.records().map_err(|error| fail("records", error))?;
        prop_assert!(first.id() < second.id());
        let AnyRecord::Receipt(receipt) = &first else { panic!("evidence of receipts holds receipts") };
        let slot = Slot::Receipt {
            signer: receipt.signer(),
            register: receipt.body().register.clone(),
            serial: receipt.body().serial,
        };
        prop_assert_eq!(Slot::of(&first), Some(slot.clone()));
        prop_assert_eq!(Slot::of(&second), Some(slot));
        round_trip(evidence, &key)?;
    }
}

// ---------------------------------------------------------------------------------------
// Wire messages.
// ---------------------------------------------------------------------------------------

fn refusal() -> impl Strategy<Value = Refusal> {
    let codes: Vec<&'static str> = ErrorCode::ALL
        .iter()
        .map(|code| code.as_str())
        .chain(RefusalCode::ALL.iter().map(|code| code.as_str()))
        .collect();
    (select(codes), prop_oneof![Just(String::new()), code()], name_text(), any::<bool>())
        .prop_map(|(code, path, message, retry)| Refusal { code: code.into(), path, message, retry })
}

fn record_bytes() -> impl Strategy<Value = RecordBytes> {
    vec(any::<u8>(), 0..64).prop_map(RecordBytes)
}

fn request() -> impl Strategy<Value = Request> {
    let body = prop_oneof![
        vec(record_bytes(), 0..=8).prop_map(|records| RequestBody::Deliver { records }),
        any::<u64>().prop_map(|have| RequestBody::Directory { have }),
    ];
    (any::<u64>(), body).prop_map(|(directory_version, body)| Request { directory_version, body })
}

fn response() -> impl Strategy<Value = Response> {
    let verdict = prop_oneof![
        record_id().prop_map(|id| Verdict::Stored { id }),
        record_id().prop_map(|id| Verdict::Duplicate { id }),
        refusal().prop_map(|refusal| Verdict::Refused { refusal }),
    ];
    let body = prop_oneof![
        vec(verdict, 0..=8).prop_map(|results| ResponseBody::Delivered { results }),
        proptest::option::of(record_bytes()).prop_map(|record| ResponseBody::Directory { record }),
        refusal().prop_map(|refusal| ResponseBody::Refused { refusal }),
    ];
    (any::<u64>(), body).prop_map(|(directory_version, body)| Response { directory_version, body })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Requests between nodes decode to themselves, and their encoding is canonical (it
    /// passes `cbor::decode` and re-encodes to the same bytes). 256 cases.
    #[test]
    fn requests_round_trip(request in request()) {
        let bytes = request.encode().map_err(|error| fail("encode", error))?;
        let decoded = Request::decode(&bytes).map_err(|error| fail("decode", error))?;
        prop_assert_eq!(decoded.encode().unwrap(), bytes.clone());
        prop_assert_eq!(decoded, request);
        prop_assert_eq!(cbor::encode_value(&cbor::decode(&bytes).unwrap()), bytes);
    }

    /// Responses between nodes decode to themselves, canonically encoded. 256 cases.
    #[test]
    fn responses_round_trip(response in response()) {
        let bytes = response.encode().map_err(|error| fail("encode", error))?;
        let decoded = Response::decode(&bytes).map_err(|error| fail("decode", error))?;
        prop_assert_eq!(decoded.encode().unwrap(), bytes.clone());
        prop_assert_eq!(decoded, response);
        prop_assert_eq!(cbor::encode_value(&cbor::decode(&bytes).unwrap()), bytes);
    }
}

// ---------------------------------------------------------------------------------------
// Changed, truncated and extended bytes.
// ---------------------------------------------------------------------------------------

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

/// Decodes `bytes` with the typed decoder of `kind`, and with `AnyRecord::decode`.
fn decode_both(kind: RecordType, bytes: &[u8]) -> [Result<(), Error>; 2] {
    let typed = match kind {
        RecordType::Receipt => Signed::<Receipt>::decode(bytes).map(drop),
        RecordType::Claim => Signed::<Claim>::decode(bytes).map(drop),
        RecordType::ClaimEvent => Signed::<ClaimEvent>::decode(bytes).map(drop),
        RecordType::Directory => Signed::<Directory>::decode(bytes).map(drop),
        RecordType::Evidence => Signed::<Evidence>::decode(bytes).map(drop),
    };
    [typed, AnyRecord::decode(bytes).map(drop)]
}

/// Asserts that both decoders refuse `bytes` with the same error (code and path), and with
/// `code` if given. The typed decoder and `AnyRecord::decode` differ only in the size limit
/// they apply first (§Decoding step 1 and 9), which these small records never reach.
fn refused(kind: RecordType, bytes: &[u8], code: Option<ErrorCode>, what: &str) -> Result<(), TestCaseError> {
    let [typed, any] = decode_both(kind, bytes);
    let (Err(typed), Err(any)) = (typed, any) else {
        return Err(TestCaseError::fail(format!("{what}: a {kind} still decodes")));
    };
    prop_assert_eq!((typed.code(), typed.path()), (any.code(), any.path()), "{}: {} / {}", what, typed, any);
    if let Some(code) = code {
        prop_assert_eq!(typed.code(), code, "{}: {}", what, typed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any one byte changed, anywhere in a valid record's signed bytes, and the record is
    /// refused by its typed decoder and by `AnyRecord::decode`, both with the same error
    /// (whichever it is). 128 cases.
    ///
    /// Why this must hold: the bytes are the one canonical encoding of the envelope, so a
    /// changed byte either breaks well-formedness or canonical form (refused by the
    /// decoder), or spells a different envelope value. A different value differs in `v`
    /// (unknown version), `type` (unknown, unexpected, or, since the type is part of the
    /// signing input, a signature that no longer verifies), `body` (other signing input),
    /// `signer` (another or invalid key) or `sig`; in every case the signature must verify
    /// strictly for a message or key it was not made for, or a second signature must
    /// verify for the same message. ed25519 with `verify_strict` (canonical S, no
    /// small-order keys) is strongly unforgeable, so neither happens except with negligible
    /// probability. The id, SHA-256 of these bytes, could not stay the same either: a
    /// record and its id are bound together.
    #[test]
    fn any_changed_byte_is_refused(
        (kind, bytes) in signed_record(),
        at in any::<Index>(),
        delta in 1u8..=255,
    ) {
        let mut changed = bytes.clone();
        let at = at.index(bytes.len());
        changed[at] = changed[at].wrapping_add(delta);
        refused(kind, &changed, None, &format!("byte {at} changed by {delta}"))?;
    }

    /// Any single bit flipped in a valid record's signed bytes is refused, for the
    /// reasons of `any_changed_byte_is_refused`. 128 cases.
    #[test]
    fn any_flipped_bit_is_refused((kind, bytes) in signed_record(), at in any::<Index>(), bit in 0u8..8) {
        let mut changed = bytes.clone();
        let at = at.index(bytes.len());
        changed[at] ^= 1 << bit;
        refused(kind, &changed, None, &format!("bit {bit} of byte {at} flipped"))?;
    }

    /// Every strict prefix of a valid record is `encoding.malformed`: a CBOR data item
    /// delimits itself, so a prefix of one item ends inside it. 128 cases.
    #[test]
    fn any_truncation_is_malformed((kind, bytes) in signed_record(), at in any::<Index>()) {
        let length = at.index(bytes.len());
        refused(kind, &bytes[..length], Some(ErrorCode::Malformed), &format!("cut to {length} bytes"))?;
    }

    /// Any byte appended to a valid record is `encoding.trailing_bytes`. 128 cases.
    #[test]
    fn any_appended_byte_is_trailing((kind, bytes) in signed_record(), extra in any::<u8>()) {
        let mut longer = bytes.clone();
        longer.push(extra);
        refused(kind, &longer, Some(ErrorCode::TrailingBytes), &format!("{extra:#04x} appended"))?;
    }
}

// ---------------------------------------------------------------------------------------
// VAT arithmetic.
// ---------------------------------------------------------------------------------------

/// The table's rates, or any rate a foreign line may carry.
fn rate() -> impl Strategy<Value = u32> {
    prop_oneof![select(SWEDISH_RATES.to_vec()), 0u32..=5000]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// VAT extracted from any gross amount within ±`MAX_AMOUNT_MINOR`, at any rate: it is
    /// the nearest integer to gross × rate / (10000 + rate) (the error is at most half a
    /// minor unit), odd in the gross amount, and leaves taxable + VAT = gross in the
    /// breakdown row. 1024 cases.
    #[test]
    fn vat_is_the_rounded_share_of_gross(gross in -MAX_AMOUNT_MINOR..=MAX_AMOUNT_MINOR, rate in rate()) {
        let vat = vat_included(gross, rate);
        prop_assert_eq!(vat, reference_vat(gross, rate));
        prop_assert_eq!(vat_included(-gross, rate), -vat);
        let denominator = 10_000 + i128::from(rate);
        let error = i128::from(vat) * denominator - i128::from(gross) * i128::from(rate);
        prop_assert!(2 * error.abs() <= denominator, "vat {} is not the nearest integer", vat);
        let rows = breakdown([(rate, gross)]);
        prop_assert_eq!(rows.len(), 1);
        prop_assert_eq!(rows[0].taxable + rows[0].vat, gross);
        prop_assert_eq!(rows[0].vat, vat);
    }

    /// `divide_rounded` rounds half away from zero: it equals the reference computed from
    /// the truncating quotient and remainder in i128, for numerators up to ±10^30 (the
    /// protocol's products stay below 10^28) and denominators up to 10^18. 1024 cases.
    #[test]
    fn divide_rounded_rounds_half_away_from_zero(
        numerator in -10i128.pow(30)..=10i128.pow(30),
        denominator in 1i128..=10i128.pow(18),
    ) {
        prop_assert_eq!(divide_rounded(numerator, denominator), reference_round(numerator, denominator));
        // An exact half, k + 1/2 for k ≥ 0, rounds to k + 1, and its negation to −(k + 1).
        if denominator % 2 == 0 {
            let whole = numerator.abs() / denominator;
            let tie = whole * denominator + denominator / 2;
            prop_assert_eq!(divide_rounded(tie, denominator), whole + 1);
            prop_assert_eq!(divide_rounded(-tie, denominator), -(whole + 1));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A breakdown of up to 40 (rate, amount) pairs has one row per rate present,
    /// strictly ascending; each row's gross is the sum of the amounts at its rate (so the
    /// rows' gross sums to the sum of all amounts), and its VAT is extracted from that sum.
    /// 512 cases.
    #[test]
    fn breakdown_rows_are_sorted_unique_and_add_up(
        amounts in vec((rate(), -MAX_AMOUNT_MINOR / 100..=MAX_AMOUNT_MINOR / 100), 0..=40),
    ) {
        let rows = breakdown(amounts.iter().copied());
        prop_assert!(rows.windows(2).all(|pair| pair[0].rate < pair[1].rate), "{:?}", rows);
        let mut rates: Vec<u32> = amounts.iter().map(|(rate, _)| *rate).collect();
        rates.sort_unstable();
        rates.dedup();
        prop_assert_eq!(rows.iter().map(|row| row.rate).collect::<Vec<_>>(), rates);
        for row in &rows {
            let gross: i64 = amounts.iter().filter(|(rate, _)| *rate == row.rate).map(|(_, amount)| amount).sum();
            prop_assert_eq!(row.gross, gross);
            prop_assert_eq!(row.vat, reference_vat(gross, row.rate));
            prop_assert_eq!(row.taxable, gross - row.vat);
        }
        prop_assert_eq!(
            rows.iter().map(|row| row.gross).sum::<i64>(),
            amounts.iter().map(|(_, amount)| amount).sum::<i64>()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A receipt completed by `Receipt::with_computed_totals` from valid lines validates;
    /// each priced line's amount is round(quantity × unit price / 1000) − discounts,
    /// negated for a return; the breakdown is the reference breakdown; the total is the sum
    /// of the line amounts plus rounding. 128 cases.
    #[test]
    fn computed_receipts_validate_and_add_up(receipt in receipt()) {
        receipt.validate().map_err(|error| fail("validate", error))?;
        let mut sum = 0i64;
        let mut by_rate = std::collections::BTreeMap::<u32, i64>::new();
        for line in &receipt.lines {
            if line.kind == LineKind::Text {
                prop_assert_eq!(line.amount, None);
                continue;
            }
            let discounts: i64 = line.discounts.iter().map(|discount| discount.amount).sum();
            let net = reference_gross(line.quantity.unwrap(), line.unit_price.unwrap()) - discounts;
            let amount = if line.kind == LineKind::Return { -net } else { net };
            prop_assert_eq!(line.amount, Some(amount));
            sum += amount;
            *by_rate.entry(line.vat_rate.unwrap()).or_default() += amount;
        }
        prop_assert_eq!(receipt.total, sum + receipt.rounding);
        prop_assert_eq!(receipt.vat.len(), by_rate.len());
        for (row, (rate, gross)) in receipt.vat.iter().zip(by_rate) {
            prop_assert_eq!((row.rate, row.gross), (rate, gross));
            prop_assert_eq!(row.vat, reference_vat(gross, rate));
            prop_assert_eq!(row.taxable + row.vat, gross);
        }
        prop_assert_eq!(receipt.payments.iter().map(|payment| payment.amount()).sum::<i64>(), receipt.total);
    }

    /// Claim items carry their arithmetic: a foreign amount's SEK is
    /// round(amount × value × 100 / 10^(exponent + scale)); mileage is km × rate; per diem is
    /// days × daily amount − meal reduction, with days within the trip. 128 cases.
    #[test]
    fn claim_items_add_up(claim in claim()) {
        claim.validate().map_err(|error| fail("validate", error))?;
        for item in &claim.items {
            match item {
                ClaimItem::Receipt { amount, foreign: Some(foreign), .. } => {
                    let exponent = reference_exponent(&foreign.currency) + foreign.rate.scale;
                    let sek = reference_round(
                        i128::from(foreign.amount) * i128::from(foreign.rate.value) * 100,
                        10i128.pow(exponent),
                    );
                    prop_assert_eq!(i128::from(*amount), sek);
                }
                ClaimItem::Receipt { .. } => {}
                ClaimItem::Mileage { km, rate_per_km, amount, .. } => {
                    prop_assert_eq!(*amount, i64::from(*km) * rate_per_km);
                }
                ClaimItem::PerDiem { days, daily_amount, meal_reduction, amount, .. } => {
                    prop_assert_eq!(*amount, i64::from(*days) * daily_amount - meal_reduction);
                }
            }
        }
        prop_assert_eq!(claim.total(), claim.items.iter().map(ClaimItem::amount).sum::<i64>());
    }
}

// ---------------------------------------------------------------------------------------
// No input panics.
// ---------------------------------------------------------------------------------------

/// Feeds `bytes` to every decoder; each must return, whatever it returns.
fn decode_everything(bytes: &[u8]) {
    let _ = cbor::decode(bytes);
    let _ = AnyRecord::decode(bytes);
    let _ = Signed::<Receipt>::decode(bytes);
    let _ = Signed::<Claim>::decode(bytes);
    let _ = Signed::<ClaimEvent>::decode(bytes);
    let _ = Signed::<Directory>::decode(bytes);
    let _ = Signed::<Evidence>::decode(bytes);
    let _ = Request::decode(bytes);
    let _ = Response::decode(bytes);
}

/// A CBOR value tree in the kvitt profile: integers of every width, texts, byte strings,
/// booleans, arrays and text-keyed maps, nested up to four levels.
fn cbor_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|number| Value::Integer(number.into())),
        any::<u64>().prop_map(|number| Value::Integer(number.into())),
        (0u64..=u64::MAX).prop_map(|number| Value::Integer((-1 - i128::from(number)).try_into().unwrap())),
        "[a-z_]{0,12}|.{0,8}".prop_map(Value::Text),
        vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        any::<bool>().prop_map(Value::Bool),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..8).prop_map(Value::Array),
            vec(("[a-z_]{1,12}", inner), 0..8).prop_map(|entries| {
                let mut seen = std::collections::BTreeSet::new();
                Value::Map(
                    entries
                        .into_iter()
                        .filter(|(key, _)| seen.insert(key.clone()))
                        .map(|(key, item)| (Value::Text(key), item))
                        .collect(),
                )
            }),
        ]
    })
}

// ---------------------------------------------------------------------------------------
// The decoding order, against a model of spec/protocol.md §Decoding steps 4-7.
// ---------------------------------------------------------------------------------------

/// How a string is written: definite, with its length head `extra` sizes wider than the
/// shortest, or indefinite, in chunks of this many characters (bytes for byte strings).
#[derive(Clone, Copy, Debug)]
enum Form {
    Definite(u8),
    Indefinite(usize),
}

/// A well-formed CBOR data item as written, non-canonical forms and forbidden types
/// included. `u8` fields are how many sizes wider than the shortest a head is written;
/// `None` for an array or map is an indefinite length.
#[derive(Clone, Debug)]
enum Raw {
    Unsigned(u64, u8),
    /// The integer −1 − n.
    Negative(u64, u8),
    Bytes(Vec<u8>, Form),
    Text(String, Form),
    Array(Vec<Raw>, Option<u8>),
    Map(Vec<(Raw, Raw)>, Option<u8>),
    Tag(u64, Box<Raw>),
    Bool(bool),
    /// A forbidden scalar, as its complete encoding: null, undefined, a simple value, a float.
    Forbidden(Vec<u8>),
}

/// Writes a head: major type, argument, and `extra` sizes wider than the shortest form.
fn head(out: &mut Vec<u8>, major: u8, argument: u64, extra: u8) -> bool {
    let shortest = match argument {
        0..=23 => 0,
        24..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xffff_ffff => 3,
        _ => 4,
    };
    let size = (shortest + extra).min(4);
    let major = major << 5;
    match size {
        0 => out.push(major | argument as u8),
        1 => out.extend([major | 24, argument as u8]),
        2 => out.extend([[major | 25].as_slice(), &(argument as u16).to_be_bytes()].concat()),
        3 => out.extend([[major | 26].as_slice(), &(argument as u32).to_be_bytes()].concat()),
        _ => out.extend([[major | 27].as_slice(), &argument.to_be_bytes()].concat()),
    }
    size == shortest
}

impl Raw {
    /// The bytes as written, or (`canonical`) the item's deterministic encoding.
    fn encode(&self, canonical: bool, out: &mut Vec<u8>) {
        let extra = |extra: u8| if canonical { 0 } else { extra };
        match self {
            Raw::Unsigned(value, wide) => _ = head(out, 0, *value, extra(*wide)),
            Raw::Negative(value, wide) => _ = head(out, 1, *value, extra(*wide)),
            Raw::Bytes(bytes, form) => match (form, canonical) {
                (Form::Indefinite(chunk), false) => {
                    out.push(0x5f);
                    for piece in bytes.chunks(*chunk) {
                        head(out, 2, piece.len() as u64, 0);
                        out.extend(piece);
                    }
                    out.push(0xff);
                }
                (Form::Definite(wide), _) => {
                    head(out, 2, bytes.len() as u64, extra(*wide));
                    out.extend(bytes);
                }
                (_, true) => Raw::Bytes(bytes.clone(), Form::Definite(0)).encode(true, out),
            },
            Raw::Text(text, form) => match (form, canonical) {
                (Form::Indefinite(chunk), false) => {
                    out.push(0x7f);
                    let chars: Vec<char> = text.chars().collect();
                    for piece in chars.chunks(*chunk) {
                        let piece: String = piece.iter().collect();
                        head(out, 3, piece.len() as u64, 0);
                        out.extend(piece.as_bytes());
                    }
                    out.push(0xff);
                }
                (Form::Definite(wide), _) => {
                    head(out, 3, text.len() as u64, extra(*wide));
                    out.extend(text.as_bytes());
                }
                (_, true) => Raw::Text(text.clone(), Form::Definite(0)).encode(true, out),
            },
            Raw::Array(items, form) => {
                match (form, canonical) {
                    (None, false) => out.push(0x9f),
                    _ => _ = head(out, 4, items.len() as u64, extra(form.unwrap_or(0))),
                }
                items.iter().for_each(|item| item.encode(canonical, out));
                if form.is_none() && !canonical {
                    out.push(0xff);
                }
            }
            Raw::Map(entries, form) => {
                match (form, canonical) {
                    (None, false) => out.push(0xbf),
                    _ => _ = head(out, 5, entries.len() as u64, extra(form.unwrap_or(0))),
                }
                let mut written: Vec<(Vec<u8>, Vec<u8>)> = entries
                    .iter()
                    .map(|(key, item)| {
                        let (mut key_bytes, mut item_bytes) = (Vec::new(), Vec::new());
                        key.encode(canonical, &mut key_bytes);
                        item.encode(canonical, &mut item_bytes);
                        (key_bytes, item_bytes)
                    })
                    .collect();
                if canonical {
                    written.sort();
                }
                written.into_iter().for_each(|(key, item)| out.extend(key.into_iter().chain(item)));
                if form.is_none() && !canonical {
                    out.push(0xff);
                }
            }
            Raw::Tag(tag, content) => {
                head(out, 6, *tag, 0);
                content.encode(canonical, out);
            }
            Raw::Bool(flag) => out.push(if *flag { 0xf5 } else { 0xf4 }),
            Raw::Forbidden(bytes) => out.extend(bytes),
        }
    }

    fn bytes(&self, canonical: bool) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(canonical, &mut out);
        out
    }

    /// Every item of the tree: this one, and those in arrays, map keys and values, tags.
    fn items(&self) -> Vec<&Raw> {
        let mut all = vec![self];
        match self {
            Raw::Array(items, _) => items.iter().for_each(|item| all.extend(item.items())),
            Raw::Map(entries, _) => entries.iter().for_each(|(key, item)| {
                all.extend(key.items());
                all.extend(item.items());
            }),
            Raw::Tag(_, content) => all.extend(content.items()),
            _ => {}
        }
        all
    }

    /// §Decoding, depth: this item is 1; elements, keys, values and tag content one deeper.
    fn depth(&self) -> usize {
        1 + match self {
            Raw::Array(items, _) => items.iter().map(Raw::depth).max().unwrap_or(0),
            Raw::Map(entries, _) => {
                entries.iter().map(|(key, item)| key.depth().max(item.depth())).max().unwrap_or(0)
            }
            Raw::Tag(_, content) => content.depth(),
            _ => 0,
        }
    }

    /// The verdict of §Decoding steps 4-7 on this well-formed item: depth, forbidden types,
    /// duplicate keys (two keys of one deterministic encoding, in any map of the item, those
    /// inside keys included), and finally whether these bytes are the deterministic encoding.
    fn verdict(&self) -> Result<(), ErrorCode> {
        if self.depth() > kvitt_protocol::limits::MAX_CBOR_DEPTH {
            return Err(ErrorCode::TooDeep);
        }
        let items = self.items();
        if items.iter().any(|item| matches!(item, Raw::Tag(..) | Raw::Forbidden(_))) {
            return Err(ErrorCode::ForbiddenType);
        }
        let duplicate = items.iter().any(|item| match item {
            Raw::Map(entries, _) => {
                let mut keys: Vec<Vec<u8>> = entries.iter().map(|(key, _)| key.bytes(true)).collect();
                keys.sort();
                keys.windows(2).any(|pair| pair[0] == pair[1])
            }
            _ => false,
        });
        if duplicate {
            return Err(ErrorCode::DuplicateKey);
        }
        if self.bytes(false) != self.bytes(true) {
            return Err(ErrorCode::NonCanonical);
        }
        Ok(())
    }
}

/// How much wider than the shortest a head is written: mostly not at all.
fn wide() -> impl Strategy<Value = u8> {
    prop_oneof![12 => Just(0u8), 1 => 1u8..=4]
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![12 => wide().prop_map(Form::Definite), 1 => (1usize..4).prop_map(Form::Indefinite)]
}

fn container_form() -> impl Strategy<Value = Option<u8>> {
    prop_oneof![12 => wide().prop_map(Some), 1 => Just(None)]
}

/// Scalars, with small values common so that map keys collide.
fn raw_scalar() -> impl Strategy<Value = Raw> {
    prop_oneof![
        6 => (prop_oneof![0u64..4, any::<u64>()], wide()).prop_map(|(value, wide)| Raw::Unsigned(value, wide)),
        2 => (prop_oneof![0u64..4, any::<u64>()], wide()).prop_map(|(value, wide)| Raw::Negative(value, wide)),
        2 => (vec(any::<u8>(), 0..6), form()).prop_map(|(bytes, form)| Raw::Bytes(bytes, form)),
        6 => (prop_oneof![select(vec!["a", "b", "aa", "ö", ""]).prop_map(str::to_owned), ".{0,6}"], form())
            .prop_map(|(text, form)| Raw::Text(text, form)),
        2 => any::<bool>().prop_map(Raw::Bool),
        1 => prop_oneof![
            Just(vec![0xf6]),
            Just(vec![0xf7]),
            (0u8..20).prop_map(|value| vec![0xe0 | value]),
            (32u8..=255).prop_map(|value| vec![0xf8, value]),
            any::<[u8; 2]>().prop_map(|bits| [[0xf9].as_slice(), &bits].concat()),
            any::<[u8; 4]>().prop_map(|bits| [[0xfa].as_slice(), &bits].concat()),
            any::<[u8; 8]>().prop_map(|bits| [[0xfb].as_slice(), &bits].concat()),
        ]
        .prop_map(Raw::Forbidden),
    ]
}

/// Items nested up to five levels, then sometimes wrapped in up to 18 one-element arrays,
/// so that depths on both sides of `MAX_CBOR_DEPTH` occur.
fn raw_item() -> impl Strategy<Value = Raw> {
    let tree = raw_scalar().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            4 => (vec(inner.clone(), 0..6), container_form()).prop_map(|(items, form)| Raw::Array(items, form)),
            4 => (vec((inner.clone(), inner.clone()), 0..6), container_form())
                .prop_map(|(entries, form)| Raw::Map(entries, form)),
            1 => (prop_oneof![Just(2u64), Just(3u64), any::<u64>()], inner)
                .prop_map(|(tag, content)| Raw::Tag(tag, Box::new(content))),
        ]
    });
    (tree, prop_oneof![3 => Just(0usize), 1 => 0usize..18]).prop_map(|(mut item, wrap)| {
        for _ in 0..wrap {
            item = Raw::Array(vec![item], Some(0));
        }
        item
    })
}

/// Regression (found by `cbor_decode_follows_the_decoding_order`): a map key that is itself
/// a map holding one key twice, `{{"b": 0, "b": 0}: 0}`. The duplicate check looked into map
/// values only, never keys, and the re-encoding keeps both entries, so `cbor::decode`
/// accepted an item that breaks §Encoding rule 3.
#[test]
fn regression_a_duplicate_key_inside_a_map_key_is_refused() {
    let bytes = hex::decode("a1a261620061620000").unwrap();
    assert_eq!(cbor::decode(&bytes).map(drop).map_err(|error| error.code()), Err(ErrorCode::DuplicateKey));
}

/// Regression: two map keys that are maps with the same entries in another order,
/// `{{"a": 0, "b": 0}: 0, {"b": 0, "a": 0}: 1}`, have one deterministic encoding, so they are
/// the same key (§Encoding rule 3): `encoding.duplicate_key` (step 6), not
/// `encoding.non_canonical` (step 7), which the keys' encodings as written gave.
#[test]
fn regression_keys_with_one_deterministic_encoding_are_duplicates() {
    let bytes = hex::decode("a2a2616100616200 00 a2616200616100 01".replace(' ', "")).unwrap();
    assert_eq!(cbor::decode(&bytes).map(drop).map_err(|error| error.code()), Err(ErrorCode::DuplicateKey));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// `cbor::decode` of any well-formed item gives the verdict of an independent model of
    /// §Decoding steps 4-7, in their order: too deep, then a forbidden type, then a duplicate
    /// key (same deterministic encoding, in any map), then not the deterministic encoding;
    /// otherwise the value, which re-encodes to the same bytes. Well-formed input is never
    /// `encoding.malformed`. 2048 cases.
    #[test]
    fn cbor_decode_follows_the_decoding_order(item in raw_item()) {
        let bytes = item.bytes(false);
        let decoded = cbor::decode(&bytes);
        prop_assert_eq!(decoded.as_ref().map(drop).map_err(Error::code), item.verdict(), "{}", hex::encode(&bytes));
        if let Ok(value) = decoded {
            prop_assert_eq!(cbor::encode_value(&value), bytes);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Arbitrary bytes, up to 2 KiB, make no decoder panic: `cbor::decode`,
    /// `AnyRecord::decode`, every typed decoder, and the wire messages. 1024 cases.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..=2048)) {
        decode_everything(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any value tree in the profile, canonically encoded, decodes to itself and
    /// re-encodes to the same bytes. 256 cases.
    #[test]
    fn canonical_values_round_trip(value in cbor_value()) {
        let value = cbor::to_value(&value).map_err(|error| fail("to_value", error))?;
        let bytes = cbor::encode_value(&value);
        let decoded = cbor::decode(&bytes).map_err(|error| fail("decode", error))?;
        prop_assert_eq!(&decoded, &value);
        prop_assert_eq!(cbor::encode_value(&decoded), bytes);
    }

    /// Any value tree as the body of a correctly signed envelope of any type, so that
    /// decoding reaches the schema and the rules, makes no decoder panic. 256 cases.
    #[test]
    fn arbitrary_bodies_under_a_valid_signature_never_panic(
        body in cbor_value(),
        kind in select(RecordType::ALL.to_vec()),
        seed in any::<u64>(),
    ) {
        decode_everything(&forge_value(kind, body, &counter_key(seed)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Arbitrary bytes spliced into a valid record (1-8 bytes overwritten, then perhaps cut
    /// or extended) make no decoder panic. 128 cases.
    #[test]
    fn mangled_records_never_panic(
        (_, bytes) in signed_record(),
        changes in vec((any::<Index>(), any::<u8>()), 1..=8),
        tail in vec(any::<u8>(), 0..4),
        cut in any::<Index>(),
    ) {
        let mut mangled = bytes.clone();
        for (at, byte) in changes {
            let at = at.index(mangled.len());
            mangled[at] = byte;
        }
        decode_everything(&mangled);
        mangled.extend_from_slice(&tail);
        decode_everything(&mangled);
        mangled.truncate(cut.index(mangled.len() + 1));
        decode_everything(&mangled);
    }
}

/// A numeric field of a receipt set to an arbitrary value.
fn wild_receipt() -> impl Strategy<Value = Receipt> {
    (receipt(), vec((0usize..12, any::<Index>(), any::<i64>()), 1..=4)).prop_map(|(mut receipt, changes)| {
        for (field, at, value) in changes {
            let line = at.index(receipt.lines.len());
            let payment = at.index(receipt.payments.len());
            match field {
                0 => receipt.rounding = value,
                1 => receipt.total = value,
                2 => receipt.lines[line].quantity = Some(value),
                3 => receipt.lines[line].unit_price = Some(value),
                4 => receipt.lines[line].amount = Some(value),
                5 => receipt.lines[line].vat_rate = Some(value as u32),
                6 => receipt.lines[line].discounts.iter_mut().for_each(|discount| discount.amount = value),
                7 => match &mut receipt.payments[payment] {
                    kvitt_protocol::receipt::Payment::Cash { amount }
                    | kvitt_protocol::receipt::Payment::Card { amount, .. }
                    | kvitt_protocol::receipt::Payment::Swish { amount, .. }
                    | kvitt_protocol::receipt::Payment::GiftCard { amount, .. }
                    | kvitt_protocol::receipt::Payment::Other { amount, .. } => *amount = value,
                },
                8 => receipt.vat.iter_mut().for_each(|row| row.gross = value),
                9 => receipt.vat.iter_mut().for_each(|row| row.vat = value),
                10 => receipt.serial = value as u64,
                _ => receipt.payments.iter_mut().for_each(|payment| {
                    if let kvitt_protocol::receipt::Payment::Cash { amount } = payment {
                        *amount = value;
                    }
                }),
            }
        }
        receipt
    })
}

/// A numeric field of a claim item set to an arbitrary value.
fn wild_claim() -> impl Strategy<Value = Claim> {
    (claim(), vec((0usize..10, any::<Index>(), any::<i64>()), 1..=4)).prop_map(|(mut claim, changes)| {
        for (field, at, value) in changes {
            let item = at.index(claim.items.len());
            match (&mut claim.items[item], field) {
                (ClaimItem::Receipt { amount, .. }, 0..=3) => *amount = value,
                (ClaimItem::Receipt { foreign: Some(foreign), .. }, 4..=5) => foreign.amount = value,
                (ClaimItem::Receipt { foreign: Some(foreign), .. }, 6) => foreign.rate.value = value as u64,
                (ClaimItem::Receipt { foreign: Some(foreign), .. }, 7) => foreign.rate.scale = value as u32,
                (ClaimItem::Mileage { km, .. }, 0..=1) => *km = value as u32,
                (ClaimItem::Mileage { rate_per_km, .. }, 2..=3) => *rate_per_km = value,
                (ClaimItem::Mileage { amount, .. }, 4..=5) => *amount = value,
                (ClaimItem::PerDiem { days, .. }, 0) => *days = value as u32,
                (ClaimItem::PerDiem { daily_amount, .. }, 1..=2) => *daily_amount = value,
                (ClaimItem::PerDiem { meal_reduction, .. }, 3) => *meal_reduction = value,
                (ClaimItem::PerDiem { meals, .. }, 4) => meals.lunches = value as u32,
                (ClaimItem::PerDiem { amount, .. }, 5..=6) => *amount = value,
                (item, _) => {
                    let booking = match item {
                        ClaimItem::Receipt { booking, .. }
                        | ClaimItem::Mileage { booking, .. }
                        | ClaimItem::PerDiem { booking, .. } => booking,
                    };
                    booking.account = value as u16;
                }
            }
        }
        claim
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Receipts with arbitrary numbers in their numeric fields (quantities, prices,
    /// amounts, rates, rounding, totals, payments, VAT rows) make neither `validate` nor
    /// `AnyRecord::decode` of a correctly signed envelope around them panic: such bodies
    /// reach the rules from the network. 128 cases.
    #[test]
    fn receipts_with_wild_numbers_never_panic(receipt in wild_receipt(), seed in any::<u64>()) {
        let _ = receipt.validate();
        let _ = AnyRecord::decode(&forge(RecordType::Receipt, &receipt, &counter_key(seed)));
    }

    /// Claims with arbitrary numbers in their items' numeric fields (amounts, foreign
    /// amounts and rates, km, rates per km, days, daily amounts, meals, accounts) make
    /// neither `validate` nor `AnyRecord::decode` panic. 128 cases.
    #[test]
    fn claims_with_wild_numbers_never_panic(claim in wild_claim(), seed in any::<u64>()) {
        let _ = claim.validate();
        let _ = AnyRecord::decode(&forge(RecordType::Claim, &claim, &counter_key(seed)));
    }
}

// ---------------------------------------------------------------------------------------
// The strategies' own arithmetic, against known values.
// ---------------------------------------------------------------------------------------

/// The reference check digits reproduce real organisation numbers and GTINs, and the
/// reference rate table the dates of the 2026 food-rate cut.
#[test]
fn reference_helpers_match_known_values() {
    assert_eq!(org_number(202_100_548), "202100-5489"); // Skatteverket
    assert_eq!(org_number(556_016_068), "556016-0680");
    assert_eq!(org_number(202_100_625), "202100-6255");
    assert_eq!(gtin("731086500470"), "7310865004703");
    use time::macros::date;
    assert_eq!(swedish_rate("food", date!(2026 - 03 - 31)), 1200);
    assert_eq!(swedish_rate("food", date!(2026 - 04 - 01)), 600);
    assert_eq!(swedish_rate("take_away", date!(2027 - 12 - 31)), 600);
    assert_eq!(swedish_rate("take_away", date!(2028 - 01 - 01)), 1200);
    assert_eq!(reference_round(-15, 10), -2);
    assert_eq!(reference_round(25, 10), 3);
    assert_eq!(reference_round(14, 10), 1);
}
