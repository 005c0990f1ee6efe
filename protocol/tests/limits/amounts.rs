//! Amounts and numbers: amounts, quantities, rates, days, accounts, card numbers,
//! addresses, GTINs, times and dates.

use kvitt_protocol::claim::{Claim, ClaimItem, ExchangeRate, MealsProvided};
use kvitt_protocol::directory::Directory;
use kvitt_protocol::event::{Action, ClaimEvent};
use kvitt_protocol::evidence::Evidence;
use kvitt_protocol::limits::*;
use kvitt_protocol::receipt::{Line, LineKind, Payment, Receipt};
use kvitt_protocol::{ErrorCode, RecordId};

use crate::records::{
    claim, conflicting_receipts, discount, event, foreign_claim, foreign_receipt, mileage, per_diem,
    receipt_of, receipt_with, sale, settle,
};
use crate::{accepted, named, refused, signs_and_decodes, strategies};

#[test]
fn unit_price_up_to_max_amount() {
    accepted(&receipt_of(sale(1000, MAX_AMOUNT_MINOR)), "unit price MAX_AMOUNT_MINOR");
    accepted(&receipt_of(sale(1000, 0)), "unit price 0");
    refused(
        &receipt_of(sale(1000, MAX_AMOUNT_MINOR + 1)),
        ErrorCode::Range,
        "lines[0].unit_price",
        "one past",
    );
    // with_computed_totals leaves no amount for a line it cannot price; give it one.
    let mut negative = receipt_of(sale(1000, -1));
    negative.lines[0].amount = Some(-1);
    refused(&negative, ErrorCode::Range, "lines[0].unit_price", "negative");
}

#[test]
fn line_amount_up_to_max_amount() {
    // 2 × (MAX/2 + 1) = MAX + 2, less a discount of 2 (MAX) or 1 (MAX + 1).
    let line = |discount_amount: i64| Line {
        discounts: vec![discount(discount_amount)],
        ..sale(2000, MAX_AMOUNT_MINOR / 2 + 1)
    };
    let at_limit = receipt_of(line(2));
    assert_eq!(at_limit.lines[0].amount, Some(MAX_AMOUNT_MINOR));
    accepted(&at_limit, "line amount MAX_AMOUNT_MINOR");
    let over = receipt_of(line(1));
    assert_eq!(over.lines[0].amount, Some(MAX_AMOUNT_MINOR + 1));
    refused(&over, ErrorCode::Range, "lines[0].amount", "line amount one past");
    let returned = receipt_with(|receipt| {
        receipt.lines = vec![Line { kind: LineKind::Return, ..line(2) }];
        receipt.original = Some(RecordId([4; 32]));
    });
    assert_eq!(returned.total, -MAX_AMOUNT_MINOR);
    accepted(&returned, "a return of −MAX_AMOUNT_MINOR");
    let returned = receipt_with(|receipt| {
        receipt.lines = vec![Line { kind: LineKind::Return, ..line(1) }];
        receipt.original = Some(RecordId([4; 32]));
    });
    refused(&returned, ErrorCode::Range, "lines[0].amount", "a return one past");
}

#[test]
fn discounts_up_to_the_price_and_max_amount() {
    let line = |quantity: i64, price: i64, amount: i64| Line {
        discounts: vec![discount(amount)],
        ..sale(quantity, price)
    };
    accepted(&receipt_of(line(2000, MAX_AMOUNT_MINOR, MAX_AMOUNT_MINOR)), "a discount of MAX_AMOUNT_MINOR");
    refused(
        &receipt_of(line(2000, MAX_AMOUNT_MINOR, MAX_AMOUNT_MINOR + 1)),
        ErrorCode::Range,
        "lines[0].discounts[0].amount",
        "a discount one past",
    );
    refused(
        &receipt_of(line(1000, 100, 0)),
        ErrorCode::Range,
        "lines[0].discounts[0].amount",
        "a zero discount",
    );
    // Discounts may take the whole price (amount 0), not one öre more.
    let free = receipt_of(line(1000, 100, 100));
    assert_eq!(free.lines[0].amount, Some(0));
    accepted(&free, "discounts equal to the price");
    // with_computed_totals leaves no amount for a line it cannot price; give it one.
    let mut over = receipt_of(line(1000, 100, 101));
    over.lines[0].amount = Some(-1);
    refused(&over, ErrorCode::Range, "lines[0].discounts", "discounts one past the price");
}

