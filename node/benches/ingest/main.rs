//! Durable ingest: how many receipts per second a node acknowledges, and how long each
//! acknowledgement takes, when every acknowledgement waits for group-committed fsync;
//! and the building blocks that bound it, measured in the same run.
//!
//! - [`blocks`]: `verify_strict`, `AnyRecord::decode`, fdatasync and sled insert + flush,
//!   and the ceiling they put on an agency's ingest (the formula is on `Blocks::ceiling`);
//! - [`agency`] (a), closed loop: four merchants deliver batches of signed receipts to an
//!   agency, through the in-process link and over QUIC;
//! - [`push`] (b), open loop: 16 tills push receipts to a merchant at a fixed offered rate
//!   (`KVITT_BENCH_PUSH_RATE`, default 5,000/s) for `KVITT_BENCH_PUSH_SECONDS` (default
//!   10 s), latency with and without coordinated-omission correction.
//!
//! Run: `cargo bench -p kvitt-node --bench ingest` (release build; `KVITT_BENCH_DIR` says
//! where the temporary ledgers go, default the current directory). Last line:
//! `result: ingest_receipts_per_s=… ceiling_ratio=… push_p99_ms_at_5000=…`: (a) over QUIC,
//! its share of the ceiling, and (b)'s corrected p99 at the offered rate.
//! `KVITT_BENCH_ONLY=push` runs part (b) alone (no building blocks, no agency), for
//! profiling it; its last line is then `result: push_p99_ms_at_5000=…`.
//! `KVITT_BENCH_ONLY=agency` runs part (a) over QUIC alone (no building blocks, so no
//! ceiling), for profiling it; its last line is then
//! `result: ingest_receipts_per_s=… cpu_us_per_receipt=…`. Every agency line prints the
//! process's CPU time per acknowledged receipt (`/proc/self/stat`), the figure that moves
//! least with the shared machine's load.

mod agency;
mod blocks;
#[path = "../shared/cpu.rs"]
mod cpu;
mod fixture;
mod push;

use std::time::Duration;

/// The allocator the node runs on in `kvitt` (kvitt_node::NodeAllocator), so the bench
/// measures what runs.
#[global_allocator]
static ALLOCATOR: kvitt_node::NodeAllocator = kvitt_node::NodeAllocator;

use agency::{agency_ingest, Link, BATCH, RECEIPTS_PER_MERCHANT};
use blocks::Blocks;
use fixture::{key, ms, MERCHANTS};

/// Which parts of the bench run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Only {
    /// All of them (no `KVITT_BENCH_ONLY`).
    Everything,
    /// Part (b) alone (`KVITT_BENCH_ONLY=push`).
    Push,
    /// Part (a) over QUIC alone (`KVITT_BENCH_ONLY=agency`).
    Agency,
}

/// What `KVITT_BENCH_ONLY` asks for; any other value is refused, so a typo does not
/// silently run the whole bench.
fn only() -> Only {
    match std::env::var("KVITT_BENCH_ONLY") {
        Err(_) => Only::Everything,
        Ok(only) if only == "push" => Only::Push,
        Ok(only) if only == "agency" => Only::Agency,
        Ok(other) => {
            panic!("KVITT_BENCH_ONLY={other}: the phases that run alone are `push` and `agency`")
        }
    }
}

fn main() {
    let operator = key(1);
    let directory = fixture::directory(&operator);
    let dir =
        tempfile::tempdir_in(std::env::var_os("KVITT_BENCH_DIR").unwrap_or_else(|| ".".into())).unwrap();
    println!("durable ingest, 2 tokio workers, sled on {}", dir.path().display());
    let only = only();
    let scenario =
        format!("{} merchants × {RECEIPTS_PER_MERCHANT} receipts in batches of {BATCH}", MERCHANTS.len());
    if only == Only::Agency {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let quic =
            runtime.block_on(agency_ingest(&dir.path().join("quic"), &operator, &directory, Link::Quic));
        runtime.shutdown_timeout(Duration::from_secs(5));
        quic.print(&format!("(a) agency, over QUIC, {scenario}"), None);
        println!("result: ingest_receipts_per_s={:.0} {}", quic.per_second, quic.cpu_line());
        return;
    }
    if only == Only::Push {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (rate, merchant) = push::run(&runtime, &dir.path().join("push"), &operator, &directory);
        runtime.shutdown_timeout(Duration::from_secs(5));
        println!("result: push_p99_ms_at_{rate}={:.2}", ms(merchant.corrected.value_at_quantile(0.99)));
        return;
    }
    let blocks = Blocks::measure(dir.path());
    blocks.print();
    let ceiling = blocks.ceiling();

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (rate, merchant) = push::run(&runtime, &dir.path().join("push"), &operator, &directory);
    let local =
        runtime.block_on(agency_ingest(&dir.path().join("local"), &operator, &directory, Link::InProcess));
    local.print(&format!("(a) agency, in-process link, {scenario}"), Some(ceiling));
    let quic = runtime.block_on(agency_ingest(&dir.path().join("quic"), &operator, &directory, Link::Quic));
    quic.print(&format!("(a) agency, over QUIC, {scenario}"), Some(ceiling));
    runtime.shutdown_timeout(Duration::from_secs(5));
    println!(
        "over QUIC: {:.2} of the in-process rate ({:.0}/s)",
        quic.per_second / local.per_second,
        local.per_second
    );
    println!(
        "result: ingest_receipts_per_s={:.0} ceiling_ratio={:.2} push_p99_ms_at_{rate}={:.2} {}",
        quic.per_second,
        quic.per_second / ceiling,
        ms(merchant.corrected.value_at_quantile(0.99)),
        quic.cpu_line(),
    );
}
