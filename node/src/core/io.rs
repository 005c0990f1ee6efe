//! What crosses the core's boundary: the [`Input`]s a driver feeds it, the decoded
//! [`PeerRequest`]s inside them, and the [`Effect`]s it returns for the driver to carry out.

use kvitt_protocol::directory::Directory;
use kvitt_protocol::wire::{Refusal, Request, Response};
use kvitt_protocol::{AnyRecord, PublicKey, Signed};

use super::{Caller, ClientRequest, ClientResponse, ExchangeError, SessionSide, SessionStart, Summary};
use crate::store::Batch;

/// An opaque handle the driver uses to route an answer back to whoever asked.
pub type ReplyId = u64;

/// Identifies one request this core sent to a peer, to match its answer.
pub type ExchangeId = u64;

/// Something that happened to the node.
#[derive(Clone, Debug)]
pub enum Input {
    /// A client request.
    Client {
        /// Where the answer goes.
        reply: ReplyId,
        /// Who asks.
        caller: Caller,
        /// What they ask.
        request: ClientRequest,
    },
    /// A request from a peer, whose key the transport authenticated.
    Peer {
        /// Where the answer goes.
        reply: ReplyId,
        /// The peer's node key.
        from: PublicKey,
        /// The peer's directory version.
        directory_version: u64,
        /// What it asks, with delivered records already decoded (decoding is pure and
        /// costly, so drivers do it in parallel before the core's single step).
        request: PeerRequest,
    },
    /// The answer to a request this core sent, or why there is none.
    Answer {
        /// The peer asked.
        to: PublicKey,
        /// Which request.
        exchange: ExchangeId,
        /// The response, or why there is none.
        answer: Result<Response, ExchangeError>,
    },
    /// Time passed: retry what is due.
    Tick,
    /// A reconciliation session with `peer` ended: one this node started (after
    /// [`Effect::StartSession`]) or one it answered. One that ended well is noted as the
    /// peer's last reconciliation, and the records it found this node holds and the peer
    /// lacks (if any) are delivered.
    SessionEnded {
        /// The peer.
        peer: PublicKey,
        /// Which side this node was.
        side: SessionSide,
        /// What the session found, or why it did not finish.
        result: Result<Summary, String>,
    },
}

/// A peer request with its records decoded.
#[derive(Clone, Debug)]
pub enum PeerRequest {
    /// Records to store, each decoded or with the reason it failed to decode.
    Deliver(Vec<Result<AnyRecord, kvitt_protocol::Error>>),
    /// The peer asks for a directory newer than `have`.
    Directory {
        /// The peer's version.
        have: u64,
    },
    /// A frame of a reconciliation session the peer started; the driver answers it from
    /// the session (crate::sync), so one reaching the core is refused.
    Reconcile {
        /// The peer's session number.
        session: u64,
        /// The frame.
        frame: Vec<u8>,
        /// The record times the session covers (all if none).
        window: Option<kvitt_protocol::wire::Window>,
    },
    /// A merchant looks up the agency of one card for one serial (spec/routing.md).
    Route {
        /// The register.
        register: String,
        /// The serial the receipt takes.
        serial: u64,
        /// The card's keyed hash.
        card: kvitt_protocol::routing::CardHash,
    },
    /// An agency replaces its enrolled cards.
    Enrol {
        /// The cards.
        cards: Vec<kvitt_protocol::wire::EnrolledCard>,
    },
    /// An agency collects a receipt by its code (spec/codes.md).
    Collect {
        /// The code's random part and check character.
        code: String,
        /// The employee who presented it.
        employee: Option<String>,
    },
    /// The request bytes did not decode.
    Invalid(kvitt_protocol::Error),
}

/// Something the driver must do.
///
/// Nothing that leaves the node (an answer, a request to a peer) is an `Effect` of its
/// own: it is a [`Deferred`] inside [`Effect::WhenDurable`], so that a driver cannot send
/// a record, or acknowledge one, before the writes of the step that made it are on disk
/// (after a crash the node could otherwise sign a different record for the same slot, or
/// have acknowledged one it lost).
///
/// A request is not an effect of its own, so this does not compile:
/// ```compile_fail
/// # use kvitt_node::core::{Effect, Deferred};
/// fn send_now(effect: Effect) -> Option<Deferred> {
///     match effect {
///         Effect::Send { to, exchange, request } => Some(Deferred::Send { to, exchange, request }),
///         _ => None,
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub enum Effect {
    /// Apply this batch to the ledger now, before the next input.
    Write(Batch),
    /// Carry these out, in order, once everything written so far is durable.
    WhenDurable(Vec<Deferred>),
    /// Give the core an `Input::Tick` at this time (UTC, milliseconds since 1970).
    WakeAt(i64),
    /// Start a reconciliation session with a peer over the channel index; how it ends
    /// comes back as `Input::SessionEnded`.
    StartSession(SessionStart),
}

/// What a driver does only once everything written so far is durable.
#[derive(Clone, Debug)]
pub enum Deferred {
    /// Answer a client.
    ToClient {
        /// Which request.
        reply: ReplyId,
        /// The answer.
        result: Result<ClientResponse, Refusal>,
    },
    /// Answer a peer's request.
    ToPeer {
        /// Which request.
        reply: ReplyId,
        /// The answer.
        response: Response,
    },
    /// Send a request to a peer; its answer comes back as `Input::Answer`.
    Send {
        /// The peer's node key.
        to: PublicKey,
        /// Matches the answer.
        exchange: ExchangeId,
        /// The request.
        request: Request,
    },
    /// The node accepted a new directory: update the transport's allowed keys and peer
    /// addresses, and cut off members that are gone.
    DirectoryChanged(Box<Signed<Directory>>),
}
