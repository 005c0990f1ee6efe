//! Claim buyers (spec/codes.md §Claims): a claim names only receipts its agency bought, by
//! the receipt's own `buyer` or, for one signed without a buyer, its merchant's assignment.

use super::*;

/// The vectors of this family.
pub(crate) fn vectors(base: &Base) -> Vec<Vector> {
    let Base { hotel, berlin, .. } = base;
    let agency = named::receipt().buyer.expect("the sample names a buyer").agency;
    // The cash sale of receipt-valid-no-buyer, and assignments of it.
    let cash = sign(computed(Receipt { buyer: None, serial: 1_002, ..named::receipt() }), MERCHANT);
    let assign = |agency: &str, key_name: &str| {
        let body = Assignment {
            receipt: cash.id(),
            buyer: Buyer { agency: agency.into(), employee: Some("emp-17".into()) },
            assigned_at: "2026-03-02T09:15:00+01:00".into(),
        };
        sign(body, key_name)
    };
    let ours = assign(&agency, MERCHANT);
    let theirs = assign(OTHER_AGENCY_ORG, MERCHANT);
    let by_grocer = assign(&agency, GROCER);
    // A claim of the agency with one item, on `receipt`.
    let claim_of = |receipt: &Signed<Receipt>| {
        let mut body = travel_claim(hotel, berlin);
        body.items.truncate(1);
        if let ClaimItem::Receipt { receipt: named, amount, .. } = &mut body.items[0] {
            *named = receipt.id();
            *amount = 10_000;
        }
        sign(body, AGENCY)
    };
    let cash_claim = claim_of(&cash);
    let elsewhere = sign(
        Receipt {
            buyer: Some(Buyer { agency: OTHER_AGENCY_ORG.into(), employee: None }),
            serial: 1_003,
            ..named::receipt()
        },
        MERCHANT,
    );
    vec![
        Vector::buyers(
            "claim-buyer-valid-named",
            "The claim's receipt names the claim's agency as its buyer; no assignment is needed.",
            claim_of(hotel).bytes(),
            &[hotel.bytes()],
            &[],
        ),
        Vector::buyers(
            "claim-buyer-valid-assigned",
            "The claim's receipt (receipt-valid-no-buyer) names no buyer; its merchant's assignment gives it the claim's agency.",
            cash_claim.bytes(),
            &[cash.bytes()],
            &[ours.bytes()],
        ),
        Vector::buyers(
            "claim-buyer-invalid-unassigned",
            "The claim's receipt names no buyer and no assignment of it is held: it cannot be judged until the assignment comes (retry).",
            cash_claim.bytes(),
            &[cash.bytes()],
            &[],
        )
        .refused(RefusalCode::ReceiptUnassigned, "items[0].receipt"),
        Vector::buyers(
            "claim-buyer-invalid-assigned-to-other-agency",
            "The claim's receipt names no buyer; its merchant assigned it to another agency (202100-5521).",
            cash_claim.bytes(),
            &[cash.bytes()],
            &[theirs.bytes()],
        )
        .refused(RefusalCode::ReceiptMismatch, "items[0].receipt"),
        Vector::buyers(
            "claim-buyer-invalid-assigned-by-another-key",
            "The claim's receipt names no buyer; the only assignment of it is signed by another merchant (the grocer), not the receipt's signer: it holds no slot of this receipt and gives it no buyer.",
            cash_claim.bytes(),
            &[cash.bytes()],
            &[by_grocer.bytes()],
        )
        .refused(RefusalCode::ReceiptUnassigned, "items[0].receipt"),
        Vector::buyers(
            "claim-buyer-invalid-bought-by-other-agency",
            "The claim's receipt names another agency (202100-5521) as its buyer.",
            claim_of(&elsewhere).bytes(),
            &[elsewhere.bytes()],
            &[],
        )
        .refused(RefusalCode::ReceiptMismatch, "items[0].receipt"),
    ]
}
