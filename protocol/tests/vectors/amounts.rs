//! Claim amounts: a claim judged against its receipts and the other live claims on them.

use super::*;

/// The vectors of this family.
pub(crate) fn vectors(base: &Base) -> Vec<Vector> {
    use ErrorCode as E;
    let Base { hotel, grocery, refund, berlin, .. } = base;
    let mut vectors = Vec::new();
    // Each claim its own number, so that two of them can be live together.
    let amounts_claim = |number: u32, edit: &dyn Fn(&mut Claim)| {
        let mut body = travel_claim(hotel, berlin);
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

    vectors
}
