//! Vouchers as the SSC keeps them: numbered (up to what SIE numbers), checked against the
//! SIE writer, and reversed row for row.

use kvitt_books::{book_numbered, reverse, write_sie, SieHeader};

use super::*;

/// A per diem of three days at 400 kronor, above the tax-free limit, and 100 km of
/// mileage: rows, and payroll lines with a taxable part.
fn trip() -> Signed<Claim> {
    claim(vec![per_diem(3, 40_000, 0, 0), mileage(100, 250)])
}

#[test]
fn a_numbered_voucher_is_the_booking_with_its_number() {
    let booked =
        book_numbered(table(), allowances(), &books(), &trip(), ClaimReceipts::named(&[]), BOOKED_ON, 17)
            .unwrap();
    let plain = book(table(), allowances(), &books(), &trip(), ClaimReceipts::named(&[]), BOOKED_ON).unwrap();
    assert_eq!(booked.number, Some(17));
    assert_eq!(Voucher { number: None, ..booked.clone() }, plain);
}

#[test]
fn a_voucher_number_above_what_sie_numbers_is_refused_at_its_edge() {
    let at_edge = u64::from(u32::MAX);
    let booked = book_numbered(
        table(),
        allowances(),
        &books(),
        &trip(),
        ClaimReceipts::named(&[]),
        BOOKED_ON,
        at_edge,
    )
    .unwrap();
    assert_eq!(booked.number, Some(u32::MAX));
    let above = book_numbered(
        table(),
        allowances(),
        &books(),
        &trip(),
        ClaimReceipts::named(&[]),
        BOOKED_ON,
        at_edge + 1,
    );
    assert_eq!(above, Err(BookingError::Number { number: at_edge + 1 }));
    let original = booked;
    assert_eq!(
        reverse(table(), &original, "K", at_edge + 1, BOOKED_ON),
        Err(BookingError::Number { number: at_edge + 1 })
    );
}

#[test]
fn an_unbookable_claim_is_refused_with_its_booking_error() {
    let receipt = sign(swedish_receipt(
        "Hotell Kvitt AB",
        vec![line("Enkelrum", "hotel", 1000, 149_500, 1200)],
        Paid::OwnCard,
        true,
    ));
    let unmapped = claim(vec![whole(&receipt, 4010)]);
    let refused = book_numbered(
        table(),
        allowances(),
        &books(),
        &unmapped,
        ClaimReceipts::named(&[receipt]),
        BOOKED_ON,
        1,
    );
    assert!(
        matches!(refused, Err(BookingError::AccountUnmapped { item: 0, account: 4010, .. })),
        "{refused:?}"
    );
}

#[test]
fn a_reversing_voucher_negates_every_row_and_names_the_original() {
    let original =
        book_numbered(table(), allowances(), &books(), &trip(), ClaimReceipts::named(&[]), BOOKED_ON, 7)
            .unwrap();
    assert!(original.payroll.iter().any(|line| line.split.taxable > 0), "the trip has a taxable part");
    let on = date!(2026 - 06 - 02);
    let reversing = reverse(table(), &original, "K", 12, on).unwrap();
    assert_eq!((reversing.series.as_str(), reversing.number, reversing.date), ("K", Some(12), on));
    assert_eq!(reversing.text, format!("Återföring av K 7: {}", original.text));
    assert_eq!(reversing.rows.len(), original.rows.len());
    for (reversed, row) in reversing.rows.iter().zip(&original.rows) {
        assert_eq!(
            (reversed.account, reversed.amount, &reversed.text),
            (row.account, -row.amount, &row.text)
        );
    }
    assert_eq!(reversing.balance(), 0);
    for (reversed, line) in reversing.payroll.iter().zip(&original.payroll) {
        assert_eq!((reversed.item, reversed.split.tax_free), (line.item, -line.split.tax_free));
        assert_eq!(reversed.split.taxable, -line.split.taxable);
    }
    // Both go into one SIE file.
    let header = SieHeader {
        program: "kvitt".into(),
        program_version: "0.1.0".into(),
        generated: on,
        org: AGENCY_ORG.into(),
        company_name: "Myndigheten för kvitton".into(),
        fiscal_year: Some((date!(2026 - 01 - 01), date!(2026 - 12 - 31))),
    };
    let written =
        String::from_utf8_lossy(&write_sie(&header, table(), &[original, reversing]).unwrap()).into_owned();
    assert!(written.contains("#VER K 12 20260602 \"\u{FFFD}terf\u{FFFD}ring av K 7: "), "{written}");
}
