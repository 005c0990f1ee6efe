//! Helpers shared by tests/properties.rs and tests/limits.rs: proptest strategies for valid
//! records of every type, and what building them needs.
//!
//! The arithmetic here (Luhn and GS1 check digits, the Swedish rate table, rounding, line
//! amounts) is written out again from the brief and spec/protocol.md, not taken from the
//! crate, so that a property compares the crate with an independent reading of the rules.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::LazyLock;

use ciborium::value::Value;
use ed25519_dalek::{Signer, SigningKey};
use kvitt_protocol::claim::{Booking, Claim, ClaimItem, ExchangeRate, ForeignAmount, MealsProvided, Vehicle};
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::envelope::signing_input;
use kvitt_protocol::event::{Action, Actor, ClaimEvent, Role};
use kvitt_protocol::evidence::Evidence;
use kvitt_protocol::fields::format_date;
use kvitt_protocol::limits::MAX_AMOUNT_MINOR;
use kvitt_protocol::receipt::{Address, Buyer, Discount, Line, LineKind, Merchant, Payment, Receipt};
use kvitt_protocol::{cbor, AnyRecord, PublicKey, RecordId, RecordType, Signed};
use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use serde::Serialize;
use time::macros::date;
use time::{Date, Duration};

// ---------------------------------------------------------------------------------------
// Reference arithmetic, independent of the crate.
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Keys and hand-made envelopes.
// ---------------------------------------------------------------------------------------

/// A signing key from a counter: cheap, and distinct for distinct counters.
pub fn counter_key(counter: u64) -> SigningKey {
    let mut seed = [0x5a; 32];
    seed[..8].copy_from_slice(&counter.to_le_bytes());
    SigningKey::from_bytes(&seed)
}

/// The public key of [`counter_key`].
pub fn counter_public(counter: u64) -> PublicKey {
    PublicKey::from(counter_key(counter).verifying_key())
}

/// Public keys of `counter_key(0..2001)`, enough for the largest directory plus one.
pub static KEY_POOL: LazyLock<Vec<PublicKey>> = LazyLock::new(|| (0..2001).map(counter_public).collect());

/// The envelope around `body` (a value in the profile), signed by `key` as a `kind`
/// record, without `Signed::sign`'s validation or size check.
pub fn forge_value(kind: RecordType, body: Value, key: &SigningKey) -> Vec<u8> {
    let body = cbor::to_value(&body).unwrap();
    let signature = key.sign(&signing_input(kind, &cbor::encode_value(&body)));
    let text = |text: &str| Value::Text(text.into());
    let envelope = Value::Map(vec![
        (text("v"), Value::Integer(1.into())),
        (text("type"), text(kind.as_str())),
        (text("body"), body),
        (text("signer"), Value::Bytes(key.verifying_key().to_bytes().to_vec())),
        (text("sig"), Value::Bytes(signature.to_bytes().to_vec())),
    ]);
    cbor::encode(&envelope).unwrap()
}

/// [`forge_value`] of a typed body.
pub fn forge<T: Serialize>(kind: RecordType, body: &T, key: &SigningKey) -> Vec<u8> {
    forge_value(kind, cbor::to_value(body).unwrap(), key)
}

/// The fields of an envelope, read with ciborium alone (not the crate's decoder).
pub fn envelope_field(envelope: &[u8], name: &str) -> Value {
    let value: Value = ciborium::from_reader(envelope).unwrap();
    let Value::Map(entries) = value else { panic!("the envelope is not a map") };
    entries.into_iter().find(|(key, _)| key.as_text() == Some(name)).map(|(_, item)| item).unwrap()
}

/// The bytes of the body as they stand inside an envelope.
pub fn body_bytes(envelope: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    ciborium::into_writer(&envelope_field(envelope, "body"), &mut bytes).unwrap();
    bytes
}

// ---------------------------------------------------------------------------------------
// Field strategies.
// ---------------------------------------------------------------------------------------

/// Text of 1-16 characters, at most 64 bytes: Swedish letters, a euro sign, an emoji.
pub fn short_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 åäöÅÄÖé€🧾.,&()-]{1,16}"
}

/// A name or description: 1-60 characters, at most 240 bytes.
pub fn name_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 åäöÅÄÖéü€🧾.,&()'/-]{1,60}"
}

/// Free text: 1-300 characters, at most 1200 bytes.
pub fn free_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 åäöÅÄÖéü€🧾.,:;!?&()'/-]{1,300}"
}

