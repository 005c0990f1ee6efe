//! Claim rules: correctly signed claims that break one rule each.

use super::*;

/// The vectors of this family.
pub(crate) fn vectors(base: &Base) -> Vec<Vector> {
    use ErrorCode as E;
    let Base { hotel, berlin, .. } = base;
    let mut vectors = Vec::new();
    let claim_fault =
        |name: &str, description: &str, edit: &dyn Fn(&mut Claim), code: ErrorCode, path: &str| {
            let mut body = travel_claim(hotel, berlin);
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

    vectors
}
