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
