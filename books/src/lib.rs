//! Accounting at the shared service center: the booking table (data the SSC configures),
//! booking an approved claim into one balanced voucher, and the SIE 4 (type 4I) file that
//! accounting systems import. Pure logic: the date of booking and of the file are
//! arguments, and the SIE writer returns bytes. spec/books.md is the specification.
//!
//! Accounting, not protocol: it reads the records of `kvitt-protocol` and signs nothing,
//! so it is a crate of its own, which only the SSC's side of the node needs.
//!
//! ```
//! use kvitt_books::{BookingTable, format_amount};
//!
//! let table = BookingTable::default_table().unwrap();
//! assert_eq!(table.account_name(5831), Some("Kost och logi i Sverige"));
//! assert_eq!(table.suggested_account("hotel", false), Some(5831));
//! assert_eq!(table.suggested_account("hotel", true), Some(5832));
//! assert_eq!(format_amount(-9_900), "-99.00");
//! ```

#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

pub mod allowances;
mod booking_error;
pub mod numbered;
pub mod rates;
pub mod sie;
pub mod table;
mod table_error;
pub mod voucher;

pub use allowances::{
    AllowanceTables, Allowances, AllowancesError, MealReductions, MileageLimits, PerDiemDays, PerDiemLimits,
    TaxSplit, ALLOWANCES_2025_JSON, ALLOWANCES_2026_JSON, ALLOWANCES_FORMAT_VERSION,
};
pub use numbered::{book_numbered, reverse};
pub use rates::{
    check_rates, format_basis_points, parse_rate, RateFinding, RatesError, Reference, ReferenceRates,
    EXAMPLE_RATES_JSON, RATES_FORMAT_VERSION,
};
pub use sie::{
    check_voucher, encode_pc8, format_amount, format_date, is_pc8, quote, to_pc8, write_sie, SieError,
    SieHeader,
};
pub use table::{
    BookingTable, BuyerNamedBy, Category, ItemKind, Place, SimplifiedInvoice, TableError, VatRule,
    BOOKING_TABLE_FORMAT_VERSION, DEFAULT_BOOKING_TABLE_JSON,
};
pub use voucher::{
    book, check_place, AgencyBooks, BookingError, ClaimReceipts, PayrollLine, Voucher, VoucherRow,
};
