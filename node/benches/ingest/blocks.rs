//! The building blocks of durable ingest, measured in the same run as the ingest itself,
//! and the ceiling they put on it, so the bench's ratio needs no other file.
//!
//! Each block is measured alone, after a tenth of its rounds as warm-up:
//! - `verify_strict` of a 1.2 KB message (one core);
//! - `AnyRecord::decode` of the bench's signed receipt: the canonical profile, the rules
//!   and the signature, its key decoded (one core);
//! - fsync: `File::sync_data` (fdatasync) after rewriting a 64-byte file in the bench's
//!   temporary directory, so on the disk the ledger is on; rate and latency;
//! - sled: inserting the receipt's bytes under a 32-byte key, then `flush`, in groups of
//!   [`MAX_GROUP`](crate::agency::MAX_GROUP) (the flush amortized over the group);
//! - group sync: the node's [`SledStore`] syncing a group of `MAX_GROUP` receipts it has
//!   just applied (sled's flush, then fsync of its log, as the group commit runs it): the
//!   fsync carries the group's bytes, as the node's does, not 64 of them.

use std::hint::black_box;
use std::io::{Seek, Write};
use std::path::Path;
use std::time::Instant;

use hdrhistogram::Histogram;
use kvitt_node::store::{Batch, SledStore, Store};
use kvitt_protocol::{AnyRecord, Signed};

use crate::agency::MAX_GROUP;
use crate::fixture::{merchant_key, micros, ms, receipt, MERCHANTS};

/// Rounds of each CPU-bound block.
const CPU_ROUNDS: usize = 5_000;
/// fsyncs timed.
const FSYNC_ROUNDS: usize = 500;
/// Receipts inserted into sled.
const SLED_RECORDS: usize = 8 * MAX_GROUP;
/// Groups synced.
const GROUP_SYNCS: usize = 8;

/// What the blocks measured; all rates per second.
pub struct Blocks {
    /// `verify_strict` alone, one core.
    pub verify_per_s: f64,
    /// `AnyRecord::decode` of a signed receipt (signature included), one core.
    pub decode_per_s: f64,
    /// fdatasync of a small file.
    pub fsync_per_s: f64,
    /// fdatasync latency, microseconds.
    pub fsync_latency: Histogram<u64>,
    /// Receipts inserted into sled and flushed, in groups of `MAX_GROUP`.
    pub sled_per_s: f64,
    /// Syncs of a freshly applied group of `MAX_GROUP` receipts through `SledStore`.
    pub group_sync_per_s: f64,
    /// Cores the process may run on.
    pub cores: usize,
}

impl Blocks {
    /// Measures every block, the files in `dir`.
    pub fn measure(dir: &Path) -> Blocks {
        let signer = merchant_key(0);
        let bytes = Signed::sign(receipt(MERCHANTS[0], 1), &signer).unwrap().bytes().to_vec();
        let signature = ed25519_dalek::Signer::sign(&signer, &bytes);
        let verifying = signer.verifying_key();
        let verify_per_s = rate(CPU_ROUNDS, || {
            verifying.verify_strict(black_box(&bytes), &signature).unwrap();
        });
        let decode_per_s = rate(CPU_ROUNDS, || {
            black_box(AnyRecord::decode(black_box(&bytes)).unwrap());
        });
        let (fsync_per_s, fsync_latency) = fsync(dir);
        let sled_per_s = sled(dir, &bytes);
        let group_sync_per_s = group_sync(dir, &bytes);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Blocks { verify_per_s, decode_per_s, fsync_per_s, fsync_latency, sled_per_s, group_sync_per_s, cores }
    }

    /// The most receipts per second an agency can acknowledge durably, from the blocks:
    ///
    /// `ceiling = min(cores / (1/decode + 1/sled), MAX_GROUP × group sync)`
    ///
    /// Every receipt costs one `AnyRecord::decode` (which includes `verify_strict`) and
    /// one sled insert, and these share the cores; with group commit, one fsync carries
    /// at most `MAX_GROUP` receipts (every merchant's batch in flight), so syncs bound
    /// the rate at group size / the time to sync a group's bytes (not a 64-byte file's). Authorization, the ledger's indexes and
    /// the transport come on top: the ceiling is what the blocks allow, not a prediction.
    pub fn ceiling(&self) -> f64 {
        let cpu = self.cores as f64 / (1.0 / self.decode_per_s + 1.0 / self.sled_per_s);
        let disk = MAX_GROUP as f64 * self.group_sync_per_s;
        cpu.min(disk)
    }

