//! Reconciliation between running nodes (drivers, cores, memory stores, the in-process
//! link): a record whose delivery was lost still reaches its peer, and only its peer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{AGENCY_ORG, MERCHANT_ORG, SSC_ORG};
use kvitt_node::core::{
    Caller, CallerRole, ClientRequest, ClientResponse, CoreConfig, Identity, NodeCore, RetryPolicy,
};
use kvitt_node::handle::NodeHandle;
use kvitt_node::ledger::Ledger;
use kvitt_node::local_link::LocalNetwork;
use kvitt_node::runtime::RuntimeConfig;
use kvitt_node::store::group_commit::GroupCommit;
use kvitt_node::store::{Batch, MemoryStore, Store};
use kvitt_protocol::directory::MemberRole;

/// Starts the node of `party` on the link and returns its handle and store.
fn start(link: &LocalNetwork, party: &str, org: &str, role: MemberRole) -> (NodeHandle, Arc<MemoryStore>) {
    start_with_retry(link, party, org, role, RetryPolicy { initial_ms: 20, max_ms: 200 })
}

/// [`start`], with deliveries retried as `retry` says.
fn start_with_retry(
    link: &LocalNetwork,
    party: &str,
    org: &str,
    role: MemberRole,
    retry: RetryPolicy,
) -> (NodeHandle, Arc<MemoryStore>) {
    start_configured(link, party, org, role, retry, RuntimeConfig::default())
}

/// [`start_with_retry`], with the driver configured as `runtime` says.
fn start_configured(
    link: &LocalNetwork,
    party: &str,
    org: &str,
    role: MemberRole,
    retry: RetryPolicy,
    runtime: RuntimeConfig,
) -> (NodeHandle, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let commit = Arc::new(GroupCommit::start(store.clone() as Arc<dyn Store>).unwrap());
    let identity = Identity { signing_key: common::key(party), org: org.into(), role };
    let config = CoreConfig {
        operator: common::public("ssc"),
        retry,
        delivery_batch: 256,
        seed: 1,
        entropy: [1; 32],
        reconcile_interval: kvitt_node::core::DEFAULT_RECONCILE_INTERVAL,
        reference_rates: Some(kvitt_books::ReferenceRates::example().unwrap()),
        policy: Default::default(),
        uncollected_days: kvitt_node::core::DEFAULT_UNCOLLECTED_DAYS,
        routing_key: None,
    };
    let core = NodeCore::start(identity, config, common::directory(), store.clone()).unwrap();
    let transport = link.endpoint(common::public(party));
    let (handle, inbox) = kvitt_node::runtime::spawn_with(core, commit, transport, runtime);
    link.attach(common::public(party), inbox);
    (handle, store)
}

/// Pushes `receipts` at `merchant` while `peer` is cut off, waits until a delivery has
/// failed, and loses the outbox entries (as a bad restore would); the receipts' ids. The
/// merchant must retry so rarely that no retry falls within the test.
async fn push_undelivered(
    link: &LocalNetwork,
    merchant: &NodeHandle,
    store: &Arc<MemoryStore>,
    peer: kvitt_protocol::PublicKey,
    receipts: Vec<kvitt_protocol::receipt::Receipt>,
) -> Vec<kvitt_protocol::RecordId> {
    link.take_down(peer);
    let before = link.cut_off_requests(&peer);
    let till = Caller { person: "till-1".into(), role: CallerRole::Till };
    let mut ids = Vec::new();
    for receipt in receipts {
        let pushed = merchant.ask(till.clone(), ClientRequest::PushReceipt(Box::new(receipt))).await.unwrap();
        let ClientResponse::Pushed { id, .. } = pushed else { panic!("{pushed:?}") };
        ids.push(id);
    }
    for _ in 0..200 {
        if link.cut_off_requests(&peer) > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(link.cut_off_requests(&peer) > before, "the delivery was attempted and failed");
    lose_outbox(store, &peer);
    link.bring_up(&peer);
    ids
}

/// Waits up to ten seconds for `condition`, asserting it then, with `what` as the message.
async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(condition().await, "{what}");
}

