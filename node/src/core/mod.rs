//! The node's decisions, without I/O: inputs in, effects out.
//!
//! Like quinn-proto beside quinn, [`NodeCore`] never reads the clock, opens a socket,
//! spawns a task or writes to disk. It takes an [`Input`] with the current time and
//! returns [`Effect`]s: one batch of ledger writes, answers to release only once that
//! batch is durable, requests to send, and when to wake it. The tokio driver (node
//! `runtime`) and the simulator carry the effects out; both run exactly this code.
//!
//! Durability before acknowledgement is built into the types: every answer that
//! acknowledges a record travels inside [`Effect::WhenDurable`], which the driver executes
//! only after the step's batch has been group-committed.

mod accept;
mod actions;
mod buyers;
mod channels;
mod checks;
mod claims;
mod client;
mod codes;
mod exception_note;
mod exceptions;
mod exchange_error;
mod export;
mod io;
mod lists;
mod money;
mod outbox;
mod overlay;
mod peers;
mod push;
mod pushes;
mod recovery;
mod relay;
mod responding;
mod routing;
mod sessions;
mod step;
#[cfg(test)]
mod tests;
mod visibility;
mod vouchers;

use std::collections::BTreeMap;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use kvitt_protocol::directory::{Directory, MemberRole};
use kvitt_protocol::wire::{Refusal, RefusalCode, Request, RequestBody, Response, ResponseBody, Verdict};
use kvitt_protocol::{AnyRecord, PublicKey, Signed};
use time::OffsetDateTime;

use crate::ledger::{Ledger, LedgerError, RecordCache};
use crate::store::Store;

pub use actions::ClaimAction;
pub use claims::{ClaimView, Draft};
pub use client::{
    Caller, CallerRole, CardEnrolment, ClaimSummary, ClientRequest, ClientResponse, Cursor, Page,
    PeerReconciliation, ReceiptSearch,
};
pub use codes::{CODE_ATTEMPTS_PER_HOUR, DEFAULT_UNCOLLECTED_DAYS, MAX_DELETED_PER_SWEEP};
pub use exception_note::ExceptionNote;
pub use exceptions::{Exception, ExceptionKind, HeldClaim, Resolution};
pub use exchange_error::ExchangeError;
pub use export::{LeftOut, SieExport, SieFile};
pub use io::{Deferred, Effect, ExchangeId, Input, PeerRequest, ReplyId};
pub use lists::MAX_PAGE_ENTRIES;
pub use outbox::RetryPolicy;
pub use overlay::Overlay;
pub use peers::{PeerState, MAX_COUNTED_OUTBOX};
pub use pushes::{Delivery, Push, RegisterPushes, MAX_PUSHES_PER_REGISTER, MAX_REGISTERS};
pub use recovery::{
    LostSerials, PeerProgress, Raised, Recovery, RecoveryReport, RecoveryStatus, MAX_REPORTED_RANGES,
};
pub use responding::{SessionAnswer, MAX_RESPONDER_SESSIONS_PER_PEER, SESSION_IDLE_TIMEOUT};
pub use routing::ROUTE_LOOKUPS_PER_MINUTE;
pub use sessions::{
    Random, SessionSide, SessionStart, Summary, DEFAULT_RECONCILE_INTERVAL, HELLO_SALT_LIFETIME,
    MAX_RECONCILE_INTERVAL, MIN_RECONCILE_INTERVAL, SESSION_NUMBERS_PER_START,
};
pub use vouchers::VOUCHER_SERIES;

use step::{unix_ms, Step};

/// Who this node is.
#[derive(Clone)]
pub struct Identity {
    /// The node's signing key (its records and its TLS certificate).
    pub signing_key: SigningKey,
    /// Organisation number, as the directory lists it.
    pub org: String,
    /// The part it plays.
    pub role: MemberRole,
}

impl Identity {
    /// The node's public key.
    pub fn key(&self) -> PublicKey {
        PublicKey::from(self.signing_key.verifying_key())
    }
}

