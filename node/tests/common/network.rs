//! Real nodes on a switchboard the reconciliation tests control.
//!
//! Each [`Node`] is a core with its driver and group commit over a memory store, on a tokio
//! runtime of its own, so that it can be stopped and started again over the same store (a
//! crash, a restart) or over an empty one (a bad restore). The [`Hub`] carries peer
//! requests between nodes like `kvitt_node::local_link`, and besides can refuse every
//! reconciliation request (so that deliveries run alone), lose chosen records on their
//! way (the receiver never sees them, the sender is told they were stored: a delivery lost
//! for good), answer for a member with a scripted handler (a fake or hostile peer), and
//! log every record any node sent to any other.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use kvitt_node::core::RetryPolicy;
use kvitt_node::core::{Caller, CallerRole, ClientRequest, ClientResponse, CoreConfig, Identity, NodeCore};
use kvitt_node::handle::NodeHandle;
use kvitt_node::ledger::Ledger;
use kvitt_node::runtime::{BoxFuture, IncomingRequest, PeerInbox, PeerTransport};
use kvitt_node::store::group_commit::GroupCommit;
use kvitt_node::store::{MemoryStore, Store};
use kvitt_protocol::claim::{Booking, ClaimItem};
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::wire::{Refusal, RefusalCode, Request, RequestBody, Response, ResponseBody, Verdict};
use kvitt_protocol::{sample, AnyRecord, PublicKey, RecordId, Signed};
use tokio::sync::oneshot;

use super::{AGENCY_ORG, MERCHANT_ORG, SSC_ORG};

/// A member of a test network: who it is and its signing key.
#[derive(Clone)]
pub struct Party {
    /// A name for messages ("merchant-2").
    pub name: String,
    /// Its node key.
    pub signing_key: SigningKey,
    /// Its organisation number.
    pub org: String,
    /// Its role.
    pub role: MemberRole,
}

impl std::fmt::Debug for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// `nine` (nine digits) with its Luhn check digit, as `NNNNNN-NNNN`.
pub fn org_number(nine: u32) -> String {
    let digits: Vec<u32> = format!("{nine:09}").chars().map(|c| c.to_digit(10).unwrap()).collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(index, digit)| {
            let value = if index % 2 == 0 { digit * 2 } else { *digit };
            if value > 9 {
                value - 9
            } else {
                value
            }
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    let all: String = digits.iter().map(u32::to_string).collect::<String>() + &check.to_string();
    format!("{}-{}", &all[..6], &all[6..])
}

impl Party {
    /// Merchant `n` (from 1): merchant 1 is the fixtures' "merchant", the others have keys
    /// and organisation numbers of their own.
    pub fn merchant(n: u8) -> Party {
        let (signing_key, org) = match n {
            1 => (super::key("merchant"), MERCHANT_ORG.to_owned()),
            _ => (SigningKey::from_bytes(&[10 + n; 32]), org_number(556_016_100 + u32::from(n))),
        };
        Party { name: format!("merchant-{n}"), signing_key, org, role: MemberRole::Merchant }
    }

    /// Agency `n` (from 1): agency 1 is the fixtures' "agency".
    pub fn agency(n: u8) -> Party {
        let (signing_key, org) = match n {
            1 => (super::key("agency"), AGENCY_ORG.to_owned()),
            _ => (SigningKey::from_bytes(&[40 + n; 32]), org_number(202_100_700 + u32::from(n))),
        };
        Party { name: format!("agency-{n}"), signing_key, org, role: MemberRole::Agency }
    }

    /// The SSC, the fixtures' "ssc", which also signs the directory.
    pub fn ssc() -> Party {
        Party {
            name: "ssc".into(),
            signing_key: super::key("ssc"),
            org: SSC_ORG.into(),
            role: MemberRole::Ssc,
        }
    }

    /// The node key.
    pub fn key(&self) -> PublicKey {
        PublicKey::from(self.signing_key.verifying_key())
    }

    /// The register this merchant's tills push on (one per merchant, so that card
    /// payments of equal serials at two merchants differ).
    pub fn register(&self) -> String {
        format!("KASSA-{}", self.name)
    }
}

/// Version 1 of a network of `parties`, signed by the SSC's key (the operator), the SSC
/// serving the agencies whose organisation numbers are in `served`.
pub fn directory_of(parties: &[Party], served: &[String]) -> Signed<Directory> {
    let members = parties
        .iter()
        .enumerate()
        .map(|(index, party)| Member {
            role: party.role,
            org: party.org.clone(),
            name: format!("{} AB", party.name),
            key: party.key(),
            addresses: vec![format!("127.0.0.1:{}", 7400 + index)],
            serves: if party.role == MemberRole::Ssc { served.to_vec() } else { Vec::new() },
        })
        .collect();
    let body = Directory {
        network: "kvitt-test".into(),
        version: 1,
        issued_at: "2026-01-01T00:00:00+01:00".into(),
        members,
    };
    Signed::sign(body, &super::key("ssc")).unwrap()
}

/// Answers requests for a member that runs no node here: (sender, request) to response.
pub type Handler = Arc<dyn Fn(PublicKey, Request) -> Response + Send + Sync>;

/// Whether a record sent to a member is lost on its way.
pub type Lose = Arc<dyn Fn(&PublicKey, &AnyRecord) -> bool + Send + Sync>;

/// A record one node sent another (in a delivery; lost or not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The sender.
    pub from: PublicKey,
    /// The receiver.
    pub to: PublicKey,
    /// The record.
    pub id: RecordId,
}

