//! The guarantees checked while a run goes, where that is cheap: each `paid` event a node
//! stores is checked at once against what that node paid before (less what it reversed
//! since), so a receipt or card payment paid twice is reported with the virtual moment it
//! happened (the check at the end finds it too, without the when).

use kvitt_node::ledger::Ledger;
use kvitt_protocol::event::Action;
use kvitt_protocol::{AnyRecord, RecordId};

use crate::check::{PaidClaims, Violation};
use crate::world::World;

/// The continuous checks' state: what each node has paid.
#[derive(Default)]
pub struct Watch {
    paid: Vec<PaidClaims>,
    /// Violations seen while the run went, each with its virtual time.
    pub violations: Vec<Violation>,
}

impl Watch {
    /// Node `node` stored claim event `id`: if it is a `paid` event, check its claim; if a
    /// `reversed` one, its payment no longer counts.
    pub fn stored(&mut self, world: &World, node: usize, id: &RecordId) {
        let Some(sim) = world.nodes.get(node) else {
            return;
        };
        let ledger = Ledger::new(sim.store.clone());
        let Ok(Some(AnyRecord::ClaimEvent(event))) = ledger.record(id) else {
            return;
        };
        if !matches!(event.body().action, Action::Paid { .. } | Action::Reversed { .. }) {
            return;
        }
        if self.paid.len() <= node {
            self.paid.resize_with(node + 1, PaidClaims::default);
        }
        let Some(paid) = self.paid.get_mut(node) else {
            return;
        };
        if matches!(event.body().action, Action::Reversed { .. }) {
            paid.reversed(&event.body().claim);
            return;
        }
        let Ok(Some(AnyRecord::Claim(claim))) = ledger.record(&event.body().claim) else {
            return;
        };
        for mut violation in paid.paid(node, &ledger, &claim) {
            violation.details = format!("at {} ms: {}", world.now_ms, violation.details);
            self.violations.push(violation);
        }
    }
}
