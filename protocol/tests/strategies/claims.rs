//! Claims: items attaching receipts (some in a foreign currency), mileage and per diem.

use kvitt_protocol::claim::{Booking, Claim, ClaimItem, ExchangeRate, ForeignAmount, MealsProvided, Vehicle};
use kvitt_protocol::fields::format_date;
use kvitt_protocol::limits::MAX_AMOUNT_MINOR;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use time::Duration;

use super::fields::{any_date, any_time, code, free_text, name_text, record_id, short_text, swedish_org};

fn booking() -> impl Strategy<Value = Booking> {
    (1000u16..=8999, code(), option::of(short_text())).prop_map(|(account, cost_center, project)| Booking {
        account,
        cost_center,
        project,
    })
}

/// A foreign amount and its conversion with `ExchangeRate::convert`, kept within
/// `MAX_AMOUNT_MINOR` (a rate that would exceed it is scaled down).
fn foreign_amount() -> impl Strategy<Value = (ForeignAmount, i64)> {
    (
        0i64..=1_000_000_000,
        select(vec!["EUR", "USD", "NOK", "DKK", "GBP", "CHF", "JPY", "ISK", "KWD", "BHD"]),
        1u64..=1_000_000_000_000,
        0u32..=9,
        any_date(),
        prop_oneof![Just("riksbanken".to_owned()), Just("card-issuer".to_owned()), code()],
    )
        .prop_map(|(amount, currency, value, scale, rate_date, rate_source)| {
            let mut rate = ExchangeRate { value, scale };
            if rate.convert(amount, currency).is_none_or(|sek| sek > MAX_AMOUNT_MINOR) {
                rate = ExchangeRate { value: value % 1_000_000 + 1, scale: 9 };
            }
            let sek = rate.convert(amount, currency).unwrap();
            let foreign = ForeignAmount {
                amount,
                currency: currency.to_owned(),
                rate,
                rate_date: format_date(rate_date),
                rate_source,
            };
            (foreign, sek)
        })
}

fn receipt_item() -> impl Strategy<Value = ClaimItem> {
    (
        record_id(),
        free_text(),
        0i64..=MAX_AMOUNT_MINOR,
        option::of(foreign_amount()),
        booking(),
        vec(name_text(), 0..=3),
    )
        .prop_map(|(receipt, business_purpose, amount, foreign, booking, participants)| {
            let (foreign, amount) = match foreign {
                Some((foreign, sek)) => (Some(foreign), sek),
                None => (None, amount),
            };
            ClaimItem::Receipt { receipt, business_purpose, amount, booking, foreign, participants }
        })
}

fn mileage_item() -> impl Strategy<Value = ClaimItem> {
    (
        any_date(),
        name_text(),
        free_text(),
        1u32..=kvitt_protocol::limits::MAX_MILEAGE_KM,
        select(vec![Vehicle::OwnCar, Vehicle::CompanyCarFuel, Vehicle::CompanyCarElectric]),
        0i64..=100_000,
        booking(),
    )
        .prop_map(|(date, route, business_purpose, km, vehicle, rate_per_km, booking)| {
            ClaimItem::Mileage {
                date: format_date(date),
                route,
                business_purpose,
                km,
                vehicle,
                rate_per_km,
                amount: i64::from(km) * rate_per_km,
                booking,
            }
        })
}

fn per_diem_item() -> impl Strategy<Value = ClaimItem> {
    (
        any_date(),
        0i64..400,
        (name_text(), free_text()),
        any::<u32>(),
        0i64..=1_000_000,
        any::<(u32, u32, u32)>(),
        0i64..=1000,
        booking(),
    )
        .prop_map(
            |(
                start,
                extra_days,
                (destination, business_purpose),
                days_pick,
                daily_amount,
                meals,
                share,
                booking,
            )| {
                let span = u32::try_from(extra_days + 1).unwrap();
                let days = 1 + days_pick % span.min(366);
                let meals = MealsProvided {
                    breakfasts: meals.0 % (days + 1),
                    lunches: meals.1 % (days + 1),
                    dinners: meals.2 % (days + 1),
                };
                let gross = i64::from(days) * daily_amount;
                let meal_reduction = gross * share / 1000;
                ClaimItem::PerDiem {
                    start: format_date(start),
                    end: format_date(start + Duration::days(extra_days)),
                    destination,
                    business_purpose,
                    days,
                    daily_amount,
                    meals,
                    meal_reduction,
                    amount: gross - meal_reduction,
                    booking,
                }
            },
        )
}

/// A valid claim: 1-12 items of every kind (receipts, some in foreign currency, mileage,
/// per diem), each receipt attached once.
pub fn claim() -> impl Strategy<Value = Claim> {
    (
        code(),
        swedish_org(),
        short_text(),
        free_text(),
        any_time(),
        vec(prop_oneof![2 => receipt_item(), 1 => mileage_item(), 1 => per_diem_item()], 1..=12),
    )
        .prop_map(|(number, agency, claimant, purpose, created_at, mut items)| {
            // Mark each receipt id with its item's index, so no receipt is attached twice.
            for (index, item) in items.iter_mut().enumerate() {
                if let ClaimItem::Receipt { receipt, .. } = item {
                    receipt.0[0] = u8::try_from(index).unwrap();
                }
            }
            Claim { number, agency, claimant, purpose, created_at, items }
        })
}
