//! The simulated world: nodes, the network between them and one queue of events on
//! virtual time, run in one thread. It is each node's backend of the node's one effect
//! interpreter (`kvitt_node::interpret`, the production driver's too): writes applied at
//! once; answers and outgoing requests released only after the node's next simulated
//! fsync; answers matched to requests, or a timeout after [`REQUEST_TIMEOUT_MS`]; the
//! sessions the cores start run over the simulated network (crate::session).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use kvitt_node::core::{
    Caller, ClientRequest, ClientResponse, Deferred, Effect, ExchangeError, ExchangeId, Input, ReplyId,
    SessionStart,
};
use kvitt_node::interpret::Backend;
use kvitt_node::ledger::keys::CHAIN_PREFIX;
use kvitt_node::runtime::decode_peer_request;
use kvitt_node::store::{Batch, Store, StoreError};
use kvitt_node::sync::ChannelIndex;
use kvitt_protocol::wire::{Refusal, Request, Response};
use kvitt_protocol::{PublicKey, RecordId};
use time::OffsetDateTime;

use crate::net::{Kind, Network, REQUEST_TIMEOUT_MS};
use crate::node::SimNode;
use crate::rng::SimRng;

/// How long a simulated group commit (fsync) takes, in virtual milliseconds.
pub const FSYNC_MS: i64 = 2;

/// Something that happens at a virtual time.
#[derive(Debug)]
pub enum Event {
    /// A request reaches `to`.
    Request {
        /// Sender.
        from: usize,
        /// Receiver.
        to: usize,
        /// The sender's life when it sent (the answer goes to that life only).
        life: u64,
        /// The sender's exchange id; `None` for a request injected by the workload.
        exchange: Option<ExchangeId>,
        /// The encoded request.
        bytes: std::sync::Arc<[u8]>,
        /// Its decoding, started on the second thread when it was sent.
        ticket: crate::predecode::Ticket,
    },
    /// An answer reaches `to`.
    Answer {
        /// Who asked.
        to: usize,
        /// Its life then.
        life: u64,
        /// The peer that answered.
        from: usize,
        /// The exchange.
        exchange: ExchangeId,
        /// The encoded response.
        bytes: Vec<u8>,
    },
    /// No answer came in time.
    Timeout {
        /// Who asked.
        node: usize,
        /// Its life then.
        life: u64,
        /// The peer asked.
        peer: usize,
        /// The exchange.
        exchange: ExchangeId,
    },
    /// A node's wake-up.
    Wake {
        /// The node.
        node: usize,
        /// Its life then.
        life: u64,
        /// The time it asked for.
        at: i64,
    },
    /// A node's fsync completes.
    Fsync {
        /// The node.
        node: usize,
        /// Its life then.
        life: u64,
    },
    /// A reconciliation session ends.
    SessionEnd(Box<crate::session::Ended>),
    /// A fault: a node crashes, restarts, or links are cut or healed.
    Fault(crate::faults::Fault),
    /// A workload action.
    Workload(u64),
}

struct Scheduled {
    at: i64,
    sequence: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.sequence) == (other.at, other.sequence)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.sequence).cmp(&(other.at, other.sequence))
    }
}

/// A request as sent: its bytes, and its ticket at the [`Predecoder`] decoding it.
///
/// [`Predecoder`]: crate::predecode::Predecoder
pub type Sent = (std::sync::Arc<[u8]>, crate::predecode::Ticket);

/// A client's answer, for the workload.
pub type ClientAnswer = Result<ClientResponse, Refusal>;

/// The nodes, the network and the event queue.
pub struct World {
    /// Virtual time, ms since the Unix epoch.
    pub now_ms: i64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    sequence: u64,
    /// The nodes, by index (the cast's order).
    pub nodes: Vec<SimNode>,
    /// Node index by key.
    pub index_of: BTreeMap<PublicKey, usize>,
    /// The one random generator.
    pub rng: SimRng,
    /// The network.
    pub net: Network,
    next_reply: ReplyId,
    /// Client requests waiting for their answer: the node and the workload's tag.
    clients: BTreeMap<ReplyId, (usize, u64)>,
    /// Answers to client requests, for the workload to collect.
    pub answers: Vec<(u64, Option<ClientAnswer>)>,
    /// Records that nodes stored, in order, for the workload's latencies.
    pub stored: Vec<(usize, RecordId)>,
    /// Of those, the claim events (a claim's chain grew), for the continuous checks: only
    /// they can be a payment, and decoding every stored record to find them cost about a
    /// tenth of a large run.
    pub stored_events: Vec<(usize, RecordId)>,
    /// Things that must never happen (a core panicking, a store failing, a node not
    /// starting again), as violations for the checks.
    pub failures: Vec<crate::check::Violation>,
    /// A deliberate panic at this core step (a test of the checks).
    pub panic_at_step: Option<u64>,
    /// Reconciliation counts.
    pub sessions: crate::session::SessionStats,
    /// Events handled.
    pub events: u64,
    /// Core steps taken.
    pub steps: u64,
    /// Decodes the requests in flight on a second thread.
    decoder: crate::predecode::Predecoder,
}

