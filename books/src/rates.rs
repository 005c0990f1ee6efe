//! Reference exchange rates and the check of a claim's foreign items against them.
//!
//! The SSC loads a table of SEK per currency unit by banking day (spec/books.md
//! §Reference rates; spec/books/rates-example.json is an example). For each receipt item
//! in another currency, [`check_rates`] returns what is wrong as [`RateFinding`]s, each
//! naming its rule: the conversion does not give the SEK amount (`rate.arithmetic`), the
//! rate is further from the reference than the table's tolerance (`rate.tolerance`), or
//! there is no reference for the currency near the rate's date (`rate.reference_missing`).
//! A finding is not an error of the claim (a signed claim is valid): it is a reason for
//! staff to look before the claim is booked.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use time::{Date, Duration};

use kvitt_protocol::claim::{Claim, ClaimItem, ExchangeRate, ForeignAmount};
use kvitt_protocol::fields::{check_currency, divide_rounded, format_date, parse_date};

/// The example table, as committed in spec/books/rates-example.json.
pub const EXAMPLE_RATES_JSON: &str = include_str!("../../spec/books/rates-example.json");

/// The only reference-rates format version this implementation reads.
pub const RATES_FORMAT_VERSION: u32 = 1;

/// The largest tolerance a table may set: 100 % (10,000 basis points).
pub const MAX_TOLERANCE_BASIS_POINTS: u32 = 10_000;

/// The furthest back a table may let a lookup go: 31 days.
pub const MAX_LOOK_BACK_DAYS: u32 = 31;

/// Decimal places a rate in the table may have (as [`ExchangeRate::scale`]).
const MAX_RATE_SCALE: u32 = 9;

/// The largest rate digits, as the claim's own rule allows.
const MAX_RATE_VALUE: u64 = 1_000_000_000_000;

/// A reference rate: SEK per unit on a banking day, and who published it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The banking day the rate is for.
    pub date: Date,
    /// SEK per one unit of the currency.
    pub rate: ExchangeRate,
    /// Who published it (e.g. `Riksbanken`).
    pub source: String,
}

/// A reference-rates table that passed every check of [`ReferenceRates::from_json`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceRates {
    tolerance_basis_points: u32,
    look_back_days: u32,
    by_currency: BTreeMap<String, BTreeMap<Date, Reference>>,
}

