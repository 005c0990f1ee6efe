//! How long a backup holds a running node's writes: the still read of its whole ledger
//! (GroupCommit::read_still around store::dump::dump_store, as `GET /v1/admin/backup`
//! takes it) of a sled ledger of [`RECEIPTS`] receipt-like pushes, and how long a restore
//! takes to load that dump into a new ledger.
//!
//! Run once: `cargo bench -p kvitt-node --bench backup`.

use std::sync::Arc;
use std::time::Instant;

use kvitt_node::backup::LiveDump;
use kvitt_node::store::dump::load_dump;
use kvitt_node::store::group_commit::GroupCommit;
use kvitt_node::store::{SledStore, Store};

#[path = "shared/receipt_batch.rs"]
mod receipt_batch;

/// Receipts in the ledger dumped.
const RECEIPTS: u64 = 100_000;

fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let store: Arc<dyn Store> = Arc::new(
        SledStore::open(&dir.path().join("ledger"), kvitt_node::store::DEFAULT_CACHE_BYTES).expect("sled"),
    );
    for serial in 1..=RECEIPTS {
        store.apply(&receipt_batch::push(serial, "KASSA-1")).expect("apply");
        if serial % 10_000 == 0 {
            store.sync().expect("sync");
        }
    }
    let commit = Arc::new(GroupCommit::start(Arc::clone(&store)).expect("commit"));
    let live = LiveDump::new(Arc::clone(&commit), dir.path().to_owned());
    let taken = live.take().expect("dump");
    println!(
        "{RECEIPTS} receipts: {} entries, {} MB dumped; writes held for {} ms",
        taken.summary.entries,
        taken.summary.bytes / 1_000_000,
        taken.paused.as_millis()
    );
    let target =
        SledStore::open(&dir.path().join("restored"), kvitt_node::store::DEFAULT_CACHE_BYTES).expect("sled");
    let started = Instant::now();
    let loaded = load_dump(std::io::BufReader::new(taken.file), &target).expect("load");
    assert_eq!(loaded, taken.summary);
    println!("loaded into a new ledger in {} ms", started.elapsed().as_millis());
}
