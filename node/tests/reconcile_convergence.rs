//! Reconciliation between running nodes converges: whatever records a network's nodes hold
//! after deliveries were lost, once every node (re)starts and runs its start-up
//! reconciliation, each holds exactly the records of the channels it is in, and no node
//! ever sends a record to a member outside the record's channels. Real drivers, cores and
//! memory stores, joined by the test switchboard (common/network.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::network::{
    claim, directory_of, held, outboxes_empty, push, receipt_id, wait_until, Hub, Node, Party,
};
use kvitt_node::store::{Batch, MemoryStore, Store};
use kvitt_protocol::{PublicKey, RecordId};
use proptest::prelude::*;

/// Generous: convergence takes well under a second; this only bounds a failing run.
const DEADLINE: Duration = Duration::from_secs(30);

/// For the 2,000 receipts' reconciliation and delivery: 3 to 11 s on two busy cores.
const BULK_DEADLINE: Duration = Duration::from_secs(120);

/// One receipt of a random network: its merchant, its buying agency, whether the
/// agency received it (else its delivery was lost), and which of the agency's two claims
/// (if any) attaches it, if the agency holds it.
#[derive(Clone, Debug)]
struct ReceiptPlan {
    merchant: usize,
    agency: usize,
    delivered: bool,
    claim: Option<usize>,
}

/// A random network and what its nodes hold before they reconcile.
#[derive(Clone, Debug)]
struct Plan {
    merchants: usize,
    /// Which of the two agencies the SSC serves.
    served: [bool; 2],
    receipts: Vec<ReceiptPlan>,
    /// Per agency and claim: approved (and so delivered to the SSC, if one serves the
    /// agency), or only submitted (which no delivery sends the SSC: only reconciliation).
    approved: [[bool; 2]; 2],
    /// The order in which the nodes start again (indexes into merchants, agencies, SSC).
    start_order: Vec<usize>,
}

fn plan() -> impl Strategy<Value = Plan> {
    let receipt = (0usize..3, 0usize..2, any::<bool>(), prop::option::of(0usize..2))
        .prop_map(|(merchant, agency, delivered, claim)| ReceiptPlan { merchant, agency, delivered, claim });
    (
        2usize..=3,
        any::<[bool; 2]>(),
        prop::collection::vec(receipt, 1..=10),
        any::<[[bool; 2]; 2]>(),
        Just((0..6).collect::<Vec<usize>>()).prop_shuffle(),
    )
        .prop_map(|(merchants, served, receipts, approved, start_order)| {
            let receipts = receipts
                .into_iter()
                .map(|receipt| ReceiptPlan { merchant: receipt.merchant % merchants, ..receipt })
                .collect();
            let start_order = start_order.into_iter().filter(|&node| node < merchants + 3).collect();
            Plan { merchants, served, receipts, approved, start_order }
        })
}

/// Which nodes each record is entitled to, by the channel table (protocol/src/channel.rs),
/// computed from the plan, not from the node's code.
type Entitled = BTreeMap<RecordId, BTreeSet<PublicKey>>;