/// An identifier-like code: 1-32 ASCII letters, digits and `-_./:`.
pub fn code() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_./:-]{1,32}"
}

/// A Swedish organisation number with a computed check digit.
pub fn swedish_org() -> impl Strategy<Value = String> {
    (0u32..1_000_000_000).prop_map(org_number)
}

/// The dates of sale receipts are issued on: the days around the food-rate cut of
/// 2026-04-01 and its end on 2028-01-01, a leap day, or any day of 2026-2028.
pub fn sale_date() -> impl Strategy<Value = Date> {
    prop_oneof![
        select(vec![
            date!(2026 - 03 - 30),
            date!(2026 - 03 - 31),
            date!(2026 - 04 - 01),
            date!(2026 - 04 - 02),
            date!(2027 - 06 - 15),
            date!(2027 - 12 - 31),
            date!(2028 - 01 - 01),
            date!(2028 - 02 - 29),
        ]),
        (0i64..1096).prop_map(|days| date!(2026 - 01 - 01) + Duration::days(days)),
    ]
}

/// Any day of 2020-2029.
pub fn any_date() -> impl Strategy<Value = Date> {
    (0i64..3653).prop_map(|days| date!(2020 - 01 - 01) + Duration::days(days))
}

/// UTC offsets the protocol accepts, the extremes included.
pub const OFFSETS: &[&str] =
    &["+00:00", "+01:00", "+02:00", "-05:00", "+05:30", "-09:30", "+14:00", "-14:00"];

/// A time on `date`: `YYYY-MM-DDTHH:MM:SS±HH:MM`.
pub fn time_on(date: Date) -> impl Strategy<Value = String> {
    (0u8..24, 0u8..60, 0u8..60, select(OFFSETS)).prop_map(move |(hour, minute, second, offset)| {
        format!("{}T{hour:02}:{minute:02}:{second:02}{offset}", format_date(date))
    })
}

/// A time on any day of 2020-2029, or now and then on the first or last day the format
/// allows (0000-01-01, 9999-12-31).
pub fn any_time() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => any_date(),
        1 => select(vec![date!(0000 - 01 - 01), date!(9999 - 12 - 31)]),
    ]
    .prop_flat_map(time_on)
}

/// A record id from 32 arbitrary bytes.
pub fn record_id() -> impl Strategy<Value = RecordId> {
    any::<[u8; 32]>().prop_map(RecordId)
}

/// A valid GTIN of 8, 12, 13 or 14 digits.
pub fn gtin_strategy() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9]{7}", "[0-9]{11}", "[0-9]{12}", "[0-9]{13}"].prop_map(|digits| gtin(&digits))
}

/// A masked card number: 12-19 characters, 0-6 leading and 0-4 trailing digits, `*` between.
pub fn masked_pan() -> impl Strategy<Value = String> {
    ("[0-9]{0,6}", "[0-9]{0,4}", 12usize..=19).prop_map(|(leading, trailing, length)| {
        format!("{leading}{}{trailing}", "*".repeat(length - leading.len() - trailing.len()))
    })
}

/// A network address: a host name, an IPv4 or a bracketed IPv6 address, and a port.
pub fn address() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[a-z0-9][a-z0-9.-]{0,30}", 1u16..).prop_map(|(host, port)| format!("{host}:{port}")),
        (any::<[u8; 4]>(), 1u16..).prop_map(|(ip, port)| format!("{}:{port}", std::net::Ipv4Addr::from(ip))),
        (any::<[u16; 8]>(), 1u16..)
            .prop_map(|(ip, port)| format!("[{}]:{port}", std::net::Ipv6Addr::from(ip))),
    ]
}

// ---------------------------------------------------------------------------------------
// Receipts.
// ---------------------------------------------------------------------------------------