#[test]
fn total_and_payments_up_to_max_amount() {
    let two_lines = |second: i64, rounding: i64| {
        receipt_with(|receipt| {
            receipt.lines = vec![sale(1000, MAX_AMOUNT_MINOR - 1000), sale(1000, second)];
            receipt.rounding = rounding;
        })
    };
    let at_limit = two_lines(1000, 0);
    assert_eq!(at_limit.total, MAX_AMOUNT_MINOR);
    accepted(&at_limit, "total MAX_AMOUNT_MINOR");
    refused(&two_lines(1001, 0), ErrorCode::Range, "total", "total one past, by a line");
    accepted(&two_lines(950, 50), "total MAX_AMOUNT_MINOR with rounding");
    refused(&two_lines(1000, 1), ErrorCode::Range, "total", "total one past, by rounding");

    let returns = |rounding: i64| {
        receipt_with(|receipt| {
            receipt.lines = vec![Line { kind: LineKind::Return, ..sale(1000, MAX_AMOUNT_MINOR) }];
            receipt.rounding = rounding;
            receipt.original = Some(RecordId([4; 32]));
        })
    };
    accepted(&returns(0), "total −MAX_AMOUNT_MINOR");
    refused(&returns(-1), ErrorCode::Range, "total", "total one past −MAX_AMOUNT_MINOR");

    // One payment beyond the limit, another bringing the sum back to the total.
    let mut payments = named::receipt();
    let total = payments.total;
    payments.payments = vec![
        Payment::Cash { amount: MAX_AMOUNT_MINOR + 1 },
        Payment::Cash { amount: total - MAX_AMOUNT_MINOR - 1 },
    ];
    refused(&payments, ErrorCode::Range, "payments[0].amount", "a payment one past");
    payments.payments =
        vec![Payment::Cash { amount: MAX_AMOUNT_MINOR }, Payment::Cash { amount: total - MAX_AMOUNT_MINOR }];
    accepted(&payments, "a payment of MAX_AMOUNT_MINOR");
}

#[test]
fn quantity_up_to_max_quantity() {
    accepted(&receipt_of(sale(MAX_QUANTITY_MILLI, 100)), "MAX_QUANTITY_MILLI");
    accepted(&receipt_of(sale(1, 100)), "one thousandth");
    refused(
        &receipt_of(sale(MAX_QUANTITY_MILLI + 1, 100)),
        ErrorCode::Range,
        "lines[0].quantity",
        "one past",
    );
    refused(&receipt_of(sale(0, 100)), ErrorCode::Range, "lines[0].quantity", "zero");
}

#[test]
fn rounding_within_plus_minus_max_rounding() {
    let rounding = |rounding: i64| receipt_with(|receipt| receipt.rounding = rounding);
    accepted(&rounding(MAX_ROUNDING_MINOR), "+MAX_ROUNDING_MINOR");
    accepted(&rounding(-MAX_ROUNDING_MINOR), "−MAX_ROUNDING_MINOR");
    refused(&rounding(MAX_ROUNDING_MINOR + 1), ErrorCode::Range, "rounding", "one past +");
    refused(&rounding(-MAX_ROUNDING_MINOR - 1), ErrorCode::Range, "rounding", "one past −");
}

#[test]
fn foreign_vat_rate_up_to_5000() {
    let rate = |rate: u32| {
        let mut receipt = foreign_receipt();
        receipt.lines[0].vat_rate = Some(rate);
        settle(receipt)
    };
    accepted(&rate(5000), "50 %");
    accepted(&rate(0), "0 %");
    refused(&rate(5001), ErrorCode::Range, "lines[0].vat_rate", "50.01 %");
}

