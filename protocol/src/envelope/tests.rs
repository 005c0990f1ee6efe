//! Tests of record decoding: the one-pass path against the ordered checks, batches,
//! trusted reads.

use super::*;
use crate::event::ClaimEvent;

/// The bytes of a claim event's envelope around `body` (a map with text keys),
/// correctly signed.
fn event_bytes(body: Vec<(&str, Value)>) -> Result<Vec<u8>> {
    event_bytes_by(7, body)
}

/// [`event_bytes`] signed by the key of `seed`.
fn event_bytes_by(seed: u8, body: Vec<(&str, Value)>) -> Result<Vec<u8>> {
    let key = SigningKey::from_bytes(&[seed; 32]);
    let body = cbor::to_value(&Value::Map(
        body.into_iter().map(|(name, item)| (Value::Text(name.into()), item)).collect(),
    ))?;
    let signature = key.sign(&signing_input(RecordType::ClaimEvent, &cbor::encode_value(&body)));
    let signer = PublicKey::from(key.verifying_key());
    Ok(envelope_bytes(
        RecordType::ClaimEvent,
        &cbor::encode_value(&body),
        &signer,
        &Signature(signature.to_bytes()),
    ))
}

#[test]
fn the_envelope_laid_out_directly_is_the_canonical_encoding_of_its_map() {
    let body =
        cbor::to_value(&Value::Map(vec![(Value::Text("at".into()), Value::Integer(7.into()))])).unwrap();
    let (signer, signature) = (PublicKey([3; 32]), Signature([9; 64]));
    for kind in RecordType::ALL {
        assert!(kind.as_str().len() < 24, "{kind}: a one-byte text head");
        let map = Value::Map(vec![
            (Value::Text("v".into()), Value::Integer(VERSION.into())),
            (Value::Text("type".into()), Value::Text(kind.as_str().into())),
            (Value::Text("body".into()), body.clone()),
            (Value::Text("signer".into()), Value::Bytes(signer.0.to_vec())),
            (Value::Text("sig".into()), Value::Bytes(signature.0.to_vec())),
        ]);
        let laid_out = envelope_bytes(kind, &cbor::encode_value(&body), &signer, &signature);
        assert_eq!(laid_out, cbor::encode(&map).unwrap(), "{kind}");
    }
}

/// A claim event's envelope around `body`, correctly signed, decoded.
fn signed_event(body: Vec<(&str, Value)>) -> Result<Signed<ClaimEvent>> {
    Signed::decode(&event_bytes(body)?)
}

/// A claim event's body whose time is `at`.
fn event_at(at: &str) -> Vec<(&'static str, Value)> {
    let claim = RecordId::of(b"claim");
    vec![
        ("claim", Value::Bytes(claim.as_bytes().to_vec())),
        ("at", Value::Text(at.into())),
        (
            "actor",
            Value::Map(vec![
                (Value::Text("person".into()), Value::Text("emp-1".into())),
                (Value::Text("role".into()), Value::Text("employee".into())),
            ]),
        ),
        ("action", Value::Map(vec![(Value::Text("kind".into()), Value::Text("submitted".into()))])),
    ]
}

#[test]
fn a_trusted_decode_skips_the_signature_and_the_rules() {
    let event = signed_event(event_at("2026-05-06T10:05:00+02:00")).unwrap();
    let trusted = AnyRecord::decode_trusted(event.bytes()).unwrap();
    assert_eq!(trusted, AnyRecord::decode(event.bytes()).unwrap());
    // Flip the first byte of the signature: the 64-byte string after the key "sig".
    let mut forged = event.bytes().to_vec();
    let header = b"\x63sig\x58\x40";
    let at = forged.windows(header.len()).position(|window| window == header).unwrap() + header.len();
    forged[at] ^= 1;
    assert_eq!(AnyRecord::decode(&forged).unwrap_err().code(), ErrorCode::BadSignature);
    assert_eq!(AnyRecord::decode_trusted(&forged).unwrap().id(), RecordId::of(&forged));
    // Everything else is still checked: a truncated envelope is refused.
    let truncated = event.bytes().get(..event.bytes().len() - 1).unwrap();
    assert!(AnyRecord::decode_trusted(truncated).is_err());
    // A body that breaks a rule (a time that is none) but is of its schema: refused
    // from outside, read back as it was stored.
    let untimely = event_bytes(event_at("yesterday")).unwrap();
    assert_eq!(AnyRecord::decode(&untimely).unwrap_err().path(), "body.at");
    assert_eq!(AnyRecord::decode_trusted(&untimely).unwrap().id(), RecordId::of(&untimely));
}

/// Every record of the test vectors (spec/vectors/), valid and not.
fn vector_records() -> Vec<(String, Vec<u8>)> {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors");
    let mut records = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "json") {
            continue;
        }
        let vector: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if let Some(cbor) = vector.get("cbor").and_then(|cbor| cbor.as_str()) {
            records.push((path.display().to_string(), hex::decode(cbor).unwrap()));
        }
    }
    assert!(records.len() > 80, "{} records", records.len());
    records
}

/// The verdict on `bytes` as code and path, or the record.
fn verdict(result: Result<AnyRecord>) -> std::result::Result<AnyRecord, (ErrorCode, String)> {
    result.map_err(|error| (error.code(), error.path().to_owned()))
}

