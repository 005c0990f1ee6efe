//! The tokio driver of a node core: carries out its effects against sled (group-committed),
//! the peer transport and the client API, and feeds it inputs one at a time.
//!
//! The core is one actor: inputs arrive on channels (client commands, peer requests,
//! answers to its own requests, its timer) and are handled in order. What is slow or
//! parallel happens outside it: decoding and verifying delivered records (on the
//! transport's tasks, both cores busy), fsync (the group-commit thread), network I/O.
//! Answers that acknowledge records are released only when the group commit says the
//! step's writes are durable.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use kvitt_protocol::directory::Directory;
use kvitt_protocol::wire::{Refusal, RefusalCode, Request, RequestBody, Response, ResponseBody, Verdict};
use kvitt_protocol::{PublicKey, Signed};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::core::{
    ClientResponse, Deferred, ExchangeError, ExchangeId, Input, NodeCore, PeerRequest, ReplyId, SessionStart,
};
use crate::fatal::{panic_message, Fatal};
use crate::handle::{ClientCommand, NodeHandle};
use crate::interpret::Backend;
use crate::metrics::Metrics;
use crate::status::NodeStatus;
use crate::store::group_commit::{GroupCommit, Ticket};
use crate::store::{Batch, StoreError};
use crate::sync::Reconciler;

mod inbox;
mod release;

pub use inbox::{decode_peer_request, IncomingRequest, PeerInbox, PeerInput};

use release::{count_outbox, not_durable, Release};

/// How long the driver waits for a peer's answer.
pub const PEER_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Most peer requests waiting for the core.
pub const PEER_QUEUE: usize = 1024;

/// A future the transport returns.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// What the driver needs of the peer transport.
pub trait PeerTransport: Send + Sync + 'static {
    /// Sends `request` to `peer` at `address` and returns its answer.
    fn request(
        &self,
        peer: PublicKey,
        address: SocketAddr,
        request: Vec<u8>,
    ) -> BoxFuture<Result<Vec<u8>, String>>;
    /// The keys allowed to connect, after a directory change; others are cut off.
    fn set_members(&self, members: Vec<PublicKey>);
}

enum Event {
    Client(ClientCommand),
    Peer(PeerInput),
    Answer { to: PublicKey, exchange: ExchangeId, answer: Result<Response, ExchangeError> },
    Tick,
    Finished(crate::sync::Finished),
}

/// How a node's driver runs, beyond what its core decides.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Most items of its own a session this node starts covers: a larger channel is
    /// reconciled in time windows, one session each.
    pub reconcile_window_items: usize,
}

impl Default for RuntimeConfig {
    fn default() -> RuntimeConfig {
        RuntimeConfig { reconcile_window_items: crate::sync::WINDOW_ITEMS }
    }
}

/// Starts the actor of `core` on the current tokio runtime with the default
/// [`RuntimeConfig`]: returns the handle for clients and the inbox for the transport's
/// requests.
pub fn spawn(
    core: NodeCore,
    commit: Arc<GroupCommit>,
    transport: Arc<dyn PeerTransport>,
) -> (crate::handle::NodeHandle, PeerInbox) {
    spawn_with(core, commit, transport, RuntimeConfig::default())
}

/// Starts the actor of `core` on the current tokio runtime as `config` says, its channel
/// index loaded from the core's ledger.
pub fn spawn_with(
    core: NodeCore,
    commit: Arc<GroupCommit>,
    transport: Arc<dyn PeerTransport>,
    config: RuntimeConfig,
) -> (crate::handle::NodeHandle, PeerInbox) {
    let index = crate::sync::ChannelIndex::load(core.store());
    spawn_with_index(core, commit, transport, config, index)
}

/// [`spawn_with`] over a channel index `loaded` from the core's ledger as it is now (the
/// daemon loads it while the start surveys the ledger: crate::store::ledger_start).
pub fn spawn_with_index(
    core: NodeCore,
    commit: Arc<GroupCommit>,
    transport: Arc<dyn PeerTransport>,
    config: RuntimeConfig,
    loaded: Result<crate::sync::ChannelIndex, crate::ledger::LedgerError>,
) -> (crate::handle::NodeHandle, PeerInbox) {
    let (handle, clients) = crate::handle::NodeHandle::channel();
    let fatal = handle.fatal().clone();
    commit.count_into(Arc::clone(handle.metrics()));
    let (driver, inbox) =
        Driver::new(core, Arc::clone(&commit), transport, clients, &handle, &config, loaded);
    let driver = tokio::spawn(driver.run());
    tokio::spawn(watch(driver, commit, fatal));
    (handle, inbox)
}

