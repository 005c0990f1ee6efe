//! The node's start on a built ledger, step by step as the daemon takes them
//! (kvitt_node::daemon::start_with, then the driver's channel index).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use kvitt_node::core::{CoreConfig, Identity, NodeCore, RetryPolicy};
use kvitt_node::ledger::Ledger;
use kvitt_node::store::{ledger_start, SledSettings, SledStore, Store, DEFAULT_CACHE_BYTES};
use kvitt_node::sync::ChannelIndex;
use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::PublicKey;

#[path = "../ingest/fixture.rs"]
#[allow(dead_code)] // shared with the ingest bench, which uses all of it
pub mod fixture;

/// sled's cache, `KVITT_BENCH_CACHE_MIB` MiB (or as a node configured by default has it),
/// and a new ledger's pages compressed if `KVITT_BENCH_COMPRESS=1` (the node's
/// `compress_ledger`), whole otherwise.
pub fn sled_settings() -> SledSettings {
    let cache_bytes = std::env::var("KVITT_BENCH_CACHE_MIB")
        .ok()
        .map_or(DEFAULT_CACHE_BYTES, |mib| mib.parse::<u64>().expect("KVITT_BENCH_CACHE_MIB: MiB") << 20);
    let compress_new = match std::env::var("KVITT_BENCH_COMPRESS").as_deref() {
        Ok("1") => true,
        Ok("0") | Err(_) => false,
        Ok(other) => panic!("KVITT_BENCH_COMPRESS: 1 or 0, not {other:?}"),
    };
    SledSettings { cache_bytes, compress_new }
}

/// How the start reads the channel index.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No start: sled opens the ledger, nothing else (what the rest costs is the start's
    /// own work).
    OpenOnly,
    /// After the survey, as the driver did before the daemon overlapped the two.
    Sequential,
    /// On a second thread while the survey runs, as the daemon does
    /// (`ledger_start::open_ledger_with`).
    Overlapped,
}

impl Mode {
    /// Its name on the command line between the bench and its start process.
    pub fn name(self) -> &'static str {
        match self {
            Mode::OpenOnly => "open-only",
            Mode::Sequential => "sequential",
            Mode::Overlapped => "overlapped",
        }
    }

    /// What the start does, for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Mode::OpenOnly => "not at all (sled opens the ledger, nothing else)",
            Mode::Sequential => "channel index read after the survey (as before)",
            Mode::Overlapped => "channel index read alongside the survey (as the daemon does)",
        }
    }
}

/// The agency whose ledger is built and started.
pub fn identity() -> Identity {
    Identity { signing_key: fixture::key(2), org: fixture::AGENCY.into(), role: MemberRole::Agency }
}

/// The agency's core configuration.
pub fn core_config(operator: &ed25519_dalek::SigningKey) -> CoreConfig {
    CoreConfig {
        operator: PublicKey::from(operator.verifying_key()),
        retry: RetryPolicy::default(),
        delivery_batch: 512,
        seed: 2,
        entropy: [2; 32],
        reconcile_interval: kvitt_node::core::DEFAULT_RECONCILE_INTERVAL,
        reference_rates: Some(kvitt_books::ReferenceRates::example().unwrap()),
        policy: Default::default(),
        uncollected_days: kvitt_node::core::DEFAULT_UNCOLLECTED_DAYS,
        routing_key: None,
    }
}

/// Starts the agency on `data`, printing each step's time and `start_total_ms=…`.
pub fn run(data: &Path, mode: Mode) {
    let operator = fixture::key(1);
    let identity = identity();
    let started = Instant::now();
    let mut step = Instant::now();
    let mut lap = |name: &str| {
        println!("  {name}: {} ms", step.elapsed().as_millis());
        step = Instant::now();
    };
    let now = time::OffsetDateTime::now_utc();
    if mode == Mode::OpenOnly {
        let store = SledStore::open_with(&data.join("ledger"), sled_settings()).unwrap();
        lap("sled opens the ledger");
        // sled keeps a page table entry and each page's fragment locations in memory for
        // every page of the ledger, read or not: what the ledger's size alone costs.
        println!("  VmRSS with sled open: {:.0} MB", crate::build::status_bytes("VmRSS") as f64 / 1e6);
        drop(store);
        print_costs();
        println!("start_total_ms={}", started.elapsed().as_millis());
        return;
    }
    let (opened, index) = match mode {
        Mode::OpenOnly => unreachable!("returned above"),
        Mode::Sequential => {
            (ledger_start::open_ledger(data, sled_settings(), &identity.key(), now).unwrap(), None)
        }
        Mode::Overlapped => {
            ledger_start::open_ledger_with(data, sled_settings(), &identity.key(), now, ChannelIndex::load)
                .unwrap()
        }
    };
    assert_eq!(opened.checksums.damaged, Vec::<String>::new());
    let what = if index.is_some() { ", the channel index read alongside" } else { "" };
    lap(&format!(
        "open the ledger and survey it against its floor ({:?}, {} records of {} bytes on average{what})",
        opened.finding,
        opened.checksums.records,
        opened.checksums.bytes / opened.checksums.records.max(1)
    ));
    let store: Arc<dyn Store> = opened.store.clone();
    Ledger::new(Arc::clone(&store)).index_outbox().unwrap();
    lap("index the outbox");
    Ledger::new(Arc::clone(&store)).index_claimants().unwrap();
    lap("index the claimants");
    let core =
        NodeCore::start(identity, core_config(&operator), fixture::directory(&operator), store).unwrap();
    lap("start the core");
    let index = match index {
        Some(index) => index.unwrap(),
        None => {
            let index = ChannelIndex::load(core.store()).unwrap();
            lap("load the channel index");
            index
        }
    };
    let total = started.elapsed().as_millis();
    println!("  channel index: {} items", index.len());
    println!("  VmRSS after the start: {:.0} MB", crate::build::status_bytes("VmRSS") as f64 / 1e6);
    print_costs();
    println!("start_total_ms={total}");
}

/// What the start cost besides its time: CPU, and bytes read from the disk.
fn print_costs() {
    println!(
        "  CPU (user + system, all threads): {} ms; read from the disk: {:.2} GB",
        cpu_ms(),
        disk_read_bytes() as f64 / 1e9
    );
}

/// Bytes this process has made the kernel read from the disk (`read_bytes` of
/// `/proc/self/io`; pages found in the page cache are not counted).
fn disk_read_bytes() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    io.lines().find_map(|line| line.strip_prefix("read_bytes: ")?.trim().parse().ok()).unwrap_or(0)
}

/// The CPU time this process has taken so far (user and system, every thread), in
/// milliseconds, from `/proc/self/stat`: on a shared machine it varies less than the wall
/// time does.
fn cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command's name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are the 14th and 15th fields, in clock ticks (100 a second on Linux).
    let ticks: u64 =
        fields.get(11..13).map_or(0, |both| both.iter().filter_map(|tick| tick.parse::<u64>().ok()).sum());
    ticks * 10
}
