//! A backlog waiting for a peer that does not take deliveries stays one outbox entry per
//! record, however often reconciliation finds the peer lacking it; and the backlog is
//! delivered once the peer takes deliveries again. Real drivers, cores and memory stores on
//! the test switchboard (common/network.rs).
//!
//! `KVITT_BACKLOG=20000 cargo test --release -p kvitt-node --test outbox_backlog -- --nocapture`
//! measures a larger backlog and prints the outbox size and the time to catch up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::network::{directory_of, outboxes_empty, push, wait_until, Hub, Node, Party};
use kvitt_node::core::{Caller, CallerRole, ClientRequest, ClientResponse};
use kvitt_node::store::MemoryStore;

/// Receipts waiting, unless `KVITT_BACKLOG` says otherwise.
const DEFAULT_BACKLOG: u64 = 300;

/// Reconciliation sessions run while the backlog waits.
const SESSIONS: usize = 5;

/// Bounds a failing run only.
const DEADLINE: Duration = Duration::from_secs(600);

#[test]
fn sessions_against_a_peer_that_refuses_deliveries_leave_one_outbox_entry_per_record() {
    let backlog =
        std::env::var("KVITT_BACKLOG").ok().and_then(|value| value.parse().ok()).unwrap_or(DEFAULT_BACKLOG);
    let (merchant, agency, ssc) = (Party::merchant(1), Party::agency(1), Party::ssc());
    let directory =
        directory_of(&[merchant.clone(), agency.clone(), ssc.clone()], std::slice::from_ref(&agency.org));
    let hub = Hub::new();
    hub.refuse_deliveries(true);
    let merchant_node = Node::start(&hub, &merchant, &directory, MemoryStore::new().into());
    let agency_node = Node::start(&hub, &agency, &directory, MemoryStore::new().into());
    let pushed = Instant::now();
    let ids: Vec<_> = (1..=backlog).map(|serial| push(&merchant_node, &agency, serial)).collect();
    let pushed = pushed.elapsed();

    let operator = Caller { person: "operator".into(), role: CallerRole::Operator };
    for _ in 0..SESSIONS {
        let request = ClientRequest::Reconcile { peer: Some(agency.org.clone()) };
        let answer = merchant_node.ask(operator.clone(), request).unwrap();
        let ClientResponse::Reconciled(sessions) = &answer else { panic!("{answer:?}") };
        assert!(!sessions.is_empty(), "{answer:?}");
    }
    // One more request, which the node's single actor takes after the sessions' results.
    merchant_node.ask(operator, ClientRequest::Directory).unwrap();
    let entries = outbox_len(&merchant_node, &agency);
    eprintln!(
        "{backlog} receipts waiting, {SESSIONS} sessions: {entries} outbox entries (pushed in {pushed:?})"
    );
    assert_eq!(entries, ids.len(), "one outbox entry per record");

    hub.refuse_deliveries(false);
    let took = wait_until("the backlog is delivered", DEADLINE, || {
        let ledger = agency_node.ledger();
        let lacking = ids.iter().filter(|id| !ledger.contains(id).unwrap()).count();
        match (lacking, outboxes_empty(&merchant_node.store)) {
            (0, true) => Ok(()),
            (lacking, _) => Err(format!("{lacking} receipts missing, or the outbox not drained")),
        }
    });
    eprintln!("caught up in {took:?}");
}

/// The merchant's outbox entries for `agency`.
fn outbox_len(node: &Node, agency: &Party) -> usize {
    let ledger = node.ledger();
    let mut count = 0;
    let mut after = None;
    loop {
        let page = ledger.outbox_after(&agency.key(), after, kvitt_node::ledger::MAX_SCAN_ENTRIES).unwrap();
        let Some((last, _)) = page.last() else {
            return count;
        };
        after = Some(*last);
        count += page.len();
    }
}
