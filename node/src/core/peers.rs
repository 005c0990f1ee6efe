//! The operator's view of the peers: each member of the directory other than this node,
//! with how many records wait in its outbox, how many deliveries to it failed since the
//! last one it acknowledged, and when a reconciliation session with it last ended well
//! (the driver tells the core of each, `Input::Reconciled`).

use kvitt_protocol::fields::format_time;
use kvitt_protocol::wire::Refusal;
use kvitt_protocol::PublicKey;
use time::UtcOffset;

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
    /// When a reconciliation session with it last ended well, RFC 3339 in UTC; `None`
    /// if none has since this node started.
    pub last_reconciled: Option<String>,
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
                last_reconciled: self
                    .reconciled_at
                    .get(&member.key)
                    .map(|at| format_time(at.to_offset(UtcOffset::UTC))),
            });
        }
        Ok(states)
    }
}
