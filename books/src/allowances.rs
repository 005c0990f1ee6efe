//! Tax-free limits for domestic per diem and mileage, one table per income year
//! (spec/books.md §Allowances; spec/books/allowances-2026.json), and the split of what
//! the agency pays into a tax-free part and a taxable part for payroll.
//!
//! The figures change every year (the per diem follows the price base amount), the
//! account mapping does not: so they are their own files, one a year, not part of the
//! booking table, and a claim's item is judged by the year of its date.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use kvitt_protocol::claim::{ClaimItem, MealsProvided, Vehicle};
use kvitt_protocol::fields::{divide_rounded, parse_date};

/// The 2025 table, as committed in spec/books/allowances-2025.json.
pub const ALLOWANCES_2025_JSON: &str = include_str!("../../spec/books/allowances-2025.json");

/// The 2026 table, as committed in spec/books/allowances-2026.json.
pub const ALLOWANCES_2026_JSON: &str = include_str!("../../spec/books/allowances-2026.json");

/// The only allowances format version this implementation reads.
pub const ALLOWANCES_FORMAT_VERSION: u32 = 1;

/// The largest amount an allowance may have: 10,000 SEK a day or a mil.
const MAX_ALLOWANCE_ORE: i64 = 1_000_000;

/// Domestic per diem limits of one year, in öre.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerDiemLimits {
    /// A whole day (maximibelopp): the trip left before 12:00 or came back after 19:00.
    pub whole_day: i64,
    /// A half day: the day of leaving at 12:00 or later, or of coming back at 19:00 or
    /// earlier.
    pub half_day: i64,
    /// A night without paid lodging (nattraktamente).
    pub night: i64,
    /// How much each free meal reduces the day's amount, in basis points of it.
    pub meal_reduction_basis_points: MealReductions,
}

/// The reduction for a free meal, in basis points of the day's amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MealReductions {
    /// Breakfast (Skatteverket: 20 %).
    pub breakfast: u32,
    /// Lunch (35 %).
    pub lunch: u32,
    /// Dinner (35 %).
    pub dinner: u32,
}

/// Tax-free mileage of one year, in öre per mil (10 km).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MileageLimits {
    /// The employee's own car (25 kr/mil).
    pub own_car: i64,
    /// A company car (förmånsbil) on diesel, petrol or another fuel, the employee paying
    /// the fuel (12 kr/mil).
    pub company_car_fuel: i64,
    /// A fully electric company car (9.50 kr/mil).
    pub company_car_electric: i64,
}

/// The allowances of one income year, checked by [`Allowances::from_json`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowances {
    year: i32,
    source: String,
    per_diem: PerDiemLimits,
    mileage_per_mil: MileageLimits,
}

/// Why an allowances table was refused, or an item has no limit. Each names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AllowancesError {
    /// The JSON does not match the format.
    #[error("allowances: {path}: {message}")]
    Format {
        /// Where in the JSON.
        path: String,
        /// What serde said.
        message: String,
    },
    /// The table's version is not one this implementation reads.
    #[error(
        "allowances: version {version} is not supported (this implementation reads version {supported})"
    )]
    Version {
        /// The version in the table.
        version: u32,
        /// The version read.
        supported: u32,
    },
    /// The year is not 2000 to 2999.
    #[error("allowances: year: {year}, expected 2000 to 2999")]
    Year {
        /// The value given.
        year: i32,
    },
    /// The source is empty: every figure must say where it comes from.
    #[error("allowances: source: empty; name where the figures come from")]
    Source,
    /// An amount is out of range.
    #[error("allowances: {field}: {value} öre, expected 0 to 1000000")]
    Amount {
        /// The field.
        field: &'static str,
        /// The value given.
        value: i64,
    },
    /// The three meal reductions add up to more than the day's amount.
    #[error(
        "allowances: per_diem.meal_reduction_basis_points: {sum} in all, more than 10000 (the whole day)"
    )]
    MealReductions {
        /// Their sum.
        sum: u32,
    },
    /// Two tables of the same year.
    #[error("allowances: two tables for {year}")]
    DuplicateYear {
        /// The year.
        year: i32,
    },
    /// No table is loaded for the year of an item's date.
    #[error("allowances: no table for {year} (the year of {date})")]
    YearMissing {
        /// The year.
        year: i32,
        /// The item's date it was taken from.
        date: String,
    },
    /// An item's date is not a real date (a signed claim's always is).
    #[error("allowances: {date:?} is not a real date YYYY-MM-DD")]
    Date {
        /// The value given.
        date: String,
    },
    /// More free meals of a kind than days they could fall on.
    #[error("allowances: {field}: {count} meals on {days} days")]
    Meals {
        /// Which meals.
        field: String,
        /// How many.
        count: u32,
        /// On how many days.
        days: u32,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowancesFile {
    version: u32,
    year: i32,
    #[serde(default)]
    #[allow(dead_code)]
    about: String,
    source: String,
    per_diem: PerDiemLimits,
    mileage_per_mil: MileageLimits,
}

/// The days of a domestic trip with per diem, and the free meals on them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerDiemDays {
    /// Whole days.
    pub whole: u32,
    /// Half days.
    pub half: u32,
    /// Nights without paid lodging.
    pub nights: u32,
    /// Free meals on whole days, each reducing a whole day's amount.
    pub meals_on_whole_days: MealsProvided,
    /// Free meals on half days, each reducing a half day's amount.
    pub meals_on_half_days: MealsProvided,
}

