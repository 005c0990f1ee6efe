//! Records a peer relays rather than signs: how a node gets back what it lost.
//!
//! A node whose ledger was restored from an old backup, or lost records some other way,
//! learns by reconciliation what its peers hold of their shared channels, and they send it
//! those records. Most are signed by someone other than the peer that sends them: a
//! merchant's own receipts come back from the agency, an agency's claims and events from
//! its SSC. Such a record is taken when this node is entitled to it (it is in the record's
//! channel), the peer may hold it (it is in the channel too, or, for a receipt, is the
//! buyer's SSC, which holds the receipts attached to claims), and the signer is the key
//! the directory lists for who signs such a record. The signature then proves the record
//! authentic whoever carries it; the usual checks (equivocation, claim chains) follow.

use kvitt_protocol::channel::claim_parties;
use kvitt_protocol::directory::{Member, MemberRole};
use kvitt_protocol::event::Role;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::AnyRecord;

use super::{unavailable, NodeCore, Step};

impl NodeCore {
    /// Whether `record`, from `peer` who did not sign it, is relayed within a channel
    /// this node is in. `Ok(false)`: it is not, and the rules for first deliveries apply.
    pub(super) fn relayed_within_channel(
        &self,
        step: &Step,
        peer: &Member,
        record: &AnyRecord,
    ) -> Result<bool, Refusal> {
        if peer.key == record.signer() {
            return Ok(false);
        }
        let directory = self.directory.body();
        match record {
            AnyRecord::Receipt(receipt) => {
                // The buyer it names, or its assignment's (which comes first, core::buyers).
                let Some(buyer) = self.buyer_of(step, receipt)? else {
                    return Ok(false);
                };
                let buyer = buyer.agency.as_str();
                let peer_may_hold = self.channel_peers(step, record)?.contains(&peer.key)
                    || claim_parties(buyer, directory).contains(&peer.key);
                let entitled = self.identity.org == buyer || self.identity.key() == receipt.signer();
                if !(peer_may_hold && entitled) {
                    return Ok(false);
                }
                let merchant = receipt.body().merchant.org.as_str();
                self.check_signer(directory, merchant, MemberRole::Merchant, receipt.signer())?;
            }
            AnyRecord::Claim(claim) => {
                if !self.channel_peers(step, record)?.contains(&peer.key) {
                    return Ok(false);
                }
                let agency = claim.body().agency.as_str();
                self.check_signer(directory, agency, MemberRole::Agency, claim.signer())?;
            }
            AnyRecord::ClaimEvent(event) => {
                let claim_id = event.body().claim;
                let Some(AnyRecord::Claim(claim)) = step.ledger.record(&claim_id).map_err(unavailable)?
                else {
                    // Sent in id order, an event may come before its claim: ask again later.
                    return Err(Refusal::new(
                        RefusalCode::UnknownRecord,
                        format!(
                            "event for claim {}, which this node does not hold; send it first",
                            claim_id.short()
                        ),
                    ));
                };
                let agency = claim.body().agency.as_str();
                let parties = claim_parties(agency, directory);
                if !(parties.contains(&peer.key) && parties.contains(&self.identity.key())) {
                    return Ok(false);
                }
                let signer = event.signer();
                match event.body().actor.role {
                    Role::Ssc if directory.ssc_of(agency).is_some_and(|ssc| ssc.key == signer) => {}
                    Role::Ssc => {
                        return Err(Refusal::new(
                            RefusalCode::WrongSigner,
                            format!(
                                "an SSC event of {agency}'s claim signed by {}, not its SSC",
                                signer.short()
                            ),
                        ))
                    }
                    _ => self.check_signer(directory, agency, MemberRole::Agency, signer)?,
                }
            }
            // An assignment's carriers are judged by core::buyers, whoever signed it.
            AnyRecord::Directory(_) | AnyRecord::Evidence(_) | AnyRecord::Assignment(_) => return Ok(false),
        }
        Ok(true)
    }
}
