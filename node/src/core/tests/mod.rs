//! Cores wired to each other in one thread over memory stores: the effects carried out
//! exactly as a driver must (writes at once, answers only after a sync), with crashes.
//! This module holds the harness and the tests of delivery and the directory; [`claims`]
//! the tests of the claim flow; [`directory`] those of directory equivocation; [`money`]
//! those of claim amounts and booking places.

mod claims;
mod codes;
mod collected;
mod delivery;
mod directory;
mod exceptions;
mod export;
mod lists;
mod money;
mod outbox;
mod peers;
mod policy;
mod pushes;
mod recovery;
mod responding;
mod reversal;
mod routing;
mod sessions;
mod visibility;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::receipt::{Address, Buyer, Line, LineKind, Merchant, Payment, Receipt};
use kvitt_protocol::wire::{RefusalCode, Request, Response};
use kvitt_protocol::{AnyRecord, PublicKey, RecordId, Signed};
use sha2::{Digest, Sha256};
use time::macros::datetime;
use time::OffsetDateTime;

use super::*;
use crate::store::{Batch, MemoryStore};

const MERCHANT: &str = "556016-0680";
const AGENCY: &str = "202100-5489";
const SSC: &str = "202100-6255";

fn key(name: &str) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(format!("kvitt core test {name}")).into())
}

fn member(role: MemberRole, org: &str, name: &str, port: u16) -> Member {
    Member {
        role,
        org: org.into(),
        name: name.into(),
        key: PublicKey::from(key(name).verifying_key()),
        addresses: vec![format!("127.0.0.1:{port}")],
        serves: if role == MemberRole::Ssc { vec![AGENCY.into()] } else { vec![] },
    }
}

fn directory(version: u64) -> Signed<Directory> {
    let body = Directory {
        network: "kvitt-test".into(),
        version,
        issued_at: "2026-01-01T00:00:00+01:00".into(),
        members: vec![
            member(MemberRole::Merchant, MERCHANT, "merchant", 7401),
            member(MemberRole::Agency, AGENCY, "agency", 7402),
            member(MemberRole::Ssc, SSC, "ssc", 7400),
        ],
    };
    Signed::sign(body, &key("operator")).unwrap()
}

/// A taxi ride for `emp-1`, its fare varying with the serial, paid by Swish. It stays apart
/// from `kvitt_protocol::sample::receipt` (a hotel night paid by card) on purpose: the only
/// card payments these tests hold are those a test adds (`claims::card_receipt`), and their
/// claims are made by `emp-1`.
fn receipt(serial: u64) -> Receipt {
    let line = Line {
        kind: LineKind::Sale,
        description: "Taxi Arlanda".into(),
        article: None,
        gtin: None,
        category: Some("passenger_transport".into()),
        quantity: Some(1000),
        unit: Some("st".into()),
        unit_price: Some(54_900 + i64::try_from(serial).unwrap()),
        discounts: vec![],
        amount: None,
        vat_rate: Some(600),
    };
    let receipt = Receipt {
        merchant: Merchant {
            name: "Taxi Kvitt AB".into(),
            org: MERCHANT.into(),
            vat_number: Some("SE556016068001".into()),
            address: Address {
                street: "Vasagatan 1".into(),
                postal_code: "111 20".into(),
                city: "Stockholm".into(),
                country: "SE".into(),
            },
        },
        register: "CAR-7".into(),
        serial,
        control_unit: "CU-7".into(),
        issued_at: "2026-05-04T07:10:00+02:00".into(),
        currency: "SEK".into(),
        lines: vec![line],
        vat: vec![],
        rounding: 0,
        total: 0,
        payments: vec![],
        buyer: Some(Buyer { agency: AGENCY.into(), employee: Some("emp-1".into()) }),
        original: None,
    }
    .with_computed_totals();
    let total = receipt.total;
    Receipt { payments: vec![Payment::Swish { amount: total, reference: format!("SW{serial}") }], ..receipt }
}

