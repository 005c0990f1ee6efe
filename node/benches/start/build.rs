//! Fills an agency's ledger the way a node writes one, sampling the agency's memory as it
//! ingests.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kvitt_node::core::NodeCore;
use kvitt_node::local_link::LocalNetwork;
use kvitt_node::runtime::IncomingRequest;
use kvitt_node::store::group_commit::GroupCommit;
use kvitt_node::store::{ledger_start, SledSettings, SpaceGuard, Store, DEFAULT_DISK_FLOOR_BYTES};
use kvitt_protocol::wire::{RecordBytes, Request, RequestBody, Response, ResponseBody, Verdict};
use kvitt_protocol::{PublicKey, Signed};
use tokio::sync::oneshot;

use crate::start::{core_config, fixture, identity, sled_settings};

/// Receipts per deliver request, as the ingest bench sends them.
const BATCH: u64 = 256;

/// How often the agency's resident set is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// What building the ledger measured.
pub struct Built {
    receipts: u64,
    /// What sled was asked for: the cache, and the pages compressed or whole.
    settings: SledSettings,
    took: Duration,
    /// The agency's resident set (bytes) after the last receipt was acknowledged.
    pub rss_at_end: u64,
    /// The largest resident set sampled while it ingested.
    rss_max: u64,
    /// The kernel's high-water mark of the resident set at the end.
    pub hwm: u64,
    /// Bytes the data directory occupies on disk.
    pub disk_bytes: u64,
}

impl Built {
    /// What it measured, one line each.
    pub fn print(&self) {
        println!(
            "built: {} receipts in {:.0} s ({:.0}/s, signing included), sled cache {} MiB, pages {}",
            self.receipts,
            self.took.as_secs_f64(),
            self.receipts as f64 / self.took.as_secs_f64(),
            self.settings.cache_bytes >> 20,
            if self.settings.compress_new { "compressed" } else { "whole" }
        );
        println!(
            "memory under ingest: VmRSS {:.0} MB at the end, {:.0} MB at most sampled, VmHWM {:.0} MB",
            self.rss_at_end as f64 / 1e6,
            self.rss_max as f64 / 1e6,
            self.hwm as f64 / 1e6
        );
        println!(
            "disk: {:.2} GB, {:.0} bytes per receipt",
            self.disk_bytes as f64 / 1e9,
            self.disk_bytes as f64 / self.receipts as f64
        );
    }
}

/// A `/proc/self/status` field in bytes (0 if absent).
pub fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// Bytes the files under `path` occupy on disk.
pub fn disk_bytes(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(metadata) if metadata.is_dir() => disk_bytes(&entry.path()),
            Ok(metadata) => metadata.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

/// Evicts the files under `path` from the page cache (they were synced, so their pages
/// are clean and go); returns how many of their bytes `fincore` still finds resident.
pub fn evict_page_cache(path: &Path) -> u64 {
    let mut files = Vec::new();
    collect_files(path, &mut files);
    for file in &files {
        if let Ok(opened) = std::fs::File::open(file) {
            opened.sync_all().expect("fsync before eviction");
            rustix::fs::fadvise(&opened, 0, None, rustix::fs::Advice::DontNeed).expect("fadvise");
        }
    }
    let output = std::process::Command::new("fincore")
        .args(["--bytes", "--noheadings", "--output", "RES"])
        .args(&files)
        .output();
    output.map_or(0, |output| {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.trim().parse::<u64>().ok())
            .sum()
    })
}

fn collect_files(path: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(path) else { return };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            collect_files(&entry.path(), files);
        } else {
            files.push(entry.path());
        }
    }
}