/// Why a reference-rates table was refused. Each variant names the field and the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RatesError {
    /// The JSON does not match the format.
    #[error("reference rates: {path}: {message}")]
    Format {
        /// Where in the JSON.
        path: String,
        /// What serde said.
        message: String,
    },
    /// The table's version is not one this implementation reads.
    #[error(
        "reference rates: version {version} is not supported (this implementation reads version {supported})"
    )]
    Version {
        /// The version in the table.
        version: u32,
        /// The version read.
        supported: u32,
    },
    /// The tolerance is above 100 %.
    #[error("reference rates: tolerance_basis_points: {value}, expected 0 to {MAX_TOLERANCE_BASIS_POINTS}")]
    Tolerance {
        /// The value given.
        value: u32,
    },
    /// The look-back is more than [`MAX_LOOK_BACK_DAYS`].
    #[error("reference rates: look_back_days: {value}, expected 0 to {MAX_LOOK_BACK_DAYS}")]
    LookBack {
        /// The value given.
        value: u32,
    },
    /// A currency is not an ISO 4217 code, or is SEK.
    #[error("reference rates: rates[{index}].currency: {currency:?} is not an ISO 4217 code other than SEK")]
    Currency {
        /// The row.
        index: usize,
        /// The value given.
        currency: String,
    },
    /// A date is not a real `YYYY-MM-DD` date.
    #[error("reference rates: rates[{index}].date: {date:?} is not a real date YYYY-MM-DD")]
    Date {
        /// The row.
        index: usize,
        /// The value given.
        date: String,
    },
    /// A rate is not a positive decimal of at most nine decimal places.
    #[error("reference rates: rates[{index}].sek_per_unit: {text:?} is not a decimal above zero with at most 9 decimal places (e.g. \"11.5300\")")]
    Rate {
        /// The row.
        index: usize,
        /// The value given.
        text: String,
    },
    /// A source is empty or only spaces.
    #[error("reference rates: rates[{index}].source: empty")]
    Source {
        /// The row.
        index: usize,
    },
    /// Two rows give a rate for the same currency and day.
    #[error("reference rates: rates[{index}]: a second {currency} rate for {date}")]
    Duplicate {
        /// The second row.
        index: usize,
        /// The currency.
        currency: String,
        /// The day.
        date: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatesFile {
    version: u32,
    #[serde(default)]
    #[allow(dead_code)]
    about: String,
    tolerance_basis_points: u32,
    look_back_days: u32,
    rates: Vec<RateRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateRow {
    currency: String,
    date: String,
    sek_per_unit: String,
    source: String,
}

/// Parses a plain decimal (`11.5300`, `9`, `0.066210`) into an exact rate above zero.
pub fn parse_rate(text: &str) -> Option<ExchangeRate> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits_only = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty()
        || !digits_only(whole)
        || !digits_only(fraction)
        || (text.contains('.') && fraction.is_empty())
    {
        return None;
    }
    let scale = u32::try_from(fraction.len()).ok().filter(|scale| *scale <= MAX_RATE_SCALE)?;
    let value: u64 = format!("{whole}{fraction}").parse().ok()?;
    (1..=MAX_RATE_VALUE).contains(&value).then_some(ExchangeRate { value, scale })
}

/// Writes basis points as a percentage without trailing zeros: 320 → `3.2`, 200 → `2`.
pub fn format_basis_points(basis_points: u64) -> String {
    let whole = basis_points / 100;
    let hundredths = basis_points % 100;
    match hundredths {
        0 => whole.to_string(),
        _ if hundredths % 10 == 0 => format!("{whole}.{}", hundredths / 10),
        _ => format!("{whole}.{hundredths:02}"),
    }
}

/// A rate's digits at [`MAX_RATE_SCALE`] decimal places, so two rates compare exactly.
fn at_common_scale(rate: ExchangeRate) -> i128 {
    let shift = MAX_RATE_SCALE.saturating_sub(rate.scale);
    i128::from(rate.value) * 10i128.pow(shift)
}

impl ReferenceRates {
    /// The example table compiled into this crate (spec/books/rates-example.json).
    pub fn example() -> Result<ReferenceRates, RatesError> {
        ReferenceRates::from_json(EXAMPLE_RATES_JSON)
    }

    /// Reads and checks a table in the format of spec/books/rates-example.json.
    pub fn from_json(json: &str) -> Result<ReferenceRates, RatesError> {
        let deserializer = &mut serde_json::Deserializer::from_str(json);
        let file: RatesFile = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            RatesError::Format { path: error.path().to_string(), message: error.inner().to_string() }
        })?;
        if file.version != RATES_FORMAT_VERSION {
            return Err(RatesError::Version { version: file.version, supported: RATES_FORMAT_VERSION });
        }
        if file.tolerance_basis_points > MAX_TOLERANCE_BASIS_POINTS {
            return Err(RatesError::Tolerance { value: file.tolerance_basis_points });
        }
        if file.look_back_days > MAX_LOOK_BACK_DAYS {
            return Err(RatesError::LookBack { value: file.look_back_days });
        }
        let mut by_currency: BTreeMap<String, BTreeMap<Date, Reference>> = BTreeMap::new();
        for (index, row) in file.rates.into_iter().enumerate() {
            if check_currency("currency", &row.currency).is_err() || row.currency == "SEK" {
                return Err(RatesError::Currency { index, currency: row.currency });
            }
            let date = parse_date("date", &row.date)
                .map_err(|_| RatesError::Date { index, date: row.date.clone() })?;
            let rate = parse_rate(&row.sek_per_unit)
                .ok_or(RatesError::Rate { index, text: row.sek_per_unit.clone() })?;
            if row.source.trim().is_empty() {
                return Err(RatesError::Source { index });
            }
            let days = by_currency.entry(row.currency.clone()).or_default();
            if days.insert(date, Reference { date, rate, source: row.source }).is_some() {
                return Err(RatesError::Duplicate { index, currency: row.currency, date: row.date });
            }
        }
        Ok(ReferenceRates {
            tolerance_basis_points: file.tolerance_basis_points,
            look_back_days: file.look_back_days,
            by_currency,
        })
    }

    /// How far a rate may be from its reference, in basis points of the reference.
    pub fn tolerance_basis_points(&self) -> u32 {
        self.tolerance_basis_points
    }

    /// How many calendar days before a rate's date a reference may be looked for.
    pub fn look_back_days(&self) -> u32 {
        self.look_back_days
    }

    /// The reference for `currency` on `date`: that day's, or else the nearest earlier
    /// one at most [`Self::look_back_days`] before it (weekends and holidays have none).
    pub fn reference(&self, currency: &str, date: Date) -> Option<&Reference> {
        let earliest = date.checked_sub(Duration::days(i64::from(self.look_back_days)))?;
        self.by_currency.get(currency)?.range(earliest..=date).next_back().map(|(_, reference)| reference)
    }
}

