//! The sessions of one node: each runs on a blocking thread, since a session is CPU work
//! over up to millions of items. The initiator drives its exchanges itself; a responder
//! session receives its frames through a channel and ends when the session ends, errs, or
//! goes quiet for [`SESSION_IDLE_TIMEOUT`]. At most one outgoing and
//! [`MAX_RESPONDER_SESSIONS_PER_PEER`] incoming sessions run per peer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kvitt_protocol::reconcile::{Initiator, Item, ReconcileError, Responder, Salt, Step};
use kvitt_protocol::wire::{
    RecordBytes, Refusal, RefusalCode, Request, RequestBody, Response, ResponseBody, Window,
};
use kvitt_protocol::{PublicKey, RecordId};
use tokio::sync::{mpsc, oneshot};

use super::{ChannelSnapshot, MAX_RESPONDER_SESSIONS_PER_PEER, MAX_SESSION_ATTEMPTS, SESSION_IDLE_TIMEOUT};
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

/// What a session that ran to its end found, and what it cost.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Ids this node holds that the peer lacks: the core sends them.
    pub have: Vec<RecordId>,
    /// How many records the peer holds that this node lacks: the peer sends them.
    pub need: usize,
    /// Frames this node sent.
    pub frames_sent: usize,
    /// Bytes of the frames this node sent.
    pub bytes_sent: usize,
    /// Bytes of the frames the peer sent.
    pub bytes_received: usize,
    /// From the first frame to the last.
    pub elapsed: Duration,
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
    initiating: BTreeSet<PublicKey>,
    next_session: Arc<AtomicU64>,
    window_items: usize,
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
    /// No sessions yet; the ones this node starts cover at most `window_items` of its
    /// items each ([`super::WINDOW_ITEMS`] in production).
    pub fn new(window_items: usize) -> Sessions {
        Sessions {
            responders: BTreeMap::new(),
            initiating: BTreeSet::new(),
            next_session: Arc::default(),
            window_items: window_items.max(1),
        }
    }

    /// Hands a peer's frame to its session, starting a responder over the channel
    /// `snapshot` gives (taken only for a new session) if the frame opens one.
    pub fn respond(
        &mut self,
        incoming: IncomingFrame,
        snapshot: impl FnOnce() -> ChannelSnapshot,
        finished: mpsc::UnboundedSender<Finished>,
    ) {
        let IncomingFrame { peer, session, frame, window, reply, directory_version } = incoming;
        if let Some(sender) = self.responders.get(&(peer, session)) {
            // An ended session's queue stays open until `ended` drains it with refusals.
            let _ = sender.send((frame, reply));
            return;
        }
        let open = self.responders.keys().filter(|(other, _)| *other == peer).count();
        if open >= MAX_RESPONDER_SESSIONS_PER_PEER {
            let _ = reply.send(refused(directory_version, format!("{open} sessions open already")));
            return;
        }
        let snapshot = snapshot();
        let (sender, frames) = std_mpsc::channel::<Frame>();
        let _ = sender.send((frame, reply));
        self.responders.insert((peer, session), sender);
        tokio::task::spawn_blocking(move || {
            let items = snapshot.into_items();
            let result = run_responder(in_window(&items, window), &frames, directory_version);
            let leftover = Some(Leftover { frames, directory_version });
            let _ = finished.send(Finished { peer, side: Side::Responder(session), result, leftover });
        });
    }

    /// Whether a session this node started with `peer` is running.
    pub fn is_initiating(&self, peer: &PublicKey) -> bool {
        self.initiating.contains(peer)
    }

    /// Starts a session with `peer` over `snapshot` unless one is running: one per time
    /// window if the channel holds more than the window size. A session whose outcome fails
    /// verification is run again with new salts, up to [`MAX_SESSION_ATTEMPTS`] in all.
    pub fn initiate(
        &mut self,
        peer: PublicKey,
        addresses: Vec<String>,
        snapshot: ChannelSnapshot,
        directory_version: u64,
        transport: Arc<dyn PeerTransport>,
        finished: mpsc::UnboundedSender<Finished>,
    ) {
        if !self.initiating.insert(peer) {
            return;
        }
        let numbers = Arc::clone(&self.next_session);
        let window_items = self.window_items;
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let items = snapshot.into_items();
            let mut total = Summary::default();
            let mut result = Ok(());
            for window in windows(&items, window_items) {
                let exchange = |session: u64, frame: Vec<u8>| -> Result<Option<Vec<u8>>, String> {
                    let request = Request {
                        directory_version,
                        body: RequestBody::Reconcile { session, frame: RecordBytes(frame), window },
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
                match run_attempts(in_window(&items, window), &numbers, exchange) {
                    Ok(summary) => total.add(summary),
                    Err(error) => {
                        result = Err(error);
                        break;
                    }
                }
            }
            if let Err(error) = &result {
                tracing::info!(peer = %peer.short(), %error, "reconciliation did not finish; next interval retries");
            }
            let result = result.map(|()| total);
            let _ = finished.send(Finished { peer, side: Side::Initiator, result, leftover: None });
        });
    }

    /// Notes that a session ended, refusing any frame that reached it after its end.
    pub fn ended(&mut self, finished: &mut Finished) {
        match finished.side {
            Side::Initiator => {
                self.initiating.remove(&finished.peer);
            }
            Side::Responder(session) => {
                self.responders.remove(&(finished.peer, session));
                if let Some(Leftover { frames, directory_version }) = finished.leftover.take() {
                    for (_, reply) in frames.try_iter() {
                        let _ = reply.send(refused(directory_version, format!("session {session} is over")));
                    }
                }
            }
        }
    }
}

