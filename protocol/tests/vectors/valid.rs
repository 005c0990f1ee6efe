//! Valid records: one of each type and edge, with their ids and signing inputs.

use super::*;

/// The vectors of this family.
pub(crate) fn vectors(base: &Base) -> Vec<Vector> {
    let Base {
        hotel,
        grocery,
        refund,
        berlin,
        claim,
        submitted,
        reviewed,
        approved,
        rejected,
        withdrawn,
        booked,
        paid,
        reversed,
        directory,
        conflict,
        directory_conflict,
        ..
    } = base;
    let mut vectors = vec![
    valid(
        "receipt-valid-two-rates",
        "receipt",
        "A hotel night (category hotel, 12 %) and breakfast (category food, 6 % on 2026-05-04, after the 2026-04-01 cut) paid by card: one VAT row per rate, ascending.",
        hotel,
        MERCHANT,
    ),
    valid(
        "receipt-valid-discounts-text-rounding",
        "receipt",
        "Groceries with a 3-for-2 and a member discount, a text line, a weighed item (1234/1000 kg × 3490 = 4306.66, rounded to 4307), rounding −47 öre and a cash + card split.",
        grocery,
        GROCER,
    ),
    valid(
        "receipt-valid-return",
        "receipt",
        "A return: the return line's amount is negative, so are the VAT row, total and card refund, and the receipt names the original by id.",
        refund,
        GROCER,
    ),
    valid(
        "receipt-valid-foreign-eur",
        "receipt",
        "A German hotel (org DE:HRB12345, foreign VAT number) in EUR at 7 % and 19 %: foreign sellers' rates are only range-checked (0..=5000 bp), not taken from the Swedish table.",
        berlin,
        MERCHANT_DE,
    ),
    ];
    let unrouted = sign(computed(Receipt { buyer: None, serial: 1_002, ..named::receipt() }), MERCHANT);
    vectors.push(valid(
        "receipt-valid-no-buyer",
        "receipt",
        "A receipt signed without a buyer (spec/routing.md: the till knew no agency and no enrolled card named one): the buyer field is absent, never null; the receipt stays with the merchant.",
        &unrouted,
        MERCHANT,
    ));
    // spec/codes.md §Assignment: the buyer of a receipt signed without one.
    let assigned = kvitt_protocol::assignment::Assignment {
        receipt: unrouted.id(),
        buyer: Buyer {
            agency: named::receipt().buyer.expect("the sample names a buyer").agency,
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
                &kvitt_protocol::assignment::Assignment {
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
            forge_typed(
                &kvitt_protocol::assignment::Assignment {
                    assigned_at: "2026-03-02T08:15:00Z".into(),
                    ..assigned
                },
                MERCHANT,
            ),
        )
        .signed_by(MERCHANT)
        .fails(ErrorCode::TimeFormat, "body.assigned_at"),
    );
    let first_local_day = sign(
        computed(Receipt {
            issued_at: "2026-04-01T01:30:00+02:00".into(),
            serial: 1_001,
            ..named::receipt()
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
        hotel,
        MERCHANT,
    ));
    vectors.push(valid(
        "claim-valid-four-kinds",
        "claim",
        "A claim with a receipt item, a EUR receipt item (14850 cents × 11.4700 SEK/EUR = 170329.5 öre, rounded half away from zero to 170330), a mileage item and a per diem with a meal reduction.",
        claim,
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
        directory,
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
        conflict,
        SSC,
    ));
    vectors.push(valid(
        "evidence-valid-directory-version",
        "evidence",
        "Two different directories the operator signed as version 7 of kvitt-test (the second without the foreign merchant): equivocation, the record with the smaller id first.",
        directory_conflict,
        SSC,
    ));

    vectors
}
