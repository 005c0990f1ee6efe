//! The channel index: every record a node stores is also placed, by (time, id), in the
//! channel it shares with each peer entitled to it (kvitt_protocol::channel), so that
//! reconciliation with a peer walks exactly what both may hold and nothing else.

use kvitt_protocol::channel::{claim_parties, parties, record_time, Parties};
use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::wire::Refusal;
use kvitt_protocol::{AnyRecord, PublicKey, RecordId};

use super::{unavailable, NodeCore, Step};
use crate::ledger::{keys, put_record};
use crate::store::Batch;

impl NodeCore {
    /// Writes `record` and places it in its channels with this node's peers. A claim's
    /// receipts join the claim's channel too.
    pub(super) fn put(&self, step: &Step, record: &AnyRecord, batch: &mut Batch) -> Result<(), Refusal> {
        put_record(batch, record);
        let time = record_time(record);
        for peer in self.channel_peers(step, record)? {
            batch.insert(keys::channel(&peer, time, &record.id()), Vec::new());
        }
        if let AnyRecord::Claim(claim) = record {
            let peers = self.peers_in(claim_parties(&claim.body().agency, self.directory.body()));
            for receipt in claim.body().receipts() {
                let Some(held) = step.ledger.record(&receipt).map_err(unavailable)? else {
                    continue;
                };
                for peer in &peers {
                    batch.insert(keys::channel(peer, record_time(&held), &receipt), Vec::new());
                }
            }
        }
        Ok(())
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
    fn peers_in(&self, members: std::collections::BTreeSet<PublicKey>) -> Vec<PublicKey> {
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
