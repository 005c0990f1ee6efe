//! Accounting at the SSC (`kvitt_books`, spec/books.md): hand-checked bookings,
//! one per rule and edge, with the arithmetic in a comment; every voucher balances for
//! random claims; the booking table's checks; and the SIE 4I file byte for byte.
//!
//! One test binary, by theme: [`examples`] (hand-checked vouchers), [`refusals`] (claims
//! that cannot be booked, each with its error), [`table`] (the booking table as data),
//! [`sie`] (PC8, quoting, a whole file) and [`properties`] (random claims balance).
#![allow(clippy::unwrap_used)]

mod allowances;
mod examples;
mod numbered;
mod properties;
mod rates;
mod refusals;
mod sie;
mod table;

use ed25519_dalek::SigningKey;
use kvitt_books::{book, AgencyBooks, AllowanceTables, BookingError, BookingTable, ClaimReceipts, Voucher};
use kvitt_protocol::claim::{Booking, Claim, ClaimItem, ExchangeRate, ForeignAmount, MealsProvided, Vehicle};
use kvitt_protocol::receipt::{Address, Buyer, Line, LineKind, Merchant, Payment, Receipt};
use kvitt_protocol::sample::{line, AGENCY_ORG, EMPLOYEE, MERCHANT_ORG};
use kvitt_protocol::{Record, Signed};
use time::macros::date;
use time::Date;

/// The agency's corporate card, as receipts print it.
const CORPORATE_CARD: &str = "492500******1234";
/// The employee's own card.
const OWN_CARD: &str = "************9876";
/// The day the SSC books.
const BOOKED_ON: Date = date!(2026 - 05 - 10);

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn sign<T: Record>(body: T) -> Signed<T> {
    Signed::sign(body, &key()).unwrap()
}

/// The agency's books: series `K`, one corporate card.
fn books() -> AgencyBooks {
    AgencyBooks {
        org: AGENCY_ORG.into(),
        name: "Myndigheten för kvitton".into(),
        series: "K".into(),
        corporate_cards: vec![CORPORATE_CARD.into()],
    }
}

fn table() -> &'static BookingTable {
    BookingTable::default_table().unwrap()
}

/// The compiled-in allowances, 2025 and 2026.
fn allowances() -> &'static AllowanceTables {
    AllowanceTables::default_tables().unwrap()
}

/// How a receipt was paid.
#[derive(Clone, Copy)]
enum Paid {
    /// In full with the agency's corporate card.
    CorporateCard,
    /// In full with the employee's own card.
    OwnCard,
    /// `card` minor units with the corporate card, the rest in cash.
    Split { card: i64 },
}

fn card(amount: i64, masked_pan: &str) -> Payment {
    Payment::Card {
        amount,
        masked_pan: masked_pan.into(),
        brand: "Visa".into(),
        rrn: "612345678901".into(),
        terminal: "T-1".into(),
        approval_code: "A1B2C3".into(),
    }
}

/// A receipt from the Swedish seller `name` issued on 2026-05-04, bought by the agency
/// (and by [`EMPLOYEE`] when `employee`), totals computed from `lines`.
fn swedish_receipt(name: &str, lines: Vec<Line>, paid: Paid, employee: bool) -> Receipt {
    receipt_in(
        Merchant {
            name: name.into(),
            org: MERCHANT_ORG.into(),
            vat_number: Some(format!("SE{}01", MERCHANT_ORG.replace('-', ""))),
            address: Address {
                street: "Drottninggatan 1".into(),
                postal_code: "111 51".into(),
                city: "Stockholm".into(),
                country: "SE".into(),
            },
        },
        "SEK",
        lines,
        paid,
        employee,
    )
}

/// A hotel in Berlin, a German seller without a VAT number on its receipts.
fn spreeufer() -> Merchant {
    Merchant {
        name: "Hotel am Spreeufer".into(),
        org: "DE:HRB-12345".into(),
        vat_number: None,
        address: Address {
            street: "Uferstraße 5".into(),
            postal_code: "10117".into(),
            city: "Berlin".into(),
            country: "DE".into(),
        },
    }
}

