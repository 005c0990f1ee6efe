//! What keeping the ledger's floor costs per group commit: the sync of a sled ledger
//! (flush + fsync) alone, and followed by the floor's write (temporary file, fsync, rename,
//! fsync of the directory), for one receipt-like batch per commit as a single till pushing
//! gives; and what noting batches costs on apply (one read per record written). The floor
//! is measured with one register and with 1,000 (about 40 KB to write per commit).
//!
//! Run: `cargo bench -p kvitt-node --bench floor`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kvitt_node::ledger::Floor;
use kvitt_node::store::{FloorFile, FlooredStore, SledStore, Store};

#[path = "shared/receipt_batch.rs"]
mod receipt_batch;
use receipt_batch::push;

/// Commits measured per configuration.
const COMMITS: u64 = 2_000;

struct Figures {
    apply: Histogram<u64>,
    sync: Histogram<u64>,
}

fn run(registers: usize, floored: bool) -> Figures {
    let dir = tempfile::tempdir().expect("temporary folder");
    let sled: Arc<dyn Store> = Arc::new(SledStore::open(&dir.path().join("ledger"), 64 << 20).expect("sled"));
    let store: Arc<dyn Store> = if floored {
        Arc::new(FlooredStore::new(sled, Arc::new(FloorFile::in_data_dir(dir.path())), Floor::default()))
    } else {
        sled
    };
    // The registers the floor holds: all but the first only once, before measuring.
    for register in 1..registers {
        store.apply(&push(1, &format!("KASSA-{register:04}"))).expect("apply");
    }
    store.sync().expect("sync");
    let mut figures = Figures {
        apply: Histogram::new_with_bounds(1, 10_000_000, 3).expect("histogram"),
        sync: Histogram::new_with_bounds(1, 10_000_000, 3).expect("histogram"),
    };
    for serial in 1..=COMMITS {
        let batch = push(serial, "KASSA-0000");
        let started = Instant::now();
        store.apply(&batch).expect("apply");
        let applied = Instant::now();
        store.sync().expect("sync");
        let synced = Instant::now();
        let micros = |duration: Duration| u64::try_from(duration.as_micros()).unwrap_or(u64::MAX).max(1);
        figures.apply.record(micros(applied - started)).expect("record");
        figures.sync.record(micros(synced - applied)).expect("record");
    }
    figures
}

fn line(name: &str, histogram: &Histogram<u64>) -> String {
    format!(
        "{name} mean {:.0} µs, p50 {} µs, p99 {} µs",
        histogram.mean(),
        histogram.value_at_quantile(0.5),
        histogram.value_at_quantile(0.99)
    )
}

fn main() {
    for registers in [1, 1000] {
        let plain = run(registers, false);
        let floored = run(registers, true);
        println!("{registers} register(s), {COMMITS} commits of one receipt each:");
        println!("  sled only:   {}; {}", line("apply", &plain.apply), line("sync", &plain.sync));
        println!("  with floor:  {}; {}", line("apply", &floored.apply), line("sync", &floored.sync));
        println!(
            "  floor cost per commit: {:+.0} µs apply, {:+.0} µs sync (mean)",
            floored.apply.mean() - plain.apply.mean(),
            floored.sync.mean() - plain.sync.mean()
        );
    }
}
