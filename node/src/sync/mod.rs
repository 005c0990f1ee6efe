//! Reconciliation sessions with peers (spec/reconcile.md), run by the node's driver.
//!
//! A session compares the channel this node shares with one peer ([`ChannelIndex`]) with
//! the peer's, using the sans-I/O [`kvitt_protocol::reconcile`] state machines. Each side
//! learns which records the other lacks and hands them to its core
//! ([`Input::SessionEnded`](crate::core::Input::SessionEnded)), which delivers them through
//! the ordinary outbox: verified and authorized by the receiver like any delivered record.
//!
//! When and with whom sessions start is the core's decision (core::sessions:
//! [`Effect::StartSession`](crate::core::Effect::StartSession)), and so is whether to take
//! a session a peer opens, under which salt and for how long idle
//! ([`NodeCore::answer_session`](crate::core::NodeCore::answer_session)); this module runs them:
//! [`exchange`] frame by frame without I/O (the simulator runs it too), [`Sessions`] on
//! blocking threads over the transport.

pub mod exchange;
mod index;
mod reconciler;
mod sessions;

pub use crate::core::{
    Summary, DEFAULT_RECONCILE_INTERVAL, HELLO_SALT_LIFETIME, MAX_RECONCILE_INTERVAL,
    MAX_RESPONDER_SESSIONS_PER_PEER, MIN_RECONCILE_INTERVAL, SESSION_IDLE_TIMEOUT,
};
pub use index::{ChannelIndex, ChannelSnapshot, SaltOf};
pub use reconciler::Reconciler;
pub use sessions::{Finished, IncomingFrame, Sessions, Side};

/// Most items of its own a node puts in one session it starts: half what a session may
/// hold ([`kvitt_protocol::reconcile::MAX_RECONCILE_ITEMS`]), so that the peer's items in
/// the same window fit too unless it holds twice as many. A larger channel is reconciled
/// in time windows of about this many items, one session each (the peer with more items
/// starts sessions of its own too, windowed by its own counts).
pub const WINDOW_ITEMS: usize = kvitt_protocol::reconcile::MAX_RECONCILE_ITEMS / 2;

/// Sessions an initiator runs when its outcome fails the final fingerprint check, each
/// with new salts: an honest failure (two items of one second sharing a tag, about
/// d·k/2³², or a checksum's false match, 2⁻³² a symbol) does not repeat under a new salt;
/// a lying peer's does, and ends there.
pub const MAX_SESSION_ATTEMPTS: usize = 2;
