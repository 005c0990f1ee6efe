//! Claims that cannot be booked: each gives the error that names what is wrong, and its
//! message names the item and the value.

use super::*;

fn hotel() -> Signed<Receipt> {
    sign(swedish_receipt(
        "Hotell Kvitt AB",
        vec![line("Enkelrum", "hotel", 1000, 149_500, 1200)],
        Paid::OwnCard,
        true,
    ))
}

#[test]
fn an_account_outside_the_table_is_refused() {
    let receipt = hotel();
    let error = book_with(vec![whole(&receipt, 5999)], &[receipt]).unwrap_err();
    assert_eq!(error, BookingError::AccountUnmapped { item: 0, account: 5999, version: 1 });
    assert_eq!(error.to_string(), "items[0].booking.account: 5999 is not an account of booking table v1");
}

#[test]
fn the_excess_account_is_not_an_item_account() {
    // 6072 takes what exceeds the representation base; an item names 6071.
    let receipt = hotel();
    let error = book_with(vec![whole(&receipt, 6072)], &[receipt]).unwrap_err();
    assert!(matches!(error, BookingError::AccountUnmapped { account: 6072, .. }), "{error}");
}

#[test]
fn mileage_booked_as_lodging_is_refused() {
    let mut item = mileage(10, 250);
    if let ClaimItem::Mileage { booking, .. } = &mut item {
        booking.account = 5831;
    }
    let error = book_with(vec![item], &[]).unwrap_err();
    assert_eq!(
        error,
        BookingError::KindNotAllowed { item: 0, account: 5831, category: "lodging".into(), kind: "mileage" }
    );
    assert_eq!(error.to_string(), "items[0].booking.account: 5831 (lodging) does not take mileage items");
}

#[test]
fn a_receipt_as_per_diem_is_refused() {
    let receipt = hotel();
    let error = book_with(vec![whole(&receipt, 7321)], &[receipt]).unwrap_err();
    assert!(matches!(error, BookingError::KindNotAllowed { kind: "receipt", .. }), "{error}");
}

/// Regression: the demo's Berlin hotel was booked to 5831 *Kost och logi i Sverige*.
#[test]
fn lodging_abroad_booked_as_lodging_in_sweden_is_refused_and_the_other_way_round() {
    let berlin = sign(receipt_in(
        spreeufer(),
        "EUR",
        vec![line("Zimmer", "hotel", 2000, 12_000, 700)],
        Paid::CorporateCard,
        true,
    ));
    let item = foreign_item(&berlin, ExchangeRate { value: 114_523, scale: 4 }, 5831);
    let error = book_with(vec![item], std::slice::from_ref(&berlin)).unwrap_err();
    assert_eq!(
        error,
        BookingError::Place {
            item: 0,
            account: 5831,
            category: "lodging".into(),
            place: kvitt_books::Place::Sweden,
            receipt: berlin.id(),
            sold_abroad: true,
            instead: Some(5832),
        }
    );
    assert_eq!(
        error.to_string(),
        format!(
            "items[0].booking.account: 5831 (lodging) is for expenses in Sweden, but receipt {} was sold abroad: book it to 5832",
            berlin.id()
        )
    );
    let stockholm = hotel();
    let error = book_with(vec![whole(&stockholm, 5832)], std::slice::from_ref(&stockholm)).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "items[0].booking.account: 5832 (lodging_abroad) is for expenses abroad, but receipt {} was sold in Sweden: book it to 5831",
            stockholm.id()
        )
    );
    // Travel has one account wherever it is incurred.
    let item = foreign_item(&berlin, ExchangeRate { value: 114_523, scale: 4 }, 5800);
    assert!(book_with(vec![item], &[berlin]).is_ok());
}

#[test]
fn a_missing_receipt_is_refused() {
    let receipt = hotel();
    let error = book_with(vec![per_diem(1, 29_000, 0, 0), whole(&receipt, 5831)], &[]).unwrap_err();
    assert_eq!(error, BookingError::ReceiptMissing { item: 1, receipt: receipt.id() });
}

#[test]
fn representation_without_participants_is_refused() {
    let receipt = hotel();
    let error = book_with(vec![whole(&receipt, 6071)], &[receipt]).unwrap_err();
    assert_eq!(error, BookingError::Participants { item: 0 });
}

#[test]
fn claiming_more_than_the_receipt_is_refused() {
    let receipt = hotel();
    let error = book_with(vec![receipt_item(&receipt, 149_501, 5831, &[])], &[receipt]).unwrap_err();
    assert_eq!(error, BookingError::AmountAboveTotal { item: 0, amount: 149_501, total: 149_500 });
}

#[test]
fn another_agencys_receipt_is_refused() {
    let mut body = hotel().body().clone();
    body.buyer.as_mut().unwrap().agency = kvitt_protocol::sample::SSC_ORG.into();
    let receipt = sign(body);
    let error = book_with(vec![whole(&receipt, 5831)], std::slice::from_ref(&receipt)).unwrap_err();
    assert_eq!(
        error,
        BookingError::ReceiptBuyer {
            item: 0,
            receipt: receipt.id(),
            buyer: kvitt_protocol::sample::SSC_ORG.into(),
            agency: AGENCY_ORG.into(),
        }
    );
}

