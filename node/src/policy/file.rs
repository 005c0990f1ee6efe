//! The policy file: its TOML shape and the checks [`Policy::parse`] makes before a node
//! uses it.

use std::collections::BTreeSet;
use std::path::Path;

use kvitt_protocol::limits::MAX_AMOUNT_MINOR;
use serde::{Deserialize, Serialize};

use super::{PolicyError, Severity, POLICY_FORMAT};

/// Longest claim deadline a policy may set, in months (ten years, the longest that
/// agencies keep their books).
pub const MAX_DEADLINE_MONTHS: u32 = 120;

/// An agency's policy, checked whole when it was read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The file format, [`POLICY_FORMAT`].
    pub format: u32,
    /// The agency's own name for this version of its policy (`2026-01`), shown with findings.
    pub revision: String,
    /// How long after the date of sale a claim may come.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DeadlineRule>,
    /// The most an item of a category may claim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub max: Vec<MaxRule>,
    /// What a representation item must say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representation: Option<RepresentationRule>,
    /// Who may approve which cost centers; anyone with an approver's token if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvers: Option<ApproverRule>,
}

/// `[deadline]`: a claim item's date of sale (a trip's day, a per diem's last day) may be
/// at most `months` calendar months before the day the claim is submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRule {
    /// Whole calendar months, 1 to [`MAX_DEADLINE_MONTHS`].
    pub months: u32,
    /// Error (blocks submission) or warning.
    #[serde(default)]
    pub severity: Severity,
}

/// `[[max]]`: the most one item of a category may claim, in öre.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxRule {
    /// A BAS account the item is booked on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<u16>,
    /// Or a kind of item: `receipt`, `mileage`, `per_diem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ItemKind>,
    /// The limit per item, öre; an item of exactly this amount is within it.
    pub per_item_ore: i64,
    /// Error (blocks submission) or warning.
    #[serde(default)]
    pub severity: Severity,
}

/// The kinds of claim item a `[[max]]` rule can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// An item with a receipt.
    Receipt,
    /// Mileage.
    Mileage,
    /// Per diem.
    PerDiem,
}

/// What a `[[max]]` rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    /// Items booked on this BAS account.
    Account(u16),
    /// Items of this kind.
    Kind(ItemKind),
}

impl MaxRule {
    /// The category the rule limits (parse checked that exactly one is given).
    pub fn category(&self) -> Category {
        match (self.account, self.kind) {
            (Some(account), _) => Category::Account(account),
            (None, Some(kind)) => Category::Kind(kind),
            (None, None) => Category::Kind(ItemKind::Receipt),
        }
    }
}

/// `[representation]`: receipt items booked on these accounts are representation, and
/// must name their participants and say what business they served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepresentationRule {
    /// The representation accounts (BAS 6071 deductible, 6072 non-deductible, …).
    pub accounts: Vec<u16>,
    /// Fewest participants an item names; at least 1.
    #[serde(default = "one")]
    pub min_participants: u32,
    /// Fewest characters of business purpose, beyond the protocol's non-empty.
    #[serde(default = "one")]
    pub min_purpose_chars: u32,
    /// Error (blocks submission) or warning.
    #[serde(default)]
    pub severity: Severity,
}

fn one() -> u32 {
    1
}

/// `[approvers]`: who may approve claims booked on which cost centers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproverRule {
    /// Error (blocks the approval, and submission of a cost center nobody may approve)
    /// or warning.
    #[serde(default)]
    pub severity: Severity,
    /// One entry per approver.
    pub allow: Vec<ApproverEntry>,
}

/// One approver and the cost centers they may approve; `*` is every cost center.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproverEntry {
    /// The approver's reference (as their API token names them).
    pub person: String,
    /// Cost centers, or `*`.
    pub cost_centers: Vec<String>,
}

impl ApproverRule {
    /// Whether `person` may approve items booked on `cost_center`.
    pub fn allows(&self, person: &str, cost_center: &str) -> bool {
        self.allow.iter().any(|entry| {
            entry.person == person
                && entry.cost_centers.iter().any(|allowed| allowed == "*" || allowed == cost_center)
        })
    }