    /// The blocks, one a line, and the ceiling.
    pub fn print(&self) {
        println!("building blocks (one thread each unless said):");
        println!("  verify_strict:            {:>9.0}/s", self.verify_per_s);
        println!("  AnyRecord::decode:        {:>9.0}/s (signature included)", self.decode_per_s);
        println!(
            "  fdatasync of a small file: {:>8.0}/s, p50 {:.2} ms, p99 {:.2} ms",
            self.fsync_per_s,
            ms(self.fsync_latency.value_at_quantile(0.5)),
            ms(self.fsync_latency.value_at_quantile(0.99)),
        );
        println!("  sled insert + flush:      {:>9.0}/s (groups of {MAX_GROUP})", self.sled_per_s);
        println!(
            "  sync of a group of {MAX_GROUP}:  {:>8.0}/s (SledStore: flush + fsync)",
            self.group_sync_per_s
        );
        println!(
            "ceiling = min({} cores / (1/decode + 1/sled), {MAX_GROUP} × group syncs/s) = {:.0} receipts/s",
            self.cores,
            self.ceiling()
        );
    }
}

/// Runs `work` `rounds` times (after a tenth as warm-up) and returns the rate per second.
fn rate(rounds: usize, mut work: impl FnMut()) -> f64 {
    for _ in 0..rounds / 10 {
        work();
    }
    let started = Instant::now();
    for _ in 0..rounds {
        work();
    }
    rounds as f64 / started.elapsed().as_secs_f64()
}

/// fdatasync of a 64-byte file rewritten in place each round: rate and latency.
fn fsync(dir: &Path) -> (f64, Histogram<u64>) {
    let mut file = std::fs::File::create(dir.join("fsync-probe")).unwrap();
    let mut latency = Histogram::<u64>::new(3).unwrap();
    let mut round = |latency: Option<&mut Histogram<u64>>, index: usize| {
        file.rewind().unwrap();
        file.write_all(&[u8::try_from(index % 251).unwrap_or(0); 64]).unwrap();
        let started = Instant::now();
        file.sync_data().unwrap();
        if let Some(latency) = latency {
            latency.record(micros(started.elapsed())).unwrap();
        }
    };
    for index in 0..FSYNC_ROUNDS / 10 {
        round(None, index);
    }
    let started = Instant::now();
    for index in 0..FSYNC_ROUNDS {
        round(Some(&mut latency), index);
    }
    (FSYNC_ROUNDS as f64 / started.elapsed().as_secs_f64(), latency)
}

/// Receipts per second inserted into a fresh sled tree and flushed every `MAX_GROUP`.
fn sled(dir: &Path, bytes: &[u8]) -> f64 {
    let db = sled::Config::new().path(dir.join("sled-probe")).cache_capacity(256 << 20).open().unwrap();
    let key = |index: usize| {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&u64::try_from(index).unwrap_or(0).to_be_bytes());
        key
    };
    for index in 0..MAX_GROUP {
        db.insert(key(index), bytes).unwrap();
    }
    db.flush().unwrap();
    let started = Instant::now();
    for group in 1..=SLED_RECORDS / MAX_GROUP {
        for index in group * MAX_GROUP..(group + 1) * MAX_GROUP {
            db.insert(key(index), bytes).unwrap();
        }
        db.flush().unwrap();
    }
    SLED_RECORDS as f64 / started.elapsed().as_secs_f64()
}

/// Syncs per second of a group of `MAX_GROUP` receipts, each applied through the node's
/// [`SledStore`] (under random 32-byte keys, as record ids are) just before its sync;
/// only the syncs are timed.
fn group_sync(dir: &Path, bytes: &[u8]) -> f64 {
    let store = SledStore::open(&dir.join("sync-probe"), 256 << 20).unwrap();
    let mut synced = std::time::Duration::ZERO;
    for group in 0..GROUP_SYNCS {
        let mut batch = Batch::new();
        for index in 0..MAX_GROUP {
            // A distinct pseudo-random id per receipt: the hash of its number.
            let id = kvitt_protocol::RecordId::of(&(group * MAX_GROUP + index).to_be_bytes());
            batch.insert(id.as_bytes().to_vec(), bytes);
        }
        store.apply(&batch).unwrap();
        let started = Instant::now();
        store.sync().unwrap();
        synced += started.elapsed();
    }
    GROUP_SYNCS as f64 / synced.as_secs_f64()
}