/// Stops the node on a failure it cannot go on after (crate::fatal): the driver's task
/// ending in a panic (a panic in the core unwinds out of the actor, whose state is then
/// unknown: neither it nor a copy may go on), or the group commit failing to sync.
async fn watch(driver: tokio::task::JoinHandle<()>, commit: Arc<GroupCommit>, fatal: Fatal) {
    tokio::select! {
        ended = driver => {
            if let Err(error) = ended {
                if error.is_panic() {
                    let message = panic_message(error.into_panic().as_ref());
                    fatal.raise(format!("the node's core panicked: {message}"));
                }
            }
        }
        why = commit.failed() => fatal.raise(why),
    }
}

/// The running actor's inputs.
pub struct Driver {
    core: NodeCore,
    commit: Arc<GroupCommit>,
    transport: Arc<dyn PeerTransport>,
    clients: mpsc::Receiver<ClientCommand>,
    peers: mpsc::Receiver<PeerInput>,
    answers_tx: mpsc::UnboundedSender<Event>,
    answers: mpsc::UnboundedReceiver<Event>,
    client_replies: BTreeMap<ReplyId, oneshot::Sender<Result<ClientResponse, Refusal>>>,
    peer_replies: BTreeMap<ReplyId, oneshot::Sender<Vec<u8>>>,
    next_reply: ReplyId,
    wake_at_ms: Option<i64>,
    /// Why the current step's write failed, if it did: its answers say so instead.
    write_refusal: Option<Refusal>,
    /// Raised on a failure after which the node stops.
    fatal: Fatal,
    reconciler: Reconciler,
    /// What the driver counts of the effects it carries out (crate::metrics).
    metrics: Arc<Metrics>,
    /// What a readiness probe reads (crate::status).
    status: Arc<NodeStatus>,
}

impl Driver {
    /// A driver for `core` behind `node` (its stop signal, metrics and status); returns it
    /// and the inbox for the transport's requests.
    pub fn new(
        core: NodeCore,
        commit: Arc<GroupCommit>,
        transport: Arc<dyn PeerTransport>,
        clients: mpsc::Receiver<ClientCommand>,
        node: &NodeHandle,
        config: &RuntimeConfig,
        index: Result<crate::sync::ChannelIndex, crate::ledger::LedgerError>,
    ) -> (Driver, PeerInbox) {
        let metrics = Arc::clone(node.metrics());
        count_outbox(core.store(), &metrics);
        let status = Arc::clone(node.status());
        status.set_recovering(core.recovering().is_some());
        let (peer_sender, peers) = mpsc::channel(PEER_QUEUE);
        let (answers_tx, answers) = mpsc::unbounded_channel();
        let reconciler = Reconciler::new(index, Arc::clone(&transport), config.reconcile_window_items);
        let driver = Driver {
            core,
            commit,
            transport,
            clients,
            peers,
            answers_tx,
            answers,
            client_replies: BTreeMap::new(),
            peer_replies: BTreeMap::new(),
            next_reply: 1,
            wake_at_ms: Some(0),
            write_refusal: None,
            fatal: node.fatal().clone(),
            reconciler,
            metrics,
            status,
        };
        (driver, PeerInbox { sender: peer_sender })
    }

    /// The directory the core holds now.
    pub fn directory(&self) -> &Signed<Directory> {
        self.core.directory()
    }

