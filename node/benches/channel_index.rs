//! How fast a node rebuilds its in-memory channel index from the ledger when it starts,
//! and what keeping it up to date costs: the figures issue 4 asks for ("say how fast at
//! 1M records").
//!
//! Fills a sled ledger with 1,000,000 `chan/` keys (one peer's channel, times spread over
//! five years, random ids), reopens it (so the load reads through sled, not a warm
//! handle), and times `ChannelIndex::load`; then times taking a session's items right after
//! the load (no merge), after 1,000 newer items arrived (a merge), and adding items batch
//! by batch as committed writes would.
//!
//! Run: `cargo bench -p kvitt-node --bench channel_index`. Last line:
//! `result: index_items=… load_ms=… warm_load_ms=… load_items_per_s=… snapshot_ms=… merged_snapshot_ms=… note_ns_per_item=…`.

use std::time::Instant;

use kvitt_node::ledger::keys;
use kvitt_node::store::{Batch, SledStore, Store, DEFAULT_CACHE_BYTES};
use kvitt_node::sync::ChannelIndex;
use kvitt_protocol::{PublicKey, RecordId};
use sha2::{Digest, Sha256};

const ITEMS: u64 = 1_000_000;
const BATCH: u64 = 10_000;
const FIVE_YEARS_S: u64 = 5 * 365 * 24 * 3600;
const START_S: u64 = 1_640_995_200; // 2022-01-01T00:00:00Z

fn main() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("ledger");
    let peer = PublicKey([7; 32]);
    // Ids as unordered as record ids are: SHA-256 of a counter.
    let id_of = |n: u64| RecordId(Sha256::digest(n.to_be_bytes()).into());

    let filled = Instant::now();
    {
        let store = SledStore::open(&path, DEFAULT_CACHE_BYTES).expect("open sled");
        for first in (0..ITEMS).step_by(BATCH as usize) {
            let mut batch = Batch::new();
            for n in first..first + BATCH {
                let time = START_S + n * FIVE_YEARS_S / ITEMS;
                batch.insert(keys::channel(&peer, time, &id_of(n)), Vec::new());
            }
            store.apply(&batch).expect("apply");
        }
        store.sync().expect("sync");
    }
    println!("filled a sled ledger with {ITEMS} channel keys in {:.1} s", filled.elapsed().as_secs_f64());

    let store = SledStore::open(&path, DEFAULT_CACHE_BYTES).expect("reopen sled");
    let started = Instant::now();
    let mut index = ChannelIndex::load(&store).expect("load the index");
    let load = started.elapsed();
    assert_eq!(index.len() as u64, ITEMS, "every key loaded");
    // Again, with sled's pages now in its cache: how much of the first load was reading.
    let started = Instant::now();
    let again = ChannelIndex::load(&store).expect("load the index again");
    let warm_load = started.elapsed();
    assert_eq!(again.len(), index.len());
    drop(again);

    let started = Instant::now();
    let items = index.snapshot(&peer).into_items();
    let snapshot = started.elapsed();
    assert_eq!(items.len() as u64, ITEMS);
    drop(items);

    // Newer items arrive one committed batch at a time (1,000 batches of one key, as
    // single receipts would), then a session takes its items.
    let started = Instant::now();
    for n in 0..1_000u64 {
        let mut batch = Batch::new();
        batch.insert(keys::channel(&peer, START_S + FIVE_YEARS_S + n, &id_of(ITEMS + n)), Vec::new());
        index.note(&batch);
    }
    let noted = started.elapsed();
    let started = Instant::now();
    let items = index.snapshot(&peer).into_items();
    let merged_snapshot = started.elapsed();
    assert_eq!(items.len() as u64, ITEMS + 1_000);

    let load_ms = load.as_secs_f64() * 1e3;
    println!(
        "load: {ITEMS} items in {load_ms:.0} ms ({:.0} items/s, {:.1} MB in memory)",
        ITEMS as f64 / load.as_secs_f64(),
        (ITEMS * 40) as f64 / 1e6
    );
    println!("the same load again, sled's cache warm: {:.0} ms", warm_load.as_secs_f64() * 1e3);
    println!("a session's items right after the load: {:.3} ms (no copy)", snapshot.as_secs_f64() * 1e3);
    println!(
        "after 1,000 newer items, one at a time ({:.0} ns each): a session's items in {:.1} ms (one merge)",
        noted.as_nanos() as f64 / 1e3,
        merged_snapshot.as_secs_f64() * 1e3
    );
    println!(
        "result: index_items={ITEMS} load_ms={load_ms:.0} warm_load_ms={:.0} load_items_per_s={:.0} snapshot_ms={:.3} merged_snapshot_ms={:.1} note_ns_per_item={:.0}",
        warm_load.as_secs_f64() * 1e3,
        ITEMS as f64 / load.as_secs_f64(),
        snapshot.as_secs_f64() * 1e3,
        merged_snapshot.as_secs_f64() * 1e3,
        noted.as_nanos() as f64 / 1e3
    );
}
