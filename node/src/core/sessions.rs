//! When and with whom the node reconciles (spec/reconcile.md): a round of sessions with
//! every peer when the node starts and every interval, a session as soon as a peer that
//! the last one could not reach is heard from again, and the operator's `kvitt sync` and
//! `kvitt recover`, answered when their sessions have ended.
//!
//! The sessions themselves run in the driver (`crate::sync`, over the protocol's state
//! machines): the core says which to start ([`Effect::StartSession`], at most one per
//! peer), which of the sessions peers open to take (core::responding) and learns how each
//! ended ([`Input::SessionEnded`]). Salts and session numbers
//! come from the entropy the driver gave the core ([`CoreConfig::entropy`]), so that a
//! simulation replays and production's are unpredictable.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kvitt_protocol::reconcile::Salt;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{PublicKey, RecordId};
use sha2::{Digest, Sha256};

use super::{
    Caller, CallerRole, ClientResponse, Deferred, Effect, NodeCore, PeerReconciliation, ReplyId, Step,
};

/// How often, by default, a node reconciles with each peer it may share a channel with.
pub const DEFAULT_RECONCILE_INTERVAL: Duration = Duration::from_secs(60);

/// The shortest reconciliation interval a node accepts in its configuration.
pub const MIN_RECONCILE_INTERVAL: Duration = Duration::from_secs(1);

/// The longest reconciliation interval a node accepts in its configuration (a day).
pub const MAX_RECONCILE_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a node uses one hello salt with one peer (spec/reconcile.md §Keys and hashes):
/// the channel's hello summary under it is kept, so sessions between equal channels hash
/// nothing. A session with the peer that fails ends the salt early.
pub const HELLO_SALT_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Session numbers one started session may use (one per window and attempt, counted up
/// from [`SessionStart::first_number`]), so that two starts never share a number.
pub const SESSION_NUMBERS_PER_START: u64 = 1 << 32;

/// Random bytes, from 32 secret bytes and a counter (SHA-256 of both): the core's one
/// source of randomness, seeded by its driver.
#[derive(Clone)]
pub struct Random {
    key: [u8; 32],
    counter: u64,
}

impl std::fmt::Debug for Random {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Random(..)")
    }
}

impl Random {
    /// A generator over `entropy`.
    pub fn new(entropy: [u8; 32]) -> Random {
        Random { key: entropy, counter: 0 }
    }

    /// A generator of its own for `purpose`, whose bytes are independent of this one's
    /// and leave its sequence as it was.
    pub fn derive(&self, purpose: &str) -> Random {
        let mut hash = Sha256::new();
        hash.update(self.key);
        hash.update(purpose.as_bytes());
        Random::new(hash.finalize().into())
    }

    /// The next 32 bytes.
    pub fn bytes(&mut self) -> [u8; 32] {
        self.counter += 1;
        let mut hash = Sha256::new();
        hash.update(self.key);
        hash.update(self.counter.to_be_bytes());
        hash.finalize().into()
    }

    /// A new salt.
    pub fn salt(&mut self) -> Salt {
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&self.bytes()[..16]);
        Salt(salt)
    }

    fn number(&mut self) -> u64 {
        let mut number = [0u8; 8];
        number.copy_from_slice(&self.bytes()[..8]);
        u64::from_be_bytes(number)
    }
}

/// A session the driver is to start with a peer.
#[derive(Clone, Debug)]
pub struct SessionStart {
    /// The peer.
    pub peer: PublicKey,
    /// This node's hello salt for the peer: a session over the whole channel says hello
    /// under it, with the index's kept summary.
    pub hello_salt: Salt,
    /// The first session number; each further window or attempt takes the next.
    pub first_number: u64,
    /// Where the salts of windows and of attempts after a failed verification come from.
    pub salts: Random,
}

/// Which side of a session this node was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionSide {
    /// It started the session.
    Initiator,
    /// It answered the peer's session with this number (core::responding).
    Responder(u64),
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
    /// From the first frame to the last (set by the driver, which owns the clock).
    pub elapsed: Duration,
}

impl Summary {
    /// Adds what another session (another window) found and cost.
    pub fn add(&mut self, other: Summary) {
        self.have.extend(other.have);
        self.need += other.need;
        self.frames_sent += other.frames_sent;
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
        self.elapsed += other.elapsed;
    }
}

