//! Receipts reach only the agencies entitled to them (spec/routing.md, spec/codes.md): a
//! receipt routed by card no agency but the one that enrolled the card, a receipt signed
//! without a buyer none but the one that presented its code, an assignment none but the
//! agency that presented the code; and no code is collected twice.

use std::collections::BTreeMap;

use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::{AnyRecord, RecordId};

use crate::check::Violation;
use crate::workload::{Acknowledged, Codes, Route};
use crate::world::World;

/// Most violations of one invariant listed per node.
const LISTED_PER_NODE: usize = 3;

/// The invariant of a receipt routed by card.
pub const CARD_INVARIANT: &str = "a receipt routed by card reaches only the agency that enrolled the card";
/// The invariant of a receipt signed without a buyer.
pub const CODE_INVARIANT: &str =
    "a receipt signed without a buyer reaches only the agency that presented its code";
/// The invariant of an assignment.
pub const ASSIGNMENT_INVARIANT: &str = "an assignment reaches only the agency that presented the code";
/// The invariant of a code.
pub const ONCE_INVARIANT: &str = "no code is collected twice";

/// What the workload knows of how each receipt was meant to reach its agency.
pub struct Routes<'a> {
    /// The receipts the tills had acknowledged (and those collected), with their route.
    pub acknowledged: &'a BTreeMap<RecordId, Acknowledged>,
    /// The receipts signed without a buyer and who collected them.
    pub codes: &'a Codes,
}

/// The check of one node's records against `routes`, fed a page of them at a time.
pub struct NodeRoutes<'a> {
    world: &'a World,
    node: usize,
    routes: &'a Routes<'a>,
    /// Violations found so far, by invariant.
    listed: BTreeMap<&'static str, usize>,
    /// The node's assignments so far, by receipt.
    assigned: BTreeMap<RecordId, RecordId>,
}

impl<'a> NodeRoutes<'a> {
    /// The check of node `node`'s records, none seen yet.
    pub fn new(world: &'a World, node: usize, routes: &'a Routes<'a>) -> NodeRoutes<'a> {
        NodeRoutes { world, node, routes, listed: BTreeMap::new(), assigned: BTreeMap::new() }
    }

    /// Checks the next of the node's `records` (in id order); at most
    /// [`LISTED_PER_NODE`] violations of each invariant in all are listed.
    pub fn check(&mut self, records: &[AnyRecord], found: &mut Vec<Violation>) {
        let (node, routes) = (self.node, self.routes);
        let Some(sim) = self.world.nodes.get(node) else {
            return;
        };
        let agency = sim.party.identity.role == MemberRole::Agency;
        let listed = &mut self.listed;
        let mut push = |invariant: &'static str, details: String| {
            let count = listed.entry(invariant).or_default();
            *count += 1;
            if *count <= LISTED_PER_NODE {
                found.push(Violation { invariant, details });
            }
        };
        for record in records {
            match record {
                AnyRecord::Receipt(receipt) if agency => {
                    let id = receipt.id();
                    if let Some(ack) = routes.acknowledged.get(&id).filter(|ack| ack.route == Route::Card) {
                        if ack.agency != node {
                            push(
                                CARD_INVARIANT,
                                format!(
                                    "receipt {id} (card of agency node {}) is held by agency node {node}",
                                    ack.agency
                                ),
                            );
                        }
                    }
                    if routes.codes.receipts.contains_key(&id) && routes.codes.collector(&id) != Some(node) {
                        push(
                            CODE_INVARIANT,
                            format!(
                                "receipt {id} (collected by {:?}) is held by agency node {node}",
                                routes.codes.collector(&id)
                            ),
                        );
                    }
                }
                AnyRecord::Assignment(assignment) => {
                    let body = assignment.body();
                    if let Some(other) = self.assigned.insert(body.receipt, assignment.id()) {
                        if other != assignment.id() {
                            push(
                                ONCE_INVARIANT,
                                format!(
                                    "node {node} holds assignments {other} and {} of receipt {}",
                                    assignment.id(),
                                    body.receipt
                                ),
                            );
                        }
                    }
                    let names_node = body.buyer.agency == sim.party.identity.org;
                    let presented = routes.codes.collector(&body.receipt) == Some(node);
                    if agency && !(names_node && presented) {
                        push(
                            ASSIGNMENT_INVARIANT,
                            format!(
                                "agency node {node} holds assignment {} of receipt {} to {} (collected by {:?})",
                                assignment.id(),
                                body.receipt,
                                body.buyer.agency,
                                routes.codes.collector(&body.receipt)
                            ),
                        );
                    }
                }
                _ => {}
            }
        }
    }
}

/// The collects that should have been refused and were answered with a receipt.
pub fn collected_wrongly(codes: &Codes, found: &mut Vec<Violation>) {
    for (receipt, agency) in codes.collected_wrongly.iter().take(LISTED_PER_NODE) {
        found.push(Violation {
            invariant: ONCE_INVARIANT,
            details: format!(
                "agency node {agency} collected receipt {receipt}, whose code {:?} had collected or that it guessed",
                codes.collector(receipt)
            ),
        });
    }
}