/// Deliveries retried only after ten minutes: never within a test.
const NO_RETRY: RetryPolicy = RetryPolicy { initial_ms: 600_000, max_ms: 600_000 };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_whose_delivery_was_lost_reaches_the_agency_by_reconciliation_and_no_one_else() {
    let link = LocalNetwork::new();
    let (merchant, merchant_store) = start(&link, "merchant", MERCHANT_ORG, MemberRole::Merchant);
    let till = Caller { person: "till-1".into(), role: CallerRole::Till };
    let pushed =
        merchant.ask(till, ClientRequest::PushReceipt(Box::new(common::receipt_body(1)))).await.unwrap();
    let ClientResponse::Pushed { id, .. } = pushed else { panic!("{pushed:?}") };

    // The delivery is lost: the merchant's outbox entry is gone, as after a bad restore.
    let outbox = Ledger::new(merchant_store.clone()).outbox(&common::public("agency"), 10).unwrap();
    assert_eq!(outbox.len(), 1, "the agency is not on the link yet: the receipt waits in the outbox");
    let mut lose = Batch::new();
    for (sequence, _) in outbox {
        lose.remove(kvitt_node::ledger::keys::outbox(&common::public("agency"), sequence));
    }
    merchant_store.apply(&lose).unwrap();

    // The agency and the SSC start; each reconciles with its peers at once.
    let (_agency, agency_store) = start(&link, "agency", AGENCY_ORG, MemberRole::Agency);
    let (_ssc, ssc_store) = start(&link, "ssc", SSC_ORG, MemberRole::Ssc);
    eventually("reconciliation brought the receipt to the agency", async || {
        Ledger::new(agency_store.clone()).contains(&id).unwrap()
    })
    .await;
    assert!(
        !Ledger::new(ssc_store.clone()).contains(&id).unwrap(),
        "the SSC is not in the receipt's channel"
    );
}