/// What to do with an operator's sessions once all have ended.
#[derive(Clone, Debug)]
enum Then {
    /// `kvitt sync`: say how each went.
    Answer,
    /// `kvitt recover`: judge them (core::recovery).
    Recover {
        /// The operator.
        caller: Caller,
        /// Whether a partial recovery is allowed.
        partial: bool,
    },
}

/// An operator waiting for the sessions they asked for.
struct Waiter {
    /// Each peer still to hear of, with the first of its sessions (by this node's count)
    /// whose result answers: one that started after the operator asked.
    pending: BTreeMap<PublicKey, u64>,
    done: Vec<PeerReconciliation>,
    reply: ReplyId,
    then: Then,
}

/// The core's reconciliation schedule.
pub(super) struct Schedule {
    interval_ms: i64,
    /// When the next round is due (ms since the epoch; 0: at once).
    next_round_ms: i64,
    /// Peers a session this node started is running with.
    initiating: BTreeSet<PublicKey>,
    /// Peers whose last session this node started did not finish.
    unreached: BTreeSet<PublicKey>,
    /// Sessions started with each peer so far.
    started: BTreeMap<PublicKey, u64>,
    /// Peers an operator asked for while a session with them ran: one more follows it.
    again: BTreeSet<PublicKey>,
    /// The salt of this node's hellos to each peer, and when (ms) it was drawn.
    hello_salts: BTreeMap<PublicKey, (Salt, i64)>,
    waiters: Vec<Waiter>,
    random: Random,
}

impl Schedule {
    /// A schedule whose first round is due at once.
    pub(super) fn new(interval: Duration, entropy: [u8; 32]) -> Schedule {
        Schedule {
            interval_ms: i64::try_from(interval.as_millis()).unwrap_or(i64::MAX).max(1),
            next_round_ms: 0,
            initiating: BTreeSet::new(),
            unreached: BTreeSet::new(),
            started: BTreeMap::new(),
            again: BTreeSet::new(),
            hello_salts: BTreeMap::new(),
            waiters: Vec::new(),
            random: Random::new(entropy),
        }
    }
}

impl NodeCore {
    /// Starts a round of sessions with every peer when one is due.
    pub(super) fn reconcile_when_due(&mut self, step: &mut Step) {
        let now = step.now_ms();
        if now < self.schedule.next_round_ms {
            return;
        }
        self.schedule.next_round_ms = now.saturating_add(self.schedule.interval_ms);
        step.effects.push(Effect::WakeAt(self.schedule.next_round_ms));
        for peer in self.reconciliation_peers() {
            self.initiate(step, peer);
        }
    }

    /// A request came from `peer`: if the last session with it did not reach it, it is
    /// back, and a session starts now rather than at the next round.
    pub(super) fn heard_from(&mut self, step: &mut Step, peer: PublicKey) {
        if self.schedule.unreached.remove(&peer) {
            tracing::debug!(peer = %peer.short(), "an unreached peer is back; reconciling");
            self.initiate(step, peer);
        }
    }

    /// Starts a session with `peer` unless one this node started is running.
    fn initiate(&mut self, step: &mut Step, peer: PublicKey) {
        let schedule = &mut self.schedule;
        if !schedule.initiating.insert(peer) {
            return;
        }
        *schedule.started.entry(peer).or_default() += 1;
        let now = step.now_ms();
        let lifetime_ms = i64::try_from(HELLO_SALT_LIFETIME.as_millis()).unwrap_or(i64::MAX);
        let hello_salt = match schedule.hello_salts.get(&peer) {
            Some((salt, drawn)) if now.saturating_sub(*drawn) < lifetime_ms => *salt,
            _ => {
                let salt = schedule.random.salt();
                schedule.hello_salts.insert(peer, (salt, now));
                salt
            }
        };
        let first_number = schedule.random.number() & !(SESSION_NUMBERS_PER_START - 1);
        let salts = Random::new(schedule.random.bytes());
        step.effects.push(Effect::StartSession(SessionStart { peer, hello_salt, first_number, salts }));
    }

