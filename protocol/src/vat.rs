//! VAT: the dated rate table and the arithmetic of a VAT breakdown.
//!
//! The table is data (spec/vat-rates.json, compiled in), not code: a rate change is a new
//! entry there. Prices on Swedish receipts include VAT, so VAT is extracted from a gross
//! amount: `vat = round(gross × rate / (10000 + rate))`, rates in basis points, rounded
//! half away from zero (fields::divide_rounded).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::fields::{divide_rounded, parse_date};

/// The Swedish rate table, as committed in spec/vat-rates.json.
pub const SWEDISH_RATE_TABLE_JSON: &str = include_str!("../../spec/vat-rates.json");

/// A dated VAT rate table: which rates exist, and each goods category's rate over time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateTable {
    valid_from: Date,
    rates: BTreeSet<u32>,
    categories: BTreeMap<String, Vec<(Date, u32)>>,
}

#[derive(Deserialize)]
struct RateTableFile {
    valid_from: String,
    rates: Vec<u32>,
    categories: BTreeMap<String, Vec<PeriodFile>>,
}

#[derive(Deserialize)]
struct PeriodFile {
    from: String,
    rate: u32,
}

impl RateTable {
    /// The Swedish table compiled into this crate.
    pub fn sweden() -> &'static RateTable {
        static TABLE: LazyLock<RateTable> = LazyLock::new(|| {
            // A unit test proves the committed file parses; an empty table would refuse
            // every rate loudly rather than accept a wrong one.
            RateTable::from_json(SWEDISH_RATE_TABLE_JSON).unwrap_or_else(|_| RateTable {
                valid_from: Date::MAX,
                rates: BTreeSet::new(),
                categories: BTreeMap::new(),
            })
        });
        &TABLE
    }

    /// Reads a table in the format of spec/vat-rates.json.
    pub fn from_json(json: &str) -> Result<RateTable, String> {
        let file: RateTableFile = serde_json::from_str(json).map_err(|error| error.to_string())?;
        let valid_from = parse_date("valid_from", &file.valid_from).map_err(|error| error.to_string())?;
        let rates: BTreeSet<u32> = file.rates.into_iter().collect();
        let mut categories = BTreeMap::new();
        for (name, periods) in file.categories {
            let mut dated = Vec::with_capacity(periods.len());
            for period in periods {
                let from = parse_date(&name, &period.from).map_err(|error| error.to_string())?;
                if !rates.contains(&period.rate) {
                    return Err(format!("category {name}: rate {} is not in the table's rates", period.rate));
                }
                dated.push((from, period.rate));
            }
            if dated.windows(2).any(|pair| matches!(pair, [a, b] if a.0 >= b.0)) {
                return Err(format!("category {name}: periods are not in ascending date order"));
            }
            categories.insert(name, dated);
        }
        Ok(RateTable { valid_from, rates, categories })
    }

    /// Whether the table covers sales on `date`.
    pub fn covers(&self, date: Date) -> bool {
        date >= self.valid_from
    }

    /// Whether `rate` (basis points) is a rate of this table.
    pub fn has_rate(&self, rate: u32) -> bool {
        self.rates.contains(&rate)
    }

    /// Every rate of the table, ascending.
    pub fn rates(&self) -> impl Iterator<Item = u32> + '_ {
        self.rates.iter().copied()
    }

    /// Whether `category` is known to the table.
    pub fn has_category(&self, category: &str) -> bool {
        self.categories.contains_key(category)
    }

    /// Every category name, sorted.
    pub fn categories(&self) -> impl Iterator<Item = &str> {
        self.categories.keys().map(String::as_str)
    }

    /// The rate of `category` for a sale on `date`, if the table has one.
    pub fn category_rate(&self, category: &str, date: Date) -> Option<u32> {
        if !self.covers(date) {
            return None;
        }
        self.categories.get(category)?.iter().rev().find(|(from, _)| *from <= date).map(|(_, rate)| *rate)
    }
}

