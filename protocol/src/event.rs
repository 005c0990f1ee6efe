//! Claim events: every status change of a claim, signed by the party that made it and
//! chained to the previous event, so a claim's history is a hash chain.
//!
//! [`ClaimState`] is the state machine the chain must follow; it is pure, so every node
//! (and any other implementation) computes the same verdict for the same history.

use serde::{Deserialize, Serialize};

use crate::claim::Claim;
use crate::envelope::{Record, RecordType, Signed};
use crate::error::{Error, ErrorCode, Result};
use crate::fields::{check_code, check_optional_text, check_range, check_text, parse_date, parse_time};
use crate::id::RecordId;
use crate::limits::{MAX_CODE_BYTES, MAX_FREE_TEXT_BYTES, MAX_NAME_BYTES};

/// One status change of a claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimEvent {
    /// The claim's record id.
    pub claim: RecordId,
    /// The previous event of this claim; omitted only by the first event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<RecordId>,
    /// When it happened, with offset.
    pub at: String,
    /// Who did it.
    pub actor: Actor,
    /// What happened.
    pub action: Action,
}

/// The person who acted, and in which role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// The person's reference at their organisation.
    pub person: String,
    /// The role they acted in.
    pub role: Role,
}

/// Roles a person acts in on a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The employee who claims.
    Employee,
    /// The approver (attestant) at the agency.
    Approver,
    /// Staff of the shared service center.
    Ssc,
}

/// What a claim event does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// The employee submitted the claim for approval.
    Submitted,
    /// Someone looked at the claim and left a note, without deciding.
    Reviewed {
        /// What they noted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The approver approved the claim; it goes to the SSC.
    Approved,
    /// The approver or the SSC rejected the claim.
    Rejected {
        /// Why, in words the employee can act on.
        reason: String,
    },
    /// The employee withdrew the claim before a decision.
    Withdrawn,
    /// The SSC booked the claim as a voucher.
    Booked {
        /// Voucher series (verifikationsserie).
        series: String,
        /// Voucher number within the series.
        number: u64,
    },
    /// The SSC paid the claim.
    Paid {
        /// Payment date.
        date: String,
        /// Payment reference.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// The SSC reversed the booking (and the payment, if made) of a booked or paid claim:
    /// a reversing voucher, numbered in the series like any voucher, cancels the booked
    /// one. The claim's receipts are free again for a corrected claim.
    Reversed {
        /// Why, in words the employee and an auditor can follow.
        reason: String,
        /// Voucher series of the reversing voucher.
        series: String,
        /// Its number within the series.
        number: u64,
    },
}

impl Action {
    /// The action's wire name.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Submitted => "submitted",
            Action::Reviewed { .. } => "reviewed",
            Action::Approved => "approved",
            Action::Rejected { .. } => "rejected",
            Action::Withdrawn => "withdrawn",
            Action::Booked { .. } => "booked",
            Action::Paid { .. } => "paid",
            Action::Reversed { .. } => "reversed",
        }
    }
}

impl Record for ClaimEvent {
    const TYPE: RecordType = RecordType::ClaimEvent;

    fn validate(&self) -> Result<()> {
        parse_time("at", &self.at)?;
        check_text("actor.person", &self.actor.person, MAX_CODE_BYTES)?;
        match &self.action {
            Action::Submitted | Action::Approved | Action::Withdrawn => Ok(()),
            Action::Reviewed { note } => {
                check_optional_text("action.note", note.as_deref(), MAX_FREE_TEXT_BYTES)
            }
            Action::Rejected { reason } => check_text("action.reason", reason, MAX_FREE_TEXT_BYTES),
            Action::Booked { series, number } => check_voucher(series, *number),
            Action::Paid { date, reference } => {
                parse_date("action.date", date)?;
                check_optional_text("action.reference", reference.as_deref(), MAX_NAME_BYTES)
            }
            Action::Reversed { reason, series, number } => {
                check_text("action.reason", reason, MAX_FREE_TEXT_BYTES)?;
                check_voucher(series, *number)
            }
        }
    }
}

/// A voucher's series (a code) and number (at least 1), as `booked` and `reversed` name it.
fn check_voucher(series: &str, number: u64) -> Result<()> {
    check_code("action.series", series, MAX_CODE_BYTES)?;
    check_range("action.number", i64::try_from(number).unwrap_or(i64::MAX), 1, i64::MAX)
}

/// Where a claim stands, as its event chain says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Signed but not yet submitted (no events).
    Draft,
    /// Submitted, waiting for the approver.
    Submitted,
    /// Approved, waiting for the SSC.
    Approved,
    /// Rejected; final.
    Rejected,
    /// Withdrawn; final.
    Withdrawn,
    /// Booked by the SSC, waiting for payment.
    Booked,
    /// Paid; final unless reversed.
    Paid,
    /// Its booking reversed by the SSC (after booking or payment); final.
    Reversed,
}

