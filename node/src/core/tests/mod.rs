//! Cores wired to each other in one thread over memory stores: the effects carried out
//! exactly as a driver must (writes at once, answers only after a sync), with crashes.
//! This module holds the harness and the tests of delivery and the directory; [`claims`]
//! the tests of the claim flow; [`directory`] those of directory equivocation; [`money`]
//! those of claim amounts and booking places.

mod claims;
mod codes;
mod collected;
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

#[test]
fn a_pushed_receipt_is_acknowledged_durably_and_reaches_the_agency() {
    let mut net = Net::new();
    let reply = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(1))));
    net.run();
    let Ok(ClientResponse::Pushed { id, duplicate: false, code: None }) = net.reply(reply) else {
        panic!("pushed: {:?}", net.reply(reply));
    };
    assert_eq!(net.receipts_at_agency(), 1);
    let merchant = &net.nodes[&Net::key_of("merchant")];
    let ledger = Ledger::new(merchant.store.clone());
    assert!(ledger.outbox(&Net::key_of("agency"), 10).unwrap().is_empty(), "delivered and settled");
    merchant.store.crash();
    assert!(ledger.contains(id).unwrap(), "acknowledged means durable");
}

#[test]
fn the_same_receipt_twice_is_one_receipt() {
    let mut net = Net::new();
    let first = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(1))));
    let second = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(1))));
    net.run();
    assert!(matches!(net.reply(first), Ok(ClientResponse::Pushed { duplicate: false, .. })));
    assert!(matches!(net.reply(second), Ok(ClientResponse::Pushed { duplicate: true, .. })));
    assert_eq!(net.receipts_at_agency(), 1);
}

#[test]
fn serials_must_continue_the_register_series() {
    let mut net = Net::new();
    net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(5))));
    let gap = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(7))));
    let next = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(6))));
    net.run();
    let Err(refusal) = net.reply(gap) else { panic!("a gap is refused") };
    assert_eq!(refusal.code.as_str(), "receipt.serial");
    assert!(matches!(net.reply(next), Ok(ClientResponse::Pushed { .. })));
}

#[test]
fn a_register_at_the_largest_serial_refuses_the_next_receipt_and_the_node_goes_on() {
    let mut net = Net::new();
    let last = net.client(
        "merchant",
        till(),
        ClientRequest::PushReceipt(Box::new(Receipt { serial: u64::MAX, ..receipt(1) })),
    );
    let after = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(2))));
    let other_register = Receipt { register: "CAR-8".into(), ..receipt(3) };
    let other = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(other_register)));
    net.run();
    assert!(
        matches!(net.reply(last), Ok(ClientResponse::Pushed { duplicate: false, .. })),
        "{:?}",
        net.reply(last)
    );
    let Err(refusal) = net.reply(after) else { panic!("no serial follows u64::MAX: {:?}", net.reply(after)) };
    assert_eq!(refusal.code.as_str(), "receipt.serial");
    assert!(refusal.message.contains("CAR-7 has used its last serial (18446744073709551615)"), "{refusal}");
    assert!(!refusal.retry);
    assert!(matches!(net.reply(other), Ok(ClientResponse::Pushed { .. })), "{:?}", net.reply(other));
    assert_eq!(net.receipts_at_agency(), 2);
}

#[test]
fn delivery_resumes_when_the_agency_comes_back_and_nothing_is_doubled() {
    let mut net = Net::new();
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = false;
    for serial in 1..=20 {
        net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(serial))));
    }
    for _ in 0..5 {
        while let Some((to, input)) = net.queue.pop_front() {
            net.step(to, input);
        }
        net.now += time::Duration::seconds(30);
        net.step(Net::key_of("merchant"), Input::Tick);
    }
    assert_eq!(net.receipts_at_agency(), 0);
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = true;
    net.now += time::Duration::minutes(5);
    net.run();
    assert_eq!(net.receipts_at_agency(), 20);
}

