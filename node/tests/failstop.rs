//! Failures stop a node loudly, and a full disk does not: real drivers, cores and group
//! commits over a fault-injecting store, on the in-process link.
//!
//! A panic in the core, a failed ledger write and a failed fsync stop the node with the
//! cause, which every caller is told and `NodeHandle::stopped` returns (`kvitt run` then
//! exits non-zero: tests/tests/disk_full.rs runs it). A full disk is refused precisely
//! (`node.disk_full`, retry true) and the node takes writes again by itself once space
//! is freed, losing and doubling nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{AGENCY_ORG, MERCHANT_ORG};
use kvitt_node::core::{
    Caller, CallerRole, ClientRequest, ClientResponse, CoreConfig, Identity, NodeCore, RetryPolicy,
};
use kvitt_node::handle::NodeHandle;
use kvitt_node::ledger::Ledger;
use kvitt_node::local_link::LocalNetwork;
use kvitt_node::store::group_commit::GroupCommit;
use kvitt_node::store::{Batch, Entry, MemoryStore, SpaceGuard, Store, StoreError};
use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::wire::Refusal;
use kvitt_protocol::RecordId;

/// Bounds a hang: every answer here comes at once.
const PATIENCE: Duration = Duration::from_secs(20);

/// The path the faulty store names in its errors.
const LEDGER_DB: &str = "/srv/kvitt/ledger/db";

/// A memory store whose reads can panic and whose writes and syncs can fail, as a disk
/// (EIO) would make them.
#[derive(Default)]
struct Faulty {
    inner: MemoryStore,
    panic_on_read: AtomicBool,
    fail_apply: AtomicBool,
    fail_sync: AtomicBool,
}

impl Faulty {
    fn io_error() -> StoreError {
        StoreError::Io { path: PathBuf::from(LEDGER_DB), error: std::io::Error::from_raw_os_error(5) }
    }
}

impl Store for Faulty {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        assert!(!self.panic_on_read.load(Ordering::SeqCst), "injected fault: reading the ledger panicked");
        self.inner.get(key)
    }

    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>, StoreError> {
        self.inner.scan(prefix, after, limit)
    }

    fn scan_back(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.inner.scan_back(prefix, before, limit)
    }

    fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        if self.fail_apply.load(Ordering::SeqCst) {
            return Err(Faulty::io_error());
        }
        self.inner.apply(batch)
    }

    fn sync(&self) -> Result<(), StoreError> {
        if self.fail_sync.load(Ordering::SeqCst) {
            return Err(Faulty::io_error());
        }
        self.inner.sync()
    }
}

/// Starts `party`'s node over `store` on the link.
fn start(link: &LocalNetwork, party: &str, org: &str, role: MemberRole, store: Arc<dyn Store>) -> NodeHandle {
    let commit = Arc::new(GroupCommit::start(Arc::clone(&store)).unwrap());
    let identity = Identity { signing_key: common::key(party), org: org.into(), role };
    let config = CoreConfig {
        operator: common::public("ssc"),
        retry: RetryPolicy { initial_ms: 20, max_ms: 200 },
        delivery_batch: 256,
        seed: 1,
        entropy: [1; 32],
        reconcile_interval: kvitt_node::core::DEFAULT_RECONCILE_INTERVAL,
        reference_rates: None,
        policy: Default::default(),
        uncollected_days: kvitt_node::core::DEFAULT_UNCOLLECTED_DAYS,
        routing_key: None,
    };
    let core = NodeCore::start(identity, config, common::directory(), store).unwrap();
    let (handle, inbox) = kvitt_node::runtime::spawn(core, commit, link.endpoint(common::public(party)));
    link.attach(common::public(party), inbox);
    handle
}

fn till() -> Caller {
    Caller { person: "till-1".into(), role: CallerRole::Till }
}

/// Pushes serial `serial` at the merchant; the answer, or a failure if none comes.
async fn push(merchant: &NodeHandle, serial: u64) -> Result<ClientResponse, Refusal> {
    let request = ClientRequest::PushReceipt(Box::new(common::receipt_body(serial)));
    tokio::time::timeout(PATIENCE, merchant.ask(till(), request)).await.expect("an answer, not a hang")
}

async fn pushed(merchant: &NodeHandle, serial: u64) -> RecordId {
    match push(merchant, serial).await {
        Ok(ClientResponse::Pushed { id, duplicate: false, .. }) => id,
        other => panic!("push {serial}: {other:?}"),
    }
}