/// A merchant and the currency of its receipts: Swedish (SEK, VAT number derived from the
/// organisation number) or foreign (`CC:id`, its own currency, a VAT number or none).
pub fn merchant() -> impl Strategy<Value = (Merchant, String)> {
    let address = |country: String| {
        (name_text(), "[0-9]{3} [0-9]{2}|[A-Z0-9 -]{1,10}", name_text()).prop_map(
            move |(street, postal_code, city)| Address {
                street,
                postal_code,
                city,
                country: country.clone(),
            },
        )
    };
    let swedish = (name_text(), swedish_org(), address("SE".into())).prop_map(|(name, org, address)| {
        let vat_number = Some(vat_number(&org));
        (Merchant { name, org, vat_number, address }, "SEK".to_owned())
    });
    let foreign = (
        select(vec![
            ("DE", "EUR"),
            ("NO", "NOK"),
            ("DK", "DKK"),
            ("JP", "JPY"),
            ("KW", "KWD"),
            ("US", "USD"),
        ]),
        "[A-Z0-9]{1,32}",
        option::of("[A-Z0-9]{1,32}"),
        name_text(),
    )
        .prop_flat_map(move |((country, currency), id, vat_number, name)| {
            address(country.to_owned()).prop_map(move |address| {
                let merchant = Merchant {
                    name: name.clone(),
                    org: format!("{country}:{id}"),
                    vat_number: vat_number.clone(),
                    address,
                };
                (merchant, currency.to_owned())
            })
        });
    prop_oneof![3 => swedish, 2 => foreign]
}

/// What a line will be, before the merchant and the date of sale fix its rate.
#[derive(Clone, Debug)]
pub struct LineSeed {
    kind: LineKind,
    description: String,
    article: Option<String>,
    gtin: Option<String>,
    category: Option<usize>,
    rate_pick: u32,
    quantity: i64,
    unit: String,
    unit_price: i64,
    /// Each discount's description and its share of the line's price, in thousandths.
    discounts: Vec<(String, u16)>,
}

/// Quantities and unit prices: everyday ones, huge quantities of cheap goods, and one unit
/// of something costly. Twenty lines of any of them stay below `MAX_AMOUNT_MINOR`.
fn quantity_and_price() -> impl Strategy<Value = (i64, i64)> {
    prop_oneof![
        4 => (1i64..=20_000, 0i64..=2_000_000),
        1 => (1i64..=kvitt_protocol::limits::MAX_QUANTITY_MILLI, 0i64..=10_000),
        1 => (1i64..=1000, 0i64..=400_000_000_000),
    ]
}

fn line_seed() -> impl Strategy<Value = LineSeed> {
    (
        prop_oneof![
            4 => Just(LineKind::Sale),
            1 => Just(LineKind::Return),
            1 => Just(LineKind::Deposit),
            1 => Just(LineKind::Text),
        ],
        name_text(),
        option::of(code()),
        option::of(gtin_strategy()),
        option::of(0..SWEDISH_CATEGORIES.len()),
        any::<u32>(),
        quantity_and_price(),
        prop_oneof![Just("st".to_owned()), Just("kg".to_owned()), Just("natt".to_owned()), short_text()],
        vec((name_text(), 0u16..=1000), 0..=3),
    )
        .prop_map(
            |(
                kind,
                description,
                article,
                gtin,
                category,
                rate_pick,
                (quantity, unit_price),
                unit,
                discounts,
            )| {
                LineSeed {
                    kind,
                    description,
                    article,
                    gtin,
                    category,
                    rate_pick,
                    quantity,
                    unit,
                    unit_price,
                    discounts,
                }
            },
        )
}

/// The line a seed describes on a receipt of a Swedish (or foreign) merchant dated
/// `sale_date`: a Swedish line's rate is its category's, or one of the table's rates; a
/// foreign line's any of 0-5000. Discounts never exceed the price. The amount is left for
/// `Receipt::with_computed_totals`.
fn build_line(seed: LineSeed, swedish: bool, sale_date: Date) -> Line {
    let mut line = Line {
        kind: seed.kind,
        description: seed.description,
        article: seed.article,
        gtin: seed.gtin,
        category: None,
        quantity: None,
        unit: None,
        unit_price: None,
        discounts: vec![],
        amount: None,
        vat_rate: None,
    };
    if seed.kind == LineKind::Text {
        return line;
    }
    let category = seed.category.map(|index| SWEDISH_CATEGORIES[index]);
    let rate = match (swedish, category) {
        (true, Some(category)) => swedish_rate(category, sale_date),
        (true, None) => SWEDISH_RATES[seed.rate_pick as usize % SWEDISH_RATES.len()],
        (false, _) => seed.rate_pick % 5001,
    };
    let gross = i128::from(reference_gross(seed.quantity, seed.unit_price));
    let count = seed.discounts.len() as i128;
    if gross >= count {
        // 1 + (gross − count) × share / 1000 / count each: at least 1, at most gross in all.
        line.discounts = seed
            .discounts
            .into_iter()
            .map(|(description, share)| Discount {
                description,
                amount: i64::try_from(1 + (gross - count) * i128::from(share) / 1000 / count).unwrap(),
            })
            .collect();
    }
    line.category = category.map(str::to_owned);
    line.quantity = Some(seed.quantity);
    line.unit = Some(seed.unit);
    line.unit_price = Some(seed.unit_price);
    line.vat_rate = Some(rate);
    line
}