#[test]
fn a_merchant_restarted_after_a_crash_delivers_what_it_acknowledged() {
    let mut net = Net::new();
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = false;
    for serial in 1..=3 {
        net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(serial))));
    }
    while let Some((to, input)) = net.queue.pop_front() {
        net.step(to, input);
    }
    // kill -9 and restart the merchant from what its store kept.
    let merchant = net.nodes.remove(&Net::key_of("merchant")).unwrap();
    merchant.store.crash();
    let identity = merchant.core.identity().clone();
    let config = merchant.core.config.clone();
    let core = NodeCore::start(identity, config, directory(1), merchant.store.clone()).unwrap();
    net.nodes.insert(Net::key_of("merchant"), Node { core, store: merchant.store, up: true });
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = true;
    net.run();
    assert_eq!(net.receipts_at_agency(), 3);
}

#[test]
fn a_receipt_signed_by_another_key_than_the_directory_lists_is_refused() {
    let mut net = Net::new();
    let forged = Signed::sign(receipt(1), &key("impostor")).unwrap();
    let agency = net.nodes.get_mut(&Net::key_of("agency")).unwrap();
    let effects = agency.core.handle(
        net.now,
        Input::Peer {
            reply: 9,
            from: Net::key_of("merchant"),
            directory_version: 1,
            request: PeerRequest::Deliver(vec![Ok(AnyRecord::Receipt(forged))]),
        },
    );
    let response = effects
        .into_iter()
        .find_map(|effect| match effect {
            Effect::WhenDurable(inner) => inner.into_iter().find_map(|effect| match effect {
                Deferred::ToPeer { response, .. } => Some(response),
                _ => None,
            }),
            _ => None,
        })
        .unwrap();
    let kvitt_protocol::wire::ResponseBody::Delivered { results } = response.body else { panic!() };
    let [kvitt_protocol::wire::Verdict::Refused { refusal }] = results.as_slice() else {
        panic!("{results:?}")
    };
    // Naming the merchant but signed by a stranger: forged whoever carries it (node.md
    // §Authorization: the signer is checked against the directory before the carrier).
    assert_eq!(refusal.code.as_str(), "auth.signer", "the directory lists another key for the seller");
    assert_eq!(net.receipts_at_agency(), 0);
}

#[test]
fn a_newer_directory_spreads_to_peers_through_ordinary_traffic() {
    let mut net = Net::new();
    // The SSC hands the agency version 2, as a delivered record.
    let newer = AnyRecord::Directory(directory(2));
    let input = Input::Peer {
        reply: 0,
        from: Net::key_of("ssc"),
        directory_version: 1,
        request: PeerRequest::Deliver(vec![Ok(newer)]),
    };
    net.step(Net::key_of("agency"), input);
    assert_eq!(net.nodes[&Net::key_of("agency")].core.directory().body().version, 2);
    // The merchant learns of it from the agency's answer to an ordinary delivery.
    net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(1))));
    net.run();
    assert_eq!(net.nodes[&Net::key_of("merchant")].core.directory().body().version, 2);
}

#[test]
fn a_node_without_traffic_learns_a_newer_directory_by_asking_the_ssc() {
    let mut net = Net::new();
    net.run();
    let input = Input::Peer {
        reply: 0,
        from: Net::key_of("agency"),
        directory_version: 1,
        request: PeerRequest::Deliver(vec![Ok(AnyRecord::Directory(directory(2)))]),
    };
    net.step(Net::key_of("ssc"), input);
    assert_eq!(net.nodes[&Net::key_of("merchant")].core.directory().body().version, 1);
    net.now += time::Duration::milliseconds(DIRECTORY_POLL_INTERVAL_MS);
    net.run();
    assert_eq!(net.nodes[&Net::key_of("merchant")].core.directory().body().version, 2);
}

#[test]
fn a_directory_that_no_longer_lists_the_node_is_refused_and_the_old_one_kept() {
    let mut net = Net::new();
    let mut body = directory(2).body().clone();
    body.members.retain(|member| member.key != Net::key_of("agency"));
    for member in &mut body.members {
        member.serves.clear();
    }
    let without_agency = Signed::sign(body, &key("operator")).unwrap();
    let input = Input::Peer {
        reply: 0,
        from: Net::key_of("ssc"),
        directory_version: 2,
        request: PeerRequest::Deliver(vec![Ok(AnyRecord::Directory(without_agency))]),
    };
    net.step(Net::key_of("agency"), input);
    assert_eq!(net.nodes[&Net::key_of("agency")].core.directory().body().version, 1);
}

