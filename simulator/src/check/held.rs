//! The checks of the records each node holds (evidence of equivocation, records outside
//! the node's channels, receipts and assignments at agencies not entitled to them), read
//! a page at a time: a node's records decoded all at once (the SSC holds most of a large
//! run's) were the run's peak memory.

use std::collections::{BTreeMap, BTreeSet};

use kvitt_node::ledger::{Ledger, MAX_SCAN_ENTRIES};
use kvitt_protocol::channel::{claim_parties, parties, Parties};
use kvitt_protocol::directory::Directory;
use kvitt_protocol::evidence::Slot;
use kvitt_protocol::{AnyRecord, PublicKey, RecordId, RecordType};

use super::Violation;
use crate::routes::{NodeRoutes, Routes};
use crate::world::World;

/// Threads the per-node checks run on: the project machine's two cores.
const CHECK_THREADS: usize = 2;

/// Most records outside the node's channels listed per node.
const OUTSIDE_LISTED: usize = 3;

/// What the checks of one node's records found.
#[derive(Default)]
pub(super) struct NodeFindings {
    /// The slots the node's evidence proves were signed twice.
    pub evidence: Vec<Slot>,
    /// Records outside the node's channels (the first few).
    pub outside: Vec<Violation>,
    /// Receipts and assignments at an agency not entitled to them.
    pub routes: Vec<Violation>,
}