fn run(plan: &Plan) {
    let merchants: Vec<Party> = (1..=plan.merchants).map(|n| Party::merchant(n as u8)).collect();
    let agencies = [Party::agency(1), Party::agency(2)];
    let ssc = Party::ssc();
    let parties: Vec<Party> =
        merchants.iter().chain(&agencies).chain(std::iter::once(&ssc)).cloned().collect();
    let served: Vec<String> =
        (0..2).filter(|&agency| plan.served[agency]).map(|agency| agencies[agency].org.clone()).collect();
    let directory = directory_of(&parties, &served);

    // The receipts' ids (merchants sign deterministically), and the deliveries to lose.
    let mut serials = vec![0u64; plan.merchants];
    let mut receipts = Vec::new();
    let mut lost = BTreeSet::new();
    for receipt in &plan.receipts {
        serials[receipt.merchant] += 1;
        let serial = serials[receipt.merchant];
        let id = receipt_id(&merchants[receipt.merchant], &agencies[receipt.agency], serial);
        if !receipt.delivered {
            lost.insert((agencies[receipt.agency].key(), id));
        }
        receipts.push((id, serial));
    }

    // Phase 1: the nodes run with reconciliation refused, and the chosen deliveries are lost.
    let hub = Hub::new();
    hub.block_reconciliation(true);
    hub.lose(Some(Arc::new(move |to: &PublicKey, record: &kvitt_protocol::AnyRecord| {
        lost.contains(&(*to, record.id()))
    })));
    let stores: Vec<Arc<MemoryStore>> = parties.iter().map(|_| Arc::new(MemoryStore::new())).collect();
    let nodes: Vec<Node> = parties
        .iter()
        .zip(&stores)
        .map(|(party, store)| Node::start(&hub, party, &directory, store.clone()))
        .collect();
    let (merchant_nodes, rest) = nodes.split_at(plan.merchants);
    let agency_nodes = &rest[..2];

    let mut entitled = Entitled::new();
    for (receipt, (id, serial)) in plan.receipts.iter().zip(&receipts) {
        let pushed = push(&merchant_nodes[receipt.merchant], &agencies[receipt.agency], *serial);
        assert_eq!(pushed, *id);
        entitled.insert(*id, [merchants[receipt.merchant].key(), agencies[receipt.agency].key()].into());
    }
    wait_until("deliveries of the receipts", DEADLINE, || {
        for (receipt, (id, _)) in plan.receipts.iter().zip(&receipts) {
            if receipt.delivered && !agency_nodes[receipt.agency].ledger().contains(id).unwrap() {
                return Err(format!("{} lacks {}", agencies[receipt.agency].name, id.short()));
            }
        }
        match merchant_nodes.iter().all(|node| outboxes_empty(&node.store)) {
            true => Ok(()),
            false => Err("a merchant's outbox is not empty".into()),
        }
    });
    for (agency, node) in agency_nodes.iter().enumerate() {
        for slot in 0..2 {
            let attached: Vec<RecordId> = plan
                .receipts
                .iter()
                .zip(&receipts)
                .filter(|(receipt, _)| {
                    receipt.agency == agency && receipt.delivered && receipt.claim == Some(slot)
                })
                .map(|(_, (id, _))| *id)
                .collect();
            if attached.is_empty() {
                continue;
            }
            let (claim, events) = claim(node, &attached, plan.approved[agency][slot]);
            let mut channel: BTreeSet<PublicKey> = [agencies[agency].key()].into();
            // A claim joins its SSC's channel when it is approved, not before.
            if plan.served[agency] && plan.approved[agency][slot] {
                channel.insert(ssc.key());
                for receipt in &attached {
                    entitled.get_mut(receipt).unwrap().insert(ssc.key());
                }
            }
            for id in std::iter::once(claim).chain(events) {
                entitled.insert(id, channel.clone());
            }
        }
    }
    wait_until("deliveries of the approved claims", DEADLINE, || {
        match nodes.iter().all(|node| outboxes_empty(&node.store)) {
            true => Ok(()),
            false => Err("an outbox is not empty".into()),
        }
    });
    let expected = |key: &PublicKey| -> BTreeSet<RecordId> {
        entitled.iter().filter(|(_, holders)| holders.contains(key)).map(|(id, _)| *id).collect()
    };
    let missing: usize =
        nodes.iter().map(|node| expected(&node.party.key()).difference(&held(&node.store)).count()).sum();
    drop(nodes);

    // Phase 2: every node starts again, in random order; their start-up sessions run.
    hub.block_reconciliation(false);
    hub.lose(None);
    let mut restarted: Vec<Option<Node>> = parties.iter().map(|_| None).collect();
    for &index in &plan.start_order {
        restarted[index] = Some(Node::start(&hub, &parties[index], &directory, stores[index].clone()));
    }
    let nodes: Vec<Node> = restarted.into_iter().map(Option::unwrap).collect();
    let took = wait_until("convergence", DEADLINE, || {
        for node in &nodes {
            let (holds, expected) = (held(&node.store), expected(&node.party.key()));
            if holds != expected {
                let lacks: Vec<String> = expected.difference(&holds).map(RecordId::short).collect();
                let extra: Vec<String> = holds.difference(&expected).map(RecordId::short).collect();
                return Err(format!(
                    "{} lacks {lacks:?} and holds {extra:?} beyond its channels",
                    node.party.name
                ));
            }
        }
        Ok(())
    });
    // Nothing ever went to a member outside the record's channels, in either phase.
    for sent in hub.sent() {
        let holders =
            entitled.get(&sent.id).unwrap_or_else(|| panic!("{} sent an unknown record", sent.from.short()));
        assert!(
            holders.contains(&sent.to),
            "{} sent {} to {}, outside its channels",
            sent.from.short(),
            sent.id.short(),
            sent.to.short()
        );
    }
    eprintln!("{} records, {missing} missing before reconciliation, converged in {took:?}", entitled.len());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 8, failure_persistence: None, ..ProptestConfig::default() })]

    /// 12 random networks: 2–3 merchants, two agencies each served by the SSC or not, up to
    /// ten receipts from random merchants to random agencies, each delivered or lost, and
    /// up to two claims per agency over the receipts it holds, approved (delivered to the
    /// SSC) or only submitted. Every node starts again, in random order: its start-up
    /// sessions bring each node exactly its channels' records, and no node sends a record
    /// to a member outside its channels.
    ///
    /// A claim that is only submitted is not in its SSC's channel: it joins when approved
    /// (see a_receipt_of_a_withdrawn_claim_can_be_claimed_again_after_reconciliation).
    #[test]
    fn every_node_ends_up_with_exactly_its_channels_records(plan in plan()) {
        run(&plan);
    }
}