#[test]
fn an_outbox_entry_whose_record_is_lost_is_set_aside_and_the_rest_delivered() {
    let mut net = Net::new();
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = false;
    let first = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(1))));
    while let Some((to, input)) = net.queue.pop_front() {
        net.step(to, input);
    }
    let Ok(ClientResponse::Pushed { id: lost, .. }) = net.reply(first).clone() else { panic!("pushed") };
    let mut damage = Batch::new();
    damage.remove(crate::ledger::keys::record(&lost));
    net.nodes[&Net::key_of("merchant")].store.apply(&damage).unwrap();
    net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(2))));
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = true;
    net.now += time::Duration::minutes(5);
    net.run();
    assert_eq!(net.receipts_at_agency(), 1, "receipt 2 is not held up behind the lost one");
    let merchant = Ledger::new(net.nodes[&Net::key_of("merchant")].store.clone());
    assert!(merchant.outbox(&Net::key_of("agency"), 10).unwrap().is_empty());
    assert!(merchant.exception(&lost).unwrap().is_some(), "the lost entry is kept as an exception");
}

#[test]
fn deliveries_are_split_to_stay_within_the_message_limit() {
    let mut net = Net::new();
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = false;
    let receipts = 80;
    let mut total_bytes = 0;
    for serial in 1..=receipts {
        let mut body = receipt(serial);
        let line = body.lines[0].clone();
        body.lines = (0..400)
            .map(|index| Line {
                description: format!("Taxi, stopp {index} på vägen till Arlanda"),
                ..line.clone()
            })
            .collect();
        let body = Receipt { vat: vec![], total: 0, payments: vec![], ..body }.with_computed_totals();
        let total = body.total;
        let body = Receipt {
            payments: vec![Payment::Swish { amount: total, reference: format!("SW{serial}") }],
            ..body
        };
        total_bytes += Signed::sign(body.clone(), &key("merchant")).unwrap().bytes().len();
        let reply = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(body)));
        while let Some((to, input)) = net.queue.pop_front() {
            net.step(to, input);
        }
        assert!(matches!(net.reply(reply), Ok(ClientResponse::Pushed { .. })), "{:?}", net.reply(reply));
    }
    assert!(
        total_bytes > kvitt_protocol::limits::MAX_MESSAGE_BYTES,
        "{total_bytes} bytes: the test needs more"
    );
    net.sent.clear();
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = true;
    net.now += time::Duration::minutes(5);
    net.run();
    assert_eq!(net.receipts_at_agency(), usize::try_from(receipts).unwrap());
    assert!(net.sent.len() >= 2, "split into several deliveries: {:?}", net.sent);
    assert!(
        net.sent.iter().all(|&bytes| bytes <= kvitt_protocol::limits::MAX_MESSAGE_BYTES),
        "{:?}",
        net.sent
    );
}

#[test]
fn a_conflicting_record_yields_one_piece_of_evidence_sent_to_the_channel() {
    let mut net = Net::new();
    let first = Signed::sign(receipt(1), &key("merchant")).unwrap();
    let mut other = receipt(1);
    other.lines[0].description = "Taxi Arlanda, annan".into();
    let other = Signed::sign(other.with_computed_totals(), &key("merchant")).unwrap();
    let deliver = |record: &Signed<Receipt>| Input::Peer {
        reply: 0,
        from: Net::key_of("merchant"),
        directory_version: 1,
        request: PeerRequest::Deliver(vec![Ok(AnyRecord::Receipt(record.clone()))]),
    };
    net.step(Net::key_of("agency"), deliver(&first));
    for _ in 0..3 {
        net.step(Net::key_of("agency"), deliver(&other));
        net.now += time::Duration::seconds(2);
    }
    let agency = Ledger::new(net.nodes[&Net::key_of("agency")].store.clone());
    assert_eq!(agency.exceptions(10).unwrap().len(), 1, "one evidence for one pair, however often it comes");
    net.run();
    let merchant = Ledger::new(net.nodes[&Net::key_of("merchant")].store.clone());
    assert_eq!(
        merchant.exceptions(10).unwrap(),
        agency.exceptions(10).unwrap(),
        "the channel's other member has it"
    );
    let ssc = Ledger::new(net.nodes[&Net::key_of("ssc")].store.clone());
    assert!(ssc.exceptions(10).unwrap().is_empty(), "the SSC is not in the receipt's channel");
}