struct Node {
    core: NodeCore,
    store: Arc<MemoryStore>,
    up: bool,
}

/// A network of cores with a message queue; links can be cut.
struct Net {
    nodes: BTreeMap<PublicKey, Node>,
    queue: VecDeque<(PublicKey, Input)>,
    replies: Vec<(ReplyId, Result<ClientResponse, kvitt_protocol::wire::Refusal>)>,
    now: OffsetDateTime,
    next_reply: ReplyId,
    /// Sizes of the encoded requests sent, in order.
    sent: Vec<usize>,
    /// How the sessions a node starts with a peer end, by (node, peer); a session with no
    /// outcome here runs until one is given ([`Net::end_sessions`]).
    outcomes: BTreeMap<(PublicKey, PublicKey), Result<Summary, String>>,
    /// Sessions started with no outcome yet: (node, peer).
    running: Vec<(PublicKey, PublicKey)>,
}

/// A session `peer` started with a node that found the node holds `have` and the peer lacks.
fn found(peer: PublicKey, have: Vec<RecordId>) -> Input {
    Input::SessionEnded {
        peer,
        side: SessionSide::Responder(1),
        result: Ok(Summary { have, ..Summary::default() }),
    }
}

impl Net {
    fn new() -> Net {
        Net::with_policy(crate::policy::Policy::default())
    }

    /// A network whose agency applies `policy`.
    fn with_policy(policy: crate::policy::Policy) -> Net {
        let mut nodes = BTreeMap::new();
        for (name, org, role) in [
            ("merchant", MERCHANT, MemberRole::Merchant),
            ("agency", AGENCY, MemberRole::Agency),
            ("ssc", SSC, MemberRole::Ssc),
        ] {
            let store = Arc::new(MemoryStore::new());
            let identity = Identity { signing_key: key(name), org: org.into(), role };
            let config = CoreConfig {
                operator: PublicKey::from(key("operator").verifying_key()),
                retry: RetryPolicy::default(),
                delivery_batch: 256,
                seed: 7,
                entropy: [7; 32],
                reconcile_interval: crate::core::DEFAULT_RECONCILE_INTERVAL,
                reference_rates: Some(kvitt_books::ReferenceRates::example().unwrap()),
                policy: if role == MemberRole::Agency { policy.clone() } else { Default::default() },
                uncollected_days: crate::core::DEFAULT_UNCOLLECTED_DAYS,
                routing_key: (role != MemberRole::Ssc)
                    .then(|| kvitt_protocol::routing::RoutingKey::new([9; 32])),
            };
            let core = NodeCore::start(identity.clone(), config, directory(1), store.clone()).unwrap();
            nodes.insert(identity.key(), Node { core, store, up: true });
        }
        Net {
            nodes,
            queue: VecDeque::new(),
            replies: Vec::new(),
            now: datetime!(2026-05-04 08:00 +02:00),
            next_reply: 1,
            sent: Vec::new(),
            outcomes: BTreeMap::new(),
            running: Vec::new(),
        }
    }

    fn key_of(name: &str) -> PublicKey {
        PublicKey::from(key(name).verifying_key())
    }

    fn client(&mut self, node: &str, caller: Caller, request: ClientRequest) -> ReplyId {
        let reply = self.next_reply;
        self.next_reply += 1;
        self.queue.push_back((Net::key_of(node), Input::Client { reply, caller, request }));
        reply
    }

    /// Runs until no input is left, advancing time to each requested wake-up.
    fn run(&mut self) {
        for _ in 0..10_000 {
            if let Some((to, input)) = self.queue.pop_front() {
                self.step(to, input);
                continue;
            }
            // Nothing queued: tick every node that is up, a little later.
            self.now += time::Duration::seconds(1);
            let wakes: Vec<PublicKey> =
                self.nodes.iter().filter(|(_, node)| node.up).map(|(key, _)| *key).collect();
            let before = self.replies.len();
            for key in wakes {
                self.step(key, Input::Tick);
            }
            if self.queue.is_empty() && self.replies.len() == before && self.idle() {
                return;
            }
        }
        panic!("the network did not settle");
    }

