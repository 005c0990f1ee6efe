//! Who bought a receipt, from what this node holds (spec/codes.md §Claims): the buyer the
//! receipt names, or else the one its merchant's assignment of it names. Every check of a
//! claim's receipts (the agency's drafts and submissions, the SSC's acceptance, booking)
//! asks here and applies the one rule of `kvitt_protocol::claim_buyer`; and assignments
//! that peers deliver (an agency sending its claim's, a peer giving back a lost one) are
//! judged here.

use kvitt_protocol::assignment::{effective_buyer, Assignment, AssignmentMismatch};
use kvitt_protocol::channel::{claim_parties, record_time};
use kvitt_protocol::claim::Claim;
use kvitt_protocol::claim_buyer::check_claim_buyer;
use kvitt_protocol::directory::{Member, MemberRole};
use kvitt_protocol::evidence::Slot;
use kvitt_protocol::receipt::{Buyer, Receipt};
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{AnyRecord, PublicKey, Signed};

use super::{unavailable, NodeCore, Step};
use crate::ledger::keys;
use crate::store::Batch;

impl NodeCore {
    /// The assignment of `receipt` that this node holds, if the receipt names no buyer:
    /// the holder of the slot (the receipt's signer, its id), so an assignment signed by
    /// any other key never counts (spec/codes.md §Assignment).
    pub(super) fn assignment_for(
        &self,
        step: &Step,
        receipt: &Signed<Receipt>,
    ) -> Result<Option<Signed<Assignment>>, Refusal> {
        if receipt.body().buyer.is_some() {
            return Ok(None);
        }
        let slot = Slot::Assignment { signer: receipt.signer(), receipt: receipt.id() };
        let Some(holder) = step.ledger.slot_holder(&slot).map_err(unavailable)? else {
            return Ok(None);
        };
        match step.ledger.record(&holder).map_err(unavailable)? {
            Some(AnyRecord::Assignment(assignment)) => Ok(Some(assignment)),
            _ => Ok(None),
        }
    }

    /// The effective buyer of `receipt` (`kvitt_protocol::assignment::effective_buyer`):
    /// `None` for a receipt without a buyer whose assignment this node does not hold.
    pub(super) fn buyer_of(&self, step: &Step, receipt: &Signed<Receipt>) -> Result<Option<Buyer>, Refusal> {
        let assignment = self.assignment_for(step, receipt)?;
        effective_buyer(receipt, assignment.as_ref())
            .map(|buyer| buyer.cloned())
            .map_err(|mismatch| Refusal::new(RefusalCode::ReceiptMismatch, mismatch.to_string()))
    }

    /// The rule that `claim` may name `receipt` (`kvitt_protocol::claim_buyer`), with the
    /// assignment this node holds: the receipt's effective buyer, which is the claim's
    /// agency. A receipt without a buyer or an assignment is `claim.receipt_unassigned`
    /// (retry: the assignment may still come), one bought by another agency
    /// `claim.receipt_mismatch`.
    pub(super) fn claim_buyer(
        &self,
        step: &Step,
        claim: &Claim,
        receipt: &Signed<Receipt>,
    ) -> Result<Buyer, Refusal> {
        let assignment = self.assignment_for(step, receipt)?;
        check_claim_buyer(claim, receipt, assignment.as_ref()).cloned().map_err(|refused| refused.refusal())
    }