impl World {
    /// A world of `nodes` at `start_ms`.
    pub fn new(nodes: Vec<SimNode>, net: Network, rng: SimRng, start_ms: i64) -> World {
        let index_of = nodes.iter().enumerate().map(|(index, node)| (node.party.key(), index)).collect();
        World {
            now_ms: start_ms,
            queue: BinaryHeap::new(),
            sequence: 0,
            nodes,
            index_of,
            rng,
            net,
            next_reply: 1,
            clients: BTreeMap::new(),
            answers: Vec::new(),
            stored: Vec::new(),
            stored_events: Vec::new(),
            failures: Vec::new(),
            panic_at_step: None,
            sessions: Default::default(),
            events: 0,
            steps: 0,
            decoder: crate::predecode::Predecoder::new(),
        }
    }

    /// Schedules `event` at `at` (not before now).
    pub fn schedule(&mut self, at: i64, event: Event) {
        self.sequence += 1;
        self.queue.push(Reverse(Scheduled { at: at.max(self.now_ms), sequence: self.sequence, event }));
    }

    /// The next event, advancing the clock to it.
    pub fn next_event(&mut self) -> Option<Event> {
        let Reverse(next) = self.queue.pop()?;
        self.now_ms = next.at;
        self.events += 1;
        Some(next.event)
    }

    /// The time of the next event.
    pub fn next_at(&self) -> Option<i64> {
        self.queue.peek().map(|Reverse(next)| next.at)
    }

