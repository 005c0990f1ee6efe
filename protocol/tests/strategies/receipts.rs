//! Receipts: merchants, lines with the right rates for the date of sale, payments.

use kvitt_protocol::receipt::{Address, Buyer, Discount, Line, LineKind, Merchant, Payment, Receipt};
use kvitt_test_support::named::text_line;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use time::Date;

use super::fields::{
    code, gtin_strategy, masked_pan, name_text, record_id, sale_date, short_text, swedish_org, time_on,
};
use super::reference::{reference_gross, swedish_rate, vat_number, SWEDISH_CATEGORIES, SWEDISH_RATES};

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
    let mut line =
        Line { kind: seed.kind, article: seed.article, gtin: seed.gtin, ..text_line(seed.description) };
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
                    buyer: Some(Buyer { agency, employee }),
                    original: (has_return || correction).then_some(original),
                }
                .with_computed_totals();
                Receipt { payments: split_payments(receipt.total, payments), ..receipt }
            },
        )
}