/// Removes every outbox entry of `store` for `peer`, as after a restore of the disk from
/// a backup older than the entries.
fn lose_outbox(store: &Arc<MemoryStore>, peer: &PublicKey) -> usize {
    let ledger = kvitt_node::ledger::Ledger::new(store.clone());
    let mut removed = 0;
    loop {
        let entries = ledger.outbox(peer, kvitt_node::ledger::MAX_SCAN_ENTRIES).unwrap();
        if entries.is_empty() {
            return removed;
        }
        let mut batch = Batch::new();
        for (sequence, _) in &entries {
            batch.remove(kvitt_node::ledger::keys::outbox(peer, *sequence));
        }
        store.apply(&batch).unwrap();
        removed += entries.len();
    }
}

const LONG_DOWN_RECEIPTS: u64 = 2_000;

/// The three fixture nodes' parties and directory.
fn three() -> (Party, Party, Party, kvitt_protocol::Signed<kvitt_protocol::directory::Directory>) {
    let (merchant, agency, ssc) = (Party::merchant(1), Party::agency(1), Party::ssc());
    let directory =
        directory_of(&[merchant.clone(), agency.clone(), ssc.clone()], std::slice::from_ref(&agency.org));
    (merchant, agency, ssc, directory)
}

/// Pushes serials 1 to `count` for `agency` at `node` (a merchant's); their ids.
fn push_many(node: &Node, agency: &Party, count: u64) -> Vec<RecordId> {
    (1..=count).map(|serial| push(node, agency, serial)).collect()
}

fn wait_for_all(node: &Node, ids: &[RecordId]) -> Duration {
    wait_until("all receipts at the agency", BULK_DEADLINE, || {
        let ledger = node.ledger();
        let lacking = ids.iter().filter(|id| !ledger.contains(id).unwrap()).count();
        match lacking {
            0 => Ok(()),
            lacking => Err(format!("{lacking} of {} receipts still missing", ids.len())),
        }
    })
}

/// The SSC holds no receipt and none was ever sent to it.
fn ssc_got_none(hub: &Hub, ssc: &Node, ids: &[RecordId]) {
    let ledger = ssc.ledger();
    assert!(ids.iter().all(|id| !ledger.contains(id).unwrap()), "the SSC holds a receipt");
    let ids: BTreeSet<&RecordId> = ids.iter().collect();
    assert!(
        !hub.sent().iter().any(|sent| sent.to == ssc.party.key() && ids.contains(&sent.id)),
        "a receipt was sent to the SSC"
    );
}

#[test]
fn an_agency_down_while_its_deliveries_were_lost_gets_all_two_thousand_receipts_on_start() {
    let (merchant, agency, ssc, directory) = three();
    let hub = Hub::new();
    let merchant_store = Arc::new(MemoryStore::new());
    let merchant_node = Node::start(&hub, &merchant, &directory, merchant_store.clone());
    let ssc_node = Node::start(&hub, &ssc, &directory, Arc::new(MemoryStore::new()));

    // The agency is down while the merchant's tills push 2,000 receipts.
    let started = Instant::now();
    let ids = push_many(&merchant_node, &agency, LONG_DOWN_RECEIPTS);
    let pushed = started.elapsed();
    // The merchant's disk is restored from a backup without the outbox entries, and the
    // merchant starts again: nothing will deliver the receipts.
    merchant_node.stop();
    assert_eq!(lose_outbox(&merchant_store, &agency.key()), ids.len());
    let _merchant_node = Node::start(&hub, &merchant, &directory, merchant_store.clone());

    // The agency comes back with an empty ledger; its start-up session finds all of them.
    let started = Instant::now();
    let agency_node = Node::start(&hub, &agency, &directory, Arc::new(MemoryStore::new()));
    let took = wait_for_all(&agency_node, &ids);
    ssc_got_none(&hub, &ssc_node, &ids);
    assert_eq!(held(&agency_node.store).len(), ids.len(), "the agency holds exactly the merchant's receipts");
    eprintln!(
        "pushed {} in {pushed:?}; reconciled in {took:?} ({:?} from start)",
        ids.len(),
        started.elapsed()
    );
}

