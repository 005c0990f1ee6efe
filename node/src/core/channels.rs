//! The channel index: every record a node stores is also placed, by (time, id), in the
//! channel it shares with each peer entitled to it (kvitt_protocol::channel), so that
//! reconciliation with a peer walks exactly what both may hold and nothing else.

use kvitt_protocol::channel::{claim_parties, parties, record_time, Parties};
use kvitt_protocol::claim::Claim;
use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::event::{Action, ClaimEvent};
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::wire::Refusal;
use kvitt_protocol::{AnyRecord, PublicKey, RecordId, Signed};

use super::{unavailable, NodeCore, Step};
use crate::ledger::{keys, put_record};
use crate::store::Batch;

impl NodeCore {
    /// Writes `record` and places it in its channels with this node's peers. A claim's
    /// receipts, their returns and their assignments join the claim's channel too, and a
    /// receipt without a buyer its assignment's channel. At an agency, a claim
    /// joins its SSC's channel only when it is approved (see [`NodeCore::unshared_ssc`]).
    pub(super) fn put(&self, step: &Step, record: &AnyRecord, batch: &mut Batch) -> Result<(), Refusal> {
        put_record(batch, record);
        let time = record_time(record);
        let unshared = self.unshared_ssc(step, record)?;
        let peers: Vec<PublicKey> =
            self.channel_peers(step, record)?.into_iter().filter(|peer| Some(*peer) != unshared).collect();
        for peer in &peers {
            batch.insert(keys::channel(peer, time, &record.id()), Vec::new());
        }
        match record {
            AnyRecord::Claim(claim) => self.place_receipts(step, claim, &peers, batch)?,
            AnyRecord::Receipt(receipt) => {
                for peer in self.sharing_original(step, receipt)? {
                    batch.insert(keys::channel(&peer, time, &record.id()), Vec::new());
                }
                if let Some(assignment) = self.assignment_for(step, receipt)? {
                    self.place_assigned_receipt(step, receipt, &assignment, batch)?;
                }
            }
            // An assignment brings its receipt into its channel, and follows it into the
            // claim channels it is in.
            AnyRecord::Assignment(assignment) => {
                let receipt = step.ledger.record(&assignment.body().receipt).map_err(unavailable)?;
                if let Some(AnyRecord::Receipt(receipt)) = receipt {
                    self.place_assigned_receipt(step, &receipt, assignment, batch)?;
                    let held = AnyRecord::Receipt(receipt);
                    for peer in self.sharing_receipt(step, &held, &assignment.body().buyer.agency)? {
                        batch.insert(keys::channel(&peer, time, &record.id()), Vec::new());
                    }
                }
            }
            AnyRecord::ClaimEvent(event)
                if matches!(event.body().action, Action::Approved)
                    && self.identity.role == MemberRole::Agency =>
            {
                self.share_with_ssc(step, event, batch)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// At an agency, the SSC to leave out of `record`'s channel for now: a claim reaches its
    /// SSC when it is approved (delivery sends it then) and not before, so its SSC is left
    /// out of the channel of a claim and its events until then. Otherwise reconciliation
    /// would show the SSC claims the agency may still withdraw, whose receipts the SSC
    /// would count as taken when a corrected claim of them arrives.
    fn unshared_ssc(&self, step: &Step, record: &AnyRecord) -> Result<Option<PublicKey>, Refusal> {
        if self.identity.role != MemberRole::Agency {
            return Ok(None);
        }
        let Some(ssc) = self.directory.body().ssc_of(&self.identity.org).map(|ssc| ssc.key) else {
            return Ok(None);
        };
        let claim_id = match record {
            AnyRecord::Claim(_) => return Ok(Some(ssc)),
            AnyRecord::ClaimEvent(event) => event.body().claim,
            _ => return Ok(None),
        };
        let Some(AnyRecord::Claim(claim)) = step.ledger.record(&claim_id).map_err(unavailable)? else {
            return Ok(None);
        };
        let shared = keys::channel(&ssc, record_time(&AnyRecord::Claim(claim)), &claim_id);
        let shared = step.ledger.store().get(&shared).map_err(|error| unavailable(error.into()))?.is_some();
        Ok((!shared).then_some(ssc))
    }

    /// Places a claim that `approval` approves, its receipts, the events before and the
    /// approval itself in the channel with the agency's SSC.
    fn share_with_ssc(
        &self,
        step: &Step,
        approval: &Signed<ClaimEvent>,
        batch: &mut Batch,
    ) -> Result<(), Refusal> {
        let Some(ssc) = self.directory.body().ssc_of(&self.identity.org).map(|ssc| ssc.key) else {
            return Ok(());
        };
        self.place_claim(step, &approval.body().claim, ssc, batch)?;
        let approval_time = record_time(&AnyRecord::ClaimEvent(approval.clone()));
        batch.insert(keys::channel(&ssc, approval_time, &approval.id()), Vec::new());
        Ok(())
    }

    /// Places a claim this node holds, its receipts and its events so far in the channel
    /// with `peer`: when an approved claim that waited for an SSC goes to one.
    pub(super) fn place_claim(
        &self,
        step: &Step,
        claim_id: &RecordId,
        peer: PublicKey,
        batch: &mut Batch,
    ) -> Result<(), Refusal> {
        let Some(AnyRecord::Claim(claim)) = step.ledger.record(claim_id).map_err(unavailable)? else {
            return Ok(());
        };
        self.place_receipts(step, &claim, &[peer], batch)?;
        let claim_time = record_time(&AnyRecord::Claim(claim));
        batch.insert(keys::channel(&peer, claim_time, claim_id), Vec::new());
        for event in step.ledger.chain(claim_id).map_err(unavailable)? {
            if let Some(held) = step.ledger.record(&event).map_err(unavailable)? {
                batch.insert(keys::channel(&peer, record_time(&held), &event), Vec::new());
            }
        }
        Ok(())
    }

    /// Places the receipts `claim` attaches, the assignments of those without a buyer and
    /// the returns of them, as far as this node holds them, in the channels with `peers`:
    /// the SSC judges the claim's buyers with the assignments (spec/codes.md §Claims) and
    /// its amounts with the returns netted (spec/protocol.md §Claim amounts).
    fn place_receipts(
        &self,
        step: &Step,
        claim: &Signed<Claim>,
        peers: &[PublicKey],
        batch: &mut Batch,
    ) -> Result<(), Refusal> {
        for receipt in claim.body().receipts() {
            let returns = step.ledger.returns_of(&receipt).map_err(unavailable)?;
            for id in std::iter::once(receipt).chain(returns) {
                let Some(held) = step.ledger.record(&id).map_err(unavailable)? else {
                    continue;
                };
                if let AnyRecord::Receipt(receipt) = &held {
                    self.place_assignment(step, receipt, peers, batch)?;
                }
                for peer in peers {
                    batch.insert(keys::channel(peer, record_time(&held), &id), Vec::new());
                }
            }
        }
        Ok(())
    }

    /// The peers of the channel of a claim of `receipt`'s buyer (the agency and its SSC)
    /// with whom this node shares the receipt `receipt` names as `original`: a return
    /// follows its original into a claim's channel, even when it comes after the claim.
    pub(super) fn sharing_original(
        &self,
        step: &Step,
        receipt: &Signed<Receipt>,
    ) -> Result<Vec<PublicKey>, Refusal> {
        let Some(original) = receipt.body().original else {
            return Ok(Vec::new());
        };
        let Some(held) = step.ledger.record(&original).map_err(unavailable)? else {
            return Ok(Vec::new());
        };
        self.sharing_receipt(step, &held, receipt.body().buyer_agency().unwrap_or_default())
    }

    /// The peers `record` is shared with: the other members of its channel, if this node
    /// is in it.
    pub(super) fn channel_peers(&self, step: &Step, record: &AnyRecord) -> Result<Vec<PublicKey>, Refusal> {
        let members = match parties(record, self.directory.body()) {
            Parties::Members(members) => members,
            Parties::OfClaim(claim) => self.claim_channel(step, &claim)?,
        };
        Ok(self.peers_in(members))
    }

    /// The channel of the claim with `id`, if this node holds the claim.
    fn claim_channel(
        &self,
        step: &Step,
        id: &RecordId,
    ) -> Result<std::collections::BTreeSet<PublicKey>, Refusal> {
        Ok(match step.ledger.record(id).map_err(unavailable)? {
            Some(AnyRecord::Claim(claim)) => claim_parties(&claim.body().agency, self.directory.body()),
            _ => Default::default(),
        })
    }

    /// The members of a channel other than this node, or none if it is not in it.
    pub(super) fn peers_in(&self, members: std::collections::BTreeSet<PublicKey>) -> Vec<PublicKey> {
        let me = self.identity.key();
        if !members.contains(&me) {
            return Vec::new();
        }
        members.into_iter().filter(|member| *member != me).collect()
    }

    /// The members this node may share a channel with under its directory: a merchant's
    /// agencies; an agency's merchants and its SSC; an SSC's agencies. A node reconciles
    /// with each of them, even while its index of their channel is empty (after a restore,
    /// say), since that is when it has most to learn.
    pub fn reconciliation_peers(&self) -> Vec<PublicKey> {
        let directory = self.directory.body();
        let me = &self.identity;
        directory
            .members
            .iter()
            .filter(|member| match (me.role, member.role) {
                (MemberRole::Merchant, MemberRole::Agency) | (MemberRole::Agency, MemberRole::Merchant) => {
                    true
                }
                (MemberRole::Agency, MemberRole::Ssc) => member.serves.contains(&me.org),
                (MemberRole::Ssc, MemberRole::Agency) => {
                    directory.ssc_of(&member.org).is_some_and(|ssc| ssc.key == me.key())
                }
                _ => false,
            })
            .map(|member| member.key)
            .collect()
    }

    /// Queues for `peer` the records a reconciliation found it lacks, each only if it is
    /// in the channel they share (a session never sends anything else).
    pub(super) fn reconciled(&mut self, step: &mut Step, peer: PublicKey, have: Vec<RecordId>) {
        let mut queued = 0usize;
        for id in have {
            let shared = match step.ledger.record(&id) {
                Ok(Some(record)) => {
                    matches!(
                        step.ledger.store().get(&keys::channel(&peer, record_time(&record), &id)),
                        Ok(Some(_))
                    )
                }
                _ => false,
            };
            if !shared {
                tracing::warn!(peer = %peer.short(), id = %id.short(), "reconciliation named a record outside the channel; not sent");
                continue;
            }
            match self.outbox.enqueue(step, peer, id) {
                Ok(()) => queued += 1,
                Err(error) => tracing::error!(%error, "could not queue a reconciled record"),
            }
        }
        if queued > 0 {
            tracing::info!(peer = %peer.short(), records = queued, "reconciliation: the peer lacked records; sending them");
        }
    }
}
