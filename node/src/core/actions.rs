//! What a caller may do to a claim now: the actions the core would accept from them, found
//! by the same rules as the decision itself (the node's and caller's roles of
//! [`decider`], the claim's transitions of [`ClaimState::next_status`], which refuse
//! self-approval). The web app offers only these, so a page never offers what the core
//! would refuse.

use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::event::{Action, Actor, ClaimState, Role};
use kvitt_protocol::wire::Refusal;
use serde::Serialize;

use super::{unavailable, Caller, CallerRole, ClaimView, NodeCore, Step};

/// An action on a claim a caller may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimAction {
    /// Approve (an approver, not the claimant).
    Approve,
    /// Reject with a reason (an approver, not the claimant; SSC staff after approval).
    Reject,
    /// Withdraw before a decision (the claimant).
    Withdraw,
    /// Book (SSC staff, an approved claim not held as an exception).
    Book,
    /// Pay (SSC staff, a booked claim).
    Pay,
    /// Reverse a booked or paid claim (SSC staff).
    Reverse,
}

/// Who records `action` on a node of role `node`: the caller's role it takes and the
/// role the event names; `None` if no one does on such a node.
pub(super) fn decider(action: &Action, node: MemberRole) -> Option<(CallerRole, Role)> {
    match (action, node) {
        (Action::Approved | Action::Rejected { .. }, MemberRole::Agency) => {
            Some((CallerRole::Approver, Role::Approver))
        }
        (Action::Withdrawn, MemberRole::Agency) => Some((CallerRole::Employee, Role::Employee)),
        (
            Action::Paid { .. } | Action::Rejected { .. } | Action::Booked { .. } | Action::Reversed { .. },
            MemberRole::Ssc,
        ) => Some((CallerRole::SscStaff, Role::Ssc)),
        _ => None,
    }
}

impl NodeCore {
    /// The actions `caller` may take on the claim of `view` now.
    pub(super) fn claim_actions(
        &self,
        step: &Step,
        caller: &Caller,
        view: &ClaimView,
    ) -> Result<Vec<ClaimAction>, Refusal> {
        let id = view.claim.id();
        let state = step
            .ledger
            .claim_state(&id)
            .map_err(unavailable)?
            .unwrap_or_else(|| ClaimState::new(&view.claim));
        let held = view.exception.is_some();
        let text = String::new;
        let candidates = [
            (ClaimAction::Approve, Action::Approved),
            (ClaimAction::Reject, Action::Rejected { reason: text() }),
            (ClaimAction::Withdraw, Action::Withdrawn),
            (ClaimAction::Book, Action::Booked { series: text(), number: 0 }),
            (ClaimAction::Pay, Action::Paid { date: text(), reference: None }),
            (ClaimAction::Reverse, Action::Reversed { reason: text(), series: text(), number: 0 }),
        ];
        let mut actions = Vec::new();
        for (kind, action) in candidates {
            let Some((caller_role, role)) = decider(&action, self.identity.role) else {
                continue;
            };
            if caller.role != caller_role || (kind == ClaimAction::Book && held) {
                continue;
            }
            let actor = Actor { person: caller.person.clone(), role };
            if state.next_status(view.claim.body(), &actor, &action).is_ok() {
                actions.push(kind);
            }
        }
        Ok(actions)
    }
}
