//! The records the edge tests start from: the fixtures, changed and settled.

use kvitt_protocol::claim::{Booking, Claim, ClaimItem, ExchangeRate, ForeignAmount, MealsProvided, Vehicle};
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::event::{Action, ClaimEvent};
use kvitt_protocol::receipt::{Discount, Line, Merchant, Payment, Receipt};
use kvitt_protocol::{AnyRecord, RecordId, Signed};

use crate::named;
use crate::strategies::{org_number, KEY_POOL};

fn payment_amount(payment: &mut Payment) -> &mut i64 {
    match payment {
        Payment::Cash { amount }
        | Payment::Card { amount, .. }
        | Payment::Swish { amount, .. }
        | Payment::GiftCard { amount, .. }
        | Payment::Other { amount, .. } => amount,
    }
}

/// The receipt with its line amounts, VAT and total computed from its lines, and its first
/// payment taking whatever of the total the other payments leave.
pub fn settle(receipt: Receipt) -> Receipt {
    let mut receipt = receipt.with_computed_totals();
    let others: i64 = receipt.payments.iter().skip(1).map(Payment::amount).sum();
    let total = receipt.total;
    if let Some(first) = receipt.payments.first_mut() {
        *payment_amount(first) = total - others;
    }
    receipt
}

/// The fixture receipt (Swedish hotel, two lines, one card payment), changed and settled.
pub fn receipt_with(change: impl FnOnce(&mut Receipt)) -> Receipt {
    let mut receipt = named::receipt();
    change(&mut receipt);
    settle(receipt)
}

/// A Swedish receipt of the one line `line`.
pub fn receipt_of(line: Line) -> Receipt {
    receipt_with(|receipt| receipt.lines = vec![line])
}

/// A 25 % sale of `quantity_milli` thousandths at `unit_price`.
pub fn sale(quantity_milli: i64, unit_price: i64) -> Line {
    named::line("Vara", "general", quantity_milli, unit_price, 2500)
}

pub use kvitt_test_support::named::text_line;

pub fn discount(amount: i64) -> Discount {
    Discount { description: "Kupong".into(), amount }
}

/// A receipt from a German seller, in euro, without a VAT number.
pub fn foreign_receipt() -> Receipt {
    receipt_with(|receipt| {
        receipt.merchant = Merchant {
            name: "Hotel Kvitt GmbH".into(),
            org: "DE:HRB12345".into(),
            vat_number: None,
            address: kvitt_protocol::receipt::Address {
                street: "Unter den Linden 1".into(),
                postal_code: "10117".into(),
                city: "Berlin".into(),
                country: "DE".into(),
            },
        };
        receipt.currency = "EUR".into();
    })
}

/// The fixture claim, attaching one receipt for its total.
pub fn claim() -> Claim {
    named::claim(RecordId([1; 32]), 156_400)
}

fn booking() -> Booking {
    Booking { account: 5800, cost_center: "CC-100".into(), project: None }
}

/// A claim of the one item `item`.
fn claim_of(item: ClaimItem) -> Claim {
    Claim { items: vec![item], ..claim() }
}

/// A claim for a receipt in a foreign currency, converted at `rate`.
pub fn foreign_claim(amount: i64, currency: &str, rate: ExchangeRate) -> Claim {
    claim_of(ClaimItem::Receipt {
        receipt: RecordId([2; 32]),
        business_purpose: "Hotell i Berlin".into(),
        amount: rate.convert(amount, currency).unwrap_or(0),
        booking: booking(),
        foreign: Some(ForeignAmount {
            amount,
            currency: currency.into(),
            rate,
            rate_date: "2026-05-04".into(),
            rate_source: "riksbanken".into(),
        }),
        participants: vec![],
    })
}

/// A claim for driving `km` at `rate_per_km`, its amount computed.
pub fn mileage(km: u32, rate_per_km: i64) -> Claim {
    claim_of(ClaimItem::Mileage {
        date: "2026-05-04".into(),
        route: "Stockholm–Uppsala t/r".into(),
        business_purpose: "Kundbesök".into(),
        km,
        vehicle: Vehicle::OwnCar,
        rate_per_km,
        amount: i64::from(km) * rate_per_km,
        booking: booking(),
    })
}

/// A per-diem claim; its amount is `days × daily_amount − meal_reduction`.
pub fn per_diem(
    start: &str,
    end: &str,
    days: u32,
    daily_amount: i64,
    meals: MealsProvided,
    reduction: i64,
) -> Claim {
    claim_of(ClaimItem::PerDiem {
        start: start.into(),
        end: end.into(),
        destination: "Göteborg".into(),
        business_purpose: "Konferens".into(),
        days,
        daily_amount,
        meals,
        meal_reduction: reduction,
        amount: i64::from(days) * daily_amount - reduction,
        booking: booking(),
    })
}

pub fn event(action: Action) -> ClaimEvent {
    ClaimEvent { action, ..named::submitted(RecordId([3; 32])) }
}

/// A member with a counter-derived key and organisation number, and one address.
pub fn member(index: usize, role: MemberRole) -> Member {
    let number = u32::try_from(index).unwrap();
    Member {
        role,
        org: org_number(100_000_000 + number),
        name: format!("Medlem {index}"),
        key: KEY_POOL[index],
        addresses: vec![format!("10.0.{}.{}:7400", index / 256, index % 256)],
        serves: vec![],
    }
}

/// A directory of `count` members: an SSC serving a third of the members, which are
/// agencies, and merchants.
pub fn directory_of(count: usize) -> Directory {
    let mut members: Vec<Member> = (0..count)
        .map(|index| {
            let role = match index {
                0 => MemberRole::Ssc,
                _ if index % 3 == 1 => MemberRole::Agency,
                _ => MemberRole::Merchant,
            };
            member(index, role)
        })
        .collect();
    let agencies: Vec<String> = members
        .iter()
        .filter(|member| member.role == MemberRole::Agency)
        .map(|member| member.org.clone())
        .collect();
    if let Some(ssc) = members.first_mut() {
        ssc.serves = agencies;
    }
    Directory { members, ..named::directory() }
}

/// A receipt item for receipt number `index`.
pub fn receipt_item(index: usize, business_purpose: String) -> ClaimItem {
    let mut id = [9; 32];
    id[..8].copy_from_slice(&(index as u64).to_le_bytes());
    ClaimItem::Receipt {
        receipt: RecordId(id),
        business_purpose,
        amount: 10_000,
        booking: booking(),
        foreign: None,
        participants: vec![],
    }
}

/// Two receipts on one register with one serial, by the fixture merchant.
pub fn conflicting_receipts() -> (AnyRecord, AnyRecord) {
    let key = named::key("merchant");
    let first = Signed::sign(named::receipt(), &key).unwrap();
    let second =
        Signed::sign(receipt_with(|receipt| receipt.issued_at = "2026-05-04T08:16:00+02:00".into()), &key)
            .unwrap();
    (AnyRecord::Receipt(first), AnyRecord::Receipt(second))
}