/// Settings of the core's decisions.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// The operator key every directory must be signed by.
    pub operator: PublicKey,
    /// How deliveries back off after a failure.
    pub retry: RetryPolicy,
    /// Most records per delivery request.
    pub delivery_batch: usize,
    /// Seed of the retry jitter, so simulations replay exactly.
    pub seed: u64,
    /// Secret random bytes the driver drew (the operating system's in production, the
    /// run's seed in a simulation): the salts and numbers of reconciliation sessions come
    /// from them (core::sessions).
    pub entropy: [u8; 32],
    /// How often the node reconciles with each peer it may share a channel with.
    pub reconcile_interval: std::time::Duration,
    /// The reference exchange rates an SSC checks foreign items against before booking
    /// (spec/books.md §Reference rates), from `DIR/rates.json`; `None`: no table was
    /// given, and rates are not checked.
    pub reference_rates: Option<kvitt_books::ReferenceRates>,
    /// The agency's policy (agency nodes; empty elsewhere).
    pub policy: crate::policy::Policy,
    /// The network's routing key (`DIR/routing.key`, merchants and agencies): hashes the
    /// card references tills present and agencies enrol (spec/routing.md).
    pub routing_key: Option<kvitt_protocol::routing::RoutingKey>,
    /// At a merchant: days after its sale that a receipt no one collected by its code is
    /// deleted (`uncollected_days`, spec/codes.md §Uncollected receipts).
    pub uncollected_days: u32,
}

/// The state machine of one node.
pub struct NodeCore {
    identity: Identity,
    config: CoreConfig,
    directory: Signed<Directory>,
    store: Arc<dyn Store>,
    /// Records decoded in earlier steps, which later steps read again.
    records: Arc<RecordCache>,
    outbox: outbox::Outbox,
    next_exchange: ExchangeId,
    /// When to next ask the SSCs for a newer directory (ms since the epoch; 0: at once).
    next_directory_poll_ms: i64,
    /// The directory the node was started from, when the ledger's is in force instead:
    /// judged at the first step like any directory offered (it may be equivocation).
    offered_at_start: Option<Signed<Directory>>,
    /// The recovery in progress, noted in the ledger by the start that found it damaged:
    /// while there is one, the node signs nothing (core::recovery).
    recovery: Option<Recovery>,
    /// Card lookups, enrolments and code collects in flight, and an SSC's lookup rates.
    routing: routing::Routing,
    /// At a merchant: each agency's failed collects by code this hour.
    code_attempts: codes::CodeAttempts,
    /// At a merchant: when to next look for uncollected receipts to delete (ms; 0: at once).
    next_sweep_ms: i64,
    /// When a reconciliation session with each peer last ended well (either side), for
    /// the operator (core::peers). Kept in memory: a node reconciles with every peer as
    /// it starts, so it is known again a moment after a restart.
    reconciled_at: BTreeMap<PublicKey, OffsetDateTime>,
    /// When and with whom to reconcile (core::sessions).
    schedule: sessions::Schedule,
    /// The sessions peers opened that this node answers (core::responding).
    responding: responding::Responding,
}

/// How often a node asks the network's SSCs whether they hold a newer directory, so that
/// a new version (a member added or removed) reaches a node that has no traffic.
pub const DIRECTORY_POLL_INTERVAL_MS: i64 = 5 * 60 * 1000;

/// Why a core could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The ledger could not be read.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// This node's key is not in the directory it starts with.
    #[error("this node's key {0} is not a member of the directory")]
    NotInDirectory(String),
}

