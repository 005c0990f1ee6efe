//! Reconciliation with peers (spec/reconcile.md), run beside the node's core.
//!
//! A session compares the channel this node shares with one peer ([`ChannelIndex`]) with
//! the peer's, using the sans-I/O [`kvitt_protocol::reconcile`] state machines. Each side
//! learns which records the other lacks and hands them to its core
//! ([`Input::Reconciled`](crate::core::Input::Reconciled)), which delivers them through the
//! ordinary outbox: verified and authorized by the receiver like any delivered record.
//!
//! Sessions start when the node starts, every [`DEFAULT_RECONCILE_INTERVAL`] (configurable),
//! when a peer a session could not reach is heard from again, and on demand (`kvitt sync`).

pub mod exchange;
mod index;
mod reconciler;
mod sessions;

use std::time::Duration;

pub use exchange::Summary;
pub use index::{ChannelIndex, ChannelSnapshot, SaltOf};
pub use reconciler::{ClientReply, Reconciler};
pub use sessions::{Finished, IncomingFrame, Sessions, Side};

/// How often, by default, a node reconciles with each peer it may share a channel with.
pub const DEFAULT_RECONCILE_INTERVAL: Duration = Duration::from_secs(60);

/// The shortest reconciliation interval a node accepts in its configuration.
pub const MIN_RECONCILE_INTERVAL: Duration = Duration::from_secs(1);

/// The longest reconciliation interval a node accepts in its configuration (a day).
pub const MAX_RECONCILE_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// A responder session that receives no frame for this long is dropped.
pub const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Incoming sessions one peer may have open at once; a further one is refused.
pub const MAX_RESPONDER_SESSIONS_PER_PEER: usize = 2;

/// Most items of its own a node puts in one session it starts: half what a session may
/// hold ([`kvitt_protocol::reconcile::MAX_RECONCILE_ITEMS`]), so that the peer's items in
/// the same window fit too unless it holds twice as many. A larger channel is reconciled
/// in time windows of about this many items, one session each (the peer with more items
/// starts sessions of its own too, windowed by its own counts).
pub const WINDOW_ITEMS: usize = kvitt_protocol::reconcile::MAX_RECONCILE_ITEMS / 2;

/// How long a node uses one hello salt with one peer (spec/reconcile.md §Keys and hashes):
/// the channel's hello summary under it is kept, so sessions between equal channels hash
/// nothing. A session with the peer that fails ends the salt early.
pub const HELLO_SALT_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Sessions an initiator runs when its outcome fails the final fingerprint check, each
/// with new salts: an honest failure (two ids sharing a 64-bit tag, about n²/2⁶⁴) does
/// not repeat under a new salt; a lying peer's does, and ends there.
pub const MAX_SESSION_ATTEMPTS: usize = 2;