#[test]
fn a_cash_receipt_books_through_its_assignment_to_the_claims_agency_and_only_so() {
    use kvitt_protocol::assignment::Assignment;
    let bought = hotel();
    let cash = sign(Receipt { buyer: None, ..bought.body().clone() });
    let assign = |agency: &str| {
        sign(Assignment {
            receipt: cash.id(),
            buyer: Buyer { agency: agency.into(), employee: Some(EMPLOYEE.into()) },
            assigned_at: "2026-05-04T20:00:00+02:00".into(),
        })
    };
    let booking = |receipt: &Signed<Receipt>, assignments: &[Signed<Assignment>]| {
        let claim = claim(vec![whole(receipt, 5831)]);
        book(
            table(),
            allowances(),
            &books(),
            &claim,
            ClaimReceipts { receipts: std::slice::from_ref(receipt), assignments },
            BOOKED_ON,
        )
    };
    // The same rows, VAT deducted, as the receipt that names its buyer.
    let rows =
        |voucher: Voucher| voucher.rows.into_iter().map(|row| (row.account, row.amount)).collect::<Vec<_>>();
    assert_eq!(rows(booking(&cash, &[assign(AGENCY_ORG)]).unwrap()), rows(booking(&bought, &[]).unwrap()));
    let unassigned = BookingError::ReceiptBuyer {
        item: 0,
        receipt: cash.id(),
        buyer: "no buyer".into(),
        agency: AGENCY_ORG.into(),
    };
    assert_eq!(booking(&cash, &[]).unwrap_err(), unassigned);
    let other = kvitt_protocol::sample::SSC_ORG;
    let error = booking(&cash, &[assign(other)]).unwrap_err();
    assert!(matches!(error, BookingError::ReceiptBuyer { ref buyer, .. } if buyer == other), "{error}");
}

#[test]
fn a_sek_receipt_with_a_foreign_amount_is_refused() {
    let receipt = hotel();
    let mut item = whole(&receipt, 5831);
    if let ClaimItem::Receipt { foreign, .. } = &mut item {
        *foreign = Some(ForeignAmount {
            amount: 10_000,
            currency: "EUR".into(),
            rate: ExchangeRate { value: 149_500, scale: 4 },
            rate_date: "2026-05-04".into(),
            rate_source: "riksbanken".into(),
        });
    }
    // The claim's own rule (amount = conversion of foreign) holds: 100.00 EUR × 14.95.
    let error = book_with(vec![item], &[receipt]).unwrap_err();
    assert_eq!(error, BookingError::Foreign { item: 0, reason: "the receipt is in SEK".into() });
}

#[test]
fn a_return_receipt_is_refused() {
    // A receipt of only a return totals below zero: nothing to claim.
    let mut body = hotel().body().clone();
    body.lines[0].kind = LineKind::Return;
    body.original = Some(kvitt_protocol::RecordId::of(b"original"));
    let mut body = body.with_computed_totals();
    body.payments = vec![Payment::Cash { amount: body.total }];
    let receipt = sign(body);
    let item = receipt_item(&receipt, 0, 5831, &[]);
    let error = book_with(vec![item], std::slice::from_ref(&receipt)).unwrap_err();
    assert_eq!(error, BookingError::ReceiptTotal { item: 0, receipt: receipt.id(), total: -149_500 });
}

#[test]
fn a_claim_of_nothing_is_refused() {
    let receipt = hotel();
    let error = book_with(vec![receipt_item(&receipt, 0, 5831, &[])], &[receipt]).unwrap_err();
    assert_eq!(error, BookingError::NothingToBook);
}

#[test]
fn the_books_must_be_the_claims_agency() {
    let mut other = books();
    other.org = kvitt_protocol::sample::SSC_ORG.into();
    let error = book(
        table(),
        allowances(),
        &other,
        &claim(vec![mileage(1, 250)]),
        ClaimReceipts::named(&[]),
        BOOKED_ON,
    )
    .unwrap_err();
    assert!(matches!(error, BookingError::Agency { .. }), "{error}");
}

#[test]
fn a_series_with_a_space_is_refused() {
    for series in ["", "K 1", "ABCDEFGHI", "Ö"] {
        let mut books = books();
        books.series = series.into();
        let error = book(
            table(),
            allowances(),
            &books,
            &claim(vec![mileage(1, 250)]),
            ClaimReceipts::named(&[]),
            BOOKED_ON,
        )
        .unwrap_err();
        assert_eq!(error, BookingError::Series { series: series.into() });
    }
    let mut books = books();
    books.series = "KVITT001".into();
    assert!(book(
        table(),
        allowances(),
        &books,
        &claim(vec![mileage(1, 250)]),
        ClaimReceipts::named(&[]),
        BOOKED_ON
    )
    .is_ok());
}
