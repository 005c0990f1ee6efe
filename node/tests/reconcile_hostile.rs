//! Hostile peers against a running node, through its driver's request path: `reconcile`
//! requests from members the directory lists, as the transport would hand them over.
//!
//! protocol/tests/reconcile/lying.rs shows that the state machines refuse every malformed
//! or lying frame with a typed error. What is checked here is the node around them: that
//! such a frame is answered with a refusal on the wire, that the node keeps serving honest
//! sessions afterwards, that it holds a peer to its session limit, and that whatever a
//! peer says, as initiator or as responder, the node sends it only records of the channel
//! they share (a session compares the node's channel with that peer, not its ledger).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::network::{claim, directory_of, outboxes_empty, push, wait_until, Handler, Hub, Node, Party};
use kvitt_node::core::{Caller, CallerRole, ClientRequest, ClientResponse};
use kvitt_node::store::MemoryStore;
use kvitt_node::sync::{Summary, MAX_RESPONDER_SESSIONS_PER_PEER};
use kvitt_protocol::channel::record_time;
use kvitt_protocol::reconcile::{
    Fingerprint, Initiator, Item, Message, Need, Outcome, Responder, Salt, Step, MAX_RECONCILE_FRAME_BYTES,
    TAG_BYTES,
};
use kvitt_protocol::wire::{RecordBytes, Request, RequestBody, Response, ResponseBody, Verdict};
use kvitt_protocol::RecordId;

const DEADLINE: Duration = Duration::from_secs(30);

/// A running network: two merchants, the agency (the node under attack) and its SSC.
/// Merchant 1 sold the agency five receipts, merchant 2 four; the agency claimed merchant
/// 1's first receipt, approved, so the SSC holds that claim, its events and that receipt.
struct Network {
    hub: Hub,
    merchant_1: Node,
    merchant_2: Option<Node>,
    agency: Node,
    _ssc: Node,
    /// The records of each channel of the agency, as (time, id) items.
    with_merchant_1: Vec<Item>,
    with_merchant_2: Vec<Item>,
    with_ssc: Vec<Item>,
}

fn parties() -> [Party; 4] {
    [Party::merchant(1), Party::merchant(2), Party::agency(1), Party::ssc()]
}

impl Network {
    fn start() -> Network {
        let [m1, m2, agency, ssc] = parties();
        let directory = directory_of(&parties(), std::slice::from_ref(&agency.org));
        let hub = Hub::new();
        let start = |party: &Party| Node::start(&hub, party, &directory, Arc::new(MemoryStore::new()));
        let (merchant_1, merchant_2, agency_node, ssc_node) =
            (start(&m1), start(&m2), start(&agency), start(&ssc));
        let ones: Vec<RecordId> = (1..=5).map(|serial| push(&merchant_1, &agency, serial)).collect();
        let twos: Vec<RecordId> = (1..=4).map(|serial| push(&merchant_2, &agency, serial)).collect();
        wait_until("receipts at the agency", DEADLINE, || {
            match ones.iter().chain(&twos).all(|id| agency_node.ledger().contains(id).unwrap()) {
                true => Ok(()),
                false => Err("not yet".into()),
            }
        });
        let (claim, events) = claim(&agency_node, &ones[..1], true);
        let nodes = [&merchant_1, &merchant_2, &agency_node, &ssc_node];
        wait_until("the claim at the SSC", DEADLINE, || {
            match nodes.iter().all(|node| outboxes_empty(&node.store)) {
                true => Ok(()),
                false => Err("an outbox is not empty".into()),
            }
        });
        let items = |ids: &[RecordId]| -> Vec<Item> {
            let mut items: Vec<Item> = ids
                .iter()
                .map(|id| Item {
                    time: record_time(&agency_node.ledger().record(id).unwrap().unwrap()),
                    id: *id,
                })
                .collect();
            items.sort_unstable();
            items
        };
        let with_ssc: Vec<RecordId> = [ones[0], claim].into_iter().chain(events).collect();
        Network {
            with_merchant_1: items(&ones),
            with_merchant_2: items(&twos),
            with_ssc: items(&with_ssc),
            hub,
            merchant_1,
            merchant_2: Some(merchant_2),
            agency: agency_node,
            _ssc: ssc_node,
        }
    }