    /// Runs until every client handle and the peer inbox are dropped, or until a failure
    /// stops the node (its handle then tells clients why).
    pub async fn run(mut self) {
        self.transport
            .set_members(self.core.directory().body().members.iter().map(|member| member.key).collect());
        loop {
            if self.fatal.cause().is_some() {
                return;
            }
            let sleep = match self.wake_at_ms {
                Some(at) => {
                    let wait = (at - now_ms()).max(0);
                    tokio::time::sleep(std::time::Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
                }
                None => tokio::time::sleep(std::time::Duration::from_secs(3600)),
            };
            let fatal = self.fatal.clone();
            let event = tokio::select! {
                _ = fatal.stopped() => return,
                Some(command) = self.clients.recv() => Event::Client(command),
                Some(input) = self.peers.recv() => Event::Peer(input),
                Some(event) = self.answers.recv() => event,
                Some(finished) = self.reconciler.finished() => Event::Finished(finished),
                () = sleep => Event::Tick,
                else => return,
            };
            // The select takes any ready branch: an input that was ready beside the stop
            // is dropped, not handled (its caller hears the cause from its closed reply).
            if self.fatal.cause().is_some() {
                return;
            }
            let event = match event {
                Event::Peer(input) => match self.reconcile_frame(input) {
                    Some(input) => Event::Peer(input),
                    None => continue,
                },
                other => other,
            };
            let input = self.input(event);
            // A panic in the core leaves its state unknown: the node stops, and the cause
            // is raised before the waiting callers' reply channels close, so they hear it.
            let core = &mut self.core;
            let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                core.handle(OffsetDateTime::now_utc(), input)
            }));
            let effects = match step {
                Ok(effects) => effects,
                Err(panic) => {
                    self.fatal.raise(format!("the node's core panicked: {}", panic_message(panic.as_ref())));
                    return;
                }
            };
            self.status.set_recovering(self.core.recovering().is_some());
            self.write_refusal = None;
            crate::interpret::carry_out(&mut self, effects);
        }
    }

    /// Counts a reconciliation session that ended.
    fn counted(&self, finished: crate::sync::Finished) -> crate::sync::Finished {
        let side = match finished.side {
            crate::sync::Side::Initiator => "initiator",
            crate::sync::Side::Responder(_) => "responder",
        };
        let bytes = finished.result.as_ref().ok().map(|summary| (summary.bytes_sent, summary.bytes_received));
        self.metrics.reconcile_ended(side, bytes);
        finished
    }

    fn input(&mut self, event: Event) -> Input {
        let reply = self.next_reply;
        self.next_reply += 1;
        match event {
            Event::Client(command) => {
                self.client_replies.insert(reply, command.reply);
                Input::Client { reply, caller: command.caller, request: command.request }
            }
            Event::Peer(input) => {
                if let PeerRequest::Deliver(records) = &input.request {
                    self.metrics.records_received(records.len());
                }
                self.peer_replies.insert(reply, input.reply);
                Input::Peer {
                    reply,
                    from: input.from,
                    directory_version: input.directory_version,
                    request: input.request,
                }
            }
            Event::Answer { to, exchange, answer } => Input::Answer { to, exchange, answer },
            Event::Tick => {
                self.wake_at_ms = None;
                Input::Tick
            }
            Event::Finished(finished) => self.reconciler.ended(self.counted(finished)),
        }
    }

    /// Hands a reconciliation frame to its session (answered there, not by the core's
    /// step); a frame that opens a session is opened as the core answers
    /// ([`NodeCore::answer_session`]), or refused. Any other request comes back for the core.
    fn reconcile_frame(&mut self, input: PeerInput) -> Option<PeerInput> {
        let PeerRequest::Reconcile { session, frame, window } = input.request else {
            return Some(input);
        };
        let directory_version = self.core.directory().body().version;
        let incoming = crate::sync::IncomingFrame {
            peer: input.from,
            session,
            frame,
            window,
            reply: input.reply,
            directory_version,
        };
        let opening = self.reconciler.carry(incoming)?;
        match self.core.answer_session(opening.peer, opening.session) {
            Ok(answer) => self.reconciler.open(opening, answer),
            Err(refusal) => {
                let body = ResponseBody::Refused { refusal };
                let _ = opening.reply.send(crate::sync::exchange::encode_response(directory_version, body));
            }
        }
        None
    }

    /// Sends a request once the group commit's `ticket` is durable (a record must not
    /// leave the node before it is on its disk: after a crash the node could otherwise sign
    /// a different record for the same slot), to the first of the peer's directory
    /// addresses that resolves (IP literals or DNS names).
    fn send(&mut self, ticket: Ticket, to: PublicKey, exchange: ExchangeId, request: Request) {
        let answers = self.answers_tx.clone();
        let addresses: Vec<String> = self
            .core
            .directory()
            .body()
            .member_by_key(&to)
            .map(|member| member.addresses.clone())
            .unwrap_or_default();
        let transport = Arc::clone(&self.transport);
        let commit = Arc::clone(&self.commit);
        let metrics = Arc::clone(&self.metrics);
        let delivery = matches!(request.body, RequestBody::Deliver { .. });
        tokio::spawn(async move {
            let answer = async {
                commit.durable(ticket).await.map_err(|error| ExchangeError::NotDurable(Arc::new(error)))?;
                let address = resolve(&addresses)
                    .await
                    .ok_or_else(|| ExchangeError::NoAddress { peer: to, addresses: addresses.clone() })?;
                let bytes = request.encode().map_err(ExchangeError::Encode)?;
                let sent = std::time::Instant::now();
                let answer =
                    match tokio::time::timeout(PEER_REQUEST_TIMEOUT, transport.request(to, address, bytes))
                        .await
                    {
                        Err(_) => {
                            Err(ExchangeError::NoAnswer { from: Some(address), within: PEER_REQUEST_TIMEOUT })
                        }
                        Ok(Err(error)) => Err(ExchangeError::Link(error)),
                        Ok(Ok(bytes)) => Response::decode(&bytes).map_err(ExchangeError::Undecodable),
                    };
                if delivery {
                    metrics.delivery_took(sent.elapsed());
                }
                answer
            };
            let answer = answer.await;
            if let Ok(Response { body: ResponseBody::Delivered { results }, .. }) = &answer {
                for verdict in results {
                    match verdict {
                        Verdict::Stored { .. } => metrics.record_delivered("stored"),
                        Verdict::Duplicate { .. } => metrics.record_delivered("duplicate"),
                        Verdict::Refused { .. } => {}
                    }
                }
            }
            let _ = answers.send(Event::Answer { to, exchange, answer });
        });
    }
}

