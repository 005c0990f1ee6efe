//! The equivocation the workload injects: once a taxi receipt has reached its agency, its
//! merchant signs a second, different receipt for the same serial and delivers it to the
//! agency itself, again until the agency holds evidence of the pair.

use super::*;

/// A receipt signed twice for one slot, injected at an agency.
#[derive(Clone, Debug)]
pub struct Equivocation {
    /// The slot.
    pub slot: Slot,
    /// The two receipts.
    pub records: (RecordId, RecordId),
    /// The members of its channel (node indexes).
    pub members: Vec<usize>,
}

impl Workload {
    /// A merchant signs a second, different receipt for a serial it already used and
    /// sends it to the buyer's agency itself.
    pub(super) fn equivocate(&mut self, cast: &Cast, world: &mut World) {
        if let Some((merchant, agency, bytes, pair)) = &self.forged {
            // Sent again until the agency holds evidence of the pair: a lost or cut-off
            // delivery must not make the equivocation go unseen.
            let noted =
                world.nodes.get(*agency).is_some_and(|node| matches!(node.store.get(pair), Ok(Some(_))));
            if !noted {
                let (merchant, agency, bytes) = (*merchant, *agency, bytes.clone());
                self.stats.equivocation_resent += 1;
                world.transmit(merchant, agency, 0, None, bytes);
                let at = world.now_ms + 60_000;
                self.act(world, at, Act::Equivocate);
            }
            return;
        }
        let candidate = self.acknowledged.iter().find(|(id, ack)| {
            self.at_agency.contains_key(*id)
                && !ack.is_refund()
                && cast.parties.get(ack.merchant).is_some_and(|party| party.kind == Some(MerchantKind::Taxi))
        });
        let Some((&original, ack)) = candidate else {
            return;
        };
        let (Some(merchant), Some(original_record)) = (
            cast.parties.get(ack.merchant),
            world.nodes.get(ack.merchant).and_then(|node| record(node, &original)),
        ) else {
            return;
        };
        let AnyRecord::Receipt(signed) = original_record else {
            return;
        };
        let mut forged = signed.body().clone();
        for line in &mut forged.lines {
            line.unit_price = line.unit_price.map(|price| price + 10_000);
        }
        let forged = forged.with_computed_totals();
        let total = forged.total;
        let mut forged = forged;
        for payment in &mut forged.payments {
            if let kvitt_protocol::receipt::Payment::Card { amount, .. } = payment {
                *amount = total;
            }
        }
        let Ok(forged) = Signed::sign(forged, &merchant.identity.signing_key) else {
            return;
        };
        let request = Request {
            directory_version: 1,
            body: RequestBody::Deliver { records: vec![RecordBytes(forged.bytes().to_vec())] },
        };
        let Ok(bytes) = request.encode() else {
            return;
        };
        let slot = Slot::Receipt {
            signer: merchant.key(),
            register: signed.body().register.clone(),
            serial: signed.body().serial,
        };
        self.equivocations.push(Equivocation {
            slot,
            records: (original, forged.id()),
            members: vec![ack.merchant, ack.agency],
        });
        let pair = kvitt_node::ledger::keys::meta(&format!("evidence/{original}/{}", forged.id()));
        self.forged = Some((ack.merchant, ack.agency, bytes.clone(), pair));
        world.transmit(ack.merchant, ack.agency, 0, None, bytes);
        let at = world.now_ms + 60_000;
        self.act(world, at, Act::Equivocate);
    }
}

/// The record `id` in node `node`'s ledger, if it holds it.
fn record(node: &crate::node::SimNode, id: &RecordId) -> Option<AnyRecord> {
    kvitt_node::ledger::Ledger::new(node.store.clone()).record(id).ok().flatten()
}