/// How one payment is made, before its amount is known.
#[derive(Clone, Debug)]
pub enum PaymentSeed {
    Cash,
    Card { masked_pan: String, brand: String, rrn: String, terminal: String, approval_code: String },
    Swish(String),
    GiftCard(String),
    Other(String),
}

impl PaymentSeed {
    /// The payment of `amount` made this way.
    pub fn pay(self, amount: i64) -> Payment {
        match self {
            PaymentSeed::Cash => Payment::Cash { amount },
            PaymentSeed::Card { masked_pan, brand, rrn, terminal, approval_code } => {
                Payment::Card { amount, masked_pan, brand, rrn, terminal, approval_code }
            }
            PaymentSeed::Swish(reference) => Payment::Swish { amount, reference },
            PaymentSeed::GiftCard(reference) => Payment::GiftCard { amount, reference },
            PaymentSeed::Other(description) => Payment::Other { amount, description },
        }
    }
}

fn payment_seed() -> impl Strategy<Value = PaymentSeed> {
    prop_oneof![
        Just(PaymentSeed::Cash),
        (masked_pan(), short_text(), "[A-Za-z0-9]{1,12}", code(), "[A-Z0-9]{1,6}").prop_map(
            |(masked_pan, brand, rrn, terminal, approval_code)| PaymentSeed::Card {
                masked_pan,
                brand,
                rrn,
                terminal,
                approval_code
            }
        ),
        code().prop_map(PaymentSeed::Swish),
        code().prop_map(PaymentSeed::GiftCard),
        name_text().prop_map(PaymentSeed::Other),
    ]
}

/// `total` split over the payments by their weights; the last takes what is left.
pub fn split_payments(total: i64, payments: Vec<(PaymentSeed, u32)>) -> Vec<Payment> {
    let weights: i128 = payments.iter().map(|(_, weight)| i128::from(*weight)).sum();
    let count = payments.len();
    let mut left = total;
    payments
        .into_iter()
        .enumerate()
        .map(|(index, (seed, weight))| {
            let amount = if index + 1 == count {
                left
            } else {
                i64::try_from(i128::from(total) * i128::from(weight) / weights).unwrap()
            };
            left -= amount;
            seed.pay(amount)
        })
        .collect()
}

/// The date of sale and the time of issue on it.
fn sale_time() -> impl Strategy<Value = (Date, String)> {
    sale_date().prop_flat_map(|date| time_on(date).prop_map(move |time| (date, time)))
}

/// A valid receipt: Swedish or foreign merchant, 1-20 lines of every kind with rates right
/// for the date of sale, cash rounding, its totals from `Receipt::with_computed_totals`, the
/// total split over 1-3 payments, and `original` whenever a line is a return (and sometimes
/// for a correction without one).
pub fn receipt() -> impl Strategy<Value = Receipt> {
    (
        merchant(),
        (code(), any::<u64>(), code()),
        sale_time(),
        vec(line_seed(), 1..=20),
        -50i64..=50,
        vec((payment_seed(), 1u32..=100), 1..=3),
        (swedish_org(), option::of(short_text())),
        (any::<bool>(), record_id()),
    )
        .prop_map(
            |(
                (merchant, currency),
                (register, serial, control_unit),
                (sale_date, issued_at),
                lines,
                rounding,
                payments,
                (agency, employee),
                (correction, original),
            )| {
                let swedish = !merchant.org.contains(':');
                let lines: Vec<Line> =
                    lines.into_iter().map(|seed| build_line(seed, swedish, sale_date)).collect();
                let has_return = lines.iter().any(|line| line.kind == LineKind::Return);
                let receipt = Receipt {
                    merchant,
                    register,
                    serial,
                    control_unit,
                    issued_at,
                    currency,
                    lines,
                    vat: vec![],
                    rounding,
                    total: 0,
                    payments: vec![],
                    buyer: Buyer { agency, employee },
                    original: (has_return || correction).then_some(original),
                }
                .with_computed_totals();
                Receipt { payments: split_payments(receipt.total, payments), ..receipt }
            },
        )
}

// ---------------------------------------------------------------------------------------
// Claims.
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Claim events, directories, evidence.
// ---------------------------------------------------------------------------------------