    /// The current virtual time.
    pub fn now(&self) -> OffsetDateTime {
        let nanos = i128::from(self.now_ms) * 1_000_000;
        OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// The life of node `node` (0 if there is none).
    pub fn life(&self, node: usize) -> u64 {
        self.nodes.get(node).map_or(0, |node| node.life)
    }

    /// Whether node `node` is up.
    pub fn is_up(&self, node: usize) -> bool {
        self.nodes.get(node).is_some_and(SimNode::is_up)
    }

    /// A client request to node `node`, answered later under `tag` (with `None` if the node
    /// is down or crashes before answering).
    pub fn client(&mut self, node: usize, caller: Caller, request: ClientRequest, tag: u64) {
        if !self.is_up(node) {
            self.answers.push((tag, None));
            return;
        }
        let reply = self.next_reply;
        self.next_reply += 1;
        self.clients.insert(reply, (node, tag));
        self.step(node, Input::Client { reply, caller, request });
    }

    /// Hands `input` to node `node`'s core and carries out what it returns.
    pub fn step(&mut self, node: usize, input: Input) {
        let now = self.now();
        let Some(core) = self.nodes.get_mut(node).and_then(|node| node.core.as_mut()) else {
            return;
        };
        let kind = input_kind(&input);
        // A panicking core is a violation, reported with the seed like any other; the
        // node is treated as killed, and the run goes on to its checks.
        let sabotage = self.panic_at_step == Some(self.steps);
        if sabotage {
            self.panic_at_step = None;
        }
        let effects = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if sabotage {
                sabotage_panic();
            }
            core.handle(now, input)
        })) {
            Ok(effects) => effects,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|text| (*text).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                self.failures.push(crate::check::Violation {
                    invariant: "no node panicked",
                    details: format!("node {node} at {} ms, handling {kind}: {message}", self.now_ms),
                });
                // Killed, and started again by its supervisor ten seconds later.
                self.crash(node);
                self.schedule(self.now_ms + 10_000, Event::Fault(crate::faults::Fault::Restart(node)));
                return;
            }
        };
        self.steps += 1;
        self.carry_out(node, effects);
    }

    fn carry_out(&mut self, node: usize, effects: Vec<Effect>) {
        kvitt_node::interpret::carry_out(&mut OneNode { world: self, node }, effects);
    }

    fn when_durable(&mut self, node: usize, effects: Vec<Deferred>) {
        let Some(sim) = self.nodes.get_mut(node) else {
            return;
        };
        if !sim.dirty && sim.fsync_at.is_none() {
            for effect in effects {
                self.release(node, effect);
            }
            return;
        }
        sim.waiting.extend(effects);
        if sim.fsync_at.is_none() {
            let at = self.now_ms + FSYNC_MS;
            sim.fsync_at = Some(at);
            let life = sim.life;
            self.schedule(at, Event::Fsync { node, life });
        }
    }

    /// The fsync in flight completes: everything applied so far is durable, and what
    /// waited for it is released.
    pub fn fsync(&mut self, node: usize, life: u64) {
        let Some(sim) = self.nodes.get_mut(node).filter(|sim| sim.life == life && sim.is_up()) else {
            return;
        };
        let _ = sim.store.sync();
        sim.dirty = false;
        sim.fsync_at = None;
        let waiting = std::mem::take(&mut sim.waiting);
        for effect in waiting {
            self.release(node, effect);
        }
    }

    fn wake_at(&mut self, node: usize, at: i64) {
        let Some(sim) = self.nodes.get_mut(node) else {
            return;
        };
        if sim.wakes.insert(at) {
            let life = sim.life;
            self.schedule(at, Event::Wake { node, life, at });
        }
    }

    /// A wake-up: the core gets a tick.
    pub fn wake(&mut self, node: usize, life: u64, at: i64) {
        let Some(sim) = self.nodes.get_mut(node).filter(|sim| sim.life == life) else {
            return;
        };
        sim.wakes.remove(&at);
        self.step(node, Input::Tick);
    }

    fn release(&mut self, node: usize, effect: Deferred) {
        match effect {
            Deferred::ToClient { reply, result } => {
                if let Some((_, tag)) = self.clients.remove(&reply) {
                    self.answers.push((tag, Some(result)));
                }
            }
            Deferred::ToPeer { reply, response } => self.answer_peer(node, reply, &response),
            Deferred::Send { to, exchange, request } => self.send(node, to, exchange, &request),
            Deferred::DirectoryChanged(_) => {}
        }
    }

    fn send(&mut self, node: usize, to: PublicKey, exchange: ExchangeId, request: &Request) {
        let Some(&peer) = self.index_of.get(&to) else {
            let answer = Err(ExchangeError::NoAddress { peer: to, addresses: Vec::new() });
            self.step(node, Input::Answer { to, exchange, answer });
            return;
        };
        let Ok(bytes) = request.encode() else {
            return;
        };
        let life = self.life(node);
        if let Some(sim) = self.nodes.get_mut(node) {
            sim.exchanges.insert(exchange);
        }
        self.transmit(node, peer, life, Some(exchange), bytes);
        self.schedule(self.now_ms + REQUEST_TIMEOUT_MS, Event::Timeout { node, life, peer, exchange });
    }

    /// Puts a request on the wire from `from` to `to`.
    pub fn transmit(
        &mut self,
        from: usize,
        to: usize,
        life: u64,
        exchange: Option<ExchangeId>,
        bytes: Vec<u8>,
    ) {
        let delays = self.net.send(&mut self.rng, self.now_ms, (from, to), &bytes, Kind::Request);
        let Some(from_key) = self.nodes.get(from).map(|node| node.party.key()) else {
            return;
        };
        let bytes: std::sync::Arc<[u8]> = bytes.into();
        for delay in delays {
            let ticket = self.decoder.submit(from_key, bytes.clone());
            let event = Event::Request { from, to, life, exchange, bytes: bytes.clone(), ticket };
            self.schedule(self.now_ms + delay, event);
        }
    }

    /// A request reaches node `to`: decoded as the transport does, handed to its core.
    pub fn request(&mut self, from: usize, to: usize, life: u64, exchange: Option<ExchangeId>, sent: Sent) {
        let (bytes, ticket) = sent;
        if !self.is_up(to) {
            self.decoder.forget(ticket);
            return;
        }
        let Some(from_key) = self.nodes.get(from).map(|node| node.party.key()) else {
            self.decoder.forget(ticket);
            return;
        };
        let (directory_version, request) =
            self.decoder.take(ticket).unwrap_or_else(|| decode_peer_request(from_key, &bytes));
        let reply = self.next_reply;
        self.next_reply += 1;
        if let (Some(exchange), Some(sim)) = (exchange, self.nodes.get_mut(to)) {
            sim.peer_replies.insert(reply, (from, exchange, life));
        }
        self.step(to, Input::Peer { reply, from: from_key, directory_version, request });
    }

    fn answer_peer(&mut self, node: usize, reply: ReplyId, response: &Response) {
        let Some((asker, exchange, life)) =
            self.nodes.get_mut(node).and_then(|sim| sim.peer_replies.remove(&reply))
        else {
            return;
        };
        let Ok(bytes) = response.encode() else {
            return;
        };
        let delays = self.net.send(&mut self.rng, self.now_ms, (node, asker), &bytes, Kind::Request);
        // An answer is one message on a stream: a duplicate of it is not delivered twice.
        if let Some(delay) = delays.first() {
            let event = Event::Answer { to: asker, life, from: node, exchange, bytes };
            self.schedule(self.now_ms + delay, event);
        }
    }

    /// An answer reaches the node that asked.
    pub fn answer(&mut self, to: usize, life: u64, from: usize, exchange: ExchangeId, bytes: &[u8]) {
        let answer = Response::decode(bytes).map_err(ExchangeError::Undecodable);
        self.settle(to, life, from, exchange, answer);
    }

    /// No answer in time.
    pub fn timeout(&mut self, node: usize, life: u64, peer: usize, exchange: ExchangeId) {
        let within = std::time::Duration::from_millis(REQUEST_TIMEOUT_MS.unsigned_abs());
        let answer = Err(ExchangeError::NoAnswer { from: None, within });
        self.settle(node, life, peer, exchange, answer);
    }

    /// Hands the first outcome of an exchange (answer or timeout) to the core that asked,
    /// if it is still the life that asked; later ones are dropped.
    fn settle(
        &mut self,
        node: usize,
        life: u64,
        peer: usize,
        exchange: ExchangeId,
        answer: Result<Response, ExchangeError>,
    ) {
        let Some(sim) = self.nodes.get_mut(node).filter(|sim| sim.life == life) else {
            return;
        };
        if !sim.exchanges.remove(&exchange) {
            return;
        }
        let Some(peer_key) = self.nodes.get(peer).map(|node| node.party.key()) else {
            return;
        };
        self.step(node, Input::Answer { to: peer_key, exchange, answer });
    }

    /// Kills node `node`: its pending client requests are answered with `None`.
    pub fn crash(&mut self, node: usize) {
        let Some(sim) = self.nodes.get_mut(node) else {
            return;
        };
        sim.crash();
        let lost: Vec<ReplyId> =
            self.clients.iter().filter(|(_, (owner, _))| *owner == node).map(|(reply, _)| *reply).collect();
        for reply in lost {
            if let Some((_, tag)) = self.clients.remove(&reply) {
                self.answers.push((tag, None));
            }
        }
    }
}

