//! A claim's events: signing one for this node, storing it with the writes it brings
//! (chain, state, receipts released), and what follows it: an approved claim travels to
//! the SSC (or waits for one the directory names), an SSC event goes back to the agency.

use kvitt_protocol::claim::Claim;
use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::event::{Action, Actor, ClaimEvent, ClaimState, Status};
use kvitt_protocol::evidence::Slot;
use kvitt_protocol::fields::format_time;
use kvitt_protocol::wire::Refusal;
use kvitt_protocol::{AnyRecord, RecordId, Signed};

use super::card_payments;
use crate::core::{unavailable, NodeCore, Step};
use crate::ledger::{encode_claim_state, keys};
use crate::store::Batch;

impl NodeCore {
    /// Signs an event of this node for `claim`, applies it and stores it; an event the
    /// claim's state does not allow changes nothing.
    pub(in crate::core) fn record_event(
        &mut self,
        step: &mut Step,
        claim: &Signed<Claim>,
        actor: Actor,
        action: Action,
    ) -> Result<Status, Refusal> {
        let signed = self.sign_event(step, claim, actor, action)?;
        self.store_event(step, claim, signed, Batch::new())
    }

    /// Signs an event of this node for `claim` and applies it to the claim's state,
    /// storing nothing: the event and the state it leads to, or why the claim's state does
    /// not allow it.
    pub(in crate::core) fn sign_event(
        &self,
        step: &Step,
        claim: &Signed<Claim>,
        actor: Actor,
        action: Action,
    ) -> Result<(Signed<ClaimEvent>, ClaimState), Refusal> {
        let state = step
            .ledger
            .claim_state(&claim.id())
            .map_err(unavailable)?
            .unwrap_or_else(|| ClaimState::new(claim));
        self.may_sign()?;
        let event =
            ClaimEvent { claim: claim.id(), previous: state.head, at: format_time(step.now), actor, action };
        let event =
            Signed::sign(event, &self.identity.signing_key).map_err(|error| Refusal::invalid(&error))?;
        let next = state.apply(claim.body(), &event).map_err(|error| Refusal::invalid(&error))?;
        Ok((event, next))
    }

    /// Stores an event [`Self::sign_event`] signed, with `also` (what the event brings
    /// with it, such as the voucher it numbers) in the same batch, and does what follows.
    pub(in crate::core) fn store_event(
        &mut self,
        step: &mut Step,
        claim: &Signed<Claim>,
        (event, next): (Signed<ClaimEvent>, ClaimState),
        mut also: Batch,
    ) -> Result<Status, Refusal> {
        self.event_writes(step, claim, &event, &next, &mut also)?;
        step.write(&also).map_err(unavailable)?;
        self.after_event(step, claim, &next)?;
        Ok(next.status)
    }

    /// The writes of an accepted event: the record, its slot, its place in the chain, the
    /// claim's new state, and the receipts released if the claim is no longer live
    /// (rejected, withdrawn or reversed).
    pub(in crate::core) fn event_writes(
        &self,
        step: &Step,
        claim: &Signed<Claim>,
        event: &Signed<ClaimEvent>,
        next: &ClaimState,
        batch: &mut Batch,
    ) -> Result<(), Refusal> {
        let record = AnyRecord::ClaimEvent(event.clone());
        self.put(step, &record, batch)?;
        if let Some(slot) = Slot::of(&record) {
            batch.insert(keys::slot(&slot), event.id().as_bytes().to_vec());
        }
        let position =
            u32::try_from(step.ledger.chain(&claim.id()).map_err(unavailable)?.len()).unwrap_or(u32::MAX);
        batch.insert(keys::chain(&claim.id(), position), event.id().as_bytes().to_vec());
        batch.insert(keys::claim(&claim.id()), encode_claim_state(next));
        if !next.status.is_live() {
            for receipt in claim.body().receipts() {
                if step.ledger.claim_holding(&receipt).map_err(unavailable)? == Some(claim.id()) {
                    batch.remove(keys::held(&receipt));
                }
                // The SSC's index of claimed card payments lets go too, so that the
                // receipt can go into a corrected claim.
                for (_, key) in card_payments(step, &receipt)? {
                    let holder = step.ledger.store().get(&key).map_err(|error| unavailable(error.into()))?;
                    if holder.as_deref() == Some(claim.id().as_bytes().as_slice()) {
                        batch.remove(key);
                    }
                }
            }
        }
        Ok(())
    }

