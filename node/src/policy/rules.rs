//! Evaluating a claim against a [`Policy`]: pure functions, no clock, no ledger.

use std::collections::BTreeMap;

use kvitt_protocol::claim::{Claim, ClaimItem};
use kvitt_protocol::fields::format_date;
use kvitt_protocol::RecordId;
use time::Date;

use super::file::{Category, ItemKind};
use super::{Finding, Policy, Rule, Severity};

/// What the employee's side of the policy says of a claim's items, judged on `today`
/// (the day of submission): deadline, maximum per category, representation, and cost
/// centers that no approver may approve. `sale_dates` holds the date of sale of each
/// receipt the agency holds; an item whose receipt is not there has no deadline to miss.
pub fn check_claim(
    policy: &Policy,
    items: &[ClaimItem],
    sale_dates: &BTreeMap<RecordId, Date>,
    today: Date,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("items[{index}]");
        let mut found = |rule: Rule, severity: Severity, message: String| {
            findings.push(Finding { rule, severity, message, item: Some(path.clone()) });
        };
        if let Some(rule) = &policy.deadline {
            if let Some((what, date)) = item_date(item, sale_dates) {
                let last = add_months(date, rule.months);
                if today > last {
                    found(
                        Rule::Deadline,
                        rule.severity,
                        format!(
                            "{what} from {} is {} months old, limit {}: the last day to claim it was {}",
                            format_date(date),
                            months_between(date, today),
                            rule.months,
                            format_date(last)
                        ),
                    );
                }
            }
        }
        for rule in &policy.max {
            let applies = match rule.category() {
                Category::Account(account) => item.booking().account == account,
                Category::Kind(kind) => kind == kind_of(item),
            };
            if applies && item.amount() > rule.per_item_ore {
                found(
                    Rule::Max,
                    rule.severity,
                    format!(
                        "{} is above the limit of {} per item for {}",
                        kronor(item.amount()),
                        kronor(rule.per_item_ore),
                        describe(rule.category())
                    ),
                );
            }
        }
        if let (Some(rule), ClaimItem::Receipt { business_purpose, participants, booking, .. }) =
            (&policy.representation, item)
        {
            if rule.accounts.contains(&booking.account) {
                let named = participants.iter().filter(|name| !name.trim().is_empty()).count();
                if named < usize::try_from(rule.min_participants).unwrap_or(usize::MAX) {
                    found(
                        Rule::RepresentationParticipants,
                        rule.severity,
                        format!(
                            "representation on account {} names {named} participants, at least {} required",
                            booking.account, rule.min_participants
                        ),
                    );
                }
                let chars = business_purpose.trim().chars().count();
                if chars < usize::try_from(rule.min_purpose_chars).unwrap_or(usize::MAX) {
                    found(
                        Rule::RepresentationPurpose,
                        rule.severity,
                        format!(
                            "business purpose {business_purpose:?} is {chars} characters; representation \
                             needs at least {} saying what business it served",
                            rule.min_purpose_chars
                        ),
                    );
                }
            }
        }
        if let Some(rule) = &policy.approvers {
            let center = &item.booking().cost_center;
            if !rule.anyone_allows(center) {
                found(
                    Rule::Approver,
                    rule.severity,
                    format!("no approver may approve cost center {center} under policy {}", policy.revision),
                );
            }
        }
    }
    findings
}

/// What the approver's side of the policy says of `approver` deciding `claim`: never
/// their own claim (always an error, whatever the policy), and only cost centers the
/// policy allows them.
pub fn check_approval(policy: &Policy, claim: &Claim, approver: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    if claim.claimant == approver {
        findings.push(Finding {
            rule: Rule::SelfApproval,
            severity: Severity::Error,
            message: format!("{approver} may not approve their own claim {}", claim.number),
            item: None,
        });
    }
    if let Some(rule) = &policy.approvers {
        for (index, item) in claim.items.iter().enumerate() {
            let center = &item.booking().cost_center;
            if !rule.allows(approver, center) {
                findings.push(Finding {
                    rule: Rule::Approver,
                    severity: rule.severity,
                    message: format!(
                        "{approver} may not approve cost center {center} under policy {}",
                        policy.revision
                    ),
                    item: Some(format!("items[{index}]")),
                });
            }
        }
    }
    findings
}

/// The day an item's deadline runs from, and what to call it.
fn item_date(item: &ClaimItem, sale_dates: &BTreeMap<RecordId, Date>) -> Option<(&'static str, Date)> {
    let parse = |text: &str| kvitt_protocol::fields::parse_date("", text).ok();
    match item {
        ClaimItem::Receipt { receipt, .. } => sale_dates.get(receipt).map(|date| ("receipt", *date)),
        ClaimItem::Mileage { date, .. } => parse(date).map(|date| ("trip", date)),
        ClaimItem::PerDiem { end, .. } => parse(end).map(|date| ("per diem ending", date)),
    }
}

fn kind_of(item: &ClaimItem) -> ItemKind {
    match item {
        ClaimItem::Receipt { .. } => ItemKind::Receipt,
        ClaimItem::Mileage { .. } => ItemKind::Mileage,
        ClaimItem::PerDiem { .. } => ItemKind::PerDiem,
    }
}

fn describe(category: Category) -> String {
    match category {
        Category::Account(account) => format!("account {account}"),
        Category::Kind(ItemKind::Receipt) => "receipts".into(),
        Category::Kind(ItemKind::Mileage) => "mileage".into(),
        Category::Kind(ItemKind::PerDiem) => "per diem".into(),
    }
}

/// Öre as kronor with two decimals and the currency (`2500.00 SEK`).
fn kronor(ore: i64) -> String {
    let sign = if ore < 0 { "-" } else { "" };
    format!("{sign}{}.{:02} SEK", (ore / 100).unsigned_abs(), (ore % 100).unsigned_abs())
}

/// `date` plus `months` calendar months; a day the month lacks becomes its last day
/// (2026-01-31 plus one month is 2026-02-28).
pub fn add_months(date: Date, months: u32) -> Date {
    let index = i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1 + i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).unwrap_or(i32::MAX);
    let month = u8::try_from(index.rem_euclid(12) + 1)
        .ok()
        .and_then(|month| time::Month::try_from(month).ok())
        .unwrap_or(time::Month::December);
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MAX)
}

/// Whole calendar months from `from` to `to` (0 if `to` is earlier).
pub fn months_between(from: Date, to: Date) -> i64 {
    let months = (i64::from(to.year()) - i64::from(from.year())) * 12 + i64::from(u8::from(to.month()))
        - i64::from(u8::from(from.month()));
    let months = if to.day() < from.day() { months - 1 } else { months };
    months.max(0)
}