impl NodeCore {
    /// A core over `store`, starting from `directory`, or from the ledger's directory if
    /// that is as new (`directory` is then judged at the first step: another directory of
    /// a version the ledger holds is equivocation).
    pub fn start(
        identity: Identity,
        config: CoreConfig,
        directory: Signed<Directory>,
        store: Arc<dyn Store>,
    ) -> Result<NodeCore, StartError> {
        let ledger = Ledger::new(Arc::clone(&store));
        let (directory, offered_at_start) = match accept::stored_directory(&ledger)? {
            Some(stored) if stored.body().version >= directory.body().version => {
                let offered = (stored.id() != directory.id()).then_some(directory);
                (stored, offered)
            }
            _ => (directory, None),
        };
        if directory.body().member_by_key(&identity.key()).is_none() {
            return Err(StartError::NotInDirectory(identity.key().to_string()));
        }
        let outbox = outbox::Outbox::load(&ledger, config.retry.clone(), config.seed)?;
        let schedule = sessions::Schedule::new(config.reconcile_interval, config.entropy);
        let responding = responding::Responding::default();
        let recovery = Recovery::stored(&ledger)?;
        if let Some(recovery) = &recovery {
            tracing::error!(reason = %recovery.reason, since = %recovery.since, "the ledger is recovering: this node signs nothing until `kvitt recover` has run");
        }
        Ok(NodeCore {
            routing: routing::Routing::new(config.routing_key.clone()),
            identity,
            config,
            directory,
            store,
            records: Arc::new(RecordCache::new()),
            outbox,
            next_exchange: 1,
            next_directory_poll_ms: 0,
            offered_at_start,
            recovery,
            code_attempts: codes::CodeAttempts::default(),
            next_sweep_ms: 0,
            reconciled_at: BTreeMap::new(),
            schedule,
            responding,
        })
    }

    /// The directory in force.
    pub fn directory(&self) -> &Signed<Directory> {
        &self.directory
    }

    /// The store the core reads and its driver writes.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Who this node is.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Handles one input at time `now` and returns what the driver must do.
    pub fn handle(&mut self, now: OffsetDateTime, input: Input) -> Vec<Effect> {
        let overlay = Arc::new(Overlay::new(Arc::clone(&self.store)));
        let ledger = Ledger::with_cache(overlay.clone(), Arc::clone(&self.records));
        let mut step = Step::new(ledger, now);
        if let Some(offered) = self.offered_at_start.take() {
            // Usually an older directory.cbor than the one learned since: nothing to do.
            if let Verdict::Refused { refusal } = self.accept_directory_bytes(&mut step, offered.bytes()) {
                tracing::info!(%refusal, "the directory the node was started from is not taken");
            }
        }
        match input {
            Input::Client { reply, caller, request: ClientRequest::PushCardReceipt { receipt, card } } => {
                if let Some(result) = self.push_card_receipt(&mut step, reply, &caller, *receipt, &card) {
                    step.durable.push(Deferred::ToClient { reply, result });
                }
            }
            Input::Client { reply, caller, request: ClientRequest::FetchReceipt { code } } => {
                if let Some(result) = self.fetch(&mut step, reply, &caller, &code) {
                    step.durable.push(Deferred::ToClient { reply, result });
                }
            }
            Input::Client { reply, caller, request: ClientRequest::Enrol { cards } } => {
                if let Some(result) = self.enrol(&mut step, reply, &caller, cards) {
                    step.durable.push(Deferred::ToClient { reply, result });
                }
            }
            Input::Client { reply, caller, request: ClientRequest::Reconcile { peer } } => {
                self.reconcile_on_demand(&mut step, &caller, peer, reply, None);
            }
            Input::Client { reply, caller, request: ClientRequest::Recover { partial } }
                if self.recovery.is_some() && caller.role == CallerRole::Operator =>
            {
                // The node reconciles with every peer first; the core judges how that went.
                self.reconcile_on_demand(&mut step, &caller, None, reply, Some(partial));
            }
            Input::Client { reply, caller, request } => {
                let result = self.client(&mut step, &caller, request);
                // Answers to clients wait for durability whenever the step wrote anything.
                step.durable.push(Deferred::ToClient { reply, result });
            }
            Input::Peer { reply, from, directory_version, request } => {
                self.heard_from(&mut step, from);
                self.outbox.peer_is_back(&from);
                let body = self.peer(&mut step, from, request);
                self.learn_directory_version(&mut step, from, directory_version);
                step.durable.push(Deferred::ToPeer { reply, response: self.response(body) });
            }
            Input::Answer { to, exchange, answer } => self.answer(&mut step, to, exchange, answer),
            Input::Tick => {}
            Input::SessionEnded { peer, side, result } => self.session_ended(&mut step, peer, side, result),
        }
        self.outbox.poll(&mut step, &self.directory, &mut self.next_exchange);
        self.poll_directory(&mut step);
        self.delete_uncollected(&mut step);
        self.reconcile_when_due(&mut step);
        let batch = overlay.take_batch();
        let mut effects = Vec::new();
        if !batch.is_empty() {
            effects.push(Effect::Write(batch));
        }
        if !step.durable.is_empty() {
            effects.push(Effect::WhenDurable(step.durable));
        }
        effects.extend(step.effects);
        effects
    }

