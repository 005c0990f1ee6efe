//! Per diem and mileage (spec/books.md §Allowances): the tax-free limits of the 2025 and
//! 2026 tables, the split of what the agency pays, and its booking to the tax-free and
//! taxable accounts with a payroll line. Figures worked by hand in the comments.

use kvitt_books::{
    AllowanceTables, Allowances, AllowancesError, BookingError, ItemKind, PerDiemDays, TaxSplit,
    ALLOWANCES_2025_JSON, ALLOWANCES_2026_JSON,
};
use kvitt_protocol::claim::{Booking, ClaimItem, MealsProvided, Vehicle};

use super::{allowances, book_with, mileage, per_diem, rows};

fn year_2026() -> Allowances {
    Allowances::from_json(ALLOWANCES_2026_JSON).unwrap()
}

fn meals(breakfasts: u32, lunches: u32, dinners: u32) -> MealsProvided {
    MealsProvided { breakfasts, lunches, dinners }
}

fn whole_days(days: u32, meals: MealsProvided) -> i64 {
    year_2026().per_diem_limit(&PerDiemDays::whole_days(days, meals)).unwrap()
}

#[test]
fn the_tables_hold_skatteverkets_figures() {
    // 2025: price base amount 58 800 kr × 0.5 % = 294 → 290 kr; 2026: 59 200 × 0.5 % =
    // 296 → 300 kr. Half day and night: half of it. Mileage 25, 12 and 9.50 kr/mil.
    let tables = allowances();
    for (year, whole, half) in [(2025, 29_000, 14_500), (2026, 30_000, 15_000)] {
        let table = tables.year(year).unwrap();
        let per_diem = table.per_diem();
        assert_eq!((per_diem.whole_day, per_diem.half_day, per_diem.night), (whole, half, half), "{year}");
        let mileage = table.mileage_per_mil();
        assert_eq!(
            (mileage.own_car, mileage.company_car_fuel, mileage.company_car_electric),
            (2_500, 1_200, 950)
        );
        assert!(table.source().contains("Skatteverket"), "{year}");
    }
    assert!(tables.year(2024).is_none());
}

#[test]
fn each_free_meal_reduces_the_whole_day() {
    // 2026, one whole day of 300 kr: breakfast 20 % = 60 kr, lunch 35 % = 105 kr, dinner
    // 35 % = 105 kr; all three 90 % = 270 kr, leaving 30 kr.
    assert_eq!(whole_days(1, meals(0, 0, 0)), 30_000);
    assert_eq!(whole_days(1, meals(1, 0, 0)), 24_000);
    assert_eq!(whole_days(1, meals(0, 1, 0)), 19_500);
    assert_eq!(whole_days(1, meals(0, 0, 1)), 19_500);
    assert_eq!(whole_days(1, meals(0, 1, 1)), 9_000);
    assert_eq!(whole_days(1, meals(1, 1, 1)), 3_000);
    // Three days, two breakfasts and one dinner: 900 − 2 × 60 − 105 = 675 kr.
    assert_eq!(whole_days(3, meals(2, 0, 1)), 67_500);
    // 2025, 290 kr: a lunch is 35 % = 101.50 kr (Skatteverket's rounded table says 102);
    // kvitt keeps öre: 290 − 101.50 = 188.50 kr.
    let year_2025 = Allowances::from_json(ALLOWANCES_2025_JSON).unwrap();
    assert_eq!(year_2025.per_diem_limit(&PerDiemDays::whole_days(1, meals(0, 1, 0))), Ok(18_850));
}

#[test]
fn half_days_and_nights() {
    // 2026: two half days of 150 kr with a free breakfast on one (20 % of 150 = 30 kr),
    // one whole day with lunch (300 − 105), and two nights without paid lodging of
    // 150 kr: 300 − 30 + 195 + 300 = 765 kr.
    let days = PerDiemDays {
        whole: 1,
        half: 2,
        nights: 2,
        meals_on_whole_days: meals(0, 1, 0),
        meals_on_half_days: meals(1, 0, 0),
    };
    assert_eq!(year_2026().per_diem_limit(&days), Ok(76_500));
    // More meals than days of the kind is refused, naming them.
    let too_many = PerDiemDays { half: 1, meals_on_half_days: meals(0, 2, 0), ..PerDiemDays::default() };
    assert_eq!(
        year_2026().per_diem_limit(&too_many),
        Err(AllowancesError::Meals { field: "meals_on_half_days.lunches".into(), count: 2, days: 1 })
    );
}

