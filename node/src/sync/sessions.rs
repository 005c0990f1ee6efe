//! The sessions of one node: each runs on a blocking thread, since a session is CPU work
//! over up to millions of items. The initiator drives its exchanges itself; a responder
//! session receives its frames through a channel and ends when the session ends, errs, or
//! goes quiet for as long as the core said. Which incoming sessions run, and how long they
//! may idle, is the core's answer (core::responding); so is which outgoing (core::sessions).

use std::collections::BTreeMap;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kvitt_protocol::reconcile::{HelloSummary, Item, Message, Salt};
use kvitt_protocol::wire::Window;
use kvitt_protocol::PublicKey;
use tokio::sync::{mpsc, oneshot};

use super::exchange::{self, refused, Answered, ResponderSession, Summary};
use super::ChannelSnapshot;
use crate::core::{SessionAnswer, SessionStart};
use crate::runtime::PeerTransport;

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
    /// The record times the session covers (all if none).
    pub window: Option<Window>,
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
    /// Which side this node was and its session number there (for bookkeeping).
    pub side: Side,
    /// What it found, or why it did not finish.
    pub result: Result<Summary, String>,
    /// A responder's frame queue, kept open until the driver has forgotten the session,
    /// so that a frame sent after the session's end is refused rather than dropped.
    leftover: Option<Leftover>,
}

impl Finished {
    /// A session on `side` with `peer` that ended with `result`, with no frames left over.
    pub(super) fn new(peer: PublicKey, side: Side, result: Result<Summary, String>) -> Finished {
        Finished { peer, side, result, leftover: None }
    }
}

/// Frames that reached an ended responder session.
struct Leftover {
    frames: std_mpsc::Receiver<Frame>,
    directory_version: u64,
}

impl std::fmt::Debug for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Leftover")
    }
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
pub struct Sessions {
    responders: BTreeMap<(PublicKey, u64), std_mpsc::Sender<Frame>>,
    window_items: usize,
}

impl Sessions {
    /// No sessions yet; the ones this node starts cover at most `window_items` of its
    /// items each ([`super::WINDOW_ITEMS`] in production).
    pub fn new(window_items: usize) -> Sessions {
        Sessions { responders: BTreeMap::new(), window_items: window_items.max(1) }
    }

    /// Hands a peer's frame to the session it belongs to; a frame that opens a session
    /// comes back, for the core to say whether to take it ([`Sessions::open`]).
    pub fn carry(&mut self, incoming: IncomingFrame) -> Option<IncomingFrame> {
        let Some(sender) = self.responders.get(&(incoming.peer, incoming.session)) else {
            return Some(incoming);
        };
        // An ended session's queue stays open until `ended` drains it with refusals.
        let _ = sender.send((incoming.frame, incoming.reply));
        None
    }

    /// Starts the responder session the core took (`answer`) with the frame that opens
    /// it, over the channel and kept hello summary `open` gives for the salt of the
    /// peer's hello (the salt only if the session covers the whole channel).
    pub fn open(
        &mut self,
        incoming: IncomingFrame,
        answer: SessionAnswer,
        open: impl FnOnce(Option<Salt>) -> (ChannelSnapshot, Option<HelloSummary>),
        finished: mpsc::UnboundedSender<Finished>,
    ) {
        let IncomingFrame { peer, session, frame, window, reply, directory_version } = incoming;
        let hello_salt = match window {
            None => Message::decode(&frame).ok().and_then(|message| match message {
                Message::Hello { salt, .. } => Some(salt),
                _ => None,
            }),
            Some(_) => None,
        };
        let (snapshot, hello) = open(hello_salt);
        let (sender, frames) = std_mpsc::channel::<Frame>();
        let _ = sender.send((frame, reply));
        self.responders.insert((peer, session), sender);
        tokio::task::spawn_blocking(move || {
            let items = snapshot.into_items();
            let items = exchange::in_window(&items, window);
            let result = run_responder(items, hello, answer, &frames, directory_version);
            let leftover = Some(Leftover { frames, directory_version });
            let _ = finished.send(Finished { peer, side: Side::Responder(session), result, leftover });
        });
    }

    /// Most of its items a session this node starts covers.
    pub fn window_items(&self) -> usize {
        self.window_items
    }

    /// Starts the session `start` asks for over `channel` (this node's snapshot of it,
    /// with the index's kept hello summary under `start.hello_salt` if the channel fits
    /// one session) on a blocking thread
    /// (exchange::initiate_windows). The core starts at most one per peer at a time.
    pub fn initiate(
        &self,
        start: SessionStart,
        addresses: Vec<String>,
        channel: (ChannelSnapshot, Option<HelloSummary>),
        directory_version: u64,
        transport: Arc<dyn PeerTransport>,
        finished: mpsc::UnboundedSender<Finished>,
    ) {
        let peer = start.peer;
        let (snapshot, hello) = channel;
        let window_items = self.window_items;
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let items = snapshot.into_items();
            let started = Instant::now();
            let exchange = |bytes: Vec<u8>| -> Result<Vec<u8>, String> {
                let address = runtime
                    .block_on(crate::runtime::resolve(&addresses))
                    .ok_or_else(|| format!("no address of {} resolves", peer.short()))?;
                runtime.block_on(transport.request(peer, address, bytes))
            };
            let result =
                exchange::initiate_windows(&items, hello, start, directory_version, window_items, exchange)
                    .map(|summary| Summary { elapsed: started.elapsed(), ..summary })
                    .map_err(|failure| failure.to_string());
            if let Err(error) = &result {
                tracing::info!(peer = %peer.short(), %error, "reconciliation did not finish; next interval retries");
            }
            let _ = finished.send(Finished::new(peer, Side::Initiator, result));
        });
    }

    /// Notes that a session ended, refusing any frame that reached it after its end.
    pub fn ended(&mut self, finished: &mut Finished) {
        if let Side::Responder(session) = finished.side {
            self.responders.remove(&(finished.peer, session));
            if let Some(Leftover { frames, directory_version }) = finished.leftover.take() {
                for (_, reply) in frames.try_iter() {
                    let _ = reply.send(refused(directory_version, format!("session {session} is over")));
                }
            }
        }
    }
}

/// Runs a responder session over its frames, under the idle timeout of the core's
/// `answer`.
fn run_responder(
    items: &[Item],
    hello: Option<HelloSummary>,
    answer: SessionAnswer,
    frames: &std_mpsc::Receiver<Frame>,
    directory_version: u64,
) -> Result<Summary, String> {
    let SessionAnswer { idle_timeout } = answer;
    let idle = |timeout: Duration| format!("no frame for {} s", timeout.as_secs());
    let mut session = match ResponderSession::new(items, hello, directory_version) {
        Ok(session) => session,
        Err(error) => {
            if let Ok((_, reply)) = frames.recv_timeout(idle_timeout) {
                let _ = reply.send(refused(directory_version, error.to_string()));
            }
            return Err(error.to_string());
        }
    };
    let started = Instant::now();
    loop {
        let (frame, reply) = frames.recv_timeout(idle_timeout).map_err(|_| idle(idle_timeout))?;
        let Answered { response, end } = session.answer(&frame);
        let _ = reply.send(response);
        if let Some(end) = end {
            return end.map(|summary| Summary { elapsed: started.elapsed(), ..summary });
        }
    }
}