    /// The driver could not apply the batch of the last step (a full disk): nothing of it
    /// was written. Deliveries back off, so that records whose settlement could not be
    /// written are not sent again at once, and again, while the disk stays full; a peer
    /// the step took for drained is pending again. Returns when to give the core a
    /// [`Input::Tick`] for them (ms since the epoch).
    #[must_use]
    pub fn write_refused(&mut self, now: OffsetDateTime) -> Option<i64> {
        let ledger = Ledger::new(Arc::clone(&self.store));
        self.outbox.write_refused(&ledger, unix_ms(now))
    }

    fn client(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        request: ClientRequest,
    ) -> Result<ClientResponse, Refusal> {
        match request {
            ClientRequest::PushReceipt(receipt) => self.push_receipt(step, caller, *receipt),
            // Answered when the SSC answers (handle).
            ClientRequest::PushCardReceipt { .. }
            | ClientRequest::Enrol { .. }
            | ClientRequest::FetchReceipt { .. } => Err(Refusal::new(
                RefusalCode::Unavailable,
                "routing requests are answered by the SSC's answer",
            )),
            ClientRequest::ListReceipts { employee, limit, after } => {
                self.list_receipts(step, caller, employee, limit, after).map(ClientResponse::Receipts)
            }
            ClientRequest::FindReceipts { search, limit, before } => {
                self.find_receipts(step, caller, search, limit, before).map(ClientResponse::Receipts)
            }
            ClientRequest::Record(id) => {
                // Staff read every record the node holds; an employee only their receipts
                // (and the assignments that made them theirs), their claims and their
                // claims' events; a till only receipts its own
                // organisation sold. A record the caller may not read is answered as one the
                // node does not hold, so as not to reveal that it exists.
                fn employees_claim(claim: &kvitt_protocol::claim::Claim, org: &str, caller: &Caller) -> bool {
                    claim.agency == org && claim.claimant == caller.person
                }
                let not_found = || Refusal::new(RefusalCode::NotFound, format!("no record {id}"));
                let record = step.ledger.record(&id).map_err(unavailable)?.ok_or_else(not_found)?;
                let org = self.identity.org.as_str();
                let readable = match (caller.role, &record) {
                    (CallerRole::Operator | CallerRole::SscStaff | CallerRole::Approver, _) => true,
                    (CallerRole::Till, AnyRecord::Receipt(receipt)) => receipt.body().merchant.org == org,
                    (CallerRole::Employee, AnyRecord::Receipt(receipt)) => {
                        self.buyer_of(step, receipt)?.is_some_and(|buyer| {
                            buyer.agency == org && buyer.employee.as_deref() == Some(caller.person.as_str())
                        })
                    }
                    (CallerRole::Employee, AnyRecord::Assignment(assignment)) => {
                        let buyer = &assignment.body().buyer;
                        buyer.agency == org && buyer.employee.as_deref() == Some(caller.person.as_str())
                    }
                    (CallerRole::Employee, AnyRecord::Claim(claim)) => {
                        employees_claim(claim.body(), org, caller)
                    }
                    (CallerRole::Employee, AnyRecord::ClaimEvent(event)) => {
                        match step.ledger.record(&event.body().claim).map_err(unavailable)? {
                            Some(AnyRecord::Claim(claim)) => employees_claim(claim.body(), org, caller),
                            _ => false,
                        }
                    }
                    (CallerRole::Till | CallerRole::Employee, _) => false,
                };
                if !readable {
                    return Err(not_found());
                }
                Ok(ClientResponse::Record(Box::new(record)))
            }
            ClientRequest::NewClaim { purpose } => {
                let draft = self.new_draft(step, caller, purpose)?;
                self.draft_response(step, draft)
            }
            ClientRequest::AddItem { number, item } => {
                let draft = self.add_items(step, caller, &number, vec![*item])?;
                self.draft_response(step, draft)
            }
            ClientRequest::AddItems { number, items } => {
                let draft = self.add_items(step, caller, &number, items)?;
                self.draft_response(step, draft)
            }
            ClientRequest::ShowDraft { number } => {
                let draft = self.show_draft(step, caller, &number)?;
                self.draft_response(step, draft)
            }
            ClientRequest::Submit { number } => {
                self.submit(step, caller, &number).map(|claim| ClientResponse::Submitted { claim })
            }
            ClientRequest::Decide { claim, action } => {
                let (status, findings) = self.decide_with_policy(step, caller, claim, action)?;
                Ok(ClientResponse::Decided { status, findings })
            }
            ClientRequest::Book { claim } => self.book(step, caller, claim).map(ClientResponse::Status),
            ClientRequest::Pay { claim } => self.pay(step, caller, claim).map(ClientResponse::Status),
            ClientRequest::Reverse { claim, reason } => {
                self.reverse(step, caller, claim, &reason).map(ClientResponse::Status)
            }
            ClientRequest::ExportSie(export) => {
                self.export_sie(step, caller, &export).map(|file| ClientResponse::Sie(Box::new(file)))
            }
            ClientRequest::ShowClaim { claim } => {
                if caller.role == CallerRole::Till {
                    return Err(forbidden(caller, "read claims"));
                }
                self.visible_claim(step, caller, &claim)?;
                let mut view = self.claim_view(step, &claim)?;
                view.findings = self.view_findings(step, caller, &view)?;
                view.actions = self.claim_actions(step, caller, &view)?;
                Ok(ClientResponse::Claim(Box::new(view)))
            }
            ClientRequest::ListDrafts { limit, before } => {
                self.list_drafts(step, caller, limit, before).map(ClientResponse::Drafts)
            }
            ClientRequest::ListClaims { limit, after } => {
                self.list_claims(step, caller, limit, after).map(ClientResponse::Claims)
            }
            ClientRequest::Exceptions { limit, all, after } => {
                self.list_exceptions(step, caller, limit, all, after).map(ClientResponse::Exceptions)
            }
            ClientRequest::Resolve { claim, resolution, note } => {
                self.resolve(step, caller, claim, resolution, &note).map(ClientResponse::Status)
            }
            ClientRequest::Peers => self.peer_states(step, caller).map(ClientResponse::Peers),
            ClientRequest::Pushes { limit } => self.pushes(step, caller, limit).map(ClientResponse::Pushes),
            ClientRequest::Directory => Ok(ClientResponse::Directory {
                directory: Box::new(self.directory.clone()),
                installed: false,
            }),
            ClientRequest::InstallDirectory { bytes } => {
                if caller.role != CallerRole::Operator {
                    return Err(forbidden(caller, "install a directory"));
                }
                let installed = match self.accept_directory_bytes(step, &bytes) {
                    Verdict::Stored { .. } => true,
                    Verdict::Duplicate { .. } => false,
                    Verdict::Refused { refusal } => return Err(refusal),
                };
                Ok(ClientResponse::Directory { directory: Box::new(self.directory.clone()), installed })
            }
            // Answered when its sessions end (handle).
            ClientRequest::Reconcile { .. } => Err(Refusal::new(
                RefusalCode::Unavailable,
                "reconciliation is answered when its sessions end",
            )),
            // A node that is not recovering, or a caller who may not recover, needs no
            // sessions to be answered.
            ClientRequest::Recover { partial } => self
                .recover(step, caller, partial, &[])
                .map(|status| ClientResponse::Recovery(Box::new(status))),
        }
    }