#[test]
fn an_agency_restored_from_an_empty_ledger_gets_all_two_thousand_receipts_back() {
    let (merchant, agency, ssc, directory) = three();
    let hub = Hub::new();
    let merchant_node = Node::start(&hub, &merchant, &directory, Arc::new(MemoryStore::new()));
    let ssc_node = Node::start(&hub, &ssc, &directory, Arc::new(MemoryStore::new()));
    let agency_node = Node::start(&hub, &agency, &directory, Arc::new(MemoryStore::new()));
    let ids = push_many(&merchant_node, &agency, LONG_DOWN_RECEIPTS);
    wait_for_all(&agency_node, &ids);
    wait_until("the merchant's outbox drains", BULK_DEADLINE, || {
        match outboxes_empty(&merchant_node.store) {
            true => Ok(()),
            false => Err("not yet".into()),
        }
    });

    // A bad restore: the agency starts again from an empty ledger.
    agency_node.stop();
    let agency_node = Node::start(&hub, &agency, &directory, Arc::new(MemoryStore::new()));
    let took = wait_for_all(&agency_node, &ids);
    ssc_got_none(&hub, &ssc_node, &ids);
    assert_eq!(held(&agency_node.store).len(), ids.len());
    eprintln!("restored {} receipts in {took:?}", ids.len());
}

/// The exceptions a node lists (record, why).
fn exceptions(node: &Node) -> Vec<(RecordId, String)> {
    let caller =
        kvitt_node::core::Caller { person: "operator".into(), role: kvitt_node::core::CallerRole::Operator };
    match node
        .ask(caller, kvitt_node::core::ClientRequest::Exceptions { limit: 100, all: true, after: None })
        .unwrap()
    {
        kvitt_node::core::ClientResponse::Exceptions(exceptions) => {
            exceptions.items.into_iter().map(|exception| (exception.id, exception.why)).collect()
        }
        other => panic!("{other:?}"),
    }
}

/// Waits until `node` holds `ids`; a failure shows the exceptions `peers` list.
fn wait_holds(node: &Node, ids: &[RecordId], peers: &[&Node]) -> Duration {
    let what = format!("{} holds its records", node.party.name);
    wait_until(&what, DEADLINE, || {
        let holds = held(&node.store);
        let lacks: Vec<String> = ids.iter().filter(|id| !holds.contains(id)).map(RecordId::short).collect();
        if lacks.is_empty() {
            return Ok(());
        }
        let exceptions: Vec<_> = peers.iter().map(|peer| (&peer.party.name, exceptions(peer))).collect();
        Err(format!("lacks {lacks:?}; exceptions: {exceptions:?}"))
    })
}

#[test]
fn approved_claims_whose_delivery_was_lost_reach_the_ssc_by_one_round_of_reconciliation() {
    let (merchant, agency, ssc, directory) = three();
    let hub = Hub::new();
    hub.block_reconciliation(true);
    let ssc_key = ssc.key();
    hub.lose(Some(Arc::new(move |to: &PublicKey, _: &kvitt_protocol::AnyRecord| *to == ssc_key)));
    let parties = [merchant, agency, ssc];
    let stores: Vec<Arc<MemoryStore>> = parties.iter().map(|_| Arc::new(MemoryStore::new())).collect();
    let mut nodes: Vec<Node> = parties
        .iter()
        .zip(&stores)
        .map(|(party, store)| Node::start(&hub, party, &directory, store.clone()))
        .collect();
    let receipts = push_many(&nodes[0], &parties[1], 16);
    wait_for_all(&nodes[1], &receipts);
    // Approved claims until one's approved event has a smaller id than its submitted event
    // (half of them do): the order reconciliation sends them in.
    let mut expected = Vec::new();
    for receipt in &receipts {
        let (claim, events) = claim(&nodes[1], &[*receipt], true);
        expected.extend([*receipt, claim]);
        expected.extend(&events);
        if events[1] < events[0] {
            break;
        }
    }
    wait_until("the deliveries to the SSC are lost", DEADLINE, || match outboxes_empty(&nodes[1].store) {
        true => Ok(()),
        false => Err("not yet".into()),
    });
    assert!(held(&nodes[2].store).is_empty());
    hub.block_reconciliation(false);
    hub.lose(None);
    for node in &mut nodes {
        node.restart(&directory);
    }
    wait_holds(&nodes[2], &expected, &[&nodes[1]]);
    assert_eq!(exceptions(&nodes[1]), vec![], "the agency's own events refused by its SSC");
}

