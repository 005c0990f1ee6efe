//! Vouchers as the SSC keeps them: numbered in the agency's series, checked against what
//! the SIE writer takes, and reversed. The SSC books a claim with [`book_numbered`] when it
//! signs the `booked` event, keeps the voucher, and the SIE export writes only kept
//! vouchers; so a claim that could not be booked is refused at booking, and no accepted
//! record ever fails an export (spec/books.md §The SSC node's export).

use time::Date;

use crate::allowances::{AllowanceTables, TaxSplit};
use crate::sie::check_voucher;
use crate::table::BookingTable;
use crate::voucher::{book, AgencyBooks, BookingError, ClaimReceipts, PayrollLine, Voucher, VoucherRow};
use kvitt_protocol::claim::Claim;
use kvitt_protocol::Signed;

/// Books `claim` with its `receipts` on `date` as voucher `number` of `books.series`
/// ([`book`]), and checks that the SIE writer takes it. What an SSC keeps when it books.
pub fn book_numbered(
    table: &BookingTable,
    allowances: &AllowanceTables,
    books: &AgencyBooks,
    claim: &Signed<Claim>,
    receipts: ClaimReceipts<'_>,
    date: Date,
    number: u64,
) -> Result<Voucher, BookingError> {
    let sie_number = u32::try_from(number).map_err(|_| BookingError::Number { number })?;
    let mut voucher = book(table, allowances, books, claim, receipts, date)?;
    voucher.number = Some(sie_number);
    check_voucher(0, table, &voucher, None).map_err(BookingError::Unwritable)?;
    Ok(voucher)
}

/// The voucher that reverses `original` (a claim's booking, found wrong): voucher
/// `number` of `series` on `date`, every row negated, its text naming the original
/// voucher by series and number. Payroll lines are negated too, so that what was paid as
/// taxable salary is taken back. Checked as [`book_numbered`] checks.
pub fn reverse(
    table: &BookingTable,
    original: &Voucher,
    series: &str,
    number: u64,
    date: Date,
) -> Result<Voucher, BookingError> {
    let sie_number = u32::try_from(number).map_err(|_| BookingError::Number { number })?;
    let named = original.number.map_or_else(|| "utan nummer".to_owned(), |number| number.to_string());
    // A voucher's amounts are far inside i64 (records bound every amount), so negating
    // saturates never; if it did, the rows would not balance and the check below refuses.
    let rows = original
        .rows
        .iter()
        .map(|row| VoucherRow {
            account: row.account,
            amount: row.amount.saturating_neg(),
            text: row.text.clone(),
        })
        .collect();
    let payroll = original
        .payroll
        .iter()
        .map(|line| {
            let split = TaxSplit {
                limit: line.split.limit,
                tax_free: line.split.tax_free.saturating_neg(),
                taxable: line.split.taxable.saturating_neg(),
            };
            PayrollLine { split, ..line.clone() }
        })
        .collect();
    let voucher = Voucher {
        series: series.to_owned(),
        number: Some(sie_number),
        date,
        text: format!("Återföring av {} {named}: {}", original.series, original.text),
        rows,
        payroll,
    };
    check_voucher(0, table, &voucher, None).map_err(BookingError::Unwritable)?;
    Ok(voucher)
}