    /// Whether anybody may approve items booked on `cost_center`.
    pub fn anyone_allows(&self, cost_center: &str) -> bool {
        self.allow.iter().any(|entry| self.allows(&entry.person, cost_center))
    }
}

impl Policy {
    /// Parses and checks a policy file's text; `path` is only for the errors.
    pub fn parse(path: &Path, text: &str) -> Result<Policy, PolicyError> {
        let policy: Policy = toml::from_str(text)
            .map_err(|error| PolicyError::Syntax { path: path.to_owned(), message: error.to_string() })?;
        if policy.format != POLICY_FORMAT {
            return Err(PolicyError::Format { path: path.to_owned(), found: policy.format });
        }
        policy.check().map_err(|(field, why)| PolicyError::Invalid { path: path.to_owned(), field, why })?;
        Ok(policy)
    }

    /// The first field whose value the rules cannot use, and why.
    fn check(&self) -> Result<(), (String, String)> {
        let fail = |field: &str, why: String| Err((field.to_owned(), why));
        if self.revision.trim().is_empty() {
            return fail("revision", "empty: name this version of the policy, e.g. \"2026-01\"".into());
        }
        if let Some(deadline) = &self.deadline {
            if !(1..=MAX_DEADLINE_MONTHS).contains(&deadline.months) {
                return fail(
                    "deadline.months",
                    format!("{} is outside 1..={MAX_DEADLINE_MONTHS}", deadline.months),
                );
            }
        }
        let mut categories = BTreeSet::new();
        for (index, rule) in self.max.iter().enumerate() {
            let field = |name: &str| format!("max[{index}]{name}");
            match (rule.account, rule.kind) {
                (Some(_), Some(_)) | (None, None) => {
                    return fail(&field(""), "name exactly one of account and kind".into())
                }
                (Some(account), None) => check_account(&field(".account"), account)?,
                (None, Some(_)) => {}
            }
            if !(0..=MAX_AMOUNT_MINOR).contains(&rule.per_item_ore) {
                return fail(
                    &field(".per_item_ore"),
                    format!("{} is outside 0..={MAX_AMOUNT_MINOR} öre", rule.per_item_ore),
                );
            }
            if !categories.insert(rule.category()) {
                return fail(&field(""), format!("{:?} is limited twice", rule.category()));
            }
        }
        if let Some(representation) = &self.representation {
            if representation.accounts.is_empty() {
                return fail("representation.accounts", "empty: name the representation accounts".into());
            }
            for (index, account) in representation.accounts.iter().enumerate() {
                check_account(&format!("representation.accounts[{index}]"), *account)?;
            }
            if representation.min_participants == 0 {
                return fail(
                    "representation.min_participants",
                    "0: a representation has participants".into(),
                );
            }
        }
        if let Some(approvers) = &self.approvers {
            let mut people = BTreeSet::new();
            for (index, entry) in approvers.allow.iter().enumerate() {
                if entry.person.trim().is_empty() {
                    return fail(&format!("approvers.allow[{index}].person"), "empty".into());
                }
                if !people.insert(entry.person.as_str()) {
                    return fail(
                        &format!("approvers.allow[{index}].person"),
                        format!("{:?} is listed twice", entry.person),
                    );
                }
                if entry.cost_centers.is_empty() || entry.cost_centers.iter().any(|center| center.is_empty())
                {
                    return fail(
                        &format!("approvers.allow[{index}].cost_centers"),
                        "name at least one cost center, or \"*\" for all, and no empty one".into(),
                    );
                }
            }
        }
        Ok(())
    }
}

fn check_account(field: &str, account: u16) -> Result<(), (String, String)> {
    if (1000..=8999).contains(&account) {
        Ok(())
    } else {
        Err((field.to_owned(), format!("{account} is not a BAS account 1000-8999")))
    }
}