    /// A session with `peer` ended: the schedule notes it, the operators waiting for it
    /// hear of it, and a session that ended well is noted as the peer's last
    /// reconciliation and the records it found the peer lacks are delivered.
    pub(super) fn session_ended(
        &mut self,
        step: &mut Step,
        peer: PublicKey,
        side: SessionSide,
        result: Result<Summary, String>,
    ) {
        match side {
            SessionSide::Initiator => {
                self.schedule.initiating.remove(&peer);
                if result.is_ok() {
                    self.schedule.unreached.remove(&peer);
                } else {
                    self.schedule.unreached.insert(peer);
                    // Whatever went wrong, the next session says hello under a new salt.
                    self.schedule.hello_salts.remove(&peer);
                }
                self.answer_waiters(step, peer, &result);
                if self.schedule.again.remove(&peer) {
                    self.initiate(step, peer);
                }
            }
            SessionSide::Responder(session) => {
                self.answered(peer, session);
                if result.is_ok() {
                    // The peer reached this node, so it is reachable.
                    self.heard_from(step, peer);
                }
            }
        }
        let Ok(summary) = result else {
            return;
        };
        self.reconciled_at.insert(peer, step.now);
        if !summary.have.is_empty() {
            self.outbox.peer_is_back(&peer);
            self.reconciled(step, peer, summary.have);
        }
    }

    /// An operator's `kvitt sync` (`then` answers) or `kvitt recover` (`then` recovers):
    /// sessions with `peer` (an organisation number or a node key) or with every peer,
    /// answered when all have ended. A session already running started before the
    /// operator asked, so a new one follows it and answers.
    pub(super) fn reconcile_on_demand(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        peer: Option<String>,
        reply: ReplyId,
        recover: Option<bool>,
    ) {
        let peers = match self.peers_asked(caller, peer) {
            Ok(peers) => peers,
            Err(refusal) => return step.durable.push(Deferred::ToClient { reply, result: Err(refusal) }),
        };
        let then = match recover {
            Some(partial) => Then::Recover { caller: caller.clone(), partial },
            None => Then::Answer,
        };
        let mut pending = BTreeMap::new();
        for peer in peers {
            if self.schedule.initiating.contains(&peer) {
                self.schedule.again.insert(peer);
            } else {
                self.initiate(step, peer);
            }
            let running = self.schedule.started.get(&peer).copied().unwrap_or(0);
            let first = if self.schedule.again.contains(&peer) { running + 1 } else { running };
            pending.insert(peer, first);
        }
        self.schedule.waiters.push(Waiter { pending, done: Vec::new(), reply, then });
        // No peer at all: answered at once.
        self.answer_waiters_done(step);
    }

    fn peers_asked(&self, caller: &Caller, peer: Option<String>) -> Result<BTreeSet<PublicKey>, Refusal> {
        if caller.role != CallerRole::Operator {
            let message = format!("{} ({:?}) may not start reconciliation", caller.person, caller.role);
            return Err(Refusal::new(RefusalCode::Forbidden, message));
        }
        let peers: BTreeSet<PublicKey> = self.reconciliation_peers().into_iter().collect();
        let Some(named) = peer else {
            return Ok(peers);
        };
        let directory = self.directory.body();
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

    fn answer_waiters(&mut self, step: &mut Step, peer: PublicKey, result: &Result<Summary, String>) {
        let org = self.directory.body().member_by_key(&peer).map(|member| member.org.clone());
        let session = self.schedule.started.get(&peer).copied().unwrap_or(0);
        for waiter in &mut self.schedule.waiters {
            if waiter.pending.get(&peer).is_some_and(|first| *first <= session) {
                waiter.pending.remove(&peer);
                let org = org.clone().unwrap_or_default();
                waiter.done.push(PeerReconciliation { peer, org, result: result.clone() });
            }
        }
        self.answer_waiters_done(step);
    }

    /// Answers every operator whose sessions have all ended.
    fn answer_waiters_done(&mut self, step: &mut Step) {
        let (done, waiting): (Vec<Waiter>, Vec<Waiter>) = std::mem::take(&mut self.schedule.waiters)
            .into_iter()
            .partition(|waiter| waiter.pending.is_empty());
        self.schedule.waiters = waiting;
        for Waiter { done, reply, then, .. } in done {
            let result = match then {
                Then::Answer => Ok(ClientResponse::Reconciled(done)),
                Then::Recover { caller, partial } => self
                    .recover(step, &caller, partial, &done)
                    .map(|status| ClientResponse::Recovery(Box::new(status))),
            };
            step.durable.push(Deferred::ToClient { reply, result });
        }
    }
}