    fn idle(&self) -> bool {
        self.nodes.values().filter(|node| node.up).all(|node| node.core.outbox.is_idle())
    }

    fn step(&mut self, to: PublicKey, input: Input) {
        let node = self.nodes.get_mut(&to).unwrap();
        if !node.up {
            return;
        }
        let effects = node.core.handle(self.now, input);
        self.carry_out(to, effects);
    }

    fn carry_out(&mut self, node_key: PublicKey, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Write(batch) => self.nodes[&node_key].store.apply(&batch).unwrap(),
                Effect::WhenDurable(deferred) => {
                    self.nodes[&node_key].store.sync().unwrap();
                    for effect in deferred {
                        match effect {
                            Deferred::ToClient { reply, result } => self.replies.push((reply, result)),
                            // Answers to requests the test injected by hand go nowhere.
                            Deferred::ToPeer { .. } | Deferred::DirectoryChanged(_) => {}
                            Deferred::Send { to, exchange, request } => {
                                self.send(node_key, to, exchange, request)
                            }
                        }
                    }
                }
                Effect::WakeAt(_) => {}
                Effect::StartSession(start) => {
                    self.running.push((node_key, start.peer));
                    self.end_sessions();
                }
            }
        }
    }

    /// Ends every running session that has an outcome now.
    fn end_sessions(&mut self) {
        let outcomes = &self.outcomes;
        let (ending, running): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.running).into_iter().partition(|pair| outcomes.contains_key(pair));
        self.running = running;
        for (node, peer) in ending {
            let result = self.outcomes[&(node, peer)].clone();
            self.queue.push_back((node, Input::SessionEnded { peer, side: SessionSide::Initiator, result }));
        }
    }

    /// Delivers a request through its wire encoding and routes the answer back.
    fn send(&mut self, from: PublicKey, to: PublicKey, exchange: ExchangeId, request: Request) {
        let bytes = request.encode().unwrap();
        self.sent.push(bytes.len());
        let target_up = self.nodes.get(&to).is_some_and(|node| node.up);
        let answer = if target_up {
            let (directory_version, request) = crate::runtime::decode_peer_request(from, &bytes);
            let input = Input::Peer { reply: 0, from, directory_version, request };
            let target = self.nodes.get_mut(&to).unwrap();
            let effects = target.core.handle(self.now, input);
            let mut response = None;
            let mut rest = Vec::new();
            for effect in effects {
                match effect {
                    Effect::WhenDurable(inner) => {
                        target.store.sync().unwrap();
                        let mut deferred = Vec::new();
                        for effect in inner {
                            match effect {
                                Deferred::ToPeer { response: answer, .. } => response = Some(answer),
                                other => deferred.push(other),
                            }
                        }
                        rest.push(Effect::WhenDurable(deferred));
                    }
                    other => rest.push(other),
                }
            }
            self.carry_out(to, rest);
            let response = response.expect("every peer request is answered");
            Ok(Response::decode(&response.encode().unwrap()).unwrap())
        } else {
            Err(ExchangeError::Link("connection refused".to_owned()))
        };
        self.queue.push_back((from, Input::Answer { to, exchange, answer }));
    }

    fn receipts_at_agency(&self) -> usize {
        let agency = &self.nodes[&Net::key_of("agency")];
        Ledger::new(agency.store.clone()).receipts_of_buyer(AGENCY, None, 100_000).unwrap().len()
    }

    fn reply(&self, reply: ReplyId) -> &Result<ClientResponse, kvitt_protocol::wire::Refusal> {
        &self.replies.iter().find(|(id, _)| *id == reply).expect("answered").1
    }
}

fn till() -> Caller {
    Caller { person: "till-1".into(), role: CallerRole::Till }
}