/// Decoding in one pass gives what the ordered checks alone give, for every vector and
/// for each valid one of ordinary size damaged at every byte; and every valid vector is
/// read in one pass.
#[test]
fn the_one_pass_decode_agrees_with_the_ordered_checks_on_every_vector() {
    // By the ordered checks alone: all of them, or those of a stored record.
    let ordered = |bytes: &[u8], stored: bool| {
        let mut keys = SignerKeys::default();
        let check = if stored { Checks::Stored } else { Checks::All(&mut keys) };
        verdict(AnyRecord::decode_with(bytes, true, check, |bytes| Envelope::decode(bytes)))
    };
    let mut fast = 0;
    for (name, bytes) in vector_records() {
        let decoded = verdict(AnyRecord::decode(&bytes));
        assert_eq!(decoded, ordered(&bytes, false), "{name}");
        if let Ok(record) = &decoded {
            let envelope = Envelope::split(&bytes).unwrap();
            let Body::Unread(body) = envelope.body else { panic!("{name}: not split") };
            let read = match record {
                AnyRecord::Receipt(_) => {
                    cbor::from_canonical::<crate::receipt::Receipt>(body, 2, ENVELOPE_ITEMS).is_ok()
                }
                AnyRecord::Claim(_) => {
                    cbor::from_canonical::<crate::claim::Claim>(body, 2, ENVELOPE_ITEMS).is_ok()
                }
                AnyRecord::ClaimEvent(_) => {
                    cbor::from_canonical::<ClaimEvent>(body, 2, ENVELOPE_ITEMS).is_ok()
                }
                AnyRecord::Directory(_) => {
                    cbor::from_canonical::<crate::directory::Directory>(body, 2, ENVELOPE_ITEMS).is_ok()
                }
                AnyRecord::Evidence(_) => {
                    cbor::from_canonical::<crate::evidence::Evidence>(body, 2, ENVELOPE_ITEMS).is_ok()
                }
                AnyRecord::Assignment(_) => {
                    cbor::from_canonical::<crate::assignment::Assignment>(body, 2, ENVELOPE_ITEMS).is_ok()
                }
            };
            assert!(read, "{name}: not read in one pass");
            fast += 1;
        }
        // Damaged at every byte: the valid records of ordinary size.
        if decoded.is_err() || bytes.len() > 2000 {
            continue;
        }
        for at in 0..bytes.len() {
            for xor in [0x01, 0x80] {
                let mut damaged = bytes.clone();
                damaged[at] ^= xor;
                let decoded = verdict(AnyRecord::decode_trusted(&damaged));
                assert_eq!(decoded, ordered(&damaged, true), "{name} at {at} ^ {xor:#x}");
            }
        }
    }
    assert!(fast > 10, "{fast} valid vectors");
}

#[test]
fn a_batch_gets_the_verdicts_of_its_records_one_by_one() {
    let valid = |seed: u8, minute: u8| {
        event_bytes_by(seed, event_at(&format!("2026-05-06T10:{minute:02}:00+02:00"))).unwrap()
    };
    // The signature's 64 bytes start after `{"v": 1, "sig": ` and their head: at 10.
    let mut forged = valid(7, 2);
    forged[10] ^= 1;
    // The key's 32 bytes end the envelope: the identity point is a weak key.
    let mut weak_key = valid(9, 3);
    let key_at = weak_key.len() - 32;
    weak_key[key_at..].copy_from_slice(&[&[1][..], &[0; 31]].concat());
    let batch = [
        valid(7, 0),
        valid(7, 1),
        forged,
        valid(8, 0),
        weak_key,
        event_bytes_by(7, event_at("yesterday")).unwrap(),
        vec![0xa5, 0x00],
        valid(7, 5),
        valid(8, 1),
    ];
    let one_by_one: Vec<_> = batch.iter().map(|bytes| verdict(AnyRecord::decode(bytes))).collect();
    let together: Vec<_> =
        AnyRecord::decode_batch(batch.iter().map(Vec::as_slice)).into_iter().map(verdict).collect();
    assert_eq!(together, one_by_one);
    let refusals: Vec<_> = one_by_one.iter().map(|verdict| verdict.as_ref().err()).collect();
    let refused = |code: ErrorCode, path: &str| Some((code, path.to_owned()));
    assert_eq!(
        refusals,
        [
            None,
            None,
            refused(ErrorCode::BadSignature, "sig").as_ref(),
            None,
            refused(ErrorCode::SignerKey, "signer").as_ref(),
            Some(&(one_by_one[5].as_ref().unwrap_err().0, "body.at".to_owned())),
            refused(ErrorCode::Malformed, "").as_ref(),
            None,
            None
        ]
    );
}

#[test]
fn a_variant_without_fields_refuses_extra_fields() {
    let text = |text: &str| Value::Text(text.into());
    let actor = Value::Map(vec![(text("person"), text("emp-1")), (text("role"), text("employee"))]);
    let body = |action: Value| {
        vec![
            ("claim", Value::Bytes(vec![7; 32])),
            ("at", text("2026-05-06T10:05:00+02:00")),
            ("actor", actor.clone()),
            ("action", action),
        ]
    };
    assert!(signed_event(body(Value::Map(vec![(text("kind"), text("submitted"))]))).is_ok());
    let extra =
        Value::Map(vec![(text("kind"), text("submitted")), (text("extra"), Value::Integer(1.into()))]);
    let error = signed_event(body(extra)).unwrap_err();
    assert_eq!((error.code(), error.path()), (ErrorCode::Schema, "body.action.extra"));
}