    fn peer(&mut self, step: &mut Step, from: PublicKey, request: PeerRequest) -> ResponseBody {
        let Some(peer) = self.directory.body().member_by_key(&from).cloned() else {
            return ResponseBody::Refused {
                refusal: Refusal::new(
                    RefusalCode::NotMember,
                    format!("key {} is not in directory v{}", from.short(), self.directory.body().version),
                ),
            };
        };
        match request {
            PeerRequest::Deliver(records) => {
                let results: Vec<Verdict> =
                    records.into_iter().map(|record| self.accept(step, &peer, record)).collect();
                ResponseBody::Delivered { results }
            }
            PeerRequest::Directory { have } => ResponseBody::Directory {
                record: (self.directory.body().version > have)
                    .then(|| kvitt_protocol::wire::RecordBytes(self.directory.bytes().to_vec())),
            },
            PeerRequest::Reconcile { .. } => ResponseBody::Refused {
                refusal: Refusal::new(RefusalCode::Unavailable, "reconciliation sessions are not open here"),
            },
            PeerRequest::Route { register, serial, card } => self
                .route(step, &peer, &register, serial, &card)
                .unwrap_or_else(|refusal| ResponseBody::Refused { refusal }),
            PeerRequest::Collect { code, employee } => self
                .collect(step, &peer, &code, employee)
                .unwrap_or_else(|refusal| ResponseBody::Refused { refusal }),
            PeerRequest::Enrol { cards } => {
                self.enrolled(step, &peer, &cards).unwrap_or_else(|refusal| ResponseBody::Refused { refusal })
            }
            PeerRequest::Invalid(error) => ResponseBody::Refused { refusal: Refusal::invalid(&error) },
        }
    }

