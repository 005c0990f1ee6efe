//! Reconciliation sessions with peers (spec/reconcile.md), run beside the node's core.
//!
//! A session compares the channel this node shares with one peer (the core's channel
//! index) with the peer's, using the sans-I/O [`kvitt_protocol::reconcile`] state machines.
//! Each side learns which records the other lacks and hands them to its core
//! ([`Input::Reconciled`](crate::core::Input::Reconciled)), which delivers them through the
//! ordinary outbox: verified and authorized by the receiver like any delivered record.
//!
//! Sessions are CPU work over up to millions of items, so each runs on a blocking thread:
//! the initiator drives its exchanges itself; a responder session receives its frames
//! through a channel and ends when the session ends, errs, or goes quiet for
//! [`SESSION_IDLE_TIMEOUT`]. At most one outgoing and [`MAX_RESPONDER_SESSIONS_PER_PEER`]
//! incoming sessions run per peer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Duration;

use kvitt_protocol::reconcile::{Initiator, Item, Outcome, Responder, Salt, Step};
use kvitt_protocol::wire::{RecordBytes, Refusal, RefusalCode, Request, RequestBody, Response, ResponseBody};
use kvitt_protocol::{PublicKey, RecordId};
use tokio::sync::{mpsc, oneshot};

use crate::runtime::PeerTransport;

/// How often a node reconciles with each peer it may share a channel with (and once at
/// start).
pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(60);

/// A responder session that receives no frame for this long is dropped.
pub const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Incoming sessions one peer may have open at once; a further one is refused.
pub const MAX_RESPONDER_SESSIONS_PER_PEER: usize = 2;

/// A frame for a responder session and where its answer goes.
type Frame = (Vec<u8>, oneshot::Sender<Vec<u8>>);

/// A reconciliation frame a peer sent, with where its answer goes.
pub struct IncomingFrame {
    /// The peer (authenticated by the transport).
    pub peer: PublicKey,
    /// The peer's session number.
    pub session: u64,
    /// The frame.
    pub frame: Vec<u8>,
    /// Where the encoded response goes.
    pub reply: oneshot::Sender<Vec<u8>>,
    /// This node's directory version, for the response.
    pub directory_version: u64,
}

/// What a finished session reports to the driver.
#[derive(Debug)]
pub struct Finished {
    /// The peer.
    pub peer: PublicKey,
    /// Ids this node holds that the peer lacks (empty if the session failed).
    pub have: Vec<RecordId>,
    /// Which side this node was and its session number there (for bookkeeping).
    pub side: Side,
}

/// Which side of a session this node was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// It started the session.
    Initiator,
    /// It answered the peer's session with this number.
    Responder(u64),
}

/// The sessions of one node.
#[derive(Default)]
pub struct Sessions {
    responders: BTreeMap<(PublicKey, u64), std_mpsc::Sender<Frame>>,
    initiating: BTreeSet<PublicKey>,
    next_session: u64,
}

fn random_salt() -> Salt {
    let mut salt = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
    Salt(salt)
}

fn encode(directory_version: u64, body: ResponseBody) -> Vec<u8> {
    Response { directory_version, body }.encode().unwrap_or_default()
}

fn refused(directory_version: u64, message: String) -> Vec<u8> {
    encode(
        directory_version,
        ResponseBody::Refused { refusal: Refusal::new(RefusalCode::Unavailable, message) },
    )
}

impl Sessions {
    /// Hands a peer's frame to its session, starting a responder over `items` (loaded
    /// only for a new session) if the frame opens one.
    pub fn respond(
        &mut self,
        incoming: IncomingFrame,
        items: impl FnOnce() -> Result<Vec<Item>, String>,
        finished: mpsc::UnboundedSender<Finished>,
    ) {
        let IncomingFrame { peer, session, frame, reply, directory_version } = incoming;
        if let Some(sender) = self.responders.get(&(peer, session)) {
            let _ = sender.send((frame, reply));
            return;
        }
        let open = self.responders.keys().filter(|(other, _)| *other == peer).count();
        if open >= MAX_RESPONDER_SESSIONS_PER_PEER {
            let _ = reply.send(refused(directory_version, format!("{open} sessions open already")));
            return;
        }
        let items = match items() {
            Ok(items) => items,
            Err(error) => {
                let _ = reply.send(refused(directory_version, error));
                return;
            }
        };
        let (sender, frames) = std_mpsc::channel::<Frame>();
        let _ = sender.send((frame, reply));
        self.responders.insert((peer, session), sender);
        tokio::task::spawn_blocking(move || {
            let have = run_responder(&items, &frames, directory_version).unwrap_or_default();
            let _ = finished.send(Finished { peer, have, side: Side::Responder(session) });
        });
    }

