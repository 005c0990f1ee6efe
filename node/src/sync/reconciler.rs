//! When and with whom a node reconciles: the driver's side of reconciliation. It keeps
//! the channel index, starts sessions (at start, every interval, when an unreachable peer
//! is heard from again, on an operator's demand), hands incoming frames to their sessions
//! and turns finished sessions into the core's input and the operator's answer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kvitt_protocol::reconcile::Salt;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{PublicKey, RecordId};
use tokio::sync::{mpsc, oneshot};

use super::{
    ChannelIndex, ChannelSnapshot, Finished, IncomingFrame, SaltOf, Sessions, Side, HELLO_SALT_LIFETIME,
};
use crate::core::{Caller, CallerRole, ClientResponse, NodeCore, PeerReconciliation};
use crate::runtime::PeerTransport;
use crate::store::{Batch, Store};

/// Why a node whose channel index could not be loaded refuses every session.
const INDEX_UNREADABLE: &str = "this node's channel index is unreadable";

/// Where the answer to a client request goes.
pub type ClientReply = oneshot::Sender<Result<ClientResponse, Refusal>>;

/// An operator waiting for the sessions they asked for.
struct Waiter {
    /// Each peer still to hear of, with the first of its sessions (by this node's count)
    /// whose result answers: one that started after the operator asked.
    pending: BTreeMap<PublicKey, u64>,
    done: Vec<PeerReconciliation>,
    reply: ClientReply,
}

/// The reconciliation side of a node's driver.
pub struct Reconciler {
    /// `None` if the ledger's index could not be read at start: the node then neither
    /// starts nor answers sessions, rather than claim to hold nothing.
    index: Option<ChannelIndex>,
    sessions: Sessions,
    finished_tx: mpsc::UnboundedSender<Finished>,
    finished: mpsc::UnboundedReceiver<Finished>,
    transport: Arc<dyn PeerTransport>,
    interval: Duration,
    next_round: tokio::time::Instant,
    /// Peers whose last session this node started did not finish.
    unreached: BTreeSet<PublicKey>,
    /// Sessions started with each peer so far.
    started: BTreeMap<PublicKey, u64>,
    /// Peers an operator asked for while a session with them ran: one more follows it.
    again: BTreeSet<PublicKey>,
    /// The salt of this node's hellos to each peer, and when it was drawn.
    hello_salts: BTreeMap<PublicKey, (Salt, Instant)>,
    waiters: Vec<Waiter>,
}

impl Reconciler {
    /// Loads the channel index from `store`; the first round is due at once.
    pub fn new(
        store: &dyn Store,
        transport: Arc<dyn PeerTransport>,
        config: &crate::runtime::RuntimeConfig,
    ) -> Reconciler {
        let started = Instant::now();
        let index = match ChannelIndex::load(store) {
            Ok(index) => {
                tracing::info!(items = index.len(), took = ?started.elapsed(), "channel index loaded");
                Some(index)
            }
            Err(error) => {
                tracing::error!(%error, "channel index unreadable; this node will not reconcile");
                None
            }
        };
        let (finished_tx, finished) = mpsc::unbounded_channel();
        Reconciler {
            index,
            sessions: Sessions::new(config.reconcile_window_items),
            finished_tx,
            finished,
            transport,
            interval: config.reconcile_interval,
            next_round: tokio::time::Instant::now(),
            unreached: BTreeSet::new(),
            started: BTreeMap::new(),
            again: BTreeSet::new(),
            hello_salts: BTreeMap::new(),
            waiters: Vec::new(),
        }
    }

    /// When the next round of sessions with every peer is due.
    pub fn next_round(&self) -> tokio::time::Instant {
        self.next_round
    }

    /// The next session that ended.
    pub async fn finished(&mut self) -> Option<Finished> {
        self.finished.recv().await
    }

    /// Takes note of the channel keys a committed batch inserted.
    pub fn note(&mut self, batch: &Batch) {
        if let Some(index) = &mut self.index {
            index.note(batch);
        }
    }

    /// Starts a session with every peer this node may share a channel with, and schedules
    /// the next round.
    pub fn round(&mut self, core: &NodeCore) {
        self.next_round = tokio::time::Instant::now() + self.interval;
        for peer in core.reconciliation_peers() {
            self.initiate(core, peer);
        }
    }

    /// A request came from `peer`: if the last session with it did not reach it, it is
    /// back, and a session starts now rather than at the next round.
    pub fn heard_from(&mut self, core: &NodeCore, peer: PublicKey) {
        if self.unreached.remove(&peer) {
            tracing::debug!(peer = %peer.short(), "an unreached peer is back; reconciling");
            self.initiate(core, peer);
        }
    }

    /// Hands a peer's frame to its session.
    pub fn respond(&mut self, incoming: IncomingFrame) {
        let Some(index) = &mut self.index else {
            let answer = super::exchange::refused(incoming.directory_version, INDEX_UNREADABLE.into());
            let _ = incoming.reply.send(answer);
            return;
        };
        let peer = incoming.peer;
        let open = |salt: Option<Salt>| {
            let hello = salt.map(|salt| index.hello(&peer, SaltOf::Peer, salt));
            (index.snapshot(&peer), hello)
        };
        self.sessions.respond(incoming, open, self.finished_tx.clone());
    }

