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
use kvitt_node::store::group_commit::GroupCommit;
use kvitt_node::store::{Batch, MemoryStore, Store};
use kvitt_protocol::directory::MemberRole;

/// Starts the node of `party` on the link and returns its handle and store.
fn start(link: &LocalNetwork, party: &str, org: &str, role: MemberRole) -> (NodeHandle, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let commit = Arc::new(GroupCommit::start(store.clone() as Arc<dyn Store>).unwrap());
    let identity = Identity { signing_key: common::key(party), org: org.into(), role };
    let config = CoreConfig {
        operator: common::public("ssc"),
        retry: RetryPolicy { initial_ms: 20, max_ms: 200 },
        delivery_batch: 256,
        seed: 1,
    };
    let core = NodeCore::start(identity, config, common::directory(), store.clone()).unwrap();
    let (handle, inbox) = kvitt_node::runtime::spawn(core, commit, link.endpoint(common::public(party)));
    link.attach(common::public(party), inbox);
    (handle, store)
}

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
    let mut arrived = false;
    for _ in 0..200 {
        if Ledger::new(agency_store.clone()).contains(&id).unwrap() {
            arrived = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(arrived, "reconciliation brought the receipt to the agency");
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
            body: RequestBody::Reconcile { session: 1, frame: RecordBytes(frame) },
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
    assert!(outcome.need.is_empty() && outcome.have.is_empty(), "{outcome:?}");
    assert_eq!(frames, 1, "identical (empty) sets: one round trip, nothing about the five receipts");
    // The agency, which shares the channel, learns all five the same way.
    let (outcome, _) = session_against(&link, "agency", "merchant", &[]).await;
    assert_eq!(outcome.need.len(), 5, "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_reconciles_on_demand_and_sees_what_the_session_found() {
    use kvitt_node::ledger::keys;
    let link = LocalNetwork::new();
    let (merchant, merchant_store) = start(&link, "merchant", MERCHANT_ORG, MemberRole::Merchant);
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

    // The agency is cut off while a receipt is pushed, and the delivery is lost.
    link.take_down(common::public("agency"));
    let till = Caller { person: "till-1".into(), role: CallerRole::Till };
    let pushed =
        merchant.ask(till, ClientRequest::PushReceipt(Box::new(common::receipt_body(1)))).await.unwrap();
    let ClientResponse::Pushed { id, .. } = pushed else { panic!("{pushed:?}") };
    let agency_key = common::public("agency");
    let outbox = Ledger::new(merchant_store.clone()).outbox(&agency_key, 10).unwrap();
    assert_eq!(outbox.len(), 1);
    let mut lose = Batch::new();
    for (sequence, _) in outbox {
        lose.remove(keys::outbox(&agency_key, sequence));
    }
    merchant_store.apply(&lose).unwrap();
    link.bring_up(&agency_key);

    // Asked by its node key this time: the session finds the receipt and sends it.
    let summary = reconciled(sync(&operator, &agency_key.to_string()).await.unwrap());
    assert_eq!((summary.have.clone(), summary.need), (vec![id], 0), "{summary:?}");
    let mut arrived = false;
    for _ in 0..200 {
        if Ledger::new(agency_store.clone()).contains(&id).unwrap() {
            arrived = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(arrived, "the receipt the session found reached the agency");

    // Only the operator may ask, only for a member, only for one it shares a channel with.
    let till = Caller { person: "till-1".into(), role: CallerRole::Till };
    let refusal = sync(&till, AGENCY_ORG).await.unwrap_err();
    assert_eq!(refusal.code, "auth.forbidden", "{refusal:?}");
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
    let mut delivered = false;
    for _ in 0..200 {
        if held(&agency_store) {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(delivered, "the agency holds the three receipts");

    // The merchant's disk is replaced by an empty backup: it starts again with nothing.
    drop(merchant);
    let (merchant, restored_store) = start(&link, "merchant", MERCHANT_ORG, MemberRole::Merchant);
    let mut restored = false;
    for _ in 0..200 {
        if held(&restored_store) {
            restored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(restored, "reconciliation brought the merchant's own receipts back from the agency");

    // Its register goes on after them: serial 3 again is refused, 4 is next.
    let mut reused = common::receipt_body(3);
    reused.lines[0].description.push_str(" (again)");
    let refusal = merchant.ask(till.clone(), ClientRequest::PushReceipt(Box::new(reused))).await.unwrap_err();
    assert_eq!(refusal.code, "receipt.serial", "{refusal:?}");
    assert!(refusal.message.contains("the next is 4"), "{refusal:?}");
    merchant.ask(till, ClientRequest::PushReceipt(Box::new(common::receipt_body(4)))).await.unwrap();
}