    /// Starts a session with `peer` over `items` unless one is running.
    pub fn initiate(
        &mut self,
        peer: PublicKey,
        addresses: Vec<String>,
        items: Vec<Item>,
        directory_version: u64,
        transport: Arc<dyn PeerTransport>,
        finished: mpsc::UnboundedSender<Finished>,
    ) {
        if !self.initiating.insert(peer) {
            return;
        }
        self.next_session += 1;
        let session = self.next_session;
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let exchange = |frame: Vec<u8>| -> Result<Option<Vec<u8>>, String> {
                let request = Request {
                    directory_version,
                    body: RequestBody::Reconcile { session, frame: RecordBytes(frame) },
                };
                let bytes = request.encode().map_err(|error| error.to_string())?;
                let address = runtime
                    .block_on(crate::runtime::resolve(&addresses))
                    .ok_or_else(|| format!("no address of {} resolves", peer.short()))?;
                let answer = runtime.block_on(transport.request(peer, address, bytes))?;
                match Response::decode(&answer).map_err(|error| error.to_string())?.body {
                    ResponseBody::Reconcile { frame } => Ok(frame.map(|frame| frame.0)),
                    ResponseBody::Refused { refusal } => Err(refusal.to_string()),
                    other => Err(format!("unexpected answer {other:?}")),
                }
            };
            let outcome = run_initiator(&items, exchange);
            let have = match outcome {
                Ok(outcome) => outcome.have,
                Err(error) => {
                    tracing::info!(peer = %peer.short(), %error, "reconciliation did not finish; next interval retries");
                    Vec::new()
                }
            };
            let _ = finished.send(Finished { peer, have, side: Side::Initiator });
        });
    }

    /// Notes that a session ended.
    pub fn ended(&mut self, finished: &Finished) {
        match finished.side {
            Side::Initiator => {
                self.initiating.remove(&finished.peer);
            }
            Side::Responder(session) => {
                self.responders.remove(&(finished.peer, session));
            }
        }
    }
}

/// Runs the initiator side: `exchange` sends a frame and returns the peer's answer frame.
fn run_initiator(
    items: &[Item],
    mut exchange: impl FnMut(Vec<u8>) -> Result<Option<Vec<u8>>, String>,
) -> Result<Outcome, String> {
    let mut initiator = Initiator::new(items, random_salt()).map_err(|error| error.to_string())?;
    let mut frame = initiator.start().map_err(|error| error.to_string())?;
    loop {
        let Some(answer) = exchange(frame)? else {
            return Err("the peer ended the session first".into());
        };
        match initiator.receive(&answer).map_err(|error| error.to_string())? {
            Step::Send(next) => frame = next,
            Step::Done { last, outcome } => {
                if let Some(last) = last {
                    exchange(last)?;
                }
                return Ok(outcome);
            }
        }
    }
}

/// Runs a responder session over its frames; the ids this node holds and the peer lacks.
fn run_responder(
    items: &[Item],
    frames: &std_mpsc::Receiver<Frame>,
    directory_version: u64,
) -> Option<Vec<RecordId>> {
    let mut responder = match Responder::new(items, random_salt()) {
        Ok(responder) => responder,
        Err(error) => {
            if let Ok((_, reply)) = frames.recv_timeout(SESSION_IDLE_TIMEOUT) {
                let _ = reply.send(refused(directory_version, error.to_string()));
            }
            return None;
        }
    };
    loop {
        let (frame, reply) = frames.recv_timeout(SESSION_IDLE_TIMEOUT).ok()?;
        match responder.receive(&frame) {
            Ok(Step::Send(bytes)) => {
                let _ = reply.send(encode(
                    directory_version,
                    ResponseBody::Reconcile { frame: Some(RecordBytes(bytes)) },
                ));
            }
            Ok(Step::Done { last, outcome }) => {
                let frame = last.map(RecordBytes);
                let _ = reply.send(encode(directory_version, ResponseBody::Reconcile { frame }));
                return Some(outcome.have);
            }
            Err(error) => {
                let _ = reply.send(refused(directory_version, format!("reconciliation: {error}")));
                return None;
            }
        }
    }
}
