//! An agency's expense policy: rules with names, read from `DIR/policy.toml`, and the
//! findings they give a claim.
//!
//! Policy is agency-local: the agency decides its deadline, its limits and who approves
//! which cost center, and nobody else needs to reach the same verdict (the SSC checks
//! signatures, arithmetic and duplicates, not the agency's policy). So it lives in the
//! node, not in `kvitt-protocol`, whose rules every implementation must share. The one
//! rule that is protocol-level, no self-approval, stays in the claim state machine
//! (`kvitt_protocol::event::ClaimState::apply`); here it only gets its name,
//! `policy.self_approval`, so that a refusal says which rule it was.
//!
//! [`Policy::parse`] checks the whole file at load and names the field that is wrong;
//! [`rules`] evaluates a claim without I/O: the caller gives it the dates of sale of the
//! claim's receipts and the day to judge by. The format is in spec/policy.md.

mod file;
pub mod rules;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::wire::RefusalCode;
use kvitt_protocol::ErrorCode;
use serde::{Deserialize, Serialize};

pub use file::{
    ApproverEntry, ApproverRule, Category, DeadlineRule, ItemKind, MaxRule, Policy, RepresentationRule,
    MAX_DEADLINE_MONTHS,
};

/// The name of the policy file in a node's data directory.
pub const POLICY_FILE: &str = "policy.toml";

/// The policy file format this node reads (`format = 1`).
pub const POLICY_FORMAT: u32 = 1;

/// How much a broken rule weighs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Shown, and blocks: a claim with an error is not submitted, or not approved.
    #[default]
    Error,
    /// Shown to the employee and the approver; does not block.
    Warning,
}

/// The rules a finding can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rule {
    /// The claim comes too long after the date of sale (or the trip).
    #[serde(rename = "policy.deadline")]
    Deadline,
    /// An item is above the maximum of its category.
    #[serde(rename = "policy.max")]
    Max,
    /// A representation item names too few participants.
    #[serde(rename = "policy.representation.participants")]
    RepresentationParticipants,
    /// A representation item's business purpose is too thin.
    #[serde(rename = "policy.representation.purpose")]
    RepresentationPurpose,
    /// An approver decides their own claim (always an error; the state machine refuses it).
    #[serde(rename = "policy.self_approval")]
    SelfApproval,
    /// The approver may not approve the cost center, or nobody may.
    #[serde(rename = "policy.approver")]
    Approver,
    /// The items on a receipt claim more than it supports (spec/protocol.md §Claim
    /// amounts); not the agency's policy but the protocol's, so always an error.
    #[serde(rename = "claim.over_claim")]
    OverClaim,
    /// A receipt item is not in its receipt's currency (spec/protocol.md §Claim amounts);
    /// always an error.
    #[serde(rename = "claim.receipt_currency")]
    ReceiptCurrency,
    /// A receipt item's account is for expenses in Sweden and the receipt was sold abroad,
    /// or the other way round (spec/books.md): the SSC would refuse to book it; always an
    /// error.
    #[serde(rename = "books.place")]
    Place,
}

impl Rule {
    /// The rule's name, as findings and refusals print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Deadline => "policy.deadline",
            Rule::Max => "policy.max",
            Rule::RepresentationParticipants => "policy.representation.participants",
            Rule::RepresentationPurpose => "policy.representation.purpose",
            Rule::SelfApproval => "policy.self_approval",
            Rule::Approver => "policy.approver",
            Rule::OverClaim => ErrorCode::OverClaim.as_str(),
            Rule::ReceiptCurrency => ErrorCode::ReceiptCurrency.as_str(),
            Rule::Place => RefusalCode::Place.as_str(),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Which rule.
    pub rule: Rule,
    /// Whether it blocks.
    pub severity: Severity,
    /// What is wrong, with the numbers (`receipt from 2025-09-02 is 14 months old, limit 12`).
    pub message: String,
    /// The item it concerns (`items[0]`), if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
}

impl Finding {
    /// Whether this finding blocks.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match &self.item {
            Some(item) => write!(f, "{} ({severity}, {item}): {}", self.rule, self.message),
            None => write!(f, "{} ({severity}): {}", self.rule, self.message),
        }
    }
}

/// Why a policy file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file exists but could not be read.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        error: std::io::Error,
    },
    /// The text is not TOML of the policy's shape (unknown field, wrong type, …).
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// What the TOML reader said, with the line.
        message: String,
    },
    /// The file is of a format this node does not read.
    #[error("{path}: format = {found}, this node reads format = {POLICY_FORMAT}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The format the file names.
        found: u32,
    },
    /// A field has a value the rules cannot use.
    #[error("{path}: {field}: {why}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field, as a TOML path (`max[1].per_item_ore`).
        field: String,
        /// What is wrong with it.
        why: String,
    },
}

impl Policy {
    /// The policy's revision as refusals name it (`built-in` for no policy file).
    pub fn label(&self) -> &str {
        if self.revision.is_empty() {
            "built-in"
        } else {
            &self.revision
        }
    }

    /// Reads `DIR/policy.toml`; no file is the empty policy (only no self-approval).
    pub fn load(data: &Path) -> Result<Policy, PolicyError> {
        let path = data.join(POLICY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Policy::parse(&path, &text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Policy::default()),
            Err(source) => Err(PolicyError::Io { path, error: source }),
        }
    }

    /// Reads `DIR/policy.toml` for a node of `role`: a policy is an agency's, and a file on
    /// any other node is refused rather than silently ignored.
    pub fn load_for(data: &Path, role: MemberRole) -> Result<Policy, PolicyError> {
        let policy = Policy::load(data)?;
        if policy != Policy::default() && role != MemberRole::Agency {
            return Err(PolicyError::Invalid {
                path: data.join(POLICY_FILE),
                field: "format".into(),
                why: format!("a policy is an agency's, and this node is a {role:?} node"),
            });
        }
        Ok(policy)
    }
}