    fn answer(
        &mut self,
        step: &mut Step,
        to: PublicKey,
        exchange: ExchangeId,
        answer: Result<Response, ExchangeError>,
    ) {
        if self.routing_answer(step, exchange, &answer) {
            if let Ok(response) = &answer {
                self.learn_directory_version(step, to, response.directory_version);
            }
            return;
        }
        if let Ok(response) = &answer {
            self.learn_directory_version(step, to, response.directory_version);
            if let ResponseBody::Directory { record: Some(bytes) } = &response.body {
                let verdict = self.accept_directory_bytes(step, &bytes.0);
                if let Verdict::Refused { refusal } = verdict {
                    tracing::warn!(peer = %to.short(), %refusal, "peer offered a directory this node refuses");
                }
                return;
            }
        }
        self.outbox.answer(step, to, exchange, answer);
    }

    /// Asks a peer for its directory when it says it has a newer one.
    fn learn_directory_version(&mut self, step: &mut Step, peer: PublicKey, version: u64) {
        if version > self.directory.body().version {
            let exchange = self.next_exchange();
            let request = self.request(RequestBody::Directory { have: self.directory.body().version });
            step.send(peer, exchange, request);
        }
    }

    /// Every [`DIRECTORY_POLL_INTERVAL_MS`], asks each SSC of the directory (other than
    /// this node) for a newer version; the answer is judged as any offered directory.
    fn poll_directory(&mut self, step: &mut Step) {
        let now = step.now_ms();
        if now < self.next_directory_poll_ms {
            return;
        }
        self.next_directory_poll_ms = now.saturating_add(DIRECTORY_POLL_INTERVAL_MS);
        step.effects.push(Effect::WakeAt(self.next_directory_poll_ms));
        let sscs: Vec<PublicKey> = self
            .directory
            .body()
            .members
            .iter()
            .filter(|member| member.role == MemberRole::Ssc && member.key != self.identity.key())
            .map(|member| member.key)
            .collect();
        for ssc in sscs {
            let exchange = self.next_exchange();
            let request = self.request(RequestBody::Directory { have: self.directory.body().version });
            step.send(ssc, exchange, request);
        }
    }

    fn next_exchange(&mut self) -> ExchangeId {
        let exchange = self.next_exchange;
        self.next_exchange += 1;
        exchange
    }

    fn request(&self, body: RequestBody) -> Request {
        Request { directory_version: self.directory.body().version, body }
    }

    fn response(&self, body: ResponseBody) -> Response {
        Response { directory_version: self.directory.body().version, body }
    }
}

fn unavailable(error: LedgerError) -> Refusal {
    tracing::error!(%error, "ledger read failed");
    Refusal::new(RefusalCode::Unavailable, format!("the ledger could not be read: {error}"))
}

fn forbidden(caller: &Caller, what: &str) -> Refusal {
    Refusal::new(RefusalCode::Forbidden, format!("{} ({:?}) may not {what}", caller.person, caller.role))
}