/// One row of a receipt's VAT breakdown: all lines at one rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VatAmount {
    /// The rate, in basis points (2500 = 25 %).
    pub rate: u32,
    /// Sum of the line amounts at this rate, VAT included, in minor units.
    pub gross: i64,
    /// The VAT contained in `gross`.
    pub vat: i64,
    /// `gross - vat`: the taxable amount excluding VAT.
    pub taxable: i64,
}

/// The VAT contained in a VAT-inclusive `gross` amount at `rate` basis points.
pub fn vat_included(gross: i64, rate: u32) -> i64 {
    let numerator = i128::from(gross) * i128::from(rate);
    let denominator = 10_000 + i128::from(rate);
    i64::try_from(divide_rounded(numerator, denominator)).unwrap_or(i64::MAX)
}

/// The breakdown of `(rate, amount)` pairs: one row per rate present, ascending by rate.
pub fn breakdown(amounts: impl IntoIterator<Item = (u32, i64)>) -> Vec<VatAmount> {
    let mut gross_by_rate: BTreeMap<u32, i64> = BTreeMap::new();
    for (rate, amount) in amounts {
        let gross = gross_by_rate.entry(rate).or_insert(0);
        *gross = gross.saturating_add(amount);
    }
    gross_by_rate
        .into_iter()
        .map(|(rate, gross)| {
            let vat = vat_included(gross, rate);
            VatAmount { rate, gross, vat, taxable: gross - vat }
        })
        .collect()
}

/// A rate in basis points as people write it: `12 %`, `6 %`, `25 %`, `12.5 %`.
pub fn format_rate(rate: u32) -> String {
    match (rate % 100, rate % 10) {
        (0, _) => format!("{} %", rate / 100),
        (_, 0) => format!("{}.{} %", rate / 100, rate % 100 / 10),
        _ => format!("{}.{:02} %", rate / 100, rate % 100),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn committed_table_parses_and_has_the_2026_food_cut() {
        let table = RateTable::from_json(SWEDISH_RATE_TABLE_JSON).unwrap();
        assert_eq!(&table, RateTable::sweden());
        assert_eq!(table.category_rate("food", date!(2026 - 03 - 31)), Some(1200));
        assert_eq!(table.category_rate("food", date!(2026 - 04 - 01)), Some(600));
        assert_eq!(table.category_rate("take_away", date!(2027 - 12 - 31)), Some(600));
        assert_eq!(table.category_rate("food", date!(2028 - 01 - 01)), Some(1200));
        assert_eq!(table.category_rate("restaurant", date!(2026 - 06 - 01)), Some(1200));
        assert_eq!(table.category_rate("alcohol", date!(2026 - 06 - 01)), Some(2500));
        assert_eq!(table.category_rate("food", date!(2019 - 12 - 31)), None);
        assert_eq!(table.category_rate("caviar", date!(2026 - 06 - 01)), None);
    }

    #[test]
    fn vat_is_extracted_from_gross() {
        assert_eq!(vat_included(12_500, 2500), 2_500);
        assert_eq!(vat_included(11_200, 1200), 1_200);
        assert_eq!(vat_included(10_600, 600), 600);
        assert_eq!(vat_included(100, 1200), 11); // 10.71 rounds to 11
        assert_eq!(vat_included(-100, 1200), -11);
        assert_eq!(vat_included(5_000, 0), 0);
    }

    #[test]
    fn breakdown_groups_and_sorts_by_rate() {
        let rows = breakdown([(2500, 100), (1200, 1120), (2500, 25)]);
        assert_eq!(rows.iter().map(|row| row.rate).collect::<Vec<_>>(), vec![1200, 2500]);
        assert_eq!(rows[1], VatAmount { rate: 2500, gross: 125, vat: 25, taxable: 100 });
        assert_eq!(format_rate(1200), "12 %");
        assert_eq!(format_rate(1250), "12.5 %");
        assert_eq!(format_rate(1205), "12.05 %");
    }
}