/// Every action, with its fields.
pub fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Submitted),
        option::of(free_text()).prop_map(|note| Action::Reviewed { note }),
        Just(Action::Approved),
        free_text().prop_map(|reason| Action::Rejected { reason }),
        Just(Action::Withdrawn),
        (code(), 1u64..).prop_map(|(series, number)| Action::Booked { series, number }),
        (any_date(), option::of(name_text()))
            .prop_map(|(date, reference)| Action::Paid { date: format_date(date), reference }),
    ]
}

/// A valid claim event with any action, role and (optional) predecessor.
pub fn claim_event() -> impl Strategy<Value = ClaimEvent> {
    (
        record_id(),
        option::of(record_id()),
        any_time(),
        short_text(),
        select(vec![Role::Employee, Role::Approver, Role::Ssc]),
        action(),
    )
        .prop_map(|(claim, previous, at, person, role, action)| ClaimEvent {
            claim,
            previous,
            at,
            actor: Actor { person, role },
            action,
        })
}

/// One member before its key, organisation and `serves` are assigned.
#[derive(Clone, Debug)]
struct MemberSeed {
    role: MemberRole,
    foreign: bool,
    name: String,
    addresses: Vec<String>,
    /// For an agency: which SSC serves it (modulo one more than their count: none).
    ssc_pick: usize,
}

fn member_seed() -> impl Strategy<Value = MemberSeed> {
    (
        prop_oneof![
            3 => Just(MemberRole::Merchant),
            3 => Just(MemberRole::Agency),
            1 => Just(MemberRole::Ssc),
        ],
        any::<bool>(),
        name_text(),
        vec(address(), 1..=3),
        any::<usize>(),
    )
        .prop_map(|(role, foreign, name, addresses, ssc_pick)| MemberSeed {
            role,
            foreign,
            name,
            addresses,
            ssc_pick,
        })
}

/// A valid directory: 1-30 members with distinct keys (from [`KEY_POOL`]) and distinct
/// organisations (Swedish, or `DE:` for some merchants); from three members on, the first
/// is an SSC; each agency is served by one SSC or none.
pub fn directory() -> impl Strategy<Value = Directory> {
    (1usize..=30)
        .prop_flat_map(|count| {
            (
                subsequence((0..64).collect::<Vec<usize>>(), count),
                btree_set(0u32..1_000_000_000, count),
                vec(member_seed(), count),
                code(),
                any::<u64>(),
                any_time(),
            )
        })
        .prop_map(|(keys, prefixes, seeds, network, version, issued_at)| {
            let count = seeds.len();
            let mut members: Vec<Member> = seeds
                .iter()
                .zip(keys.iter().zip(&prefixes))
                .enumerate()
                .map(|(index, (seed, (&key, &prefix)))| {
                    let role = if index == 0 && count >= 3 { MemberRole::Ssc } else { seed.role };
                    let org = if role == MemberRole::Merchant && seed.foreign {
                        format!("DE:HRB{index}")
                    } else {
                        org_number(prefix)
                    };
                    Member {
                        role,
                        org,
                        name: seed.name.clone(),
                        key: KEY_POOL[key],
                        addresses: seed.addresses.clone(),
                        serves: vec![],
                    }
                })
                .collect();
            let sscs: Vec<usize> =
                (0..count).filter(|&index| members[index].role == MemberRole::Ssc).collect();
            for (index, seed) in seeds.iter().enumerate() {
                let pick = seed.ssc_pick % (sscs.len() + 1);
                if members[index].role == MemberRole::Agency && pick < sscs.len() {
                    let agency = members[index].org.clone();
                    members[sscs[pick]].serves.push(agency);
                }
            }
            Directory { network, version, issued_at, members }
        })
}

/// Valid evidence: two different receipts on one register with one serial, signed by the
/// same merchant key, ordered by `Evidence::new`.
pub fn evidence() -> impl Strategy<Value = Evidence> {
    (receipt(), receipt(), any::<[u8; 32]>(), any_time())
        .prop_map(|(first, second, seed, detected_at)| {
            let second = Receipt { register: first.register.clone(), serial: first.serial, ..second };
            (first, second, seed, detected_at)
        })
        .prop_filter("the two receipts must differ", |(first, second, _, _)| first != second)
        .prop_map(|(first, second, seed, detected_at)| {
            let key = SigningKey::from_bytes(&seed);
            let first = AnyRecord::Receipt(Signed::sign(first, &key).unwrap());
            let second = AnyRecord::Receipt(Signed::sign(second, &key).unwrap());
            Evidence::new(&first, &second, detected_at).unwrap()
        })
}