impl Status {
    /// Whether a claim in this status holds its receipts: every status but the final
    /// ones that undo the claim (rejected, withdrawn, reversed). A live claim's items count against
    /// what their receipts support (spec/protocol.md §Claim amounts), and its receipts
    /// may go into no other claim; a claim that is no longer live frees them.
    pub fn is_live(self) -> bool {
        match self {
            Status::Draft | Status::Submitted | Status::Approved | Status::Booked | Status::Paid => true,
            Status::Rejected | Status::Withdrawn | Status::Reversed => false,
        }
    }
}

/// A claim's state: its status and the id of its latest event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimState {
    /// The claim's id.
    pub claim: RecordId,
    /// Current status.
    pub status: Status,
    /// The latest event, which the next event must name as `previous`.
    pub head: Option<RecordId>,
}

impl ClaimState {
    /// The state of a claim with no events yet.
    pub fn new(claim: &Signed<Claim>) -> ClaimState {
        ClaimState { claim: claim.id(), status: Status::Draft, head: None }
    }

    /// The state after `event`, or why `event` may not follow.
    ///
    /// Rules: the event names this claim and the current head; submitted and withdrawn are
    /// the claimant's (as employee); approved and rejected are an approver's who is not the
    /// claimant (no self-approval), or rejected by the SSC after approval; booked and paid
    /// are the SSC's. Reviewed notes may come from anyone while the claim is submitted,
    /// approved or booked. Reversed is the SSC's, from booked or paid, and final. Whether
    /// the event's signer may act in the role it names (an SSC event signed by the SSC's
    /// node key, say) needs the directory: the node checks that, not this function.
    pub fn apply(&self, claim: &Claim, event: &Signed<ClaimEvent>) -> Result<ClaimState> {
        let body = event.body();
        if body.claim != self.claim {
            return Err(Error::new(
                ErrorCode::Chain,
                "claim",
                format!("names claim {}, expected {}", body.claim.short(), self.claim.short()),
            ));
        }
        if body.previous != self.head {
            let show = |id: Option<RecordId>| id.map_or_else(|| "none".to_owned(), |id| id.short());
            return Err(Error::new(
                ErrorCode::Chain,
                "previous",
                format!("{}, expected the latest event {}", show(body.previous), show(self.head)),
            ));
        }
        let next = self.next_status(claim, &body.actor, &body.action)?;
        Ok(ClaimState { claim: self.claim, status: next, head: Some(event.id()) })
    }

    /// The status `actor` doing `action` would lead to from this state, or why they may
    /// not (the rules of [`ClaimState::apply`] without the chain): what a node asks to
    /// offer a person only the actions it would accept.
    pub fn next_status(&self, claim: &Claim, actor: &Actor, action: &Action) -> Result<Status> {
        let role = actor.role;
        let is_claimant = actor.person == claim.claimant;
        let refuse = |why: String| Err(Error::new(ErrorCode::Transition, "action", why));
        let next = match (action, self.status, role) {
            (Action::Submitted, Status::Draft, Role::Employee) if is_claimant => Status::Submitted,
            (Action::Withdrawn, Status::Submitted, Role::Employee) if is_claimant => Status::Withdrawn,
            (Action::Approved | Action::Rejected { .. }, Status::Submitted, Role::Approver)
                if is_claimant =>
            {
                return refuse(format!(
                    "{} may not {} their own claim",
                    actor.person,
                    if *action == Action::Approved { "approve" } else { "reject" }
                ));
            }
            (Action::Approved, Status::Submitted, Role::Approver) => Status::Approved,
            (Action::Rejected { .. }, Status::Submitted, Role::Approver) => Status::Rejected,
            (Action::Rejected { .. }, Status::Approved, Role::Ssc) => Status::Rejected,
            (Action::Booked { .. }, Status::Approved, Role::Ssc) => Status::Booked,
            (Action::Paid { .. }, Status::Booked, Role::Ssc) => Status::Paid,
            (Action::Reversed { .. }, Status::Booked | Status::Paid, Role::Ssc) => Status::Reversed,
            (Action::Reviewed { .. }, Status::Submitted | Status::Approved | Status::Booked, _) => {
                self.status
            }
            (action, status, role) => {
                return refuse(format!(
                    "{:?} {} may not record {} on a {:?} claim",
                    role,
                    actor.person,
                    action.name(),
                    status
                ));
            }
        };
        Ok(next)
    }
}
