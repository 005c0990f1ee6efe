//! Evidence rules: equivocation evidence that proves nothing, or is malformed.

use super::*;

/// The vectors of this family.
pub(crate) fn vectors(base: &Base) -> Vec<Vector> {
    use ErrorCode as E;
    let Base { hotel, detected_at, conflict, .. } = base;
    let mut vectors = Vec::new();
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
        if hotel.id() < next_serial.id() { (hotel, &next_serial) } else { (&next_serial, hotel) };
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
