//! Why a claim could not be booked ([`crate::voucher::book`]): each variant names the
//! item or field concerned.

use kvitt_protocol::id::RecordId;

use crate::allowances::AllowancesError;
use crate::table::Place;

/// Why a claim could not be booked. Items are numbered from 0, as in `items[0]`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BookingError {
    /// The claim is another agency's than the books given.
    #[error("claim: agency {claim_agency}, but the books are {books_agency}'s")]
    Agency {
        /// The claim's agency.
        claim_agency: String,
        /// The agency of the books.
        books_agency: String,
    },
    /// The voucher series is not 1 to 8 ASCII letters or digits.
    #[error("books.series: {series:?} is not 1 to 8 ASCII letters or digits")]
    Series {
        /// The series given.
        series: String,
    },
    /// An item's account is not the account of any category in the booking table.
    #[error("items[{item}].booking.account: {account} is not an account of booking table v{version}")]
    AccountUnmapped {
        /// The item.
        item: usize,
        /// Its account.
        account: u16,
        /// The table's version.
        version: u32,
    },
    /// An item is booked to a category that does not take its kind.
    #[error("items[{item}].booking.account: {account} ({category}) does not take {kind} items")]
    KindNotAllowed {
        /// The item.
        item: usize,
        /// Its account.
        account: u16,
        /// The category of that account.
        category: String,
        /// The item's kind.
        kind: &'static str,
    },
    /// An item's receipt is not among the receipts given.
    #[error("items[{item}].receipt: receipt {receipt} was not given")]
    ReceiptMissing {
        /// The item.
        item: usize,
        /// The receipt's id.
        receipt: RecordId,
    },
    /// The receipt was bought by another agency than the claim's.
    #[error(
        "items[{item}].receipt: receipt {receipt} was bought by {buyer}, not the claim's agency {agency}"
    )]
    ReceiptBuyer {
        /// The item.
        item: usize,
        /// The receipt's id.
        receipt: RecordId,
        /// The receipt's buyer agency.
        buyer: String,
        /// The claim's agency.
        agency: String,
    },
    /// The receipt's total is zero or negative (a return), so there is nothing to claim.
    #[error("items[{item}].receipt: receipt {receipt} totals {total}, not an expense")]
    ReceiptTotal {
        /// The item.
        item: usize,
        /// The receipt's id.
        receipt: RecordId,
        /// Its total, in its currency's minor units.
        total: i64,
    },
    /// A SEK item claims more than its receipt's total.
    #[error("items[{item}].amount: {amount} öre is more than the receipt's total {total} öre")]
    AmountAboveTotal {
        /// The item.
        item: usize,
        /// The amount claimed.
        amount: i64,
        /// The receipt's total.
        total: i64,
    },
    /// The item's `foreign` does not fit its receipt's currency or total.
    #[error("items[{item}].foreign: {reason}")]
    Foreign {
        /// The item.
        item: usize,
        /// What does not fit.
        reason: String,
    },
    /// A receipt sold abroad is booked to a category for expenses in Sweden, or one sold
    /// in Sweden to a category for expenses abroad (5831 *Kost och logi i Sverige* against
    /// 5832 *Kost och logi i utlandet*).
    #[error("items[{item}].booking.account: {account} ({category}) is for expenses {place}, but receipt {receipt} was sold {sold}{instead}", place = place.describe(), sold = if *sold_abroad { "abroad" } else { "in Sweden" }, instead = instead.map(|account| format!(": book it to {account}")).unwrap_or_default())]
    Place {
        /// The item.
        item: usize,
        /// Its account.
        account: u16,
        /// The category of that account.
        category: String,
        /// Where that category's expenses are incurred.
        place: Place,
        /// The receipt's id.
        receipt: RecordId,
        /// Whether the receipt was sold abroad ([`Receipt::sold_abroad`]).
        sold_abroad: bool,
        /// The account of the same expenses where the receipt was sold, if the table has one.
        instead: Option<u16>,
    },
    /// A representation item lists no participants, so no VAT base can be computed.
    #[error("items[{item}].participants: representation lists no participants")]
    Participants {
        /// The item.
        item: usize,
    },
    /// An allowance item has no tax-free limit: no table for its year, or bad days.
    #[error("items[{item}]: {error}")]
    Allowances {
        /// The item.
        item: usize,
        /// Why.
        error: AllowancesError,
    },
    /// Every amount of the claim is zero: there is nothing to book.
    #[error("claim: every amount is zero, nothing to book")]
    NothingToBook,
    /// An amount left the range the arithmetic holds (cannot happen for valid records).
    #[error("items[{item}]: amount out of range")]
    Overflow {
        /// The item.
        item: usize,
    },
    /// The voucher number is above what SIE numbers (u32).
    #[error("number: voucher number {number} is above {max}, the most SIE numbers", max = u32::MAX)]
    Number {
        /// The number.
        number: u64,
    },
    /// The SIE writer would refuse the voucher (it never refuses text).
    #[error("voucher: {0}")]
    Unwritable(crate::sie::SieError),
}