    /// What follows an event: an approved claim travels to the SSC; an SSC event goes
    /// back to the agency. (An approved claim held for an exception waits for staff.)
    pub(in crate::core) fn after_event(
        &mut self,
        step: &mut Step,
        claim: &Signed<Claim>,
        state: &ClaimState,
    ) -> Result<(), Refusal> {
        match (self.identity.role, state.status) {
            (MemberRole::Agency, Status::Approved) => self.send_or_wait(step, claim)?,
            (MemberRole::Ssc, _) => {
                if let (Some(agency), Some(head)) = (
                    self.directory.body().member_by_org(&claim.body().agency).map(|agency| agency.key),
                    state.head,
                ) {
                    let own = matches!(step.ledger.record(&head).map_err(unavailable)?, Some(record) if record.signer() == self.identity.key());
                    if own {
                        self.outbox.enqueue(step, agency, head).map_err(unavailable)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Queues an approved claim, its receipts (each after its assignment, for one without
    /// a buyer: the SSC takes the receipt by it) with their returns, and its events for the
    /// SSC serving this agency; false if the directory names none.
    fn send_to_ssc(&mut self, step: &mut Step, claim: &Signed<Claim>) -> Result<bool, Refusal> {
        let Some(ssc) = self.directory.body().ssc_of(&self.identity.org).map(|ssc| ssc.key) else {
            return Ok(false);
        };
        let mut ids: Vec<RecordId> = Vec::new();
        for receipt in claim.body().receipts() {
            if let Some(AnyRecord::Receipt(held)) = step.ledger.record(&receipt).map_err(unavailable)? {
                ids.extend(self.assignment_for(step, &held)?.map(|assignment| assignment.id()));
            }
            ids.push(receipt);
            ids.extend(step.ledger.returns_of(&receipt).map_err(unavailable)?);
        }
        ids.push(claim.id());
        ids.extend(step.ledger.chain(&claim.id()).map_err(unavailable)?);
        for id in ids {
            self.outbox.enqueue(step, ssc, id).map_err(unavailable)?;
        }
        Ok(true)
    }

    /// Sends an approved claim to the SSC, or marks it waiting for one.
    fn send_or_wait(&mut self, step: &mut Step, claim: &Signed<Claim>) -> Result<(), Refusal> {
        if self.send_to_ssc(step, claim)? {
            return Ok(());
        }
        tracing::error!(agency = %self.identity.org, "no SSC serves this agency in the directory; the claim waits for one");
        let mut batch = Batch::new();
        batch.insert(keys::waiting(&claim.id()), Vec::new());
        step.write(&batch).map_err(unavailable)
    }

    /// After a new directory: sends the approved claims that were waiting for an SSC, if
    /// one serves this agency now.
    pub(in crate::core) fn send_waiting_claims(&mut self, step: &mut Step) -> Result<(), Refusal> {
        for claim_id in step.ledger.waiting_claims(crate::ledger::MAX_SCAN_ENTRIES).map_err(unavailable)? {
            let claim = self.claim(step, &claim_id)?;
            if !self.send_to_ssc(step, &claim)? {
                return Ok(());
            }
            let mut batch = Batch::new();
            batch.remove(keys::waiting(&claim_id));
            // No SSC shared the claim's channel when it was approved: this one does now.
            if let Some(ssc) = self.directory.body().ssc_of(&self.identity.org).map(|ssc| ssc.key) {
                self.place_claim(step, &claim_id, ssc, &mut batch)?;
            }
            step.write(&batch).map_err(unavailable)?;
            tracing::info!(claim = %claim_id.short(), "a claim that waited for an SSC is on its way");
        }
        Ok(())
    }
}
