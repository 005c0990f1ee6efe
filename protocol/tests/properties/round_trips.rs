//! Round trips: records of every type through their one canonical byte form, and the
//! wire messages between nodes.

use ciborium::value::Value;
use ed25519_dalek::{Signature as DalekSignature, SigningKey};
use kvitt_protocol::assignment::Assignment;
use kvitt_protocol::claim::Claim;
use kvitt_protocol::code::ReceiptCode;
use kvitt_protocol::directory::Directory;
use kvitt_protocol::envelope::signing_input;
use kvitt_protocol::event::ClaimEvent;
use kvitt_protocol::evidence::{Evidence, Slot};
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::wire::{
    AnyCode, RecordBytes, Refusal, RefusalCode, Request, RequestBody, Response, ResponseBody, Verdict,
};
use kvitt_protocol::{cbor, AnyRecord, ErrorCode, PublicKey, Record, Signed};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use sha2::{Digest, Sha256};

use crate::fail;
use crate::strategies::{
    body_bytes, claim, claim_event, code, directory, envelope_field, evidence, name_text, receipt, record_id,
};

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
    Assignment => Assignment,
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

    /// Assignments of any receipt to the agency, with or without an employee, round-trip.
    /// 64 cases.
    #[test]
    fn assignments_round_trip(receipt in record_id(), employee in proptest::option::of(code()), key in key()) {
        let buyer = kvitt_protocol::receipt::Buyer { agency: "202100-5489".into(), employee };
        round_trip(Assignment { receipt, buyer, assigned_at: "2026-05-05T09:30:00+02:00".into() }, &key)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A receipt code of any 50 bits reads back from its display, in lower case, from its
    /// QR payload and from its random part; one character changed is refused. 256 cases.
    #[test]
    fn receipt_codes_round_trip(random in any::<[u8; 8]>(), at in 0usize..11, by in 1u8..32) {
        let code = ReceiptCode::generate("556016-0680", random).unwrap();
        prop_assert_eq!(ReceiptCode::parse(&code.to_string()), Ok(code.clone()));
        prop_assert_eq!(ReceiptCode::parse(&code.to_string().to_lowercase()), Ok(code.clone()));
        prop_assert_eq!(ReceiptCode::parse(&code.qr_payload()), Ok(code.clone()));
        prop_assert_eq!(ReceiptCode::parse_secret("556016-0680", &code.secret_text()), Ok(code.clone()));
        let alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let mut typed: Vec<char> = code.secret_text().chars().collect();
        let value = alphabet.find(typed[at]).unwrap();
        typed[at] = alphabet.chars().nth((value + usize::from(by)) % 32).unwrap();
        let typed: String = typed.into_iter().collect();
        prop_assert!(ReceiptCode::parse_secret("556016-0680", &typed).is_err(), "{}", typed);
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
    let codes: Vec<AnyCode> = ErrorCode::ALL
        .iter()
        .map(|code| AnyCode::from(*code))
        .chain(RefusalCode::ALL.iter().map(|code| AnyCode::from(*code)))
        .collect();
    (select(codes), prop_oneof![Just(String::new()), code()], name_text(), any::<bool>())
        .prop_map(|(code, path, message, retry)| Refusal { code, path, message, retry })
}

fn record_bytes() -> impl Strategy<Value = RecordBytes> {
    vec(any::<u8>(), 0..64).prop_map(RecordBytes)
}

fn request() -> impl Strategy<Value = Request> {
    let body = prop_oneof![
        vec(record_bytes(), 0..=8).prop_map(|records| RequestBody::Deliver { records }),
        any::<u64>().prop_map(|have| RequestBody::Directory { have }),
        (any::<u64>(), record_bytes(), proptest::option::of((any::<u64>(), any::<u64>()))).prop_map(
            |(session, frame, window)| RequestBody::Reconcile {
                session,
                frame,
                window: window.map(|(from, until)| kvitt_protocol::wire::Window { from, until }),
            }
        ),
        (code(), proptest::option::of(code()))
            .prop_map(|(code, employee)| RequestBody::Collect { code, employee }),
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
        proptest::option::of(record_bytes()).prop_map(|frame| ResponseBody::Reconcile { frame }),
        (record_bytes(), record_bytes())
            .prop_map(|(receipt, assignment)| ResponseBody::Collected { receipt, assignment }),
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
