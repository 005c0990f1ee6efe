//! Per diem (traktamente) in the claim builder: a form of departure and return (day and
//! time), destination, purpose, cost centre and the free meals, turned into the claim
//! items the API takes (`ClaimItem::PerDiem`), at Skatteverket's domestic amounts for the
//! year of departure (kvitt_protocol::books::allowances). The allowance model is domestic
//! only, so the form is too: a trip abroad is claimed through the API.
//!
//! The day of departure counts whole if the trip left before 12:00, the day of return if
//! it came back after 19:00; the others are half days, the days between whole. An item
//! has one daily amount, so a trip with half days is two items (its whole days and its
//! half days, both from departure to return), added together or not at all. Free meals
//! fall on whole days first; each reduces its day's amount by the table's share, and an
//! item claims exactly the tax-free limit, so none of it is taxable.

use kvitt_books::{AllowanceTables, BookingTable, ItemKind, PerDiemDays};
use kvitt_protocol::claim::{Booking, ClaimItem, MealsProvided};
use kvitt_protocol::fields::parse_date;
use time::{Date, Time};

use super::drafts::Input;
use crate::web::i18n::Text;

/// Most days (departure to return, both counted) one trip of the form claims: after three
/// months in one place the allowance is reduced (to 70 %), which the form does not compute.
pub const MAX_TRIP_DAYS: i64 = 90;

/// A day of departure counts whole if the trip left before this time.
const WHOLE_IF_LEFT_BEFORE: Time = time::macros::time!(12:00);
/// A day of return counts whole if the trip came back after this time.
const WHOLE_IF_BACK_AFTER: Time = time::macros::time!(19:00);

/// The account of domestic per diem when the booking table names none (BAS 7321).
const PER_DIEM_ACCOUNT: u16 = 7321;

