//! What a node's start costs on a big ledger, what the node holds in memory while it
//! ingests, and how many bytes a receipt takes on disk.
//!
//! Builds an agency's ledger of `KVITT_BENCH_RECEIPTS` receipts (default 1,000,000) the way
//! a node writes it: four merchants deliver signed receipts to an agency running the real
//! core, driver and group commit over the in-process link, the ledger opened as the daemon
//! opens it ([`ledger_start::open_ledger`]). While it ingests, the agency's resident set is
//! sampled from `/proc/self/status` ([`build`]). Then the ledger's files are evicted from the
//! OS page cache (`posix_fadvise(DONTNEED)`; dropping all caches needs privileges the
//! project machine does not give) and a fresh process starts the node on it the way the
//! daemon does, timing each step ([`start`]): once reading the channel index after the
//! survey (as nodes did before), once alongside it (as the daemon does now), evicting
//! the files before each; then once more with the page cache warm.
//!
//! Run: `cargo bench -p kvitt-node --bench start` (`KVITT_BENCH_DIR` says where the ledger
//! goes, default the current directory; it is deleted afterwards unless `KVITT_BENCH_KEEP`
//! names where to move it). `KVITT_BENCH_LEDGER` names a data directory to reuse: built
//! there and kept if it does not exist (`KVITT_BENCH_KEEP` then does nothing), only
//! started on if it does, with the `KVITT_BENCH_RECEIPTS` it was built with (building
//! takes minutes; a reused ledger's sled has already replayed its log once, so its
//! `sled_open_cold_ms` is not the first open after an ingest, and the ingest's memory
//! figures are not printed). `KVITT_BENCH_CACHE_MIB` sets sled's cache (default the node's
//! 256 MiB), and `KVITT_BENCH_COMPRESS=1` builds the ledger with its pages compressed, as a
//! node with `compress_ledger = true` makes it.
//! Last line:
//! `result: receipts=… sled_open_cold_ms=… start_cold_sequential_ms=… start_cold_ms=… start_warm_ms=… rss_mb_under_ingest=… hwm_mb=… disk_bytes_per_receipt=…`.

mod build;
mod start;

use std::path::{Path, PathBuf};
use std::process::Command;

use start::Mode;

/// The allocator the node runs on in `kvitt` (kvitt_node::NodeAllocator), so that the
/// start and the ingest's memory are measured as they run (under glibc's malloc, its slow
/// paths took two fifths of the start's CPU: sled allocates and frees every page it reads).
#[global_allocator]
static ALLOCATOR: kvitt_node::NodeAllocator = kvitt_node::NodeAllocator;

/// The variable that makes this process the start of the node on a built ledger.
const START_DATA_VAR: &str = "KVITT_BENCH_START_DATA";

/// The variable that says how the start process reads the channel index.
const START_MODE_VAR: &str = "KVITT_BENCH_START_MODE";

/// Receipts in the ledger unless `KVITT_BENCH_RECEIPTS` says otherwise.
const DEFAULT_RECEIPTS: u64 = 1_000_000;

fn main() {
    if let Some(data) = std::env::var_os(START_DATA_VAR) {
        let named = std::env::var(START_MODE_VAR).unwrap_or_default();
        let modes = [Mode::OpenOnly, Mode::Sequential, Mode::Overlapped];
        let mode = modes.into_iter().find(|mode| mode.name() == named).expect("a start mode");
        start::run(Path::new(&data), mode);
        return;
    }
    let receipts = std::env::var("KVITT_BENCH_RECEIPTS").ok().map_or(DEFAULT_RECEIPTS, |text| {
        text.replace('_', "").parse().expect("KVITT_BENCH_RECEIPTS: a count")
    });
    let reused = std::env::var_os("KVITT_BENCH_LEDGER").map(PathBuf::from);
    let parent: PathBuf = std::env::var_os("KVITT_BENCH_DIR").map_or_else(|| ".".into(), PathBuf::from);
    let dir = tempfile::tempdir_in(parent).expect("a temporary directory");
    let data = reused.clone().unwrap_or_else(|| dir.path().join("agency"));
    let built = if data.exists() {
        println!("reusing the ledger built before in {} (KVITT_BENCH_LEDGER)", data.display());
        None
    } else {
        let built = build::run(&data, receipts);
        built.print();
        Some(built)
    };
    let mut cold = Vec::new();
    for mode in [Mode::OpenOnly, Mode::Sequential, Mode::Overlapped] {
        let resident = build::evict_page_cache(&data);
        cold.push(start_in_child(
            &data,
            mode,
            &format!("page cache evicted ({resident} bytes of the data directory left resident)"),
        ));
    }
    let warm = start_in_child(&data, Mode::Overlapped, "page cache warm from the start before");
    if let Some(keep) = std::env::var_os("KVITT_BENCH_KEEP").filter(|_| reused.is_none()) {
        std::fs::rename(&data, &keep).expect("KVITT_BENCH_KEEP: a path on the same file system");
        println!("the agency's data directory is kept in {}", Path::new(&keep).display());
    }
    let ingest = built.map_or_else(
        || format!("disk_bytes_per_receipt={:.0}", build::disk_bytes(&data) as f64 / receipts as f64),
        |built| {
            format!(
                "rss_mb_under_ingest={:.0} hwm_mb={:.0} disk_bytes_per_receipt={:.0}",
                built.rss_at_end as f64 / 1e6,
                built.hwm as f64 / 1e6,
                built.disk_bytes as f64 / receipts as f64
            )
        },
    );
    println!(
        "result: receipts={receipts} sled_open_cold_ms={} start_cold_sequential_ms={} start_cold_ms={} start_warm_ms={warm} {ingest}",
        cold[0], cold[1], cold[2]
    );
}

/// Starts the node on `data` in a new process of this bench as `mode` says; prints its lines and returns its total start time in milliseconds.
fn start_in_child(data: &Path, mode: Mode, cache: &str) -> String {
    println!("start, {}, fresh process, {cache}:", mode.describe());
    let output = Command::new(std::env::current_exe().expect("this bench's path"))
        .env(START_DATA_VAR, data)
        .env(START_MODE_VAR, mode.name())
        .output()
        .expect("the start process");
    let text = String::from_utf8_lossy(&output.stdout);
    print!("{text}");
    assert!(output.status.success(), "the start failed: {}", String::from_utf8_lossy(&output.stderr));
    text.lines().find_map(|line| line.strip_prefix("start_total_ms=")).expect("the start's total").to_owned()
}