/// Runs one reconciliation session as `from` against the node `to` over the link, with
/// `items` on our side; the outcome and the number of frames we sent.
async fn session_against(
    link: &LocalNetwork,
    from: &str,
    to: &str,
    items: &[kvitt_protocol::reconcile::Item],
) -> (kvitt_protocol::reconcile::Outcome, usize) {
    use kvitt_protocol::reconcile::{Initiator, Salt, Step};
    use kvitt_protocol::wire::{RecordBytes, Request, RequestBody, Response, ResponseBody};
    let transport = link.endpoint(common::public(from));
    let mut initiator = Initiator::new(items, Salt([3; 16])).unwrap();
    let mut frame = initiator.start().unwrap();
    let mut sent = 0;
    loop {
        sent += 1;
        let request = Request {
            directory_version: 1,
            body: RequestBody::Reconcile { session: 1, frame: RecordBytes(frame), window: None },
        };
        let address = "127.0.0.1:9".parse().unwrap();
        let answer = transport.request(common::public(to), address, request.encode().unwrap()).await.unwrap();
        let ResponseBody::Reconcile { frame: Some(answer) } = Response::decode(&answer).unwrap().body else {
            panic!("no frame back")
        };
        match initiator.receive(&answer.0).unwrap() {
            Step::Send(next) => frame = next,
            Step::Done { outcome, .. } => return (outcome, sent),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_outside_a_channel_learns_nothing_of_it_not_even_its_size() {
    let link = LocalNetwork::new();
    let (merchant, _store) = start(&link, "merchant", MERCHANT_ORG, MemberRole::Merchant);
    let till = Caller { person: "till-1".into(), role: CallerRole::Till };
    for serial in 1..=5 {
        merchant
            .ask(till.clone(), ClientRequest::PushReceipt(Box::new(common::receipt_body(serial))))
            .await
            .unwrap();
    }
    // The SSC shares no channel with the merchant: against an empty set the session ends at
    // once (the merchant's answer is the fingerprint of an empty channel) and names no id.
    let (outcome, frames) = session_against(&link, "ssc", "merchant", &[]).await;
    assert!(outcome.need.count() == 0 && outcome.have.is_empty(), "{outcome:?}");
    assert_eq!(frames, 1, "identical (empty) sets: one round trip, nothing about the five receipts");
    // The agency, which shares the channel, learns all five the same way.
    let (outcome, _) = session_against(&link, "agency", "merchant", &[]).await;
    assert_eq!(outcome.need.count(), 5, "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_reconciles_on_demand_and_sees_what_the_session_found() {
    let link = LocalNetwork::new();
    let (merchant, merchant_store) =
        start_with_retry(&link, "merchant", MERCHANT_ORG, MemberRole::Merchant, NO_RETRY);
    let (_agency, agency_store) = start(&link, "agency", AGENCY_ORG, MemberRole::Agency);
    let operator = Caller { person: "op".into(), role: CallerRole::Operator };
    let sync = |caller: &Caller, peer: &str| {
        merchant.ask(caller.clone(), ClientRequest::Reconcile { peer: Some(peer.to_owned()) })
    };
    let reconciled = |response: ClientResponse| match response {
        ClientResponse::Reconciled(sessions) => {
            assert_eq!(sessions.len(), 1, "{sessions:?}");
            assert_eq!(sessions[0].peer, common::public("agency"));
            assert_eq!(sessions[0].org, AGENCY_ORG);
            sessions[0].result.clone().unwrap()
        }
        other => panic!("{other:?}"),
    };

    // Nothing differs: one round trip each way.
    let summary = reconciled(sync(&operator, AGENCY_ORG).await.unwrap());
    assert_eq!((summary.have.len(), summary.need, summary.frames_sent), (0, 0, 1), "{summary:?}");
    // Which the operator's view of the peers shows as the agency's last reconciliation,
    // though it found nothing to send.
    let ClientResponse::Peers(peers) = merchant.ask(operator.clone(), ClientRequest::Peers).await.unwrap()
    else {
        panic!("peers");
    };
    let agency = peers.iter().find(|peer| peer.org == AGENCY_ORG).unwrap();
    assert!(agency.last_reconciled.as_deref().is_some_and(|at| at.ends_with("+00:00")), "{agency:?}");

    // The agency is cut off while a receipt is pushed, and the delivery is lost.
    let agency_key = common::public("agency");
    let [id] = push_undelivered(&link, &merchant, &merchant_store, agency_key, vec![common::receipt_body(1)])
        .await[..]
    else {
        panic!()
    };

    // Asked by its node key this time: the session finds the receipt and sends it.
    let summary = reconciled(sync(&operator, &agency_key.to_string()).await.unwrap());
    assert_eq!((summary.have.clone(), summary.need), (vec![id], 0), "{summary:?}");
    eventually("the receipt the session found reached the agency", async || {
        Ledger::new(agency_store.clone()).contains(&id).unwrap()
    })
    .await;

    // Equal again in one round trip: the agency's summary under the merchant's hello salt,
    // kept since the last session, took the receipt in as it was stored.
    let summary = reconciled(sync(&operator, AGENCY_ORG).await.unwrap());
    assert_eq!((summary.have.len(), summary.need, summary.frames_sent), (0, 0, 1), "{summary:?}");

    // Only the operator may ask, only for a member, only for one it shares a channel with.
    let till = Caller { person: "till-1".into(), role: CallerRole::Till };
    let refusal = sync(&till, AGENCY_ORG).await.unwrap_err();
    assert_eq!(refusal.code.as_str(), "auth.forbidden", "{refusal:?}");
    let refusal = sync(&operator, "999999-9999").await.unwrap_err();
    assert_eq!((refusal.code.as_str(), refusal.path.as_str()), ("request.not_found", "peer"), "{refusal:?}");
    let refusal = sync(&operator, SSC_ORG).await.unwrap_err();
    assert_eq!((refusal.code.as_str(), refusal.path.as_str()), ("request.invalid", "peer"), "{refusal:?}");
    assert!(refusal.message.contains("shares no channel"), "{refusal:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_restored_from_an_empty_backup_gets_its_receipts_back_and_never_reuses_a_serial() {
    let link = LocalNetwork::new();
    let (merchant, _lost_store) = start(&link, "merchant", MERCHANT_ORG, MemberRole::Merchant);
    let (_agency, agency_store) = start(&link, "agency", AGENCY_ORG, MemberRole::Agency);
    let till = Caller { person: "till-1".into(), role: CallerRole::Till };
    let mut ids = Vec::new();
    for serial in 1..=3 {
        let pushed = merchant
            .ask(till.clone(), ClientRequest::PushReceipt(Box::new(common::receipt_body(serial))))
            .await
            .unwrap();
        let ClientResponse::Pushed { id, .. } = pushed else { panic!("{pushed:?}") };
        ids.push(id);
    }
    let held =
        |store: &Arc<MemoryStore>| ids.iter().all(|id| Ledger::new(store.clone()).contains(id).unwrap());
    eventually("the agency holds the three receipts", async || held(&agency_store)).await;

    // The merchant's disk is replaced by an empty backup: it starts again with nothing.
    drop(merchant);
    let (merchant, restored_store) = start(&link, "merchant", MERCHANT_ORG, MemberRole::Merchant);
    eventually("reconciliation brought the merchant's own receipts back from the agency", async || {
        held(&restored_store)
    })
    .await;

    // Its register goes on after them: serial 3 again is refused, 4 is next.
    let mut reused = common::receipt_body(3);
    reused.lines[0].description.push_str(" (again)");
    let refusal = merchant.ask(till.clone(), ClientRequest::PushReceipt(Box::new(reused))).await.unwrap_err();
    assert_eq!(refusal.code.as_str(), "receipt.serial", "{refusal:?}");
    assert!(refusal.message.contains("the next is 4"), "{refusal:?}");
    merchant.ask(till, ClientRequest::PushReceipt(Box::new(common::receipt_body(4)))).await.unwrap();
}

/// Removes every outbox entry of `store` for `peer`: the deliveries are lost.
fn lose_outbox(store: &Arc<MemoryStore>, peer: &kvitt_protocol::PublicKey) {
    let outbox = Ledger::new(store.clone()).outbox(peer, 100).unwrap();
    let mut lose = Batch::new();
    for (sequence, _) in outbox {
        lose.remove(kvitt_node::ledger::keys::outbox(peer, sequence));
    }
    store.apply(&lose).unwrap();
}

/// The ids a node lists as equivocation exceptions.
async fn equivocations(node: &NodeHandle) -> Vec<kvitt_protocol::RecordId> {
    let operator = Caller { person: "op".into(), role: CallerRole::Operator };
    match node.ask(operator, ClientRequest::Exceptions { limit: 100, all: true, after: None }).await.unwrap()
    {
        ClientResponse::Exceptions(list) => list
            .items
            .into_iter()
            .filter(|exception| exception.kind == kvitt_node::core::ExceptionKind::Equivocation)
            .map(|exception| exception.id)
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_receipts_for_one_serial_are_caught_on_both_sides_when_reconciliation_brings_them_together() {
    use kvitt_protocol::wire::{RecordBytes, Request, RequestBody, Response, ResponseBody, Verdict};
    use kvitt_protocol::Signed;
    let link = LocalNetwork::new();
    let (merchant, merchant_store) =
        start_with_retry(&link, "merchant", MERCHANT_ORG, MemberRole::Merchant, NO_RETRY);
    let (agency, agency_store) = start(&link, "agency", AGENCY_ORG, MemberRole::Agency);
    let operator = Caller { person: "op".into(), role: CallerRole::Operator };
    let agency_key = common::public("agency");
    merchant.ask(operator.clone(), ClientRequest::Reconcile { peer: Some(AGENCY_ORG.into()) }).await.unwrap();

    // A twin holding the merchant's key (a second till server, a copy of its disk) signed
    // receipt A for the same serial and delivered it to the agency itself.
    let mut twin = common::receipt_body(1);
    twin.lines[0].description.push_str(" (twin)");
    let a = Signed::sign(twin, &common::key("merchant")).unwrap();
    let request = Request {
        directory_version: 1,
        body: RequestBody::Deliver { records: vec![RecordBytes(a.bytes().to_vec())] },
    };
    let address = "127.0.0.1:9".parse().unwrap();
    let answer = link
        .endpoint(common::public("merchant"))
        .request(agency_key, address, request.encode().unwrap())
        .await
        .unwrap();
    let ResponseBody::Delivered { results } = Response::decode(&answer).unwrap().body else { panic!() };
    assert_eq!(results, vec![Verdict::Stored { id: a.id() }]);

    // The merchant's node signs receipt B for the same serial while the agency is cut off,
    // and the delivery is lost.
    let [b] = push_undelivered(&link, &merchant, &merchant_store, agency_key, vec![common::receipt_body(1)])
        .await[..]
    else {
        panic!()
    };
    assert!(equivocations(&agency).await.is_empty(), "neither side has seen both yet");
    assert!(equivocations(&merchant).await.is_empty());

    // One session: each side gets the receipt it lacked, and each catches the conflict.
    let response = merchant.ask(operator, ClientRequest::Reconcile { peer: Some(AGENCY_ORG.into()) }).await;
    let ClientResponse::Reconciled(sessions) = response.unwrap() else { panic!() };
    let summary = sessions[0].result.clone().unwrap();
    assert_eq!((summary.have, summary.need), (vec![b], 1));
    let mut caught = (Vec::new(), Vec::new());
    eventually("both sides caught it", async || {
        caught = (equivocations(&agency).await, equivocations(&merchant).await);
        !caught.0.is_empty() && !caught.1.is_empty()
    })
    .await;
    // The evidence holds both signed receipts, and neither node silently dropped one.
    for (store, id) in [(&agency_store, caught.0[0]), (&merchant_store, caught.1[0])] {
        let Some(kvitt_protocol::AnyRecord::Evidence(evidence)) =
            Ledger::new(store.clone()).record(&id).unwrap()
        else {
            panic!("no evidence {id}")
        };
        let (first, second) = evidence.body().records().unwrap();
        let mut pair = [first.id(), second.id()];
        pair.sort();
        let mut expected = [a.id(), b];
        expected.sort();
        assert_eq!(pair, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_larger_than_a_session_is_reconciled_window_by_window() {
    let link = LocalNetwork::new();
    let agency_key = common::public("agency");
    // Sessions of at most ten of the merchant's items: 35 receipts take four windows.
    let runtime = RuntimeConfig { reconcile_window_items: 10 };
    let (merchant, merchant_store) =
        start_configured(&link, "merchant", MERCHANT_ORG, MemberRole::Merchant, NO_RETRY, runtime);
    let (_agency, agency_store) = start(&link, "agency", AGENCY_ORG, MemberRole::Agency);
    // One a minute, so that the channel's items have times to cut windows at.
    let receipt = |serial: u64| {
        let mut receipt = common::receipt_body(serial);
        receipt.issued_at = format!("2026-05-04T08:{serial:02}:00+02:00");
        receipt
    };
    // The agency gets the first twenty; the last fifteen's deliveries are lost.
    let till = Caller { person: "till-1".into(), role: CallerRole::Till };
    let mut ids = Vec::new();
    for serial in 1..=20 {
        let pushed = merchant.ask(till.clone(), ClientRequest::PushReceipt(Box::new(receipt(serial)))).await;
        let Ok(ClientResponse::Pushed { id, .. }) = pushed else { panic!("{pushed:?}") };
        ids.push(id);
    }
    let held = |ids: &[kvitt_protocol::RecordId]| {
        ids.iter().all(|id| Ledger::new(agency_store.clone()).contains(id).unwrap())
    };
    eventually("the first twenty were delivered", async || held(&ids)).await;
    let lost =
        push_undelivered(&link, &merchant, &merchant_store, agency_key, (21..=35).map(receipt).collect())
            .await;
    ids.extend(lost.iter().copied());

    let operator = Caller { person: "op".into(), role: CallerRole::Operator };
    let response = merchant.ask(operator, ClientRequest::Reconcile { peer: Some(AGENCY_ORG.into()) }).await;
    let ClientResponse::Reconciled(sessions) = response.unwrap() else { panic!() };
    let summary = sessions[0].result.clone().unwrap();
    assert!(summary.frames_sent >= 4, "a session (a hello at least) per window: {summary:?}");
    let mut found = summary.have.clone();
    found.sort();
    let mut expected = lost.clone();
    expected.sort();
    assert_eq!(found, expected, "the fifteen lost, found across the windows");
    // Each window compared only the agency's records of its times: it lacks nothing.
    assert_eq!(summary.need, 0, "{summary:?}");
    eventually("all 35 reached the agency", async || held(&ids)).await;
}