    /// Sends one `reconcile` request as `from` to the agency; the answer's body.
    fn frame(&self, from: &Party, session: u64, frame: Vec<u8>) -> Result<ResponseBody, String> {
        let request = Request {
            directory_version: 1,
            body: RequestBody::Reconcile { session, frame: RecordBytes(frame), window: None },
        };
        self.request(from, request.encode().unwrap())
    }

    /// Sends request bytes as `from` to the agency; the answer's body.
    fn request(&self, from: &Party, bytes: Vec<u8>) -> Result<ResponseBody, String> {
        let answer = self.agency.block_on(self.hub.request(from.key(), self.agency.party.key(), bytes))?;
        Ok(Response::decode(&answer).map_err(|error| error.to_string())?.body)
    }

    /// Sends `frame` as `from` as the first of session `session`; while the answer is the
    /// session limit, sends it again (a peer's sessions that just ended hold their places
    /// until the driver next looks at them; the limit refusal opened nothing).
    fn first_frame(&self, from: &Party, session: u64, frame: Vec<u8>) -> Result<ResponseBody, String> {
        let started = Instant::now();
        loop {
            let answer = self.frame(from, session, frame.clone());
            if !refused(&answer, LIMIT) || started.elapsed() > DEADLINE {
                return answer;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Opens session `session` as `from` over `items`: the initiator and the agency's
    /// first answer frame.
    fn open(
        &self,
        from: &Party,
        session: u64,
        items: &[Item],
    ) -> Result<(Initiator<'static>, Vec<u8>), String> {
        let (initiator, hello) = hello(session, items);
        Ok((initiator, answer_frame(self.first_frame(from, session, hello)?)?))
    }

    /// Runs the rest of a session from the agency's answer `answer`; the outcome.
    fn finish(
        &self,
        from: &Party,
        session: u64,
        mut initiator: Initiator<'_>,
        mut answer: Vec<u8>,
    ) -> Result<Outcome, String> {
        loop {
            match initiator.receive(&answer).map_err(|error| error.to_string())? {
                Step::Send(next) => answer = answer_frame(self.frame(from, session, next)?)?,
                Step::Done { last, outcome } => {
                    if let Some(last) = last {
                        match self.frame(from, session, last)? {
                            ResponseBody::Reconcile { frame: None } => {}
                            other => return Err(format!("answer to the last frame: {other:?}")),
                        }
                    }
                    return Ok(outcome);
                }
            }
        }
    }

    /// An honest session as `from` over `items`; the outcome.
    fn session(&self, from: &Party, session: u64, items: &[Item]) -> Result<Outcome, String> {
        let (initiator, answer) = self.open(from, session, items)?;
        self.finish(from, session, initiator, answer)
    }

    /// The ids the agency ever sent to `to`.
    fn sent_to(&self, to: &Party) -> BTreeSet<RecordId> {
        let agency = self.agency.party.key();
        self.hub
            .sent()
            .into_iter()
            .filter(|sent| sent.from == agency && sent.to == to.key())
            .map(|sent| sent.id)
            .collect()
    }

    /// Waits until the agency has sent `to` every one of `ids`.
    fn wait_sent(&self, to: &Party, ids: &BTreeSet<RecordId>) {
        wait_until("the agency sends what the peer lacks", DEADLINE, || {
            let sent = self.sent_to(to);
            match ids.is_subset(&sent) {
                true => Ok(()),
                false => Err(format!("sent {} of {}", ids.intersection(&sent).count(), ids.len())),
            }
        });
    }
}

/// The refusal of a session beyond a peer's share.
const LIMIT: &str = "sessions open already";

/// An initiator over `items` for session `session`, and its hello.
fn hello(session: u64, items: &[Item]) -> (Initiator<'static>, Vec<u8>) {
    let items: &'static [Item] = Box::leak(items.to_vec().into_boxed_slice());
    let mut initiator = Initiator::new(items, Salt([session as u8; 16])).unwrap();
    let hello = initiator.start().unwrap();
    (initiator, hello)
}

/// The frame of a `reconcile` answer, or why there is none.
fn answer_frame(body: ResponseBody) -> Result<Vec<u8>, String> {
    match body {
        ResponseBody::Reconcile { frame: Some(frame) } => Ok(frame.0),
        other => Err(format!("{other:?}")),
    }
}

/// Whether `body` is a refusal with the code spec/node.md gives failed sessions, saying
/// `why`.
fn refused(body: &Result<ResponseBody, String>, why: &str) -> bool {
    matches!(body, Ok(ResponseBody::Refused { refusal })
        if refusal.code.as_str() == "node.unavailable" && refusal.message.contains(why))
}

fn ids(items: &[Item]) -> BTreeSet<RecordId> {
    items.iter().map(|item| item.id).collect()
}

#[test]
fn oversized_frames_and_requests_are_refused_and_an_honest_session_follows() {
    let network = Network::start();
    let [_, m2, ..] = parties();
    let over = network.frame(&m2, 1, vec![0; MAX_RECONCILE_FRAME_BYTES + 1]);
    let why = format!("frame of {} bytes exceeds the limit", MAX_RECONCILE_FRAME_BYTES + 1);
    assert!(refused(&over, &why), "{over:?}");
    // A request over the message limit is refused before it reaches any session.
    let huge = Request {
        directory_version: 1,
        body: RequestBody::Reconcile {
            session: 2,
            frame: RecordBytes(vec![0; 4 * 1024 * 1024 + 1]),
            window: None,
        },
    };
    let answer = network.request(&m2, huge.encode().unwrap());
    assert!(
        matches!(&answer, Ok(ResponseBody::Refused { refusal }) if refusal.code.as_str() == "limit.record_size"),
        "{answer:?}"
    );

    // The same peer, right after: merchant 2 lacks its last receipt; the agency says so
    // and sends it.
    let (lacking, holding) = network.with_merchant_2.split_last().unwrap();
    let outcome = network.session(&m2, 3, holding).unwrap();
    assert_eq!(outcome.need, Need::Ids(vec![lacking.id]));
    assert!(outcome.have.is_empty());
    network.wait_sent(&m2, &[lacking.id].into());
}

#[test]
fn a_peer_gets_at_most_its_share_of_sessions_and_others_are_not_held_up() {
    let network = Network::start();
    let [m1, m2, _, ssc] = parties();
    // Merchant 2 opens as many sessions as it may, each left waiting for its next frame
    // (it claims to hold nothing, so the agency answers with its list and waits for theirs).
    let open: Vec<_> = (1..=MAX_RESPONDER_SESSIONS_PER_PEER as u64)
        .map(|session| (session, network.open(&m2, session, &[]).unwrap()))
        .collect();
    let extra = MAX_RESPONDER_SESSIONS_PER_PEER as u64 + 1;
    let answer = network.frame(&m2, extra, hello(extra, &[]).1);
    assert!(refused(&answer, LIMIT), "{answer:?}");
    // Other peers are served meanwhile.
    assert_eq!(network.session(&ssc, 1, &network.with_ssc).unwrap(), Outcome::default());
    assert_eq!(network.session(&m1, 1, &network.with_merchant_1).unwrap(), Outcome::default());
    // Once one of merchant 2's sessions ends, another may start.
    let mut open = open.into_iter();
    let (session, (initiator, answer)) = open.next().unwrap();
    let outcome = network.finish(&m2, session, initiator, answer).unwrap();
    assert_eq!(outcome.need.count(), network.with_merchant_2.len() as u64);
    wait_until("a session slot frees", DEADLINE, || {
        network
            .session(&m2, extra, &network.with_merchant_2)
            .map(|outcome| assert_eq!(outcome, Outcome::default()))
    });
    drop(open);
}

#[test]
fn garbage_misplaced_frames_and_frames_after_a_failure_are_refused_and_the_node_stays_healthy() {
    let network = Network::start();
    let [m1, m2, agency, ssc] = parties();
    // Not CBOR; an empty frame; CBOR that is no message.
    for (session, frame) in [(1, b"not cbor".to_vec()), (2, Vec::new()), (3, vec![0xa0])] {
        let answer = network.first_frame(&m2, session, frame);
        assert!(refused(&answer, "malformed frame"), "session {session}: {answer:?}");
    }
    // Valid messages that cannot open a session.
    let list = Message::List { count: None, items: vec![], done: true }.encode().unwrap();
    let more = Message::More { symbols: 4 }.encode().unwrap();
    let same = Message::Same.encode().unwrap();
    for (session, frame) in [(4, list), (5, more.clone()), (6, same)] {
        let answer = network.first_frame(&m2, session, frame);
        assert!(refused(&answer, "while waiting for the hello"), "session {session}: {answer:?}");
    }
    // A record's bytes are no frame either (nothing is stored through a session).
    let record = network.merchant_1.ledger().record(&network.with_merchant_1[0].id).unwrap().unwrap();
    let answer = network.first_frame(&m2, 7, record.bytes().to_vec());
    assert!(refused(&answer, "malformed frame"), "{answer:?}");
    // A session that fails midway (its second frame is garbage): a later frame of it
    // reopens nothing and is refused. (The instant after the failure, it may get no
    // answer at all: a_frame_right_after_its_session_ended_is_refused.)
    network.open(&m2, 8, &network.with_merchant_2[1..]).unwrap();
    assert!(refused(&network.frame(&m2, 8, b"garbage".to_vec()), "malformed frame"));
    wait_until("a frame of the failed session is refused", DEADLINE, || {
        let answer = network.frame(&m2, 8, more.clone());
        match refused(&answer, "while waiting for the hello") {
            true => Ok(()),
            false => Err(format!("{answer:?}")),
        }
    });

    // Healthy: honest sessions with the same peer and others, and deliveries, go on.
    let (lacking, holding) = network.with_merchant_2.split_first().unwrap();
    let outcome = network.session(&m2, 9, holding).unwrap();
    assert_eq!(outcome.need, Need::Ids(vec![lacking.id]));
    assert_eq!(network.session(&ssc, 1, &network.with_ssc).unwrap(), Outcome::default());
    assert_eq!(network.session(&m1, 1, &network.with_merchant_1).unwrap(), Outcome::default());
    let pushed = push(&network.merchant_1, &agency, 6);
    wait_until("a new receipt reaches the agency", DEADLINE, || {
        match network.agency.ledger().contains(&pushed).unwrap() {
            true => Ok(()),
            false => Err("not yet".into()),
        }
    });
    network.wait_sent(&m2, &[lacking.id].into());
}

#[test]
fn a_peer_that_claims_to_lack_everything_learns_and_gets_only_its_own_channel() {
    let network = Network::start();
    let [_, m2, _, ssc] = parties();
    // Merchant 2 claims to hold nothing, and to hold merchant 1's receipts instead.
    let outcome = network.session(&m2, 1, &network.with_merchant_1).unwrap();
    assert_eq!(
        outcome.need.ids().unwrap().iter().copied().collect::<BTreeSet<_>>(),
        ids(&network.with_merchant_2)
    );
    assert_eq!(outcome.have.iter().copied().collect::<BTreeSet<_>>(), ids(&network.with_merchant_1));
    network.wait_sent(&m2, &ids(&network.with_merchant_2));
    // The SSC claims to hold nothing: it learns the claim's records, not the agency's other
    // receipts.
    let outcome = network.session(&ssc, 1, &[]).unwrap();
    assert_eq!(outcome.need.ids().unwrap().iter().copied().collect::<BTreeSet<_>>(), ids(&network.with_ssc));
    network.wait_sent(&ssc, &ids(&network.with_ssc));
    // A later honest session from each sees the channel complete: nothing more was queued.
    assert_eq!(network.session(&m2, 2, &network.with_merchant_2).unwrap(), Outcome::default());
    assert_eq!(network.sent_to(&m2), ids(&network.with_merchant_2), "only merchant 2's own receipts");
    assert_eq!(network.sent_to(&ssc), ids(&network.with_ssc), "only the claim, its events and its receipt");
}

/// The tag of `id` in the session of the two salts (spec/reconcile.md §Keys): SipHash-2-4,
/// keyed by the first 16 bytes of SHA-256("kvitt reconcile v1 tag" ‖ 0 ‖ salts), of bytes
/// 16–31 of SHA-256(hello key padded to 64 bytes ‖ id), the hello key being
/// SHA-256("kvitt reconcile v1 hello" ‖ 0 ‖ initiator's salt).
fn tag(initiator: &Salt, item: &Item) -> u64 {
    use sha2::{Digest, Sha256};
    let key: [u8; 32] = Sha256::new()
        .chain_update(b"kvitt reconcile v1 hello")
        .chain_update([0u8])
        .chain_update(initiator.0)
        .finalize()
        .into();
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(&key);
    let digest: [u8; 32] = Sha256::new().chain_update(block).chain_update(item.id.0).finalize().into();
    (item.time.min(u64::from(u32::MAX)) << 32)
        | u64::from(u32::from_be_bytes(digest[16..20].try_into().unwrap()))
}

#[test]
fn tags_of_another_channels_records_are_refused_and_none_of_them_is_sent() {
    let network = Network::start();
    let [m1, m2, ..] = parties();
    // Merchant 2 holds all but its last receipt; it knows the ids of merchant 1's
    // receipts (they leaked) and names their tags as records it lacks.
    let (lacking, holding) = network.with_merchant_2.split_last().unwrap();
    let foreign = network.with_merchant_1[2];
    let decoded_with = |session: u64, held: &[RecordId], lacked: &[Item]| -> Result<ResponseBody, String> {
        let (_, answer) = network.open(&m2, session, holding)?;
        let Message::Symbols { count: Some(_), .. } = Message::decode(&answer).unwrap() else {
            panic!("the agency did not answer with symbols: {:?}", Message::decode(&answer))
        };
        let mut tags: Vec<u64> = lacked.iter().map(|item| tag(&Salt([session as u8; 16]), item)).collect();
        tags.sort_unstable();
        let tags = tags.iter().flat_map(|tag| tag.to_be_bytes()).collect::<Vec<u8>>();
        assert_eq!(tags.len(), lacked.len() * TAG_BYTES);
        // How many the agency lacks, and (a lie the counts already give away) no digest sum.
        let (count, fingerprint) = (Some(held.len() as u64), Some(Fingerprint([0; 16])));
        network.frame(
            &m2,
            session,
            Message::Decoded { count, fingerprint, tags, done: true }.encode().unwrap(),
        )
    };
    let decoded = |session: u64, items: &[Item]| decoded_with(session, &[], items);
    // The tag of a record of another channel: refused, alone or beside a genuine one.
    let answer = decoded(1, &[foreign]);
    assert!(refused(&answer, "a tag none of our items has"), "{answer:?}");
    let answer = decoded(2, &[foreign, *lacking]);
    assert!(refused(&answer, "a tag none of our items has"), "{answer:?}");
    // Nor does naming it as one the peer holds and the agency lacks move anything.
    let answer = decoded_with(4, &[foreign.id], &[*lacking]);
    assert!(refused(&answer, "but its messages imply"), "{answer:?}");
    // The tags are right: the genuine one alone resolves to its id and the record is sent.
    match decoded(3, &[*lacking]).unwrap() {
        ResponseBody::Reconcile { frame: Some(frame) } => {
            let Message::Resolved { ids } = Message::decode(&frame.0).unwrap() else { panic!() };
            assert_eq!(ids, lacking.id.0.to_vec());
        }
        other => panic!("{other:?}"),
    }
    network.wait_sent(&m2, &[lacking.id].into());
    // And so is the foreign one, named by the peer whose channel it is in.
    let mut without = network.with_merchant_1.clone();
    without.retain(|item| item.id != foreign.id);
    let (_, answer) = network.open(&m1, 1, &without).unwrap();
    let Message::Symbols { count: Some(_), .. } = Message::decode(&answer).unwrap() else { panic!() };
    let tags = tag(&Salt([1; 16]), &foreign).to_be_bytes().to_vec();
    let decoded =
        Message::Decoded { count: Some(0), fingerprint: Some(Fingerprint([0; 16])), tags, done: true };
    let answer = network.frame(&m1, 1, decoded.encode().unwrap());
    assert!(matches!(answer, Ok(ResponseBody::Reconcile { frame: Some(_) })), "{answer:?}");
    network.wait_sent(&m1, &[foreign.id].into());
    assert_eq!(network.sent_to(&m2), [lacking.id].into(), "merchant 2 got none of merchant 1's receipts");
}

/// Merchant 2 as a liar that answers the agency's sessions with a real responder over
/// `items`, except that, while `lying`, the ids of its `resolved` answers are replaced by
/// `swap`'s; deliveries it acknowledges.
fn liar(items: Vec<Item>, lying: Arc<AtomicBool>, swap: RecordId) -> Handler {
    let items: &'static [Item] = Box::leak(items.into_boxed_slice());
    let sessions: Mutex<BTreeMap<u64, Responder<'static>>> = Mutex::new(BTreeMap::new());
    Arc::new(move |_, request: Request| {
        let body = match request.body {
            RequestBody::Reconcile { session, frame, .. } => {
                let mut sessions = sessions.lock().unwrap();
                let responder = sessions.entry(session).or_insert_with(|| Responder::new(items).unwrap());
                let frame = match responder.receive(&frame.0) {
                    Ok(Step::Send(frame) | Step::Done { last: Some(frame), .. }) => Some(frame),
                    Ok(Step::Done { last: None, .. }) => None,
                    Err(error) => panic!("the agency sent a frame its peer refuses: {error}"),
                };
                let frame = frame.map(|frame| match Message::decode(&frame).unwrap() {
                    Message::Resolved { ids } if lying.load(Ordering::Relaxed) => {
                        let ids = ids.chunks(32).flat_map(|_| swap.0).collect();
                        Message::Resolved { ids }.encode().unwrap()
                    }
                    _ => frame,
                });
                ResponseBody::Reconcile { frame: frame.map(RecordBytes) }
            }
            RequestBody::Deliver { records } => ResponseBody::Delivered {
                results: records
                    .iter()
                    .map(|record| Verdict::Stored { id: RecordId::of(&record.0) })
                    .collect(),
            },
            _ => ResponseBody::Directory { record: None },
        };
        Response { directory_version: 1, body }
    })
}

impl Network {
    /// The agency's operator runs `kvitt sync` with `peer`: how its session went.
    fn sync(&self, peer: &Party) -> Result<Summary, String> {
        let caller = Caller { person: "operator".into(), role: CallerRole::Operator };
        let request = ClientRequest::Reconcile { peer: Some(peer.org.clone()) };
        match self.agency.ask(caller, request).unwrap() {
            ClientResponse::Reconciled(sessions) => {
                assert_eq!(sessions.len(), 1);
                sessions.into_iter().next().unwrap().result
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_lying_responder_is_sent_only_its_own_channel() {
    let mut network = Network::start();
    let [_, m2, ..] = parties();
    network.merchant_2.take().unwrap().stop();
    // The liar holds merchant 1's receipts (of another channel) and none of its own.
    let lying = Arc::new(AtomicBool::new(false));
    let foreign = network.with_merchant_1[0].id;
    network.hub.fake(m2.key(), Some(liar(network.with_merchant_1.clone(), lying.clone(), foreign)));
    let summary = network.sync(&m2).unwrap();
    let own = ids(&network.with_merchant_2);
    assert_eq!(summary.have.iter().copied().collect::<BTreeSet<_>>(), own);
    network.wait_sent(&m2, &own);
    // All of the outcome goes out in one delivery: nothing else was sent with it.
    assert_eq!(network.sent_to(&m2), own, "only merchant 2's own receipts, none it claimed to hold");
}

#[test]
fn a_responder_that_resolves_a_tag_to_another_channels_record_ends_the_session_and_nothing_is_sent() {
    let mut network = Network::start();
    let [_, m2, ..] = parties();
    network.merchant_2.take().unwrap().stop();
    // The liar lacks merchant 2's first receipt and holds a record the agency lacks, whose
    // tag the agency asks it to resolve: it answers with the id of one of merchant 1's
    // receipts instead.
    let (first, rest) = network.with_merchant_2.split_first().unwrap();
    let mut items = rest.to_vec();
    items.push(Item { time: first.time, id: RecordId([0x5a; 32]) });
    items.sort_unstable();
    let lying = Arc::new(AtomicBool::new(true));
    let foreign = network.with_merchant_1[0].id;
    network.hub.fake(m2.key(), Some(liar(items, lying.clone(), foreign)));
    let error = network.sync(&m2).unwrap_err();
    assert!(error.contains("does not have the tag that was asked for"), "{error}");
    // The same session, answered honestly: the agency sends the receipt the peer lacks.
    lying.store(false, Ordering::Relaxed);
    let summary = network.sync(&m2).unwrap();
    assert_eq!(summary.have, vec![first.id]);
    network.wait_sent(&m2, &[first.id].into());
    assert_eq!(network.sent_to(&m2), [first.id].into(), "nothing after the lie, nothing of merchant 1's");
}

#[test]
fn a_frame_right_after_its_session_ended_is_refused() {
    let network = Network::start();
    let [_, m2, ..] = parties();
    let more = Message::More { symbols: 4 }.encode().unwrap();
    let mut unanswered = Vec::new();
    for session in 1..=2_000u64 {
        network.open(&m2, session, &network.with_merchant_2[1..]).unwrap();
        assert!(refused(&network.frame(&m2, session, b"garbage".to_vec()), "malformed frame"));
        match network.frame(&m2, session, more.clone()) {
            answer if refused(&answer, "") => {}
            Err(error) => unanswered.push((session, error)),
            Ok(other) => panic!("session {session}: {other:?}"),
        }
    }
    assert!(
        unanswered.is_empty(),
        "{} of 2000 frames got no answer, e.g. {:?}",
        unanswered.len(),
        unanswered[0]
    );
}
