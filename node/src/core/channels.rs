//! The channel index: every record a node stores is also placed, by (time, id), in the
//! channel it shares with each peer entitled to it (kvitt_protocol::channel), so that
//! reconciliation with a peer walks exactly what both may hold and nothing else.

use kvitt_protocol::channel::{claim_parties, parties, record_time, Parties};
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
}