impl PerDiemDays {
    /// A claim item's days: a claim records days and meals but not the hours of leaving
    /// and coming back, so every day counts as whole and there are no nights.
    pub fn whole_days(days: u32, meals: MealsProvided) -> PerDiemDays {
        PerDiemDays { whole: days, meals_on_whole_days: meals, ..PerDiemDays::default() }
    }
}

/// What the agency pays for an allowance, split at the tax-free limit. Öre.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaxSplit {
    /// The tax-free limit for the item.
    pub limit: i64,
    /// The part paid tax-free: what is paid, at most the limit.
    pub tax_free: i64,
    /// The part above the limit: taxable salary, for payroll.
    pub taxable: i64,
}

impl TaxSplit {
    /// Splits `paid` at `limit`; a payment under the limit is tax-free in full.
    pub fn of(paid: i64, limit: i64) -> TaxSplit {
        let tax_free = paid.min(limit.max(0)).max(0);
        TaxSplit { limit, tax_free, taxable: paid - tax_free }
    }
}

impl Allowances {
    /// Reads and checks a table in the format of spec/books/allowances-2026.json.
    pub fn from_json(json: &str) -> Result<Allowances, AllowancesError> {
        let deserializer = &mut serde_json::Deserializer::from_str(json);
        let file: AllowancesFile = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            AllowancesError::Format { path: error.path().to_string(), message: error.inner().to_string() }
        })?;
        if file.version != ALLOWANCES_FORMAT_VERSION {
            return Err(AllowancesError::Version {
                version: file.version,
                supported: ALLOWANCES_FORMAT_VERSION,
            });
        }
        if !(2000..=2999).contains(&file.year) {
            return Err(AllowancesError::Year { year: file.year });
        }
        if file.source.trim().is_empty() {
            return Err(AllowancesError::Source);
        }
        let per_diem = file.per_diem;
        let mileage = file.mileage_per_mil;
        for (field, value) in [
            ("per_diem.whole_day", per_diem.whole_day),
            ("per_diem.half_day", per_diem.half_day),
            ("per_diem.night", per_diem.night),
            ("mileage_per_mil.own_car", mileage.own_car),
            ("mileage_per_mil.company_car_fuel", mileage.company_car_fuel),
            ("mileage_per_mil.company_car_electric", mileage.company_car_electric),
        ] {
            if !(0..=MAX_ALLOWANCE_ORE).contains(&value) {
                return Err(AllowancesError::Amount { field, value });
            }
        }
        let meals = per_diem.meal_reduction_basis_points;
        let sum = meals.breakfast.saturating_add(meals.lunch).saturating_add(meals.dinner);
        if sum > 10_000 {
            return Err(AllowancesError::MealReductions { sum });
        }
        Ok(Allowances { year: file.year, source: file.source, per_diem, mileage_per_mil: mileage })
    }

    /// The income year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// Where the figures come from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The per diem limits.
    pub fn per_diem(&self) -> PerDiemLimits {
        self.per_diem
    }

    /// The mileage limits.
    pub fn mileage_per_mil(&self) -> MileageLimits {
        self.mileage_per_mil
    }

    /// The tax-free per diem for `days`: each day's amount less its free meals, each
    /// meal a percentage of that day's amount; rounded half away from zero to öre once
    /// per kind of day.
    pub fn per_diem_limit(&self, days: &PerDiemDays) -> Result<i64, AllowancesError> {
        let limits = self.per_diem;
        let whole = self.days_less_meals(days.whole, limits.whole_day, days.meals_on_whole_days, true)?;
        let half = self.days_less_meals(days.half, limits.half_day, days.meals_on_half_days, false)?;
        let nights = i128::from(days.nights) * i128::from(limits.night);
        Ok(clamp_to_i64(whole + half + nights))
    }

    fn days_less_meals(
        &self,
        days: u32,
        amount: i64,
        meals: MealsProvided,
        on_whole_days: bool,
    ) -> Result<i128, AllowancesError> {
        let reductions = self.per_diem.meal_reduction_basis_points;
        let mut basis_points = 0i128;
        for (count, reduction, meal) in [
            (meals.breakfasts, reductions.breakfast, "breakfasts"),
            (meals.lunches, reductions.lunch, "lunches"),
            (meals.dinners, reductions.dinner, "dinners"),
        ] {
            if count > days {
                let on = if on_whole_days { "meals_on_whole_days" } else { "meals_on_half_days" };
                return Err(AllowancesError::Meals { field: format!("{on}.{meal}"), count, days });
            }
            basis_points += i128::from(count) * i128::from(reduction);
        }
        let gross = i128::from(days) * i128::from(amount);
        Ok(gross - divide_rounded(i128::from(amount) * basis_points, 10_000))
    }

    /// The tax-free mileage for `km` kilometres in `vehicle`: km × the rate per mil / 10,
    /// rounded half away from zero to öre.
    pub fn mileage_limit(&self, km: u32, vehicle: Vehicle) -> i64 {
        let per_mil = match vehicle {
            Vehicle::OwnCar => self.mileage_per_mil.own_car,
            Vehicle::CompanyCarFuel => self.mileage_per_mil.company_car_fuel,
            Vehicle::CompanyCarElectric => self.mileage_per_mil.company_car_electric,
        };
        clamp_to_i64(divide_rounded(i128::from(km) * i128::from(per_mil), 10))
    }
}