/// Builds the agency's data directory `data` with `receipts` receipts from four merchants.
pub fn run(data: &Path, receipts: u64) -> Built {
    std::fs::create_dir_all(data).expect("the data directory");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let operator = fixture::key(1);
    let directory = fixture::directory(&operator);
    let identity = identity();
    let settings = sled_settings();
    let opened =
        ledger_start::open_ledger(data, settings, &identity.key(), time::OffsetDateTime::now_utc()).unwrap();
    let floored: Arc<dyn Store> = opened.store.clone();
    let store: Arc<dyn Store> =
        Arc::new(SpaceGuard::new(floored, &data.join("ledger"), DEFAULT_DISK_FLOOR_BYTES));
    let acked = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = sample_memory(receipts, Arc::clone(&acked), Arc::clone(&done), data.to_owned());
    let started = Instant::now();
    let rss_at_end = {
        let _entered = runtime.enter();
        let commit = Arc::new(GroupCommit::start(Arc::clone(&store)).unwrap());
        let core =
            NodeCore::start(identity.clone(), core_config(&operator), directory.clone(), store).unwrap();
        let network = LocalNetwork::new();
        let (_handle, inbox) = kvitt_node::runtime::spawn(core, commit, network.endpoint(identity.key()));
        let per_merchant = receipts.div_ceil(fixture::MERCHANTS.len() as u64);
        let merchants: Vec<_> = (0..fixture::MERCHANTS.len())
            .map(|index| {
                let inbox = inbox.clone();
                let runtime = runtime.handle().clone();
                let acked = Arc::clone(&acked);
                let count = per_merchant.min(receipts.saturating_sub(per_merchant * index as u64));
                std::thread::spawn(move || {
                    let signer = fixture::merchant_key(index);
                    let peer = PublicKey::from(signer.verifying_key());
                    let org = fixture::MERCHANTS[index];
                    for first in (1..=count).step_by(BATCH as usize) {
                        let records: Vec<RecordBytes> = (first..=count.min(first + BATCH - 1))
                            .map(|serial| {
                                let receipt = dated(fixture::receipt(org, serial), serial);
                                RecordBytes(Signed::sign(receipt, &signer).unwrap().bytes().to_vec())
                            })
                            .collect();
                        let sent = records.len() as u64;
                        let bytes = Request { directory_version: 1, body: RequestBody::Deliver { records } }
                            .encode()
                            .unwrap();
                        let (reply, answer) = oneshot::channel();
                        let answer = runtime.block_on(async {
                            inbox.deliver(IncomingRequest { peer, bytes, reply }).await;
                            answer.await.unwrap()
                        });
                        let ResponseBody::Delivered { results } = Response::decode(&answer).unwrap().body
                        else {
                            panic!("the agency refused a delivery")
                        };
                        assert!(results.iter().all(|verdict| matches!(verdict, Verdict::Stored { .. })));
                        acked.fetch_add(sent, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for merchant in merchants {
            merchant.join().expect("a merchant");
        }
        status_bytes("VmRSS")
    };
    let took = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let rss_max = sampler.join().expect("the sampler");
    let hwm = status_bytes("VmHWM");
    runtime.shutdown_timeout(Duration::from_secs(30));
    drop(opened);
    Built { receipts, settings, took, rss_at_end, rss_max, hwm, disk_bytes: disk_bytes(data) }
}

/// `receipt` issued `serial` × 2 s after 2026-04-01, when food's VAT became 6 % (so that
/// the channel's times spread as a merchant's sales do).
fn dated(mut receipt: kvitt_protocol::receipt::Receipt, serial: u64) -> kvitt_protocol::receipt::Receipt {
    const START: i64 = 1_775_001_600; // 2026-04-01T02:00:00+02:00
    let seconds = START + i64::try_from(serial).unwrap_or(0) * 2;
    let offset = time::UtcOffset::from_hms(2, 0, 0).unwrap();
    let at = time::OffsetDateTime::from_unix_timestamp(seconds).unwrap().to_offset(offset);
    receipt.issued_at = kvitt_protocol::fields::format_time(at);
    receipt
}

/// Samples the resident set until `done`, printing it at every tenth of `receipts`;
/// returns the largest sample.
fn sample_memory(
    receipts: u64,
    acked: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    data: std::path::PathBuf,
) -> std::thread::JoinHandle<u64> {
    let started = Instant::now();
    std::thread::spawn(move || {
        let mut max = 0;
        let mut next_tenth = 1;
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(SAMPLE_EVERY);
            let rss = status_bytes("VmRSS");
            max = max.max(rss);
            let held = acked.load(Ordering::Relaxed);
            if held * 10 >= receipts * next_tenth {
                println!(
                    "  {held} receipts after {:.0} s: VmRSS {:.0} MB, disk {:.2} GB",
                    started.elapsed().as_secs_f64(),
                    rss as f64 / 1e6,
                    disk_bytes(&data) as f64 / 1e9
                );
                next_tenth = held * 10 / receipts + 1;
            }
        }
        max
    })
}