/// The checks of each node's records, in node order, spread over [`CHECK_THREADS`]
/// threads (node `n` on thread `n % CHECK_THREADS`): what they find does not depend on
/// the spread.
pub(super) fn per_node(world: &World, routes: &Routes<'_>) -> Vec<NodeFindings> {
    let nodes = world.nodes.len();
    let mut out: Vec<NodeFindings> = std::iter::repeat_with(NodeFindings::default).take(nodes).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (1..CHECK_THREADS)
            .map(|first| {
                scope.spawn(move || {
                    (first..nodes)
                        .step_by(CHECK_THREADS)
                        .map(|node| (node, one(world, node, routes)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut done: Vec<(usize, NodeFindings)> =
            (0..nodes).step_by(CHECK_THREADS).map(|node| (node, one(world, node, routes))).collect();
        for worker in workers {
            match worker.join() {
                Ok(findings) => done.extend(findings),
                Err(panicked) => std::panic::resume_unwind(panicked),
            }
        }
        for (node, findings) in done {
            if let Some(slot) = out.get_mut(node) {
                *slot = findings;
            }
        }
    });
    out
}

/// The checks of node `node`'s records, a page of them decoded at a time.
fn one(world: &World, node: usize, routes: &Routes<'_>) -> NodeFindings {
    let mut findings = NodeFindings::default();
    let Some(sim) = world.nodes.get(node) else {
        return findings;
    };
    let mut channels = Channels::default();
    let mut node_routes = NodeRoutes::new(world, node, routes);
    let ledger = Ledger::new(sim.store.clone());
    let mut after: Option<RecordId> = None;
    while let Ok(ids) = ledger.record_ids(after.as_ref(), MAX_SCAN_ENTRIES) {
        let Some(last) = ids.last().copied() else {
            break;
        };
        let page: Vec<AnyRecord> = ids.iter().filter_map(|id| ledger.record(id).ok().flatten()).collect();
        findings.evidence.extend(page.iter().filter_map(|record| match record {
            AnyRecord::Evidence(evidence) => evidence.body().slot().ok(),
            _ => None,
        }));
        if let Some(core) = &sim.core {
            channels.note(core.directory().body(), &sim.party.key(), &page);
        }
        node_routes.check(&page, &mut findings.routes);
        after = Some(last);
    }
    if let Some(core) = &sim.core {
        channels.outside(core.directory().body(), &sim.party.key(), node, &mut findings.outside);
    }
    findings
}

/// What a record whose channel the node is not plainly in waits for: the claims and
/// assignments among all the node's records.
enum Waiting {
    /// Its parties do not include the node; a receipt may have joined a claim's channel
    /// or an assignment's.
    NotMember { receipt: bool },
    /// It is in the channel of this claim.
    OfClaim(RecordId),
}

/// Whether every record a node holds belongs to a channel it is in, noted page by page
/// and judged once all are seen (a claim may come after its events in id order).
#[derive(Default)]
struct Channels {
    /// The node's claims and their agencies.
    claims: BTreeMap<RecordId, String>,
    /// Receipts its claims attach.
    claimed: BTreeSet<RecordId>,
    /// Receipts its assignments give a buyer.
    assigned: BTreeSet<RecordId>,
    /// The records to judge at the end, in id order.
    waiting: Vec<(RecordType, RecordId, Waiting)>,
}

impl Channels {
    /// Notes the next of the records (in id order) of the node whose key is `me`.
    fn note(&mut self, directory: &Directory, me: &PublicKey, records: &[AnyRecord]) {
        for record in records {
            match record {
                AnyRecord::Claim(claim) => {
                    self.claims.insert(claim.id(), claim.body().agency.clone());
                    self.claimed.extend(claim.body().receipts());
                }
                AnyRecord::Assignment(assignment) => {
                    self.assigned.insert(assignment.body().receipt);
                }
                _ => {}
            }
            let waiting = match parties(record, directory) {
                Parties::Members(members) if members.contains(me) => continue,
                Parties::Members(_) => {
                    Waiting::NotMember { receipt: matches!(record, AnyRecord::Receipt(_)) }
                }
                Parties::OfClaim(claim) => Waiting::OfClaim(claim),
            };
            self.waiting.push((record.kind(), record.id(), waiting));
        }
    }

    /// The records outside the node's channels: a receipt a claim attaches is in the
    /// claim's channel too, and a receipt collected by code in its assignment's.
    fn outside(self, directory: &Directory, me: &PublicKey, node: usize, found: &mut Vec<Violation>) {
        let mut outside = 0usize;
        for (kind, id, waiting) in self.waiting {
            let inside = match waiting {
                Waiting::NotMember { receipt } => {
                    receipt && (self.claimed.contains(&id) || self.assigned.contains(&id))
                }
                Waiting::OfClaim(claim) => self
                    .claims
                    .get(&claim)
                    .is_some_and(|agency| claim_parties(agency, directory).contains(me)),
            };
            if !inside {
                outside += 1;
                if outside <= OUTSIDE_LISTED {
                    found.push(Violation {
                        invariant: "no record reached a node outside its channel",
                        details: format!("node {node} holds {kind} {id}"),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use kvitt_protocol::{sample, Signed};

    use super::*;

    fn key(seed: u8) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn a_claims_event_seen_before_its_claim_is_judged_by_the_claims_channel() {
        let (merchant, agency, ssc) = (key(1), key(2), key(3));
        let public = |key: &ed25519_dalek::SigningKey| PublicKey::from(key.verifying_key());
        let directory = sample::directory(public(&merchant), public(&agency), public(&ssc));
        let receipt = |serial| {
            let body = sample::receipt(sample::MERCHANT_ORG, sample::AGENCY_ORG, "K1", serial);
            Signed::sign(body, &merchant).unwrap()
        };
        let (attached, stray) = (receipt(1), receipt(2));
        let claim = Signed::sign(sample::claim(attached.id(), 162_400), &agency).unwrap();
        let event = Signed::sign(sample::submitted(claim.id()), &agency).unwrap();
        let mut channels = Channels::default();
        // The event and the receipts on one page, the claim on the next.
        let first =
            [AnyRecord::ClaimEvent(event), AnyRecord::Receipt(attached), AnyRecord::Receipt(stray.clone())];
        channels.note(&directory, &public(&ssc), &first);
        channels.note(&directory, &public(&ssc), &[AnyRecord::Claim(claim)]);
        let mut found = Vec::new();
        channels.outside(&directory, &public(&ssc), 7, &mut found);
        let details: Vec<_> = found.iter().map(|violation| violation.details.as_str()).collect();
        assert_eq!(details, [format!("node 7 holds receipt {}", stray.id())], "only the stray receipt");
    }
}