#[derive(Default)]
struct HubState {
    inboxes: BTreeMap<PublicKey, (u64, PeerInbox)>,
    attached: u64,
    fakes: BTreeMap<PublicKey, Handler>,
    reconciliation_blocked: bool,
    deliveries_refused: bool,
    lose: Option<Lose>,
    sent: Vec<Sent>,
}

/// The switchboard of one test network.
#[derive(Clone, Default)]
pub struct Hub {
    state: Arc<Mutex<HubState>>,
}

impl Hub {
    /// An empty network: reconciliation allowed, nothing lost.
    pub fn new() -> Hub {
        Hub::default()
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Connects a node's inbox under its key (replacing any other); a number for
    /// [`Hub::detach`].
    pub fn attach(&self, key: PublicKey, inbox: PeerInbox) -> u64 {
        let mut state = self.lock();
        state.attached += 1;
        let attached = state.attached;
        state.inboxes.insert(key, (attached, inbox));
        attached
    }

    /// Takes the inbox `attach` numbered `attached` off the network, if it is still on.
    pub fn detach(&self, key: &PublicKey, attached: u64) {
        let mut state = self.lock();
        if state.inboxes.get(key).is_some_and(|(number, _)| *number == attached) {
            state.inboxes.remove(key);
        }
    }

    /// Answers every request to `key` with `handler` (instead of a node), or stops doing so.
    pub fn fake(&self, key: PublicKey, handler: Option<Handler>) {
        match handler {
            Some(handler) => self.lock().fakes.insert(key, handler),
            None => self.lock().fakes.remove(&key),
        };
    }

    /// While blocked, every reconciliation request fails as if the peer were unreachable.
    pub fn block_reconciliation(&self, blocked: bool) {
        self.lock().reconciliation_blocked = blocked;
    }

    /// While refused, every delivery is answered `node.unavailable` (retry true), as a busy
    /// or failing peer answers; reconciliation goes on.
    pub fn refuse_deliveries(&self, refused: bool) {
        self.lock().deliveries_refused = refused;
    }

    /// Loses the records `lose` picks on their way (or none).
    pub fn lose(&self, lose: Option<Lose>) {
        self.lock().lose = lose;
    }

    /// Every record sent so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.lock().sent.clone()
    }

    /// The transport of the node with `key`.
    pub fn endpoint(&self, key: PublicKey) -> Arc<dyn PeerTransport> {
        Arc::new(Endpoint { hub: self.clone(), key })
    }