    /// Whether `peer` may deliver `assignment` to this node (spec/node.md §Authorization):
    /// an agency takes the assignments naming it from their merchant or from its SSC (a
    /// lost one given back), an SSC takes those naming the agency that delivers them (the
    /// assignments of its claim's receipts), a merchant its own from the agency they name. The signer is a merchant of the directory,
    /// and, if this node holds the receipt, that receipt's signer, of a receipt without a
    /// buyer.
    pub(super) fn authorize_assignment(
        &self,
        step: &Step,
        peer: &Member,
        assignment: &Signed<Assignment>,
    ) -> Result<(), Refusal> {
        let me = &self.identity;
        let directory = self.directory.body();
        let agency = assignment.body().buyer.agency.as_str();
        match me.role {
            MemberRole::Agency if agency != me.org => {
                return Err(Refusal::new(
                    RefusalCode::Misrouted,
                    format!("an assignment to {agency}, this agency is {}", me.org),
                ));
            }
            MemberRole::Agency
                if peer.key != assignment.signer()
                    && directory.ssc_of(&me.org).is_none_or(|ssc| ssc.key != peer.key) =>
            {
                return Err(Refusal::new(
                    RefusalCode::Forbidden,
                    format!("{} may not deliver an assignment another merchant signed", peer.org),
                ));
            }
            MemberRole::Ssc if peer.role != MemberRole::Agency || peer.org != agency => {
                return Err(Refusal::new(
                    RefusalCode::Forbidden,
                    format!("{} may not deliver an assignment to {agency}", peer.org),
                ));
            }
            MemberRole::Ssc if !self.serves(&peer.org) => {
                return Err(Refusal::new(
                    RefusalCode::Misrouted,
                    format!("this SSC does not serve {}", peer.org),
                ));
            }
            // A merchant takes back only its own, from the agency it names (its ledger was
            // restored from a backup older than the collect).
            MemberRole::Merchant if assignment.signer() != me.key() || peer.org != agency => {
                return Err(Refusal::new(
                    RefusalCode::Forbidden,
                    format!("a merchant node takes back only its own assignments, from the agency they name, not {}", peer.org),
                ));
            }
            MemberRole::Agency | MemberRole::Ssc | MemberRole::Merchant => {}
        }
        if directory
            .member_by_key(&assignment.signer())
            .is_none_or(|member| member.role != MemberRole::Merchant)
        {
            return Err(Refusal::new(
                RefusalCode::WrongSigner,
                format!("an assignment signed by {}, not a merchant's key", assignment.signer().short()),
            ));
        }
        if let Some(AnyRecord::Receipt(receipt)) =
            step.ledger.record(&assignment.body().receipt).map_err(unavailable)?
        {
            kvitt_protocol::assignment::check_assigns(assignment, &receipt).map_err(|mismatch| {
                let code = match mismatch {
                    AssignmentMismatch::OtherSigner => RefusalCode::WrongSigner,
                    _ => RefusalCode::Forbidden,
                };
                Refusal::new(code, mismatch.to_string())
            })?;
        }
        Ok(())
    }

    /// The peers of the claim channels of `agency` (the agency and its SSC) with whom this
    /// node shares `receipt`: a record that follows the receipt (a return, its assignment)
    /// joins those channels too, even when it comes after the claim.
    pub(super) fn sharing_receipt(
        &self,
        step: &Step,
        receipt: &AnyRecord,
        agency: &str,
    ) -> Result<Vec<PublicKey>, Refusal> {
        let time = record_time(receipt);
        let mut sharing = Vec::new();
        for peer in self.peers_in(claim_parties(agency, self.directory.body())) {
            let key = keys::channel(&peer, time, &receipt.id());
            if step.ledger.store().get(&key).map_err(|error| unavailable(error.into()))?.is_some() {
                sharing.push(peer);
            }
        }
        Ok(sharing)
    }

    /// Places `receipt` in the channels of its `assignment` with this node's peers (its
    /// merchant and the agency it names): a receipt signed without a buyer is shared with
    /// the agency its assignment names, as one naming it would be (protocol.md §Channels).
    pub(super) fn place_assigned_receipt(
        &self,
        step: &Step,
        receipt: &Signed<Receipt>,
        assignment: &Signed<Assignment>,
        batch: &mut Batch,
    ) -> Result<(), Refusal> {
        let time = record_time(&AnyRecord::Receipt(receipt.clone()));
        for peer in self.channel_peers(step, &AnyRecord::Assignment(assignment.clone()))? {
            batch.insert(keys::channel(&peer, time, &receipt.id()), Vec::new());
        }
        Ok(())
    }

    /// Places the assignment this node holds of `receipt` (one without a buyer) in the
    /// channels with `peers`: it travels with the receipt in a claim's channel, so that
    /// the SSC can judge the claim and reconciliation gives it back to whoever lost it.
    pub(super) fn place_assignment(
        &self,
        step: &Step,
        receipt: &Signed<Receipt>,
        peers: &[PublicKey],
        batch: &mut Batch,
    ) -> Result<(), Refusal> {
        if let Some(assignment) = self.assignment_for(step, receipt)? {
            let time = record_time(&AnyRecord::Assignment(assignment.clone()));
            for peer in peers {
                batch.insert(keys::channel(peer, time, &assignment.id()), Vec::new());
            }
        }
        Ok(())
    }
}