fn receipt_in(merchant: Merchant, currency: &str, lines: Vec<Line>, paid: Paid, employee: bool) -> Receipt {
    let receipt = Receipt {
        merchant,
        register: "KASSA-1".into(),
        serial: 1,
        control_unit: "CU-1".into(),
        issued_at: "2026-05-04T19:30:00+02:00".into(),
        currency: currency.into(),
        lines,
        vat: vec![],
        rounding: 0,
        total: 0,
        payments: vec![],
        buyer: Some(Buyer { agency: AGENCY_ORG.into(), employee: employee.then(|| EMPLOYEE.into()) }),
        original: None,
    }
    .with_computed_totals();
    let total = receipt.total;
    let payments = match paid {
        Paid::CorporateCard => vec![card(total, CORPORATE_CARD)],
        Paid::OwnCard => vec![card(total, OWN_CARD)],
        Paid::Split { card: on_card } => {
            vec![card(on_card, CORPORATE_CARD), Payment::Cash { amount: total - on_card }]
        }
    };
    let receipt = Receipt { payments, ..receipt };
    receipt.validate().unwrap();
    receipt
}

/// A claim item for `receipt`, `amount` öre, booked to `account`.
fn receipt_item(receipt: &Signed<Receipt>, amount: i64, account: u16, participants: &[&str]) -> ClaimItem {
    ClaimItem::Receipt {
        receipt: receipt.id(),
        business_purpose: "Tjänsteresa".into(),
        amount,
        booking: Booking { account, cost_center: "CC-100".into(), project: None },
        foreign: None,
        participants: participants.iter().map(|name| (*name).into()).collect(),
    }
}

/// A claim item for the whole of `receipt`, booked to `account`.
fn whole(receipt: &Signed<Receipt>, account: u16) -> ClaimItem {
    receipt_item(receipt, receipt.body().total, account, &[])
}

fn per_diem(days: u32, daily_amount: i64, breakfasts: u32, meal_reduction: i64) -> ClaimItem {
    ClaimItem::PerDiem {
        start: "2026-05-04".into(),
        end: "2026-05-06".into(),
        destination: "Göteborg".into(),
        business_purpose: "Konferens".into(),
        days,
        daily_amount,
        meals: MealsProvided { breakfasts, lunches: 0, dinners: 0 },
        meal_reduction,
        amount: i64::from(days) * daily_amount - meal_reduction,
        booking: Booking { account: 7321, cost_center: "CC-100".into(), project: None },
    }
}

fn mileage(km: u32, rate_per_km: i64) -> ClaimItem {
    ClaimItem::Mileage {
        date: "2026-05-04".into(),
        route: "Sundsvall - Härnösand".into(),
        business_purpose: "Tillsyn".into(),
        km,
        vehicle: Vehicle::OwnCar,
        rate_per_km,
        amount: i64::from(km) * rate_per_km,
        booking: Booking { account: 7331, cost_center: "CC-100".into(), project: None },
    }
}

fn foreign_item(receipt: &Signed<Receipt>, rate: ExchangeRate, account: u16) -> ClaimItem {
    let body = receipt.body();
    let amount = rate.convert(body.total, &body.currency).unwrap();
    ClaimItem::Receipt {
        receipt: receipt.id(),
        business_purpose: "Möte i Berlin".into(),
        amount,
        booking: Booking { account, cost_center: "CC-100".into(), project: None },
        foreign: Some(ForeignAmount {
            amount: body.total,
            currency: body.currency.clone(),
            rate,
            rate_date: "2026-05-04".into(),
            rate_source: "riksbanken".into(),
        }),
        participants: vec![],
    }
}

fn claim(items: Vec<ClaimItem>) -> Signed<Claim> {
    sign(Claim {
        number: "2026-000042".into(),
        agency: AGENCY_ORG.into(),
        claimant: EMPLOYEE.into(),
        purpose: "Konferens".into(),
        created_at: "2026-05-06T10:00:00+02:00".into(),
        items,
    })
}

fn book_with(items: Vec<ClaimItem>, receipts: &[Signed<Receipt>]) -> Result<Voucher, BookingError> {
    book(table(), allowances(), &books(), &claim(items), ClaimReceipts::named(receipts), BOOKED_ON)
}

/// The voucher's rows as (account, öre), after checking that they balance.
fn rows(voucher: &Voucher) -> Vec<(u16, i64)> {
    assert_eq!(voucher.balance(), 0, "{voucher:#?}");
    voucher.rows.iter().map(|row| (row.account, row.amount)).collect()
}