    /// Carries `bytes` from `from` to `to` and returns the answer.
    pub async fn request(&self, from: PublicKey, to: PublicKey, bytes: Vec<u8>) -> Result<Vec<u8>, String> {
        let request = Request::decode(&bytes).ok();
        let (inbox, fake, lose, blocked, refused) = {
            let state = self.lock();
            (
                state.inboxes.get(&to).map(|(_, inbox)| inbox.clone()),
                state.fakes.get(&to).cloned(),
                state.lose.clone(),
                state.reconciliation_blocked,
                state.deliveries_refused,
            )
        };
        let mut bytes = bytes;
        let mut lost: Vec<(usize, RecordId)> = Vec::new();
        match &request {
            Some(Request { body: RequestBody::Reconcile { .. }, .. }) if blocked => {
                return Err("reconciliation is blocked on this network".into());
            }
            Some(Request { directory_version, body: RequestBody::Deliver { .. } }) if refused => {
                let refusal =
                    Refusal::new(RefusalCode::Unavailable, "deliveries are refused on this network");
                let body = ResponseBody::Refused { refusal };
                return Response { directory_version: *directory_version, body }
                    .encode()
                    .map_err(|error| error.to_string());
            }
            Some(Request { directory_version, body: RequestBody::Deliver { records } }) => {
                let mut kept = Vec::new();
                for (at, bytes) in records.iter().enumerate() {
                    if let Ok(record) = AnyRecord::decode(&bytes.0) {
                        self.lock().sent.push(Sent { from, to, id: record.id() });
                        if lose.as_ref().is_some_and(|lose| lose(&to, &record)) {
                            lost.push((at, record.id()));
                            continue;
                        }
                    }
                    kept.push(bytes.clone());
                }
                if !lost.is_empty() && kept.is_empty() {
                    let results = lost.iter().map(|(_, id)| Verdict::Stored { id: *id }).collect();
                    let body = ResponseBody::Delivered { results };
                    return Response { directory_version: *directory_version, body }
                        .encode()
                        .map_err(|error| error.to_string());
                }
                if !lost.is_empty() {
                    let body = RequestBody::Deliver { records: kept };
                    bytes = Request { directory_version: *directory_version, body }.encode().unwrap();
                }
            }
            _ => {}
        }
        let answer = if let Some(fake) = fake {
            let request = Request::decode(&bytes).map_err(|error| error.to_string())?;
            fake(from, request).encode().map_err(|error| error.to_string())?
        } else {
            let inbox = inbox.ok_or_else(|| format!("{} is not reachable", to.short()))?;
            let (reply, answer) = oneshot::channel();
            inbox.deliver(IncomingRequest { peer: from, bytes, reply }).await;
            answer.await.map_err(|_| format!("{} dropped the request", to.short()))?
        };
        if lost.is_empty() {
            return Ok(answer);
        }
        let mut response = Response::decode(&answer).map_err(|error| error.to_string())?;
        if let ResponseBody::Delivered { results } = &mut response.body {
            for (at, id) in lost {
                results.insert(at.min(results.len()), Verdict::Stored { id });
            }
        }
        response.encode().map_err(|error| error.to_string())
    }
}

struct Endpoint {
    hub: Hub,
    key: PublicKey,
}

impl PeerTransport for Endpoint {
    fn request(
        &self,
        peer: PublicKey,
        _address: std::net::SocketAddr,
        request: Vec<u8>,
    ) -> BoxFuture<Result<Vec<u8>, String>> {
        let hub = self.hub.clone();
        let from = self.key;
        Box::pin(async move { hub.request(from, peer, request).await })
    }

    fn set_members(&self, _members: Vec<PublicKey>) {}
}

/// A running node of a test network.
pub struct Node {
    /// Who it is.
    pub party: Party,
    /// Its ledger's store (kept when the node stops).
    pub store: Arc<MemoryStore>,
    handle: NodeHandle,
    runtime: Option<tokio::runtime::Runtime>,
    hub: Hub,
    attached: u64,
}

impl Node {
    /// Starts `party`'s node over `store` on a runtime of its own and attaches it to `hub`.
    pub fn start(hub: &Hub, party: &Party, directory: &Signed<Directory>, store: Arc<MemoryStore>) -> Node {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(party.name.clone())
            .enable_all()
            .build()
            .unwrap();
        let commit = Arc::new(GroupCommit::start(store.clone() as Arc<dyn Store>).unwrap());
        let identity =
            Identity { signing_key: party.signing_key.clone(), org: party.org.clone(), role: party.role };
        let config = CoreConfig {
            operator: super::public("ssc"),
            retry: RetryPolicy { initial_ms: 20, max_ms: 200 },
            delivery_batch: 256,
            seed: 1,
            entropy: [1; 32],
            reconcile_interval: kvitt_node::core::DEFAULT_RECONCILE_INTERVAL,
            reference_rates: Some(kvitt_books::ReferenceRates::example().unwrap()),
            policy: Default::default(),
            uncollected_days: kvitt_node::core::DEFAULT_UNCOLLECTED_DAYS,
            routing_key: None,
        };
        let core = NodeCore::start(identity, config, directory.clone(), store.clone()).unwrap();
        let (handle, inbox) = {
            let _context = runtime.enter();
            kvitt_node::runtime::spawn(core, commit, hub.endpoint(party.key()))
        };
        let attached = hub.attach(party.key(), inbox);
        Node { party: party.clone(), store, handle, runtime: Some(runtime), hub: hub.clone(), attached }
    }