#[test]
fn a_merchant_restored_from_an_empty_ledger_gets_its_receipts_back() {
    let (merchant, agency, _ssc, directory) = three();
    let hub = Hub::new();
    let mut merchant_node = Node::start(&hub, &merchant, &directory, Arc::new(MemoryStore::new()));
    let agency_node = Node::start(&hub, &agency, &directory, Arc::new(MemoryStore::new()));
    let receipts = push_many(&merchant_node, &agency, 5);
    wait_for_all(&agency_node, &receipts);
    merchant_node.stop();
    merchant_node = Node::start(&hub, &merchant, &directory, Arc::new(MemoryStore::new()));
    wait_holds(&merchant_node, &receipts, &[&agency_node]);
    assert_eq!(exceptions(&agency_node), vec![]);
}

#[test]
fn an_agency_restored_from_an_empty_ledger_gets_its_claims_back_from_its_ssc() {
    let (merchant, agency, ssc, directory) = three();
    let hub = Hub::new();
    let merchant_node = Node::start(&hub, &merchant, &directory, Arc::new(MemoryStore::new()));
    let agency_node = Node::start(&hub, &agency, &directory, Arc::new(MemoryStore::new()));
    let ssc_node = Node::start(&hub, &ssc, &directory, Arc::new(MemoryStore::new()));
    let receipts = push_many(&merchant_node, &agency, 16);
    wait_for_all(&agency_node, &receipts);
    // Approved claims, the last with its approved event's id below its submitted event's
    // (as half of them have), so that the records come back in both orders.
    let mut records = Vec::new();
    for receipt in &receipts {
        let (claim, events) = claim(&agency_node, &[*receipt], true);
        records.extend([*receipt, claim]);
        records.extend(&events);
        if events[1] < events[0] {
            break;
        }
    }
    wait_holds(&ssc_node, &records, &[&agency_node]);
    agency_node.stop();
    let agency_node = Node::start(&hub, &agency, &directory, Arc::new(MemoryStore::new()));
    wait_holds(&agency_node, &records, &[&ssc_node]);
    assert_eq!(exceptions(&ssc_node), vec![]);
}

#[test]
fn a_receipt_of_a_withdrawn_claim_can_be_claimed_again_after_reconciliation() {
    let (merchant, agency, ssc, directory) = three();
    let hub = Hub::new();
    let merchant_node = Node::start(&hub, &merchant, &directory, Arc::new(MemoryStore::new()));
    let agency_node = Node::start(&hub, &agency, &directory, Arc::new(MemoryStore::new()));
    let mut ssc_node = Node::start(&hub, &ssc, &directory, Arc::new(MemoryStore::new()));
    let receipts = push_many(&merchant_node, &agency, 1);
    wait_for_all(&agency_node, &receipts);
    // Claim A is submitted; a round of reconciliation runs (here: the SSC restarts, then
    // its operator asks for one more). A claim joins its SSC's channel when approved, so
    // the SSC does not get A.
    let (first, _) = claim(&agency_node, &receipts, false);
    ssc_node.restart(&directory);
    let operator =
        kvitt_node::core::Caller { person: "op".into(), role: kvitt_node::core::CallerRole::Operator };
    let sync = kvitt_node::core::ClientRequest::Reconcile { peer: Some(agency.org.clone()) };
    let kvitt_node::core::ClientResponse::Reconciled(sessions) = ssc_node.ask(operator, sync).unwrap() else {
        panic!("not a reconciliation")
    };
    let needs: Vec<usize> = sessions.iter().map(|session| session.result.as_ref().unwrap().need).collect();
    assert_eq!(needs, vec![0], "a claim only submitted is not in the SSC's channel");
    assert!(!ssc_node.ledger().contains(&first).unwrap());
    // The employee withdraws A and claims the receipt again in B, which is approved.
    let withdraw = kvitt_node::core::ClientRequest::Decide {
        claim: first,
        action: kvitt_protocol::event::Action::Withdrawn,
    };
    agency_node.ask(common::network::employee(), withdraw).unwrap();
    let (second, events) = claim(&agency_node, &receipts, true);
    // The SSC judges B in the step that stores its approval: rejected at once if at all.
    wait_holds(&ssc_node, &events, &[&agency_node]);
    let status = ssc_node.ledger().claim_state(&second).unwrap().map(|state| state.status);
    assert_eq!(status, Some(kvitt_protocol::event::Status::Approved), "{:?}", exceptions(&ssc_node));
}