#[test]
fn receipt_item_amounts_up_to_max_amount() {
    let claim = |value: i64| {
        let mut claim = claim();
        if let ClaimItem::Receipt { amount, .. } = &mut claim.items[0] {
            *amount = value;
        }
        claim
    };
    accepted(&claim(MAX_AMOUNT_MINOR), "MAX_AMOUNT_MINOR");
    accepted(&claim(0), "zero");
    refused(&claim(MAX_AMOUNT_MINOR + 1), ErrorCode::Range, "items[0].amount", "one past");
    refused(&claim(-1), ErrorCode::Range, "items[0].amount", "negative");

    // 10^13 cents at 10^-9 SEK per euro is 10 000 öre.
    let rate = ExchangeRate { value: 1, scale: 9 };
    accepted(&foreign_claim(MAX_AMOUNT_MINOR, "EUR", rate), "a foreign amount of MAX_AMOUNT_MINOR");
    accepted(&foreign_claim(0, "EUR", rate), "a foreign amount of zero");
    let path = "items[0].foreign.amount";
    refused(&foreign_claim(MAX_AMOUNT_MINOR + 1, "EUR", rate), ErrorCode::Range, path, "one past");
    refused(&foreign_claim(-1, "EUR", rate), ErrorCode::Range, path, "negative");
}

#[test]
fn exchange_rates_value_up_to_10_to_12_and_scale_up_to_9() {
    let rate = |value: u64, scale: u32| foreign_claim(1, "EUR", ExchangeRate { value, scale });
    accepted(&rate(1_000_000_000_000, 0), "value 10^12");
    accepted(&rate(1, 0), "value 1");
    accepted(&rate(114_523, 9), "scale 9");
    refused(&rate(1_000_000_000_001, 0), ErrorCode::Range, "items[0].foreign.rate.value", "value 10^12 + 1");
    refused(&rate(u64::MAX, 0), ErrorCode::Range, "items[0].foreign.rate.value", "value u64::MAX");
    refused(&rate(0, 0), ErrorCode::Range, "items[0].foreign.rate.value", "value 0");
    refused(&rate(114_523, 10), ErrorCode::Range, "items[0].foreign.rate.scale", "scale 10");
}

#[test]
fn mileage_km_up_to_max_mileage_and_rate_up_to_100000() {
    accepted(&mileage(MAX_MILEAGE_KM, 250), "MAX_MILEAGE_KM");
    accepted(&mileage(1, 250), "1 km");
    refused(&mileage(MAX_MILEAGE_KM + 1, 250), ErrorCode::Range, "items[0].km", "one km past");
    refused(&mileage(0, 250), ErrorCode::Range, "items[0].km", "0 km");
    accepted(&mileage(MAX_MILEAGE_KM, 100_000), "the largest mileage amount");
    accepted(&mileage(42, 0), "rate 0");
    refused(&mileage(42, 100_001), ErrorCode::Range, "items[0].rate_per_km", "rate one past");
    refused(&mileage(42, -1), ErrorCode::Range, "items[0].rate_per_km", "negative rate");
}

#[test]
fn per_diem_days_within_the_trip_and_max_per_diem_days() {
    let none = MealsProvided::default();
    let days = |start: &str, end: &str, days: u32| per_diem(start, end, days, 29_000, none, 0);
    accepted(&days("2026-05-04", "2026-05-06", 3), "three days of a three-day trip");
    refused(&days("2026-05-04", "2026-05-06", 4), ErrorCode::Range, "items[0].days", "four days of three");
    refused(&days("2026-05-04", "2026-05-06", 0), ErrorCode::Range, "items[0].days", "zero days");
    accepted(&days("2026-05-04", "2026-05-04", 1), "a one-day trip");
    refused(
        &days("2026-05-04", "2026-05-03", 1),
        ErrorCode::DateOrder,
        "items[0].end",
        "ending before it starts",
    );
    // 2028 is a leap year: 366 days from 1 January to 31 December.
    accepted(&days("2028-01-01", "2028-12-31", 366), "all of 2028");
    // A trip of 367 days: MAX_PER_DIEM_DAYS, not the trip, bounds the days.
    accepted(&days("2027-01-01", "2028-01-02", MAX_PER_DIEM_DAYS as u32), "MAX_PER_DIEM_DAYS of 367");
    refused(
        &days("2027-01-01", "2028-01-02", MAX_PER_DIEM_DAYS as u32 + 1),
        ErrorCode::Range,
        "items[0].days",
        "one day past MAX_PER_DIEM_DAYS",
    );
}