/// The real world of a node: sled with group commit, tokio timers, QUIC, sessions on
/// blocking threads.
impl Backend for Driver {
    fn apply(&mut self, batch: &Batch) -> Result<(), StoreError> {
        self.commit.apply(batch)?;
        self.metrics.note_batch(batch, std::time::Instant::now());
        self.status.set_write_refused_disk_full(false);
        Ok(())
    }

    /// The step's batch was not applied, so its answers must say why. A full disk is
    /// refused before anything is written ([`crate::store::SpaceGuard`]): the node goes on
    /// and takes writes again once space is freed, and its deliveries back off meanwhile.
    /// Any other failure stops the node: sled's state is not to be trusted after an I/O
    /// error (crate::store::space).
    fn write_failed(&mut self, error: StoreError) {
        let refusal = match error {
            StoreError::DiskFull { .. } => {
                self.status.set_write_refused_disk_full(true);
                if let Some(at) = self.core.write_refused(OffsetDateTime::now_utc()) {
                    self.wake_at_ms = Some(self.wake_at_ms.map_or(at, |current| current.min(at)));
                }
                Refusal::new(RefusalCode::DiskFull, error.to_string())
            }
            StoreError::Closed => {
                // The commit thread failed before: its reason is the cause.
                self.fatal.raise(self.commit.failure().unwrap_or_else(|| error.to_string()));
                not_durable()
            }
            other => {
                self.fatal.raise(format!("a ledger write failed: {other}"));
                not_durable()
            }
        };
        self.write_refusal = Some(refusal);
    }

    /// Carries out `deferred` once everything written so far is on disk: answers are
    /// released and requests sent when the group commit's current ticket is durable.
    fn when_durable(&mut self, deferred: Vec<Deferred>) {
        let ticket = self.commit.current();
        let metrics = Arc::clone(&self.metrics);
        let write_refusal = self.write_refusal.clone();
        let mut releases = Vec::with_capacity(deferred.len());
        for effect in deferred {
            match effect {
                Deferred::ToClient { reply, result } => {
                    if let Some(sender) = self.client_replies.remove(&reply) {
                        releases.push(Release::Client(sender, result));
                    }
                }
                Deferred::ToPeer { reply, response } => {
                    if let Some(sender) = self.peer_replies.remove(&reply) {
                        releases.push(Release::Peer(sender, response));
                    }
                }
                Deferred::DirectoryChanged(directory) => {
                    self.transport
                        .set_members(directory.body().members.iter().map(|member| member.key).collect());
                }
                Deferred::Send { to, exchange, request } => match &write_refusal {
                    // The request may carry a record of the step that was not written: it
                    // stays here, and the core hears so at once and retries as after any
                    // failed exchange (its outbox entries, if any, were not written either).
                    Some(refusal) => {
                        let answer = Err(ExchangeError::WriteRefused(refusal.message.clone()));
                        let _ = self.answers_tx.send(Event::Answer { to, exchange, answer });
                    }
                    None => self.send(ticket, to, exchange, request),
                },
            }
        }
        if releases.is_empty() {
            return;
        }
        if let Some(refusal) = write_refusal {
            for release in releases {
                release.send(Some(&refusal), &metrics);
            }
            return;
        }
        self.commit.when_durable(
            ticket,
            Box::new(move |synced| {
                let refusal = synced.err().map(|_| not_durable());
                for release in releases {
                    release.send(refusal.as_ref(), &metrics);
                }
            }),
        );
    }

    fn wake_at(&mut self, at_ms: i64) {
        self.wake_at_ms = Some(self.wake_at_ms.map_or(at_ms, |current| current.min(at_ms)));
    }

    fn index(&mut self) -> Option<&mut crate::sync::ChannelIndex> {
        self.reconciler.index()
    }

    fn start_session(&mut self, start: SessionStart) {
        self.reconciler.start(start, self.core.directory().body());
    }
}

/// The first socket address any of `addresses` (`host:port`) resolves to.
pub(crate) async fn resolve(addresses: &[String]) -> Option<SocketAddr> {
    for address in addresses {
        if let Ok(socket) = address.parse::<SocketAddr>() {
            return Some(socket);
        }
        match tokio::net::lookup_host(address.as_str()).await {
            Ok(mut resolved) => {
                if let Some(socket) = resolved.next() {
                    return Some(socket);
                }
            }
            Err(error) => tracing::debug!(%address, %error, "address does not resolve"),
        }
    }
    None
}

fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}