/// Runs one initiator session over `items`, again with new salts (and a new session
/// number) while its outcome fails verification, up to [`MAX_SESSION_ATTEMPTS`] in all.
fn run_attempts(
    items: &[Item],
    numbers: &AtomicU64,
    mut exchange: impl FnMut(u64, Vec<u8>) -> Result<Option<Vec<u8>>, String>,
) -> Result<Summary, String> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let session = numbers.fetch_add(1, Ordering::Relaxed) + 1;
        match run_initiator(items, |frame| exchange(session, frame)) {
            Err(Failure::Reconcile(ReconcileError::Verification)) if attempt < MAX_SESSION_ATTEMPTS => {
                tracing::warn!("reconciliation outcome failed verification; again with new salts");
            }
            other => return other.map_err(|failure| failure.to_string()),
        }
    }
}

/// The time windows a session over `items` (sorted) is split into so that each covers at
/// most about `per` of them; `[None]` (the whole channel) if they fit one session. Items
/// of one time stay in one window.
fn windows(items: &[Item], per: usize) -> Vec<Option<Window>> {
    if items.len() <= per {
        return vec![None];
    }
    let mut bounds: Vec<u64> = items.iter().step_by(per).skip(1).map(|item| item.time).collect();
    bounds.dedup();
    let mut windows = Vec::with_capacity(bounds.len() + 1);
    let mut from = 0;
    for until in bounds {
        if until > from {
            windows.push(Some(Window { from, until }));
            from = until;
        }
    }
    windows.push(Some(Window { from, until: u64::MAX }));
    windows
}

/// The items (sorted by time) inside `window`, all if none.
fn in_window(items: &[Item], window: Option<Window>) -> &[Item] {
    let Some(window) = window else {
        return items;
    };
    let start = items.partition_point(|item| item.time < window.from);
    let end = items.partition_point(|item| item.time < window.until);
    items.get(start..end.max(start)).unwrap_or_default()
}

impl Summary {
    /// Adds what another session (another window) found and cost.
    fn add(&mut self, other: Summary) {
        self.have.extend(other.have);
        self.need += other.need;
        self.frames_sent += other.frames_sent;
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
        self.elapsed += other.elapsed;
    }
}