#[test]
fn per_diem_amounts_meals_and_reductions_at_their_bounds() {
    let none = MealsProvided::default();
    let daily = |amount: i64| per_diem("2026-05-04", "2026-05-06", 3, amount, none, 0);
    accepted(&daily(1_000_000), "1 000 000 öre a day");
    accepted(&daily(0), "nothing a day");
    refused(&daily(1_000_001), ErrorCode::Range, "items[0].daily_amount", "one öre past");
    refused(&daily(-1), ErrorCode::Range, "items[0].daily_amount", "negative");

    let meals = |meals: MealsProvided| per_diem("2026-05-04", "2026-05-06", 3, 29_000, meals, 0);
    accepted(&meals(MealsProvided { breakfasts: 3, lunches: 3, dinners: 3 }), "every meal of three days");
    for (field, over) in [
        ("breakfasts", MealsProvided { breakfasts: 4, ..none }),
        ("lunches", MealsProvided { lunches: 4, ..none }),
        ("dinners", MealsProvided { dinners: 4, ..none }),
    ] {
        refused(&meals(over), ErrorCode::Range, &format!("items[0].meals.{field}"), "four of three days");
    }

    let reduction = |amount: i64| per_diem("2026-05-04", "2026-05-06", 3, 29_000, none, amount);
    accepted(&reduction(87_000), "the whole allowance deducted");
    refused(&reduction(87_001), ErrorCode::Range, "items[0].meal_reduction", "one öre past");
    refused(&reduction(-1), ErrorCode::Range, "items[0].meal_reduction", "negative");
}

#[test]
fn bas_accounts_1000_to_8999() {
    let account = |account: u16| {
        let mut claim = claim();
        if let ClaimItem::Receipt { booking, .. } = &mut claim.items[0] {
            booking.account = account;
        }
        claim
    };
    refused(&account(999), ErrorCode::Account, "items[0].booking.account", "999");
    accepted(&account(1000), "1000");
    accepted(&account(8999), "8999");
    refused(&account(9000), ErrorCode::Account, "items[0].booking.account", "9000");
}

#[test]
fn booked_numbers_from_1() {
    let booked = |number: u64| event(Action::Booked { series: "A".into(), number });
    refused(&booked(0), ErrorCode::Range, "action.number", "voucher 0");
    accepted(&booked(1), "voucher 1");
    accepted(&booked(u64::MAX), "voucher u64::MAX");
}

#[test]
fn masked_card_numbers_12_to_19_characters() {
    let pan = |masked: &str| {
        receipt_with(|receipt| {
            if let Payment::Card { masked_pan, .. } = &mut receipt.payments[0] {
                *masked_pan = masked.into();
            }
        })
    };
    let path = "payments[0].masked_pan";
    for ok in
        ["********1234", "***************1234", "492500******1234", "492500*********1234", "************"]
    {
        accepted(&pan(ok), ok);
    }
    for bad in ["*******1234", "****************1234", "4925001*****1234", "*******12345", "4925001234561234"]
    {
        refused(&pan(bad), ErrorCode::MaskedPan, path, bad);
    }
}

#[test]
fn addresses_host_up_to_253_bytes_and_port_1_to_65535() {
    let address = |address: String| {
        let mut directory = named::directory();
        directory.members[0].addresses = vec![address];
        directory
    };
    let path = "members[0].addresses[0]";
    accepted(&address(format!("{}:7400", "a".repeat(253))), "a 253-byte host");
    refused(&address(format!("{}:7400", "a".repeat(254))), ErrorCode::Address, path, "a 254-byte host");
    accepted(&address("node.example:65535".into()), "port 65535");
    accepted(&address("node.example:1".into()), "port 1");
    refused(&address("node.example:65536".into()), ErrorCode::Address, path, "port 65536");
    refused(&address("node.example:0".into()), ErrorCode::Address, path, "port 0");
}

#[test]
fn gtins_of_8_12_13_or_14_digits() {
    let gtin = |digits: &str| receipt_with(|receipt| receipt.lines[0].gtin = Some(strategies::gtin(digits)));
    for length in [8, 12, 13, 14] {
        accepted(&gtin(&"7".repeat(length - 1)), &format!("{length} digits"));
    }
    for length in [7, 9, 11, 15] {
        refused(
            &gtin(&"7".repeat(length - 1)),
            ErrorCode::Gtin,
            "lines[0].gtin",
            &format!("{length} digits"),
        );
    }
}