fn clamp_to_i64(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// The allowances of every year the SSC has loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowanceTables {
    by_year: BTreeMap<i32, Allowances>,
}

impl AllowanceTables {
    /// The tables compiled into this crate: 2025 and 2026, parsed at first use and then
    /// shared.
    pub fn default_tables() -> Result<&'static AllowanceTables, AllowancesError> {
        static DEFAULT: OnceLock<Result<AllowanceTables, AllowancesError>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                AllowanceTables::new([
                    Allowances::from_json(ALLOWANCES_2025_JSON)?,
                    Allowances::from_json(ALLOWANCES_2026_JSON)?,
                ])
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Tables of distinct years.
    pub fn new(tables: impl IntoIterator<Item = Allowances>) -> Result<AllowanceTables, AllowancesError> {
        let mut by_year = BTreeMap::new();
        for table in tables {
            let year = table.year;
            if by_year.insert(year, table).is_some() {
                return Err(AllowancesError::DuplicateYear { year });
            }
        }
        Ok(AllowanceTables { by_year })
    }

    /// The table of `year`.
    pub fn year(&self, year: i32) -> Option<&Allowances> {
        self.by_year.get(&year)
    }

    fn for_date(&self, date: &str) -> Result<&Allowances, AllowancesError> {
        let day = parse_date("date", date).map_err(|_| AllowancesError::Date { date: date.into() })?;
        self.year(day.year()).ok_or(AllowancesError::YearMissing { year: day.year(), date: date.into() })
    }

    /// The tax split of a mileage or per diem item (`None` for a receipt item): its
    /// amount at the limit of its year (a per diem by its start date, mileage by its
    /// date). A per diem item's days count as whole days ([`PerDiemDays::whole_days`]).
    pub fn tax_split(&self, item: &ClaimItem) -> Result<Option<TaxSplit>, AllowancesError> {
        match item {
            ClaimItem::Receipt { .. } => Ok(None),
            ClaimItem::Mileage { date, km, vehicle, amount, .. } => {
                let limit = self.for_date(date)?.mileage_limit(*km, *vehicle);
                Ok(Some(TaxSplit::of(*amount, limit)))
            }
            ClaimItem::PerDiem { start, days, meals, amount, .. } => {
                let limit = self.for_date(start)?.per_diem_limit(&PerDiemDays::whole_days(*days, *meals))?;
                Ok(Some(TaxSplit::of(*amount, limit)))
            }
        }
    }
}
