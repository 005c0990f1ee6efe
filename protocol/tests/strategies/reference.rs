//! Reference arithmetic, independent of the crate.

use time::macros::date;
use time::Date;

/// `round(n / d)` half away from zero, from Rust's truncating quotient and remainder:
/// step away from zero when the remainder is at least half the divisor. `d` must be
/// positive and at most `i128::MAX / 2`.
pub fn reference_round(numerator: i128, denominator: i128) -> i128 {
    assert!(denominator > 0 && denominator <= i128::MAX / 2);
    let (quotient, remainder) = (numerator / denominator, numerator % denominator);
    if 2 * remainder.abs() >= denominator {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

/// The VAT in a VAT-inclusive `gross` at `rate` basis points (spec §Arithmetic).
pub fn reference_vat(gross: i64, rate: u32) -> i64 {
    let vat = reference_round(i128::from(gross) * i128::from(rate), 10_000 + i128::from(rate));
    i64::try_from(vat).unwrap()
}

/// A priced line's amount before discounts: `round(quantity × unit price / 1000)`.
pub fn reference_gross(quantity_milli: i64, unit_price: i64) -> i64 {
    i64::try_from(reference_round(i128::from(quantity_milli) * i128::from(unit_price), 1000)).unwrap()
}

/// Digits after the decimal point of the currencies the strategies use (ISO 4217).
pub fn reference_exponent(currency: &str) -> u32 {
    match currency {
        "JPY" | "ISK" | "KRW" => 0,
        "KWD" | "BHD" | "TND" => 3,
        _ => 2,
    }
}

/// The Luhn check digit that completes nine digits into a Swedish organisation number:
/// counted from the left, the 1st, 3rd, … 9th digits are doubled (digit sums taken), since
/// they stand at odd positions from the right once the check digit follows.
pub fn luhn_check_digit(nine: &[u8; 9]) -> u8 {
    let sum: u32 = nine
        .iter()
        .enumerate()
        .map(|(index, &digit)| {
            let digit = u32::from(digit);
            if index % 2 == 0 {
                let doubled = 2 * digit;
                doubled / 10 + doubled % 10
            } else {
                digit
            }
        })
        .sum();
    u8::try_from((10 - sum % 10) % 10).unwrap()
}

/// The Swedish organisation number `NNNNNN-NNNN` whose first nine digits are `prefix`
/// (below 10^9), with its check digit computed.
pub fn org_number(prefix: u32) -> String {
    assert!(prefix < 1_000_000_000);
    let text = format!("{prefix:09}");
    let mut nine = [0u8; 9];
    for (slot, byte) in nine.iter_mut().zip(text.bytes()) {
        *slot = byte - b'0';
    }
    format!("{}-{}{}", &text[..6], &text[6..], luhn_check_digit(&nine))
}

/// The VAT number of a Swedish organisation number: `SE` + its ten digits + `01`.
pub fn vat_number(org: &str) -> String {
    format!("SE{}01", org.replace('-', ""))
}

/// `digits` followed by their GS1 check digit (weights 3, 1, 3, … from the right).
pub fn gtin(digits: &str) -> String {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(index, byte)| u32::from(byte - b'0') * if index % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

/// Every goods category of the Swedish table, as the brief describes the rates.
pub const SWEDISH_CATEGORIES: &[&str] = &[
    "general",
    "alcohol",
    "fuel",
    "food",
    "take_away",
    "restaurant",
    "catering",
    "hotel",
    "passenger_transport",
    "books",
    "newspapers",
    "culture",
    "exempt",
];

/// The Swedish rate of `category` for a sale on `date` (on or after 2020-01-01): food and
/// take-away 6 % from 2026-04-01 to 2027-12-31 and 12 % otherwise; hotels, restaurants and
/// catering 12 %; passenger transport, books, newspapers and culture 6 %; exempt 0 %;
/// everything else, alcohol included, 25 %.
pub fn swedish_rate(category: &str, date: Date) -> u32 {
    let food_cut = (date!(2026 - 04 - 01)..=date!(2027 - 12 - 31)).contains(&date);
    match category {
        "food" | "take_away" if food_cut => 600,
        "food" | "take_away" | "restaurant" | "catering" | "hotel" => 1200,
        "passenger_transport" | "books" | "newspapers" | "culture" => 600,
        "exempt" => 0,
        _ => 2500,
    }
}

/// The rates of the Swedish table, in basis points.
pub const SWEDISH_RATES: [u32; 4] = [0, 600, 1200, 2500];
