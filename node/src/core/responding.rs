//! Answering the reconciliation sessions peers open (spec/reconcile.md §Limits): whether
//! this node takes a session a peer opens, and how long the session may wait for the
//! peer's next frame (a responder has no salt: every hash is keyed with the initiator's). The driver runs the session it is told to
//! take and carries its frames; it tells the core when the session ended
//! ([`Input::SessionEnded`](super::Input::SessionEnded) with [`SessionSide::Responder`]),
//! idle or not, which frees the peer's slot.

use std::collections::BTreeSet;
use std::time::Duration;

use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::PublicKey;

use super::NodeCore;

/// A responder session that receives no frame for this long ends (its driver reports it
/// as ended), and its slot is free again.
pub const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Sessions one peer may have open with this node at once; a further one is refused.
pub const MAX_RESPONDER_SESSIONS_PER_PEER: usize = 2;

/// A session a peer opened that this node takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionAnswer {
    /// How long the session waits for the peer's next frame before it ends.
    pub idle_timeout: Duration,
}

/// The sessions peers opened that this node is answering.
#[derive(Default)]
pub(super) struct Responding {
    open: BTreeSet<(PublicKey, u64)>,
}

impl NodeCore {
    /// Whether this node takes session `session` that `peer` opens: refused
    /// (`node.unavailable`) if the peer has [`MAX_RESPONDER_SESSIONS_PER_PEER`] open
    /// already or this one is open already; else taken, with a salt from the core's
    /// entropy. The driver asks this for the frame that opens a session, before any
    /// other; the slot is held until [`Input::SessionEnded`](super::Input::SessionEnded)
    /// says the session ended.
    pub fn answer_session(&mut self, peer: PublicKey, session: u64) -> Result<SessionAnswer, Refusal> {
        let responding = &mut self.responding;
        if responding.open.contains(&(peer, session)) {
            return Err(Refusal::new(RefusalCode::Unavailable, format!("session {session} is open already")));
        }
        let running = responding.open.iter().filter(|(other, _)| *other == peer).count();
        if running >= MAX_RESPONDER_SESSIONS_PER_PEER {
            return Err(Refusal::new(RefusalCode::Unavailable, format!("{running} sessions open already")));
        }
        responding.open.insert((peer, session));
        Ok(SessionAnswer { idle_timeout: SESSION_IDLE_TIMEOUT })
    }

    /// Session `session` that `peer` opened ended: its slot is free.
    pub(super) fn answered(&mut self, peer: PublicKey, session: u64) {
        self.responding.open.remove(&(peer, session));
    }
}