/// Something about a foreign item that staff must look at before the claim is booked.
/// Items are numbered from 0, as in `items[0]`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateFinding {
    /// `rate.arithmetic`: the foreign amount at the item's rate, rounded half away from
    /// zero to whole öre, is not the item's SEK amount.
    Arithmetic {
        /// The item.
        item: usize,
        /// The foreign amount and its conversion.
        foreign: ForeignAmount,
        /// The SEK amount the item claims, in öre.
        claimed: i64,
        /// What the conversion gives, in öre (`None` when it does not fit in i64).
        expected: Option<i64>,
    },
    /// `rate.tolerance`: the item's rate is further from the reference than allowed.
    Tolerance {
        /// The item.
        item: usize,
        /// The currency.
        currency: String,
        /// The rate the item used.
        rate: ExchangeRate,
        /// The date the item gives for its rate.
        rate_date: Date,
        /// The reference it was compared with.
        reference: Reference,
        /// How far apart, in basis points of the reference, rounded half away from zero.
        deviation_basis_points: u64,
        /// The table's tolerance.
        limit_basis_points: u32,
    },
    /// `rate.reference_missing`: the table has no rate for the currency on the day or in
    /// the days before it that it may look back.
    ReferenceMissing {
        /// The item.
        item: usize,
        /// The currency.
        currency: String,
        /// The date the item gives for its rate, as it gives it.
        rate_date: String,
        /// How far back the lookup went.
        look_back_days: u32,
    },
}

impl RateFinding {
    /// The rule's name: `rate.arithmetic`, `rate.tolerance` or `rate.reference_missing`.
    pub fn rule(&self) -> &'static str {
        match self {
            RateFinding::Arithmetic { .. } => "rate.arithmetic",
            RateFinding::Tolerance { .. } => "rate.tolerance",
            RateFinding::ReferenceMissing { .. } => "rate.reference_missing",
        }
    }

    /// The item the finding is about.
    pub fn item(&self) -> usize {
        match self {
            RateFinding::Arithmetic { item, .. }
            | RateFinding::Tolerance { item, .. }
            | RateFinding::ReferenceMissing { item, .. } => *item,
        }
    }
}

impl fmt::Display for RateFinding {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: items[{}]: ", self.rule(), self.item())?;
        match self {
            RateFinding::Arithmetic { foreign, claimed, expected, .. } => {
                let expected = expected.map_or_else(|| "out of range".to_owned(), |ore| format!("{ore} öre"));
                write!(
                    formatter,
                    "{} {} minor units at {} SEK is {expected}, but the item claims {claimed} öre",
                    foreign.amount, foreign.currency, foreign.rate
                )
            }
            RateFinding::Tolerance {
                currency,
                rate,
                rate_date,
                reference,
                deviation_basis_points,
                limit_basis_points,
                ..
            } => {
                let on = if reference.date == *rate_date {
                    String::new()
                } else {
                    format!(" of {}", format_date(reference.date))
                };
                write!(
                    formatter,
                    "{currency} rate {rate} on {} is {} % from the reference {}{on} ({}), limit {} %",
                    format_date(*rate_date),
                    format_basis_points(*deviation_basis_points),
                    reference.rate,
                    reference.source,
                    format_basis_points(u64::from(*limit_basis_points)),
                )
            }
            RateFinding::ReferenceMissing { currency, rate_date, look_back_days, .. } => write!(
                formatter,
                "no reference rate for {currency} on {rate_date} or the {look_back_days} days before"
            ),
        }
    }
}

/// Checks every foreign receipt item of `claim` against `rates`; an empty list means
/// there is nothing to look at. The arithmetic is [`ExchangeRate::convert`], the rule the
/// claim itself is validated by, so a signed claim never has an arithmetic finding; it is
/// checked here too for claims read from elsewhere.
pub fn check_rates(rates: &ReferenceRates, claim: &Claim) -> Vec<RateFinding> {
    let mut findings = Vec::new();
    for (item, entry) in claim.items.iter().enumerate() {
        let ClaimItem::Receipt { amount, foreign: Some(foreign), .. } = entry else {
            continue;
        };
        let expected = foreign.rate.convert(foreign.amount, &foreign.currency);
        if expected != Some(*amount) {
            findings.push(RateFinding::Arithmetic {
                item,
                foreign: foreign.clone(),
                claimed: *amount,
                expected,
            });
        }
        // A claim that passed validation has a real date; one that did not has no
        // reference, rather than passing silently.
        let rate_date = parse_date("rate_date", &foreign.rate_date).ok();
        let Some((rate_date, reference)) = rate_date
            .and_then(|date| rates.reference(&foreign.currency, date).map(|reference| (date, reference)))
        else {
            findings.push(RateFinding::ReferenceMissing {
                item,
                currency: foreign.currency.clone(),
                rate_date: foreign.rate_date.clone(),
                look_back_days: rates.look_back_days,
            });
            continue;
        };
        let used = at_common_scale(foreign.rate);
        let base = at_common_scale(reference.rate);
        let difference = (used - base).abs();
        // Exact: over the limit when difference / base > limit / 10,000.
        let over = difference * 10_000 > i128::from(rates.tolerance_basis_points) * base;
        if over {
            let deviation = divide_rounded(difference * 10_000, base);
            findings.push(RateFinding::Tolerance {
                item,
                currency: foreign.currency.clone(),
                rate: foreign.rate,
                rate_date,
                reference: reference.clone(),
                deviation_basis_points: u64::try_from(deviation).unwrap_or(u64::MAX),
                limit_basis_points: rates.tolerance_basis_points,
            });
        }
    }
    findings
}