/// Why an initiator's session did not finish.
#[derive(Debug, thiserror::Error)]
enum Failure {
    /// The state machine ended it.
    #[error("{0}")]
    Reconcile(#[from] ReconcileError),
    /// The peer could not be reached, refused, or answered out of turn.
    #[error("{0}")]
    Exchange(String),
}

/// Runs the initiator side: `exchange` sends a frame and returns the peer's answer frame.
fn run_initiator(
    items: &[Item],
    mut exchange: impl FnMut(Vec<u8>) -> Result<Option<Vec<u8>>, String>,
) -> Result<Summary, Failure> {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut send = |frame: Vec<u8>, summary: &mut Summary| {
        summary.frames_sent += 1;
        summary.bytes_sent += frame.len();
        let answer = exchange(frame).map_err(Failure::Exchange)?;
        summary.bytes_received += answer.as_ref().map_or(0, Vec::len);
        Ok::<_, Failure>(answer)
    };
    let mut initiator = Initiator::new(items, random_salt())?;
    let mut frame = initiator.start()?;
    loop {
        let Some(answer) = send(frame, &mut summary)? else {
            return Err(Failure::Exchange("the peer ended the session first".into()));
        };
        match initiator.receive(&answer)? {
            Step::Send(next) => frame = next,
            Step::Done { last, outcome } => {
                if let Some(last) = last {
                    send(last, &mut summary)?;
                }
                summary.have = outcome.have;
                summary.need = outcome.need.len();
                summary.elapsed = started.elapsed();
                return Ok(summary);
            }
        }
    }
}

/// Runs a responder session over its frames.
fn run_responder(
    items: &[Item],
    frames: &std_mpsc::Receiver<Frame>,
    directory_version: u64,
) -> Result<Summary, String> {
    let idle = || format!("no frame for {} s", SESSION_IDLE_TIMEOUT.as_secs());
    let mut responder = match Responder::new(items, random_salt()) {
        Ok(responder) => responder,
        Err(error) => {
            if let Ok((_, reply)) = frames.recv_timeout(SESSION_IDLE_TIMEOUT) {
                let _ = reply.send(refused(directory_version, error.to_string()));
            }
            return Err(error.to_string());
        }
    };
    let started = Instant::now();
    let mut summary = Summary::default();
    loop {
        let (frame, reply) = frames.recv_timeout(SESSION_IDLE_TIMEOUT).map_err(|_| idle())?;
        summary.bytes_received += frame.len();
        let (body, done) = match responder.receive(&frame) {
            Ok(Step::Send(bytes)) => (ResponseBody::Reconcile { frame: Some(RecordBytes(bytes)) }, None),
            Ok(Step::Done { last, outcome }) => {
                (ResponseBody::Reconcile { frame: last.map(RecordBytes) }, Some(outcome))
            }
            Err(error) => {
                let _ = reply.send(refused(directory_version, format!("reconciliation: {error}")));
                return Err(error.to_string());
            }
        };
        if let ResponseBody::Reconcile { frame: Some(frame) } = &body {
            summary.frames_sent += 1;
            summary.bytes_sent += frame.0.len();
        }
        let _ = reply.send(encode(directory_version, body));
        if let Some(outcome) = done {
            summary.have = outcome.have;
            summary.need = outcome.need.len();
            summary.elapsed = started.elapsed();
            return Ok(summary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(time: u64, byte: u8) -> Item {
        Item { time, id: RecordId([byte; 32]) }
    }

    #[test]
    fn a_channel_that_fits_one_session_is_not_windowed() {
        let items: Vec<Item> = (0..10).map(|n| item(n, n as u8)).collect();
        assert_eq!(windows(&items, 10), vec![None]);
        assert_eq!(in_window(&items, None).len(), 10);
    }

    #[test]
    fn windows_cover_every_time_once_and_keep_items_of_one_time_together() {
        // Times 0..25, but five items at time 10 across the first cut.
        let mut items: Vec<Item> = (0..25).map(|n| item(n, n as u8)).collect();
        items.extend((100..104).map(|byte| item(10, byte)));
        items.sort();
        let cut = windows(&items, 10);
        assert!(cut.len() >= 3, "{cut:?}");
        let mut seen = Vec::new();
        for window in &cut {
            let inside = in_window(&items, *window);
            assert!(inside.iter().all(|item| window.is_some_and(|window| window.contains(item.time))));
            seen.extend_from_slice(inside);
        }
        assert_eq!(seen, items, "each item in exactly one window, in order");
        let first = cut.first().copied().flatten().unwrap();
        let last = cut.last().copied().flatten().unwrap();
        assert_eq!((first.from, last.until), (0, u64::MAX), "the windows cover all times");
        let tens: Vec<_> = cut.iter().filter(|w| w.is_some_and(|w| w.contains(10))).collect();
        assert_eq!(tens.len(), 1, "time 10 is in one window");
    }

    #[test]
    fn a_window_that_holds_none_of_the_items_is_empty() {
        let items: Vec<Item> = (0..5).map(|n| item(n * 10, n as u8)).collect();
        assert!(in_window(&items, Some(Window { from: 11, until: 20 })).is_empty());
        assert!(in_window(&items, Some(Window { from: 30, until: 10 })).is_empty());
        assert_eq!(in_window(&items, Some(Window { from: 10, until: 31 })).len(), 3);
    }
}
