//! The expense claim: an employee's request to be reimbursed, signed by the agency.
//!
//! Items either point at a receipt (by id) or stand without one (mileage, per diem). The
//! rules here are those the claim can be checked against alone; that a receipt exists,
//! belongs to the agency and is claimed nowhere else is checked by the nodes that hold it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::envelope::{Record, RecordType};
use crate::error::{Error, ErrorCode, Result};
use crate::fields::{
    check_amount, check_code, check_count, check_currency, check_optional_text, check_range, check_text,
    currency_exponent, divide_rounded, parse_date, parse_time, OrgId,
};
use crate::id::RecordId;
use crate::limits::*;

/// An expense claim as submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The agency's number for the claim, unique per agency (e.g. `2026-000042`).
    pub number: String,
    /// The agency's Swedish organisation number.
    pub agency: String,
    /// The agency's reference for the employee claiming.
    pub claimant: String,
    /// What the trip or purchase was for.
    pub purpose: String,
    /// When the claim was put together, with offset.
    pub created_at: String,
    /// What is claimed; amounts are in SEK öre.
    pub items: Vec<ClaimItem>,
}

/// Where an item is booked: BAS account, cost center, optional project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Booking {
    /// BAS chart account, four digits (5800 travel, 5831 lodging, …).
    pub account: u16,
    /// Cost center (kostnadsställe).
    pub cost_center: String,
    /// Project, where the agency books per project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

/// One claimed item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClaimItem {
    /// An expense with a receipt.
    Receipt {
        /// The receipt's id.
        receipt: RecordId,
        /// The business purpose of this expense.
        business_purpose: String,
        /// Amount claimed in SEK öre: for a foreign receipt exactly `foreign`'s conversion.
        /// Across every live claim, the items on a receipt claim at most what it supports,
        /// its total less its returns, in its own currency: checked by the node holding the
        /// receipt ([`crate::claim_amounts`], spec/protocol.md §Claim amounts).
        amount: i64,
        /// Where it is booked.
        booking: Booking,
        /// For a receipt in another currency: its amount and the conversion used.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        foreign: Option<ForeignAmount>,
        /// Participants, for representation.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        participants: Vec<String>,
    },
    /// Mileage (milersättning) for a trip by car.
    Mileage {
        /// Day of the trip.
        date: String,
        /// Where from and to.
        route: String,
        /// Business purpose of the trip.
        business_purpose: String,
        /// Whole kilometres driven.
        km: u32,
        /// Own car, or the agency's car by fuel.
        vehicle: Vehicle,
        /// Rate in öre per kilometre.
        rate_per_km: i64,
        /// `km × rate_per_km`, in öre.
        amount: i64,
        /// Where it is booked.
        booking: Booking,
    },
    /// Per diem (traktamente) for a business trip with overnight stay.
    PerDiem {
        /// First day of the trip.
        start: String,
        /// Last day of the trip.
        end: String,
        /// Where the trip went.
        destination: String,
        /// Business purpose of the trip.
        business_purpose: String,
        /// Days claimed (at most the days from start to end inclusive).
        days: u32,
        /// Allowance per day, in öre.
        daily_amount: i64,
        /// Free meals received, which reduce the allowance.
        #[serde(default, skip_serializing_if = "MealsProvided::is_none")]
        meals: MealsProvided,
        /// Total reduction for free meals, in öre.
        #[serde(default, skip_serializing_if = "is_zero")]
        meal_reduction: i64,
        /// `days × daily_amount − meal_reduction`, in öre.
        amount: i64,
        /// Where it is booked.
        booking: Booking,
    },
}

/// The kind of car driven for a mileage item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vehicle {
    /// The employee's own car.
    OwnCar,
    /// A company car running on petrol or diesel.
    CompanyCarFuel,
    /// A company car running on electricity.
    CompanyCarElectric,
}

/// Counts of free meals during a per-diem trip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MealsProvided {
    /// Free breakfasts.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub breakfasts: u32,
    /// Free lunches.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub lunches: u32,
    /// Free dinners.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub dinners: u32,
}

impl MealsProvided {
    fn is_none(&self) -> bool {
        *self == MealsProvided::default()
    }
}