#[test]
fn mileage_by_vehicle() {
    let table = year_2026();
    // 123 km = 12.3 mil: own car × 25 kr = 307.50 kr; company car on fuel × 12 kr =
    // 147.60 kr; electric company car × 9.50 kr = 116.85 kr.
    assert_eq!(table.mileage_limit(123, Vehicle::OwnCar), 30_750);
    assert_eq!(table.mileage_limit(123, Vehicle::CompanyCarFuel), 14_760);
    assert_eq!(table.mileage_limit(123, Vehicle::CompanyCarElectric), 11_685);
    // 1 km electric: 95 öre exactly, no rounding.
    assert_eq!(table.mileage_limit(1, Vehicle::CompanyCarElectric), 95);
}

#[test]
fn what_is_paid_above_the_limit_is_taxable() {
    assert_eq!(TaxSplit::of(30_750, 30_750), TaxSplit { limit: 30_750, tax_free: 30_750, taxable: 0 });
    assert_eq!(TaxSplit::of(30_751, 30_750), TaxSplit { limit: 30_750, tax_free: 30_750, taxable: 1 });
    // Paying less than the limit is all tax-free.
    assert_eq!(TaxSplit::of(20_000, 30_750), TaxSplit { limit: 30_750, tax_free: 20_000, taxable: 0 });
}

/// A mileage item of `km` in `vehicle` at `rate_per_km` öre.
fn driven(km: u32, vehicle: Vehicle, rate_per_km: i64) -> ClaimItem {
    let mut item = mileage(km, rate_per_km);
    if let ClaimItem::Mileage { vehicle: kind, .. } = &mut item {
        *kind = vehicle;
    }
    item
}

#[test]
fn mileage_at_the_tax_free_rate_books_tax_free_only() {
    // Own car 123 km at 2.50 kr/km = 307.50 kr, exactly the limit: all to 7331.
    let voucher = book_with(vec![driven(123, Vehicle::OwnCar, 250)], &[]).unwrap();
    assert_eq!(rows(&voucher), vec![(7331, 30_750), (2820, -30_750)]);
    assert_eq!(voucher.payroll.len(), 1);
    assert_eq!(voucher.payroll[0].split, TaxSplit { limit: 30_750, tax_free: 30_750, taxable: 0 });
}

#[test]
fn mileage_above_the_tax_free_rate_books_the_excess_as_taxable() {
    // Own car 100 km at 3.00 kr/km = 300 kr; limit 10 mil × 25 = 250 kr; 50 kr taxable.
    let voucher = book_with(vec![driven(100, Vehicle::OwnCar, 300)], &[]).unwrap();
    assert_eq!(rows(&voucher), vec![(7331, 25_000), (7332, 5_000), (2820, -30_000)]);
    assert_eq!(voucher.rows[1].text, "Milersättning 100 km Sundsvall - Härnösand skattepliktig del");
    let line = &voucher.payroll[0];
    assert_eq!(
        (line.item, line.kind, line.claimant.as_str()),
        (0, ItemKind::Mileage, kvitt_protocol::sample::EMPLOYEE)
    );
    assert_eq!(line.split, TaxSplit { limit: 25_000, tax_free: 25_000, taxable: 5_000 });
}

#[test]
fn company_car_electric_and_fuel_have_their_own_limits() {
    // 100 km at 1.20 kr/km = 120 kr. Fuel: limit 10 mil × 12 kr = 120 kr, all tax-free.
    // Electric: limit 10 × 9.50 = 95 kr, 25 kr taxable.
    let fuel = book_with(vec![driven(100, Vehicle::CompanyCarFuel, 120)], &[]).unwrap();
    assert_eq!(rows(&fuel), vec![(7331, 12_000), (2820, -12_000)]);
    let electric = book_with(vec![driven(100, Vehicle::CompanyCarElectric, 120)], &[]).unwrap();
    assert_eq!(rows(&electric), vec![(7331, 9_500), (7332, 2_500), (2820, -12_000)]);
    assert_eq!(electric.payroll[0].split.taxable, 2_500);
}