async fn stopped(node: &NodeHandle) -> String {
    tokio::time::timeout(PATIENCE, node.stopped()).await.expect("the node stops")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_the_core_stops_the_node_and_every_caller_is_told_why() {
    let store = Arc::new(Faulty::default());
    let merchant = start(&LocalNetwork::new(), "merchant", MERCHANT_ORG, MemberRole::Merchant, store.clone());
    pushed(&merchant, 1).await;
    store.panic_on_read.store(true, Ordering::SeqCst);
    let refusal = push(&merchant, 2).await.unwrap_err();
    let cause = "the node's core panicked: injected fault: reading the ledger panicked";
    assert_eq!((refusal.code.as_str(), refusal.retry), ("node.unavailable", true));
    assert_eq!(refusal.message, format!("the node stopped: {cause}"));
    assert_eq!(stopped(&merchant).await, cause);
    // It stays stopped: a core whose state a panic left unknown takes no more input.
    store.panic_on_read.store(false, Ordering::SeqCst);
    assert_eq!(push(&merchant, 2).await.unwrap_err().message, format!("the node stopped: {cause}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fsync_stops_the_node_naming_the_file_and_the_error_and_is_never_retried() {
    let store = Arc::new(Faulty::default());
    let merchant = start(&LocalNetwork::new(), "merchant", MERCHANT_ORG, MemberRole::Merchant, store.clone());
    pushed(&merchant, 1).await;
    store.fail_sync.store(true, Ordering::SeqCst);
    let refusal = push(&merchant, 2).await.unwrap_err();
    assert_eq!(refusal.code.as_str(), "node.unavailable", "not acknowledged: {refusal}");
    let cause = stopped(&merchant).await;
    assert_eq!(
        cause,
        format!("fsync of the ledger failed: ledger file {LEDGER_DB}: Input/output error (os error 5)")
    );
    // A later fsync might well succeed, over pages the kernel dropped: none is tried.
    store.fail_sync.store(false, Ordering::SeqCst);
    assert_eq!(push(&merchant, 3).await.unwrap_err().message, format!("the node stopped: {cause}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_write_that_fails_for_another_reason_than_a_full_disk_stops_the_node() {
    let store = Arc::new(Faulty::default());
    let merchant = start(&LocalNetwork::new(), "merchant", MERCHANT_ORG, MemberRole::Merchant, store.clone());
    store.fail_apply.store(true, Ordering::SeqCst);
    let refusal = push(&merchant, 1).await.unwrap_err();
    assert_eq!(refusal.code.as_str(), "node.unavailable");
    let cause = stopped(&merchant).await;
    assert_eq!(
        cause,
        format!("a ledger write failed: ledger file {LEDGER_DB}: Input/output error (os error 5)")
    );
}

/// A memory store behind a [`SpaceGuard`] whose free space the test sets.
fn guarded(floor: u64) -> (Arc<dyn Store>, Arc<MemoryStore>, Arc<AtomicU64>) {
    let store = Arc::new(MemoryStore::new());
    let free = Arc::new(AtomicU64::new(u64::MAX));
    let probe = Arc::clone(&free);
    let guard = SpaceGuard::with_free_space(
        store.clone(),
        Path::new("/srv/kvitt/ledger"),
        floor,
        Box::new(move |_| Ok(probe.load(Ordering::SeqCst))),
    );
    (Arc::new(guard), store, free)
}

/// The free space both nodes of a [`GuardedPair`] keep.
const FLOOR: u64 = 64 * 1024 * 1024;

/// A merchant and an agency on one link, each over a memory store behind a [`SpaceGuard`]
/// whose free space the test sets.
struct GuardedPair {
    _link: LocalNetwork,
    merchant: NodeHandle,
    agency: NodeHandle,
    merchant_memory: Arc<MemoryStore>,
    agency_memory: Arc<MemoryStore>,
    merchant_free: Arc<AtomicU64>,
    agency_free: Arc<AtomicU64>,
}

fn guarded_pair() -> GuardedPair {
    let link = LocalNetwork::new();
    let (merchant_store, merchant_memory, merchant_free) = guarded(FLOOR);
    let (agency_store, agency_memory, agency_free) = guarded(FLOOR);
    let merchant = start(&link, "merchant", MERCHANT_ORG, MemberRole::Merchant, merchant_store);
    let agency = start(&link, "agency", AGENCY_ORG, MemberRole::Agency, agency_store);
    GuardedPair { _link: link, merchant, agency, merchant_memory, agency_memory, merchant_free, agency_free }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_refused_precisely_and_writes_resume_by_themselves_losing_and_doubling_nothing() {
    let GuardedPair { _link, merchant, agency, merchant_memory, agency_memory, merchant_free, agency_free } =
        guarded_pair();
    let mut ids = Vec::new();
    for serial in 1..=3 {
        ids.push(pushed(&merchant, serial).await);
    }

    // The merchant's disk fills: pushes are refused with the disk named, reads go on.
    merchant_free.store(FLOOR, Ordering::SeqCst);
    let refusal = push(&merchant, 4).await.unwrap_err();
    assert_eq!((refusal.code.as_str(), refusal.retry), ("node.disk_full", true), "{refusal}");
    assert!(
        refusal.message.starts_with("the disk holding the ledger /srv/kvitt/ledger is full"),
        "{refusal}"
    );
    let operator = Caller { person: "operator".into(), role: CallerRole::Operator };
    let read = merchant.ask(operator.clone(), ClientRequest::Record(ids[0])).await;
    assert!(matches!(read, Ok(ClientResponse::Record(_))), "{read:?}");
    assert_eq!(merchant.fatal().cause(), None, "a full disk does not stop the node");

    // Space is freed: the same push goes through, without a restart.
    merchant_free.store(u64::MAX, Ordering::SeqCst);
    ids.push(pushed(&merchant, 4).await);

    let (merchant_ledger, agency_ledger) = (Ledger::new(merchant_memory), Ledger::new(agency_memory));
    let delivered = async |ids: &[RecordId]| {
        for _ in 0..400 {
            let outbox = merchant_ledger.outbox(&common::public("agency"), 100).unwrap();
            if outbox.is_empty() && ids.iter().all(|id| agency_ledger.contains(id).unwrap()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    };
    assert!(
        delivered(&ids).await,
        "receipts 1 to 4 reached the agency; the merchant's outbox holds {:?}, the agency lacks {:?}",
        merchant_ledger.outbox(&common::public("agency"), 100).unwrap(),
        ids.iter().filter(|id| !agency_ledger.contains(id).unwrap()).collect::<Vec<_>>()
    );

    // The agency's disk fills: it refuses deliveries, the merchant keeps them queued.
    agency_free.store(0, Ordering::SeqCst);
    for serial in 5..=6 {
        ids.push(pushed(&merchant, serial).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!agency_ledger.contains(&ids[4]).unwrap(), "a full disk stores nothing");
    assert_eq!(merchant_ledger.outbox(&common::public("agency"), 100).unwrap().len(), 2, "still queued");
    assert_eq!(agency.fatal().cause(), None);
    agency_free.store(u64::MAX, Ordering::SeqCst);
    assert!(delivered(&ids).await, "the agency took the deliveries once its disk had space");
    let held = agency_ledger.receipts_of_buyer(AGENCY_ORG, None, 100).unwrap();
    let mut expected = ids.clone();
    expected.sort();
    let mut held_sorted = held.clone();
    held_sorted.sort();
    assert_eq!(held_sorted, expected, "every acknowledged receipt, once each");
}

/// A step whose write the full disk refused sends nothing: a push refused for a full disk
/// must not reach the agency (the merchant never stored it), and the push taken again
/// later is delivered and settled like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_whose_write_was_refused_sends_nothing_it_made() {
    let GuardedPair {
        _link, merchant, agency: _agency, merchant_memory, agency_memory, merchant_free, ..
    } = guarded_pair();
    let (merchant_ledger, agency_ledger) = (Ledger::new(merchant_memory), Ledger::new(agency_memory));
    let settled = async |count: usize| {
        for _ in 0..400 {
            let held = agency_ledger.receipts_of_buyer(AGENCY_ORG, None, 100).unwrap().len();
            if held == count && merchant_ledger.outbox(&common::public("agency"), 100).unwrap().is_empty() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    };
    pushed(&merchant, 1).await;
    assert!(settled(1).await, "the first receipt reached the agency and was settled");

    // The disk fills. The push's step signs receipt 2 and queues it for the agency in the
    // same step, with nothing in flight: its delivery would carry a record never stored.
    merchant_free.store(FLOOR, Ordering::SeqCst);
    let refusal = push(&merchant, 2).await.unwrap_err();
    assert_eq!(refusal.code.as_str(), "node.disk_full", "{refusal}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = agency_ledger.receipts_of_buyer(AGENCY_ORG, None, 100).unwrap();
    assert_eq!(held.len(), 1, "the agency got nothing the merchant did not store: {held:?}");

    merchant_free.store(u64::MAX, Ordering::SeqCst);
    let second = pushed(&merchant, 2).await;
    assert!(settled(2).await, "the receipt pushed again reached the agency and was settled");
    assert!(agency_ledger.contains(&second).unwrap());
}