/// A foreign amount and its conversion to SEK.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignAmount {
    /// The amount in the receipt's currency, in that currency's minor units.
    pub amount: i64,
    /// ISO 4217 currency of `amount`.
    pub currency: String,
    /// SEK per one unit of the currency, as an exact decimal.
    pub rate: ExchangeRate,
    /// The date the rate is for.
    pub rate_date: String,
    /// Where the rate comes from (e.g. `riksbanken`, `card-issuer`).
    pub rate_source: String,
}

/// An exchange rate as an exact decimal: `value / 10^scale` SEK per currency unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRate {
    /// The digits of the rate (114523 with scale 4 is 11.4523).
    pub value: u64,
    /// Decimal places, 0 to 9.
    pub scale: u32,
}

impl ExchangeRate {
    /// SEK öre for `amount` minor units of `currency`, rounded half away from zero; `None`
    /// if it is out of range.
    pub fn convert(&self, amount: i64, currency: &str) -> Option<i64> {
        let exponent = currency_exponent(currency);
        // öre = amount / 10^exponent units × value / 10^scale SEK/unit × 100 öre/SEK
        let numerator = i128::from(amount).checked_mul(i128::from(self.value))?.checked_mul(100)?;
        let denominator = 10i128.checked_pow(exponent + self.scale)?;
        i64::try_from(divide_rounded(numerator, denominator)).ok()
    }
}

impl std::fmt::Display for ExchangeRate {
    /// The rate as a plain decimal with its scale's places: `11.4523`, `0.066210`.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = format!("{:0>width$}", self.value, width = self.scale as usize + 1);
        let (whole, fraction) = digits.split_at(digits.len() - self.scale as usize);
        if fraction.is_empty() {
            write!(formatter, "{whole}")
        } else {
            write!(formatter, "{whole}.{fraction}")
        }
    }
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

fn is_zero_u32(value: &u32) -> bool {
    *value == 0
}

impl Record for Claim {
    const TYPE: RecordType = RecordType::Claim;

