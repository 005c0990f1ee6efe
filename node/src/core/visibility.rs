//! What a client may see, and the answer for what they may not: exactly the one for what
//! the node does not hold (`404` `request.not_found`), so that no route tells a caller
//! that a claim or receipt of someone else exists, let alone where it stands.

use kvitt_protocol::claim::Claim;
use kvitt_protocol::receipt::Buyer;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{RecordId, Signed};

use super::{Caller, CallerRole, NodeCore, Step};

impl NodeCore {
    /// The claim `claim_id` if the caller may see it: staff and approvers any the node
    /// holds, an employee their own claims of this agency; otherwise as if there were none.
    pub(super) fn visible_claim(
        &self,
        step: &Step,
        caller: &Caller,
        claim_id: &RecordId,
    ) -> Result<Signed<Claim>, Refusal> {
        let claim = self.claim(step, claim_id)?;
        if caller.role == CallerRole::Employee && !self.is_own_claim(caller, claim.body()) {
            return Err(no_claim(claim_id));
        }
        Ok(claim)
    }

    /// Whether `claim` is the employee `caller`'s, at this agency.
    pub(super) fn is_own_claim(&self, caller: &Caller, claim: &Claim) -> bool {
        claim.claimant == caller.person && claim.agency == self.identity.org
    }

    /// Whether another employee than `caller` bought a receipt whose effective buyer is
    /// `buyer` (core::buyers): the caller may not see it.
    pub(super) fn is_others_receipt(&self, caller: &Caller, buyer: Option<&Buyer>) -> bool {
        caller.role == CallerRole::Employee
            && buyer.is_some_and(|buyer| {
                buyer.agency == self.identity.org
                    && buyer.employee.as_deref().is_some_and(|employee| employee != caller.person)
            })
    }
}

/// The answer for a claim the node does not hold, or the caller may not see.
pub(super) fn no_claim(claim_id: &RecordId) -> Refusal {
    Refusal::new(RefusalCode::NotFound, format!("no claim {claim_id}"))
}