/// The simulated world as one node's backend: a [`MemoryStore`] that loses unsynced
/// writes when killed, virtual time, the simulated network.
///
/// [`MemoryStore`]: kvitt_node::store::MemoryStore
struct OneNode<'a> {
    world: &'a mut World,
    node: usize,
}

impl Backend for OneNode<'_> {
    fn apply(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let World { nodes, stored, stored_events, .. } = &mut *self.world;
        let Some(sim) = nodes.get_mut(self.node) else {
            return Err(StoreError::Closed);
        };
        sim.store.apply(batch)?;
        sim.dirty = true;
        for (key, value) in batch.operations() {
            if value.is_some() {
                if let Some(id) = key.strip_prefix(b"rec/").and_then(|tail| <[u8; 32]>::try_from(tail).ok()) {
                    stored.push((self.node, RecordId(id)));
                }
                let event = value.as_deref().and_then(|id| <[u8; 32]>::try_from(id).ok());
                if let Some(event) = event.filter(|_| key.starts_with(CHAIN_PREFIX)) {
                    stored_events.push((self.node, RecordId(event)));
                }
            }
        }
        Ok(())
    }

    fn write_failed(&mut self, error: StoreError) {
        // A MemoryStore never fails; if it did, the checks must say so.
        self.world.failures.push(crate::check::Violation {
            invariant: "no ledger write failed",
            details: format!("node {}: {error}", self.node),
        });
    }

    fn when_durable(&mut self, deferred: Vec<Deferred>) {
        self.world.when_durable(self.node, deferred);
    }

    fn wake_at(&mut self, at_ms: i64) {
        self.world.wake_at(self.node, at_ms);
    }

    fn index(&mut self) -> Option<&mut ChannelIndex> {
        self.world.nodes.get_mut(self.node).map(|sim| &mut sim.index)
    }

    fn start_session(&mut self, start: SessionStart) {
        crate::session::run(self.world, self.node, start);
    }
}

/// The kind of an input, for a panic's report.
fn input_kind(input: &Input) -> &'static str {
    match input {
        Input::Client { .. } => "a client request",
        Input::Peer { .. } => "a peer request",
        Input::Answer { .. } => "an answer",
        Input::Tick => "a tick",
        Input::SessionEnded { .. } => "a reconciliation session's end",
    }
}

/// The deliberate panic of `Sabotage::PanicInCore`.
#[allow(clippy::panic)] // Its whole point; the step's catch_unwind reports it.
fn sabotage_panic() -> ! {
    std::panic::panic_any("sabotage: this core step panics")
}