    fn validate(&self) -> Result<()> {
        check_code("number", &self.number, MAX_CODE_BYTES)?;
        if !OrgId::parse("agency", &self.agency)?.is_swedish() {
            return Err(Error::new(
                ErrorCode::OrgFormat,
                "agency",
                "an agency has a Swedish organisation number",
            ));
        }
        check_text("claimant", &self.claimant, MAX_CODE_BYTES)?;
        check_text("purpose", &self.purpose, MAX_FREE_TEXT_BYTES)?;
        parse_time("created_at", &self.created_at)?;
        check_count("items", self.items.len(), MAX_ITEMS_PER_CLAIM, true)?;
        let mut receipts = BTreeSet::new();
        for (index, item) in self.items.iter().enumerate() {
            let path = format!("items[{index}]");
            item.validate().map_err(|error| error.within(&path))?;
            if let ClaimItem::Receipt { receipt, .. } = item {
                if !receipts.insert(*receipt) {
                    return Err(Error::new(
                        ErrorCode::DuplicateReceipt,
                        format!("{path}.receipt"),
                        format!("receipt {} is already an item of this claim", receipt.short()),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Claim {
    /// The total claimed, in öre.
    pub fn total(&self) -> i64 {
        self.items.iter().map(ClaimItem::amount).sum()
    }

    /// The ids of the receipts this claim attaches.
    pub fn receipts(&self) -> impl Iterator<Item = RecordId> + '_ {
        self.items.iter().filter_map(|item| match item {
            ClaimItem::Receipt { receipt, .. } => Some(*receipt),
            _ => None,
        })
    }
}

impl ClaimItem {
    /// The amount claimed for this item, in öre.
    pub fn amount(&self) -> i64 {
        match self {
            ClaimItem::Receipt { amount, .. }
            | ClaimItem::Mileage { amount, .. }
            | ClaimItem::PerDiem { amount, .. } => *amount,
        }
    }

    /// Where the item is booked.
    pub fn booking(&self) -> &Booking {
        match self {
            ClaimItem::Receipt { booking, .. }
            | ClaimItem::Mileage { booking, .. }
            | ClaimItem::PerDiem { booking, .. } => booking,
        }
    }

    fn validate(&self) -> Result<()> {
        match self {
            ClaimItem::Receipt { business_purpose, amount, foreign, participants, .. } => {
                check_text("business_purpose", business_purpose, MAX_FREE_TEXT_BYTES)?;
                check_range("amount", *amount, 0, MAX_AMOUNT_MINOR)?;
                if let Some(foreign) = foreign {
                    foreign.validate().map_err(|error| error.within("foreign"))?;
                    let expected =
                        foreign.rate.convert(foreign.amount, &foreign.currency).unwrap_or(i64::MAX);
                    if *amount != expected {
                        return Err(Error::new(
                            ErrorCode::ItemAmount,
                            "amount",
                            format!(
                                "{amount} öre, but {} {} at {}e-{} SEK is {expected} öre",
                                foreign.amount, foreign.currency, foreign.rate.value, foreign.rate.scale
                            ),
                        ));
                    }
                }
                check_count("participants", participants.len(), MAX_PARTICIPANTS_PER_ITEM, false)?;
                for (index, participant) in participants.iter().enumerate() {
                    check_text(&format!("participants[{index}]"), participant, MAX_NAME_BYTES)?;
                }
            }
            ClaimItem::Mileage { date, route, business_purpose, km, rate_per_km, amount, .. } => {
                parse_date("date", date)?;
                check_text("route", route, MAX_NAME_BYTES)?;
                check_text("business_purpose", business_purpose, MAX_FREE_TEXT_BYTES)?;
                check_range("km", i64::from(*km), 1, i64::from(MAX_MILEAGE_KM))?;
                check_range("rate_per_km", *rate_per_km, 0, 100_000)?;
                let expected = i64::from(*km) * rate_per_km;
                if *amount != expected {
                    return Err(Error::new(
                        ErrorCode::ItemAmount,
                        "amount",
                        format!("{amount} öre, expected {expected} öre ({km} km × {rate_per_km} öre/km)"),
                    ));
                }
            }
            ClaimItem::PerDiem {
                start,
                end,
                destination,
                business_purpose,
                days,
                daily_amount,
                meals,
                meal_reduction,
                amount,
                ..
            } => {
                let first = parse_date("start", start)?;
                let last = parse_date("end", end)?;
                if last < first {
                    return Err(Error::new(
                        ErrorCode::DateOrder,
                        "end",
                        format!("{end} is before the start {start}"),
                    ));
                }
                check_text("destination", destination, MAX_NAME_BYTES)?;
                check_text("business_purpose", business_purpose, MAX_FREE_TEXT_BYTES)?;
                let span = (last - first).whole_days() + 1;
                check_range("days", i64::from(*days), 1, span.min(MAX_PER_DIEM_DAYS))?;
                check_range("daily_amount", *daily_amount, 0, 1_000_000)?;
                for (field, count) in [
                    ("meals.breakfasts", meals.breakfasts),
                    ("meals.lunches", meals.lunches),
                    ("meals.dinners", meals.dinners),
                ] {
                    check_range(field, i64::from(count), 0, i64::from(*days))?;
                }
                let gross = i64::from(*days) * daily_amount;
                check_range("meal_reduction", *meal_reduction, 0, gross)?;
                if *amount != gross - meal_reduction {
                    return Err(Error::new(ErrorCode::ItemAmount, "amount", format!("{amount} öre, expected {} öre ({days} days × {daily_amount} öre − {meal_reduction} öre for meals)", gross - meal_reduction)));
                }
            }
        }
        let booking = self.booking();
        if !(1000..=8999).contains(&booking.account) {
            return Err(Error::new(
                ErrorCode::Account,
                "booking.account",
                format!("{} is not a BAS account 1000-8999", booking.account),
            ));
        }
        check_code("booking.cost_center", &booking.cost_center, MAX_CODE_BYTES)?;
        check_optional_text("booking.project", booking.project.as_deref(), MAX_CODE_BYTES)?;
        check_amount("amount", self.amount())
    }
}

impl ForeignAmount {
    fn validate(&self) -> Result<()> {
        check_range("amount", self.amount, 0, MAX_AMOUNT_MINOR)?;
        check_currency("currency", &self.currency)?;
        if self.currency == "SEK" {
            return Err(Error::new(ErrorCode::Currency, "currency", "a foreign amount is not in SEK"));
        }
        check_range("rate.scale", i64::from(self.rate.scale), 0, 9)?;
        check_range("rate.value", i64::try_from(self.rate.value).unwrap_or(i64::MAX), 1, 1_000_000_000_000)?;
        parse_date("rate_date", &self.rate_date)?;
        check_code("rate_source", &self.rate_source, MAX_CODE_BYTES)?;
        Ok(())
    }
}