#[test]
fn per_diem_above_the_limit_books_the_excess_as_taxable() {
    // 3 days at 320 kr with 1 free breakfast, reduced by 60 kr: paid 900 kr. Limit 2026:
    // 3 × 300 − 60 = 840 kr. 60 kr taxable.
    let voucher = book_with(vec![per_diem(3, 32_000, 1, 6_000)], &[]).unwrap();
    assert_eq!(rows(&voucher), vec![(7321, 84_000), (7322, 6_000), (2820, -90_000)]);
    assert_eq!(voucher.payroll[0].kind, ItemKind::PerDiem);
    assert_eq!(voucher.payroll[0].split, TaxSplit { limit: 84_000, tax_free: 84_000, taxable: 6_000 });
    // Paid exactly the limit: nothing taxable, no 7322 row.
    let voucher = book_with(vec![per_diem(3, 30_000, 1, 6_000)], &[]).unwrap();
    assert_eq!(rows(&voucher), vec![(7321, 84_000), (2820, -84_000)]);
}

#[test]
fn an_item_of_a_year_without_a_table_is_not_booked() {
    let mut item = mileage(10, 250);
    if let ClaimItem::Mileage { date, .. } = &mut item {
        *date = "2024-12-31".into();
    }
    let error = book_with(vec![item], &[]).unwrap_err();
    assert_eq!(
        error,
        BookingError::Allowances {
            item: 0,
            error: AllowancesError::YearMissing { year: 2024, date: "2024-12-31".into() }
        }
    );
    assert_eq!(error.to_string(), "items[0]: allowances: no table for 2024 (the year of 2024-12-31)");
}

#[test]
fn per_diem_abroad_is_not_split() {
    // 7323 has no taxable account: foreign per diem limits are per country and not in
    // the table, so the whole amount books as before and payroll gets no line.
    let mut item = per_diem(1, 90_000, 0, 0);
    if let ClaimItem::PerDiem { booking, .. } = &mut item {
        *booking = Booking { account: 7323, cost_center: "CC-100".into(), project: None };
    }
    let voucher = book_with(vec![item], &[]).unwrap();
    assert_eq!(rows(&voucher), vec![(7323, 90_000), (2820, -90_000)]);
    assert!(voucher.payroll.is_empty());
}

#[test]
fn a_bad_table_is_refused_naming_the_field() {
    let edited = |from: &str, to: &str| {
        assert!(ALLOWANCES_2026_JSON.contains(from), "{from}");
        Allowances::from_json(&ALLOWANCES_2026_JSON.replacen(from, to, 1))
    };
    assert_eq!(
        edited("\"version\": 1", "\"version\": 2"),
        Err(AllowancesError::Version { version: 2, supported: 1 })
    );
    assert_eq!(edited("\"year\": 2026", "\"year\": 1999"), Err(AllowancesError::Year { year: 1999 }));
    assert_eq!(
        edited("\"whole_day\": 30000", "\"whole_day\": -1"),
        Err(AllowancesError::Amount { field: "per_diem.whole_day", value: -1 })
    );
    assert_eq!(
        edited("\"breakfast\": 2000", "\"breakfast\": 3001"),
        Err(AllowancesError::MealReductions { sum: 10_001 })
    );
    assert!(edited("\"breakfast\": 2000", "\"breakfast\": 3000").is_ok());
    let Err(AllowancesError::Format { path, .. }) = edited("\"own_car\"", "\"own\"") else {
        panic!("an unknown field is a format error");
    };
    assert_eq!(path, "mileage_per_mil.own");
    let twice = AllowanceTables::new([year_2026(), year_2026()]);
    assert_eq!(twice, Err(AllowancesError::DuplicateYear { year: 2026 }));
}