    /// Runs `future` on the node's runtime (from a thread outside any runtime).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.as_ref().unwrap().block_on(future)
    }

    /// Asks the node as a client.
    pub fn ask(&self, caller: Caller, request: ClientRequest) -> Result<ClientResponse, Refusal> {
        let handle = self.handle.clone();
        self.block_on(async move { handle.ask(caller, request).await })
    }

    /// The node's ledger.
    pub fn ledger(&self) -> Ledger {
        Ledger::new(self.store.clone())
    }

    /// Stops the node: off the network, its tasks and sessions dropped, its store kept.
    pub fn stop(self) {}

    /// Stops the node and starts it again over the same store (as after a crash).
    pub fn restart(&mut self, directory: &Signed<Directory>) {
        self.shut_down();
        *self = Node::start(&self.hub.clone(), &self.party.clone(), directory, self.store.clone());
    }

    fn shut_down(&mut self) {
        self.hub.detach(&self.party.key(), self.attached);
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// A till of the merchant.
pub fn till() -> Caller {
    Caller { person: "till-1".into(), role: CallerRole::Till }
}

/// The employee who buys and claims ([`sample::EMPLOYEE`]).
pub fn employee() -> Caller {
    Caller { person: sample::EMPLOYEE.into(), role: CallerRole::Employee }
}

/// An approver (not the claimant).
pub fn approver() -> Caller {
    Caller { person: "attestant-1".into(), role: CallerRole::Approver }
}

/// The receipt `merchant` issues as `serial` on its register to `agency`'s employee.
pub fn receipt_body(merchant: &Party, agency: &Party, serial: u64) -> kvitt_protocol::receipt::Receipt {
    sample::receipt(&merchant.org, &agency.org, &merchant.register(), serial)
}

/// Pushes `serial` of `merchant`'s register for `agency` at `node` (the merchant's);
/// its id.
pub fn push(node: &Node, agency: &Party, serial: u64) -> RecordId {
    let body = receipt_body(&node.party, agency, serial);
    match node.ask(till(), ClientRequest::PushReceipt(Box::new(body))).unwrap() {
        ClientResponse::Pushed { id, .. } => id,
        other => panic!("{other:?}"),
    }
}

/// The id `merchant` gives the receipt of [`receipt_body`] (signing is deterministic).
pub fn receipt_id(merchant: &Party, agency: &Party, serial: u64) -> RecordId {
    Signed::sign(receipt_body(merchant, agency, serial), &merchant.signing_key).unwrap().id()
}

/// A claim of the employee at `node` (an agency) attaching `receipts` (each for its full
/// sample total), submitted and, if `approve`, approved: the claim's id and its events'.
pub fn claim(node: &Node, receipts: &[RecordId], approve: bool) -> (RecordId, Vec<RecordId>) {
    let draft = node.ask(employee(), ClientRequest::NewClaim { purpose: "Konferens".into() }).unwrap();
    let ClientResponse::Draft { draft, .. } = draft else { panic!("{draft:?}") };
    for receipt in receipts {
        let item = ClaimItem::Receipt {
            receipt: *receipt,
            business_purpose: "Logi".into(),
            amount: 162_400,
            booking: Booking { account: 5831, cost_center: "CC-100".into(), project: None },
            foreign: None,
            participants: vec![],
        };
        let request = ClientRequest::AddItem { number: draft.number.clone(), item: Box::new(item) };
        node.ask(employee(), request).unwrap();
    }
    let submitted = node.ask(employee(), ClientRequest::Submit { number: draft.number.clone() }).unwrap();
    let ClientResponse::Submitted { claim } = submitted else { panic!("{submitted:?}") };
    if approve {
        let action = kvitt_protocol::event::Action::Approved;
        node.ask(approver(), ClientRequest::Decide { claim, action }).unwrap();
    }
    (claim, node.ledger().chain(&claim).unwrap())
}

/// Every record id `store` holds.
pub fn held(store: &Arc<MemoryStore>) -> BTreeSet<RecordId> {
    let ledger = Ledger::new(store.clone());
    let mut ids = BTreeSet::new();
    let mut after = None;
    loop {
        let page = ledger.record_ids(after.as_ref(), kvitt_node::ledger::MAX_SCAN_ENTRIES).unwrap();
        let Some(last) = page.last().copied() else {
            return ids;
        };
        after = Some(last);
        ids.extend(page);
    }
}

/// Whether `store` has nothing waiting in any outbox.
pub fn outboxes_empty(store: &Arc<MemoryStore>) -> bool {
    Ledger::new(store.clone()).outbox_peers().unwrap().is_empty()
}

/// Checks `check` every 20 ms until it holds, and fails with its last complaint once
/// `within` has passed; how long it took.
pub fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> Result<(), String>) -> Duration {
    let started = Instant::now();
    loop {
        match check() {
            Ok(()) => return started.elapsed(),
            Err(why) if started.elapsed() > within => panic!("{what}: not within {within:?}: {why}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}