    /// An operator's `kvitt sync`: sessions with `peer` (an organisation number or a node
    /// key) or with every peer, answered when all have ended. A session already running
    /// started before the operator asked, so a new one follows it and answers.
    pub fn on_demand(&mut self, core: &NodeCore, caller: &Caller, peer: Option<String>, reply: ClientReply) {
        let peers = match self.peers_asked(core, caller, peer) {
            Ok(peers) => peers,
            Err(refusal) => {
                let _ = reply.send(Err(refusal));
                return;
            }
        };
        if peers.is_empty() {
            let _ = reply.send(Ok(ClientResponse::Reconciled(Vec::new())));
            return;
        }
        let mut pending = BTreeMap::new();
        for peer in peers {
            if self.sessions.is_initiating(&peer) {
                self.again.insert(peer);
            } else {
                self.initiate(core, peer);
            }
            let running = self.started.get(&peer).copied().unwrap_or(0);
            let first = if self.again.contains(&peer) { running + 1 } else { running };
            pending.insert(peer, first);
        }
        self.waiters.push(Waiter { pending, done: Vec::new(), reply });
    }

    fn peers_asked(
        &self,
        core: &NodeCore,
        caller: &Caller,
        peer: Option<String>,
    ) -> Result<BTreeSet<PublicKey>, Refusal> {
        if caller.role != CallerRole::Operator {
            let message = format!("{} ({:?}) may not start reconciliation", caller.person, caller.role);
            return Err(Refusal::new(RefusalCode::Forbidden, message));
        }
        if self.index.is_none() {
            return Err(Refusal::new(RefusalCode::Unavailable, INDEX_UNREADABLE));
        }
        let peers: BTreeSet<PublicKey> = core.reconciliation_peers().into_iter().collect();
        let Some(named) = peer else {
            return Ok(peers);
        };
        let directory = core.directory().body();
        let member = match named.parse::<PublicKey>() {
            Ok(key) => directory.member_by_key(&key),
            Err(_) => directory.member_by_org(&named),
        };
        let mut refusal = match member {
            None => Refusal::new(
                RefusalCode::NotFound,
                format!(
                    "no member of directory version {} has the key or organisation number {named:?}",
                    directory.version
                ),
            ),
            Some(member) if peers.contains(&member.key) => return Ok([member.key].into()),
            Some(member) => Refusal::new(
                RefusalCode::BadRequest,
                format!("{} ({:?}) shares no channel with this node", member.org, member.role),
            ),
        };
        refusal.path = "peer".into();
        Err(refusal)
    }

    /// Starts a session with `peer` unless one is running.
    fn initiate(&mut self, core: &NodeCore, peer: PublicKey) {
        if self.index.is_none() || self.sessions.is_initiating(&peer) {
            return;
        }
        let salt = self.hello_salt(peer);
        let Some(index) = &mut self.index else {
            return;
        };
        let directory = core.directory().body();
        let addresses =
            directory.member_by_key(&peer).map(|member| member.addresses.clone()).unwrap_or_default();
        let snapshot: ChannelSnapshot = index.snapshot(&peer);
        // A channel sessions cover in windows is not said hello to whole.
        let hello = (snapshot.len() <= self.sessions.window_items())
            .then(|| index.hello(&peer, SaltOf::ThisNode, salt));
        *self.started.entry(peer).or_default() += 1;
        self.sessions.initiate(
            peer,
            addresses,
            (snapshot, hello),
            directory.version,
            Arc::clone(&self.transport),
            self.finished_tx.clone(),
        );
    }

    /// The salt of this node's hellos to `peer`: a new one if it has none or its salt is
    /// older than [`HELLO_SALT_LIFETIME`].
    fn hello_salt(&mut self, peer: PublicKey) -> Salt {
        let now = Instant::now();
        let (salt, _) = self
            .hello_salts
            .entry(peer)
            .and_modify(|(salt, drawn)| {
                if now.duration_since(*drawn) >= HELLO_SALT_LIFETIME {
                    (*salt, *drawn) = (super::sessions::random_salt(), now);
                }
            })
            .or_insert_with(|| (super::sessions::random_salt(), now));
        *salt
    }

    /// Notes a session's end and answers the operators waiting for it; for a session that
    /// ended well, returns the peer and the ids it lacks (maybe none), for the core to note
    /// and send.
    pub fn ended(&mut self, core: &NodeCore, mut finished: Finished) -> Option<(PublicKey, Vec<RecordId>)> {
        self.sessions.ended(&mut finished);
        let Finished { peer, side, result, .. } = finished;
        if side == Side::Initiator {
            if result.is_ok() {
                self.unreached.remove(&peer);
            } else {
                self.unreached.insert(peer);
                // Whatever went wrong, the next session says hello under a new salt.
                self.hello_salts.remove(&peer);
            }
            self.answer_waiters(core, peer, &result);
            if self.again.remove(&peer) {
                self.initiate(core, peer);
            }
        }
        let summary = result.ok()?;
        Some((peer, summary.have))
    }

    fn answer_waiters(&mut self, core: &NodeCore, peer: PublicKey, result: &Result<super::Summary, String>) {
        let org = core.directory().body().member_by_key(&peer).map(|member| member.org.clone());
        let session = self.started.get(&peer).copied().unwrap_or(0);
        for waiter in &mut self.waiters {
            if waiter.pending.get(&peer).is_some_and(|first| *first <= session) {
                waiter.pending.remove(&peer);
                let org = org.clone().unwrap_or_default();
                waiter.done.push(PeerReconciliation { peer, org, result: result.clone() });
            }
        }
        let (done, waiting): (Vec<Waiter>, Vec<Waiter>) =
            std::mem::take(&mut self.waiters).into_iter().partition(|waiter| waiter.pending.is_empty());
        self.waiters = waiting;
        for waiter in done {
            let _ = waiter.reply.send(Ok(ClientResponse::Reconciled(waiter.done)));
        }
    }
}
