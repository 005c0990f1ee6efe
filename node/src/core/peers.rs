//! The operator's view of the peers: each member of the directory other than this node,
//! with how many records wait in its outbox and how many deliveries to it failed since the
//! last one it acknowledged. (When each peer was last reconciled with is the runtime's to
//! know, crate::sync; the core does not.)

use kvitt_protocol::wire::Refusal;
use kvitt_protocol::PublicKey;

use super::{forbidden, unavailable, Caller, CallerRole, NodeCore, Step};

/// Most outbox entries counted per peer; a deeper outbox is shown as "at least" this.
pub const MAX_COUNTED_OUTBOX: usize = 10_000;

/// One peer's delivery state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerState {
    /// The peer's node key.
    pub key: PublicKey,
    /// Its organisation number.
    pub org: String,
    /// Its name.
    pub name: String,
    /// Records waiting for its acknowledgement (at most [`MAX_COUNTED_OUTBOX`]).
    pub outbox: usize,
    /// Deliveries to it that failed since the last one it acknowledged.
    pub failures: u32,
}

impl NodeCore {
    /// Every other member of the directory in force, with its delivery state.
    pub(super) fn peer_states(&self, step: &Step, caller: &Caller) -> Result<Vec<PeerState>, Refusal> {
        if caller.role != CallerRole::Operator {
            return Err(forbidden(caller, "read the peers' state"));
        }
        let own = self.identity.key();
        let mut states = Vec::new();
        for member in self.directory.body().members.iter().filter(|member| member.key != own) {
            let outbox = step.ledger.outbox(&member.key, MAX_COUNTED_OUTBOX).map_err(unavailable)?.len();
            states.push(PeerState {
                key: member.key,
                org: member.org.clone(),
                name: member.name.clone(),
                outbox,
                failures: self.outbox.failures(&member.key),
            });
        }
        Ok(states)
    }
}