/// The per diem form as filled in, and which field was wrong.
#[derive(Default)]
pub struct PerDiemForm {
    depart_date: String,
    depart_time: String,
    return_date: String,
    return_time: String,
    destination: String,
    purpose: String,
    cost_center: String,
    breakfasts: String,
    lunches: String,
    dinners: String,
    /// The field found wrong and what is wrong with it.
    pub error: Option<(&'static str, String)>,
}

/// A field that is wrong: its name and what to tell the person.
type FieldError = (&'static str, String);

impl PerDiemForm {
    /// The form as posted (`field` reads one trimmed value by name).
    pub fn posted(field: impl Fn(&str) -> String) -> PerDiemForm {
        PerDiemForm {
            depart_date: field("depart_date"),
            depart_time: field("depart_time"),
            return_date: field("return_date"),
            return_time: field("return_time"),
            destination: field("destination"),
            purpose: field("purpose"),
            cost_center: field("cost_center"),
            breakfasts: field("breakfasts"),
            lunches: field("lunches"),
            dinners: field("dinners"),
            error: None,
        }
    }

    /// Its inputs, each with its label in the page's language.
    pub fn inputs(&self, t: &Text) -> Vec<Input> {
        let invalid = |name: &str| self.error.as_ref().is_some_and(|(field, _)| *field == name);
        [
            ("depart_date", t.depart_date, "date", &self.depart_date, true),
            ("depart_time", t.depart_time, "time", &self.depart_time, true),
            ("return_date", t.return_date, "date", &self.return_date, true),
            ("return_time", t.return_time, "time", &self.return_time, true),
            ("destination", t.destination, "text", &self.destination, true),
            ("purpose", t.purpose, "text", &self.purpose, true),
            ("cost_center", t.cost_center, "text", &self.cost_center, true),
            ("breakfasts", t.free_breakfasts, "number", &self.breakfasts, false),
            ("lunches", t.free_lunches, "number", &self.lunches, false),
            ("dinners", t.free_dinners, "number", &self.dinners, false),
        ]
        .into_iter()
        .map(|(name, label, kind, value, required)| Input {
            name,
            label,
            kind,
            value: value.clone(),
            required,
            invalid: invalid(name),
        })
        .collect()
    }

    /// The claim items of the trip (whole days, then half days), or the first field that
    /// is wrong.
    pub fn items(&self, t: &Text) -> Result<Vec<ClaimItem>, FieldError> {
        let trip = self.trip(t)?;
        let tables = AllowanceTables::default_tables().map_err(|error| ("depart_date", error.to_string()))?;
        let Some(allowances) = tables.year(trip.depart.year()) else {
            return Err(("depart_date", t.per_diem_no_year.to_owned()));
        };
        let limits = allowances.per_diem();
        let booking =
            Booking { account: per_diem_account(), cost_center: self.cost_center.clone(), project: None };
        let mut items = Vec::new();
        for (days, daily_amount, meals, whole) in [
            (trip.whole, limits.whole_day, trip.meals_on_whole, true),
            (trip.half, limits.half_day, trip.meals_on_half, false),
        ] {
            if days == 0 {
                continue;
            }
            let counted = if whole {
                PerDiemDays { whole: days, meals_on_whole_days: meals, ..PerDiemDays::default() }
            } else {
                PerDiemDays { half: days, meals_on_half_days: meals, ..PerDiemDays::default() }
            };
            let amount =
                allowances.per_diem_limit(&counted).map_err(|error| ("breakfasts", error.to_string()))?;
            items.push(ClaimItem::PerDiem {
                start: self.depart_date.clone(),
                end: self.return_date.clone(),
                destination: self.destination.clone(),
                business_purpose: self.purpose.clone(),
                days,
                daily_amount,
                meals,
                meal_reduction: i64::from(days) * daily_amount - amount,
                amount,
                booking: booking.clone(),
            });
        }
        Ok(items)
    }

    /// The trip's whole and half days and its free meals on each, or the first field that
    /// is wrong.
    fn trip(&self, t: &Text) -> Result<Trip, FieldError> {
        let invalid = |name: &'static str| (name, t.field_invalid.to_owned());
        let date = |name: &'static str, text: &str| parse_date(name, text).map_err(|_| invalid(name));
        let time = |name: &'static str, text: &str| clock_time(text).ok_or_else(|| invalid(name));
        let depart = date("depart_date", &self.depart_date)?;
        let left = time("depart_time", &self.depart_time)?;
        let back_on = date("return_date", &self.return_date)?;
        let back = time("return_time", &self.return_time)?;
        for (name, value) in [
            ("destination", &self.destination),
            ("purpose", &self.purpose),
            ("cost_center", &self.cost_center),
        ] {
            if value.is_empty() {
                return Err((name, t.field_required.to_owned()));
            }
        }
        if back_on <= depart {
            return Err(("return_date", t.per_diem_overnight.to_owned()));
        }
        let span = (back_on - depart).whole_days() + 1;
        if span > MAX_TRIP_DAYS {
            return Err(("return_date", t.per_diem_too_long.to_owned()));
        }
        // Within MAX_TRIP_DAYS: fits a u32.
        let span = u32::try_from(span).unwrap_or(u32::MAX);
        let half = u32::from(left >= WHOLE_IF_LEFT_BEFORE) + u32::from(back <= WHOLE_IF_BACK_AFTER);
        let whole = span - half;
        let mut on_whole = MealsProvided::default();
        let mut on_half = MealsProvided::default();
        for (name, text, whole_count, half_count) in [
            ("breakfasts", &self.breakfasts, &mut on_whole.breakfasts, &mut on_half.breakfasts),
            ("lunches", &self.lunches, &mut on_whole.lunches, &mut on_half.lunches),
            ("dinners", &self.dinners, &mut on_whole.dinners, &mut on_half.dinners),
        ] {
            let count = if text.is_empty() { Some(0) } else { text.parse::<u32>().ok() };
            let Some(count) = count else {
                return Err(invalid(name));
            };
            if count > span {
                return Err((name, t.per_diem_meals.to_owned()));
            }
            *whole_count = count.min(whole);
            *half_count = count - *whole_count;
        }
        Ok(Trip { depart, whole, half, meals_on_whole: on_whole, meals_on_half: on_half })
    }
}

/// A trip's days as the allowance counts them.
struct Trip {
    depart: Date,
    whole: u32,
    half: u32,
    meals_on_whole: MealsProvided,
    meals_on_half: MealsProvided,
}

/// A time of day as a browser's time input sends it: `HH:MM`, or `HH:MM:SS`.
fn clock_time(text: &str) -> Option<Time> {
    let mut parts = text.split(':');
    let mut number = |digits: usize| {
        parts
            .next()
            .filter(|part| part.len() == digits && part.bytes().all(|byte| byte.is_ascii_digit()))?
            .parse::<u8>()
            .ok()
    };
    let (hour, minute) = (number(2)?, number(2)?);
    let second = match parts.next() {
        None => 0,
        Some(part) if part.len() == 2 => part.parse::<u8>().ok()?,
        Some(_) => return None,
    };
    Time::from_hms(hour, minute, second).ok()
}

/// The account the booking table gives per diem in Sweden.
fn per_diem_account() -> u16 {
    BookingTable::default_table()
        .ok()
        .and_then(|table| table.account_for_kind(ItemKind::PerDiem, false))
        .unwrap_or(PER_DIEM_ACCOUNT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::i18n::Lang;

    fn form(depart: (&str, &str), back: (&str, &str), meals: (&str, &str, &str)) -> PerDiemForm {
        let values = [
            ("depart_date", depart.0),
            ("depart_time", depart.1),
            ("return_date", back.0),
            ("return_time", back.1),
            ("destination", "Göteborg"),
            ("purpose", "Konferens"),
            ("cost_center", "CC-100"),
            ("breakfasts", meals.0),
            ("lunches", meals.1),
            ("dinners", meals.2),
        ];
        PerDiemForm::posted(|name| {
            values
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
                .unwrap_or_default()
        })
    }

    fn days_and_amounts(items: &[ClaimItem]) -> Vec<(u32, i64, i64, i64)> {
        items
            .iter()
            .map(|item| match item {
                ClaimItem::PerDiem { days, daily_amount, meal_reduction, amount, .. } => {
                    (*days, *daily_amount, *meal_reduction, *amount)
                }
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn leaving_before_noon_and_back_after_seven_are_whole_days_else_half() {
        let t = Lang::Sv.text();
        // 2026: 300 kr a whole day, 150 kr a half. Three whole days.
        let items = form(("2026-05-04", "11:59"), ("2026-05-06", "19:01"), ("", "", "")).items(t).unwrap();
        assert_eq!(days_and_amounts(&items), [(3, 30_000, 0, 90_000)]);
        // Left at noon and back at seven sharp: one whole day between two half days.
        let items = form(("2026-05-04", "12:00"), ("2026-05-06", "19:00"), ("", "", "")).items(t).unwrap();
        assert_eq!(days_and_amounts(&items), [(1, 30_000, 0, 30_000), (2, 15_000, 0, 30_000)]);
        // Each is a claim item the protocol takes, booked to domestic per diem.
        for item in &items {
            let claim = kvitt_protocol::claim::Claim {
                items: vec![item.clone()],
                ..kvitt_protocol::sample::claim(kvitt_protocol::RecordId([7; 32]), 100)
            };
            kvitt_protocol::Record::validate(&claim).unwrap();
            assert_eq!(item.booking().account, 7321);
        }
    }

    #[test]
    fn free_meals_fall_on_whole_days_first_and_reduce_by_the_tables_share() {
        let t = Lang::Sv.text();
        // One whole day and two half: two breakfasts, one on the whole day (20 % of 300 kr)
        // and one on a half day (20 % of 150 kr); one lunch (35 % of 300 kr).
        let items = form(("2026-05-04", "13:00"), ("2026-05-06", "18:00"), ("2", "1", "0")).items(t).unwrap();
        assert_eq!(days_and_amounts(&items), [(1, 30_000, 16_500, 13_500), (2, 15_000, 3_000, 27_000)]);
    }

    #[test]
    fn a_wrong_field_is_named_and_the_limits_hold_at_their_edges() {
        let t = Lang::Sv.text();
        let error = |form: PerDiemForm| form.items(t).err();
        let same_day = form(("2026-05-04", "08:00"), ("2026-05-04", "20:00"), ("", "", ""));
        assert_eq!(error(same_day), Some(("return_date", t.per_diem_overnight.to_owned())));
        let longest = form(("2026-05-01", "08:00"), ("2026-07-29", "20:00"), ("", "", ""));
        assert_eq!(days_and_amounts(&longest.items(t).unwrap()), [(90, 30_000, 0, 2_700_000)]);
        let too_long = form(("2026-05-01", "08:00"), ("2026-07-30", "20:00"), ("", "", ""));
        assert_eq!(error(too_long), Some(("return_date", t.per_diem_too_long.to_owned())));
        let meals = form(("2026-05-04", "08:00"), ("2026-05-05", "20:00"), ("3", "", ""));
        assert_eq!(error(meals), Some(("breakfasts", t.per_diem_meals.to_owned())));
        let all_meals = form(("2026-05-04", "08:00"), ("2026-05-05", "20:00"), ("2", "2", "2"));
        assert_eq!(days_and_amounts(&all_meals.items(t).unwrap()), [(2, 30_000, 54_000, 6_000)]);
        let no_year = form(("2031-05-04", "08:00"), ("2031-05-05", "20:00"), ("", "", ""));
        assert_eq!(error(no_year), Some(("depart_date", t.per_diem_no_year.to_owned())));
        for (time, ok) in
            [("08:00", true), ("08:00:30", true), ("8:00", false), ("24:00", false), ("08", false)]
        {
            let form = form(("2026-05-04", time), ("2026-05-05", "20:00"), ("", "", ""));
            assert_eq!(form.items(t).is_ok(), ok, "{time}");
        }
        let mut empty = form(("2026-05-04", "08:00"), ("2026-05-05", "20:00"), ("", "", ""));
        empty.cost_center.clear();
        assert_eq!(error(empty), Some(("cost_center", t.field_required.to_owned())));
        let lunches = form(("2026-05-04", "08:00"), ("2026-05-05", "20:00"), ("", "två", ""));
        assert_eq!(error(lunches), Some(("lunches", t.field_invalid.to_owned())));
    }
}