#[test]
fn time_offsets_within_plus_minus_14_hours() {
    let issued =
        |offset: &str| receipt_with(|receipt| receipt.issued_at = format!("2026-05-04T08:15:00{offset}"));
    for ok in ["+14:00", "-14:00", "+13:59", "-13:59", "+00:00"] {
        accepted(&issued(ok), ok);
    }
    for bad in ["+14:01", "-14:01", "+15:00", "-15:00", "+13:60", "-00:00"] {
        refused(&issued(bad), ErrorCode::TimeFormat, "issued_at", bad);
    }
    // The other records' times use the same rule.
    let time = |offset: &str| format!("2026-05-04T08:15:00{offset}");
    accepted(&Claim { created_at: time("+14:00"), ..claim() }, "claim +14:00");
    refused(&Claim { created_at: time("+14:01"), ..claim() }, ErrorCode::TimeFormat, "created_at", "claim");
    accepted(&ClaimEvent { at: time("-14:00"), ..event(Action::Submitted) }, "event −14:00");
    refused(
        &ClaimEvent { at: time("-14:01"), ..event(Action::Submitted) },
        ErrorCode::TimeFormat,
        "at",
        "event",
    );
    accepted(&Directory { issued_at: time("+14:00"), ..named::directory() }, "directory +14:00");
    refused(
        &Directory { issued_at: time("+14:01"), ..named::directory() },
        ErrorCode::TimeFormat,
        "issued_at",
        "directory",
    );
    let (first, second) = conflicting_receipts();
    let evidence = |offset: &str| Evidence {
        detected_at: time(offset),
        ..Evidence::new(&first, &second, time("+02:00")).unwrap()
    };
    accepted(&evidence("+14:00"), "evidence +14:00");
    refused(&evidence("+14:01"), ErrorCode::TimeFormat, "detected_at", "evidence");
}

#[test]
fn times_and_dates_from_year_0000_to_9999() {
    for time in ["0000-01-01T00:00:00+14:00", "0000-01-01T00:00:00-14:00", "9999-12-31T23:59:59-14:00"] {
        // A foreign receipt: the Swedish rate table starts in 2020.
        accepted(&Receipt { issued_at: time.into(), ..foreign_receipt() }, time);
        let claim = Claim { created_at: time.into(), ..claim() };
        accepted(&claim, time);
        signs_and_decodes(&claim, time);
    }
    accepted(&per_diem("0000-01-01", "9999-12-31", 366, 1, MealsProvided::default(), 0), "a long trip");
    let mileage_on = |date: &str| {
        let mut claim = mileage(42, 250);
        if let ClaimItem::Mileage { date: day, .. } = &mut claim.items[0] {
            *day = date.into();
        }
        claim
    };
    accepted(&mileage_on("0000-01-01"), "0000-01-01");
    accepted(&mileage_on("9999-12-31"), "9999-12-31");
    accepted(&mileage_on("2028-02-29"), "a leap day");
    for bad in ["10000-01-01", "-001-01-01", "2026-13-01", "2026-00-10", "2026-02-29", "2026-1-01"] {
        refused(&mileage_on(bad), ErrorCode::DateFormat, "items[0].date", bad);
    }
}

#[test]
fn arithmetic_on_the_largest_inputs_gives_a_result_or_a_refusal_never_an_overflow() {
    use kvitt_protocol::fields::divide_rounded;
    assert_eq!(divide_rounded(i128::MIN, 1), i128::MIN);
    assert_eq!(divide_rounded(i128::MIN, 2), -(1i128 << 126));
    assert_eq!(divide_rounded(i128::MAX, 2), 1i128 << 126, "2^126 - 1/2 rounds away from zero");
    assert_eq!(divide_rounded(i128::MAX, i128::MAX), 1);
    assert_eq!((divide_rounded(5, 10), divide_rounded(-5, 10), divide_rounded(4, 10)), (1, -1, 0));

    let rate = ExchangeRate { value: u64::MAX, scale: 0 };
    assert_eq!(rate.convert(i64::MAX, "EUR"), None, "out of range, not wrapped");
    assert_eq!(rate.convert(i64::MIN, "EUR"), None);
    assert_eq!(ExchangeRate { value: 114_523, scale: 4 }.convert(100, "EUR"), Some(1145));

    // Two lines of i64::MAX each: the builder's total saturates and validation refuses it.
    let line = Line { amount: None, ..sale(1000, i64::MAX) };
    let receipt =
        Receipt { lines: vec![line.clone(), line], ..receipt_of(sale(1000, 100)) }.with_computed_totals();
    assert_eq!(receipt.total, i64::MAX);
    refused(&receipt, ErrorCode::Range, "lines[0].unit_price", "i64::MAX per line");
}
