//! Envelope, signature and schema faults: wrong and unknown types, versions, sizes, a
//! flipped or cross-domain signature, a weak key, and unknown, missing or mistyped fields.

use super::*;

/// The vectors of this family.
pub(crate) fn vectors(base: &Base) -> Vec<Vector> {
    use ErrorCode as E;
    let Base { hotel, claim, claim_id, submitted, .. } = base;
    let claim_id = *claim_id;
    let mut vectors = Vec::new();
    let good = hotel.bytes().to_vec();
    let body = body_value(hotel.body());
    let sig = signature("receipt", &body, MERCHANT);
    let signer = common::public(MERCHANT).0;
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

    vectors
}
